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

#[cfg(test)]
mod tests {
    use super::*;

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
