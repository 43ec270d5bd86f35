//! The IDX reader against files numpy writes (values, labels, counts, plain
//! and gzipped), against the real Fashion-MNIST files when Debian's package
//! is installed, and its one-line errors for broken files.

use regnet_data::idx::{self, FASHION_MNIST_DIR};
use regnet_data::subset::balanced;
use regnet_data::Split;
use std::path::{Path, PathBuf};
use std::process::Command;

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("regnet-idx-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn python() -> String {
    let venv = std::env::var("VIRTUAL_ENV")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../../.venv").to_string());
    format!("{venv}/bin/python")
}

/// Writes a split with numpy: `n` random 28x28 images and labels 0..9, gzipped
/// or not; returns the images and labels numpy wrote (as raw bytes).
fn numpy_split(dir: &Path, prefix: &str, n: usize, gz: bool, seed: u64) -> (Vec<u8>, Vec<u8>) {
    let script = format!(
        r#"
import gzip, numpy as np, sys
rng = np.random.default_rng({seed})
images = rng.integers(0, 256, size=({n}, 28, 28), dtype=np.uint8)
labels = rng.integers(0, 10, size={n}, dtype=np.uint8)
head_i = np.array([0x803, {n}, 28, 28], dtype=">u4").tobytes()
head_l = np.array([0x801, {n}], dtype=">u4").tobytes()
op = gzip.open if {gz} else open
ext = ".gz" if {gz} else ""
with op("{dir}/{prefix}-images-idx3-ubyte" + ext, "wb") as f: f.write(head_i + images.tobytes())
with op("{dir}/{prefix}-labels-idx1-ubyte" + ext, "wb") as f: f.write(head_l + labels.tobytes())
sys.stdout.buffer.write(images.tobytes() + labels.tobytes())
"#,
        dir = dir.display(),
        gz = if gz { "True" } else { "False" },
    );
    let out = Command::new(python())
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (img, lab) = out.stdout.split_at(n * 28 * 28);
    (img.to_vec(), lab.to_vec())
}

#[test]
fn numpy_written_files_read_back_padded_to_32x32_rgb() {
    for gz in [false, true] {
        let d = tmp(if gz { "gz" } else { "plain" });
        let (img, lab) = numpy_split(&d, "train", 50, gz, 1);
        numpy_split(&d, "t10k", 20, gz, 2);
        let set = idx::load(&d, Split::Train).unwrap();
        assert_eq!((set.len(), set.size, set.num_classes), (50, 32, 10));
        assert_eq!(
            set.labels,
            lab.iter().map(|&l| l as u32).collect::<Vec<_>>()
        );
        for i in [0, 17, 49] {
            let im = set.image(i);
            for c in 0..3 {
                for y in 0..32 {
                    for x in 0..32 {
                        let got = im[c * 1024 + y * 32 + x];
                        let inside = (2..30).contains(&y) && (2..30).contains(&x);
                        let want = if inside {
                            img[i * 784 + (y - 2) * 28 + (x - 2)]
                        } else {
                            0
                        };
                        assert_eq!(got, want, "image {i} channel {c} at ({y}, {x})");
                    }
                }
            }
        }
        assert_eq!(idx::load(&d, Split::Test).unwrap().len(), 20);
        std::fs::remove_dir_all(&d).unwrap();
    }
}

#[test]
fn broken_files_are_one_line_errors_naming_the_file() {
    let d = tmp("bad");
    numpy_split(&d, "train", 10, false, 3);
    let images = d.join("train-images-idx3-ubyte");
    let labels = d.join("train-labels-idx1-ubyte");
    let good_images = std::fs::read(&images).unwrap();
    let good_labels = std::fs::read(&labels).unwrap();
    let err = || idx::load(&d, Split::Train).unwrap_err().0;

    let mut bad = good_images.clone();
    bad[3] = 0x01;
    std::fs::write(&images, &bad).unwrap();
    let e = err();
    assert!(
        e.contains("train-images-idx3-ubyte") && e.contains("magic number 0x00000801"),
        "{e}"
    );

    std::fs::write(&images, &good_images[..good_images.len() - 100]).unwrap();
    let e = err();
    assert!(e.contains("train-images-idx3-ubyte' is truncated"), "{e}");

    std::fs::write(&images, &good_images).unwrap();
    let mut more = good_labels.clone();
    more[7] = 11; // 11 labels announced, 10 images
    more.push(3);
    std::fs::write(&labels, &more).unwrap();
    let e = err();
    assert!(
        e.contains("holds 10 images but") && e.contains("holds 11 labels"),
        "{e}"
    );

    let mut wrong = good_labels.clone();
    wrong[8 + 4] = 10;
    std::fs::write(&labels, &wrong).unwrap();
    let e = err();
    assert!(e.contains("label 10 of image 4 is out of range"), "{e}");

    std::fs::write(&labels, &good_labels).unwrap();
    let e = idx::load(&d, Split::Test).unwrap_err().0;
    assert!(e.contains("holds no t10k-images-idx3-ubyte"), "{e}");
    std::fs::write(d.join("t10k-images-idx3-ubyte.gz"), b"not gzip").unwrap();
    std::fs::write(d.join("t10k-labels-idx1-ubyte"), &good_labels).unwrap();
    let e = idx::load(&d, Split::Test).unwrap_err().0;
    assert!(
        e.contains("t10k-images-idx3-ubyte.gz' is not valid gzip"),
        "{e}"
    );
    // A gzip bomb: a valid header for 300,000 images, then 235 MB of zeros
    // in a file of a few hundred KB; refused at 64 MiB.
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let mut header = 0x0803u32.to_be_bytes().to_vec();
    for v in [300_000u32, 28, 28] {
        header.extend(v.to_be_bytes());
    }
    gz.write_all(&header).unwrap();
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..225 {
        gz.write_all(&zeros).unwrap();
    }
    let bomb = gz.finish().unwrap();
    assert!(bomb.len() < 1 << 20, "{} bytes", bomb.len());
    std::fs::write(d.join("t10k-images-idx3-ubyte.gz"), &bomb).unwrap();
    let e = idx::load(&d, Split::Test).unwrap_err().0;
    assert!(e.contains("inflates to more than 67108864 bytes"), "{e}");
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn the_debian_fashion_mnist_files_have_the_published_counts() {
    let dir = Path::new(FASHION_MNIST_DIR);
    if !dir.is_dir() {
        // The test command installs it: under CI its absence is a failure.
        assert!(
            std::env::var_os("CI").is_none(),
            "{FASHION_MNIST_DIR} is missing under CI: ./scripts/test installs dataset-fashion-mnist"
        );
        eprintln!(
            "skipped: {FASHION_MNIST_DIR} is not installed (Debian package dataset-fashion-mnist)"
        );
        return;
    }
    for (split, n, per_class) in [(Split::Train, 60_000, 6_000), (Split::Test, 10_000, 1_000)] {
        let set = idx::load(dir, split).unwrap();
        assert_eq!(set.len(), n);
        let mut counts = [0usize; 10];
        for &l in &set.labels {
            counts[l as usize] += 1;
        }
        assert_eq!(counts, [per_class; 10], "{split:?}");
        // The padding frame is black; the 28x28 content is not.
        let first = set.image(0);
        assert!(first[..64].iter().all(|&p| p == 0));
        assert!(first.iter().any(|&p| p > 0));
    }
}

#[test]
fn balanced_subsets_are_seeded_and_equal_per_class() {
    let labels: Vec<u32> = (0..1000).map(|i| (i * 7 % 10) as u32).collect();
    let a = balanced(&labels, 10, 105, 1).unwrap();
    assert_eq!(a.len(), 105);
    let mut counts = [0usize; 10];
    for &i in &a {
        counts[labels[i] as usize] += 1;
    }
    // 105 = 10 x 10 + 5: five classes get one more.
    assert_eq!(counts.iter().filter(|&&c| c == 11).count(), 5);
    assert_eq!(counts.iter().filter(|&&c| c == 10).count(), 5);
    assert!(
        a.windows(2).all(|w| w[0] < w[1]),
        "in dataset order, no repeats"
    );
    assert_eq!(
        a,
        balanced(&labels, 10, 105, 1).unwrap(),
        "same seed, same subset"
    );
    assert_ne!(a, balanced(&labels, 10, 105, 2).unwrap());
    let e = balanced(&labels, 10, 0, 0).unwrap_err().0;
    assert!(e.contains("choose between 1 and the 1000 images"), "{e}");
    let skewed: Vec<u32> = (0..100).map(|i| if i < 95 { 0 } else { 1 }).collect();
    let e = balanced(&skewed, 2, 20, 0).unwrap_err().0;
    assert!(e.contains("needs 10 of class 1, which has 5"), "{e}");
}
