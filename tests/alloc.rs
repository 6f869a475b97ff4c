//! Proves that a steady-state `LMK_PROCPRIO` update allocates nothing: the daemon runs in this
//! test's thread with a counting global allocator, and the whole path — epoll wait, recvmsg
//! with credentials, decode, ownership check, `oom_score_adj` write, LRU relink — is counted.

mod common;

use std::time::Duration;

use common::rig;
use common::*;
use lmkd::client::Client;
use lmkd::config::FileProperties;
use lmkd::daemon::{Daemon, Options};
use lmkd::procs::UpdateMode;
use lmkd::protocol::ext::ExtCommand;
use lmkd::protocol::{Server, PROC_TYPE_APP};
use lmkd::sys::{count_allocations, CountingAlloc};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

fn be(words: &[i32]) -> Vec<u8> {
    words.iter().flat_map(|w| w.to_be_bytes()).collect()
}

#[test]
fn a_steady_state_priority_update_makes_no_heap_allocation() {
    let dir = TempDir::new("alloc");
    let sock = dir.path().join("lmkd.sock");
    let server = Server::bind(&sock).unwrap();
    let opts = Options {
        server,
        props: Box::new(FileProperties::default()),
        update_mode: UpdateMode::KeepOpen,
        record: None,
        test_hooks: false,
        clock: lmkd::clock::Clock::real(),
        memevents: lmkd::pressure::memevents::Paths {
            bpffs: "/nonexistent/bpffs".into(),
            tracefs: "/nonexistent/tracefs".into(),
        },
    };
    let mut daemon = Daemon::new(opts).unwrap();
    let client = Client::connect(&sock).unwrap();
    while daemon.run_once(Some(Duration::from_millis(50))).unwrap() > 0 {}
    let kids: Vec<Sleeper> = (0..8).map(|_| Sleeper::new()).collect();
    for k in &kids {
        client.register(k.pid(), 10_000, 900, PROC_TYPE_APP).unwrap();
    }
    while daemon.run_once(Some(Duration::from_millis(50))).unwrap() > 0 {}
    for k in &kids {
        assert_eq!(k.adj(), 900);
    }
    // 200 updates (adj changes each time, the 20-byte and Android 16 24-byte forms) queued on
    // the socket, then handled with the allocation counter on.
    let packets: Vec<Vec<u8>> = (0..200)
        .map(|i| {
            let k = &kids[i % kids.len()];
            let adj = 901 + (i / kids.len()) as i32;
            if i % 2 == 0 {
                be(&[1, k.pid(), 10_000, adj, 0])
            } else {
                be(&[1, k.pid(), 10_000, adj, 0, 0])
            }
        })
        .collect();
    for p in &packets {
        client.send_raw(p).unwrap();
    }
    let (handled, allocations) = count_allocations(|| {
        let mut events = 0;
        while daemon.run_once(Some(Duration::from_millis(50))).unwrap() > 0 {
            events += 1;
        }
        events
    });
    assert!(handled > 0);
    for (i, k) in kids.iter().enumerate() {
        let last = (0..200).rev().find(|j| j % kids.len() == i).unwrap();
        assert_eq!(k.adj(), 901 + (last / kids.len()) as i32, "the updates reached /proc");
    }
    assert_eq!(allocations, 0, "heap allocations on the steady-state update path");

    // The counter does count: a registration of a new process allocates (its record).
    let extra = Sleeper::new();
    client.register(extra.pid(), 1, 950, PROC_TYPE_APP).unwrap();
    let (_, allocations) =
        count_allocations(
            || while daemon.run_once(Some(Duration::from_millis(50))).unwrap() > 0 {},
        );
    assert!(allocations > 0, "the counting allocator sees allocations");
}

/// Proves that the pressure path allocates nothing once the daemon is warm: pressure event
/// (a vmpressure eventfd) → snapshot of the kernel's memory files → decision → victim choice →
/// reading the victim → SIGKILL through the reaper hand-over → report (log line, history,
/// events to a subscriber) → the victim's exit. The old strategy in minfree mode with a table
/// that always matches makes every event and every poll of the window that follows a kill.
#[test]
fn the_pressure_path_makes_no_heap_allocation() {
    if !require(is_root(), "root (vmpressure on the root memory cgroup)") {
        return;
    }
    let dir = TempDir::new("alloc-pressure");
    let sock = dir.path().join("lmkd.sock");
    let props = dir.path().join("lmkd.prop");
    std::fs::write(
        &props,
        "ro.lmk.use_psi=false\nro.lmk.use_new_strategy=false\nro.lmk.use_minfree_levels=true\n\
         ro.lmk.kill_timeout_ms=0\n",
    )
    .unwrap();
    let opts = Options {
        server: Server::bind(&sock).unwrap(),
        props: Box::new(FileProperties::open(&props).unwrap()),
        update_mode: UpdateMode::KeepOpen,
        record: None,
        test_hooks: true,
        clock: lmkd::clock::Clock::real(),
        memevents: lmkd::pressure::memevents::Paths {
            bpffs: "/nonexistent/bpffs".into(),
            tracefs: "/nonexistent/tracefs".into(),
        },
    };
    // The real logger, so that the kill line is formatted and written too.
    lmkd::logging::init(false);
    let mut daemon = Daemon::new(opts).unwrap();
    let client = Client::connect(&sock).unwrap();
    let mut sub = Client::connect(&sock).unwrap();
    let idle = |d: &mut Daemon| while d.run_once(Some(Duration::from_millis(50))).unwrap() > 0 {};
    idle(&mut daemon);
    sub.subscribe(0).unwrap();
    client.target(&[(1 << 28, 0)]).unwrap();
    let mut kids: Vec<Sleeper> = (0..24).map(|_| Sleeper::new()).collect();
    for (i, k) in kids.iter().enumerate() {
        client.register(k.pid(), 10_900, 900 + i as i32, PROC_TYPE_APP).unwrap();
    }
    idle(&mut daemon);
    let pressure = ExtCommand::TestPressure { level: 2 }.encode();
    // Runs the loop for `rounds` rounds of at most 20 ms (the poll interval is 10 ms), with
    // nothing in the closure that allocates.
    let run = |d: &mut Daemon, rounds: usize| {
        for _ in 0..rounds {
            d.run_once(Some(Duration::from_millis(20))).unwrap();
        }
    };
    // Warm-up: the first kills may size buffers once.
    client.send_raw(&pressure).unwrap();
    run(&mut daemon, 30);
    let warm = kill_count(&mut daemon, &client);
    assert!(warm >= 2, "warm-up kills: {warm}");
    // Measured: a fresh event and the kills of its polling window.
    client.send_raw(&pressure).unwrap();
    let ((), allocations) = count_allocations(|| run(&mut daemon, 40));
    let measured = kill_count(&mut daemon, &client) - warm;
    assert!(measured >= 3, "kills while counting: {measured}");
    assert_eq!(allocations, 0, "heap allocations on the pressure → kill path");
    // The kills really happened (and were reported to the subscriber).
    let mut dead = 0;
    for k in &mut kids {
        if k.0.try_wait().unwrap().is_some() {
            dead += 1;
        }
    }
    assert!(dead >= warm, "{dead} children dead");
    // Every kill went out to the subscriber as LMK_PROCKILL. The polling window may still kill
    // after a count was answered (`kill_count` runs the loop on after its reply, and a poll is
    // a timer, not an event), so run the loop until the count stops changing.
    let mut total = kill_count(&mut daemon, &client);
    for _ in 0..20 {
        run(&mut daemon, 50);
        let again = kill_count(&mut daemon, &client);
        if again == total {
            break;
        }
        total = again;
    }
    assert!(total >= warm + measured, "{total} kills in all");
    sub.set_timeout(Some(Duration::from_millis(200))).unwrap();
    let mut events = 0;
    while let Some(lmkd::protocol::ServerMessage::ProcKill(_)) = sub.recv_event().unwrap() {
        events += 1;
    }
    assert_eq!(events, total);
}

/// `LMK_GETKILLCNT` for every adj, answered by running the loop in this thread.
fn kill_count(daemon: &mut Daemon, client: &Client) -> i32 {
    client.send_raw(&be(&[4, -1000, 1000])).unwrap();
    while daemon.run_once(Some(Duration::from_millis(50))).unwrap() > 0 {}
    let mut buf = [0u8; 64];
    let n = client.recv_packet(&mut buf).unwrap();
    assert_eq!(n, 8);
    i32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]])
}

/// Proves that the early-warning watch and the predictive rule allocate nothing once warm: a
/// pressure event starts a headroom watch (the in-process rig, `tests/common/rig.rs`: a fake
/// clock and a memory domain of the test's own files), the clock moves sample by sample while
/// free memory falls at 200 MiB/s, the rule kills (victim choice, SIGKILL through the reaper
/// hand-over, reports), and the watch goes on. The domain's files are rewritten in place from
/// texts made before counting.
#[test]
fn the_predictive_path_makes_no_heap_allocation() {
    use std::os::unix::fs::FileExt;
    let _s = rig::serial();
    lmkd::logging::init(false);
    let Some(mut r) = rig::Rig::new("ro.lmk.predictive_kill=true\n") else { return };
    r.register(12, 900);
    let open =
        |name: &str| std::fs::OpenOptions::new().write(true).open(r.domain.join(name)).unwrap();
    let (usage, stat) = (open("memory.usage_in_bytes"), open("memory.stat"));
    // 4 MiB per 20 ms sample: 200 MiB/s, from 300 MiB free down to 4 MiB.
    let texts: Vec<(String, String)> =
        (0..74).map(|i| rig::domain_files((300 - 4 * i) * rig::MIB)).collect();
    let put = |i: usize| {
        let (u, s) = &texts[i];
        usage.set_len(0).unwrap();
        usage.write_all_at(u.as_bytes(), 0).unwrap();
        stat.set_len(0).unwrap();
        stat.write_all_at(s.as_bytes(), 0).unwrap();
    };
    let event = ExtCommand::TestPressure { level: 1 }.encode();
    // Runs the loop for one sample period of fake time with the domain at `texts[i]`.
    let step = |r: &mut rig::Rig, i: usize| {
        put(i);
        r.clock.advance(Duration::from_millis(20));
        while r.d.run_once(Some(Duration::ZERO)).unwrap() > 0 {}
    };
    // Warm-up: a whole fall with its kills.
    put(0);
    r.c.send_raw(&event).unwrap();
    while r.d.run_once(Some(Duration::ZERO)).unwrap() > 0 {}
    for i in 1..texts.len() {
        step(&mut r, i);
    }
    let warm = r.kills();
    assert!(warm >= 1, "warm-up kills: {warm}");
    // Back to plenty, and let the watch end.
    put(0);
    for _ in 0..50 {
        step(&mut r, 0);
    }
    // Measured: a fresh event, the watch, the fall, the kills.
    let ((), allocations) = count_allocations(|| {
        r.c.send_raw(&event).unwrap();
        while r.d.run_once(Some(Duration::ZERO)).unwrap() > 0 {}
        for i in 1..texts.len() {
            step(&mut r, i);
        }
    });
    let measured = r.kills() - warm;
    assert!(measured >= 1, "predictive kills while counting: {measured}");
    assert_eq!(allocations, 0, "heap allocations on the early-warning → predictive kill path");
}

/// Proves that reading memevents allocates nothing once warm: records of every kind lmkd takes
/// (direct reclaim begin/end, kswapd wake/sleep, a reserve change, a vendor kill request that
/// kills) and refused ones wait in the real ring buffer (`tests/common/bpf.rs`); the loop drains
/// them, updates the reclaim state, runs the vendor request's decision and kill, and logs the
/// refused ones — all counted.
#[test]
fn the_memevents_path_makes_no_heap_allocation() {
    use common::bpf::{record, vendor, world, BpfWorld};
    let _s = rig::serial();
    lmkd::logging::init(false);
    let Some(w) = world() else { return };
    let Some(mut r) =
        rig::Rig::with_memevents("sys.boot_completed=1\nbpf.progs_loaded=1\n", w.paths())
    else {
        return;
    };
    r.register(8, 900);
    let batch = |w: &BpfWorld| {
        for kind in [1, 2, 3, 4, 6] {
            w.inject(&record(kind, |_| {})).unwrap();
        }
        w.inject(&[0u8; 80]).unwrap();
        w.inject(&vendor(1, 0)).unwrap();
    };
    let drain = |r: &mut rig::Rig| while r.d.run_once(Some(Duration::ZERO)).unwrap() > 0 {};
    // Warm-up: a batch and its kill.
    batch(&w);
    drain(&mut r);
    r.wait_for_the_death();
    let warm = r.kills();
    assert_eq!(warm, 1, "the vendor request killed");
    // Measured: the same kinds again (injected before counting; the injection allocates).
    batch(&w);
    let ((), allocations) = count_allocations(|| drain(&mut r));
    assert_eq!(r.kills(), warm + 1, "the second vendor request killed too");
    assert_eq!(allocations, 0, "heap allocations on the memevents path");
}
