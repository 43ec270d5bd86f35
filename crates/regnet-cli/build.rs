include!("../regnet-engine/link.rs");

fn main() {
    // The Slurm test needs root (slurmd); REGNET_SKIP_SLURM marks it ignored,
    // so a skip shows as one in the test report, never as a pass.
    println!("cargo::rustc-check-cfg=cfg(skip_slurm)");
    println!("cargo::rerun-if-env-changed=REGNET_SKIP_SLURM");
    if std::env::var_os("REGNET_SKIP_SLURM").is_some() {
        println!("cargo::rustc-cfg=skip_slurm");
    }
    let lib = std::env::var("DEP_REGNET_ENGINE_LIBTORCH_LIB")
        .expect("regnet-engine reports the libtorch directory (build with scripts/env.sh sourced)");
    libtorch_link_args(&lib, "");
}
