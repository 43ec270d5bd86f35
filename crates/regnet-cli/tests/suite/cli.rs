//! The `regnet` binary end to end: output formats, overrides and errors.

use crate::common::regnet;

use serde_json::Value;

fn json(args: &[&str]) -> Value {
    let out = regnet(args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("stdout is exactly one JSON value")
}

fn failure(args: &[&str]) -> String {
    let out = regnet(args);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{args:?} should fail with exit code 1"
    );
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "one-line error, got {err:?}");
    assert!(!err.contains("panicked"), "{err}");
    err
}

#[test]
fn describe_json_has_exact_counts_and_stages() {
    let v = json(&["describe", "RegNetX-200MF", "--json"]);
    assert_eq!(v["name"], "RegNetX-200MF");
    assert_eq!(v["type"], "regnet");
    assert_eq!(
        (v["im_size"].as_u64(), v["num_classes"].as_u64()),
        (Some(224), Some(1000))
    );
    assert_eq!(v["flops"], 199_040_872u64);
    assert_eq!(v["params"], 2_684_792u64);
    assert_eq!(v["acts"], 2_164_056u64);
    let stages = v["stages"].as_array().unwrap();
    let col = |k: &str| {
        stages
            .iter()
            .map(|s| s[k].as_u64().unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(col("width"), [24, 56, 152, 368]);
    assert_eq!(col("depth"), [1, 1, 4, 7]);
    assert_eq!(col("stride"), [2, 2, 2, 2]);
    assert_eq!(col("group_w"), [8, 8, 8, 8]);
    assert!(stages.iter().all(|s| s["bot_mul"] == 1.0));
}

#[test]
fn overrides_change_the_counts_as_expected() {
    // 10 classes instead of 1000: the fc loses 368 * 990 weights and 990 biases.
    let v = json(&["describe", "regnetx-200mf", "--num-classes", "10", "--json"]);
    assert_eq!(v["params"], 2_684_792u64 - 368 * 990 - 990);
    // At 448 every conv map has 4x the positions; the fc does not change.
    let big = json(&["describe", "RegNetX-200MF", "--im-size", "448", "--json"]);
    let fc = 368 * 1000 + 1000;
    assert_eq!(big["flops"].as_u64().unwrap() - fc, 4 * (199_040_872 - fc));
}

#[test]
fn json_config_describes_back_to_the_same_model() {
    let dir = std::env::temp_dir().join(format!("regnet-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for name in ["RegNetY-1.6GF", "X-50-32x4d", "EN-B3", "regnet_x_400mf"] {
        let v = json(&["describe", name, "--json"]);
        let path = dir.join(format!("{name}.json"));
        std::fs::write(&path, v["config"].to_string()).unwrap();
        let back = json(&["describe", path.to_str().unwrap(), "--json"]);
        for k in [
            "flops",
            "params",
            "acts",
            "im_size",
            "num_classes",
            "stages",
        ] {
            assert_eq!(back[k], v[k], "{name} {k}");
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn zoo_lists_every_model_consistently_with_describe() {
    let zoo = json(&["zoo", "--json"]);
    let models = zoo.as_array().unwrap();
    assert_eq!(models.len(), 39);
    for m in models.iter().step_by(5) {
        let d = json(&["describe", m["name"].as_str().unwrap(), "--json"]);
        assert_eq!(
            (&d["flops"], &d["params"], &d["acts"]),
            (&m["flops"], &m["params"], &m["acts"])
        );
    }
    let text = String::from_utf8(regnet(&["zoo"]).stdout).unwrap();
    assert_eq!(text.lines().count(), 40);
    assert!(text.contains("resnext50_32x4d"));
}

#[test]
fn human_output_shows_stages_and_units() {
    let out = regnet(&["describe", "resnet50"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("R-50-1x64d: anynet at 224x224, 1000 classes"),
        "{text}"
    );
    assert!(text.contains("25,557,032"), "{text}");
    assert!(
        text.contains("stem (res_stem_in)") && text.contains("56x56"),
        "{text}"
    );
    assert_eq!(text.lines().filter(|l| l.starts_with("stage ")).count(), 4);
}

#[test]
fn bad_inputs_are_one_line_errors() {
    let e = failure(&["describe", "RegNetZ-9GF"]);
    assert!(e.contains("'RegNetZ-9GF' is neither a zoo model"), "{e}");
    let e = failure(&["describe", "RegNetX-200MF", "--im-size", "0"]);
    assert!(e.contains("im_size (TRAIN.IM_SIZE) 0 is too small"), "{e}");
    // Smaller than the downsampling (32) is pycls-valid: counted, with a note.
    let o = regnet(&["describe", "RegNetX-200MF", "--im-size", "16", "--json"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("downsamples by 32") && err.contains("stage 4 run at 1x1"),
        "{err}"
    );
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let sizes: Vec<u64> = v["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["out_size"].as_u64().unwrap())
        .collect();
    assert_eq!(sizes, [4, 2, 1, 1]);
    let e = failure(&["describe", "RegNetX-200MF", "--num-classes", "0"]);
    assert!(e.contains("MODEL.NUM_CLASSES"), "{e}");
    let e = failure(&["describe", "missing.yaml"]);
    assert!(e.contains("cannot read config 'missing.yaml'"), "{e}");
    // A usage error is clap's, exit code 2.
    assert_eq!(regnet(&["describe"]).status.code(), Some(2));
}

/// A reader that stops after the first line (`regnet zoo | head -1`) ends
/// a command quietly: exit status 0, no panic, for commands whose output is
/// one write (`zoo --json`) or many lines (`zoo`, `space sample`).
#[test]
fn output_to_a_closed_pipe_ends_quietly() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    for args in [
        &["zoo"][..],
        &["zoo", "--json"],
        &[
            "space",
            "sample",
            "anynetx-a",
            "-n",
            "2000",
            "--flops",
            "0.2G:0.4G",
        ],
    ] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_regnet"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        assert!(!first.is_empty(), "{args:?}");
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
    }
}
