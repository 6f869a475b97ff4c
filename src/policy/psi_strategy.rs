//! AOSP's new strategy (`__mp_event_psi`, reference §4.5): one decision per PSI event or poll.
//!
//! Pure: the inputs are a snapshot, the watermarks, the configuration, the wake-up and the
//! time; the state is [`PsiState`]; the output is a [`Cycle`] with the kill decision, if any, and
//! the polling request.

use std::fmt::Write as _;

use super::{KillDecision, KillReason, Wakeup};
use crate::config::Config;
use crate::memory::{Snapshot, Watermarks};
use crate::pressure::poll::{PollUpdate, LONG_INTERVAL_MS, SHORT_INTERVAL_MS};
use crate::pressure::Level;
use crate::report::ReasonText;

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
    direct_reclaim_start_ms: Option<u64>,
    initialised: bool,
}

impl PsiState {
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
            direct_reclaim_start_ms: None,
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
}

/// Where the watermarks come from: `force` asks for a fresh computation.
pub trait WatermarkSource {
    /// The watermarks, recomputed when `force` (or when the source decides they are stale).
    fn watermarks(&mut self, force: bool, now_ms: u64) -> Option<Watermarks>;
}

/// Fixed watermarks (tests and replay).
impl WatermarkSource for Watermarks {
    fn watermarks(&mut self, _force: bool, _now_ms: u64) -> Option<Watermarks> {
        Some(*self)
    }
}

/// One cycle of the new strategy. The caller has already skipped cycles while a kill is
/// awaited (step 1). `kill_result` is applied by [`after_kill`] once the kill was attempted.
pub fn decide(
    st: &mut PsiState,
    cfg: &Config,
    s: &Snapshot,
    wake: Wakeup,
    wmarks: &mut dyn WatermarkSource,
    now_ms: u64,
    page_kb: i64,
) -> Cycle {
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
        st.base_file_lru = file_lru;
        st.init_ws_refault = refaults;
        st.thrashing_reset_ms = now_ms;
        st.prev_thrash_growth = 0;
    }

    let free_swap = free_swap_kb(s, cfg);
    let swap_low_threshold = s.meminfo.swap_total * cfg.swap_free_low_percentage / 100;
    let swap_is_low = cfg.swap_free_low_percentage > 0 && free_swap < swap_low_threshold;

    let in_direct = vs.pgscan_direct != st.init_pgscan_direct;
    let in_kswapd = vs.pgscan_kswapd != st.init_pgscan_kswapd || vs.pgrefill != st.init_pgrefill;
    let reclaim = if in_direct {
        st.init_pgscan_direct = vs.pgscan_direct;
        st.init_pgscan_kswapd = vs.pgscan_kswapd;
        st.init_pgrefill = vs.pgrefill;
        st.direct_reclaim_start_ms.get_or_insert(now_ms);
        Reclaim::Direct
    } else {
        st.direct_reclaim_start_ms = None;
        if in_kswapd {
            st.init_pgscan_kswapd = vs.pgscan_kswapd;
            st.init_pgrefill = vs.pgrefill;
            Reclaim::Kswapd
        } else {
            Reclaim::None
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
    };
    if reclaim == Reclaim::None && refaults == st.prev_workingset_refault && wake.is_psi() {
        // Not thrashing and not reclaiming: nothing to decide until these counters move.
        cycle.idle = true;
        finish_polling(st, &mut cycle, wake);
        return cycle;
    }
    st.prev_workingset_refault = refaults;

    let mut thrashing = 0;
    let since_reset = now_ms.saturating_sub(st.thrashing_reset_ms);
    if since_reset > THRASHING_RESET_INTERVAL_MS {
        st.prev_thrash_growth =
            (refaults - st.init_ws_refault).max(0) * 100 / (st.base_file_lru + 1);
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
        thrashing = (refaults - st.init_ws_refault).max(0) * 100 / (st.base_file_lru + 1);
    }
    thrashing += st.prev_thrash_growth;
    st.max_thrashing = st.max_thrashing.max(thrashing);
    cycle.thrashing = thrashing;

    let mut force_wmarks = false;
    loop {
        let Some(w) = wmarks.watermarks(force_wmarks, now_ms) else {
            finish_polling(st, &mut cycle, wake);
            return cycle;
        };
        let wmark = lowest_watermark(s, &w, page_kb);
        cycle.wmark = wmark;
        let critical_stall = i64::from(s.psi.full.avg10) > cfg.stall_limit_critical * 100;
        let kill = pick_reason(
            st,
            cfg,
            s,
            wake,
            &CycleFacts {
                cycle_after_kill,
                wmark,
                swap_is_low,
                free_swap,
                swap_low_threshold,
                thrashing,
                reclaim,
                direct_ms: st.direct_reclaim_start_ms.map_or(0, |t| now_ms.saturating_sub(t)),
                page_kb,
            },
        );
        if let Some(mut k) = kill {
            if st.first_kill && !force_wmarks {
                // Make sure the watermarks are current before the first kill ever.
                st.first_kill = false;
                force_wmarks = true;
                continue;
            }
            st.first_kill = false;
            if critical_stall {
                k.min_adj = 0;
            }
            k.thrashing = thrashing;
            k.max_thrashing = st.max_thrashing;
            k.free_swap_kb = free_swap;
            cycle.kill = Some(k);
        }
        break;
    }
    finish_polling(st, &mut cycle, wake);
    cycle
}

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
    let (reason, min_adj, cut) = if f.cycle_after_kill && f.wmark < Wmark::Low {
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

/// Row k: nothing else matched but a watermark is breached. As AOSP, the text says "low" even
/// when only the high watermark is (quirk 5, kept: tools parse these lines).
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

fn finish_polling(st: &PsiState, c: &mut Cycle, wake: Wakeup) {
    // Start polling after an event; extend it while killing or in direct reclaim (kswapd alone
    // can go on for long without pressure).
    if wake.is_event() || c.kill.is_some() || st.killing || c.reclaim == Reclaim::Direct {
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
