//! The kill pipeline: from a decision to memory back. It chooses the victim (for the pressure
//! engine's orders), reads it and resolves its process group outside the registry lock, hands
//! it to a reaper (which sends SIGKILL through the pidfd, kills the rest of its group and
//! `process_mrelease`s it), reports it (the kill line, the Perfetto kill event,
//! `LMK_PROCKILL`, `LMK_STAT_KILL_OCCURRED`, the history, the device's killinfo event), and
//! waits for its death. It owns the in-flight kills, the reaper pool, the kill history and the
//! kills' sequence numbers.

use std::os::fd::{AsFd, OwnedFd};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use log::{error, info, warn};
use rustix::event::epoll::EventFlags;

use super::engine::{KillOrder, Killer, Recorder};
use super::Core;
use crate::clock::Clock;
use crate::config::Config;
use crate::event::Token;
use crate::kill::{KillContext, ReasonText, Victim};
use crate::memory::{FreeMemory, Snapshot};
use crate::policy::trace::PickText;
use crate::policy::victim::{self, Candidate};
use crate::procs::{self, procfs, Record, RecordId, VictimError};
use crate::protocol::{LMKD_REPLY_MAX_SIZE, LMK_ASYNC_EVENT_KILL, LMK_ASYNC_EVENT_STAT};
use crate::ratelimit::RateLimit;
use crate::reaper::group::{self, Alone, CgroupV2, GroupKill, Resolution};
use crate::reaper::watchdog::WatchdogKill;
use crate::reaper::{
    placement, ReapJob, ReapOutcome, ReapResult, Reaper, ReaperConfig, WorkerReport, HANDOFF_BUDGET,
};
use crate::report::{self, KillHistory, KillRecord};
use crate::sys;

/// Kills tracked until their victims die (the pidfd waits).
pub const MAX_IN_FLIGHT: usize = 16;

/// The longest the decision waits for a victim's death when `ro.lmk.kill_timeout_ms` is 0
/// ("until it dies"). AOSP waits forever; a victim stuck in the kernel (or a pidfd that never
/// signals) would then stop every later kill. With the reaper its memory is back long before.
pub const KILL_WAIT_CAP: Duration = Duration::from_secs(5);

/// The kills the kill → memory-back time is taken from.
const RECENT_KILL_TIMES: usize = 8;

/// Records that could not be killed in one walk and are not tried again in it.
const SKIP_PER_WALK: usize = 8;

/// A kill whose victim has not died yet.
#[derive(Debug)]
struct InFlight {
    seq: u64,
    pid: i32,
    pidfd: OwnedFd,
    killed_at: Instant,
    /// The daemon decided this kill itself (pressure); the decision waits for it.
    pressure: bool,
    /// The pressure wake-up that led to it.
    wake_at: Option<Instant>,
}

/// A kill handed to the pipeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KillSent {
    /// Its sequence number.
    pub seq: u64,
}

/// Why a kill did not happen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KillError {
    /// The process had exited (or was not what the record said); its record is dropped.
    Gone,
    /// The kernel refused the signal (errno).
    Failed(i32),
    /// It is alive but `/proc` has no memory or name for it (the record is kept).
    Unreadable,
}

fn wall_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(0))
}

fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

/// The kill pipeline.
pub(crate) struct KillPipeline {
    clock: Clock,
    reaper: Reaper,
    history: KillHistory,
    slots: [Option<InFlight>; MAX_IN_FLIGHT],
    generations: [u32; MAX_IN_FLIGHT],
    seq: u64,
    reap_reports: Vec<WorkerReport>,
    candidates: Vec<Candidate>,
    no_victim_log: RateLimit,
    cgroup_v2: Option<CgroupV2>,
}

impl KillPipeline {
    /// Starts the reaper pool for `config`, measuring freed memory with `free`.
    pub fn new(
        config: &Config,
        free: Arc<dyn FreeMemory>,
        clock: Clock,
    ) -> std::io::Result<KillPipeline> {
        let reaper = Reaper::start(
            ReaperConfig {
                threads: usize::try_from(config.reaper_threads).unwrap_or(0),
                placement: placement::choose(
                    config.reaper_cpus.as_deref(),
                    placement::SYSFS_CPU_ROOT.as_ref(),
                ),
                nice: i32::try_from(config.reaper_nice).unwrap_or(-20),
            },
            free,
            clock.clone(),
        )?;
        let cgroup_v2 = CgroupV2::discover();
        match &cgroup_v2 {
            Some(v2) => info!(
                "process-group kills: victims' cgroup v2 groups under {}",
                v2.mount().display()
            ),
            None => info!(
                "no cgroup v2 hierarchy: victims are killed alone, without their process groups"
            ),
        }
        // Opened once, now (and said once when there is no tracefs).
        sys::trace_marker::trace_marker();
        Ok(KillPipeline {
            clock,
            reaper,
            history: KillHistory::new(usize::try_from(config.kill_history_size).unwrap_or(0)),
            slots: Default::default(),
            generations: [0; MAX_IN_FLIGHT],
            seq: 0,
            reap_reports: Vec::with_capacity(64),
            candidates: Vec::with_capacity(64),
            no_victim_log: RateLimit::new(Duration::from_secs(1)),
            cgroup_v2,
        })
    }

    /// Where victims' process groups are resolved, for the status report.
    pub fn process_groups(&self) -> String {
        match &self.cgroup_v2 {
            Some(v2) => format!("cgroup v2 at {}", v2.mount().display()),
            None => "no cgroup v2 (victims are killed alone)".to_owned(),
        }
    }

    /// The reaper pool.
    pub fn reaper(&self) -> &Reaper {
        &self.reaper
    }

    /// The kill history.
    pub fn history(&self) -> &KillHistory {
        &self.history
    }

    /// The daemon's kill → memory-back time, from its last few kills: each one's SIGKILL →
    /// reaped time, or SIGKILL → death when it was not reaped (see
    /// [`crate::policy::predict::kill_time_ms`]).
    pub fn kill_time_ms(&self) -> u64 {
        let skip = self.history.len().saturating_sub(RECENT_KILL_TIMES);
        let recent = self.history.iter().skip(skip).map(|r| {
            if r.outcome == Some(ReapOutcome::Reaped) {
                r.reap_us
            } else {
                r.death_us
            }
        });
        crate::policy::predict::kill_time_ms(recent)
    }

    /// How long the decision waits for a pressure kill's victim.
    fn wait_limit(config: &Config) -> Duration {
        match u64::try_from(config.kill_timeout_ms).unwrap_or(0) {
            0 => KILL_WAIT_CAP,
            t => Duration::from_millis(t),
        }
    }

    fn latest_pressure_kill(&self) -> Option<&InFlight> {
        self.slots.iter().flatten().filter(|k| k.pressure).max_by_key(|k| k.seq)
    }

    /// When the latest pressure kill was made, if its victim is still awaited at `now`
    /// (neither dead nor waited for longer than `kill_timeout_ms`, or 5 s for 0).
    pub fn awaited_kill(&self, config: &Config, now: Instant) -> Option<Instant> {
        let k = self.latest_pressure_kill()?;
        (now.saturating_duration_since(k.killed_at) < Self::wait_limit(config))
            .then_some(k.killed_at)
    }

    /// When the wait for the latest pressure kill ends, if one is awaited.
    pub fn kill_wait_deadline(&self, config: &Config) -> Option<Instant> {
        self.latest_pressure_kill().map(|k| k.killed_at + Self::wait_limit(config))
    }

    /// Stops waiting for the latest pressure kill once its wait is over (AOSP §5.4); `true`
    /// when it did now (the engine then resumes polling).
    pub fn expire_kill_wait(&mut self, config: &Config, now: Instant) -> bool {
        let Some(k) = self.latest_pressure_kill() else { return false };
        let waited = now.saturating_duration_since(k.killed_at);
        if waited < Self::wait_limit(config) {
            return false;
        }
        if config.kill_timeout_ms == 0 {
            warn!(
                "pid {} has not died {} ms after SIGKILL; no longer waiting for it",
                k.pid,
                waited.as_millis()
            );
        } else if config.debug {
            info!("Stop waiting for process kill after {}ms", waited.as_millis());
        }
        // Keep watching for the death (for the report), but no longer as the decision's wait.
        let seq = k.seq;
        for s in self.slots.iter_mut().flatten() {
            if s.seq == seq {
                s.pressure = false;
            }
        }
        true
    }

    /// Kills the process of record `id` and reports it (as AOSP, the report goes out when the
    /// kill is handed over; a worker that then fails to signal logs it and marks the history
    /// record). `wake_at`: the pressure wake-up that decided it (`None`: a requested kill).
    /// `snapshot` and `skipped` go into the device's killinfo event.
    #[allow(clippy::too_many_arguments)]
    pub fn kill_record(
        &mut self,
        core: &mut Core,
        config: &Config,
        id: RecordId,
        ctx: &KillContext,
        wake_at: Option<Instant>,
        snapshot: &Snapshot,
        skipped: u64,
    ) -> Result<KillSent, KillError> {
        // Copied out under the lock; the victim's files are read without it.
        let vref = {
            let reg = core.procs.registry();
            match reg.get(id) {
                // Killed by the watchdog already: its note reports it.
                None | Some(Record { watchdog_killed: true, .. }) => return Err(KillError::Gone),
                Some(rec) => procs::VictimRef::of(rec).map_err(|e| {
                    error!("kill({}): cannot duplicate its pidfd: {e}", rec.pid);
                    KillError::Failed(e.raw_os_error().unwrap_or(libc::EMFILE))
                })?,
            }
        };
        let victim = match procs::read_victim(&vref) {
            Ok(v) => v,
            Err(VictimError::Unreadable) => {
                // Alive by its pidfd, but without memory or name right now (a kernel thread,
                // or a process in the middle of exec): not a victim this time. AOSP dropped the
                // record; it is kept, so the process stays killable.
                warn!(
                    "pid {} could not be read (no memory or name); not killed this time",
                    vref.pid
                );
                return Err(KillError::Unreadable);
            }
            Err(e) => {
                let pid = vref.pid;
                if e == VictimError::PidReused {
                    warn!("Possible pid reuse detected (pid {pid}); record dropped");
                } else {
                    log::debug!("pid {pid} exited before its kill; record dropped");
                }
                core.procs.remove(id, &mut core.poller);
                return Err(KillError::Gone);
            }
        };
        // The victim's process group, resolved while its pidfd says it is alive (before the
        // record goes: a victim that exits now is dropped like one `read_victim` found gone).
        let resolution = match vref.pidfd.as_ref() {
            Some(fd) => group::resolve(self.cgroup_v2.as_ref(), fd.as_fd(), victim.pid, victim.uid),
            None => Ok(Resolution::Alone(Alone::Unreadable)),
        };
        let Ok(resolution) = resolution else {
            log::debug!("pid {} exited before its kill; record dropped", vref.pid);
            core.procs.remove(id, &mut core.poller);
            return Err(KillError::Gone);
        };
        let group_procs = i32::try_from(resolution.procs()).unwrap_or(i32::MAX);
        // Only this thread removes records, so it is still there.
        let rec = core.procs.remove(id, &mut core.poller).expect("looked up above");
        if rec.watchdog_killed {
            return Err(KillError::Gone);
        }
        let Some(pidfd) = rec.pidfd else { return Err(KillError::Gone) };
        // Taken now, even if the kill then fails: a worker may already report under it, and a
        // later kill must never reuse the number (its reports would be mixed up).
        self.seq += 1;
        let seq = self.seq;
        let mut reap = false;
        // An idle worker signals, kills the group and reaps in one go (see `reaper`); without
        // one the signals go out from here and the reap waits in the pool's queue.
        let mut job = vref.pidfd.map(|fd| ReapJob {
            seq,
            pid: victim.pid,
            uid: victim.uid,
            pidfd: fd,
            signalled_at: None,
            group: resolution,
        });
        let mut worker_signalled = false;
        if self.reaper.enabled() {
            if let Some(j) = job.take() {
                match self.reaper.submit_kill(j) {
                    Ok(()) => {
                        reap = true;
                        worker_signalled = self.reaper.wait_signalled(seq, HANDOFF_BUDGET);
                    }
                    Err(j) => job = Some(j),
                }
            }
        }
        let killed_at = self.clock.now();
        // How the group died, when it was killed from here (else the worker reports it).
        let mut group_kill = None;
        if !worker_signalled {
            // No worker was idle, or it did not deliver the signal within the budget: send it
            // from here (after a handover the worker's own signal, if it comes, is harmless, and
            // the worker kills the group).
            signal(&pidfd, victim.pid)?;
            if let Some(mut j) = job {
                let g = std::mem::replace(&mut j.group, Resolution::Alone(Alone::Unreadable));
                group_kill = Some(g.kill(victim.pid));
                reap =
                    self.reaper.submit_reap(ReapJob { signalled_at: Some(killed_at), ..j }).is_ok();
            }
        }
        report::trace_kill(&victim, ctx);
        // Read after the signal so as not to delay it; the victim has hardly begun to exit.
        let free_before = self.reaper.free_kb();
        core.procs.registry().count_kill(victim.adj);
        report::log_kill(&victim, ctx);
        let uptime_ms = i64::try_from(self.clock.ms_at(killed_at)).unwrap_or(i64::MAX);
        let mut record = KillRecord::new(seq, wall_ms(), uptime_ms, &victim, ctx, free_before);
        if !reap {
            record.outcome = Some(ReapOutcome::NotReaped);
        }
        record.group_procs = group_procs;
        if let Some(g) = group_kill {
            record.group = g;
            log_group_kill(config, victim.pid, g, group_procs);
        }
        // A worker's signal time arrives with its report (`on_signalled`).
        if let (Some(w), false) = (wake_at, worker_signalled) {
            record.wake_to_kill_us = micros(killed_at.saturating_duration_since(w));
        }
        self.history.push(record);
        core.server.broadcast(LMK_ASYNC_EVENT_KILL, &report::prockill(&victim), killed_at);
        if config.log_stats {
            let mut buf = [0u8; LMKD_REPLY_MAX_SIZE];
            let n = report::kill_stat(&victim, ctx, &mut buf);
            core.server.broadcast(LMK_ASYNC_EVENT_STAT, &buf[..n], killed_at);
        }
        #[cfg(aosp_build)]
        crate::android::write_killinfo(&crate::report::killinfo::KillInfo {
            pid: victim.pid,
            uid: victim.uid,
            oom_score_adj: victim.adj,
            min_oom_score_adj: ctx.min_adj,
            task_size_kb: victim.rss_kb,
            kill_reason: ctx.reason.code(),
            meminfo: snapshot.meminfo,
            skipped_wakeups: i64::try_from(skipped).unwrap_or(i64::MAX),
            task_swap_kb: victim.swap_kb,
            thrashing: ctx.thrashing,
            max_thrashing: ctx.max_thrashing,
            psi_mem_some: snapshot.psi.some.avg10 as f32 / 100.0,
            psi_mem_full: snapshot.psi.full.avg10 as f32 / 100.0,
            ..Default::default()
        });
        #[cfg(not(aosp_build))]
        let _ = (snapshot, skipped);
        let pressure = wake_at.is_some();
        self.track(core, InFlight { seq, pid: victim.pid, pidfd, killed_at, pressure, wake_at });
        Ok(KillSent { seq })
    }

    /// Walks the registry from adj 1000 down to the order's min adj and kills one process;
    /// returns its resident size in kB. Each adj's candidates are copied out of the registry,
    /// sized from `/proc` without its lock when the heaviest rule needs it, and chosen by the
    /// pure [`victim::pick`]; the choice is recorded in `trace`.
    fn kill_for_pressure(
        &mut self,
        core: &mut Core,
        config: &Config,
        order: &KillOrder<'_>,
        trace: &mut Recorder,
    ) -> Option<i64> {
        let d = order.decision;
        let t_ms = order.decided_ms;
        // Records that could not be killed this time (kept, but not tried again now).
        let mut skip = [RecordId::from_bits(u64::MAX); SKIP_PER_WALK];
        let mut skipped = 0;
        for adj in victim::levels(d.min_adj) {
            loop {
                // Under the lock only for the copy; the sizes are read without it.
                victim::candidates(
                    &core.procs.registry(),
                    adj,
                    &skip[..skipped],
                    &mut self.candidates,
                );
                if self.candidates.is_empty() {
                    break;
                }
                let heaviest = victim::heaviest_at(adj, config.kill_heaviest_task);
                if victim::needs_sizes(adj, config.kill_heaviest_task, self.candidates.len()) {
                    for c in &mut self.candidates {
                        c.rss_pages = procfs::resident_pages(c.pid);
                    }
                }
                let chosen = victim::pick(&self.candidates, heaviest);
                if trace.on() {
                    let text = PickText { adj, heaviest, candidates: &self.candidates, chosen };
                    trace.line(format_args!("pick t={t_ms} {text}"));
                }
                let Some(i) = chosen else { break };
                let id = self.candidates[i].id;
                let sent = self.kill_record(
                    core,
                    config,
                    id,
                    &order.ctx,
                    Some(order.wake_at),
                    order.snapshot,
                    order.skipped,
                );
                match sent {
                    Ok(sent) => {
                        return Some(self.history.get_mut(sent.seq).map_or(0, |r| r.rss_kb))
                    }
                    Err(KillError::Gone) => continue,
                    Err(_) => {
                        if skipped == skip.len() {
                            break;
                        }
                        skip[skipped] = id;
                        skipped += 1;
                    }
                }
            }
        }
        if let Some(n) = self.no_victim_log.check(order.wake_at) {
            warn!(
                "No process to kill at oom_score_adj {} or above ({n} similar reports suppressed)",
                d.min_adj
            );
        }
        None
    }

    /// Watches a killed process's pidfd until it dies.
    fn track(&mut self, core: &mut Core, k: InFlight) {
        let slot = match self.slots.iter().position(Option::is_none) {
            Some(s) => s,
            None => {
                // Full: stop waiting for the oldest.
                let oldest = (0..MAX_IN_FLIGHT)
                    .min_by_key(|&i| self.slots[i].as_ref().map_or(0, |k| k.seq))
                    .unwrap_or(0);
                if let Some(old) = self.slots[oldest].take() {
                    let _ = core.poller.delete(&old.pidfd);
                }
                oldest
            }
        };
        self.generations[slot] = self.generations[slot].wrapping_add(1);
        let token = Token::KillDone {
            slot: u8::try_from(slot).unwrap_or(u8::MAX),
            generation: self.generations[slot],
        };
        if crate::fault::check(crate::fault::Site::PidfdWait, "").is_some() {
            // Injected: a pidfd that never signals. The wait ends by its timeout or cap.
            self.slots[slot] = Some(k);
            return;
        }
        if let Err(e) = core.poller.add(&k.pidfd, token, EventFlags::IN) {
            warn!("cannot wait for the death of pid {}: {e}", k.pid);
            return;
        }
        self.slots[slot] = Some(k);
    }

    /// A killed process died. Returns `true` when it was the awaited pressure kill's victim.
    pub fn on_kill_done(
        &mut self,
        core: &mut Core,
        config: &Config,
        slot: u8,
        generation: u32,
    ) -> bool {
        let i = usize::from(slot);
        if self.generations.get(i) != Some(&generation) {
            return false;
        }
        let Some(k) = self.slots.get_mut(i).and_then(Option::take) else { return false };
        let _ = core.poller.delete(&k.pidfd);
        let elapsed = self.clock.now().saturating_duration_since(k.killed_at);
        if config.debug {
            info!("Process got killed in {}ms", elapsed.as_millis());
        }
        let free_now = if self.reaper.enabled() { None } else { self.reaper.free_kb() };
        if let Some(r) = self.history.get_mut(k.seq) {
            r.death_us = micros(elapsed);
            if r.outcome == Some(ReapOutcome::NotReaped) {
                r.set_free_after(free_now);
            }
        }
        k.pressure
    }

    /// Reports a kill the watchdog made while the loop was stuck (it logged and counted it)
    /// and drops the record.
    pub fn report_watchdog_kill(&mut self, core: &mut Core, k: &WatchdogKill) {
        let still_there = core.procs.registry().get(k.id).is_some_and(|r| r.watchdog_killed);
        if still_there {
            core.procs.remove(k.id, &mut core.poller);
        }
        // The watchdog reads nothing of the victim (that may be what the loop is stuck on).
        let victim = Victim {
            pid: k.pid,
            uid: k.uid,
            adj: k.adj,
            name: crate::protocol::StatName::new(b""),
            rss_kb: 0,
            swap_kb: 0,
            faults: None,
        };
        let ctx = KillContext {
            reason_text: ReasonText::format(format_args!(
                "lmkd watchdog (loop stuck for {} ms)",
                k.stuck_for.as_millis()
            )),
            ..KillContext::default()
        };
        self.seq += 1;
        let now = self.clock.now();
        let uptime_ms = i64::try_from(self.clock.ms_at(now)).unwrap_or(i64::MAX);
        let mut record = KillRecord::new(self.seq, wall_ms(), uptime_ms, &victim, &ctx, None);
        record.outcome = Some(if k.reaped { ReapOutcome::Reaped } else { ReapOutcome::NotReaped });
        record.group = GroupKill::Alone(Alone::Watchdog);
        self.history.push(record);
        core.server.broadcast(LMK_ASYNC_EVENT_KILL, &report::prockill(&victim), now);
    }

    /// The reaper pool has reports.
    pub fn on_reaper_done(&mut self, config: &Config) {
        let mut reports = std::mem::take(&mut self.reap_reports);
        self.reaper.take_reports(&mut reports);
        for r in reports.drain(..) {
            match r {
                WorkerReport::Signalled { seq, pid, result, at, group } => {
                    self.on_signalled(config, seq, pid, result, at, group)
                }
                WorkerReport::Reaped(r) => self.on_reaped(config, &r),
            }
        }
        self.reap_reports = reports;
    }

    fn on_signalled(
        &mut self,
        config: &Config,
        seq: u64,
        pid: i32,
        result: Result<(), i32>,
        at: Instant,
        group: GroupKill,
    ) {
        if group != GroupKill::Unknown {
            if let Some(rec) = self.history.get_mut(seq) {
                rec.group = group;
                log_group_kill(config, pid, group, rec.group_procs);
            }
        }
        // A failed worker signal needs nothing more here: the loop sent SIGKILL itself when the
        // worker did not deliver it in time.
        if result.is_err() {
            return;
        }
        let wake_at = self.slots.iter().flatten().find(|k| k.seq == seq).and_then(|k| k.wake_at);
        if let (Some(w), Some(rec)) = (wake_at, self.history.get_mut(seq)) {
            rec.wake_to_kill_us = micros(at.saturating_duration_since(w));
        }
    }

    fn on_reaped(&mut self, config: &Config, r: &ReapResult) {
        let ms = r.kill_to_reaped.as_millis();
        match r.outcome {
            ReapOutcome::Reaped => {
                if config.debug {
                    info!("Process {} was reaped in {ms}ms", r.pid);
                }
            }
            ReapOutcome::AlreadyExited | ReapOutcome::NotDying => {
                if config.debug {
                    let errno = r.outcome.code().1;
                    info!("process_mrelease {} failed: {}", r.pid, report::strerror(errno));
                }
            }
            ReapOutcome::Failed(errno) => {
                error!("process_mrelease {} failed: {}", r.pid, report::strerror(errno));
            }
            ReapOutcome::KillFailed(_) => {
                // The loop sent the signal instead; nothing was reaped.
                if let Some(rec) = self.history.get_mut(r.seq) {
                    rec.outcome = Some(ReapOutcome::NotReaped);
                }
                return;
            }
            ReapOutcome::NotReaped => return,
        }
        if let Some(rec) = self.history.get_mut(r.seq) {
            rec.outcome = Some(r.outcome);
            rec.reap_us = micros(r.kill_to_reaped);
            rec.cpu = r.cpu;
            rec.set_free_after(r.free_after_kb);
        }
    }
}

/// With `ro.lmk.debug`, how a victim's process group died (AOSP logs this only at its verbose
/// level).
fn log_group_kill(config: &Config, pid: i32, g: GroupKill, procs: i32) {
    if config.debug && matches!(g, GroupKill::CgroupKill | GroupKill::CgroupProcs) {
        info!("Process group of {pid} killed through {} ({procs} processes)", g.as_str());
    }
}

/// SIGKILL from the main thread, through the pidfd.
fn signal(pidfd: &OwnedFd, pid: i32) -> Result<(), KillError> {
    sys::pidfd_send_signal(pidfd.as_fd(), libc::SIGKILL).map_err(|e| {
        let errno = e.raw_os_error().unwrap_or(0);
        error!("kill({pid}): errno={errno}");
        if errno == libc::ESRCH {
            KillError::Gone
        } else {
            KillError::Failed(errno)
        }
    })
}

/// The pipeline with the daemon's shared state, as the engine's [`Killer`].
pub(crate) struct PressureKiller<'a> {
    /// The pipeline.
    pub pipeline: &'a mut KillPipeline,
    /// The loop's shared state.
    pub core: &'a mut Core,
    /// The configuration in force.
    pub config: &'a Config,
}

impl Killer for PressureKiller<'_> {
    fn kill(&mut self, order: &KillOrder<'_>, trace: &mut Recorder) -> Option<i64> {
        self.pipeline.kill_for_pressure(self.core, self.config, order, trace)
    }

    fn kill_time_ms(&self) -> u64 {
        self.pipeline.kill_time_ms()
    }
}
