//! Fault injection against the real binary: the kernel-facing layer fails on demand
//! (`--test-hooks` with `LMKD_FAULTS` or `LMK_EXT_TEST_FAULTS`; see `src/fault.rs`) and the
//! daemon must log, degrade and keep serving: no crash, no lost registration, no stalled loop.
//! Pressure comes from `LMK_EXT_TEST_PRESSURE`, which signals the running vmpressure monitor as
//! the kernel would, with a minfree table that always asks for a kill — so every event is a
//! decision on real `/proc` files, and any kill lands on the test's own children.

mod common;

use std::time::Duration;

use common::*;
use lmkd::client::Client;
use lmkd::protocol::ext::{ExtCommand, KILL_SENT};
use lmkd::protocol::PROC_TYPE_APP;

/// Old strategy, minfree mode, vmpressure: an event always asks for a kill down to adj 0.
const PROPS: &str = "ro.lmk.use_psi=false\nro.lmk.use_new_strategy=false\n\
                     ro.lmk.use_minfree_levels=true\nro.lmk.kill_timeout_ms=0\nro.lmk.debug=true\n";

struct Setup {
    d: Daemon,
    c: Client,
    kids: Vec<Sleeper>,
}

/// A daemon with hooks, `n` registered sleepers at adj 900, 901, ... (the highest dies first)
/// and a minfree table that always matches.
fn setup(props: &str, env_faults: Option<&str>, n: usize) -> Option<Setup> {
    if !require(is_root(), "root (vmpressure on the root memory cgroup)") {
        return None;
    }
    let env: Vec<(&str, &str)> = env_faults.map(|f| ("LMKD_FAULTS", f)).into_iter().collect();
    let d = Daemon::start_env(props, &["--test-hooks"], Some("debug"), &env);
    let mut c = d.client();
    // 1 TiB in pages: more than any machine has free, so the table always matches.
    c.target(&[(1 << 28, 0)]).unwrap();
    let kids: Vec<Sleeper> = (0..n).map(|_| Sleeper::new()).collect();
    for (i, k) in kids.iter().enumerate() {
        c.register(k.pid(), 10_800, 900 + i as i32, PROC_TYPE_APP).unwrap();
    }
    c.kill_count(-1000, 1000).unwrap();
    Some(Setup { d, c, kids })
}

fn arm(c: &mut Client, spec: &str) {
    c.send_raw(&ExtCommand::test_faults(spec).unwrap().encode()).unwrap();
    c.kill_count(-1000, 1000).unwrap();
}

/// One critical pressure event; returns once the daemon has handled it (its event counter).
fn pressure(s: &mut Setup) {
    let before = events(&mut s.c);
    s.c.send_raw(&ExtCommand::TestPressure { level: 2 }.encode()).unwrap();
    assert!(
        wait_until(Duration::from_secs(10), || events(&mut s.c) > before),
        "the event was not handled; log:\n{}",
        s.d.log_text()
    );
}

/// Critical events handled so far, from the status report.
fn events(c: &mut Client) -> u64 {
    let j = c.status(true).unwrap();
    let i = j.find("\"critical\":").expect("critical events in the status") + 11;
    j[i..].split(|ch: char| !ch.is_ascii_digit()).next().unwrap().parse().unwrap()
}

fn kills(c: &mut Client) -> i32 {
    c.kill_count(-1000, 1000).unwrap()
}

fn alive(k: &mut Sleeper) -> bool {
    k.0.try_wait().unwrap().is_none()
}

/// The daemon still answers and every live child is still registered.
fn serving(s: &mut Setup) {
    let procs = s.c.procs().unwrap();
    for k in s.kids.iter_mut() {
        if !alive(k) {
            continue;
        }
        let pid = k.pid();
        // A record leaves the table when its process is killed, a moment before the process
        // is gone: one missing from the table must be dying.
        assert!(
            procs.iter().any(|p| p.pid == pid) || wait_until(Duration::from_secs(10), || !alive(k)),
            "pid {pid} lost its registration"
        );
    }
    assert!(s.d.alive(), "the daemon died; log:\n{}", s.d.log_text());
}

/// A kernel file that fails (missing, I/O error, out of memory, would block) or comes back
/// truncated: the decision is skipped with a log line, nothing is killed, clients are served,
/// and the next event, with the file readable again, kills.
#[test]
fn a_failing_proc_file_skips_the_decision_and_the_next_one_kills() {
    for (i, spec) in [
        "read@/proc/meminfo=ENOENT*1",
        "read@/proc/meminfo=EIO*1",
        "read@/proc/meminfo=ENOMEM*1",
        "read@/proc/meminfo=EAGAIN*1",
        "read@/proc/meminfo=truncate:10*1",
    ]
    .into_iter()
    .enumerate()
    {
        let Some(mut s) = setup(PROPS, None, 2) else { return };
        arm(&mut s.c, spec);
        pressure(&mut s);
        assert_eq!(kills(&mut s.c), 0, "{spec}: no kill on a failed snapshot");
        assert!(s.d.wait_log("Failed to read memory state: "), "{spec}");
        serving(&mut s);
        pressure(&mut s);
        // (The polling window that follows the event may kill the other child too.)
        assert!(wait_until(Duration::from_secs(10), || kills(&mut s.c) >= 1), "{spec} (#{i})");
        let mut victim = s.kids.pop().unwrap();
        assert!(wait_until(Duration::from_secs(10), || !alive(&mut victim)), "{spec}");
    }
}

/// `EINTR` from a kernel file is retried where it happens: the decision goes ahead.
#[test]
fn eintr_is_retried() {
    let Some(mut s) = setup(PROPS, None, 1) else { return };
    arm(&mut s.c, "read@/proc/meminfo=EINTR*3; pid-read@status=EINTR*2");
    pressure(&mut s);
    assert!(wait_until(Duration::from_secs(10), || kills(&mut s.c) == 1), "{}", s.d.log_text());
    assert!(!s.d.log_text().contains("Failed to read memory state"));
}

/// A victim whose `/proc` files fail with an I/O error is alive: its record is kept and the
/// next candidate dies instead.
#[test]
fn an_unreadable_victim_is_kept_and_the_next_one_dies() {
    for (file, errno) in [("cmdline", "EIO"), ("status", "ENOMEM"), ("stat", "EIO")] {
        let Some(mut s) = setup(PROPS, None, 2) else { return };
        // The first candidate is the highest adj (the last child).
        let (first, second) = (s.kids[1].pid(), s.kids[0].pid());
        let spec = format!("pid-read@/proc/{first}/{file}={errno}");
        arm(&mut s.c, &spec);
        pressure(&mut s);
        assert!(
            wait_until(Duration::from_secs(10), || kills(&mut s.c) == 1),
            "{spec}: {}",
            s.d.log_text()
        );
        assert!(wait_until(Duration::from_secs(10), || !alive(&mut s.kids[0])), "{spec}");
        if file != "stat" {
            // (`stat` only feeds the fault counters of the report: the kill goes ahead.)
            assert!(s.d.wait_log(&format!("pid {first} could not be read")), "{spec}");
            assert!(alive(&mut s.kids[1]), "{spec}: pid {first} must live");
            let procs = s.c.procs().unwrap();
            assert!(procs.iter().any(|p| p.pid == first), "{spec}: record of {first} kept");
            assert!(procs.iter().all(|p| p.pid != second), "{spec}: {second} dropped");
        }
        arm(&mut s.c, "");
        serving(&mut s);
    }
}

/// Signals the kernel refuses: nothing dies, the refusal is logged, and — as AOSP does, so that
/// a process that cannot be killed does not stop every later decision — the records are
/// dropped; the client's next priority update registers them again, and once signals work the
/// next event kills.
#[test]
fn refused_signals_drop_the_records_as_aosp() {
    let Some(mut s) = setup(PROPS, None, 2) else { return };
    arm(&mut s.c, "signal=EPERM");
    pressure(&mut s);
    assert!(s.d.wait_log("errno=1"), "{}", s.d.log_text());
    assert_eq!(kills(&mut s.c), 0);
    for k in &mut s.kids {
        assert!(alive(k));
    }
    assert!(wait_until(Duration::from_secs(10), || s.c.procs().unwrap().is_empty()));
    arm(&mut s.c, "");
    for k in &s.kids {
        s.c.register(k.pid(), 10_800, 950, PROC_TYPE_APP).unwrap();
    }
    assert_eq!(s.c.procs().unwrap().len(), 2);
    pressure(&mut s);
    assert!(wait_until(Duration::from_secs(10), || kills(&mut s.c) >= 1));
    assert!(s.d.alive());
}

/// `oom_score_adj` writes that fail: the registration stands, with a log line.
#[test]
fn a_refused_adj_write_keeps_the_registration() {
    let Some(mut s) = setup(PROPS, None, 1) else { return };
    arm(&mut s.c, "adj-write=EACCES");
    let k = Sleeper::new();
    s.c.register(k.pid(), 10_801, 950, PROC_TYPE_APP).unwrap();
    s.c.register(s.kids[0].pid(), 10_800, 990, PROC_TYPE_APP).unwrap();
    assert!(s.d.wait_log("Failed to write oom_score_adj"));
    arm(&mut s.c, "");
    let procs = s.c.procs().unwrap();
    assert!(procs.iter().any(|p| p.pid == k.pid() && p.adj == 950));
    assert!(procs.iter().any(|p| p.pid == s.kids[0].pid() && p.adj == 990), "filed at 990");
    assert_eq!(s.kids[0].adj(), 900, "the file kept its old value");
    serving(&mut s);
}

/// `process_mrelease` failing (every time): the kill stands — the victim dies of its SIGKILL —
/// and the history says the reap failed. With no `process_mrelease` at all (probed at start)
/// there is no reaper: kills are synchronous and not reaped.
#[test]
fn a_failing_or_missing_process_mrelease_degrades_to_plain_kills() {
    let Some(mut s) = setup(PROPS, None, 1) else { return };
    arm(&mut s.c, "mrelease@reap=EAGAIN");
    let pid = s.kids[0].pid();
    assert_eq!(s.c.kill(pid, 10_800, 0).unwrap(), KILL_SENT);
    assert!(wait_until(Duration::from_secs(10), || !alive(&mut s.kids[0])));
    assert!(wait_until(Duration::from_secs(10), || {
        s.c.kill_history().unwrap().iter().any(|r| r.pid == pid && r.outcome.is_some())
    }));
    let rec = s.c.kill_history().unwrap().into_iter().find(|r| r.pid == pid).unwrap();
    assert_eq!(rec.outcome.map(|o| o.code()), Some((4, libc::EAGAIN)), "{rec:?}");

    let Some(mut s) = setup(PROPS, Some("mrelease@probe=ENOSYS"), 1) else { return };
    assert!(s.d.wait_log("process_mrelease is not supported by the kernel; kills are not reaped"));
    assert!(s.c.status(true).unwrap().contains("\"process_mrelease\":false"));
    let pid = s.kids[0].pid();
    assert_eq!(s.c.kill(pid, 10_800, 0).unwrap(), KILL_SENT);
    assert!(wait_until(Duration::from_secs(10), || !alive(&mut s.kids[0])));
    let rec = s.c.kill_history().unwrap().into_iter().find(|r| r.pid == pid).unwrap();
    assert_eq!(rec.outcome.map(|o| o.as_str()), Some("not-reaped"));
    serving(&mut s);
}

/// PSI that cannot be registered at start-up: the daemon falls back to vmpressure and says so.
/// A PSI monitor that reports an error later: the monitors are re-created — and when PSI is
/// refused by then, vmpressure takes over.
#[test]
fn psi_failures_fall_back_to_vmpressure() {
    let psi_props = "ro.lmk.use_minfree_levels=true\nro.lmk.debug=true\n";
    let Some(mut s) = setup(psi_props, Some("psi=EINVAL"), 1) else { return };
    assert!(s.d.wait_log("PSI monitors unavailable"), "{}", s.d.log_text());
    assert!(s.d.wait_log("Using vmpressure for memory pressure detection"));
    assert!(s.c.status(true).unwrap().contains("\"monitors\":\"vmpressure\""));
    serving(&mut s);

    let Some(mut s) = setup(psi_props, None, 1) else { return };
    assert!(s.c.status(true).unwrap().contains("\"monitors\":\"psi"), "PSI at first");
    arm(&mut s.c, "psi-event=on*1; psi=EINVAL");
    s.c.send_raw(&ExtCommand::TestPressure { level: 1 }.encode()).unwrap();
    assert!(s.d.wait_log("pressure monitor failed; re-creating the monitors"));
    assert!(wait_until(Duration::from_secs(10), || {
        s.c.status(true).unwrap().contains("\"monitors\":\"vmpressure\"")
    }));
    arm(&mut s.c, "");
    // And the vmpressure monitors work: the next event kills.
    pressure(&mut s);
    assert!(wait_until(Duration::from_secs(10), || kills(&mut s.c) == 1));
    serving(&mut s);
}

/// `LMKD_FAULTS` and the fault command need `--test-hooks`; a bad specification is refused.
#[test]
fn faults_need_the_test_hooks() {
    let d = Daemon::start_env(
        PROPS,
        &[],
        Some("debug"),
        &[("LMKD_FAULTS", "read@/proc/meminfo=ENOENT")],
    );
    assert!(d.wait_log("LMKD_FAULTS is ignored without --test-hooks"));
    let c = d.client();
    c.send_raw(&ExtCommand::test_faults("signal=EPERM").unwrap().encode()).unwrap();
    assert!(d.wait_log("sent a test-only command; ignored"));
    let Some(mut s) = setup(PROPS, None, 1) else { return };
    arm(&mut s.c, "read=EWHAT");
    assert!(s.d.wait_log("test hook: bad fault specification"));
    pressure(&mut s);
    assert!(wait_until(Duration::from_secs(10), || kills(&mut s.c) == 1), "nothing armed");
}

/// CPU time (user + system, in clock ticks) the process has used.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = after.split_whitespace().collect();
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

/// Few descriptors (the daemon under `prlimit --nofile=64`): the table takes only what the
/// limit leaves room for, refuses the rest with a log line, and keeps serving.
#[test]
fn the_table_is_bounded_by_the_descriptor_limit() {
    if !require(
        std::process::Command::new("prlimit").arg("--version").output().is_ok(),
        "prlimit (util-linux)",
    ) {
        return;
    }
    let dir = TempDir::new("nofile");
    let sock = dir.path().join("lmkd.sock");
    let props = dir.path().join("lmkd.prop");
    let log = dir.path().join("lmkd.log");
    std::fs::write(&props, PROPS).unwrap();
    /// Kills the daemon also when an assertion fails.
    struct KillOnDrop(std::process::Child);
    impl Drop for KillOnDrop {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let child = std::process::Command::new("prlimit")
        .arg("--nofile=64:64")
        .arg("--")
        .arg(lmkd_bin())
        .arg("--socket")
        .arg(&sock)
        .arg("--props")
        .arg(&props)
        .env("LMKD_LOG", "debug")
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let _child = KillOnDrop(child);
    let text = || std::fs::read_to_string(&log).unwrap_or_default();
    assert!(wait_until(Duration::from_secs(10), || sock.exists()), "{}", text());
    let mut c = Client::connect(&sock).unwrap();
    let kids: Vec<Sleeper> = (0..48).map(|_| Sleeper::new()).collect();
    for k in &kids {
        c.register(k.pid(), 10_802, 900, PROC_TYPE_APP).unwrap();
    }
    let n = c.procs().unwrap().len();
    assert!((1..48).contains(&n), "{n} of 48 registered");
    assert!(text().contains("the table is full"), "the refusals are logged: {}", text());
    assert_eq!(c.kill_count(-1000, 1000).unwrap(), 0, "the client is still served");
}

/// A connection that cannot be accepted for lack of descriptors (`EMFILE`) is closed at once
/// with the spare descriptor kept for this, rather than left waiting — which would keep the
/// listener readable and the loop spinning — and the next connection is served.
#[test]
fn a_connection_refused_for_lack_of_descriptors_is_closed_without_spinning() {
    let Some(mut s) = setup(PROPS, None, 1) else { return };
    arm(&mut s.c, "accept=EMFILE*1");
    let mut refused = Client::connect(&s.d.socket).unwrap();
    refused.set_timeout(Some(Duration::from_secs(10))).unwrap();
    assert!(refused.kill_count(-1000, 1000).is_err(), "closed, not served");
    assert!(s.d.wait_log("the new connection was closed"), "{}", s.d.log_text());
    let pid = s.d.child.id();
    let before = cpu_ticks(pid);
    std::thread::sleep(Duration::from_secs(2));
    // A spinning loop would burn about 200 ticks in 2 s.
    assert!(cpu_ticks(pid) - before < 50, "the loop spins: {}", s.d.log_text());
    let mut next = Client::connect(&s.d.socket).unwrap();
    assert_eq!(next.kill_count(-1000, 1000).unwrap(), 0);
    serving(&mut s);
}

/// Minfree mode's kill line is AOSP's (issue 14 point 6): what it compared, in kB, and the adj.
#[test]
fn minfree_mode_logs_aosps_reclaimed_line() {
    let Some(mut s) = setup(PROPS, None, 1) else { return };
    pressure(&mut s);
    assert!(wait_until(Duration::from_secs(10), || kills(&mut s.c) == 1));
    let log = s.d.log_text();
    let line = log
        .lines()
        .find(|l| l.contains("lowmemorykiller: Reclaimed "))
        .unwrap_or_else(|| panic!("no Reclaimed line:\n{log}"));
    // "Reclaimed <n>kB, cache(<n>kB) and free(<n>kB)-reserved(<n>kB) below min(<n>kB) for
    // oom_score_adj <adj>", the table's minfree of 2^28 pages and adj 0.
    let rest = line.split("Reclaimed ").nth(1).unwrap();
    let (reclaimed, rest) = rest.split_once("kB, cache(").expect(line);
    assert!(reclaimed.parse::<u64>().unwrap() > 0, "{line}");
    let (cache, rest) = rest.split_once("kB) and free(").expect(line);
    let (free, rest) = rest.split_once("kB)-reserved(").expect(line);
    let (reserved, rest) = rest.split_once("kB) below min(").expect(line);
    let (min, adj) = rest.split_once("kB) for oom_score_adj ").expect(line);
    for n in [cache, free, reserved] {
        n.parse::<u64>().unwrap_or_else(|_| panic!("{n:?} in {line}"));
    }
    let page_kb = rustix::param::page_size() as u64 / 1024;
    assert_eq!(min.parse::<u64>().unwrap(), (1u64 << 28) * page_kb, "{line}");
    assert_eq!(adj.trim(), "0", "{line}");
    serving(&mut s);
}
