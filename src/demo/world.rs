//! A small Android in a sandbox: a memory cgroup, the daemon with that cgroup as its memory
//! domain, synthetic apps, and ActivityManager's side of the protocol — registering apps on
//! AOSP's adj ladder, moving them between states, listening for kills. `lmkd demo`, the
//! scenario tests and the comparison benchmark are built on it.

use std::fmt::Write as _;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::app::{AppOptions, AppProcess};
use super::sandbox::Sandbox;
use crate::client::Client;
use crate::protocol::{ServerMessage, LMK_ASYNC_EVENT_KILL, PROC_TYPE_APP};
use crate::report::KillRecord;

/// ActivityManager's adj values (`ProcessList.java`).
pub mod adj {
    /// The app the user sees and touches.
    pub const FOREGROUND: i32 = 0;
    /// Visible but not in front.
    pub const VISIBLE: i32 = 100;
    /// Perceptible (music playing, for instance).
    pub const PERCEPTIBLE: i32 = 200;
    /// A service.
    pub const SERVICE: i32 = 500;
    /// The launcher.
    pub const HOME: i32 = 600;
    /// The app the user was in before.
    pub const PREVIOUS: i32 = 700;
    /// The first cached adj.
    pub const CACHED_MIN: i32 = 900;
    /// The last cached adj.
    pub const CACHED_MAX: i32 = 999;
}

/// How the daemon watches pressure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// PSI triggers and AOSP's new strategy (Android's default).
    Psi,
    /// vmpressure events and the old strategy (`ro.lmk.use_psi=false`).
    Vmpressure,
    /// No daemon at all: the kernel's OOM killer alone.
    NoDaemon,
}

/// What to build.
#[derive(Clone, Debug)]
pub struct WorldOptions {
    /// A binary with the daemon and an `app` mode (`lmkd`).
    pub program: PathBuf,
    /// Name part of the cgroups and the temporary directory.
    pub tag: String,
    /// The sandbox's memory limit, bytes.
    pub limit: u64,
    /// How pressure is watched.
    pub mode: Mode,
    /// Extra daemon properties (`key=value` lines).
    pub props: String,
    /// Make a freezer group too.
    pub freezer: bool,
}

/// One app of the world.
pub struct WorldApp {
    /// A label ("cached-3", "foreground", ...).
    pub name: String,
    /// The process.
    pub process: AppProcess,
    /// Its uid as registered.
    pub uid: i32,
    /// The adj it was last given.
    pub adj: i32,
    /// When the daemon reported it killed (`LMK_PROCKILL`).
    pub killed_at: Option<Duration>,
}

/// The daemon process, killed on drop.
pub struct DaemonProcess {
    child: Child,
    /// Its control socket.
    pub socket: PathBuf,
    /// Its log (stderr).
    pub log: PathBuf,
}

impl DaemonProcess {
    /// The daemon's log so far.
    pub fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Its pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for DaemonProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One sample of the sandbox.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Sample {
    /// Since the start.
    pub t: Duration,
    /// Memory charged, bytes.
    pub usage: u64,
    /// PSI `some` avg10, %.
    pub psi_some: f64,
    /// PSI `full` avg10, %.
    pub psi_full: f64,
    /// PSI `some` total stall, µs.
    pub some_total_us: u64,
    /// PSI `full` total stall, µs.
    pub full_total_us: u64,
    /// Kernel OOM kills in the sandbox so far.
    pub oom_kills: u64,
}

/// A kill as the world saw it: the event, then the history record's details.
#[derive(Clone, Debug)]
pub struct Kill {
    /// When the `LMK_PROCKILL` arrived.
    pub t: Duration,
    /// The victim.
    pub pid: i32,
    /// Its label, if it was one of the world's apps.
    pub app: Option<String>,
    /// The daemon's record, once read.
    pub record: Option<KillRecord>,
}

/// Everything that happened, for the JSON log.
#[derive(Clone, Debug)]
pub enum Event {
    /// A sample.
    Sample(Sample),
    /// An app was started and registered.
    Launch {
        /// When.
        t: Duration,
        /// Label.
        app: String,
        /// Pid.
        pid: i32,
        /// Adj.
        adj: i32,
    },
    /// An app changed adj.
    Adj {
        /// When.
        t: Duration,
        /// Label.
        app: String,
        /// Pid.
        pid: i32,
        /// New adj.
        adj: i32,
    },
    /// A kill (index into [`World::kills`]).
    Kill(usize),
    /// A note ("the foreground app starts leaking").
    Note {
        /// When.
        t: Duration,
        /// Text.
        text: String,
    },
}

/// The world. Fields drop in order: apps first, then the clients, the daemon, the sandbox.
pub struct World {
    /// The apps, in launch order.
    pub apps: Vec<WorldApp>,
    client: Option<Client>,
    sub: Option<Client>,
    /// The daemon (none in [`Mode::NoDaemon`]).
    pub daemon: Option<DaemonProcess>,
    /// The sandbox.
    pub sandbox: Sandbox,
    /// Every kill seen.
    pub kills: Vec<Kill>,
    /// Everything, in order.
    pub events: Vec<Event>,
    program: PathBuf,
    dir: PathBuf,
    start: Instant,
    next_uid: i32,
}

impl World {
    /// Creates the sandbox and starts the daemon on it. Needs root.
    pub fn start(o: &WorldOptions) -> io::Result<World> {
        let sandbox = Sandbox::create(&o.tag, o.limit, o.freezer)?;
        let dir = std::env::temp_dir().join(format!("lmkd-{}-{}", o.tag, std::process::id()));
        fs::create_dir_all(&dir)?;
        let mut w = World {
            apps: Vec::new(),
            client: None,
            sub: None,
            daemon: None,
            sandbox,
            kills: Vec::new(),
            events: Vec::new(),
            program: o.program.clone(),
            dir,
            start: Instant::now(),
            next_uid: 10_100,
        };
        if o.mode == Mode::NoDaemon {
            return Ok(w);
        }
        let socket = w.dir.join("lmkd.sock");
        let props = w.dir.join("lmkd.prop");
        let log = w.dir.join("lmkd.log");
        let mode_props = match o.mode {
            Mode::Psi => "",
            _ => "ro.lmk.use_psi=false\n",
        };
        fs::write(
            &props,
            format!(
                "ro.lmk.memcg_domain={}\nro.lmk.debug=true\nro.lmk.psi_partial_stall_ms=35\n{mode_props}{}",
                w.sandbox.memcg.display(),
                o.props
            ),
        )?;
        let mut cmd = Command::new(&o.program);
        cmd.arg("--socket").arg(&socket).arg("--props").arg(&props);
        // For investigations: `LMKD_WORLD_RECORD=FILE` records the daemon's decision inputs
        // (`lmkd --record`; `lmkctl replay FILE` plays them back).
        if let Some(f) = std::env::var_os("LMKD_WORLD_RECORD") {
            cmd.arg("--record").arg(f);
        }
        let child = cmd
            .env("LMKD_LOG", "debug")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(fs::File::create(&log)?)
            .spawn()?;
        w.daemon = Some(DaemonProcess { child, socket: socket.clone(), log });
        let end = Instant::now() + Duration::from_secs(10);
        let client = loop {
            match Client::connect(&socket) {
                Ok(c) => break c,
                Err(_) if Instant::now() < end => std::thread::sleep(Duration::from_millis(20)),
                Err(e) => {
                    let log = w.daemon.as_ref().map(DaemonProcess::log_text).unwrap_or_default();
                    return Err(io::Error::other(format!(
                        "the daemon did not start ({e}):\n{log}"
                    )));
                }
            }
        };
        let sub = Client::connect(&socket)?;
        sub.subscribe(LMK_ASYNC_EVENT_KILL)?;
        sub.set_timeout(Some(Duration::from_millis(1)))?;
        w.client = Some(client);
        w.sub = Some(sub);
        // A barrier: the subscription is in place before anything can be killed.
        w.client()?.kill_count(-1000, 1000)?;
        Ok(w)
    }

    /// Since the start.
    pub fn now(&self) -> Duration {
        self.start.elapsed()
    }

    /// The control client (ActivityManager's connection).
    pub fn client(&mut self) -> io::Result<&mut Client> {
        self.client.as_mut().ok_or_else(|| io::Error::other("no daemon in this world"))
    }

    /// A scratch directory for the run (removed on drop).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Starts an app in the sandbox and registers it at `adj` (when there is a daemon).
    pub fn launch(&mut self, name: &str, adj: i32, mut o: AppOptions) -> io::Result<usize> {
        o.join = self.sandbox.groups();
        let process = AppProcess::spawn(&self.program, &["app"], &o)?;
        let uid = self.next_uid;
        self.next_uid += 1;
        let pid = process.pid();
        if let Some(c) = &self.client {
            c.register(pid, uid, adj, PROC_TYPE_APP)?;
        }
        let t = self.now();
        self.events.push(Event::Launch { t, app: name.to_owned(), pid, adj });
        self.apps.push(WorldApp { name: name.to_owned(), process, uid, adj, killed_at: None });
        Ok(self.apps.len() - 1)
    }

    /// Moves app `i` to `adj` (as ActivityManager's `LMK_PROCPRIO`).
    pub fn set_adj(&mut self, i: usize, adj: i32) -> io::Result<()> {
        let a = &mut self.apps[i];
        if a.killed_at.is_some() || a.adj == adj {
            return Ok(());
        }
        a.adj = adj;
        let (pid, uid, name) = (a.process.pid(), a.uid, a.name.clone());
        if let Some(c) = &self.client {
            c.register(pid, uid, adj, PROC_TYPE_APP)?;
        }
        let t = self.now();
        self.events.push(Event::Adj { t, app: name, pid, adj });
        Ok(())
    }

    /// Records a note in the event log.
    pub fn note(&mut self, text: &str) {
        let t = self.now();
        self.events.push(Event::Note { t, text: text.to_owned() });
    }

    /// Takes the kill events that arrived, marks the apps, and fills in the daemon's records
    /// of earlier kills. Returns the indices of the new kills.
    pub fn poll(&mut self) -> io::Result<Vec<usize>> {
        let mut new = Vec::new();
        if let Some(sub) = &mut self.sub {
            while let Some(m) = sub.recv_event()? {
                if let ServerMessage::ProcKill(k) = m {
                    let t = self.start.elapsed();
                    let app = self.apps.iter_mut().find(|a| a.process.pid() == k.pid);
                    let name = app.map(|a| {
                        a.killed_at = Some(t);
                        a.name.clone()
                    });
                    self.kills.push(Kill { t, pid: k.pid, app: name, record: None });
                    self.events.push(Event::Kill(self.kills.len() - 1));
                    new.push(self.kills.len() - 1);
                }
            }
        }
        if self.kills.iter().any(|k| k.record.as_ref().is_none_or(|r| r.outcome.is_none())) {
            let history = self.client()?.kill_history()?;
            for k in &mut self.kills {
                if let Some(r) = history.iter().rev().find(|r| r.pid == k.pid) {
                    k.record = Some(*r);
                }
            }
        }
        Ok(new)
    }

    /// Samples the sandbox and logs the sample.
    pub fn sample(&mut self) -> Sample {
        let psi = self.sandbox.psi();
        let s = Sample {
            t: self.now(),
            usage: self.sandbox.usage(),
            psi_some: psi.map_or(0.0, |p| p.some.avg10 as f64 / 100.0),
            psi_full: psi.map_or(0.0, |p| p.full.avg10 as f64 / 100.0),
            some_total_us: psi.map_or(0, |p| p.some.total),
            full_total_us: psi.map_or(0, |p| p.full.total),
            oom_kills: self.sandbox.oom_kills(),
        };
        self.events.push(Event::Sample(s));
        s
    }

    /// Indices of the apps still alive (not reported killed, and not exited).
    pub fn alive(&mut self) -> Vec<usize> {
        (0..self.apps.len())
            .filter(|&i| self.apps[i].killed_at.is_none() && !self.apps[i].process.exited())
            .collect()
    }

    /// The event log as JSON: `{"limit_bytes":…, "events":[…]}`.
    pub fn to_json(&self) -> String {
        let ms = |d: Duration| d.as_millis();
        let mut o = format!("{{\"limit_bytes\":{},\"events\":[", self.sandbox.limit());
        for (i, e) in self.events.iter().enumerate() {
            if i > 0 {
                o.push(',');
            }
            match e {
                Event::Sample(s) => {
                    let _ = write!(
                        o,
                        "{{\"type\":\"sample\",\"t_ms\":{},\"usage_bytes\":{},\"psi_some_avg10\":{:.2},\"psi_full_avg10\":{:.2},\"psi_some_total_us\":{},\"psi_full_total_us\":{},\"oom_kills\":{}}}",
                        ms(s.t), s.usage, s.psi_some, s.psi_full, s.some_total_us, s.full_total_us, s.oom_kills
                    );
                }
                Event::Launch { t, app, pid, adj } | Event::Adj { t, app, pid, adj } => {
                    let kind = if matches!(e, Event::Launch { .. }) { "launch" } else { "adj" };
                    let _ = write!(
                        o,
                        "{{\"type\":\"{kind}\",\"t_ms\":{},\"app\":\"{}\",\"pid\":{pid},\"adj\":{adj}}}",
                        ms(*t),
                        json_escape(app)
                    );
                }
                Event::Note { t, text } => {
                    let _ = write!(
                        o,
                        "{{\"type\":\"note\",\"t_ms\":{},\"text\":\"{}\"}}",
                        ms(*t),
                        json_escape(text)
                    );
                }
                Event::Kill(k) => {
                    let k = &self.kills[*k];
                    let _ = write!(
                        o,
                        "{{\"type\":\"kill\",\"t_ms\":{},\"pid\":{},\"app\":\"{}\",\"record\":",
                        ms(k.t),
                        k.pid,
                        json_escape(k.app.as_deref().unwrap_or(""))
                    );
                    match &k.record {
                        Some(r) => crate::report::status::kill_json(&mut o, r),
                        None => o.push_str("null"),
                    }
                    o.push('}');
                }
            }
        }
        o.push_str("]}");
        o
    }
}

impl Drop for World {
    fn drop(&mut self) {
        self.apps.clear();
        self.client = None;
        self.sub = None;
        self.daemon = None;
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Escapes a string for JSON.
pub fn json_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(o, "\\u{:04x}", c as u32);
            }
            c => o.push(c),
        }
    }
    o
}
