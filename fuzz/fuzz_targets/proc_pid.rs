//! Fuzzes the `/proc/<pid>` parsers of `lmkd::procs::procfs`: `parse_status` (`status`) and
//! `parse_stat` (`stat`), and the allocation-free formatting the `/proc` writers use
//! (`format_i32` for `oom_score_adj`, `ProcPath::new` for the paths).
//!
//! Properties (`checks::proc_pid`): no panic; `status` values are the leading decimal digits of their line, so never
//! negative, and a field is only reported when its line is in the input; `stat` fields are
//! counted after the last `)`, so a result needs at least 22 fields there (41 for a non-zero
//! policy); the formatters agree with the standard library.
#![no_main]

#[allow(dead_code)]
#[path = "../checks.rs"]
mod checks;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| checks::proc_pid(data));
