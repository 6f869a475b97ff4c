//! Fuzzes the kernel memory file parsers of `lmkd::memory::parse`: `parse_meminfo`,
//! `parse_vmstat`, `parse_zoneinfo`, `parse_psi` and `parse_memcg_stat`. Every input goes
//! through all five (the seeds are real captures of each file).
//!
//! Properties (`checks::memory`), as the module documents them: no panic; a file that does not end with a newline
//! is `Truncated`; what parses came from unsigned decimal numbers, so no value is negative; a
//! value the parser reports (a required field, a zone, a node, a PSI line) has its line in the
//! input; parsing is a pure function of the bytes (the same input gives the same result).
#![no_main]

#[allow(dead_code)]
#[path = "../checks.rs"]
mod checks;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| checks::memory(data));
