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
//! Properties: no panic; a parsed cpulist is non-empty, strictly increasing and below 4096,
//! and formats to text that parses back to it; a pinned placement is a non-empty, sorted set
//! of CPUs that exist in the tree (and are online when `online` says which are); a valid
//! configured list always wins.
#![no_main]

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use lmkd::reaper::placement::{choose, detect, format_cpulist, parse_cpulist, Placement, Source};

/// `$TMPDIR` when set; else a memory file system when there is one (the target writes files on
/// every run).
fn scratch_base() -> PathBuf {
    let shm = Path::new("/dev/shm");
    if std::env::var_os("TMPDIR").is_none_or(|v| v.is_empty())
        && fs::metadata(shm).is_ok_and(|m| m.is_dir() && !m.permissions().readonly())
    {
        shm.to_owned()
    } else {
        std::env::temp_dir()
    }
}

const MAX_CPUS: usize = 8;

fn tree() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| scratch_base().join(format!("lmkd-fuzz-sysfs-{}", std::process::id())))
}

fuzz_target!(|data: &[u8]| {
    let Some((header, rest)) = data.split_first_chunk::<3>() else {
        cpulist(&String::from_utf8_lossy(data));
        return;
    };
    let n = usize::from(header[0] & 7) + 1;
    let with_online = header[0] & 8 != 0;
    let (cap_mask, freq_mask) = (header[1], header[2]);
    let mut parts = rest.split(|&b| b == 0);
    let mut next = || String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let configured = next();
    let online = next();
    cpulist(&configured);
    cpulist(&online);

    let root = tree();
    let _ = fs::remove_dir_all(root);
    for c in 0..n {
        let d = root.join(format!("cpu{c}"));
        fs::create_dir_all(d.join("cpufreq")).expect("scratch tree");
        let (cap, freq) = (next(), next());
        if cap_mask & (1 << c) != 0 {
            fs::write(d.join("cpu_capacity"), cap).expect("scratch file");
        }
        if freq_mask & (1 << c) != 0 {
            fs::write(d.join("cpufreq/cpuinfo_max_freq"), freq).expect("scratch file");
        }
    }
    if with_online {
        fs::write(root.join("online"), &online).expect("scratch file");
    }
    let allowed: Vec<usize> = match (with_online, parse_cpulist(&online)) {
        (true, Some(on)) => (0..n).filter(|c| on.contains(c)).collect(),
        _ => (0..n).collect(),
    };
    assert!(n <= MAX_CPUS);

    let detected = detect(root);
    let _ = detected.to_string();
    if let Placement::Pinned { cpus, source } = &detected {
        assert!(!cpus.is_empty());
        assert!(cpus.windows(2).all(|w| w[0] < w[1]), "{cpus:?} is not sorted");
        assert!(cpus.iter().all(|c| allowed.contains(c)), "{cpus:?} not within {allowed:?}");
        assert_ne!(*source, Source::Configured);
    }
    let chosen = choose(Some(&configured), root);
    match parse_cpulist(&configured) {
        Some(cpus) => {
            assert_eq!(chosen, Placement::Pinned { cpus, source: Source::Configured })
        }
        None => assert_eq!(chosen, detected),
    }
    assert_eq!(choose(None, root), detected);
});

fn cpulist(text: &str) {
    let Some(cpus) = parse_cpulist(text) else { return };
    assert!(!cpus.is_empty());
    assert!(cpus.windows(2).all(|w| w[0] < w[1]), "not strictly increasing");
    assert!(cpus.iter().all(|&c| c < 4096));
    let formatted = format_cpulist(&cpus);
    assert_eq!(parse_cpulist(&formatted).as_ref(), Some(&cpus), "{formatted:?}");
    assert_eq!(format_cpulist(&parse_cpulist(&formatted).unwrap_or_default()), formatted);
}
