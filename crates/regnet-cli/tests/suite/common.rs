//! Helpers shared by the CLI tests.

use std::process::{Command, Output};

/// Runs the built `regnet` binary.
pub fn regnet(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_regnet"))
        .args(args)
        .output()
        .expect("run regnet")
}

/// The project venv's Python (scripts/env.sh sets VIRTUAL_ENV), which has
/// PyTorch, torchvision and the export tests' readers.
pub fn venv_python() -> String {
    std::env::var("VIRTUAL_ENV").map_or("python3".into(), |v| format!("{v}/bin/python"))
}

/// The tiny CIFAR-style AnyNet config used by training tests.
pub fn tiny_path() -> &'static str {
    concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/tiny.yaml")
}

/// A fresh temporary directory named after the test and the process.
pub fn tmp(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("regnet-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Runs `regnet`, which must succeed; returns its stdout and stderr.
pub fn ok(args: &[&str]) -> String {
    let o = regnet(args);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "regnet {args:?}: {err}");
    String::from_utf8_lossy(&o.stdout).into_owned() + &err
}

/// An error's message (the command must fail with one `error:` line, no panic).
pub fn fails(args: &[&str]) -> String {
    let o = regnet(args);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(!o.status.success(), "regnet {args:?} should fail");
    assert!(!err.contains("panicked"), "{err}");
    err.lines()
        .find(|l| l.starts_with("error: "))
        .unwrap_or_else(|| panic!("{err}"))
        .to_string()
}

/// A small RegNetX sweep config (3 stages at 32x32, 2-8 MF, synthetic data),
/// the sweep tests' population: fast to sample and to train.
pub const REGNETX: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/small_regnetx.yaml");

/// `sweep init` arguments for a small RegNetX sweep: `n` jobs of `epochs`
/// epochs on `images` synthetic images, then `extra` (--dir, --store...).
pub fn regnetx_init(n: usize, epochs: usize, images: usize, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = ["sweep", "init", REGNETX, "-n"].map(String::from).to_vec();
    args.push(n.to_string());
    args.push("--epochs".into());
    args.push(epochs.to_string());
    args.push("--data".into());
    args.push(format!("synthetic:{images}"));
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

/// `&[String]` as `Vec<&str>`, for [`regnet`] and [`ok`].
pub fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// An image folder of two classes (red and green pictures of varied sizes):
/// `train` images per class under train/, `val` under val/.
pub fn image_folder(root: &std::path::Path, train: u32, val: u32) {
    for (split, n) in [("train", train), ("val", val)] {
        for (c, color) in [("green", [20u8, 200, 20]), ("red", [200, 20, 20])] {
            let dir = root.join(split).join(c);
            std::fs::create_dir_all(&dir).unwrap();
            for i in 0..n {
                let img = image::RgbImage::from_pixel(40 + i, 36 + 2 * i, image::Rgb(color));
                img.save(dir.join(format!("{i}.png"))).unwrap();
            }
        }
    }
}

/// Whether a test can run its case when `what` (a dataset or package that
/// the test command installs) is `present`: under `CI=true` a missing one
/// fails the test, since the test command should have installed it; a
/// developer's run without it says it skipped (and passes).
pub fn set_up(present: bool, what: &str) -> bool {
    if !present {
        assert!(
            std::env::var_os("CI").is_none(),
            "{what} is missing under CI: ./scripts/test installs it"
        );
        eprintln!("skipped: {what} is not installed");
    }
    present
}

/// Runs `regnet args` `rounds` times in its own process group and kills
/// the whole group with SIGKILL at a random point in the first 40% of
/// `span` seconds (the time a clean run takes), unless it ended first. The
/// kill times vary from run to run; their seed is printed.
pub fn kill_at_random_points(args: &[String], rounds: usize, span: f64) {
    use std::os::unix::process::CommandExt;
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    eprintln!("kill seed {seed}, clean run {span:.1} s");
    for round in 0..rounds {
        let mut child = Command::new(env!("CARGO_BIN_EXE_regnet"))
            .args(args)
            .process_group(0)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // xorshift
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let wait = 0.5 + (seed % 1000) as f64 / 1000.0 * span * 0.4;
        std::thread::sleep(std::time::Duration::from_secs_f64(wait));
        if child.try_wait().unwrap().is_some() {
            break;
        }
        let group = format!("-{}", child.id());
        let k = Command::new("kill").args(["-9", "--", &group]).status();
        assert!(k.unwrap().success());
        child.wait().unwrap();
        eprintln!("round {round}: killed after {wait:.2} s");
    }
}

/// Per-job epoch series from the sweep's pycls export, by job name.
pub fn series(dir: &std::path::Path) -> Vec<(String, serde_json::Value)> {
    let o = regnet(&[
        "sweep",
        "export",
        dir.to_str().unwrap(),
        "--format",
        "pycls-json",
    ]);
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| (r["regnet"]["job"].as_str().unwrap().to_string(), r.clone()))
        .collect()
}

/// `sweep status --json` of the sweep in `dir`.
pub fn status(dir: &std::path::Path) -> serde_json::Value {
    let o = regnet(&["sweep", "status", dir.to_str().unwrap(), "--json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}
