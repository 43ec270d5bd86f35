//! Axes over any finite data end with a handful of ticks: data spanning
//! the whole double range (a hostile sweep.json's flops) must neither loop
//! nor allocate per decade.

use regnet_report::svg::{Axis, Chart};

fn labels(x: Axis) -> usize {
    let y = Axis::fixed("y", 0.0, 1.0);
    let mut c = Chart::new("t", x, y, 300.0, 200.0);
    c.points(&[(1.0, 0.5, "#000".into())], 2.0);
    c.finish().matches("<text").count()
}

#[test]
fn extreme_ranges_give_few_ticks() {
    for values in [
        vec![1.0, 1.7e308],
        vec![1e-300, 1e300],
        vec![-1.7e308, 1.7e308],
        vec![0.0, 5e-324],
        vec![3.0, 3.0],
    ] {
        let n = labels(Axis::fit("x", values.clone()));
        assert!((1..40).contains(&n), "{values:?}: {n} labels");
    }
}
