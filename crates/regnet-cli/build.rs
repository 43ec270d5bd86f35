include!("../regnet-engine/link.rs");

fn main() {
    // The Slurm test needs root (slurmd); REGNET_SKIP_SLURM marks it ignored,
    // so a skip shows as one in the test report, never as a pass.
    println!("cargo::rustc-check-cfg=cfg(skip_slurm)");
    println!("cargo::rerun-if-env-changed=REGNET_SKIP_SLURM");
    if std::env::var_os("REGNET_SKIP_SLURM").is_some() {
        println!("cargo::rustc-cfg=skip_slurm");
    }
    println!("cargo::rustc-env=REGNET_SOURCE_COMMIT={}", source_commit());
    let lib = std::env::var("DEP_REGNET_ENGINE_LIBTORCH_LIB")
        .expect("regnet-engine reports the libtorch directory (build with scripts/env.sh sourced)");
    libtorch_link_args(&lib, "");
}

/// `git rev-parse HEAD`, with `-dirty` when tracked files have uncommitted
/// changes; `unknown` outside a checkout. Rerun when HEAD, the index or any
/// crate source changes, so a run record never names a stale commit.
fn source_commit() -> String {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    for watched in [".git/HEAD", ".git/index", "crates"] {
        println!("cargo::rerun-if-changed={root}/{watched}");
    }
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .arg("-C")
            .arg(root)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    match git(&["rev-parse", "HEAD"]) {
        Some(head) if !head.is_empty() => {
            let dirty = git(&["status", "--porcelain", "--untracked-files=no"])
                .is_some_and(|s| !s.is_empty());
            if dirty {
                format!("{head}-dirty")
            } else {
                head
            }
        }
        _ => "unknown".into(),
    }
}
