//! Which registered process dies (reference §5.2).
//!
//! The walk goes from adj 1000 down to the decision's min adj (never below −999: adj −1000 is
//! "never kill"). Within an adj the least recently updated record (the LRU tail) is taken, or
//! the heaviest by resident pages when `ro.lmk.kill_heaviest_task` is set and always at
//! adj ≤ 200 (perceptible and above: fewer victims). Resident sizes come from the caller
//! (`/proc/<pid>/statm`), so this stays pure.

use crate::procs::{RecordId, Registry, OOM_SCORE_ADJ_MAX, OOM_SCORE_ADJ_MIN};

/// AOSP's `PERCEPTIBLE_APP_ADJ`: at or below it the heaviest process is chosen.
pub const HEAVIEST_AT_OR_BELOW: i32 = 200;

/// The adj values to walk for a min adj, from the highest.
pub fn levels(min_adj: i32) -> impl Iterator<Item = i32> {
    (min_adj.max(OOM_SCORE_ADJ_MIN + 1)..=OOM_SCORE_ADJ_MAX).rev()
}

/// The candidate at exactly `adj`, leaving out `skip` (records that could not be killed this
/// time). With `heaviest`, the largest by `rss_pages` (ties: the least recently updated); when
/// no size is known the LRU tail is taken (AOSP chose nothing then, quirk 3).
pub fn pick(
    reg: &Registry,
    adj: i32,
    heaviest: bool,
    skip: &[RecordId],
    rss_pages: &mut dyn FnMut(i32) -> Option<u64>,
) -> Option<RecordId> {
    // Adj −1000 means "never kill"; nothing exists outside the range.
    if !(OOM_SCORE_ADJ_MIN + 1..=OOM_SCORE_ADJ_MAX).contains(&adj) {
        return None;
    }
    let mut candidates = reg.iter_adj(adj).filter(|(id, _)| !skip.contains(id));
    let first = candidates.next()?;
    if !(heaviest || adj <= HEAVIEST_AT_OR_BELOW) {
        return Some(first.0);
    }
    // A single candidate needs no size (AOSP's shortcut since 2025).
    let mut best: Option<(RecordId, u64)> = None;
    let mut any = false;
    for (id, r) in std::iter::once(first).chain(candidates) {
        any = true;
        let pages = rss_pages(r.pid).unwrap_or(0);
        if best.is_none_or(|(_, b)| pages > b) {
            best = Some((id, pages));
        }
    }
    match best {
        Some((id, pages)) if pages > 0 => Some(id),
        _ if any => Some(first.0),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::procs::Record;

    fn reg(entries: &[(i32, i32)]) -> (Registry, Vec<RecordId>) {
        let mut r = Registry::new();
        let ids = entries
            .iter()
            .map(|&(pid, adj)| r.insert(Record::new(pid, 10_000, adj, 0, 1)))
            .collect();
        (r, ids)
    }

    #[test]
    fn walks_from_1000_down_to_min_and_never_to_minus_1000() {
        assert_eq!(levels(999).collect::<Vec<_>>(), vec![1000, 999]);
        assert_eq!(levels(-1000).last(), Some(-999));
        assert_eq!(levels(1001).count(), 0);
    }

    #[test]
    fn lru_tail_above_perceptible() {
        let (r, ids) = reg(&[(10, 900), (11, 900), (12, 900)]);
        let mut rss = |_| Some(1);
        assert_eq!(pick(&r, 900, false, &[], &mut rss), Some(ids[0]));
        assert_eq!(pick(&r, 900, false, &ids[..1], &mut rss), Some(ids[1]));
        assert_eq!(pick(&r, 900, false, &ids, &mut rss), None);
        assert_eq!(pick(&r, 800, false, &[], &mut rss), None);
    }

    #[test]
    fn heaviest_at_perceptible_and_when_configured() {
        let (r, ids) = reg(&[(10, 200), (11, 200), (12, 200), (20, 900), (21, 900)]);
        let sizes = |pid: i32| {
            Some(match pid {
                10 => 100,
                11 => 300,
                12 => 200,
                20 => 5,
                21 => 50,
                _ => 0,
            })
        };
        assert_eq!(pick(&r, 200, false, &[], &mut { sizes }), Some(ids[1]));
        assert_eq!(pick(&r, 900, false, &[], &mut { sizes }), Some(ids[3]), "LRU above 200");
        assert_eq!(pick(&r, 900, true, &[], &mut { sizes }), Some(ids[4]), "kill_heaviest_task");
    }

    #[test]
    fn unknown_sizes_fall_back_to_the_lru_tail() {
        let (r, ids) = reg(&[(10, 100), (11, 100)]);
        assert_eq!(pick(&r, 100, false, &[], &mut |_| None), Some(ids[0]));
        assert_eq!(pick(&r, 100, false, &[], &mut |_| Some(0)), Some(ids[0]));
    }
}
