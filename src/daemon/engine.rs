//! The pressure engine: what the daemon knows about memory and when it decides to kill.
//!
//! It owns the wake-up sources (PSI triggers or vmpressure eventfds), the memory domain and its
//! snapshot, the watermark cache, both strategies' state, the polling window and the decision
//! trace. The loop calls [`PressureEngine::on_wake`] for every wake-up — a monitor's event, a
//! due poll, a test hook's event — and that one entry point reads the snapshot, refreshes what
//! the decision needs (the watermarks, the memory cgroup usage), asks the pure policy, has the
//! kill pipeline carry out at most one kill through [`Killer`], and decides the next poll: the
//! only place that does.

use std::fmt::Write as _;
use std::io::Write as _;
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use log::{debug, error, info, warn};
use rustix::event::epoll::EventFlags;

use crate::clock::Clock;
use crate::config::Config;
use crate::event::{Poller, Token};
use crate::kill::KillContext;
use crate::memory::{demand_kb, headroom_kb, Domain, KernelFile, Snapshot, Watermarks};
use crate::policy::legacy::{self, LegacyOutcome, MemcgUsage};
use crate::policy::predict::{self, Predictor, Verdict as Forecasted, SAMPLE_MS};
use crate::policy::psi_strategy::{self, ReclaimEvents, VendorKill, WATERMARK_REFRESH_MS};
use crate::policy::{
    trace, KillDecision, Level, PollUpdate, Source, Wakeup, SHORT_INTERVAL_MS, WINDOW_MS,
};
use crate::pressure::events::MemoryEvents;
use crate::pressure::memevents::{self, Listener, MemEvent};
use crate::pressure::psi::{self, Stall, Trigger};
use crate::pressure::threshold::{ThresholdFiles, UsageThreshold};
use crate::pressure::vmpressure;
use crate::protocol::TargetTable;
use crate::ratelimit::RateLimit;

/// Why the pressure monitors could not be set up.
#[derive(Debug)]
pub enum MonitorError {
    /// Old kill strategy can only be used with v1 cgroup hierarchy
    OldStrategyNeedsV1,
    /// PSI triggers could not be registered on the domain's pressure file
    Psi(PathBuf, std::io::Error),
    /// no memory cgroup v1 for vmpressure
    NoVmpressureCgroup,
    /// vmpressure events could not be registered on the memory cgroup
    Vmpressure(PathBuf, std::io::Error),
    /// Kernel does not support memory pressure events or in-kernel low memory killer
    Unsupported(Box<MonitorError>),
    /// a monitor could not be added to the event loop
    Epoll(std::io::Error),
}

impl std::fmt::Display for MonitorError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MonitorError::OldStrategyNeedsV1 => {
                f.write_str("Old kill strategy can only be used with v1 cgroup hierarchy")
            }
            MonitorError::Psi(p, e) => write!(f, "{}: {e}", p.display()),
            MonitorError::NoVmpressureCgroup => f.write_str("no memory cgroup v1 for vmpressure"),
            MonitorError::Vmpressure(p, e) => write!(f, "{}: {e}", p.display()),
            MonitorError::Unsupported(e) => write!(
                f,
                "Kernel does not support memory pressure events or in-kernel low memory killer ({e})"
            ),
            MonitorError::Epoll(e) => write!(f, "cannot add a monitor to the event loop: {e}"),
        }
    }
}

impl std::error::Error for MonitorError {}

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
    fn source(&self) -> Option<Source> {
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
    /// Early-warning wake-ups (usage thresholds, vmpressure `low`, the short-window PSI).
    pub early_wakes: u64,
    /// Samples of the headroom watch.
    pub samples: u64,
    /// Kills of the predictive rule.
    pub predictive_kills: u64,
}

/// What woke the engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Wake {
    /// The monitor of this level index fired (with epoll's flags).
    Monitor(u8, EventFlags),
    /// A timer is due: a poll of the polling window, a sample of the headroom watch, the end
    /// of a snooze.
    Timers,
    /// An early-warning source fired: [`EARLY_THRESHOLD`], [`EARLY_LOW`], [`EARLY_PSI`] or
    /// [`EARLY_EVENTS`].
    Early(u8),
    /// The memevents ring buffer has records (with epoll's flags).
    MemEvents(EventFlags),
}

/// The early-warning source kinds (`Token::Early`).
pub(crate) const EARLY_THRESHOLD: u8 = 0;
/// vmpressure `low` on the domain's memory cgroup.
pub(crate) const EARLY_LOW: u8 = 1;
/// PSI at the shortest window the kernel grants (the system domain, a cgroup v2 domain).
pub(crate) const EARLY_PSI: u8 = 2;
/// A cgroup v2 memory domain's `memory.events` changed.
pub(crate) const EARLY_EVENTS: u8 = 3;

/// How long vmpressure `low` is not listened to after a watch found the headroom comfortable:
/// a group full of clean page cache reclaims all the time, and each reclaim would wake the
/// daemon for nothing.
const LOW_SNOOZE_MS: u64 = 1000;

/// The early-warning sources and the headroom watch (`ro.lmk.predictive_kill`).
#[derive(Debug, Default)]
struct Early {
    on: bool,
    /// A memory cgroup v1 domain's usage and control files (thresholds are registered there).
    threshold_files: Option<ThresholdFiles>,
    /// Its usage threshold.
    threshold: Option<UsageThreshold>,
    /// vmpressure `low` on the domain's memory cgroup v1 (PSI mode; in vmpressure mode the
    /// monitors' own `low` starts the watch).
    low: Option<vmpressure::Monitor>,
    /// `low` is out of the epoll set until this time (ms).
    low_snoozed_until: Option<u64>,
    /// The short-window PSI trigger of the system domain or a cgroup v2 domain.
    psi: Option<OwnedFd>,
    /// A cgroup v2 domain's `memory.events`.
    events: Option<MemoryEvents>,
    /// The next sample of the watch (ms), while watching.
    next_sample_ms: Option<u64>,
    predictor: Predictor,
}

/// The longest wait between two looks at `bpf.progs_loaded` while memevents wait for the BPF
/// loader (the first wait is 1 s; each doubles).
const MEMEVENTS_RETRY_MAX_MS: u64 = 60_000;

/// Where the memevents listener's set-up stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum MemeventsStart {
    /// Not asked yet (boot not completed).
    NotAsked,
    /// Waiting for the BPF loader: the next look and the wait after it.
    Waiting {
        /// When to look again (ms).
        next_ms: u64,
        /// The wait after that look.
        delay_ms: u64,
    },
    /// Set up, or given up for vmstat.
    Done,
}

/// The BPF memevents (Android 15 and later, reference §4.7): the listener once set up and the
/// reclaim state its events report.
#[derive(Debug)]
struct Memevents {
    paths: memevents::Paths,
    listener: Option<Listener>,
    start: MemeventsStart,
    reclaim: ReclaimEvents,
    /// The kernel reports reserve changes (`UPDATE_ZONEINFO`): the 60 s refresh stops.
    zoneinfo_events: bool,
    /// Records refused (bad length or type) or vendor requests out of range.
    bad: u64,
    bad_log: RateLimit,
    /// Events handled, by kind.
    counts: [u64; memevents::KINDS],
}

impl Default for Memevents {
    fn default() -> Memevents {
        Memevents {
            paths: memevents::Paths::default(),
            listener: None,
            start: MemeventsStart::NotAsked,
            reclaim: ReclaimEvents::default(),
            zoneinfo_events: false,
            bad: 0,
            bad_log: RateLimit::new(Duration::from_secs(10)),
            counts: [0; memevents::KINDS],
        }
    }
}

/// What the engine is told about the world at a wake-up.
#[derive(Clone, Copy)]
pub(crate) struct Env<'a> {
    /// The configuration in force.
    pub config: &'a Config,
    /// ActivityManager's minfree table.
    pub target: &'a TargetTable,
    /// Now.
    pub now: Instant,
    /// The start of the loop's round (a kill's wake-up time).
    pub wake_at: Instant,
    /// When the latest pressure kill's victim is still awaited: the kill's time.
    pub awaited_kill: Option<Instant>,
}

/// A kill the engine orders.
pub(crate) struct KillOrder<'a> {
    /// The decision.
    pub decision: &'a KillDecision,
    /// What the report says of it.
    pub ctx: KillContext,
    /// The wake-up that led to it.
    pub wake_at: Instant,
    /// When it was decided, in ms on the daemon's clock (the trace's time).
    pub decided_ms: u64,
    /// The snapshot it was decided on (for the device's killinfo event).
    pub snapshot: &'a Snapshot,
    /// Wake-ups skipped while waiting for kills so far.
    pub skipped: u64,
}

/// Carries out the engine's kill orders (the kill pipeline, in the daemon).
pub(crate) trait Killer {
    /// Kills one registered process at or above `order.decision.min_adj` (the victim choice
    /// is the killer's, with [`crate::policy::victim`]), recording each choice in `trace`.
    /// Returns the victim's resident size in kB, or `None` when nobody could be killed.
    fn kill(&mut self, order: &KillOrder<'_>, trace: &mut Recorder) -> Option<i64>;

    /// The daemon's kill → memory-back time, from its recent kills (see
    /// [`predict::kill_time_ms`]).
    fn kill_time_ms(&self) -> u64;
}

/// The decision trace (`lmkd --record FILE`): every input of every decision, as
/// [`crate::policy::trace`] lines.
#[derive(Debug, Default)]
pub(crate) struct Recorder {
    file: Option<std::fs::File>,
}

impl Recorder {
    /// A trace written to `path` (created or truncated).
    pub fn create(path: &std::path::Path) -> std::io::Result<Recorder> {
        Ok(Recorder { file: Some(std::fs::File::create(path)?) })
    }

    /// Whether a trace is being written.
    pub fn on(&self) -> bool {
        self.file.is_some()
    }

    /// Writes one line (a newline is added). Allocates: only while recording.
    pub fn line(&mut self, args: std::fmt::Arguments<'_>) {
        let Some(f) = &mut self.file else { return };
        let mut s = String::new();
        let _ = s.write_fmt(args);
        s.push('\n');
        if let Err(e) = f.write_all(s.as_bytes()) {
            error!("cannot write the trace: {e}; recording stops");
            self.file = None;
        }
    }
}

/// The pressure engine.
pub(crate) struct PressureEngine {
    clock: Clock,
    /// The engine's handle on the loop's epoll set, for its own sources.
    poller: Poller,
    domain: Domain,
    snap: Snapshot,
    /// The watermarks and when they were read.
    watermarks: Option<(Watermarks, Instant)>,
    page_kb: i64,
    monitors: Monitors,
    started: bool,
    psi_state: psi_strategy::PsiState,
    legacy_state: legacy::LegacyState,
    poll: PollWindow,
    poll_window_ms: u64,
    /// The wake-up polls repeat (the event that started the window).
    poll_wake: Wakeup,
    last_event_level: Level,
    wakeups: u64,
    stats: PressureStats,
    skipped_since_kill: u64,
    snapshot_errors: RateLimit,
    psi_fallback_logged: bool,
    usage_files: Option<(KernelFile, Option<KernelFile>)>,
    early: Early,
    mev: Memevents,
    trace: Recorder,
}

/// The PSI triggers for a configuration (AOSP's table, reference §4.2).
fn triggers(cfg: &Config) -> [Option<Trigger>; 3] {
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

/// The memory domain `config` names (`ro.lmk.memcg_domain`), or the system.
pub(crate) fn open_domain(config: &Config) -> std::io::Result<Domain> {
    match &config.memcg_domain {
        Some(path) => Domain::memcg(std::path::Path::new(path))
            .map_err(|e| std::io::Error::new(e.kind(), format!("ro.lmk.memcg_domain={path}: {e}"))),
        None => Domain::system(),
    }
}

impl PressureEngine {
    /// An engine on `domain`, without monitors yet, adding its sources to `poller`, recording
    /// to `trace`.
    pub fn new(domain: Domain, clock: Clock, trace: Recorder, poller: Poller) -> PressureEngine {
        let mut e = PressureEngine {
            clock,
            poller,
            domain,
            snap: Snapshot::default(),
            watermarks: None,
            page_kb: crate::memory::page_kb(),
            monitors: Monitors::None,
            started: false,
            psi_state: psi_strategy::PsiState::new(&Config::default()),
            legacy_state: legacy::LegacyState::default(),
            poll: PollWindow::new(WINDOW_MS),
            poll_window_ms: WINDOW_MS,
            poll_wake: Wakeup { source: Source::Psi, level: Level::Low, event: false },
            last_event_level: Level::Low,
            wakeups: 0,
            stats: PressureStats::default(),
            skipped_since_kill: 0,
            snapshot_errors: RateLimit::new(Duration::from_secs(10)),
            psi_fallback_logged: false,
            usage_files: None,
            early: Early::default(),
            mev: Memevents::default(),
            trace,
        };
        e.open_usage_files();
        e
    }

    /// Writes the trace's header: the domain and the configuration.
    pub fn record_config(&mut self, config: &Config) {
        if !self.trace.on() {
            return;
        }
        self.trace.line(format_args!("# lmkd trace, domain {}", self.domain.describe()));
        for (k, v) in config.to_properties() {
            if !v.is_empty() {
                self.trace.line(format_args!("prop {k}={v}"));
            }
        }
    }

    /// The memory domain.
    pub fn domain(&self) -> &Domain {
        &self.domain
    }

    /// Changes the memory domain (a new `ro.lmk.memcg_domain`).
    pub fn set_domain(&mut self, domain: Domain) {
        info!("Memory domain: {}", domain.describe());
        self.domain = domain;
        self.watermarks = None;
        self.open_usage_files();
    }

    /// Whether the monitors were ever set up (`init_monitors` succeeded).
    pub fn started(&self) -> bool {
        self.started
    }

    /// Creates the monitors (AOSP's `init_monitors`, reference §4.1): PSI if enabled and
    /// available, else vmpressure. On failure the monitors in force are kept.
    pub fn init_monitors(&mut self, cfg: &Config) -> Result<(), MonitorError> {
        let psi = if cfg.use_psi {
            match self.make_psi(cfg) {
                Ok(m) => Some(m),
                Err(e) => {
                    warn!("PSI monitors unavailable: {e}");
                    None
                }
            }
        } else {
            None
        };
        let (new, window) = match psi {
            Some(m) => {
                info!("Using psi monitors for memory pressure detection");
                m
            }
            None => match self.make_vmpressure() {
                Ok(m) => {
                    info!("Using vmpressure for memory pressure detection");
                    (m, WINDOW_MS)
                }
                Err(e) => {
                    let e = MonitorError::Unsupported(Box::new(e));
                    error!("{e}");
                    return Err(e);
                }
            },
        };
        self.drop_monitors();
        let flags = if matches!(new, Monitors::Psi(_)) { EventFlags::PRI } else { EventFlags::IN };
        let poller = &self.poller;
        let add = |i: usize, fd: std::os::fd::BorrowedFd<'_>| {
            let level = u8::try_from(i).unwrap_or(u8::MAX);
            poller.add(fd, Token::Pressure(level), flags).map_err(MonitorError::Epoll)
        };
        match &new {
            Monitors::Psi(fds) => {
                for (i, fd) in fds.iter().enumerate() {
                    if let Some(fd) = fd {
                        add(i, std::os::fd::AsFd::as_fd(fd))?;
                    }
                }
            }
            Monitors::Vmpressure(mons) => {
                for (i, m) in mons.iter().enumerate() {
                    if let Some(m) = m {
                        add(i, m.fd())?;
                    }
                }
            }
            Monitors::None => {}
        }
        self.monitors = new;
        self.poll_window_ms = window;
        self.psi_state = psi_strategy::PsiState::new(cfg);
        self.legacy_state = legacy::LegacyState::default();
        self.poll = PollWindow::new(window);
        info!("Wakeup counter is reset from {} to 0", self.wakeups);
        self.wakeups = 0;
        self.started = true;
        self.init_early(cfg);
        Ok(())
    }

    fn drop_monitors(&mut self) {
        self.drop_early();
        let poller = &self.poller;
        match std::mem::take(&mut self.monitors) {
            Monitors::Psi(fds) => {
                for fd in fds.iter().flatten() {
                    let _ = poller.delete(fd);
                }
            }
            Monitors::Vmpressure(mons) => {
                for m in mons.iter().flatten() {
                    let _ = poller.delete(m.fd());
                }
            }
            Monitors::None => {}
        }
    }

    fn make_psi(&mut self, cfg: &Config) -> Result<(Monitors, u64), MonitorError> {
        if !cfg.use_new_strategy && self.domain.vmpressure_dir().is_none() {
            return Err(MonitorError::OldStrategyNeedsV1);
        }
        let path = self.domain.psi_path();
        let mut fds: [Option<OwnedFd>; 3] = [None, None, None];
        let mut window = u64::try_from(cfg.psi_window_ms).unwrap_or(1000);
        for (i, t) in triggers(cfg).iter().enumerate() {
            let Some(t) = t else { continue };
            let (fd, fallback) = psi::register_with_fallback(&path, t)
                .map_err(|e| MonitorError::Psi(path.clone(), e))?;
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
        info!("PSI triggers on {} with {} ms windows", path.display(), window);
        Ok((Monitors::Psi(fds), window))
    }

    fn make_vmpressure(&mut self) -> Result<Monitors, MonitorError> {
        let dir = self.domain.vmpressure_dir().ok_or(MonitorError::NoVmpressureCgroup)?;
        let mut mons: [Option<vmpressure::Monitor>; 3] = [None, None, None];
        for level in Level::ALL {
            mons[level as usize] = Some(
                vmpressure::register(&dir, level)
                    .map_err(|e| MonitorError::Vmpressure(dir.clone(), e))?,
            );
        }
        Ok(Monitors::Vmpressure(mons))
    }

    /// When the engine must run next without an event (`None`: never; the loop may sleep until
    /// an event): the next poll of the polling window, the next sample of the headroom watch,
    /// or the end of a snooze.
    pub fn next_wake(&self) -> Option<Instant> {
        let poll = self.poll.deadline_ms();
        let sample = self.early.next_sample_ms;
        let snooze = self.early.low_snoozed_until;
        [poll, sample, snooze].into_iter().flatten().min().map(|ms| self.clock.at_ms(ms))
    }

    /// The wait for a pressure kill's victim ended (death or timeout): polling resumes at once
    /// where it was paused (AOSP's `POLLING_RESUME`).
    pub fn on_kill_wait_over(&mut self, now: Instant) {
        self.poll.resume_if_paused(self.clock.ms_at(now));
    }

    /// The one entry point per wake-up. Returns `false` when the monitors failed and the
    /// caller must re-create them ([`PressureEngine::restart_monitors`]).
    pub fn on_wake(&mut self, wake: Wake, env: &Env<'_>, killer: &mut dyn Killer) -> bool {
        let now_ms = self.clock.ms_at(env.now);
        match wake {
            Wake::Timers => {
                if self.early.low_snoozed_until.is_some_and(|t| now_ms >= t) {
                    self.unsnooze_low();
                }
                if self.poll.deadline_ms().is_some_and(|t| now_ms >= t) {
                    self.stats.polls += 1;
                    self.last_event_level = Level::Low;
                    let wakeup = self.poll_wake;
                    self.cycle(wakeup, env, killer, None);
                }
                if self.early.next_sample_ms.is_some_and(|t| now_ms >= t) {
                    self.sample(env, killer);
                }
            }
            Wake::Monitor(index, mut flags) => {
                let Some(level) = Level::from_index(usize::from(index)) else { return true };
                if crate::fault::check(crate::fault::Site::PsiEvent, "").is_some() {
                    flags |= EventFlags::ERR;
                }
                if flags.intersects(EventFlags::ERR | EventFlags::HUP) {
                    error!("{} pressure monitor failed; re-creating the monitors", level.name());
                    return false;
                }
                if let Some(wakeup) = self.event(level, env.config) {
                    self.cycle(wakeup, env, killer, None);
                }
                self.watch(env, killer);
            }
            Wake::Early(kind) => {
                self.stats.early_wakes += 1;
                match kind {
                    EARLY_THRESHOLD => {
                        self.early.threshold.as_ref().map(UsageThreshold::take);
                    }
                    EARLY_LOW => {
                        self.early.low.as_ref().map(vmpressure::Monitor::take);
                    }
                    EARLY_EVENTS => {
                        // Read to re-arm the notification; whichever counter moved, the
                        // watch judges the headroom.
                        if let Some(Err(e)) = self.early.events.as_mut().map(MemoryEvents::take) {
                            warn!(
                                "early warning: memory.events unreadable: {e}; no longer watched"
                            );
                            if let Some(ev) = self.early.events.take() {
                                let _ = self.poller.delete(ev.fd());
                            }
                        }
                    }
                    _ => {}
                }
                self.watch(env, killer);
            }
            Wake::MemEvents(flags) => {
                if flags.intersects(EventFlags::ERR | EventFlags::HUP) {
                    self.lose_memevents();
                } else {
                    self.on_memevents(env, killer);
                }
            }
        }
        true
    }

    /// A monitor's event at the level of the monitor that fired: the wake-up it makes, or
    /// `None` when it is ignored.
    fn event(&mut self, level: Level, cfg: &Config) -> Option<Wakeup> {
        let (source, level) = match &self.monitors {
            Monitors::Psi(_) => (Source::Psi, level),
            Monitors::Vmpressure(mons) => {
                // AOSP runs the handler once for every ready level eventfd: it reads (and so
                // clears) every level's counter and upgrades its own level to the highest that
                // fired. One burst is evaluated once per ready eventfd; a handler that finds
                // the counters drained by another evaluates at its own level (a `low` one then
                // records the low-pressure mark, as AOSP's does).
                let mut level = level;
                for m in mons.iter().flatten() {
                    if m.take() > 0 && m.level > level {
                        level = m.level;
                    }
                }
                (Source::Vmpressure, level)
            }
            Monitors::None => return None,
        };
        self.stats.events[level as usize] += 1;
        if cfg.debug {
            info!(
                "{} memory pressure event #{} is triggered",
                level.name(),
                self.stats.events[level as usize]
            );
        }
        if self.poll.active() && level < self.last_event_level {
            if cfg.debug {
                info!("{} pressure event is ignored since it occurred too soon", level.name());
            }
            return None;
        }
        self.last_event_level = level;
        let wake = Wakeup { source, level, event: true };
        self.poll_wake = Wakeup { event: false, ..wake };
        Some(wake)
    }

    /// The `LMK_EXT_TEST_PRESSURE` hook: the event at `level` as the running monitors would
    /// deliver it (a vmpressure eventfd is signalled and read on the next round; a PSI event is
    /// handled now). Returns what [`PressureEngine::on_wake`] returns.
    pub fn test_pressure(&mut self, level: i32, env: &Env<'_>, killer: &mut dyn Killer) -> bool {
        let Some(l) = usize::try_from(level).ok().and_then(Level::from_index) else {
            warn!("test hook: no pressure level {level}");
            return true;
        };
        match &self.monitors {
            Monitors::Vmpressure(mons) => {
                match mons.iter().flatten().find(|m| m.level == l).map(|m| m.poke()) {
                    Some(Ok(())) => {}
                    Some(Err(e)) => warn!("test hook: cannot signal the {} monitor: {e}", l.name()),
                    None => warn!("test hook: no {} vmpressure monitor", l.name()),
                }
            }
            Monitors::Psi(_) => {
                return self.on_wake(Wake::Monitor(l as u8, EventFlags::IN), env, killer);
            }
            Monitors::None => warn!("test hook: no pressure monitors"),
        }
        true
    }

    /// Whether the decision must wait for the last pressure kill (reference §5.4): the new
    /// strategy waits until the death or the kill-wait limit; the old one only with a
    /// non-zero `kill_timeout_ms`.
    fn waiting_for_kill(&self, env: &Env<'_>) -> bool {
        env.awaited_kill.is_some()
            && ((env.config.use_new_strategy && self.monitors.source() == Some(Source::Psi))
                || env.config.kill_timeout_ms > 0)
    }

    /// The watermarks, read again when never read, older than 60 s or `force`d; a failed read
    /// keeps the ones in force. Also says whether they were read now.
    fn watermarks(&mut self, force: bool, now: Instant) -> (Option<Watermarks>, bool) {
        // With the kernel's reserve-change events the watermarks are read again on an event
        // only (an event drops them).
        let stale = self.watermarks.is_none_or(|(_, at)| {
            !self.mev.zoneinfo_events
                && now.saturating_duration_since(at) > Duration::from_millis(WATERMARK_REFRESH_MS)
        });
        if !(force || stale) {
            return (self.watermarks.map(|(w, _)| w), false);
        }
        match self.domain.watermarks() {
            Ok(w) => {
                self.watermarks = Some((w, now));
                (Some(w), true)
            }
            Err(e) => {
                error!("Failed to parse zoneinfo: {e}");
                (self.watermarks.map(|(w, _)| w), false)
            }
        }
    }

    /// One decision cycle: skip while a kill is awaited, read a snapshot and what the decision
    /// needs, decide, have the killer kill, decide the next poll.
    fn cycle(
        &mut self,
        wake: Wakeup,
        env: &Env<'_>,
        killer: &mut dyn Killer,
        vendor: Option<VendorKill>,
    ) {
        let cfg = env.config;
        let now = env.now;
        let now_ms = self.clock.ms_at(now);
        self.wakeups += 1;
        if self.waiting_for_kill(env) {
            self.stats.skipped += 1;
            self.skipped_since_kill += 1;
            let x = trace::WakeExtras { vendor, ..trace::WakeExtras::default() };
            self.record_wake(now_ms, wake, true, &Watermarks::default(), &x);
            self.poll.update(PollUpdate::Pause, SHORT_INTERVAL_MS, now_ms);
            return;
        }
        if self.skipped_since_kill > 0 {
            info!("{} memory pressure events were skipped after a kill!", self.skipped_since_kill);
            self.skipped_since_kill = 0;
        }
        if let Err(e) = self.domain.snapshot(&mut self.snap) {
            if let Some(n) = self.snapshot_errors.check(now) {
                error!("Failed to read memory state: {e} ({n} similar errors suppressed)");
            }
            self.poll.update(PollUpdate::DoNotChange, self.poll.interval_ms(), now_ms);
            return;
        }
        let new_strategy = cfg.use_new_strategy && wake.source == Source::Psi;
        let (wm, fresh) = self.watermarks(false, now);
        let (verdict, usage) = if new_strategy {
            let mut inp = psi_strategy::Inputs {
                snapshot: &Snapshot::default(),
                wake,
                watermarks: wm,
                watermarks_fresh: fresh,
                now_ms,
                page_kb: self.page_kb,
                events: self.reclaim_events(),
                vendor,
            };
            let mut c = psi_strategy::decide(
                &mut self.psi_state,
                cfg,
                &psi_strategy::Inputs { snapshot: &self.snap, ..inp },
            );
            if c.wants_fresh_watermarks {
                let (w, _) = self.watermarks(true, now);
                if let (Some(w), true) = (w, self.trace.on()) {
                    self.trace.line(format_args!(
                        "wmarks t={now_ms} wmin={} wlow={} whigh={} wreserve={}",
                        w.min, w.low, w.high, w.totalreserve
                    ));
                }
                inp = psi_strategy::Inputs { snapshot: &self.snap, watermarks: w, ..inp };
                c = psi_strategy::decide_again(&mut self.psi_state, cfg, &inp, &c);
            }
            (
                Verdict { kill: c.kill, poll: c.poll, interval_ms: c.interval_ms, minfree: None },
                None,
            )
        } else {
            let usage = self.memcg_usage();
            let about_to_run_out = self.about_to_run_out(cfg, killer.kill_time_ms());
            let inputs = legacy::Inputs {
                snapshot: &self.snap,
                wake,
                totalreserve_pages: wm.unwrap_or_default().totalreserve,
                target: env.target,
                usage,
                page_kb: self.page_kb,
                about_to_run_out,
            };
            let out = legacy::decide(&mut self.legacy_state, cfg, &inputs);
            // The old strategy polls after an event (on PSI), at 10 ms.
            let poll = if wake.event && wake.source == Source::Psi {
                PollUpdate::Start
            } else {
                PollUpdate::DoNotChange
            };
            let mut minfree = None;
            let kill = match out {
                LegacyOutcome::Kill(k) => Some(k),
                LegacyOutcome::KillMinfree(k, f) => {
                    minfree = Some(f);
                    Some(k)
                }
                LegacyOutcome::Ignore(why) => {
                    if cfg.debug {
                        info!("Ignore {} memory pressure event: {why}", wake.level.name());
                    }
                    None
                }
            };
            let verdict = Verdict { kill, poll, interval_ms: SHORT_INTERVAL_MS, minfree };
            (verdict, Some((usage, about_to_run_out)))
        };
        // The watermarks the decision started from (a `wmarks` line has any read afresh).
        let (usage, run_out) = usage.unwrap_or_default();
        let events = if new_strategy { self.reclaim_events() } else { None };
        let x = trace::WakeExtras { usage, run_out, events, vendor };
        self.record_wake(now_ms, wake, false, &wm.unwrap_or_default(), &x);
        let (mut update, mut interval) = (verdict.poll, verdict.interval_ms);
        if let Some(k) = verdict.kill {
            self.stats.kill_decisions += 1;
            let order = KillOrder {
                decision: &k,
                ctx: KillContext {
                    reason: k.reason,
                    reason_text: k.text,
                    min_adj: k.min_adj,
                    free_mem_kb: self.snap.meminfo.mem_free,
                    free_swap_kb: k.free_swap_kb,
                    thrashing: k.thrashing,
                    max_thrashing: k.max_thrashing,
                    requested_by: 0,
                    client_reason: 0,
                },
                wake_at: env.wake_at,
                decided_ms: now_ms,
                snapshot: &self.snap,
                skipped: self.stats.skipped,
            };
            let killed = killer.kill(&order, &mut self.trace);
            if killed.is_none() {
                self.stats.no_victim += 1;
            }
            if new_strategy {
                psi_strategy::after_kill(&mut self.psi_state, cfg, &k, killed.is_some());
            } else if let Some(rss) = killed {
                // AOSP's lines, as AOSP prints them (tools parse them).
                match verdict.minfree {
                    Some(f) => {
                        let kb = |pages: i64| pages.saturating_mul(self.page_kb);
                        info!(
                            "Reclaimed {rss}kB, cache({}kB) and free({}kB)-reserved({}kB) below min({}kB) for oom_score_adj {}",
                            kb(f.file_pages),
                            kb(f.free_pages),
                            kb(f.reserve_pages),
                            kb(f.minfree_pages),
                            k.min_adj
                        );
                    }
                    None => info!("Reclaimed {rss}kB at oom_score_adj {}", k.min_adj),
                }
            }
            if self.trace.on() {
                self.trace
                    .line(format_args!("decision t={now_ms} {}", trace::DecisionText(Some(&k))));
                self.trace
                    .line(format_args!("killed t={now_ms} ok={}", u8::from(killed.is_some())));
            }
            if killed.is_some() {
                update = PollUpdate::Start;
                interval = SHORT_INTERVAL_MS;
                // The victim is now awaited: polling pauses until it dies or the wait ends.
                let awaited = Env { awaited_kill: Some(now), ..*env };
                if self.waiting_for_kill(&awaited) {
                    update = PollUpdate::Pause;
                }
            }
        }
        self.poll.update(update, interval, now_ms);
    }

    /// Sets up the early-warning sources for the domain (`ro.lmk.predictive_kill`): a memory
    /// cgroup v1 domain's usage threshold (placed from the headroom, see
    /// [`PressureEngine::rearm_threshold`]) and its vmpressure `low` (in PSI mode; vmpressure
    /// mode has its own `low` monitor); the system domain's PSI trigger at the shortest window
    /// the kernel grants, and vmpressure `low` on the root memory cgroup where there is one.
    /// A source that cannot be set up is logged and left out.
    fn init_early(&mut self, cfg: &Config) {
        self.drop_early();
        self.early.on = cfg.predictive_kill;
        if !cfg.predictive_kill {
            return;
        }
        let mut sources = 0;
        if let Some(dir) = self.domain.threshold_dir() {
            match ThresholdFiles::open(dir) {
                Ok(f) => {
                    self.early.threshold_files = Some(f);
                    self.rearm_threshold(cfg);
                    if self.early.threshold_files.is_some() {
                        sources += 1;
                    }
                }
                Err(e) => warn!("early warning: no usage thresholds on {}: {e}", dir.display()),
            }
        }
        if matches!(self.monitors, Monitors::Psi(_)) {
            if let Some(dir) = self.domain.vmpressure_dir() {
                match vmpressure::register(&dir, Level::Low) {
                    Ok(m) => {
                        if let Err(e) =
                            self.poller.add(m.fd(), Token::Early(EARLY_LOW), EventFlags::IN)
                        {
                            warn!("early warning: vmpressure low not watched: {e}");
                        } else {
                            self.early.low = Some(m);
                            sources += 1;
                        }
                    }
                    Err(e) => warn!("early warning: no vmpressure low on {}: {e}", dir.display()),
                }
            }
        } else if matches!(self.monitors, Monitors::Vmpressure(_)) {
            sources += 1;
        }
        if let Some(path) = self.domain.memory_events_path() {
            match MemoryEvents::open(&path) {
                Ok(ev) => {
                    match self.poller.add(ev.fd(), Token::Early(EARLY_EVENTS), EventFlags::PRI) {
                        Ok(()) => {
                            self.early.events = Some(ev);
                            sources += 1;
                        }
                        Err(e) => warn!("early warning: memory.events not watched: {e}"),
                    }
                }
                Err(e) => warn!("early warning: no {}: {e}", path.display()),
            }
        }
        if self.domain.threshold_dir().is_none() {
            // The shortest window PSI takes: 500 ms, 2 s without CAP_SYS_RESOURCE; 5 % of it.
            let t = Trigger { stall: Stall::Some, threshold_ms: 25, window_ms: 500 };
            let path = self.domain.psi_path();
            match psi::register_with_fallback(&path, &t) {
                Ok((fd, used)) => {
                    let used = used.unwrap_or(t);
                    match self.poller.add(&fd, Token::Early(EARLY_PSI), EventFlags::PRI) {
                        Ok(()) => {
                            debug!("early warning: PSI {}", used.text().trim_end_matches('\0'));
                            self.early.psi = Some(fd);
                            sources += 1;
                        }
                        Err(e) => warn!("early warning: PSI trigger not watched: {e}"),
                    }
                }
                Err(e) => warn!("early warning: no PSI trigger on {}: {e}", path.display()),
            }
        }
        info!("Early warning and predictive kills on ({sources} sources)");
    }

    fn drop_early(&mut self) {
        self.early.threshold_files = None;
        if let Some(t) = self.early.threshold.take() {
            let _ = self.poller.delete(t.fd());
        }
        if let Some(m) = self.early.low.take() {
            let _ = self.poller.delete(m.fd());
        }
        if let Some(fd) = self.early.psi.take() {
            let _ = self.poller.delete(&fd);
        }
        if let Some(ev) = self.early.events.take() {
            let _ = self.poller.delete(ev.fd());
        }
        self.early.low_snoozed_until = None;
        self.early.next_sample_ms = None;
    }

    /// The headroom now, from the latest snapshot.
    fn headroom_kb(&self, cfg: &Config, w: Option<Watermarks>) -> i64 {
        let min_kb = w.map_or(0, |w| w.min.saturating_mul(self.page_kb));
        headroom_kb(&self.snap, min_kb, psi_strategy::free_swap_kb(&self.snap, cfg))
    }

    /// Places the memory cgroup usage threshold where the headroom reaches the warning level
    /// ([`predict::warning_kb`]), or, when it is below that already, a step further down; none
    /// when that usage is beyond the limit (a group full of page cache: there vmpressure `low`
    /// warns). The threshold follows what reclaim cannot free, not the raw usage, so a group at
    /// its limit with clean cache does not wake the daemon. Moved only when it changes by more
    /// than a step.
    fn rearm_threshold(&mut self, cfg: &Config) {
        if self.early.threshold_files.is_none() || self.domain.snapshot(&mut self.snap).is_err() {
            return;
        }
        let (w, _) = self.watermarks(false, self.clock.now());
        let m = self.snap.meminfo;
        let headroom = self.headroom_kb(cfg, w);
        let warning = predict::warning_kb(m.mem_total);
        let step = warning / 4;
        // A memcg snapshot's MemFree is limit − usage + inactive file.
        let usage_kb = m.mem_total.saturating_sub(m.mem_free).saturating_add(m.inactive_file);
        let at_kb = if headroom > warning + step {
            usage_kb.saturating_add(headroom - warning)
        } else {
            usage_kb.saturating_add(step)
        };
        let want = (at_kb < m.mem_total).then(|| u64::try_from(at_kb.max(0)).unwrap_or(0) * 1024);
        let have = self.early.threshold.as_ref().map(|t| t.bytes);
        let step_bytes = u64::try_from(step.max(1)).unwrap_or(1) * 1024;
        let close = |a: u64, b: u64| a.abs_diff(b) < step_bytes / 2;
        match (want, have) {
            (Some(a), Some(b)) if close(a, b) => {}
            (None, None) => {}
            (want, _) => {
                if let Some(t) = self.early.threshold.take() {
                    let _ = self.poller.delete(t.fd());
                }
                let (Some(bytes), Some(files)) = (want, &self.early.threshold_files) else {
                    return;
                };
                let registered = files.register(bytes).and_then(|t| {
                    self.poller.add(t.fd(), Token::Early(EARLY_THRESHOLD), EventFlags::IN)?;
                    Ok(t)
                });
                match registered {
                    Ok(t) => self.early.threshold = Some(t),
                    Err(e) => {
                        // Not a memory cgroup's files after all (the kernel refuses the usage
                        // file): give the thresholds up, once, with a line.
                        warn!("early warning: usage thresholds refused ({e}); not used");
                        self.early.threshold_files = None;
                    }
                }
            }
        }
    }

    fn snooze_low(&mut self, now_ms: u64) {
        if let Some(m) = &self.early.low {
            if self.early.low_snoozed_until.is_none() && self.poller.delete(m.fd()).is_ok() {
                self.early.low_snoozed_until = Some(now_ms + LOW_SNOOZE_MS);
            }
        }
    }

    fn unsnooze_low(&mut self) {
        self.early.low_snoozed_until = None;
        if let Some(m) = &self.early.low {
            // What it counted meanwhile is stale.
            m.take();
            if let Err(e) = self.poller.add(m.fd(), Token::Early(EARLY_LOW), EventFlags::IN) {
                warn!("early warning: vmpressure low not watched again: {e}");
            }
        }
    }

    /// Starts watching the headroom (if not already), with a sample now.
    fn watch(&mut self, env: &Env<'_>, killer: &mut dyn Killer) {
        if !self.early.on || self.early.next_sample_ms.is_some() {
            return;
        }
        let now_ms = self.clock.ms_at(env.now);
        self.early.predictor.reset(now_ms);
        if self.trace.on() {
            self.trace.line(format_args!("watch t={now_ms}"));
        }
        self.sample(env, killer);
    }

    /// One sample of the headroom watch: the headroom, the predictive rule, the next sample.
    fn sample(&mut self, env: &Env<'_>, killer: &mut dyn Killer) {
        let cfg = env.config;
        let now_ms = self.clock.ms_at(env.now);
        self.stats.samples += 1;
        if let Err(e) = self.domain.snapshot(&mut self.snap) {
            if let Some(n) = self.snapshot_errors.check(env.now) {
                error!("Failed to read memory state: {e} ({n} similar errors suppressed)");
            }
            self.early.next_sample_ms = None;
            return;
        }
        let (w, _) = self.watermarks(false, env.now);
        let headroom = self.headroom_kb(cfg, w);
        let demand = demand_kb(&self.snap);
        self.early.predictor.observe(now_ms, headroom, demand);
        let pending = self.waiting_for_kill(env);
        let kill_ms = killer.kill_time_ms();
        let warning = predict::warning_kb(self.snap.meminfo.mem_total);
        if self.trace.on() {
            self.trace.line(format_args!(
                "sample t={now_ms} headroom={headroom} demand={demand} killms={kill_ms} warn={warning} pending={}",
                u8::from(pending)
            ));
        }
        self.early.next_sample_ms = Some(now_ms + SAMPLE_MS);
        if pending {
            return;
        }
        match self.early.predictor.verdict(now_ms, kill_ms, warning) {
            Forecasted::Kill(k) => {
                self.stats.kill_decisions += 1;
                let order = KillOrder {
                    decision: &k,
                    ctx: KillContext {
                        reason: k.reason,
                        reason_text: k.text,
                        min_adj: k.min_adj,
                        free_mem_kb: self.snap.meminfo.mem_free,
                        free_swap_kb: psi_strategy::free_swap_kb(&self.snap, cfg),
                        ..KillContext::default()
                    },
                    wake_at: env.wake_at,
                    decided_ms: now_ms,
                    snapshot: &self.snap,
                    skipped: self.stats.skipped,
                };
                let killed = killer.kill(&order, &mut self.trace);
                if self.trace.on() {
                    self.trace.line(format_args!(
                        "decision t={now_ms} {}",
                        trace::DecisionText(Some(&k))
                    ));
                    self.trace
                        .line(format_args!("killed t={now_ms} ok={}", u8::from(killed.is_some())));
                }
                match killed {
                    Some(_) => {
                        self.stats.predictive_kills += 1;
                        // The headroom jumps back: a new fall is measured from here.
                        self.early.predictor.reset(now_ms);
                    }
                    None => self.stats.no_victim += 1,
                }
            }
            Forecasted::Watch => {}
            Forecasted::Calm => {
                self.early.next_sample_ms = None;
                if self.trace.on() {
                    self.trace.line(format_args!("calm t={now_ms}"));
                }
                self.rearm_threshold(cfg);
                if headroom >= warning {
                    self.snooze_low(now_ms);
                }
            }
        }
    }

    /// Whether the domain is about to run out (the guard of the old strategy): its headroom is
    /// gone, or the watch's forecast says it runs out before a kill could bring memory back.
    fn about_to_run_out(&self, cfg: &Config, kill_ms: u64) -> bool {
        if !self.early.on {
            return false;
        }
        let headroom = self.headroom_kb(cfg, self.watermarks.map(|(w, _)| w));
        // Only a watch under way has a forecast of now.
        let forecast = self.early.next_sample_ms.and_then(|_| self.early.predictor.forecast());
        let falling = forecast.is_some_and(|f| f.fall_kb_per_s > 0);
        // Gone: unless the watch has measured that nothing grows (the page cache moving).
        (headroom <= 0 && (falling || forecast.is_none()))
            || forecast
                .and_then(|f| f.exhausted_in_ms)
                .is_some_and(|ms| ms < kill_ms.saturating_add(predict::MARGIN_MS))
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
    fn open_usage_files(&mut self) {
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

    /// Where memevents' BPF objects and tracefs are (the defaults are Android's).
    pub fn set_memevents_paths(&mut self, paths: memevents::Paths) {
        self.mev.paths = paths;
    }

    /// When the daemon must look at `bpf.progs_loaded` again (memevents wait for the BPF
    /// loader).
    pub fn memevents_retry_at(&self) -> Option<Instant> {
        match self.mev.start {
            MemeventsStart::Waiting { next_ms, .. } => Some(self.clock.at_ms(next_ms)),
            _ => None,
        }
    }

    /// Sets up the memevents listener (after boot, reference §4.7 and the 2025 change): once
    /// the BPF loader says its programs are loaded (`progs_loaded`; until then the daemon asks
    /// again after 1 s, 2 s, 4 s … up to a minute), the ring buffer is claimed and the programs
    /// attached, and reclaim is told from the events; when that fails, from vmstat, and
    /// `ro.lmk.direct_reclaim_threshold_ms` is turned off (it needs the events). Asked once;
    /// later calls change nothing.
    pub fn start_memevents(&mut self, cfg: &mut Config, progs_loaded: bool, now: Instant) {
        let now_ms = self.clock.ms_at(now);
        match self.mev.start {
            MemeventsStart::Done => return,
            MemeventsStart::Waiting { next_ms, .. } if now_ms < next_ms => return,
            _ => {}
        }
        if !progs_loaded {
            let delay_ms = match self.mev.start {
                MemeventsStart::Waiting { delay_ms, .. } => {
                    warn!("memevents: bpf.progs_loaded is still not 1; looking again in {delay_ms} ms");
                    delay_ms
                }
                _ => {
                    info!("memevents: waiting for the BPF loader (bpf.progs_loaded=1)");
                    1000
                }
            };
            self.mev.start = MemeventsStart::Waiting {
                next_ms: now_ms.saturating_add(delay_ms),
                delay_ms: delay_ms.saturating_mul(2).min(MEMEVENTS_RETRY_MAX_MS),
            };
            return;
        }
        self.mev.start = MemeventsStart::Done;
        let listener = Listener::open(&self.mev.paths).and_then(|l| {
            self.poller
                .add(l.fd(), Token::MemEvents, EventFlags::IN)
                .map_err(|e| memevents::OpenError::RingBuffer(memevents::RING_BUFFER.into(), e))?;
            Ok(l)
        });
        match listener {
            Ok(l) => {
                self.mev.zoneinfo_events = l.supports(memevents::Kind::UpdateZoneinfo);
                debug!(
                    "memevents: {} tracepoints attached (vendor kills {}, zoneinfo updates {})",
                    l.attached(),
                    if l.supports(memevents::Kind::VendorKill) { "on" } else { "off" },
                    if self.mev.zoneinfo_events { "on" } else { "off" }
                );
                self.mev.listener = Some(l);
                info!("Using memevents for direct reclaim and kswapd detection");
            }
            Err(e) => {
                error!("memevents unavailable: {e}");
                info!("Using vmstats for direct reclaim and kswapd detection");
                self.check_direct_reclaim_threshold(cfg);
            }
        }
    }

    /// `ro.lmk.direct_reclaim_threshold_ms` needs memevents: without them it is turned off
    /// with a warning (AOSP's rule; also on `LMK_UPDATE_PROPS`).
    pub fn check_direct_reclaim_threshold(&self, cfg: &mut Config) {
        if cfg.direct_reclaim_threshold_ms > 0 && self.mev.listener.is_none() {
            warn!(
                "ro.lmk.direct_reclaim_threshold_ms={} needs memevents, which are not in use; DIRECT_RECL_STUCK kills are off",
                cfg.direct_reclaim_threshold_ms
            );
            cfg.direct_reclaim_threshold_ms = 0;
        }
    }

    /// The ring buffer failed (epoll reported an error on it): reclaim is told from vmstat from
    /// now on, said once. (`DIRECT_RECL_STUCK` cannot fire without the events: direct reclaim
    /// then has no duration.)
    fn lose_memevents(&mut self) {
        if let Some(l) = self.mev.listener.take() {
            let _ = self.poller.delete(l.fd());
            self.mev.reclaim = ReclaimEvents::default();
            self.mev.zoneinfo_events = false;
            error!("memevents ring buffer failed; Using vmstats for direct reclaim and kswapd detection");
        }
    }

    /// The reclaim state the decision sees from memevents (`None` without them).
    fn reclaim_events(&self) -> Option<ReclaimEvents> {
        self.mev.listener.as_ref().map(|_| self.mev.reclaim)
    }

    /// Records in the ring buffer: each updates the reclaim state, drops the watermarks or
    /// runs a vendor kill's decision, in order. A direct reclaim or a kswapd wake-up also
    /// starts the headroom watch (the system domain's earliest warning). Allocates nothing.
    fn on_memevents(&mut self, env: &Env<'_>, killer: &mut dyn Killer) {
        let now_ms = self.clock.ms_at(env.now);
        while let Some(next) = self.mev.listener.as_mut().and_then(Listener::next_event) {
            let ev = match next {
                Ok(ev) => ev,
                Err(e) => {
                    self.bad_memevent(env.now, format_args!("{e}"));
                    continue;
                }
            };
            let kind = match ev {
                MemEvent::DirectReclaimBegin => {
                    self.mev.reclaim.direct_since_ms = Some(now_ms);
                    self.watch(env, killer);
                    memevents::Kind::DirectReclaimBegin
                }
                MemEvent::DirectReclaimEnd => {
                    self.mev.reclaim.direct_since_ms = None;
                    memevents::Kind::DirectReclaimEnd
                }
                MemEvent::KswapdWake { .. } => {
                    self.mev.reclaim.kswapd = true;
                    self.watch(env, killer);
                    memevents::Kind::KswapdWake
                }
                MemEvent::KswapdSleep { .. } => {
                    self.mev.reclaim.kswapd = false;
                    memevents::Kind::KswapdSleep
                }
                MemEvent::UpdateZoneinfo => {
                    self.watermarks = None;
                    memevents::Kind::UpdateZoneinfo
                }
                MemEvent::VendorKill { reason, min_adj } => {
                    if !self.vendor_kill(reason, min_adj, env, killer) {
                        continue;
                    }
                    memevents::Kind::VendorKill
                }
                MemEvent::Other(k) => k,
            };
            self.mev.counts[kind as usize] += 1;
        }
    }

    /// A vendor kill request: validated (reason below 1000, so that the kill reason stays in
    /// AOSP's vendor range 1000–1999; min adj 0–1000), then a decision with it (new strategy
    /// only: the request is the PSI strategy's row a). Returns whether it was valid.
    fn vendor_kill(
        &mut self,
        reason: u32,
        min_adj: i16,
        env: &Env<'_>,
        killer: &mut dyn Killer,
    ) -> bool {
        let valid = reason < memevents::VENDOR_REASON_END && (0..=1000).contains(&min_adj);
        let (Ok(reason), true) = (i32::try_from(reason), valid) else {
            self.bad_memevent(
                env.now,
                format_args!(
                    "a vendor kill with reason {reason} and min adj {min_adj} (out of range)"
                ),
            );
            return false;
        };
        if !(env.config.use_new_strategy && self.monitors.source() == Some(Source::Psi)) {
            debug!("memevents: vendor kill request ignored (the old strategy does not take them)");
            return true;
        }
        let wake = Wakeup { source: Source::Psi, level: self.last_event_level, event: false };
        let vendor = VendorKill { reason, min_adj: i32::from(min_adj) };
        self.cycle(wake, env, killer, Some(vendor));
        true
    }

    fn bad_memevent(&mut self, now: Instant, what: std::fmt::Arguments<'_>) {
        self.mev.bad += 1;
        if let Some(n) = self.mev.bad_log.check(now) {
            warn!("memevents: ignored {what} ({n} similar suppressed)");
        }
    }

    fn record_wake(
        &mut self,
        now_ms: u64,
        wake: Wakeup,
        pending: bool,
        w: &Watermarks,
        x: &trace::WakeExtras,
    ) {
        if self.trace.on() {
            let line = trace::wake_line(now_ms, wake, pending, &self.snap, w, x);
            self.trace.line(format_args!("{line}"));
        }
    }

    /// The latest snapshot.
    pub fn snapshot(&self) -> &Snapshot {
        &self.snap
    }

    /// The counters.
    pub fn stats(&self) -> PressureStats {
        self.stats
    }

    /// Drops the monitors and creates them again (after a monitor failed).
    pub fn restart_monitors(&mut self, cfg: &Config) -> Result<(), MonitorError> {
        self.drop_monitors();
        self.init_monitors(cfg)
    }

    /// What the status report shows of the engine.
    pub fn status(&self) -> EngineStatus<'_> {
        EngineStatus {
            monitors: match &self.monitors {
                Monitors::None => "none".to_owned(),
                Monitors::Psi(_) => format!("psi ({})", self.domain.psi_path().display()),
                Monitors::Vmpressure(_) => "vmpressure".to_owned(),
            },
            psi: matches!(self.monitors, Monitors::Psi(_)),
            psi_window_ms: self.poll_window_ms,
            stats: self.stats,
            polling: self.poll.active(),
            snapshot: &self.snap,
            watermarks: self.watermarks.map(|(w, _)| w),
            page_kb: self.page_kb,
            reclaim_source: self.reclaim_source(),
        }
    }

    /// Where reclaim is told from, for the status report.
    fn reclaim_source(&self) -> String {
        let m = &self.mev;
        match (&m.listener, m.start) {
            (Some(l), _) => {
                let c = |k: memevents::Kind| m.counts[k as usize];
                format!(
                    "memevents ({} tracepoints; {} direct reclaims, {} kswapd wake-ups, {} vendor kill requests, {} zoneinfo updates, {} refused){}",
                    l.attached(),
                    c(memevents::Kind::DirectReclaimBegin),
                    c(memevents::Kind::KswapdWake),
                    c(memevents::Kind::VendorKill),
                    c(memevents::Kind::UpdateZoneinfo),
                    m.bad,
                    if m.reclaim.direct_since_ms.is_some() { ", in direct reclaim now" } else { "" }
                )
            }
            (None, MemeventsStart::NotAsked) => "vmstat (memevents after boot)".to_owned(),
            (None, MemeventsStart::Waiting { .. }) => {
                "vmstat (memevents wait for bpf.progs_loaded)".to_owned()
            }
            (None, MemeventsStart::Done) => "vmstat (no memevents)".to_owned(),
        }
    }
}

/// The engine's part of a status report.
pub(crate) struct EngineStatus<'a> {
    pub monitors: String,
    pub psi: bool,
    pub psi_window_ms: u64,
    pub stats: PressureStats,
    pub polling: bool,
    pub snapshot: &'a Snapshot,
    pub watermarks: Option<Watermarks>,
    pub page_kb: i64,
    pub reclaim_source: String,
}

/// What a strategy returns for one cycle: the same shape for both.
struct Verdict {
    kill: Option<KillDecision>,
    poll: PollUpdate,
    interval_ms: u64,
    /// What minfree mode compared (its kill line says so).
    minfree: Option<legacy::MinfreeFigures>,
}

// ---------------------------------------------------------------------------------------------
// The polling window (AOSP reference §4.3), a pure state machine over milliseconds.
//
// The kernel reports a PSI trigger at most once per window, so after an event the decision is
// re-run periodically — every 10 ms right after a kill or when swap is low, else every 100 ms —
// until one window has passed without a reason to keep going. While the daemon waits for a
// victim to die, polling is paused; when the wait ends it resumes at once with a fresh window.
// When there is no pressure there is no deadline at all: the loop sleeps until an event.
// ---------------------------------------------------------------------------------------------

/// The polling state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct PollWindow {
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
    #[cfg(test)]
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
    #[cfg(test)]
    pub fn due(&self, now_ms: u64) -> bool {
        self.deadline_ms().is_some_and(|d| now_ms >= d)
    }
}

#[cfg(test)]
mod poll_window_tests {
    use super::*;
    use crate::policy::LONG_INTERVAL_MS;

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
