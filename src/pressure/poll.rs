//! The polling window (AOSP reference §4.3), as a pure state machine over milliseconds.
//!
//! The kernel reports a PSI trigger at most once per window, so after an event the decision is
//! re-run periodically — every 10 ms right after a kill or when swap is low, else every 100 ms —
//! until one window has passed without a reason to keep going. While the daemon waits for a
//! victim to die, polling is paused; when the wait ends it resumes at once with a fresh window.
//! When there is no pressure there is no deadline at all: the loop sleeps until an event.

/// A handler's request to the polling machinery (AOSP's `polling_update`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PollUpdate {
    /// Leave polling as it is; it stops once the window has passed.
    DoNotChange,
    /// (Re)start a window now.
    Start,
    /// Stop polling while a kill is awaited.
    Pause,
    /// Continue after a pause: a fresh window, polled at once.
    Resume,
}

/// AOSP's `PSI_WINDOW_SIZE_MS`.
pub const WINDOW_MS: u64 = 1000;
/// `PSI_POLL_PERIOD_SHORT_MS`: after a kill or when swap is low.
pub const SHORT_INTERVAL_MS: u64 = 10;
/// `PSI_POLL_PERIOD_LONG_MS`.
pub const LONG_INTERVAL_MS: u64 = 100;

/// The polling state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PollWindow {
    active: bool,
    paused: bool,
    window_start_ms: u64,
    last_run_ms: u64,
    interval_ms: u64,
    /// The window length in force (the PSI window, normally [`WINDOW_MS`]).
    window_ms: u64,
}

impl PollWindow {
    /// A polling state with the given window length.
    pub fn new(window_ms: u64) -> PollWindow {
        PollWindow { window_ms: window_ms.max(1), ..PollWindow::default() }
    }

    /// Whether polling is running (not paused, not stopped).
    pub fn active(&self) -> bool {
        self.active && !self.paused
    }

    /// Whether polling is parked until a kill wait ends.
    pub fn paused(&self) -> bool {
        self.paused
    }

    /// The current interval.
    pub fn interval_ms(&self) -> u64 {
        self.interval_ms
    }

    /// Applies a handler's result at `now_ms` (the handler just ran, for an event or a poll).
    pub fn update(&mut self, update: PollUpdate, interval_ms: u64, now_ms: u64) {
        self.last_run_ms = now_ms;
        match update {
            PollUpdate::Start => {
                self.active = true;
                self.paused = false;
                self.window_start_ms = now_ms;
                self.interval_ms = interval_ms;
            }
            PollUpdate::Pause => {
                // AOSP parks the handler that asked (`paused_handler`), whether or not it was
                // polling: the wait's end resumes polling even after a kill from a lone event.
                self.active = true;
                self.paused = true;
            }
            PollUpdate::Resume => {
                self.active = true;
                self.paused = false;
                self.window_start_ms = now_ms;
                self.interval_ms = SHORT_INTERVAL_MS;
                // Polled at once: the next deadline is now.
                self.last_run_ms = now_ms.saturating_sub(SHORT_INTERVAL_MS);
            }
            PollUpdate::DoNotChange => {
                if self.active && !self.paused {
                    self.interval_ms = interval_ms;
                    if now_ms.saturating_sub(self.window_start_ms) > self.window_ms {
                        self.active = false;
                    }
                }
            }
        }
    }

    /// A paused poll whose kill wait ended: resume now (AOSP's `POLLING_RESUME`).
    pub fn resume_if_paused(&mut self, now_ms: u64) -> bool {
        if self.paused {
            self.update(PollUpdate::Resume, SHORT_INTERVAL_MS, now_ms);
            true
        } else {
            false
        }
    }

    /// When the next poll is due (`None`: no polling, sleep until an event).
    pub fn deadline_ms(&self) -> Option<u64> {
        self.active().then(|| self.last_run_ms + self.interval_ms)
    }

    /// Whether a poll is due at `now_ms`.
    pub fn due(&self, now_ms: u64) -> bool {
        self.deadline_ms().is_some_and(|d| now_ms >= d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_pressure_no_deadline() {
        let p = PollWindow::new(WINDOW_MS);
        assert_eq!(p.deadline_ms(), None);
        assert!(!p.due(u64::MAX));
    }

    #[test]
    fn an_event_polls_for_one_window_then_stops() {
        let mut p = PollWindow::new(WINDOW_MS);
        p.update(PollUpdate::Start, LONG_INTERVAL_MS, 1000);
        assert_eq!(p.deadline_ms(), Some(1100), "a full interval before the first poll");
        let mut t = 1100;
        let mut polls = 0;
        while let Some(d) = p.deadline_ms() {
            assert!(d >= t);
            t = d;
            polls += 1;
            p.update(PollUpdate::DoNotChange, LONG_INTERVAL_MS, t);
            assert!(polls < 100);
        }
        assert_eq!(polls, 11, "polls at 1100..=2100: the last finds the window over");
        assert_eq!(t, 2100);
    }

    #[test]
    fn start_extends_the_window_and_sets_the_interval() {
        let mut p = PollWindow::new(WINDOW_MS);
        p.update(PollUpdate::Start, LONG_INTERVAL_MS, 0);
        p.update(PollUpdate::Start, SHORT_INTERVAL_MS, 900);
        assert_eq!(p.deadline_ms(), Some(910));
        p.update(PollUpdate::DoNotChange, SHORT_INTERVAL_MS, 1800);
        assert!(p.active(), "the window restarted at 900");
        p.update(PollUpdate::DoNotChange, SHORT_INTERVAL_MS, 1901);
        assert!(!p.active());
    }

    #[test]
    fn pause_and_resume_around_a_kill() {
        let mut p = PollWindow::new(WINDOW_MS);
        p.update(PollUpdate::Start, LONG_INTERVAL_MS, 0);
        p.update(PollUpdate::Pause, LONG_INTERVAL_MS, 50);
        assert!(p.paused());
        assert_eq!(p.deadline_ms(), None, "no timer while waiting for the victim");
        assert!(p.resume_if_paused(5000));
        assert_eq!(p.deadline_ms(), Some(5000), "polled at once");
        assert_eq!(p.interval_ms(), SHORT_INTERVAL_MS);
        assert!(!p.resume_if_paused(5001));
        // A pause without polling parks the handler all the same (AOSP's `paused_handler`):
        // the end of the wait resumes polling.
        let mut q = PollWindow::new(WINDOW_MS);
        q.update(PollUpdate::Pause, LONG_INTERVAL_MS, 0);
        assert!(q.paused());
        assert_eq!(q.deadline_ms(), None);
        assert!(q.resume_if_paused(300));
        assert_eq!(q.deadline_ms(), Some(300));
    }
}
