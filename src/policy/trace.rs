//! Decision traces: the daemon records the inputs of every decision (`lmkd --record FILE`), and
//! [`replay`] feeds a trace to the same policy code and returns the decisions.
//!
//! A trace is text, one record per line, `#` comments allowed, so that a device trace can be
//! cut down by hand into a regression test and synthetic traces can be written as fixtures:
//!
//! ```text
//! prop ro.lmk.swap_free_low_percentage=10          properties in force (Config::load)
//! target 18432:0,23040:100                          an LMK_TARGET table (old strategy)
//! wake t=1000 src=psi lvl=medium ev=1 pending=0 free=... (snapshot fields) wmin=...
//! killed t=1000 ok=1                                whether the decided kill happened
//! expect t=1000 kill min_adj=201 reason=4           what a fixture expects (ignored by the daemon)
//! decision t=1000 kill min_adj=201 reason=4         what the daemon decided (informational)
//! ```
//!
//! A `wake` line carries: `t` (ms), `src` (`psi`/`vmp`), `lvl`, `ev` (event 1, poll 0),
//! `pending` (a kill was being awaited: the cycle is skipped), the meminfo fields in kB (`free`,
//! `cma`, `swap_total`, `swap_free`, `active_anon`, `inactive_anon`, `active_file`,
//! `inactive_file`, `shmem`, `unevictable`, `cached`, `buffers`, `swap_cached`), the vmstat
//! counters (`nr_inactive_file`, `nr_active_file` in pages, `refault`, `pgscan_kswapd`,
//! `pgscan_direct`, `pgrefill`), `psi_full10` (PSI full avg10 × 100), the watermarks in pages
//! (`wmin`, `wlow`, `whigh`, `wreserve`), and the memcg usage for the old strategy (`mem_usage`,
//! `memsw_usage`, bytes; absent when unknown). Missing fields are 0.

use std::collections::HashMap;
use std::fmt::Write as _;

use super::legacy::{self, LegacyOutcome, LegacyState, MemcgUsage};
use super::psi_strategy::{self, PsiState};
use super::{KillDecision, Source, Wakeup};
use crate::config::{Config, FileProperties};
use crate::memory::parse::COUNTER_MAX;
use crate::memory::{Meminfo, PsiAverages, PsiLine, Snapshot, Vmstat, Watermarks};
use crate::pressure::Level;
use crate::protocol::TargetTable;

/// Formats the inputs of one decision as a `wake` line (without newline).
#[allow(clippy::too_many_arguments)]
pub fn wake_line(
    now_ms: u64,
    wake: Wakeup,
    pending: bool,
    s: &Snapshot,
    w: &Watermarks,
    usage: MemcgUsage,
) -> String {
    let m = &s.meminfo;
    let v = &s.vmstat;
    let mut l = String::with_capacity(512);
    let src = match wake.source {
        Source::Psi => "psi",
        Source::Vmpressure => "vmp",
    };
    let _ = write!(
        l,
        "wake t={now_ms} src={src} lvl={} ev={} pending={} free={} cma={} swap_total={} swap_free={} \
         active_anon={} inactive_anon={} active_file={} inactive_file={} shmem={} unevictable={} \
         cached={} buffers={} swap_cached={} nr_inactive_file={} nr_active_file={} refault={} \
         pgscan_kswapd={} pgscan_direct={} pgrefill={} psi_full10={} wmin={} wlow={} whigh={} wreserve={}",
        wake.level.name(),
        u8::from(wake.event),
        u8::from(pending),
        m.mem_free,
        m.cma_free,
        m.swap_total,
        m.swap_free,
        m.active_anon,
        m.inactive_anon,
        m.active_file,
        m.inactive_file,
        m.shmem,
        m.unevictable,
        m.cached,
        m.buffers,
        m.swap_cached,
        v.nr_inactive_file,
        v.nr_active_file,
        v.workingset_refault_file,
        v.pgscan_kswapd,
        v.pgscan_direct,
        v.pgrefill,
        s.psi.full.avg10,
        w.min,
        w.low,
        w.high,
        w.totalreserve,
    );
    if let Some(u) = usage.mem {
        let _ = write!(l, " mem_usage={u}");
    }
    if let Some(u) = usage.memsw {
        let _ = write!(l, " memsw_usage={u}");
    }
    l
}

/// A decision as a `decision` or `expect` line body (after the time), formatted without
/// allocating (the daemon writes it on the kill path when recording).
#[derive(Clone, Copy, Debug)]
pub struct DecisionText<'a>(pub Option<&'a KillDecision>);

impl std::fmt::Display for DecisionText<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(k) => write!(f, "kill min_adj={} reason={}", k.min_adj, k.reason.code()),
            None => f.write_str("none"),
        }
    }
}

/// [`DecisionText`] as a string.
pub fn decision_text(kill: Option<&KillDecision>) -> String {
    DecisionText(kill).to_string()
}

/// A replayed decision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Replayed {
    /// The wake-up's time.
    pub t: u64,
    /// `kill min_adj=N reason=R`, `none`, or `skipped` (a kill was awaited).
    pub decision: String,
    /// The fixture's expectation at that time, if any.
    pub expected: Option<String>,
    /// The reason text of a kill.
    pub text: String,
}

/// Why a trace could not be replayed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub what: String,
}

impl std::fmt::Display for TraceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.what)
    }
}

impl std::error::Error for TraceError {}

fn fields(rest: &str) -> HashMap<&str, &str> {
    rest.split_whitespace().filter_map(|kv| kv.split_once('=')).collect()
}

/// Replays a trace through the policy and returns every decision, with the expectations.
pub fn replay(text: &str) -> Result<Vec<Replayed>, TraceError> {
    let mut props: Vec<(String, String)> = Vec::new();
    let mut target = TargetTable::default();
    let mut out: Vec<Replayed> = Vec::new();
    let mut expects: HashMap<u64, String> = HashMap::new();
    // Parse everything first: expectations may follow their wake line.
    let mut wakes: Vec<(usize, HashMap<&str, &str>)> = Vec::new();
    let mut killed: HashMap<u64, bool> = HashMap::new();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let err = |what: &str| TraceError { line: n + 1, what: what.to_owned() };
        let (kind, rest) = line.split_once(' ').unwrap_or((line, ""));
        match kind {
            "prop" => {
                let (k, v) =
                    rest.trim().split_once('=').ok_or_else(|| err("prop needs key=value"))?;
                props.push((k.to_owned(), v.to_owned()));
            }
            "target" => {
                let mut pairs = Vec::new();
                for p in rest.trim().split(',').filter(|p| !p.is_empty()) {
                    let (a, b) =
                        p.split_once(':').ok_or_else(|| err("target needs minfree:adj"))?;
                    pairs.push((
                        a.parse().map_err(|_| err("bad minfree"))?,
                        b.parse().map_err(|_| err("bad adj"))?,
                    ));
                }
                target = TargetTable::new(&pairs).ok_or_else(|| err("more than 6 targets"))?;
            }
            "wake" => wakes.push((n + 1, fields(rest))),
            "killed" => {
                let f = fields(rest);
                let t =
                    f.get("t").and_then(|v| v.parse().ok()).ok_or_else(|| err("killed needs t"))?;
                killed.insert(t, f.get("ok") == Some(&"1"));
            }
            "expect" => {
                let (t, what) = rest
                    .trim()
                    .split_once(' ')
                    .ok_or_else(|| err("expect needs t=.. and a decision"))?;
                let t = t
                    .strip_prefix("t=")
                    .and_then(|v| v.parse().ok())
                    .ok_or_else(|| err("expect needs t=<ms>"))?;
                expects.insert(t, what.trim().to_owned());
            }
            "decision" => {}
            other => return Err(err(&format!("unknown record {other:?}"))),
        }
    }
    let cfg = Config::load(&FileProperties::from_pairs(
        props.iter().map(|(k, v)| (k.as_str(), v.as_str())),
    ));
    let mut psi = PsiState::new(&cfg);
    let mut old = LegacyState::default();
    for (line, f) in wakes {
        let err = |what: &str| TraceError { line, what: what.to_owned() };
        let num = |k: &str| -> Result<i64, TraceError> {
            f.get(k).map_or(Ok(0), |v| {
                // Clamped as the file parsers clamp (a trace is read back into the same code).
                v.parse::<i64>()
                    .map(|n| n.clamp(-COUNTER_MAX, COUNTER_MAX))
                    .map_err(|_| err(&format!("{k} is not a number")))
            })
        };
        let t = u64::try_from(num("t")?).map_err(|_| err("negative t"))?;
        let level = match f.get("lvl").copied().unwrap_or("medium") {
            "low" => Level::Low,
            "medium" => Level::Medium,
            "critical" => Level::Critical,
            _ => return Err(err("lvl must be low, medium or critical")),
        };
        let source = if f.get("src") == Some(&"vmp") { Source::Vmpressure } else { Source::Psi };
        let wake = Wakeup { source, level, event: num("ev")? == 1 };
        let s = Snapshot {
            meminfo: Meminfo {
                mem_total: num("free")?.max(1).saturating_mul(2),
                mem_free: num("free")?,
                cma_free: num("cma")?,
                swap_total: num("swap_total")?,
                swap_free: num("swap_free")?,
                active_anon: num("active_anon")?,
                inactive_anon: num("inactive_anon")?,
                active_file: num("active_file")?,
                inactive_file: num("inactive_file")?,
                shmem: num("shmem")?,
                unevictable: num("unevictable")?,
                cached: num("cached")?,
                buffers: num("buffers")?,
                swap_cached: num("swap_cached")?,
                ..Meminfo::default()
            },
            vmstat: Vmstat {
                nr_inactive_file: num("nr_inactive_file")?,
                nr_active_file: num("nr_active_file")?,
                workingset_refault_file: num("refault")?,
                pgscan_kswapd: num("pgscan_kswapd")?,
                pgscan_direct: num("pgscan_direct")?,
                pgrefill: num("pgrefill")?,
                ..Vmstat::default()
            },
            psi: PsiAverages {
                full: PsiLine {
                    avg10: u32::try_from(num("psi_full10")?).unwrap_or(0),
                    ..PsiLine::default()
                },
                ..PsiAverages::default()
            },
        };
        let mut w = Watermarks {
            min: num("wmin")?,
            low: num("wlow")?,
            high: num("whigh")?,
            totalreserve: num("wreserve")?,
            ..Watermarks::default()
        };
        let usage = MemcgUsage {
            mem: f
                .get("mem_usage")
                .and_then(|v| v.parse::<i64>().ok())
                .map(|n| n.clamp(-COUNTER_MAX, COUNTER_MAX)),
            memsw: f
                .get("memsw_usage")
                .and_then(|v| v.parse::<i64>().ok())
                .map(|n| n.clamp(-COUNTER_MAX, COUNTER_MAX)),
        };
        let page_kb = 4;
        let expected = expects.get(&t).cloned();
        if num("pending")? == 1 {
            out.push(Replayed { t, decision: "skipped".to_owned(), expected, text: String::new() });
            continue;
        }
        let kill = if cfg.use_new_strategy && source == Source::Psi {
            let c = psi_strategy::decide(&mut psi, &cfg, &s, wake, &mut w, t, page_kb);
            if let Some(k) = &c.kill {
                psi_strategy::after_kill(
                    &mut psi,
                    &cfg,
                    k,
                    killed.get(&t).copied().unwrap_or(true),
                );
            }
            c.kill
        } else {
            let inputs = legacy::Inputs {
                snapshot: &s,
                wake,
                totalreserve_pages: w.totalreserve,
                target: &target,
                usage,
                page_kb,
            };
            match legacy::decide(&mut old, &cfg, &inputs) {
                LegacyOutcome::Kill(k) => Some(k),
                LegacyOutcome::Ignore(_) => None,
            }
        };
        out.push(Replayed {
            t,
            decision: decision_text(kill.as_ref()),
            expected,
            text: kill.map(|k| k.text.as_str().to_owned()).unwrap_or_default(),
        });
    }
    Ok(out)
}
