//! Which registered process dies (reference §5.2).
//!
//! The walk goes from adj 1000 down to the decision's min adj (never below −999: adj −1000 is
//! "never kill"). Within an adj the least recently updated record (the LRU tail) is taken, or
//! the heaviest by resident pages when `ro.lmk.kill_heaviest_task` is set and always at
//! adj ≤ 200 (perceptible and above: fewer victims).
//!
//! Pure: the caller copies the candidates of one adj out of the registry (in LRU order), lets
//! go of its lock, reads their resident sizes from `/proc/<pid>/statm` when
//! [`needs_sizes`] says the pick depends on them, and passes the values to [`pick`]. The
//! decision trace records the same values, so a replay repeats every pick.

use crate::procs::{RecordId, Registry, OOM_SCORE_ADJ_MAX, OOM_SCORE_ADJ_MIN};

/// AOSP's `PERCEPTIBLE_APP_ADJ`: at or below it the heaviest process is chosen.
pub const HEAVIEST_AT_OR_BELOW: i32 = 200;

/// One registered process at the adj being walked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Candidate {
    /// Its record.
    pub id: RecordId,
    /// Its pid.
    pub pid: i32,
    /// Resident pages (`statm`), when read and readable.
    pub rss_pages: Option<u64>,
}

/// The adj values to walk for a min adj, from the highest.
pub fn levels(min_adj: i32) -> impl Iterator<Item = i32> {
    (min_adj.max(OOM_SCORE_ADJ_MIN + 1)..=OOM_SCORE_ADJ_MAX).rev()
}

/// Whether the heaviest-task rule chooses at `adj` (with `kill_heaviest_task` configured).
pub fn heaviest_at(adj: i32, kill_heaviest_task: bool) -> bool {
    kill_heaviest_task || adj <= HEAVIEST_AT_OR_BELOW
}

/// Whether [`pick`] needs the candidates' sizes: the heaviest rule applies and there is more
/// than one to choose from (a single candidate needs no size: AOSP's shortcut since 2025).
pub fn needs_sizes(adj: i32, kill_heaviest_task: bool, candidates: usize) -> bool {
    heaviest_at(adj, kill_heaviest_task) && candidates > 1
}

/// The candidate to kill among `candidates` (one adj, in LRU order, least recently updated
/// first, without the records that could not be killed this time), as an index. With
/// `heaviest`, the largest by resident pages (ties: the least recently updated); when no size
/// is known the LRU tail is taken (AOSP chose nothing then, quirk 3).
pub fn pick(candidates: &[Candidate], heaviest: bool) -> Option<usize> {
    if candidates.is_empty() {
        return None;
    }
    if !heaviest {
        return Some(0);
    }
    let mut best: Option<(usize, u64)> = None;
    for (i, c) in candidates.iter().enumerate() {
        let pages = c.rss_pages.unwrap_or(0);
        if best.is_none_or(|(_, b)| pages > b) {
            best = Some((i, pages));
        }
    }
    match best {
        Some((i, pages)) if pages > 0 => Some(i),
        _ => Some(0),
    }
}

/// Copies the candidates at exactly `adj` out of `reg` into `out` (cleared first), in LRU
/// order, leaving out `skip`; none at an adj that may not be walked ([`killable`]). The caller
/// holds the registry's lock for this copy only.
pub fn candidates(reg: &Registry, adj: i32, skip: &[RecordId], out: &mut Vec<Candidate>) {
    out.clear();
    if !killable(adj) {
        return;
    }
    out.extend(reg.iter_adj(adj).filter(|(id, _)| !skip.contains(id)).map(|(id, r)| Candidate {
        id,
        pid: r.pid,
        rss_pages: None,
    }));
}

/// Whether records at `adj` may be walked at all (adj −1000 means "never kill").
pub fn killable(adj: i32) -> bool {
    (OOM_SCORE_ADJ_MIN + 1..=OOM_SCORE_ADJ_MAX).contains(&adj)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cands(sizes: &[Option<u64>]) -> Vec<Candidate> {
        sizes
            .iter()
            .enumerate()
            .map(|(i, &rss_pages)| Candidate {
                id: RecordId::from_bits(i as u64),
                pid: 10 + i as i32,
                rss_pages,
            })
            .collect()
    }

    #[test]
    fn walks_from_1000_down_to_min_and_never_to_minus_1000() {
        assert_eq!(levels(999).collect::<Vec<_>>(), vec![1000, 999]);
        assert_eq!(levels(-1000).last(), Some(-999));
        assert_eq!(levels(1001).count(), 0);
        assert!(!killable(-1000) && killable(-999) && killable(1000) && !killable(1001));
    }

    #[test]
    fn lru_tail_above_perceptible() {
        let c = cands(&[Some(1), Some(5), Some(3)]);
        assert!(!heaviest_at(900, false));
        assert_eq!(pick(&c, heaviest_at(900, false)), Some(0));
        assert_eq!(pick(&c[1..], false), Some(0));
        assert_eq!(pick(&[], false), None);
    }

    #[test]
    fn heaviest_at_perceptible_and_when_configured() {
        let c = cands(&[Some(100), Some(300), Some(200)]);
        assert!(heaviest_at(200, false) && heaviest_at(900, true));
        assert_eq!(pick(&c, heaviest_at(200, false)), Some(1));
        assert_eq!(pick(&c, true), Some(1), "kill_heaviest_task");
        // Ties go to the least recently updated.
        assert_eq!(pick(&cands(&[Some(7), Some(7)]), true), Some(0));
    }

    #[test]
    fn sizes_are_read_only_when_they_decide() {
        assert!(needs_sizes(200, false, 2));
        assert!(!needs_sizes(200, false, 1), "a single candidate needs no size");
        assert!(!needs_sizes(900, false, 5));
        assert!(needs_sizes(900, true, 5));
    }

    #[test]
    fn candidates_are_copied_in_lru_order_without_the_skipped() {
        use crate::procs::Record;
        let mut reg = Registry::new();
        let a = reg.insert(Record::new(10, 1, 900, 0, 1));
        let b = reg.insert(Record::new(11, 1, 900, 0, 1));
        reg.insert(Record::new(12, 1, 800, 0, 1));
        reg.insert(Record::new(13, 1, OOM_SCORE_ADJ_MIN, 0, 1));
        let mut out = Vec::new();
        candidates(&reg, 900, &[], &mut out);
        assert_eq!(out.iter().map(|c| (c.id, c.pid)).collect::<Vec<_>>(), [(a, 10), (b, 11)]);
        candidates(&reg, 900, &[a], &mut out);
        assert_eq!(out.iter().map(|c| c.pid).collect::<Vec<_>>(), [11]);
        candidates(&reg, OOM_SCORE_ADJ_MIN, &[], &mut out);
        assert!(out.is_empty(), "adj -1000 is never a candidate");
        candidates(&reg, OOM_SCORE_ADJ_MIN - 1, &[], &mut out);
        assert!(out.is_empty(), "nor anything outside the range (the registry clamps)");
    }

    #[test]
    fn unknown_sizes_fall_back_to_the_lru_tail() {
        assert_eq!(pick(&cands(&[None, None]), true), Some(0));
        assert_eq!(pick(&cands(&[Some(0), Some(0)]), true), Some(0));
        assert_eq!(pick(&cands(&[None, Some(2)]), true), Some(1));
    }
}
