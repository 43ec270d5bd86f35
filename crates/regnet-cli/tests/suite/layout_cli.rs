//! The guard against libtorch 2.11's channels-last crash (1x1 stride-2 convs
//! with at most 8 input channels), its fallback in sweeps, and analyses that
//! name the models a population lost. Every training runs in a child
//! process: if the guard failed, the crash would kill only that child.

use crate::common::{image_folder, ok, regnet, tmp};

use serde_json::Value;
use std::path::Path;
use std::process::Command;

/// An AnyNet with a simple stem of width `stem_w` and one X-block stage of
/// width 8 with stride 2: its first block has a 1x1 stride-2 projection from
/// `stem_w` channels, the crashing conv when `stem_w` <= 8.
fn anynet(dir: &Path, name: &str, stem_w: u32, im_size: u32) -> String {
    let path = dir.join(format!("{name}.yaml"));
    std::fs::write(
        &path,
        format!(
            "MODEL: {{TYPE: anynet, NUM_CLASSES: 2}}\n\
             ANYNET: {{STEM_TYPE: simple_stem_in, STEM_W: {stem_w}, BLOCK_TYPE: res_bottleneck_block,\n\
               DEPTHS: [1], WIDTHS: [8], STRIDES: [2], BOT_MULS: [1.0], GROUP_WS: [8]}}\n\
             OPTIM: {{BASE_LR: 0.1, MAX_EPOCH: 1}}\n\
             TRAIN: {{BATCH_SIZE: 4, IM_SIZE: {im_size}}}\nTEST: {{BATCH_SIZE: 4}}\n"
        ),
    )
    .unwrap();
    path.to_str().unwrap().to_string()
}

fn train(cfg: &str, data: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    let spec = format!("imagefolder:{}", data.display());
    let mut args = vec![
        "train",
        cfg,
        "--data",
        &spec,
        "--threads",
        "1",
        "--device",
        "cpu",
        "--out",
    ];
    let out = out.to_str().unwrap().to_string();
    args.push(&out);
    args.extend_from_slice(extra);
    regnet(&args)
}

fn metrics(out: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap()
}

/// Whether PyTorch in the project venv crashes on the minimal case here (the
/// bug depends on the CPU's oneDNN kernels).
fn pytorch_crashes_here() -> bool {
    let venv = std::env::var("VIRTUAL_ENV")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../../.venv").to_string());
    let script = "import torch\n\
        m = torch.nn.Conv2d(8, 8, 1, stride=2, bias=False).to(memory_format=torch.channels_last)\n\
        x = torch.randn(4, 8, 56, 56).contiguous(memory_format=torch.channels_last).requires_grad_()\n\
        for _ in range(3):\n    m(x).sum().backward()\n";
    let status = Command::new(format!("{venv}/bin/python"))
        .args(["-c", script])
        .output()
        .expect("run the venv's python");
    !status.status.success()
}

#[test]
fn the_guard_keeps_crashing_convs_in_nchw_and_training_survives() {
    let d = tmp("layout-guard");
    let data = d.join("data");
    image_folder(&data, 4, 2);
    // The network: simple stem of width 8, one X-block stage of width
    // 8, stride 2, at 224x224; and the minimal conv itself (8 -> 8, 1x1,
    // stride 2, on 56x56 maps) as a model at 112x112.
    for (name, im) in [("width8-224", 224), ("minimal-112", 112)] {
        let cfg = anynet(&d, name, 8, im);
        let out = d.join(name);
        let o = train(&cfg, &data, &out, &[]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "{name}: {err}");
        assert!(
            err.contains("note: s1.b1.proj run in NCHW"),
            "{name}: {err}"
        );
        let m = metrics(&out);
        assert_eq!(m["status"], "done");
        assert_eq!(
            m["run"]["layout"], "channels-last (nchw: s1.b1.proj)",
            "{name}"
        );
    }
    // A 16-wide stem has no crashing conv: all channels-last, nothing said.
    let cfg = anynet(&d, "width16", 16, 112);
    let out = d.join("width16");
    let o = train(&cfg, &data, &out, &[]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success() && !err.contains("NCHW"), "{err}");
    assert_eq!(metrics(&out)["run"]["layout"], "channels-last");
    // --layout nchw forces the standard layout.
    let cfg = anynet(&d, "forced", 8, 112);
    let out = d.join("forced");
    assert!(train(&cfg, &data, &out, &["--layout", "nchw"])
        .status
        .success());
    assert_eq!(metrics(&out)["run"]["layout"], "nchw");
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn without_the_guard_libtorch_crashes_and_regnet_says_how_to_avoid_it() {
    if !pytorch_crashes_here() {
        eprintln!("skipped: PyTorch does not crash on the minimal case on this CPU");
        return;
    }
    let d = tmp("layout-crash");
    let data = d.join("data");
    image_folder(&data, 4, 2);
    let cfg = anynet(&d, "minimal", 8, 112);
    let o = train(&cfg, &data, &d.join("out"), &["--layout", "channels-last"]);
    let err = String::from_utf8_lossy(&o.stderr);
    use std::os::unix::process::ExitStatusExt;
    assert!(
        o.status.signal().is_some(),
        "expected a crash: {:?} {err}",
        o.status
    );
    assert!(err.contains("run it again with `--layout nchw`"), "{err}");
    std::fs::remove_dir_all(&d).unwrap();
}

/// A sweep at 224x224 on an image folder whose samples have a width-8 or a
/// width-16 stem: every job finishes, and the analysis misses nothing.
#[test]
fn a_sweep_with_width_8_stems_at_224_finishes_every_job() {
    let d = tmp("layout-sweep");
    let data = d.join("data");
    image_folder(&data, 4, 2);
    let cfg = d.join("sweep.yaml");
    std::fs::write(
        &cfg,
        "NAME: width8\nSETUP:\n  NUM_CONFIGS: 4\n  SAMPLERS:\n\
         \x20   ANYNET.STEM_W: {TYPE: value_sampler, VALUES: [8, 16]}\n\
         \x20   ANYNET.DEPTHS: {TYPE: list_sampler, LENGTH: 1, ITEM_SAMPLER: {TYPE: int_sampler, RAND_TYPE: uniform, RANGE: [1, 3], QUANTIZE: 1}}\n\
         \x20 BASE_CFG:\n\
         \x20   MODEL: {TYPE: anynet, NUM_CLASSES: 2}\n\
         \x20   ANYNET: {STEM_TYPE: simple_stem_in, BLOCK_TYPE: res_bottleneck_block, WIDTHS: [8], STRIDES: [2], BOT_MULS: [1.0], GROUP_WS: [8]}\n\
         \x20   OPTIM: {MAX_EPOCH: 1}\n\
         \x20   TRAIN: {BATCH_SIZE: 4, IM_SIZE: 224}\n\
         \x20   TEST: {BATCH_SIZE: 4}\n",
    )
    .unwrap();
    let dir = d.join("s");
    let ds = dir.to_str().unwrap();
    let spec = format!("imagefolder:{}", data.display());
    ok(&[
        "sweep",
        "init",
        cfg.to_str().unwrap(),
        "--dir",
        ds,
        "--data",
        &spec,
    ]);
    ok(&["sweep", "run", ds, "--workers", "2", "--quiet"]);
    let o = regnet(&["sweep", "export", ds, "--format", "pycls-json"]);
    let records: Vec<Value> = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(records.len(), 4);
    let stems: Vec<u64> = records
        .iter()
        .map(|r| r["cfg"]["ANYNET"]["STEM_W"].as_u64().unwrap())
        .collect();
    assert!(stems.contains(&8), "no width-8 stem sampled: {stems:?}");
    for r in &records {
        assert_eq!(r["regnet"]["state"], "done", "{r}");
        let want = match r["cfg"]["ANYNET"]["STEM_W"].as_u64() {
            Some(8) => "channels-last (nchw: s1.b1.proj)",
            _ => "channels-last",
        };
        assert_eq!(r["regnet"]["layout"], want);
    }
    let html = d.join("report.html");
    let out = ok(&["sweep", "analyze", ds, "-o", html.to_str().unwrap()]);
    assert!(!out.contains("missing"), "{out}");
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(!page.contains("Missing models"));
    std::fs::remove_dir_all(&d).unwrap();
}
