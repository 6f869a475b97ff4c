//! AOSP's old strategy (`mp_event_common`, reference §4.6): vmpressure levels (or PSI levels
//! standing in for them) mapped to a min adj, or ActivityManager's minfree table.

use super::Level;
use super::{KillDecision, KillReason, Wakeup};
use crate::config::Config;
use crate::memory::Snapshot;
use crate::protocol::TargetTable;

/// The old strategy's memory between events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LegacyState {
    /// Lowest free memory (pages) seen at a low-pressure event; −1 before the first.
    pub low_pressure_min: i64,
    /// Highest free memory (pages) seen at a low-pressure event, spikes filtered; −1 before.
    pub low_pressure_max: i64,
}

impl Default for LegacyState {
    fn default() -> Self {
        LegacyState { low_pressure_min: -1, low_pressure_max: -1 }
    }
}

/// Memory cgroup usage figures for the level mode's swap check (root memcg, or the domain's).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemcgUsage {
    /// `memory.usage_in_bytes`.
    pub mem: Option<i64>,
    /// `memory.memsw.usage_in_bytes`.
    pub memsw: Option<i64>,
}

/// What minfree mode compared, for AOSP's kill line (pages).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MinfreeFigures {
    /// `MemFree` in pages.
    pub free_pages: i64,
    /// The kernel's reserve (`totalreserve_pages`).
    pub reserve_pages: i64,
    /// Page cache beyond shmem, unevictable and swap cache.
    pub file_pages: i64,
    /// The minfree level both were below.
    pub minfree_pages: i64,
}

/// What an event came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LegacyOutcome {
    /// Kill (level mode).
    Kill(KillDecision),
    /// Kill (minfree mode), with what was compared.
    KillMinfree(KillDecision, MinfreeFigures),
    /// Ignored, with the reason (for debug logs).
    Ignore(&'static str),
}

/// The adj for a level (`ro.lmk.low`, `medium`, `critical`).
pub fn level_adj(cfg: &Config, level: Level) -> i32 {
    match level {
        Level::Low => cfg.level_low,
        Level::Medium => cfg.level_medium,
        Level::Critical => cfg.level_critical,
    }
}

/// Minfree mode: the first (minfree, adj) pair, in the order received, whose minfree is above
/// both the free memory beyond the reserve and the file cache (all in pages).
pub fn minfree_adj(
    s: &Snapshot,
    totalreserve_pages: i64,
    target: &TargetTable,
    page_kb: i64,
) -> Option<(i32, i64, i64, i64)> {
    let m = &s.meminfo;
    let other_free = m.mem_free / page_kb - totalreserve_pages;
    let file = m.file_pages();
    let other_file = if file > m.shmem + m.unevictable + m.swap_cached {
        (file - m.shmem - m.unevictable - m.swap_cached) / page_kb
    } else {
        0
    };
    target
        .pairs()
        .find(|&(minfree, _)| other_free < i64::from(minfree) && other_file < i64::from(minfree))
        .map(|(minfree, adj)| (adj, other_free, other_file, i64::from(minfree)))
}

/// What one event of the old strategy looks at.
#[derive(Clone, Copy, Debug)]
pub struct Inputs<'a> {
    /// The snapshot.
    pub snapshot: &'a Snapshot,
    /// The event (or poll).
    pub wake: Wakeup,
    /// The kernel's reserve (`totalreserve_pages`), for minfree mode.
    pub totalreserve_pages: i64,
    /// ActivityManager's minfree table (`LMK_TARGET`).
    pub target: &'a TargetTable,
    /// Memory cgroup usage, for the swap check.
    pub usage: MemcgUsage,
    /// The page size in kB.
    pub page_kb: i64,
    /// The domain is about to run out (`ro.lmk.predictive_kill`'s guard): its headroom is
    /// gone or falls faster than a kill could bring memory back. Level mode then does not
    /// ignore the event for want of an earlier low-pressure one.
    pub about_to_run_out: bool,
}

/// One event (or poll) of the old strategy.
pub fn decide(st: &mut LegacyState, cfg: &Config, inp: &Inputs<'_>) -> LegacyOutcome {
    let (s, wake, totalreserve_pages, target, usage, page_kb) =
        (inp.snapshot, inp.wake, inp.totalreserve_pages, inp.target, inp.usage, inp.page_kb);
    let free_pages = s.meminfo.mem_free / page_kb;
    if cfg.use_minfree_levels {
        return match minfree_adj(s, totalreserve_pages, target, page_kb) {
            Some((adj, _, file_pages, minfree_pages)) => LegacyOutcome::KillMinfree(
                KillDecision { min_adj: adj, reason: KillReason::None, ..KillDecision::default() },
                MinfreeFigures {
                    free_pages,
                    reserve_pages: totalreserve_pages,
                    file_pages,
                    minfree_pages,
                },
            ),
            None => LegacyOutcome::Ignore("free memory and cache are above every minfree level"),
        };
    }
    let mut level = wake.level;
    if level == Level::Low {
        if st.low_pressure_min == -1 || st.low_pressure_min > free_pages {
            st.low_pressure_min = free_pages;
        }
        // Free memory at low events occasionally spikes (a stale event): ignore jumps of more
        // than 10 %.
        if st.low_pressure_max == -1
            || (st.low_pressure_max < free_pages
                && free_pages - st.low_pressure_max < st.low_pressure_max / 10)
        {
            st.low_pressure_max = free_pages;
        }
    }
    if level_adj(cfg, level) > crate::procs::OOM_SCORE_ADJ_MAX {
        return LegacyOutcome::Ignore("this level is not monitored");
    }
    if let (Some(mem), Some(memsw)) = (usage.mem, usage.memsw.filter(|&v| v > 0)) {
        let mem_pressure = mem.saturating_mul(100) / memsw;
        if cfg.critical_upgrade && level != Level::Critical && mem_pressure < cfg.upgrade_pressure {
            level = level.upgrade();
        }
        if s.meminfo.swap_free
            >= s.meminfo.swap_total.saturating_mul(cfg.swap_free_low_percentage) / 100
        {
            if mem_pressure > cfg.downgrade_pressure {
                return LegacyOutcome::Ignore(
                    "enough memory is available (pressure above downgrade_pressure)",
                );
            } else if level == Level::Critical && mem_pressure > cfg.upgrade_pressure {
                level = level.downgrade();
            }
        }
    }
    if !cfg.low_ram && free_pages >= st.low_pressure_max && !inp.about_to_run_out {
        return LegacyOutcome::Ignore("more memory is available than at low pressure");
    }
    LegacyOutcome::Kill(KillDecision {
        min_adj: level_adj(cfg, level),
        reason: KillReason::None,
        ..KillDecision::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::Meminfo;
    use crate::policy::Source;

    fn snap(free_kb: i64, cached_kb: i64) -> Snapshot {
        Snapshot {
            meminfo: Meminfo {
                mem_total: 4_000_000,
                mem_free: free_kb,
                cached: cached_kb,
                ..Meminfo::default()
            },
            ..Snapshot::default()
        }
    }

    fn wake(level: Level) -> Wakeup {
        Wakeup { source: Source::Vmpressure, level, event: true }
    }

    fn targets() -> TargetTable {
        TargetTable::new(&[
            (18432, 0),
            (23040, 100),
            (27648, 200),
            (32256, 250),
            (55296, 900),
            (80640, 950),
        ])
        .unwrap()
    }

    #[test]
    fn minfree_takes_the_first_level_both_figures_are_below_in_received_order() {
        let cfg = Config { use_minfree_levels: true, ..Config::default() };
        let mut st = LegacyState::default();
        let t = targets();
        // 200 MB free, 100 MB cache: only the 900 (216 MB) and 950 (315 MB) levels are above.
        let d = decide(
            &mut st,
            &cfg,
            &Inputs {
                snapshot: &snap(200_000, 100_000),
                wake: wake(Level::Medium),
                totalreserve_pages: 0,
                target: &t,
                usage: MemcgUsage::default(),
                page_kb: 4,
                about_to_run_out: false,
            },
        );
        assert_eq!(
            d,
            LegacyOutcome::KillMinfree(
                KillDecision { min_adj: 900, ..KillDecision::default() },
                // 200000 kB free = 50000 pages, 100000 kB of cache = 25000 pages, the 900
                // level's 55296 pages.
                MinfreeFigures {
                    free_pages: 50_000,
                    reserve_pages: 0,
                    file_pages: 25_000,
                    minfree_pages: 55_296
                }
            )
        );
        // Enough cache: ignored.
        let d = decide(
            &mut st,
            &cfg,
            &Inputs {
                snapshot: &snap(200_000, 2_000_000),
                wake: wake(Level::Medium),
                totalreserve_pages: 0,
                target: &t,
                usage: MemcgUsage::default(),
                page_kb: 4,
                about_to_run_out: false,
            },
        );
        assert!(matches!(d, LegacyOutcome::Ignore(_)));
        // The reserve counts against free memory.
        assert_eq!(minfree_adj(&snap(100_000, 0), 0, &t, 4).unwrap().0, 200);
        assert_eq!(minfree_adj(&snap(100_000, 0), 10_000, &t, 4).unwrap().0, 0);
        // Order as received, not sorted.
        let rev = TargetTable::new(&[(80640, 950), (18432, 0)]).unwrap();
        assert_eq!(minfree_adj(&snap(10_000, 0), 0, &rev, 4).unwrap().0, 950);
    }

    #[test]
    fn level_mode_needs_a_low_event_first_and_maps_levels_to_adj() {
        let cfg = Config::default();
        let mut st = LegacyState::default();
        let t = TargetTable::default();
        let u = MemcgUsage::default();
        // Before any low event, max is -1: more memory than at low pressure, ignored.
        assert!(matches!(
            decide(
                &mut st,
                &cfg,
                &Inputs {
                    snapshot: &snap(50_000, 0),
                    wake: wake(Level::Medium),
                    totalreserve_pages: 0,
                    target: &t,
                    usage: u,
                    page_kb: 4,
                    about_to_run_out: false,
                }
            ),
            LegacyOutcome::Ignore(_)
        ));
        // A low event records 100 MB; ro.lmk.low is 1001 by default, so it is not acted on.
        assert!(matches!(
            decide(
                &mut st,
                &cfg,
                &Inputs {
                    snapshot: &snap(100_000, 0),
                    wake: wake(Level::Low),
                    totalreserve_pages: 0,
                    target: &t,
                    usage: u,
                    page_kb: 4,
                    about_to_run_out: false,
                }
            ),
            LegacyOutcome::Ignore(_)
        ));
        assert_eq!(st.low_pressure_max, 25_000);
        let d = decide(
            &mut st,
            &cfg,
            &Inputs {
                snapshot: &snap(50_000, 0),
                wake: wake(Level::Medium),
                totalreserve_pages: 0,
                target: &t,
                usage: u,
                page_kb: 4,
                about_to_run_out: false,
            },
        );
        assert_eq!(
            d,
            LegacyOutcome::Kill(KillDecision { min_adj: 800, ..KillDecision::default() })
        );
        let d = decide(
            &mut st,
            &cfg,
            &Inputs {
                snapshot: &snap(50_000, 0),
                wake: wake(Level::Critical),
                totalreserve_pages: 0,
                target: &t,
                usage: u,
                page_kb: 4,
                about_to_run_out: false,
            },
        );
        assert_eq!(d, LegacyOutcome::Kill(KillDecision { min_adj: 0, ..KillDecision::default() }));
        // More free than at low pressure: nothing to do.
        assert!(matches!(
            decide(
                &mut st,
                &cfg,
                &Inputs {
                    snapshot: &snap(120_000, 0),
                    wake: wake(Level::Critical),
                    totalreserve_pages: 0,
                    target: &t,
                    usage: u,
                    page_kb: 4,
                    about_to_run_out: false,
                }
            ),
            LegacyOutcome::Ignore(_)
        ));
        // A spike of more than 10 % is not taken as the new maximum.
        decide(
            &mut st,
            &cfg,
            &Inputs {
                snapshot: &snap(200_000, 0),
                wake: wake(Level::Low),
                totalreserve_pages: 0,
                target: &t,
                usage: u,
                page_kb: 4,
                about_to_run_out: false,
            },
        );
        assert_eq!(st.low_pressure_max, 25_000);
        decide(
            &mut st,
            &cfg,
            &Inputs {
                snapshot: &snap(104_000, 0),
                wake: wake(Level::Low),
                totalreserve_pages: 0,
                target: &t,
                usage: u,
                page_kb: 4,
                about_to_run_out: false,
            },
        );
        assert_eq!(st.low_pressure_max, 26_000);
    }

    #[test]
    fn swap_pressure_upgrades_and_downgrades() {
        let cfg = Config {
            critical_upgrade: true,
            upgrade_pressure: 60,
            downgrade_pressure: 95,
            ..Config::default()
        };
        let mut st = LegacyState { low_pressure_min: 0, low_pressure_max: 1 << 40 };
        let t = TargetTable::default();
        let mut s = snap(10_000, 0);
        s.meminfo.swap_total = 1_000_000;
        s.meminfo.swap_free = 900_000;
        // Swapping heavily (memory is only 50 % of memory + swap): medium becomes critical.
        let heavy = MemcgUsage { mem: Some(50), memsw: Some(100) };
        assert_eq!(
            decide(
                &mut st,
                &cfg,
                &Inputs {
                    snapshot: &s,
                    wake: wake(Level::Medium),
                    totalreserve_pages: 0,
                    target: &t,
                    usage: heavy,
                    page_kb: 4,
                    about_to_run_out: false,
                }
            ),
            LegacyOutcome::Kill(KillDecision { min_adj: 0, ..KillDecision::default() })
        );
        // Barely swapping, enough swap left: ignored.
        let light = MemcgUsage { mem: Some(99), memsw: Some(100) };
        assert!(matches!(
            decide(
                &mut st,
                &cfg,
                &Inputs {
                    snapshot: &s,
                    wake: wake(Level::Critical),
                    totalreserve_pages: 0,
                    target: &t,
                    usage: light,
                    page_kb: 4,
                    about_to_run_out: false,
                }
            ),
            LegacyOutcome::Ignore(_)
        ));
        // In between: critical is downgraded to medium.
        let mid = MemcgUsage { mem: Some(80), memsw: Some(100) };
        assert_eq!(
            decide(
                &mut st,
                &cfg,
                &Inputs {
                    snapshot: &s,
                    wake: wake(Level::Critical),
                    totalreserve_pages: 0,
                    target: &t,
                    usage: mid,
                    page_kb: 4,
                    about_to_run_out: false,
                }
            ),
            LegacyOutcome::Kill(KillDecision { min_adj: 800, ..KillDecision::default() })
        );
        // Unreadable usage: straight to the kill at the level's adj.
        assert_eq!(
            decide(
                &mut st,
                &cfg,
                &Inputs {
                    snapshot: &s,
                    wake: wake(Level::Critical),
                    totalreserve_pages: 0,
                    target: &t,
                    usage: MemcgUsage::default(),
                    page_kb: 4,
                    about_to_run_out: false,
                }
            ),
            LegacyOutcome::Kill(KillDecision { min_adj: 0, ..KillDecision::default() })
        );
    }
}
