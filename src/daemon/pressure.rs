//! Pressure monitors, the polling window and the kill decision, as the daemon runs them.

use std::fmt::Write as _;
use std::io::Write as _;
use std::os::fd::OwnedFd;

use log::{debug, error, info, warn};
use rustix::event::epoll::EventFlags;

use super::Daemon;
use crate::event::Token;
use crate::memory::{KernelFile, Watermarks};
use crate::policy::legacy::{self, LegacyOutcome, MemcgUsage};
use crate::policy::psi_strategy::{self, WatermarkSource, WATERMARK_REFRESH_MS};
use crate::policy::{trace, victim, KillDecision, Source, Wakeup};
use crate::pressure::poll::{PollUpdate, SHORT_INTERVAL_MS};
use crate::pressure::psi::{self, Stall, Trigger};
use crate::pressure::{vmpressure, Level};
use crate::procs::{procfs, RecordId};
use crate::report::KillContext;

/// The monitors in force.
#[derive(Debug, Default)]
pub(crate) enum Monitors {
    /// None (delayed until boot, or unavailable).
    #[default]
    None,
    /// PSI triggers by level (the new strategy has no low trigger).
    Psi([Option<OwnedFd>; 3]),
    /// vmpressure eventfds by level.
    Vmpressure([Option<vmpressure::Monitor>; 3]),
}

impl Monitors {
    pub fn source(&self) -> Option<Source> {
        match self {
            Monitors::None => None,
            Monitors::Psi(_) => Some(Source::Psi),
            Monitors::Vmpressure(_) => Some(Source::Vmpressure),
        }
    }
}

/// Counters of the pressure side (for status reports and the benchmark).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PressureStats {
    /// Events per level.
    pub events: [u64; 3],
    /// Polls.
    pub polls: u64,
    /// Wake-ups skipped while a kill was awaited.
    pub skipped: u64,
    /// Decisions that asked for a kill.
    pub kill_decisions: u64,
    /// Decisions that found nobody to kill.
    pub no_victim: u64,
}

/// The daemon's watermark cache, refreshed every 60 s or on demand.
pub(crate) struct WatermarkCache<'a> {
    pub domain: &'a mut crate::memory::Domain,
    pub cached: &'a mut Option<(Watermarks, u64)>,
}

impl WatermarkSource for WatermarkCache<'_> {
    fn watermarks(&mut self, force: bool, now_ms: u64) -> Option<Watermarks> {
        let stale =
            self.cached.is_none_or(|(_, at)| now_ms.saturating_sub(at) > WATERMARK_REFRESH_MS);
        if force || stale {
            match self.domain.watermarks() {
                Ok(w) => *self.cached = Some((w, now_ms)),
                Err(e) => {
                    error!("Failed to parse zoneinfo: {e}");
                    if self.cached.is_none() {
                        return None;
                    }
                }
            }
        }
        self.cached.map(|(w, _)| w)
    }
}

fn triggers(cfg: &crate::config::Config) -> [Option<Trigger>; 3] {
    let w = u64::try_from(cfg.psi_window_ms).unwrap_or(1000);
    let t = |stall, ms: i64| {
        Some(Trigger {
            stall,
            threshold_ms: u64::try_from(ms).unwrap_or(0).clamp(1, w),
            window_ms: w,
        })
    };
    if cfg.use_new_strategy {
        // The new strategy registers no low trigger.
        [None, t(Stall::Some, cfg.psi_partial_stall_ms), t(Stall::Full, cfg.psi_complete_stall_ms)]
    } else {
        [t(Stall::Some, 70), t(Stall::Some, 100), t(Stall::Full, 70)]
    }
}

impl Daemon {
    /// Milliseconds on the daemon's monotonic clock.
    pub(crate) fn now_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Creates the monitors (AOSP's `init_monitors`, reference §4.1): PSI if enabled and
    /// available, else vmpressure. On failure the monitors in force are kept.
    pub(crate) fn init_monitors(&mut self) -> Result<(), String> {
        let new = if self.config.use_psi {
            match self.make_psi() {
                Ok(m) => Some(m),
                Err(e) => {
                    warn!("PSI monitors unavailable: {e}");
                    None
                }
            }
        } else {
            None
        };
        let new = match new {
            Some(m) => {
                info!("Using psi monitors for memory pressure detection");
                m
            }
            None => match self.make_vmpressure() {
                Ok(m) => {
                    info!("Using vmpressure for memory pressure detection");
                    m
                }
                Err(e) => {
                    let msg = format!("Kernel does not support memory pressure events or in-kernel low memory killer ({e})");
                    error!("{msg}");
                    return Err(msg);
                }
            },
        };
        self.drop_monitors();
        let token_flags = |m: &Monitors| {
            if matches!(m, Monitors::Psi(_)) {
                EventFlags::PRI
            } else {
                EventFlags::IN
            }
        };
        let flags = token_flags(&new);
        match &new {
            Monitors::Psi(fds) => {
                for (i, fd) in fds.iter().enumerate() {
                    if let Some(fd) = fd {
                        self.poller
                            .add(fd, Token::Pressure(i as u8), flags)
                            .map_err(|e| e.to_string())?;
                    }
                }
            }
            Monitors::Vmpressure(mons) => {
                for (i, m) in mons.iter().enumerate() {
                    if let Some(m) = m {
                        self.poller
                            .add(m.fd(), Token::Pressure(i as u8), flags)
                            .map_err(|e| e.to_string())?;
                    }
                }
            }
            Monitors::None => {}
        }
        self.monitors = new;
        self.psi_state = psi_strategy::PsiState::new(&self.config);
        self.legacy_state = legacy::LegacyState::default();
        self.poll = crate::pressure::poll::PollWindow::new(self.poll_window_ms);
        info!("Wakeup counter is reset from {} to 0", self.wakeups);
        self.wakeups = 0;
        self.monitors_started = true;
        Ok(())
    }

    fn drop_monitors(&mut self) {
        match std::mem::take(&mut self.monitors) {
            Monitors::Psi(fds) => {
                for fd in fds.iter().flatten() {
                    let _ = self.poller.delete(fd);
                }
            }
            Monitors::Vmpressure(mons) => {
                for m in mons.iter().flatten() {
                    let _ = self.poller.delete(m.fd());
                }
            }
            Monitors::None => {}
        }
    }

    fn make_psi(&mut self) -> Result<Monitors, String> {
        if !self.config.use_new_strategy && self.domain.vmpressure_dir().is_none() {
            return Err("Old kill strategy can only be used with v1 cgroup hierarchy".to_owned());
        }
        let path = self.domain.psi_path();
        let mut fds: [Option<OwnedFd>; 3] = [None, None, None];
        let mut window = u64::try_from(self.config.psi_window_ms).unwrap_or(1000);
        for (i, t) in triggers(&self.config).iter().enumerate() {
            let Some(t) = t else { continue };
            let (fd, fallback) = psi::register_with_fallback(&path, t)
                .map_err(|e| format!("{}: {e}", path.display()))?;
            if let Some(f) = fallback {
                window = f.window_ms;
                if !self.psi_fallback_logged {
                    self.psi_fallback_logged = true;
                    warn!(
                        "PSI trigger window of {} ms refused by the kernel (no CAP_SYS_RESOURCE?); using {} ms windows with the same stall share",
                        t.window_ms, f.window_ms
                    );
                }
            }
            debug!("PSI trigger {} on {}", t.text().trim_end_matches('\0'), path.display());
            fds[i] = Some(fd);
        }
        self.poll_window_ms = window;
        info!("PSI triggers on {} with {} ms windows", path.display(), window);
        Ok(Monitors::Psi(fds))
    }

    fn make_vmpressure(&mut self) -> Result<Monitors, String> {
        let dir = self.domain.vmpressure_dir().ok_or("no memory cgroup v1 for vmpressure")?;
        let mut mons: [Option<vmpressure::Monitor>; 3] = [None, None, None];
        for level in Level::ALL {
            mons[level as usize] = Some(
                vmpressure::register(&dir, level).map_err(|e| format!("{}: {e}", dir.display()))?,
            );
        }
        self.poll_window_ms = crate::pressure::poll::WINDOW_MS;
        Ok(Monitors::Vmpressure(mons))
    }

    /// A monitor fired.
    pub(crate) fn on_pressure(&mut self, index: u8, flags: EventFlags) {
        let Some(level) = Level::from_index(usize::from(index)) else { return };
        if flags.intersects(EventFlags::ERR | EventFlags::HUP) {
            error!("{} pressure monitor failed; re-creating the monitors", level.name());
            self.drop_monitors();
            if self.init_monitors().is_err() {
                error!("no pressure monitors: kills on pressure stop until LMK_UPDATE_PROPS");
            }
            return;
        }
        let (source, level) = match &self.monitors {
            Monitors::Psi(_) => (Source::Psi, level),
            Monitors::Vmpressure(mons) => {
                // AOSP reads every level's eventfd and takes the highest that fired.
                let mut highest = None;
                for m in mons.iter().flatten() {
                    if m.take() > 0 {
                        highest = Some(m.level);
                    }
                }
                match highest {
                    Some(l) => (Source::Vmpressure, l),
                    None => return,
                }
            }
            Monitors::None => return,
        };
        self.stats.events[level as usize] += 1;
        if self.config.debug {
            info!(
                "{} memory pressure event #{} is triggered",
                level.name(),
                self.stats.events[level as usize]
            );
        }
        if self.poll.active() && level < self.last_event_level {
            if self.config.debug {
                info!("{} pressure event is ignored since it occurred too soon", level.name());
            }
            return;
        }
        self.last_event_level = level;
        let wake = Wakeup { source, level, event: true };
        self.poll_wake = Wakeup { event: false, ..wake };
        self.run_cycle(wake);
    }

    /// The `LMK_EXT_TEST_PRESSURE` hook: a pressure event at `level`, as the running monitors
    /// would deliver it.
    pub(crate) fn test_pressure(&mut self, level: i32) {
        let Some(l) = usize::try_from(level).ok().and_then(Level::from_index) else {
            warn!("test hook: no pressure level {level}");
            return;
        };
        match &self.monitors {
            Monitors::Vmpressure(mons) => {
                match mons.iter().flatten().find(|m| m.level == l).map(|m| m.poke()) {
                    Some(Ok(())) => {}
                    Some(Err(e)) => warn!("test hook: cannot signal the {} monitor: {e}", l.name()),
                    None => warn!("test hook: no {} vmpressure monitor", l.name()),
                }
            }
            Monitors::Psi(_) => self.dispatch(crate::event::Ready {
                token: crate::event::Token::Pressure(l as u8),
                flags: EventFlags::IN,
            }),
            Monitors::None => warn!("test hook: no pressure monitors"),
        }
    }

    /// A poll of the polling window is due.
    pub(crate) fn on_poll(&mut self) {
        self.stats.polls += 1;
        self.last_event_level = Level::Low;
        let wake = self.poll_wake;
        self.run_cycle(wake);
    }

    /// Whether the decision must wait for the last pressure kill (reference §5.4): the new
    /// strategy waits until the death or `kill_timeout_ms` (0: for the death); the old one waits
    /// only with a non-zero timeout.
    pub(crate) fn pressure_kill_pending(&self) -> bool {
        let Some(k) = self.kills.pressure_kill() else { return false };
        let timeout = u64::try_from(self.config.kill_timeout_ms).unwrap_or(0);
        let elapsed = u64::try_from(k.killed_at.elapsed().as_millis()).unwrap_or(u64::MAX);
        if self.config.use_new_strategy && self.monitors.source() == Some(Source::Psi) {
            let cap = u64::try_from(super::kill::KILL_WAIT_CAP.as_millis()).unwrap_or(u64::MAX);
            (timeout == 0 && elapsed < cap) || elapsed < timeout
        } else {
            timeout > 0 && elapsed < timeout
        }
    }

    /// One decision cycle: skip while a kill is awaited, read a snapshot, decide, kill.
    fn run_cycle(&mut self, wake: Wakeup) {
        let now = self.now_ms();
        self.wakeups += 1;
        let pending = self.pressure_kill_pending();
        if pending {
            self.stats.skipped += 1;
            self.skipped_since_kill += 1;
            self.record_wake(now, wake, true, &Watermarks::default(), MemcgUsage::default());
            self.poll.update(PollUpdate::Pause, SHORT_INTERVAL_MS, now);
            return;
        }
        if self.skipped_since_kill > 0 {
            info!("{} memory pressure events were skipped after a kill!", self.skipped_since_kill);
            self.skipped_since_kill = 0;
        }
        if let Err(e) = self.domain.snapshot(&mut self.snap) {
            if let Some(n) = self.snapshot_errors.check(std::time::Instant::now()) {
                error!("Failed to read memory state: {e} ({n} similar errors suppressed)");
            }
            self.poll.update(PollUpdate::DoNotChange, self.poll.interval_ms(), now);
            return;
        }
        let page_kb = self.page_kb;
        let new_strategy = self.config.use_new_strategy && wake.source == Source::Psi;
        let (kill, update, interval, wmarks, usage) = if new_strategy {
            let mut wm = WatermarkCache { domain: &mut self.domain, cached: &mut self.watermarks };
            let c = psi_strategy::decide(
                &mut self.psi_state,
                &self.config,
                &self.snap,
                wake,
                &mut wm,
                now,
                page_kb,
            );
            (
                c.kill,
                c.poll,
                c.interval_ms,
                self.watermarks.map(|w| w.0).unwrap_or_default(),
                MemcgUsage::default(),
            )
        } else {
            let w = WatermarkCache { domain: &mut self.domain, cached: &mut self.watermarks }
                .watermarks(false, now)
                .unwrap_or_default();
            let usage = self.memcg_usage();
            let inputs = legacy::Inputs {
                snapshot: &self.snap,
                wake,
                totalreserve_pages: w.totalreserve,
                target: &self.target,
                usage,
                page_kb,
            };
            let out = legacy::decide(&mut self.legacy_state, &self.config, &inputs);
            // The old strategy polls after an event (on PSI), at 10 ms.
            let update = if wake.event && wake.source == Source::Psi {
                PollUpdate::Start
            } else {
                PollUpdate::DoNotChange
            };
            match out {
                LegacyOutcome::Kill(k) => (Some(k), update, SHORT_INTERVAL_MS, w, usage),
                LegacyOutcome::Ignore(why) => {
                    if self.config.debug {
                        info!("Ignore {} memory pressure event: {why}", wake.level.name());
                    }
                    (None, update, SHORT_INTERVAL_MS, w, usage)
                }
            }
        };
        self.record_wake(now, wake, false, &wmarks, usage);
        let mut update = update;
        let mut interval = interval;
        if let Some(k) = kill {
            self.stats.kill_decisions += 1;
            let killed = self.find_and_kill(&k);
            if new_strategy {
                psi_strategy::after_kill(&mut self.psi_state, &self.config, &k, killed.is_some());
            } else if killed.is_some() {
                info!("Reclaimed {}kB at oom_score_adj {}", killed.unwrap_or(0), k.min_adj);
            }
            self.record_line(format_args!("decision t={now} {}", trace::DecisionText(Some(&k))));
            self.record_line(format_args!("killed t={now} ok={}", u8::from(killed.is_some())));
            if killed.is_some() {
                update = PollUpdate::Start;
                interval = SHORT_INTERVAL_MS;
            }
        }
        if self.kills.pressure_kill().is_some() && self.pressure_kill_pending() {
            update = PollUpdate::Pause;
        }
        self.poll.update(update, interval, now);
    }

    /// Walks the registry from adj 1000 down to the decision's min adj and kills one process.
    /// Returns the victim's RSS in kB.
    fn find_and_kill(&mut self, d: &KillDecision) -> Option<i64> {
        let ctx = KillContext {
            reason: d.reason,
            reason_text: d.text,
            min_adj: d.min_adj,
            free_mem_kb: self.snap.meminfo.mem_free,
            free_swap_kb: d.free_swap_kb,
            thrashing: d.thrashing,
            max_thrashing: d.max_thrashing,
            requested_by: 0,
            client_reason: 0,
        };
        let heaviest = self.config.kill_heaviest_task;
        // Records that could not be killed this time (kept, but not tried again now).
        let mut skip = [RecordId::from_bits(u64::MAX); 8];
        for adj in victim::levels(d.min_adj) {
            let mut skipped = 0;
            loop {
                // The guard is a temporary of this statement: the lock is free for the kill.
                let picked = victim::pick(
                    &self.procs.registry(),
                    adj,
                    heaviest,
                    &skip[..skipped],
                    &mut statm_pages,
                );
                let Some(id) = picked else { break };
                match self.kill_record(id, &ctx, true) {
                    Ok(sent) => {
                        return Some(self.history.get_mut(sent.seq).map_or(0, |r| r.rss_kb))
                    }
                    Err(super::KillError::Gone) => continue,
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
        self.stats.no_victim += 1;
        if let Some(n) = self.no_victim_log.check(std::time::Instant::now()) {
            warn!(
                "No process to kill at oom_score_adj {} or above ({n} similar reports suppressed)",
                d.min_adj
            );
        }
        None
    }

    fn memcg_usage(&mut self) -> MemcgUsage {
        let Some((mem, memsw)) = &mut self.usage_files else { return MemcgUsage::default() };
        MemcgUsage {
            mem: mem.number().ok().flatten(),
            memsw: memsw.as_mut().and_then(|f| f.number().ok().flatten()),
        }
    }

    /// Opens the memory cgroup usage files the old strategy compares (root memcg, or the
    /// domain's group).
    pub(crate) fn open_usage_files(&mut self) {
        self.usage_files = self.domain.vmpressure_dir().and_then(|d| {
            let mem =
                KernelFile::open("memory.usage_in_bytes", &d.join("memory.usage_in_bytes")).ok()?;
            let memsw = KernelFile::open(
                "memory.memsw.usage_in_bytes",
                &d.join("memory.memsw.usage_in_bytes"),
            )
            .ok();
            Some((mem, memsw))
        });
    }

    fn record_wake(
        &mut self,
        now: u64,
        wake: Wakeup,
        pending: bool,
        w: &Watermarks,
        usage: MemcgUsage,
    ) {
        if self.trace.is_some() {
            let line = trace::wake_line(now, wake, pending, &self.snap, w, usage);
            self.record_line(format_args!("{line}"));
        }
    }

    pub(crate) fn record_line(&mut self, args: std::fmt::Arguments<'_>) {
        let Some(t) = &mut self.trace else { return };
        let mut s = String::new();
        let _ = s.write_fmt(args);
        s.push('\n');
        if let Err(e) = t.write_all(s.as_bytes()) {
            error!("cannot write the trace: {e}; recording stops");
            self.trace = None;
        }
    }

    /// Timers: the kill wait's timeout and the polling window.
    pub(crate) fn on_pressure_timers(&mut self) {
        let now = self.now_ms();
        if self.expire_kill_wait(std::time::Instant::now()) {
            self.poll.resume_if_paused(now);
        }
        if self.poll.due(now) {
            self.on_poll();
        }
    }

    /// The victim of the last pressure kill died: resume polling at once.
    pub(crate) fn on_pressure_victim_dead(&mut self) {
        let now = self.now_ms();
        self.poll.resume_if_paused(now);
    }
}

/// Resident pages of a process (`/proc/<pid>/statm`, second field), for the heaviest pick.
fn statm_pages(pid: i32) -> Option<u64> {
    let mut buf = [0u8; 128];
    let s = procfs::read_proc_file(pid, "statm", &mut buf).ok()?;
    let field = s.split(|&b| b == b' ').nth(1)?;
    std::str::from_utf8(field).ok()?.trim().parse().ok()
}

/// The configuration as trace `prop` lines.
pub(crate) fn config_props(cfg: &crate::config::Config) -> Vec<String> {
    cfg.to_properties()
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("prop {k}={v}"))
        .collect()
}
