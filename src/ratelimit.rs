//! Rate limiting for log lines on paths a client or the kernel can drive hard.

use std::time::{Duration, Instant};

/// Lets one event through per interval and counts the ones it held back.
#[derive(Debug)]
pub struct RateLimit {
    interval: Duration,
    last: Option<Instant>,
    suppressed: u64,
}

impl RateLimit {
    /// A limiter that passes at most one event per `interval`.
    pub const fn new(interval: Duration) -> RateLimit {
        RateLimit { interval, last: None, suppressed: 0 }
    }

    /// Whether the event at `now` may be logged; if so, returns how many were suppressed since
    /// the last one that was.
    pub fn check(&mut self, now: Instant) -> Option<u64> {
        match self.last {
            Some(t) if now.saturating_duration_since(t) < self.interval => {
                self.suppressed += 1;
                None
            }
            _ => {
                self.last = Some(now);
                Some(std::mem::take(&mut self.suppressed))
            }
        }
    }
}

/// Lets a burst of events through per window and counts the ones it held back: for log lines
/// that a client's input drives (a refusal, a malformed packet), where the first few say what
/// is wrong and a flood must not fill the log.
#[derive(Debug)]
pub struct LogBudget {
    window: Duration,
    burst: u32,
    start: Option<Instant>,
    used: u32,
    suppressed: u64,
}

impl LogBudget {
    /// At most `burst` events per `window`.
    pub const fn new(window: Duration, burst: u32) -> LogBudget {
        LogBudget { window, burst, start: None, used: 0, suppressed: 0 }
    }

    /// The budget for lines a client's input drives: 30 per 10 s.
    pub const fn for_client_input() -> LogBudget {
        LogBudget::new(Duration::from_secs(10), 30)
    }

    /// Whether the event at `now` may be logged; if so, returns how many were held back since
    /// the last one that was.
    pub fn check(&mut self, now: Instant) -> Option<u64> {
        match self.start {
            Some(s) if now.saturating_duration_since(s) < self.window => {}
            _ => {
                self.start = Some(now);
                self.used = 0;
            }
        }
        if self.used < self.burst {
            self.used += 1;
            Some(std::mem::take(&mut self.suppressed))
        } else {
            self.suppressed += 1;
            None
        }
    }
}

/// Formats a count of held-back lines: nothing for 0, else ` (N similar lines suppressed)`.
#[derive(Clone, Copy, Debug)]
pub struct Suppressed(pub u64);

impl std::fmt::Display for Suppressed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            0 => Ok(()),
            n => write!(f, " ({n} similar lines suppressed)"),
        }
    }
}

/// `limited!(error, "fmt", args...)`: logs through a [`LogBudget`] of its own call site
/// ([`LogBudget::for_client_input`]), with the count of lines it held back appended. Each site
/// has its own budget, so a flood of one kind cannot hide the first lines of another.
macro_rules! limited {
    ($level:ident, $($arg:tt)+) => {{
        static BUDGET: std::sync::Mutex<$crate::ratelimit::LogBudget> =
            std::sync::Mutex::new($crate::ratelimit::LogBudget::for_client_input());
        let pass = BUDGET
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .check(std::time::Instant::now());
        if let Some(n) = pass {
            log::$level!("{}{}", format_args!($($arg)+), $crate::ratelimit::Suppressed(n));
        }
    }};
}
pub(crate) use limited;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_per_window_with_a_count_of_the_rest() {
        let mut b = LogBudget::new(Duration::from_secs(10), 3);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(b.check(t0), Some(0));
        }
        assert_eq!(b.check(t0 + Duration::from_secs(1)), None);
        assert_eq!(b.check(t0 + Duration::from_secs(9)), None);
        assert_eq!(b.check(t0 + Duration::from_secs(10)), Some(2));
        assert_eq!(b.check(t0 + Duration::from_secs(10)), Some(0));
        assert_eq!(Suppressed(0).to_string(), "");
        assert_eq!(Suppressed(5).to_string(), " (5 similar lines suppressed)");
    }

    #[test]
    fn one_per_interval_with_a_count_of_the_rest() {
        let mut rl = RateLimit::new(Duration::from_secs(1));
        let t0 = Instant::now();
        assert_eq!(rl.check(t0), Some(0));
        assert_eq!(rl.check(t0 + Duration::from_millis(10)), None);
        assert_eq!(rl.check(t0 + Duration::from_millis(999)), None);
        assert_eq!(rl.check(t0 + Duration::from_millis(1000)), Some(2));
        assert_eq!(rl.check(t0 + Duration::from_millis(2500)), Some(0));
    }
}
