//! The predictive kill rule and the early-warning watch (`ro.lmk.predictive_kill`), and the old
//! strategy's vmpressure handling as AOSP's, on the in-process rig (`tests/common/rig.rs`): a
//! fake clock, the real epoll set, a memory domain of the test's own files whose free memory
//! the test moves sample by sample. Timing rules are proven by moving the clock, never by
//! sleeping. Needs root (cgroups).

mod common;

use std::time::Duration;

use common::rig::*;
use lmkd::kill::KillReason;
use lmkd::policy::predict::{CALM_MS, DEFAULT_KILL_MS, MARGIN_MS, SAMPLE_MS};
use lmkd::protocol::ext::ExtCommand;

const ON: &str = "ro.lmk.predictive_kill=true\n";

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// The memcg domain's min watermark (1/64 of the limit), in bytes.
const MIN_WMARK: u64 = LIMIT / 64;

/// The headroom the engine computes for `free` bytes free (no cache, no swap), kB.
fn headroom_kb(free: u64) -> i64 {
    (i64::try_from(free).unwrap() - i64::try_from(MIN_WMARK).unwrap()) / 1024
}

/// Samples while free memory falls by `step` bytes per sample period from `from`, until the
/// first kill or `max_steps`; returns the step at which it came (`None`: no kill).
fn fall(r: &mut Rig, from: u64, step: u64, max_steps: usize) -> Option<usize> {
    let kills = r.kills();
    for i in 1..=max_steps {
        r.set_free(from.saturating_sub(step * i as u64));
        r.advance(ms(SAMPLE_MS));
        if r.kills() > kills {
            return Some(i);
        }
    }
    None
}

/// While woken the headroom is sampled every 20 ms; once it has been flat and comfortable for
/// `CALM_MS` the watch ends, and with it every timer: the daemon sleeps again.
#[test]
fn the_headroom_is_sampled_every_20_ms_while_woken_and_not_after() {
    let _s = serial();
    let Some(mut r) = Rig::new(&format!("{ON}ro.lmk.use_psi=false\n")) else { return };
    let samples0 = r.status().samples;
    // A vmpressure event (the hook signals the eventfd; the next round reads it).
    r.event(1);
    assert_eq!(r.d.next_timer(), Some(ms(SAMPLE_MS)), "the next sample");
    let mut n = 0;
    while let Some(next) = r.d.next_timer() {
        assert_eq!(next, ms(SAMPLE_MS), "every {SAMPLE_MS} ms");
        r.advance(next);
        n += 1;
        assert!(n < 1000, "the watch never ends");
    }
    assert_eq!(n, CALM_MS / SAMPLE_MS, "calm after {CALM_MS} ms of no fall");
    assert_eq!(r.status().samples - samples0, n + 1, "one at the wake-up, one per period");
    assert_eq!(r.kills(), 0);
}

/// Free memory falling at 200 MiB/s: the kill comes at the first sample where the headroom
/// would run out before a kill (150 ms before the first one is measured) plus the margin could
/// bring memory back — not a sample earlier — with AOSP's `LOW_MEM` code and a text that says
/// what was predicted.
#[test]
fn a_fast_fall_is_killed_before_it_runs_out() {
    let _s = serial();
    let Some(mut r) = Rig::new(ON) else { return };
    r.register(3, 900);
    let from = 300 * MIB;
    // 4 MiB per 20 ms = 200 MiB/s.
    let step = 4 * MIB;
    r.set_free(from);
    r.event(1);
    let got = fall(&mut r, from, step, 200).expect("a predictive kill");
    // The first step whose forecast says "gone before a kill could help": the headroom over the
    // fall rate (exact for a straight line) below the kill time plus the margin.
    let rate_kb_per_s = i64::try_from(step / 1024 * 1000 / SAMPLE_MS).unwrap();
    let due = i64::try_from(DEFAULT_KILL_MS + MARGIN_MS).unwrap();
    let want = (1..=200)
        .find(|&i| headroom_kb(from - step * i as u64) * 1000 / rate_kb_per_s < due)
        .unwrap();
    assert_eq!(got, want, "killed at step {got}, the forecast says {want}");
    let k = r.status().recent_kills.last().copied().unwrap();
    assert_eq!(k.reason, KillReason::LowMem.code());
    assert_eq!(k.min_adj, 0);
    let text = k.reason_text.as_str().to_owned();
    assert!(
        text.starts_with("headroom ") && text.contains("falling 200 MiB/s: exhausted in "),
        "{text}"
    );
    assert_eq!(r.status().predictive_kills, 1);
}

/// A leak that stops well before the limit is watched, not killed, and the watch ends.
#[test]
fn a_leak_that_stops_well_before_the_limit_is_not_killed() {
    let _s = serial();
    let Some(mut r) = Rig::new(ON) else { return };
    r.register(3, 900);
    r.set_free(600 * MIB);
    r.event(1);
    // 200 MiB/s for 1 s, down to 400 MiB free, then nothing.
    assert_eq!(fall(&mut r, 600 * MIB, 4 * MIB, 50), None);
    let mut n = 0;
    while let Some(next) = r.d.next_timer() {
        r.advance(next);
        n += 1;
        assert!(n < 1000, "the watch never ends");
    }
    assert_eq!(r.kills(), 0);
}

/// While the victim of a kill is awaited, the rule does not kill again, however the headroom
/// falls (the victim's memory may not be back yet); once the wait is over it does.
#[test]
fn no_second_kill_while_the_first_victim_is_awaited() {
    let _s = serial();
    let Some(mut r) = Rig::new(&format!("{ON}ro.lmk.kill_timeout_ms=200\n")) else { return };
    r.register(3, 900);
    lmkd::fault::install("pidfd-wait=on").unwrap();
    r.set_free(100 * MIB);
    r.event(1);
    let first = fall(&mut r, 100 * MIB, 4 * MIB, 50).expect("a first kill");
    // 200 ms of waiting: still falling, no kill.
    let mut free = 100 * MIB - 4 * MIB * first as u64;
    for _ in 0..(200 / SAMPLE_MS - 1) {
        free = free.saturating_sub(MIB);
        r.set_free(free);
        r.advance(ms(SAMPLE_MS));
    }
    assert_eq!(r.kills(), 1, "no kill while the victim is awaited");
    // The wait ends; a few samples for a new rate, and the next kill.
    assert!(fall(&mut r, free, 4 * MIB, 20).is_some(), "a kill once the wait is over");
}

/// Off: AOSP's behaviour. No early wake-up, no sample, and a domain running out without a
/// pressure signal gets no kill from the daemon.
#[test]
fn off_means_no_watch_and_no_predictive_kill() {
    let _s = serial();
    let Some(mut r) = Rig::new("ro.lmk.predictive_kill=false\n") else { return };
    r.register(3, 900);
    r.set_free(300 * MIB);
    r.event(1);
    assert_eq!(fall(&mut r, 300 * MIB, 4 * MIB, 100), None);
    assert_eq!(r.status().samples, 0);
    assert_eq!(r.status().early_wakes, 0);
}

/// vmpressure as AOSP handles it: the handler runs once for every ready level eventfd, at that
/// eventfd's level, upgraded to the highest level whose counter it drains; a handler that
/// finds the counters drained by an earlier one evaluates at its own level — and a `low` one
/// then records the low-pressure mark, which a later medium event is measured against.
#[test]
fn vmpressure_evaluates_once_per_ready_eventfd_and_low_records_its_mark() {
    let _s = serial();
    let props = "ro.lmk.use_psi=false\nro.lmk.predictive_kill=false\n";
    let Some(mut r) = Rig::new(props) else { return };
    r.register(3, 900);
    let free = 200 * MIB;
    r.set_free(free);
    // Medium, then low, ready in one round (the eventfds are read in the order they became
    // ready): the medium handler drains both (medium: before any low event, "more memory is
    // available than at low pressure": ignored); the low one finds its counter drained,
    // evaluates at low (not monitored) and records the low mark at 200 MiB.
    let events0 = r.status().events;
    r.stir();
    r.c.send_raw(&ExtCommand::TestPressure { level: 1 }.encode()).unwrap();
    r.c.send_raw(&ExtCommand::TestPressure { level: 0 }.encode()).unwrap();
    r.settle();
    let events = r.status().events;
    assert_eq!(events[1] - events0[1], 1, "the medium eventfd's evaluation");
    assert_eq!(events[0] - events0[0], 1, "the low eventfd's, though its counter was drained");
    assert_eq!(r.kills(), 0);
    // Less free memory than at low pressure: a medium event kills (ro.lmk.medium = 800).
    r.set_free(free - 4 * MIB);
    r.event(1);
    assert_eq!(r.kills(), 1, "measured against the low mark the drained low handler recorded");
}

/// One burst of every level evaluates three times, the first at the highest level drained.
#[test]
fn a_burst_of_three_levels_is_three_evaluations() {
    let _s = serial();
    let props = "ro.lmk.use_psi=false\nro.lmk.predictive_kill=false\n";
    let Some(mut r) = Rig::new(props) else { return };
    let events0 = r.status().events;
    r.stir();
    for level in [0, 1, 2] {
        r.c.send_raw(&ExtCommand::TestPressure { level }.encode()).unwrap();
    }
    r.settle();
    let events = r.status().events;
    let delta: Vec<u64> = (0..3).map(|i| events[i] - events0[i]).collect();
    // Low first: it drains all and runs at critical; medium and critical then at their own.
    assert_eq!(delta, [0, 1, 2], "per level: {delta:?}");
}

/// The guard: in level mode a domain about to run out is not ignored because no low event came
/// first (AOSP ignores it: "more memory is available than at low pressure").
#[test]
fn level_mode_does_not_ignore_a_domain_about_to_run_out() {
    let _s = serial();
    for on in [false, true] {
        let props = format!("ro.lmk.use_psi=false\nro.lmk.predictive_kill={on}\n");
        let Some(mut r) = Rig::new(&props) else { return };
        r.register(3, 900);
        // Past the min watermark: the headroom is gone.
        r.set_free(MIN_WMARK / 2);
        r.event(2);
        let kills = r.status().recent_kills;
        if on {
            // The event's own evaluation kills (the old strategy's kill: no reason code, at
            // the critical level's adj); the rig's memory never comes back, so later polls
            // and the rule may kill the others too.
            let first = kills.first().copied().expect("a kill");
            assert_eq!((first.reason, first.min_adj), (-1, 0), "{}", r.status().to_text());
        } else {
            assert!(kills.is_empty(), "AOSP ignores it: {}", r.status().to_text());
        }
    }
}

#[test]
fn a_cgroup_v2_domain_wakes_early_on_memory_events() {
    let _s = serial();
    let Some(mut r) = Rig::with_v2_domain(ON) else { return };
    // Let the start-up's watch, if any, end.
    r.advance(ms(5000));
    let (wakes, samples) = (r.status().early_wakes, r.status().samples);
    assert_eq!(r.d.next_timer(), None, "nothing to do: no timer");
    // The domain's events file changes (a process joins the group): the kernel notifies it,
    // and the engine wakes and samples the headroom at once.
    let mut kid = common::Sleeper::new();
    std::fs::write(r.v2.path.join("cgroup.procs"), kid.pid().to_string()).unwrap();
    r.until("the early wake-up", |s| s.early_wakes > wakes);
    assert!(r.status().samples > samples, "the wake-up took a sample");
    assert_eq!(r.d.next_timer(), Some(ms(SAMPLE_MS)), "and the watch samples on");
    // Read again, the notification is re-armed: no busy loop while nothing changes.
    let wakes = r.status().early_wakes;
    r.advance(ms(CALM_MS + 1000));
    assert_eq!(r.status().early_wakes, wakes, "no wake-up without a change");
    // The next change wakes it again.
    let _ = kid.0.kill();
    let _ = kid.0.wait();
    r.until("the second early wake-up", |s| s.early_wakes > wakes);
}
