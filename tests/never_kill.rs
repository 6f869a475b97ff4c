//! "Never kill what must not die": property tests of victim selection, of the admission door
//! in front of the registry, of the handles that stand between a record and a reused pid, and
//! of the watchdog, the second kill path.
//!
//! Four layers, each over random input:
//!
//! 1. **Selection** (`policy::victim::{levels, pick}` over a [`Registry`] built directly, with
//!    random pids, adj values from −1000 to 1000, uids, owners, LRU updates and removals, and
//!    random decisions and RSS figures, all zero or unknown included). The daemon's walk
//!    (`find_and_kill` in `src/daemon/pressure.rs`, private) is mirrored step by step by
//!    [`walk`]: levels from 1000 down, `pick` at each, a record that is gone dropped, one that
//!    cannot be read skipped (at most 8 per level). Every pick must be a registered record at
//!    that level, never adj −1000, never below the decision's minimum, and must follow the LRU
//!    rule (above perceptible, without `kill_heaviest_task`) or the heaviest rule (ties: the
//!    least recently updated; no size known: the LRU tail). A registry built directly skips
//!    the admission door, so here it may hold pid 1 or this process: selection does not filter
//!    them and need not, since nothing else fills the daemon's table (layer 2).
//! 2. **Admission** (`procs::ProcTable`, with real child processes): random `LMK_PROCPRIO`,
//!    `LMK_PROCREMOVE`, `LMK_PROCPURGE` and disconnects from several clients, aimed at pid 1,
//!    this process (the daemon's own pid: `ProcTable` compares with `std::process::id()`),
//!    pids ≤ 0, a thread, a pid that does not exist and children that die. pid 1, the daemon,
//!    pids ≤ 0 and threads never enter the table, a client never changes another live client's
//!    record (nor the process's `oom_score_adj`), and the walk over what the table holds never
//!    yields one of them, nor a record whose process has exited.
//! 3. **Handles**: a [`RecordId`] of a removed record never reaches the record that reuses its
//!    slot or its pid number. The kernel side of pid reuse (a real pid number handed out again
//!    in a pid namespace, then asked to be killed) is `a_reused_pid_is_never_signalled` in
//!    `tests/kill.rs`; here, the records of children that died must read as gone through their
//!    pidfds and refuse even signal 0.
//! 4. **Watchdog** (`reaper::watchdog`, real children, a stuck "loop"): each firing kills the
//!    next record in AOSP's watchdog order, never below adj 0, never without a pidfd, never a
//!    process that already exited.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::fs;
use std::os::fd::AsFd;
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use lmkd::clock::Clock;
use lmkd::policy::victim::{self, HEAVIEST_AT_OR_BELOW};
use lmkd::procs::{
    read_victim, NoWatch, PrioOutcome, ProcTable, Record, RecordId, Registry, UpdateMode,
    VictimError, VictimRef, OOM_SCORE_ADJ_MAX, OOM_SCORE_ADJ_MIN,
};
use lmkd::protocol::ProcPrio;
use lmkd::reaper::watchdog::{Watchdog, WATCHDOG_TIMEOUT};
use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, TestCaseError, TestRunner};

/// Records the daemon's walk may skip at one level before it gives the level up
/// (`find_and_kill`'s `skip` array).
const SKIP_CAP: usize = 8;

fn self_pid() -> i32 {
    i32::try_from(std::process::id()).expect("pid fits i32")
}

// ---------------------------------------------------------------------------------------------
// Generators shared by the layers
// ---------------------------------------------------------------------------------------------

/// adj values with the edges over-represented: −1000 ("never kill"), −999, negatives, 0, the
/// perceptible boundary (200/201) and 1000.
fn adj_value() -> impl Strategy<Value = i32> {
    prop_oneof![
        3 => OOM_SCORE_ADJ_MIN..=OOM_SCORE_ADJ_MAX,
        1 => Just(OOM_SCORE_ADJ_MIN),
        1 => Just(OOM_SCORE_ADJ_MIN + 1),
        1 => -900..0i32,
        1 => prop::sample::select(vec![0, 100, 199, 200, 201, 250, 900, 999, 1000]),
    ]
}

/// A decision's min adj: anything an `i32` can hold, with the meaningful range and its edges
/// over-represented.
fn min_adj_value() -> impl Strategy<Value = i32> {
    prop_oneof![
        4 => -1001..=1001i32,
        1 => prop::sample::select(vec![i32::MIN, -1000, -999, 0, 200, 201, 1000, 1001, i32::MAX]),
        1 => any::<i32>(),
    ]
}

/// How `/proc/<pid>/statm` answers for the heaviest rule.
#[derive(Clone, Copy, Debug)]
enum RssMode {
    /// Every process reports 0 pages (AOSP chose nothing then: quirk 3).
    AllZero,
    /// No statm can be read.
    AllUnknown,
    /// Mixed: unknown, zero and a few sizes, with many ties.
    Mixed(u64),
}

impl RssMode {
    fn pages(self, pid: i32) -> Option<u64> {
        match self {
            RssMode::AllZero => Some(0),
            RssMode::AllUnknown => None,
            RssMode::Mixed(seed) => match mix(pid, seed) % 8 {
                0 => None,
                1 => Some(0),
                n => Some((n % 4) * 100),
            },
        }
    }
}

fn rss_mode() -> impl Strategy<Value = RssMode> {
    prop_oneof![
        1 => Just(RssMode::AllZero),
        1 => Just(RssMode::AllUnknown),
        4 => any::<u64>().prop_map(RssMode::Mixed),
    ]
}

/// A cheap deterministic hash of a pid and a seed.
fn mix(pid: i32, seed: u64) -> u64 {
    (u64::from(pid as u32) ^ seed).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 40
}

// ---------------------------------------------------------------------------------------------
// Layer 1: selection over a registry built directly
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
enum RegOp {
    /// Register `pid` (skipped if it is registered already, as the caller looks up first).
    Insert { pid: i32, adj: i32, uid: i32, owner: i32 },
    /// `LMK_PROCPRIO` for a registered record: new adj, to the head of its list.
    Update { which: usize, adj: i32 },
    /// `LMK_PROCREMOVE` or an exit.
    Remove { which: usize },
}

fn reg_op() -> impl Strategy<Value = RegOp> {
    let pid = prop_oneof![
        1 => Just(1),
        1 => Just(self_pid()),
        1 => -2..=0i32,
        8 => 2..=64i32,
        2 => 2..=4_194_304i32,
    ];
    // Owners: the two "clients" 100 and 200, another one, or 0 (a client that disconnected).
    let owner = prop::sample::select(vec![0, 100, 200, 300]);
    let uid = prop::sample::select(vec![0, 1000, 1069, 10_057, 99_000]);
    prop_oneof![
        5 => (pid, adj_value(), uid, owner)
            .prop_map(|(pid, adj, uid, owner)| RegOp::Insert { pid, adj, uid, owner }),
        2 => (any::<usize>(), adj_value()).prop_map(|(which, adj)| RegOp::Update { which, adj }),
        1 => any::<usize>().prop_map(|which| RegOp::Remove { which }),
    ]
}

/// What the test expects a record to be: its adj and when it was last filed (the LRU clock).
#[derive(Clone, Copy, Debug)]
struct Expect {
    adj: i32,
    stamp: u64,
}

/// Builds the registry and, independently, the expected LRU state.
fn build(ops: &[RegOp]) -> (Registry, HashMap<i32, Expect>) {
    let mut reg = Registry::new();
    let mut model: HashMap<i32, Expect> = HashMap::new();
    let mut order: Vec<i32> = Vec::new();
    for (stamp, op) in ops.iter().enumerate() {
        let stamp = stamp as u64;
        match *op {
            RegOp::Insert { pid, adj, uid, owner } if reg.lookup(pid).is_none() => {
                reg.insert(Record::new(pid, uid, adj, 0, owner));
                model.insert(pid, Expect { adj, stamp });
                order.push(pid);
            }
            RegOp::Update { which, adj } if !order.is_empty() => {
                let pid = order[which % order.len()];
                let id = reg.lookup(pid).expect("registered");
                reg.set_adj(id, adj);
                model.insert(pid, Expect { adj, stamp });
            }
            RegOp::Remove { which } if !order.is_empty() => {
                let pid = order.remove(which % order.len());
                let id = reg.lookup(pid).expect("registered");
                assert!(reg.remove(id).is_some());
                model.remove(&pid);
            }
            _ => {}
        }
    }
    (reg, model)
}

/// Pids the test expects at `adj`, least recently filed first (the LRU tail first).
fn expected_at(model: &HashMap<i32, Expect>, adj: i32) -> Vec<i32> {
    let mut v: Vec<(u64, i32)> =
        model.iter().filter(|(_, e)| e.adj == adj).map(|(&p, e)| (e.stamp, p)).collect();
    v.sort_unstable();
    v.into_iter().map(|(_, p)| p).collect()
}

/// What happens when the daemon tries to kill a candidate (`kill_record`'s outcomes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Attempt {
    /// Read and signalled: the victim.
    Killed,
    /// Exited before its kill (or its pid was reused): the record is dropped, the walk goes on.
    Gone,
    /// Alive but without memory or name: kept and skipped this time.
    Unreadable,
}

#[derive(Clone, Copy, Debug)]
enum AttemptMode {
    AlwaysKilled,
    Mixed(u64),
}

impl AttemptMode {
    fn attempt(self, pid: i32) -> Attempt {
        match self {
            AttemptMode::AlwaysKilled => Attempt::Killed,
            AttemptMode::Mixed(seed) => match mix(pid, seed.rotate_left(17)) % 4 {
                0 => Attempt::Gone,
                1 => Attempt::Unreadable,
                _ => Attempt::Killed,
            },
        }
    }
}

fn attempt_mode() -> impl Strategy<Value = AttemptMode> {
    prop_oneof![
        1 => Just(AttemptMode::AlwaysKilled),
        2 => any::<u64>().prop_map(AttemptMode::Mixed),
    ]
}

/// The victim a walk chose.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Chosen {
    pid: i32,
    adj: i32,
}

/// Checks one `pick` against the rules of reference §5.2 as this project fixed them.
#[allow(clippy::too_many_arguments)]
fn check_pick(
    reg: &Registry,
    model: &HashMap<i32, Expect>,
    adj: i32,
    min_adj: i32,
    heaviest: bool,
    skip: &[RecordId],
    rss: RssMode,
    asked: &[i32],
    picked: Option<RecordId>,
) -> Result<(), TestCaseError> {
    let skipped: HashSet<i32> = skip.iter().filter_map(|&id| reg.get(id)).map(|r| r.pid).collect();
    let candidates: Vec<i32> =
        expected_at(model, adj).into_iter().filter(|p| !skipped.contains(p)).collect();
    // The registry's own LRU order is what the test expects.
    let listed: Vec<i32> = reg.iter_adj(adj).map(|(_, r)| r.pid).collect();
    prop_assert_eq!(listed, expected_at(model, adj), "LRU order at adj {}", adj);
    // statm is read only for candidates of this level.
    for p in asked {
        prop_assert!(candidates.contains(p), "statm of pid {} asked at adj {}", p, adj);
    }
    let Some(id) = picked else {
        prop_assert!(candidates.is_empty(), "nothing picked at adj {} from {:?}", adj, candidates);
        return Ok(());
    };
    let Some(r) = reg.get(id) else {
        return Err(TestCaseError::fail(format!("picked {id:?}, which is not registered")));
    };
    prop_assert!(model.contains_key(&r.pid), "picked pid {} was never registered", r.pid);
    prop_assert!(!skip.contains(&id), "picked a skipped record (pid {})", r.pid);
    prop_assert_eq!(r.adj(), adj, "picked from another level");
    prop_assert!(r.adj() > OOM_SCORE_ADJ_MIN, "picked adj -1000 (pid {})", r.pid);
    prop_assert!(r.adj() >= min_adj, "picked adj {} below min {}", r.adj(), min_adj);
    let want = if !(heaviest || adj <= HEAVIEST_AT_OR_BELOW) {
        candidates[0]
    } else {
        let size = |p: i32| rss.pages(p).unwrap_or(0);
        let max = candidates.iter().map(|&p| size(p)).max().unwrap_or(0);
        if max == 0 {
            candidates[0]
        } else {
            *candidates.iter().find(|&&p| size(p) == max).expect("a maximum")
        }
    };
    prop_assert_eq!(
        r.pid,
        want,
        "adj {} heaviest={} candidates (LRU first) {:?}",
        adj,
        heaviest,
        candidates
    );
    Ok(())
}

/// The choice at one adj, as the kill pipeline makes it: the candidates copied out of the
/// registry, their sizes read only when they decide (`rss` records what was asked), the pure
/// pick.
fn pick(
    reg: &Registry,
    adj: i32,
    heaviest: bool,
    skip: &[RecordId],
    rss: &mut dyn FnMut(i32) -> Option<u64>,
) -> Option<RecordId> {
    let mut c = Vec::new();
    victim::candidates(reg, adj, skip, &mut c);
    if victim::needs_sizes(adj, heaviest, c.len()) {
        for x in &mut c {
            x.rss_pages = rss(x.pid);
        }
    }
    victim::pick(&c, victim::heaviest_at(adj, heaviest)).map(|i| c[i].id)
}

/// The daemon's walk (`find_and_kill`), with every `pick` checked. Returns the victim, if any;
/// the records found gone are removed from `reg` and `model`, as `kill_record` removes them.
fn walk(
    reg: &mut Registry,
    model: &mut HashMap<i32, Expect>,
    min_adj: i32,
    heaviest: bool,
    rss: RssMode,
    attempts: AttemptMode,
) -> Result<(Option<Chosen>, HashSet<i32>), TestCaseError> {
    let mut capped = HashSet::new();
    for adj in victim::levels(min_adj) {
        prop_assert!(
            (OOM_SCORE_ADJ_MIN + 1..=OOM_SCORE_ADJ_MAX).contains(&adj) && adj >= min_adj,
            "level {} for min {}",
            adj,
            min_adj
        );
        let mut skip: Vec<RecordId> = Vec::new();
        loop {
            let mut asked = Vec::new();
            let picked = pick(reg, adj, heaviest, &skip, &mut |p| {
                asked.push(p);
                rss.pages(p)
            });
            check_pick(reg, model, adj, min_adj, heaviest, &skip, rss, &asked, picked)?;
            let Some(id) = picked else { break };
            let pid = reg.get(id).expect("checked").pid;
            match attempts.attempt(pid) {
                Attempt::Killed => {
                    reg.remove(id);
                    model.remove(&pid);
                    return Ok((Some(Chosen { pid, adj }), capped));
                }
                Attempt::Gone => {
                    reg.remove(id);
                    model.remove(&pid);
                }
                Attempt::Unreadable => {
                    if skip.len() == SKIP_CAP {
                        capped.insert(adj);
                        break;
                    }
                    skip.push(id);
                }
            }
        }
    }
    Ok((None, capped))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    /// The walk visits exactly the levels from 1000 down to max(min, −999), highest first.
    #[test]
    fn levels_never_reach_minus_1000_nor_below_the_minimum(min_adj in min_adj_value()) {
        let got: Vec<i32> = victim::levels(min_adj).collect();
        let floor = min_adj.max(OOM_SCORE_ADJ_MIN + 1);
        let want: Vec<i32> = (floor..=OOM_SCORE_ADJ_MAX).rev().collect();
        prop_assert_eq!(got, want);
    }

    /// Every pick of the walk, over random registries and decisions, is a registered record at
    /// the level being walked, at or above the decision's minimum and never at −1000, and it
    /// follows the LRU or heaviest rule; the walk passes over no killable record above the
    /// victim, and finds one whenever one is killable.
    #[test]
    fn the_walk_chooses_only_what_it_may(
        ops in prop::collection::vec(reg_op(), 0..80),
        min_adj in min_adj_value(),
        heaviest in any::<bool>(),
        rss in rss_mode(),
        attempts in attempt_mode(),
    ) {
        let (mut reg, mut model) = build(&ops);
        let before = model.clone();
        let (chosen, capped) = walk(&mut reg, &mut model, min_adj, heaviest, rss, attempts)?;
        let floor = min_adj.max(OOM_SCORE_ADJ_MIN + 1);
        if let Some(c) = chosen {
            prop_assert!(before.contains_key(&c.pid), "victim {} was not registered", c.pid);
            prop_assert_eq!(before[&c.pid].adj, c.adj);
            prop_assert!(c.adj >= floor, "victim at adj {} below floor {}", c.adj, floor);
            prop_assert!(reg.lookup(c.pid).is_none(), "the victim's record is gone after the kill");
        }
        // Nothing killable was passed over: at every level above the victim's (or at every level
        // when there is none), what is left is unreadable, unless the level hit the skip cap.
        let stop = chosen.map_or(floor - 1, |c| c.adj);
        for (&pid, e) in &model {
            if e.adj > stop && e.adj >= floor && !capped.contains(&e.adj) {
                prop_assert_eq!(
                    attempts.attempt(pid), Attempt::Unreadable,
                    "pid {} at adj {} was killable but the walk chose {:?}", pid, e.adj, chosen
                );
            }
        }
        // Records below the floor, and every adj −1000 record, are untouched.
        for (&pid, e) in &before {
            if e.adj < floor {
                prop_assert!(reg.lookup(pid).is_some(), "pid {} below the floor was dropped", pid);
            }
        }
    }

    /// `pick` on its own, at any adj (also −1000 and outside −1000..=1000) and with any skip
    /// list: what it returns is registered, not skipped and at exactly that adj, and when it
    /// returns nothing, nothing at exactly that adj was left out.
    #[test]
    fn pick_returns_a_registered_unskipped_record_of_its_level(
        ops in prop::collection::vec(reg_op(), 0..60),
        adj in prop_oneof![adj_value(), any::<i32>()],
        heaviest in any::<bool>(),
        rss in rss_mode(),
        skip_mask in any::<u64>(),
    ) {
        let (reg, model) = build(&ops);
        let skip: Vec<RecordId> = reg
            .iter()
            .enumerate()
            .filter(|(i, _)| skip_mask & (1 << (i % 64)) != 0)
            .map(|(_, (id, _))| id)
            .collect();
        let picked = pick(&reg, adj, heaviest, &skip, &mut |p| rss.pages(p));
        if let Some(id) = picked {
            let r = reg.get(id).expect("registered");
            prop_assert_eq!(r.adj(), adj);
            prop_assert!(!skip.contains(&id));
            prop_assert!(model.contains_key(&r.pid));
        } else if adj != OOM_SCORE_ADJ_MIN {
            // Nothing at exactly this level was left out (it may decline the "never kill"
            // level −1000 as a whole).
            for pid in expected_at(&model, adj) {
                let id = reg.lookup(pid).expect("registered");
                prop_assert!(skip.contains(&id), "pid {} at adj {} not picked", pid, adj);
            }
        }
    }
}

/// The smallest case of the violation the property above found: `pick` is documented to take
/// "the candidate at exactly `adj`", but for an adj outside −1000..=1000 the registry clamps
/// the level (`slot_of` in `src/procs/registry.rs`), so asking for −1001 returns an adj −1000
/// ("never kill") record, and asking for 1001 returns an adj 1000 one. The daemon's own walk
/// only asks for `levels()`, which stay within −999..=1000, so no kill follows today; any
/// other caller (a watchdog scan, a range computed from client-supplied `LMK_TARGET` values)
/// would be one clamp away from choosing a process that must not die.
#[test]
fn pick_outside_the_adj_range_finds_nothing() {
    let mut reg = Registry::new();
    let never = reg.insert(Record::new(4242, 1000, OOM_SCORE_ADJ_MIN, 0, 100));
    let top = reg.insert(Record::new(4243, 10_057, OOM_SCORE_ADJ_MAX, 0, 100));
    let mut rss = |_| Some(1);
    assert_eq!(
        pick(&reg, OOM_SCORE_ADJ_MIN - 1, false, &[], &mut rss),
        None,
        "pick at adj -1001 chose the adj -1000 record {never:?}"
    );
    assert_eq!(
        pick(&reg, OOM_SCORE_ADJ_MAX + 1, false, &[], &mut rss),
        None,
        "pick at adj 1001 chose the adj 1000 record {top:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Layer 3: handles of removed records
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
enum IdOp {
    /// Register a pid from a small set, so numbers come back.
    Insert { pid: i32, adj: i32 },
    /// Remove the record of a pid (the process exited or was removed).
    Remove { pid: i32 },
}

fn id_op() -> impl Strategy<Value = IdOp> {
    prop_oneof![
        (2..10i32, adj_value()).prop_map(|(pid, adj)| IdOp::Insert { pid, adj }),
        (2..10i32).prop_map(|pid| IdOp::Remove { pid }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// A removed record's id never resolves again, although its slot and its pid number are
    /// reused: `get`, `get_mut`, `claim`, `set_adj` and `remove` through it reach nothing, and it
    /// survives the epoll-token round trip (`to_bits`/`from_bits`) still dead.
    #[test]
    fn a_removed_records_id_never_reaches_its_successor(
        ops in prop::collection::vec(id_op(), 1..120),
        claimant in prop::sample::select(vec![0, 100, 200]),
    ) {
        let mut reg = Registry::new();
        let mut live: HashMap<i32, RecordId> = HashMap::new();
        let mut dead: Vec<(RecordId, i32)> = Vec::new();
        for op in &ops {
            match *op {
                IdOp::Insert { pid, adj } => {
                    if let std::collections::hash_map::Entry::Vacant(slot) = live.entry(pid) {
                        let id = reg.insert(Record::new(pid, 1, adj, 0, 100));
                        prop_assert!(dead.iter().all(|&(d, _)| d != id), "an id was handed out twice");
                        slot.insert(id);
                    }
                }
                IdOp::Remove { pid } => {
                    if let Some(id) = live.remove(&pid) {
                        prop_assert_eq!(reg.remove(id).map(|r| r.pid), Some(pid));
                        dead.push((id, pid));
                    }
                }
            }
            let snapshot: Vec<(i32, i32, i32)> =
                reg.iter().map(|(_, r)| (r.pid, r.adj(), r.owner)).collect();
            for &(id, pid) in &dead {
                let id = RecordId::from_bits(id.to_bits());
                prop_assert!(reg.get(id).is_none(), "stale id of pid {} resolves", pid);
                prop_assert!(reg.get_mut(id).is_none());
                prop_assert!(!reg.claim(id, claimant));
                reg.set_adj(id, 1000);
                prop_assert!(reg.remove(id).is_none());
                prop_assert_ne!(reg.lookup(pid), Some(id));
            }
            let after: Vec<(i32, i32, i32)> =
                reg.iter().map(|(_, r)| (r.pid, r.adj(), r.owner)).collect();
            prop_assert_eq!(snapshot, after, "a stale id changed a live record");
            for (&pid, &id) in &live {
                prop_assert_eq!(reg.lookup(pid), Some(id));
                prop_assert_eq!(RecordId::from_bits(id.to_bits()), id);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Layer 2: the admission door (ProcTable) with real processes
// ---------------------------------------------------------------------------------------------

/// Child processes that are killed and reaped when the test ends, however it ends.
struct Children {
    kids: Vec<Child>,
    /// Children that were replaced (killed and reaped) during the run.
    dead: HashSet<i32>,
    /// Processes spawned but set aside because they took a dead child's number (so that a
    /// number in `dead` always means "that process exited").
    spare: Vec<Child>,
}

impl Children {
    fn spawn(n: usize) -> Children {
        Children {
            kids: (0..n).map(|_| sleeper()).collect(),
            dead: HashSet::new(),
            spare: Vec::new(),
        }
    }

    fn pid(&self, i: usize) -> i32 {
        i32::try_from(self.kids[i % self.kids.len()].id()).expect("pid fits i32")
    }

    /// Kills child `i`, waits for it and puts a new child in its place.
    fn replace(&mut self, i: usize) {
        let i = i % self.kids.len();
        let pid = self.pid(i);
        reap(std::mem::replace(&mut self.kids[i], sleeper()));
        self.dead.insert(pid);
        while self.dead.contains(&self.pid(i)) {
            let again = std::mem::replace(&mut self.kids[i], sleeper());
            self.spare.push(again);
        }
    }
}

impl Drop for Children {
    fn drop(&mut self) {
        for c in self.kids.drain(..).chain(self.spare.drain(..)) {
            reap(c);
        }
    }
}

fn sleeper() -> Child {
    Command::new("sleep")
        .arg("600")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn sleep")
}

fn reap(mut c: Child) {
    let _ = c.kill();
    let _ = c.wait();
}

/// A thread of this process that lives until the returned sender is dropped: its tid is a
/// pid number `/proc` answers for, but it is not a thread-group leader.
fn parked_thread() -> (i32, mpsc::Sender<()>, std::thread::JoinHandle<()>) {
    let (tid_tx, tid_rx) = mpsc::channel();
    let (stop_tx, stop_rx) = mpsc::channel::<()>();
    let h = std::thread::spawn(move || {
        tid_tx.send(rustix::thread::gettid().as_raw_nonzero().get()).unwrap();
        let _ = stop_rx.recv();
    });
    (tid_rx.recv().unwrap(), stop_tx, h)
}

/// Whom a command names.
#[derive(Clone, Copy, Debug)]
enum Target {
    Init,
    Daemon,
    NotAPid(i32),
    Thread,
    Missing,
    Child(usize),
}

fn target() -> impl Strategy<Value = Target> {
    prop_oneof![
        1 => Just(Target::Init),
        1 => Just(Target::Daemon),
        1 => prop::sample::select(vec![0, -1, i32::MIN]).prop_map(Target::NotAPid),
        1 => Just(Target::Thread),
        1 => Just(Target::Missing),
        8 => (0..6usize).prop_map(Target::Child),
    ]
}

/// Client pids: three live clients (the sender pid of `SCM_CREDENTIALS`).
const CLIENTS: [i32; 3] = [1_000_001, 1_000_002, 1_000_003];

#[derive(Clone, Copy, Debug)]
enum TableOp {
    Prio {
        target: Target,
        uid: i32,
        adj: i32,
        ptype: i32,
        lmkd_only: bool,
        sender: usize,
    },
    Remove {
        target: Target,
        sender: usize,
    },
    Purge {
        sender: usize,
    },
    Disconnect {
        sender: usize,
    },
    /// The child dies and another process takes its place in the pool (its record, if any, is
    /// left behind: no exit watching here, so the kill path's own checks are what stands).
    Die {
        child: usize,
    },
}

fn table_op() -> impl Strategy<Value = TableOp> {
    let adj = prop_oneof![8 => adj_value(), 1 => prop::sample::select(vec![-1001, 1001, i32::MIN, i32::MAX])];
    let ptype = prop_oneof![8 => 0..2i32, 1 => prop::sample::select(vec![-1, 2, 99])];
    let sender = 0..CLIENTS.len();
    prop_oneof![
        8 => (target(), prop::sample::select(vec![1000, 10_057, 10_058]), adj, ptype, any::<bool>(), sender.clone())
            .prop_map(|(target, uid, adj, ptype, lmkd_only, sender)| TableOp::Prio { target, uid, adj, ptype, lmkd_only, sender }),
        2 => (target(), sender.clone()).prop_map(|(target, sender)| TableOp::Remove { target, sender }),
        1 => sender.clone().prop_map(|sender| TableOp::Purge { sender }),
        1 => sender.prop_map(|sender| TableOp::Disconnect { sender }),
        1 => (0..6usize).prop_map(|child| TableOp::Die { child }),
    ]
}

struct World {
    children: Children,
    thread_tid: i32,
    missing: i32,
}

impl World {
    fn pid(&self, t: Target) -> i32 {
        match t {
            Target::Init => 1,
            Target::Daemon => self_pid(),
            Target::NotAPid(p) => p,
            Target::Thread => self.thread_tid,
            Target::Missing => self.missing,
            Target::Child(i) => self.children.pid(i),
        }
    }

    /// pids that must never be in the table.
    fn reserved(&self) -> [i32; 4] {
        [1, self_pid(), self.thread_tid, self.missing]
    }
}

fn proc_adj(pid: i32) -> Option<String> {
    fs::read_to_string(format!("/proc/{pid}/oom_score_adj")).ok()
}

/// A record as a client could observe it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Seen {
    id: RecordId,
    adj: i32,
    uid: i32,
    ptype: i32,
    owner: i32,
    proc_adj: Option<String>,
}

fn seen(t: &ProcTable) -> HashMap<i32, Seen> {
    t.registry()
        .iter()
        .map(|(id, r)| {
            (
                r.pid,
                Seen {
                    id,
                    adj: r.adj(),
                    uid: r.uid,
                    ptype: r.ptype,
                    owner: r.owner,
                    proc_adj: proc_adj(r.pid),
                },
            )
        })
        .collect()
}

fn run_table_case(
    w: &mut World,
    ops: &[TableOp],
    min_adj: i32,
    heaviest: bool,
    rss: RssMode,
) -> Result<(), TestCaseError> {
    let mut t = ProcTable::new(UpdateMode::KeepOpen, 4);
    for op in ops {
        let before = seen(&t);
        // The client acting now; records of the other live clients must not change.
        let actor = match *op {
            TableOp::Prio { sender, .. }
            | TableOp::Remove { sender, .. }
            | TableOp::Purge { sender }
            | TableOp::Disconnect { sender } => Some(CLIENTS[sender]),
            TableOp::Die { .. } => None,
        };
        match *op {
            TableOp::Prio { target, uid, adj, ptype, lmkd_only, sender } => {
                let pid = w.pid(target);
                // Never risk init's own oom_score_adj on the test machine: should the guard
                // ever break, a table-only update registers pid 1 without writing its file.
                let lmkd_only = lmkd_only || matches!(target, Target::Init);
                let file_before = proc_adj(pid);
                let p = ProcPrio { pid, uid, adj, ptype, for_lmkd_only: lmkd_only };
                let outcome = t.apply_prio(&p, CLIENTS[sender], 1000, &mut NoWatch);
                if outcome == PrioOutcome::Refused || lmkd_only {
                    prop_assert_eq!(
                        proc_adj(pid),
                        file_before,
                        "oom_score_adj of pid {} written by {:?} ({:?})",
                        pid,
                        op,
                        outcome
                    );
                }
                if w.reserved().contains(&pid) || pid <= 0 {
                    prop_assert_eq!(outcome, PrioOutcome::Refused, "{:?} admitted", target);
                }
            }
            TableOp::Remove { target, sender } => {
                t.remove_pid(w.pid(target), CLIENTS[sender], &mut NoWatch);
            }
            TableOp::Purge { sender } => {
                t.purge(CLIENTS[sender], &mut NoWatch);
            }
            TableOp::Disconnect { sender } => {
                t.unclaim(CLIENTS[sender]);
            }
            TableOp::Die { child } => w.children.replace(child),
        }
        let after = seen(&t);
        for (pid, s) in &before {
            let others = s.owner != 0 && Some(s.owner) != actor;
            if !others || actor.is_none() {
                continue;
            }
            let mut now = after.get(pid).cloned();
            // A process that died meanwhile has no file to compare.
            if let Some(n) = now.as_mut() {
                if s.proc_adj.is_none() {
                    n.proc_adj = None;
                }
            }
            prop_assert_eq!(
                now.as_ref(),
                Some(s),
                "{:?} touched pid {}, registered by client {}",
                op,
                pid,
                s.owner
            );
        }
        for pid in after.keys() {
            prop_assert!(*pid > 1, "pid {} is in the table", pid);
            prop_assert!(!w.reserved().contains(pid), "reserved pid {} is in the table", pid);
        }
    }

    // The kill path over what the table holds: pick, then read the victim through its pidfd as
    // `kill_record` does before it signals.
    let floor = min_adj.max(OOM_SCORE_ADJ_MIN + 1);
    for adj in victim::levels(min_adj) {
        let mut skip: Vec<RecordId> = Vec::new();
        loop {
            // The guard is a temporary of this statement, as in the daemon's walk.
            let picked = pick(&t.registry(), adj, heaviest, &skip, &mut |p| rss.pages(p));
            let Some(id) = picked else { break };
            // Copied out under the lock, as `kill_record` does; the lock is free for the reads.
            let vref = {
                let reg = t.registry();
                let rec = reg.get(id).expect("picked a registered record");
                prop_assert!(rec.pidfd.is_some(), "an admitted record without a pidfd");
                VictimRef::of(rec).expect("dup the pidfd")
            };
            let pid = vref.pid;
            prop_assert!(pid > 1 && !w.reserved().contains(&pid), "walk picked pid {}", pid);
            prop_assert!(vref.adj >= floor && vref.adj == adj, "walk picked adj {}", vref.adj);
            let dead = w.children.dead.contains(&pid);
            let fd = vref.pidfd.as_ref().expect("checked above");
            match read_victim(&vref) {
                Ok(v) => {
                    prop_assert!(!dead, "an exited process (pid {}) reads as a victim", pid);
                    prop_assert_eq!(v.pid, pid);
                    prop_assert_eq!(v.adj, adj);
                    // The signal would reach this process: signal 0 goes through.
                    prop_assert!(lmkd::sys::pidfd_send_signal(fd.as_fd(), 0).is_ok());
                    return Ok(());
                }
                Err(VictimError::Gone | VictimError::PidReused) => {
                    // Whatever holds the number now, the old pidfd reaches nobody.
                    let e = lmkd::sys::pidfd_send_signal(fd.as_fd(), 0).unwrap_err();
                    prop_assert_eq!(e.raw_os_error(), Some(libc::ESRCH));
                    prop_assert!(dead, "live child {} read as gone", pid);
                    t.remove(id, &mut NoWatch);
                }
                Err(VictimError::Unreadable) => {
                    if skip.len() == SKIP_CAP {
                        break;
                    }
                    skip.push(id);
                }
            }
        }
    }
    Ok(())
}

/// Random command sequences from three clients, aimed at init, the daemon, non-pids, a thread,
/// a missing pid and children that come and go, then a random decision over the table.
#[test]
fn the_table_admits_no_protected_process_and_no_client_touches_anothers_records() {
    let (thread_tid, stop, handle) = parked_thread();
    // A number no process has: pid_max is at most 2^22.
    let missing = 4_194_304 + 7;
    let world = RefCell::new(World { children: Children::spawn(6), thread_tid, missing });
    let mut runner = TestRunner::new(RunnerConfig { cases: 192, ..RunnerConfig::default() });
    let strategy =
        (prop::collection::vec(table_op(), 1..28), min_adj_value(), any::<bool>(), rss_mode());
    let result = runner.run(&strategy, |(ops, min_adj, heaviest, rss)| {
        run_table_case(&mut world.borrow_mut(), &ops, min_adj, heaviest, rss)
    });
    drop(stop);
    handle.join().unwrap();
    drop(world);
    if let Err(e) = result {
        panic!("{e}");
    }
}

// ---------------------------------------------------------------------------------------------
// Layer 4: the watchdog, the second kill path (reaper::watchdog, its own thread)
// ---------------------------------------------------------------------------------------------

/// One registered child of a watchdog case.
#[derive(Clone, Copy, Debug)]
struct WdChild {
    adj: i32,
    /// Registered without a pidfd: the watchdog must not signal it by its number.
    no_pidfd: bool,
    /// Exited (killed and reaped) before the loop gets stuck: its record is stale.
    exited: bool,
}

fn wd_child() -> impl Strategy<Value = WdChild> {
    (adj_value(), prop::bool::weighted(0.15), prop::bool::weighted(0.15))
        .prop_map(|(adj, no_pidfd, exited)| WdChild { adj, no_pidfd, exited })
}

/// What a watchdog run did.
struct WdRun {
    /// The kills it reported, in order: (pid, adj).
    notes: Vec<(i32, i32)>,
    /// The pids whose records it marked killed, once its thread had stopped.
    marked: HashSet<i32>,
    /// Firings seen before the round ended (each finishes before the next starts).
    fired: u64,
}

/// Files the children (LRU first, in the order given), lets the ones marked `exited` exit, then
/// runs the watchdog while the "loop" stays stuck for about three firings.
fn run_watchdog(kids: &mut Children, pids: &[i32], spec: &[WdChild]) -> WdRun {
    let mut reg = Registry::new();
    for (&pid, s) in pids.iter().zip(spec) {
        let mut r = Record::new(pid, 10_057, s.adj, 0, 100);
        if !s.no_pidfd {
            r.pidfd = Some(lmkd::sys::pidfd_open(pid).expect("pidfd of a child"));
        }
        reg.insert(r);
    }
    // Their records stay: the stuck loop has not processed their exits.
    for (i, s) in spec.iter().enumerate() {
        if s.exited {
            kids.replace(i);
        }
    }
    let reg = Arc::new(Mutex::new(reg));
    // On a fake clock: the round stays stuck for exactly three timeouts.
    let clock = Clock::fake();
    let w =
        Watchdog::start(Arc::clone(&reg), WATCHDOG_TIMEOUT, false, clock.clone()).expect("start");
    w.arm(clock.now());
    for _ in 0..3 {
        clock.advance(WATCHDOG_TIMEOUT);
        assert!(w.wait_seen(clock.now(), Duration::from_secs(10)), "the watchdog looked");
    }
    let fired = w.fired();
    assert_eq!(fired, 3, "one firing per timeout");
    // No firing starts once the round is over; dropping the watchdog joins its thread, so a
    // firing under way has finished when the table is read below.
    w.disarm();
    let mut notes = Vec::new();
    w.take_kills(&mut notes);
    drop(w);
    let marked =
        reg.lock().unwrap().iter().filter(|(_, r)| r.watchdog_killed).map(|(_, r)| r.pid).collect();
    WdRun { notes: notes.iter().map(|k| (k.pid, k.adj)).collect(), marked, fired }
}

/// Each firing of the watchdog kills exactly the next process in AOSP's watchdog order — the
/// highest adj from 1000 down to 0, least recently filed first — among the records it can
/// signal through a pidfd: never one below adj 0 (so never −1000), never a record without a
/// pidfd (no kill by number), never a process that already exited, and nothing else dies.
#[test]
fn the_watchdog_kills_only_in_order_and_never_below_adj_0() {
    let mut runner = TestRunner::new(RunnerConfig { cases: 24, ..RunnerConfig::default() });
    let strategy = prop::collection::vec(wd_child(), 1..6);
    let result = runner.run(&strategy, |spec| {
        let mut kids = Children { kids: Vec::new(), dead: HashSet::new(), spare: Vec::new() };
        kids.kids = spec.iter().map(|_| sleeper()).collect();
        let pids: Vec<i32> = (0..spec.len()).map(|i| kids.pid(i)).collect();
        let run = run_watchdog(&mut kids, &pids, &spec);
        let mut order: Vec<(usize, WdChild)> = spec
            .iter()
            .copied()
            .enumerate()
            .filter(|(_, s)| s.adj >= 0 && !s.no_pidfd && !s.exited)
            .collect();
        // Highest adj first; within an adj, the first filed (the LRU tail) first.
        order.sort_by_key(|&(i, s)| (-s.adj, i));
        let expected: Vec<(i32, i32)> = order.iter().map(|&(i, s)| (pids[i], s.adj)).collect();
        // What it killed is the head of that order, as long as it fired (or all of it).
        let k = run.marked.len();
        prop_assert!(
            k >= (run.fired as usize).min(expected.len()) && k <= expected.len(),
            "{} kills after {} firings; spec {:?}",
            k,
            run.fired,
            spec
        );
        let head: HashSet<i32> = expected.iter().take(k).map(|&(p, _)| p).collect();
        prop_assert_eq!(&run.marked, &head, "spec {:?}", spec);
        // The reports come in that order too.
        prop_assert_eq!(&run.notes[..], &expected[..run.notes.len().min(k)], "spec {:?}", spec);
        // Exactly those children died, by SIGKILL; every other child lives.
        for (i, s) in spec.iter().enumerate() {
            if s.exited {
                continue;
            }
            let killed = run.marked.contains(&pids[i]);
            let c = &mut kids.kids[i];
            let status = if killed {
                Some(c.wait().expect("wait"))
            } else {
                c.try_wait().expect("try_wait")
            };
            use std::os::unix::process::ExitStatusExt;
            prop_assert_eq!(
                status.and_then(|st| st.signal()),
                killed.then_some(libc::SIGKILL),
                "child {} (adj {}) killed={}",
                pids[i],
                s.adj,
                killed
            );
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}
