//! libtorch is linked and usable from test binaries without LD_LIBRARY_PATH.

#[test]
fn tensor_math_runs() {
    let t = tch::Tensor::from_slice(&[1.0f32, 2.0, 3.0]);
    assert_eq!(t.sum(tch::Kind::Float).double_value(&[]), 6.0);
}
