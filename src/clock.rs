//! The daemon's one monotonic clock, injected into the loop, the pressure engine, the kill
//! pipeline, the reaper and the watchdog: real on devices, fake in tests.
//!
//! Every timing rule of the daemon (the `LMK_TARGET` rate limit, the kill-wait timeout, the
//! polling window and its cadence, the after-kill watch, the watchdog's timeout) reads time
//! from a [`Clock`], never from `Instant::now()` directly, so that a test can drive the loop
//! one round at a time with a [`Clock::fake`] and prove each rule without sleeping.
//!
//! Time is an [`Instant`]: a fake clock starts at the real time of its creation and moves only
//! when the test calls [`Clock::advance`]. Threads that wait for a time on the clock
//! ([`Clock::park_until`]) are woken by an advance, so the watchdog thread follows a fake clock
//! too.
//!
//! Two waits stay on real time on purpose, and live here so that nothing else needs
//! `Instant::now()`: [`spin_until`], the loop's sub-millisecond spin while a reaper delivers a
//! handed-over SIGKILL (a latency bound on real CPUs, not a timing rule), and the watchdog's
//! bounded attempt to take the process table lock.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::Thread;
use std::time::{Duration, Instant};

/// A monotonic clock: the real one, or a fake one moved by hand.
#[derive(Clone)]
pub struct Clock {
    epoch: Instant,
    fake: Option<Arc<Fake>>,
}

struct Fake {
    /// Nanoseconds since `epoch`.
    offset_ns: AtomicU64,
    /// Threads parked on this clock, woken on every advance.
    waiters: Mutex<Vec<Thread>>,
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.fake {
            None => f.write_str("Clock::real"),
            Some(k) => write!(f, "Clock::fake(+{} ns)", k.offset_ns.load(Ordering::SeqCst)),
        }
    }
}

impl Clock {
    /// The system's monotonic clock.
    pub fn real() -> Clock {
        Clock { epoch: Instant::now(), fake: None }
    }

    /// A clock that stands still until [`Clock::advance`] moves it.
    pub fn fake() -> Clock {
        Clock {
            epoch: Instant::now(),
            fake: Some(Arc::new(Fake {
                offset_ns: AtomicU64::new(0),
                waiters: Mutex::new(Vec::new()),
            })),
        }
    }

    /// Whether this is a fake clock.
    pub fn is_fake(&self) -> bool {
        self.fake.is_some()
    }

    /// Now.
    #[inline]
    pub fn now(&self) -> Instant {
        match &self.fake {
            None => Instant::now(),
            Some(k) => self.epoch + Duration::from_nanos(k.offset_ns.load(Ordering::SeqCst)),
        }
    }

    /// Milliseconds from the clock's start to `t` (0 for earlier times).
    pub fn ms_at(&self, t: Instant) -> u64 {
        u64::try_from(t.saturating_duration_since(self.epoch).as_millis()).unwrap_or(u64::MAX)
    }

    /// Milliseconds since the clock started (the daemon's uptime).
    pub fn now_ms(&self) -> u64 {
        self.ms_at(self.now())
    }

    /// The instant `ms` milliseconds after the clock's start.
    pub fn at_ms(&self, ms: u64) -> Instant {
        self.epoch + Duration::from_millis(ms)
    }

    /// Moves a fake clock forward by `d` and wakes the threads parked on it. On the real
    /// clock this does nothing (time moves by itself).
    pub fn advance(&self, d: Duration) {
        let Some(k) = &self.fake else { return };
        let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        k.offset_ns.fetch_add(ns, Ordering::SeqCst);
        for t in k.waiters.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            t.unpark();
        }
    }

    /// Waits for `d`: sleeps on the real clock, advances a fake one (a test's "the loop was
    /// busy this long").
    pub fn sleep(&self, d: Duration) {
        if self.is_fake() {
            self.advance(d);
        } else {
            std::thread::sleep(d);
        }
    }

    /// Parks the calling thread until `deadline` on this clock, or until it is unparked
    /// (callers re-check their condition: a wake-up may come early). On a fake clock the
    /// thread sleeps until the clock is advanced past nothing in particular: every advance
    /// wakes it, and it checks the time again.
    pub fn park_until(&self, deadline: Instant) {
        match &self.fake {
            None => {
                let now = Instant::now();
                if deadline > now {
                    std::thread::park_timeout(deadline - now);
                }
            }
            Some(k) => {
                {
                    let mut w = k.waiters.lock().unwrap_or_else(|e| e.into_inner());
                    let me = std::thread::current();
                    if !w.iter().any(|t| t.id() == me.id()) {
                        w.push(me);
                    }
                }
                if self.now() < deadline {
                    std::thread::park();
                }
            }
        }
    }
}

/// Spins (without sleeping) until `done` returns true or `budget` of real time has passed;
/// returns whether `done` did. For sub-millisecond hand-overs between threads, where the bound
/// is about real CPUs, not about a timing rule of the daemon.
pub fn spin_until(budget: Duration, mut done: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + budget;
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        std::hint::spin_loop();
    }
}

/// Tries `attempt` every millisecond until it gives a value or `budget` of real time has
/// passed (the watchdog's bounded wait for the process table, which must not depend on a
/// clock that a stuck loop may be the one to advance).
pub fn retry_for<T>(budget: Duration, mut attempt: impl FnMut() -> Option<T>) -> Option<T> {
    let end = Instant::now() + budget;
    loop {
        if let Some(v) = attempt() {
            return Some(v);
        }
        if Instant::now() >= end {
            return None;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fake_clock_moves_only_when_advanced() {
        let c = Clock::fake();
        let t0 = c.now();
        assert_eq!(c.now(), t0);
        assert_eq!(c.now_ms(), 0);
        c.advance(Duration::from_millis(1500));
        assert_eq!(c.now() - t0, Duration::from_millis(1500));
        assert_eq!(c.now_ms(), 1500);
        assert_eq!(c.at_ms(1500), c.now());
        c.sleep(Duration::from_millis(500));
        assert_eq!(c.now_ms(), 2000, "sleeping on a fake clock advances it");
        let clone = c.clone();
        clone.advance(Duration::from_millis(1));
        assert_eq!(c.now_ms(), 2001, "clones share the time");
    }

    #[test]
    fn an_advance_wakes_a_thread_parked_on_the_fake_clock() {
        let c = Clock::fake();
        let deadline = c.now() + Duration::from_secs(2);
        let parked = c.clone();
        let h = std::thread::spawn(move || {
            while parked.now() < deadline {
                parked.park_until(deadline);
            }
            parked.now_ms()
        });
        // Advance in steps until the thread has seen the deadline; each advance unparks it.
        // (The test waits for an outcome: the thread's exit, bounded by the join.)
        c.advance(Duration::from_secs(1));
        c.advance(Duration::from_secs(1));
        assert_eq!(h.join().unwrap(), 2000);
    }

    #[test]
    fn spins_and_retries_are_bounded() {
        assert!(spin_until(Duration::ZERO, || true));
        assert!(!spin_until(Duration::from_micros(10), || false));
        assert_eq!(retry_for(Duration::ZERO, || Some(3)), Some(3));
        assert_eq!(retry_for::<()>(Duration::from_millis(2), || None), None);
    }
}
