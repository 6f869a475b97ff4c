//! Fuzzes the memory cgroup readers: the memcg domain (`lmkd::memory::Domain::memcg`) over a
//! temporary directory of fuzzed cgroup files, which reaches `KernelFile::number` (the
//! `memory.max` / `memory.current` / `memory.swap.*` / `memory.memsw.*` / `memory.failcnt`
//! attributes, `max` meaning unlimited), `parse_memcg_stat` (`memory.stat`), `parse_psi`
//! (`memory.pressure`) and the free-memory probe the reaper uses; and the per-app memcg
//! readers of `lmkd::procs::memcg`: `MemcgRoot::from_mountinfo` (`/proc/self/mountinfo`) and
//! `MemcgRoot::soft_limit_file` (`/proc/<pid>/cgroup`).
//!
//! Input: one flag byte (bit 0: cgroup v1 layout; bits 1–3: the optional swap, pressure and
//! failcnt files exist; bit 4: a cgroup2 mount offers `memory`), then NUL-separated parts:
//! limit, usage, `memory.stat`, swap limit, swap usage, `memory.pressure`, `memory.failcnt`,
//! mountinfo text, `/proc/<pid>/cgroup` text. Only files under a private temporary directory
//! are written.
//!
//! Properties: no panic; the synthesised snapshot keeps 0 ≤ MemFree ≤ MemTotal and
//! 0 ≤ SwapFree ≤ SwapTotal (as `memory/mod.rs` computes them); the derived watermarks are
//! ordered; a cgroup attribute is a non-negative number or `max`; a memory controller found in
//! mountinfo is one of its mount points; a soft-limit file lies under the controller's root
//! (after `..` is resolved: the task's cgroup is under the controller's mount).
#![no_main]

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use lmkd::memory::{Domain, KernelFile, Snapshot};
use lmkd::procs::memcg::MemcgRoot;

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

fn scratch() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = scratch_base().join(format!("lmkd-fuzz-cgroup-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(d.join("v1")).expect("scratch directory");
        fs::create_dir_all(d.join("v2")).expect("scratch directory");
        d
    })
}

/// Writes `content` to `dir/name`, or removes the file when `content` is `None`.
fn put(dir: &Path, name: &str, content: Option<&[u8]>) {
    let p = dir.join(name);
    match content {
        Some(c) => fs::write(&p, c).expect("scratch file"),
        None => {
            let _ = fs::remove_file(&p);
        }
    }
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
    let with_pressure = flags & 4 != 0;
    let with_failcnt = flags & 8 != 0;
    let dir = scratch().join(if v1 { "v1" } else { "v2" });
    if v1 {
        put(&dir, "memory.limit_in_bytes", Some(limit));
        put(&dir, "memory.usage_in_bytes", Some(usage));
        put(&dir, "memory.memsw.limit_in_bytes", with_swap.then_some(swap_limit));
        put(&dir, "memory.memsw.usage_in_bytes", with_swap.then_some(swap_usage));
        put(&dir, "memory.failcnt", with_failcnt.then_some(failcnt));
    } else {
        put(&dir, "memory.max", Some(limit));
        put(&dir, "memory.current", Some(usage));
        put(&dir, "memory.swap.max", with_swap.then_some(swap_limit));
        put(&dir, "memory.swap.current", with_swap.then_some(swap_usage));
        put(&dir, "memory.pressure", with_pressure.then_some(pressure));
    }
    put(&dir, "memory.stat", Some(stat));

    attribute(&dir.join(if v1 { "memory.limit_in_bytes" } else { "memory.max" }), limit);
    domain(&dir);
    mounts(flags & 16 != 0, mountinfo, proc_cgroup);
});

/// `KernelFile::number`: a non-negative number, or `None` for `max`.
fn attribute(path: &Path, content: &[u8]) {
    let mut f = KernelFile::open("attribute", path).expect("scratch file opens");
    match f.number() {
        Ok(Some(v)) => {
            assert!(v >= 0);
            let t = content.trim_ascii();
            assert!(!t.is_empty() && t.iter().all(|b| b.is_ascii_digit() || *b == b'+'));
        }
        Ok(None) => assert_eq!(content.trim_ascii(), b"max"),
        Err(_) => {}
    }
}

fn domain(dir: &Path) {
    let Ok(mut d) = Domain::memcg(dir) else { return };
    let mut s = Snapshot::default();
    if d.snapshot(&mut s).is_ok() {
        let m = &s.meminfo;
        assert!(m.mem_total >= 0, "{m:?}");
        assert!((0..=m.mem_total).contains(&m.mem_free), "{m:?}");
        assert_eq!(m.mem_available, m.mem_free);
        assert!((0..=m.swap_total).contains(&m.swap_free), "{m:?}");
        assert!(s.vmstat.nr_free_pages >= 0 && s.vmstat.nr_inactive_file >= 0);
    }
    if let Ok(w) = d.watermarks() {
        assert!(0 <= w.min && w.min <= w.low && w.low <= w.high, "{w:?}");
        assert_eq!(w.totalreserve, w.high);
    }
    if let Some(free) = d.free_probe().free_kb() {
        assert!(free >= 0);
    }
}

fn mounts(v2_has_memory: bool, mountinfo: &[u8], proc_cgroup: &[u8]) {
    let text = String::from_utf8_lossy(mountinfo);
    let found = MemcgRoot::from_mountinfo(&text, |_| v2_has_memory);
    if let Some(MemcgRoot::V1(p) | MemcgRoot::V2(p)) = &found {
        let mp = p.to_str().expect("taken from a str");
        assert!(
            text.lines().any(|l| l.split_whitespace().nth(4) == Some(mp)),
            "{mp:?} is not a mount point of the input"
        );
    }
    if let Some(MemcgRoot::V2(_)) = &found {
        assert!(v2_has_memory);
    }
    let cg = String::from_utf8_lossy(proc_cgroup);
    for root in [
        found.clone(),
        Some(MemcgRoot::V1(PathBuf::from("/dev/memcg"))),
        Some(MemcgRoot::V2(PathBuf::from("/sys/fs/cgroup"))),
    ]
    .into_iter()
    .flatten()
    {
        let Some(file) = root.soft_limit_file(&cg) else { continue };
        let (MemcgRoot::V1(base) | MemcgRoot::V2(base)) = &root;
        assert!(stays_under(&file, base), "{} escapes {}", file.display(), base.display());
        let name = match root {
            MemcgRoot::V1(_) => "memory.soft_limit_in_bytes",
            MemcgRoot::V2(_) => "memory.low",
        };
        assert_eq!(file.file_name().and_then(|n| n.to_str()), Some(name));
    }
}

/// Whether `path` names something under `base` once `.` and `..` are resolved (lexically, as
/// the kernel resolves them in a cgroup file system, which has no symbolic links).
fn stays_under(path: &Path, base: &Path) -> bool {
    use std::path::Component;
    let Ok(rel) = path.strip_prefix(base) else { return false };
    let mut depth = 0usize;
    for c in rel.components() {
        match c {
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            Component::ParentDir => match depth.checked_sub(1) {
                Some(d) => depth = d,
                None => return false,
            },
            Component::RootDir | Component::Prefix(_) => return false,
        }
    }
    true
}
