//! Files replaced whole: written beside their place under a temporary name,
//! then renamed over it, so that a reader, a crash or a full disk leaves the
//! old file or the new one, never half of one. Every crate that writes a
//! file others read back (run records, checkpoints, stores, exports) writes
//! it through here.

use crate::Fault;
use std::path::{Path, PathBuf};

/// A file that could not be put in place.
#[derive(Debug)]
pub struct ReplaceError {
    pub path: PathBuf,
    pub source: std::io::Error,
}

impl std::fmt::Display for ReplaceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot write '{}': {}", self.path.display(), self.source)
    }
}

impl std::error::Error for ReplaceError {}

impl ReplaceError {
    fn at(path: &Path, source: std::io::Error) -> Self {
        ReplaceError {
            path: path.to_path_buf(),
            source,
        }
    }

    /// Its kind: a full or read-only disk is a storage fault.
    pub fn fault(&self) -> Fault {
        Fault::of_io(&self.source)
    }
}

/// Runs `write` on a temporary file in `out`'s directory (`.NAME.partial-PID`),
/// then renames it to `out`; on any failure the temporary file is removed
/// and `out` is as it was.
pub fn write_atomically<E: From<ReplaceError>>(
    out: &Path,
    write: impl FnOnce(&Path) -> Result<(), E>,
) -> Result<(), E> {
    let Some(name) = out.file_name() else {
        let e = std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file path");
        return Err(ReplaceError::at(out, e).into());
    };
    let tmp = out.with_file_name(format!(
        ".{}.partial-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = write(&tmp)
        .and_then(|()| std::fs::rename(&tmp, out).map_err(|e| ReplaceError::at(out, e).into()));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// `bytes` as the whole content of `out`, written atomically.
pub fn write_file(out: &Path, bytes: &[u8]) -> Result<(), ReplaceError> {
    write_atomically(out, |tmp| {
        std::fs::write(tmp, bytes).map_err(|e| ReplaceError::at(out, e))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_replaced_whole_or_left_as_it_was() {
        let d = std::env::temp_dir().join(format!("regnet-atomic-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        let out = d.join("a.txt");
        write_file(&out, b"old").unwrap();
        write_file(&out, b"new").unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), b"new");
        // A writer that fails halfway: the old content stays, no temporary is left.
        let r: Result<(), ReplaceError> = write_atomically(&out, |tmp| {
            std::fs::write(tmp, b"half").unwrap();
            Err(ReplaceError {
                path: tmp.to_path_buf(),
                source: std::io::Error::from_raw_os_error(28),
            })
        });
        let e = r.unwrap_err();
        assert_eq!(e.fault(), Fault::Storage);
        assert_eq!(std::fs::read(&out).unwrap(), b"new");
        assert_eq!(std::fs::read_dir(&d).unwrap().count(), 1);
        // A directory is not a file path; a missing directory fails to write.
        assert!(write_file(Path::new("/"), b"x").is_err());
        let e = write_file(&d.join("no/such/dir"), b"x").unwrap_err();
        assert!(e.to_string().starts_with("cannot write '"), "{e}");
        std::fs::remove_dir_all(&d).unwrap();
    }
}
