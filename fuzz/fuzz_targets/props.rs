//! Fuzzes the configuration readers of `lmkd::config`: `FileProperties::parse` (the host's
//! build.prop-style file), `parse_int` and `parse_bool` (Android's property value syntax),
//! `Config::load` over the parsed properties and `Config::to_properties`; and, from the loaded
//! configuration, the PSI trigger text of `lmkd::pressure::psi::Trigger` (`text`, `scaled_to`)
//! as the daemon builds it (threshold clamped to the window).
//!
//! Properties: no panic; every key is non-empty, trimmed and without white space, every value
//! trimmed, malformed line numbers are increasing and within the file, and writing the map back
//! as `key=value` lines parses to the same map with no malformed line; a parsed integer or
//! boolean formats back to text that parses to the same value; the loaded configuration
//! respects its documented clamps and survives `to_properties` → `load`; a trigger's text is
//! `<some|full> <µs> <µs>` with its NUL, and scaling keeps the threshold within the window.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lmkd::config::{parse_bool, parse_int, Config, FileProperties};
use lmkd::pressure::psi::{Stall, Trigger, UNPRIVILEGED_WINDOW_MS};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (map, bad) = FileProperties::parse(&text);
    let lines = text.lines().count();
    assert!(bad.windows(2).all(|w| w[0] < w[1]));
    assert!(bad.iter().all(|&n| (1..=lines).contains(&n)));
    for (k, v) in &map {
        assert!(!k.is_empty() && !k.contains(char::is_whitespace) && !k.starts_with('#'));
        assert!(!k.contains('='));
        assert_eq!(v.trim(), v);
        values(v);
    }
    let written: String = map.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
    assert_eq!(FileProperties::parse(&written), (map.clone(), vec![]));
    for line in text.lines() {
        values(line);
    }

    let src = FileProperties::from_pairs(map.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let c = Config::load(&src);
    clamps(&c);
    let props = c.to_properties();
    let again =
        Config::load(&FileProperties::from_pairs(props.iter().map(|(k, v)| (*k, v.as_str()))));
    assert_eq!(again, c, "to_properties then load is the identity");
    triggers(&c);
});

fn values(v: &str) {
    if let Some(i) = parse_int(v) {
        assert_eq!(parse_int(&i.to_string()), Some(i));
    }
    if let Some(b) = parse_bool(v) {
        assert_eq!(parse_bool(&b.to_string()), Some(b));
    }
}

fn clamps(c: &Config) {
    assert!((0..=100).contains(&c.swap_free_low_percentage));
    assert!(c.thrashing_limit >= 0);
    assert!((0..=100).contains(&c.thrashing_limit_decay));
    assert!(c.thrashing_limit_critical >= 0);
    assert!((0..=100).contains(&c.swap_util_max));
    assert!(c.lowmem_min_oom_score >= 201);
    assert!((0..=16).contains(&c.reaper_threads));
    assert!((-20..=19).contains(&c.reaper_nice));
    assert!((500..=10_000).contains(&c.psi_window_ms));
    assert!((0..=65_536).contains(&c.kill_history_size));
}

/// The triggers as the daemon makes them from a configuration.
fn triggers(c: &Config) {
    let w = u64::try_from(c.psi_window_ms).expect("clamped");
    for (stall, ms) in
        [(Stall::Some, c.psi_partial_stall_ms), (Stall::Full, c.psi_complete_stall_ms)]
    {
        let t = Trigger {
            stall,
            threshold_ms: u64::try_from(ms).unwrap_or(0).clamp(1, w),
            window_ms: w,
        };
        let text = t.text();
        let body = text.strip_suffix('\0').expect("the trigger keeps its NUL");
        let mut f = body.split(' ');
        let kind = if stall == Stall::Some { "some" } else { "full" };
        assert_eq!(f.next(), Some(kind));
        assert_eq!(f.next().and_then(|v| v.parse::<u64>().ok()), Some(t.threshold_ms * 1000));
        assert_eq!(f.next().and_then(|v| v.parse::<u64>().ok()), Some(w * 1000));
        assert_eq!(f.next(), None);
        let s = t.scaled_to(UNPRIVILEGED_WINDOW_MS);
        assert_eq!((s.stall, s.window_ms), (stall, UNPRIVILEGED_WINDOW_MS));
        assert!((1..=UNPRIVILEGED_WINDOW_MS).contains(&s.threshold_ms));
    }
}
