//! CIFAR python batches as pycls reads them: Python writes the same images
//! as pickles (protocol 2 with bytes keys, as the Python 2 originals read in
//! Python 3, and protocol 4 with str keys) and as binary files; both loaders
//! must agree.

use regnet_data::cifar::{load, Cifar};
use regnet_data::Split;
use std::process::Command;

const WRITER: &str = r#"
import os, pickle, sys
import numpy as np
root = sys.argv[1]
rng = np.random.default_rng(0)
def save(path, d, proto):
    with open(path, 'wb') as f:
        pickle.dump(d, f, protocol=proto)
def ten():
    py, bn = os.path.join(root, 'cifar-10-batches-py'), os.path.join(root, 'cifar-10-batches-bin')
    os.makedirs(py); os.makedirs(bn)
    for i, name in enumerate(['data_batch_%d' % k for k in range(1, 6)] + ['test_batch']):
        n = 3 + i
        data = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
        labels = [int(x) for x in rng.integers(0, 10, size=n)]
        if i < 3:
            save(os.path.join(py, name), {b'batch_label': b'x', b'labels': labels, b'data': data}, 2)
        else:
            save(os.path.join(py, name), {'labels': labels, 'data': data}, 4)
        with open(os.path.join(bn, name + '.bin'), 'wb') as f:
            for l, row in zip(labels, data):
                f.write(bytes([l]) + row.tobytes())
def hundred():
    py, bn = os.path.join(root, 'cifar-100-python'), os.path.join(root, 'cifar-100-binary')
    os.makedirs(py); os.makedirs(bn)
    for name, n in [('train', 7), ('test', 4)]:
        data = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
        fine = [int(x) for x in rng.integers(0, 100, size=n)]
        coarse = [f // 5 for f in fine]
        save(os.path.join(py, name), {b'fine_labels': fine, b'coarse_labels': coarse, b'data': data}, 2)
        with open(os.path.join(bn, name + '.bin'), 'wb') as f:
            for c, l, row in zip(coarse, fine, data):
                f.write(bytes([c, l]) + row.tobytes())
ten(); hundred()
"#;

#[test]
fn python_batches_read_the_same_as_binary_files() {
    let root = std::env::temp_dir().join(format!("cifar-pickle-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    let o = Command::new("python3")
        .args(["-c", WRITER])
        .arg(&root)
        .output()
        .expect("python3 with numpy (the project venv) is needed");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for (kind, py, bin) in [
        (Cifar::Ten, "cifar-10-batches-py", "cifar-10-batches-bin"),
        (Cifar::Hundred, "cifar-100-python", "cifar-100-binary"),
    ] {
        for split in [Split::Train, Split::Test] {
            let a = load(kind, &root.join(py), split).unwrap();
            let b = load(kind, &root.join(bin), split).unwrap();
            assert!(!a.is_empty());
            assert_eq!(a.labels, b.labels, "{py} {split:?}");
            assert!(a.pixels == b.pixels, "{py} {split:?} pixels differ");
            assert_eq!(a.num_classes, b.num_classes);
        }
    }
    // 3+4+5+6+7 training images in CIFAR-10's five batches.
    assert_eq!(
        load(Cifar::Ten, &root.join("cifar-10-batches-py"), Split::Train)
            .unwrap()
            .len(),
        25
    );
    // A damaged batch is named.
    let bad = root.join("cifar-10-batches-py").join("data_batch_2");
    std::fs::write(&bad, b"\x80\x02}q\x00").unwrap();
    let e = load(Cifar::Ten, &root.join("cifar-10-batches-py"), Split::Train)
        .unwrap_err()
        .0;
    assert!(
        e.contains("data_batch_2") && e.contains("not a CIFAR python batch"),
        "{e}"
    );
    std::fs::remove_dir_all(&root).unwrap();
}
