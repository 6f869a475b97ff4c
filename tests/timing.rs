//! The daemon's timing rules, proven without sleeping: the daemon runs in this test's thread
//! on a fake clock ([`lmkd::clock::Clock::fake`]) with its real epoll set, one round at a time,
//! and the test moves the clock.
//!
//! * `LMK_TARGET` is taken at most once per second;
//! * the wait for a pressure kill's victim ends at `ro.lmk.kill_timeout_ms`, or after 5 s when
//!   that is 0 (the project's cap; AOSP waits forever);
//! * polling after an event runs every 100 ms (new strategy) or 10 ms (old strategy on PSI, and
//!   at once after a kill), and stops one window after the last reason to go on;
//! * for 10 s after a kill, polling goes on while free memory stays below the low watermark
//!   (the after-kill watch: at most 100 polls), then ends;
//! * the watchdog kills when one round of the loop takes 2 s, not before.
//!
//! The rig (`tests/common/rig.rs`): a memory domain of the test's own files, pressure events
//! from the test hook. Needs root (cgroups).

mod common;

use std::time::Duration;

use common::rig::*;
use common::*;
use lmkd::daemon::{KILL_WAIT_CAP, TARGET_UPDATE_MIN_INTERVAL};
use lmkd::protocol::ext::ExtCommand;
use lmkd::protocol::ServerMessage;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn lmk_target_is_taken_at_most_once_per_second() {
    let _s = serial();
    let Some(mut r) = Rig::new("") else { return };
    let minfree = |r: &Rig| r.props.get("sys.lmk.minfree_levels");
    let limit = TARGET_UPDATE_MIN_INTERVAL;
    assert_eq!(limit, Duration::from_secs(1));
    r.c.target(&[(1, 0)]).unwrap();
    r.settle();
    assert_eq!(minfree(&r).as_deref(), Some("1:0"), "the first is taken at once");
    r.advance(limit - Duration::from_nanos(1));
    r.c.target(&[(2, 0)]).unwrap();
    r.settle();
    assert_eq!(minfree(&r).as_deref(), Some("1:0"), "ignored a nanosecond before 1 s");
    r.advance(Duration::from_nanos(1));
    r.c.target(&[(3, 0)]).unwrap();
    r.settle();
    assert_eq!(minfree(&r).as_deref(), Some("3:0"), "taken at 1 s");
    // An ignored one does not move the limit: 1 s after the last one taken.
    r.advance(ms(500));
    r.c.target(&[(4, 0)]).unwrap();
    r.settle();
    r.advance(ms(500));
    r.c.target(&[(5, 0)]).unwrap();
    r.settle();
    assert_eq!(minfree(&r).as_deref(), Some("5:0"));
}

/// Kills with a victim whose death is never seen (an injected pidfd that never signals):
/// the decision waits for it `wait` long, skipping the events meanwhile, then kills again.
fn kill_wait_ends_after(props: &str, wait: Duration) {
    let Some(mut r) = Rig::new(props) else { return };
    r.register(3, 900);
    lmkd::fault::install("pidfd-wait=on").unwrap();
    r.event(2);
    assert_eq!(r.kills(), 1, "a critical event kills: {}", r.status().to_text());
    r.advance(wait - ms(1));
    r.event(2);
    assert_eq!(r.kills(), 1, "no kill while the victim is awaited");
    assert_eq!(r.status().skipped, 1, "the event was skipped");
    assert!(!r.status().polling, "polling paused meanwhile");
    r.advance(ms(1));
    r.event(2);
    assert_eq!(r.kills(), 2, "the wait is over at {wait:?}");
    assert_eq!(r.status().skipped, 1);
}

#[test]
fn the_kill_wait_ends_at_kill_timeout_ms() {
    let _s = serial();
    kill_wait_ends_after("ro.lmk.kill_timeout_ms=500\n", ms(500));
}

#[test]
fn a_kill_timeout_of_zero_waits_at_most_five_seconds() {
    let _s = serial();
    assert_eq!(KILL_WAIT_CAP, Duration::from_secs(5));
    kill_wait_ends_after("ro.lmk.kill_timeout_ms=0\n", KILL_WAIT_CAP);
}

#[test]
fn the_old_strategy_waits_only_with_a_timeout() {
    let _s = serial();
    let Some(mut r) = Rig::new(
        "ro.lmk.use_psi=false\nro.lmk.use_minfree_levels=true\nro.lmk.kill_timeout_ms=0\n",
    ) else {
        return;
    };
    r.c.target(&[(1 << 28, 0)]).unwrap();
    r.register(3, 900);
    lmkd::fault::install("pidfd-wait=on").unwrap();
    // vmpressure: the hook signals the eventfd; the next round reads it.
    r.event(1);
    r.event(1);
    assert_eq!(r.kills(), 2, "no wait with kill_timeout_ms=0");
    assert_eq!(r.status().skipped, 0);
}

/// After an event the new strategy polls every 100 ms for one window, then stops: no timer
/// is left and the loop sleeps until the next event.
#[test]
fn polling_runs_every_100_ms_for_one_window_then_stops() {
    let _s = serial();
    let Some(mut r) = Rig::new("") else { return };
    assert_eq!(r.d.next_timer(), None, "no timer before any pressure");
    r.event(1);
    assert_eq!(r.kills(), 0, "plenty free: nothing to kill");
    assert_eq!(r.d.next_timer(), Some(ms(100)), "a full interval before the first poll");
    r.advance(ms(99));
    assert_eq!(r.polls(), 0);
    r.advance(ms(1));
    assert_eq!(r.polls(), 1);
    let mut t = 100;
    while let Some(next) = r.d.next_timer() {
        assert_eq!(next, ms(100), "every 100 ms (at {t} ms)");
        r.advance(next);
        t += 100;
        assert!(t < 100_000, "polling never ends");
    }
    let window = r.window_ms();
    assert_eq!(r.polls(), window / 100 + 1, "the last poll finds the window over");
    assert_eq!(t, window + 100);
    assert!(!r.status().polling);
}

/// The old strategy on PSI polls every 10 ms after an event, for one window.
#[test]
fn the_old_strategy_polls_every_10_ms() {
    let _s = serial();
    let Some(mut r) = Rig::new("ro.lmk.use_new_strategy=false\n") else { return };
    r.event(1);
    assert_eq!(r.d.next_timer(), Some(ms(10)));
    let mut n = 0;
    while let Some(next) = r.d.next_timer() {
        assert_eq!(next, ms(10));
        r.advance(next);
        n += 1;
        assert!(n < 100_000, "polling never ends");
    }
    assert_eq!(r.polls(), r.window_ms() / 10 + 1);
}

/// After a kill, polling resumes at once when the victim dies, and for 10 s after
/// the kill goes on every 100 ms while free memory stays below the low watermark — 100 polls
/// at most — and ends one window after that. Nothing more is killed meanwhile.
#[test]
fn after_a_kill_polling_watches_free_memory_for_10_s() {
    let _s = serial();
    let Some(mut r) = Rig::new("") else { return };
    r.register(2, 900);
    r.set_free(FREE_BELOW_LOW);
    r.event(1);
    assert_eq!(r.kills(), 1, "low watermark breached: a kill");
    // Paused while the victim is awaited (the kill-wait tests prove it); its death is real.
    r.wait_for_the_death();
    assert_eq!(r.polls(), 1, "resumed and polled at once: {}", r.status().to_text());
    // The after-kill watch: every 100 ms, for 10 s, as free memory stays below low.
    let mut watched = 0;
    for _ in 0..100 {
        assert_eq!(r.d.next_timer(), Some(ms(100)));
        r.advance(ms(100));
        watched += 1;
    }
    assert_eq!(watched, 100);
    // Then no more extension: the window started by the last one runs out.
    let mut tail = 0;
    while let Some(next) = r.d.next_timer() {
        r.advance(next);
        tail += 1;
        assert!(tail < 1000, "polling never ends");
    }
    assert_eq!(tail, r.window_ms() / 100 + 1);
    assert_eq!(r.polls(), 1 + 100 + tail);
    assert_eq!(r.kills(), 1, "a watch is not a kill");
}

/// Without a kill, free memory below the low watermark does not extend polling (AOSP's rule).
#[test]
fn without_a_kill_low_memory_alone_does_not_extend_polling() {
    let _s = serial();
    let Some(mut r) = Rig::new("ro.lmk.lowmem_min_oom_score=1001\n") else { return };
    r.set_free(FREE_BELOW_LOW);
    r.event(1);
    assert_eq!(r.kills(), 0, "LOW_MEM is off (lowmem_min_oom_score > 1000)");
    let mut n = 0;
    while let Some(next) = r.d.next_timer() {
        r.advance(next);
        n += 1;
        assert!(n < 1000);
    }
    assert_eq!(r.polls(), r.window_ms() / 100 + 1);
}

/// A round of the loop that takes 2 s gets one process killed by the watchdog, one that takes
/// a nanosecond less gets none, and a round stuck for 4 s gets one kill per 2 s: from the
/// highest adj down, least recently registered first, never below adj 0.
#[test]
fn the_watchdog_kills_when_a_round_takes_2_s() {
    let _s = serial();
    let Some(mut r) = Rig::new("") else { return };
    r.register(3, 900);
    r.register(1, 0);
    let mut sub = r.client();
    sub.subscribe(0).unwrap();
    r.settle();
    let stall = |ms: i32| ExtCommand::TestStall { ms };
    r.send(stall(1999));
    assert_eq!(r.status().watchdog_fires, 0, "1999 ms is not stuck");
    assert_eq!(r.kills(), 0);
    r.send(stall(2000));
    assert_eq!(r.status().watchdog_fires, 1, "2 s is");
    r.until("the watchdog's kill report", |s| s.recent_kills.len() == 1);
    r.send(stall(4000));
    assert_eq!(r.status().watchdog_fires, 3, "at 2 s and 4 s");
    r.until("the next two reports", |s| s.recent_kills.len() == 3);
    let hist = r.status().recent_kills;
    let want: Vec<i32> = r.kids[..3].iter().map(Sleeper::pid).collect();
    assert_eq!(hist.iter().map(|k| k.pid).collect::<Vec<_>>(), want, "LRU order at adj 900");
    assert!(hist.iter().all(|k| k.reason_text.as_str().starts_with("lmkd watchdog")));
    assert_eq!(r.kills(), 3);
    // Each was reported to the subscriber as LMK_PROCKILL.
    sub.set_timeout(Some(Duration::from_secs(5))).unwrap();
    for &pid in &want {
        match sub.recv_event().unwrap() {
            Some(ServerMessage::ProcKill(k)) => assert_eq!(k.pid, pid),
            other => panic!("expected LMK_PROCKILL for {pid}, got {other:?}"),
        }
    }
    r.until("the records of the dead dropped", |s| s.procs_by_adj == [(0, 1)]);
    let adj0 = r.kids[3].pid();
    assert!(std::fs::metadata(format!("/proc/{adj0}")).is_ok(), "adj 0 lives");
}
