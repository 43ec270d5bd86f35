//! Reading what a trainer prints: epoch records and progress among its
//! other output, in either format a sweep's `TRAINER.FORMAT` names.

use regnet_record::VALUES;
use regnet_store::{EpochRecord, TrainerFormat};
use serde_json::{Map, Value};

/// What one line of a trainer's standard output says.
#[derive(Debug, Clone, PartialEq)]
pub enum Report {
    /// An epoch's numbers; `timed` is false when the trainer did not say
    /// how long it took (the relay then measures it).
    Epoch { record: EpochRecord, timed: bool },
    /// How far the current epoch is, in [0, 1].
    Progress(f64),
    /// Any other line (passed on to the job's log).
    Output,
}

/// A reader of one trainer's output, line by line; it keeps what a format
/// spreads over several lines (pycls's train and test lines of an epoch).
pub enum Reader {
    Jsonl,
    Pycls(Box<PyclsState>),
}

impl Reader {
    pub fn new(format: TrainerFormat) -> Reader {
        match format {
            TrainerFormat::Jsonl => Reader::Jsonl,
            TrainerFormat::Pycls => Reader::Pycls(Box::default()),
        }
    }

    /// Reads one line; an error says what is wrong with it (the caller
    /// names the line).
    pub fn line(&mut self, line: &str) -> Result<Report, String> {
        match self {
            Reader::Jsonl => jsonl(line),
            Reader::Pycls(state) => state.line(line),
        }
    }
}

/// The range each of [`regnet_store::EpochRecord::values`] must lie in, by
/// its name in `regnet train`'s `log.jsonl` ([`VALUES`]).
fn range_of(field: &str) -> Range {
    match field {
        "train_loss" => Range::Finite,
        f if f.ends_with("_err") => Range::Percent,
        _ => Range::NonNegative,
    }
}

#[derive(Clone, Copy)]
enum Range {
    Finite,
    NonNegative,
    Percent,
}

impl Range {
    fn check(self, key: &str, v: &Value) -> Result<f64, String> {
        let x = v
            .as_f64()
            .ok_or_else(|| format!("\"{key}\" must be a number, got {v}"))?;
        let (ok, what) = match self {
            Range::Finite => (x.is_finite(), "a finite number"),
            Range::NonNegative => (x.is_finite() && x >= 0.0, "a number of at least 0"),
            Range::Percent => ((0.0..=100.0).contains(&x), "an error in percent, 0 to 100"),
        };
        ok.then_some(x)
            .ok_or_else(|| format!("\"{key}\" must be {what}, got {v}"))
    }
}

/// A jsonl line: an object with `epoch` is an epoch record, one with only
/// `progress` a progress report; anything not starting with `{` is output.
fn jsonl(line: &str) -> Result<Report, String> {
    let t = line.trim();
    if !t.starts_with('{') {
        return Ok(Report::Output);
    }
    let obj = json_object(t)?;
    if obj.contains_key("epoch") {
        return epoch_record(obj);
    }
    match obj.get("progress") {
        Some(p) => Ok(Report::Progress(fraction(p, "progress")?)),
        None => Ok(Report::Output),
    }
}

/// A JSON object, or why the text is not one (NaN and Infinity, which
/// Python's `json.dumps` writes for a diverged number, are named).
fn json_object(text: &str) -> Result<Map<String, Value>, String> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(other) => Err(format!("expected a JSON object, got {other}")),
        Err(_) if ["NaN", "Infinity"].iter().any(|w| text.contains(w)) => {
            Err("a number is NaN or infinite (did training diverge?)".into())
        }
        Err(e) => Err(format!("not valid JSON: {e}")),
    }
}

fn fraction(v: &Value, key: &str) -> Result<f64, String> {
    v.as_f64()
        .filter(|x| (0.0..=1.0).contains(x))
        .ok_or_else(|| format!("\"{key}\" must be a fraction from 0 to 1, got {v}"))
}

/// An epoch record from a jsonl object: `epoch` and `test_top1_err`
/// required, the other known fields checked, the rest kept as extras.
fn epoch_record(mut obj: Map<String, Value>) -> Result<Report, String> {
    let epoch = obj.remove("epoch").unwrap_or_default();
    let epoch = epoch
        .as_u64()
        .filter(|&e| e >= 1 && e <= u64::from(u32::MAX))
        .ok_or_else(|| format!("\"epoch\" must be a whole number from 1, got {epoch}"))?
        as u32;
    let mut known = [None; VALUES.len()];
    for (slot, key) in known.iter_mut().zip(VALUES) {
        if let Some(v) = obj.remove(key) {
            *slot = Some(range_of(key).check(key, &v)?);
        }
    }
    let seconds = known[VALUES.len() - 1];
    known[VALUES.len() - 1] = Some(seconds.unwrap_or(0.0));
    let mut record =
        EpochRecord::from_values(epoch, known).ok_or("an epoch record needs \"test_top1_err\"")?;
    record.extra = obj.into_iter().collect();
    Ok(Report::Epoch {
        record,
        timed: seconds.is_some(),
    })
}

/// pycls's tag before the JSON of each stats line (`pycls.core.logging`).
const PYCLS_TAG: &str = "json_stats: ";

/// What a pycls reader keeps between lines: the last `train_epoch` stats,
/// merged into the record its `test_epoch` line completes.
#[derive(Default)]
pub struct PyclsState {
    train: Option<(u32, Map<String, Value>)>,
    /// The last record made, which a `test_ema_epoch` line amends.
    last: Option<EpochRecord>,
}

impl PyclsState {
    fn line(&mut self, line: &str) -> Result<Report, String> {
        let Some(at) = line.find(PYCLS_TAG) else {
            return Ok(Report::Output);
        };
        let mut obj = json_object(line[at + PYCLS_TAG.len()..].trim())?;
        let kind = match obj.remove("_type") {
            Some(Value::String(s)) => s,
            _ => return Err("a json_stats line without its \"_type\"".into()),
        };
        match kind.as_str() {
            "train_iter" => {
                let (done, total) = pycls_counter(&obj, "iter")?;
                Ok(Report::Progress((done as f64 / total as f64).min(1.0)))
            }
            "train_epoch" => {
                let (epoch, _) = pycls_counter(&obj, "epoch")?;
                self.train = Some((epoch, obj));
                Ok(Report::Output)
            }
            "test_epoch" => self.test_epoch(obj),
            "test_ema_epoch" => self.test_ema_epoch(&obj),
            _ => Ok(Report::Output),
        }
    }

    /// A test line completes its epoch's record, with the train line of the
    /// same epoch if one came.
    fn test_epoch(&mut self, obj: Map<String, Value>) -> Result<Report, String> {
        let (epoch, _) = pycls_counter(&obj, "epoch")?;
        let err = |key: &str| -> Result<Option<f64>, String> {
            obj.get(key)
                .map(|v| Range::Percent.check(key, v))
                .transpose()
        };
        let top1 = err("top1_err")?.ok_or("a test_epoch line needs \"top1_err\"")?;
        let mut record = EpochRecord::new(epoch, top1, 0.0);
        record.test_top5_err = err("top5_err")?;
        let mut timed = false;
        if let Some((_, train)) = self.train.take().filter(|(e, _)| *e == epoch) {
            let get = |key: &str, range: Range| -> Result<Option<f64>, String> {
                train
                    .get(key)
                    .map(|v| range.check(&format!("train_epoch {key}"), v))
                    .transpose()
            };
            record.train_loss = get("loss", Range::Finite)?;
            record.train_top1_err = get("top1_err", Range::Percent)?;
            record.lr = get("lr", Range::NonNegative)?;
            record.lr_end = record.lr;
            if let Some(t) = get("time_epoch", Range::NonNegative)? {
                record.seconds = t;
                timed = true;
            }
            if let Some(v) = train.get("top5_err") {
                record.extra.insert("train_top5_err".into(), v.clone());
            }
        }
        self.last = Some(record.clone());
        Ok(Report::Epoch { record, timed })
    }

    /// An EMA test line adds the EMA errors to the epoch just recorded.
    fn test_ema_epoch(&mut self, obj: &Map<String, Value>) -> Result<Report, String> {
        let (epoch, _) = pycls_counter(obj, "epoch")?;
        let Some(mut record) = self.last.clone().filter(|r| r.epoch == epoch) else {
            return Err(format!(
                "test_ema_epoch of epoch {epoch} without its test_epoch"
            ));
        };
        let err = |key: &str| {
            obj.get(key)
                .map(|v| Range::Percent.check(key, v))
                .transpose()
        };
        record.test_ema_top1_err = err("top1_err")?;
        record.test_ema_top5_err = err("top5_err")?;
        self.last = Some(record.clone());
        // Its duration is the test line's (already measured, or reported).
        Ok(Report::Epoch {
            record,
            timed: true,
        })
    }
}

/// pycls's `"epoch": "3/10"` (or `"iter"`) counters: `(3, 10)`.
fn pycls_counter(obj: &Map<String, Value>, key: &str) -> Result<(u32, u32), String> {
    let v = obj.get(key).ok_or_else(|| format!("no \"{key}\""))?;
    let parsed = v.as_str().and_then(|s| {
        let (k, n) = s.split_once('/')?;
        Some((k.trim().parse::<u32>().ok()?, n.trim().parse::<u32>().ok()?))
    });
    parsed
        .filter(|&(k, n)| k >= 1 && n >= 1)
        .ok_or_else(|| format!("\"{key}\" must read \"k/N\" with 1 <= k, got {v}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn epoch(r: Result<Report, String>) -> (EpochRecord, bool) {
        match r {
            Ok(Report::Epoch { record, timed }) => (record, timed),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn jsonl_records_progress_and_output_are_told_apart() {
        let mut r = Reader::new(TrainerFormat::Jsonl);
        let (e, timed) = epoch(r.line(
            r#"{"epoch": 2, "test_top1_err": 41.5, "train_loss": 1.25, "lr": 0.1, "val_loss": 0.9}"#,
        ));
        assert!(!timed);
        assert_eq!(
            (e.epoch, e.test_top1_err, e.train_loss),
            (2, 41.5, Some(1.25))
        );
        assert_eq!(
            (e.lr, e.lr_end, e.test_top5_err),
            (Some(0.1), Some(0.1), None)
        );
        assert_eq!(e.extra["val_loss"], 0.9);
        let (e, timed) = epoch(r.line(r#"{"epoch": 3, "test_top1_err": 40, "seconds": 12.5}"#));
        assert!(timed);
        assert_eq!(e.seconds, 12.5);
        assert_eq!(
            r.line(r#"  {"progress": 0.25}"#),
            Ok(Report::Progress(0.25))
        );
        for out in ["loading data", "", "[1, 2]", r#"{"note": "a config dump"}"#] {
            assert_eq!(r.line(out), Ok(Report::Output), "{out}");
        }
    }

    #[test]
    fn bad_jsonl_records_say_what_is_wrong() {
        let mut r = Reader::new(TrainerFormat::Jsonl);
        for (line, says) in [
            (r#"{"epoch": 1, "test_top1_err": NaN}"#, "NaN or infinite"),
            (r#"{"epoch": 1, "test_top1_err": 140}"#, "0 to 100"),
            (r#"{"epoch": 1, "test_top1_err": "40"}"#, "must be a number"),
            (r#"{"epoch": 1}"#, "needs \"test_top1_err\""),
            (r#"{"epoch": 0, "test_top1_err": 4}"#, "whole number from 1"),
            (
                r#"{"epoch": 1.5, "test_top1_err": 4}"#,
                "whole number from 1",
            ),
            (
                r#"{"epoch": 1, "test_top1_err": 4, "train_loss": -1e999}"#,
                "not valid JSON",
            ),
            (
                r#"{"epoch": 1, "test_top1_err": 4, "seconds": -2}"#,
                "at least 0",
            ),
            (r#"{"epoch": 1, "test_top1_err""#, "not valid JSON"),
            (r#"{"progress": 2}"#, "fraction"),
        ] {
            let e = r.line(line).unwrap_err();
            assert!(e.contains(says), "{line}: {e}");
        }
    }

    #[test]
    fn pycls_train_and_test_lines_make_one_record() {
        let mut r = Reader::new(TrainerFormat::Pycls);
        let lines = [
            r#"[trainer.py:  57]: json_stats: {"_type": "train_iter", "epoch": "1/2", "iter": "5/20", "loss": 2.3}"#,
            r#"[meters.py: 176]: json_stats: {"_type": "train_epoch", "epoch": "1/2", "loss": 2.1, "lr": 0.1, "top1_err": 80.0, "top5_err": 40.0, "time_avg": 0.1}"#,
            r#"[meters.py: 258]: json_stats: {"_type": "test_epoch", "epoch": "1/2", "top1_err": 75.5, "top5_err": 30.25, "min_top1_err": 75.5}"#,
        ];
        assert_eq!(r.line(lines[0]), Ok(Report::Progress(0.25)));
        assert_eq!(r.line(lines[1]), Ok(Report::Output));
        let (e, timed) = epoch(r.line(lines[2]));
        assert!(!timed);
        assert_eq!(
            (
                e.epoch,
                e.test_top1_err,
                e.test_top5_err,
                e.train_loss,
                e.lr
            ),
            (1, 75.5, Some(30.25), Some(2.1), Some(0.1))
        );
        assert_eq!(
            (e.train_top1_err, e.extra["train_top5_err"].as_f64()),
            (Some(80.0), Some(40.0))
        );
        let ema = r#"json_stats: {"_type": "test_ema_epoch", "epoch": "1/2", "top1_err": 70.0, "top5_err": 20.0}"#;
        let (e, _) = epoch(r.line(ema));
        assert_eq!((e.test_top1_err, e.test_ema_top1_err), (75.5, Some(70.0)));
        // A test line without a train line of its epoch has no train metrics.
        let (e, _) =
            epoch(r.line(r#"json_stats: {"_type": "test_epoch", "epoch": "2/2", "top1_err": 60}"#));
        assert_eq!((e.epoch, e.train_loss, e.test_top5_err), (2, None, None));
        assert_eq!(r.line("[net.py: 10]: Loading"), Ok(Report::Output));
    }

    #[test]
    fn bad_pycls_lines_say_what_is_wrong() {
        let mut r = Reader::new(TrainerFormat::Pycls);
        for (line, says) in [
            (r#"json_stats: {"epoch": "1/2"}"#, "\"_type\""),
            (
                r#"json_stats: {"_type": "test_epoch", "epoch": 1, "top1_err": 3}"#,
                "k/N",
            ),
            (
                r#"json_stats: {"_type": "test_epoch", "epoch": "0/3", "top1_err": 3}"#,
                "k/N",
            ),
            (
                r#"json_stats: {"_type": "test_epoch", "epoch": "1/3"}"#,
                "needs \"top1_err\"",
            ),
            (
                r#"json_stats: {"_type": "test_epoch", "epoch": "1/3", "top1_err": NaN}"#,
                "NaN",
            ),
            (
                r#"json_stats: {"_type": "test_ema_epoch", "epoch": "1/3", "top1_err": 3}"#,
                "without its test_epoch",
            ),
            (r#"json_stats: nonsense"#, "not valid JSON"),
        ] {
            let e = r.line(line).unwrap_err();
            assert!(e.contains(says), "{line}: {e}");
        }
    }
}
