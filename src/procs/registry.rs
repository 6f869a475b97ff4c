//! The process table: one record per registered process, kept in per-adj LRU lists.
//!
//! This is a pure data structure: it performs no I/O (the descriptors it stores are opened and
//! written by [`crate::procs::ProcTable`]). Layout, as AOSP's:
//!
//! * one doubly linked list per `oom_score_adj` value (2001 lists); new and updated records go
//!   to the **head**, so the **tail** is the record that has sat at that adj the longest since
//!   it was last registered or updated, and victims are taken from the tail;
//! * a pid index;
//! * the owner of each record: the pid of the client that registered it, 0 once that client
//!   disconnected (a record without owner is claimed by the next client that touches it);
//! * kill counters per adj (a full array: AOSP kept only 32 distinct adj values and silently
//!   dropped the 33rd from the per-adj counts).
//!
//! Records live in a slab with a free list, linked by index, so that an update (unlink, relink
//! at the head) touches no allocator.

use std::collections::HashMap;
use std::fs::File;
use std::os::fd::OwnedFd;

/// The lowest `oom_score_adj`.
pub const OOM_SCORE_ADJ_MIN: i32 = -1000;
/// The highest `oom_score_adj`.
pub const OOM_SCORE_ADJ_MAX: i32 = 1000;
const ADJ_SLOTS: usize = 2001;
const NIL: u32 = u32::MAX;

/// Index of an `oom_score_adj` value in the per-adj arrays.
fn slot_of(adj: i32) -> usize {
    usize::try_from(adj.clamp(OOM_SCORE_ADJ_MIN, OOM_SCORE_ADJ_MAX) - OOM_SCORE_ADJ_MIN)
        .unwrap_or(0)
}

/// A slab index as a handle's (the slab never holds 2^32 records: insertion checks it).
fn index_of(i: usize) -> u32 {
    u32::try_from(i).expect("fewer than 2^32 records")
}

/// A stable handle to a record: a slab index plus a generation, so that a handle kept across
/// a removal (in an epoll token, for instance) never reaches the record that reused the slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RecordId {
    index: u32,
    generation: u32,
}

impl RecordId {
    /// Packs the handle into 56 bits (index in the low 32, generation in the next 24).
    pub fn to_bits(self) -> u64 {
        u64::from(self.index) | (u64::from(self.generation & 0x00ff_ffff) << 32)
    }

    /// Unpacks a handle made by [`RecordId::to_bits`].
    pub fn from_bits(bits: u64) -> RecordId {
        RecordId {
            index: (bits & 0xffff_ffff) as u32,
            generation: ((bits >> 32) & 0x00ff_ffff) as u32,
        }
    }
}

/// What a registration stores.
#[derive(Debug)]
pub struct Record {
    /// The process id.
    pub pid: i32,
    /// Its uid.
    pub uid: i32,
    /// Process type (`PROC_TYPE_APP` or `PROC_TYPE_SERVICE`).
    pub ptype: i32,
    /// Pid of the client that registered it; 0 when that client is gone (claimable).
    pub owner: i32,
    /// A pidfd taken at registration: kills go through it, and it tells when the process died.
    pub pidfd: Option<OwnedFd>,
    /// `/proc/<pid>/oom_score_adj`, kept open (within a descriptor budget) so that an update
    /// is one `write`. It stays bound to the process it was opened for: after the process died
    /// a write fails with `ESRCH` instead of reaching a process that reused the pid.
    pub adj_file: Option<File>,
    /// The watchdog killed it while the main thread was stuck; the main thread reports the kill
    /// and drops the record when it gets to the watchdog's note.
    pub watchdog_killed: bool,
    adj: i32,
    prev: u32,
    next: u32,
}

impl Record {
    /// A new record, not yet in a registry.
    pub fn new(pid: i32, uid: i32, adj: i32, ptype: i32, owner: i32) -> Record {
        Record {
            pid,
            uid,
            ptype,
            owner,
            pidfd: None,
            adj_file: None,
            watchdog_killed: false,
            adj: adj.clamp(OOM_SCORE_ADJ_MIN, OOM_SCORE_ADJ_MAX),
            prev: NIL,
            next: NIL,
        }
    }

    /// The adj the record is filed under.
    pub fn adj(&self) -> i32 {
        self.adj
    }
}

struct Slot {
    generation: u32,
    record: Option<Record>,
}

/// The process table.
pub struct Registry {
    slots: Vec<Slot>,
    free: Vec<u32>,
    by_pid: HashMap<i32, u32>,
    head: Box<[u32]>,
    tail: Box<[u32]>,
    kills: Box<[u32]>,
    total_kills: u32,
}

impl Default for Registry {
    fn default() -> Self {
        Registry::new()
    }
}

impl Registry {
    /// An empty table.
    pub fn new() -> Registry {
        Registry {
            slots: Vec::new(),
            free: Vec::new(),
            by_pid: HashMap::new(),
            head: vec![NIL; ADJ_SLOTS].into_boxed_slice(),
            tail: vec![NIL; ADJ_SLOTS].into_boxed_slice(),
            kills: vec![0; ADJ_SLOTS].into_boxed_slice(),
            total_kills: 0,
        }
    }

    /// Reserves room for `n` more records, so that registering them does not allocate.
    pub fn reserve(&mut self, n: usize) {
        self.slots.reserve(n);
        self.free.reserve(self.slots.len() + n);
        self.by_pid.reserve(n);
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.by_pid.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.by_pid.is_empty()
    }

    /// The record of `pid`, if registered.
    pub fn lookup(&self, pid: i32) -> Option<RecordId> {
        let index = *self.by_pid.get(&pid)?;
        Some(RecordId { index, generation: self.slots[index as usize].generation })
    }

    /// The record behind `id`, unless it was removed since.
    pub fn get(&self, id: RecordId) -> Option<&Record> {
        let slot = self.slots.get(id.index as usize)?;
        if slot.generation != id.generation {
            return None;
        }
        slot.record.as_ref()
    }

    /// Mutable access to the fields that do not affect the lists.
    pub fn get_mut(&mut self, id: RecordId) -> Option<&mut Record> {
        let slot = self.slots.get_mut(id.index as usize)?;
        if slot.generation != id.generation {
            return None;
        }
        slot.record.as_mut()
    }

    /// Inserts a record for a pid that is not registered yet, at the head of its adj list.
    ///
    /// # Panics
    ///
    /// If the pid is already registered (the caller looks it up first).
    pub fn insert(&mut self, record: Record) -> RecordId {
        assert!(!self.by_pid.contains_key(&record.pid), "pid {} registered twice", record.pid);
        let pid = record.pid;
        let index = match self.free.pop() {
            Some(i) => {
                self.slots[i as usize].record = Some(record);
                i
            }
            None => {
                self.slots.push(Slot { generation: 0, record: Some(record) });
                // Room for every slot on the free list, so that removing (on the kill path)
                // never allocates; registering is where the table may grow.
                self.free.reserve(self.slots.len().saturating_sub(self.free.len()));
                u32::try_from(self.slots.len() - 1).expect("fewer than 2^32 records")
            }
        };
        self.by_pid.insert(pid, index);
        self.link_head(index);
        RecordId { index, generation: self.slots[index as usize].generation }
    }

    /// Files the record under `adj` at the head of that list (also when the adj is unchanged,
    /// as AOSP does: an update refreshes the record's LRU position).
    pub fn set_adj(&mut self, id: RecordId, adj: i32) {
        if self.get(id).is_none() {
            return;
        }
        self.unlink(id.index);
        if let Some(r) = self.slots[id.index as usize].record.as_mut() {
            r.adj = adj.clamp(OOM_SCORE_ADJ_MIN, OOM_SCORE_ADJ_MAX);
        }
        self.link_head(id.index);
    }

    /// Removes the record and returns it (its descriptors are closed when it is dropped).
    pub fn remove(&mut self, id: RecordId) -> Option<Record> {
        self.get(id)?;
        self.unlink(id.index);
        let slot = &mut self.slots[id.index as usize];
        let record = slot.record.take()?;
        slot.generation = slot.generation.wrapping_add(1) & 0x00ff_ffff;
        self.free.push(id.index);
        self.by_pid.remove(&record.pid);
        Some(record)
    }

    /// AOSP's `claim_record`: whether client `pid` may change the record, claiming it if it
    /// has no owner.
    pub fn claim(&mut self, id: RecordId, pid: i32) -> bool {
        match self.get_mut(id) {
            Some(r) if r.owner == pid => true,
            Some(r) if r.owner == 0 => {
                r.owner = pid;
                true
            }
            _ => false,
        }
    }

    /// Un-claims every record owned by client `pid` (it disconnected). Records are kept.
    pub fn unclaim(&mut self, pid: i32) -> usize {
        let mut n = 0;
        for slot in &mut self.slots {
            if let Some(r) = slot.record.as_mut() {
                if r.owner == pid {
                    r.owner = 0;
                    n += 1;
                }
            }
        }
        n
    }

    /// Ids of the records client `pid` owns or can claim (what `LMK_PROCPURGE` removes).
    pub fn purgeable(&self, pid: i32) -> Vec<RecordId> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| match &s.record {
                Some(r) if r.owner == pid || r.owner == 0 => {
                    Some(RecordId { index: index_of(i), generation: s.generation })
                }
                _ => None,
            })
            .collect()
    }

    /// The least recently updated record at exactly `adj` (none outside −1000..=1000).
    pub fn lru_tail(&self, adj: i32) -> Option<RecordId> {
        if !(OOM_SCORE_ADJ_MIN..=OOM_SCORE_ADJ_MAX).contains(&adj) {
            return None;
        }
        self.id_at(self.tail[slot_of(adj)])
    }

    /// The record after `id` toward the head of its list (more recently updated).
    pub fn newer(&self, id: RecordId) -> Option<RecordId> {
        self.id_at(self.get(id)?.prev)
    }

    /// Records at exactly `adj`, from the LRU tail to the head.
    pub fn iter_adj(&self, adj: i32) -> impl Iterator<Item = (RecordId, &Record)> + '_ {
        let mut cur = self.lru_tail(adj);
        std::iter::from_fn(move || {
            let id = cur?;
            let r = self.get(id)?;
            cur = self.id_at(r.prev);
            Some((id, r))
        })
    }

    /// All records, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (RecordId, &Record)> + '_ {
        self.slots.iter().enumerate().filter_map(|(i, s)| {
            s.record
                .as_ref()
                .map(|r| (RecordId { index: index_of(i), generation: s.generation }, r))
        })
    }

    /// Counts a kill of a process at `adj`.
    pub fn count_kill(&mut self, adj: i32) {
        let s = slot_of(adj);
        self.kills[s] = self.kills[s].saturating_add(1);
        self.total_kills = self.total_kills.saturating_add(1);
    }

    /// `LMK_GETKILLCNT`: kills with adj in `min..=max`; 0 when `min > max`; the total of all
    /// kills when `min > 1000` (AOSP's special case, which `dumpsys activity lmk` relies on).
    pub fn kill_count(&self, min: i32, max: i32) -> u32 {
        if min > OOM_SCORE_ADJ_MAX {
            return self.total_kills;
        }
        if min > max {
            return 0;
        }
        let lo = min.max(OOM_SCORE_ADJ_MIN);
        let hi = max.min(OOM_SCORE_ADJ_MAX);
        if lo > hi {
            return 0;
        }
        self.kills[slot_of(lo)..=slot_of(hi)].iter().fold(0u32, |a, &k| a.saturating_add(k))
    }

    /// Non-zero kill counters as (adj, kills), highest adj first.
    pub fn kill_counters(&self) -> impl Iterator<Item = (i32, u32)> + '_ {
        (OOM_SCORE_ADJ_MIN..=OOM_SCORE_ADJ_MAX)
            .rev()
            .map(|adj| (adj, self.kills[slot_of(adj)]))
            .filter(|&(_, k)| k > 0)
    }

    /// Registered processes per adj as (adj, count), highest adj first.
    pub fn counts_by_adj(&self) -> Vec<(i32, usize)> {
        (OOM_SCORE_ADJ_MIN..=OOM_SCORE_ADJ_MAX)
            .rev()
            .map(|adj| (adj, self.iter_adj(adj).count()))
            .filter(|&(_, n)| n > 0)
            .collect()
    }

    fn id_at(&self, index: u32) -> Option<RecordId> {
        if index == NIL {
            return None;
        }
        Some(RecordId { index, generation: self.slots[index as usize].generation })
    }

    fn rec(&mut self, index: u32) -> &mut Record {
        self.slots[index as usize].record.as_mut().expect("linked slot holds a record")
    }

    fn link_head(&mut self, index: u32) {
        let s = slot_of(self.rec(index).adj);
        let old_head = self.head[s];
        {
            let r = self.rec(index);
            r.prev = NIL;
            r.next = old_head;
        }
        if old_head == NIL {
            self.tail[s] = index;
        } else {
            self.rec(old_head).prev = index;
        }
        self.head[s] = index;
    }

    fn unlink(&mut self, index: u32) {
        let (s, prev, next) = {
            let r = self.rec(index);
            (slot_of(r.adj), r.prev, r.next)
        };
        if prev == NIL {
            self.head[s] = next;
        } else {
            self.rec(prev).next = next;
        }
        if next == NIL {
            self.tail[s] = prev;
        } else {
            self.rec(next).prev = prev;
        }
        let r = self.rec(index);
        r.prev = NIL;
        r.next = NIL;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reg(entries: &[(i32, i32)]) -> (Registry, Vec<RecordId>) {
        let mut r = Registry::new();
        let ids = entries
            .iter()
            .map(|&(pid, adj)| r.insert(Record::new(pid, 10_000, adj, 0, 77)))
            .collect();
        (r, ids)
    }

    fn pids_at(r: &Registry, adj: i32) -> Vec<i32> {
        r.iter_adj(adj).map(|(_, rec)| rec.pid).collect()
    }

    #[test]
    fn victims_come_from_the_tail_in_registration_order() {
        let (r, _) = reg(&[(100, 900), (101, 900), (102, 900)]);
        assert_eq!(pids_at(&r, 900), vec![100, 101, 102]);
        assert_eq!(r.get(r.lru_tail(900).unwrap()).unwrap().pid, 100);
    }

    #[test]
    fn an_update_moves_the_record_to_the_head_even_at_the_same_adj() {
        let (mut r, ids) = reg(&[(100, 900), (101, 900), (102, 900)]);
        r.set_adj(ids[0], 900);
        assert_eq!(pids_at(&r, 900), vec![101, 102, 100]);
        r.set_adj(ids[1], 100);
        assert_eq!(pids_at(&r, 900), vec![102, 100]);
        assert_eq!(pids_at(&r, 100), vec![101]);
    }

    #[test]
    fn removal_relinks_neighbours_and_stales_the_handle() {
        let (mut r, ids) = reg(&[(100, 0), (101, 0), (102, 0)]);
        let removed = r.remove(ids[1]).unwrap();
        assert_eq!(removed.pid, 101);
        assert_eq!(pids_at(&r, 0), vec![100, 102]);
        assert!(r.get(ids[1]).is_none());
        assert!(r.lookup(101).is_none());
        // The slot is reused, but the old handle stays dead.
        let new = r.insert(Record::new(103, 1, 0, 0, 1));
        assert_eq!(new.index, ids[1].index);
        assert!(r.get(ids[1]).is_none());
        assert_eq!(r.get(new).unwrap().pid, 103);
        assert_eq!(RecordId::from_bits(new.to_bits()), new);
    }

    #[test]
    fn claims_follow_aosp() {
        let (mut r, ids) = reg(&[(100, 0)]);
        assert!(r.claim(ids[0], 77));
        assert!(!r.claim(ids[0], 78), "another live client cannot touch it");
        assert_eq!(r.unclaim(77), 1);
        assert!(r.claim(ids[0], 78), "an unowned record is claimed by the next client");
        assert_eq!(r.get(ids[0]).unwrap().owner, 78);
    }

    #[test]
    fn purge_takes_own_and_unowned_records_only() {
        let mut r = Registry::new();
        let a = r.insert(Record::new(1, 0, 0, 0, 10));
        let b = r.insert(Record::new(2, 0, 0, 0, 20));
        let c = r.insert(Record::new(3, 0, 0, 0, 0));
        let mut p = r.purgeable(10);
        p.sort_by_key(|id| id.index);
        assert_eq!(p, vec![a, c]);
        assert!(!p.contains(&b));
    }

    #[test]
    fn kill_counts_follow_getkillcnt_rules() {
        let mut r = Registry::new();
        for adj in [0, 100, 900, 900, 999, -800] {
            r.count_kill(adj);
        }
        assert_eq!(r.kill_count(900, 999), 3);
        assert_eq!(r.kill_count(-1000, 1000), 6);
        assert_eq!(r.kill_count(0, 0), 1);
        assert_eq!(r.kill_count(1000, 0), 0, "min > max counts nothing");
        assert_eq!(r.kill_count(1001, 0), 6, "min > 1000 is the total");
        assert_eq!(r.kill_count(-5000, -900), 0);
        assert_eq!(r.kill_count(-5000, 5000), 6);
    }

    #[test]
    fn more_than_32_distinct_adj_values_are_all_counted() {
        let mut r = Registry::new();
        for adj in 0..100 {
            r.count_kill(adj * 10);
        }
        assert_eq!(r.kill_count(0, 1000), 100);
        assert_eq!(r.kill_count(990, 990), 1);
    }
}
