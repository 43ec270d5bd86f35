//! Throughput of our engine for bench/speed.sh and bench/train_speed.sh,
//! which run PyTorch eager (bench/speed.py) on the same architecture beside it.
//! Usage: bench_speed MODEL MODE BATCH IM_SIZE STEPS LAYOUT DEVICE
//!   MODEL: zoo name or pycls config; MODE: train | infer;
//!   LAYOUT: nchw | cl (channels-last weights and input), either with
//!   `+fold` for inference with every BN folded into its conv, or `+amp` for
//!   training in mixed precision (float16 autocast, loss scaling; CUDA);
//!   DEVICE: cpu | cuda
use regnet_engine::timing::{seconds_per_image, Mode, Timing};
use regnet_engine::Device;

fn network(name: &str) -> regnet_spec::Network {
    let spec = match regnet_spec::zoo::find(name) {
        Some(entry) => entry.spec(),
        None => {
            regnet_config::load(std::path::Path::new(name))
                .expect("zoo model or config")
                .model
        }
    };
    spec.with_num_classes(10).build().expect("buildable model")
}

fn main() {
    let a: Vec<String> = std::env::args().collect();
    let t = Timing {
        mode: if a[2] == "infer" {
            Mode::Infer
        } else {
            Mode::Train
        },
        batch: a[3].parse().unwrap(),
        im_size: a[4].parse().unwrap(),
        warmup: 3,
        steps: a[5].parse().unwrap(),
        channels_last: a[6].starts_with("cl"),
        fold_bn: a[6].ends_with("+fold"),
        amp: a[6].ends_with("+amp"),
    };
    let device = if a[7] == "cuda" {
        Device::Cuda(0)
    } else {
        Device::Cpu
    };
    let s = seconds_per_image(&network(&a[1]), &t, device).expect("timed");
    println!("{}", 1.0 / s);
}
