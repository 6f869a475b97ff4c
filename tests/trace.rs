//! The Perfetto kill track on the real kernel: after every kill the daemon writes AOSP's 2025
//! atrace instant event, `N|<lmkd pid>|lowmemorykiller|lmk,<pid>,<reason>,<adj>,<min adj>,<max
//! thrashing>`, to tracefs `trace_marker` — here the marker of a private tracefs instance, whose
//! buffer only this test writes to. The test reads every line back from the instance's `trace`
//! file and checks each field against the kill history: requested kills and an old-strategy
//! pressure kill (the real binary, `--trace-marker`), and a new-strategy `LOW_MEM` kill and a
//! watchdog kill (the daemon in-process on a fake clock, `tests/common/rig.rs`).
//!
//! It runs in a private mount namespace (`unshare --mount`), where it mounts tracefs itself
//! and hides the default marker paths, so that a daemon without `--trace-marker` finds no
//! tracefs. The instance is removed afterwards, also on failure.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::rig::{set_free, write, FREE_BELOW_LOW, LIMIT};
use common::*;
use lmkd::protocol::ext::{ExtCommand, KILL_NOT_REGISTERED, KILL_SENT};
use lmkd::protocol::PROC_TYPE_APP;
use lmkd::report::KillRecord;

const TEST: &str = "kills_are_traced_with_every_field_of_the_history";

/// Old strategy, minfree mode, vmpressure: a critical event asks for a kill down to adj 0
/// (as in tests/faults.rs).
const OLD_STRATEGY: &str = "ro.lmk.use_psi=false\nro.lmk.use_new_strategy=false\n\
                            ro.lmk.use_minfree_levels=true\nro.lmk.kill_timeout_ms=0\n";

#[test]
fn kills_are_traced_with_every_field_of_the_history() {
    if std::env::var_os("LMKD_IN_MOUNTNS").is_some() {
        return inside();
    }
    if !require(
        kill_test_host() && Path::new(UNIFIED_ROOT).join("cgroup.procs").exists(),
        "root, cgroup v1 memory and freezer, cgroup v2 (a mount namespace and tracefs)",
    ) {
        return;
    }
    let child = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "--"])
        .arg(self_exe())
        .args(["--exact", TEST, "--nocapture", "--test-threads=1"])
        .env("LMKD_IN_MOUNTNS", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run unshare");
    // `unshare` without `--fork` execs the test in its own process: the instance is named for
    // this pid.
    let inner = child.id();
    let out = child.wait_with_output().unwrap();
    remove_instance(inner);
    let text =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "inner run failed:\n{text}");
    assert!(text.contains("TRACE-CHECKS-PASSED"), "inner checks did not run:\n{text}");
}

/// Removes the instance the inner run of process `pid` made, if it is still there (the inner
/// run removes it itself, unless it died before it could).
fn remove_instance(pid: u32) {
    let script = format!(
        "d=$(mktemp -d) && mount -t tracefs nodev \"$d\" && \
         {{ rmdir \"$d/instances/lmkd-test-{pid}\" 2>/dev/null; umount \"$d\"; }}; rmdir \"$d\""
    );
    let _ = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "--", "sh", "-c", &script])
        .status();
}

/// tracefs mounted on a temporary directory, with an instance of this test's own; the instance
/// is removed and tracefs unmounted on drop.
struct Tracefs {
    mnt: PathBuf,
    instance: PathBuf,
    _dir: TempDir,
}

impl Tracefs {
    fn mount() -> Tracefs {
        let dir = TempDir::new("tracefs");
        let mnt = dir.path().join("tracing");
        fs::create_dir(&mnt).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tracefs", "nodev"])
            .arg(&mnt)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "mount -t tracefs");
        let instance = mnt.join("instances").join(format!("lmkd-test-{}", std::process::id()));
        fs::create_dir(&instance).expect("a tracefs instance");
        fs::write(instance.join("tracing_on"), "1").unwrap();
        Tracefs { mnt, instance, _dir: dir }
    }

    fn marker(&self) -> PathBuf {
        self.instance.join("trace_marker")
    }

    /// The kill events in the instance's buffer: (writer's pid, the five numbers).
    fn kill_events(&self) -> Vec<(u32, [i64; 5])> {
        let text = fs::read_to_string(self.instance.join("trace")).unwrap();
        text.lines()
            .filter_map(|l| l.split_once("tracing_mark_write: ").map(|(_, e)| e.trim_end()))
            .filter_map(|e| {
                let rest = e.strip_prefix("N|")?;
                let (pid, rest) = rest.split_once('|')?;
                let fields = rest.strip_prefix("lowmemorykiller|lmk,")?;
                let nums: Vec<i64> = fields.split(',').map(|f| f.parse().unwrap()).collect();
                Some((pid.parse().unwrap(), nums.try_into().expect("five fields")))
            })
            .collect()
    }
}

impl Drop for Tracefs {
    fn drop(&mut self) {
        let _ = fs::remove_dir(&self.instance);
        let _ = Command::new("umount").arg(&self.mnt).status();
    }
}

/// A memory domain of the test's own files (limit, usage, `memory.stat`, `memory.failcnt`),
/// with PSI and vmpressure from an empty memory cgroup that reports nothing by itself: as
/// `tests/common/rig.rs` builds it, so that a decision is exactly what the test sets up.
struct Domain {
    path: PathBuf,
    failcnt: std::cell::Cell<u64>,
    _v2: V2Group,
    _v1: Memcg,
    _dir: TempDir,
}

impl Domain {
    fn new() -> Domain {
        let dir = TempDir::new("trace-domain");
        let v1 = Memcg::create("trace", Some(LIMIT)).unwrap();
        let v2 = V2Group::twin_of(&v1).unwrap();
        let path = dir.path().join("memcg");
        fs::create_dir(&path).unwrap();
        write(&path, "memory.limit_in_bytes", &LIMIT.to_string());
        write(&path, "memory.failcnt", "0");
        set_free(&path, LIMIT / 2);
        let link = |name: &str, target: &Path| {
            std::os::unix::fs::symlink(target.join(name), path.join(name)).unwrap();
        };
        link("memory.pressure", &v2.path);
        link("memory.pressure_level", &v1.path);
        link("cgroup.event_control", &v1.path);
        Domain { path, failcnt: 0.into(), _v2: v2, _v1: v1, _dir: dir }
    }

    /// The group hit its limit once more, so that the next decision is not an idle one.
    fn stir(&self) {
        self.failcnt.set(self.failcnt.get() + 1);
        write(&self.path, "memory.failcnt", &self.failcnt.get().to_string());
    }
}

/// Covers a default marker path with an empty tmpfs (in this private mount namespace only).
fn hide(path: &str) {
    if Path::new(path).is_dir() {
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "none", path])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "hide {path}");
    }
}

/// The event a kill record says should have been written.
fn expected(r: &KillRecord) -> [i64; 5] {
    [i64::from(r.pid), i64::from(r.reason), i64::from(r.adj), i64::from(r.min_adj), r.max_thrashing]
}

fn inside() {
    hide("/sys/kernel/tracing");
    hide("/sys/kernel/debug");
    let t = Tracefs::mount();
    let marker = t.marker();

    // The real binary: two requested kills, a refused one, one old-strategy pressure kill.
    let d = Daemon::start_with(
        OLD_STRATEGY,
        &["--test-hooks", "--trace-marker", marker.to_str().unwrap()],
    );
    assert!(d.wait_log(&format!("kills are traced to {}", marker.display())));
    let mut c = d.client();
    let kids: Vec<Sleeper> = (0..3).map(|_| Sleeper::new()).collect();
    c.register(kids[0].pid(), 10_001, 910, PROC_TYPE_APP).unwrap();
    c.register(kids[1].pid(), 10_002, 300, PROC_TYPE_APP).unwrap();
    assert_eq!(c.kill(kids[0].pid(), 10_001, 7).unwrap(), KILL_SENT);
    assert_eq!(c.kill(kids[1].pid(), 10_002, 0).unwrap(), KILL_SENT);
    assert_eq!(c.kill(kids[2].pid(), 10_003, 0).unwrap(), KILL_NOT_REGISTERED);
    c.register(kids[2].pid(), 10_003, 950, PROC_TYPE_APP).unwrap();
    c.target(&[(1 << 28, 0)]).unwrap();
    c.send_raw(&ExtCommand::TestPressure { level: 2 }.encode()).unwrap();
    assert!(
        wait_until(Duration::from_secs(10), || c.kill_history().unwrap().len() == 3),
        "the pressure kill; log:\n{}",
        d.log_text()
    );
    let binary = c.kill_history().unwrap();
    assert_eq!(binary[2].pid, kids[2].pid());

    // The new strategy in a memory domain of the test's own files (as tests/common/rig.rs
    // makes it, here for the real binary): a LOW_MEM kill, then a watchdog kill.
    let dom = Domain::new();
    let d2 = Daemon::start_with(
        &format!("ro.lmk.memcg_domain={}\nro.lmk.predictive_kill=false\n", dom.path.display()),
        &["--test-hooks", "--trace-marker", marker.to_str().unwrap()],
    );
    let mut c2 = d2.client();
    // The strategy takes its baselines at its first decision.
    c2.send_raw(&ExtCommand::TestPressure { level: 1 }.encode()).unwrap();
    let low = Sleeper::new();
    c2.register(low.pid(), 10_006, 900, PROC_TYPE_APP).unwrap();
    set_free(&dom.path, FREE_BELOW_LOW);
    dom.stir();
    c2.send_raw(&ExtCommand::TestPressure { level: 1 }.encode()).unwrap();
    assert!(
        wait_until(Duration::from_secs(10), || c2.kill_history().unwrap().len() == 1),
        "the LOW_MEM kill; log:\n{}",
        d2.log_text()
    );
    set_free(&dom.path, LIMIT / 2);
    let stuck = Sleeper::new();
    c2.register(stuck.pid(), 10_007, 800, PROC_TYPE_APP).unwrap();
    c2.kill_count(-1000, 1000).unwrap();
    // The handler sleeps 2.5 s (the test hook): the watchdog fires once, at 2 s.
    c2.send_raw(&ExtCommand::TestStall { ms: 2500 }.encode()).unwrap();
    assert!(
        wait_until(Duration::from_secs(10), || c2.kill_history().unwrap().len() == 2),
        "the watchdog's kill; log:\n{}",
        d2.log_text()
    );
    let domain = c2.kill_history().unwrap();
    assert_eq!(domain[0].reason, 8, "LOW_MEM: {:?}", domain[0]);
    assert!(domain[1].reason_text.as_str().starts_with("lmkd watchdog"), "{:?}", domain[1]);

    // Every kill has its event, with the writer's pid and every field of its record.
    let events = t.kill_events();
    let mut want: Vec<(u32, [i64; 5])> =
        binary.iter().map(|r| (d.child.id(), expected(r))).collect();
    want.extend(domain.iter().map(|r| (d2.child.id(), expected(r))));
    assert_eq!(events, want, "trace events against the history");
    // As AOSP writes them: -1 for the reason and max thrashing of kills without a decision's
    // information; the decision's own values otherwise.
    assert_eq!(events[0].1, [i64::from(kids[0].pid()), -1, 910, 910, -1]);
    assert_eq!(events[2].1[1], -1, "old strategy: no kill information");
    assert_eq!(events[3].1[1..], [8, 900, 701, domain[0].max_thrashing]);
    assert!(domain[0].max_thrashing >= 0);
    assert_eq!(events[4].1, [i64::from(stuck.pid()), -1, 800, 0, -1], "the watchdog's floor");
    drop(d2);
    drop(d);

    // Without tracefs (the default paths hidden here): one line at start, kills go on.
    let d = Daemon::start("");
    let mut c = d.client();
    let k = Sleeper::new();
    c.register(k.pid(), 10_004, 900, PROC_TYPE_APP).unwrap();
    assert_eq!(c.kill(k.pid(), 10_004, 0).unwrap(), KILL_SENT);
    assert!(d.wait_log("no tracefs trace_marker"));
    assert_eq!(d.log_text().matches("trace_marker").count(), 1, "{}", d.log_text());
    // A marker that cannot be opened: said once, kills go on.
    let d = Daemon::start_with("", &["--trace-marker", "/nonexistent/trace_marker"]);
    let mut c = d.client();
    let k = Sleeper::new();
    c.register(k.pid(), 10_005, 900, PROC_TYPE_APP).unwrap();
    assert_eq!(c.kill(k.pid(), 10_005, 0).unwrap(), KILL_SENT);
    assert!(d.wait_log("cannot open trace marker /nonexistent/trace_marker"));
    assert_eq!(t.kill_events().len(), want.len(), "nothing more reached the instance");
    println!("TRACE-CHECKS-PASSED");
}
