// Shared by the build scripts of regnet-engine and regnet-cli: link so that
// CUDA is used when present and binaries find libtorch without LD_LIBRARY_PATH.

/// Emits the linker arguments for libtorch in `lib` (for `scope`'s targets:
/// "" for all of this package's targets, "-bins" for its binaries).
fn libtorch_link_args(lib: &str, scope: &str) {
    // An rpath to the project's libtorch, so binaries and tests run as built.
    println!("cargo:rustc-link-arg{scope}=-Wl,-rpath,{lib}");
    // Keep libtorch_cuda.so as a dependency even though no symbol of it is
    // referenced directly: loading it is what registers the CUDA backend.
    if std::path::Path::new(lib).join("libtorch_cuda.so").exists() {
        println!("cargo:rustc-link-arg{scope}=-Wl,--push-state,--no-as-needed,-ltorch_cuda,--pop-state");
    }
}
