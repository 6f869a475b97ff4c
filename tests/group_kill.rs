//! Process-group kills on the real kernel (cgroup v2 under the unified root; `src/reaper/group.rs`
//! says which group dies and how): the real daemon kills a registered victim through
//! `LMK_EXT_KILL`, and the test watches every process of the victim's group through pidfds.
//!
//! Victims are shells that put themselves in a group the test made (under
//! `lmkd-test-group-*`), then fork `sleep`s. Every group is removed after the test, and every
//! process the test started is killed, also on failure (`V2TestGroup`, `Pidfds`); nothing
//! outside the test's own processes is ever signalled.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::*;
use lmkd::client::Client;
use lmkd::protocol::ext::KILL_SENT;
use lmkd::protocol::PROC_TYPE_APP;
use lmkd::reaper::group::{self, Alone, CgroupV2, GroupKill, Resolution};
use lmkd::report::KillRecord;

const UID: i32 = 10_057;

fn host() -> bool {
    require(
        is_root() && Path::new(UNIFIED_ROOT).join("cgroup.procs").exists(),
        "root and the cgroup v2 hierarchy (with cgroup.kill)",
    )
}

/// A shell that waits for a line on stdin, then moves itself into `group` (if any), runs
/// `body` and prints `ready`; the test reads that line.
struct Victim {
    child: Child,
    stdin: Option<std::process::ChildStdin>,
    out: BufReader<std::process::ChildStdout>,
}

impl Victim {
    fn spawn(group: Option<&Path>, body: &str) -> Victim {
        let join = group.map_or(String::new(), |g| {
            format!("echo $$ > {}/cgroup.procs || exit 1\n", g.display())
        });
        let script = format!("read go\n{join}{body}\necho ready\nwait\n");
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn the victim");
        let stdin = child.stdin.take();
        let out = BufReader::new(child.stdout.take().unwrap());
        Victim { child, stdin, out }
    }

    fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Lets it go on and waits for its `ready`.
    fn go(&mut self) {
        let stdin = self.stdin.as_mut().unwrap();
        stdin.write_all(b"go\n").unwrap();
        stdin.flush().unwrap();
        let mut line = String::new();
        self.out.read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "ready", "the victim did not start");
    }
}

impl Drop for Victim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The children of `pid` (`/proc/<pid>/task/<pid>/children`).
fn children(pid: i32) -> Vec<i32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// Waits until the group at `path` holds `n` processes and returns them.
fn procs_when(path: &Path, n: usize) -> Vec<i32> {
    let mut got = Vec::new();
    assert!(
        wait_until(Duration::from_secs(10), || {
            got = V2TestGroup::procs(path);
            got.len() == n
        }),
        "{} holds {got:?}, not {n} processes",
        path.display()
    );
    got
}

/// Registers `v` with the daemon and kills it through `LMK_EXT_KILL`.
fn kill(c: &mut Client, v: &Victim) {
    c.register(v.pid(), UID, 905, PROC_TYPE_APP).unwrap();
    assert_eq!(c.kill(v.pid(), UID, 0).unwrap(), KILL_SENT);
}

/// The history record of the kill of `pid`, once the group's fate is in it.
fn record(c: &mut Client, pid: i32) -> KillRecord {
    let mut found = None;
    assert!(
        wait_until(Duration::from_secs(10), || {
            found = c
                .kill_history()
                .unwrap()
                .into_iter()
                .find(|r| r.pid == pid && r.group != GroupKill::Unknown);
            found.is_some()
        }),
        "no kill record with the group's fate for pid {pid}"
    );
    found.unwrap()
}

const FORK_TWO: &str = "sleep 600 &\nsleep 600 &\nsh -c 'sleep 600 & wait' &";

/// A victim that forked children (and a grandchild) in its own group: all of them die with it,
/// through `cgroup.kill`, and the history says so.
#[test]
fn a_victim_and_everything_it_forked_in_its_own_group_die() {
    if !host() {
        return;
    }
    let tg = V2TestGroup::create("group-own").unwrap();
    let app = tg.sub("app");
    let d = Daemon::start("");
    let mut c = d.client();
    let mut v = Victim::spawn(Some(&app), FORK_TWO);
    v.go();
    // The shell, two sleeps, a shell and its sleep.
    let members = procs_when(&app, 5);
    let fds = Pidfds::of(&members);
    kill(&mut c, &v);
    assert!(fds.wait_dead(&members), "every process of the group died; log:\n{}", d.log_text());
    let r = record(&mut c, v.pid());
    assert_eq!((r.group, r.group_procs), (GroupKill::CgroupKill, 5), "{r:?}");
    let text =
        Command::new(lmkctl_bin()).arg("--socket").arg(&d.socket).arg("history").output().unwrap();
    assert!(String::from_utf8_lossy(&text.stdout).contains("cgroup.kill (5)"));
}

/// A child that moved itself out of the victim's group (to a group beside it) lives; the rest
/// of the group dies.
#[test]
fn a_process_that_left_the_group_lives() {
    if !host() {
        return;
    }
    let tg = V2TestGroup::create("group-left").unwrap();
    let app = tg.sub("app");
    let away = tg.sub("away");
    let d = Daemon::start("");
    let mut c = d.client();
    let body = format!(
        "sleep 600 &\nsleep 600 &\nsh -c 'echo $$ > {}/cgroup.procs && exec sleep 600' &",
        away.display()
    );
    let mut v = Victim::spawn(Some(&app), &body);
    v.go();
    let members = procs_when(&app, 3);
    let left = procs_when(&away, 1);
    let fds = Pidfds::of(&[members.clone(), left.clone()].concat());
    kill(&mut c, &v);
    assert!(fds.wait_dead(&members), "the group died; log:\n{}", d.log_text());
    // The group kill returned before any of them died: had it reached the one that left, it
    // would be dead or have SIGKILL pending by now.
    assert!(alive_and_unsignalled(left[0]), "the process that left the group lives");
    let r = record(&mut c, v.pid());
    assert_eq!((r.group, r.group_procs), (GroupKill::CgroupKill, 3), "{r:?}");
}

/// A victim in the root group is killed alone, through its pidfd: its children (in the root
/// group with it) live.
#[test]
fn a_victim_in_the_root_group_dies_alone() {
    if !host() {
        return;
    }
    let d = Daemon::start("");
    let mut c = d.client();
    let root = PathBuf::from(UNIFIED_ROOT);
    let mut v = Victim::spawn(Some(&root), "sleep 600 &\nsleep 600 &");
    v.go();
    let kids = children(v.pid());
    assert_eq!(kids.len(), 2, "{kids:?}");
    let fds = Pidfds::of(&[vec![v.pid()], kids.clone()].concat());
    kill(&mut c, &v);
    assert!(fds.wait_dead(&[v.pid()]));
    assert!(kids.iter().all(|&k| alive_and_unsignalled(k)), "its children live");
    let r = record(&mut c, v.pid());
    assert_eq!((r.group, r.group_procs), (GroupKill::Alone(Alone::Root), 0), "{r:?}");
}

/// A group that also holds a process not descended from the victim is shared: the victim dies
/// alone. Two ways: a sibling the test put there, and the victim's own child re-parented away
/// from it (a daemonised grandchild), which outside Android's layout is not the victim's.
#[test]
fn a_victim_in_a_shared_group_dies_alone() {
    if !host() {
        return;
    }
    let d = Daemon::start("");
    let mut c = d.client();
    // (1) A sibling in the group.
    let tg = V2TestGroup::create("group-shared").unwrap();
    let app = tg.sub("app");
    let mut v = Victim::spawn(Some(&app), "sleep 600 &");
    v.go();
    let sibling = Sleeper::new();
    std::fs::write(app.join("cgroup.procs"), sibling.pid().to_string()).unwrap();
    let members = procs_when(&app, 3);
    let fds = Pidfds::of(&members);
    kill(&mut c, &v);
    assert!(fds.wait_dead(&[v.pid()]));
    let others: Vec<i32> = members.iter().copied().filter(|&p| p != v.pid()).collect();
    assert!(others.iter().all(|&p| alive_and_unsignalled(p)), "the rest of the group lives");
    let r = record(&mut c, v.pid());
    assert_eq!(r.group, GroupKill::Alone(Alone::Shared), "{r:?}");
    drop(v);

    // (2) A grandchild re-parented away from the victim (its parent exited).
    let app2 = tg.sub("app2");
    let mut v = Victim::spawn(Some(&app2), "(sleep 600 &)\nsleep 600 &");
    v.go();
    let members = procs_when(&app2, 3);
    let fds = Pidfds::of(&members);
    kill(&mut c, &v);
    assert!(fds.wait_dead(&[v.pid()]));
    let others: Vec<i32> = members.iter().copied().filter(|&p| p != v.pid()).collect();
    assert!(others.iter().all(|&p| alive_and_unsignalled(p)), "the rest of the group lives");
    assert_eq!(record(&mut c, v.pid()).group, GroupKill::Alone(Alone::Shared));
}

/// Android's layout: the group `uid_<uid>/pid_<pid>` libprocessgroup makes for an app process
/// is the app's, whoever is in it, as AOSP treats it: a re-parented grandchild dies too.
#[test]
fn androids_uid_pid_group_dies_whole() {
    if !host() {
        return;
    }
    let tg = V2TestGroup::create("group-android").unwrap();
    let d = Daemon::start("");
    let mut c = d.client();
    // The group is named for the victim's pid, so it is made once the victim exists, and the
    // victim moved in by the test (as zygote's child is moved in by libprocessgroup).
    let mut v = Victim::spawn(None, "(sleep 600 &)\nsleep 600 &");
    let app = tg.sub(&format!("uid_{UID}/pid_{}", v.pid()));
    std::fs::write(app.join("cgroup.procs"), v.pid().to_string()).unwrap();
    v.go();
    let members = procs_when(&app, 3);
    let fds = Pidfds::of(&members);
    kill(&mut c, &v);
    assert!(fds.wait_dead(&members), "every process of the group died; log:\n{}", d.log_text());
    let r = record(&mut c, v.pid());
    assert_eq!((r.group, r.group_procs), (GroupKill::CgroupKill, 3), "{r:?}");
}

/// Without a usable `cgroup.kill` (a kernel before 5.14, or a write the kernel refuses, here
/// injected), every process of `cgroup.procs` is killed through a pidfd of its own.
#[test]
fn without_cgroup_kill_every_process_in_the_group_dies_through_its_pidfd() {
    if !host() {
        return;
    }
    let tg = V2TestGroup::create("group-procs").unwrap();
    let app = tg.sub("app");
    let d = Daemon::start_env(
        "ro.lmk.debug=true\n",
        &["--test-hooks"],
        Some("debug"),
        &[("LMKD_FAULTS", "signal@cgroup.kill=EIO")],
    );
    let mut c = d.client();
    let mut v = Victim::spawn(Some(&app), FORK_TWO);
    v.go();
    let members = procs_when(&app, 5);
    let fds = Pidfds::of(&members);
    kill(&mut c, &v);
    assert!(fds.wait_dead(&members), "every process of the group died; log:\n{}", d.log_text());
    let r = record(&mut c, v.pid());
    assert_eq!((r.group, r.group_procs), (GroupKill::CgroupProcs, 5), "{r:?}");
    assert!(d.wait_log("cannot write cgroup.kill of the group of pid"));
    assert!(d.wait_log(&format!(
        "Process group of {} killed through cgroup.procs (5 processes)",
        v.pid()
    )));
}

/// A group that holds the daemon itself is never killed whole, even when the daemon descends
/// from the victim: the victim dies alone and the daemon goes on.
#[test]
fn a_group_that_holds_the_daemon_is_never_killed_whole() {
    if !host() {
        return;
    }
    let tg = V2TestGroup::create("group-daemon").unwrap();
    let app = tg.sub("app");
    let dir = TempDir::new("group-daemon");
    let socket = dir.path().join("lmkd.sock");
    let props = dir.path().join("lmkd.prop");
    std::fs::write(&props, "").unwrap();
    let body = format!(
        "{} --socket {} --props {} 2>{} &",
        lmkd_bin(),
        socket.display(),
        props.display(),
        dir.path().join("lmkd.log").display()
    );
    let mut v = Victim::spawn(Some(&app), &body);
    v.go();
    assert!(wait_until(Duration::from_secs(10), || socket.exists()), "the daemon started");
    let members = procs_when(&app, 2);
    let daemon = *members.iter().find(|&&p| p != v.pid()).unwrap();
    let fds = Pidfds::of(&members);
    let mut c = Client::connect(&socket).unwrap();
    kill(&mut c, &v);
    assert!(fds.wait_dead(&[v.pid()]));
    assert!(alive_and_unsignalled(daemon), "the daemon lives");
    let r = record(&mut c, v.pid());
    assert_eq!(r.group, GroupKill::Alone(Alone::Shared), "{r:?}");
}

/// The group is resolved through the victim's pidfd: once the process behind it has exited,
/// nothing is resolved from its (possibly reused) pid.
#[test]
fn a_gone_victim_resolves_to_nothing() {
    if !host() {
        return;
    }
    let v2 = CgroupV2::discover().expect("a cgroup2 mount");
    let tg = V2TestGroup::create("group-gone").unwrap();
    let app = tg.sub("app");
    let mut v = Victim::spawn(Some(&app), "sleep 600 &");
    v.go();
    let fd = lmkd::sys::pidfd_open(v.pid()).unwrap();
    // Alive: its own group, with its child.
    match group::resolve(Some(&v2), fd.as_fd(), v.pid(), UID) {
        Ok(Resolution::Group(g)) => assert_eq!(g.procs(), 2),
        other => panic!("{other:?}"),
    }
    let pid = v.pid();
    let _ = v.child.kill();
    let _ = v.child.wait();
    assert_eq!(group::resolve(Some(&v2), fd.as_fd(), pid, UID).unwrap_err(), group::Gone);
}
