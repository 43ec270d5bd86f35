include!("../regnet-engine/link.rs");

fn main() {
    let lib = std::env::var("DEP_REGNET_ENGINE_LIBTORCH_LIB")
        .expect("regnet-engine reports the libtorch directory (build with scripts/env.sh sourced)");
    libtorch_link_args(&lib, "");
}
