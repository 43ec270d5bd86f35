include!("link.rs");

fn main() {
    let lib = std::env::var("DEP_TCH_LIBTORCH_LIB")
        .expect("torch-sys reports the libtorch directory (build with scripts/env.sh sourced)");
    println!("cargo:libtorch_lib={lib}");
    libtorch_link_args(&lib, "");
}
