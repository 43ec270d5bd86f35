//! Seeded, class-balanced subsets: a study sizes its budget by training on
//! N images of a dataset, with every class equally represented and the same
//! images for every model of the study (the subset depends on the seed only).

use crate::DataError;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Indices of `n` items of `labels` (classes 0..`num_classes`), as equal per
/// class as `n` allows (the first `n % classes` classes in a seeded order get
/// one more), each class's drawn at random from `seed`; returned in the
/// dataset's order. Asking for more of a class than it has is an error.
pub fn balanced(
    labels: &[u32],
    num_classes: usize,
    n: usize,
    seed: u64,
) -> Result<Vec<usize>, DataError> {
    if n == 0 || n > labels.len() {
        return Err(DataError(format!(
            "a subset of {n} images: choose between 1 and the {} images of the split",
            labels.len()
        )));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); num_classes];
    for (i, &l) in labels.iter().enumerate() {
        by_class[l as usize].push(i);
    }
    let mut order: Vec<usize> = (0..num_classes).collect();
    order.shuffle(&mut rng);
    let (base, extra) = (n / num_classes, n % num_classes);
    let mut picked = Vec::with_capacity(n);
    for (rank, &c) in order.iter().enumerate() {
        let want = base + usize::from(rank < extra);
        let members = &mut by_class[c];
        if members.len() < want {
            return Err(DataError(format!(
                "a balanced subset of {n} images needs {want} of class {c}, which has {}",
                members.len()
            )));
        }
        members.shuffle(&mut rng);
        picked.extend_from_slice(&members[..want]);
    }
    picked.sort_unstable();
    Ok(picked)
}
