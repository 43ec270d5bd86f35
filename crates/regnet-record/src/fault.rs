//! Why an operation failed, told by kind where the failure happens, so
//! that whoever acts on it (a sweep job, the scheduler) never has to read
//! an error's words to know whether waiting or freeing space would help.

use serde::{Deserialize, Serialize};

/// What kind of failure an error is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// The result store could not be reached and did not come back within
    /// its retry window (a database restart, a network outage): the same
    /// call later may succeed; nothing is wrong with the job.
    Unreachable,
    /// A file system refused a write (full, read-only, over quota, a failing
    /// disk): nothing is wrong with the job; freeing space or making the
    /// file system writable lets it go on.
    Storage,
    /// Anything else: the input, the job or the program is at fault, and
    /// trying again unchanged would fail again.
    Final,
}

/// Linux's EIO: a device failed the request (a disk going bad, or one the
/// kernel turned read-only under open files).
const EIO: i32 = 5;

impl Fault {
    /// The kind of an I/O error, from its error kind and OS error code.
    pub fn of_io(e: &std::io::Error) -> Fault {
        use std::io::ErrorKind::*;
        match e.kind() {
            StorageFull | ReadOnlyFilesystem | QuotaExceeded => Fault::Storage,
            _ if e.raw_os_error() == Some(EIO) => Fault::Storage,
            _ => Fault::Final,
        }
    }

    /// Whether the job that met it is fine and resumes once the fault is
    /// gone (its checkpoint and records are kept).
    pub fn is_outside_the_job(self) -> bool {
        self != Fault::Final
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Error, ErrorKind};

    #[test]
    fn io_errors_by_their_os_codes() {
        // ENOSPC 28, EROFS 30, EDQUOT 122, EIO 5 on Linux; ENOENT 2, EACCES 13.
        for code in [28, 30, 122, 5] {
            assert_eq!(
                Fault::of_io(&Error::from_raw_os_error(code)),
                Fault::Storage,
                "{code}"
            );
        }
        for code in [2, 13] {
            assert_eq!(
                Fault::of_io(&Error::from_raw_os_error(code)),
                Fault::Final,
                "{code}"
            );
        }
        assert_eq!(
            Fault::of_io(&Error::from(ErrorKind::StorageFull)),
            Fault::Storage
        );
        assert_eq!(Fault::of_io(&Error::other("boom")), Fault::Final);
    }
}
