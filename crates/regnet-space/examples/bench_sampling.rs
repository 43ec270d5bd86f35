//! Sampling throughput (see bench/RESULTS.md): candidates evaluated per second
//! on one core, and wall time to sample 500 models, for the paper's settings
//! (360-400MF at 224x224). Run: cargo run --release -p regnet-space --example bench_sampling
use regnet_space::space::Target;
use regnet_space::{sample, Band, SampleOptions, Space};
use std::time::Instant;

fn main() {
    let band = Band {
        lo: Some(360_000_000),
        hi: Some(400_000_000),
    };
    for name in ["regnetx", "regnety", "regnet", "anynetx-a", "anynetx-e"] {
        let space = Space::builtin(name).expect("built-in");
        let mut constraints = space.default_constraints();
        constraints.flops = band;
        let opts = SampleOptions {
            n: 500,
            seed: 0,
            max_tries: 50_000_000,
            max_time: regnet_space::MAX_TIME,
            constraints,
            target: Target::default(),
        };
        let t = Instant::now();
        let pop = sample(&space, &opts).expect("sampling succeeds");
        let s = t.elapsed().as_secs_f64();
        println!(
            "{name:10} 500 models in {s:6.3} s  {:>9} candidates  {:>9.0} candidates/s  acceptance {:.3}%",
            pop.tries,
            pop.tries as f64 / s,
            100.0 * pop.acceptance_rate()
        );
    }
}
