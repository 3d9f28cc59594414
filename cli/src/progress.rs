//! A progress bar on stderr for long runs, only when stderr is a terminal:
//! logs and pipes get the summary line alone.
//!
//! Fits that report progress (mean shift, k-means and DBSCAN, through the
//! library's [`Observer`]) show their stage (bandwidth estimate, seeding,
//! initial centres, iterations, neighbourhoods, merging, labelling) and,
//! where the stage's work is known in advance, a bar with an ETA. Other work shows what is running and for how long. The
//! bar is erased when the work ends, before the summary is written.

use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gpu_cluster::{Observer, Progress as Report, Stage};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How often a spinner moves while nothing is reported.
const TICK: Duration = Duration::from_millis(120);

/// The running bar; [`Progress::finish`] erases it.
pub struct Progress {
    shown: Option<Arc<Shown>>,
}

/// The bar on screen, and the stage it shows.
struct Shown {
    what: &'static str,
    bar: ProgressBar,
    stage: Mutex<Option<Stage>>,
}

impl Progress {
    /// Starts the bar for `what` (the subcommand) if stderr is a terminal;
    /// otherwise does nothing.
    pub fn start(what: &'static str) -> Self {
        if !std::io::stderr().is_terminal() {
            return Self { shown: None };
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        bar.set_style(style(what, Look::Running));
        bar.enable_steady_tick(TICK);
        let shown = Shown {
            what,
            bar,
            stage: Mutex::new(None),
        };
        Self {
            shown: Some(Arc::new(shown)),
        }
    }

    /// The observer to hand to a fit, if the bar is shown.
    pub fn observer(&self) -> Option<Arc<dyn Observer>> {
        self.shown.clone().map(|s| s as Arc<dyn Observer>)
    }

    /// Erases the bar, if it was shown.
    pub fn finish(self) {
        if let Some(shown) = self.shown {
            shown.bar.finish_and_clear();
        }
    }
}

impl Observer for Shown {
    /// A new stage gets a bar with an ETA when its size is known, a count
    /// of iterations or its name otherwise; within a stage only the
    /// position moves.
    fn progress(&self, report: Report) {
        let mut stage = self.stage.lock().unwrap_or_else(|e| e.into_inner());
        if *stage != Some(report.stage) {
            *stage = Some(report.stage);
            let look = match (report.total, report.stage) {
                (Some(_), stage) => Look::Bar(stage),
                (None, Stage::Iterations) => Look::Counting(Stage::Iterations),
                (None, stage) => Look::Named(stage),
            };
            self.bar.set_style(style(self.what, look));
            self.bar.reset_eta();
        }
        self.bar.set_length(report.total.unwrap_or(0));
        self.bar.set_position(report.done);
    }
}

/// What the bar shows.
#[derive(Clone, Copy)]
enum Look {
    /// `meanshift 00:00:03 ⠋`: the work and how long it has run.
    Running,
    /// `meanshift: merging 00:00:03 ⠋`: a stage that reports no count.
    Named(Stage),
    /// `meanshift: iterations 12 00:00:03 ⠋`: a count of unknown total.
    Counting(Stage),
    /// `meanshift: iterations [=====>    ] 12/20, 3s elapsed, ETA 2s`.
    Bar(Stage),
}

fn template(what: &str, look: Look) -> String {
    match look {
        Look::Running => format!("{what} {{elapsed_precise}} {{spinner}}"),
        Look::Named(stage) => format!("{what}: {stage} {{elapsed_precise}} {{spinner}}"),
        Look::Counting(stage) => {
            format!("{what}: {stage} {{pos}} {{elapsed_precise}} {{spinner}}")
        }
        Look::Bar(stage) => format!(
            "{what}: {stage} [{{bar:30}}] {{pos}}/{{len}}, {{elapsed}} elapsed, ETA {{eta}}"
        ),
    }
}

/// The style for `look`. The templates are fixed (and parsed in the
/// tests); should one not parse, the default style is shown rather than a
/// run failed for its progress bar.
fn style(what: &str, look: Look) -> ProgressStyle {
    ProgressStyle::with_template(&template(what, look))
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_parses() {
        for stage in [
            Stage::Bandwidth,
            Stage::Iterations,
            Stage::Labelling,
            Stage::Initialising,
            Stage::Neighbourhoods,
        ] {
            let looks = [
                Look::Running,
                Look::Named(stage),
                Look::Counting(stage),
                Look::Bar(stage),
            ];
            for look in looks {
                let text = template("meanshift", look);
                assert!(ProgressStyle::with_template(&text).is_ok(), "{text}");
            }
        }
    }
}
