//! Throughput of our engine for bench/speed.sh and bench/train_speed.sh,
//! which run PyTorch eager (bench/speed.py) on the same architecture beside it.
//! Usage: bench_speed MODEL MODE BATCH IM_SIZE STEPS LAYOUT DEVICE
//!   MODEL: zoo name or pycls config; MODE: train | infer;
//!   LAYOUT: nchw | cl (channels-last weights and input), either with
//!   `+fold` for inference with every BN folded into its conv, or `+amp` for
//!   training in mixed precision (float16 autocast, loss scaling; CUDA);
//!   DEVICE: cpu | cuda
use regnet_config::Recipe;
use regnet_engine::amp::GradScaler;
use regnet_engine::sgd::Sgd;
use regnet_engine::train::backward_step;
use regnet_engine::{channels_last, BuiltModel, InitConfig};
use tch::nn::ModuleT;
use tch::{Device, Kind, Reduction, Tensor};

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
    let (name, mode) = (&a[1], a[2].as_str());
    let (batch, im, steps) = (
        a[3].parse::<i64>().unwrap(),
        a[4].parse::<i64>().unwrap(),
        a[5].parse::<usize>().unwrap(),
    );
    let cl = a[6].starts_with("cl");
    let fold = a[6].ends_with("+fold");
    let amp = a[6].ends_with("+amp");
    let device = if a[7] == "cuda" {
        Device::Cuda(0)
    } else {
        Device::Cpu
    };
    tch::manual_seed(0);
    let on = match device {
        Device::Cuda(i) => regnet_engine::Device::Cuda(i),
        _ => regnet_engine::Device::Cpu,
    };
    let mut m = BuiltModel::new(&network(name), on, InitConfig::default());
    let mut x = Tensor::randn([batch, 3, im, im], (Kind::Float, device));
    if cl {
        m.to_channels_last();
        x = channels_last(&x);
    }
    if fold {
        m.fold_bn();
    }
    let y = Tensor::randint(10, [batch], (Kind::Int64, device));
    let recipe = Recipe {
        weight_decay: 5e-5,
        nesterov: false,
        ..Recipe::default()
    };
    let mut sgd = Sgd::new(&m.vs, &recipe);
    let mut scaler = amp.then(GradScaler::default);
    let mut step = || {
        if mode == "infer" {
            let _ = tch::no_grad(|| m.model.forward_t(&x, false));
            return;
        }
        let logits = tch::autocast(amp, || m.model.forward_t(&x, true));
        let loss = logits.to_kind(Kind::Float).cross_entropy_loss(
            &y,
            None::<Tensor>,
            Reduction::Mean,
            -100,
            0.0,
        );
        backward_step(&loss, &mut sgd, scaler.as_mut(), 0.1);
    };
    for _ in 0..3 {
        step();
    }
    let sync = || {
        if let Device::Cuda(_) = device {
            tch::Cuda::synchronize(0);
        }
    };
    sync();
    let t = std::time::Instant::now();
    for _ in 0..steps {
        step();
    }
    sync();
    println!(
        "{}",
        (steps as i64 * batch) as f64 / t.elapsed().as_secs_f64()
    );
}
