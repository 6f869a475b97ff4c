//! Scenarios on the real kernel: each builds a small Android in a memory-cgroup sandbox (the
//! daemon's memory domain, see `lmkd::demo::world`), plays ActivityManager's part and asserts
//! what came of it — who was killed, in which order, for what reason — never how fast.
//!
//! Every scenario also checks the invariants of all of them ([`Scenario::finish`]): every kill
//! was the daemon's own decision and its victim's adj was at or above the decision's minimum,
//! every kill reached the subscriber exactly once (and no kill was missed), and the kernel's OOM
//! killer never fired in the sandbox (every scenario keeps killable registered apps alive).
//!
//! The scenarios run one at a time (a static lock): each needs the machine's two CPUs to itself
//! more than it needs to be quick, and their sandboxes then stay small together. Every wait is
//! bounded, so a broken daemon fails a test instead of hanging it.

mod common;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use common::*;
use lmkd::demo::app::{AppOptions, AppProcess};
use lmkd::demo::world::{adj, Mode, World, WorldOptions};
use lmkd::reaper::ReapOutcome;

const MIB: u64 = 1 << 20;

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn scenario_host() -> bool {
    require(
        kill_test_host() && Path::new(UNIFIED_ROOT).join("cgroup.procs").exists(),
        "root, cgroup v1 memory and freezer, and the cgroup v2 hierarchy",
    )
}

/// A world under test, with what the invariants need to know.
struct Scenario {
    /// Unregistered "system" processes in the sandbox (killed on drop, like the apps).
    system: Vec<AppProcess>,
    w: World,
    /// Data files (removed after the world).
    data: DataDir,
    /// Every adj each pid was given (a victim's recorded adj must be one of them).
    adjs: HashMap<i32, HashSet<i32>>,
    /// Apps that must never be killed in this scenario.
    protected: Vec<usize>,
    started: Instant,
}

impl Scenario {
    fn start(tag: &str, limit_mib: u64, freezer: bool) -> Scenario {
        let w = World::start(&WorldOptions {
            program: PathBuf::from(lmkd_bin()),
            tag: format!("scn-{tag}"),
            limit: limit_mib * MIB,
            mode: Mode::Psi,
            props: String::new(),
            freezer,
        })
        .expect("start the world");
        Scenario {
            system: Vec::new(),
            w,
            data: DataDir::new(tag),
            adjs: HashMap::new(),
            protected: Vec::new(),
            started: Instant::now(),
        }
    }

    /// The system's file-backed working set, as on a phone (code and data pages of the system
    /// and its services, touched all the time): an unregistered process in the sandbox reading
    /// a `mib` file again and again. When memory runs short its pages are reclaimed and read
    /// back, and that is the stall PSI sees. Without it (no swap here) an anonymous-only
    /// sandbox goes from no stall to the kernel's OOM kill with nothing in between for a
    /// PSI-driven daemon to see (reference/vm-lane.md, S1).
    fn system_working_set(&mut self, mib: usize) {
        let o = AppOptions {
            anon_mib: 4,
            file: Some(self.data.0.join("system")),
            file_mib: mib,
            reread: true,
            join: self.w.sandbox.groups(),
            ..Default::default()
        };
        let p = AppProcess::spawn(Path::new(lmkd_bin()), &["app"], &o).expect("start the system");
        self.system.push(p);
    }

    fn launch(&mut self, name: &str, adj: i32, o: AppOptions) -> usize {
        let i = self.w.launch(name, adj, o).unwrap_or_else(|e| panic!("launch {name}: {e}"));
        self.adjs.entry(self.w.apps[i].process.pid()).or_default().insert(adj);
        i
    }

    fn set_adj(&mut self, i: usize, adj: i32) {
        self.adjs.entry(self.w.apps[i].process.pid()).or_default().insert(adj);
        self.w.set_adj(i, adj).expect("set adj");
    }

    /// Polls for kill events (and samples) for about `d`.
    fn tick(&mut self, d: Duration) {
        std::thread::sleep(d);
        self.w.poll().expect("poll the daemon");
        self.w.sample();
    }

    /// Ticks until `f` holds or `timeout` passes; returns whether it held.
    fn run_until(&mut self, timeout: Duration, mut f: impl FnMut(&mut Scenario) -> bool) -> bool {
        let end = Instant::now() + timeout;
        loop {
            if f(self) {
                return true;
            }
            if Instant::now() >= end {
                return false;
            }
            self.tick(Duration::from_millis(50));
        }
    }

    /// Ticks until no kill has arrived for `quiet` (at most `timeout`); whether it got quiet.
    fn until_quiet(&mut self, quiet: Duration, timeout: Duration) -> bool {
        let mut seen = self.w.kills.len();
        let mut since = Instant::now();
        self.run_until(timeout, |s| {
            if s.w.kills.len() != seen {
                seen = s.w.kills.len();
                since = Instant::now();
            }
            since.elapsed() >= quiet
        })
    }

    fn killed(&self, i: usize) -> bool {
        self.w.apps[i].killed_at.is_some()
    }

    fn rss_mib(&self, i: usize) -> u64 {
        status_field(self.w.apps[i].process.pid() as u32, "VmRSS").unwrap_or(0) / 1024
    }

    fn oom_kills(&self) -> u64 {
        self.w.sandbox.oom_kills()
    }

    /// The victims' adj values as the daemon recorded them, in kill order.
    fn victim_adjs(&self) -> Vec<i32> {
        self.w.kills.iter().map(|k| k.record.map_or(i32::MIN, |r| r.adj)).collect()
    }

    /// What happened, for failure messages.
    fn story(&self) -> String {
        let mut o = format!(
            "after {:.1} s: usage {} MiB of {} MiB, kernel OOM kills {}\nkills:\n",
            self.started.elapsed().as_secs_f64(),
            self.w.sandbox.usage() / MIB,
            self.w.sandbox.limit() / MIB,
            self.oom_kills()
        );
        for k in &self.w.kills {
            match &k.record {
                Some(r) => o.push_str(&format!(
                    "  {:>6.1}s {:<14} pid {} adj {} min_adj {} outcome {:?}: {}\n",
                    k.t.as_secs_f64(),
                    k.app.as_deref().unwrap_or("?"),
                    k.pid,
                    r.adj,
                    r.min_adj,
                    r.outcome.map(|o| o.as_str()),
                    r.reason_text.as_str()
                )),
                None => o.push_str(&format!(
                    "  {:>6.1}s {:<14} pid {} (no record)\n",
                    k.t.as_secs_f64(),
                    k.app.as_deref().unwrap_or("?"),
                    k.pid
                )),
            }
        }
        o.push_str("apps:\n");
        for a in &self.w.apps {
            o.push_str(&format!(
                "  {:<14} pid {} adj {} {}\n",
                a.name,
                a.process.pid(),
                a.adj,
                if a.killed_at.is_some() { "killed" } else { "alive" }
            ));
        }
        if let Some(d) = &self.w.daemon {
            let log = d.log_text();
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            o.push_str("daemon log (last lines):\n");
            for l in tail.iter().rev() {
                o.push_str(l);
                o.push('\n');
            }
        }
        o
    }

    /// Lets the last events and the reaper's reports arrive; whether every kill has its
    /// complete record.
    fn settle(&mut self) -> bool {
        self.run_until(Duration::from_secs(10), |s| {
            s.w.kills.iter().all(|k| k.record.is_some_and(|r| r.outcome.is_some()))
        })
    }

    /// The invariants of every scenario, checked once the scenario is over.
    fn finish(self) {
        self.finish_with(true)
    }

    /// As [`Scenario::finish`]; `survivors`: whether some app must be left alive.
    fn finish_with(mut self, survivors: bool) {
        let complete = self.settle();
        let history = self.w.client().expect("client").kill_history().expect("kill history");
        let story = self.story();
        assert!(complete, "kills without a complete daemon record\n{story}");
        // The daemon decided every kill, and never below the decision's minimum adj.
        for k in &self.w.kills {
            let r = k.record.expect("record");
            assert_eq!(r.requested_by, 0, "a kill the daemon did not decide\n{story}");
            assert!(r.adj >= r.min_adj, "pid {} killed below the minimum adj\n{story}", k.pid);
            assert!(k.app.is_some(), "pid {} is not one of the world's apps\n{story}", k.pid);
            let given = self.adjs.get(&k.pid).cloned().unwrap_or_default();
            assert!(
                given.contains(&r.adj),
                "pid {} killed at adj {}, which it was never given ({given:?})\n{story}",
                k.pid,
                r.adj
            );
        }
        // Every kill reached the subscriber exactly once, and none was missed.
        let mut seen = HashSet::new();
        for k in &self.w.kills {
            assert!(seen.insert(k.pid), "pid {} reported killed twice\n{story}", k.pid);
        }
        let decided: HashSet<i32> =
            history.iter().filter(|r| r.requested_by == 0).map(|r| r.pid).collect();
        assert_eq!(
            seen, decided,
            "kills reported to the subscriber vs the daemon's history\n{story}"
        );
        // The kernel's OOM killer stayed out (every scenario keeps killable apps alive).
        assert_eq!(self.oom_kills(), 0, "the sandbox's OOM killer fired\n{story}");
        let alive = self.w.alive();
        assert!(!survivors || !alive.is_empty(), "nothing survived\n{story}");
        for &i in &self.protected {
            let a = &self.w.apps[i];
            assert!(a.killed_at.is_none(), "{} was killed\n{story}", a.name);
        }
        // Apps the daemon did not report killed are all still running: nothing else killed them.
        for i in 0..self.w.apps.len() {
            if self.w.apps[i].killed_at.is_none() {
                assert!(alive.contains(&i), "{} died unreported\n{story}", self.w.apps[i].name);
            }
        }
        // The outcome, for the test's output (`--nocapture`).
        eprintln!("{} kills; {}", self.w.kills.len(), story.split("apps:").next().unwrap_or(""));
    }
}

fn anon(mib: usize) -> AppOptions {
    AppOptions { anon_mib: mib, ..Default::default() }
}

fn growing(mib: usize, rate: usize, max: usize) -> AppOptions {
    AppOptions { anon_mib: mib, grow_mib_per_s: rate, max_mib: Some(max), ..Default::default() }
}

/// Whether the victims' adj values never go up: the highest adj dies first.
fn non_increasing(v: &[i32]) -> bool {
    v.windows(2).all(|w| w[0] >= w[1])
}

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// (a) App-switching storm: hundreds of adj changes a second among ten apps while the
/// foreground app's memory grows until kills are needed. The daemon keeps up: its victims carry
/// adj values they were really given, at or above each decision's minimum, the foreground app
/// (never moved) survives, and when the storm ends the daemon's table holds every surviving
/// app at the adj it was last given.
#[test]
fn app_switching_storm() {
    let _g = serial();
    if !scenario_host() {
        return;
    }
    let mut s = Scenario::start("storm", 384, false);
    s.system_working_set(64);
    let fg = s.launch("foreground", adj::FOREGROUND, growing(16, 6, 150));
    s.protected.push(fg);
    let ladder = [
        adj::VISIBLE,
        adj::PERCEPTIBLE,
        adj::SERVICE,
        adj::HOME,
        adj::PREVIOUS,
        900,
        915,
        930,
        945,
        960,
    ];
    let apps: Vec<usize> = ladder
        .iter()
        .enumerate()
        .map(|(n, &a)| s.launch(&format!("app-{n}"), a, anon(20)))
        .collect();
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let mut changes = 0usize;
    let storm_end = Instant::now() + Duration::from_secs(40);
    let mut last_poll = Instant::now();
    while Instant::now() < storm_end {
        // Swap the adj values of two live apps: two LMK_PROCPRIO.
        let live: Vec<usize> = apps.iter().copied().filter(|&i| !s.killed(i)).collect();
        if live.len() >= 2 {
            let a = live[rng.below(live.len())];
            let b = live[rng.below(live.len())];
            if a != b {
                let (x, y) = (s.w.apps[a].adj, s.w.apps[b].adj);
                s.set_adj(a, y);
                s.set_adj(b, x);
                changes += 2;
            }
        }
        std::thread::sleep(Duration::from_millis(4));
        if last_poll.elapsed() >= Duration::from_millis(50) {
            last_poll = Instant::now();
            s.w.poll().expect("poll");
            s.w.sample();
        }
        if s.rss_mib(fg) >= 145 && s.w.kills.len() >= 2 {
            break;
        }
    }
    let storm_secs = s.started.elapsed().as_secs_f64();
    s.w.apps[fg].process.command("grow 0").unwrap();
    s.until_quiet(Duration::from_secs(4), Duration::from_secs(20));
    let story = s.story();
    eprintln!("storm: {changes} adj changes in {storm_secs:.1} s");
    assert!(changes >= 1000, "the storm was too small ({changes} changes)\n{story}");
    assert!(!s.w.kills.is_empty(), "no kill although the sandbox filled\n{story}");
    // The daemon's table agrees with ActivityManager's view after the storm.
    let procs = s.w.client().unwrap().procs().unwrap();
    let table: HashMap<i32, i32> = procs.iter().map(|p| (p.pid, p.adj)).collect();
    for i in s.w.alive() {
        let a = &s.w.apps[i];
        assert_eq!(table.get(&a.process.pid()), Some(&a.adj), "{} in the table\n{story}", a.name);
    }
    s.finish();
}

/// (b) Cached apps slowly growing: six cached apps grow until they no longer fit. The daemon
/// kills cached apps only, highest adj first, and stops once the rest fit: the foreground,
/// perceptible and home apps survive and so do most cached apps.
#[test]
fn cached_apps_slowly_growing() {
    let _g = serial();
    if !scenario_host() {
        return;
    }
    let mut s = Scenario::start("growing", 384, false);
    s.system_working_set(64);
    let fg = s.launch("foreground", adj::FOREGROUND, anon(32));
    let perceptible = s.launch("music", adj::PERCEPTIBLE, anon(32));
    let home = s.launch("launcher", adj::HOME, anon(16));
    s.protected.extend([fg, perceptible, home]);
    // 6 × 48 MiB + 80 MiB + the system's 68 MiB > 384 MiB: about two cached apps have to go.
    let cached: Vec<usize> = (0..6)
        .map(|n| s.launch(&format!("cached-{n}"), adj::CACHED_MIN + 15 * n, growing(16, 2, 48)))
        .collect();
    // Bounded by the time the growth takes (32 MiB at 2 MiB/s) and a generous margin.
    let grown = s.run_until(Duration::from_secs(40), |s| {
        cached.iter().all(|&i| s.killed(i) || s.rss_mib(i) >= 47)
    });
    let quiet = s.until_quiet(Duration::from_secs(5), Duration::from_secs(30));
    let story = s.story();
    assert!(grown, "the cached apps did not all grow to their size\n{story}");
    assert!(quiet, "the kills did not stop\n{story}");
    assert!(!s.w.kills.is_empty(), "no kill although the apps outgrew the sandbox\n{story}");
    let adjs = s.victim_adjs();
    assert!(adjs.iter().all(|&a| a >= adj::CACHED_MIN), "a non-cached victim\n{story}");
    assert!(non_increasing(&adjs), "not killed highest adj first: {adjs:?}\n{story}");
    let survivors = cached.iter().filter(|&&i| !s.killed(i)).count();
    assert!(survivors >= 3, "over-killing: only {survivors} of 6 cached apps left\n{story}");
    s.finish();
}

/// (c) Frozen cached apps (cgroup v1 freezer) whose memory must still come back: the cached
/// apps are frozen, then the foreground app grows past what is left. Frozen victims cannot run
/// their exit, so only the reaper (`process_mrelease`) gives their memory back: every victim
/// is a frozen cached app, reaped, and the foreground app reaches its full size without the
/// kernel's OOM killer.
#[test]
fn frozen_cached_apps_give_memory_back() {
    let _g = serial();
    if !scenario_host() {
        return;
    }
    let mut s = Scenario::start("frozen", 384, true);
    s.system_working_set(64);
    let fg = s.launch("foreground", adj::FOREGROUND, anon(16));
    s.protected.push(fg);
    let cached: Vec<usize> = (0..6)
        .map(|n| s.launch(&format!("frozen-{n}"), adj::CACHED_MIN + 15 * n, anon(40)))
        .collect();
    for &i in &cached {
        s.w.sandbox.add_to_freezer(s.w.apps[i].process.pid()).expect("join the freezer");
    }
    s.w.sandbox.set_frozen(true).expect("freeze");
    // 240 MiB frozen + 160 MiB foreground + the system's 68 MiB > 384 MiB: some frozen memory
    // has to come back.
    s.w.apps[fg].process.command("max 160").unwrap();
    s.w.apps[fg].process.command("grow 8").unwrap();
    let grown = s.run_until(Duration::from_secs(45), |s| s.rss_mib(fg) >= 158);
    s.until_quiet(Duration::from_secs(4), Duration::from_secs(20));
    s.settle();
    let story = s.story();
    assert!(grown, "the foreground app did not get its memory\n{story}");
    assert!(!s.w.kills.is_empty(), "no kill although the frozen apps had to go\n{story}");
    for k in &s.w.kills {
        let i = s.w.apps.iter().position(|a| a.process.pid() == k.pid).unwrap();
        assert!(cached.contains(&i), "{} is not a frozen app\n{story}", s.w.apps[i].name);
        // A frozen victim cannot exit: only the reaper can have given its memory back.
        let outcome = k.record.and_then(|r| r.outcome);
        assert_eq!(outcome, Some(ReapOutcome::Reaped), "pid {} not reaped\n{story}", k.pid);
    }
    s.finish();
}

/// (d) A foreground leak: the app in front leaks without bound. Cached apps die first, then the
/// previous and perceptible apps, in adj order, and the leaking foreground app last — by the
/// daemon, before the kernel's OOM killer has to step in.
#[test]
fn foreground_leak_kills_in_adj_order() {
    let _g = serial();
    if !scenario_host() {
        return;
    }
    let mut s = Scenario::start("leak", 384, false);
    s.system_working_set(64);
    let leaker = s.launch("leaker", adj::FOREGROUND, anon(16));
    let mut others = vec![
        s.launch("music", adj::PERCEPTIBLE, anon(24)),
        s.launch("radio", adj::PERCEPTIBLE, anon(24)),
        s.launch("previous", adj::PREVIOUS, anon(24)),
    ];
    for n in 0..5 {
        others.push(s.launch(&format!("cached-{n}"), adj::CACHED_MIN + 15 * n, anon(24)));
    }
    // Up to the sandbox's whole limit: it cannot fit, so it has to die in the end too.
    s.w.apps[leaker].process.command("max 384").unwrap();
    s.w.apps[leaker].process.command("grow 8").unwrap();
    let done = s.run_until(Duration::from_secs(75), |s| s.killed(leaker) || s.oom_kills() > 0);
    let story = s.story();
    assert!(done, "the leaking app was never killed\n{story}");
    let adjs = s.victim_adjs();
    assert!(non_increasing(&adjs), "victims not in adj order: {adjs:?}\n{story}");
    let last = s.w.kills.last().map(|k| k.pid);
    assert_eq!(last, Some(s.w.apps[leaker].process.pid()), "the leaker is not last\n{story}");
    for &i in &others {
        assert!(s.killed(i), "{} survived the leak\n{story}", s.w.apps[i].name);
    }
    // The leaker was the last app: its death is no OOM.
    let story = s.story();
    assert_eq!(s.oom_kills(), 0, "the sandbox's OOM killer fired\n{story}");
    s.finish_with(false);
}

/// (e) A pressure spike, then recovery: the foreground app suddenly takes the memory the
/// system's working set needs, then gives it back. The daemon kills cached apps during the spike — no more than the
/// spike needed, give or take one — and none once the pressure is gone.
#[test]
fn pressure_spike_then_recovery() {
    let _g = serial();
    if !scenario_host() {
        return;
    }
    let mut s = Scenario::start("spike", 384, false);
    s.system_working_set(64);
    let fg = s.launch("foreground", adj::FOREGROUND, anon(16));
    let perceptible = s.launch("music", adj::PERCEPTIBLE, anon(24));
    s.protected.extend([fg, perceptible]);
    let cached: Vec<usize> = (0..8)
        .map(|n| s.launch(&format!("cached-{n}"), adj::CACHED_MIN + 10 * n, anon(24)))
        .collect();
    let before = s.w.sandbox.usage() / MIB;
    // The spike: 120 MiB more, fast. The apps' memory still fits, but the system's working set
    // no longer does: it thrashes until cached apps give way.
    s.w.apps[fg].process.command("max 136").unwrap();
    s.w.apps[fg].process.command("grow 40").unwrap();
    let spiked = s.run_until(Duration::from_secs(30), |s| s.rss_mib(fg) >= 134);
    // Hold it until the daemon has dealt with it, then give it back.
    s.run_until(Duration::from_secs(20), |s| !s.w.kills.is_empty());
    s.until_quiet(Duration::from_secs(3), Duration::from_secs(20));
    s.w.apps[fg].process.command("grow 0").unwrap();
    s.w.apps[fg].process.command("shrink").unwrap();
    let recovered = s.run_until(Duration::from_secs(20), |s| s.rss_mib(fg) < 32);
    // Kills decided before the recovery may still be arriving; then nothing more.
    s.until_quiet(Duration::from_secs(2), Duration::from_secs(10));
    let after_recovery = s.w.kills.len();
    s.run_until(Duration::from_secs(10), |_| false);
    let story = s.story();
    assert!(spiked, "the spike did not happen\n{story}");
    assert!(recovered, "the spike's memory was not given back\n{story}");
    assert!(after_recovery > 0, "no kill during the spike\n{story}");
    assert_eq!(s.w.kills.len(), after_recovery, "kills after the pressure was gone\n{story}");
    // The most the spike needed: from `before` (the system's working set included) + 120 MiB
    // down to the high watermark (limit / 32), in 24 MiB apps; one more kill is tolerated (a
    // decision made on a snapshot taken just before the previous kill's memory came back).
    let limit = s.w.sandbox.limit() / MIB;
    let demand = before + 120;
    let room = limit - limit / 32;
    let needed = demand.saturating_sub(room).div_ceil(24) as usize;
    let killed = cached.iter().filter(|&&i| s.killed(i)).count();
    assert!(
        killed <= needed + 1,
        "over-killing: {killed} cached apps killed, the spike needed at most {needed}\n{story}"
    );
    eprintln!("spike: usage before {before} MiB, at most {needed} kills needed");
    s.finish();
}

/// (f) File-cache thrashing: the foreground app reads a file too big for the page cache left
/// next to the cached apps, again and again. The daemon sees the refaults as thrashing, kills
/// cached apps for it ("... thrashing (N%)") until the file fits, and stops.
#[test]
fn file_cache_thrashing_is_detected_and_handled() {
    let _g = serial();
    if !scenario_host() {
        return;
    }
    let mut s = Scenario::start("thrash", 256, false);
    let cached: Vec<usize> = (0..5)
        .map(|n| s.launch(&format!("cached-{n}"), adj::CACHED_MIN + 15 * n, anon(24)))
        .collect();
    // 120 MiB cached + a 160 MiB working set of file pages in 256 MiB: it refaults.
    let reader = s.launch(
        "reader",
        adj::FOREGROUND,
        AppOptions {
            anon_mib: 8,
            file: Some(s.data.0.join("data")),
            file_mib: 160,
            reread: true,
            ..Default::default()
        },
    );
    s.protected.push(reader);
    let thrashing_kill = |s: &mut Scenario| {
        s.w.kills
            .iter()
            .any(|k| k.record.is_some_and(|r| r.reason_text.as_str().contains("thrashing")))
    };
    let seen = s.run_until(Duration::from_secs(45), thrashing_kill);
    let quiet = s.until_quiet(Duration::from_secs(6), Duration::from_secs(40));
    let story = s.story();
    assert!(seen, "no kill for thrashing\n{story}");
    assert!(quiet, "the kills did not stop once the file fitted\n{story}");
    let adjs = s.victim_adjs();
    assert!(adjs.iter().all(|&a| a >= adj::CACHED_MIN), "a non-cached victim\n{story}");
    assert!(cached.iter().any(|&i| s.killed(i)));
    s.finish();
}

/// A directory on a disk (not tmpfs: its page cache must be reclaimable), removed on drop.
struct DataDir(PathBuf);

impl DataDir {
    fn new(tag: &str) -> DataDir {
        let base = if Path::new("/var/tmp").is_dir() {
            PathBuf::from("/var/tmp")
        } else {
            std::env::temp_dir()
        };
        let p = base.join(format!("lmkd-scenario-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&p).unwrap();
        DataDir(p)
    }
}

impl Drop for DataDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
