//! The analysis report: rendered by a real browser, the same from the store
//! and from a pycls sweep.json, clear errors for bad options.

mod common;
use common::{ok, regnet, tmp};

use serde_json::Value;
use std::path::Path;
use std::process::Command;

/// A small demo: 4 + 4 models, 1 epoch on 200 synthetic images.
fn small_demo(dir: &Path) -> String {
    ok(&[
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
    ])
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
