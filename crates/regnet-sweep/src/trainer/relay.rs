//! Which reported epochs reach the store: each epoch once, in order, and a
//! resumed trainer's repeat of an epoch an earlier attempt recorded only if
//! it says the same.

use regnet_record::VALUES;
use regnet_store::EpochRecord;

/// What to do with a reported epoch.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Write it (a new epoch, or the last one amended with more fields).
    Record(EpochRecord),
    /// Already recorded with these numbers.
    Skip,
}

/// The epochs of one job as recorded so far, and the last one this
/// attempt's trainer reported.
pub struct Relay {
    recorded: Vec<EpochRecord>,
    /// The job's epochs (OPTIM.MAX_EPOCH).
    epochs: u32,
    /// The last epoch reported in this attempt (0: none yet).
    last: u32,
}

impl Relay {
    /// `recorded`: the job's epochs in the store (1, 2, ... in order).
    pub fn new(recorded: Vec<EpochRecord>, epochs: u32) -> Relay {
        Relay {
            recorded,
            epochs,
            last: 0,
        }
    }

    /// Epochs recorded, by this attempt or earlier ones.
    pub fn done(&self) -> u32 {
        self.recorded.len() as u32
    }

    /// Takes a reported epoch; an error says why it cannot be recorded.
    pub fn take(&mut self, e: EpochRecord) -> Result<Step, String> {
        let n = e.epoch;
        if n > self.epochs {
            return Err(format!(
                "epoch {n} is beyond the job's {} epochs (OPTIM.MAX_EPOCH)",
                self.epochs
            ));
        }
        if n < self.last {
            return Err(format!(
                "epoch {n} reported after epoch {}: epoch numbers must not decrease",
                self.last
            ));
        }
        let amend = n == self.last;
        self.last = n;
        let Some(have) = self.recorded.get(n as usize - 1) else {
            if n != self.done() + 1 {
                return Err(format!(
                    "epoch {n} reported after epoch {}: epoch {} was never reported (the store keeps every epoch)",
                    self.done(),
                    self.done() + 1
                ));
            }
            self.recorded.push(e.clone());
            return Ok(Step::Record(e));
        };
        if let Some((field, was, now)) = differs(have, &e) {
            return Err(format!(
                "epoch {n} was recorded with {field} {was} and is now reported with {now}: a resumed trainer must repeat a recorded epoch exactly (or not report it)"
            ));
        }
        if amend && adds(have, &e) {
            let mut merged = e;
            merged.seconds = have.seconds;
            self.recorded[n as usize - 1] = merged.clone();
            return Ok(Step::Record(merged));
        }
        Ok(Step::Skip)
    }
}

/// Whether a value of [`VALUES`] is the training's, compared between a
/// recorded epoch and a repeat of it; speed and duration are the
/// machine's.
fn compared(name: &str) -> bool {
    !matches!(name, "images_per_s" | "seconds")
}

/// The first compared value both records have and disagree on, with both.
fn differs(a: &EpochRecord, b: &EpochRecord) -> Option<(&'static str, f64, f64)> {
    VALUES
        .into_iter()
        .zip(a.values().into_iter().zip(b.values()))
        .filter(|(name, _)| compared(name))
        .find_map(|(name, pair)| match pair {
            (Some(x), Some(y)) if (x - y).abs() > 1e-9 * x.abs().max(y.abs()).max(1.0) => {
                Some((name, x, y))
            }
            _ => None,
        })
}

/// Whether `b` has a value `a` lacks (an amendment, such as the EMA's
/// errors pycls logs after the epoch's test).
fn adds(a: &EpochRecord, b: &EpochRecord) -> bool {
    VALUES
        .into_iter()
        .zip(a.values().into_iter().zip(b.values()))
        .any(|(name, (x, y))| name != "seconds" && x.is_none() && y.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(n: u32, err: f64) -> EpochRecord {
        EpochRecord::new(n, err, 1.0)
    }

    #[test]
    fn epochs_are_recorded_once_in_order() {
        let mut r = Relay::new(vec![e(1, 50.0), e(2, 45.0)], 4);
        // A resumed trainer repeats epoch 2 as recorded: skipped.
        assert_eq!(r.take(e(2, 45.0)), Ok(Step::Skip));
        assert_eq!(r.take(e(3, 40.0)), Ok(Step::Record(e(3, 40.0))));
        assert_eq!(r.done(), 3);
        let err = r.take(e(2, 45.0)).unwrap_err();
        assert!(err.contains("must not decrease"), "{err}");
        let err = r.take(e(5, 30.0)).unwrap_err();
        assert!(err.contains("beyond the job's 4 epochs"), "{err}");
    }

    #[test]
    fn a_repeat_with_other_numbers_or_a_gap_is_an_error() {
        let mut r = Relay::new(vec![e(1, 50.0)], 4);
        let err = r.take(e(1, 49.0)).unwrap_err();
        assert!(
            err.contains("recorded with test_top1_err 50 and is now reported with 49"),
            "{err}"
        );
        let mut r = Relay::new(vec![e(1, 50.0)], 4);
        let err = r.take(e(3, 40.0)).unwrap_err();
        assert!(err.contains("epoch 2 was never reported"), "{err}");
        // Another machine's speed is not a different result.
        let mut fast = e(1, 50.0);
        fast.images_per_s = Some(900.0);
        let mut slow = e(1, 50.0);
        slow.images_per_s = Some(100.0);
        let mut r = Relay::new(vec![slow], 4);
        assert_eq!(r.take(fast), Ok(Step::Skip));
    }

    #[test]
    fn the_last_epoch_may_be_amended_with_more_fields() {
        let mut r = Relay::new(vec![], 2);
        assert!(matches!(r.take(e(1, 50.0)), Ok(Step::Record(_))));
        let mut ema = e(1, 50.0);
        ema.test_ema_top1_err = Some(48.0);
        ema.seconds = 0.0;
        let Ok(Step::Record(m)) = r.take(ema) else {
            panic!("not amended")
        };
        assert_eq!((m.test_ema_top1_err, m.seconds), (Some(48.0), 1.0));
        assert_eq!(r.take(e(1, 50.0)), Ok(Step::Skip));
    }
}
