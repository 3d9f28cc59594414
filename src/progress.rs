//! Progress reports and cancellation for long fits: an [`Observer`] that a
//! command line, a GUI or a web page hands to a fit.
//!
//! A fit tells its observer which [`Stage`] it is in and how far it got,
//! and asks it whether to stop. It asks only between pieces of work it can
//! abandon cleanly: between GPU submissions and between the CPU twin's
//! iterations or seeds, never inside a dispatch. So a cancelled fit stops
//! within one submission and returns [`Error::Cancelled`]; the context
//! stays usable.
//!
//! Without an observer a fit runs as it would anyway. With one, blurring
//! with a fixed iteration count is split into several submissions (instead
//! of one) so there is something to report between them; the result is
//! the same to the bit, since the positions stay on the device from one
//! submission to the next.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::{Error, Result};

/// What part of a fit is running, in the order a mean-shift fit runs them;
/// a k-means fit runs [`Initialising`](Stage::Initialising) then
/// [`Iterations`](Stage::Iterations), once per run (`n_init`); DBSCAN runs
/// [`Neighbourhoods`](Stage::Neighbourhoods) then
/// [`Labelling`](Stage::Labelling).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Stage {
    /// Estimating the bandwidth from the data (a k-th-neighbour search).
    Bandwidth,
    /// Choosing the seeds (bin seeding).
    Seeding,
    /// Blurring iterations, or k-means' Lloyd iterations (of `max_iter`,
    /// per run); [`Progress::done`] counts them.
    Iterations,
    /// Standard mode: the seeds climbing to their modes;
    /// [`Progress::done`] counts the seeds that have stopped.
    Climbing,
    /// Merging the modes into clusters.
    Merging,
    /// Giving every point the label of its nearest cluster centre.
    Labelling,
    /// k-means: choosing the initial centres; [`Progress::done`] counts
    /// the centres chosen, of `k`.
    Initialising,
    /// DBSCAN: the radius searches; [`Progress::done`] counts the chunks
    /// of points searched (each twice: weights, then pairs).
    Neighbourhoods,
}

impl Stage {
    /// A short lower-case name for display, such as `"iterations"`.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Bandwidth => "bandwidth estimate",
            Stage::Seeding => "seeding",
            Stage::Iterations => "iterations",
            Stage::Climbing => "seeds stopped",
            Stage::Merging => "merging",
            Stage::Labelling => "labelling",
            Stage::Initialising => "initial centres",
            Stage::Neighbourhoods => "neighbourhoods",
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One report: the stage, and how much of it is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// The stage running.
    pub stage: Stage,
    /// Units of the stage done so far (see [`Stage`] for the unit); 0 when
    /// a stage starts.
    pub done: u64,
    /// The units the stage has in all, where that is known in advance
    /// (blurring with a fixed iteration count, seeds in standard mode, the
    /// `k` initial centres); `None` where only a cap is known (blurring
    /// until stable). k-means iterations give their cap, `max_iter`: a run
    /// that converges stops before it.
    pub total: Option<u64>,
}

/// Receives a fit's progress and decides whether it goes on.
///
/// Both methods have defaults, so an observer implements what it needs.
/// They are called on the thread that runs the fit, between pieces of
/// work, so they should return quickly. `Send + Sync` because the
/// parameters that hold an observer may be shared between threads, and a
/// cancelling observer is usually set from another thread.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use gpu_cluster::{Blobs, Context, MeanShift, Observer, Progress, Stage};
///
/// /// Keeps every stage seen.
/// #[derive(Default)]
/// struct Stages(Mutex<Vec<Stage>>);
///
/// impl Observer for Stages {
///     fn progress(&self, p: Progress) {
///         let mut seen = self.0.lock().unwrap();
///         if seen.last() != Some(&p.stage) {
///             seen.push(p.stage);
///         }
///     }
/// }
///
/// let x = Blobs::default().generate()?.points;
/// let stages = Arc::new(Stages::default());
/// MeanShift::new(2.5).blurring(5).observer(stages.clone()).fit(&Context::cpu(), &x)?;
/// let seen = stages.0.lock().unwrap();
/// assert_eq!(*seen, [Stage::Iterations, Stage::Merging, Stage::Labelling]);
/// # Ok::<(), gpu_cluster::Error>(())
/// ```
pub trait Observer: Sync + Send {
    /// Called at the start of each stage and as it advances.
    fn progress(&self, _progress: Progress) {}

    /// Whether the fit should stop at the next chance, with
    /// [`Error::Cancelled`].
    fn cancelled(&self) -> bool {
        false
    }
}

/// An [`Observer`] that only cancels: share it with the fit, call
/// [`cancel`](Cancel::cancel) from anywhere (another thread, a button's
/// handler), and the fit stops at its next check.
///
/// ```
/// use std::sync::Arc;
/// use gpu_cluster::{Blobs, Cancel, Context, Error, MeanShift};
///
/// let x = Blobs::default().generate()?.points;
/// let cancel = Arc::new(Cancel::default());
/// cancel.cancel(); // before the fit: it stops at its first check
/// let fit = MeanShift::new(2.5).observer(cancel.clone()).fit(&Context::cpu(), &x);
/// assert!(matches!(fit, Err(Error::Cancelled)));
/// # Ok::<(), gpu_cluster::Error>(())
/// ```
#[derive(Debug, Default)]
pub struct Cancel(AtomicBool);

impl Cancel {
    /// Asks the fits observed by this to stop.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

impl Observer for Cancel {
    fn cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// An algorithm's optional observer, held among its parameters: equal
/// when it is the same observer (or none on both sides), shown only as
/// present or not.
#[derive(Clone, Default)]
pub(crate) struct Observed(Option<Arc<dyn Observer>>);

impl Observed {
    pub fn new(observer: Arc<dyn Observer>) -> Self {
        Self(Some(observer))
    }

    /// What the fit calls.
    pub fn watch(&self) -> Watch<'_> {
        Watch(self.0.as_deref())
    }
}

impl PartialEq for Observed {
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            (a, b) => a.is_none() && b.is_none(),
        }
    }
}

impl fmt::Debug for Observed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "Some(observer)"
        } else {
            "None"
        })
    }
}

/// A fit's view of its observer, if any: what the ops and algorithms call
/// between pieces of work.
#[derive(Clone, Copy, Default)]
pub(crate) struct Watch<'a>(Option<&'a dyn Observer>);

impl Watch<'_> {
    /// Whether anyone is watching: work may then be split into more
    /// submissions so that there is something to report.
    pub fn is_on(self) -> bool {
        self.0.is_some()
    }

    /// Reports `done` of `total` units of `stage`, then stops the work with
    /// [`Error::Cancelled`] if the observer asks to.
    pub fn report(self, stage: Stage, done: u64, total: Option<u64>) -> Result<()> {
        match self.0 {
            None => Ok(()),
            Some(o) => {
                o.progress(Progress { stage, done, total });
                self.check()
            }
        }
    }

    /// [`Error::Cancelled`] if the observer asks to stop.
    pub fn check(self) -> Result<()> {
        match self.0 {
            Some(o) if o.cancelled() => Err(Error::Cancelled),
            _ => Ok(()),
        }
    }
}
