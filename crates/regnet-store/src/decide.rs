//! What happens to a job after an attempt: decided once, here, as plain
//! data; the SQLite and PostgreSQL stores each write the decision in one
//! statement, so the two back ends cannot drift apart.

use crate::{JobState, Outcome, NCHW};

/// A job's row after an attempt ends.
#[derive(Debug, Clone, PartialEq)]
pub struct AfterAttempt {
    /// `Done`, `Pending` (to be retried) or `Failed` (given up).
    pub state: JobState,
    /// Failed attempts counted so far.
    pub failures: u32,
    /// The layout the next attempt trains in.
    pub layout: Option<String>,
    /// The message kept with the job (`None` once done).
    pub error: Option<String>,
}

impl AfterAttempt {
    /// Whether the job's result is final (done, or failed for good): the
    /// store stamps its finish time.
    pub fn finished(&self) -> bool {
        matches!(self.state, JobState::Done | JobState::Failed)
    }
}

/// The rule: a finished attempt is done; the first crash by a signal of a
/// job not yet in NCHW is retried in NCHW without counting a failure
/// (libtorch crashes training some convs channels-last); any other failure
/// counts, and the job is retried until `max_attempts` failures, then failed.
pub fn after_attempt(
    outcome: &Outcome,
    failures: u32,
    layout: Option<&str>,
    max_attempts: u32,
) -> AfterAttempt {
    let layout = layout.map(str::to_string);
    match outcome {
        Outcome::Done => AfterAttempt {
            state: JobState::Done,
            failures,
            layout,
            error: None,
        },
        Outcome::Crashed(msg) if layout.as_deref() != Some(NCHW) => AfterAttempt {
            state: JobState::Pending,
            failures,
            layout: Some(NCHW.to_string()),
            error: Some(format!("{msg}; retried in NCHW")),
        },
        Outcome::Failed(msg) | Outcome::Crashed(msg) => AfterAttempt {
            state: match failures + 1 >= max_attempts {
                true => JobState::Failed,
                false => JobState::Pending,
            },
            failures: failures + 1,
            layout,
            error: Some(msg.clone()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rule_by_hand() {
        let done = after_attempt(&Outcome::Done, 1, Some("channels-last"), 3);
        assert_eq!(
            (done.state, done.failures, done.error),
            (JobState::Done, 1, None)
        );
        let crash = after_attempt(&Outcome::Crashed("SIGSEGV".into()), 0, None, 3);
        assert_eq!((crash.state, crash.failures), (JobState::Pending, 0));
        assert_eq!(crash.layout.as_deref(), Some(NCHW));
        let again = after_attempt(&Outcome::Crashed("SIGSEGV".into()), 0, Some(NCHW), 1);
        assert_eq!((again.state, again.failures), (JobState::Failed, 1));
        let retry = after_attempt(&Outcome::Failed("oom".into()), 1, None, 3);
        assert_eq!(
            (retry.state, retry.failures, retry.finished()),
            (JobState::Pending, 2, false)
        );
        let last = after_attempt(&Outcome::Failed("oom".into()), 2, None, 3);
        assert_eq!(
            (last.state, last.failures, last.finished()),
            (JobState::Failed, 3, true)
        );
    }
}
