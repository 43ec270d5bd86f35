//! Analysis on hand-made populations whose answers are known.

use regnet_analysis::*;
use serde_json::{json, Value};

fn anynet(depths: [u64; 3], widths: [u64; 3], b: [f64; 3], g: [u64; 3]) -> Value {
    json!({"MODEL": {"TYPE": "anynet"}, "ANYNET": {
        "DEPTHS": depths, "WIDTHS": widths, "BOT_MULS": b, "GROUP_WS": g}})
}

fn record(cfg: Value, errs: &[f64], max: u64, flops: f64) -> Value {
    let n = errs.len() as u64;
    json!({
        "cfg": cfg,
        "complexity": {"flops": flops, "params": flops / 10.0, "acts": flops / 5.0},
        "test_epoch": {"top1_err": errs, "epoch_ind": (1..=n).collect::<Vec<_>>(),
                        "epoch_max": vec![max; n as usize]},
    })
}

#[test]
fn pycls_json_records_keep_finished_jobs_with_their_last_error() {
    let cfg = anynet([1, 2, 3], [16, 32, 64], [1.0, 0.5, 1.0], [4, 8, 8]);
    let mut unfinished = record(cfg.clone(), &[70.0], 2, 2e6);
    unfinished["err"] = json!("worker killed");
    unfinished["regnet"] = json!({"job": "job-0001"});
    let sweep = json!([
        record(cfg.clone(), &[60.0, 50.0], 2, 1e6),
        unfinished, // unfinished: left out, named as missing
        {"cfg": cfg}, // never trained
    ]);
    let p = Population::from_pycls_json("s", &sweep).unwrap();
    assert_eq!(p.models.len(), 1);
    assert_eq!((p.sampled(), p.missing.len()), (3, 2));
    assert_eq!(
        p.missing[0],
        MissingModel {
            name: "job-0001".into(),
            state: "unfinished".into(),
            reason: "trained 1 of 2 epochs; worker killed".into()
        }
    );
    assert_eq!(p.missing[1].reason, "no test epochs recorded");
    let m = &p.models[0];
    assert_eq!((m.error, m.curve.clone()), (50.0, vec![60.0, 50.0]));
    assert_eq!(m.metrics["anynet_d"], 6.0);
    assert_eq!(m.metrics["anynet_w"], 64.0);
    assert_eq!(m.metrics["anynet_g"], 8.0);
    assert_eq!(m.metrics["anynet_b"], 1.0);
    assert_eq!(m.metrics["flops"], 1e6);
    assert!(Population::from_pycls_json("s", &json!({})).is_err());
}

#[test]
fn errors_that_are_not_percentages_are_refused_naming_the_record() {
    let cfg = anynet([1, 2, 3], [16, 32, 64], [1.0; 3], [8; 3]);
    for (bad, says) in [
        (
            json!(1.7e308),
            "1.7e+308: an error must be a number in [0, 100]",
        ),
        (json!(-1.0), "-1.0: an error must be a number in [0, 100]"),
        (json!("12.5"), "\"12.5\" is not a number"),
    ] {
        let mut r = record(cfg.clone(), &[50.0, 40.0], 2, 1e6);
        r["test_epoch"]["top1_err"][1] = bad;
        let sweep = json!([record(cfg.clone(), &[30.0], 1, 1e6), r]);
        let e = Population::from_pycls_json("s", &sweep).unwrap_err();
        assert!(
            e.contains("record 1 (job-0001): test_epoch.top1_err[1]"),
            "{e}"
        );
        assert!(e.contains(says), "{e}");
    }
}

/// 16 AnyNet models: non-decreasing widths get 40% error, the others 60%,
/// with a little per-model spread; b and g are unrelated to error.
fn population() -> Population {
    let mut recs = Vec::new();
    for i in 0..16u64 {
        let increasing = i % 2 == 0;
        let widths = if increasing {
            [16, 32, 64]
        } else {
            [64, 32, 16]
        };
        let b = if i % 4 < 2 {
            [1.0, 1.0, 1.0]
        } else {
            [1.0, 0.5, 1.0]
        };
        let g = if i % 8 < 4 { [8, 8, 8] } else { [4, 8, 16] };
        let err = if increasing { 40.0 } else { 60.0 } + i as f64 * 0.1;
        recs.push(record(
            anynet([1, 2, 2], widths, b, g),
            &[err],
            1,
            1e6 + i as f64,
        ));
    }
    Population::from_pycls_json("toy", &Value::Array(recs)).unwrap()
}

#[test]
fn refinement_ranks_the_constraint_that_separates_good_from_bad_first() {
    let a = analyze(
        &[population()],
        &Options {
            bins: Some(1),
            ..Options::default()
        },
    );
    let r = &a.populations[0].refinement;
    assert_eq!(r[0].constraint, "non_decreasing_w");
    assert_eq!((r[0].kept, r[0].share), (8, 0.5));
    // population mean 50.75, kept mean 40.7: 10.05 points better; the kept
    // half holds exactly the lower half of the errors, so D = 0.5
    assert!((r[0].mean_change + 10.05).abs() < 1e-9, "{:?}", r[0]);
    assert!((r[0].ks_d - 0.5).abs() < 1e-12);
    let shared_b = r.iter().find(|x| x.constraint == "shared_b").unwrap();
    assert!(
        shared_b.mean_change.abs() < 0.5 && shared_b.p_value > 0.5,
        "{shared_b:?}"
    );
    // depths [1, 2, 2] always non-decreasing: keeps everything, changes nothing
    let depths = r
        .iter()
        .find(|x| x.constraint == "non_decreasing_d")
        .unwrap();
    assert_eq!((depths.kept, depths.mean_change), (16, 0.0));
}

/// 16 AnyNet models with a third stage of depth 1-4 (i % 4 + 1) and
/// otherwise the same structure; depth 4 costs 20 points of error.
fn deep_last_stage_is_bad() -> Population {
    let recs: Vec<Value> = (0..16u64)
        .map(|i| {
            let d3 = i % 4 + 1;
            let err = 40.0 + 0.1 * i as f64 + if d3 == 4 { 20.0 } else { 0.0 };
            let cfg = anynet([1, 2, d3], [16, 32, 64], [1.0; 3], [8; 3]);
            record(cfg, &[err], 1, 1e6 + i as f64)
        })
        .collect();
    Population::from_pycls_json("deep", &Value::Array(recs)).unwrap()
}

#[test]
fn best_ranges_become_candidates_and_the_loop_tests_the_best_that_shrinks() {
    let o = Options {
        bins: Some(1),
        ..Options::default()
    };
    let a = analyze(&[deep_last_stage_is_bad()], &o);
    let r = &a.populations[0].refinement;
    // A 25% sample (4 of 16) has its best model at depth 4 only when all 4
    // draws are, (1/4)^4 = 0.4% of the time, below the 2.5% tail: the best
    // range of d3 is [1, 3], whose lower side excludes nothing. Kept: the
    // 12 models of depth 1-3, mean 40 + 0.1 * 7 = 40.7 against 45.75.
    let d3 = r.iter().find(|x| x.constraint == "d3<=3").unwrap();
    let total = r.iter().find(|x| x.constraint == "anynet_d<=6").unwrap();
    for c in [d3, total] {
        assert_eq!((c.kept, c.share), (12, 0.75), "{c:?}");
        assert!((c.mean_change + 5.05).abs() < 1e-9, "{c:?}");
    }
    // Constant parameters give no range; the structural restrictions that
    // every model meets keep everything.
    assert!(!r.iter().any(|x| x.constraint.starts_with("w")), "{r:?}");
    let shared_b = r.iter().find(|x| x.constraint == "shared_b").unwrap();
    assert_eq!(shared_b.share, 1.0);
    // Non-decreasing depths drops d3 = 1 (i = 0, 4, 8, 12): kept mean
    // 40.8 + 20 * 4/12, 1.717 points worse than the population.
    let nd = r
        .iter()
        .find(|x| x.constraint == "non_decreasing_d")
        .unwrap();
    assert!(
        (nd.mean_change - (0.8 + 80.0 / 12.0 - 5.75)).abs() < 1e-9,
        "{nd:?}"
    );
    // The loop takes the best-ranked candidate that shrinks the space, then
    // the next untried one; one that looks worse than the margin is not tried.
    let first = next_candidate(r, &[], 1.0).unwrap();
    assert_eq!(first.constraint, "anynet_d<=6");
    let mut tried = vec![first.restrictions.clone()];
    assert_eq!(next_candidate(r, &tried, 1.0).unwrap().constraint, "d3<=3");
    tried.push(d3.restrictions.clone());
    assert!(next_candidate(r, &tried, 1.0).is_none());
    let wider = next_candidate(r, &tried, 2.0).unwrap();
    assert_eq!(wider.constraint, "non_decreasing_d");
}

#[test]
fn user_constraints_and_comparisons() {
    let p = population();
    let mut better = p.clone();
    better.name = "better".into();
    for m in &mut better.models {
        m.error -= 30.0;
    }
    let o = Options {
        bins: Some(1),
        constraints: vec![
            "anynet_g<=8".parse().unwrap(),
            "anynet_w<=16".parse().unwrap(),
        ],
        ..Options::default()
    };
    let a = analyze(&[p, better], &o);
    let c = &a.comparisons[0];
    assert_eq!(c.better.as_deref(), Some("better"));
    assert!((c.mean_diff.estimate - 30.0).abs() < 1e-9);
    assert!(c.mean_diff.lo > 20.0, "{c:?}");
    // no overlap: D = 1, p = Q(sqrt(8)) = 2 e^-16 - ...
    assert_eq!(c.ks.d, 1.0);
    assert!((c.ks.p_value - 2.0 * (-16f64).exp()).abs() < 1e-9, "{c:?}");
    let r = &a.populations[0].refinement;
    let g = r.iter().find(|r| r.constraint == "anynet_g<=8").unwrap();
    assert_eq!(g.kept, 8);
    let none = r.iter().find(|r| r.constraint == "anynet_w<=16").unwrap();
    assert_eq!(none.kept, 0, "listed even though no model meets it");
    assert!("anynet_w".parse::<regnet_space::Restriction>().is_err());
}

#[test]
fn a_regnet_written_as_anynet_fits_exactly() {
    // RegNetX-200MF's stages (docs/method.md §5): widths [24, 56, 152, 368], depths [1, 1, 4, 7].
    let cfg = json!({"ANYNET": {"DEPTHS": [1, 1, 4, 7], "WIDTHS": [24, 56, 152, 368]}});
    let recs: Vec<Value> = (0..4)
        .map(|i| record(cfg.clone(), &[50.0 + i as f64], 1, 2e8))
        .collect();
    let p = Population::from_pycls_json("rx", &Value::Array(recs)).unwrap();
    let a = analyze(&[p], &Options::default());
    let f = a.populations[0].regnet_fit.as_ref().unwrap();
    assert_eq!((f.good, f.close_share), (1, 1.0));
    assert!(f.top[0].e_fit < 1e-9, "{:?}", f.top[0]);
    assert_eq!(block_widths(&cfg).unwrap().len(), 13);
}
