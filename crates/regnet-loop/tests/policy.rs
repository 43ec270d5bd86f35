//! The candidate order on a hand-made screening.

use regnet_analysis::Refinement;
use regnet_loop::{ordered, Order};
use regnet_space::Restriction;

/// A screening row: `kept` of 16 models, mean change `change` points.
fn row(constraint: &str, kept: usize, change: f64) -> Refinement {
    let restrictions: Vec<Restriction> =
        constraint.split(", ").map(|r| r.parse().unwrap()).collect();
    Refinement {
        constraint: constraint.into(),
        restrictions,
        kept,
        share: kept as f64 / 16.0,
        mean_error: 20.0 + change,
        mean_change: if kept == 0 { f64::NAN } else { change },
        min_change: 0.0,
        ks_d: 0.0,
        p_value: 1.0,
    }
}

/// Hand-set log10 size reductions.
fn reduction(rs: &[Restriction]) -> Option<f64> {
    Some(match rs[0].to_string().as_str() {
        "shared_b" => 1.3,
        "shared_g" => 2.2,
        "non_decreasing_w" => 0.9,
        "non_decreasing_d" => 0.0, // the parent already has it
        "d3<=13" => 0.1,
        "w1>=16" => 3.0,
        "g1<=4" => 0.5,
        "b2>=2" => 0.4,
        other => panic!("unexpected {other}"),
    })
}

fn screening() -> Vec<Refinement> {
    vec![
        row("d3<=13", 13, -2.2),
        row("w1>=16", 10, -1.5),
        row("non_decreasing_w", 3, 0.4),
        row("shared_b", 2, 0.0),
        row("shared_g", 0, f64::NAN),
        row("non_decreasing_d", 4, -0.1),
        row("g1<=4", 8, 3.5),
        row("b2>=2", 2, -4.0),
    ]
}

fn names(r: &[regnet_loop::Ranked]) -> Vec<&str> {
    r.iter().map(|r| r.refinement.constraint.as_str()).collect()
}

#[test]
fn structural_first_by_size_reduction_then_ranges_within_the_margin() {
    let r = ordered(Order::Shrink, &screening(), &[], 3.0, reduction);
    // shared_g is kept by no screening model and still tested first;
    // non_decreasing_d does not shrink this parent; g1<=4 looks worse than
    // the margin and b2>=2 is kept by 2 models (fewer than 3), so neither
    // range is a candidate; w1>=16 shrinks most but comes after every
    // structural one.
    assert_eq!(
        names(&r),
        [
            "shared_g",
            "shared_b",
            "non_decreasing_w",
            "w1>=16",
            "d3<=13"
        ]
    );
    assert_eq!(r[0].reduction, 2.2);
}

#[test]
fn tried_candidates_are_left_out() {
    let tried = vec![vec![Restriction::SharedG]];
    let r = ordered(Order::Shrink, &screening(), &tried, 3.0, reduction);
    assert_eq!(names(&r)[0], "shared_b");
}

#[test]
fn the_gain_order_is_the_screening_rank() {
    let mut s = screening();
    s.sort_by(|a, b| a.mean_change.total_cmp(&b.mean_change));
    let r = ordered(Order::Gain, &s, &[], 3.0, reduction);
    // b2>=2 (−4.0) is kept by too few models; d3<=13 (−2.2) is next.
    assert_eq!(names(&r), ["d3<=13"]);
}

#[test]
fn orders_read_and_print_their_names() {
    assert_eq!("shrink".parse::<Order>(), Ok(Order::Shrink));
    assert_eq!(Order::Gain.to_string(), "gain");
    assert_eq!(
        "best".parse::<Order>().unwrap_err(),
        "--order 'best': allowed: shrink, gain"
    );
}
