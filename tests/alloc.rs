//! Proves that a steady-state `LMK_PROCPRIO` update allocates nothing: the daemon runs in this
//! test's thread with a counting global allocator, and the whole path — epoll wait, recvmsg
//! with credentials, decode, ownership check, `oom_score_adj` write, LRU relink — is counted.

mod common;

use std::time::Duration;

use common::*;
use lmkd::client::Client;
use lmkd::config::FileProperties;
use lmkd::daemon::{Daemon, Options};
use lmkd::procs::UpdateMode;
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
