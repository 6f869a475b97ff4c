//! The daemon: owns all state and runs the event loop. [`Daemon::dispatch`] is the one place
//! where an event meets the subsystems.

mod kill;
mod pressure;
mod status;

pub use kill::{KillError, KillSent, MAX_IN_FLIGHT};
pub use pressure::PressureStats;

use std::io;
use std::time::{Duration, Instant};

use log::{error, info, warn};
use rustix::event::epoll::EventFlags;

use crate::config::{parse_bool, Config, PropertySource};
use crate::event::{Poller, Ready, Token, MAX_EVENTS};
use crate::logging;
use crate::procs::{PrioOutcome, ProcTable, UpdateMode, OOM_SCORE_ADJ_MAX, OOM_SCORE_ADJ_MIN};
use crate::protocol::ext::{
    encode_procs_reply, ExtCommand, ProcEntry, KILL_FAILED, KILL_GONE, KILL_NOT_OWNER,
    KILL_NOT_REGISTERED, KILL_SENT, KILL_UID_MISMATCH, LMK_EXT_KILL,
};
use crate::protocol::{
    encode_reply, Command, DecodeError, Incoming, ProcPrio, ReplyOutcome, Server, TargetTable,
    EXT_BASE, LMK_ASYNC_EVENT_KILL, LMK_ASYNC_EVENT_STAT, LMK_BOOT_COMPLETED, LMK_GETKILLCNT,
    LMK_UPDATE_PROPS, RECV_BUFFER_SIZE,
};
use crate::ratelimit::limited;
use crate::reaper::watchdog::{Watchdog, WatchdogKill, WATCHDOG_TIMEOUT};
use crate::reaper::{placement, Reaper, ReaperConfig, WorkerReport};
use crate::report::{history, KillContext, KillHistory, ReasonText};
use crate::sys::Creds;

/// `TARGET_UPDATE_MIN_INTERVAL_MS`: AOSP ignores `LMK_TARGET`s closer together than this.
pub const TARGET_UPDATE_MIN_INTERVAL: Duration = Duration::from_millis(1000);
/// `PROPERTY_VALUE_MAX - 1`: longest value of `sys.lmk.minfree_levels`.
const PROPERTY_VALUE_MAX_LEN: usize = 91;
/// Messages read from one connection per wakeup, so that a flooding client cannot starve the
/// others (epoll is level-triggered: the rest is read on the next round).
const MESSAGES_PER_WAKEUP: usize = 16;

/// How the daemon was started.
pub struct Options {
    /// The control socket, listening.
    pub server: Server,
    /// Where properties come from.
    pub props: Box<dyn PropertySource>,
    /// How priority updates reach `/proc` (the default, or AOSP's way for benchmarks).
    pub update_mode: UpdateMode,
    /// Record the inputs of every decision to this file (`--record`).
    pub record: Option<std::path::PathBuf>,
    /// Accept the test-only commands (`--test-hooks`; see [`crate::protocol::ext`]).
    pub test_hooks: bool,
}

/// The daemon's state.
pub struct Daemon {
    poller: Poller,
    server: Server,
    procs: ProcTable,
    props: Box<dyn PropertySource>,
    config: Config,
    target: TargetTable,
    last_target_update: Option<Instant>,
    boot_completed_handled: bool,
    monitors_started: bool,
    reaper: Reaper,
    history: KillHistory,
    kills: kill::InFlightKills,
    kill_seq: u64,
    reap_reports: Vec<WorkerReport>,
    domain: crate::memory::Domain,
    snap: crate::memory::Snapshot,
    watermarks: Option<(crate::memory::Watermarks, u64)>,
    page_kb: i64,
    monitors: pressure::Monitors,
    psi_state: crate::policy::psi_strategy::PsiState,
    legacy_state: crate::policy::legacy::LegacyState,
    poll: crate::pressure::poll::PollWindow,
    poll_window_ms: u64,
    poll_wake: crate::policy::Wakeup,
    last_event_level: crate::pressure::Level,
    wakeups: u64,
    stats: PressureStats,
    skipped_since_kill: u64,
    snapshot_errors: crate::ratelimit::RateLimit,
    no_victim_log: crate::ratelimit::RateLimit,
    psi_fallback_logged: bool,
    usage_files: Option<(crate::memory::KernelFile, Option<crate::memory::KernelFile>)>,
    trace: Option<std::fs::File>,
    /// When the loop last woke up (the start of the current dispatch).
    wake_at: Instant,
    /// `dumpsys lmkd` requests.
    #[cfg(aosp_build)]
    dump: Option<std::sync::Arc<crate::android::DumpRequests>>,
    started: Instant,
    watchdog: Watchdog,
    watchdog_kills: Vec<WatchdogKill>,
    test_hooks: bool,
}

impl Daemon {
    /// Sets up the daemon: reads the configuration and registers the control socket.
    pub fn new(opts: Options) -> io::Result<Daemon> {
        let config = Config::load(opts.props.as_ref());
        logging::set_debug(config.debug);
        let poller = Poller::new()?;
        poller.add(opts.server.listener(), Token::Listener, EventFlags::IN)?;
        let limit = crate::sys::raise_nofile_limit()?;
        // Sized properly once everything else is open (`size_fd_budget`).
        let mut procs = ProcTable::new(opts.update_mode, 0);
        procs.set_per_app_memcg(config.per_app_memcg);
        let domain = match &config.memcg_domain {
            Some(path) => {
                crate::memory::Domain::memcg(std::path::Path::new(path)).map_err(|e| {
                    io::Error::new(e.kind(), format!("ro.lmk.memcg_domain={path}: {e}"))
                })?
            }
            None => crate::memory::Domain::system()?,
        };
        info!("Memory domain: {}", domain.describe());
        let free_probe = domain.free_probe();
        let trace =
            match &opts.record {
                Some(p) => Some(std::fs::File::create(p).map_err(|e| {
                    io::Error::new(e.kind(), format!("--record {}: {e}", p.display()))
                })?),
                None => None,
            };
        let reaper = Reaper::start(
            ReaperConfig {
                threads: usize::try_from(config.reaper_threads).unwrap_or(0),
                placement: placement::choose(
                    config.reaper_cpus.as_deref(),
                    placement::SYSFS_CPU_ROOT.as_ref(),
                ),
                nice: i32::try_from(config.reaper_nice).unwrap_or(-20),
            },
            free_probe,
        )?;
        poller.add(reaper.done_fd(), Token::ReaperDone, EventFlags::IN)?;
        let watchdog = Watchdog::start(
            procs.shared_registry(),
            WATCHDOG_TIMEOUT,
            crate::sys::probe_mrelease().available,
        )?;
        poller.add(watchdog.fd(), Token::Watchdog, EventFlags::IN)?;
        let history = KillHistory::new(usize::try_from(config.kill_history_size).unwrap_or(0));
        let mut d = Daemon {
            poller,
            server: opts.server,
            procs,
            props: opts.props,
            config,
            target: TargetTable::default(),
            last_target_update: None,
            boot_completed_handled: false,
            monitors_started: false,
            reaper,
            history,
            kills: kill::InFlightKills::default(),
            kill_seq: 0,
            reap_reports: Vec::with_capacity(64),
            domain,
            snap: crate::memory::Snapshot::default(),
            watermarks: None,
            page_kb: crate::memory::page_kb(),
            monitors: pressure::Monitors::None,
            psi_state: crate::policy::psi_strategy::PsiState::new(&Config::default()),
            legacy_state: crate::policy::legacy::LegacyState::default(),
            poll: crate::pressure::poll::PollWindow::new(crate::pressure::poll::WINDOW_MS),
            poll_window_ms: crate::pressure::poll::WINDOW_MS,
            poll_wake: crate::policy::Wakeup {
                source: crate::policy::Source::Psi,
                level: crate::pressure::Level::Low,
                event: false,
            },
            last_event_level: crate::pressure::Level::Low,
            wakeups: 0,
            stats: PressureStats::default(),
            skipped_since_kill: 0,
            snapshot_errors: crate::ratelimit::RateLimit::new(Duration::from_secs(10)),
            no_victim_log: crate::ratelimit::RateLimit::new(Duration::from_secs(1)),
            psi_fallback_logged: false,
            usage_files: None,
            trace,
            wake_at: Instant::now(),
            #[cfg(aosp_build)]
            dump: None,
            started: Instant::now(),
            watchdog,
            watchdog_kills: Vec::with_capacity(64),
            test_hooks: opts.test_hooks,
        };
        d.open_usage_files();
        #[cfg(aosp_build)]
        match crate::android::start_dump_service() {
            Ok(req) => {
                d.poller.add(req.fd(), Token::Dump, EventFlags::IN)?;
                d.dump = Some(req);
            }
            Err(e) => warn!("dumpsys lmkd unavailable: {e}"),
        }
        if d.trace.is_some() {
            d.record_line(format_args!("# lmkd trace, domain {}", d.domain.describe()));
            for line in pressure::config_props(&d.config) {
                d.record_line(format_args!("{line}"));
            }
        }
        if !d.config.delay_monitors_until_boot || d.boot_completed() {
            d.init_monitors().map_err(io::Error::other)?;
        }
        let _ = d.props.set("sys.lmk.reportkills", "1");
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
        self.procs.set_fd_budget(budget);
        log::debug!(
            "descriptors: limit {soft_limit}, {open} open at start; up to {budget} registered processes"
        );
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Runs the event loop until an unrecoverable error.
    pub fn run(&mut self) -> io::Result<()> {
        loop {
            self.run_once(None)?;
        }
    }

    /// Waits once for events (up to `timeout`; `None` waits forever), handles them, and
    /// returns how many there were. [`Daemon::run`] is this in a loop.
    pub fn run_once(&mut self, timeout: Option<Duration>) -> io::Result<usize> {
        let mut ready = [Ready::default(); MAX_EVENTS];
        let timeout = match (timeout, self.next_deadline()) {
            (Some(t), Some(d)) => Some(t.min(d)),
            (t, d) => t.or(d),
        };
        let n = self.poller.wait(&mut ready, timeout)?;
        self.wake_at = Instant::now();
        // One round: every handler and the timers, under the watchdog. Hang-ups go first (as
        // AOSP's loop does), so that a client that dropped and reconnected within one round
        // frees its slot before the new connection is counted against the three.
        self.watchdog.arm(self.wake_at);
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
        self.on_timers(Instant::now());
        self.watchdog.disarm();
        Ok(n)
    }

    /// How long the loop may sleep before a timer is due (`None`: until an event). With no
    /// pressure and no kill awaited there is none: the daemon sleeps until something happens.
    fn next_deadline(&self) -> Option<Duration> {
        let now_ms = self.now_ms();
        let poll = self.poll.deadline_ms().map(|d| Duration::from_millis(d.saturating_sub(now_ms)));
        let kill = self.kills.pressure_kill().map(|k| {
            let limit = match u64::try_from(self.config.kill_timeout_ms).unwrap_or(0) {
                0 => kill::KILL_WAIT_CAP,
                t => Duration::from_millis(t),
            };
            (k.killed_at + limit).saturating_duration_since(Instant::now())
        });
        match (poll, kill) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn on_timers(&mut self, _now: Instant) {
        self.on_pressure_timers();
    }

    /// Handles one ready event source.
    pub fn dispatch(&mut self, r: Ready) {
        match r.token {
            Token::Listener => self.on_accept(),
            Token::Conn(slot) => self.on_conn(slot, r.flags),
            Token::ProcExit(id) => self.procs.on_exit(id, &mut self.poller),
            Token::ReaperDone => self.on_reaper_done(),
            Token::Pressure(level) => {
                let mut flags = r.flags;
                if crate::fault::check(crate::fault::Site::PsiEvent, "").is_some() {
                    flags |= EventFlags::ERR;
                }
                self.on_pressure(level, flags)
            }
            Token::Dump =>
            {
                #[cfg(aosp_build)]
                if let Some(d) = &self.dump {
                    d.answer(&self.status_report().to_text());
                }
            }
            Token::KillDone { slot, generation } => self.on_kill_done(slot, generation),
            Token::Watchdog => self.on_watchdog(),
            Token::Unknown(bits) => warn!("spurious event with token {bits:#x}; ignored"),
        }
    }

    fn on_accept(&mut self) {
        match self.server.accept(&self.poller) {
            Ok(Some(evicted)) => {
                for pid in evicted.into_iter().flatten() {
                    self.procs.unclaim(pid);
                }
            }
            Ok(None) => {}
            Err(e) => error!("lmkd control socket accept failed: {e}"),
        }
    }

    fn on_conn(&mut self, slot: usize, flags: EventFlags) {
        if flags.contains(EventFlags::OUT) {
            self.server.flush(slot, &self.poller);
        }
        let hangup = flags.intersects(EventFlags::HUP | EventFlags::RDHUP | EventFlags::ERR);
        // After a hang-up, read what the client sent before it left, then close.
        let budget = if hangup { usize::MAX } else { MESSAGES_PER_WAKEUP };
        if flags.contains(EventFlags::IN) || hangup {
            let mut buf = [0u8; RECV_BUFFER_SIZE];
            for _ in 0..budget {
                match self.server.recv(slot, &mut buf) {
                    Incoming::Message { len, creds } => self.on_packet(slot, creds, &buf[..len]),
                    Incoming::Oversized { len } => {
                        limited!(error, "{}", DecodeError::Oversized { len });
                    }
                    Incoming::NoCredentials => {
                        error!("Failed to retrieve sender credentials");
                        self.close_conn(slot);
                        return;
                    }
                    Incoming::Closed => {
                        info!("lmkd data connection dropped");
                        self.close_conn(slot);
                        return;
                    }
                    Incoming::Drained => break,
                }
                if self.server.conn(slot).is_none() {
                    return;
                }
            }
        }
        if hangup && self.server.conn(slot).is_some() {
            info!("lmkd data connection dropped");
            self.close_conn(slot);
        }
    }

    fn close_conn(&mut self, slot: usize) {
        if let Some(pid) = self.server.close(slot, &self.poller) {
            self.procs.unclaim(pid);
        }
    }

    fn reply(&mut self, slot: usize, bytes: &[u8]) {
        if self.server.reply(slot, bytes, &self.poller) == ReplyOutcome::Stuck {
            self.close_conn(slot);
        }
    }

    /// One message from a client.
    fn on_packet(&mut self, slot: usize, creds: Creds, packet: &[u8]) {
        let cmd = match Command::decode(packet) {
            Ok(cmd) => cmd,
            Err(DecodeError::UnknownCommand { cmd }) if cmd >= EXT_BASE => {
                match ExtCommand::decode(packet) {
                    Ok(ext) => self.on_ext(slot, creds, ext),
                    Err(e) => limited!(error, "{e}"),
                }
                return;
            }
            Err(e) => {
                limited!(error, "{e}");
                return;
            }
        };
        match cmd {
            Command::Target(t) => self.on_target(t),
            Command::ProcPrio(p) => self.on_proc_prio(&p, creds),
            Command::ProcsPrio(batch) => {
                // Not atomic, as AOSP: a bad record is skipped, the others are applied.
                for p in batch.records() {
                    self.on_proc_prio(p, creds);
                }
            }
            Command::ProcRemove { pid } => {
                self.procs.remove_pid(pid, creds.pid, &mut self.poller);
            }
            Command::ProcPurge => {
                self.procs.purge(creds.pid, &mut self.poller);
            }
            Command::GetKillCnt { min_adj, max_adj } => {
                let n = self.procs.registry().kill_count(min_adj, max_adj);
                self.reply(
                    slot,
                    &encode_reply(LMK_GETKILLCNT, i32::try_from(n).unwrap_or(i32::MAX)),
                );
            }
            Command::Subscribe { event } => self.on_subscribe(slot, event),
            Command::UpdateProps => {
                let result = self.update_props();
                self.reply(slot, &encode_reply(LMK_UPDATE_PROPS, result));
            }
            Command::StartMonitoring => self.on_start_monitoring(),
            Command::BootCompleted => {
                let result = self.on_boot_completed();
                self.reply(slot, &encode_reply(LMK_BOOT_COMPLETED, result));
            }
        }
    }

    /// One of this project's extension commands.
    fn on_ext(&mut self, slot: usize, creds: Creds, cmd: ExtCommand) {
        match cmd {
            ExtCommand::Procs => {
                let entries = {
                    let reg = self.procs.registry();
                    let mut entries = Vec::with_capacity(reg.len());
                    for adj in (OOM_SCORE_ADJ_MIN..=OOM_SCORE_ADJ_MAX).rev() {
                        entries.extend(reg.iter_adj(adj).map(|(_, r)| ProcEntry {
                            pid: r.pid,
                            uid: r.uid,
                            adj: r.adj(),
                            ptype: r.ptype,
                            owner: r.owner,
                        }));
                    }
                    entries
                };
                for packet in encode_procs_reply(&entries) {
                    self.reply(slot, &packet);
                }
            }
            ExtCommand::TestStall { .. }
            | ExtCommand::TestPanic
            | ExtCommand::TestFaults(_)
            | ExtCommand::TestPressure { .. }
                if !self.test_hooks =>
            {
                limited!(warn, "client {} sent a test-only command; ignored", creds.pid);
            }
            ExtCommand::TestStall { ms } => {
                warn!("test hook: stalling the loop for {ms} ms");
                std::thread::sleep(Duration::from_millis(u64::try_from(ms).unwrap_or(0)));
            }
            ExtCommand::TestPanic => panic!("test hook: panicking on request"),
            ExtCommand::TestFaults(spec) => match crate::fault::install(&spec) {
                Ok(n) => warn!("test hook: {n} faults armed: {spec:?}"),
                Err(e) => error!("test hook: bad fault specification: {e}"),
            },
            ExtCommand::TestPressure { level } => self.test_pressure(level),
            ExtCommand::Status { json } => {
                let report = self.status_report();
                let text = if json { report.to_json() } else { report.to_text() };
                for packet in crate::protocol::ext::encode_text_reply(&text) {
                    self.reply(slot, &packet);
                }
            }
            ExtCommand::KillHistory => {
                for packet in history::encode_history(&self.history) {
                    self.reply(slot, &packet);
                }
            }
            ExtCommand::Kill { pid, uid, reason } => {
                let code = match self.on_ext_kill(creds, pid, uid, reason) {
                    Ok(_) => KILL_SENT,
                    Err(code) => code,
                };
                self.reply_kill(slot, pid, code);
            }
        }
    }

    fn reply_kill(&mut self, slot: usize, pid: i32, result: i32) {
        let mut reply = [0u8; 12];
        for (i, w) in [LMK_EXT_KILL, pid, result].iter().enumerate() {
            reply[i * 4..i * 4 + 4].copy_from_slice(&w.to_be_bytes());
        }
        self.reply(slot, &reply);
    }

    /// `LMK_EXT_KILL`: only the client that registered a process may ask for its kill. A record
    /// whose client left is claimed, as `LMK_PROCPRIO` claims it (any client could claim it that
    /// way first, so this gives no client more power). A refusal changes nothing.
    fn on_ext_kill(
        &mut self,
        creds: Creds,
        pid: i32,
        uid: i32,
        reason: i32,
    ) -> Result<KillSent, i32> {
        let mut reg = self.procs.registry();
        let Some(id) = reg.lookup(pid) else {
            limited!(
                warn,
                "client {} asked to kill pid {pid}, which is not registered; refused",
                creds.pid
            );
            return Err(KILL_NOT_REGISTERED);
        };
        let rec = reg.get(id).expect("looked up");
        if rec.owner != 0 && rec.owner != creds.pid {
            limited!(
                warn,
                "client {} asked to kill pid {pid}, registered by client {}; refused",
                creds.pid,
                rec.owner
            );
            return Err(KILL_NOT_OWNER);
        }
        if rec.uid != uid {
            limited!(
                warn,
                "client {} asked to kill pid {pid} as uid {uid}, registered as uid {}; refused",
                creds.pid,
                rec.uid
            );
            return Err(KILL_UID_MISMATCH);
        }
        let adj = rec.adj();
        reg.claim(id, creds.pid);
        drop(reg);
        let ctx = KillContext {
            min_adj: adj,
            reason_text: ReasonText::format(format_args!(
                "requested by client {} (reason {reason})",
                creds.pid
            )),
            free_mem_kb: self.reaper.free_kb().unwrap_or(0),
            requested_by: creds.pid,
            client_reason: reason,
            ..KillContext::default()
        };
        self.kill_record(id, &ctx, false).map_err(|e| match e {
            KillError::Gone => KILL_GONE,
            KillError::Failed(_) | KillError::Unreadable => KILL_FAILED,
        })
    }

    fn on_proc_prio(&mut self, p: &ProcPrio, creds: Creds) {
        let outcome = self.procs.apply_prio(p, creds.pid, creds.uid, &mut self.poller);
        if let PrioOutcome::Registered(_) | PrioOutcome::Updated(_) = outcome {
            log::trace!("pid {} uid {} now at adj {}", p.pid, p.uid, p.adj);
        }
    }

    fn on_subscribe(&mut self, slot: usize, event: i32) {
        // AOSP shifted by the unchecked event type (quirk 8); only the two real ones count.
        if event != LMK_ASYNC_EVENT_KILL && event != LMK_ASYNC_EVENT_STAT {
            limited!(error, "Invalid LMK_SUBSCRIBE event type {event}; ignored");
            return;
        }
        if let Some(conn) = self.server.conn_mut(slot) {
            conn.subscriptions |= 1 << event;
        }
    }

    fn on_target(&mut self, t: TargetTable) {
        if t.is_empty() {
            return;
        }
        let now = Instant::now();
        if self
            .last_target_update
            .is_some_and(|last| now.saturating_duration_since(last) < TARGET_UPDATE_MIN_INTERVAL)
        {
            limited!(error, "Ignoring frequent updated to lmkd limits");
            return;
        }
        self.last_target_update = Some(now);
        self.target = t;
        let value = minfree_levels_value(&t);
        if let Err(e) = self.props.set("sys.lmk.minfree_levels", &value) {
            warn!("failed to set sys.lmk.minfree_levels: {e}");
        }
    }

    /// `LMK_UPDATE_PROPS`: 0 when the new configuration is in force, −1 when the source could
    /// not be read (the old configuration stays; AOSP exited instead, quirk 11).
    fn update_props(&mut self) -> i32 {
        if let Err(e) = self.props.reload() {
            error!("Failed to reload properties: {e}; keeping the configuration in force");
            return -1;
        }
        let config = Config::load(self.props.as_ref());
        logging::set_debug(config.debug);
        self.procs.set_per_app_memcg(config.per_app_memcg);
        if config.memcg_domain != self.config.memcg_domain {
            let domain = match &config.memcg_domain {
                Some(path) => crate::memory::Domain::memcg(std::path::Path::new(path)),
                None => crate::memory::Domain::system(),
            };
            match domain {
                Ok(d) => {
                    info!("Memory domain: {}", d.describe());
                    self.domain = d;
                    self.watermarks = None;
                    self.open_usage_files();
                }
                Err(e) => {
                    error!("cannot use the memory domain {:?}: {e}; keeping the configuration in force", config.memcg_domain);
                    return -1;
                }
            }
        }
        let old = std::mem::replace(&mut self.config, config);
        if self.monitors_started {
            if let Err(e) = self.init_monitors() {
                error!(
                    "Failed to re-create the monitors ({e}); keeping the configuration in force"
                );
                self.config = old;
                return -1;
            }
        }
        info!("Properties reinitilized");
        0
    }

    fn boot_completed(&self) -> bool {
        self.props.get("sys.boot_completed").and_then(|v| parse_bool(&v)).unwrap_or(false)
    }

    fn on_start_monitoring(&mut self) {
        if self.monitors_started {
            return;
        }
        if !self.boot_completed() {
            limited!(error, "LMK_START_MONITORING cannot be handled before boot completed");
            return;
        }
        if let Err(e) = self.init_monitors() {
            error!("Failed to initialize monitors after boot: {e}");
            return;
        }
        info!("Initialized monitors after boot completed.");
    }

    /// `LMK_BOOT_COMPLETED`: 0 done now, 1 done before, −1 boot not completed yet.
    fn on_boot_completed(&mut self) -> i32 {
        if self.boot_completed_handled {
            return 1;
        }
        if !self.boot_completed() {
            limited!(error, "LMK_BOOT_COMPLETED cannot be handled before boot completed");
            return -1;
        }
        // There are no BPF memevents in this daemon: reclaim is detected from vmstat.
        info!("Using vmstats for direct reclaim and kswapd detection");
        self.boot_completed_handled = true;
        0
    }
}

/// The value of `sys.lmk.minfree_levels`: `minfree:adj` pairs joined by commas, cut to
/// `PROPERTY_VALUE_MAX - 1` characters.
pub fn minfree_levels_value(t: &TargetTable) -> String {
    let mut s = String::new();
    for (i, (minfree, adj)) in t.pairs().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&format!("{minfree}:{adj}"));
    }
    s.truncate(PROPERTY_VALUE_MAX_LEN);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minfree_levels_as_activitymanager_sees_them() {
        let t = TargetTable::new(&[
            (18432, 0),
            (23040, 100),
            (27648, 200),
            (32256, 250),
            (55296, 900),
            (80640, 950),
        ])
        .unwrap();
        assert_eq!(
            minfree_levels_value(&t),
            "18432:0,23040:100,27648:200,32256:250,55296:900,80640:950"
        );
        let long = TargetTable::new(&[(i32::MIN, i32::MIN); 6]).unwrap();
        assert_eq!(minfree_levels_value(&long).len(), PROPERTY_VALUE_MAX_LEN);
    }
}
