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
//! wmarks t=1000 wmin=... wlow=... whigh=... wreserve=...  watermarks read afresh for the first kill
//! pick t=1000 adj=200 heaviest=1 cand=812:5120,813:- chosen=812   a victim choice
//! watch t=1000                                      a headroom watch begins (predictive rule)
//! sample t=1020 headroom=41984 demand=301200 killms=36 warn=65536 pending=0   one sample (kB, ms)
//! calm t=1640                                       the watch ends (informational)
//! ```
//!
//! A `sample` line replays through [`super::predict`]: the headroom is observed and the verdict
//! taken with the kill time and warning level recorded — a kill there is a decision at that time
//! like a wake's — or, when a kill was awaited (`pending=1`), the decision is `skipped`. A `wake` line of the old
//! strategy may carry `run_out=1`, the predictive rule's guard.
//!
//! A `pick` line lists the candidates of one adj in LRU order (least recently updated first)
//! as `pid:resident pages` (`-` when not read or unreadable); replaying it runs the same pure
//! choice ([`super::victim::pick`]) and expects the recorded `chosen` pid (`none` when nothing
//! was chosen). A `wmarks` line follows a wake whose decision asked for fresh watermarks
//! ([`psi_strategy::Cycle::wants_fresh_watermarks`]): the replay decides again with them.
//!
//! A `wake` line carries: `t` (ms), `src` (`psi`/`vmp`), `lvl`, `ev` (event 1, poll 0),
//! `pending` (a kill was being awaited: the cycle is skipped), the meminfo fields in kB (`free`,
//! `cma`, `swap_total`, `swap_free`, `active_anon`, `inactive_anon`, `active_file`,
//! `inactive_file`, `shmem`, `unevictable`, `cached`, `buffers`, `swap_cached`), the vmstat
//! counters (`nr_inactive_file`, `nr_active_file` in pages, `refault`, `pgscan_kswapd`,
//! `pgscan_direct`, `pgrefill`), `psi_full10` (PSI full avg10 × 100), the watermarks in pages
//! (`wmin`, `wlow`, `whigh`, `wreserve`), and the memcg usage for the old strategy (`mem_usage`,
//! `memsw_usage`, bytes; absent when unknown), with memevents `mev=1`, `kswapd` (0/1) and
//! `direct_since` (ms, while direct reclaim runs), and for a vendor kill request
//! `vendor=<reason>:<min adj>`. Missing fields are 0.

use std::collections::HashMap;
use std::fmt::Write as _;

use super::legacy::{self, LegacyOutcome, LegacyState, MemcgUsage};
use super::predict::{self, Predictor};
use super::psi_strategy::{self, PsiState, ReclaimEvents, VendorKill};
use super::victim::{self, Candidate};
use super::Level;
use super::{KillDecision, Source, Wakeup};
use crate::config::{Config, FileProperties};
use crate::memory::parse::COUNTER_MAX;
use crate::memory::{Meminfo, PsiAverages, PsiLine, Snapshot, Vmstat, Watermarks};
use crate::protocol::TargetTable;

/// What a `wake` line carries besides the snapshot and the watermarks.
#[derive(Clone, Copy, Debug, Default)]
pub struct WakeExtras {
    /// The memcg usage the old strategy read.
    pub usage: MemcgUsage,
    /// The predictive rule's guard (old strategy).
    pub run_out: bool,
    /// The memevents' reclaim state, when memevents are in use.
    pub events: Option<ReclaimEvents>,
    /// The vendor kill request that woke the cycle.
    pub vendor: Option<VendorKill>,
}

/// Formats the inputs of one decision as a `wake` line (without newline).
pub fn wake_line(
    now_ms: u64,
    wake: Wakeup,
    pending: bool,
    s: &Snapshot,
    w: &Watermarks,
    x: &WakeExtras,
) -> String {
    let (usage, run_out) = (x.usage, x.run_out);
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
    if run_out {
        l.push_str(" run_out=1");
    }
    if s.memcg {
        l.push_str(" memcg=1");
    }
    if let Some(ev) = x.events {
        let _ = write!(l, " mev=1 kswapd={}", u8::from(ev.kswapd));
        if let Some(t) = ev.direct_since_ms {
            let _ = write!(l, " direct_since={t}");
        }
    }
    if let Some(v) = x.vendor {
        let _ = write!(l, " vendor={}:{}", v.reason, v.min_adj);
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

/// A victim choice as a `pick` line body (after the time): `adj=.. heaviest=.. cand=..
/// chosen=..`, formatted without allocating.
#[derive(Clone, Copy, Debug)]
pub struct PickText<'a> {
    /// The adj walked.
    pub adj: i32,
    /// Whether the heaviest rule applied.
    pub heaviest: bool,
    /// The candidates, in LRU order.
    pub candidates: &'a [Candidate],
    /// The chosen candidate's index.
    pub chosen: Option<usize>,
}

impl std::fmt::Display for PickText<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "adj={} heaviest={} cand=", self.adj, u8::from(self.heaviest))?;
        for (i, c) in self.candidates.iter().enumerate() {
            let sep = if i == 0 { "" } else { "," };
            match c.rss_pages {
                Some(p) => write!(f, "{sep}{}:{p}", c.pid)?,
                None => write!(f, "{sep}{}:-", c.pid)?,
            }
        }
        match self.chosen.and_then(|i| self.candidates.get(i)) {
            Some(c) => write!(f, " chosen={}", c.pid),
            None => f.write_str(" chosen=none"),
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
    let mut events: Vec<(usize, &str, HashMap<&str, &str>)> = Vec::new();
    let mut killed: HashMap<u64, bool> = HashMap::new();
    let mut fresh: HashMap<u64, HashMap<&str, &str>> = HashMap::new();
    let mut picks: Vec<(usize, u64, Replayed)> = Vec::new();
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
            "wake" | "sample" | "watch" => events.push((n + 1, kind, fields(rest))),
            "calm" => {}
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
            "wmarks" => {
                let f = fields(rest);
                let t =
                    f.get("t").and_then(|v| v.parse().ok()).ok_or_else(|| err("wmarks needs t"))?;
                fresh.insert(t, f);
            }
            "pick" => {
                let (t, p) = replay_pick(rest).map_err(|what| err(&what))?;
                picks.push((n + 1, t, p));
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
    let mut predictor = Predictor::default();
    for (line, kind, f) in events {
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
        if kind == "watch" {
            predictor.reset(t);
            continue;
        }
        if kind == "sample" {
            predictor.observe(t, num("headroom")?, num("demand")?);
            if num("pending")? == 1 {
                // A kill was awaited: observed, not judged (as a pending wake is skipped).
                let expected = expects.get(&t).cloned();
                out.push(Replayed {
                    t,
                    decision: "skipped".to_owned(),
                    expected,
                    text: String::new(),
                });
                continue;
            }
            let kill_ms = u64::try_from(num("killms")?).map_err(|_| err("negative killms"))?;
            let kill = match predictor.verdict(t, kill_ms, num("warn")?) {
                predict::Verdict::Kill(k) => Some(k),
                _ => None,
            };
            if kill.is_some() && killed.get(&t).copied().unwrap_or(true) {
                predictor.reset(t);
            }
            out.push(Replayed {
                t,
                decision: decision_text(kill.as_ref()),
                expected: expects.get(&t).cloned(),
                text: kill.map(|k| k.text.as_str().to_owned()).unwrap_or_default(),
            });
            continue;
        }
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
            memcg: f.get("memcg") == Some(&"1"),
        };
        let w = watermarks(&num)?;
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
            let events = if num("mev")? == 1 {
                let since = f.get("direct_since").map(|v| v.parse::<u64>()).transpose();
                Some(ReclaimEvents {
                    direct_since_ms: since.map_err(|_| err("direct_since is not a number"))?,
                    kswapd: num("kswapd")? == 1,
                })
            } else {
                None
            };
            let vendor = match f.get("vendor") {
                Some(v) => {
                    let (r, m) =
                        v.split_once(':').ok_or_else(|| err("vendor is reason:min_adj"))?;
                    let n = |x: &str| x.parse::<i32>().map_err(|_| err("vendor is reason:min_adj"));
                    Some(VendorKill { reason: n(r)?, min_adj: n(m)? })
                }
                None => None,
            };
            let mut inp = psi_strategy::Inputs {
                snapshot: &s,
                wake,
                watermarks: Some(w),
                watermarks_fresh: false,
                now_ms: t,
                page_kb,
                events,
                vendor,
            };
            let mut c = psi_strategy::decide(&mut psi, &cfg, &inp);
            if c.wants_fresh_watermarks {
                // The daemon read them afresh (a `wmarks` line), or could not (none).
                inp.watermarks = match fresh.get(&t) {
                    Some(f) => {
                        let num = |k: &str| -> Result<i64, TraceError> {
                            f.get(k).map_or(Ok(0), |v| {
                                v.parse::<i64>()
                                    .map(|n| n.clamp(-COUNTER_MAX, COUNTER_MAX))
                                    .map_err(|_| err(&format!("{k} is not a number")))
                            })
                        };
                        Some(watermarks(&num)?)
                    }
                    None => Some(w),
                };
                c = psi_strategy::decide_again(&mut psi, &cfg, &inp, &c);
            }
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
                about_to_run_out: num("run_out")? == 1,
            };
            match legacy::decide(&mut old, &cfg, &inputs) {
                LegacyOutcome::Kill(k) | LegacyOutcome::KillMinfree(k, _) => Some(k),
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
    // Picks follow their wake's decision (stable: in the order recorded at equal times).
    for (_, t, p) in picks {
        let at = out.iter().rposition(|r| r.t <= t).map_or(0, |i| i + 1);
        out.insert(at, Replayed { t, ..p });
    }
    Ok(out)
}

/// The watermarks of a `wake` or `wmarks` line.
fn watermarks(num: &dyn Fn(&str) -> Result<i64, TraceError>) -> Result<Watermarks, TraceError> {
    Ok(Watermarks {
        min: num("wmin")?,
        low: num("wlow")?,
        high: num("whigh")?,
        totalreserve: num("wreserve")?,
        ..Watermarks::default()
    })
}

/// Replays one `pick` line: the choice the policy makes among its candidates, with the
/// recorded choice as the expectation (`pick pid=N` or `pick none`).
fn replay_pick(rest: &str) -> Result<(u64, Replayed), String> {
    let f = fields(rest);
    let t: u64 = f.get("t").and_then(|v| v.parse().ok()).ok_or("pick needs t=<ms>")?;
    let adj: i32 = f.get("adj").and_then(|v| v.parse().ok()).ok_or("pick needs adj")?;
    let heaviest = match f.get("heaviest") {
        Some(&"1") => true,
        Some(&"0") => false,
        _ => return Err("pick needs heaviest=0 or 1".to_owned()),
    };
    let mut candidates = Vec::new();
    for (i, c) in
        f.get("cand").copied().unwrap_or("").split(',').filter(|c| !c.is_empty()).enumerate()
    {
        let (pid, rss) = c.split_once(':').ok_or("a candidate is pid:pages")?;
        candidates.push(Candidate {
            id: crate::procs::RecordId::from_bits(i as u64),
            pid: pid.parse().map_err(|_| format!("bad candidate pid {pid:?}"))?,
            rss_pages: match rss {
                "-" => None,
                n => Some(n.parse::<u64>().map_err(|_| format!("bad size {n:?}"))?),
            },
        });
    }
    let chosen = f.get("chosen").ok_or("pick needs chosen")?;
    let name = |i: Option<usize>| match i.and_then(|i| candidates.get(i)) {
        Some(c) => format!("pick pid={}", c.pid),
        None => "pick none".to_owned(),
    };
    let decision =
        if victim::killable(adj) { name(victim::pick(&candidates, heaviest)) } else { name(None) };
    let expected = Some(match *chosen {
        "none" => "pick none".to_owned(),
        pid => format!("pick pid={pid}"),
    });
    Ok((t, Replayed { t, decision, expected, text: String::new() }))
}
