//! The real `lmkd` binary on a temporary socket, driven with the client library and with raw
//! packets: registration, ownership, batches, purge, connection policy, replies, properties,
//! init's socket hand-off, slow clients and bad input.

mod common;

use std::fs;
use std::os::fd::AsRawFd;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use lmkd::client::Client;
use lmkd::protocol::ext::ProcEntry;
use lmkd::protocol::{ProcPrio, RecordLayout, PROC_TYPE_APP, PROC_TYPE_SERVICE};

fn be(words: &[i32]) -> Vec<u8> {
    words.iter().flat_map(|w| w.to_be_bytes()).collect()
}

fn barrier(c: &mut Client) {
    assert!(c.kill_count(-1000, 1000).expect("GETKILLCNT round trip") >= 0);
}

fn entry(c: &mut Client, pid: i32) -> Option<ProcEntry> {
    c.procs().unwrap().into_iter().find(|e| e.pid == pid)
}

#[test]
fn registration_and_updates_write_oom_score_adj() {
    let d = Daemon::start("");
    let mut c = d.client();
    let kids: Vec<Sleeper> = (0..3).map(|_| Sleeper::new()).collect();
    for (i, k) in kids.iter().enumerate() {
        c.register(k.pid(), 10_000 + i as i32, 900 + i as i32, PROC_TYPE_APP).unwrap();
    }
    barrier(&mut c);
    for (i, k) in kids.iter().enumerate() {
        assert_eq!(k.adj(), 900 + i as i32);
    }
    // An update moves the process and rewrites the file.
    c.register(kids[0].pid(), 10_000, 100, PROC_TYPE_APP).unwrap();
    barrier(&mut c);
    assert_eq!(kids[0].adj(), 100);
    // Kill order: adj from 1000 down.
    let order: Vec<(i32, i32)> = c.procs().unwrap().iter().map(|e| (e.pid, e.adj)).collect();
    assert_eq!(order, vec![(kids[2].pid(), 902), (kids[1].pid(), 901), (kids[0].pid(), 100)]);
    let me = std::process::id() as i32;
    assert!(c.procs().unwrap().iter().all(|e| e.owner == me), "owned by the sending process");
    // Services registered by init keep their type.
    let svc = Sleeper::new();
    c.register(svc.pid(), 1000, 300, PROC_TYPE_SERVICE).unwrap();
    barrier(&mut c);
    assert_eq!(entry(&mut c, svc.pid()).unwrap().ptype, PROC_TYPE_SERVICE);
    assert_eq!(svc.adj(), 300);
}

#[test]
fn updates_at_the_same_adj_refresh_the_lru_position() {
    let d = Daemon::start("");
    let mut c = d.client();
    let kids: Vec<Sleeper> = (0..3).map(|_| Sleeper::new()).collect();
    for k in &kids {
        c.register(k.pid(), 10_000, 950, PROC_TYPE_APP).unwrap();
    }
    c.register(kids[0].pid(), 10_000, 950, PROC_TYPE_APP).unwrap();
    barrier(&mut c);
    let order: Vec<i32> = c.procs().unwrap().iter().map(|e| e.pid).collect();
    assert_eq!(
        order,
        vec![kids[1].pid(), kids[2].pid(), kids[0].pid()],
        "least recently updated first"
    );
}

#[test]
fn for_lmkd_only_updates_the_table_but_not_the_file() {
    let d = Daemon::start("");
    let mut c = d.client();
    let k = Sleeper::new();
    c.register(k.pid(), 10_001, 300, PROC_TYPE_APP).unwrap();
    barrier(&mut c);
    assert_eq!(k.adj(), 300);
    c.register_prio(ProcPrio {
        pid: k.pid(),
        uid: 10_001,
        adj: 800,
        ptype: 0,
        for_lmkd_only: true,
    })
    .unwrap();
    barrier(&mut c);
    assert_eq!(k.adj(), 300, "the file is not written");
    assert_eq!(entry(&mut c, k.pid()).unwrap().adj, 800, "the table is");
    // A first registration with the flag does not write either.
    let k2 = Sleeper::new();
    c.send_raw(&be(&[1, k2.pid(), 10_002, 700, 0, 1])).unwrap();
    barrier(&mut c);
    assert_eq!(k2.adj(), 0);
    assert_eq!(entry(&mut c, k2.pid()).unwrap().adj, 700);
}

#[test]
fn batches_in_both_layouts() {
    let d = Daemon::start("");
    let mut c = d.client();
    let kids: Vec<Sleeper> = (0..6).map(|_| Sleeper::new()).collect();
    // Android 15 / liblmkd_utils layout: 4-field records.
    let four: Vec<ProcPrio> = kids[..3]
        .iter()
        .enumerate()
        .map(|(i, k)| ProcPrio {
            pid: k.pid(),
            uid: 10_010,
            adj: 500 + i as i32,
            ..Default::default()
        })
        .collect();
    c.register_batch(&four, RecordLayout::FourFields).unwrap();
    // Android 16 layout, as raw bytes: (pid, uid, adj, 0, 0) x 3 = 64 bytes.
    let mut words = vec![11];
    for (i, k) in kids[3..].iter().enumerate() {
        words.extend([k.pid(), 10_011, 600 + i as i32, 0, 0]);
    }
    let pkt = be(&words);
    assert_eq!(pkt.len(), 64);
    c.send_raw(&pkt).unwrap();
    barrier(&mut c);
    for (i, k) in kids[..3].iter().enumerate() {
        assert_eq!(k.adj(), 500 + i as i32);
    }
    for (i, k) in kids[3..].iter().enumerate() {
        assert_eq!(k.adj(), 600 + i as i32);
    }
    // Not atomic: a bad record is skipped and the others are applied.
    let mixed =
        be(&[11, kids[0].pid(), 1, 910, 0, kids[1].pid(), 1, 5000, 0, kids[2].pid(), 1, 920, 0]);
    c.send_raw(&mixed).unwrap();
    barrier(&mut c);
    assert_eq!((kids[0].adj(), kids[1].adj(), kids[2].adj()), (910, 501, 920));
}

#[test]
fn another_clients_record_is_refused_until_that_client_leaves() {
    let d = Daemon::start("");
    let k = Sleeper::new();
    let owner = OtherClient::register(&d, k.pid(), 10_099, 400);
    let mut c = d.client();
    c.register(k.pid(), 10_020, 900, PROC_TYPE_APP).unwrap();
    c.unregister(k.pid()).unwrap();
    barrier(&mut c);
    assert_eq!(k.adj(), 400, "another client may not change the record, nor its oom_score_adj");
    let e = entry(&mut c, k.pid()).expect("nor remove it");
    assert_eq!((e.adj, e.owner), (400, owner.pid()));
    assert!(d.wait_log("attempts to modify a process registered by another client"));
    assert!(d.wait_log("attempts to unregister a process registered by another client"));
    // Once the owner is gone the record is unowned, and the next client claims it.
    drop(owner);
    assert!(wait_until(Duration::from_secs(5), || entry(&mut c, k.pid()).unwrap().owner == 0));
    c.register(k.pid(), 10_020, 950, PROC_TYPE_APP).unwrap();
    barrier(&mut c);
    assert_eq!(k.adj(), 950, "the unowned record was claimed");
    assert_eq!(entry(&mut c, k.pid()).unwrap().owner, std::process::id() as i32);
}

#[test]
fn purge_removes_own_and_unowned_records_only() {
    let d = Daemon::start("");
    let mut mine = d.client();
    let ours: Vec<Sleeper> = (0..2).map(|_| Sleeper::new()).collect();
    for k in &ours {
        mine.register(k.pid(), 10_030, 900, PROC_TYPE_APP).unwrap();
    }
    // Registered by a client that has left: unowned.
    let orphan = Sleeper::new();
    let out = Command::new(lmkctl_bin())
        .args([
            "--socket",
            d.socket.to_str().unwrap(),
            "register",
            &orphan.pid().to_string(),
            "10031",
            "901",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    // Registered by a client that is still connected.
    let theirs = Sleeper::new();
    let other = OtherClient::register(&d, theirs.pid(), 10_099, 902);
    barrier(&mut mine);
    assert_eq!(mine.procs().unwrap().len(), 4);
    mine.purge().unwrap();
    barrier(&mut mine);
    let left = mine.procs().unwrap();
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!((left[0].pid, left[0].owner), (theirs.pid(), other.pid()));
}

#[test]
fn a_fourth_connection_closes_the_other_three() {
    let d = Daemon::start("");
    let mut clients: Vec<Client> = (0..3).map(|_| d.client()).collect();
    let k = Sleeper::new();
    clients[0].register(k.pid(), 10_040, 900, PROC_TYPE_APP).unwrap();
    for c in &mut clients {
        barrier(c);
    }
    let mut fourth = d.client();
    barrier(&mut fourth);
    assert!(d.wait_log("closing lmkd data connection"));
    for c in &mut clients {
        c.set_timeout(Some(Duration::from_secs(5))).unwrap();
        let err = c.kill_count(-1000, 1000).expect_err("the old connections are closed");
        assert!(
            matches!(
                err.kind(),
                std::io::ErrorKind::UnexpectedEof
                    | std::io::ErrorKind::BrokenPipe
                    | std::io::ErrorKind::ConnectionReset
            ),
            "{err:?}"
        );
    }
    // Their records survive, un-claimed.
    assert_eq!(entry(&mut fourth, k.pid()).unwrap().owner, 0);
}

#[test]
fn kill_count_replies_and_acts_as_a_barrier() {
    let d = Daemon::start("");
    let mut c = d.client();
    for (min, max) in [(-1000, 1000), (1001, 0), (900, 100), (0, 0)] {
        assert_eq!(c.kill_count(min, max).unwrap(), 0);
    }
    // A barrier: a batch sent just before is applied when the reply arrives.
    let kids: Vec<Sleeper> = (0..3).map(|_| Sleeper::new()).collect();
    let records: Vec<ProcPrio> = kids
        .iter()
        .enumerate()
        .map(|(i, k)| ProcPrio { pid: k.pid(), uid: 1, adj: 200 + i as i32, ..Default::default() })
        .collect();
    c.register_batch(&records, RecordLayout::FourFields).unwrap();
    assert_eq!(c.kill_count(-1000, 1000).unwrap(), 0);
    for (i, k) in kids.iter().enumerate() {
        assert_eq!(k.adj(), 200 + i as i32);
    }
}

#[test]
fn update_props_picks_up_a_changed_file_and_survives_a_missing_one() {
    let d = Daemon::start("ro.lmk.debug=false\n");
    let mut c = d.client();
    assert_eq!(c.update_props().unwrap(), 0);
    assert!(d.wait_log("Properties reinitilized"));
    fs::write(&d.props, "ro.lmk.debug=true\nro.lmk.kill_timeout_ms=abc\n").unwrap();
    assert_eq!(c.update_props().unwrap(), 0);
    assert!(
        d.wait_log("ro.lmk.kill_timeout_ms=\"abc\" is not valid"),
        "a malformed value is logged"
    );
    fs::remove_file(&d.props).unwrap();
    assert_eq!(c.update_props().unwrap(), -1, "an unreadable source fails the update");
    let mut d = d;
    assert!(d.alive(), "and the daemon keeps running with the configuration in force");
    barrier(&mut c);
    // `lmkd --reinit` is the client init runs: exit 0 on success, 255 on failure.
    let st = Command::new(lmkd_bin())
        .args(["--reinit", "--socket", d.socket.to_str().unwrap()])
        .status()
        .unwrap();
    assert_eq!(st.code(), Some(255));
    fs::write(&d.props, "").unwrap();
    let st = Command::new(lmkd_bin())
        .args(["--reinit", "--socket", d.socket.to_str().unwrap()])
        .status()
        .unwrap();
    assert_eq!(st.code(), Some(0));
    let st = Command::new(lmkd_bin())
        .args(["--reinit", "--socket", d.dir.path().join("nope").to_str().unwrap()])
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert_eq!(st.code(), Some(255), "no daemon to talk to");
}

#[test]
fn update_props_applies_the_new_configuration() {
    // No LMKD_LOG: ro.lmk.debug decides the log level, so it shows which config is in force.
    let d = Daemon::start_full("ro.lmk.debug=false\n", &[], None);
    let mut c = d.client();
    let exit_and_wait = |c: &mut Client| {
        let mut k = Sleeper::new();
        c.register(k.pid(), 1, 900, PROC_TYPE_APP).unwrap();
        barrier(c);
        k.0.kill().unwrap();
        k.0.wait().unwrap();
        assert!(wait_until(Duration::from_secs(5), || entry(c, k.pid()).is_none()));
        k.pid()
    };
    let quiet = exit_and_wait(&mut c);
    assert!(
        !d.log_text().contains(&format!("process {quiet} (adj 900) exited")),
        "no debug lines yet"
    );
    fs::write(&d.props, "ro.lmk.debug=true\n").unwrap();
    assert_eq!(c.update_props().unwrap(), 0);
    let loud = exit_and_wait(&mut c);
    assert!(
        d.wait_log(&format!("process {loud} (adj 900) exited; record removed")),
        "debug is on now"
    );
}

#[test]
fn the_host_socket_is_seqpacket_with_mode_0660() {
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    let d = Daemon::start("");
    let meta = fs::metadata(&d.socket).unwrap();
    assert!(meta.file_type().is_socket());
    assert_eq!(meta.permissions().mode() & 0o777, 0o660);
}

#[test]
fn boot_completed_and_start_monitoring_follow_aosp() {
    let d = Daemon::start("ro.lmk.delay_monitors_until_boot=true\n");
    let mut c = d.client();
    assert_eq!(c.boot_completed().unwrap(), -1, "boot has not completed");
    c.start_monitoring().unwrap();
    barrier(&mut c);
    assert!(d.wait_log("LMK_START_MONITORING cannot be handled before boot completed"));
    fs::write(&d.props, "ro.lmk.delay_monitors_until_boot=true\nsys.boot_completed=1\n").unwrap();
    assert_eq!(c.update_props().unwrap(), 0);
    let sock = d.socket.to_str().unwrap();
    let st =
        Command::new(lmkd_bin()).args(["--boot_completed", "--socket", sock]).status().unwrap();
    assert_eq!(st.code(), Some(0));
    assert_eq!(c.boot_completed().unwrap(), 1, "already handled");
    let st =
        Command::new(lmkd_bin()).args(["--boot_completed", "--socket", sock]).status().unwrap();
    assert_eq!(st.code(), Some(0), "already handled is not a failure");
    c.start_monitoring().unwrap();
    barrier(&mut c);
    assert!(d.wait_log("Initialized monitors after boot completed."));
}

#[test]
fn target_is_published_and_rate_limited() {
    let d = Daemon::start("");
    let mut c = d.client();
    c.target(&[(18432, 0), (23040, 100), (27648, 200), (32256, 250), (55296, 900), (80640, 950)])
        .unwrap();
    barrier(&mut c);
    assert!(d.wait_log(
        "setprop sys.lmk.minfree_levels 18432:0,23040:100,27648:200,32256:250,55296:900,80640:950"
    ));
    // A second one at once is ignored, with AOSP's text (when it is taken again is a timing
    // rule: tests/timing.rs proves it on a fake clock).
    c.target(&[(1, 0)]).unwrap();
    barrier(&mut c);
    assert!(d.wait_log("Ignoring frequent updated to lmkd limits"));
    assert!(!d.log_text().contains("minfree_levels 1:0"));
}

#[test]
fn init_style_socket_hand_off() {
    use rustix::net::{bind, socket_with, AddressFamily, SocketAddrUnix, SocketFlags, SocketType};
    let dir = TempDir::new("handoff");
    let path = dir.path().join("lmkd");
    // As init does: a SEQPACKET socket, bound, not listening, inherited across exec.
    let fd = socket_with(AddressFamily::UNIX, SocketType::SEQPACKET, SocketFlags::empty(), None)
        .unwrap();
    bind(&fd, &SocketAddrUnix::new(&path).unwrap()).unwrap();
    let log = dir.path().join("log");
    let mut child = Command::new(lmkd_bin())
        .env("ANDROID_SOCKET_lmkd", fd.as_raw_fd().to_string())
        .stderr(fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    drop(fd);
    let mut c = None;
    wait_until(Duration::from_secs(10), || {
        c = Client::connect(&path).ok();
        c.is_some()
    });
    let mut c = c.expect("lmkd listens on the socket it was handed");
    let k = Sleeper::new();
    c.register(k.pid(), 10_050, 777, PROC_TYPE_APP).unwrap();
    barrier(&mut c);
    assert_eq!(k.adj(), 777);
    let _ = child.kill();
    let _ = child.wait();

    // A descriptor that is not a SEQPACKET socket is refused.
    let wrong =
        socket_with(AddressFamily::UNIX, SocketType::STREAM, SocketFlags::empty(), None).unwrap();
    let st = Command::new(lmkd_bin())
        .env("ANDROID_SOCKET_lmkd", wrong.as_raw_fd().to_string())
        .stderr(fs::File::create(&log).unwrap())
        .status()
        .unwrap();
    assert!(!st.success());
    assert!(fs::read_to_string(&log).unwrap().contains("not a unix SOCK_SEQPACKET socket"));
}

#[test]
fn a_client_that_never_reads_does_not_slow_the_others() {
    let d = Daemon::start("");
    let stuck = d.client();
    stuck.subscribe(0).unwrap();
    // Thousands of requests whose replies it never reads: the daemon queues a few, then gives
    // up on the connection instead of blocking on it.
    let spam = be(&[4, -1000, 1000]);
    let t0 = Instant::now();
    let mut sent = 0;
    while sent < 20_000 && t0.elapsed() < Duration::from_secs(20) {
        if stuck.send_raw(&spam).is_err() {
            break;
        }
        sent += 1;
        if sent % 2000 == 0 {
            // Meanwhile another client is served at once.
            let mut c = d.client();
            let t = Instant::now();
            barrier(&mut c);
            assert!(t.elapsed() < Duration::from_secs(5), "a round trip took {:?}", t.elapsed());
        }
    }
    assert!(d.wait_log("does not read its replies; closing its connection"));
    let mut c = d.client();
    let k = Sleeper::new();
    c.register(k.pid(), 1, 901, PROC_TYPE_APP).unwrap();
    barrier(&mut c);
    assert_eq!(k.adj(), 901);
}

#[test]
fn an_exited_process_leaves_the_table() {
    let d = Daemon::start("");
    let mut c = d.client();
    let mut k = Sleeper::new();
    c.register(k.pid(), 1, 900, PROC_TYPE_APP).unwrap();
    barrier(&mut c);
    assert!(entry(&mut c, k.pid()).is_some());
    k.0.kill().unwrap();
    k.0.wait().unwrap();
    assert!(wait_until(Duration::from_secs(5), || entry(&mut c, k.pid()).is_none()));
}

#[test]
fn malformed_packets_are_logged_and_ignored() {
    let mut d = Daemon::start("");
    let mut c = d.client();
    let k = Sleeper::new();
    c.register(k.pid(), 10_060, 600, PROC_TYPE_APP).unwrap();
    barrier(&mut c);
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (vec![], "Wrong control socket read length len=0"),
        (vec![0, 0], "Wrong control socket read length len=2"),
        (
            be(&[1, k.pid(), 1, 900]).into_iter().chain([0xde, 0xad]).collect(),
            "not a multiple of 4",
        ),
        (be(&[99]), "Received unknown command code 99"),
        (be(&[0x2000]), "Received unknown command code 8192"),
        (be(&[1, k.pid(), 1]), "Wrong control socket read length cmd=1 len=12"),
        (be(&[2]), "Wrong control socket read length cmd=2 len=4"),
        (be(&[4, 1]), "Wrong control socket read length cmd=4 len=8"),
        (be(&[6, 1, 2, 3]), "Received unexpected command code 6"),
        (be(&[1, k.pid(), 1, 1001]), "Invalid PROCPRIO oomadj argument 1001"),
        (be(&[1, k.pid(), 1, -1001]), "Invalid PROCPRIO oomadj argument -1001"),
        (be(&[1, k.pid(), 1, 900, 7]), "Invalid PROCPRIO process type argument 7"),
        (be(&[5, 40]), "Invalid LMK_SUBSCRIBE event type 40"),
        (vec![0; 200], "packet too long"),
        (vec![0; 4000], "packet too long"),
    ];
    for (pkt, line) in &cases {
        c.send_raw(pkt).unwrap();
        barrier(&mut c);
        assert!(d.wait_log(line), "no log line {line:?} for {pkt:?}");
    }
    assert!(d.alive());
    assert_eq!(k.adj(), 600, "no bad packet changed the registration");
    let e = entry(&mut c, k.pid()).unwrap();
    assert_eq!((e.adj, e.uid), (600, 10_060));
}

/// Registrations of processes the test must not touch run inside a new pid namespace (so
/// "pid 1" is this test's own re-executed copy), as the host's safety rules require.
#[test]
fn bad_registrations_in_a_pid_namespace() {
    if std::env::var_os("LMKD_IN_PIDNS").is_some() {
        return bad_registrations_inside();
    }
    if !require(is_root(), "root (to create a pid namespace)") {
        return;
    }
    let out = Command::new("unshare")
        .args(["--pid", "--fork", "--mount-proc", "--"])
        .arg(self_exe())
        .args([
            "--exact",
            "bad_registrations_in_a_pid_namespace",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("LMKD_IN_PIDNS", "1")
        .output()
        .expect("run unshare");
    let text =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "inner run failed:\n{text}");
    assert!(text.contains("PIDNS-CHECKS-PASSED"), "inner checks did not run:\n{text}");
}

fn bad_registrations_inside() {
    assert_eq!(std::process::id(), 1, "runs as pid 1 of its own namespace");
    let d = Daemon::start("");
    let mut c = d.client();
    let before_pid1 = read_adj(1);
    // pid 1, pid 0, a negative pid and the daemon itself are refused outright.
    let daemon_pid = d.child.id() as i32;
    let daemon_adj = read_adj(daemon_pid);
    for pid in [1, 0, -5, daemon_pid] {
        c.register(pid, 0, 900, PROC_TYPE_APP).unwrap();
    }
    barrier(&mut c);
    assert_eq!(read_adj(1), before_pid1);
    assert_eq!(read_adj(daemon_pid), daemon_adj);
    assert!(d.wait_log("Refusing to register pid 1: it is init"));
    assert!(d.wait_log("Refusing to register pid 0"));
    assert!(d.wait_log("it is lmkd itself"));
    // A thread that is not a thread-group leader: a helper copy of this test binary.
    let helper = Command::new(self_exe())
        .args(["--exact", "thread_holder_helper", "--nocapture", "--test-threads=1"])
        .env("LMKD_TEST_HELPER", "threads")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let helper_pid = helper.id() as i32;
    let mut tid = None;
    wait_until(Duration::from_secs(10), || {
        tid = fs::read_dir(format!("/proc/{helper_pid}/task")).ok().and_then(|it| {
            it.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
                .find(|&t| t != helper_pid)
        });
        tid.is_some()
    });
    let tid = tid.expect("the helper started a thread");
    c.register(tid, 0, 900, PROC_TYPE_APP).unwrap();
    barrier(&mut c);
    assert!(d.wait_log(&format!("not a thread group leader (tid {tid}, tgid {helper_pid})")));
    assert!(c.procs().unwrap().iter().all(|e| e.pid != tid));
    let mut helper = helper;
    let _ = helper.kill();
    let _ = helper.wait();
    // A pid that died before it was registered.
    let mut gone = Sleeper::new();
    let gone_pid = gone.pid();
    gone.0.kill().unwrap();
    gone.0.wait().unwrap();
    c.register(gone_pid, 0, 900, PROC_TYPE_APP).unwrap();
    barrier(&mut c);
    assert!(d.wait_log(&format!("process {gone_pid} might have been killed")));
    assert!(c.procs().unwrap().is_empty(), "nothing was registered");
    println!("PIDNS-CHECKS-PASSED");
}

/// Not a test of its own: the helper process `bad_registrations_in_a_pid_namespace` starts.
#[test]
fn thread_holder_helper() {
    if std::env::var("LMKD_TEST_HELPER").as_deref() != Ok("threads") {
        return;
    }
    std::thread::spawn(|| std::thread::sleep(Duration::from_secs(60)));
    std::thread::sleep(Duration::from_secs(60));
}

#[test]
fn a_refused_oom_score_adj_write_keeps_the_record() {
    let d = Daemon::start("");
    let mut c = d.client();
    let k = Sleeper::new();
    c.register(k.pid(), 10_070, -100, PROC_TYPE_SERVICE).unwrap();
    barrier(&mut c);
    let e = entry(&mut c, k.pid()).expect("registered even if the kernel refused the value");
    assert_eq!(e.adj, -100);
    if k.adj() != -100 {
        // Without CAP_SYS_RESOURCE (these hosts) lowering below the minimum fails: logged.
        assert!(d.wait_log(&format!("Failed to write oom_score_adj -100 for pid {}", k.pid())));
    }
    // Raising works either way, through the same record.
    c.register(k.pid(), 10_070, 50, PROC_TYPE_SERVICE).unwrap();
    barrier(&mut c);
    assert_eq!(k.adj(), 50);
}

#[test]
fn per_app_memcg_sets_soft_limits_and_files_home_as_perceptible() {
    if !require(
        is_root()
            && std::path::Path::new(MEMCG_V1_ROOT).join("memory.soft_limit_in_bytes").exists(),
        "root and the cgroup v1 memory controller",
    ) {
        return;
    }
    let d = Daemon::start("ro.config.per_app_memcg=true\n");
    let mut c = d.client();
    let app = Sleeper::new();
    let cg = Memcg::create("softlimit", None).unwrap();
    cg.add(app.0.id()).unwrap();
    let mib8: u64 = 8 << 20;
    for (adj, mult) in [(0, 20), (100, 10), (200, 8), (300, 1), (900, 0)] {
        c.register(app.pid(), 10_080, adj, PROC_TYPE_APP).unwrap();
        barrier(&mut c);
        assert_eq!(
            cg.read("memory.soft_limit_in_bytes").trim().parse::<u64>().unwrap(),
            mult * mib8,
            "adj {adj}"
        );
    }
    // The launcher (600..699) is filed as perceptible; its oom_score_adj keeps the real value.
    c.register(app.pid(), 10_080, 650, PROC_TYPE_APP).unwrap();
    barrier(&mut c);
    assert_eq!(app.adj(), 650);
    assert_eq!(entry(&mut c, app.pid()).unwrap().adj, 200);
    assert_eq!(cg.read("memory.soft_limit_in_bytes").trim().parse::<u64>().unwrap(), mib8);
    // Services get no soft limit.
    c.register(app.pid(), 10_080, 0, PROC_TYPE_SERVICE).unwrap();
    barrier(&mut c);
    assert_eq!(cg.read("memory.soft_limit_in_bytes").trim().parse::<u64>().unwrap(), mib8);
    drop(app);
}

/// A panic is logged, with its message and place, before the daemon dies (in release builds it
/// then aborts, and init restarts the critical service).
#[test]
fn a_panic_is_logged_before_the_daemon_dies() {
    let mut d = Daemon::start_with("", &["--test-hooks"]);
    let c = d.client();
    c.send_raw(&lmkd::protocol::ext::ExtCommand::TestPanic.encode()).unwrap();
    let status = d.child.wait().unwrap();
    assert!(!status.success());
    let log = d.log_text();
    assert!(log.contains("lmkd panicked: "), "{log}");
    assert!(log.contains("test hook: panicking on request"), "{log}");
    assert!(log.contains("src/daemon/commands.rs"), "the place is logged: {log}");
}
