//! The status report: what `lmkctl status` prints, what `LMK_EXT_STATUS` returns and what
//! `dumpsys lmkd` shows on Android — mode, configuration in force, pressure, registered
//! processes by adj, kill counters and recent kills, reaper placement and statistics, clients.
//!
//! The daemon fills a [`StatusReport`]; it renders as aligned text or as JSON (written by hand:
//! the report is flat, and a JSON crate is not worth a dependency).

use std::fmt::Write as _;

use super::KillRecord;

/// One connected client.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientStatus {
    /// Slot.
    pub slot: usize,
    /// Pid of its latest message (0 before one).
    pub pid: i32,
    /// Subscribed to `LMK_PROCKILL`.
    pub kill_events: bool,
    /// Subscribed to `LMK_STAT_KILL_OCCURRED`.
    pub stat_events: bool,
    /// Events it missed by not reading.
    pub dropped_events: u64,
}

/// Everything the report shows.
#[derive(Clone, Debug, Default)]
pub struct StatusReport {
    /// Daemon version.
    pub version: String,
    /// Daemon pid.
    pub pid: u32,
    /// ms since start.
    pub uptime_ms: u64,
    /// `psi`, `vmpressure` or `none`.
    pub monitors: String,
    /// `new`, `old (levels)` or `old (minfree)`.
    pub strategy: String,
    /// The memory domain.
    pub domain: String,
    /// PSI window in force, ms (0 without PSI).
    pub psi_window_ms: u64,
    /// Properties in force: (name, value).
    pub config: Vec<(String, String)>,
    /// Events per level (low, medium, critical).
    pub events: [u64; 3],
    /// Polls.
    pub polls: u64,
    /// Wake-ups skipped while a kill was awaited.
    pub skipped: u64,
    /// Decisions that asked for a kill.
    pub kill_decisions: u64,
    /// Decisions that found nobody to kill.
    pub no_victim: u64,
    /// Early-warning wake-ups (`ro.lmk.predictive_kill`).
    pub early_wakes: u64,
    /// Samples of the headroom watch.
    pub samples: u64,
    /// Kills of the predictive rule.
    pub predictive_kills: u64,
    /// Whether the polling window is open now.
    pub polling: bool,
    /// Where reclaim is told from: `memevents (…)` or `vmstat` (with why).
    pub reclaim_source: String,
    /// MemFree of the last snapshot, kB.
    pub mem_free_kb: i64,
    /// SwapFree of the last snapshot, kB.
    pub swap_free_kb: i64,
    /// File LRU of the last snapshot, kB.
    pub file_lru_kb: i64,
    /// Watermarks (min, low, high) in kB, if computed.
    pub watermarks_kb: Option<(i64, i64, i64)>,
    /// Registered processes per adj: (adj, count), highest adj first.
    pub procs_by_adj: Vec<(i32, usize)>,
    /// Kill counters: (adj, kills), highest adj first.
    pub kills_by_adj: Vec<(i32, u32)>,
    /// Total kills.
    pub kills_total: u32,
    /// The most recent kills, oldest first.
    pub recent_kills: Vec<KillRecord>,
    /// Reaper threads running.
    pub reaper_threads: usize,
    /// Where they run.
    pub reaper_placement: String,
    /// `process_mrelease` is available.
    pub mrelease: bool,
    /// Victims reaped / races / failures.
    pub reaper_stats: (u64, u64, u64),
    /// Process-group kills: the cgroup v2 hierarchy groups are resolved in, or why there is
    /// none.
    pub process_groups: String,
    /// Times the watchdog fired (a loop round stuck for 2 s).
    pub watchdog_fires: u64,
    /// Connected clients.
    pub clients: Vec<ClientStatus>,
}

fn json_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// How a kill's process group died, for the text tables: `cgroup.kill (3)`,
/// `cgroup.procs (2)`, `alone:root-group`, ... (`-` when not known).
pub fn group_text(r: &KillRecord) -> String {
    match r.group {
        crate::reaper::group::GroupKill::CgroupKill
        | crate::reaper::group::GroupKill::CgroupProcs => {
            format!("{} ({})", r.group.as_str(), r.group_procs)
        }
        g => g.as_str().to_owned(),
    }
}

/// A kill record as a JSON object (also used by `lmkctl history --json`).
pub fn kill_json(out: &mut String, r: &KillRecord) {
    let _ = write!(
        out,
        "{{\"seq\":{},\"time_ms\":{},\"uptime_ms\":{},\"pid\":{},\"uid\":{},\"name\":",
        r.seq, r.time_ms, r.uptime_ms, r.pid, r.uid
    );
    json_str(out, r.name.as_str());
    let _ = write!(
        out,
        ",\"adj\":{},\"min_adj\":{},\"reason\":{},\"reason_text\":",
        r.adj, r.min_adj, r.reason
    );
    json_str(out, r.reason_text.as_str());
    let outcome = r.outcome.map_or("pending", |o| o.as_str());
    let _ = write!(
        out,
        ",\"requested_by\":{},\"client_reason\":{},\"rss_kb\":{},\"swap_kb\":{},\"free_before_kb\":{},\"freed_kb\":{},\"reap_us\":{},\"death_us\":{},\"wake_to_kill_us\":{},\"cpu\":{},\"outcome\":\"{outcome}\",\"group_kill\":\"{}\",\"group_procs\":{},\"max_thrashing\":{}}}",
        r.requested_by, r.client_reason, r.rss_kb, r.swap_kb, r.free_before_kb, r.freed_kb, r.reap_us, r.death_us, r.wake_to_kill_us, r.cpu, r.group.as_str(), r.group_procs, r.max_thrashing
    );
}

impl StatusReport {
    /// Aligned text, for people.
    pub fn to_text(&self) -> String {
        let mut o = String::new();
        let _ = writeln!(
            o,
            "lmkd {} (pid {}), up {:.1} s",
            self.version,
            self.pid,
            self.uptime_ms as f64 / 1000.0
        );
        let _ = writeln!(o, "\nMODE");
        let _ = writeln!(o, "  monitors        {}", self.monitors);
        let _ = writeln!(o, "  strategy        {}", self.strategy);
        let _ = writeln!(o, "  memory domain   {}", self.domain);
        if self.psi_window_ms > 0 {
            let _ = writeln!(o, "  PSI window      {} ms", self.psi_window_ms);
        }
        let _ = writeln!(o, "\nPRESSURE");
        let _ = writeln!(
            o,
            "  events          low {}  medium {}  critical {}",
            self.events[0], self.events[1], self.events[2]
        );
        let _ = writeln!(
            o,
            "  polls           {}{}",
            self.polls,
            if self.polling { "  (polling now)" } else { "" }
        );
        let _ = writeln!(o, "  skipped         {} (a kill was awaited)", self.skipped);
        let _ = writeln!(
            o,
            "  kill decisions  {} ({} found nobody to kill)",
            self.kill_decisions, self.no_victim
        );
        let _ = writeln!(
            o,
            "  early warning   {} wake-ups, {} samples, {} predictive kills",
            self.early_wakes, self.samples, self.predictive_kills
        );
        let _ = writeln!(o, "  reclaim from    {}", self.reclaim_source);
        let _ = writeln!(o, "  MemFree         {} kB", self.mem_free_kb);
        let _ = writeln!(o, "  SwapFree        {} kB", self.swap_free_kb);
        let _ = writeln!(o, "  file LRU        {} kB", self.file_lru_kb);
        if let Some((min, low, high)) = self.watermarks_kb {
            let _ = writeln!(o, "  watermarks      min {min} kB  low {low} kB  high {high} kB");
        }
        let _ = writeln!(
            o,
            "\nPROCESSES ({} registered)",
            self.procs_by_adj.iter().map(|p| p.1).sum::<usize>()
        );
        let _ = writeln!(o, "  {:>6} {:>7}", "ADJ", "COUNT");
        for (adj, n) in &self.procs_by_adj {
            let _ = writeln!(o, "  {adj:>6} {n:>7}");
        }
        let _ = writeln!(o, "\nKILLS ({} in all)", self.kills_total);
        let _ = writeln!(o, "  {:>6} {:>7}", "ADJ", "KILLS");
        for (adj, n) in &self.kills_by_adj {
            let _ = writeln!(o, "  {adj:>6} {n:>7}");
        }
        if !self.recent_kills.is_empty() {
            let _ = writeln!(o, "\nRECENT KILLS");
            let _ = writeln!(
                o,
                "  {:>5} {:>10} {:>7} {:<24} {:>5} {:>9} {:>9} {:<12} {:<18} REASON",
                "SEQ", "UPTIME(s)", "PID", "NAME", "ADJ", "RSS(kB)", "REAP(ms)", "OUTCOME", "GROUP"
            );
            for r in &self.recent_kills {
                let reap = if r.reap_us < 0 {
                    "-".to_owned()
                } else {
                    format!("{:.1}", r.reap_us as f64 / 1000.0)
                };
                let _ = writeln!(
                    o,
                    "  {:>5} {:>10.3} {:>7} {:<24} {:>5} {:>9} {:>9} {:<12} {:<18} {}",
                    r.seq,
                    r.uptime_ms as f64 / 1000.0,
                    r.pid,
                    r.name.as_str(),
                    r.adj,
                    r.rss_kb,
                    reap,
                    r.outcome.map_or("pending", |x| x.as_str()),
                    group_text(r),
                    r.reason_text.as_str()
                );
            }
        }
        let _ = writeln!(o, "\nREAPER");
        let _ = writeln!(o, "  threads         {}", self.reaper_threads);
        let _ = writeln!(o, "  placement       {}", self.reaper_placement);
        let _ = writeln!(
            o,
            "  process_mrelease {}",
            if self.mrelease { "available" } else { "not available" }
        );
        let (reaped, races, failures) = self.reaper_stats;
        let _ = writeln!(o, "  reaped          {reaped}  (races {races}, failures {failures})");
        let _ = writeln!(o, "  process groups  {}", self.process_groups);
        let _ = writeln!(o, "  watchdog fired  {}", self.watchdog_fires);
        let _ = writeln!(o, "\nCLIENTS");
        for c in &self.clients {
            let _ = writeln!(
                o,
                "  slot {} pid {:<7} events:{}{}  dropped {}",
                c.slot,
                c.pid,
                if c.kill_events { " kill" } else { "" },
                if c.stat_events { " stat" } else { "" },
                c.dropped_events
            );
        }
        let _ = writeln!(o, "\nCONFIGURATION");
        let width = self.config.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
        for (k, v) in &self.config {
            let _ = writeln!(o, "  {k:<width$}  {v}");
        }
        o
    }

    /// JSON, for scripts.
    pub fn to_json(&self) -> String {
        let mut o = String::from("{");
        o.push_str("\"version\":");
        json_str(&mut o, &self.version);
        let _ = write!(o, ",\"pid\":{},\"uptime_ms\":{},\"monitors\":", self.pid, self.uptime_ms);
        json_str(&mut o, &self.monitors);
        o.push_str(",\"strategy\":");
        json_str(&mut o, &self.strategy);
        o.push_str(",\"domain\":");
        json_str(&mut o, &self.domain);
        let _ = write!(
            o,
            ",\"psi_window_ms\":{},\"pressure\":{{\"events\":{{\"low\":{},\"medium\":{},\"critical\":{}}},\"polls\":{},\"skipped\":{},\"kill_decisions\":{},\"no_victim\":{},\"early_wakes\":{},\"samples\":{},\"predictive_kills\":{},\"polling\":{}}}",
            self.psi_window_ms, self.events[0], self.events[1], self.events[2], self.polls, self.skipped, self.kill_decisions, self.no_victim, self.early_wakes, self.samples, self.predictive_kills, self.polling
        );
        o.push_str(",\"reclaim_source\":");
        json_str(&mut o, &self.reclaim_source);
        let _ = write!(
            o,
            ",\"memory\":{{\"mem_free_kb\":{},\"swap_free_kb\":{},\"file_lru_kb\":{}",
            self.mem_free_kb, self.swap_free_kb, self.file_lru_kb
        );
        if let Some((min, low, high)) = self.watermarks_kb {
            let _ = write!(o, ",\"watermarks_kb\":{{\"min\":{min},\"low\":{low},\"high\":{high}}}");
        }
        o.push_str("},\"procs_by_adj\":[");
        for (i, (adj, n)) in self.procs_by_adj.iter().enumerate() {
            let _ = write!(o, "{}{{\"adj\":{adj},\"count\":{n}}}", if i > 0 { "," } else { "" });
        }
        let _ = write!(o, "],\"kills_total\":{},\"kills_by_adj\":[", self.kills_total);
        for (i, (adj, n)) in self.kills_by_adj.iter().enumerate() {
            let _ = write!(o, "{}{{\"adj\":{adj},\"kills\":{n}}}", if i > 0 { "," } else { "" });
        }
        o.push_str("],\"recent_kills\":[");
        for (i, r) in self.recent_kills.iter().enumerate() {
            if i > 0 {
                o.push(',');
            }
            kill_json(&mut o, r);
        }
        let (reaped, races, failures) = self.reaper_stats;
        let _ = write!(o, "],\"reaper\":{{\"threads\":{},\"placement\":", self.reaper_threads);
        json_str(&mut o, &self.reaper_placement);
        let _ = write!(
            o,
            ",\"process_mrelease\":{},\"reaped\":{reaped},\"races\":{races},\"failures\":{failures},\"process_groups\":",
            self.mrelease
        );
        json_str(&mut o, &self.process_groups);
        let _ = write!(o, ",\"watchdog_fires\":{}}},\"clients\":[", self.watchdog_fires);
        for (i, c) in self.clients.iter().enumerate() {
            let _ = write!(
                o,
                "{}{{\"slot\":{},\"pid\":{},\"kill_events\":{},\"stat_events\":{},\"dropped_events\":{}}}",
                if i > 0 { "," } else { "" },
                c.slot,
                c.pid,
                c.kill_events,
                c.stat_events,
                c.dropped_events
            );
        }
        o.push_str("],\"config\":{");
        for (i, (k, v)) in self.config.iter().enumerate() {
            if i > 0 {
                o.push(',');
            }
            json_str(&mut o, k);
            o.push(':');
            json_str(&mut o, v);
        }
        o.push_str("}}");
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_escapes_and_nests() {
        let r = StatusReport {
            version: "0.1".into(),
            domain: "memcg \"x\"\n".into(),
            procs_by_adj: vec![(900, 2), (0, 1)],
            config: vec![("ro.lmk.debug".into(), "false".into())],
            ..StatusReport::default()
        };
        let j = r.to_json();
        assert!(j.contains(r#""domain":"memcg \"x\"\n""#), "{j}");
        assert!(j.contains(r#""procs_by_adj":[{"adj":900,"count":2},{"adj":0,"count":1}]"#));
        assert!(j.contains(r#""config":{"ro.lmk.debug":"false"}"#));
        assert_eq!(j.matches('{').count(), j.matches('}').count());
        let t = r.to_text();
        assert!(t.contains("PROCESSES (3 registered)"));
        assert!(t.contains("ro.lmk.debug  false"));
    }
}
