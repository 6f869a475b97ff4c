//! The status report (`lmkctl status`, `dumpsys lmkd`), from the loop's three objects.

use super::engine::PressureEngine;
use super::pipeline::KillPipeline;
use super::Core;
use crate::config::Config;
use crate::protocol::{LMK_ASYNC_EVENT_KILL, LMK_ASYNC_EVENT_STAT};
use crate::reaper::watchdog::Watchdog;
use crate::report::status::{ClientStatus, StatusReport};

/// Recent kills shown in the report.
const RECENT_KILLS: usize = 10;

/// Collects the status report.
pub(crate) fn report(
    config: &Config,
    core: &Core,
    engine: &PressureEngine,
    pipeline: &KillPipeline,
    watchdog: &Watchdog,
) -> StatusReport {
    let reg = core.procs.registry();
    let history: Vec<_> = pipeline.history().iter().copied().collect();
    let recent = history[history.len().saturating_sub(RECENT_KILLS)..].to_vec();
    let reaper = pipeline.reaper();
    let stats = reaper.stats();
    let e = engine.status();
    let page_kb = e.page_kb;
    let m = &e.snapshot.meminfo;
    StatusReport {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        pid: std::process::id(),
        uptime_ms: core.clock.now_ms(),
        monitors: e.monitors,
        strategy: match (e.psi, config.use_new_strategy, config.use_minfree_levels) {
            (true, true, _) => "new (PSI decision table)".to_owned(),
            (_, _, true) => "old (minfree levels)".to_owned(),
            _ => "old (pressure levels)".to_owned(),
        },
        domain: engine.domain().describe(),
        psi_window_ms: if e.psi { e.psi_window_ms } else { 0 },
        config: config.to_properties().into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
        events: e.stats.events,
        polls: e.stats.polls,
        skipped: e.stats.skipped,
        kill_decisions: e.stats.kill_decisions,
        no_victim: e.stats.no_victim,
        early_wakes: e.stats.early_wakes,
        samples: e.stats.samples,
        predictive_kills: e.stats.predictive_kills,
        polling: e.polling,
        reclaim_source: e.reclaim_source,
        mem_free_kb: m.mem_free,
        swap_free_kb: m.swap_free,
        file_lru_kb: (e.snapshot.vmstat.nr_inactive_file + e.snapshot.vmstat.nr_active_file)
            * page_kb,
        watermarks_kb: e.watermarks.map(|w| (w.min * page_kb, w.low * page_kb, w.high * page_kb)),
        procs_by_adj: reg.counts_by_adj(),
        kills_by_adj: reg.kill_counters().collect(),
        kills_total: reg.kill_count(1001, 0),
        recent_kills: recent,
        reaper_threads: reaper.threads(),
        reaper_placement: reaper.config().placement.to_string(),
        mrelease: reaper.support().available,
        reaper_stats: (stats.reaped, stats.races, stats.failures),
        process_groups: pipeline.process_groups(),
        watchdog_fires: watchdog.fired(),
        clients: core
            .server
            .slots()
            .map(|(slot, c)| ClientStatus {
                slot,
                pid: c.pid,
                kill_events: c.subscribed(LMK_ASYNC_EVENT_KILL),
                stat_events: c.subscribed(LMK_ASYNC_EVENT_STAT),
                dropped_events: c.dropped_events,
            })
            .collect(),
    }
}
