//! AOSP's new strategy (`__mp_event_psi`, reference §4.5): one decision per PSI event or poll.
//!
//! Pure: the inputs are a snapshot, the watermarks, the configuration, the wake-up and the
//! time ([`Inputs`]); the state is [`PsiState`]; the output is a [`Cycle`] with the kill
//! decision, if any, and the polling request. The caller reads every input before the call.
//!
//! One exchange is AOSP's `goto update_watermarks`: the first time the table picks a kill ever,
//! AOSP recomputes the watermarks and runs the table again. Here the cycle returns without a
//! kill and with [`Cycle::wants_fresh_watermarks`] set; the caller reads the watermarks afresh
//! and calls [`decide_again`], which runs only the table, with the same facts.

use std::fmt::Write as _;

use super::Level;
use super::{KillDecision, Wakeup};
use super::{PollUpdate, LONG_INTERVAL_MS, SHORT_INTERVAL_MS};
use crate::config::Config;
use crate::kill::{KillReason, ReasonText};
use crate::memory::{Snapshot, Watermarks};

/// `THRASHING_RESET_INTERVAL_MS`: the thrashing window.
pub const THRASHING_RESET_INTERVAL_MS: u64 = 1000;
/// Watermarks are recomputed this often (no memevents here).
pub const WATERMARK_REFRESH_MS: u64 = 60_000;
/// AOSP's `PERCEPTIBLE_APP_ADJ + 1`.
pub const ABOVE_PERCEPTIBLE: i32 = 201;

/// Which watermark free memory is below (AOSP's `zone_watermark`, ordered min < low < high <
/// none).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Wmark {
    /// Below min.
    Min,
    /// Below low.
    Low,
    /// Below high.
    High,
    /// Above every watermark.
    None,
}

/// Which reclaim was seen since the last cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reclaim {
    /// None.
    None,
    /// kswapd (or `pgrefill`).
    Kswapd,
    /// Direct reclaim in an allocating task.
    Direct,
}

/// Free memory against the watermarks: `MemFree − CmaFree`, in pages.
pub fn lowest_watermark(s: &Snapshot, w: &Watermarks, page_kb: i64) -> Wmark {
    let free = (s.meminfo.mem_free - s.meminfo.cma_free) / page_kb;
    if free < w.min {
        Wmark::Min
    } else if free < w.low {
        Wmark::Low
    } else if free < w.high {
        Wmark::High
    } else {
        Wmark::None
    }
}

/// Effective free swap in kB: `min(SwapFree, easy_available × swap_compression_ratio)`, or
/// `SwapFree` with a ratio of 0.
pub fn free_swap_kb(s: &Snapshot, cfg: &Config) -> i64 {
    let free = s.meminfo.swap_free;
    if cfg.swap_compression_ratio > 0 {
        free.min(s.meminfo.easy_available().saturating_mul(cfg.swap_compression_ratio))
    } else {
        free
    }
}

/// Swap utilisation in %: swap used / (anon + shmem + swap used).
pub fn swap_utilization(s: &Snapshot, cfg: &Config) -> i64 {
    let used = s.meminfo.swap_total - free_swap_kb(s, cfg);
    let swappable = s.meminfo.active_anon + s.meminfo.inactive_anon + s.meminfo.shmem + used;
    if swappable > 0 {
        used * 100 / swappable
    } else {
        0
    }
}

/// The strategy's memory between cycles (AOSP's function-static variables).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PsiState {
    init_ws_refault: i64,
    prev_workingset_refault: i64,
    base_file_lru: i64,
    init_pgscan_kswapd: i64,
    init_pgscan_direct: i64,
    init_pgrefill: i64,
    /// The previous cycle killed.
    pub killing: bool,
    /// The thrashing limit in force (decayed after thrashing kills).
    pub thrashing_limit: i64,
    thrashing_reset_ms: u64,
    prev_thrash_growth: i64,
    check_filecache: bool,
    /// Highest thrashing since the last kill.
    pub max_thrashing: i64,
    first_kill: bool,
    /// When the cycle after the last kill ran (about the kill's time).
    last_kill_ms: Option<u64>,
    initialised: bool,
}

/// How long after a kill polling continues while free memory is below the low watermark.
///
/// A deliberate difference from AOSP, which stops polling one window after the last event,
/// kill or direct reclaim. Memory that a kill freed can run out again in a little more than a
/// window (a leak refilling it) while reclaim has not started yet; the next PSI event then
/// comes only when the stall crosses the trigger's threshold, up to a window or two later,
/// and in a memory cgroup the kernel's OOM killer can act first. Traced on this project's
/// comparison bench (a 512 MiB cgroup, a 16 MiB/s leak, 2 s windows): the window ran out with
/// free memory already below the low watermark, and the next kill came 1.8 s later, with the
/// event. The cost is bounded: at most 100 polls (100 ms apart) per kill, and none when free
/// memory is above the low watermark.
pub const AFTER_KILL_WATCH_MS: u64 = 10_000;

impl PsiState {
    /// Whether the last kill was at most [`AFTER_KILL_WATCH_MS`] ago.
    fn watching_after_kill(&self, now_ms: u64) -> bool {
        self.last_kill_ms.is_some_and(|t| now_ms.saturating_sub(t) <= AFTER_KILL_WATCH_MS)
    }

    /// Whether the watermarks must be read afresh before a kill is decided (no kill was ever
    /// decided: AOSP checks them once, at the first kill).
    pub fn wants_fresh_watermarks(&self) -> bool {
        self.first_kill
    }

    /// A fresh state for `cfg`.
    pub fn new(cfg: &Config) -> PsiState {
        PsiState {
            init_ws_refault: 0,
            prev_workingset_refault: 0,
            base_file_lru: 0,
            init_pgscan_kswapd: 0,
            init_pgscan_direct: 0,
            init_pgrefill: 0,
            killing: false,
            thrashing_limit: cfg.thrashing_limit,
            thrashing_reset_ms: 0,
            prev_thrash_growth: 0,
            check_filecache: false,
            max_thrashing: 0,
            first_kill: true,
            last_kill_ms: None,
            initialised: false,
        }
    }
}

/// What one cycle decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cycle {
    /// Kill down to this adj, for this reason.
    pub kill: Option<KillDecision>,
    /// The polling request.
    pub poll: PollUpdate,
    /// The polling interval.
    pub interval_ms: u64,
    /// Thrashing % this cycle.
    pub thrashing: i64,
    /// The watermark state.
    pub wmark: Wmark,
    /// The reclaim state.
    pub reclaim: Reclaim,
    /// Swap is low.
    pub swap_is_low: bool,
    /// The cycle stopped early: no reclaim and no refaults since the last one.
    pub idle: bool,
    /// The table picked the first kill ever with watermarks that were not read afresh: read
    /// them and call [`decide_again`] (no kill is set until then).
    pub wants_fresh_watermarks: bool,
    /// What the table looked at, for [`decide_again`].
    facts: Option<CycleFacts>,
}

/// What one cycle of the new strategy looks at, all read before the call.
#[derive(Clone, Copy, Debug)]
pub struct Inputs<'a> {
    /// The domain's memory figures.
    pub snapshot: &'a Snapshot,
    /// The event or poll.
    pub wake: Wakeup,
    /// The watermarks in force (`None`: they could never be read; no decision is made).
    pub watermarks: Option<Watermarks>,
    /// Whether `watermarks` were read for this cycle (see [`PsiState::wants_fresh_watermarks`]).
    pub watermarks_fresh: bool,
    /// Milliseconds on the daemon's clock.
    pub now_ms: u64,
    /// The page size in kB.
    pub page_kb: i64,
    /// The reclaim state from memevents (`None`: without memevents reclaim is told from the
    /// vmstat scan counters, and direct reclaim has no duration, as in AOSP).
    pub events: Option<ReclaimEvents>,
    /// A vendor kill request woke this cycle (row a).
    pub vendor: Option<VendorKill>,
}

/// The reclaim state the BPF memevents report (reference §4.5 step 5): direct reclaim from a
/// `DIRECT_RECLAIM_BEGIN` without its `END` yet, kswapd between `KSWAPD_WAKE` and
/// `KSWAPD_SLEEP`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReclaimEvents {
    /// When the direct reclaim in progress began (ms on the daemon's clock).
    pub direct_since_ms: Option<u64>,
    /// kswapd is awake.
    pub kswapd: bool,
}

/// A vendor module's kill request (the `VENDOR_LMK_KILL` memevent), already validated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VendorKill {
    /// The vendor's reason, 0..=999 (the kill reason is 1000 + it).
    pub reason: i32,
    /// The lowest adj that may die, 0..=1000.
    pub min_adj: i32,
}

/// One cycle of the new strategy. The caller has already skipped cycles while a kill is
/// awaited (step 1). The kill's result is applied by [`after_kill`] once it was attempted.
pub fn decide(st: &mut PsiState, cfg: &Config, inp: &Inputs<'_>) -> Cycle {
    let (s, wake, now_ms, page_kb) = (inp.snapshot, inp.wake, inp.now_ms, inp.page_kb);
    let vs = &s.vmstat;
    let refaults = vs.workingset_refault_file;
    let file_lru = vs.nr_inactive_file + vs.nr_active_file;
    if !st.initialised {
        // AOSP starts from zeroed statics; starting from the first snapshot avoids calling the
        // whole history since boot "thrashing" on the first event.
        st.initialised = true;
        st.init_ws_refault = refaults;
        st.base_file_lru = file_lru;
        st.thrashing_reset_ms = now_ms;
        st.init_pgscan_direct = vs.pgscan_direct;
        st.init_pgscan_kswapd = vs.pgscan_kswapd;
        st.init_pgrefill = vs.pgrefill;
    }
    let mut cycle_after_kill = false;
    if st.killing {
        st.killing = false;
        cycle_after_kill = true;
        st.last_kill_ms = Some(now_ms);
        st.base_file_lru = file_lru;
        st.init_ws_refault = refaults;
        st.thrashing_reset_ms = now_ms;
        st.prev_thrash_growth = 0;
    }

    let free_swap = free_swap_kb(s, cfg);
    let swap_low_threshold =
        s.meminfo.swap_total.saturating_mul(cfg.swap_free_low_percentage) / 100;
    let swap_is_low = cfg.swap_free_low_percentage > 0 && free_swap < swap_low_threshold;

    let (reclaim, direct_ms) = match inp.events {
        Some(ev) => match ev.direct_since_ms {
            Some(t) => (Reclaim::Direct, now_ms.saturating_sub(t)),
            None if ev.kswapd => (Reclaim::Kswapd, 0),
            None => (Reclaim::None, 0),
        },
        None => {
            let in_direct = vs.pgscan_direct != st.init_pgscan_direct;
            let in_kswapd =
                vs.pgscan_kswapd != st.init_pgscan_kswapd || vs.pgrefill != st.init_pgrefill;
            if in_direct {
                st.init_pgscan_direct = vs.pgscan_direct;
                st.init_pgscan_kswapd = vs.pgscan_kswapd;
                st.init_pgrefill = vs.pgrefill;
                (Reclaim::Direct, 0)
            } else if in_kswapd {
                st.init_pgscan_kswapd = vs.pgscan_kswapd;
                st.init_pgrefill = vs.pgrefill;
                (Reclaim::Kswapd, 0)
            } else {
                (Reclaim::None, 0)
            }
        }
    };
    let mut cycle = Cycle {
        kill: None,
        poll: PollUpdate::DoNotChange,
        interval_ms: LONG_INTERVAL_MS,
        thrashing: 0,
        wmark: Wmark::None,
        reclaim,
        swap_is_low,
        idle: false,
        wants_fresh_watermarks: false,
        facts: None,
    };
    if reclaim == Reclaim::None
        && refaults == st.prev_workingset_refault
        && wake.is_psi()
        && inp.vendor.is_none()
    {
        // Not thrashing and not reclaiming: nothing to decide until these counters move.
        cycle.idle = true;
        if st.watching_after_kill(now_ms) {
            // Only for the polling rule below.
            if let Some(w) = &inp.watermarks {
                cycle.wmark = lowest_watermark(s, w, page_kb);
            }
        }
        finish_polling(st, &mut cycle, wake, now_ms);
        return cycle;
    }
    st.prev_workingset_refault = refaults;

    let mut thrashing = 0;
    let since_reset = now_ms.saturating_sub(st.thrashing_reset_ms);
    if since_reset > THRASHING_RESET_INTERVAL_MS {
        st.prev_thrash_growth =
            refaults.saturating_sub(st.init_ws_refault).max(0).saturating_mul(100)
                / st.base_file_lru.saturating_add(1).max(1);
        let windows = since_reset / THRASHING_RESET_INTERVAL_MS;
        if windows > 1 || st.prev_thrash_growth < st.thrashing_limit {
            st.prev_thrash_growth = st
                .prev_thrash_growth
                .checked_shr(u32::try_from(windows).unwrap_or(63))
                .unwrap_or(0);
        }
        st.base_file_lru = file_lru;
        st.init_ws_refault = refaults;
        st.thrashing_reset_ms = now_ms;
        st.thrashing_limit = cfg.thrashing_limit;
    } else {
        thrashing = refaults.saturating_sub(st.init_ws_refault).max(0).saturating_mul(100)
            / st.base_file_lru.saturating_add(1).max(1);
    }
    thrashing += st.prev_thrash_growth;
    st.max_thrashing = st.max_thrashing.max(thrashing);
    cycle.thrashing = thrashing;

    let facts = CycleFacts {
        cycle_after_kill,
        wmark: Wmark::None,
        swap_is_low,
        free_swap,
        swap_low_threshold,
        thrashing,
        reclaim,
        direct_ms,
        page_kb,
    };
    judge(st, cfg, inp, facts, cycle)
}

/// The second half of a cycle whose first kill ever asked for fresh watermarks
/// ([`Cycle::wants_fresh_watermarks`]): the table again, with `inp.watermarks` read afresh
/// and the facts the first half saw. AOSP's `goto update_watermarks`.
pub fn decide_again(st: &mut PsiState, cfg: &Config, inp: &Inputs<'_>, first: &Cycle) -> Cycle {
    let Some(facts) = first.facts else { return *first };
    // Asked once: if the fresh watermarks withdraw the kill (or cannot be read), later kills
    // are not checked again.
    st.first_kill = false;
    let cycle = Cycle { wants_fresh_watermarks: false, facts: None, ..*first };
    judge(st, cfg, &Inputs { watermarks_fresh: true, ..*inp }, facts, cycle)
}

/// Watermarks, the table, the kill's figures and the polling request.
fn judge(
    st: &mut PsiState,
    cfg: &Config,
    inp: &Inputs<'_>,
    mut facts: CycleFacts,
    mut cycle: Cycle,
) -> Cycle {
    let (s, wake, now_ms) = (inp.snapshot, inp.wake, inp.now_ms);
    let Some(w) = &inp.watermarks else {
        finish_polling(st, &mut cycle, wake, now_ms);
        return cycle;
    };
    facts.wmark = lowest_watermark(s, w, inp.page_kb);
    cycle.wmark = facts.wmark;
    let critical_stall = i64::from(s.psi.full.avg10) > cfg.stall_limit_critical * 100;
    if let Some(mut k) = pick_reason(st, cfg, s, wake, inp.vendor, &facts) {
        if st.first_kill && !inp.watermarks_fresh {
            // Make sure the watermarks are current before the first kill ever.
            cycle.wants_fresh_watermarks = true;
            cycle.facts = Some(facts);
            return cycle;
        }
        st.first_kill = false;
        if critical_stall {
            k.min_adj = 0;
        }
        k.thrashing = facts.thrashing;
        k.max_thrashing = st.max_thrashing;
        k.free_swap_kb = facts.free_swap;
        cycle.kill = Some(k);
    }
    finish_polling(st, &mut cycle, wake, now_ms);
    cycle
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct CycleFacts {
    cycle_after_kill: bool,
    wmark: Wmark,
    swap_is_low: bool,
    free_swap: i64,
    swap_low_threshold: i64,
    thrashing: i64,
    reclaim: Reclaim,
    direct_ms: u64,
    page_kb: i64,
}

/// The decision table (rows b–k of reference §4.5); the first match wins.
fn pick_reason(
    st: &mut PsiState,
    cfg: &Config,
    s: &Snapshot,
    wake: Wakeup,
    vendor: Option<VendorKill>,
    f: &CycleFacts,
) -> Option<KillDecision> {
    let mut text = ReasonText::default();
    let min_low = if f.wmark < Wmark::Low { "min" } else { "low" };
    // Perceptible apps only below the min watermark or when thrashing critically.
    let spare_perceptible = |thrashing: i64| {
        if thrashing < cfg.thrashing_limit_critical {
            ABOVE_PERCEPTIBLE
        } else {
            0
        }
    };
    let (reason, min_adj, cut) = if let Some(v) = vendor {
        let _ =
            write!(text, "vendor kill with the reason {}, min_score_adj {}", v.reason, v.min_adj);
        (KillReason::Vendor(v.reason), v.min_adj, false)
    } else if f.cycle_after_kill && f.wmark < Wmark::Low {
        let _ = write!(text, "min watermark is breached even after kill");
        (KillReason::PressureAfterKill, cfg.pressure_after_kill_min_score, false)
    } else if wake.level() == Some(Level::Critical) && wake.is_event() {
        let _ = write!(text, "device is not responding");
        (KillReason::NotResponding, 0, false)
    } else if f.swap_is_low && f.thrashing > cfg.thrashing_limit {
        let _ = write!(
            text,
            "device is low on swap ({}kB < {}kB) and thrashing ({}%)",
            f.free_swap, f.swap_low_threshold, f.thrashing
        );
        st.check_filecache = true;
        let min = if f.wmark > Wmark::Min { spare_perceptible(f.thrashing) } else { 0 };
        (KillReason::LowSwapAndThrashing, min, false)
    } else if f.swap_is_low && f.wmark < Wmark::High {
        let _ = write!(
            text,
            "{min_low} watermark is breached and swap is low ({}kB < {}kB)",
            f.free_swap, f.swap_low_threshold
        );
        let min = if f.wmark > Wmark::Min { spare_perceptible(f.thrashing) } else { 0 };
        (KillReason::LowMemAndSwap, min, false)
    } else if f.wmark < Wmark::High
        && cfg.swap_util_max < 100
        && swap_utilization(s, cfg) > cfg.swap_util_max
    {
        let _ = write!(
            text,
            "{min_low} watermark is breached and swap utilization is high ({}% > {}%)",
            swap_utilization(s, cfg),
            cfg.swap_util_max
        );
        (KillReason::LowMemAndSwapUtil, 0, false)
    } else if f.wmark < Wmark::High && f.thrashing > st.thrashing_limit {
        let _ = write!(text, "{min_low} watermark is breached and thrashing ({}%)", f.thrashing);
        st.check_filecache = true;
        (KillReason::LowMemAndThrashing, spare_perceptible(f.thrashing), true)
    } else if f.reclaim == Reclaim::Direct && f.thrashing > st.thrashing_limit {
        let _ = write!(text, "device is in direct reclaim and thrashing ({}%)", f.thrashing);
        st.check_filecache = true;
        (KillReason::DirectReclAndThrashing, spare_perceptible(f.thrashing), true)
    } else if f.reclaim == Reclaim::Direct
        && cfg.direct_reclaim_threshold_ms > 0
        && i64::try_from(f.direct_ms).unwrap_or(i64::MAX) > cfg.direct_reclaim_threshold_ms
    {
        let _ = write!(
            text,
            "device is stuck in direct reclaim ({}ms > {}ms)",
            f.direct_ms, cfg.direct_reclaim_threshold_ms
        );
        (KillReason::DirectReclStuck, 0, false)
    } else if st.check_filecache {
        let file_lru_kb = (s.vmstat.nr_inactive_file + s.vmstat.nr_active_file) * f.page_kb;
        if file_lru_kb < cfg.filecache_min_kb {
            let _ = write!(
                text,
                "filecache is low ({file_lru_kb}kB < {}kB) after thrashing",
                cfg.filecache_min_kb
            );
            (KillReason::LowFilecacheAfterThrashing, ABOVE_PERCEPTIBLE, false)
        } else {
            st.check_filecache = false;
            return low_mem(cfg, f, min_low);
        }
    } else {
        return low_mem(cfg, f, min_low);
    };
    Some(KillDecision {
        min_adj,
        reason,
        text,
        cut_thrashing_limit: cut,
        ..KillDecision::default()
    })
}

/// Row k: nothing else matched but free memory is below the low watermark (AOSP's
/// `wmark < WMARK_HIGH`); the text names the min or the low watermark, as AOSP's.
fn low_mem(cfg: &Config, f: &CycleFacts, min_low: &str) -> Option<KillDecision> {
    if f.wmark >= Wmark::High || cfg.lowmem_min_oom_score > crate::procs::OOM_SCORE_ADJ_MAX {
        return None;
    }
    let mut text = ReasonText::default();
    let _ = write!(text, "{min_low} watermark is breached");
    Some(KillDecision {
        min_adj: cfg.lowmem_min_oom_score,
        reason: KillReason::LowMem,
        text,
        ..KillDecision::default()
    })
}

fn finish_polling(st: &PsiState, c: &mut Cycle, wake: Wakeup, now_ms: u64) {
    // Start polling after an event; extend it while killing or in direct reclaim (kswapd alone
    // can go on for long without pressure). Not in AOSP: for a while after a kill, also while
    // free memory stays below the low watermark (see `AFTER_KILL_WATCH_MS`).
    let low_after_kill =
        matches!(c.wmark, Wmark::Min | Wmark::Low) && st.watching_after_kill(now_ms);
    if wake.is_event()
        || c.kill.is_some()
        || st.killing
        || c.reclaim == Reclaim::Direct
        || low_after_kill
    {
        c.poll = PollUpdate::Start;
    }
    c.interval_ms = if c.swap_is_low || c.kill.is_some() || st.killing {
        SHORT_INTERVAL_MS
    } else {
        LONG_INTERVAL_MS
    };
}

/// Applies a kill's result: a kill that freed memory starts the after-kill cycle, resets the
/// max thrashing, and cuts the thrashing limit after a thrashing kill.
pub fn after_kill(st: &mut PsiState, cfg: &Config, decision: &KillDecision, killed: bool) {
    if killed {
        st.killing = true;
        st.max_thrashing = 0;
        if decision.cut_thrashing_limit {
            st.thrashing_limit = st.thrashing_limit * (100 - cfg.thrashing_limit_decay) / 100;
        }
    }
}

#[cfg(test)]
mod tests {
    //! Table-driven tests of the new strategy: every row (b–k) of the decision table of
    //! reference §4.5, its texts and codes, the first-match ordering, and the state kept between
    //! cycles (thrashing window and decay, reclaim tracking, watermark refresh, polling).
    //!
    //! Time is an argument: nothing sleeps. Units are the kernel's: meminfo in kB, vmstat and
    //! watermarks in pages, 4 kB pages.

    use super::*;
    use crate::memory::{Meminfo, PsiAverages, Vmstat};
    use crate::policy::Source;

    const PAGE_KB: i64 = 4;

    /// Free memory (kB) above every watermark of [`wm`].
    const FREE_OK: i64 = 400_000;
    /// Free memory (kB) below the high watermark only (55000 < 60000 kB).
    const FREE_HIGH: i64 = 55_000;
    /// Free memory (kB) below the low watermark (45000 < 50000 kB), above min.
    const FREE_LOW: i64 = 45_000;
    /// Free memory (kB) below the min watermark (20000 < 40000 kB).
    const FREE_MIN: i64 = 20_000;
    /// File LRU in pages. With 999 pages the divisor is 1000, so thrashing % = refaults / 10.
    const LRU: i64 = 999;
    /// Swap below the default low threshold (10 % of 1000000 kB = 100000 kB).
    const SWAP_LOW: i64 = 50_000;
    /// The time of the single cycle a table row runs (the baseline was taken at 0).
    const T: u64 = 500;

    /// Watermarks in pages: min 10000, low 12500, high 15000 (40000, 50000, 60000 kB).
    fn wm() -> Watermarks {
        Watermarks { min: 10_000, low: 12_500, high: 15_000, ..Watermarks::default() }
    }

    /// A snapshot under construction.
    #[derive(Clone, Copy, Debug)]
    struct Snap(Snapshot);

    /// A quiet device: plenty free, 1000000 kB of swap all free, 200000 kB of anon, a 999-page
    /// file LRU, no refaults, no reclaim, no stall.
    fn snap() -> Snap {
        Snap(Snapshot {
            meminfo: Meminfo {
                mem_total: 4_000_000,
                mem_free: FREE_OK,
                swap_total: 1_000_000,
                swap_free: 1_000_000,
                active_anon: 100_000,
                inactive_anon: 100_000,
                // Large, so that the compressed-swap estimate (easy_available × 1, the default
                // ratio) never undercuts SwapFree unless a test asks for it.
                inactive_file: 1_000_000,
                ..Meminfo::default()
            },
            vmstat: Vmstat { nr_inactive_file: LRU, ..Vmstat::default() },
            psi: PsiAverages::default(),
            memcg: false,
        })
    }

    impl Snap {
        /// MemFree in kB.
        fn free(mut self, kb: i64) -> Snap {
            self.0.meminfo.mem_free = kb;
            self
        }
        /// CmaFree in kB.
        fn cma(mut self, kb: i64) -> Snap {
            self.0.meminfo.cma_free = kb;
            self
        }
        /// SwapFree in kB.
        fn swap_free(mut self, kb: i64) -> Snap {
            self.0.meminfo.swap_free = kb;
            self
        }
        /// The refault counter (pages).
        fn refault(mut self, pages: i64) -> Snap {
            self.0.vmstat.workingset_refault_file = pages;
            self
        }
        /// The kswapd scan counter: a change since the last cycle is kswapd reclaim.
        fn kswapd(mut self, n: i64) -> Snap {
            self.0.vmstat.pgscan_kswapd = n;
            self
        }
        /// The refill counter: a change since the last cycle counts as kswapd reclaim.
        fn pgrefill(mut self, n: i64) -> Snap {
            self.0.vmstat.pgrefill = n;
            self
        }
        /// The direct scan counter: a change since the last cycle is direct reclaim.
        fn direct(mut self, n: i64) -> Snap {
            self.0.vmstat.pgscan_direct = n;
            self
        }
        /// The file LRU (pages).
        fn file_lru(mut self, pages: i64) -> Snap {
            self.0.vmstat.nr_inactive_file = pages;
            self.0.vmstat.nr_active_file = 0;
            self
        }
        /// PSI memory `full avg10`, in hundredths of a percent.
        fn psi_full10(mut self, hundredths: u32) -> Snap {
            self.0.psi.full.avg10 = hundredths;
            self
        }
    }

    fn event(level: Level) -> Wakeup {
        Wakeup { source: Source::Psi, level, event: true }
    }

    fn poll(level: Level) -> Wakeup {
        Wakeup { source: Source::Psi, level, event: false }
    }

    fn vmp_event(level: Level) -> Wakeup {
        Wakeup { source: Source::Vmpressure, level, event: true }
    }

    /// The strategy with its state, configuration and (fixed) watermarks.
    struct Lmkd {
        cfg: Config,
        st: PsiState,
        wm: Watermarks,
    }

    impl Lmkd {
        /// A strategy whose baselines were taken by one quiet cycle at t = 0 (refaults 0, file
        /// LRU 999 pages, no reclaim).
        fn primed(cfg: Config) -> Lmkd {
            let mut l = Lmkd { st: PsiState::new(&cfg), cfg, wm: wm() };
            let c = l.cycle(0, snap(), poll(Level::Medium));
            assert!(c.idle && c.kill.is_none(), "the priming cycle is quiet");
            l
        }

        fn cycle(&mut self, t: u64, s: Snap, wake: Wakeup) -> Cycle {
            self.cycle_with(t, s, wake, None, None)
        }

        fn cycle_with(
            &mut self,
            t: u64,
            s: Snap,
            wake: Wakeup,
            events: Option<ReclaimEvents>,
            vendor: Option<VendorKill>,
        ) -> Cycle {
            let inp = Inputs {
                snapshot: &s.0,
                wake,
                watermarks: Some(self.wm),
                watermarks_fresh: true,
                now_ms: t,
                page_kb: PAGE_KB,
                events,
                vendor,
            };
            decide(&mut self.st, &self.cfg, &inp)
        }

        /// A cycle, then the kill's outcome applied as the daemon does.
        fn cycle_then_kill(&mut self, t: u64, s: Snap, wake: Wakeup, killed: bool) -> Cycle {
            let c = self.cycle(t, s, wake);
            if let Some(k) = &c.kill {
                after_kill(&mut self.st, &self.cfg, k, killed);
            }
            c
        }
    }

    fn kill(c: &Cycle) -> Option<(KillReason, i32)> {
        c.kill.map(|k| (k.reason, k.min_adj))
    }

    // ---------------------------------------------------------------------------------------
    // The decision table, one row per case.
    // ---------------------------------------------------------------------------------------

    /// What a row expects.
    struct Expect {
        reason: KillReason,
        /// AOSP's number for the reason.
        code: i32,
        min_adj: i32,
        text: &'static str,
        /// Rows g and h cut the thrashing limit after a successful kill.
        cut: bool,
    }

    /// One case: a primed strategy, some state, one cycle at [`T`].
    struct Row {
        name: &'static str,
        cfg: Config,
        /// The previous cycle killed (`cycle_after_kill`).
        after_kill: bool,
        /// Filecache checks are on (a thrashing kill happened before).
        filecache_check: bool,
        /// The memevents' reclaim state (`None`: vmstat counters).
        events: Option<ReclaimEvents>,
        /// A vendor kill request.
        vendor: Option<VendorKill>,
        /// The thrashing limit in force (decayed by earlier kills).
        limit: Option<i64>,
        s: Snap,
        wake: Wakeup,
        expect: Option<Expect>,
    }

    fn row(name: &'static str, s: Snap, wake: Wakeup) -> Row {
        Row {
            name,
            cfg: Config::default(),
            after_kill: false,
            filecache_check: false,
            events: None,
            vendor: None,
            limit: None,
            s,
            wake,
            expect: None,
        }
    }

    impl Row {
        fn cfg(mut self, cfg: Config) -> Row {
            self.cfg = cfg;
            self
        }
        fn after_kill(mut self) -> Row {
            self.after_kill = true;
            self
        }
        fn filecache_check(mut self) -> Row {
            self.filecache_check = true;
            self
        }
        /// memevents: direct reclaim since `t`.
        fn direct_since(mut self, t: u64) -> Row {
            self.events = Some(ReclaimEvents { direct_since_ms: Some(t), kswapd: false });
            self
        }
        /// memevents: the reclaim state.
        fn events(mut self, direct_since_ms: Option<u64>, kswapd: bool) -> Row {
            self.events = Some(ReclaimEvents { direct_since_ms, kswapd });
            self
        }
        fn vendor(mut self, reason: i32, min_adj: i32) -> Row {
            self.vendor = Some(VendorKill { reason, min_adj });
            self
        }
        fn limit(mut self, limit: i64) -> Row {
            self.limit = Some(limit);
            self
        }
        fn kills(mut self, reason: KillReason, code: i32, min_adj: i32, text: &'static str) -> Row {
            let cut = matches!(
                reason,
                KillReason::LowMemAndThrashing | KillReason::DirectReclAndThrashing
            );
            self.expect = Some(Expect { reason, code, min_adj, text, cut });
            self
        }
        fn no_kill(self) -> Row {
            self
        }

        fn run(&self) -> (Cycle, Lmkd) {
            let mut l = Lmkd::primed(self.cfg.clone());
            l.st.killing = self.after_kill;
            l.st.check_filecache = self.filecache_check;
            if let Some(limit) = self.limit {
                l.st.thrashing_limit = limit;
            }
            let c = l.cycle_with(T, self.s, self.wake, self.events, self.vendor);
            (c, l)
        }

        fn check(&self) {
            let (c, _) = self.run();
            match (&self.expect, &c.kill) {
                (None, None) => {}
                (None, Some(k)) => panic!("{}: expected no kill, got {k:?}", self.name),
                (Some(e), None) => panic!("{}: expected {:?}, got no kill", self.name, e.reason),
                (Some(e), Some(k)) => {
                    assert_eq!(k.reason, e.reason, "{}: reason", self.name);
                    assert_eq!(k.reason.code(), e.code, "{}: reason code", self.name);
                    assert_eq!(k.min_adj, e.min_adj, "{}: min adj", self.name);
                    assert_eq!(k.text.as_str(), e.text, "{}: text", self.name);
                    assert_eq!(k.cut_thrashing_limit, e.cut, "{}: cut_thrashing_limit", self.name);
                    assert_eq!(k.thrashing, c.thrashing, "{}: thrashing recorded", self.name);
                }
            }
        }
    }

    /// `ro.lmk.swap_util_max=50` and 300000 kB of swap free: 700000 kB used out of 200000 kB
    /// of anon + 700000 kB swapped = 77 %; swap is not low (300000 ≥ 100000 kB).
    fn util_cfg() -> Config {
        Config { swap_util_max: 50, ..Config::default() }
    }
    const SWAP_UTIL_77: i64 = 300_000;

    fn stuck_cfg() -> Config {
        Config { direct_reclaim_threshold_ms: 100, ..Config::default() }
    }

    fn filecache_cfg() -> Config {
        Config { filecache_min_kb: 10_000, ..Config::default() }
    }

    use KillReason as R;
    use Level::{Critical, Medium};

    #[rustfmt::skip]
    fn rows() -> Vec<Row> {
        vec![
            // b. PRESSURE_AFTER_KILL: the cycle after a kill and still below min.
            // a. A vendor kill request: its reason and min adj, before every other row, with
            // or without pressure.
            row("a: vendor kill, nothing else wrong", snap(), poll(Medium))
                .vendor(7, 300)
                .kills(R::Vendor(7), 1007, 300, "vendor kill with the reason 7, min_score_adj 300"),
            row("a: vendor kill before PRESSURE_AFTER_KILL", snap().free(FREE_MIN).kswapd(1), poll(Medium))
                .after_kill()
                .vendor(999, 0)
                .kills(R::Vendor(999), 1999, 0, "vendor kill with the reason 999, min_score_adj 0"),
            row("b: after a kill, below min", snap().free(FREE_MIN).kswapd(1), poll(Medium))
                .after_kill()
                .kills(R::PressureAfterKill, 0, 0, "min watermark is breached even after kill"),
            row("b: min adj is pressure_after_kill_min_score", snap().free(FREE_MIN).kswapd(1), poll(Medium))
                .cfg(Config { pressure_after_kill_min_score: 100, ..Config::default() })
                .after_kill()
                .kills(R::PressureAfterKill, 0, 100, "min watermark is breached even after kill"),
            row("b needs min: after a kill but only below low", snap().free(FREE_LOW).kswapd(1), poll(Medium))
                .after_kill()
                .kills(R::LowMem, 8, 701, "low watermark is breached"),
            row("b needs a kill in the previous cycle", snap().free(FREE_MIN).kswapd(1), poll(Medium))
                .kills(R::LowMem, 8, 701, "min watermark is breached"),
            // c. NOT_RESPONDING: a critical PSI event (not a poll).
            row("c: critical event", snap().kswapd(1), event(Critical))
                .kills(R::NotResponding, 1, 0, "device is not responding"),
            row("c: a critical poll is not an event", snap().kswapd(1), poll(Critical)).no_kill(),
            row("c: a critical poll below low is LOW_MEM", snap().free(FREE_LOW).kswapd(1), poll(Critical))
                .kills(R::LowMem, 8, 701, "low watermark is breached"),
            row("c: a medium event is not critical", snap().kswapd(1), event(Medium)).no_kill(),
            // d. LOW_SWAP_AND_THRASHING: swap low and thrashing above the undecayed limit.
            row("d: swap low and thrashing 150 %", snap().swap_free(SWAP_LOW).refault(1500), poll(Medium))
                .kills(R::LowSwapAndThrashing, 2, 201,
                       "device is low on swap (50000kB < 100000kB) and thrashing (150%)"),
            row("d: below min, perceptible apps may die", snap().swap_free(SWAP_LOW).refault(1500).free(FREE_MIN), poll(Medium))
                .kills(R::LowSwapAndThrashing, 2, 0,
                       "device is low on swap (50000kB < 100000kB) and thrashing (150%)"),
            row("d: thrashing at the critical limit (300 %)", snap().swap_free(SWAP_LOW).refault(3000), poll(Medium))
                .kills(R::LowSwapAndThrashing, 2, 0,
                       "device is low on swap (50000kB < 100000kB) and thrashing (300%)"),
            row("d: thrashing equal to the limit is not above it", snap().swap_free(SWAP_LOW).refault(1000), poll(Medium))
                .no_kill(),
            row("d: swap at the threshold is not low", snap().swap_free(100_000).refault(1500), poll(Medium))
                .no_kill(),
            row("d uses the undecayed limit", snap().swap_free(SWAP_LOW).refault(950), poll(Medium))
                .limit(90)
                .no_kill(),
            // e. LOW_MEM_AND_SWAP: swap low and a watermark breached.
            row("e: swap low, below low", snap().swap_free(SWAP_LOW).free(FREE_LOW).refault(10), poll(Medium))
                .kills(R::LowMemAndSwap, 3, 201,
                       "low watermark is breached and swap is low (50000kB < 100000kB)"),
            row("e: swap low, below min", snap().swap_free(SWAP_LOW).free(FREE_MIN).refault(10), poll(Medium))
                .kills(R::LowMemAndSwap, 3, 0,
                       "min watermark is breached and swap is low (50000kB < 100000kB)"),
            // AOSP's `wmark < WMARK_HIGH` means below *low*: between low and high is no breach.
            row("e: swap low, below high only is no breach", snap().swap_free(SWAP_LOW).free(FREE_HIGH).refault(10), poll(Medium))
                .no_kill(),
            row("e: thrashing at a lowered critical limit", snap().swap_free(SWAP_LOW).free(FREE_LOW).refault(600), poll(Medium))
                .cfg(Config { thrashing_limit_critical: 50, ..Config::default() })
                .kills(R::LowMemAndSwap, 3, 0,
                       "low watermark is breached and swap is low (50000kB < 100000kB)"),
            row("e: swap low but no watermark breached", snap().swap_free(SWAP_LOW).refault(10), poll(Medium)).no_kill(),
            // f. LOW_MEM_AND_SWAP_UTIL: a watermark breached and swap utilisation high.
            row("f: below low, utilisation 77 % > 50 %", snap().swap_free(SWAP_UTIL_77).free(FREE_LOW).kswapd(1), poll(Medium))
                .cfg(util_cfg())
                .kills(R::LowMemAndSwapUtil, 6, 0,
                       "low watermark is breached and swap utilization is high (77% > 50%)"),
            row("f: below min", snap().swap_free(SWAP_UTIL_77).free(FREE_MIN).kswapd(1), poll(Medium))
                .cfg(util_cfg())
                .kills(R::LowMemAndSwapUtil, 6, 0,
                       "min watermark is breached and swap utilization is high (77% > 50%)"),
            row("f: swap_util_max 100 (default) disables it", snap().swap_free(SWAP_UTIL_77).free(FREE_LOW).kswapd(1), poll(Medium))
                .kills(R::LowMem, 8, 701, "low watermark is breached"),
            row("f: utilisation equal to the max is not above it", snap().swap_free(SWAP_UTIL_77).free(FREE_LOW).kswapd(1), poll(Medium))
                .cfg(Config { swap_util_max: 77, ..Config::default() })
                .kills(R::LowMem, 8, 701, "low watermark is breached"),
            row("f: no watermark breached", snap().swap_free(SWAP_UTIL_77).kswapd(1), poll(Medium))
                .cfg(util_cfg())
                .no_kill(),
            // g. LOW_MEM_AND_THRASHING: a watermark breached and thrashing above the current limit.
            row("g: below low, thrashing 150 %", snap().free(FREE_LOW).refault(1500), poll(Medium))
                .kills(R::LowMemAndThrashing, 4, 201, "low watermark is breached and thrashing (150%)"),
            row("g: below min still spares perceptible apps", snap().free(FREE_MIN).refault(1500), poll(Medium))
                .kills(R::LowMemAndThrashing, 4, 201, "min watermark is breached and thrashing (150%)"),
            row("g: thrashing at the critical limit", snap().free(FREE_LOW).refault(3000), poll(Medium))
                .kills(R::LowMemAndThrashing, 4, 0, "low watermark is breached and thrashing (300%)"),
            row("g: below high only is no breach", snap().free(FREE_HIGH).refault(1500), poll(Medium))
                .no_kill(),
            row("g: thrashing equal to the limit", snap().free(FREE_LOW).refault(1000), poll(Medium))
                .kills(R::LowMem, 8, 701, "low watermark is breached"),
            row("g: uses the decayed limit", snap().free(FREE_LOW).refault(950), poll(Medium))
                .limit(90)
                .kills(R::LowMemAndThrashing, 4, 201, "low watermark is breached and thrashing (95%)"),
            // h. DIRECT_RECL_AND_THRASHING: direct reclaim and thrashing above the current limit.
            row("h: direct reclaim, thrashing 150 %", snap().direct(1).refault(1500), poll(Medium))
                .kills(R::DirectReclAndThrashing, 5, 201, "device is in direct reclaim and thrashing (150%)"),
            row("h: thrashing at the critical limit", snap().direct(1).refault(3000), poll(Medium))
                .kills(R::DirectReclAndThrashing, 5, 0, "device is in direct reclaim and thrashing (300%)"),
            row("h: kswapd is not direct reclaim", snap().kswapd(1).refault(1500), poll(Medium)).no_kill(),
            row("h: uses the decayed limit", snap().direct(1).refault(950), poll(Medium))
                .limit(90)
                .kills(R::DirectReclAndThrashing, 5, 201, "device is in direct reclaim and thrashing (95%)"),
            // i. DIRECT_RECL_STUCK: direct reclaim for longer than direct_reclaim_threshold_ms.
            row("i: direct reclaim for 200 ms > 100 ms", snap().direct(1), poll(Medium))
                .cfg(stuck_cfg())
                .direct_since(T - 200)
                .kills(R::DirectReclStuck, 9, 0, "device is stuck in direct reclaim (200ms > 100ms)"),
            row("i: threshold 0 (default) disables it", snap().direct(1), poll(Medium))
                .direct_since(T - 200)
                .no_kill(),
            row("i: a duration equal to the threshold is not above it", snap().direct(1), poll(Medium))
                .cfg(stuck_cfg())
                .direct_since(T - 100)
                .no_kill(),
            row("i: direct reclaim stopped (END seen), kswapd awake", snap(), poll(Medium))
                .cfg(stuck_cfg())
                .events(None, true)
                .no_kill(),
            row("i: without memevents direct reclaim has no duration", snap().direct(1), poll(Medium))
                .cfg(stuck_cfg())
                .no_kill(),
            row("i: memevents say direct reclaim though the counters did not move", snap(), poll(Medium))
                .cfg(stuck_cfg())
                .direct_since(T - 500)
                .kills(R::DirectReclStuck, 9, 0, "device is stuck in direct reclaim (500ms > 100ms)"),
            // j. LOW_FILECACHE_AFTER_THRASHING: checks on, file LRU (999 pages) below the minimum.
            row("j: file LRU 3996 kB < 10000 kB after thrashing", snap().kswapd(1), poll(Medium))
                .cfg(filecache_cfg())
                .filecache_check()
                .kills(R::LowFilecacheAfterThrashing, 7, 201,
                       "filecache is low (3996kB < 10000kB) after thrashing"),
            row("j: only after a thrashing kill", snap().kswapd(1), poll(Medium))
                .cfg(filecache_cfg())
                .no_kill(),
            row("j: file LRU large enough", snap().file_lru(5000).kswapd(1), poll(Medium))
                .cfg(filecache_cfg())
                .filecache_check()
                .no_kill(),
            row("j: file LRU large enough, so LOW_MEM may still apply", snap().file_lru(5000).free(FREE_LOW).kswapd(1), poll(Medium))
                .cfg(filecache_cfg())
                .filecache_check()
                .kills(R::LowMem, 8, 701, "low watermark is breached"),
            row("j: filecache_min_kb 0 (default) disables it", snap().kswapd(1), poll(Medium))
                .filecache_check()
                .no_kill(),
            // k. LOW_MEM: nothing else, a watermark breached.
            row("k: below low", snap().free(FREE_LOW).kswapd(1), poll(Medium))
                .kills(R::LowMem, 8, 701, "low watermark is breached"),
            row("k: below min", snap().free(FREE_MIN).kswapd(1), poll(Medium))
                .kills(R::LowMem, 8, 701, "min watermark is breached"),
            // Between low and high: AOSP's `wmark < WMARK_HIGH` is false, so LOW_MEM (and e, f,
            // g) never fire there, and "low" in the texts always means below low.
            row("k: below high only is no breach", snap().free(FREE_HIGH).kswapd(1), poll(Medium))
                .no_kill(),
            row("f: below high only is no breach", snap().swap_free(SWAP_UTIL_77).free(FREE_HIGH).kswapd(1), poll(Medium))
                .cfg(util_cfg())
                .no_kill(),
            row("k: min adj is lowmem_min_oom_score", snap().free(FREE_LOW).kswapd(1), poll(Medium))
                .cfg(Config { lowmem_min_oom_score: 300, ..Config::default() })
                .kills(R::LowMem, 8, 300, "low watermark is breached"),
            row("k: lowmem_min_oom_score 1001 disables it", snap().free(FREE_LOW).kswapd(1), poll(Medium))
                .cfg(Config { lowmem_min_oom_score: 1001, ..Config::default() })
                .no_kill(),
            row("k: no watermark breached", snap().kswapd(1), poll(Medium)).no_kill(),
            // First match wins.
            row("order: b before c", snap().free(FREE_MIN).kswapd(1), event(Critical))
                .after_kill()
                .kills(R::PressureAfterKill, 0, 0, "min watermark is breached even after kill"),
            row("order: c before d", snap().swap_free(SWAP_LOW).refault(1500), event(Critical))
                .kills(R::NotResponding, 1, 0, "device is not responding"),
            row("order: d before e, g and k", snap().swap_free(SWAP_LOW).refault(1500).free(FREE_LOW), poll(Medium))
                .kills(R::LowSwapAndThrashing, 2, 201,
                       "device is low on swap (50000kB < 100000kB) and thrashing (150%)"),
            row("order: e before f", snap().swap_free(SWAP_LOW).free(FREE_LOW).kswapd(1), poll(Medium))
                .cfg(util_cfg())
                .kills(R::LowMemAndSwap, 3, 201,
                       "low watermark is breached and swap is low (50000kB < 100000kB)"),
            row("order: f before g", snap().swap_free(SWAP_UTIL_77).free(FREE_LOW).refault(1500), poll(Medium))
                .cfg(util_cfg())
                .kills(R::LowMemAndSwapUtil, 6, 0,
                       "low watermark is breached and swap utilization is high (77% > 50%)"),
            row("order: g before h", snap().free(FREE_LOW).refault(1500).direct(1), poll(Medium))
                .kills(R::LowMemAndThrashing, 4, 201, "low watermark is breached and thrashing (150%)"),
            row("order: h before i", snap().refault(1500).direct(1), poll(Medium))
                .cfg(stuck_cfg())
                .direct_since(T - 200)
                .kills(R::DirectReclAndThrashing, 5, 201, "device is in direct reclaim and thrashing (150%)"),
            row("order: i before j", snap().direct(1), poll(Medium))
                .cfg(Config { direct_reclaim_threshold_ms: 100, filecache_min_kb: 10_000, ..Config::default() })
                .filecache_check()
                .direct_since(T - 200)
                .kills(R::DirectReclStuck, 9, 0, "device is stuck in direct reclaim (200ms > 100ms)"),
            row("order: j before k", snap().free(FREE_LOW).kswapd(1), poll(Medium))
                .cfg(filecache_cfg())
                .filecache_check()
                .kills(R::LowFilecacheAfterThrashing, 7, 201,
                       "filecache is low (3996kB < 10000kB) after thrashing"),
        ]
    }

    #[test]
    fn decision_table_rows_b_to_k() {
        let rows = rows();
        for r in &rows {
            r.check();
        }
        // Every reason of the table is expected by some row.
        for code in 0..=9 {
            assert!(
                rows.iter().any(|r| r.expect.as_ref().is_some_and(|e| e.code == code)),
                "no row expects reason {code}"
            );
        }
    }

    #[test]
    fn thrashing_rows_turn_filecache_checks_on() {
        // d, g and h start the filecache checks; the other rows leave them off.
        let cases = [
            (row("d", snap().swap_free(SWAP_LOW).refault(1500), poll(Medium)), true),
            (row("g", snap().free(FREE_LOW).refault(1500), poll(Medium)), true),
            (row("h", snap().direct(1).refault(1500), poll(Medium)), true),
            (row("c", snap().kswapd(1), event(Critical)), false),
            (row("e", snap().swap_free(SWAP_LOW).free(FREE_LOW).kswapd(1), poll(Medium)), false),
            (
                row("f", snap().swap_free(SWAP_UTIL_77).free(FREE_LOW).kswapd(1), poll(Medium))
                    .cfg(util_cfg()),
                false,
            ),
            (
                row("i", snap().direct(1), poll(Medium)).cfg(stuck_cfg()).direct_since(T - 200),
                false,
            ),
            (row("k", snap().free(FREE_LOW).kswapd(1), poll(Medium)), false),
            // A large enough file LRU turns them off.
            (
                row("j off", snap().file_lru(5000).kswapd(1), poll(Medium))
                    .cfg(filecache_cfg())
                    .filecache_check(),
                false,
            ),
            // A small one keeps them on.
            (
                row("j on", snap().kswapd(1), poll(Medium)).cfg(filecache_cfg()).filecache_check(),
                true,
            ),
        ];
        for (r, on) in cases {
            let (c, l) = r.run();
            assert!(c.kill.is_some() || r.name == "j off", "{}: decided a kill", r.name);
            assert_eq!(l.st.check_filecache, on, "{}: check_filecache", r.name);
        }
    }

    // ---------------------------------------------------------------------------------------
    // The early exit.
    // ---------------------------------------------------------------------------------------

    #[test]
    fn psi_wake_without_reclaim_or_refaults_exits_early() {
        let mut l = Lmkd::primed(Config::default());
        // Below min, but nothing moved since the baseline: no decision at all.
        let c = l.cycle(100, snap().free(FREE_MIN), poll(Medium));
        assert!(c.idle);
        assert_eq!(c.kill, None);
        assert_eq!(c.reclaim, Reclaim::None);
        // The same for a critical event: the early exit comes before the table.
        let c = l.cycle(200, snap().free(FREE_MIN), event(Critical));
        assert!(c.idle);
        assert_eq!(c.kill, None);
        // Refaults moving is enough to decide.
        let c = l.cycle(300, snap().free(FREE_MIN).refault(1), poll(Medium));
        assert!(!c.idle);
        assert_eq!(kill(&c), Some((R::LowMem, 701)));
    }

    #[test]
    fn reclaim_alone_prevents_the_early_exit() {
        for (name, s) in [
            ("kswapd", snap().kswapd(5)),
            ("pgrefill", snap().pgrefill(5)),
            ("direct", snap().direct(5)),
        ] {
            let mut l = Lmkd::primed(Config::default());
            let c = l.cycle(100, s.free(FREE_LOW), poll(Medium));
            assert!(!c.idle, "{name}");
            let expected = if name == "direct" { Reclaim::Direct } else { Reclaim::Kswapd };
            assert_eq!(c.reclaim, expected, "{name}");
            assert_eq!(kill(&c), Some((R::LowMem, 701)), "{name}");
        }
    }

    #[test]
    fn vmpressure_wake_does_not_exit_early() {
        let mut l = Lmkd::primed(Config::default());
        let c = l.cycle(100, snap().free(FREE_MIN), vmp_event(Medium));
        assert!(!c.idle);
        assert_eq!(kill(&c), Some((R::LowMem, 701)));
        assert_eq!(c.kill.unwrap().text.as_str(), "min watermark is breached");
    }

    // ---------------------------------------------------------------------------------------
    // Thrashing: computation, window, carry-over, limit decay.
    // ---------------------------------------------------------------------------------------

    #[test]
    fn thrashing_is_refaults_over_the_file_lru_of_the_window_start() {
        let mut l = Lmkd::primed(Config::default());
        // 1234 refaults × 100 / (999 + 1) = 123 (integer division).
        let c = l.cycle(500, snap().refault(1234), poll(Medium));
        assert_eq!(c.thrashing, 123);
        // The divisor is the LRU when the window started, not the current one.
        let c = l.cycle(900, snap().refault(2000).file_lru(4999), poll(Medium));
        assert_eq!(c.thrashing, 200);
        assert_eq!(l.st.max_thrashing, 200);
    }

    #[test]
    fn thrashing_window_carry_over_and_decay() {
        struct Case {
            name: &'static str,
            /// The thrashing limit in force when the window ends.
            limit: i64,
            /// When the window-crossing cycle runs (the window started at 0).
            t: u64,
            /// Refaults at that time (since the window start: growth = refaults / 10 %).
            refault: i64,
            /// Carried-over growth (the cycle's thrashing: nothing new in the fresh window).
            carry: i64,
        }
        #[rustfmt::skip]
        let cases = [
            Case { name: "1000 ms is still inside the window", limit: 100, t: 1000, refault: 1500, carry: 0 },
            Case { name: "one window, growth 80 below the limit: halved", limit: 100, t: 1500, refault: 800, carry: 40 },
            Case { name: "one window, growth 150 above the limit: kept", limit: 100, t: 1500, refault: 1500, carry: 150 },
            Case { name: "one window, growth equal to the limit: kept", limit: 100, t: 1999, refault: 1000, carry: 100 },
            Case { name: "one window, growth 95 above a decayed limit 90: kept", limit: 90, t: 1500, refault: 950, carry: 95 },
            Case { name: "two windows: shifted by 2 even above the limit", limit: 100, t: 2500, refault: 1500, carry: 37 },
            Case { name: "three windows: shifted by 3", limit: 100, t: 3999, refault: 1600, carry: 20 },
            Case { name: "64 windows: gone (no overflowing shift)", limit: 100, t: 64_001, refault: 1500, carry: 0 },
            Case { name: "a very long gap: gone", limit: 100, t: 100_000_000, refault: 1_000_000, carry: 0 },
        ];
        for case in cases {
            let mut l = Lmkd::primed(Config::default());
            l.st.thrashing_limit = case.limit;
            let c = l.cycle(case.t, snap().refault(case.refault), poll(Medium));
            if case.t <= THRASHING_RESET_INTERVAL_MS {
                // Inside the window: computed, not carried.
                assert_eq!(c.thrashing, case.refault / 10, "{}", case.name);
                assert_eq!(l.st.prev_thrash_growth, 0, "{}", case.name);
                continue;
            }
            assert_eq!(c.thrashing, case.carry, "{}: thrashing at the window end", case.name);
            assert_eq!(l.st.prev_thrash_growth, case.carry, "{}: carry-over", case.name);
            // The window was re-based and the limit restored.
            assert_eq!(l.st.thrashing_reset_ms, case.t, "{}", case.name);
            assert_eq!(l.st.thrashing_limit, 100, "{}: limit restored", case.name);
            // The carry-over adds to the growth of the new window (100 refaults = 10 %).
            let c = l.cycle(case.t + 100, snap().refault(case.refault + 100), poll(Medium));
            assert_eq!(c.thrashing, 10 + case.carry, "{}: next window", case.name);
        }
    }

    #[test]
    fn carried_over_thrashing_retries_a_kill_when_memory_runs_low() {
        let mut l = Lmkd::primed(Config::default());
        // 150 % during the first window, but no watermark breached: nothing to kill.
        assert_eq!(kill(&l.cycle(800, snap().refault(1500), poll(Medium))), None);
        // The window ends: the growth is above the limit, kept; now memory is low: kill.
        let c = l.cycle(1100, snap().refault(1510).free(FREE_LOW), poll(Medium));
        assert_eq!(c.thrashing, 151);
        assert_eq!(kill(&c), Some((R::LowMemAndThrashing, 201)));
    }

    /// AOSP's 2025 change: the thrashing baseline (file LRU, refaults, reset time, carried
    /// growth) is taken at the first PSI event, not only after a kill, so the refaults since
    /// boot never count as thrashing.
    #[test]
    fn the_first_event_sets_the_thrashing_baseline() {
        let cfg = Config::default();
        let mut st = PsiState::new(&cfg);
        let s = snap().refault(5_000_000).file_lru(12_345);
        let first = |st: &mut PsiState, t, s: Snap| {
            let inp = Inputs {
                snapshot: &s.0,
                wake: event(Medium),
                watermarks: Some(wm()),
                watermarks_fresh: true,
                now_ms: t,
                page_kb: PAGE_KB,
                events: None,
                vendor: None,
            };
            decide(st, &cfg, &inp)
        };
        let c = first(&mut st, 7_000, s);
        assert_eq!(c.thrashing, 0, "five million refaults since boot are not thrashing");
        assert_eq!((st.init_ws_refault, st.base_file_lru), (5_000_000, 12_345));
        assert_eq!((st.thrashing_reset_ms, st.prev_thrash_growth), (7_000, 0));
        // From there on, growth counts against the baseline's LRU.
        let c = first(&mut st, 7_500, snap().refault(5_012_346).file_lru(12_345).kswapd(1));
        assert_eq!(c.thrashing, 12_346 * 100 / 12_346);
    }

    #[test]
    fn a_kill_resets_the_thrashing_baseline() {
        let mut l = Lmkd::primed(Config::default());
        let c = l.cycle_then_kill(100, snap().free(FREE_LOW).refault(1500), poll(Medium), true);
        assert_eq!(kill(&c), Some((R::LowMemAndThrashing, 201)));
        assert!(l.st.killing);
        assert_eq!(l.st.max_thrashing, 0, "a successful kill resets max_thrashing");
        // The cycle after the kill re-bases: refaults so far no longer count.
        let c = l.cycle(110, snap().refault(1600), poll(Medium));
        assert!(!l.st.killing);
        assert_eq!(c.thrashing, 0);
        assert_eq!(l.st.base_file_lru, LRU);
        assert_eq!(l.st.init_ws_refault, 1600);
        assert_eq!(l.st.thrashing_reset_ms, 110);
        let c = l.cycle(200, snap().refault(1700), poll(Medium));
        assert_eq!(c.thrashing, 10);
    }

    #[test]
    fn thrashing_kills_cut_the_limit_until_the_window_resets() {
        let cfg = Config::default();
        let mut l = Lmkd::primed(cfg.clone());
        // g: a successful thrashing kill cuts the limit by 10 %: 100 → 90.
        let c = l.cycle_then_kill(100, snap().free(FREE_LOW).refault(1500), poll(Medium), true);
        assert!(c.kill.unwrap().cut_thrashing_limit);
        assert_eq!(l.st.thrashing_limit, 90);
        // The cycle after the kill re-bases (above every watermark: nothing to do).
        assert_eq!(kill(&l.cycle(110, snap().refault(1500).kswapd(1), poll(Medium))), None);
        // 95 % is above the decayed limit: g again, and the limit goes to 81.
        let c = l.cycle_then_kill(200, snap().free(FREE_LOW).refault(2450), poll(Medium), true);
        assert_eq!(kill(&c), Some((R::LowMemAndThrashing, 201)));
        assert_eq!(l.st.thrashing_limit, 81);
        // A window later (from the re-base at 210) the limit is back at thrashing_limit.
        l.cycle(210, snap().refault(2450).kswapd(2), poll(Medium));
        l.cycle(1300, snap().refault(2450).kswapd(3), poll(Medium));
        assert_eq!(l.st.thrashing_limit, 100);
        // 85 % is no longer thrashing: plain LOW_MEM.
        let c = l.cycle(1400, snap().free(FREE_LOW).refault(3300), poll(Medium));
        assert_eq!(c.thrashing, 85);
        assert_eq!(kill(&c), Some((R::LowMem, 701)));
    }

    #[test]
    fn after_kill_applies_only_successful_kills_and_cuts_only_thrashing_limits() {
        let cfg = Config::default();
        let thrashing_kill = KillDecision {
            reason: R::LowMemAndThrashing,
            cut_thrashing_limit: true,
            ..KillDecision::default()
        };
        let other_kill = KillDecision { reason: R::LowMem, ..KillDecision::default() };
        let mut st = PsiState::new(&cfg);
        st.max_thrashing = 70;
        // Nobody was killed: nothing changes.
        after_kill(&mut st, &cfg, &thrashing_kill, false);
        assert!(!st.killing);
        assert_eq!((st.thrashing_limit, st.max_thrashing), (100, 70));
        // A kill without the cut flag.
        after_kill(&mut st, &cfg, &other_kill, true);
        assert!(st.killing);
        assert_eq!((st.thrashing_limit, st.max_thrashing), (100, 0));
        // Cuts compound: 100 → 90 → 81 → 72.
        for limit in [90, 81, 72] {
            after_kill(&mut st, &cfg, &thrashing_kill, true);
            assert_eq!(st.thrashing_limit, limit);
        }
        // ro.lmk.thrashing_limit_decay=50 halves it.
        let cfg = Config { thrashing_limit_decay: 50, ..Config::default() };
        let mut st = PsiState::new(&cfg);
        after_kill(&mut st, &cfg, &thrashing_kill, true);
        assert_eq!(st.thrashing_limit, 50);
    }

    #[test]
    fn max_thrashing_is_reported_with_the_kill() {
        let mut l = Lmkd::primed(Config::default());
        assert_eq!(l.cycle(500, snap().refault(900), poll(Medium)).thrashing, 90);
        // The window ends: 90 % < limit, halved to 45; the maximum stays 90.
        let c = l.cycle_then_kill(
            1200,
            snap().refault(900).free(FREE_LOW).kswapd(1),
            poll(Medium),
            true,
        );
        let k = c.kill.unwrap();
        assert_eq!((k.reason, k.thrashing, k.max_thrashing), (R::LowMem, 45, 90));
        assert_eq!(l.st.max_thrashing, 0);
    }

    // ---------------------------------------------------------------------------------------
    // Direct reclaim duration, across cycles.
    // ---------------------------------------------------------------------------------------

    #[test]
    fn direct_reclaim_stuck_is_measured_from_the_begin_event() {
        let mut l = Lmkd::primed(stuck_cfg());
        let dr = |since| Some(ReclaimEvents { direct_since_ms: Some(since), kswapd: false });
        // A DIRECT_RECLAIM_BEGIN at 100 and no END yet: the duration is the time since it,
        // whatever the scan counters do.
        assert_eq!(kill(&l.cycle_with(150, snap(), poll(Medium), dr(100), None)), None);
        assert_eq!(
            kill(&l.cycle_with(200, snap(), poll(Medium), dr(100), None)),
            None,
            "100 ms is not > 100"
        );
        let c = l.cycle_with(250, snap(), poll(Medium), dr(100), None);
        assert_eq!(kill(&c), Some((R::DirectReclStuck, 0)));
        assert_eq!(
            c.kill.unwrap().text.as_str(),
            "device is stuck in direct reclaim (150ms > 100ms)"
        );
        // The END came; kswapd still runs: no direct reclaim.
        let kswapd = Some(ReclaimEvents { direct_since_ms: None, kswapd: true });
        let c = l.cycle_with(260, snap(), poll(Medium), kswapd, None);
        assert_eq!((c.reclaim, kill(&c)), (Reclaim::Kswapd, None));
        // A new BEGIN at 300: its own clock.
        assert_eq!(kill(&l.cycle_with(390, snap(), poll(Medium), dr(300), None)), None);
        assert_eq!(
            kill(&l.cycle_with(401, snap(), poll(Medium), dr(300), None)),
            Some((R::DirectReclStuck, 0))
        );
    }

    #[test]
    fn without_memevents_direct_reclaim_is_never_stuck() {
        // AOSP measures the duration from the memevent only; the scan counters say "direct
        // reclaim now", never for how long.
        let mut l = Lmkd::primed(stuck_cfg());
        for (i, t) in (100..2000).step_by(50).enumerate() {
            let c = l.cycle(t, snap().direct(i64::try_from(i).unwrap() + 1), poll(Medium));
            assert_eq!((c.reclaim, kill(&c)), (Reclaim::Direct, None), "at {t} ms");
        }
    }

    // ---------------------------------------------------------------------------------------
    // Filecache checks, across cycles.
    // ---------------------------------------------------------------------------------------

    #[test]
    fn low_filecache_keeps_killing_after_thrashing_until_the_cache_recovers() {
        let mut l = Lmkd::primed(filecache_cfg());
        // A thrashing kill starts the checks.
        let c = l.cycle_then_kill(100, snap().free(FREE_LOW).refault(1500), poll(Medium), true);
        assert_eq!(kill(&c), Some((R::LowMemAndThrashing, 201)));
        assert!(l.st.check_filecache);
        // Memory is fine now, but the file cache (3996 kB) is below 10000 kB: kill again.
        let c = l.cycle_then_kill(110, snap().refault(1500).kswapd(1), poll(Medium), true);
        assert_eq!(kill(&c), Some((R::LowFilecacheAfterThrashing, 201)));
        let c = l.cycle_then_kill(120, snap().refault(1500).kswapd(2), poll(Medium), true);
        assert_eq!(kill(&c), Some((R::LowFilecacheAfterThrashing, 201)));
        // The cache grew to 20000 kB: checks stop.
        assert_eq!(
            kill(&l.cycle(130, snap().refault(1500).kswapd(3).file_lru(5000), poll(Medium))),
            None
        );
        assert!(!l.st.check_filecache);
        // The cache shrinks again, but without a new thrashing kill nothing happens.
        assert_eq!(kill(&l.cycle(140, snap().refault(1500).kswapd(4), poll(Medium))), None);
    }

    // ---------------------------------------------------------------------------------------
    // Critical stall.
    // ---------------------------------------------------------------------------------------

    #[test]
    fn critical_stall_lets_perceptible_apps_die() {
        let stall = |limit: i64| Config { stall_limit_critical: limit, ..Config::default() };
        #[rustfmt::skip]
        let cases = [
            // (name, stall_limit_critical, full avg10 in hundredths, snapshot, expected)
            ("25.00 % > 20: LOW_MEM at 0", stall(20), 2500, snap().free(FREE_LOW).kswapd(1), Some((R::LowMem, 0))),
            ("20.01 % > 20", stall(20), 2001, snap().free(FREE_LOW).kswapd(1), Some((R::LowMem, 0))),
            ("20.00 % is not above 20", stall(20), 2000, snap().free(FREE_LOW).kswapd(1), Some((R::LowMem, 701))),
            ("applies to thrashing kills", stall(20), 2500, snap().free(FREE_LOW).refault(1500), Some((R::LowMemAndThrashing, 0))),
            ("a stall alone does not kill", stall(20), 2500, snap().kswapd(1), None),
            ("default 100 is never exceeded (quirk 4)", Config::default(), 9999, snap().free(FREE_LOW).kswapd(1), Some((R::LowMem, 701))),
        ];
        for (name, cfg, avg10, s, expected) in cases {
            let mut l = Lmkd::primed(cfg);
            let c = l.cycle(T, s.psi_full10(avg10), poll(Medium));
            assert_eq!(kill(&c), expected, "{name}");
        }
    }

    // ---------------------------------------------------------------------------------------
    // Watermarks.
    // ---------------------------------------------------------------------------------------

    #[test]
    fn lowest_watermark_compares_free_minus_cma_in_pages() {
        // wm(): min 10000, low 12500, high 15000 pages.
        #[rustfmt::skip]
        let cases = [
            // (MemFree kB, CmaFree kB, expected)
            (39_996, 0, Wmark::Min),   // 9999 pages
            (40_000, 0, Wmark::Low),   // 10000: not below min
            (40_003, 0, Wmark::Low),   // 10000 pages (kB → pages rounds down)
            (49_999, 0, Wmark::Low),   // 12499
            (50_000, 0, Wmark::High),  // 12500
            (59_999, 0, Wmark::High),  // 14999
            (60_000, 0, Wmark::None),  // 15000
            (60_000, 4, Wmark::High),  // CMA does not count: 14999
            (60_000, 20_004, Wmark::Min), // 9999
            (0, 0, Wmark::Min),
        ];
        for (free, cma, expected) in cases {
            let s = snap().free(free).cma(cma);
            assert_eq!(
                lowest_watermark(&s.0, &wm(), PAGE_KB),
                expected,
                "free {free} kB, cma {cma} kB"
            );
        }
        // The cycle reports what it compared.
        let mut l = Lmkd::primed(Config::default());
        assert_eq!(l.cycle(T, snap().free(FREE_HIGH).kswapd(1), poll(Medium)).wmark, Wmark::High);
    }

    /// The engine's use of the strategy: decide with the cached watermarks and, when the cycle
    /// asks (the first kill ever), again with the fresh ones (`None`: the refresh failed).
    /// Returns the cycle and whether fresh watermarks were asked for.
    fn decide_with(
        l: &mut Lmkd,
        cached: Watermarks,
        fresh: Option<Watermarks>,
        t: u64,
        s: Snap,
    ) -> (Cycle, bool) {
        let inp = Inputs {
            snapshot: &s.0,
            wake: poll(Medium),
            watermarks: Some(cached),
            watermarks_fresh: false,
            now_ms: t,
            page_kb: PAGE_KB,
            events: None,
            vendor: None,
        };
        let c = decide(&mut l.st, &l.cfg, &inp);
        if !c.wants_fresh_watermarks {
            return (c, false);
        }
        assert!(c.kill.is_none(), "no kill before the fresh watermarks are in");
        let again = Inputs { watermarks: fresh, ..inp };
        (decide_again(&mut l.st, &l.cfg, &again, &c), true)
    }

    #[test]
    fn first_kill_refreshes_stale_watermarks_and_may_withdraw() {
        // The stale watermarks say 45000 kB is below low; the fresh ones (a quarter) say fine.
        let fresh = Watermarks { min: 2_500, low: 3_125, high: 3_750, ..Watermarks::default() };
        let mut l = Lmkd::primed(Config::default());
        assert!(l.st.wants_fresh_watermarks());
        // No kill in sight: no fresh watermarks asked for.
        let (c, asked) = decide_with(&mut l, wm(), Some(fresh), 100, snap().kswapd(1));
        assert_eq!((kill(&c), asked), (None, false));
        // The first kill: fresh watermarks, re-evaluated against them, withdrawn.
        let (c, asked) =
            decide_with(&mut l, wm(), Some(fresh), 200, snap().free(FREE_LOW).kswapd(2));
        assert!(asked);
        assert_eq!(kill(&c), None);
        assert_eq!(c.wmark, Wmark::None);
        assert!(!l.st.wants_fresh_watermarks(), "asked once");
        // Later kills do not ask again.
        let (c, asked) =
            decide_with(&mut l, fresh, Some(fresh), 300, snap().free(12_000).kswapd(3));
        assert_eq!((kill(&c), asked), (Some((R::LowMem, 701)), false));
        let (c, asked) =
            decide_with(&mut l, fresh, Some(fresh), 400, snap().free(12_000).kswapd(4));
        assert_eq!((kill(&c), asked), (Some((R::LowMem, 701)), false));
    }

    #[test]
    fn first_kill_refresh_confirms_the_kill() {
        let mut l = Lmkd::primed(Config::default());
        let (c, asked) =
            decide_with(&mut l, wm(), Some(wm()), 100, snap().free(FREE_LOW).kswapd(1));
        assert_eq!((kill(&c), asked), (Some((R::LowMem, 701)), true));
        let (c, asked) =
            decide_with(&mut l, wm(), Some(wm()), 200, snap().free(FREE_LOW).kswapd(2));
        assert_eq!((kill(&c), asked), (Some((R::LowMem, 701)), false));
    }

    #[test]
    fn first_kill_refresh_failure_skips_the_cycle_once() {
        let mut l = Lmkd::primed(Config::default());
        // The fresh computation fails: no decision this cycle (AOSP returns).
        let (c, asked) = decide_with(&mut l, wm(), None, 100, snap().free(FREE_LOW).kswapd(1));
        assert_eq!((kill(&c), asked), (None, true));
        // The next cycle does not ask again and decides with what the engine has.
        let (c, asked) = decide_with(&mut l, wm(), None, 200, snap().free(FREE_LOW).kswapd(2));
        assert_eq!((kill(&c), asked), (Some((R::LowMem, 701)), false));
    }

    // ---------------------------------------------------------------------------------------
    // Swap helpers.
    // ---------------------------------------------------------------------------------------

    #[test]
    fn free_swap_is_capped_by_compressible_memory() {
        #[rustfmt::skip]
        let cases = [
            // (swap_compression_ratio, SwapFree, MemFree, Inactive(file), expected kB)
            (0, 500_000, 10_000, 20_000, 500_000), // ratio 0: SwapFree as is
            (1, 500_000, 10_000, 20_000, 30_000),  // min(SwapFree, easy_available × 1)
            (1, 20_000, 10_000, 20_000, 20_000),
            (2, 500_000, 10_000, 20_000, 60_000),
        ];
        for (ratio, swap_free, free, inactive_file, expected) in cases {
            let cfg = Config { swap_compression_ratio: ratio, ..Config::default() };
            let mut s = snap().swap_free(swap_free).free(free);
            s.0.meminfo.inactive_file = inactive_file;
            assert_eq!(free_swap_kb(&s.0, &cfg), expected, "ratio {ratio}, SwapFree {swap_free}");
        }
    }

    #[test]
    fn swap_utilization_is_used_swap_over_swappable_memory() {
        let ratio = |r: i64| Config { swap_compression_ratio: r, ..Config::default() };
        let mut s = snap().swap_free(600_000);
        s.0.meminfo.active_anon = 300_000;
        s.0.meminfo.inactive_anon = 200_000;
        s.0.meminfo.shmem = 100_000;
        // 400000 used / (600000 anon + shmem + 400000 used) = 40 %.
        assert_eq!(swap_utilization(&s.0, &ratio(0)), 40);
        // With the compression estimate only 100000 kB count as free: 900000 / 1500000.
        s.0.meminfo.mem_free = 50_000;
        s.0.meminfo.inactive_file = 50_000;
        assert_eq!(swap_utilization(&s.0, &ratio(1)), 60);
        // Nothing swappable and no swap.
        let empty = Snapshot::default();
        assert_eq!(swap_utilization(&empty, &ratio(1)), 0);
    }

    #[test]
    fn swap_is_low_below_the_percentage_unless_it_is_zero() {
        let mut l = Lmkd::primed(Config::default());
        assert!(l.cycle(T, snap().swap_free(99_999).kswapd(1), poll(Medium)).swap_is_low);
        let mut l = Lmkd::primed(Config::default());
        assert!(!l.cycle(T, snap().swap_free(100_000).kswapd(1), poll(Medium)).swap_is_low);
        let mut l = Lmkd::primed(Config { swap_free_low_percentage: 0, ..Config::default() });
        assert!(!l.cycle(T, snap().swap_free(0).kswapd(1), poll(Medium)).swap_is_low);
        // The compression estimate counts: SwapFree is fine but little is compressible.
        let mut l = Lmkd::primed(Config::default());
        let mut s = snap().kswapd(1).free(30_000);
        s.0.meminfo.inactive_file = 30_000;
        assert!(l.cycle(T, s, poll(Medium)).swap_is_low);
    }

    // ---------------------------------------------------------------------------------------
    // Polling requests.
    // ---------------------------------------------------------------------------------------

    #[test]
    fn polling_requests() {
        use PollUpdate::{DoNotChange, Start};
        #[rustfmt::skip]
        let cases = [
            // (name, snapshot, wake, expected update, expected interval)
            ("an event starts polling", snap().kswapd(1), event(Medium), Start, LONG_INTERVAL_MS),
            ("an event starts polling even when idle", snap(), event(Medium), Start, LONG_INTERVAL_MS),
            ("an idle poll changes nothing", snap(), poll(Medium), DoNotChange, LONG_INTERVAL_MS),
            ("kswapd alone does not extend polling", snap().kswapd(1), poll(Medium), DoNotChange, LONG_INTERVAL_MS),
            ("direct reclaim extends polling", snap().direct(1), poll(Medium), Start, LONG_INTERVAL_MS),
            ("a kill decision: 10 ms", snap().free(FREE_LOW).kswapd(1), poll(Medium), Start, SHORT_INTERVAL_MS),
            ("low swap: 10 ms", snap().swap_free(SWAP_LOW).kswapd(1), poll(Medium), DoNotChange, SHORT_INTERVAL_MS),
            ("low swap, idle: 10 ms", snap().swap_free(SWAP_LOW), poll(Medium), DoNotChange, SHORT_INTERVAL_MS),
        ];
        for (name, s, wake, update, interval) in cases {
            let mut l = Lmkd::primed(Config::default());
            let c = l.cycle(T, s, wake);
            assert_eq!((c.poll, c.interval_ms), (update, interval), "{name}");
        }
        assert_eq!((SHORT_INTERVAL_MS, LONG_INTERVAL_MS), (10, 100));
    }

    #[test]
    fn after_a_kill_polling_continues_while_free_memory_is_below_low() {
        use PollUpdate::{DoNotChange, Start};
        let quiet = |free| snap().free(free).kswapd(1);
        let mut l = Lmkd::primed(Config::default());
        let c = l.cycle_then_kill(T, quiet(FREE_LOW), poll(Medium), true);
        assert!(c.kill.is_some(), "the setup kills");
        let c = l.cycle(T + 10, quiet(FREE_OK), poll(Medium));
        assert!(c.idle, "the after-kill cycle: nothing moves");
        let after = T + 10;
        #[rustfmt::skip]
        let cases = [
            // (name, time, free kB, expected update, expected watermark)
            ("below low, 2.5 s after", after + 2_500, FREE_LOW, Start, Wmark::Low),
            ("below min, 9 s after", after + 9_000, FREE_MIN, Start, Wmark::Min),
            ("below high only", after + 2_500, FREE_HIGH, DoNotChange, Wmark::High),
            ("above every watermark", after + 2_500, FREE_OK, DoNotChange, Wmark::None),
            ("below low, but too long after", after + AFTER_KILL_WATCH_MS + 1, FREE_LOW, DoNotChange, Wmark::None),
        ];
        for (name, t, free, update, wmark) in cases {
            let c = l.cycle(t, quiet(free), poll(Medium));
            assert!(c.idle && c.kill.is_none(), "{name}: a quiet cycle");
            assert_eq!((c.poll, c.wmark), (update, wmark), "{name}");
        }
        // Without a kill, AOSP's rule alone: a quiet cycle below low does not extend polling.
        let mut fresh = Lmkd::primed(Config::default());
        let c = fresh.cycle(T, snap().free(FREE_LOW), poll(Medium));
        assert_eq!((c.idle, c.poll), (true, DoNotChange));
    }
}
