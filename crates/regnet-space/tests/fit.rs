//! The RegNet fit against the zoo's quantized-linear widths.

use regnet_space::fit_regnet;
use regnet_spec::zoo::zoo;
use regnet_spec::ModelSpec;

#[test]
fn zoo_regnets_are_reproduced_exactly() {
    for e in zoo() {
        let ModelSpec::RegNet(spec) = e.spec() else {
            continue;
        };
        let widths = spec.widths().unwrap().block_widths;
        let fit = fit_regnet(&widths).unwrap();
        assert_eq!(fit.d, widths.len());
        assert_eq!(fit.widths_fit, widths, "{}: {fit:?}", e.name);
        assert!(fit.e_fit < 1e-12, "{}: {fit:?}", e.name);
        assert_eq!(fit.w0, spec.w0, "{}", e.name);
    }
}

#[test]
fn adjusted_widths_fit_closely() {
    for e in zoo() {
        let ModelSpec::RegNet(spec) = e.spec() else {
            continue;
        };
        let net = spec.build().unwrap();
        let widths: Vec<u64> = net
            .stages
            .iter()
            .flat_map(|s| s.blocks.iter().map(|b| b.w_out()))
            .collect();
        let fit = fit_regnet(&widths).unwrap();
        // Compatibility moves stage widths by up to half a group width
        // (RegNetX-16GF: 216 -> 256 with g = 128), so the fit is close, not exact.
        assert!(fit.e_fit < 0.1, "{}: {fit:?}", e.name);
    }
}

#[test]
fn hand_checked_fit() {
    // Constant widths: wa = 0 reproduces them exactly (every block at w0).
    let fit = fit_regnet(&[64; 6]).unwrap();
    assert_eq!((fit.w0, fit.e_fit), (64, 0.0));
    assert_eq!(fit.widths_fit, vec![64; 6]);
    // Not a RegNet (widths shrink): the fit is imperfect but finite.
    let fit = fit_regnet(&[256, 128, 64, 32]).unwrap();
    assert!(fit.e_fit > 0.1);
    assert!(fit_regnet(&[]).is_err());
    assert!(fit_regnet(&[8, 0]).is_err());
}
