//! `regnet space ...` and `regnet fit` end to end.

use crate::common::regnet;

use serde_json::Value;

fn ok(args: &[&str]) -> String {
    let out = regnet(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn json(args: &[&str]) -> Value {
    serde_json::from_str(&ok(args)).expect("one JSON value")
}

fn failure(args: &[&str]) -> String {
    let out = regnet(args);
    assert_eq!(out.status.code(), Some(1), "{args:?} should fail");
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    err
}

fn repo(path: &str) -> String {
    format!("{}/../../{path}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn list_and_info() {
    let list = json(&["space", "list", "--json"]);
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "anynetx-a",
            "anynetx-b",
            "anynetx-c",
            "anynetx-d",
            "anynetx-e",
            "regnet",
            "regnetx",
            "regnety"
        ]
    );
    let info = json(&["space", "info", "AnyNetX_A", "--json"]);
    assert_eq!(info["name"], "anynetx-a");
    assert_eq!(info["size"], "1846757322198614016");
    assert!((info["size_log10"].as_f64().unwrap() - 18.2664).abs() < 1e-3);
    assert_eq!(info["parameters"].as_array().unwrap().len(), 4);
    let text = ok(&["space", "info", "regnety"]);
    assert!(
        text.contains("RegNet stages in [4, 4]") && text.contains("\"se_r\":0.25"),
        "{text}"
    );
    let sweep = json(&[
        "space",
        "info",
        &repo("configs/sweeps/cifar_regnet.yaml"),
        "--json",
    ]);
    assert_eq!(sweep["name"], "cifar/cifar_regnet");
}

#[test]
fn sample_is_deterministic_and_describable() {
    let args = [
        "space",
        "sample",
        "anynetx-c",
        "-n",
        "4",
        "--seed",
        "7",
        "--flops",
        "360M:400M",
    ];
    let a = ok(&args);
    assert_eq!(a, ok(&args), "same seed, same output");
    assert_ne!(
        a,
        ok(&[
            "space",
            "sample",
            "anynetx-c",
            "-n",
            "4",
            "--seed",
            "8",
            "--flops",
            "360M:400M"
        ])
    );
    let dir = std::env::temp_dir().join(format!("regnet-space-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (i, line) in a.lines().enumerate() {
        let m: Value = serde_json::from_str(line).unwrap();
        let flops = m["flops"].as_u64().unwrap();
        assert!((360_000_000..=400_000_000).contains(&flops));
        let path = dir.join(format!("m{i}.json"));
        std::fs::write(&path, m["config"].to_string()).unwrap();
        let d = json(&["describe", path.to_str().unwrap(), "--json"]);
        assert_eq!(d["flops"].as_u64(), Some(flops));
        assert_eq!(d["params"], m["params"]);
    }
    let out = dir.join("pop.jsonl");
    let o = regnet(&[
        "space",
        "sample",
        "regnetx",
        "-n",
        "3",
        "--out",
        out.to_str().unwrap(),
        "--im-size",
        "32",
        "--num-classes",
        "10",
        "--flops",
        ":20M",
    ]);
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).starts_with("sampled 3 models from regnetx"));
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(text.lines().count(), 3);
    for line in text.lines() {
        let m: Value = serde_json::from_str(line).unwrap();
        assert_eq!(m["config"]["TRAIN"]["IM_SIZE"], 32);
        assert_eq!(m["config"]["MODEL"]["NUM_CLASSES"], 10);
        assert!(m["flops"].as_u64().unwrap() <= 20_000_000);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn sweep_config_defaults_come_from_the_file() {
    let text = ok(&[
        "space",
        "sample",
        &repo("configs/sweeps/anynetx_a_cifar.yaml"),
    ]);
    assert_eq!(text.lines().count(), 16, "SETUP.NUM_CONFIGS");
}

#[test]
fn stats_reports_acceptance_and_quantiles() {
    let s = json(&[
        "space",
        "stats",
        "regnetx",
        "-n",
        "50",
        "--flops",
        "360M:400M",
        "--json",
    ]);
    assert_eq!(s["n"], 50);
    let rate = s["acceptance_rate"].as_f64().unwrap();
    assert!(rate > 0.0 && rate < 1.0);
    assert!(s["rejected"]["num_stages"].as_u64().unwrap() > 0);
    let f = &s["quantiles"]["flops"];
    assert!(f["p0"].as_f64().unwrap() >= 360e6 && f["p100"].as_f64().unwrap() <= 400e6);
    let d = &s["quantiles"]["depth"];
    assert!(d["p0"].as_f64().unwrap() >= 12.0 && d["p100"].as_f64().unwrap() <= 28.0);
}

#[test]
fn fit_widths_and_models() {
    // RegNetX-200MF's per-block widths are exactly a RegNet.
    let w = "24,56,152,152,152,152,368,368,368,368,368,368,368";
    let f = json(&["fit", "--widths", w, "--json"]);
    assert_eq!(f["d"], 13);
    assert_eq!(f["e_fit"].as_f64(), Some(0.0));
    assert_eq!(f["w0"], 24);
    let fit: Vec<u64> = f["widths_fit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap())
        .collect();
    assert_eq!(
        fit,
        w.split(',')
            .map(|x| x.parse().unwrap())
            .collect::<Vec<u64>>()
    );
    let m = json(&["fit", "RegNetX-200MF", "--json"]);
    assert_eq!(m["widths_fit"], f["widths_fit"]);
    assert!(ok(&["fit", "--widths", "32,32,64"]).starts_with("d 3  w0 32"));
}

#[test]
fn bad_inputs() {
    let e = failure(&["space", "info", "anynetx-z"]);
    assert!(
        e.contains("unknown design space 'anynetx-z'") && e.contains("regnetx"),
        "{e}"
    );
    let e = failure(&["space", "sample", "regnetx"]);
    assert!(e.contains("-n N"), "{e}");
    let e = failure(&[
        "space",
        "sample",
        "anynetx-a",
        "-n",
        "3",
        "--flops",
        "1:2",
        "--max-tries",
        "500",
    ]);
    assert!(
        e.contains("found only 0 of 3") && e.contains("flops"),
        "{e}"
    );
    let e = failure(&["space", "sample", "nope.yaml", "-n", "1"]);
    assert!(e.contains("cannot read sweep config 'nope.yaml'"), "{e}");
    let e = failure(&["fit"]);
    assert!(e.contains("--widths"), "{e}");
    let e = failure(&["fit", "--widths", "8,0"]);
    assert!(e.contains("positive"), "{e}");
    assert_eq!(
        regnet(&["space", "sample", "regnetx", "-n", "3", "--flops", "lots"])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn a_derived_space_file_is_a_space_for_info_sample_and_sweeps() {
    let d = crate::common::tmp("space-derive");
    let b = d.join("b.yaml");
    let b = b.to_str().unwrap();
    ok(&[
        "space",
        "derive",
        "anynetx-a",
        "--constraint",
        "shared_b",
        "-o",
        b,
    ]);
    // Exact, and the built-in B's size and samples.
    let derived = json(&["space", "info", b, "--json"]);
    let builtin = json(&["space", "info", "anynetx-b", "--json"]);
    assert_eq!(derived["size"], builtin["size"]);
    assert_eq!(derived["derived"]["size"]["kind"], "exact");
    let draw = |space: &str| {
        ok(&[
            "space",
            "sample",
            space,
            "-n",
            "5",
            "--seed",
            "4",
            "--flops",
            "300M:400M",
        ])
    };
    assert_eq!(draw(b), draw("anynetx-b"));
    // A derived file of a derived file, with a range: estimated, and every
    // sample satisfies it.
    let shallow = d.join("shallow.yaml");
    let shallow = shallow.to_str().unwrap();
    ok(&[
        "space",
        "derive",
        b,
        "--constraint",
        "anynet_d<=12",
        "--name",
        "shallow-b",
        "-o",
        shallow,
    ]);
    let text = String::from_utf8(regnet(&["space", "info", shallow]).stdout).unwrap();
    assert!(
        text.contains("shallow-b") && text.contains("estimated") && text.contains("anynet_d<=12"),
        "{text}"
    );
    for line in draw(shallow).lines() {
        let m: Value = serde_json::from_str(line).unwrap();
        let depth: u64 = m["config"]["ANYNET"]["DEPTHS"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .sum();
        assert!(depth <= 12, "{line}");
    }
    // A sweep config names it as its SPACE.
    let cfg = d.join("sweep.yaml");
    std::fs::write(
        &cfg,
        format!("SPACE: {shallow}\nNUM_CONFIGS: 3\nFLOPS: 300M:400M\nDATA: synthetic:100\n"),
    )
    .unwrap();
    let out = regnet(&[
        "sweep",
        "init",
        cfg.to_str().unwrap(),
        "--dir",
        d.join("sw").to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Bad restrictions and parents are one line, nothing written.
    let bad = d.join("bad.yaml");
    assert!(failure(&[
        "space",
        "derive",
        "anynetx-a",
        "--constraint",
        "depth<3",
        "-o",
        bad.to_str().unwrap()
    ])
    .contains("constraint 'depth<3'"));
    assert!(failure(&[
        "space",
        "derive",
        "anynetx-q",
        "--constraint",
        "shared_b",
        "-o",
        bad.to_str().unwrap()
    ])
    .contains("unknown design space"));
    assert!(!bad.exists());
}
