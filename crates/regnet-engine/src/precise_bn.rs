//! Precise BN statistics (pycls `compute_precise_bn_stats`, on by default in
//! pycls as `BN.USE_PRECISE_STATS`): after each training epoch, every BN's
//! running mean and variance are replaced by the average, over a number of
//! training mini-batches, of each batch's own mean and (unbiased) variance.
//! The running averages kept during training mix statistics of weights that
//! have since changed; these describe the final weights.

use crate::data::{prefetched_batches, TensorSet};
use crate::model::BuiltModel;
use crate::Result;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tch::nn::ModuleT;
use tch::Tensor;

/// Number of mini-batches pycls averages over: `samples / batch`, at most the
/// full batches of one epoch. (pycls would leave zeroed statistics when this
/// is 0; here the statistics are then left as they are.)
pub fn precise_bn_iters(samples: usize, batch: usize, train_len: usize) -> usize {
    (samples / batch).min(train_len / batch)
}

/// Recomputes `model`'s BN statistics from `iters` training mini-batches in
/// a fresh order drawn from `seed` (with the set's training augmentation),
/// as pycls does with its shuffled train loader.
pub fn precise_bn(
    model: &mut BuiltModel,
    set: &TensorSet,
    batch: usize,
    iters: usize,
    seed: u64,
) -> Result<()> {
    if iters == 0 {
        return Ok(());
    }
    let mut order: Vec<i64> = (0..set.len() as i64).collect();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    let order = Tensor::from_slice(&order).to_device(set.device());
    let saved: Vec<f64> = model
        .model
        .conv_bns()
        .iter()
        .map(|cb| cb.momentum)
        .collect();
    let stats: Vec<(Tensor, Tensor)> = model
        .model
        .conv_bns()
        .into_iter()
        .map(|cb| {
            cb.momentum = 1.0;
            (
                cb.bn.running_mean.shallow_clone(),
                cb.bn.running_var.shallow_clone(),
            )
        })
        .collect();
    let mut sums: Vec<(Tensor, Tensor)> = stats
        .iter()
        .map(|(m, v)| (m.zeros_like(), v.zeros_like()))
        .collect();
    let result = tch::no_grad(|| -> Result<()> {
        for b in prefetched_batches(set, &order, batch, seed).take(iters) {
            let (x, _) = b?;
            let _ = model.model.forward_t(&x, true);
            for ((mean, var), (sm, sv)) in stats.iter().zip(sums.iter_mut()) {
                *sm += mean / iters as f64;
                *sv += var / iters as f64;
            }
        }
        for ((mean, var), (sm, sv)) in stats.iter().zip(&sums) {
            mean.shallow_clone().copy_(sm);
            var.shallow_clone().copy_(sv);
        }
        Ok(())
    });
    for (cb, m) in model.model.conv_bns().into_iter().zip(saved) {
        cb.momentum = m;
    }
    result
}
