//! The daemon's timing rules, proven without sleeping: the daemon runs in this test's thread
//! on a fake clock ([`lmkd::clock::Clock::fake`]) with its real epoll set, one round at a time,
//! and the test moves the clock.
//!
//! * `LMK_TARGET` is taken at most once per second;
//! * the wait for a pressure kill's victim ends at `ro.lmk.kill_timeout_ms`, or after 5 s when
//!   that is 0 (the project's cap; AOSP waits forever);
//! * polling after an event runs every 100 ms (new strategy) or 10 ms (old strategy on PSI, and
//!   at once after a kill), and stops one window after the last reason to go on;
//! * for 10 s after a kill, polling goes on while free memory stays below the low watermark
//!   (the after-kill watch: at most 100 polls), then ends;
//! * the watchdog kills when one round of the loop takes 2 s, not before.
//!
//! The memory domain is a directory of this test's own files (`ro.lmk.memcg_domain`): limit,
//! usage, `memory.stat` and `memory.failcnt` are written by the test, so the decisions are
//! exactly the ones it sets up; PSI and vmpressure are registered on an empty memory cgroup
//! (linked into the directory), which never reports anything by itself. Pressure events come
//! from the test hook (`LMK_EXT_TEST_PRESSURE`). Needs root (cgroups).

mod common;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use common::*;
use lmkd::client::Client;
use lmkd::clock::Clock;
use lmkd::config::{FileProperties, PropertySource};
use lmkd::daemon::{Daemon, Options, KILL_WAIT_CAP, TARGET_UPDATE_MIN_INTERVAL};
use lmkd::procs::UpdateMode;
use lmkd::protocol::ext::ExtCommand;
use lmkd::protocol::{Server, ServerMessage, PROC_TYPE_APP};
use lmkd::report::status::StatusReport;

const MIB: u64 = 1 << 20;
const LIMIT: u64 = 1 << 30;
/// The memcg domain's low watermark is 3/128 of the limit (24 MiB of 1 GiB), min 1/64 (16 MiB).
const FREE_BELOW_LOW: u64 = 20 * MIB;

/// The tests share process-wide state (the fault table): one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Properties the test can read back while the daemon holds them.
#[derive(Clone)]
struct SharedProps(Arc<Mutex<FileProperties>>);

impl SharedProps {
    fn get(&self, name: &str) -> Option<String> {
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
struct Rig {
    d: Daemon,
    c: Client,
    clock: Clock,
    props: SharedProps,
    domain: PathBuf,
    sock: PathBuf,
    failcnt: u64,
    /// Polls made while priming the strategy.
    primed_polls: u64,
    kids: Vec<Sleeper>,
    _v2: V2Group,
    _v1: Memcg,
    _dir: TempDir,
}

fn write(dir: &Path, file: &str, value: &str) {
    std::fs::write(dir.join(file), value).unwrap();
}

/// Free memory of the domain in `dir`: usage = limit − `free`, all of it anonymous.
fn set_free(dir: &Path, free: u64) {
    let used = LIMIT - free;
    write(dir, "memory.usage_in_bytes", &used.to_string());
    write(
        dir,
        "memory.stat",
        &format!(
            "total_cache 0\ntotal_rss {used}\ntotal_inactive_file 0\ntotal_active_file 0\n\
             total_inactive_anon 0\ntotal_active_anon {used}\ntotal_unevictable 0\n\
             total_shmem 0\ntotal_workingset_refault_file 0\n"
        ),
    );
}

impl Rig {
    /// A rig with these properties (beside the domain), or `None` when skipped.
    fn new(props: &str) -> Option<Rig> {
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
        write(&domain, "memory.limit_in_bytes", &LIMIT.to_string());
        write(&domain, "memory.failcnt", "0");
        set_free(&domain, LIMIT / 2);
        let link = |name: &str, target: &Path| {
            std::os::unix::fs::symlink(target.join(name), domain.join(name)).unwrap();
        };
        link("memory.pressure", &v2.path);
        link("memory.pressure_level", &v1.path);
        link("cgroup.event_control", &v1.path);
        let sock = dir.path().join("lmkd.sock");
        let props = SharedProps(Arc::new(Mutex::new(FileProperties::from_pairs(
            format!("ro.lmk.memcg_domain={}\nro.lmk.debug=true\n{props}", domain.display())
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
            _v2: v2,
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
    fn set_free(&self, free: u64) {
        set_free(&self.domain, free);
    }

    /// The group hit its limit once more (a reclaim in an allocating task: `memory.failcnt`),
    /// so that the next decision is not an idle one.
    fn stir(&mut self) {
        self.failcnt += 1;
        write(&self.domain, "memory.failcnt", &self.failcnt.to_string());
    }

    /// Runs rounds without waiting until nothing more happens at the current time.
    fn settle(&mut self) {
        for _ in 0..10_000 {
            let due = self.d.next_timer().is_some_and(|t| t.is_zero());
            if self.d.run_once(Some(Duration::ZERO)).unwrap() == 0 && !due {
                return;
            }
        }
        panic!("the loop does not settle");
    }

    /// Moves the clock and runs what is due.
    fn advance(&mut self, d: Duration) {
        self.clock.advance(d);
        self.settle();
    }

    /// Runs rounds (each waiting up to 10 ms of real time for a real event, such as a victim's
    /// death) until `done` holds; the clock does not move. Bounded in real time.
    fn until(&mut self, what: &str, mut done: impl FnMut(&StatusReport) -> bool) {
        for _ in 0..1000 {
            if done(&self.d.status()) {
                return;
            }
            self.d.run_once(Some(Duration::from_millis(10))).unwrap();
            self.settle();
        }
        panic!("{what} did not happen; status: {}", self.d.status().to_text());
    }

    fn send(&mut self, cmd: ExtCommand) {
        self.c.send_raw(&cmd.encode()).unwrap();
        self.settle();
    }

    /// A pressure event at `level` (0 low, 1 medium, 2 critical), after a stir.
    fn event(&mut self, level: i32) {
        self.stir();
        self.send(ExtCommand::TestPressure { level });
    }

    /// `n` sleeping children registered at `adj`.
    fn register(&mut self, n: usize, adj: i32) {
        for _ in 0..n {
            let k = Sleeper::new();
            self.c.register(k.pid(), 10_000, adj, PROC_TYPE_APP).unwrap();
            self.kids.push(k);
        }
        self.settle();
    }

    /// Another client of the daemon.
    fn client(&self) -> Client {
        Client::connect(&self.sock).unwrap()
    }

    fn status(&self) -> StatusReport {
        self.d.status()
    }

    fn kills(&self) -> u32 {
        self.status().kills_total
    }

    /// Polls since the rig was primed.
    fn polls(&self) -> u64 {
        self.status().polls - self.primed_polls
    }

    /// The polling window in force (the PSI window: 1 s, or 2 s where the kernel wants it).
    fn window_ms(&self) -> u64 {
        match self.status().psi_window_ms {
            0 => 1000,
            w => w,
        }
    }

    /// The last kill's victim has died (its pidfd said so).
    fn wait_for_the_death(&mut self) {
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

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn lmk_target_is_taken_at_most_once_per_second() {
    let _s = serial();
    let Some(mut r) = Rig::new("") else { return };
    let minfree = |r: &Rig| r.props.get("sys.lmk.minfree_levels");
    let limit = TARGET_UPDATE_MIN_INTERVAL;
    assert_eq!(limit, Duration::from_secs(1));
    r.c.target(&[(1, 0)]).unwrap();
    r.settle();
    assert_eq!(minfree(&r).as_deref(), Some("1:0"), "the first is taken at once");
    r.advance(limit - Duration::from_nanos(1));
    r.c.target(&[(2, 0)]).unwrap();
    r.settle();
    assert_eq!(minfree(&r).as_deref(), Some("1:0"), "ignored a nanosecond before 1 s");
    r.advance(Duration::from_nanos(1));
    r.c.target(&[(3, 0)]).unwrap();
    r.settle();
    assert_eq!(minfree(&r).as_deref(), Some("3:0"), "taken at 1 s");
    // An ignored one does not move the limit: 1 s after the last one taken.
    r.advance(ms(500));
    r.c.target(&[(4, 0)]).unwrap();
    r.settle();
    r.advance(ms(500));
    r.c.target(&[(5, 0)]).unwrap();
    r.settle();
    assert_eq!(minfree(&r).as_deref(), Some("5:0"));
}

/// Kills with a victim whose death is never seen (an injected pidfd that never signals):
/// the decision waits for it `wait` long, skipping the events meanwhile, then kills again.
fn kill_wait_ends_after(props: &str, wait: Duration) {
    let Some(mut r) = Rig::new(props) else { return };
    r.register(3, 900);
    lmkd::fault::install("pidfd-wait=on").unwrap();
    r.event(2);
    assert_eq!(r.kills(), 1, "a critical event kills: {}", r.status().to_text());
    r.advance(wait - ms(1));
    r.event(2);
    assert_eq!(r.kills(), 1, "no kill while the victim is awaited");
    assert_eq!(r.status().skipped, 1, "the event was skipped");
    assert!(!r.status().polling, "polling paused meanwhile");
    r.advance(ms(1));
    r.event(2);
    assert_eq!(r.kills(), 2, "the wait is over at {wait:?}");
    assert_eq!(r.status().skipped, 1);
}

#[test]
fn the_kill_wait_ends_at_kill_timeout_ms() {
    let _s = serial();
    kill_wait_ends_after("ro.lmk.kill_timeout_ms=500\n", ms(500));
}

#[test]
fn a_kill_timeout_of_zero_waits_at_most_five_seconds() {
    let _s = serial();
    assert_eq!(KILL_WAIT_CAP, Duration::from_secs(5));
    kill_wait_ends_after("ro.lmk.kill_timeout_ms=0\n", KILL_WAIT_CAP);
}

#[test]
fn the_old_strategy_waits_only_with_a_timeout() {
    let _s = serial();
    let Some(mut r) = Rig::new(
        "ro.lmk.use_psi=false\nro.lmk.use_minfree_levels=true\nro.lmk.kill_timeout_ms=0\n",
    ) else {
        return;
    };
    r.c.target(&[(1 << 28, 0)]).unwrap();
    r.register(3, 900);
    lmkd::fault::install("pidfd-wait=on").unwrap();
    // vmpressure: the hook signals the eventfd; the next round reads it.
    r.event(1);
    r.event(1);
    assert_eq!(r.kills(), 2, "no wait with kill_timeout_ms=0");
    assert_eq!(r.status().skipped, 0);
}

/// After an event the new strategy polls every 100 ms for one window, then stops: no timer
/// is left and the loop sleeps until the next event.
#[test]
fn polling_runs_every_100_ms_for_one_window_then_stops() {
    let _s = serial();
    let Some(mut r) = Rig::new("") else { return };
    assert_eq!(r.d.next_timer(), None, "no timer before any pressure");
    r.event(1);
    assert_eq!(r.kills(), 0, "plenty free: nothing to kill");
    assert_eq!(r.d.next_timer(), Some(ms(100)), "a full interval before the first poll");
    r.advance(ms(99));
    assert_eq!(r.polls(), 0);
    r.advance(ms(1));
    assert_eq!(r.polls(), 1);
    let mut t = 100;
    while let Some(next) = r.d.next_timer() {
        assert_eq!(next, ms(100), "every 100 ms (at {t} ms)");
        r.advance(next);
        t += 100;
        assert!(t < 100_000, "polling never ends");
    }
    let window = r.window_ms();
    assert_eq!(r.polls(), window / 100 + 1, "the last poll finds the window over");
    assert_eq!(t, window + 100);
    assert!(!r.status().polling);
}

/// The old strategy on PSI polls every 10 ms after an event, for one window.
#[test]
fn the_old_strategy_polls_every_10_ms() {
    let _s = serial();
    let Some(mut r) = Rig::new("ro.lmk.use_new_strategy=false\n") else { return };
    r.event(1);
    assert_eq!(r.d.next_timer(), Some(ms(10)));
    let mut n = 0;
    while let Some(next) = r.d.next_timer() {
        assert_eq!(next, ms(10));
        r.advance(next);
        n += 1;
        assert!(n < 100_000, "polling never ends");
    }
    assert_eq!(r.polls(), r.window_ms() / 10 + 1);
}

/// After a kill, polling resumes at once when the victim dies, and for 10 s after
/// the kill goes on every 100 ms while free memory stays below the low watermark — 100 polls
/// at most — and ends one window after that. Nothing more is killed meanwhile.
#[test]
fn after_a_kill_polling_watches_free_memory_for_10_s() {
    let _s = serial();
    let Some(mut r) = Rig::new("") else { return };
    r.register(2, 900);
    r.set_free(FREE_BELOW_LOW);
    r.event(1);
    assert_eq!(r.kills(), 1, "low watermark breached: a kill");
    // Paused while the victim is awaited (the kill-wait tests prove it); its death is real.
    r.wait_for_the_death();
    assert_eq!(r.polls(), 1, "resumed and polled at once: {}", r.status().to_text());
    // The after-kill watch: every 100 ms, for 10 s, as free memory stays below low.
    let mut watched = 0;
    for _ in 0..100 {
        assert_eq!(r.d.next_timer(), Some(ms(100)));
        r.advance(ms(100));
        watched += 1;
    }
    assert_eq!(watched, 100);
    // Then no more extension: the window started by the last one runs out.
    let mut tail = 0;
    while let Some(next) = r.d.next_timer() {
        r.advance(next);
        tail += 1;
        assert!(tail < 1000, "polling never ends");
    }
    assert_eq!(tail, r.window_ms() / 100 + 1);
    assert_eq!(r.polls(), 1 + 100 + tail);
    assert_eq!(r.kills(), 1, "a watch is not a kill");
}

/// Without a kill, free memory below the low watermark does not extend polling (AOSP's rule).
#[test]
fn without_a_kill_low_memory_alone_does_not_extend_polling() {
    let _s = serial();
    let Some(mut r) = Rig::new("ro.lmk.lowmem_min_oom_score=1001\n") else { return };
    r.set_free(FREE_BELOW_LOW);
    r.event(1);
    assert_eq!(r.kills(), 0, "LOW_MEM is off (lowmem_min_oom_score > 1000)");
    let mut n = 0;
    while let Some(next) = r.d.next_timer() {
        r.advance(next);
        n += 1;
        assert!(n < 1000);
    }
    assert_eq!(r.polls(), r.window_ms() / 100 + 1);
}

/// A round of the loop that takes 2 s gets one process killed by the watchdog, one that takes
/// a nanosecond less gets none, and a round stuck for 4 s gets one kill per 2 s: from the
/// highest adj down, least recently registered first, never below adj 0.
#[test]
fn the_watchdog_kills_when_a_round_takes_2_s() {
    let _s = serial();
    let Some(mut r) = Rig::new("") else { return };
    r.register(3, 900);
    r.register(1, 0);
    let mut sub = r.client();
    sub.subscribe(0).unwrap();
    r.settle();
    let stall = |ms: i32| ExtCommand::TestStall { ms };
    r.send(stall(1999));
    assert_eq!(r.status().watchdog_fires, 0, "1999 ms is not stuck");
    assert_eq!(r.kills(), 0);
    r.send(stall(2000));
    assert_eq!(r.status().watchdog_fires, 1, "2 s is");
    r.until("the watchdog's kill report", |s| s.recent_kills.len() == 1);
    r.send(stall(4000));
    assert_eq!(r.status().watchdog_fires, 3, "at 2 s and 4 s");
    r.until("the next two reports", |s| s.recent_kills.len() == 3);
    let hist = r.status().recent_kills;
    let want: Vec<i32> = r.kids[..3].iter().map(Sleeper::pid).collect();
    assert_eq!(hist.iter().map(|k| k.pid).collect::<Vec<_>>(), want, "LRU order at adj 900");
    assert!(hist.iter().all(|k| k.reason_text.as_str().starts_with("lmkd watchdog")));
    assert_eq!(r.kills(), 3);
    // Each was reported to the subscriber as LMK_PROCKILL.
    sub.set_timeout(Some(Duration::from_secs(5))).unwrap();
    for &pid in &want {
        match sub.recv_event().unwrap() {
            Some(ServerMessage::ProcKill(k)) => assert_eq!(k.pid, pid),
            other => panic!("expected LMK_PROCKILL for {pid}, got {other:?}"),
        }
    }
    r.until("the records of the dead dropped", |s| s.procs_by_adj == [(0, 1)]);
    let adj0 = r.kids[3].pid();
    assert!(std::fs::metadata(format!("/proc/{adj0}")).is_ok(), "adj 0 lives");
}
