//! The complexity accumulator, counting exactly as pycls does.
//!
//! pycls threads a dict `cx = {h, w, flops, params, acts}` through every
//! layer's `complexity` function; [`Cx`] is that dict. Counters are kept in
//! 128 bits while accumulating and checked into 64 bits at the end, so that a
//! nonsensical spec gives an error instead of a wrapped number.

use crate::error::{Result, SpecError};
use serde::Serialize;

/// Final complexity of a model: flops as multiply-adds, trainable parameters,
/// and activations (output elements of every conv, pool and linear layer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Complexity {
    pub flops: u64,
    pub params: u64,
    pub acts: u64,
}

/// Running complexity state: current spatial size plus accumulated counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cx {
    pub h: u64,
    pub w: u64,
    pub flops: u128,
    pub params: u128,
    pub acts: u128,
}

impl Cx {
    /// Start counting at a square input of `im_size` pixels.
    pub fn new(im_size: u64) -> Self {
        Cx {
            h: im_size,
            w: im_size,
            flops: 0,
            params: 0,
            acts: 0,
        }
    }

    /// Number of spatial positions at the current resolution.
    pub fn area(&self) -> u128 {
        self.h as u128 * self.w as u128
    }

    /// Apply a stride-`s` odd-kernel op to the spatial size: h' = (h - 1) // s + 1.
    pub fn stride(&mut self, s: u64) {
        self.h = out_size(self.h, s);
        self.w = out_size(self.w, s);
    }

    /// The counters accumulated since `start` (same spatial bookkeeping).
    pub fn since(&self, start: &Cx) -> Result<Complexity> {
        Ok(Complexity {
            flops: to_u64(self.flops - start.flops)?,
            params: to_u64(self.params - start.params)?,
            acts: to_u64(self.acts - start.acts)?,
        })
    }

    /// The accumulated counters as a [`Complexity`].
    pub fn totals(&self) -> Result<Complexity> {
        self.since(&Cx::new(0))
    }
}

/// Output size of a stride-`s` op with an odd kernel and "same" padding.
pub fn out_size(size: u64, stride: u64) -> u64 {
    if size == 0 {
        0
    } else {
        (size - 1) / stride + 1
    }
}

fn to_u64(v: u128) -> Result<u64> {
    u64::try_from(v).map_err(|_| SpecError::Overflow)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_size_matches_pycls_formula() {
        // (h - 1) // s + 1 with h = 224: 224 -> 112 -> 56; odd sizes round up.
        assert_eq!(out_size(224, 2), 112);
        assert_eq!(out_size(7, 2), 4);
        assert_eq!(out_size(1, 2), 1);
        assert_eq!(out_size(32, 1), 32);
    }
}
