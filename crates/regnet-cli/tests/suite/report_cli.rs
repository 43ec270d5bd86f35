//! The analysis report: rendered by a real browser, the same from the store
//! and from a pycls sweep.json, clear errors for bad options.

use crate::common::{fails, ok, regnet, tmp};

use serde_json::Value;
use std::path::Path;
use std::process::Command;

/// A small demo: up to 4 + 4 models in two rounds, 1 epoch on 200
/// synthetic images, then `extra` options.
fn small_demo_with(dir: &Path, extra: &[&str]) -> String {
    let mut args = vec![
        "demo",
        "--dir",
        dir.to_str().unwrap(),
        "-n",
        "4",
        "--epochs",
        "1",
        "--data",
        "synthetic:200",
        "--workers",
        "2",
    ];
    args.extend_from_slice(extra);
    ok(&args)
}

fn small_demo(dir: &Path) -> String {
    small_demo_with(dir, &[])
}

/// Jobs in each of the demo's two sweeps.
fn demo_jobs(dir: &Path) -> Vec<usize> {
    ["anynetx_a", "regnetx"]
        .iter()
        .map(|s| {
            let p = dir.join(format!("{s}.json"));
            ok(&[
                "sweep",
                "export",
                dir.join(s).to_str().unwrap(),
                "-o",
                p.to_str().unwrap(),
            ]);
            read_json(&p).as_array().map_or(0, Vec::len)
        })
        .collect()
}

/// A first round that takes longer than the bound leaves the second out,
/// says so, and the summary still comes; run again, the demo trains it.
#[test]
fn a_demo_past_its_time_bound_skips_the_next_round_until_run_again() {
    let d = tmp("demo-bound");
    let out = small_demo_with(&d, &["--minutes", "0.001"]);
    assert!(
        out.contains("round 2 would end after about")
            && out.contains("past the bound of 0.001 minutes"),
        "{out}"
    );
    assert!(
        out.contains("the next look needs 4 models of each"),
        "{out}"
    );
    assert_eq!(demo_jobs(&d), [2, 2]);
    let again = small_demo(&d);
    assert!(!again.contains("would end after"), "{again}");
    assert_eq!(demo_jobs(&d), [4, 4]);
    assert!(fails(&["demo", "--minutes", "0"]).contains("not a time bound"));
}

fn read_json(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

#[test]
fn the_demo_report_renders_in_headless_chromium() {
    let d = tmp("report-demo");
    let out = small_demo(&d);
    assert!(out.contains("normalized EDFs differ by KS D"), "{out}");
    let report = d.join("report.html");
    let html = std::fs::read_to_string(&report).unwrap();
    // Self-contained: inline SVG, no scripts, no external assets.
    assert!(html.matches("<svg").count() >= 10, "charts are missing");
    for banned in ["<script", "src=", "href=", "@import", "url("] {
        assert!(
            !html.contains(banned),
            "external or scripted content: {banned}"
        );
    }
    let chromium = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|c| {
            Command::new(c)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .expect("headless Chromium is needed (./scripts/test installs Debian's chromium)");
    let shot = d.join("shot.png");
    let o = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
        ])
        .args([
            "--window-size=1100,2400",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", report.display()))
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{log}");
    let console: Vec<&str> = log.lines().filter(|l| l.contains("CONSOLE")).collect();
    assert!(console.is_empty(), "console messages: {console:?}");
    let img = image::open(&shot).unwrap().to_rgb8();
    let total = (img.width() * img.height()) as f64;
    let inked = img
        .pixels()
        .filter(|p| p.0.iter().any(|&c| c < 235))
        .count() as f64;
    assert!(
        inked / total > 0.05,
        "the page looks blank ({:.3} inked)",
        inked / total
    );
    // Both populations' colours (#1f77b4 blue, #d62728 red) are drawn.
    let near = |c: [u8; 3]| {
        img.pixels()
            .filter(|p| {
                p.0.iter()
                    .zip(c)
                    .all(|(&a, b)| (a as i32 - b as i32).abs() < 30)
            })
            .count()
    };
    assert!(near([31, 119, 180]) > 200, "no blue curves or points");
    assert!(near([214, 39, 40]) > 200, "no red curves or points");
}

#[test]
fn a_pycls_sweep_json_gives_the_same_summaries_as_the_store() {
    let d = tmp("report-json");
    small_demo(&d);
    let sweep = d.join("regnetx");
    let exported = d.join("sweep.json");
    ok(&[
        "sweep",
        "export",
        sweep.to_str().unwrap(),
        "--format",
        "pycls-json",
        "-o",
        exported.to_str().unwrap(),
    ]);
    let (a, b) = (d.join("a.json"), d.join("b.json"));
    for (src, json) in [(&sweep, &a), (&exported, &b)] {
        ok(&[
            "sweep",
            "analyze",
            src.to_str().unwrap(),
            "-o",
            d.join("r.html").to_str().unwrap(),
            "--json",
            json.to_str().unwrap(),
        ]);
    }
    let (a, b) = (read_json(&a), read_json(&b));
    let pa = &a["populations"][0];
    let pb = &b["populations"][0];
    assert_eq!(pa["summary"]["n"], 4);
    for key in ["summary", "normalized_summary", "edf", "metrics"] {
        assert_eq!(pa[key], pb[key], "{key}");
    }
}

#[test]
fn compare_and_analyze_reject_bad_options_in_one_line() {
    let d = tmp("report-bad");
    let nothing = d.join("nothing");
    let cases: [(&[&str], &str); 4] = [
        (
            &["sweep", "analyze", nothing.to_str().unwrap()],
            "cannot read",
        ),
        (
            &[
                "compare",
                nothing.to_str().unwrap(),
                nothing.to_str().unwrap(),
                "--names",
                "a",
            ],
            "--names gives 1 names for 2 populations",
        ),
        (
            &["sweep", "analyze", d.to_str().unwrap()],
            "no sweep store at",
        ),
        (&["compare", d.to_str().unwrap()], "required"),
    ];
    for (args, expect) in cases {
        let o = regnet(args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{args:?}");
        assert!(err.contains(expect), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    let json = d.join("bad.json");
    std::fs::write(&json, "{\"not\": \"a list\"}").unwrap();
    let o = regnet(&["sweep", "analyze", json.to_str().unwrap()]);
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("a pycls sweep.json is a list of job records")
    );
}

/// Final errors of a committed study population, in record order.
fn study_errors(name: &str) -> Vec<f64> {
    let v = read_json(Path::new(&study(name)));
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r["test_epoch"]["top1_err"]
                .as_array()
                .unwrap()
                .last()
                .unwrap()
                .as_f64()
                .unwrap()
        })
        .collect()
}

fn study(name: &str) -> String {
    format!(
        "{}/../../docs/study/{name}.sweep.json",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

#[test]
fn compare_sequential_stops_at_the_first_deciding_look_and_plans_a_fixed_n() {
    let d = tmp("report-sequential");
    let json = d.join("a.json");
    let out = ok(&[
        "compare",
        &study("anynetx_a"),
        &study("anynetx_e"),
        "--names",
        "A,E",
        "--sequential",
        "--plan",
        "10",
        "--bootstrap",
        "100",
        "-o",
        d.join("r.html").to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
    ]);
    let a = read_json(&json);
    let s = &a["sequential"];
    assert_eq!(s["outcome"]["state"], "decided", "{out}");
    assert_eq!(s["outcome"]["decision"], "worse", "{out}");
    // Every look's estimate is the difference of the first 8k models' means,
    // in record order; the last look decided and no earlier one did.
    let (ea, ee) = (study_errors("anynetx_a"), study_errors("anynetx_e"));
    let looks = s["looks"].as_array().unwrap();
    for (k, l) in looks.iter().enumerate() {
        let n = 8 * (k + 1);
        assert_eq!(l["n"], n);
        let want = mean(&ee[..n]) - mean(&ea[..n]);
        assert!((l["estimate"].as_f64().unwrap() - want).abs() < 1e-9);
        let decided = l["lo"].as_f64().unwrap() > 0.0;
        assert_eq!(decided, k + 1 == looks.len(), "look {}", k + 1);
    }
    assert!(looks.len() < 6, "{out}");
    assert!(out.contains("sequential: E is worse than A"), "{out}");
    // The plan: n = (1.95996 + 0.84162)^2 (sd_a^2 + sd_e^2) / 10^2, rounded up.
    let var =
        |v: &[f64]| v.iter().map(|x| (x - mean(v)).powi(2)).sum::<f64>() / (v.len() - 1) as f64;
    let n = (2.801585f64.powi(2) * (var(&ea) + var(&ee)) / 100.0).ceil() as u64;
    assert_eq!(a["plan"]["models_per_space"], n, "{out}");
    assert!(
        out.contains(&format!("needs {n} models per space")),
        "{out}"
    );
    // A population against itself: every look's estimate is 0 and nothing
    // is decided; with a margin it is "not worse" at the first look that
    // can tell.
    let e_vs_e = |extra: &[&str], html: &str| {
        let (e1, e2, out) = (study("anynetx_e"), study("anynetx_e"), d.join(html));
        let mut args = vec![
            "compare",
            e1.as_str(),
            e2.as_str(),
            "--names",
            "E1,E2",
            "--sequential",
        ];
        args.extend(extra);
        args.extend(["--bootstrap", "100", "-o", out.to_str().unwrap()]);
        ok(&args)
    };
    let same = e_vs_e(&[], "s.html");
    assert!(same.contains("cannot tell after every look"), "{same}");
    let margin = e_vs_e(&["--margin", "15"], "m.html");
    assert!(
        margin.contains("E2 is not worse than E1 by more than 15 points"),
        "{margin}"
    );
    // The report shows the looks and the DKW bands.
    let html = std::fs::read_to_string(d.join("r.html")).unwrap();
    assert!(html.contains("<h2>Sequential comparison</h2>") && html.contains("Dvoretzky"));
    // Bad plans are one line each.
    for (args, want) in [
        (
            vec!["--sequential", "--round", "1"],
            "at least 2 are needed",
        ),
        (
            vec!["--sequential", "--boundary", "wald"],
            "use pocock or obrien-fleming",
        ),
        (vec!["--margin=-1", "--sequential"], "--margin -1"),
        (vec!["--plan", "0"], "positive number of points"),
    ] {
        let mut all = vec!["compare", "--names", "A,E", "-o", "/dev/null"];
        let (pa, pe) = (study("anynetx_a"), study("anynetx_e"));
        all.extend([pa.as_str(), pe.as_str()]);
        all.extend(args);
        let err = String::from_utf8_lossy(&regnet(&all).stderr).into_owned();
        assert!(
            err.contains(want) && !err.contains("panicked"),
            "{all:?}: {err}"
        );
    }
}
