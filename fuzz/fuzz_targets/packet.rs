//! Fuzzes the packet decoders: every byte string a client could send the daemon (AOSP commands
//! and this project's extensions), and every byte string the daemon could send a client
//! (replies, `LMK_PROCKILL`, `LMK_STAT_KILL_OCCURRED`, the chunked extension replies).
//!
//! Properties: decoding never panics; what decodes encodes back to bytes that decode to the
//! same value (exactly the same bytes where the format has one spelling); names and texts
//! taken from the wire stay within their documented bounds.
#![no_main]

#[allow(dead_code)]
#[path = "../checks.rs"]
mod checks;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| checks::packet(data));
