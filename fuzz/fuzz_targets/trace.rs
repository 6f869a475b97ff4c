//! Fuzzes the decision-trace reader `lmkd::policy::trace::replay` (the format `lmkd --record`
//! writes and `tests/replay.rs` reads), and through it the pure policy code it feeds: the PSI
//! strategy and the old strategy (levels and minfree), with the properties and `LMK_TARGET`
//! table the trace sets. Also checks that `wake_line` (the writer) and `replay` (the reader)
//! agree on a snapshot built from the input.
//!
//! Properties: no panic; replaying is a pure function of the text; a replayed trace has one
//! decision per `wake` record, each `none`, `skipped` or `kill min_adj=<adj> reason=<known
//! code>`; an error names a line of the input; a `wake` line written from any snapshot the
//! parsers can produce (values in 0..=COUNTER_MAX) replays as exactly one decision.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lmkd::memory::parse::COUNTER_MAX;
use lmkd::memory::{Meminfo, PsiAverages, PsiLine, Snapshot, Vmstat, Watermarks};
use lmkd::policy::legacy::MemcgUsage;
use lmkd::policy::trace::{replay, wake_line};
use lmkd::policy::{KillReason, Source, Wakeup};
use lmkd::pressure::Level;

fuzz_target!(|data: &[u8]| {
    text(data);
    written(data);
});

fn text(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let result = replay(&text);
    assert_eq!(replay(&text), result, "replay is deterministic");
    match result {
        Ok(decisions) => {
            let wakes = text
                .lines()
                .map(str::trim)
                .filter(|l| l.split_once(' ').map_or(*l, |(k, _)| k) == "wake")
                .count();
            assert_eq!(decisions.len(), wakes);
            for d in &decisions {
                check_decision(&d.decision);
            }
        }
        Err(e) => assert!((1..=text.lines().count()).contains(&e.line), "{e}"),
    }
}

fn check_decision(d: &str) {
    if d == "none" || d == "skipped" {
        return;
    }
    let rest = d.strip_prefix("kill min_adj=").unwrap_or_else(|| panic!("decision {d:?}"));
    let (adj, reason) = rest.split_once(" reason=").expect("kill decision has a reason");
    adj.parse::<i32>().expect("min_adj is a number");
    let code = reason.parse::<i32>().expect("reason is a number");
    assert!(KillReason::from_code(code).is_some(), "unknown reason {code}");
}

/// Little-endian words of the input (zero past its end), made non-negative as the parsers'.
fn words(data: &[u8]) -> impl Iterator<Item = i64> + '_ {
    (0..).map(move |i: usize| {
        let mut w = [0u8; 8];
        for (j, b) in w.iter_mut().enumerate() {
            *b = data.get(i * 8 + j).copied().unwrap_or(0);
        }
        (i64::from_le_bytes(w) & i64::MAX) % (COUNTER_MAX + 1)
    })
}

fn written(data: &[u8]) {
    let mut w = words(data);
    let mut n = || w.next().unwrap_or(0);
    let flags = n();
    let s = Snapshot {
        meminfo: Meminfo {
            mem_free: n(),
            cma_free: n(),
            swap_total: n(),
            swap_free: n(),
            active_anon: n(),
            inactive_anon: n(),
            active_file: n(),
            inactive_file: n(),
            shmem: n(),
            unevictable: n(),
            cached: n(),
            buffers: n(),
            swap_cached: n(),
            ..Meminfo::default()
        },
        vmstat: Vmstat {
            nr_inactive_file: n(),
            nr_active_file: n(),
            workingset_refault_file: n(),
            pgscan_kswapd: n(),
            pgscan_direct: n(),
            pgrefill: n(),
            ..Vmstat::default()
        },
        psi: PsiAverages {
            full: PsiLine { avg10: (n() % 10_001) as u32, ..PsiLine::default() },
            ..PsiAverages::default()
        },
    };
    let wm =
        Watermarks { min: n(), low: n(), high: n(), totalreserve: n(), ..Watermarks::default() };
    let usage =
        MemcgUsage { mem: (flags & 8 != 0).then(&mut n), memsw: (flags & 16 != 0).then(&mut n) };
    let wake = Wakeup {
        source: if flags & 1 != 0 { Source::Vmpressure } else { Source::Psi },
        level: Level::from_index((flags >> 1) as usize % 3).expect("0..=2"),
        event: flags & 32 != 0,
    };
    let t = n() as u64;
    let line = wake_line(t, wake, flags & 64 != 0, &s, &wm, usage);
    let replayed = replay(&line).unwrap_or_else(|e| panic!("{line:?}: {e}"));
    assert_eq!(replayed.len(), 1, "{line:?}");
    assert_eq!(replayed[0].t, t);
    check_decision(&replayed[0].decision);
}
