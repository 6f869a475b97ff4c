//! The watchdog (AOSP's, reference §5.5): when one round of the event loop runs longer than
//! [`WATCHDOG_TIMEOUT`], a separate thread logs `lmkd watchdog timed out!` and kills one
//! registered process — the least recently used at the highest adj, never below adj 0 — so that
//! a stuck daemon cannot leave the device without memory; it fires again every timeout while
//! the round stays stuck. The main thread reports the kill (`LMK_PROCKILL`, the kill history)
//! and drops the record when it gets going again.
//!
//! Differences from AOSP, all deliberate: the watchdog reaps its victim with
//! `process_mrelease` where the kernel has it (AOSP only signals, so the memory came back at the
//! victim's own pace while lmkd was stuck); it writes the kill's Perfetto event (reason and max
//! thrashing −1, min adj 0) from its own thread at the kill, where AOSP's watchdog writes none;
//! and it costs nothing while the daemon is idle. AOSP
//! arms and disarms a POSIX timer around every handler (two system calls each); here the loop
//! stores the start of its round in an atomic, and the watchdog thread sleeps until the round
//! could have timed out. Once it finds the loop idle it parks for good, and the loop wakes it
//! only at the start of the next round after that (at most one wake-up per timeout period
//! while busy, none while idle).
//!
//! The watchdog reads the process table through the lock it shares with the main thread. The
//! main thread holds that lock only for short table operations, never across the slow `/proc`
//! reads of a victim (`procs::VictimRef`), so the watchdog gets it even when the loop is stuck
//! in the kernel. If it cannot get it within [`LOCK_WAIT`], it says so and kills nothing.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, TryLockError};
use std::thread::{JoinHandle, Thread};
use std::time::{Duration, Instant};

use crate::clock::{self, Clock};

use log::{error, warn};
use rustix::event::{eventfd, EventfdFlags};

use crate::procs::{RecordId, Registry};
use crate::sys;

/// How long one round of the loop may take (AOSP's 2 s).
pub const WATCHDOG_TIMEOUT: Duration = Duration::from_secs(2);

/// How long the watchdog tries for the process table before giving up on a firing.
pub const LOCK_WAIT: Duration = Duration::from_millis(200);

/// Kill notes kept for the main thread; beyond this the oldest are only counted.
const MAX_NOTES: usize = 64;

/// A kill the watchdog made, for the main thread to report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WatchdogKill {
    /// The record (the main thread drops it).
    pub id: RecordId,
    /// The process.
    pub pid: i32,
    /// Its uid.
    pub uid: i32,
    /// Its adj.
    pub adj: i32,
    /// `process_mrelease` succeeded (or the victim was already gone).
    pub reaped: bool,
    /// How long the loop had been stuck when it fired.
    pub stuck_for: Duration,
}

struct Shared {
    /// Start of the loop's current round, in ns since `epoch`, plus 1; 0 between rounds.
    busy_since: AtomicU64,
    fires: AtomicU64,
    parked: AtomicBool,
    stop: AtomicBool,
    /// The latest time on the clock the thread has checked the round against, in ns since
    /// `epoch`, plus 1 (0: none yet).
    seen: AtomicU64,
    clock: Clock,
    epoch: Instant,
    timeout: Duration,
    registry: Arc<Mutex<Registry>>,
    notes: Mutex<(Vec<WatchdogKill>, u64)>,
    wake: OwnedFd,
    reap: bool,
}

/// The watchdog thread and the loop's side of it.
pub struct Watchdog {
    shared: Arc<Shared>,
    thread: Thread,
    handle: Option<JoinHandle<()>>,
}

impl Watchdog {
    /// Starts the thread (`lmkd_watchdog`), timing rounds on `clock`. `reap`: call
    /// `process_mrelease` after a kill.
    pub fn start(
        registry: Arc<Mutex<Registry>>,
        timeout: Duration,
        reap: bool,
        clock: Clock,
    ) -> io::Result<Watchdog> {
        let shared = Arc::new(Shared {
            busy_since: AtomicU64::new(0),
            fires: AtomicU64::new(0),
            parked: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            seen: AtomicU64::new(0),
            epoch: clock.now(),
            clock,
            timeout,
            registry,
            notes: Mutex::new((Vec::with_capacity(MAX_NOTES), 0)),
            wake: eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)?,
            reap,
        });
        let s = Arc::clone(&shared);
        let handle =
            std::thread::Builder::new().name("lmkd_watchdog".into()).spawn(move || run(&s))?;
        let thread = handle.thread().clone();
        Ok(Watchdog { shared, thread, handle: Some(handle) })
    }

    /// The eventfd that becomes readable when the watchdog has killed.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.shared.wake.as_fd()
    }

    /// How many times it has fired.
    pub fn fired(&self) -> u64 {
        self.shared.fires.load(Ordering::SeqCst)
    }

    /// The loop starts a round at `now`. No system call unless the watchdog thread is parked.
    #[inline]
    pub fn arm(&self, now: Instant) {
        self.shared.busy_since.store(self.ns(now) + 1, Ordering::SeqCst);
        if self.shared.parked.load(Ordering::SeqCst) {
            self.thread.unpark();
        }
    }

    /// Waits (up to `budget` of real time) until the thread has checked the current round
    /// against time `t` or later: after a fake clock was advanced within a round, the test knows
    /// the watchdog has seen it, fired or not. `false` if it did not in time.
    pub fn wait_seen(&self, t: Instant, budget: Duration) -> bool {
        let want = self.ns(t) + 1;
        clock::retry_for(budget, || (self.shared.seen.load(Ordering::SeqCst) >= want).then_some(()))
            .is_some()
    }

    fn ns(&self, t: Instant) -> u64 {
        u64::try_from(t.saturating_duration_since(self.shared.epoch).as_nanos())
            .unwrap_or(u64::MAX - 1)
    }

    /// The round is over.
    #[inline]
    pub fn disarm(&self) {
        self.shared.busy_since.store(0, Ordering::Release);
    }

    /// Moves the kills made since the last call into `out`; returns how many notes were lost
    /// because the loop did not collect them in time.
    pub fn take_kills(&self, out: &mut Vec<WatchdogKill>) -> u64 {
        let mut b = [0u8; 8];
        let _ = rustix::io::read(&self.shared.wake, &mut b);
        let mut n = self.shared.notes.lock().unwrap_or_else(|e| e.into_inner());
        out.append(&mut n.0);
        std::mem::take(&mut n.1)
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.thread.unpark();
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

fn run(s: &Shared) {
    // Close to the main thread's urgency without being real-time: it must get a CPU when the
    // loop is stuck, but it never competes with the loop when all is well.
    let _ = sys::setpriority(0, -20);
    #[cfg(aosp_build)]
    {
        let _ = sys::android::cpuset_policy(0, sys::android::sched_policy::SP_FOREGROUND);
    }
    // (round start, when it last fired for that round)
    let mut fired: Option<(u64, Instant)> = None;
    while !s.stop.load(Ordering::SeqCst) {
        let since = s.busy_since.load(Ordering::SeqCst);
        if since == 0 {
            s.parked.store(true, Ordering::SeqCst);
            // Re-checked after announcing the park, so a round that started meanwhile is not
            // missed: either the loop sees `parked` and unparks, or this sees the round.
            if s.busy_since.load(Ordering::SeqCst) == 0 && !s.stop.load(Ordering::SeqCst) {
                std::thread::park();
            }
            s.parked.store(false, Ordering::SeqCst);
            fired = None;
            continue;
        }
        let started = s.epoch + Duration::from_nanos(since - 1);
        let due = match fired {
            Some((round, at)) if round == since => at + s.timeout,
            _ => started + s.timeout,
        };
        let now = s.clock.now();
        let now_ns = u64::try_from(now.saturating_duration_since(s.epoch).as_nanos())
            .unwrap_or(u64::MAX - 1);
        if now < due {
            s.seen.fetch_max(now_ns + 1, Ordering::SeqCst);
            s.clock.park_until(due);
            continue;
        }
        // Still the same round after the timeout?
        if s.busy_since.load(Ordering::SeqCst) != since {
            continue;
        }
        fire(s, now.saturating_duration_since(started));
        fired = Some((since, now));
        s.seen.fetch_max(now_ns + 1, Ordering::SeqCst);
    }
}

fn fire(s: &Shared, stuck_for: Duration) {
    error!("lmkd watchdog timed out!");
    s.fires.fetch_add(1, Ordering::SeqCst);
    let locked = clock::retry_for(LOCK_WAIT, || match s.registry.try_lock() {
        Ok(g) => Some(g),
        Err(TryLockError::Poisoned(p)) => Some(p.into_inner()),
        Err(TryLockError::WouldBlock) => None,
    });
    let Some(mut reg) = locked else {
        error!("lmkd watchdog: the process table stayed locked; nothing killed");
        return;
    };
    // From the highest adj down to 0, least recently used first (AOSP's order).
    for adj in (0..=crate::procs::OOM_SCORE_ADJ_MAX).rev() {
        let mut next = reg.lru_tail(adj);
        while let Some(id) = next {
            next = reg.newer(id);
            let Some(rec) = reg.get_mut(id) else { continue };
            if rec.watchdog_killed {
                continue;
            }
            let Some(pidfd) = rec.pidfd.as_ref() else { continue };
            // An exited process (a zombie accepts signals) would waste the firing.
            if sys::pidfd_is_dead(pidfd).unwrap_or(true)
                || sys::pidfd_send_signal(pidfd.as_fd(), libc::SIGKILL).is_err()
            {
                continue;
            }
            rec.watchdog_killed = true;
            let (pid, uid) = (rec.pid, rec.uid);
            let dup = if s.reap { rustix::io::fcntl_dupfd_cloexec(pidfd, 0).ok() } else { None };
            reg.count_kill(adj);
            drop(reg);
            // The Perfetto kill event, at the kill (AOSP's watchdog writes none): no decision
            // information, and the watchdog's floor, adj 0, as the lowest adj allowed.
            sys::trace_marker::trace_kill(&sys::trace_marker::KillEvent {
                pid,
                reason: -1,
                adj,
                min_adj: 0,
                max_thrashing: -1,
            });
            error!("lmkd watchdog killed process {pid}, oom_score_adj {adj}");
            let reaped = dup.is_some_and(|fd| match mrelease(fd.as_fd()) {
                Ok(()) => true,
                Err(e) => e.raw_os_error() == Some(libc::ESRCH),
            });
            note(s, WatchdogKill { id, pid, uid, adj, reaped, stuck_for });
            return;
        }
    }
    warn!("lmkd watchdog: no registered process with adj >= 0 to kill");
}

fn mrelease(fd: BorrowedFd<'_>) -> io::Result<()> {
    match crate::fault::check(crate::fault::Site::Mrelease, "reap") {
        Some(f) => f.error().map_or(Ok(()), Err),
        None => sys::process_mrelease(fd, 0),
    }
}

fn note(s: &Shared, k: WatchdogKill) {
    {
        let mut n = s.notes.lock().unwrap_or_else(|e| e.into_inner());
        if n.0.len() == MAX_NOTES {
            n.0.remove(0);
            n.1 += 1;
        }
        n.0.push(k);
    }
    let _ = rustix::io::write(&s.wake, &1u64.to_ne_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::procs::Record;
    use std::process::{Command, Stdio};

    fn registry_with(children: &[(i32, i32)]) -> Arc<Mutex<Registry>> {
        let mut reg = Registry::new();
        for &(pid, adj) in children {
            let mut r = Record::new(pid, 10_000, adj, 0, 1);
            r.pidfd = Some(sys::pidfd_open(pid).unwrap());
            reg.insert(r);
        }
        Arc::new(Mutex::new(reg))
    }

    fn sleeper() -> std::process::Child {
        Command::new("sleep").arg("30").stdout(Stdio::null()).spawn().unwrap()
    }

    /// Real time the tests give the watchdog thread to look at a moved fake clock.
    const SEEN: Duration = Duration::from_secs(10);

    /// A round that outlives the timeout gets the highest-adj process killed, and only that
    /// one, at the timeout and not a nanosecond before; it fires again every timeout while the
    /// round stays stuck; the notes reach the loop's side; an idle loop makes the thread park.
    #[test]
    fn a_stuck_round_kills_the_highest_adj_process_at_the_timeout() {
        let mut low = sleeper();
        let mut high = sleeper();
        let mut next = sleeper();
        let reg = registry_with(&[
            (low.id() as i32, 0),
            (high.id() as i32, 900),
            (next.id() as i32, 800),
        ]);
        let clock = Clock::fake();
        let w = Watchdog::start(Arc::clone(&reg), WATCHDOG_TIMEOUT, false, clock.clone()).unwrap();
        w.arm(clock.now());
        clock.advance(WATCHDOG_TIMEOUT - Duration::from_nanos(1));
        assert!(w.wait_seen(clock.now(), SEEN));
        assert_eq!(w.fired(), 0, "not before the timeout");
        clock.advance(Duration::from_nanos(1));
        assert!(w.wait_seen(clock.now(), SEEN));
        assert_eq!(w.fired(), 1, "at the timeout");
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(high.wait().unwrap().signal(), Some(libc::SIGKILL));
        assert!(next.try_wait().unwrap().is_none(), "one kill per firing");
        // Still stuck: the next firing is one timeout after the last.
        clock.advance(WATCHDOG_TIMEOUT - Duration::from_millis(1));
        assert!(w.wait_seen(clock.now(), SEEN));
        assert_eq!(w.fired(), 1);
        clock.advance(Duration::from_millis(1));
        assert!(w.wait_seen(clock.now(), SEEN));
        assert_eq!(w.fired(), 2);
        assert_eq!(next.wait().unwrap().signal(), Some(libc::SIGKILL));
        w.disarm();
        let mut kills = Vec::new();
        w.take_kills(&mut kills);
        let got: Vec<(i32, i32)> = kills.iter().map(|k| (k.pid, k.adj)).collect();
        assert_eq!(got, [(high.id() as i32, 900), (next.id() as i32, 800)]);
        assert_eq!(kills[0].stuck_for, WATCHDOG_TIMEOUT);
        assert_eq!(kills[1].stuck_for, WATCHDOG_TIMEOUT * 2);
        assert_eq!(reg.lock().unwrap().kill_count(800, 900), 2);
        // The adj 0 process lives on, and the thread parks once the loop is idle.
        assert!(low.try_wait().unwrap().is_none());
        clock.advance(Duration::from_millis(1));
        assert!(clock::retry_for(SEEN, || w.shared.parked.load(Ordering::SeqCst).then_some(()))
            .is_some());
        let _ = low.kill();
        let _ = low.wait();
    }

    /// Nothing below adj 0 is ever killed, however long the round stays stuck.
    #[test]
    fn never_below_adj_zero() {
        let mut neg = sleeper();
        // Filed at -100 without writing oom_score_adj (the table is all the watchdog reads).
        let reg = registry_with(&[(neg.id() as i32, -100)]);
        let clock = Clock::fake();
        let w = Watchdog::start(Arc::clone(&reg), WATCHDOG_TIMEOUT, false, clock.clone()).unwrap();
        w.arm(clock.now());
        for _ in 0..3 {
            clock.advance(WATCHDOG_TIMEOUT);
            assert!(w.wait_seen(clock.now(), SEEN));
        }
        w.disarm();
        assert_eq!(w.fired(), 3);
        assert!(neg.try_wait().unwrap().is_none(), "adj -100 must survive");
        let mut kills = Vec::new();
        w.take_kills(&mut kills);
        assert!(kills.is_empty());
        let _ = neg.kill();
        let _ = neg.wait();
    }

    /// Rounds shorter than the timeout never fire, however many there are.
    #[test]
    fn short_rounds_do_not_fire() {
        let mut c = sleeper();
        let reg = registry_with(&[(c.id() as i32, 900)]);
        let clock = Clock::fake();
        let w = Watchdog::start(Arc::clone(&reg), WATCHDOG_TIMEOUT, false, clock.clone()).unwrap();
        for _ in 0..20 {
            w.arm(clock.now());
            clock.advance(WATCHDOG_TIMEOUT / 2);
            assert!(w.wait_seen(clock.now(), SEEN));
            w.disarm();
            clock.advance(WATCHDOG_TIMEOUT);
        }
        assert_eq!(w.fired(), 0);
        assert!(c.try_wait().unwrap().is_none());
        let _ = c.kill();
        let _ = c.wait();
    }
}
