//! A progress line on stderr for long runs, when stderr is a terminal.
//!
//! A fit reports no progress of its own yet, so the line shows what is
//! running and for how long; it appears only after a second (short runs
//! stay quiet) and is erased when the work ends, before the summary.

use std::io::{IsTerminal, Write};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// Quiet period before the line appears.
const DELAY: Duration = Duration::from_secs(1);
/// How often the line is redrawn.
const TICK: Duration = Duration::from_millis(200);

/// The running progress line; [`Progress::finish`] erases it.
pub struct Progress {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Progress {
    /// Starts the line for `what` if stderr is a terminal; otherwise does
    /// nothing, so logs and pipes get only the summary.
    pub fn start(what: &'static str) -> Self {
        if !std::io::stderr().is_terminal() {
            return Self {
                stop: None,
                thread: None,
            };
        }
        let (stop, stopped) = mpsc::channel::<()>();
        let started = Instant::now();
        let thread = thread::spawn(move || {
            let mut shown = false;
            let mut wait = DELAY;
            while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(wait) {
                wait = TICK;
                shown = true;
                let secs = started.elapsed().as_secs_f64();
                let _ = write!(std::io::stderr().lock(), "\r{what}: running, {secs:.1} s");
            }
            if shown {
                let _ = write!(std::io::stderr().lock(), "\r\x1b[2K");
            }
        });
        Self {
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// Erases the line (if it was shown) and waits for it to be gone.
    pub fn finish(mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
