//! The daemon: the event loop, and the one place where an event meets the subsystems.
//!
//! The state is three objects and what they share:
//!
//! * the command handler (`commands.rs`) — connections, packets, registry updates, replies;
//! * the pressure engine (`engine.rs`) — monitors, memory domain, watermarks, both strategies,
//!   the polling window, the decision trace; one entry point per wake-up;
//! * the kill pipeline (`pipeline.rs`) — victim choice, SIGKILL, reaping, reports, the kills in
//!   flight and the history;
//! * `Core`: what all three use — the clock, the epoll set, the control socket server, the
//!   process table, the property source and the minfree table.
//!
//! [`Daemon::dispatch`] maps each ready token to one of them; [`Daemon::run_once`] is one round
//! of the loop (wait, dispatch, timers) under the watchdog. Nothing else happens here.

mod commands;
mod engine;
mod pipeline;
mod status;

pub use commands::{minfree_levels_value, TARGET_UPDATE_MIN_INTERVAL};
pub use engine::{MonitorError, PressureStats};
pub use pipeline::{KillError, KillSent, KILL_WAIT_CAP, MAX_IN_FLIGHT};

use std::io;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use log::{error, info, warn};
use rustix::event::epoll::EventFlags;

use crate::clock::Clock;
use crate::config::{Config, PropertySource};
use crate::event::{Poller, Ready, Token, MAX_EVENTS};
use crate::logging;
use crate::procs::{ProcTable, RecordId, UpdateMode};
use crate::protocol::ext::{KILL_FAILED, KILL_GONE, KILL_SENT};
use crate::protocol::{encode_reply, ReplyOutcome, Server, TargetTable, LMK_UPDATE_PROPS};
use crate::reaper::watchdog::{Watchdog, WatchdogKill, WATCHDOG_TIMEOUT};
use crate::report::history;
use commands::{Commands, Request};
use engine::{Env, PressureEngine, Recorder, Wake};
use pipeline::{KillPipeline, PressureKiller};

/// How long a stalled round on a fake clock waits for the watchdog to look at it (real time).
const WATCHDOG_SEEN_BUDGET: Duration = Duration::from_secs(10);
/// The steps a stalled round on a fake clock moves the clock in.
const STALL_STEP: Duration = Duration::from_millis(10);

/// How the daemon was started.
pub struct Options {
    /// The control socket, listening.
    pub server: Server,
    /// Where properties come from.
    pub props: Box<dyn PropertySource>,
    /// How priority updates reach `/proc` (the default, or AOSP's way for benchmarks).
    pub update_mode: UpdateMode,
    /// Record the inputs of every decision to this file (`--record`).
    pub record: Option<PathBuf>,
    /// Accept the test-only commands (`--test-hooks`; see [`crate::protocol::ext`]).
    pub test_hooks: bool,
    /// The clock every timing rule reads ([`Clock::real`] except in tests).
    pub clock: Clock,
    /// Where the memevents' BPF objects and tracefs are (Android's paths by default).
    pub memevents: crate::pressure::memevents::Paths,
}

/// Why the daemon could not start (as AOSP's `critical` service, it then exits and init
/// restarts it, eventually rebooting the device).
#[derive(Debug)]
pub enum StartError {
    /// the event loop could not be set up
    Epoll(io::Error),
    /// the descriptor limit could not be raised
    Rlimit(io::Error),
    /// the memory domain could not be opened
    Domain(io::Error),
    /// the decision trace could not be created
    Record(PathBuf, io::Error),
    /// the reaper pool could not be started
    Reaper(io::Error),
    /// the watchdog could not be started
    Watchdog(io::Error),
    /// the pressure monitors could not be set up
    Monitors(MonitorError),
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartError::Epoll(e) => write!(f, "the event loop could not be set up: {e}"),
            StartError::Rlimit(e) => write!(f, "the descriptor limit could not be raised: {e}"),
            StartError::Domain(e) => write!(f, "the memory domain could not be opened: {e}"),
            StartError::Record(p, e) => {
                write!(f, "the decision trace could not be created: --record {}: {e}", p.display())
            }
            StartError::Reaper(e) => write!(f, "the reaper pool could not be started: {e}"),
            StartError::Watchdog(e) => write!(f, "the watchdog could not be started: {e}"),
            StartError::Monitors(e) => write!(f, "the pressure monitors could not be set up: {e}"),
        }
    }
}

impl std::error::Error for StartError {}

/// What the command handler, the engine and the pipeline share.
pub(crate) struct Core {
    /// The daemon's clock.
    pub clock: Clock,
    /// The epoll set.
    pub poller: Poller,
    /// The control socket and its connections.
    pub server: Server,
    /// The registered processes.
    pub procs: ProcTable,
    /// Android properties (or the host's file).
    pub props: Box<dyn PropertySource>,
    /// ActivityManager's minfree table (`LMK_TARGET`).
    pub target: TargetTable,
}

impl Core {
    /// Sends a reply; a client whose socket stays full is disconnected.
    pub fn reply(&mut self, slot: usize, bytes: &[u8]) {
        if self.server.reply(slot, bytes, &self.poller) == ReplyOutcome::Stuck {
            self.close_conn(slot);
        }
    }

    /// Closes a connection; the records its client registered become claimable.
    pub fn close_conn(&mut self, slot: usize) {
        if let Some(pid) = self.server.close(slot, &self.poller) {
            self.procs.unclaim(pid);
        }
    }
}

/// The daemon.
pub struct Daemon {
    config: Config,
    core: Core,
    commands: Commands,
    engine: PressureEngine,
    pipeline: KillPipeline,
    watchdog: Watchdog,
    watchdog_kills: Vec<WatchdogKill>,
    /// When the loop last woke up (the start of the current round).
    round_start: Instant,
    /// `dumpsys lmkd` requests.
    #[cfg(aosp_build)]
    dump: Option<std::sync::Arc<crate::android::DumpRequests>>,
}

impl Daemon {
    /// Sets up the daemon: reads the configuration, opens the memory domain, starts the
    /// reapers and the watchdog, registers the control socket, and starts the monitors unless
    /// they wait for boot.
    pub fn new(opts: Options) -> Result<Daemon, StartError> {
        let config = Config::load(opts.props.as_ref());
        logging::set_debug(config.debug);
        let clock = opts.clock;
        let poller = Poller::new().map_err(StartError::Epoll)?;
        poller
            .add(opts.server.listener(), Token::Listener, EventFlags::IN)
            .map_err(StartError::Epoll)?;
        let limit = crate::sys::raise_nofile_limit().map_err(StartError::Rlimit)?;
        // Sized properly once everything else is open (`size_fd_budget`).
        let mut procs = ProcTable::new(opts.update_mode, 0);
        procs.set_per_app_memcg(config.per_app_memcg);
        let domain = engine::open_domain(&config).map_err(StartError::Domain)?;
        info!("Memory domain: {}", domain.describe());
        let trace = match &opts.record {
            Some(p) => Recorder::create(p).map_err(|e| StartError::Record(p.clone(), e))?,
            None => Recorder::default(),
        };
        let pipeline = KillPipeline::new(&config, domain.free_probe(), clock.clone())
            .map_err(StartError::Reaper)?;
        poller
            .add(pipeline.reaper().done_fd(), Token::ReaperDone, EventFlags::IN)
            .map_err(StartError::Epoll)?;
        let watchdog = Watchdog::start(
            procs.shared_registry(),
            WATCHDOG_TIMEOUT,
            crate::sys::probe_mrelease().available,
            clock.clone(),
        )
        .map_err(StartError::Watchdog)?;
        poller.add(watchdog.fd(), Token::Watchdog, EventFlags::IN).map_err(StartError::Epoll)?;
        let engine_poller = poller.try_clone().map_err(StartError::Epoll)?;
        let mut engine = PressureEngine::new(domain, clock.clone(), trace, engine_poller);
        engine.set_memevents_paths(opts.memevents);
        engine.record_config(&config);
        let mut d = Daemon {
            config,
            round_start: clock.now(),
            core: Core {
                clock,
                poller,
                server: opts.server,
                procs,
                props: opts.props,
                target: TargetTable::default(),
            },
            commands: Commands::new(opts.test_hooks),
            engine,
            pipeline,
            watchdog,
            watchdog_kills: Vec::with_capacity(64),
            #[cfg(aosp_build)]
            dump: None,
        };
        #[cfg(aosp_build)]
        match crate::android::start_dump_service() {
            Ok(req) => {
                d.core
                    .poller
                    .add(req.fd(), Token::Dump, EventFlags::IN)
                    .map_err(StartError::Epoll)?;
                d.dump = Some(req);
            }
            Err(e) => warn!("dumpsys lmkd unavailable: {e}"),
        }
        if !d.config.delay_monitors_until_boot || commands::boot_completed(&d.core) {
            d.engine.init_monitors(&d.config).map_err(StartError::Monitors)?;
        }
        // Restarted after boot (a crash, `stop`/`start`): no LMK_BOOT_COMPLETED will come
        // again, so memevents are set up now (AOSP's 2025 behaviour).
        if commands::boot_completed(&d.core) {
            let now = d.core.clock.now();
            d.engine.start_memevents(&mut d.config, progs_loaded(&d.core), now);
        }
        let _ = d.core.props.set("sys.lmk.reportkills", "1");
        d.size_fd_budget(limit.soft);
        Ok(d)
    }

    /// Each record holds a pidfd, and kept `oom_score_adj` files get a budget of the same
    /// size: half each of the descriptors left once the daemon is set up, after a reserve for
    /// what it opens later (connections, kills in flight, monitors re-created).
    fn size_fd_budget(&mut self, soft_limit: u64) {
        let open = std::fs::read_dir("/proc/self/fd").map_or(64, |d| d.count() as u64);
        let free = soft_limit.saturating_sub(open);
        let reserve = (free / 4).clamp(16, 256).min(free);
        let budget = usize::try_from((free - reserve) / 2).unwrap_or(usize::MAX);
        self.core.procs.set_fd_budget(budget);
        log::debug!(
            "descriptors: limit {soft_limit}, {open} open at start; up to {budget} registered processes"
        );
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The daemon's clock (a test moves a fake one).
    pub fn clock(&self) -> &Clock {
        &self.core.clock
    }

    /// The status report (`lmkctl status`, `dumpsys lmkd`).
    pub fn status(&self) -> crate::report::status::StatusReport {
        status::report(&self.config, &self.core, &self.engine, &self.pipeline, &self.watchdog)
    }

    /// Runs the event loop until an unrecoverable error.
    pub fn run(&mut self) -> io::Result<()> {
        loop {
            self.run_once(None)?;
        }
    }

    /// Waits once for events (up to `timeout`, and no longer than the next timer; `None` waits
    /// for an event or a timer), handles them and the timers that are due, and returns how many
    /// events there were. [`Daemon::run`] is this in a loop.
    pub fn run_once(&mut self, timeout: Option<Duration>) -> io::Result<usize> {
        let mut ready = [Ready::default(); MAX_EVENTS];
        let timeout = match (timeout, self.next_timer()) {
            (Some(t), Some(d)) => Some(t.min(d)),
            (t, d) => t.or(d),
        };
        let n = self.core.poller.wait(&mut ready, timeout)?;
        self.round_start = self.core.clock.now();
        // One round: every handler and the timers, under the watchdog. Hang-ups go first (as
        // AOSP's loop does), so that a client that dropped and reconnected within one round
        // frees its slot before the new connection is counted against the three.
        self.watchdog.arm(self.round_start);
        let hangup = |r: &Ready| {
            matches!(r.token, Token::Conn(_))
                && r.flags.intersects(EventFlags::HUP | EventFlags::RDHUP | EventFlags::ERR)
        };
        for r in ready[..n].iter().filter(|r| hangup(r)) {
            self.dispatch(*r);
        }
        for r in ready[..n].iter().filter(|r| !hangup(r)) {
            self.dispatch(*r);
        }
        self.on_timers();
        self.watchdog.disarm();
        Ok(n)
    }

    /// How long the loop may sleep before a timer is due (`None`: until an event). With no
    /// pressure and no kill awaited there is none: the daemon sleeps until something happens.
    pub fn next_timer(&self) -> Option<Duration> {
        let due = [
            self.engine.next_wake(),
            self.pipeline.kill_wait_deadline(&self.config),
            self.engine.memevents_retry_at(),
        ]
        .into_iter()
        .flatten()
        .min();
        due.map(|t| t.saturating_duration_since(self.core.clock.now()))
    }

    /// The timers: the end of the kill wait, then the engine's (polling window, headroom watch).
    fn on_timers(&mut self) {
        let now = self.core.clock.now();
        if self.pipeline.expire_kill_wait(&self.config, now) {
            self.engine.on_kill_wait_over(now);
        }
        if self.engine.next_wake().is_some_and(|t| now >= t) {
            self.pressure_wake(Wake::Timers);
        }
        if self.engine.memevents_retry_at().is_some_and(|t| now >= t) {
            let loaded = progs_loaded(&self.core);
            self.engine.start_memevents(&mut self.config, loaded, now);
        }
    }

    /// Handles one ready event source: the one dispatch point.
    pub fn dispatch(&mut self, r: Ready) {
        match r.token {
            Token::Listener => self.commands.on_accept(&mut self.core),
            Token::Conn(slot) => {
                let Daemon {
                    config, core, commands, engine, pipeline, watchdog, round_start, ..
                } = self;
                let mut svc =
                    Services { config, engine, pipeline, watchdog, round_start: *round_start };
                commands.on_conn(core, slot, r.flags, &mut |core, slot, req| {
                    svc.serve(core, slot, req)
                });
            }
            Token::ProcExit(bits) => {
                self.core.procs.on_exit(RecordId::from_bits(bits), &mut self.core.poller)
            }
            Token::ReaperDone => self.pipeline.on_reaper_done(&self.config),
            Token::Pressure(level) => self.pressure_wake(Wake::Monitor(level, r.flags)),
            Token::Early(kind) => self.pressure_wake(Wake::Early(kind)),
            Token::MemEvents => self.pressure_wake(Wake::MemEvents(r.flags)),
            Token::Dump =>
            {
                #[cfg(aosp_build)]
                if let Some(d) = &self.dump {
                    d.answer(&self.status_text());
                }
            }
            Token::KillDone { slot, generation } => {
                if self.pipeline.on_kill_done(&mut self.core, &self.config, slot, generation) {
                    // The awaited victim died: polling resumes at once.
                    self.engine.on_kill_wait_over(self.core.clock.now());
                }
            }
            Token::Watchdog => self.on_watchdog(),
            Token::Unknown(bits) => warn!("spurious event with token {bits:#x}; ignored"),
        }
    }

    /// A pressure wake-up, handed to the engine with the pipeline as its killer.
    fn pressure_wake(&mut self, wake: Wake) {
        let mut svc = Services {
            config: &mut self.config,
            engine: &mut self.engine,
            pipeline: &mut self.pipeline,
            watchdog: &self.watchdog,
            round_start: self.round_start,
        };
        svc.wake(&mut self.core, Some(wake), None);
    }

    /// The watchdog killed while the loop was stuck: drop the records and report the kills
    /// (the watchdog itself logged them and counted them).
    fn on_watchdog(&mut self) {
        let lost = self.watchdog.take_kills(&mut self.watchdog_kills);
        if lost > 0 {
            warn!("{lost} watchdog kills were not reported (the loop was stuck too long)");
        }
        let mut kills = std::mem::take(&mut self.watchdog_kills);
        for k in kills.drain(..) {
            self.pipeline.report_watchdog_kill(&mut self.core, &k);
        }
        self.watchdog_kills = kills;
    }

    #[cfg(aosp_build)]
    fn status_text(&self) -> String {
        self.status().to_text()
    }
}

/// The engine, the pipeline and the configuration, lent to the command handler's requests
/// and to pressure wake-ups.
struct Services<'a> {
    config: &'a mut Config,
    engine: &'a mut PressureEngine,
    pipeline: &'a mut KillPipeline,
    watchdog: &'a Watchdog,
    round_start: Instant,
}

impl Services<'_> {
    /// A pressure wake-up (`wake`), or the test hook's event at `test_level`.
    fn wake(&mut self, core: &mut Core, wake: Option<Wake>, test_level: Option<i32>) {
        let now = core.clock.now();
        let target = core.target;
        let env = Env {
            config: self.config,
            target: &target,
            now,
            wake_at: self.round_start,
            awaited_kill: self.pipeline.awaited_kill(self.config, now),
        };
        let mut killer = PressureKiller { pipeline: self.pipeline, core, config: self.config };
        let healthy = match (wake, test_level) {
            (Some(wake), _) => self.engine.on_wake(wake, &env, &mut killer),
            (None, Some(level)) => self.engine.test_pressure(level, &env, &mut killer),
            (None, None) => true,
        };
        if !healthy && self.engine.restart_monitors(self.config).is_err() {
            error!("no pressure monitors: kills on pressure stop until LMK_UPDATE_PROPS");
        }
    }

    /// Serves one request of the command handler.
    fn serve(&mut self, core: &mut Core, slot: usize, req: Request) {
        match req {
            Request::UpdateProps => {
                let result = self.update_props(core);
                core.reply(slot, &encode_reply(LMK_UPDATE_PROPS, result));
            }
            Request::StartMonitoring => {
                if self.engine.started() {
                    return;
                }
                if !commands::boot_completed(core) {
                    crate::ratelimit::limited!(
                        error,
                        "LMK_START_MONITORING cannot be handled before boot completed"
                    );
                    return;
                }
                match self.engine.init_monitors(self.config) {
                    Ok(()) => info!("Initialized monitors after boot completed."),
                    Err(e) => error!("Failed to initialize monitors after boot: {e}"),
                }
            }
            Request::StartMemevents => {
                let now = core.clock.now();
                self.engine.start_memevents(self.config, progs_loaded(core), now);
            }
            Request::TestPressure(level) => self.wake(core, None, Some(level)),
            Request::TestStall(d) => {
                if !core.clock.is_fake() {
                    core.clock.sleep(d);
                    return;
                }
                // A round that takes this long, on a fake clock: time moves in small steps, and
                // the watchdog looks at each before the next, as it would while time passes.
                let mut left = d;
                while !left.is_zero() {
                    let step = left.min(STALL_STEP);
                    core.clock.advance(step);
                    left -= step;
                    if !self.watchdog.wait_seen(core.clock.now(), WATCHDOG_SEEN_BUDGET) {
                        warn!("test hook: the watchdog did not look at the stalled round");
                    }
                }
            }
            Request::Status { json } => {
                let report =
                    status::report(self.config, core, self.engine, self.pipeline, self.watchdog);
                let text = if json { report.to_json() } else { report.to_text() };
                for packet in crate::protocol::ext::encode_text_reply(&text) {
                    core.reply(slot, &packet);
                }
            }
            Request::KillHistory => {
                for packet in history::encode_history(self.pipeline.history()) {
                    core.reply(slot, &packet);
                }
            }
            Request::Kill { id, pid, mut ctx } => {
                ctx.free_mem_kb = self.pipeline.reaper().free_kb().unwrap_or(0);
                let stats = self.engine.stats();
                let sent = self.pipeline.kill_record(
                    core,
                    self.config,
                    id,
                    &ctx,
                    None,
                    self.engine.snapshot(),
                    stats.skipped,
                );
                let code = match sent {
                    Ok(_) => KILL_SENT,
                    Err(KillError::Gone) => KILL_GONE,
                    Err(KillError::Failed(_) | KillError::Unreadable) => KILL_FAILED,
                };
                commands::reply_kill(core, slot, pid, code);
            }
        }
    }

    /// `LMK_UPDATE_PROPS`: 0 when the new configuration is in force, −1 when the source could
    /// not be read or the new configuration could not be applied (the old one stays; AOSP
    /// exited instead, quirk 11).
    fn update_props(&mut self, core: &mut Core) -> i32 {
        if let Err(e) = core.props.reload() {
            error!("Failed to reload properties: {e}; keeping the configuration in force");
            return -1;
        }
        let new = Config::load(core.props.as_ref());
        logging::set_debug(new.debug);
        core.procs.set_per_app_memcg(new.per_app_memcg);
        if new.memcg_domain != self.config.memcg_domain {
            match engine::open_domain(&new) {
                Ok(d) => self.engine.set_domain(d),
                Err(e) => {
                    error!(
                        "cannot use the memory domain {:?}: {e}; keeping the configuration in force",
                        new.memcg_domain
                    );
                    return -1;
                }
            }
        }
        let old = std::mem::replace(self.config, new);
        if self.engine.started() {
            if let Err(e) = self.engine.init_monitors(self.config) {
                error!(
                    "Failed to re-create the monitors ({e}); keeping the configuration in force"
                );
                *self.config = old;
                return -1;
            }
        }
        self.engine.check_direct_reclaim_threshold(self.config);
        // AOSP's text, misspelt as AOSP spells it (tools grep for it).
        info!("Properties reinitilized");
        0
    }
}

/// Whether the BPF loader says its programs are loaded (`bpf.progs_loaded`).
fn progs_loaded(core: &Core) -> bool {
    core.props.get("bpf.progs_loaded").is_some_and(|v| v.trim() == "1")
}
