//! The kill pipeline, as the daemon runs it: read the victim, SIGKILL through its pidfd, hand
//! it to the reaper, report, and wait for its death.

use std::os::fd::{AsFd, OwnedFd};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use log::{error, info, warn};
use rustix::event::epoll::EventFlags;

use super::Daemon;
use crate::event::Token;
use crate::procs::{self, Record, RecordId, VictimError};
use crate::protocol::{LMKD_REPLY_MAX_SIZE, LMK_ASYNC_EVENT_KILL, LMK_ASYNC_EVENT_STAT};
use crate::reaper::watchdog::WatchdogKill;
use crate::reaper::{ReapJob, ReapOutcome, ReapResult, WorkerReport, HANDOFF_BUDGET};
use crate::report::{self, KillContext, KillRecord};
use crate::sys;

/// Kills tracked until their victims die (the pidfd waits).
pub const MAX_IN_FLIGHT: usize = 16;

/// The longest the decision waits for a victim's death when `ro.lmk.kill_timeout_ms` is 0
/// ("until it dies"). AOSP waits forever; a victim stuck in the kernel (or a pidfd that never
/// signals) would then stop every later kill. With the reaper its memory is back long before.
pub const KILL_WAIT_CAP: Duration = Duration::from_secs(5);

/// A kill whose victim has not died yet.
#[derive(Debug)]
pub(crate) struct InFlight {
    pub seq: u64,
    pub pid: i32,
    pub pidfd: OwnedFd,
    pub killed_at: Instant,
    /// The daemon decided this kill itself (pressure); the decision loop waits for it.
    pub pressure: bool,
    /// The pressure wake-up that led to it.
    pub wake_at: Option<Instant>,
}

/// The in-flight kills, each with a generation so that a stale epoll token is ignored.
#[derive(Debug, Default)]
pub(crate) struct InFlightKills {
    slots: [Option<InFlight>; MAX_IN_FLIGHT],
    generations: [u32; MAX_IN_FLIGHT],
}

impl InFlightKills {
    /// The kill in `slot`, if the token is current.
    pub fn get(&self, slot: u8, generation: u32) -> Option<&InFlight> {
        let i = usize::from(slot);
        if self.generations.get(i) != Some(&generation) {
            return None;
        }
        self.slots[i].as_ref()
    }

    /// Whether the latest pressure kill is still waiting for its victim's death.
    pub fn pressure_kill(&self) -> Option<&InFlight> {
        self.slots.iter().flatten().filter(|k| k.pressure).max_by_key(|k| k.seq)
    }
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

impl Daemon {
    /// Kills the process of record `id` through the pipeline and reports it (as AOSP, the
    /// report goes out when the kill is handed over; a worker that then fails to signal logs it
    /// and marks the history record).
    pub(crate) fn kill_record(
        &mut self,
        id: RecordId,
        ctx: &KillContext,
        pressure: bool,
    ) -> Result<KillSent, KillError> {
        // Copied out under the lock; the victim's files are read without it.
        let vref = {
            let reg = self.procs.registry();
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
                self.procs.remove(id, &mut self.poller);
                return Err(KillError::Gone);
            }
        };
        // Only this thread removes records, so it is still there.
        let rec = self.procs.remove(id, &mut self.poller).expect("looked up above");
        if rec.watchdog_killed {
            return Err(KillError::Gone);
        }
        let Some(pidfd) = rec.pidfd else { return Err(KillError::Gone) };
        // Taken now, even if the kill then fails: a worker may already report under it, and a
        // later kill must never reuse the number (its reports would be mixed up).
        let seq = self.kill_seq + 1;
        self.kill_seq = seq;
        let dup = vref.pidfd;
        let mut reap = false;
        let killed_at;
        // An idle worker signals and reaps in one go (see `reaper`); without one the signal goes
        // out from here and the reap waits in the pool's queue.
        let worker_kills = self.reaper.enabled();
        let mut job = dup.map(|fd| ReapJob { seq, pid: victim.pid, pidfd: fd, signalled_at: None });
        let mut worker_signalled = false;
        if worker_kills {
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
        if worker_signalled {
            killed_at = Instant::now();
        } else {
            // No worker was idle, or it did not deliver the signal within the budget: send it
            // from here (after a handover the worker's own signal, if it comes, is harmless).
            killed_at = Instant::now();
            self.signal(&pidfd, victim.pid)?;
            if let Some(j) = job {
                reap =
                    self.reaper.submit_reap(ReapJob { signalled_at: Some(killed_at), ..j }).is_ok();
            }
        }
        // Read after the signal so as not to delay it; the victim has hardly begun to exit.
        let free_before = self.reaper.free_kb();
        self.procs.registry().count_kill(victim.adj);
        report::log_kill(&victim, ctx);
        let uptime_ms = i64::try_from(self.started.elapsed().as_millis()).unwrap_or(i64::MAX);
        let mut record = KillRecord::new(seq, wall_ms(), uptime_ms, &victim, ctx, free_before);
        if !reap {
            record.outcome = Some(ReapOutcome::NotReaped);
        }
        let wake_at = pressure.then_some(self.wake_at);
        // A worker's signal time arrives with its report (`on_signalled`).
        if let (Some(w), false) = (wake_at, worker_signalled) {
            record.wake_to_kill_us =
                i64::try_from(killed_at.saturating_duration_since(w).as_micros())
                    .unwrap_or(i64::MAX);
        }
        self.history.push(record);
        let now = Instant::now();
        self.server.broadcast(LMK_ASYNC_EVENT_KILL, &report::prockill(&victim), now);
        if self.config.log_stats {
            let mut buf = [0u8; LMKD_REPLY_MAX_SIZE];
            let n = report::kill_stat(&victim, ctx, &mut buf);
            self.server.broadcast(LMK_ASYNC_EVENT_STAT, &buf[..n], now);
        }
        #[cfg(aosp_build)]
        crate::android::write_killinfo(&crate::report::killinfo::KillInfo {
            pid: victim.pid,
            uid: victim.uid,
            oom_score_adj: victim.adj,
            min_oom_score_adj: ctx.min_adj,
            task_size_kb: victim.rss_kb,
            kill_reason: ctx.reason.code(),
            meminfo: self.snap.meminfo,
            skipped_wakeups: i64::try_from(self.stats.skipped).unwrap_or(i64::MAX),
            task_swap_kb: victim.swap_kb,
            thrashing: ctx.thrashing,
            max_thrashing: ctx.max_thrashing,
            psi_mem_some: self.snap.psi.some.avg10 as f32 / 100.0,
            psi_mem_full: self.snap.psi.full.avg10 as f32 / 100.0,
            ..Default::default()
        });
        self.track(InFlight { seq, pid: victim.pid, pidfd, killed_at, pressure, wake_at });
        Ok(KillSent { seq })
    }

    /// SIGKILL from the main thread, through the pidfd.
    fn signal(&self, pidfd: &OwnedFd, pid: i32) -> Result<(), KillError> {
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

    /// Watches a killed process's pidfd until it dies.
    fn track(&mut self, k: InFlight) {
        let kills = &mut self.kills;
        let slot = match kills.slots.iter().position(Option::is_none) {
            Some(s) => s,
            None => {
                // Full: stop waiting for the oldest.
                let oldest = (0..MAX_IN_FLIGHT)
                    .min_by_key(|&i| kills.slots[i].as_ref().map_or(0, |k| k.seq))
                    .unwrap_or(0);
                if let Some(old) = kills.slots[oldest].take() {
                    let _ = self.poller.delete(&old.pidfd);
                }
                oldest
            }
        };
        kills.generations[slot] = kills.generations[slot].wrapping_add(1);
        let token = Token::KillDone { slot: slot as u8, generation: kills.generations[slot] };
        if crate::fault::check(crate::fault::Site::PidfdWait, "").is_some() {
            // Injected: a pidfd that never signals. The wait ends by its timeout or cap.
            kills.slots[slot] = Some(k);
            return;
        }
        if let Err(e) = self.poller.add(&k.pidfd, token, EventFlags::IN) {
            warn!("cannot wait for the death of pid {}: {e}", k.pid);
            return;
        }
        kills.slots[slot] = Some(k);
    }

    /// A killed process died.
    pub(crate) fn on_kill_done(&mut self, slot: u8, generation: u32) {
        if self.kills.get(slot, generation).is_none() {
            return;
        }
        let Some(k) = self.kills.slots[usize::from(slot)].take() else { return };
        let _ = self.poller.delete(&k.pidfd);
        let elapsed = k.killed_at.elapsed();
        if self.config.debug {
            info!("Process got killed in {}ms", elapsed.as_millis());
        }
        if k.pressure {
            self.on_pressure_victim_dead();
        }
        let free_now = if self.reaper.enabled() { None } else { self.reaper.free_kb() };
        if let Some(r) = self.history.get_mut(k.seq) {
            r.death_us = i64::try_from(elapsed.as_micros()).unwrap_or(i64::MAX);
            if r.outcome == Some(ReapOutcome::NotReaped) {
                r.set_free_after(free_now);
            }
        }
    }

    /// Stops waiting for the latest pressure kill after `kill_timeout_ms` (AOSP §5.4).
    pub(crate) fn expire_kill_wait(&mut self, now: Instant) -> bool {
        let Some(k) = self.kills.pressure_kill() else { return false };
        let timeout =
            Duration::from_millis(u64::try_from(self.config.kill_timeout_ms).unwrap_or(0));
        let capped = timeout.is_zero();
        let limit = if capped { KILL_WAIT_CAP } else { timeout };
        if now.saturating_duration_since(k.killed_at) < limit {
            return false;
        }
        if capped {
            warn!(
                "pid {} has not died {} ms after SIGKILL; no longer waiting for it",
                k.pid,
                now.saturating_duration_since(k.killed_at).as_millis()
            );
        } else if self.config.debug {
            info!(
                "Stop waiting for process kill after {}ms",
                now.saturating_duration_since(k.killed_at).as_millis()
            );
        }
        // Keep watching for the death (for the report), but no longer as the decision's wait.
        let seq = k.seq;
        for s in self.kills.slots.iter_mut().flatten() {
            if s.seq == seq {
                s.pressure = false;
            }
        }
        true
    }

    /// The watchdog killed while the loop was stuck: drop the records and report the kills
    /// (the watchdog itself logged them and counted them).
    pub(crate) fn on_watchdog(&mut self) {
        let lost = self.watchdog.take_kills(&mut self.watchdog_kills);
        if lost > 0 {
            warn!("{lost} watchdog kills were not reported (the loop was stuck too long)");
        }
        let mut kills = std::mem::take(&mut self.watchdog_kills);
        for k in kills.drain(..) {
            self.report_watchdog_kill(&k);
        }
        self.watchdog_kills = kills;
    }

    fn report_watchdog_kill(&mut self, k: &WatchdogKill) {
        let still_there = self.procs.registry().get(k.id).is_some_and(|r| r.watchdog_killed);
        if still_there {
            self.procs.remove(k.id, &mut self.poller);
        }
        // The watchdog reads nothing of the victim (that may be what the loop is stuck on).
        let victim = report::Victim {
            pid: k.pid,
            uid: k.uid,
            adj: k.adj,
            name: crate::protocol::StatName::new(b""),
            rss_kb: 0,
            swap_kb: 0,
            faults: None,
        };
        let ctx = KillContext {
            reason_text: report::ReasonText::format(format_args!(
                "lmkd watchdog (loop stuck for {} ms)",
                k.stuck_for.as_millis()
            )),
            ..KillContext::default()
        };
        let seq = self.kill_seq + 1;
        self.kill_seq = seq;
        let uptime_ms = i64::try_from(self.started.elapsed().as_millis()).unwrap_or(i64::MAX);
        let mut record = KillRecord::new(seq, wall_ms(), uptime_ms, &victim, &ctx, None);
        record.outcome = Some(if k.reaped { ReapOutcome::Reaped } else { ReapOutcome::NotReaped });
        self.history.push(record);
        self.server.broadcast(LMK_ASYNC_EVENT_KILL, &report::prockill(&victim), Instant::now());
    }

    /// The reaper pool has reports.
    pub(crate) fn on_reaper_done(&mut self) {
        let mut reports = std::mem::take(&mut self.reap_reports);
        self.reaper.take_reports(&mut reports);
        for r in reports.drain(..) {
            match r {
                WorkerReport::Signalled { seq, result, at, .. } => {
                    self.on_signalled(seq, result, at)
                }
                WorkerReport::Reaped(r) => self.on_reaped(&r),
            }
        }
        self.reap_reports = reports;
    }

    fn on_signalled(&mut self, seq: u64, result: Result<(), i32>, at: Instant) {
        // A failed worker signal needs nothing here: the loop sent SIGKILL itself when the
        // worker did not deliver it in time.
        if result.is_err() {
            return;
        }
        let wake_at =
            self.kills.slots.iter().flatten().find(|k| k.seq == seq).and_then(|k| k.wake_at);
        if let (Some(w), Some(rec)) = (wake_at, self.history.get_mut(seq)) {
            rec.wake_to_kill_us =
                i64::try_from(at.saturating_duration_since(w).as_micros()).unwrap_or(i64::MAX);
        }
    }

    fn on_reaped(&mut self, r: &ReapResult) {
        let ms = r.kill_to_reaped.as_millis();
        match r.outcome {
            ReapOutcome::Reaped => {
                if self.config.debug {
                    info!("Process {} was reaped in {ms}ms", r.pid);
                }
            }
            ReapOutcome::AlreadyExited | ReapOutcome::NotDying => {
                if self.config.debug {
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
            rec.reap_us = i64::try_from(r.kill_to_reaped.as_micros()).unwrap_or(i64::MAX);
            rec.cpu = r.cpu;
            rec.set_free_after(r.free_after_kb);
        }
    }
}
