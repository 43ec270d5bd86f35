//! The committed study populations (docs/study/*.sweep.json), read for the
//! sequential comparison's test and simulation: each record's final test
//! top-1 error, in record order.

pub fn study(name: &str) -> Vec<f64> {
    let path = format!(
        "{}/../../docs/study/{name}.sweep.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let records: Vec<serde_json::Value> = serde_json::from_str(&text).expect("a pycls sweep.json");
    let last = |r: &serde_json::Value| r["test_epoch"]["top1_err"].as_array()?.last()?.as_f64();
    records
        .iter()
        .map(|r| last(r).expect("a final test error"))
        .collect()
}
