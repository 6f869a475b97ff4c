//! Fuzzes the configuration readers of `lmkd::config`: `FileProperties::parse` (the host's
//! build.prop-style file), `parse_int` and `parse_bool` (Android's property value syntax),
//! `Config::load` over the parsed properties and `Config::to_properties`; and, from the loaded
//! configuration, the PSI trigger text of `lmkd::pressure::psi::Trigger` (`text`, `scaled_to`)
//! as the daemon builds it (threshold clamped to the window).
//!
//! Properties (`checks::props`): no panic; every key is non-empty, trimmed and without white space, every value
//! trimmed, malformed line numbers are increasing and within the file, and writing the map back
//! as `key=value` lines parses to the same map with no malformed line; a parsed integer or
//! boolean formats back to text that parses to the same value; the loaded configuration
//! respects its documented clamps and survives `to_properties` → `load`; a trigger's text is
//! `<some|full> <µs> <µs>` with its NUL, and scaling keeps the threshold within the window.
#![no_main]

#[allow(dead_code)]
#[path = "../checks.rs"]
mod checks;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| checks::props(data));
