//! Runs one engine invocation as a subprocess: stdout lines are handed over as they arrive, stderr
//! is kept as a bounded tail, and the process is killed when the time limit passes.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How the subprocess ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exit {
    Success,
    /// Non-zero exit status, or killed by a signal (crash, OOM killer).
    Failed(String),
    TimedOut(Duration),
    /// Could not be started at all.
    SpawnFailed(String),
}

/// Lines of stderr kept for failed points.
const STDERR_TAIL_LINES: usize = 30;
/// Longest stdout/stderr line kept (a runaway line must not exhaust memory).
const MAX_LINE_BYTES: usize = 1 << 20;

pub struct Finished {
    pub exit: Exit,
    pub stderr_tail: String,
}

/// Runs `cmd`, calling `on_line` with each stdout line as it arrives.
pub fn run_streaming(
    mut cmd: Command,
    timeout: Duration,
    mut on_line: impl FnMut(&str),
) -> Finished {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            return Finished {
                exit: Exit::SpawnFailed(e.to_string()),
                stderr_tail: String::new(),
            }
        }
    };
    let tail = Arc::new(Mutex::new(VecDeque::new()));
    let (tx, rx) = mpsc::channel::<String>();
    if let Some(out) = child.stdout.take() {
        std::thread::spawn(move || {
            for line in bounded_lines(out) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
    }
    if let Some(err) = child.stderr.take() {
        let tail = Arc::clone(&tail);
        std::thread::spawn(move || {
            for line in bounded_lines(err) {
                let Ok(mut t) = tail.lock() else { break };
                t.push_back(line);
                if t.len() > STDERR_TAIL_LINES {
                    t.pop_front();
                }
            }
        });
    }
    let deadline = Instant::now() + timeout;
    let mut timed_out = false;
    loop {
        let now = Instant::now();
        if now >= deadline {
            timed_out = true;
            break;
        }
        match rx.recv_timeout(deadline - now) {
            Ok(line) => on_line(&line),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                timed_out = true;
                break;
            }
            // stdout closed: the process is ending.
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    let exit = if timed_out {
        let _ = child.kill();
        let _ = child.wait();
        Exit::TimedOut(timeout)
    } else {
        // stdout is closed; give the process the rest of its time to exit.
        wait_until(&mut child, deadline, timeout)
    };
    // Let the stderr reader catch the last lines (it cannot block us: it is detached).
    std::thread::sleep(Duration::from_millis(50));
    let stderr_tail = tail
        .lock()
        .map(|t| t.iter().cloned().collect::<Vec<_>>().join("\n"))
        .unwrap_or_default();
    Finished { exit, stderr_tail }
}

fn wait_until(child: &mut std::process::Child, deadline: Instant, timeout: Duration) -> Exit {
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Exit::Success,
            Ok(Some(status)) => return Exit::Failed(format!("engine exited with {status}")),
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Exit::TimedOut(timeout);
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => return Exit::Failed(format!("cannot wait for the engine: {e}")),
        }
    }
}

/// Lines of a stream, each cut to MAX_LINE_BYTES, invalid UTF-8 replaced.
fn bounded_lines(r: impl Read) -> impl Iterator<Item = String> {
    let mut reader = BufReader::new(r);
    std::iter::from_fn(move || {
        let mut buf = Vec::new();
        let n = reader
            .by_ref()
            .take(MAX_LINE_BYTES as u64)
            .read_until(b'\n', &mut buf)
            .ok()?;
        if n == 0 {
            return None;
        }
        if buf.last() != Some(&b'\n') && n == MAX_LINE_BYTES {
            // Skip the rest of an over-long line.
            let mut skip = Vec::new();
            let _ = reader.read_until(b'\n', &mut skip);
        }
        while matches!(buf.last(), Some(b'\n' | b'\r')) {
            buf.pop();
        }
        Some(String::from_utf8_lossy(&buf).into_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Command {
        let mut c = Command::new("sh");
        c.arg("-c").arg(script);
        c
    }

    #[test]
    fn streams_lines_and_reports_failure() {
        let mut lines = Vec::new();
        let f = run_streaming(
            sh("echo a; echo b; echo oops >&2; exit 3"),
            Duration::from_secs(10),
            |l| lines.push(l.to_string()),
        );
        assert_eq!(lines, vec!["a", "b"]);
        assert!(
            matches!(f.exit, Exit::Failed(ref m) if m.contains('3')),
            "{:?}",
            f.exit
        );
        assert_eq!(f.stderr_tail, "oops");
    }

    #[test]
    fn kills_on_timeout() {
        let t = Instant::now();
        let mut lines = Vec::new();
        let f = run_streaming(
            sh("echo first; exec sleep 30"),
            Duration::from_millis(300),
            |l| lines.push(l.to_string()),
        );
        assert_eq!(f.exit, Exit::TimedOut(Duration::from_millis(300)));
        assert_eq!(lines, vec!["first"]);
        assert!(t.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn missing_executable() {
        let f = run_streaming(
            Command::new("/nonexistent/engine"),
            Duration::from_secs(1),
            |_| {},
        );
        assert!(matches!(f.exit, Exit::SpawnFailed(_)));
    }
}
