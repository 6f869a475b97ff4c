//! Fuzzes the sysfs readers of `lmkd::reaper::placement`: `parse_cpulist` (the `online` file
//! and `ro.lmk.reaper_cpus`), its inverse `format_cpulist`, and `detect` / `choose` over a
//! temporary CPU tree (`cpu<N>/cpu_capacity`, `cpu<N>/cpufreq/cpuinfo_max_freq`, `online`)
//! built from the input.
//!
//! Input: three header bytes (CPU count − 1 in bits 0–2 and "an `online` file exists" in bit 3;
//! which CPUs have `cpu_capacity`; which have `cpuinfo_max_freq`), then NUL-separated parts: a
//! cpulist for `choose`, the `online` text, then per CPU its capacity and maximum frequency.
//! Only files under a private temporary directory are written.
//!
//! Properties (`checks::cpulist`, `checks::placement`): no panic; a parsed cpulist is non-empty, strictly increasing and below 4096,
//! and formats to text that parses back to it; a pinned placement is a non-empty, sorted set
//! of CPUs that exist in the tree (and are online when `online` says which are); a valid
//! configured list always wins.
#![no_main]

#[allow(dead_code)]
#[path = "../checks.rs"]
mod checks;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

fn tree() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| checks::scratch_base().join(format!("lmkd-fuzz-sysfs-{}", std::process::id())))
}

fuzz_target!(|data: &[u8]| {
    let Some((header, rest)) = data.split_first_chunk::<3>() else {
        checks::cpulist(&String::from_utf8_lossy(data));
        return;
    };
    let n = usize::from(header[0] & 7) + 1;
    let with_online = header[0] & 8 != 0;
    let (cap_mask, freq_mask) = (header[1], header[2]);
    let mut parts = rest.split(|&b| b == 0);
    let mut next = || String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let configured = next();
    let online = next();
    let values: Vec<(String, String)> = (0..n).map(|_| (next(), next())).collect();
    let cpus: Vec<(Option<&str>, Option<&str>)> = values
        .iter()
        .enumerate()
        .map(|(c, (cap, freq))| {
            (
                (cap_mask & (1 << c) != 0).then_some(cap.as_str()),
                (freq_mask & (1 << c) != 0).then_some(freq.as_str()),
            )
        })
        .collect();
    checks::placement(tree(), with_online.then_some(online.as_str()), &cpus, &configured);
});
