//! Image folders: indexing, the train and test views, parallel decoding,
//! and unreadable files.

use image::{Rgb, RgbImage};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use regnet_data::imagefolder::{apply, load_batch, random_resized_crop, ImageFolder, View};
use regnet_data::Split;
use std::path::{Path, PathBuf};

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("imagefolder-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// A flat `w` x `h` image of `color`.
fn picture(w: u32, h: u32, color: [u8; 3]) -> RgbImage {
    RgbImage::from_pixel(w, h, Rgb(color))
}

fn write_folder(root: &Path) {
    for (split, n) in [("train", 3), ("val", 2)] {
        for (c, color) in [("dog", [200, 30, 30]), ("cat", [30, 200, 30])] {
            let dir = root.join(split).join(c);
            std::fs::create_dir_all(&dir).unwrap();
            for i in 0..n {
                let img = picture(40 + 10 * i, 30 + 5 * i, color);
                let ext = if i % 2 == 0 { "png" } else { "JPEG" };
                img.save_with_format(
                    dir.join(format!("{i}.{ext}")),
                    if ext == "png" {
                        image::ImageFormat::Png
                    } else {
                        image::ImageFormat::Jpeg
                    },
                )
                .unwrap();
            }
            std::fs::write(dir.join("notes.txt"), "not an image").unwrap();
        }
    }
}

#[test]
fn classes_are_sorted_and_files_indexed() {
    let root = tmp("index");
    write_folder(&root);
    let train = ImageFolder::index(&root, Split::Train).unwrap();
    assert_eq!(train.classes, ["cat", "dog"]);
    assert_eq!(train.len(), 6, "the .txt files are not images");
    assert_eq!(train.items[0].1, 0);
    assert_eq!(train.items[5].1, 1);
    assert!(train.items[0].0.ends_with("cat/0.png"));
    let val = ImageFolder::index(&root, Split::Test).unwrap();
    assert_eq!(val.len(), 4);
    let e = ImageFolder::index(&root.join("nothing"), Split::Train)
        .unwrap_err()
        .0;
    assert!(e.contains("has no train folder"), "{e}");
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn batches_have_the_view_size_and_the_class_colours() {
    let root = tmp("batch");
    write_folder(&root);
    let train = ImageFolder::index(&root, Split::Train).unwrap();
    let idx: Vec<usize> = (0..train.len()).collect();
    let bytes = load_batch(&train.items, &idx, View::Train { size: 16 }, 7).unwrap();
    assert_eq!(bytes.len(), 6 * 3 * 16 * 16);
    // Flat-colour images stay that colour under any crop, resize and flip
    // (JPEG may shift a channel by a few levels).
    let plane = 16 * 16;
    for (k, (_, label)) in train.items.iter().enumerate() {
        let img = &bytes[k * 3 * plane..(k + 1) * 3 * plane];
        let red = img[..plane].iter().map(|&v| v as f64).sum::<f64>() / plane as f64;
        let green = img[plane..2 * plane].iter().map(|&v| v as f64).sum::<f64>() / plane as f64;
        if *label == 1 {
            assert!(red > 180.0 && green < 50.0, "dog is red: {red} {green}");
        } else {
            assert!(green > 180.0 && red < 50.0, "cat is green: {red} {green}");
        }
    }
    // Same seed, same batch, whatever the number of decoding threads.
    let again = load_batch(&train.items, &idx, View::Train { size: 16 }, 7).unwrap();
    assert_eq!(bytes, again);
    let one_thread = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let serial =
        one_thread.install(|| load_batch(&train.items, &idx, View::Train { size: 16 }, 7).unwrap());
    assert_eq!(bytes, serial);
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn random_resized_crops_stay_inside_and_cover_the_scale_range() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let mut areas = Vec::new();
    for (w, h) in [(500u32, 375u32), (64, 64), (20, 300), (1000, 10)] {
        for _ in 0..500 {
            let (x, y, cw, ch) = random_resized_crop(w, h, &mut rng);
            assert!(
                cw > 0 && ch > 0 && x + cw <= w && y + ch <= h,
                "{w}x{h}: {x},{y} {cw}x{ch}"
            );
            if (w, h) == (500, 375) {
                areas.push((cw * ch) as f64 / (w * h) as f64);
            }
        }
    }
    let lo = areas.iter().copied().fold(1.0, f64::min);
    let hi = areas.iter().copied().fold(0.0, f64::max);
    assert!(
        lo < 0.12 && hi > 0.85,
        "areas {lo}..{hi} should span 0.08..1"
    );
}

#[test]
fn the_test_view_resizes_the_short_side_to_256_224ths_and_centre_crops() {
    // 300 x 200: short side 200 -> 256, so 384 x 256; the centre 224 x 224
    // is x 80..304, y 16..240 of that, i.e. x 62.5..237.5 and y 12.5..187.5
    // of the original. Paint the original's left and right 60 columns blue:
    // the crop must keep a little of each edge and red in the middle.
    let mut img = picture(300, 200, [255, 0, 0]);
    for y in 0..200 {
        for x in (0..60).chain(240..300) {
            img.put_pixel(x, y, Rgb([0, 0, 255]));
        }
    }
    let out = apply(
        &img,
        View::Test {
            resize: 256,
            size: 224,
        },
        &mut ChaCha8Rng::seed_from_u64(0),
    );
    assert_eq!(out.dimensions(), (224, 224));
    assert_eq!(out.get_pixel(112, 112).0, [255, 0, 0]);
    assert_eq!(
        out.get_pixel(0, 112).0[2],
        0,
        "x 62.5 is just right of the blue band"
    );
    assert!(
        out.get_pixel(223, 112).0[2] < 60,
        "x 237.5 is just left of the blue band"
    );
    // A 150 x 150 image is scaled up: short side 256, crop 224.
    let small = apply(
        &picture(150, 150, [9, 9, 9]),
        View::Test {
            resize: 256,
            size: 224,
        },
        &mut ChaCha8Rng::seed_from_u64(0),
    );
    assert_eq!(small.dimensions(), (224, 224));
}

#[test]
fn unreadable_files_are_named_or_skipped_on_request() {
    let root = tmp("bad");
    write_folder(&root);
    let bad = root.join("train").join("dog").join("9.jpg");
    std::fs::write(&bad, b"not a jpeg").unwrap();
    let mut train = ImageFolder::index(&root, Split::Train).unwrap();
    let idx: Vec<usize> = (0..train.len()).collect();
    let e = load_batch(&train.items, &idx, View::Train { size: 8 }, 0)
        .unwrap_err()
        .0;
    assert!(
        e.contains("cannot decode image") && e.contains("9.jpg"),
        "{e}"
    );
    train.drop_unreadable();
    assert_eq!((train.len(), train.skipped.len()), (6, 1));
    assert_eq!(train.skipped[0].0, bad);
    std::fs::remove_dir_all(&root).unwrap();
}
