//! Decoding as PIL does (torchvision's ImageFolder loader is
//! `Image.open(f).convert("RGB")`), for the images that trip loaders: CMYK
//! and grayscale JPEGs, 16-bit PNGs, alpha and palette PNGs, progressive
//! JPEGs, and JPEGs with an EXIF orientation (which PIL does not apply).
//! PIL, in the project venv, writes each file and its RGB bytes.

use regnet_data::imagefolder::decode;
use std::path::PathBuf;
use std::process::Command;

fn pil_cases() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pil-parity-{}", std::process::id()));
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/python/pil_decode.py"
    );
    let python =
        std::env::var("VIRTUAL_ENV").map_or("python3".into(), |v| format!("{v}/bin/python"));
    let ok = Command::new(python).arg(script).arg(&dir).status().unwrap();
    assert!(ok.success(), "pil_decode.py failed");
    dir
}

#[test]
fn odd_images_decode_as_pil_decodes_them() {
    let dir = pil_cases();
    let cases = [
        // (file, largest allowed difference per byte, mean)
        ("gray.png", 0, 0.0),
        ("gray16.png", 0, 0.0),
        ("gray16_low.png", 0, 0.0),
        ("rgb16.png", 0, 0.0),
        ("rgba.png", 0, 0.0),
        ("gray_alpha.png", 0, 0.0),
        ("palette.png", 0, 0.0),
        // JPEG decoders (zune-jpeg here, libjpeg-turbo in PIL) round their
        // IDCTs and chroma upsampling differently: a few levels at most.
        ("gray.jpg", 1, 0.05),
        ("progressive.jpg", 4, 0.5),
        ("exif_rotated.jpg", 4, 0.5),
        ("cmyk.jpg", 1, 0.05),
    ];
    for (name, worst, mean) in cases {
        let path = dir.join(name);
        let theirs = std::fs::read(dir.join(format!("{name}.rgb"))).unwrap();
        let size = std::fs::read_to_string(dir.join(format!("{name}.size"))).unwrap();
        let ours = decode(&path).unwrap_or_else(|e| panic!("{name}: {}", e.0));
        assert_eq!(
            format!("{} {}", ours.width(), ours.height()),
            size,
            "{name}: PIL's size (no EXIF rotation)"
        );
        let diffs: Vec<u8> = ours
            .as_raw()
            .iter()
            .zip(&theirs)
            .map(|(a, b)| a.abs_diff(*b))
            .collect();
        let max = diffs.iter().copied().max().unwrap();
        let avg = diffs.iter().map(|&d| d as f64).sum::<f64>() / diffs.len() as f64;
        eprintln!("{name}: max {max}, mean {avg:.3}");
        assert!(
            max <= worst && avg <= mean,
            "{name}: max {max}, mean {avg:.3}"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn crops_resample_as_pil_resamples_them() {
    use rand::SeedableRng;
    use regnet_data::imagefolder::{geometry, View};
    use regnet_data::resample::{resample, Normalize, Window};
    // A photo-like 500 x 375 picture, views with many crops and scales.
    let img = image::RgbImage::from_fn(500, 375, |x, y| {
        let ring = ((x as i64 - 200).pow(2) + (y as i64 - 180).pow(2)) / 900 % 2;
        image::Rgb([
            (x / 2) as u8,
            (y * 2 / 3) as u8,
            60 + 120 * ring as u8 + ((x * y) % 13) as u8,
        ])
    });
    let dir = std::env::temp_dir().join(format!("pil-resize-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    img.save(dir.join("img.png")).unwrap();
    let raw = Normalize {
        scale: [1.0; 3],
        bias: [0.0; 3],
    };
    let mut lines = String::new();
    let mut ours = Vec::new();
    let views = [
        View::Train { size: 224 },
        View::Test {
            resize: 256,
            size: 224,
        },
    ];
    for (seed, view) in (0..12).zip(views.iter().cycle()) {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let (window, _) = geometry(500, 375, *view, &mut rng);
        let size = view.size();
        lines += &match window {
            Window::Crop { x, y, w, h } => format!("crop {x} {y} {w} {h} {size}\n"),
            Window::Resized { w, h, x, y } => format!("resized {w} {h} {x} {y} {size}\n"),
        };
        let mut planes = vec![0f32; 3 * (size * size) as usize];
        resample(&img, window, size, false, &raw, &mut planes).unwrap();
        let plane = (size * size) as usize;
        ours.extend((0..plane).flat_map(|i| [0, 1, 2].map(|c| planes[c * plane + i])));
    }
    std::fs::write(dir.join("windows.txt"), lines).unwrap();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/python/pil_resize.py"
    );
    let python =
        std::env::var("VIRTUAL_ENV").map_or("python3".into(), |v| format!("{v}/bin/python"));
    let ok = Command::new(python)
        .arg(script)
        .args([
            dir.join("img.png"),
            dir.join("windows.txt"),
            dir.join("out.raw"),
        ])
        .status()
        .unwrap();
    assert!(ok.success(), "pil_resize.py failed");
    let theirs = std::fs::read(dir.join("out.raw")).unwrap();
    assert_eq!(theirs.len(), ours.len());
    let diffs: Vec<f32> = ours
        .iter()
        .zip(&theirs)
        .map(|(a, &b)| (a - b as f32).abs())
        .collect();
    let max = diffs.iter().copied().fold(0.0, f32::max);
    let mean = diffs.iter().sum::<f32>() / diffs.len() as f32;
    eprintln!("against PIL: max {max}, mean {mean:.4}");
    // Fixed-point rounding: at most one level, on about one value in sixteen.
    assert!(max <= 1.0 && mean <= 0.1, "max {max}, mean {mean}");
    std::fs::remove_dir_all(&dir).unwrap();
}
