//! `regnet refine` end to end on synthetic data: a loop killed with SIGKILL
//! (with its workers) and rerun ends with the decisions, models and errors
//! of an uninterrupted loop; settings that would change a loop are refused.

use crate::common::{fails, kill_at_random_points, ok, tmp};

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

const RECIPE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/refine_recipe.yaml");

/// A small loop: AnyNetX_A at 0.5-1 MF, screened on 6 models, rounds of 3,
/// two looks, 15 models in all, two workers.
fn loop_args(dir: &Path) -> Vec<String> {
    refine_args(dir, "0.5M:1M", "synthetic:300", RECIPE, 15)
}

/// `regnet refine` of AnyNetX_A in band `flops` on `data` with `recipe`:
/// screened on 6 models, rounds of 3, two looks, `budget` models in all,
/// two workers.
pub(crate) fn refine_args(
    dir: &Path,
    flops: &str,
    data: &str,
    recipe: &str,
    budget: usize,
) -> Vec<String> {
    let budget = budget.to_string();
    [
        "refine",
        "anynetx-a",
        "--flops",
        flops,
        "--data",
        data,
        "--recipe",
        recipe,
        "--budget",
        &budget,
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
                "space": s["space"], "parent": s["parent"], "decision": s["decision"],
                "models": s["models"], "looks": s["comparison"]["looks"],
                "screening": s["screening"],
            })
        })
        .collect();
    serde_json::json!({"steps": steps, "status": chain["status"], "models": chain["models"]})
}

/// The loop's step directories, in order, as `sweep export` takes them.
pub(crate) fn step_dirs(dir: &Path) -> Vec<String> {
    let mut steps: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|e| e.path().join("sweep.db").exists())
        .map(|e| e.path().display().to_string())
        .collect();
    steps.sort();
    steps
}

/// Every model's final error, by step and job, from the sweeps at
/// `locations` (in step order); every model trained once when `once`.
fn errors(locations: &[String], once: bool) -> Vec<(String, f64)> {
    let mut out = Vec::new();
    for (step, s) in locations.iter().enumerate() {
        let csv = ok(&["sweep", "export", s, "--format", "csv"]);
        for line in csv.lines().filter(|l| l.starts_with("job-")) {
            let f: Vec<&str> = line.split(',').collect();
            assert_eq!(f[1], "done", "{line}");
            assert_eq!(f[12], "0", "no failure counted for a killed loop: {line}");
            if once {
                assert_eq!(f[13], "1", "trained by one process only: {line}");
            }
            out.push((format!("{step}/{}", f[0]), f[7].parse().unwrap()));
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
    assert_eq!(
        errors(&step_dirs(&killed), false),
        errors(&step_dirs(&clean), true)
    );
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

/// The sweeps of a loop kept in database `url`, in step order.
fn db_sweeps(dir: &Path, url: &str) -> Vec<String> {
    let chain: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("chain.json")).unwrap()).unwrap();
    let steps = chain["steps"].as_array().unwrap();
    steps
        .iter()
        .map(|s| {
            let shown = s["sweep"].as_str().unwrap();
            assert!(!shown.contains(crate::pg_server::PASSWORD), "{shown}");
            let (_, name) = shown.split_once("?sweep=").unwrap();
            format!("{url}?sweep={name}")
        })
        .collect()
}

#[test]
fn two_loops_sharing_a_postgres_store_train_the_loop_one_would_train() {
    let base = tmp("refine-pg");
    let (clean, shared) = (base.join("clean"), base.join("shared"));
    run(&loop_args(&clean));
    let url = crate::pg_server::server().database("refine_shared");
    // Two processes of one worker each, as two machines would run them.
    let mut args = loop_args(&shared);
    let w = args.iter().position(|a| a == "--workers").unwrap();
    args[w + 1] = "1".into();
    args.extend(["--store".into(), url.clone()]);
    let loops: Vec<_> = (0..2)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_regnet"))
                .args(&args)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for l in loops {
        let out = l.wait_with_output().unwrap();
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert!(out.status.success(), "{stderr}");
        assert!(stdout.contains("budget spent (15 models)"), "{stdout}");
    }
    assert_eq!(decisions(&shared), decisions(&clean));
    assert_eq!(
        errors(&db_sweeps(&shared, &url), true),
        errors(&step_dirs(&clean), true)
    );
    assert!(
        step_dirs(&shared).is_empty(),
        "the stores are in the database"
    );
    let settings = std::fs::read_to_string(shared.join("refine.yaml")).unwrap();
    assert!(!settings.contains(crate::pg_server::PASSWORD), "{settings}");
    // Continued without --store (the password from PGPASSWORD): nothing to train.
    let again = Command::new(env!("CARGO_BIN_EXE_regnet"))
        .args(["refine", "--dir", shared.to_str().unwrap()])
        .env("PGPASSWORD", crate::pg_server::PASSWORD)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&again.stdout);
    assert!(stdout.contains("budget spent (15 models)"), "{stdout}");
    assert_eq!(decisions(&shared), decisions(&clean));
    let dir = base.join("bad");
    let d = dir.to_str().unwrap();
    let store = |url: &str| {
        let a = ["refine", "anynetx-a", "--flops", "1M:2M", "--budget", "4"];
        fails(&[&a[..], &["--dir", d, "--store", url]].concat())
    };
    let e = store("mysql://x/y");
    assert!(
        e.contains("--store 'mysql://x/y'") && e.contains("postgres://"),
        "{e}"
    );
    let e = store(&format!("{url}?sweep=mine"));
    assert!(e.contains("name the database only"), "{e}");
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
    // A refused setting leaves nothing behind: the corrected command starts.
    let start = |flops: &str, extra: &[&str]| {
        let mut args = vec![
            "refine",
            "anynetx-a",
            "--flops",
            flops,
            "--budget",
            "1",
            "--dir",
            dir,
        ];
        args.extend(extra);
        fails(&args)
    };
    let bad = start("1M:2M", &["--alpha", "1.5"]);
    assert!(bad.contains("--round/--looks/--alpha"), "{bad}");
    assert!(
        !d.join("refine.yaml").exists(),
        "refine.yaml written for refused settings"
    );
    let e = start("2M:1M", &[]);
    assert!(e.contains("--flops '2M:1M'"), "{e}");
    let e = start("1M:2M", &["--order", "best"]);
    assert!(e.contains("allowed: shrink, gain"), "{e}");
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
