//! The race with the kernel's OOM killer, on the real kernel (`ro.lmk.predictive_kill`): each
//! test builds a small Android in a no-swap memory-cgroup sandbox (the daemon's memory domain,
//! `lmkd::demo::world`) and asserts outcomes — who died, by whose hand, whether the kernel's
//! OOM killer fired — never timings.
//!
//! * A fast grower among apps on the adj ladder, in PSI and in vmpressure mode: the daemon
//!   kills, in adj order, before the kernel does; the foreground app survives; no more kills
//!   than needed + 1.
//! * AOSP's `TargetReaping` (a registered cached-adj process allocating without bound): the
//!   daemon kills and reaps it (its kill line and `Process N was reaped in Nms`), the kernel's
//!   OOM killer does not fire.
//! * Negative controls: page-cache-only pressure (a file larger than the sandbox re-read while
//!   the anonymous memory fits) kills nothing; a leak that stops well before the limit kills
//!   nothing.
//!
//! One at a time (a static lock); every wait is bounded.

mod common;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use common::*;
use lmkd::demo::app::AppOptions;
use lmkd::demo::world::{Mode, World, WorldOptions};
use lmkd::reaper::ReapOutcome;

const MIB: u64 = 1 << 20;
const LADDER: [i32; 9] = [999, 950, 900, 800, 700, 600, 500, 200, 100];

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn host() -> bool {
    require(
        kill_test_host() && Path::new(UNIFIED_ROOT).join("cgroup.procs").exists(),
        "root, cgroup v1 memory and the cgroup v2 hierarchy",
    )
}

fn world(tag: &str, limit_mib: u64, mode: Mode, props: &str) -> World {
    World::start(&WorldOptions {
        program: PathBuf::from(lmkd_bin()),
        tag: format!("race-{tag}"),
        limit: limit_mib * MIB,
        mode,
        props: props.into(),
        freezer: false,
    })
    .expect("start the world")
}

fn rss_mib(pid: i32) -> u64 {
    status_field(pid as u32, "VmRSS").unwrap_or(0) / 1024
}

/// Polls the world until `done` or `timeout`; returns whether `done` held.
fn run_until(w: &mut World, timeout: Duration, mut done: impl FnMut(&mut World) -> bool) -> bool {
    let end = Instant::now() + timeout;
    while Instant::now() < end {
        w.poll().expect("poll the daemon");
        if done(w) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}

/// The daemon's log (none without a daemon).
fn log(w: &World) -> String {
    w.daemon.as_ref().map(|d| d.log_text()).unwrap_or_default()
}

/// Every app that died: (adj, killed by the daemon).
fn deaths(w: &mut World) -> Vec<(i32, bool)> {
    let mut out = Vec::new();
    for a in &mut w.apps {
        if a.killed_at.is_some() {
            out.push((a.adj, true));
        } else if a.process.exited() {
            out.push((a.adj, false));
        }
    }
    out
}

/// A foreground app grows at 256 MiB/s among nine ladder apps of 24 MiB in a 384 MiB sandbox
/// with no page cache, up to a size that fits once four of them are gone.
fn fast_grower(mode: Mode) {
    let _s = serial();
    if !host() {
        return;
    }
    let mut w = world("grower", 384, mode, "ro.lmk.predictive_kill=true\n");
    for a in LADDER {
        w.launch(&format!("app-{a}"), a, AppOptions { anon_mib: 24, ..Default::default() })
            .unwrap();
    }
    let fg = w.launch("foreground", 0, AppOptions { anon_mib: 16, ..Default::default() }).unwrap();
    let cap = 384 - 24 - 5 * 24;
    w.apps[fg].process.command(&format!("max {cap}")).unwrap();
    w.apps[fg].process.command("grow 256").unwrap();
    let pid = w.apps[fg].process.pid();
    let grown = run_until(&mut w, Duration::from_secs(60), |w| {
        w.apps[fg].process.exited() || rss_mib(pid) + 2 >= cap as u64
    });
    assert!(grown, "the foreground app never reached its size");
    // Let the last kill's report arrive.
    run_until(&mut w, Duration::from_secs(2), |_| false);
    let d = deaths(&mut w);
    let oom = w.sandbox.oom_kills();
    assert_eq!(oom, 0, "the kernel's OOM killer fired: {d:?}\n{}", log(&w));
    assert!(d.iter().all(|&(_, by)| by), "deaths not by the daemon: {d:?}");
    assert!(!d.iter().any(|&(a, _)| a == 0), "the foreground app died: {d:?}");
    // In adj order: the dead are the least important ones of the ladder.
    let mut adjs: Vec<i32> = d.iter().map(|&(a, _)| a).collect();
    adjs.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(adjs, LADDER[..adjs.len()], "the least important first");
    assert!((4..=5).contains(&d.len()), "4 needed, at most one more: {d:?}");
}

#[test]
fn a_fast_grower_is_killed_before_the_kernel_in_psi_mode() {
    fast_grower(Mode::Psi);
}

#[test]
fn a_fast_grower_is_killed_before_the_kernel_in_vmpressure_mode() {
    fast_grower(Mode::Vmpressure);
}

/// AOSP's `TargetReaping` test, as a user of this daemon would run it: a process registered at
/// a cached adj allocates without bound in the daemon's memory-cgroup domain; the daemon kills
/// and reaps it, and the kernel's OOM killer never fires.
fn target_reaping(mode: Mode) {
    let _s = serial();
    if !host() {
        return;
    }
    let mut w = world("reaping", 512, mode, "ro.lmk.predictive_kill=true\nro.lmk.debug=true\n");
    let t = w.launch("target", 900, AppOptions { anon_mib: 16, ..Default::default() }).unwrap();
    w.apps[t].process.command("grow 256").unwrap();
    let pid = w.apps[t].process.pid();
    let killed = run_until(&mut w, Duration::from_secs(30), |w| w.apps[t].killed_at.is_some());
    assert!(killed, "not killed by the daemon:\n{}", log(&w));
    // The reaper's word on it: `Process N was reaped in Nms` (AOSP's line), or, when the victim
    // had already exited by the time the reaper called `process_mrelease` (its memory back
    // without it; a race the kernel decides), AOSP's `process_mrelease N failed: No such
    // process`. The kill history's outcome says which, and the line must match it.
    let outcome = {
        let mut o = None;
        let done = run_until(&mut w, Duration::from_secs(5), |w| {
            let hist = w.client().and_then(|c| c.kill_history()).unwrap_or_default();
            o = hist.iter().rev().find(|k| k.pid == pid).and_then(|k| k.outcome);
            o.is_some()
        });
        assert!(done, "no reap outcome in the kill history:\n{}", log(&w));
        o.unwrap()
    };
    let line = match outcome {
        ReapOutcome::Reaped => format!("Process {pid} was reaped in "),
        ReapOutcome::AlreadyExited => format!("process_mrelease {pid} failed: No such process"),
        other => panic!("the victim was neither reaped nor gone first: {other:?}\n{}", log(&w)),
    };
    assert!(run_until(&mut w, Duration::from_secs(5), |w| log(w).contains(&line)), "{}", log(&w));
    let log = log(&w);
    assert!(
        log.contains(&format!("({pid}), uid ")) && log.contains("oom_score_adj 900 to free"),
        "{log}"
    );
    assert_eq!(w.sandbox.oom_kills(), 0, "the kernel's OOM killer fired:\n{log}");
}

#[test]
fn target_reaping_in_psi_mode() {
    target_reaping(Mode::Psi);
}

#[test]
fn target_reaping_in_vmpressure_mode() {
    target_reaping(Mode::Vmpressure);
}

/// Pressure from page cache alone: a file twice the sandbox re-read without end, while the
/// apps' anonymous memory fits. Reclaim can always free it: the predictive rule must see the
/// headroom (and the kill must not come from running out). AOSP's thrashing rule would kill
/// here — the reader refaults every page it reads, by design of the test — so it is set out of
/// reach (`ro.lmk.thrashing_limit`): what is tested is that nothing else kills.
#[test]
fn page_cache_pressure_alone_kills_nothing() {
    let _s = serial();
    if !host() {
        return;
    }
    let dir = TempDir::new("race-cache");
    let props = "ro.lmk.predictive_kill=true\nro.lmk.thrashing_limit=100000\n";
    let mut w = world("cache", 256, Mode::Psi, props);
    for a in [999, 900, 700] {
        w.launch(&format!("app-{a}"), a, AppOptions { anon_mib: 24, ..Default::default() })
            .unwrap();
    }
    let file = dir.path().join("big");
    let reader = w
        .launch(
            "reader",
            200,
            AppOptions {
                anon_mib: 8,
                file: Some(file),
                file_mib: 512,
                reread: true,
                ..Default::default()
            },
        )
        .unwrap();
    // A few full passes over the file (it re-reads as fast as the disk gives it).
    let t0 = Instant::now();
    run_until(&mut w, Duration::from_secs(15), |_| false);
    assert!(t0.elapsed() >= Duration::from_secs(15));
    let d = deaths(&mut w);
    assert!(d.is_empty(), "deaths under page-cache pressure: {d:?}\n{}", log(&w));
    assert!(!w.apps[reader].process.exited());
    assert_eq!(w.sandbox.oom_kills(), 0);
}

/// A leak that stops well before the limit: watched, not killed.
#[test]
fn a_leak_that_stops_well_before_the_limit_kills_nothing() {
    let _s = serial();
    if !host() {
        return;
    }
    let mut w = world("stop", 512, Mode::Psi, "ro.lmk.predictive_kill=true\n");
    for a in [999, 900, 700] {
        w.launch(&format!("app-{a}"), a, AppOptions { anon_mib: 24, ..Default::default() })
            .unwrap();
    }
    // 72 MiB of apps + 300 MiB of leak in 512 MiB: well short of the limit.
    let fg = w.launch("foreground", 0, AppOptions { anon_mib: 16, ..Default::default() }).unwrap();
    w.apps[fg].process.command("max 300").unwrap();
    w.apps[fg].process.command("grow 256").unwrap();
    let pid = w.apps[fg].process.pid();
    assert!(run_until(&mut w, Duration::from_secs(20), |_| rss_mib(pid) + 2 >= 300));
    run_until(&mut w, Duration::from_secs(3), |_| false);
    let d = deaths(&mut w);
    assert!(d.is_empty(), "{d:?}\n{}", log(&w));
    assert_eq!(w.sandbox.oom_kills(), 0);
}
