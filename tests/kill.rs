//! The kill pipeline on the real kernel: `LMK_EXT_KILL`, pidfd SIGKILL, `process_mrelease` from
//! the reaper pool (also for a frozen victim), reports to subscribers, pid-reuse safety, and the
//! reapers' CPU placement. Victims are `lmkctl app` processes holding private anonymous memory
//! inside a memory cgroup limited to 1 GiB, as the host's safety rules require.

mod common;

use std::fs;
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use lmkd::client::Client;
use lmkd::protocol::ext::{
    KILL_GONE, KILL_NOT_OWNER, KILL_NOT_REGISTERED, KILL_SENT, KILL_UID_MISMATCH,
};
use lmkd::protocol::{ServerMessage, PROC_TYPE_APP};
use lmkd::reaper::ReapOutcome;
use lmkd::report::KillRecord;

const GIB: u64 = 1 << 30;
const MIB: u64 = 1 << 20;

fn barrier(c: &mut Client) {
    c.kill_count(-1000, 1000).unwrap();
}

fn usage(cg: &Memcg) -> u64 {
    cg.read("memory.usage_in_bytes").trim().parse().unwrap()
}

/// Waits until the history has a finished record for `pid` and returns it.
fn finished(c: &mut Client, pid: i32) -> KillRecord {
    let mut found = None;
    assert!(
        wait_until(Duration::from_secs(20), || {
            found =
                c.kill_history().unwrap().into_iter().find(|r| r.pid == pid && r.outcome.is_some());
            found.is_some()
        }),
        "no finished kill record for pid {pid}"
    );
    found.unwrap()
}

/// Parses `to free <rss>kB rss, <swap>kB swap` of the kill line for `pid`, as AOSP's tests do.
fn kill_line_rss(log: &str, pid: i32) -> Option<(i64, i64)> {
    let line =
        log.lines().find(|l| l.contains("Kill '") && l.contains(&format!("({pid}), uid")))?;
    let rest = line.split("to free ").nth(1)?;
    let rss = rest.split("kB rss, ").next()?.parse().ok()?;
    let swap = rest.split("kB rss, ").nth(1)?.split("kB swap").next()?.parse().ok()?;
    Some((rss, swap))
}

#[test]
fn a_requested_kill_reaps_256_mib_and_reports_it_once() {
    if !require(kill_test_host(), "root, cgroup v1 memory and freezer") {
        return;
    }
    let d = Daemon::start("ro.lmk.debug=true\n");
    let mut c = d.client();
    let mut sub = d.client();
    sub.subscribe(0).unwrap();
    sub.subscribe(1).unwrap();
    barrier(&mut sub);
    let cg = Memcg::create("reap", Some(GIB)).unwrap();
    let app = App::start(&["--anon", "256"], &[&cg.path]);
    let before = usage(&cg);
    assert!(before >= 256 * MIB, "the app holds its memory");
    c.register(app.pid(), 10_100, 900, PROC_TYPE_APP).unwrap();
    assert_eq!(c.kill(app.pid(), 10_100, 42).unwrap(), KILL_SENT);
    let rec = finished(&mut c, app.pid());
    let left = usage(&cg);
    // A running victim races the reaper to its own exit and tears part of its address space
    // down itself, so a little may still be on its way back; the frozen test below has no race.
    assert!(
        before - left >= 224 * MIB,
        "memory is back when the reaper reports: {} of {} MiB left ({rec:?})",
        left / MIB,
        before / MIB
    );
    assert!(
        matches!(rec.outcome, Some(ReapOutcome::Reaped | ReapOutcome::AlreadyExited)),
        "{rec:?}"
    );
    assert_eq!(
        (rec.uid, rec.adj, rec.requested_by, rec.client_reason),
        (10_100, 900, std::process::id() as i32, 42)
    );
    assert!(rec.rss_kb >= 256 * 1024, "RSS read before the kill: {} kB", rec.rss_kb);
    // argv[0] of the app, as the registry's 64-byte history field keeps it.
    let argv0 = lmkctl_bin();
    assert_eq!(rec.name.as_str(), &argv0[..argv0.len().min(64)]);

    // The kill line, in AOSP's exact format, and the reaper's debug line.
    assert!(d.wait_log(&format!(
        "Kill '{}' ({}), uid 10100, oom_score_adj 900 to free {}kB rss, 0kB swap; reason: requested by client",
        &argv0[..argv0.len().min(127)],
        app.pid(),
        rec.rss_kb
    )));
    assert_eq!(kill_line_rss(&d.log_text(), app.pid()), Some((rec.rss_kb, 0)));
    assert!(
        d.wait_log(&format!("Process {} was reaped in ", app.pid()))
            || d.log_text()
                .contains(&format!("process_mrelease {} failed: No such process", app.pid()))
    );

    // Exactly one LMK_PROCKILL and one LMK_STAT_KILL_OCCURRED, with the right fields.
    sub.set_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut kills = Vec::new();
    let mut stats = Vec::new();
    while kills.is_empty() || stats.is_empty() {
        match sub.recv_event().unwrap() {
            Some(ServerMessage::ProcKill(k)) => kills.push(k),
            Some(ServerMessage::KillStat(s)) => stats.push(s),
            other => panic!("unexpected {other:?}"),
        }
    }
    sub.set_timeout(Some(Duration::from_millis(500))).unwrap();
    assert_eq!(sub.recv_event().unwrap(), None, "nothing more");
    assert_eq!(kills.len(), 1);
    assert_eq!(
        (kills[0].pid, kills[0].uid, i64::from(kills[0].rss_kb)),
        (app.pid(), 10_100, rec.rss_kb)
    );
    let s = stats[0];
    assert_eq!((s.uid, s.oom_score, s.min_oom_score, s.kill_reason), (10_100, 900, 900, -1));
    assert_eq!(s.rss_bytes, rec.rss_kb * 1024);
    assert_eq!(s.name(), &argv0.as_bytes()[..argv0.len().min(127)]);
    assert!(s.pgfault > 0 && s.process_start_time_ns > 0);

    // Counted once, at its adj; the record is gone.
    assert_eq!(c.kill_count(900, 900).unwrap(), 1);
    assert_eq!(c.kill_count(1001, 0).unwrap(), 1);
    assert_eq!(c.kill_count(0, 899).unwrap(), 0);
    assert!(c.procs().unwrap().is_empty());
    // The pidfd wait saw the death.
    assert!(d.wait_log("Process got killed in "));
    assert!(wait_until(Duration::from_secs(5), || c.kill_history().unwrap()[0].death_us >= 0));
    assert!(usage(&cg) < 16 * MIB, "all back once it died: {} MiB left", usage(&cg) / MIB);
}

#[test]
fn a_frozen_victim_is_reaped_though_sigkill_alone_frees_nothing() {
    if !require(kill_test_host(), "root, cgroup v1 memory and freezer") {
        return;
    }
    // Without reapers: SIGKILL alone cannot free a frozen process's memory.
    {
        let d = Daemon::start("ro.lmk.reaper_threads=0\n");
        assert!(d.wait_log("no reaper threads; kills are not reaped"));
        let mut c = d.client();
        let cg = Memcg::create("frozen-sigkill", Some(GIB)).unwrap();
        let fz = Freezer::create("frozen-sigkill").unwrap();
        let app = App::start(&["--anon", "256"], &[&cg.path, &fz.path]);
        fz.freeze();
        c.register(app.pid(), 10_101, 950, PROC_TYPE_APP).unwrap();
        assert_eq!(c.kill(app.pid(), 10_101, 0).unwrap(), KILL_SENT);
        std::thread::sleep(Duration::from_millis(500));
        assert!(usage(&cg) >= 250 * MIB, "SIGKILL alone freed memory of a frozen process?");
        let rec = c.kill_history().unwrap().into_iter().find(|r| r.pid == app.pid()).unwrap();
        assert_eq!(rec.outcome, Some(ReapOutcome::NotReaped));
        fz.thaw();
    }
    // With the reaper pool: the memory comes back while the victim is still frozen.
    let d = Daemon::start("ro.lmk.debug=true\n");
    let mut c = d.client();
    let cg = Memcg::create("frozen-reap", Some(GIB)).unwrap();
    let fz = Freezer::create("frozen-reap").unwrap();
    let app = App::start(&["--anon", "256"], &[&cg.path, &fz.path]);
    fz.freeze();
    c.register(app.pid(), 10_102, 950, PROC_TYPE_APP).unwrap();
    let t0 = Instant::now();
    assert_eq!(c.kill(app.pid(), 10_102, 0).unwrap(), KILL_SENT);
    let rec = finished(&mut c, app.pid());
    assert_eq!(rec.outcome, Some(ReapOutcome::Reaped), "{rec:?}");
    assert!(usage(&cg) < 32 * MIB, "{} MiB still charged", usage(&cg) / MIB);
    assert!(
        app.exists() && fz.state() == "FROZEN",
        "still frozen: the reaper, not the exit, freed it"
    );
    assert_eq!(rec.death_us, -1, "and it has not died");
    assert!(rec.reap_us > 0 && rec.reap_us < t0.elapsed().as_micros() as i64);
    assert!(d.wait_log(&format!("Process {} was reaped in ", app.pid())));
    fz.thaw();
}

#[test]
fn refusals_never_kill() {
    let d = Daemon::start("");
    let mut c = d.client();
    let k = Sleeper::new();
    // Not registered.
    assert_eq!(c.kill(k.pid(), 0, 0).unwrap(), KILL_NOT_REGISTERED);
    // Registered by another live client.
    let other = OtherClient::register(&d, k.pid(), 10_200, 900);
    assert_eq!(c.kill(k.pid(), 10_200, 0).unwrap(), KILL_NOT_OWNER);
    assert_eq!(c.kill(k.pid(), 10_201, 0).unwrap(), KILL_NOT_OWNER, "not even told about the uid");
    assert!(fs::metadata(format!("/proc/{}", k.pid())).is_ok(), "still alive after every refusal");
    assert!(c.kill_history().unwrap().is_empty());
    // Already exited: its record is dropped and nothing is signalled.
    let mut gone = Sleeper::new();
    c.register(gone.pid(), 10_202, 900, PROC_TYPE_APP).unwrap();
    barrier(&mut c);
    gone.0.kill().unwrap();
    gone.0.wait().unwrap();
    let r = c.kill(gone.pid(), 10_202, 0).unwrap();
    assert!(r == KILL_GONE || r == KILL_NOT_REGISTERED, "{r}");
    assert!(c.kill_history().unwrap().is_empty());
    // Once its registrant left, the record is claimable, as for LMK_PROCPRIO, but the uid
    // must match, and a refusal claims nothing.
    drop(other);
    assert!(wait_until(Duration::from_secs(5), || c
        .procs()
        .unwrap()
        .iter()
        .any(|e| e.pid == k.pid() && e.owner == 0)));
    assert_eq!(c.kill(k.pid(), 10_201, 0).unwrap(), KILL_UID_MISMATCH);
    assert!(c.procs().unwrap().iter().any(|e| e.pid == k.pid() && e.owner == 0));
    assert_eq!(c.kill(k.pid(), 10_200, 0).unwrap(), KILL_SENT);
}

#[test]
fn every_kill_is_reported_once_to_each_subscriber() {
    let d = Daemon::start("");
    let mut c = d.client();
    let mut kill_sub = d.client();
    kill_sub.subscribe(0).unwrap();
    barrier(&mut kill_sub);
    let mut stat_sub = d.client();
    stat_sub.subscribe(1).unwrap();
    barrier(&mut stat_sub);
    let kids: Vec<Sleeper> = (0..5).map(|_| Sleeper::new()).collect();
    let mut expect = Vec::new();
    for (i, k) in kids.iter().enumerate() {
        c.register(k.pid(), 10_300 + i as i32, 900 + i as i32, PROC_TYPE_APP).unwrap();
    }
    for (i, k) in kids.iter().enumerate() {
        assert_eq!(c.kill(k.pid(), 10_300 + i as i32, 0).unwrap(), KILL_SENT);
        // The RSS reported is the one read just before the kill (also in the kill line).
        let rss = c.kill_history().unwrap().last().unwrap().rss_kb as i32;
        assert!(rss > 0);
        expect.push((k.pid(), 10_300 + i as i32, rss));
    }
    for sub in [&mut kill_sub, &mut stat_sub] {
        sub.set_timeout(Some(Duration::from_millis(700))).unwrap();
    }
    let mut got = Vec::new();
    while let Some(ev) = kill_sub.recv_event().unwrap() {
        let ServerMessage::ProcKill(k) = ev else {
            panic!("only kill events were subscribed: {ev:?}")
        };
        got.push((k.pid, k.uid, k.rss_kb));
    }
    assert_eq!(got.len(), 5);
    assert_eq!(got, expect);
    let mut stats = 0;
    while let Some(ev) = stat_sub.recv_event().unwrap() {
        let ServerMessage::KillStat(s) = ev else {
            panic!("only stat events were subscribed: {ev:?}")
        };
        assert_eq!(s.uid, expect[stats].1);
        assert_eq!(s.oom_score, 900 + stats as i32);
        stats += 1;
    }
    assert_eq!(stats, 5);
    assert_eq!(c.kill_count(900, 904).unwrap(), 5);
    assert_eq!(c.kill_count(902, 902).unwrap(), 1);
}

#[test]
fn no_stat_events_without_log_stats() {
    let d = Daemon::start("ro.lmk.log_stats=false\n");
    let mut c = d.client();
    let mut sub = d.client();
    sub.subscribe(0).unwrap();
    sub.subscribe(1).unwrap();
    barrier(&mut sub);
    let k = Sleeper::new();
    c.register(k.pid(), 10_400, 900, PROC_TYPE_APP).unwrap();
    assert_eq!(c.kill(k.pid(), 10_400, 0).unwrap(), KILL_SENT);
    sub.set_timeout(Some(Duration::from_millis(700))).unwrap();
    assert!(matches!(sub.recv_event().unwrap(), Some(ServerMessage::ProcKill(_))));
    assert_eq!(sub.recv_event().unwrap(), None);
}

#[test]
fn a_subscriber_that_never_reads_loses_events_and_stalls_nobody() {
    let d = Daemon::start("");
    let sleepy = d.client();
    sleepy.subscribe(0).unwrap();
    sleepy.subscribe(1).unwrap();
    let mut c = d.client();
    barrier(&mut c);
    // Enough kills to fill the subscriber's socket several times over.
    let kids: Vec<Sleeper> = (0..400).map(|_| Sleeper::new()).collect();
    for k in &kids {
        c.register(k.pid(), 10_500, 950, PROC_TYPE_APP).unwrap();
    }
    barrier(&mut c);
    let t0 = Instant::now();
    for k in &kids {
        assert_eq!(c.kill(k.pid(), 10_500, 0).unwrap(), KILL_SENT);
    }
    assert!(t0.elapsed() < Duration::from_secs(30), "400 kills took {:?}", t0.elapsed());
    assert!(d.wait_log("is not reading its events"));
    assert_eq!(c.kill_count(950, 950).unwrap(), 400);
    drop(sleepy);
    assert!(d.wait_log("missed"));
}

#[test]
fn reapers_run_on_the_cpus_they_were_given() {
    let cpus = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let want = if cpus > 1 { 1 } else { 0 };
    let d = Daemon::start(&format!(
        "ro.lmk.reaper_threads=3\nro.lmk.reaper_cpus={want}\nro.lmk.reaper_nice=-20\n"
    ));
    assert!(d.wait_log(&format!("reaper threads run on CPUs {want} (ro.lmk.reaper_cpus)")));
    // (Threads take their names and policies once they run: wait until all three are waiting.)
    let waiting = |tid: &str| {
        let stat = fs::read_to_string(format!("/proc/{}/task/{tid}/stat", d.child.id()))
            .unwrap_or_default();
        stat.rfind(')').is_some_and(|i| stat[i + 2..].split_whitespace().nth(38) == Some("1"))
    };
    wait_until(Duration::from_secs(5), || {
        let r = reaper_threads(d.child.id());
        r.len() == 3 && r.iter().all(|(_, tid)| waiting(tid))
    });
    let reapers = reaper_threads(d.child.id());
    assert_eq!(reapers.len(), 3, "{reapers:?}");
    for (name, tid) in &reapers {
        assert!(name.starts_with("lmkd_reaper"));
        let st = fs::read_to_string(format!("/proc/{}/task/{tid}/status", d.child.id())).unwrap();
        let allowed = st.lines().find(|l| l.starts_with("Cpus_allowed_list:")).unwrap();
        assert_eq!(allowed.split_whitespace().nth(1), Some(want.to_string().as_str()), "{name}");
        let stat = fs::read_to_string(format!("/proc/{}/task/{tid}/stat", d.child.id())).unwrap();
        let after = &stat[stat.rfind(')').unwrap() + 2..];
        let fields: Vec<&str> = after.split_whitespace().collect();
        // Field 19 (nice) is index 16 after the name; 40 (rt_priority) 37; 41 (policy) 38.
        assert_eq!(fields[16], "-20", "{name} nice (for the reaping, at SCHED_OTHER)");
        assert_eq!((fields[38], fields[37]), ("1", "2"), "{name} waits at SCHED_FIFO priority 2");
    }
    // Unset on this machine (all CPUs alike): not pinned, and said once.
    let d = Daemon::start("");
    assert!(d.wait_log("reaper threads are not pinned"));
    // (A thread takes its name once it runs: wait for both.)
    wait_until(Duration::from_secs(5), || reaper_threads(d.child.id()).len() >= 2);
    assert_eq!(reaper_threads(d.child.id()).len(), 2, "ro.lmk.reaper_threads defaults to 2");
}

fn reaper_threads(pid: u32) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for e in fs::read_dir(format!("/proc/{pid}/task")).unwrap().flatten() {
        let tid = e.file_name().to_string_lossy().into_owned();
        let comm = fs::read_to_string(e.path().join("comm")).unwrap_or_default().trim().to_owned();
        if comm.starts_with("lmkd_reaper") {
            out.push((comm, tid));
        }
    }
    out.sort();
    out
}

/// A registered pid that died and whose number went to another process is never signalled.
/// Runs in a new pid namespace, where `ns_last_pid` can hand the number out again at once.
#[test]
fn a_reused_pid_is_never_signalled() {
    if std::env::var_os("LMKD_IN_PIDNS").is_some() {
        return reused_pid_inside();
    }
    if !require(is_root(), "root (to create a pid namespace)") {
        return;
    }
    let out = Command::new("unshare")
        .args(["--pid", "--fork", "--mount-proc", "--"])
        .arg(self_exe())
        .args(["--exact", "a_reused_pid_is_never_signalled", "--nocapture", "--test-threads=1"])
        .env("LMKD_IN_PIDNS", "1")
        .output()
        .expect("run unshare");
    let text =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "inner run failed:\n{text}");
    assert!(text.contains("PID-REUSE-CHECKS-PASSED"), "inner checks did not run:\n{text}");
}

/// Kills `old` and makes the next process take its pid number.
fn reuse_pid(old: &mut Sleeper) -> Option<Sleeper> {
    let pid = old.pid();
    old.0.kill().unwrap();
    old.0.wait().unwrap();
    for _ in 0..5 {
        fs::write("/proc/sys/kernel/ns_last_pid", (pid - 1).to_string()).unwrap();
        let s = Sleeper::new();
        if s.pid() == pid {
            return Some(s);
        }
    }
    None
}

fn reused_pid_inside() {
    assert_eq!(std::process::id(), 1);
    // The library pipeline, with no exit watching at all: a stale record meets a reused pid.
    {
        use lmkd::procs::{
            read_victim, NoWatch, PrioOutcome, ProcTable, UpdateMode, VictimError, VictimRef,
        };
        use lmkd::protocol::ProcPrio;
        let mut t = ProcTable::new(UpdateMode::KeepOpen, 100);
        let mut a = Sleeper::new();
        let p = ProcPrio { pid: a.pid(), uid: 1, adj: 900, ptype: 0, for_lmkd_only: false };
        assert!(matches!(t.apply_prio(&p, 77, 0, &mut NoWatch), PrioOutcome::Registered(_)));
        let b = reuse_pid(&mut a).expect("pid reused");
        let id = t.registry().lookup(b.pid()).unwrap();
        let vref = VictimRef::of(t.registry().get(id).unwrap()).unwrap();
        assert_eq!(
            read_victim(&vref).unwrap_err(),
            VictimError::Gone,
            "the pidfd knows better than /proc"
        );
        use std::os::fd::AsFd;
        let err = lmkd::sys::pidfd_send_signal(vref.pidfd.as_ref().unwrap().as_fd(), libc::SIGKILL)
            .unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ESRCH));
        // An update for the number now registers the new process, and writes its file.
        let p2 = ProcPrio { pid: b.pid(), uid: 2, adj: 300, ptype: 0, for_lmkd_only: false };
        assert!(matches!(t.apply_prio(&p2, 77, 0, &mut NoWatch), PrioOutcome::Registered(_)));
        assert_eq!(b.adj(), 300);
        std::thread::sleep(Duration::from_millis(100));
        assert!(fs::metadata(format!("/proc/{}", b.pid())).is_ok(), "the new process lives");
        let st = fs::read_to_string(format!("/proc/{}/stat", b.pid())).unwrap();
        assert!(!st.contains(") Z "), "the new process lives");
    }
    // The whole daemon, stopped while the pid changes hands, then asked to kill the number.
    {
        let d = Daemon::start("");
        let mut c = d.client();
        let mut a = Sleeper::new();
        c.register(a.pid(), 1, 900, PROC_TYPE_APP).unwrap();
        barrier(&mut c);
        let daemon_pid = d.child.id().to_string();
        assert!(Command::new("kill").args(["-STOP", &daemon_pid]).status().unwrap().success());
        let b = reuse_pid(&mut a).expect("pid reused");
        c.send_raw(
            &lmkd::protocol::ext::ExtCommand::Kill { pid: b.pid(), uid: 1, reason: 0 }.encode(),
        )
        .unwrap();
        assert!(Command::new("kill").args(["-CONT", &daemon_pid]).status().unwrap().success());
        let mut reply = [0u8; 12];
        assert_eq!(c.recv_packet(&mut reply).unwrap(), 12);
        let result = i32::from_be_bytes([reply[8], reply[9], reply[10], reply[11]]);
        assert!(
            result == KILL_NOT_REGISTERED || result == KILL_GONE,
            "refused, not sent: {result}"
        );
        std::thread::sleep(Duration::from_millis(200));
        let st = fs::read_to_string(format!("/proc/{}/stat", b.pid())).unwrap();
        assert!(!st.contains(") Z "), "the process that reused the pid was not killed");
        assert_eq!(c.kill_count(-1000, 1000).unwrap(), 0);
        drop(b);
    }
    println!("PID-REUSE-CHECKS-PASSED");
}

#[test]
fn with_every_reaper_busy_kills_still_happen_and_are_reaped_later() {
    if !require(kill_test_host(), "root, cgroup v1 memory and freezer") {
        return;
    }
    let d = Daemon::start("ro.lmk.reaper_threads=1\n");
    let mut c = d.client();
    let cg = Memcg::create("busy", Some(GIB)).unwrap();
    let fz = Freezer::create("busy").unwrap();
    let apps: Vec<App> =
        (0..3).map(|_| App::start(&["--anon", "128"], &[&cg.path, &fz.path])).collect();
    fz.freeze();
    assert!(usage(&cg) >= 384 * MIB);
    for (i, a) in apps.iter().enumerate() {
        c.register(a.pid(), 10_600 + i as i32, 950, PROC_TYPE_APP).unwrap();
    }
    // Back to back: the one worker is still reaping the first when the others come.
    for (i, a) in apps.iter().enumerate() {
        assert_eq!(c.kill(a.pid(), 10_600 + i as i32, 0).unwrap(), KILL_SENT);
    }
    for a in &apps {
        let r = finished(&mut c, a.pid());
        assert_eq!(r.outcome, Some(ReapOutcome::Reaped), "{r:?}");
    }
    assert!(usage(&cg) < 32 * MIB, "{} MiB left", usage(&cg) / MIB);
    assert_eq!(c.kill_count(950, 950).unwrap(), 3);
    for a in &apps {
        assert!(d.log_text().contains(&format!("({}), uid", a.pid())));
    }
    fz.thaw();
}

#[test]
fn a_victim_that_would_exit_slowly_is_signalled_and_reaped_by_a_worker() {
    if !require(kill_test_host(), "root, cgroup v1 memory and freezer") {
        return;
    }
    let d = Daemon::start("ro.lmk.debug=true\n");
    let mut c = d.client();
    let cg = Memcg::create("slow", Some(GIB)).unwrap();
    let app = App::start(&["--anon", "128", "--sched-idle", "--spin"], &[&cg.path]);
    c.register(app.pid(), 10_700, 900, PROC_TYPE_APP).unwrap();
    // The reply waits for the worker's signal (the requester still learns it was delivered).
    assert_eq!(c.kill(app.pid(), 10_700, 0).unwrap(), KILL_SENT);
    let rec = finished(&mut c, app.pid());
    assert!(
        matches!(rec.outcome, Some(ReapOutcome::Reaped | ReapOutcome::AlreadyExited)),
        "{rec:?}"
    );
    assert!(usage(&cg) < 32 * MIB, "{} MiB left", usage(&cg) / MIB);
    assert!(d.wait_log(&format!(
        "Kill '{}' ({}), uid 10700",
        &lmkctl_bin()[..lmkctl_bin().len().min(127)],
        app.pid()
    )));
}

/// `LMK_EXT_STATUS` (what `dumpsys lmkd` prints on Android) reports the registered processes by
/// adj, the kill counters and history, the reaper and the configuration in force, as text and
/// as JSON, through the client library and through `lmkctl status`. (Splitting a long report
/// over several reply packets is covered by the codec's unit tests.)
#[test]
fn status_reports_the_daemon_state() {
    let d = Daemon::start("ro.lmk.kill_heaviest_task=true\nro.lmk.reaper_threads=1\n");
    let mut c = d.client();
    let kids: Vec<Sleeper> = (0..4).map(|_| Sleeper::new()).collect();
    for (k, adj) in kids.iter().zip([900, 900, 700, 0]) {
        c.register(k.pid(), 10_600, adj, PROC_TYPE_APP).unwrap();
    }
    assert_eq!(c.kill(kids[0].pid(), 10_600, 0).unwrap(), KILL_SENT);
    // The kill is counted once the reaper is done with it.
    assert!(wait_until(Duration::from_secs(5), || {
        c.status(true).unwrap().contains(&format!("\"pid\":{}", kids[0].pid()))
            && !c.status(true).unwrap().contains("\"outcome\":\"pending\"")
    }));

    let json = c.status(true).unwrap();
    assert!(json.starts_with('{') && json.ends_with('}'), "{json}");
    for needle in [
        // Three left registered: one at 900, one at 700, one at 0 (highest adj first).
        r#""procs_by_adj":[{"adj":900,"count":1},{"adj":700,"count":1},{"adj":0,"count":1}]"#,
        r#""kills_total":1,"kills_by_adj":[{"adj":900,"kills":1}]"#,
        r#""ro.lmk.kill_heaviest_task":"true""#,
        r#""reaper":{"threads":1,"#,
        &format!(r#""pid":{},"uid":10600,"#, kids[0].pid()),
        &format!(r#""pid":{}"#, d.child.id()),
    ] {
        assert!(json.contains(needle), "missing {needle} in\n{json}");
    }
    assert_eq!(json.matches('{').count(), json.matches('}').count(), "{json}");

    let text = c.status(false).unwrap();
    for needle in [
        "PROCESSES (3 registered)",
        "KILLS (1 in all)",
        "RECENT KILLS",
        "REAPER",
        "CONFIGURATION",
        "ro.lmk.kill_heaviest_task",
    ] {
        assert!(text.contains(needle), "missing {needle} in\n{text}");
    }

    // lmkctl prints the same report.
    let out = Command::new(lmkctl_bin())
        .arg("--socket")
        .arg(&d.socket)
        .args(["status", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let printed = String::from_utf8(out.stdout).unwrap();
    assert!(printed.contains(r#""kills_total":1,"#), "{printed}");
    // The registrations and the connection are intact afterwards.
    assert_eq!(c.kill_count(0, 1000).unwrap(), 1);
}

/// Without `--test-hooks` the stall command is refused with a log line and changes nothing.
#[test]
fn the_test_hook_is_off_by_default() {
    let d = Daemon::start("");
    let mut c = d.client();
    let stall = lmkd::protocol::ext::ExtCommand::TestStall { ms: 5000 };
    c.send_raw(&stall.encode()).unwrap();
    assert_eq!(c.kill_count(-1000, 1000).unwrap(), 0);
    assert!(d.wait_log("sent a test-only command; ignored"));
    assert!(!d.log_text().contains("test hook: stalling"));
}
