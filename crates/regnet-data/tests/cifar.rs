//! CIFAR binary files, written here in the official layout and read back.

use regnet_data::cifar::{load, Cifar};
use regnet_data::Split;
use std::path::Path;

/// Writes `n` records per file: label k, pixels all equal to (file index * 10 + k).
fn write(dir: &Path, name: &str, label_bytes: usize, n: u8, file_idx: u8) {
    let mut bytes = Vec::new();
    for k in 0..n {
        bytes.extend(std::iter::repeat_n(7u8, label_bytes - 1)); // coarse label for CIFAR-100
        bytes.push(k);
        bytes.extend(std::iter::repeat_n(file_idx * 10 + k, 3072));
    }
    std::fs::write(dir.join(name), bytes).unwrap();
}

#[test]
fn cifar10_reads_all_batches_in_order() {
    let root = std::env::temp_dir().join(format!("cifar10-{}", std::process::id()));
    let dir = root.join("cifar-10-batches-bin");
    std::fs::create_dir_all(&dir).unwrap();
    for i in 1..=5u8 {
        write(&dir, &format!("data_batch_{i}.bin"), 1, 3, i);
    }
    write(&dir, "test_batch.bin", 1, 2, 9);
    // The parent or the folder itself.
    for d in [&root, &dir] {
        let train = load(Cifar::Ten, d, Split::Train).unwrap();
        assert_eq!(train.len(), 15);
        assert_eq!(train.labels[..4], [0, 1, 2, 0]);
        assert!(
            train.image(3).iter().all(|&p| p == 20),
            "first record of batch 2"
        );
        let test = load(Cifar::Ten, d, Split::Test).unwrap();
        assert_eq!((test.len(), test.num_classes), (2, 10));
        assert!(test.image(1).iter().all(|&p| p == 91));
    }
    // A truncated file and a missing one are named.
    std::fs::write(dir.join("data_batch_3.bin"), [1u8; 100]).unwrap();
    let e = load(Cifar::Ten, &dir, Split::Train).unwrap_err().0;
    assert!(
        e.contains("data_batch_3.bin") && e.contains("not a multiple"),
        "{e}"
    );
    std::fs::remove_file(dir.join("data_batch_4.bin")).unwrap();
    write(&dir, "data_batch_3.bin", 1, 3, 3);
    let e = load(Cifar::Ten, &dir, Split::Train).unwrap_err().0;
    assert!(
        e.contains("cannot read CIFAR file") && e.contains("data_batch_4.bin"),
        "{e}"
    );
    let e = load(Cifar::Ten, Path::new("/nonexistent"), Split::Test)
        .unwrap_err()
        .0;
    assert!(e.contains("no CIFAR files in '/nonexistent'"), "{e}");
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn cifar100_uses_fine_labels() {
    let dir = std::env::temp_dir().join(format!("cifar100-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    write(&dir, "train.bin", 2, 4, 1);
    write(&dir, "test.bin", 2, 1, 2);
    let train = load(Cifar::Hundred, &dir, Split::Train).unwrap();
    assert_eq!(train.labels, [0, 1, 2, 3], "fine labels, not the coarse 7");
    assert_eq!(train.num_classes, 100);
    std::fs::remove_dir_all(&dir).unwrap();
}
