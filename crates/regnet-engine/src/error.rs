//! The engine's errors: each says what failed and on which file or device,
//! in the engine's own words; the command line adds which option or
//! command it came from.

use crate::import::ImportError;
use std::path::{Path, PathBuf};
use tch::TchError;

/// What can go wrong in the engine.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// libtorch refused an operation (out of memory, a bad tensor file...).
    #[error("libtorch: {0}")]
    Torch(#[from] TchError),
    /// A file could not be read or written.
    #[error("cannot {action} '{}': {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    /// A file was read but is not what it must be (a checkpoint of another
    /// model, an array of the wrong shape, an undecodable image).
    #[error("'{}': {why}", path.display())]
    BadFile { path: PathBuf, why: String },
    /// Images that could not be loaded (a folder's undecodable file...).
    #[error("{0}")]
    Data(String),
    /// The device asked for is not usable here.
    #[error("device '{asked}': {why}")]
    Device { asked: String, why: String },
    /// The run cannot start as set up (e.g. fewer images than one batch).
    #[error("{0}")]
    Setup(String),
    /// Weights that do not fit the model.
    #[error(transparent)]
    Import(#[from] ImportError),
}

impl From<regnet_record::atomic::ReplaceError> for EngineError {
    fn from(e: regnet_record::atomic::ReplaceError) -> Self {
        EngineError::Io {
            action: "write",
            path: e.path,
            source: e.source,
        }
    }
}

impl EngineError {
    /// Its kind: a file the engine could not write for the file system's
    /// reasons (a full disk) is a storage fault, the rest are final.
    pub fn fault(&self) -> regnet_record::Fault {
        match self {
            EngineError::Io { source, .. } => regnet_record::Fault::of_io(source),
            _ => regnet_record::Fault::Final,
        }
    }
}

/// The engine's results.
pub type Result<T> = std::result::Result<T, EngineError>;

thread_local! {
    /// Whether this thread runs inside `guarded` (its panics are reported
    /// as errors, not printed).
    static QUIET: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f`, which calls tch's panicking tensor methods on shapes a user
/// chose, and turns a libtorch failure into one-line error (its first
/// line, without the C++ backtrace) instead of a panic.
pub fn guarded<T>(f: impl FnOnce() -> T) -> Result<T> {
    // One process-wide hook, installed once, silent only on a thread inside
    // `guarded`: swapping hooks per call would race between threads.
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET.with(std::cell::Cell::get) {
                previous(info)
            }
        }));
    });
    let was = QUIET.with(|q| q.replace(true));
    let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    QUIET.with(|q| q.set(was));
    out.map_err(|payload| {
        let text = payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "an operation failed".into());
        EngineError::Setup(format!("libtorch: {}", first_line(&text)))
    })
}

/// The first meaningful line of a libtorch message (tch wraps C++
/// exceptions as `Torch("...\nException raised from ...")`, and its
/// panicking methods show that error with `unwrap`'s prefix, the newlines
/// escaped).
pub(crate) fn first_line(text: &str) -> String {
    let t = text
        .strip_prefix("called `Result::unwrap()` on an `Err` value: ")
        .unwrap_or(text);
    let t = t.trim_start_matches(|c: char| !c.is_alphanumeric());
    let t = t.strip_prefix("Torch(\"").unwrap_or(t);
    let t = t.split("\\n").next().unwrap_or(t);
    let line = t.lines().next().unwrap_or(t);
    line.strip_suffix("\")").unwrap_or(line).to_string()
}

impl EngineError {
    /// A file that is not what it must be.
    pub fn bad_file(path: &Path, why: impl Into<String>) -> Self {
        EngineError::BadFile {
            path: path.to_path_buf(),
            why: why.into(),
        }
    }

    /// A file that could not be read or written.
    pub fn io(action: &'static str, path: &Path, source: std::io::Error) -> Self {
        EngineError::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::first_line;

    #[test]
    fn a_libtorch_message_keeps_its_first_line_only() {
        let unwrapped = "called `Result::unwrap()` on an `Err` value: Torch(\"[enforce fail] can't allocate memory (Cannot allocate memory)\\nframe #0: c10::Throw\\n\")";
        assert_eq!(
            first_line(unwrapped),
            "[enforce fail] can't allocate memory (Cannot allocate memory)"
        );
        let shown = "Torch(\"shape '[2]' is invalid\nException raised from view at ...\")";
        assert_eq!(first_line(shown), "shape '[2]' is invalid");
        assert_eq!(first_line("Torch(\"bad (x)\")"), "bad (x)");
    }
}
