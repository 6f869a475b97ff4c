//! Fuzzes the memory cgroup readers: the memcg domain (`lmkd::memory::Domain::memcg`) over a
//! temporary directory of fuzzed cgroup files, which reaches `KernelFile::number` (the
//! `memory.max` / `memory.current` / `memory.swap.*` / `memory.memsw.*` / `memory.failcnt`
//! attributes, `max` meaning unlimited), `parse_memcg_stat` (`memory.stat`), `parse_psi`
//! (`memory.pressure`) and the free-memory probe the reaper uses; and the per-app memcg
//! readers of `lmkd::memory::cgroup`: `MemcgRoot::from_mountinfo` (`/proc/self/mountinfo`) and
//! `MemcgRoot::soft_limit_file` (`/proc/<pid>/cgroup`).
//!
//! Input: one flag byte (bit 0: cgroup v1 layout; bits 1–3: the optional swap, pressure and
//! failcnt files exist; bit 4: a cgroup2 mount offers `memory`), then NUL-separated parts:
//! limit, usage, `memory.stat`, swap limit, swap usage, `memory.pressure`, `memory.failcnt`,
//! mountinfo text, `/proc/<pid>/cgroup` text. Only files under a private temporary directory
//! are written.
//!
//! Properties (`checks::memcg_files`, `checks::mounts`): no panic; the synthesised snapshot keeps 0 ≤ MemFree ≤ MemTotal and
//! 0 ≤ SwapFree ≤ SwapTotal (as `memory/mod.rs` computes them); the derived watermarks are
//! ordered; a cgroup attribute is a non-negative number or `max`; a memory controller found in
//! mountinfo is one of its mount points; a soft-limit file lies under the controller's root
//! (after `..` is resolved: the task's cgroup is under the controller's mount).
#![no_main]

#[allow(dead_code)]
#[path = "../checks.rs"]
mod checks;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

fn scratch() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = checks::scratch_base().join(format!("lmkd-fuzz-cgroup-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(d.join("v1")).expect("scratch directory");
        fs::create_dir_all(d.join("v2")).expect("scratch directory");
        d
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else { return };
    let mut parts = rest.split(|&b| b == 0);
    let mut next = || parts.next().unwrap_or_default();
    let (limit, usage, stat) = (next(), next(), next());
    let (swap_limit, swap_usage, pressure, failcnt) = (next(), next(), next(), next());
    let (mountinfo, proc_cgroup) = (next(), next());

    let v1 = flags & 1 != 0;
    let with_swap = flags & 2 != 0;
    let last =
        if v1 { (flags & 8 != 0).then_some(failcnt) } else { (flags & 4 != 0).then_some(pressure) };
    let dir = scratch().join(if v1 { "v1" } else { "v2" });
    let files = [
        Some(limit),
        Some(usage),
        Some(stat),
        with_swap.then_some(swap_limit),
        with_swap.then_some(swap_usage),
        last,
    ];
    checks::memcg_files(&dir, v1, &files);
    checks::mounts(
        flags & 16 != 0,
        &String::from_utf8_lossy(mountinfo),
        &String::from_utf8_lossy(proc_cgroup),
    );
});
