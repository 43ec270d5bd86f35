use regnet_data::synthetic::{generate, Split, CLASSES, SIZE};

#[test]
fn deterministic_balanced_and_split() {
    let a = generate(50, 7, Split::Train);
    assert_eq!(a, generate(50, 7, Split::Train), "same seed, same images");
    assert_ne!(a.pixels, generate(50, 8, Split::Train).pixels);
    let test = generate(50, 7, Split::Test);
    assert_ne!(a.pixels, test.pixels, "train and test differ");
    assert_eq!(a.pixels.len(), 50 * 3 * SIZE * SIZE);
    assert_eq!(a.num_classes, CLASSES.len());
    for c in 0..10u32 {
        assert_eq!(a.labels.iter().filter(|&&l| l == c).count(), 5);
    }
    // A prefix of a larger set is the smaller set.
    let b = generate(20, 7, Split::Train);
    assert_eq!(b.pixels[..], a.pixels[..b.pixels.len()]);
}

#[test]
fn images_are_not_trivial() {
    let s = generate(200, 1, Split::Train);
    let (mean, std) = s.channel_stats();
    for c in 0..3 {
        assert!(mean[c] > 0.2 && mean[c] < 0.8, "{mean:?}");
        assert!(std[c] > 0.15, "{std:?}");
    }
    // Class means differ less than images do: colour alone cannot tell classes apart.
    let class_mean = |k: u32| {
        let idx: Vec<usize> = (0..s.len()).filter(|&i| s.labels[i] == k).collect();
        idx.iter()
            .map(|&i| s.image(i).iter().map(|&p| p as f64).sum::<f64>())
            .sum::<f64>()
            / (idx.len() * 3 * SIZE * SIZE) as f64
    };
    let means: Vec<f64> = (0..10).map(class_mean).collect();
    let spread = means.iter().cloned().fold(f64::MIN, f64::max)
        - means.iter().cloned().fold(f64::MAX, f64::min);
    assert!(spread < 40.0, "{means:?}");
}
