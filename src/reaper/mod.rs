//! The reaper: a pool of worker threads that bring a killed process's memory back at once.
//!
//! A worker does AOSP's steps for each victim (reference §6), in the order that gives memory
//! back soonest: SIGKILL through the victim's pidfd, then the rest of its process group where
//! the group is the victim's own ([`group`]: `cgroup.kill`, AOSP's 2025 reaper), and in the same
//! breath `process_mrelease`, which unmaps the victim's private anonymous memory in the worker's own
//! context — on the CPUs and at the priority chosen here, whatever state the victim is in
//! (frozen, starved, in uninterruptible sleep) — and then the boost that lets what is left of
//! the dying process exit quickly (every thread to `SCHED_OTHER` at nice 0; AOSP boosts before
//! reaping, which gives a running victim time to start its own, slower, teardown first).
//! Signal and reap back to back matter: a victim signalled earlier starts exiting on its own
//! within tens of microseconds, and once it has left its address space `process_mrelease` can
//! only find `ESRCH` while the victim frees its memory at its own (possibly starved) pace.
//!
//! So that handing a kill over costs no latency, workers wait at `SCHED_FIFO` priority 2 (above
//! the main thread's 1) and send the signal at that priority, dropping to `SCHED_OTHER` at
//! `ro.lmk.reaper_nice` before reaping; the reaping never runs real-time. The loop spins for at
//! most [`HANDOFF_BUDGET`] until the worker has signalled, and sends SIGKILL itself when it has
//! not (a second SIGKILL is harmless): the kill's latency is bounded by the loop's own work plus
//! that budget, whatever the scheduler does with the worker. AOSP's workers wait
//! `SCHED_OTHER` and the loop does not wait: measured here that put up to 1.6 ms (p99) between
//! the decision and the signal.
//!
//! `ESRCH` (a victim that left its address space first: the worker then waits, bounded, for its
//! exit to finish, so that a report always means "the memory is back") and `EINVAL` are normal
//! races and only counted; `EAGAIN` is retried a bounded number of times. The worker reports
//! twice through a queue and an eventfd the event loop watches: once the signal is sent (so a
//! requester learns whether the kill happened) and once reaping is done; the loop never waits
//! for a worker. When no worker is idle, the main thread sends SIGKILL itself and the reap waits
//! in a bounded queue (newest first, as AOSP's pool); when even that is full the victim is
//! killed but not reaped. A kill-and-reap flag of `process_mrelease`, if the kernel ever offers
//! one, is probed at start-up and then used instead of the separate signal.
//!
//! Workers are named `lmkd_reaper<N>`, run `SCHED_OTHER` at `ro.lmk.reaper_nice`, and are
//! pinned to [`placement::Placement`]'s CPUs.

pub mod group;
pub mod placement;
pub mod watchdog;

use std::collections::VecDeque;
use std::fs;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use log::{info, warn};
use rustix::event::{eventfd, poll, EventfdFlags, PollFd, PollFlags, Timespec};

use crate::clock::{self, Clock};
use crate::memory::FreeMemory;
use crate::sys;
use group::{GroupKill, Resolution};
use placement::Placement;

/// How long a worker waits for a victim that won the race to its own exit (`ESRCH`) to
/// finish it, so that its report still means "the memory is back".
const EXIT_WAIT: Timespec = Timespec { tv_sec: 0, tv_nsec: 500_000_000 };

/// How long the loop waits for a worker to deliver a handed-over SIGKILL before sending it
/// itself (the worker's wake-up is tens of µs in the median, but its tail reached 1.5 ms).
pub const HANDOFF_BUDGET: Duration = Duration::from_micros(150);

/// The `SCHED_FIFO` priority a worker waits at (above the main thread's 1, so that a kill handed
/// over preempts the loop's bookkeeping).
pub const WAIT_PRIORITY: i32 = 2;

/// How many times `process_mrelease` is retried after `EAGAIN` or `EINTR`.
pub const MRELEASE_RETRIES: u32 = 3;
/// Jobs that may wait per worker when every worker is busy.
pub const QUEUE_PER_WORKER: usize = 4;

/// What reaping a victim came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReapOutcome {
    /// `process_mrelease` succeeded: the memory is back.
    Reaped,
    /// `ESRCH`: the victim had already left its address space (a normal race).
    AlreadyExited,
    /// `EINVAL`: not dying yet, or its mm is shared with a live process (a normal race).
    NotDying,
    /// Another error, or `EAGAIN` after every retry.
    Failed(i32),
    /// SIGKILL through the pidfd failed (the worker sent it: kill-and-reap flag).
    KillFailed(i32),
    /// Not reaped: no reaper (kernel without `process_mrelease`, or 0 threads) or queue full.
    NotReaped,
}

impl ReapOutcome {
    /// A short name for logs and reports.
    pub fn as_str(&self) -> &'static str {
        match self {
            ReapOutcome::Reaped => "reaped",
            ReapOutcome::AlreadyExited => "exited-first",
            ReapOutcome::NotDying => "not-dying",
            ReapOutcome::Failed(_) => "failed",
            ReapOutcome::KillFailed(_) => "kill-failed",
            ReapOutcome::NotReaped => "not-reaped",
        }
    }

    /// A stable number for the wire (`LMK_EXT_KILL_HISTORY`).
    pub fn code(&self) -> (i32, i32) {
        match *self {
            ReapOutcome::Reaped => (1, 0),
            ReapOutcome::AlreadyExited => (2, libc::ESRCH),
            ReapOutcome::NotDying => (3, libc::EINVAL),
            ReapOutcome::Failed(e) => (4, e),
            ReapOutcome::KillFailed(e) => (5, e),
            ReapOutcome::NotReaped => (6, 0),
        }
    }

    /// The inverse of [`ReapOutcome::code`]; `None` for "pending" (0) and unknown codes.
    pub fn from_code(code: i32, errno: i32) -> Option<ReapOutcome> {
        Some(match code {
            1 => ReapOutcome::Reaped,
            2 => ReapOutcome::AlreadyExited,
            3 => ReapOutcome::NotDying,
            4 => ReapOutcome::Failed(errno),
            5 => ReapOutcome::KillFailed(errno),
            6 => ReapOutcome::NotReaped,
            _ => return None,
        })
    }
}

/// A victim for a worker.
#[derive(Debug)]
pub struct ReapJob {
    /// The kill's sequence number (links the results to its report).
    pub seq: u64,
    /// The victim's pid (for logs and the priority boost).
    pub pid: i32,
    /// Its uid (Android's task profiles for the dying victim are set per uid and pid).
    pub uid: i32,
    /// A duplicate of the victim's pidfd, owned by the job.
    pub pidfd: OwnedFd,
    /// When the main thread already sent SIGKILL (no worker was idle); `None`: the worker
    /// sends it.
    pub signalled_at: Option<Instant>,
    /// The victim's process group, resolved before the kill: whoever sends the victim's
    /// SIGKILL kills the rest of the group right after (see [`group`]). A job whose signal the
    /// main thread sent carries [`Resolution::Alone`] here, the group being done already.
    pub group: Resolution,
}

/// What a worker reports back.
#[derive(Clone, Copy, Debug)]
pub enum WorkerReport {
    /// SIGKILL was sent (`Ok`) or refused (`Err(errno)`; then nothing is reaped).
    Signalled {
        /// The kill's sequence number.
        seq: u64,
        /// The victim's pid.
        pid: i32,
        /// The signal's result.
        result: Result<(), i32>,
        /// When it was sent.
        at: Instant,
        /// How the victim's process group was killed.
        group: GroupKill,
    },
    /// Reaping finished.
    Reaped(ReapResult),
}

/// The end of one reap.
#[derive(Clone, Copy, Debug)]
pub struct ReapResult {
    /// The kill's sequence number.
    pub seq: u64,
    /// The victim's pid.
    pub pid: i32,
    /// The outcome.
    pub outcome: ReapOutcome,
    /// From SIGKILL until `process_mrelease` returned.
    pub kill_to_reaped: Duration,
    /// The CPU the worker ran on when it finished.
    pub cpu: i32,
    /// Free memory right after the reap, in kB.
    pub free_after_kb: Option<i64>,
}

/// Reaper settings (from `ro.lmk.reaper_*`).
#[derive(Clone, Debug)]
pub struct ReaperConfig {
    /// Number of workers (0: no reaping).
    pub threads: usize,
    /// Where they run.
    pub placement: Placement,
    /// Their nice value.
    pub nice: i32,
}

struct Queue {
    jobs: VecDeque<ReapJob>,
    busy: usize,
    shutdown: bool,
}

struct Shared {
    queue: Mutex<Queue>,
    wake: Condvar,
    results: Mutex<Vec<WorkerReport>>,
    done: OwnedFd,
    free: Arc<dyn FreeMemory>,
    clock: Clock,
    reap_kill_flag: bool,
    reaped: AtomicU64,
    races: AtomicU64,
    failures: AtomicU64,
    /// `signalled[seq % SIGNAL_SLOTS] == seq` once a worker delivered kill `seq`'s SIGKILL.
    signalled: [AtomicU64; SIGNAL_SLOTS],
}

/// Slots of the signal handshake between the loop and the workers.
const SIGNAL_SLOTS: usize = 64;

/// The handshake slot of kill `seq`.
fn signal_slot(seq: u64) -> usize {
    // The remainder is below SIGNAL_SLOTS, so it fits any usize.
    usize::try_from(seq % SIGNAL_SLOTS as u64).unwrap_or(0)
}

/// Counters of the pool's work.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReaperStats {
    /// Victims whose memory `process_mrelease` released.
    pub reaped: u64,
    /// `ESRCH`/`EINVAL` races.
    pub races: u64,
    /// Other failures.
    pub failures: u64,
}

/// The worker pool.
pub struct Reaper {
    shared: Arc<Shared>,
    workers: Vec<JoinHandle<()>>,
    config: ReaperConfig,
    support: sys::MreleaseSupport,
}

impl std::fmt::Debug for Reaper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reaper")
            .field("workers", &self.workers.len())
            .field("config", &self.config)
            .finish()
    }
}

impl Reaper {
    /// Probes the kernel and starts the workers. Without `process_mrelease` (or with 0 threads)
    /// no thread is started and every kill is a plain pidfd SIGKILL; that is logged once.
    pub fn start(
        config: ReaperConfig,
        free: Arc<dyn FreeMemory>,
        clock: Clock,
    ) -> io::Result<Reaper> {
        let support = sys::probe_mrelease();
        let done = eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)?;
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue {
                jobs: VecDeque::with_capacity(config.threads * QUEUE_PER_WORKER),
                busy: 0,
                shutdown: false,
            }),
            wake: Condvar::new(),
            results: Mutex::new(Vec::with_capacity(64)),
            done,
            free,
            clock,
            reap_kill_flag: support.reap_kill,
            reaped: AtomicU64::new(0),
            races: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            signalled: std::array::from_fn(|_| AtomicU64::new(0)),
        });
        let mut r = Reaper { shared, workers: Vec::new(), config, support };
        if !support.available {
            warn!("process_mrelease is not supported by the kernel; kills are not reaped");
            return Ok(r);
        }
        if support.reap_kill {
            info!(
                "process_mrelease accepts the kill-and-reap flag; reapers send SIGKILL themselves"
            );
        }
        for n in 0..r.config.threads {
            let shared = Arc::clone(&r.shared);
            let cfg = r.config.clone();
            match std::thread::Builder::new()
                .name(format!("lmkd_reaper{n}"))
                .stack_size(64 * 1024)
                .spawn(move || worker(shared, cfg))
            {
                Ok(h) => r.workers.push(h),
                Err(e) => warn!("failed to start reaper thread {n}: {e}"),
            }
        }
        if r.workers.is_empty() {
            warn!("no reaper threads; kills are not reaped");
        } else {
            info!("Process reaper initialized with {} threads in the pool", r.workers.len());
            match &r.config.placement {
                Placement::Unpinned(why) => info!("reaper threads are not pinned: {why}"),
                p => info!("reaper threads run on {p}"),
            }
        }
        Ok(r)
    }

    /// Number of worker threads running.
    pub fn threads(&self) -> usize {
        self.workers.len()
    }

    /// Whether kills are reaped at all.
    pub fn enabled(&self) -> bool {
        !self.workers.is_empty()
    }

    /// Whether the worker (not the main thread) sends SIGKILL, through the kill-and-reap flag.
    pub fn kills_in_worker(&self) -> bool {
        self.enabled() && self.shared.reap_kill_flag
    }

    /// The kernel support that was probed.
    pub fn support(&self) -> sys::MreleaseSupport {
        self.support
    }

    /// The configuration in force.
    pub fn config(&self) -> &ReaperConfig {
        &self.config
    }

    /// The pool's counters.
    pub fn stats(&self) -> ReaperStats {
        ReaperStats {
            reaped: self.shared.reaped.load(Ordering::Relaxed),
            races: self.shared.races.load(Ordering::Relaxed),
            failures: self.shared.failures.load(Ordering::Relaxed),
        }
    }

    /// The eventfd that becomes readable when results are waiting.
    pub fn done_fd(&self) -> BorrowedFd<'_> {
        self.shared.done.as_fd()
    }

    /// Free memory now, in kB, from the same source the workers use.
    pub fn free_kb(&self) -> Option<i64> {
        self.shared.free.free_kb()
    }

    /// Hands a victim that was not signalled yet to an idle worker, which sends SIGKILL and
    /// reaps at once (in one call with the kill-and-reap flag). `Err` gives the job back when no
    /// worker is idle (or there is no pool): the caller then sends SIGKILL itself and may
    /// [`Reaper::submit_reap`] it.
    pub fn submit_kill(&self, job: ReapJob) -> Result<(), ReapJob> {
        if !self.enabled() {
            return Err(job);
        }
        let mut q = self.shared.queue.lock().unwrap_or_else(|e| e.into_inner());
        if q.busy >= self.workers.len() {
            return Err(job);
        }
        q.jobs.push_back(job);
        q.busy += 1;
        drop(q);
        self.shared.wake.notify_one();
        Ok(())
    }

    /// Spins up to `budget` for a worker to deliver the SIGKILL of kill `seq` (handed over with
    /// [`Reaper::submit_kill`]); `false` when it did not (the caller then sends it itself).
    pub fn wait_signalled(&self, seq: u64, budget: Duration) -> bool {
        let slot = &self.shared.signalled[signal_slot(seq)];
        clock::spin_until(budget, || slot.load(Ordering::Acquire) == seq)
    }

    /// Queues a victim that was already sent SIGKILL, to be reaped when a worker is free.
    /// `Err` when there is no pool or the queue is full (the victim is then not reaped).
    pub fn submit_reap(&self, job: ReapJob) -> Result<(), ReapJob> {
        if !self.enabled() || job.signalled_at.is_none() {
            return Err(job);
        }
        let mut q = self.shared.queue.lock().unwrap_or_else(|e| e.into_inner());
        if q.jobs.len() >= self.workers.len() * QUEUE_PER_WORKER {
            return Err(job);
        }
        q.jobs.push_back(job);
        q.busy += 1;
        drop(q);
        self.shared.wake.notify_one();
        Ok(())
    }

    /// Moves finished reports into `out` (the eventfd is cleared).
    pub fn take_reports(&self, out: &mut Vec<WorkerReport>) {
        let mut buf = [0u8; 8];
        let _ = rustix::io::read(&self.shared.done, &mut buf);
        let mut r = self.shared.results.lock().unwrap_or_else(|e| e.into_inner());
        out.append(&mut r);
    }
}

impl Drop for Reaper {
    fn drop(&mut self) {
        self.shared.queue.lock().unwrap_or_else(|e| e.into_inner()).shutdown = true;
        self.shared.wake.notify_all();
        for h in self.workers.drain(..) {
            let _ = h.join();
        }
    }
}

fn worker(shared: Arc<Shared>, cfg: ReaperConfig) {
    // Waiting real-time makes a handed-over kill wake the worker within microseconds, even on a
    // loaded machine; the reaping itself runs SCHED_OTHER at `reaper_nice` (below). A daemon
    // without CAP_SYS_NICE waits SCHED_OTHER, and says so.
    let rt_wait = match sys::sched_setscheduler(0, sys::SCHED_FIFO, WAIT_PRIORITY) {
        Ok(()) => true,
        Err(e) => {
            warn!("reaper: cannot wait at SCHED_FIFO ({e}); kills handed over may wait to be scheduled");
            let _ = sys::sched_setscheduler(0, sys::SCHED_OTHER, 0);
            false
        }
    };
    if let Err(e) = sys::setpriority(0, cfg.nice) {
        warn!("reaper: cannot set nice {}: {e}", cfg.nice);
    }
    if let Placement::Pinned { cpus, .. } = &cfg.placement {
        let mut set = rustix::thread::CpuSet::new();
        for &c in cpus {
            set.set(c);
        }
        if let Err(e) = rustix::thread::sched_setaffinity(None, &set) {
            warn!("reaper: cannot pin to {}: {e}", placement::format_cpulist(cpus));
        }
    }
    // On Android without an explicit cpulist the platform's task profiles place the reapers:
    // the background cpuset is the little cores on big.LITTLE devices.
    #[cfg(aosp_build)]
    if matches!(cfg.placement, Placement::Unpinned(_)) {
        if let Err(e) = sys::android::cpuset_policy(0, sys::android::sched_policy::SP_BACKGROUND) {
            warn!("reaper: cannot join the background cpuset: {e}");
        }
    }
    loop {
        if rt_wait {
            let _ = sys::sched_setscheduler(0, sys::SCHED_FIFO, WAIT_PRIORITY);
        }
        let job = {
            let mut q = shared.queue.lock().unwrap_or_else(|e| e.into_inner());
            loop {
                if q.shutdown {
                    return;
                }
                // Newest first, as AOSP's pool: the latest victim matters most for the
                // pressure right now.
                if let Some(j) = q.jobs.pop_back() {
                    break j;
                }
                q = shared.wake.wait(q).unwrap_or_else(|e| e.into_inner());
            }
        };
        let result = reap(&shared, job);
        match result.outcome {
            ReapOutcome::Reaped => shared.reaped.fetch_add(1, Ordering::Relaxed),
            ReapOutcome::AlreadyExited | ReapOutcome::NotDying => {
                shared.races.fetch_add(1, Ordering::Relaxed)
            }
            ReapOutcome::KillFailed(_) => 0,
            _ => shared.failures.fetch_add(1, Ordering::Relaxed),
        };
        report(&shared, WorkerReport::Reaped(result));
        shared.queue.lock().unwrap_or_else(|e| e.into_inner()).busy -= 1;
    }
}

fn report(shared: &Shared, r: WorkerReport) {
    shared.results.lock().unwrap_or_else(|e| e.into_inner()).push(r);
    let _ = rustix::io::write(&shared.done, &1u64.to_ne_bytes());
}

fn reap(shared: &Shared, job: ReapJob) -> ReapResult {
    // Without a signal time the job came through `submit_kill`: the worker sends the signal,
    // through the kill-and-reap flag where the kernel has one (and the victim dies alone),
    // else right before the reap, followed by the rest of its process group.
    let mut flags = 0;
    let alone = matches!(job.group, Resolution::Alone(_));
    let signalled_at = match job.signalled_at {
        Some(t) => t,
        None if shared.reap_kill_flag && alone => {
            flags = sys::PROCESS_MRELEASE_REAP_KILL;
            shared.clock.now()
        }
        None => {
            let r = sys::pidfd_send_signal(job.pidfd.as_fd(), libc::SIGKILL);
            let at = shared.clock.now();
            if r.is_ok() {
                shared.signalled[signal_slot(job.seq)].store(job.seq, Ordering::Release);
            }
            let result = r.map_err(|e| e.raw_os_error().unwrap_or(0));
            // The victim first (its memory is what the reap below gives back), then its group;
            // also when the victim is already gone (the loop signalled it while this worker was
            // on its way), as the group was resolved while it lived.
            let group = match result {
                Ok(()) | Err(libc::ESRCH) => job.group.kill(job.pid),
                Err(_) => GroupKill::Unknown,
            };
            report(
                shared,
                WorkerReport::Signalled { seq: job.seq, pid: job.pid, result, at, group },
            );
            if let Err(errno) = result {
                return ReapResult {
                    seq: job.seq,
                    pid: job.pid,
                    outcome: ReapOutcome::KillFailed(errno),
                    kill_to_reaped: Duration::ZERO,
                    cpu: -1,
                    free_after_kb: None,
                };
            }
            at
        }
    };
    // The signal is out: the reaping itself never runs real-time (it can take 100 ms per GiB).
    let _ = sys::sched_setscheduler(0, sys::SCHED_OTHER, 0);
    let mut outcome = ReapOutcome::Failed(libc::EAGAIN);
    for _ in 0..=MRELEASE_RETRIES {
        let result = match crate::fault::check(crate::fault::Site::Mrelease, "reap") {
            Some(f) => f.error().map_or(Ok(()), Err),
            None => sys::process_mrelease(job.pidfd.as_fd(), flags),
        };
        outcome = match result {
            Ok(()) => ReapOutcome::Reaped,
            Err(e) => match e.raw_os_error().unwrap_or(0) {
                libc::ESRCH => ReapOutcome::AlreadyExited,
                libc::EINVAL => ReapOutcome::NotDying,
                libc::EAGAIN | libc::EINTR => {
                    rustix::thread::sched_yield();
                    continue;
                }
                e => ReapOutcome::Failed(e),
            },
        };
        break;
    }
    if outcome == ReapOutcome::AlreadyExited {
        // The victim left its address space first and is tearing it down itself (common for a
        // victim that was running on an idle CPU). Its memory is back when its exit is done,
        // which the pidfd tells; report then, so that "reaped" always means "memory is back".
        let mut fds = [PollFd::new(&job.pidfd, PollFlags::IN)];
        let _ = poll(&mut fds, Some(&EXIT_WAIT));
    }
    let kill_to_reaped = shared.clock.now().saturating_duration_since(signalled_at);
    if flags != 0 {
        // With the kill-and-reap flag the call itself sent the signal.
        let result = match outcome {
            ReapOutcome::Reaped | ReapOutcome::AlreadyExited => Ok(()),
            ReapOutcome::NotDying => Err(libc::EINVAL),
            ReapOutcome::Failed(e) | ReapOutcome::KillFailed(e) => Err(e),
            ReapOutcome::NotReaped => Ok(()),
        };
        let group = job.group.kill(job.pid);
        report(
            shared,
            WorkerReport::Signalled { seq: job.seq, pid: job.pid, result, at: signalled_at, group },
        );
    }
    // By pid number: only while the pidfd says the process has not exited, so that a number
    // already reused by another process is not touched.
    if !sys::pidfd_is_dead(&job.pidfd).unwrap_or(true) {
        boost(job.uid, job.pid);
    }
    ReapResult {
        seq: job.seq,
        pid: job.pid,
        outcome,
        kill_to_reaped,
        cpu: i32::try_from(rustix::thread::sched_getcpu()).unwrap_or(-1),
        free_after_kb: shared.free.free_kb(),
    }
}

/// Lets a dying process exit quickly: every thread back to `SCHED_OTHER` at nice 0. On Android
/// the process also gets AOSP's task profiles for a dying victim (`android_profiles`).
/// Threads that are gone are skipped.
pub fn boost(uid: i32, pid: i32) {
    #[cfg(aosp_build)]
    android_profiles::apply(uid, pid);
    #[cfg(not(aosp_build))]
    let _ = uid;
    let Ok(dir) = fs::read_dir(format!("/proc/{pid}/task")) else { return };
    for e in dir.flatten() {
        let Some(tid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        if matches!(sys::sched_getscheduler(tid), Ok(sys::SCHED_IDLE | sys::SCHED_BATCH)) {
            let _ = sys::sched_setscheduler(tid, sys::SCHED_OTHER, 0);
        }
        let _ = sys::setpriority(tid, 0);
    }
}

/// The task profiles AOSP gives a dying victim (Android only).
///
/// AOSP's 2025 lmkd applies `CPUSET_LMKD_REAP_TARGET` and `SCHED_LMKD_REAP_TARGET` (before:
/// `CPUSET_SP_FOREGROUND` and `SCHED_SP_FOREGROUND`) through libprocessgroup's C++
/// `SetTaskProfiles`/`SetProcessProfilesCached`. Rust can only call libprocessgroup's C entry
/// point, `android_set_process_profiles(uid, pid, n, names)` (the process-wide
/// `SetProcessProfiles`, without the descriptor cache): every thread of the victim moves, as
/// with AOSP's per-task calls, at the cost of opening the cgroup files on each kill. Which pair
/// a device has is decided once, from its `task_profiles.json` files; a device without the
/// 2025 profiles gets the foreground ones (said once), and when the call fails the old C
/// scheduling-policy calls (`set_cpuset_policy`/`set_sched_policy` with `SP_FOREGROUND`, per
/// thread) are the last resort.
#[cfg(aosp_build)]
pub mod android_profiles {
    use std::ffi::CStr;
    use std::sync::OnceLock;

    use crate::sys;

    /// AOSP's 2025 profiles for the dying victim.
    pub static REAP_TARGET: [&CStr; 2] = [c"CPUSET_LMKD_REAP_TARGET", c"SCHED_LMKD_REAP_TARGET"];
    /// The profiles before them (AOSP 767ae233), for devices without the 2025 ones.
    pub static FOREGROUND: [&CStr; 2] = [c"CPUSET_SP_FOREGROUND", c"SCHED_SP_FOREGROUND"];

    /// The files libprocessgroup reads its profiles from.
    const TASK_PROFILE_FILES: [&str; 2] =
        ["/system/etc/task_profiles.json", "/vendor/etc/task_profiles.json"];

    /// The pair this device has (decided once, logged once).
    pub fn chosen() -> &'static [&'static CStr; 2] {
        static CHOSEN: OnceLock<&'static [&'static CStr; 2]> = OnceLock::new();
        CHOSEN.get_or_init(|| {
            let texts: Vec<String> =
                TASK_PROFILE_FILES.iter().filter_map(|p| std::fs::read_to_string(p).ok()).collect();
            let has = |name: &CStr| {
                let quoted = format!("\"{}\"", name.to_string_lossy());
                texts.iter().any(|t| t.contains(&quoted))
            };
            if REAP_TARGET.iter().all(|n| has(n)) {
                log::info!("dying victims get the task profiles CPUSET_LMKD_REAP_TARGET, SCHED_LMKD_REAP_TARGET");
                &REAP_TARGET
            } else {
                log::info!("no CPUSET_LMKD_REAP_TARGET/SCHED_LMKD_REAP_TARGET task profiles; dying victims get CPUSET_SP_FOREGROUND, SCHED_SP_FOREGROUND");
                &FOREGROUND
            }
        })
    }

    /// Applies the chosen profiles to process `pid` of `uid`; falls back as the module says.
    pub fn apply(uid: i32, pid: i32) {
        let Ok(uid) = u32::try_from(uid) else { return };
        let pair = chosen();
        if sys::android::set_process_profiles(uid, pid, pair) {
            return;
        }
        if *pair != FOREGROUND && sys::android::set_process_profiles(uid, pid, &FOREGROUND) {
            return;
        }
        let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return };
        for e in dir.flatten() {
            if let Some(tid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) {
                let _ = sys::android::cpuset_policy(tid, sys::android::sched_policy::SP_FOREGROUND);
                let _ = sys::android::sched_group(tid, sys::android::sched_policy::SP_FOREGROUND);
            }
        }
    }
}
