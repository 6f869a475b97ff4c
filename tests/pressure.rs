//! The whole daemon under real memory pressure, on the real kernel, in a memory cgroup limited
//! to 1 GiB (the host's safety rule) that is the daemon's memory domain
//! (`ro.lmk.memcg_domain`): apps on AOSP's adj ladder hold private memory, a registered
//! foreground app grows, and another app re-reads a file. In PSI mode (2 s windows on these
//! hosts) and in vmpressure mode the daemon must kill from adj 999 down, never the foreground
//! app while others remain, stop once the pressure is gone, and beat the kernel's OOM killer.

mod common;

use std::time::Duration;

use common::*;
use lmkd::protocol::PROC_TYPE_APP;
use lmkd::report::KillRecord;

const GIB: u64 = 1 << 30;
/// AOSP's ladder: cached 999/950/900, service B 800, previous 700, home 600, service 500,
/// perceptible 200, visible 100.
const LADDER: [i32; 9] = [999, 950, 900, 800, 700, 600, 500, 200, 100];

struct Outcome {
    kills: Vec<KillRecord>,
    foreground_alive: bool,
    oom_kills: u64,
    unexplained_deaths: Vec<i32>,
    log: String,
}

/// Free memory of the group as the daemon's memcg domain counts it: limit − usage + inactive
/// file, in bytes.
fn group_free(cg: &Memcg) -> u64 {
    let num = |f: &str| cg.read(f).trim().parse::<u64>().unwrap_or(0);
    let inactive_file = cg
        .read("memory.stat")
        .lines()
        .find_map(|l| l.strip_prefix("total_inactive_file ")?.trim().parse::<u64>().ok())
        .unwrap_or(0);
    (num("memory.limit_in_bytes").saturating_sub(num("memory.usage_in_bytes")) + inactive_file)
        .min(num("memory.limit_in_bytes"))
}

fn rss_mib(pid: i32) -> u64 {
    status_field(pid as u32, "VmRSS").unwrap_or(0) / 1024
}

fn foreground_growth(mode_props: &str) -> Option<Outcome> {
    if !require(
        kill_test_host() && std::path::Path::new(UNIFIED_ROOT).join("cgroup.procs").exists(),
        "root, cgroup v1 memory and freezer, and the cgroup v2 hierarchy",
    ) {
        return None;
    }
    let cg = Memcg::create("e2e", Some(GIB)).unwrap();
    let v2 = V2Group::twin_of(&cg).unwrap();
    let trace_dir = TempDir::new("trace");
    let trace = trace_dir.path().join("decisions.trace");
    let d = Daemon::start_with(
        &format!(
            "ro.lmk.memcg_domain={}\nro.lmk.debug=true\nro.lmk.psi_partial_stall_ms=35\n{mode_props}",
            cg.path.display()
        ),
        &["--record", trace.to_str().unwrap()],
    );
    assert!(d.wait_log("Memory domain: memcg"), "{}", d.log_text());
    let mut c = d.client();
    let groups = [cg.path.as_path(), v2.path.as_path()];
    let mut apps = Vec::new();
    for (i, &adj) in LADDER.iter().enumerate() {
        let a = App::start(&["--anon", "56"], &groups);
        c.register(a.pid(), 10_000 + i as i32, adj, PROC_TYPE_APP).unwrap();
        apps.push((a, adj));
    }
    // A perceptible-low app re-reading a 48 MiB file it wrote (its page cache is charged here).
    let file = d.dir.path().join("data");
    let reader = App::start_after(
        &format!("dd if=/dev/zero of={} bs=1M count=48 status=none", file.display()),
        &["--file", file.to_str().unwrap(), "--reread"],
        &groups,
    );
    c.register(reader.pid(), 10_100, 250, PROC_TYPE_APP).unwrap();
    // The foreground app grows until the group cannot hold everything: 9 × 56 MiB of apps and
    // 560 MiB of foreground are more than 1 GiB even without any page cache, so without kills
    // the kernel's OOM killer would have to fire.
    let mut fg = App::start(&["--anon", "16", "--grow", "16", "--max", "560"], &groups);
    c.register(fg.pid(), 10_200, 0, PROC_TYPE_APP).unwrap();
    assert!(
        wait_until(Duration::from_secs(90), || !fg.exists() || rss_mib(fg.pid()) >= 555),
        "the foreground never reached its size"
    );
    // The growth is over and the foreground gives it back: the pressure is gone for real (the
    // group has room, by the daemon's own measure: limit − usage + inactive file above the
    // high watermark). Then the daemon must come to rest — no polling, every victim dead — and,
    // with no pressure left to wake it, kill nothing more.
    if fg.exists() {
        fg.command("grow 0");
        fg.command("shrink");
    }
    let high = GIB / 32;
    let rested = wait_until(Duration::from_secs(60), || {
        let free = group_free(&cg);
        let status = c.status(true).unwrap();
        let kills = c.kill_history().unwrap();
        free > high && status.contains("\"polling\":false") && kills.iter().all(|k| k.death_us >= 0)
    });
    assert!(
        rested,
        "the daemon did not come to rest once the pressure was gone:\n{}",
        d.log_text()
    );
    let kills = c.kill_history().unwrap();
    let killed: Vec<i32> = kills.iter().map(|k| k.pid).collect();
    let mut unexplained = Vec::new();
    for (a, _) in &apps {
        if !a.exists() && !killed.contains(&a.pid()) {
            unexplained.push(a.pid());
        }
    }
    check_replay(&std::fs::read_to_string(&trace).unwrap(), kills.len());
    Some(Outcome {
        foreground_alive: fg.exists() && !killed.contains(&fg.pid()),
        oom_kills: memcg_oom_kills(&cg),
        unexplained_deaths: unexplained,
        kills,
        log: d.log_text(),
    })
}

/// The recorded trace replays to the decisions the daemon took.
fn check_replay(trace: &str, kills: usize) {
    let decided: Vec<(u64, String)> = trace
        .lines()
        .filter_map(|l| l.strip_prefix("decision t="))
        .filter_map(|l| l.split_once(' ').map(|(t, d)| (t.parse().unwrap(), d.to_owned())))
        .collect();
    assert!(
        decided.len() >= kills,
        "every kill was decided in the trace ({} < {kills})",
        decided.len()
    );
    let replayed = lmkd::policy::trace::replay(trace).expect("the recorded trace parses");
    let replayed_kills: Vec<(u64, String)> = replayed
        .into_iter()
        .filter(|r| r.decision.starts_with("kill"))
        .map(|r| (r.t, r.decision))
        .collect();
    assert_eq!(replayed_kills, decided, "the replay decides what the daemon decided, in order");
}

fn check(o: &Outcome) {
    let adjs: Vec<i32> = o.kills.iter().map(|k| k.adj).collect();
    assert!(!o.kills.is_empty(), "no kill at all; log:\n{}", o.log);
    assert_eq!(adjs[0], 999, "the first victim is the least important: {adjs:?}");
    assert!(adjs.windows(2).all(|w| w[0] >= w[1]), "kills in adj order from 999 down: {adjs:?}");
    assert!(o.foreground_alive, "the foreground app (adj 0) survived: {adjs:?}");
    assert!(adjs.iter().all(|&a| a > 0), "{adjs:?}");
    assert_eq!(o.oom_kills, 0, "the memory cgroup's own OOM killer fired; log:\n{}", o.log);
    assert!(
        o.unexplained_deaths.is_empty(),
        "apps died without an lmkd kill: {:?}",
        o.unexplained_deaths
    );
}

#[test]
fn psi_mode_kills_in_adj_order_and_stops_when_pressure_is_gone() {
    let Some(o) = foreground_growth("") else { return };
    assert!(o.log.contains("Using psi monitors for memory pressure detection"));
    assert!(o.log.contains("with 2000 ms windows"), "the 1 s window falls back to 2 s here");
    check(&o);
    assert!(o.kills.iter().all(|k| k.reason >= 0), "the new strategy gives every kill a reason");
}

#[test]
fn vmpressure_mode_kills_in_adj_order_and_stops_when_pressure_is_gone() {
    let Some(o) = foreground_growth("ro.lmk.use_psi=false\n") else { return };
    assert!(o.log.contains("Using vmpressure for memory pressure detection"));
    check(&o);
    // The old strategy kills without a reason; the predictive rule (ro.lmk.predictive_kill,
    // on by default) with AOSP's LOW_MEM and a text that says what it predicted.
    assert!(
        o.kills
            .iter()
            .all(|k| k.reason == -1
                || (k.reason == 8 && k.reason_text.as_str().starts_with("headroom"))),
        "{:#?}",
        o.kills
    );
}
