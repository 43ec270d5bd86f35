//! Every example config in `configs/` through every command that takes it:
//! model configs through describe, train, eval and export; sweep configs
//! (both forms) through space info/sample/stats and sweep init, which must
//! all read them the same way.

use crate::common::{ok, tmp};
use std::path::PathBuf;

fn yaml_files(dir: &str) -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("yaml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no configs in {}", dir.display());
    files
}

#[test]
fn every_model_config_is_described_trained_evaluated_and_exported() {
    let dir = tmp("model-configs");
    for cfg in yaml_files("configs") {
        let c = cfg.to_str().unwrap();
        let name = cfg.file_stem().unwrap().to_str().unwrap();
        let d = ok(&["describe", c, "--json"]);
        assert!(d.contains("\"flops\""), "{name}: {d}");
        let out = dir.join(name);
        let o = out.to_str().unwrap();
        ok(&[
            "train",
            c,
            "--data",
            "synthetic:40",
            "--epochs",
            "1",
            "--batch-size",
            "16",
            "--out",
            o,
            "--threads",
            "1",
            "--device",
            "cpu",
        ]);
        let weights = out.join("model.safetensors");
        let w = weights.to_str().unwrap();
        let e = ok(&[
            "eval",
            c,
            "--weights",
            w,
            "--data",
            "synthetic:40",
            "--device",
            "cpu",
        ]);
        assert!(e.contains("test_top1_err"), "{name}: {e}");
        let exported = out.join("exported.safetensors");
        ok(&[
            "export",
            "--model",
            c,
            "--weights",
            w,
            "--num-classes",
            "10",
            "--out",
            exported.to_str().unwrap(),
        ]);
        assert!(exported.metadata().unwrap().len() > 1000, "{name}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn every_sweep_config_is_read_alike_by_space_and_sweep_commands() {
    let dir = tmp("sweep-configs");
    for cfg in yaml_files("configs/sweeps") {
        let c = cfg.to_str().unwrap();
        let name = cfg.file_stem().unwrap().to_str().unwrap();
        ok(&["space", "info", c]);
        let sampled = ok(&["space", "sample", c, "-n", "2"]);
        let stats = ok(&["space", "stats", c, "-n", "2", "--json"]);
        assert!(stats.contains("\"quantiles\""), "{name}: {stats}");
        let sweep = dir.join(name);
        ok(&[
            "sweep",
            "init",
            c,
            "--dir",
            sweep.to_str().unwrap(),
            "-n",
            "2",
            "--data",
            "synthetic:40",
        ]);
        // The same models: sweep init stores what space sample prints (the
        // synthetic set is 32x32 with 10 classes, as every example config says).
        let export = dir.join(format!("{name}.csv"));
        ok(&[
            "sweep",
            "export",
            sweep.to_str().unwrap(),
            "--format",
            "csv",
            "-o",
            export.to_str().unwrap(),
        ]);
        let csv = std::fs::read_to_string(&export).unwrap();
        for line in sampled.lines().filter(|l| l.starts_with('{')) {
            let m: serde_json::Value = serde_json::from_str(line).unwrap();
            let flops = m["flops"].as_u64().unwrap().to_string();
            assert!(csv.contains(&flops), "{name}: {flops} not in\n{csv}");
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
