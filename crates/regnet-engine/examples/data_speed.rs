//! Our side of bench/data_speed.sh: the image-folder pipeline the trainer
//! uses (parallel decoding and the view on rayon's pool, normalization and
//! PCA lighting on the prefetch thread), batch tensors ready for the model,
//! timed over the folder. Threads come from RAYON_NUM_THREADS.
//! Usage: data_speed DIR train|test BATCH
use regnet_data::imagefolder::{ImageFolder, View};
use regnet_data::Split;
use regnet_engine::data::{prefetched_batches, TensorSet, IMAGENET_MEAN, IMAGENET_STD};
use regnet_engine::Device;
use std::time::Instant;
use tch::{Kind, Tensor};

fn main() {
    let a: Vec<String> = std::env::args().collect();
    let (dir, view, batch) = (&a[1], a[2].as_str(), a[3].parse::<usize>().unwrap());
    regnet_engine::keep_large_allocations_on_heap();
    tch::set_num_threads(1);
    let (split, view) = match view {
        "train" => (Split::Train, View::Train { size: 224 }),
        _ => (
            Split::Test,
            View::Test {
                resize: 256,
                size: 224,
            },
        ),
    };
    let folder = ImageFolder::index(std::path::Path::new(dir), split).expect("image folder");
    let pca = if split == Split::Train { 0.1 } else { 0.0 };
    let set = TensorSet::folder(
        folder,
        view,
        (IMAGENET_MEAN, IMAGENET_STD),
        pca,
        Device::Cpu,
    );
    let order = Tensor::randperm(set.len() as i64, (Kind::Int64, tch::Device::Cpu));
    let mut batches = prefetched_batches(&set, &order, batch, 1).take(set.len() / batch);
    let _first = batches.next().unwrap().unwrap();
    let (start, mut n) = (Instant::now(), 0);
    for b in batches {
        n += b.unwrap().0.size()[0];
    }
    println!("{:.1}", n as f64 / start.elapsed().as_secs_f64());
}
