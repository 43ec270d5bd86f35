//! The built-in synthetic dataset: procedurally drawn 32×32 colour images of
//! ten classes (shapes and textures, distinct under any rotation) at random position, scale,
//! rotation and colours, with pixel noise. Deterministic from a seed, so every
//! run of the demo and the tests sees the same images, and hard enough that
//! architectures differ after a few epochs.

use crate::ImageSet;
pub use crate::Split;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};
use std::f64::consts::PI;

/// Image side in pixels.
pub const SIZE: usize = 32;

/// The classes, in label order.
pub const CLASSES: [&str; 10] = [
    "disk", "square", "triangle", "ring", "plus", "stripes", "checkers", "dots", "bar", "crescent",
];

/// `n` images of `split`, classes balanced (image i has label i mod 10).
pub fn generate(n: usize, seed: u64, split: Split) -> ImageSet {
    let stream = match split {
        Split::Train => 0,
        Split::Test => 1,
    };
    let mut pixels = Vec::with_capacity(n * 3 * SIZE * SIZE);
    let mut labels = Vec::with_capacity(n);
    for i in 0..n {
        let label = (i % CLASSES.len()) as u32;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(stream * (1 << 40) + i as u64);
        pixels.extend(draw(label as usize, &mut rng));
        labels.push(label);
    }
    ImageSet {
        pixels,
        labels,
        size: SIZE,
        num_classes: CLASSES.len(),
    }
}

/// Draws one image of class `class`.
fn draw(class: usize, rng: &mut ChaCha8Rng) -> Vec<u8> {
    let bg = random_colour(rng);
    let mut fg = random_colour(rng);
    while contrast(&bg, &fg) < 0.45 {
        fg = random_colour(rng);
    }
    let cx = rng.random_range(10.0..22.0);
    let cy = rng.random_range(10.0..22.0);
    let r = rng.random_range(7.0..12.0);
    let theta = rng.random_range(0.0..2.0 * PI);
    let freq = rng.random_range(0.9..1.4);
    let noise = Normal::new(0.0, rng.random_range(0.02..0.10)).expect("valid sigma");
    let mut out = vec![0u8; 3 * SIZE * SIZE];
    for y in 0..SIZE {
        for x in 0..SIZE {
            let (dx, dy) = (x as f64 + 0.5 - cx, y as f64 + 0.5 - cy);
            let (u, v) = (
                dx * theta.cos() + dy * theta.sin(),
                -dx * theta.sin() + dy * theta.cos(),
            );
            let on = inside(class, u, v, r, freq);
            for c in 0..3 {
                let base = if on { fg[c] } else { bg[c] };
                let value = (base + noise.sample(rng)).clamp(0.0, 1.0);
                out[c * SIZE * SIZE + y * SIZE + x] = (value * 255.0).round() as u8;
            }
        }
    }
    out
}

/// Whether the rotated offset (u, v) from the centre is foreground.
fn inside(class: usize, u: f64, v: f64, r: f64, freq: f64) -> bool {
    let dist = (u * u + v * v).sqrt();
    let window = dist < r * 1.3;
    match class {
        0 => dist < r,
        1 => u.abs().max(v.abs()) < r * 0.8,
        2 => v > -r * 0.5 && v < r * 0.9 - 1.7 * u.abs(),
        3 => dist < r && dist > r * 0.6,
        4 => (u.abs() < r / 3.0 && v.abs() < r) || (v.abs() < r / 3.0 && u.abs() < r),
        5 => window && (u * freq).sin() > 0.0,
        6 => window && ((u * freq / 2.0).floor() + (v * freq / 2.0).floor()).rem_euclid(2.0) < 1.0,
        7 => window && (u * freq).sin() * (v * freq).sin() > 0.4,
        8 => u.abs() < r && v.abs() < r * 0.35,
        _ => dist < r && ((u - r * 0.45).powi(2) + v * v).sqrt() > r * 0.75,
    }
}

fn random_colour(rng: &mut ChaCha8Rng) -> [f64; 3] {
    [0, 1, 2].map(|_| rng.random_range(0.0..1.0))
}

fn contrast(a: &[f64; 3], b: &[f64; 3]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).sum::<f64>() / 3.0 * 1.5
}
