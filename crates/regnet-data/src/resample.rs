//! Crop, resize, flip and normalize, from decoded RGB bytes straight into a
//! batch's float32 CHW planes: the fast path of the image-folder pipeline.
//!
//! The resize is `fast_image_resize`'s SIMD convolution with the bilinear
//! filter, which computes PIL's `BILINEAR` coefficients (a triangle whose
//! support widens with the downscaling factor, i.e. antialiased), as
//! torchvision's transforms resize. Each decoding thread keeps its resizer
//! and output image, so resampling allocates nothing per image.

use fast_image_resize::images::{CroppedImage, Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use image::RgbImage;
use std::cell::RefCell;

/// What part of an image becomes the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    /// The region (x, y, w, h) resized to size × size (random-resized crop:
    /// the filter reads inside the region only, as cropping first does).
    Crop { x: u32, y: u32, w: u32, h: u32 },
    /// The whole image resized to (w, h), then the size × size region at
    /// (x, y) of the resized image (resize and centre crop).
    Resized { w: u32, h: u32, x: u32, y: u32 },
}

/// Per-channel affine map from bytes to model inputs: v · scale + bias
/// ((v / 255 − mean) / std for ImageNet normalization).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Normalize {
    pub scale: [f32; 3],
    pub bias: [f32; 3],
}

impl Normalize {
    /// The same map plus `shift` per channel (PCA lighting, say).
    pub fn shifted(self, shift: [f32; 3]) -> Self {
        Normalize {
            bias: [0, 1, 2].map(|c| self.bias[c] + shift[c]),
            ..self
        }
    }

    /// (v / 255 − mean) / std, mean and std in [0, 1] units.
    pub fn mean_std(mean: [f64; 3], std: [f64; 3]) -> Self {
        Normalize {
            scale: [0, 1, 2].map(|c| (1.0 / (255.0 * std[c])) as f32),
            bias: [0, 1, 2].map(|c| (-mean[c] / std[c]) as f32),
        }
    }
}

thread_local! {
    /// This thread's resizer (it keeps its buffers between calls) and output image.
    static SCRATCH: RefCell<(Resizer, Image<'static>)> =
        RefCell::new((Resizer::new(), Image::new(1, 1, PixelType::U8x3)));
}

/// Resamples `img` through `window` to `size` × `size`, mirrored when
/// `flip`, normalized, into `dst` (3 planes of size × size floats).
pub fn resample(
    img: &RgbImage,
    window: Window,
    size: u32,
    flip: bool,
    norm: &Normalize,
    dst: &mut [f32],
) -> Result<(), String> {
    let (width, height) = img.dimensions();
    SCRATCH.with(|scratch| {
        let (resizer, out) = &mut *scratch.borrow_mut();
        if (out.width(), out.height()) != (size, size) {
            *out = Image::new(size, size, PixelType::U8x3);
        }
        let image = ImageRef::new(width, height, img.as_raw(), PixelType::U8x3)
            .map_err(|e| e.to_string())?;
        let bilinear =
            ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Bilinear));
        match window {
            Window::Crop { x, y, w, h } => {
                let crop = CroppedImage::new(&image, x, y, w, h).map_err(|e| e.to_string())?;
                resizer.resize(&crop, out, &bilinear)
            }
            Window::Resized { w, h, x, y } => {
                // The window of the resized image, in source coordinates: the
                // same filter taps as resizing everything, then cropping.
                let (sx, sy) = (width as f64 / w as f64, height as f64 / h as f64);
                let s = size as f64;
                let boxed = bilinear.crop(x as f64 * sx, y as f64 * sy, s * sx, s * sy);
                resizer.resize(&image, out, &boxed)
            }
        }
        .map_err(|e| e.to_string())?;
        planes(out.buffer(), size as usize, flip, norm, dst);
        Ok(())
    })
}

/// Interleaved bytes → normalized channel planes, mirrored when `flip`.
fn planes(rgb: &[u8], size: usize, flip: bool, norm: &Normalize, dst: &mut [f32]) {
    let plane = size * size;
    for (y, line) in rgb.chunks_exact(3 * size).enumerate() {
        for (x, px) in line.chunks_exact(3).enumerate() {
            let col = if flip { size - 1 - x } else { x };
            let at = y * size + col;
            for c in 0..3 {
                dst[c * plane + at] = f32::from(px[c]) * norm.scale[c] + norm.bias[c];
            }
        }
    }
}
