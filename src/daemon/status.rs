//! The status report, from the daemon's state.

use super::pressure::Monitors;
use super::Daemon;
use crate::protocol::{LMK_ASYNC_EVENT_KILL, LMK_ASYNC_EVENT_STAT};
use crate::report::status::{ClientStatus, StatusReport};

/// Recent kills shown in the report.
const RECENT_KILLS: usize = 10;

impl Daemon {
    /// Collects the status report.
    pub(crate) fn status_report(&self) -> StatusReport {
        let reg = self.procs.registry();
        let history: Vec<_> = self.history.iter().copied().collect();
        let recent = history[history.len().saturating_sub(RECENT_KILLS)..].to_vec();
        let stats = self.reaper.stats();
        let page_kb = self.page_kb;
        let m = &self.snap.meminfo;
        StatusReport {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            pid: std::process::id(),
            uptime_ms: self.now_ms(),
            monitors: match &self.monitors {
                Monitors::None => "none".to_owned(),
                Monitors::Psi(_) => format!("psi ({})", self.domain.psi_path().display()),
                Monitors::Vmpressure(_) => "vmpressure".to_owned(),
            },
            strategy: match (
                &self.monitors,
                self.config.use_new_strategy,
                self.config.use_minfree_levels,
            ) {
                (Monitors::Psi(_), true, _) => "new (PSI decision table)".to_owned(),
                (_, _, true) => "old (minfree levels)".to_owned(),
                _ => "old (pressure levels)".to_owned(),
            },
            domain: self.domain.describe(),
            psi_window_ms: if matches!(self.monitors, Monitors::Psi(_)) {
                self.poll_window_ms
            } else {
                0
            },
            config: self
                .config
                .to_properties()
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
            events: self.stats.events,
            polls: self.stats.polls,
            skipped: self.stats.skipped,
            kill_decisions: self.stats.kill_decisions,
            no_victim: self.stats.no_victim,
            polling: self.poll.active(),
            mem_free_kb: m.mem_free,
            swap_free_kb: m.swap_free,
            file_lru_kb: (self.snap.vmstat.nr_inactive_file + self.snap.vmstat.nr_active_file)
                * page_kb,
            watermarks_kb: self
                .watermarks
                .map(|(w, _)| (w.min * page_kb, w.low * page_kb, w.high * page_kb)),
            procs_by_adj: reg.counts_by_adj(),
            kills_by_adj: reg.kill_counters().collect(),
            kills_total: reg.kill_count(1001, 0),
            recent_kills: recent,
            reaper_threads: self.reaper.threads(),
            reaper_placement: self.reaper.config().placement.to_string(),
            mrelease: self.reaper.support().available,
            reaper_stats: (stats.reaped, stats.races, stats.failures),
            watchdog_fires: self.watchdog.fired(),
            clients: self
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
}
