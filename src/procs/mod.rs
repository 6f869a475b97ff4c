//! Registered processes: the [`Registry`] plus the `/proc` and pidfd work that registration,
//! priority updates and removal need.
//!
//! A registration (`LMK_PROCPRIO` for a new pid) costs what AOSP's costs: read `Tgid` from
//! `/proc/<pid>/status` (threads are refused), `pidfd_open`, write `oom_score_adj`. It also
//! opens `/proc/<pid>/oom_score_adj` once and keeps it, so that a steady-state priority update
//! costs one `write(2)` and no allocation: the kept descriptor is bound to the process, so a
//! write to a process that died fails with `ESRCH` rather than reaching a process that reused
//! the pid, and that failure doubles as the liveness check.
//!
//! Every pidfd is also watched by the event loop (through [`PidfdWatch`]): a registered process
//! that exits is dropped from the table at once, so the table never fills with the dead even
//! when a client forgets `LMK_PROCREMOVE` (AOSP keeps such records until a kill attempt finds
//! them gone).

pub mod procfs;
pub mod registry;

use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use log::{debug, error, warn};

pub use registry::{Record, RecordId, Registry, OOM_SCORE_ADJ_MAX, OOM_SCORE_ADJ_MIN};

use crate::protocol::{ProcPrio, PROC_TYPE_APP, PROC_TYPE_COUNT};
use crate::ratelimit::{limited, RateLimit};
use crate::sys;

/// AOSP's `PERCEPTIBLE_APP_ADJ`.
pub const PERCEPTIBLE_APP_ADJ: i32 = 200;
/// AOSP's `HOME_APP_ADJ`.
pub const HOME_APP_ADJ: i32 = 600;
/// AOSP's `PREVIOUS_APP_ADJ`.
pub const PREVIOUS_APP_ADJ: i32 = 700;
/// AOSP's `SYSTEM_ADJ` (system_server).
pub const SYSTEM_ADJ: i32 = -900;
/// `AID_SYSTEM`.
const AID_SYSTEM: i32 = 1000;

/// Where the table asks the event loop to watch or forget a registered process's pidfd.
pub trait PidfdWatch {
    /// Start reporting the exit of the process behind `pidfd` as record `id`.
    fn watch(&mut self, id: RecordId, pidfd: BorrowedFd<'_>);
    /// Stop watching `pidfd` (called before the record and its descriptor are dropped).
    fn unwatch(&mut self, pidfd: BorrowedFd<'_>);
}

impl PidfdWatch for crate::event::Poller {
    fn watch(&mut self, id: RecordId, pidfd: BorrowedFd<'_>) {
        let token = crate::event::Token::ProcExit(id.to_bits());
        if let Err(e) = self.add(pidfd, token, rustix::event::epoll::EventFlags::IN) {
            log::warn!("cannot watch a registered process for exit: {e}");
        }
    }

    fn unwatch(&mut self, pidfd: BorrowedFd<'_>) {
        // ENOENT (never added) is fine.
        let _ = self.delete(pidfd);
    }
}

/// A watcher that watches nothing (for tools and tests that run no event loop).
pub struct NoWatch;

impl PidfdWatch for NoWatch {
    fn watch(&mut self, _: RecordId, _: BorrowedFd<'_>) {}
    fn unwatch(&mut self, _: BorrowedFd<'_>) {}
}

/// How a priority update reaches `/proc/<pid>/oom_score_adj`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum UpdateMode {
    /// Keep the file open per record (within the descriptor budget): one `write` per update.
    #[default]
    KeepOpen,
    /// Read `/proc/<pid>/status` and open, write and close `oom_score_adj` on every message, as
    /// AOSP lmkd does. Only for measuring the difference (`lmkd --bench-reopen-procfs`).
    ReopenEachTime,
}

/// The result of one `LMK_PROCPRIO` record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrioOutcome {
    /// A new record.
    Registered(RecordId),
    /// An existing record moved to a new adj.
    Updated(RecordId),
    /// Refused and logged; nothing changed.
    Refused,
}

/// Registered processes and the I/O that keeps them.
pub struct ProcTable {
    /// Shared with the watchdog thread, which may kill from it while the main thread is stuck
    /// (see `reaper::watchdog`). Only the main thread inserts, removes or closes descriptors,
    /// so the lock is uncontended except while the watchdog fires.
    registry: Arc<Mutex<Registry>>,
    mode: UpdateMode,
    per_app_memcg: bool,
    memcg_root: Option<crate::memory::cgroup::MemcgRoot>,
    self_pid: i32,
    adj_fd_budget: usize,
    adj_fds_open: usize,
    write_failures: RateLimit,
    table_full: RateLimit,
}

impl ProcTable {
    /// An empty table. `adj_fd_budget` bounds how many `oom_score_adj` descriptors are kept
    /// open (beyond it an update opens the file each time) and how many records the table
    /// takes (each holds a pidfd; see [`ProcTable::max_records`]).
    pub fn new(mode: UpdateMode, adj_fd_budget: usize) -> ProcTable {
        ProcTable {
            registry: Arc::new(Mutex::new(Registry::new())),
            mode,
            per_app_memcg: false,
            memcg_root: None,
            self_pid: i32::try_from(std::process::id()).unwrap_or(0),
            adj_fd_budget,
            adj_fds_open: 0,
            write_failures: RateLimit::new(Duration::from_secs(1)),
            table_full: RateLimit::new(Duration::from_secs(10)),
        }
    }

    /// Sets the descriptor budget (see [`ProcTable::new`]).
    pub fn set_fd_budget(&mut self, budget: usize) {
        self.adj_fd_budget = budget;
    }

    /// Most records the table takes: each holds a pidfd, and the kept `oom_score_adj` files
    /// have a budget of the same size, so together they stay within the descriptor limit
    /// (the caller keeps a reserve for sockets and kernel files outside both).
    pub fn max_records(&self) -> usize {
        self.adj_fd_budget
    }

    /// The process table, locked. Do not hold the guard across another `ProcTable` call (the
    /// lock is not re-entrant) or across anything that can block for long (the watchdog needs
    /// the table exactly when the main thread is stuck).
    pub fn registry(&self) -> MutexGuard<'_, Registry> {
        lock(&self.registry)
    }

    /// The shared table, for the watchdog.
    pub fn shared_registry(&self) -> Arc<Mutex<Registry>> {
        Arc::clone(&self.registry)
    }

    /// Sets `ro.config.per_app_memcg`: in that mode apps get memcg soft limits by adj, and
    /// HOME (600–699) is filed as perceptible.
    pub fn set_per_app_memcg(&mut self, on: bool) {
        self.per_app_memcg = on;
        if on && self.memcg_root.is_none() {
            self.memcg_root = crate::memory::cgroup::MemcgRoot::discover();
            if self.memcg_root.is_none() {
                warn!("ro.config.per_app_memcg is set but no memory cgroup controller is mounted");
            }
        }
    }

    /// AOSP's per-app memcg soft limit for an app at `adj` (step 5 of `apply_proc_prio`).
    fn apply_soft_limit(&self, p: &ProcPrio) {
        if !self.per_app_memcg || p.ptype != PROC_TYPE_APP || p.for_lmkd_only {
            return;
        }
        let Some(root) = &self.memcg_root else { return };
        if let Err(e) = root.apply(p.pid, p.adj) {
            // AOSP stays quiet about system_server, whose memcg is not per-app.
            if !(p.adj == SYSTEM_ADJ && p.uid == AID_SYSTEM) {
                limited!(warn, "Failed to set the memcg soft limit of pid {}: {e}", p.pid);
            }
        }
    }

    /// Number of kept-open `oom_score_adj` descriptors.
    pub fn adj_fds_open(&self) -> usize {
        self.adj_fds_open
    }

    /// Applies one `LMK_PROCPRIO` record from client `sender` (pid and uid from its
    /// credentials), as AOSP's `apply_proc_prio` + `register_oom_adj_proc`, with two deliberate
    /// differences: a record owned by another client is refused *before* its `oom_score_adj`
    /// is written (AOSP wrote it anyway), and pid 1, the daemon itself and pids ≤ 0 are refused.
    pub fn apply_prio(
        &mut self,
        p: &ProcPrio,
        sender: i32,
        sender_uid: u32,
        watch: &mut dyn PidfdWatch,
    ) -> PrioOutcome {
        if !(OOM_SCORE_ADJ_MIN..=OOM_SCORE_ADJ_MAX).contains(&p.adj) {
            limited!(error, "Invalid PROCPRIO oomadj argument {}", p.adj);
            return PrioOutcome::Refused;
        }
        if !(0..PROC_TYPE_COUNT).contains(&p.ptype) {
            limited!(error, "Invalid PROCPRIO process type argument {}", p.ptype);
            return PrioOutcome::Refused;
        }
        if p.pid <= 0 || p.pid == 1 || p.pid == self.self_pid {
            limited!(
                error,
                "Refusing to register pid {}: it is {}",
                p.pid,
                self.why_reserved(p.pid)
            );
            return PrioOutcome::Refused;
        }
        // In per-app memcg mode AOSP files the launcher as perceptible so it is not killed
        // before other perceptible apps; the written oom_score_adj keeps the real value.
        let filed_adj = if self.per_app_memcg
            && p.ptype == PROC_TYPE_APP
            && (HOME_APP_ADJ..PREVIOUS_APP_ADJ).contains(&p.adj)
        {
            PERCEPTIBLE_APP_ADJ
        } else {
            p.adj
        };

        let existing = {
            let mut reg = self.registry();
            match reg.lookup(p.pid) {
                Some(id) if !reg.claim(id, sender) => {
                    limited!(error,
                        "client {sender} (uid {sender_uid}) attempts to modify a process registered by another client (pid {}, owner {})",
                        p.pid,
                        reg.get(id).map_or(0, |r| r.owner)
                    );
                    return PrioOutcome::Refused;
                }
                found => found,
            }
        };
        if let Some(id) = existing {
            match self.update_existing(id, p) {
                Ok(()) => {
                    self.apply_soft_limit(p);
                    self.registry().set_adj(id, filed_adj);
                    return PrioOutcome::Updated(id);
                }
                Err(e) => {
                    // The process behind the record is gone. If the pid was reused, the
                    // message is about the new process: register it afresh below.
                    debug!("record of pid {} is stale ({e}); registering anew", p.pid);
                    self.remove(id, watch);
                }
            }
        }
        self.register_new(p, filed_adj, sender, watch)
    }

    /// Updates the `oom_score_adj` of an existing record. `Err` means the process is gone.
    fn update_existing(&mut self, id: RecordId, p: &ProcPrio) -> io::Result<()> {
        if self.mode == UpdateMode::ReopenEachTime {
            let st = procfs::read_status(p.pid)?;
            if st.tgid.is_some_and(|t| t != p.pid) {
                return Err(io::Error::from_raw_os_error(libc::ESRCH));
            }
            return if p.for_lmkd_only { Ok(()) } else { self.write_adj_reopen(p.pid, p.adj) };
        }
        let written = {
            let reg = self.registry();
            let rec = reg.get(id).ok_or_else(|| io::Error::from_raw_os_error(libc::ESRCH))?;
            match &rec.adj_file {
                Some(file) if !p.for_lmkd_only => Some(procfs::write_oom_score_adj(file, p.adj)),
                _ => {
                    // No kept file to prove the process alive: ask its pidfd.
                    if let Some(fd) = &rec.pidfd {
                        if sys::pidfd_is_dead(fd)? {
                            return Err(io::Error::from_raw_os_error(libc::ESRCH));
                        }
                    }
                    None
                }
            }
        };
        match written {
            None if p.for_lmkd_only => Ok(()),
            None => self.write_adj_reopen(p.pid, p.adj),
            Some(Ok(())) => Ok(()),
            Some(Err(e)) if is_gone(&e) => Err(e),
            Some(Err(e)) => {
                self.log_write_failure(p.pid, p.adj, &e);
                Ok(())
            }
        }
    }

    fn write_adj_reopen(&mut self, pid: i32, adj: i32) -> io::Result<()> {
        let file = procfs::open_oom_score_adj(pid)?;
        match procfs::write_oom_score_adj(&file, adj) {
            Err(e) if is_gone(&e) => Err(e),
            Err(e) => {
                self.log_write_failure(pid, adj, &e);
                Ok(())
            }
            Ok(()) => Ok(()),
        }
    }

    fn register_new(
        &mut self,
        p: &ProcPrio,
        filed_adj: i32,
        sender: i32,
        watch: &mut dyn PidfdWatch,
    ) -> PrioOutcome {
        let records = self.registry().len();
        if records >= self.max_records() {
            if let Some(n) = self.table_full.check(Instant::now()) {
                error!(
                    "Refusing to register pid {}: the table is full ({records} records, bounded by the descriptor limit; {n} similar refusals suppressed)",
                    p.pid
                );
            }
            return PrioOutcome::Refused;
        }
        match procfs::read_status(p.pid) {
            Ok(st) => {
                if let Some(tgid) = st.tgid.filter(|&t| t != p.pid) {
                    limited!(error,
                        "Attempt to register a task that is not a thread group leader (tid {}, tgid {tgid})",
                        p.pid
                    );
                    return PrioOutcome::Refused;
                }
            }
            Err(e) => {
                limited!(
                    warn,
                    "Failed to read /proc/{}/status ({e}): process {} might have been killed",
                    p.pid,
                    p.pid
                );
                return PrioOutcome::Refused;
            }
        }
        let pidfd = match sys::pidfd_open(p.pid) {
            Ok(fd) => fd,
            Err(e) => {
                limited!(
                    error,
                    "pidfd_open for pid {} failed; errno={}",
                    p.pid,
                    e.raw_os_error().unwrap_or(0)
                );
                return PrioOutcome::Refused;
            }
        };
        let keep_file = self.mode == UpdateMode::KeepOpen && self.adj_fds_open < self.adj_fd_budget;
        let adj_file = if keep_file { procfs::open_oom_score_adj(p.pid).ok() } else { None };
        // The pidfd was taken first, so if the process is still alive now, the pid was not
        // reused in between and the file opened above belongs to the same process.
        if sys::pidfd_is_dead(&pidfd).unwrap_or(true) {
            limited!(warn, "process {} died during registration; not registered", p.pid);
            return PrioOutcome::Refused;
        }
        if !p.for_lmkd_only {
            let written = match &adj_file {
                Some(f) => procfs::write_oom_score_adj(f, p.adj),
                None => procfs::open_oom_score_adj(p.pid)
                    .and_then(|f| procfs::write_oom_score_adj(&f, p.adj)),
            };
            if let Err(e) = written {
                if is_gone(&e) {
                    limited!(warn, "Failed to write /proc/{}/oom_score_adj; errno={}: process {} might have been killed",
                        p.pid, e.raw_os_error().unwrap_or(0), p.pid);
                    return PrioOutcome::Refused;
                }
                // Kept: the record is still right, only the kernel refused the value (on a
                // host without CAP_SYS_RESOURCE, any value below the current minimum).
                self.log_write_failure(p.pid, p.adj, &e);
            }
        }
        self.apply_soft_limit(p);
        if adj_file.is_some() {
            self.adj_fds_open += 1;
        }
        let mut rec = Record::new(p.pid, p.uid, filed_adj, p.ptype, sender);
        rec.pidfd = Some(pidfd);
        rec.adj_file = adj_file;
        let mut reg = self.registry();
        let id = reg.insert(rec);
        if let Some(fd) = reg.get(id).and_then(|r| r.pidfd.as_ref()) {
            watch.watch(id, fd.as_fd());
        }
        PrioOutcome::Registered(id)
    }

    /// `LMK_PROCREMOVE` from client `sender`: unknown pids are ignored silently, another
    /// client's record is refused.
    pub fn remove_pid(&mut self, pid: i32, sender: i32, watch: &mut dyn PidfdWatch) -> bool {
        let Some(id) = self.registry().lookup(pid) else { return false };
        if !self.registry().claim(id, sender) {
            limited!(error, "client {sender} attempts to unregister a process registered by another client (pid {pid})");
            return false;
        }
        self.remove(id, watch).is_some()
    }

    /// `LMK_PROCPURGE` from client `sender`: removes every record it owns or can claim.
    pub fn purge(&mut self, sender: i32, watch: &mut dyn PidfdWatch) -> usize {
        let ids = self.registry().purgeable(sender);
        for &id in &ids {
            self.remove(id, watch);
        }
        ids.len()
    }

    /// Client `pid` disconnected: its records become claimable.
    pub fn unclaim(&mut self, pid: i32) -> usize {
        self.registry().unclaim(pid)
    }

    /// The process behind `id` exited (its pidfd fired): drop the record.
    pub fn on_exit(&mut self, id: RecordId, watch: &mut dyn PidfdWatch) {
        if let Some(rec) = self.remove(id, watch) {
            debug!("process {} (adj {}) exited; record removed", rec.pid, rec.adj());
        }
    }

    /// Removes a record, stops watching its pidfd and returns it.
    pub fn remove(&mut self, id: RecordId, watch: &mut dyn PidfdWatch) -> Option<Record> {
        let rec = self.registry().remove(id)?;
        if let Some(fd) = &rec.pidfd {
            watch.unwatch(fd.as_fd());
        }
        if rec.adj_file.is_some() {
            self.adj_fds_open -= 1;
        }
        Some(rec)
    }

    fn log_write_failure(&mut self, pid: i32, adj: i32, e: &io::Error) {
        if let Some(suppressed) = self.write_failures.check(Instant::now()) {
            warn!(
                "Failed to write oom_score_adj {adj} for pid {pid}: {e} (record kept; {suppressed} similar failures suppressed)"
            );
        }
    }

    fn why_reserved(&self, pid: i32) -> &'static str {
        match pid {
            1 => "init",
            p if p <= 0 => "not a process",
            _ => "lmkd itself",
        }
    }
}

/// Why a victim could not be read before its kill.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VictimError {
    /// `/proc/<pid>/status` is gone, or the pidfd says the process exited.
    Gone,
    /// `Tgid` differs from the pid: the number now belongs to a thread of another process.
    PidReused,
    /// Alive by its pidfd, but its files could not be read (an I/O error), or have no `VmRSS`
    /// or no name (a kernel thread, or a process caught in the middle of exec).
    Unreadable,
}

/// What the kill path needs of a record, copied out of the locked table so that the slow
/// `/proc` reads of the victim happen without holding the lock (a `cmdline` read waits for the
/// victim's mmap lock, which under memory pressure can take long — exactly when the watchdog
/// may need the table).
#[derive(Debug)]
pub struct VictimRef {
    /// The process id.
    pub pid: i32,
    /// Its uid.
    pub uid: i32,
    /// The adj it is filed under.
    pub adj: i32,
    /// A duplicate of the record's pidfd (the kill goes through it).
    pub pidfd: Option<std::os::fd::OwnedFd>,
}

impl VictimRef {
    /// Copies `rec`, duplicating its pidfd (which fails only when out of descriptors).
    pub fn of(rec: &Record) -> io::Result<VictimRef> {
        let pidfd = match &rec.pidfd {
            Some(fd) => Some(rustix::io::fcntl_dupfd_cloexec(fd, 0)?),
            None => None,
        };
        Ok(VictimRef { pid: rec.pid, uid: rec.uid, adj: rec.adj(), pidfd })
    }
}

/// Reads what the kill report needs, before the kill: `status` (Tgid, VmRSS, VmSwap),
/// `cmdline` (argv\[0\]) and `stat` (faults, start time). The pidfd is checked afterwards: if
/// the process is still alive, the pid cannot have been reused while it was read, so the files
/// were its own. Nothing is allocated.
pub fn read_victim(rec: &VictimRef) -> Result<crate::kill::Victim, VictimError> {
    let pid = rec.pid;
    let dead = || rec.pidfd.as_ref().is_some_and(|fd| sys::pidfd_is_dead(fd).unwrap_or(true));
    if dead() {
        return Err(VictimError::Gone);
    }
    // Only "no such process" means gone; any other error (EIO, ENOMEM, EAGAIN...) leaves a
    // live process that could not be read this time: kept, and another victim is tried.
    let gone_or_unreadable =
        |e: io::Error| if is_gone(&e) { VictimError::Gone } else { VictimError::Unreadable };
    let st = procfs::read_status(pid).map_err(gone_or_unreadable)?;
    if st.tgid.is_some_and(|t| t != pid) {
        return Err(VictimError::PidReused);
    }
    let rss_kb = st.vm_rss_kb.ok_or(VictimError::Unreadable)?;
    let mut buf = [0u8; 256];
    let name = procfs::read_cmdline_name(pid, &mut buf).map_err(gone_or_unreadable)?;
    if name.is_empty() {
        return Err(VictimError::Unreadable);
    }
    let name = crate::protocol::StatName::new(name);
    let mut sbuf = [0u8; 1024];
    let stat = procfs::read_proc_file(pid, "stat", &mut sbuf).ok().and_then(procfs::parse_stat);
    let faults = stat.map(|s| {
        let hz = rustix::param::clock_ticks_per_second().max(1);
        let start_ns = s.starttime.saturating_mul(1_000_000_000) / hz;
        let i = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        (i(s.minflt), i(s.majflt), i(start_ns))
    });
    if dead() {
        return Err(VictimError::Gone);
    }
    Ok(crate::kill::Victim {
        pid,
        uid: rec.uid,
        adj: rec.adj,
        name,
        rss_kb,
        swap_kb: st.vm_swap_kb.unwrap_or(0),
        faults,
    })
}

/// Locks the table; a panic elsewhere while it was held does not make it unusable (every
/// registry operation leaves it consistent before it can panic).
fn lock(registry: &Mutex<Registry>) -> MutexGuard<'_, Registry> {
    registry.lock().unwrap_or_else(|e| e.into_inner())
}

/// Whether an error from a `/proc/<pid>` file means the process no longer exists.
fn is_gone(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::ESRCH) | Some(libc::ENOENT))
}

impl std::fmt::Debug for ProcTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProcTable")
            .field("records", &self.registry().len())
            .field("mode", &self.mode)
            .field("adj_fds_open", &self.adj_fds_open)
            .finish()
    }
}
