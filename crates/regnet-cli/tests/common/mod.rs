//! Helpers shared by the CLI tests.
#![allow(dead_code)] // each test file uses a different subset

use std::process::{Command, Output};

/// Runs the built `regnet` binary.
pub fn regnet(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_regnet"))
        .args(args)
        .output()
        .expect("run regnet")
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
