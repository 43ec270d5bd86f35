//! The trainer's process: started in a process group of its own, so the
//! job can end it and everything it started with one signal; told by the
//! kernel to die with the job process (`PR_SET_PDEATHSIG`), so a killed job
//! leaves no trainer holding a GPU; its output read line by line.

use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;

/// The longest output line read whole; the rest of a longer line is
/// dropped (a trainer printing megabytes without a newline cannot fill
/// memory).
pub const MAX_LINE: usize = 64 << 10;

/// Which of the trainer's streams a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
    /// The record file a jsonl trainer appends to (`TRAINER.FILE`).
    File,
}

/// A line of output, or the end of a stream.
pub enum Output {
    Line(Stream, String),
    Closed(Stream),
}

/// A started trainer and the lines it prints.
pub struct Trainer {
    child: Child,
    pub lines: Receiver<Output>,
    /// Tells the record file's reader to stop.
    stop: Arc<AtomicBool>,
}

impl Drop for Trainer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

impl Trainer {
    /// Starts `argv` in `dir` with `env` set and `unset` removed; with
    /// `records`, the lines appended to that file from now on are read too.
    pub fn start(
        argv: &[String],
        dir: &Path,
        env: &[(String, String)],
        unset: &[&str],
        records: Option<&Path>,
    ) -> std::io::Result<Trainer> {
        let (program, args) = argv
            .split_first()
            .ok_or_else(|| std::io::Error::other("an empty trainer command"))?;
        let mut cmd = Command::new(program);
        cmd.args(args)
            .current_dir(dir)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        for k in unset {
            cmd.env_remove(k);
        }
        let parent = std::process::id() as libc::pid_t;
        // SAFETY: between fork and exec the closure only makes two system
        // calls and allocates nothing.
        unsafe {
            cmd.pre_exec(move || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // The job process died before the request took effect.
                if libc::getppid() != parent {
                    return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
                }
                Ok(())
            });
        }
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, lines) = channel();
        if let Some(path) = records {
            // Lines of earlier attempts are not this attempt's reports.
            let from = std::fs::metadata(path).map_or(0, |m| m.len());
            tail(path.to_path_buf(), from, tx.clone(), stop.clone());
        }
        let mut child = cmd.spawn()?;
        read_lines(child.stdout.take(), Stream::Stdout, tx.clone());
        read_lines(child.stderr.take(), Stream::Stderr, tx);
        Ok(Trainer { child, lines, stop })
    }

    /// Kills the trainer's whole process group and waits for the trainer.
    pub fn kill(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // SAFETY: a plain system call; the group id is the trainer's pid.
        unsafe {
            libc::killpg(self.child.id() as libc::pid_t, libc::SIGKILL);
        }
        let _ = self.child.wait();
    }

    /// The exit status, once the trainer has exited; then any process it
    /// left behind in its group is killed too.
    pub fn exited(&mut self) -> std::io::Result<Option<std::process::ExitStatus>> {
        let status = self.child.try_wait()?;
        if status.is_some() {
            self.stop.store(true, Ordering::SeqCst);
            // SAFETY: as in `kill`; the group may already be empty.
            unsafe {
                libc::killpg(self.child.id() as libc::pid_t, libc::SIGKILL);
            }
        }
        Ok(status)
    }
}

/// Sends each line of `pipe` to `tx` from a thread of its own.
fn read_lines<R: Read + Send + 'static>(pipe: Option<R>, stream: Stream, tx: Sender<Output>) {
    let Some(pipe) = pipe else {
        let _ = tx.send(Output::Closed(stream));
        return;
    };
    std::thread::spawn(move || {
        let mut r = BufReader::new(pipe);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match read_line(&mut r, &mut buf) {
                Ok(true) => {
                    let line = String::from_utf8_lossy(&buf).trim_end().to_string();
                    if tx.send(Output::Line(stream, line)).is_err() {
                        return;
                    }
                }
                Ok(false) | Err(_) => {
                    let _ = tx.send(Output::Closed(stream));
                    return;
                }
            }
        }
    });
}

/// Sends each line appended to `path` after byte `from` to `tx`, polling,
/// until `stop`, then reads once more and says the stream is closed; a file
/// that shrinks was rewritten and is read again from its start. A last line
/// without its newline is sent once it has one.
fn tail(path: PathBuf, from: u64, tx: Sender<Output>, stop: Arc<AtomicBool>) {
    std::thread::spawn(move || {
        let mut at = from;
        let mut partial: Vec<u8> = Vec::new();
        loop {
            // Once told to stop (the trainer exited), one last read.
            let last = stop.load(Ordering::SeqCst);
            if let Ok(lines) = read_appended(&path, &mut at, &mut partial) {
                for line in lines {
                    if tx.send(Output::Line(Stream::File, line)).is_err() {
                        return;
                    }
                }
            }
            if last {
                let _ = tx.send(Output::Closed(Stream::File));
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    });
}

/// The whole lines appended to `path` since byte `at` (which moves on);
/// `partial` keeps an unfinished last line, at most [`MAX_LINE`] of it.
fn read_appended(path: &Path, at: &mut u64, partial: &mut Vec<u8>) -> std::io::Result<Vec<String>> {
    use std::io::{Seek, SeekFrom};
    let mut f = std::fs::File::open(path)?;
    let len = f.metadata()?.len();
    if len < *at {
        *at = 0;
        partial.clear();
    }
    f.seek(SeekFrom::Start(*at))?;
    let mut fresh = Vec::new();
    let n = f.take(len - *at).read_to_end(&mut fresh)?;
    *at += n as u64;
    let mut lines = Vec::new();
    for chunk in fresh.split_inclusive(|&b| b == b'\n') {
        let room = MAX_LINE.saturating_sub(partial.len());
        partial.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if chunk.last() == Some(&b'\n') {
            lines.push(String::from_utf8_lossy(partial).trim_end().to_string());
            partial.clear();
        }
    }
    Ok(lines)
}

/// Reads one line (at most [`MAX_LINE`] bytes of it kept) into `buf`;
/// false at the end of the stream.
fn read_line(r: &mut impl BufRead, buf: &mut Vec<u8>) -> std::io::Result<bool> {
    let n = r.by_ref().take(MAX_LINE as u64).read_until(b'\n', buf)?;
    if n == 0 {
        return Ok(false);
    }
    if buf.last() != Some(&b'\n') && n == MAX_LINE {
        // Drop the rest of an over-long line.
        let mut rest = Vec::new();
        loop {
            rest.clear();
            let m = r
                .by_ref()
                .take(MAX_LINE as u64)
                .read_until(b'\n', &mut rest)?;
            if m == 0 || rest.last() == Some(&b'\n') {
                break;
            }
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_are_cut_and_reading_goes_on() {
        let mut text = vec![b'x'; MAX_LINE * 3];
        text.extend(b"\nnext\nlast");
        let mut r = BufReader::new(&text[..]);
        let mut buf = Vec::new();
        assert!(read_line(&mut r, &mut buf).unwrap());
        assert_eq!(buf.len(), MAX_LINE);
        buf.clear();
        assert!(read_line(&mut r, &mut buf).unwrap());
        assert_eq!(buf, b"next\n");
        buf.clear();
        assert!(read_line(&mut r, &mut buf).unwrap());
        assert_eq!(buf, b"last");
        buf.clear();
        assert!(!read_line(&mut r, &mut buf).unwrap());
    }

    #[test]
    fn a_record_file_is_read_as_it_grows() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.jsonl");
        std::fs::write(&path, "old 1\n").unwrap();
        let (mut at, mut partial) = (std::fs::metadata(&path).unwrap().len(), Vec::new());
        let mut read = |at: &mut u64| read_appended(&path, at, &mut partial).unwrap();
        assert!(read(&mut at).is_empty());
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        f.write_all(b"one\ntw").unwrap();
        assert_eq!(read(&mut at), ["one"]);
        f.write_all(b"o\n").unwrap();
        assert_eq!(read(&mut at), ["two"]);
        // Rewritten from scratch: read again from the start.
        std::fs::write(&path, "new\n").unwrap();
        assert_eq!(read(&mut at), ["new"]);
    }

    #[test]
    fn the_trainer_group_dies_with_kill() {
        let dir = tempfile::tempdir().unwrap();
        // The trainer starts a grandchild and both sleep.
        let argv: Vec<String> = ["sh", "-c", "sleep 30 & echo $!; echo started; wait"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let mut t =
            Trainer::start(&argv, dir.path(), &[("A".into(), "1".into())], &[], None).unwrap();
        let Output::Line(Stream::Stdout, pid) = t.lines.recv().unwrap() else {
            panic!("no pid line")
        };
        let pid: libc::pid_t = pid.trim().parse().unwrap();
        t.kill();
        // The grandchild is gone too (kill 0 probes; a zombie is reaped by init).
        let gone = (0..50).any(|_| {
            std::thread::sleep(std::time::Duration::from_millis(20));
            // SAFETY: probing a pid.
            let dead = unsafe { libc::kill(pid, 0) } != 0;
            dead || std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .is_ok_and(|s| s.contains(") Z "))
        });
        assert!(gone, "grandchild {pid} survived");
    }
}
