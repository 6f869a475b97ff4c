//! BPF memevents against the real kernel: test stand-ins for Android's memevents programs
//! (`tests/bpf/memevents.bpf.c`, built with clang) are loaded with bpftool into a bpffs mounted
//! in a private mount namespace, with the ring buffer and program names AOSP's loader gives
//! them; the daemon (on the rig's fake clock, or the real binary) claims the ring buffer and
//! attaches the programs to the kernel's tracepoints as on a device. Records come from the
//! kernel's own reclaim and reserve changes, or are put in the ring buffer exactly by a
//! `BPF_PROG_TYPE_SYSCALL` program run on demand (a vendor module's request, a corrupt record).
//! Needs root, `CAP_BPF`, clang and bpftool (CI installs them).

mod common;

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::bpf::*;
use common::rig::*;
use common::*;
use lmkd::config::PropertySource;
use lmkd::kill::KillReason;
use lmkd::pressure::memevents::{self, Listener, OpenError, Paths};
use lmkd::protocol::{Command as LmkCommand, LMK_BOOT_COMPLETED};

const BOOTED: &str = "sys.boot_completed=1\nbpf.progs_loaded=1\n";

fn rig(world: &BpfWorld, props: &str) -> Option<Rig> {
    Rig::with_memevents(props, world.paths())
}

fn reclaim_source(r: &Rig) -> String {
    r.status().reclaim_source
}

#[test]
fn the_listener_claims_the_ring_buffer_once_and_attaches_what_the_kernel_has() {
    let _s = serial();
    let Some(w) = world() else { return };
    let l = Listener::open(&w.paths()).expect("the listener opens");
    // The four required vmscan programs and the optional zoneinfo one (this kernel has the
    // tracepoint); no vendor module, so no vendor program.
    assert_eq!(l.attached(), 5);
    assert!(l.supports(memevents::Kind::UpdateZoneinfo));
    assert!(!l.supports(memevents::Kind::VendorKill));
    // AOSP's exclusive claim: a second consumer is refused while the first holds it.
    match Listener::open(&w.paths()) {
        Err(OpenError::Claimed(..)) => {}
        other => panic!("a second consumer must be refused, got {other:?}"),
    }
    drop(l);
    Listener::open(&w.paths()).expect("free again once the first consumer is gone");
}

#[test]
fn a_missing_required_program_or_ring_buffer_is_an_error_not_a_crash() {
    let _s = serial();
    let Some(w) = world() else { return };
    let bpffs = w.outside(&w.bpffs);
    let prog = "prog_bpfMemEvents_tracepoint_vmscan_mm_vmscan_kswapd_sleep_lmkd";
    fs::remove_file(bpffs.join("memevents").join(prog)).unwrap();
    match Listener::open(&w.paths()) {
        Err(OpenError::Program("mm_vmscan_kswapd_sleep", _)) => {}
        other => panic!("a missing required program must fail the listener, got {other:?}"),
    }
    let none = Paths { bpffs: bpffs.join("nothing-here"), tracefs: w.paths().tracefs };
    assert!(matches!(Listener::open(&none), Err(OpenError::RingBuffer(..))));
}

#[test]
fn a_map_of_the_wrong_type_leaves_the_daemon_on_vmstat() {
    let _s = serial();
    let Some(w) = world() else { return };
    let dir = w.outside(&w.bpffs).join("memevents");
    fs::remove_file(dir.join("map_bpfMemEvents_lmkd_rb")).unwrap();
    fs::rename(dir.join("map_not_a_ringbuf"), dir.join("map_bpfMemEvents_lmkd_rb")).unwrap();
    assert!(matches!(Listener::open(&w.paths()), Err(OpenError::NotARingBuffer(_))));
    let Some(r) = rig(&w, BOOTED) else { return };
    assert_eq!(reclaim_source(&r), "vmstat (no memevents)");
}

#[test]
fn after_boot_the_daemon_waits_for_the_bpf_loader_then_uses_memevents() {
    let _s = serial();
    let Some(w) = world() else { return };
    let Some(mut r) = rig(&w, "sys.boot_completed=0\n") else { return };
    assert_eq!(reclaim_source(&r), "vmstat (memevents after boot)");
    // Boot completes; the loader has not said its programs are loaded.
    r.props.0.lock().unwrap().set("sys.boot_completed", "1").unwrap();
    r.c.send(&LmkCommand::BootCompleted).unwrap();
    r.settle();
    let mut buf = [0u8; 8];
    assert_eq!(r.c.recv_packet(&mut buf).unwrap(), 8);
    assert_eq!(buf[..4], LMK_BOOT_COMPLETED.to_be_bytes());
    assert_eq!(buf[4..8], 0i32.to_be_bytes(), "boot work done now");
    assert_eq!(reclaim_source(&r), "vmstat (memevents wait for bpf.progs_loaded)");
    // It looks again after 1 s, then 2 s, …: not before.
    r.advance(Duration::from_millis(999));
    r.props.0.lock().unwrap().set("bpf.progs_loaded", "1").unwrap();
    assert!(reclaim_source(&r).starts_with("vmstat"), "not yet: {}", reclaim_source(&r));
    r.advance(Duration::from_millis(1));
    assert!(reclaim_source(&r).starts_with("memevents (5 tracepoints"), "{}", reclaim_source(&r));
    // A second LMK_BOOT_COMPLETED: done before.
    r.c.send(&LmkCommand::BootCompleted).unwrap();
    r.settle();
    assert_eq!(r.c.recv_packet(&mut buf).unwrap(), 8);
    assert_eq!(buf[4..8], 1i32.to_be_bytes());
}

#[test]
fn restarted_after_boot_it_uses_memevents_at_once() {
    let _s = serial();
    let Some(w) = world() else { return };
    let Some(mut r) = rig(&w, BOOTED) else { return };
    assert!(reclaim_source(&r).starts_with("memevents (5 tracepoints"), "{}", reclaim_source(&r));
    // The pin removed under the running daemon: it holds the ring buffer itself, and records
    // keep coming.
    let pin = w.outside(&w.bpffs).join("memevents/map_bpfMemEvents_lmkd_rb");
    fs::remove_file(pin).unwrap();
    r.register(1, 900);
    // (The injecting program holds the map too.)
    w.inject(&vendor(1, 0)).unwrap();
    r.settle();
    assert_eq!(r.kills(), 1);
}

#[test]
fn without_memevents_reclaim_comes_from_vmstat_and_the_stuck_rule_is_off() {
    let _s = serial();
    let Some(w) = world() else { return };
    let bpffs = w.outside(&w.bpffs);
    fs::remove_file(bpffs.join("memevents/map_bpfMemEvents_lmkd_rb")).unwrap();
    let Some(mut r) = rig(&w, &format!("{BOOTED}ro.lmk.direct_reclaim_threshold_ms=100\n")) else {
        return;
    };
    assert_eq!(reclaim_source(&r), "vmstat (no memevents)");
    let cfg = |r: &Rig| {
        r.status()
            .config
            .iter()
            .find(|(k, _)| k == "ro.lmk.direct_reclaim_threshold_ms")
            .map(|(_, v)| v.clone())
    };
    assert_eq!(cfg(&r).as_deref(), Some("0"), "turned off without memevents");
    // LMK_UPDATE_PROPS reads it again, and turns it off again.
    r.c.send(&LmkCommand::UpdateProps).unwrap();
    r.settle();
    assert_eq!(cfg(&r).as_deref(), Some("0"));
}

#[test]
fn a_direct_reclaim_without_end_is_stuck_after_the_threshold() {
    let _s = serial();
    let Some(w) = world() else { return };
    let Some(mut r) = rig(&w, &format!("{BOOTED}ro.lmk.direct_reclaim_threshold_ms=100\n")) else {
        return;
    };
    // One victim: once it is dead, the decision that its death may prompt (the domain is still
    // stuck) finds nobody, however soon the death is seen.
    r.register(1, 900);
    w.inject(&record(1, |_| {})).unwrap();
    r.settle();
    assert!(reclaim_source(&r).contains("1 direct reclaims"), "{}", reclaim_source(&r));
    assert!(reclaim_source(&r).ends_with("in direct reclaim now"));
    // 100 ms later: not above the threshold yet.
    r.advance(Duration::from_millis(100));
    r.send(lmkd::protocol::ext::ExtCommand::TestPressure { level: 1 });
    assert_eq!(r.kills(), 0, "100 ms is not above 100 ms");
    r.advance(Duration::from_millis(1));
    r.send(lmkd::protocol::ext::ExtCommand::TestPressure { level: 1 });
    assert_eq!(r.kills(), 1);
    let k = r.status().recent_kills.last().copied().unwrap();
    assert_eq!(k.reason, KillReason::DirectReclStuck.code());
    // The END: no longer in direct reclaim; a new candidate is not killed.
    w.inject(&record(2, |_| {})).unwrap();
    r.settle();
    r.wait_for_the_death();
    r.register(1, 900);
    r.advance(Duration::from_secs(2));
    assert!(!reclaim_source(&r).ends_with("in direct reclaim now"));
    r.send(lmkd::protocol::ext::ExtCommand::TestPressure { level: 1 });
    assert_eq!(r.kills(), 1, "no kill once the direct reclaim ended");
}

#[test]
fn a_vendor_kill_request_kills_at_its_min_adj_with_its_reason() {
    let _s = serial();
    let Some(w) = world() else { return };
    let Some(mut r) = rig(&w, BOOTED) else { return };
    r.register(1, 100);
    r.register(1, 900);
    let low = r.kids[0].pid();
    // Reason 3, min adj 50: the highest adj (900) goes first.
    w.inject(&vendor(3, 50)).unwrap();
    r.settle();
    assert_eq!(r.kills(), 1);
    let k = r.status().recent_kills.last().copied().unwrap();
    assert_eq!((k.reason, k.adj), (1003, 900));
    r.wait_for_the_death();
    // Min adj 200: nobody left at or above it; the adj 100 process lives.
    w.inject(&vendor(4, 200)).unwrap();
    r.settle();
    assert_eq!(r.kills(), 1);
    assert!(Path::new(&format!("/proc/{low}")).exists());
}

#[test]
fn bad_records_are_logged_and_change_nothing() {
    let _s = serial();
    let Some(w) = world() else { return };
    let Some(mut r) = rig(&w, BOOTED) else { return };
    r.register(2, 900);
    w.inject(&[0u8; 80]).unwrap(); // short
    w.inject(&[0u8; 96]).unwrap(); // long
    w.inject(&record(9, |_| {})).unwrap(); // no such type
    w.inject(&vendor(1000, 0)).unwrap(); // reason out of AOSP's vendor range
    w.inject(&vendor(5, -1)).unwrap(); // negative min adj
    w.inject(&vendor(5, 1001)).unwrap(); // nobody is above 1000
    w.inject_discarded().unwrap();
    r.settle();
    let src = reclaim_source(&r);
    assert!(src.contains("6 refused"), "{src}");
    assert!(src.contains("0 vendor kill requests"), "{src}");
    assert_eq!(r.kills(), 0);
    // The ring buffer and the loop go on: a good record after the bad ones is taken.
    w.inject(&vendor(5, 0)).unwrap();
    r.settle();
    assert_eq!(r.kills(), 1);
    assert!(reclaim_source(&r).contains("1 vendor kill requests"));
}

#[test]
fn the_kernels_own_reclaim_and_reserve_changes_reach_the_daemon() {
    let _s = serial();
    let Some(w) = world() else { return };
    let Some(mut r) = rig(&w, BOOTED) else { return };
    // This host has no global reclaim to speak of: the stand-in programs are also attached to
    // the memory cgroup reclaim tracepoints, so that a sandbox at its limit makes real
    // DIRECT_RECLAIM_BEGIN/END records through the same programs and ring buffer.
    let _b = w
        .attach_also(
            "prog_bpfMemEvents_tracepoint_vmscan_mm_vmscan_direct_reclaim_begin_lmkd",
            "vmscan",
            "mm_vmscan_memcg_reclaim_begin",
        )
        .unwrap();
    let _e = w
        .attach_also(
            "prog_bpfMemEvents_tracepoint_vmscan_mm_vmscan_direct_reclaim_end_lmkd",
            "vmscan",
            "mm_vmscan_memcg_reclaim_end",
        )
        .unwrap();
    let cg = Memcg::create("memevents", Some(32 << 20)).unwrap();
    let dir = TempDir::new("memevents-file");
    let file = data_file(dir.path(), "big", 64);
    // Reading a 64 MiB file in a 32 MiB group reclaims its page cache all along (its pages
    // dropped first, so that the read charges them to the group).
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "echo $$ > {}/cgroup.procs && dd if={f} iflag=nocache count=0 status=none && cat {f} > /dev/null",
            cg.path.display(),
            f = file.display()
        ))
        .status()
        .unwrap();
    assert!(out.success());
    r.until("reclaim records", |s| {
        s.reclaim_source.contains(" direct reclaims")
            && !s.reclaim_source.contains(" 0 direct reclaims")
    });
    // The kernel recomputes its reserves when min_free_kbytes is written (the same value:
    // nothing changes but the event).
    let min_free = fs::read_to_string("/proc/sys/vm/min_free_kbytes").unwrap();
    fs::write("/proc/sys/vm/min_free_kbytes", min_free.trim()).unwrap();
    r.until("a zoneinfo update", |s| !s.reclaim_source.contains(" 0 zoneinfo updates"));
    let src = reclaim_source(&r);
    assert!(!src.ends_with("in direct reclaim now"), "every BEGIN had its END: {src}");
}

#[test]
fn the_real_daemon_reads_memevents_in_its_mount_namespace() {
    let _s = serial();
    let Some(w) = world() else { return };
    let dir = TempDir::new("memevents-daemon");
    let socket = dir.path().join("lmkd.sock");
    let props = dir.path().join("lmkd.prop");
    let log = dir.path().join("lmkd.log");
    fs::write(&props, format!("{BOOTED}ro.lmk.debug=true\n")).unwrap();
    let pid = w.holder_pid().to_string();
    let child = Command::new("nsenter")
        .args(["-t", &pid, "-m", "--", lmkd_bin(), "--socket"])
        .arg(&socket)
        .arg("--props")
        .arg(&props)
        .arg("--bpffs")
        .arg(&w.bpffs)
        .arg("--tracefs")
        .arg(&w.tracefs)
        .env("LMKD_LOG", "debug")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(fs::File::create(&log).unwrap())
        .spawn()
        .expect("nsenter lmkd");
    let mut d = Daemon { child, dir, socket, props, log };
    assert!(wait_until(Duration::from_secs(10), || d.socket.exists()), "{}", d.log_text());
    assert!(
        d.wait_log("Using memevents for direct reclaim and kswapd detection"),
        "{}",
        d.log_text()
    );
    // A vendor request kills a registered process, reported with AOSP's reason code.
    let kid = Sleeper::new();
    let mut c = d.client();
    let mut stats = d.client();
    stats.subscribe(1).unwrap();
    c.register(kid.pid(), 10_000, 900, lmkd::protocol::PROC_TYPE_APP).unwrap();
    // A barrier: the daemon answers this after the registration before it on the same
    // connection, so the request below cannot reach the daemon's loop first (the ring buffer
    // is another descriptor of the same epoll set).
    c.kill_count(-1000, 1000).unwrap();
    w.inject(&vendor(2, 0)).unwrap();
    assert!(
        d.wait_log("reason: vendor kill with the reason 2, min_score_adj 0"),
        "{}",
        d.log_text()
    );
    // ActivityManager's statistics carry AOSP's vendor code, 1000 + 2.
    stats.set_timeout(Some(Duration::from_secs(10))).unwrap();
    match stats.recv_event().unwrap() {
        Some(lmkd::protocol::ServerMessage::KillStat(k)) => {
            assert_eq!(
                (k.uid, k.kill_reason, k.oom_score, k.min_oom_score),
                (10_000, 1002, 900, 0)
            );
        }
        other => panic!("expected LMK_STAT_KILL_OCCURRED, got {other:?}"),
    }
    let hist = c.kill_history().unwrap();
    assert_eq!(hist.last().map(|k| (k.pid, k.reason)), Some((kid.pid(), 1002)));
    assert!(d.alive());
}

#[test]
fn a_kswapd_wake_up_starts_the_headroom_watch() {
    let _s = serial();
    let Some(w) = world() else { return };
    let Some(mut r) = rig(&w, &format!("{BOOTED}ro.lmk.predictive_kill=true\n")) else { return };
    // Let any watch of the start-up end.
    r.advance(Duration::from_secs(5));
    let before = r.status().samples;
    assert_eq!(r.d.next_timer(), None, "no watch, no timer");
    w.inject(&record(3, |_| {})).unwrap();
    r.settle();
    assert_eq!(r.status().samples, before + 1, "the wake-up took a sample");
    assert_eq!(
        r.d.next_timer(),
        Some(Duration::from_millis(lmkd::policy::predict::SAMPLE_MS)),
        "and samples again one period later"
    );
    assert!(reclaim_source(&r).contains("1 kswapd wake-ups"));
}
