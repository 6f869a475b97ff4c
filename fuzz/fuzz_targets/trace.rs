//! Fuzzes the decision-trace reader `lmkd::policy::trace::replay` (the format `lmkd --record`
//! writes and `tests/replay.rs` reads), and through it the pure policy code it feeds: the PSI
//! strategy and the old strategy (levels and minfree), with the properties and `LMK_TARGET`
//! table the trace sets. Also checks that `wake_line` (the writer) and `replay` (the reader)
//! agree on a snapshot built from the input.
//!
//! Properties (`checks::trace_text`, `checks::trace_written`): no panic; replaying is a pure function of the text; a replayed trace has one
//! decision per `wake` record, each `none`, `skipped` or `kill min_adj=<adj> reason=<known
//! code>`; an error names a line of the input; a `wake` line written from any snapshot the
//! parsers can produce (values in 0..=COUNTER_MAX) replays as exactly one decision.
#![no_main]

#[allow(dead_code)]
#[path = "../checks.rs"]
mod checks;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    checks::trace_text(data);
    checks::trace_written(data);
});
