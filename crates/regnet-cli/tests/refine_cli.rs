//! `regnet refine` end to end on synthetic data: a loop killed with SIGKILL
//! (with its workers) and rerun ends with the decisions, models and errors
//! of an uninterrupted loop; settings that would change a loop are refused.

mod common;
use common::{fails, kill_at_random_points, ok, tmp};

use serde_json::Value;
use std::path::Path;
use std::time::Instant;

const RECIPE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/refine_recipe.yaml");

/// A small loop: AnyNetX_A at 0.5-1 MF, screened on 6 models, rounds of 3,
/// two looks, 15 models in all, two workers.
fn loop_args(dir: &Path) -> Vec<String> {
    [
        "refine",
        "anynetx-a",
        "--flops",
        "0.5M:1M",
        "--data",
        "synthetic:300",
        "--recipe",
        RECIPE,
        "--budget",
        "15",
        "--round",
        "3",
        "--looks",
        "2",
        "--screen",
        "6",
        "--workers",
        "2",
        "--dir",
        dir.to_str().unwrap(),
    ]
    .map(String::from)
    .to_vec()
}

fn run(args: &[String]) -> String {
    ok(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

/// Each step's space, parent, decision, looks and models, and the status.
fn decisions(dir: &Path) -> Value {
    let chain: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("chain.json")).unwrap()).unwrap();
    let steps: Vec<Value> = chain["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            serde_json::json!({
                "space": s["space"], "parent": s["parent"], "kept": s["kept"],
                "models": s["models"], "looks": s["comparison"]["looks"],
                "screening": s["screening"],
            })
        })
        .collect();
    serde_json::json!({"steps": steps, "status": chain["status"], "models": chain["models"]})
}

/// Every model's final error, by step directory and job.
fn errors(dir: &Path) -> Vec<(String, f64)> {
    let mut out = Vec::new();
    let mut steps: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|e| e.path().join("sweep.db").exists())
        .map(|e| e.path())
        .collect();
    steps.sort();
    for s in steps {
        let csv = ok(&["sweep", "export", s.to_str().unwrap(), "--format", "csv"]);
        for line in csv.lines().filter(|l| l.starts_with("job-")) {
            let f: Vec<&str> = line.split(',').collect();
            assert_eq!(f[1], "done", "{line}");
            assert_eq!(f[12], "0", "no failure counted for a killed loop: {line}");
            let name = format!("{}/{}", s.file_name().unwrap().to_string_lossy(), f[0]);
            out.push((name, f[7].parse().unwrap()));
        }
    }
    out
}

#[test]
fn a_loop_killed_at_random_points_and_rerun_decides_as_an_uninterrupted_one() {
    let base = tmp("refine-kill");
    let (killed, clean) = (base.join("killed"), base.join("clean"));
    let start = Instant::now();
    let out = run(&loop_args(&clean));
    let clean_secs = start.elapsed().as_secs_f64();
    assert!(out.contains("budget spent (15 models)"), "{out}");
    let want = decisions(&clean);
    assert!(want["steps"].as_array().unwrap().len() >= 2, "{want}");
    kill_at_random_points(&loop_args(&killed), 3, clean_secs);
    let out = run(&loop_args(&killed));
    assert!(out.contains("budget spent (15 models)"), "{out}");
    assert_eq!(decisions(&killed), want);
    assert_eq!(errors(&killed), errors(&clean));
    // A finished loop rerun trains nothing and says the same.
    let again = run(&loop_args(&clean));
    assert!(!again.contains("job-0000 done"), "{again}");
    assert_eq!(decisions(&clean), want);
    let report = std::fs::read_to_string(clean.join("report.html")).unwrap();
    for part in [
        "Chain of spaces",
        "Size of each space",
        "Screening in 0: start",
    ] {
        assert!(report.contains(part), "report lacks {part}");
    }
}

#[test]
fn bad_loop_settings_are_one_line_errors() {
    let d = tmp("refine-bad");
    let dir = d.to_str().unwrap();
    let e = fails(&["refine", "anynetx-a", "--flops", "1M:2M", "--dir", dir]);
    assert!(e.contains("--budget is needed"), "{e}");
    let e = fails(&["refine", "anynetx-a", "--budget", "ten", "--dir", dir]);
    assert!(e.contains("'ten'") && e.contains("6h"), "{e}");
    let e = fails(&[
        "refine", "resnet", "--flops", "1M:2M", "--budget", "4", "--dir", dir,
    ]);
    assert!(e.contains("unknown design space 'resnet'"), "{e}");
    let e = fails(&[
        "refine",
        "anynetx-a",
        "--flops",
        "1M:2M",
        "--budget",
        "4",
        "--margin=-1",
        "--dir",
        dir,
    ]);
    assert!(e.contains("--margin -1"), "{e}");
    // A loop's settings are fixed once it started; only its budget changes.
    let mut args = loop_args(&d);
    args[9] = "1".into(); // --budget 1: too small for the first population
    let out = run(&args);
    assert!(out.contains("budget spent (1 models)"), "{out}");
    let e = fails(&["refine", "--flops", "2M:3M", "--dir", dir]);
    assert!(
        e.contains("another --flops") && e.contains("--force"),
        "{e}"
    );
    let e = fails(&["refine", "--round", "4", "--dir", dir]);
    assert!(e.contains("another --round"), "{e}");
}
