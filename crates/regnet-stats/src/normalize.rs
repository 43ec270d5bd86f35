//! Normalized EDF weights (docs/method.md §6, from Radosavovic et al., ICCV 2019):
//! spaces can differ in their complexity distribution, which confounds a
//! comparison of their errors; weighting models so that every population has
//! the same complexity distribution removes that confound.

/// Weights per population: log10 of each model's complexity (flops, params
/// or acts) is put in one of `bins` equal-width bins spanning all the
/// populations; only bins that every population occupies are kept, each with
/// total weight 1/(bins kept), shared equally by the population's models in
/// it. Models in other bins weigh 0. Every population's weighted complexity
/// histogram is then the same (uniform over the kept bins); weights sum to 1.
pub fn normalized_weights(populations: &[&[f64]], bins: usize) -> Vec<Vec<f64>> {
    let bins = bins.max(1);
    let logs: Vec<Vec<f64>> = populations
        .iter()
        .map(|p| p.iter().map(|c| c.max(f64::MIN_POSITIVE).log10()).collect())
        .collect();
    let all = logs.iter().flatten().copied();
    let (lo, hi) = all.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
        (a.min(x), b.max(x))
    });
    let width = (hi - lo) / bins as f64;
    let bin_of = |x: f64| -> usize {
        if width > 0.0 {
            (((x - lo) / width) as usize).min(bins - 1)
        } else {
            0
        }
    };
    let counts: Vec<Vec<usize>> = logs
        .iter()
        .map(|p| {
            let mut c = vec![0; bins];
            for &x in p {
                c[bin_of(x)] += 1;
            }
            c
        })
        .collect();
    let kept: Vec<bool> = (0..bins).map(|b| counts.iter().all(|c| c[b] > 0)).collect();
    let n_kept = kept.iter().filter(|&&k| k).count().max(1) as f64;
    logs.iter()
        .zip(&counts)
        .map(|(p, c)| {
            p.iter()
                .map(|&x| {
                    let b = bin_of(x);
                    if kept[b] {
                        1.0 / (n_kept * c[b] as f64)
                    } else {
                        0.0
                    }
                })
                .collect()
        })
        .collect()
}

/// A bin count for populations of these sizes: about √n, between 1 and 10.
pub fn default_bins(sizes: &[usize]) -> usize {
    let n = sizes.iter().copied().min().unwrap_or(1);
    ((n as f64).sqrt().floor() as usize).clamp(1, 10)
}
