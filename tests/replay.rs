//! Replays the synthetic decision traces of `tests/fixtures/traces/` through the policy code
//! (`lmkd::policy::trace::replay`, the same code `lmkctl replay` and the daemon use) and checks
//! every expectation they carry. Also checks that malformed traces are reported with the right
//! line number and never panic.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use lmkd::policy::trace::{replay, Replayed, TraceError};

fn traces_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/traces")
}

/// Every `*.trace` file, by name (without the extension), with its text.
fn fixtures() -> BTreeMap<String, String> {
    let dir = traces_dir();
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("directory entry").path();
        if path.extension().is_some_and(|e| e == "trace") {
            let name = path.file_stem().expect("file name").to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            out.insert(name, text);
        }
    }
    out
}

/// The fixtures the suite is built on: one missing is a failure, not a silent pass.
const REQUIRED: &[&str] = &[
    "low_mem",
    "thrashing",
    "swap",
    "swap_util",
    "not_responding",
    "filecache",
    "direct_reclaim",
    "kill_wait",
    "legacy_levels",
    "legacy_minfree",
    "idle",
    "predictive_race",
];

/// The times of the `expect` lines of a trace.
fn expect_times(text: &str) -> Vec<u64> {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("expect "))
        .map(|rest| {
            rest.split_whitespace()
                .next()
                .and_then(|t| t.strip_prefix("t="))
                .and_then(|t| t.parse().ok())
                .unwrap_or_else(|| panic!("bad expect line: {rest}"))
        })
        .collect()
}

fn replay_fixture(name: &str, text: &str) -> Vec<Replayed> {
    replay(text).unwrap_or_else(|e| panic!("{name}.trace: {e}"))
}

#[test]
fn every_fixture_replays_as_expected() {
    let all = fixtures();
    for name in REQUIRED {
        assert!(all.contains_key(*name), "missing fixture {name}.trace");
    }
    let mut failures = Vec::new();
    for (name, text) in &all {
        let out = replay_fixture(name, text);
        let expected = expect_times(text);
        assert!(!expected.is_empty(), "{name}.trace has no expectation");
        // Every expectation refers to a wake of the trace.
        let wake_times: BTreeSet<u64> = out.iter().map(|r| r.t).collect();
        for t in &expected {
            assert!(wake_times.contains(t), "{name}.trace: expect t={t} has no wake at that time");
        }
        for r in &out {
            if let Some(e) = &r.expected {
                if &r.decision != e {
                    failures.push(format!(
                        "{name}.trace t={}: expected `{e}`, decided `{}` ({:?})",
                        r.t, r.decision, r.text
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "mismatches:\n{}", failures.join("\n"));
}

#[test]
fn the_fixtures_cover_every_aosp_kill_reason() {
    let mut seen = BTreeSet::new();
    for (name, text) in fixtures() {
        for r in replay_fixture(&name, &text) {
            let Some(e) = r.expected else { continue };
            if let Some(code) = e.strip_prefix("kill ").and_then(|k| {
                k.split_whitespace().find_map(|f| f.strip_prefix("reason=")?.parse::<i32>().ok())
            }) {
                seen.insert(code);
            }
        }
    }
    for code in 0..=9 {
        assert!(seen.contains(&code), "no fixture expects a kill with reason {code}: {seen:?}");
    }
}

#[test]
fn kill_texts_are_aosps() {
    // (fixture, time, the text after `reason: ` in the kill line)
    let cases = [
        ("low_mem", 100, "low watermark is breached"),
        ("low_mem", 320, "min watermark is breached"),
        ("thrashing", 200, "low watermark is breached and thrashing (150%)"),
        ("thrashing", 210, "min watermark is breached even after kill"),
        ("thrashing", 1700, "low watermark is breached and thrashing (300%)"),
        ("swap", 100, "device is low on swap (50000kB < 100000kB) and thrashing (150%)"),
        ("swap", 110, "low watermark is breached and swap is low (50000kB < 100000kB)"),
        ("swap", 120, "min watermark is breached and swap is low (50000kB < 100000kB)"),
        ("swap_util", 200, "low watermark is breached and swap utilization is high (77% > 50%)"),
        ("not_responding", 100, "device is not responding"),
        ("filecache", 110, "filecache is low (3996kB < 10000kB) after thrashing"),
        ("direct_reclaim", 100, "device is in direct reclaim and thrashing (150%)"),
        ("direct_reclaim", 1250, "device is stuck in direct reclaim (250ms > 200ms)"),
        ("direct_reclaim", 1500, "vendor kill with the reason 3, min_score_adj 300"),
        // The old strategy logs no reason text.
        ("legacy_levels", 200, ""),
    ];
    let all = fixtures();
    for (name, t, text) in cases {
        let out = replay_fixture(name, &all[name]);
        let r = out
            .iter()
            .find(|r| r.t == t)
            .unwrap_or_else(|| panic!("{name}.trace has no wake at t={t}"));
        assert!(r.decision.starts_with("kill "), "{name}.trace t={t}: {}", r.decision);
        assert_eq!(r.text, text, "{name}.trace t={t}");
    }
}

#[test]
fn malformed_traces_give_the_line_number_and_never_panic() {
    let w = "wake t=0 src=psi lvl=medium ev=1 free=400000";
    let cases: Vec<(String, usize, &str)> = vec![
        ("prop ro.lmk.debug".to_owned(), 1, "prop needs key=value"),
        ("# a comment\n\nbogus t=1".to_owned(), 3, "unknown record"),
        ("target 18432:0,23040".to_owned(), 1, "target needs minfree:adj"),
        ("target 18432:zero".to_owned(), 1, "bad adj"),
        ("target lots:0".to_owned(), 1, "bad minfree"),
        ("target 1:1,2:2,3:3,4:4,5:5,6:6,7:7".to_owned(), 1, "more than 6 targets"),
        (format!("{w}\nkilled ok=1"), 2, "killed needs t"),
        (format!("{w}\nexpect t=0"), 2, "expect needs t=.. and a decision"),
        (format!("{w}\nexpect at=0 none"), 2, "expect needs t=<ms>"),
        (format!("{w}\n# fine\nwake t=abc"), 3, "t is not a number"),
        (format!("{w}\n\nwake t=-5"), 3, "negative t"),
        (format!("# x\n{w}\nwake t=10 lvl=extreme"), 3, "lvl must be low, medium or critical"),
        (format!("{w}\nwake t=10 free=12kB"), 2, "free is not a number"),
        (format!("{w}\nwake t=10 refault=1.5"), 2, "refault is not a number"),
        // A wake error is reported at the wake's line even when other records follow it.
        (format!("prop a=b\n{w}\nwake t=10 pending=maybe\nexpect t=10 none"), 3, "pending"),
    ];
    for (text, line, what) in cases {
        let result = std::panic::catch_unwind(|| replay(&text));
        let result = result.unwrap_or_else(|_| panic!("replay panicked on {text:?}"));
        let err: TraceError = match result {
            Ok(out) => panic!("{text:?} replayed: {out:?}"),
            Err(e) => e,
        };
        assert_eq!(err.line, line, "{text:?}: {err}");
        assert!(err.what.contains(what), "{text:?}: {err} (wanted {what:?})");
        assert!(err.to_string().starts_with(&format!("line {line}: ")), "{err}");
    }
}

#[test]
fn odd_but_valid_traces_replay() {
    // Nothing at all, comments only, records without wakes.
    for text in
        ["", "# nothing\n\n   \n", "prop ro.lmk.debug=true\ntarget 18432:0\nexpect t=5 none"]
    {
        assert_eq!(replay(text), Ok(Vec::new()), "{text:?}");
    }
    // Missing fields are 0; `decision` lines (written by the daemon) are informational.
    let out = replay("wake t=7\ndecision t=7 kill min_adj=0 reason=1\nexpect t=7 none").unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!((out[0].t, out[0].decision.as_str()), (7, "none"));
    assert_eq!(out[0].expected.as_deref(), Some("none"));
}
