//! The pickle reader against hostile files: declared lengths, memo keys,
//! memo self-references and nesting are bounded by the file's own size;
//! each is refused in one line, with no panic and no large allocation.

use regnet_data::pickle::{parse, Obj, MAX_DEPTH};

/// Protocol-2 header, then `body`, then STOP.
fn pickle(body: &[u8]) -> Vec<u8> {
    let mut p = vec![0x80, 2];
    p.extend(body);
    p.push(b'.');
    p
}

#[test]
fn lengths_beyond_the_file_are_refused() {
    // BINUNICODE8 and BINBYTES8 of 2^64 - 1 bytes.
    for op in [0x8d, 0x8e] {
        let mut b = vec![op];
        b.extend(u64::MAX.to_le_bytes());
        let e = parse(&pickle(&b)).unwrap_err();
        assert!(e.0.contains("truncated data"), "{e}");
    }
}

#[test]
fn a_huge_memo_key_costs_nothing() {
    // EMPTY_LIST, LONG_BINPUT 2^32 - 1, LONG_BINGET 2^32 - 1: two lists.
    let mut b = vec![b']', b'r'];
    b.extend(u32::MAX.to_le_bytes());
    b.push(b'j');
    b.extend(u32::MAX.to_le_bytes());
    b.push(0x86); // TUPLE2
    let v = parse(&pickle(&b)).unwrap();
    assert_eq!(v, Obj::Tuple(vec![Obj::List(vec![]), Obj::List(vec![])]));
}

#[test]
fn memo_references_that_double_are_stopped() {
    // x = []; then 64 times: x = [x, x] via the memo: 2^64 nodes if copied.
    let mut b = vec![b']', b'q', 0];
    for _ in 0..64 {
        b.extend([b'(', b'h', 0, b'h', 0, b'l', b'q', 0]);
    }
    let e = parse(&pickle(&b)).unwrap_err();
    assert!(e.0.contains("memo references copy more than"), "{e}");
}

#[test]
fn deep_nesting_is_refused_and_shallow_is_read() {
    let nested = |depth: usize| {
        let mut b = vec![b']'; depth];
        b.extend(vec![b'a'; depth - 1]);
        b
    };
    let e = parse(&pickle(&nested(1_000_000))).unwrap_err();
    assert!(
        e.0.contains(&format!("nest deeper than {MAX_DEPTH}")),
        "{e}"
    );
    let mut v = parse(&pickle(&nested(MAX_DEPTH))).unwrap();
    let mut depth = 1;
    while let Obj::List(items) = v {
        match items.into_iter().next() {
            Some(inner) => (v, depth) = (inner, depth + 1),
            None => break,
        }
    }
    assert_eq!(depth, MAX_DEPTH);
}
