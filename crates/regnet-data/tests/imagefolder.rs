//! Image folders: indexing, the train and test views, the fused
//! crop-resize-normalize fast path against a straightforward reference,
//! parallel decoding, and unreadable files.

use image::imageops::{self, FilterType};
use image::{Rgb, RgbImage};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use regnet_data::imagefolder::{geometry, load_batch, random_resized_crop, ImageFolder, View};
use regnet_data::resample::{resample, Normalize, Window};
use regnet_data::Split;
use std::path::{Path, PathBuf};

/// No normalization: outputs in pixel levels.
const RAW: Normalize = Normalize {
    scale: [1.0; 3],
    bias: [0.0; 3],
};

/// A batch of `idx` through [`load_batch`], in pixel levels.
fn batch(
    items: &[(PathBuf, u32)],
    idx: &[usize],
    size: u32,
    seed: u64,
) -> Result<Vec<f32>, String> {
    let mut out = vec![0f32; idx.len() * 3 * (size * size) as usize];
    let norms = vec![RAW; idx.len()];
    load_batch(items, idx, View::Train { size }, seed, &norms, &mut out).map_err(|e| e.0)?;
    Ok(out)
}

/// `img` under `view` through the fast path, as 3 planes of floats.
fn fast(img: &RgbImage, view: View, seed: u64) -> Vec<f32> {
    let size = view.size();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (window, flip) = geometry(img.width(), img.height(), view, &mut rng);
    let mut out = vec![0f32; 3 * (size * size) as usize];
    resample(img, window, size, flip, &RAW, &mut out).unwrap();
    out
}

/// The same view the straightforward way: crop, resize (the image crate's
/// triangle filter, antialiased like PIL's bilinear) and flip, as images.
fn reference(img: &RgbImage, view: View, seed: u64) -> RgbImage {
    let size = view.size();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    match geometry(img.width(), img.height(), view, &mut rng) {
        (Window::Crop { x, y, w, h }, flip) => {
            let crop = imageops::crop_imm(img, x, y, w, h).to_image();
            let out = imageops::resize(&crop, size, size, FilterType::Triangle);
            match flip {
                true => imageops::flip_horizontal(&out),
                false => out,
            }
        }
        (Window::Resized { w, h, x, y }, _) => {
            let resized = imageops::resize(img, w, h, FilterType::Triangle);
            imageops::crop_imm(&resized, x, y, size, size).to_image()
        }
    }
}

/// Pixel (x, y) of channel c of a fast-path output.
fn at(planes: &[f32], size: u32, c: usize, x: u32, y: u32) -> f32 {
    planes[c * (size * size) as usize + (y * size + x) as usize]
}

/// A photo-like test picture: gradients, a disc and a fine checker.
fn textured(w: u32, h: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| {
        let d = (x as i64 - w as i64 / 3).pow(2) + (y as i64 - h as i64 / 2).pow(2);
        let disc = if d < (h as i64 / 4).pow(2) { 90 } else { 0 };
        let checker = if (x / 3 + y / 3) % 2 == 0 { 40 } else { 0 };
        Rgb([
            (x * 200 / w) as u8 + disc / 2,
            (y * 200 / h) as u8 + checker,
            ((x + y) % 97) as u8 + disc,
        ])
    })
}

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
    // A FIFO named like an image is skipped (opening it would block), and
    // a class folder whose name is not UTF-8 is read all the same.
    let fifo = root.join("train/cat/pipe.png");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    use std::os::unix::ffi::OsStrExt;
    let odd = root
        .join("train")
        .join(std::ffi::OsStr::from_bytes(b"b\xffd"));
    std::fs::create_dir_all(&odd).unwrap();
    picture(20, 20, [9, 9, 9]).save(odd.join("0.png")).unwrap();
    let train = ImageFolder::index(&root, Split::Train).unwrap();
    assert_eq!(train.classes, ["b\u{fffd}d", "cat", "dog"]);
    assert_eq!(train.len(), 7, "{:?}", train.items);
    assert!(!train.items.iter().any(|(p, _)| p == &fifo));
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn batches_have_the_view_size_and_the_class_colours() {
    let root = tmp("batch");
    write_folder(&root);
    let train = ImageFolder::index(&root, Split::Train).unwrap();
    let idx: Vec<usize> = (0..train.len()).collect();
    let bytes = batch(&train.items, &idx, 16, 7).unwrap();
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
    let again = batch(&train.items, &idx, 16, 7).unwrap();
    assert_eq!(bytes, again);
    let one_thread = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let serial = one_thread.install(|| batch(&train.items, &idx, 16, 7).unwrap());
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
    let test = View::Test {
        resize: 256,
        size: 224,
    };
    let out = fast(&img, test, 0);
    assert_eq!(out.len(), 3 * 224 * 224);
    assert_eq!(
        [0, 1, 2].map(|c| at(&out, 224, c, 112, 112)),
        [255.0, 0.0, 0.0]
    );
    assert_eq!(
        at(&out, 224, 2, 0, 112),
        0.0,
        "x 62.5 is just right of the blue band"
    );
    assert!(
        at(&out, 224, 2, 223, 112) < 60.0,
        "x 237.5 is just left of the blue band"
    );
    // A 150 x 150 image is scaled up: short side 256, crop 224.
    let small = fast(&picture(150, 150, [9, 9, 9]), test, 0);
    assert!(small.iter().all(|&v| (v - 9.0).abs() < 1e-3));
}

#[test]
fn the_fast_path_equals_the_straightforward_crop_resize_and_flip() {
    // Several image shapes (landscape, portrait, smaller than the output),
    // both views, several seeds (crops, scales and flips): the one-pass
    // float resample and the image crate's byte images agree within 2
    // levels everywhere and within 0.5 on average (byte rounding of the
    // reference's passes).
    let views = [
        View::Train { size: 224 },
        View::Train { size: 32 },
        View::Test {
            resize: 256,
            size: 224,
        },
    ];
    for (w, h) in [(500, 375), (333, 500), (120, 90)] {
        let img = textured(w, h);
        for view in views {
            for seed in 0..6 {
                let (ours, theirs) = (fast(&img, view, seed), reference(&img, view, seed));
                let size = view.size();
                assert_eq!(theirs.dimensions(), (size, size));
                let (mut worst, mut total) = (0f32, 0f32);
                for (x, y, p) in theirs.enumerate_pixels() {
                    for c in 0..3 {
                        let d = (at(&ours, size, c, x, y) - f32::from(p.0[c])).abs();
                        worst = worst.max(d);
                        total += d;
                    }
                }
                let mean = total / (3 * size * size) as f32;
                assert!(
                    worst <= 2.0 && mean <= 0.5,
                    "{w}x{h} {view:?} seed {seed}: max {worst}, mean {mean}"
                );
            }
        }
    }
}

#[test]
fn unreadable_files_are_named_or_skipped_on_request() {
    let root = tmp("bad");
    write_folder(&root);
    let bad = root.join("train").join("dog").join("9.jpg");
    std::fs::write(&bad, b"not a jpeg").unwrap();
    let mut train = ImageFolder::index(&root, Split::Train).unwrap();
    let idx: Vec<usize> = (0..train.len()).collect();
    let e = batch(&train.items, &idx, 8, 0).unwrap_err();
    assert!(
        e.contains("cannot decode image") && e.contains("9.jpg"),
        "{e}"
    );
    train.drop_unreadable();
    assert_eq!((train.len(), train.skipped.len()), (6, 1));
    assert_eq!(train.skipped[0].0, bad);
    std::fs::remove_dir_all(&root).unwrap();
}
