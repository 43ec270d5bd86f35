//! `.npy` arrays: NumPy's layout read back exactly, and headers that lie
//! about their data refused before anything is allocated.

use regnet_data::npy::parse;

/// A version-1 `.npy` file as NumPy writes it: magic, version, header
/// length, the dict padded with spaces to a 64-byte boundary, then data.
fn npy(header_dict: &str, data: &[u8]) -> Vec<u8> {
    let mut h = header_dict.to_string();
    while (10 + h.len() + 1) % 64 != 0 {
        h.push(' ');
    }
    h.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend((h.len() as u16).to_le_bytes());
    out.extend(h.as_bytes());
    out.extend(data);
    out
}

fn floats(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

#[test]
fn numpy_layout_reads_back() {
    let v = [1.0f32, -2.5, 3.25, 0.0, 1e-3, 7.0];
    let f = npy(
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
        &floats(&v),
    );
    let a = parse(&f).unwrap();
    assert_eq!(a.shape, vec![2, 3]);
    assert_eq!(a.data, v);
    // A one-dimensional shape is written (6,).
    let one = parse(&npy(
        "{'descr': '<f4', 'fortran_order': False, 'shape': (6,), }",
        &floats(&v),
    ))
    .unwrap();
    assert_eq!(one.shape, vec![6]);
}

#[test]
fn headers_that_lie_are_refused() {
    // 64 bytes claiming 4000 x 4000 floats: refused, nothing allocated.
    let big = npy(
        "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 4000, 4000), }",
        &[0; 8],
    );
    let e = parse(&big).unwrap_err();
    assert!(e.contains("does not match the 8 data bytes"), "{e}");
    // A shape whose element count overflows.
    let huge = npy(
        "{'descr': '<f4', 'fortran_order': False, 'shape': (18446744073709551615, 2), }",
        &[],
    );
    assert!(parse(&huge).unwrap_err().contains("does not match"));
    // A header length beyond the file, another dtype, Fortran order, no magic.
    let mut short = npy(
        "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }",
        &[],
    );
    short[8] = 0xff;
    short[9] = 0xff;
    assert!(parse(&short).unwrap_err().contains("longer than the file"));
    let f8 = npy(
        "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }",
        &[0; 8],
    );
    assert!(parse(&f8).unwrap_err().contains("float32"));
    let fortran = npy(
        "{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }",
        &[0; 4],
    );
    assert!(parse(&fortran).unwrap_err().contains("Fortran"));
    assert!(parse(b"PK\x03\x04 not npy").unwrap_err().contains("magic"));
    let bad = npy(
        "{'descr': '<f4', 'fortran_order': False, 'shape': (a, 2), }",
        &[],
    );
    assert!(parse(&bad).unwrap_err().contains("shape"));
}
