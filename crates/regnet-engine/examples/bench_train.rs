//! Training-step throughput of our engine, for bench/train_speed.sh, which
//! runs PyTorch on the same architecture side by side.
//! Usage: bench_train MODEL BATCH IM_SIZE STEPS DEVICE(cpu|cuda)
use regnet_config::Recipe;
use regnet_engine::sgd::Sgd;
use regnet_engine::{BuiltModel, InitConfig};
use tch::nn::ModuleT;
use tch::{Device, Kind, Reduction, Tensor};

fn main() {
    let a: Vec<String> = std::env::args().collect();
    let (name, batch, im, steps) = (
        &a[1],
        a[2].parse::<i64>().unwrap(),
        a[3].parse::<i64>().unwrap(),
        a[4].parse::<usize>().unwrap(),
    );
    let device = if a[5] == "cuda" {
        Device::Cuda(0)
    } else {
        Device::Cpu
    };
    let net = regnet_spec::zoo::find(name)
        .expect("zoo model")
        .spec()
        .with_num_classes(10)
        .build()
        .unwrap();
    tch::manual_seed(0);
    let mut m = BuiltModel::new(&net, device, InitConfig::default());
    let recipe = Recipe {
        weight_decay: 5e-5,
        nesterov: false,
        ..Recipe::default()
    };
    let mut sgd = Sgd::new(&m.vs, &recipe);
    let x = Tensor::randn([batch, 3, im, im], (Kind::Float, device));
    let y = Tensor::randint(10, [batch], (Kind::Int64, device));
    let mut step = |m: &mut BuiltModel| {
        let loss = m.model.forward_t(&x, true).cross_entropy_loss(
            &y,
            None::<Tensor>,
            Reduction::Mean,
            -100,
            0.0,
        );
        sgd.zero_grad();
        loss.backward();
        sgd.step(0.1);
    };
    for _ in 0..3 {
        step(&mut m);
    }
    if let Device::Cuda(_) = device {
        tch::Cuda::synchronize(0);
    }
    let t = std::time::Instant::now();
    for _ in 0..steps {
        step(&mut m);
    }
    if let Device::Cuda(_) = device {
        tch::Cuda::synchronize(0);
    }
    let s = t.elapsed().as_secs_f64();
    println!("{}", (steps as i64 * batch) as f64 / s);
}
