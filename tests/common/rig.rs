//! The in-process rig: the daemon in the test's thread on a fake clock, with its real epoll
//! set, and a memory domain of the test's own files (`ro.lmk.memcg_domain`): limit, usage,
//! `memory.stat` and `memory.failcnt` are written by the test, so the decisions are exactly the
//! ones it sets up; PSI and vmpressure are registered on an empty memory cgroup (linked into
//! the directory), which never reports anything by itself. Pressure events come from the test
//! hook (`LMK_EXT_TEST_PRESSURE`). Needs root (cgroups).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use super::*;
use lmkd::client::Client;
use lmkd::clock::Clock;
use lmkd::config::{FileProperties, PropertySource};
use lmkd::daemon::{Daemon, Options};
use lmkd::procs::UpdateMode;
use lmkd::protocol::ext::ExtCommand;
use lmkd::protocol::{Server, PROC_TYPE_APP};
use lmkd::report::status::StatusReport;

pub const MIB: u64 = 1 << 20;
pub const LIMIT: u64 = 1 << 30;
/// The memcg domain's low watermark is 3/128 of the limit (24 MiB of 1 GiB), min 1/64 (16 MiB).
pub const FREE_BELOW_LOW: u64 = 20 * MIB;

/// The tests share process-wide state (the fault table): one at a time.
pub static SERIAL: Mutex<()> = Mutex::new(());

pub fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Properties the test can read back while the daemon holds them.
#[derive(Clone)]
pub struct SharedProps(pub Arc<Mutex<FileProperties>>);

impl SharedProps {
    pub fn get(&self, name: &str) -> Option<String> {
        self.0.lock().unwrap().get(name)
    }
}

impl PropertySource for SharedProps {
    fn get(&self, name: &str) -> Option<String> {
        self.0.lock().unwrap().get(name)
    }
    fn set(&mut self, name: &str, value: &str) -> std::io::Result<()> {
        self.0.lock().unwrap().set(name, value)
    }
    fn reload(&mut self) -> std::io::Result<()> {
        self.0.lock().unwrap().reload()
    }
}

/// The daemon on a fake clock and a memory domain of the test's own files.
pub struct Rig {
    pub d: Daemon,
    pub c: Client,
    pub clock: Clock,
    pub props: SharedProps,
    pub domain: PathBuf,
    pub sock: PathBuf,
    pub failcnt: u64,
    /// Polls made while priming the strategy.
    pub primed_polls: u64,
    pub kids: Vec<Sleeper>,
    pub v2: V2Group,
    _v1: Memcg,
    _dir: TempDir,
}

pub fn write(dir: &Path, file: &str, value: &str) {
    std::fs::write(dir.join(file), value).unwrap();
}

/// The `memory.usage_in_bytes` and `memory.stat` texts of a domain with `free` bytes free,
/// all of the rest anonymous.
pub fn domain_files(free: u64) -> (String, String) {
    let used = LIMIT - free;
    let stat = format!(
        "total_cache 0\ntotal_rss {used}\ntotal_inactive_file 0\ntotal_active_file 0\n\
         total_inactive_anon 0\ntotal_active_anon {used}\ntotal_unevictable 0\n\
         total_shmem 0\ntotal_workingset_refault_file 0\n"
    );
    (used.to_string(), stat)
}

/// Free memory of the domain in `dir`: usage = limit − `free`, all of it anonymous.
pub fn set_free(dir: &Path, free: u64) {
    let (usage, stat) = domain_files(free);
    // A cgroup v2 domain (`memory.max`) has `memory.current` where v1 has the usage file.
    let usage_file =
        if dir.join("memory.max").exists() { "memory.current" } else { "memory.usage_in_bytes" };
    write(dir, usage_file, &usage);
    write(dir, "memory.stat", &stat);
}

impl Rig {
    /// A rig with these properties (beside the domain; `ro.lmk.predictive_kill` is off unless
    /// they turn it on, so that AOSP's own rules are seen alone), or `None` when skipped.
    pub fn new(props: &str) -> Option<Rig> {
        Rig::with_memevents(
            props,
            lmkd::pressure::memevents::Paths {
                bpffs: "/nonexistent/bpffs".into(),
                tracefs: "/nonexistent/tracefs".into(),
            },
        )
    }

    /// As [`Rig::new`], with memevents' BPF objects and tracefs at `memevents`.
    pub fn with_memevents(props: &str, memevents: lmkd::pressure::memevents::Paths) -> Option<Rig> {
        Rig::build(props, memevents, false)
    }

    /// As [`Rig::new`], with a cgroup v2 memory domain: `memory.max`, `memory.current`,
    /// `memory.stat` of the test's own, the v2 group's real `memory.pressure`, and as its
    /// `memory.events` the v2 group's real `cgroup.events` — this host's cgroup v2 has no memory
    /// controller, and that file is notified by the kernel the same way (a process joining or
    /// leaving the group changes it).
    pub fn with_v2_domain(props: &str) -> Option<Rig> {
        let none = lmkd::pressure::memevents::Paths {
            bpffs: "/nonexistent/bpffs".into(),
            tracefs: "/nonexistent/tracefs".into(),
        };
        Rig::build(props, none, true)
    }

    fn build(
        props: &str,
        memevents: lmkd::pressure::memevents::Paths,
        v2_domain: bool,
    ) -> Option<Rig> {
        if !require(
            kill_test_host() && Path::new(UNIFIED_ROOT).join("cgroup.procs").exists(),
            "root, cgroup v1 memory and the cgroup v2 hierarchy",
        ) {
            return None;
        }
        let dir = TempDir::new("timing");
        let v1 = Memcg::create("timing", Some(LIMIT)).unwrap();
        let v2 = V2Group::twin_of(&v1).unwrap();
        let domain = dir.path().join("memcg");
        std::fs::create_dir(&domain).unwrap();
        let link = |name: &str, target: &Path| {
            std::os::unix::fs::symlink(target.join(name), domain.join(name)).unwrap();
        };
        if v2_domain {
            write(&domain, "memory.max", &LIMIT.to_string());
            std::os::unix::fs::symlink(v2.path.join("cgroup.events"), domain.join("memory.events"))
                .unwrap();
        } else {
            write(&domain, "memory.limit_in_bytes", &LIMIT.to_string());
            write(&domain, "memory.failcnt", "0");
            link("memory.pressure_level", &v1.path);
            link("cgroup.event_control", &v1.path);
        }
        set_free(&domain, LIMIT / 2);
        link("memory.pressure", &v2.path);
        let sock = dir.path().join("lmkd.sock");
        let props = SharedProps(Arc::new(Mutex::new(FileProperties::from_pairs(
            format!(
                "ro.lmk.memcg_domain={}\nro.lmk.debug=true\nro.lmk.predictive_kill=false\n{props}",
                domain.display()
            )
            .lines()
            .filter_map(|l| l.split_once('=')),
        ))));
        let clock = Clock::fake();
        let mut rig = Rig {
            d: Daemon::new(Options {
                server: Server::bind(&sock).unwrap(),
                props: Box::new(props.clone()),
                update_mode: UpdateMode::KeepOpen,
                record: None,
                test_hooks: true,
                clock: clock.clone(),
                memevents,
            })
            .unwrap_or_else(|e| panic!("the daemon starts: {e}")),
            c: Client::connect(&sock).unwrap(),
            clock,
            props,
            domain,
            sock,
            failcnt: 0,
            primed_polls: 0,
            kids: Vec::new(),
            v2,
            _v1: v1,
            _dir: dir,
        };
        rig.settle();
        // The strategy takes its baselines (refaults, reclaim counters) at its first decision:
        // one event, and the polling it starts, before the test's own.
        rig.send(ExtCommand::TestPressure { level: 1 });
        while let Some(next) = rig.d.next_timer() {
            rig.advance(next);
        }
        rig.primed_polls = rig.status().polls;
        Some(rig)
    }

    /// Free memory of the domain: usage = limit − `free`, no page cache.
    pub fn set_free(&self, free: u64) {
        set_free(&self.domain, free);
    }

    /// The group hit its limit once more (a reclaim in an allocating task: `memory.failcnt`),
    /// so that the next decision is not an idle one.
    pub fn stir(&mut self) {
        self.failcnt += 1;
        write(&self.domain, "memory.failcnt", &self.failcnt.to_string());
    }

    /// Runs rounds without waiting until nothing more happens at the current time.
    pub fn settle(&mut self) {
        for _ in 0..10_000 {
            let due = self.d.next_timer().is_some_and(|t| t.is_zero());
            if self.d.run_once(Some(Duration::ZERO)).unwrap() == 0 && !due {
                return;
            }
        }
        panic!("the loop does not settle");
    }

    /// Moves the clock and runs what is due.
    pub fn advance(&mut self, d: Duration) {
        self.clock.advance(d);
        self.settle();
    }

    /// Runs rounds (each waiting up to 10 ms of real time for a real event, such as a victim's
    /// death) until `done` holds; the clock does not move. Bounded in real time.
    pub fn until(&mut self, what: &str, mut done: impl FnMut(&StatusReport) -> bool) {
        for _ in 0..1000 {
            if done(&self.d.status()) {
                return;
            }
            self.d.run_once(Some(Duration::from_millis(10))).unwrap();
            self.settle();
        }
        panic!("{what} did not happen; status: {}", self.d.status().to_text());
    }

    pub fn send(&mut self, cmd: ExtCommand) {
        self.c.send_raw(&cmd.encode()).unwrap();
        self.settle();
    }

    /// A pressure event at `level` (0 low, 1 medium, 2 critical), after a stir.
    pub fn event(&mut self, level: i32) {
        self.stir();
        self.send(ExtCommand::TestPressure { level });
    }

    /// `n` sleeping children registered at `adj`.
    pub fn register(&mut self, n: usize, adj: i32) {
        for _ in 0..n {
            let k = Sleeper::new();
            self.c.register(k.pid(), 10_000, adj, PROC_TYPE_APP).unwrap();
            self.kids.push(k);
        }
        self.settle();
    }

    /// Another client of the daemon.
    pub fn client(&self) -> Client {
        Client::connect(&self.sock).unwrap()
    }

    pub fn status(&self) -> StatusReport {
        self.d.status()
    }

    pub fn kills(&self) -> u32 {
        self.status().kills_total
    }

    /// Polls since the rig was primed.
    pub fn polls(&self) -> u64 {
        self.status().polls - self.primed_polls
    }

    /// The polling window in force (the PSI window: 1 s, or 2 s where the kernel wants it).
    pub fn window_ms(&self) -> u64 {
        match self.status().psi_window_ms {
            0 => 1000,
            w => w,
        }
    }

    /// The last kill's victim has died (its pidfd said so).
    pub fn wait_for_the_death(&mut self) {
        self.until("the victim's death", |s| {
            s.recent_kills.last().is_some_and(|k| k.death_us >= 0)
        });
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        let _ = lmkd::fault::install("");
    }
}
