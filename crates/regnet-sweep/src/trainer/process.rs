//! The trainer's process: started in a process group of its own, so the
//! job can end it and everything it started with one signal; told by the
//! kernel to die with the job process (`PR_SET_PDEATHSIG`), so a killed job
//! leaves no trainer holding a GPU; its output read line by line.

use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver, Sender};

/// The longest output line read whole; the rest of a longer line is
/// dropped (a trainer printing megabytes without a newline cannot fill
/// memory).
pub const MAX_LINE: usize = 64 << 10;

/// Which of the trainer's streams a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
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
}

impl Trainer {
    /// Starts `argv` in `dir` with `env` set and `unset` removed.
    pub fn start(
        argv: &[String],
        dir: &Path,
        env: &[(String, String)],
        unset: &[&str],
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
        let mut child = cmd.spawn()?;
        let (tx, lines) = channel();
        read_lines(child.stdout.take(), Stream::Stdout, tx.clone());
        read_lines(child.stderr.take(), Stream::Stderr, tx);
        Ok(Trainer { child, lines })
    }

    /// Kills the trainer's whole process group and waits for the trainer.
    pub fn kill(&mut self) {
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
    fn the_trainer_group_dies_with_kill() {
        let dir = tempfile::tempdir().unwrap();
        // The trainer starts a grandchild and both sleep.
        let argv: Vec<String> = ["sh", "-c", "sleep 30 & echo $!; echo started; wait"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let mut t = Trainer::start(&argv, dir.path(), &[("A".into(), "1".into())], &[]).unwrap();
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
