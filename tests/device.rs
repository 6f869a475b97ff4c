//! Kernel-facing checks that need nothing but the library and a root shell, so that they run
//! the same under Cargo on a host and as `lmkd_rs_device_tests` on a device (Soong builds this
//! file alone: no helper binaries, no shared test module).
//!
//! Registration writes `oom_score_adj` through the kept-open file; a registered child holding
//! 64 MiB is killed through its pidfd and reaped by the reaper pool; PSI triggers register on
//! `/proc/pressure/memory` (with the 2 s fallback where the kernel wants it).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use lmkd::memory::MeminfoFree;
use lmkd::procs::{NoWatch, PrioOutcome, ProcTable, UpdateMode};
use lmkd::protocol::ProcPrio;
use lmkd::reaper::{placement, ReapJob, ReapOutcome, Reaper, ReaperConfig, WorkerReport};

fn root() -> bool {
    let ok = std::fs::read_to_string("/proc/self/status")
        .map(|s| {
            s.lines().any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(2) == Some("0"))
        })
        .unwrap_or(false);
    if !ok && std::env::var("LMKD_REQUIRE_KERNEL_TESTS").as_deref() == Ok("1") {
        panic!("these tests need root, and LMKD_REQUIRE_KERNEL_TESTS=1 forbids skipping them");
    }
    if !ok {
        eprintln!("SKIPPED: needs root");
    }
    ok
}

/// A copy of this test binary that holds `mib` MiB of private anonymous memory.
fn holder(mib: usize) -> Child {
    let mut c = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "memory_holder_helper", "--nocapture", "--test-threads=1"])
        .env("LMKD_DEVICE_HOLD_MIB", mib.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = BufReader::new(c.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok)
        .any(|line| line.contains("HOLDING "));
    if !started {
        let _ = c.kill();
        let _ = c.wait();
        panic!("the memory holder did not start");
    }
    c
}

/// Not a test of its own: the process `holder` starts.
#[test]
fn memory_holder_helper() {
    let Ok(mib) = std::env::var("LMKD_DEVICE_HOLD_MIB") else { return };
    let mib: usize = mib.parse().unwrap();
    let mut v = vec![0u8; mib << 20];
    for (i, b) in v.iter_mut().step_by(4096).enumerate() {
        *b = (i % 251) as u8 + 1;
    }
    println!("HOLDING {}", v.len());
    std::thread::sleep(Duration::from_secs(120));
    drop(v);
}

#[test]
fn registration_writes_oom_score_adj() {
    if !root() {
        return;
    }
    let mut child = Command::new("sleep").arg("60").spawn().unwrap();
    let pid = child.id() as i32;
    let mut t = ProcTable::new(UpdateMode::KeepOpen, 16);
    let p = ProcPrio { pid, uid: 10_000, adj: 905, ptype: 0, for_lmkd_only: false };
    assert!(matches!(t.apply_prio(&p, 1, 0, &mut NoWatch), PrioOutcome::Registered(_)));
    let read = || {
        std::fs::read_to_string(format!("/proc/{pid}/oom_score_adj"))
            .unwrap()
            .trim()
            .parse::<i32>()
            .unwrap()
    };
    assert_eq!(read(), 905);
    assert!(matches!(
        t.apply_prio(&ProcPrio { adj: 300, ..p }, 1, 0, &mut NoWatch),
        PrioOutcome::Updated(_)
    ));
    assert_eq!(read(), 300);
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn a_registered_child_is_killed_and_reaped() {
    if !root() {
        return;
    }
    let support = lmkd::sys::probe_mrelease();
    let mut child = holder(64);
    let pid = child.id() as i32;
    let pidfd = lmkd::sys::pidfd_open(pid).unwrap();
    let reaper = Reaper::start(
        ReaperConfig { threads: 1, placement: placement::Placement::Unpinned("test"), nice: -20 },
        Arc::new(MeminfoFree),
        lmkd::clock::Clock::real(),
    )
    .unwrap();
    assert_eq!(reaper.enabled(), support.available);
    let group = lmkd::reaper::group::Resolution::Alone(lmkd::reaper::group::Alone::NoCgroupV2);
    let job = ReapJob { seq: 1, pid, uid: 0, pidfd, signalled_at: None, group };
    if support.available {
        reaper.submit_kill(job).expect("an idle worker");
        assert!(reaper.wait_signalled(1, Duration::from_secs(5)));
        let end = Instant::now() + Duration::from_secs(10);
        let mut reports = Vec::new();
        let reaped = loop {
            reaper.take_reports(&mut reports);
            if let Some(r) = reports.iter().find_map(|r| match r {
                WorkerReport::Reaped(r) => Some(*r),
                _ => None,
            }) {
                break r;
            }
            assert!(Instant::now() < end, "no reap report");
            std::thread::sleep(Duration::from_millis(5));
        };
        assert!(
            matches!(reaped.outcome, ReapOutcome::Reaped | ReapOutcome::AlreadyExited),
            "{reaped:?}"
        );
    } else {
        use std::os::fd::AsFd;
        lmkd::sys::pidfd_send_signal(job.pidfd.as_fd(), libc::SIGKILL).unwrap();
    }
    let status = child.wait().unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(libc::SIGKILL));
}

#[test]
fn psi_triggers_register() {
    if !root() {
        return;
    }
    let path = std::path::Path::new("/proc/pressure/memory");
    if !path.exists() {
        assert!(
            std::env::var("LMKD_REQUIRE_KERNEL_TESTS").as_deref() != Ok("1"),
            "no PSI on this kernel"
        );
        return;
    }
    use lmkd::pressure::psi::{register_with_fallback, Stall, Trigger};
    let t = Trigger { stall: Stall::Some, threshold_ms: 70, window_ms: 1000 };
    let (_fd, used) = register_with_fallback(path, &t).expect("a PSI trigger");
    if let Some(u) = used {
        assert_eq!((u.window_ms, u.threshold_ms), (2000, 140));
    }
}
