//! `regnet time-model fit` and the commands that read its model: a small
//! fit on this machine, then `describe`, `space stats` and `space sample
//! --time-ms` predicting with it, checked against the model's own formula.

use crate::common::{fails, ok, tmp};

use serde_json::Value;
use std::path::Path;

/// ms/image the fit `f` (a time model's infer or train) predicts for a
/// model of these flops, params and acts, computed here from the file.
fn predict(f: &Value, flops: f64, params: f64, acts: f64) -> f64 {
    let terms = f["terms"].as_array().unwrap();
    let coef = f["coef_ms"].as_array().unwrap();
    let v: f64 = terms
        .iter()
        .zip(coef)
        .map(|(t, c)| {
            let x = match t.as_str().unwrap() {
                "flops" => flops / 1e9,
                "params" => params / 1e6,
                _ => acts / 1e6,
            };
            c.as_f64().unwrap() * x
        })
        .sum();
    (f["intercept_ms"].as_f64().unwrap() + v).max(0.0)
}

/// The small fit's settings: 24 sampled models of 5-60 MF at 64 px, one
/// step of batch 2 on one thread, training every second model.
const FIT: &[&str] = &[
    "-n",
    "24",
    "--zoo",
    "false",
    "--im-size",
    "64",
    "--batch",
    "2",
    "--steps",
    "1",
    "--threads",
    "1",
    "--train-every",
    "2",
    "--flops",
    "5M:60M",
];

fn fit_small(dir: &Path) -> (std::path::PathBuf, Value) {
    let model = dir.join("tm.json");
    let charts = dir.join("charts");
    let mut args = vec!["time-model", "fit", "-o", model.to_str().unwrap()];
    args.extend(FIT);
    args.extend(["--charts", charts.to_str().unwrap()]);
    let out = ok(&args);
    assert!(
        out.contains("inference: correlation of time with acts: r = "),
        "{out}"
    );
    assert!(out.contains("held-out error median"), "{out}");
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&model).unwrap()).unwrap();
    (model, v)
}

#[test]
fn a_fitted_time_model_predicts_in_describe_and_space_commands() {
    let d = tmp("time-model");
    let (model, tm) = fit_small(&d);
    let m = model.to_str().unwrap();
    // 24 sampled models: 18 fitted, 6 held out; training every 2nd: 12 -> 9 + 3.
    assert_eq!(
        (
            tm["infer"]["fitted_on"].as_u64(),
            tm["infer"]["held_out"].as_u64()
        ),
        (Some(18), Some(6))
    );
    assert_eq!(tm["train"]["fitted_on"].as_u64(), Some(9));
    assert_eq!(
        (
            tm["batch"].as_u64(),
            tm["im_size"].as_u64(),
            tm["threads"].as_u64()
        ),
        (Some(2), Some(64), Some(1))
    );
    let samples = std::fs::read_to_string(d.join("tm.samples.jsonl")).unwrap();
    assert_eq!(samples.lines().count(), 24);
    for f in [
        "infer_vs_flops.svg",
        "infer_vs_acts.svg",
        "train_vs_params.svg",
    ] {
        let svg = std::fs::read_to_string(d.join("charts").join(f)).unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("<circle"), "{f}");
    }
    // A rerun reuses every measurement (and fits the same model).
    let again = ok(&[&["time-model", "fit", "-o", m], FIT].concat());
    assert!(!again.contains("[1/24]"), "{again}");
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&model).unwrap()).unwrap();
    assert_eq!(v["infer"], tm["infer"]);

    let j: Value = serde_json::from_str(&ok(&[
        "describe",
        "RegNetX-200MF",
        "--im-size",
        "64",
        "--json",
        "--time-model",
        m,
    ]))
    .unwrap();
    let (fl, pa, ac) = (
        j["flops"].as_f64().unwrap(),
        j["params"].as_f64().unwrap(),
        j["acts"].as_f64().unwrap(),
    );
    let want = predict(&tm["infer"], fl, pa, ac);
    assert!(
        (j["time_ms"]["infer"].as_f64().unwrap() - want).abs() < 1e-9 * want.max(1.0),
        "{j}"
    );
    let human = ok(&["describe", "RegNetX-200MF", "--time-model", m]);
    assert!(
        human.contains("predicted time on cpu")
            && human.contains("fitted at 64x64; this one is counted at 224x224"),
        "{human}"
    );

    // Sampling by predicted time: every model's prediction is in the band.
    let median = {
        let s: Value = serde_json::from_str(&ok(&[
            "space",
            "stats",
            "anynetx-a",
            "-n",
            "40",
            "--im-size",
            "64",
            "--flops",
            "5M:60M",
            "--json",
            "--time-model",
            m,
        ]))
        .unwrap();
        assert!(
            s["time_model"].as_str().unwrap().starts_with("cpu ("),
            "{s}"
        );
        s["quantiles"]["infer_ms"]["p50"].as_f64().unwrap()
    };
    let lo = format!("{median:.3}");
    let out = ok(&[
        "space",
        "sample",
        "anynetx-a",
        "-n",
        "5",
        "--im-size",
        "64",
        "--flops",
        "5M:60M",
        "--time-model",
        m,
        "--time-ms",
        &format!("{lo}:"),
    ]);
    let mut n = 0;
    for line in out.lines().filter(|l| l.starts_with('{')) {
        let s: Value = serde_json::from_str(line).unwrap();
        let t = predict(
            &tm["infer"],
            s["flops"].as_f64().unwrap(),
            s["params"].as_f64().unwrap(),
            s["acts"].as_f64().unwrap(),
        );
        assert!(t >= lo.parse::<f64>().unwrap(), "{t} < {lo}");
        n += 1;
    }
    assert_eq!(n, 5, "{out}");
    let e = fails(&[
        "space",
        "sample",
        "anynetx-a",
        "-n",
        "2",
        "--time-model",
        m,
        "--time-ms",
        "9:3",
    ]);
    assert!(e.contains("--time-ms '9:3': LO is above HI"), "{e}");
    let e = fails(&[
        "space",
        "sample",
        "anynetx-a",
        "-n",
        "2",
        "--time-model",
        m,
        "--time-ms",
        "100000:",
        "--max-tries",
        "2000",
    ]);
    assert!(
        e.contains("the time constraint (predicted time in [100000, ] ms/image) rejected most"),
        "{e}"
    );
    let e = fails(&[
        "describe",
        "RegNetX-200MF",
        "--time-model",
        d.join("tm.samples.jsonl").to_str().unwrap(),
    ]);
    assert!(
        e.contains("not a time model (made by `regnet time-model fit`)"),
        "{e}"
    );
}
