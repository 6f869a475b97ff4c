//! The properties of the fuzz targets, in one place: the `cargo fuzz` targets
//! (`fuzz_targets/*.rs`) and their proptest twin on stable (`tests/fuzz_properties.rs`) both
//! include this file, so what fuzzing checks and what `cargo test` checks cannot drift apart.
//! Every function panics when a property fails; none writes outside the directories it is given.

use std::path::{Component, Path, PathBuf};

use lmkd::config::{parse_bool, parse_int, Config, FileProperties};
use lmkd::kill::FixedText;
use lmkd::kill::KillReason;
use lmkd::memory::cgroup::MemcgRoot;
use lmkd::memory::parse::{
    parse_memcg_stat, parse_meminfo, parse_psi, parse_vmstat, parse_zoneinfo, ParseError, PsiLine,
    COUNTER_MAX,
};
use lmkd::memory::{Domain, KernelFile, Meminfo, PsiAverages, Snapshot, Vmstat, Watermarks};
use lmkd::policy::legacy::MemcgUsage;
use lmkd::policy::psi_strategy::{ReclaimEvents, VendorKill};
use lmkd::policy::trace::{replay, wake_line, WakeExtras};
use lmkd::policy::Level;
use lmkd::policy::{Source, Wakeup};
use lmkd::pressure::psi::{Stall, Trigger, UNPRIVILEGED_WINDOW_MS};
use lmkd::procs::procfs::{format_i32, parse_stat, parse_status, ProcPath};
use lmkd::protocol::ext::{
    decode_procs_reply, decode_text_reply, encode_procs_reply, encode_text_reply, ExtCommand,
    PROCS_PER_PACKET, PROCS_RECORD_WORDS, STATUS_CHUNK,
};
use lmkd::protocol::{
    encode_reply, frame, Command, KillStat, ServerMessage, StatName, CTRL_PACKET_MAX_SIZE,
    LMKD_REPLY_MAX_SIZE, LMK_BOOT_COMPLETED, LMK_GETKILLCNT, LMK_UPDATE_PROPS, PROCKILL_SIZE,
    STAT_NAME_MAX,
};
use lmkd::reaper::placement::{
    choose, detect, format_cpulist, parse_cpulist, Placement, Source as Why,
};
use lmkd::report::history::{decode_history, encode_history, RECORD_WIRE_SIZE};
use lmkd::report::KillHistory;

/// Where a target that writes files on every run puts them: `$TMPDIR` when set; else a memory
/// file system when there is one.
pub fn scratch_base() -> PathBuf {
    let shm = Path::new("/dev/shm");
    if std::env::var_os("TMPDIR").is_none_or(|v| v.is_empty())
        && std::fs::metadata(shm).is_ok_and(|m| m.is_dir() && !m.permissions().readonly())
    {
        shm.to_owned()
    } else {
        std::env::temp_dir()
    }
}

fn has_line(data: &[u8], prefix: &[u8]) -> bool {
    data.split(|&b| b == b'\n').any(|l| l.starts_with(prefix))
}

// ---------------------------------------------------------------------------------------------
// /proc memory files (target proc_memory)

/// A file without its final newline is `Truncated`, and only such a file.
fn truncated<T>(data: &[u8], r: &Result<T, ParseError>) {
    let complete = data.last() == Some(&b'\n');
    assert_eq!(
        matches!(r, Err(ParseError::Truncated)),
        !complete,
        "Truncated iff the file does not end with a newline"
    );
}

/// `parse_meminfo`, `parse_vmstat`, `parse_zoneinfo`, `parse_psi` and `parse_memcg_stat` on the
/// same bytes: no panic; `Truncated` iff the final newline is missing; no value negative or
/// above `COUNTER_MAX`; a reported field, zone, node or PSI line has its line in the input;
/// parsing is a pure function of the bytes.
pub fn memory(data: &[u8]) {
    let counter = |v: i64| (0..=COUNTER_MAX).contains(&v);
    let meminfo = parse_meminfo(data);
    truncated(data, &meminfo);
    if let Ok(m) = meminfo {
        let f = [
            m.mem_total,
            m.mem_free,
            m.mem_available,
            m.buffers,
            m.cached,
            m.swap_cached,
            m.active_anon,
            m.inactive_anon,
            m.active_file,
            m.inactive_file,
            m.unevictable,
            m.swap_total,
            m.swap_free,
            m.shmem,
            m.sreclaimable,
            m.sunreclaim,
            m.kernel_stack,
            m.page_tables,
            m.ion_heap,
            m.ion_heap_pool,
            m.cma_free,
            m.file_pages(),
            m.easy_available(),
        ];
        assert!(f.into_iter().all(counter), "meminfo field out of range: {m:?}");
        assert!(has_line(data, b"MemTotal:") && has_line(data, b"MemFree:"));
    }
    assert_eq!(parse_meminfo(data), meminfo);

    let vmstat = parse_vmstat(data);
    truncated(data, &vmstat);
    if let Ok(v) = vmstat {
        let f = [
            v.nr_free_pages,
            v.nr_inactive_file,
            v.nr_active_file,
            v.workingset_refault_file,
            v.pgscan_kswapd,
            v.pgscan_direct,
            v.pgscan_direct_throttle,
            v.pgrefill,
            v.oom_kill,
        ];
        assert!(f.into_iter().all(counter), "vmstat counter out of range: {v:?}");
        assert!(has_line(data, b"nr_free_pages "));
    }

    let zoneinfo = parse_zoneinfo(data);
    truncated(data, &zoneinfo);
    if let Ok(w) = zoneinfo {
        let f = [w.min, w.low, w.high, w.totalreserve, w.free, w.free_cma, w.file_lru];
        assert!(f.into_iter().all(counter), "watermark out of range: {w:?}");
        assert_eq!(w.totalreserve, w.high, "totalreserve is the high watermark sum");
        let zone_lines =
            data.split(|&b| b == b'\n').filter(|l| l.trim_ascii().starts_with(b"Node ")).count();
        assert!(zone_lines >= 1);
        assert!(w.zones as usize <= zone_lines && w.nodes as usize <= zone_lines, "{w:?}");
    }

    let psi = parse_psi(data);
    truncated(data, &psi);
    if let Ok(p) = psi {
        assert!(has_line(data, b"some "));
        if p.full != PsiLine::default() {
            assert!(has_line(data, b"full "));
        }
    }

    let memcg = parse_memcg_stat(data);
    truncated(data, &memcg);
    if let Ok(s) = memcg {
        let f = [
            s.anon,
            s.file,
            s.inactive_file,
            s.active_file,
            s.inactive_anon,
            s.active_anon,
            s.shmem,
            s.unevictable,
            s.swap,
            s.workingset_refault_file,
            s.pgscan.unwrap_or(0),
        ];
        assert!(f.into_iter().all(counter), "memory.stat field out of range: {s:?}");
        if s.pgscan.is_some() {
            assert!(has_line(data, b"pgscan "));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// /proc/<pid> files (target proc_pid)

/// `parse_status`, `parse_stat`, `format_i32` and `ProcPath::new` on the same bytes: `status`
/// values are the leading digits of their line, so never negative, and only reported when the
/// line is there; `stat` fields are counted after the last `)` (field 22, starttime, is the 20th
/// there; policy, field 41, the 39th); the formatters agree with the standard library.
pub fn proc_pid(data: &[u8]) {
    let st = parse_status(data);
    assert_eq!(parse_status(data), st);
    if let Some(t) = st.tgid {
        assert!(t >= 0 && has_line(data, b"Tgid:"));
    }
    if let Some(v) = st.vm_rss_kb {
        assert!(v >= 0 && has_line(data, b"VmRSS:"));
    }
    if let Some(v) = st.vm_swap_kb {
        assert!(v >= 0 && has_line(data, b"VmSwap:"));
    }
    if st.uid.is_some() {
        assert!(has_line(data, b"Uid:"));
    }

    if let Some(s) = parse_stat(data) {
        let close = data.iter().rposition(|&b| b == b')').expect("a parsed stat has a name");
        let fields =
            data[close + 1..].split(|b| b.is_ascii_whitespace()).filter(|f| !f.is_empty()).count();
        assert!(fields >= 20, "stat parsed from {fields} fields after the name");
        if s.policy != 0 {
            assert!(fields >= 39, "policy parsed from {fields} fields after the name");
        }
        assert_eq!(parse_stat(data), Some(s));
    }

    let mut w = [0u8; 4];
    for (i, b) in data.iter().take(4).enumerate() {
        w[i] = *b;
    }
    let v = i32::from_be_bytes(w);
    let mut buf = [0u8; 12];
    assert_eq!(format_i32(v, &mut buf), v.to_string().as_bytes());
    let file = String::from_utf8_lossy(data.get(4..).unwrap_or_default());
    let p = ProcPath::new(v, &file);
    let prefix = format!("/proc/{v}/");
    let s = p.as_str();
    assert!(s == "/proc/invalid" || s.starts_with(&prefix), "{s:?}");
    assert!(s.len() <= prefix.len() + 40);
    if file.len() <= 40 {
        assert_eq!(s, format!("{prefix}{file}"));
    }
}

// ---------------------------------------------------------------------------------------------
// Cgroup files, mountinfo, /proc/<pid>/cgroup (target cgroup)

/// The cgroup file names of the memcg domain, in the order the `cgroup` target's input and
/// [`memcg_files`] give their contents: limit, usage, `memory.stat`, swap limit, swap usage,
/// then `memory.pressure` (v2) or `memory.failcnt` (v1).
pub fn memcg_names(v1: bool) -> [&'static str; 6] {
    if v1 {
        [
            "memory.limit_in_bytes",
            "memory.usage_in_bytes",
            "memory.stat",
            "memory.memsw.limit_in_bytes",
            "memory.memsw.usage_in_bytes",
            "memory.failcnt",
        ]
    } else {
        [
            "memory.max",
            "memory.current",
            "memory.stat",
            "memory.swap.max",
            "memory.swap.current",
            "memory.pressure",
        ]
    }
}

/// Writes the memcg domain's files into `dir` (a file whose content is `None` is removed), then
/// checks the limit attribute and the domain over them ([`memcg_domain`]).
pub fn memcg_files(dir: &Path, v1: bool, files: &[Option<&[u8]>; 6]) {
    for (name, content) in memcg_names(v1).iter().zip(files) {
        let p = dir.join(name);
        match content {
            Some(c) => std::fs::write(&p, c).expect("scratch file"),
            None => {
                let _ = std::fs::remove_file(&p);
            }
        }
    }
    if let Some(limit) = files[0] {
        attribute(&dir.join(memcg_names(v1)[0]), limit);
    }
    memcg_domain(dir);
}

/// `KernelFile::number` on a file holding `content`: a non-negative number, or `None` for `max`.
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

/// The memcg domain over the cgroup files in `dir`: 0 ≤ MemFree ≤ MemTotal, 0 ≤ SwapFree ≤
/// SwapTotal, ordered watermarks, a non-negative free-memory probe.
pub fn memcg_domain(dir: &Path) {
    let Ok(mut d) = Domain::memcg(dir) else { return };
    let mut s = Snapshot::default();
    if d.snapshot(&mut s).is_ok() {
        let m = &s.meminfo;
        assert!(m.mem_total >= 0 && (0..=m.mem_total).contains(&m.mem_free), "{m:?}");
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

/// Whether `path` names something under `base` once `.` and `..` are resolved (lexically, as
/// the kernel resolves them in a cgroup file system, which has no symbolic links).
pub fn stays_under(path: &Path, base: &Path) -> bool {
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

/// `MemcgRoot::from_mountinfo` and `soft_limit_file`: a memory controller found is one of the
/// input's mount points; a soft-limit file lies under the controller's root.
pub fn mounts(v2_has_memory: bool, mountinfo: &str, proc_cgroup: &str) {
    let found = MemcgRoot::from_mountinfo(mountinfo, |_| v2_has_memory);
    if let Some(MemcgRoot::V1(p) | MemcgRoot::V2(p)) = &found {
        let mp = p.to_str().expect("taken from a str");
        assert!(
            mountinfo.lines().any(|l| l.split_whitespace().nth(4) == Some(mp)),
            "{mp:?} is not a mount point of the input"
        );
    }
    if let Some(MemcgRoot::V2(_)) = &found {
        assert!(v2_has_memory);
    }
    for root in [
        found,
        Some(MemcgRoot::V1(PathBuf::from("/dev/memcg"))),
        Some(MemcgRoot::V2(PathBuf::from("/sys/fs/cgroup"))),
    ]
    .into_iter()
    .flatten()
    {
        let Some(file) = root.soft_limit_file(proc_cgroup) else { continue };
        let (MemcgRoot::V1(base) | MemcgRoot::V2(base)) = &root;
        assert!(stays_under(&file, base), "{} escapes {}", file.display(), base.display());
        let name = match root {
            MemcgRoot::V1(_) => "memory.soft_limit_in_bytes",
            MemcgRoot::V2(_) => "memory.low",
        };
        assert_eq!(file.file_name().and_then(|n| n.to_str()), Some(name));
    }
}

// ---------------------------------------------------------------------------------------------
// Sysfs CPU trees and cpulists (target sysfs)

/// `parse_cpulist`: non-empty, strictly increasing, below 4096, and formats to text that parses
/// back to it (and formats the same again).
pub fn cpulist(text: &str) {
    let Some(cpus) = parse_cpulist(text) else { return };
    assert!(!cpus.is_empty());
    assert!(cpus.windows(2).all(|w| w[0] < w[1]), "not strictly increasing");
    assert!(cpus.iter().all(|&c| c < 4096));
    let formatted = format_cpulist(&cpus);
    assert_eq!(parse_cpulist(&formatted).as_ref(), Some(&cpus), "{formatted:?}");
    assert_eq!(format_cpulist(&parse_cpulist(&formatted).unwrap_or_default()), formatted);
}

/// Builds a CPU tree under `root` (removed first): `cpus[c]` gives CPU `c`'s `cpu_capacity` and
/// `cpufreq/cpuinfo_max_freq` (`None`: no file), `online` the `online` file. Then `detect` and
/// `choose` over it: a pinned placement is a non-empty sorted set of CPUs that exist (and are
/// online when `online` says which are); a valid configured list always wins.
pub fn placement(
    root: &Path,
    online: Option<&str>,
    cpus: &[(Option<&str>, Option<&str>)],
    configured: &str,
) {
    cpulist(configured);
    if let Some(o) = online {
        cpulist(o);
    }
    let _ = std::fs::remove_dir_all(root);
    std::fs::create_dir_all(root).expect("scratch tree");
    for (c, (cap, freq)) in cpus.iter().enumerate() {
        let d = root.join(format!("cpu{c}"));
        std::fs::create_dir_all(d.join("cpufreq")).expect("scratch tree");
        if let Some(v) = cap {
            std::fs::write(d.join("cpu_capacity"), v).expect("scratch file");
        }
        if let Some(v) = freq {
            std::fs::write(d.join("cpufreq/cpuinfo_max_freq"), v).expect("scratch file");
        }
    }
    if let Some(o) = online {
        std::fs::write(root.join("online"), o).expect("scratch file");
    }
    let n = cpus.len();
    let allowed: Vec<usize> = match online.and_then(parse_cpulist) {
        Some(on) => (0..n).filter(|c| on.contains(c)).collect(),
        None => (0..n).collect(),
    };
    let detected = detect(root);
    let _ = detected.to_string();
    if let Placement::Pinned { cpus, source } = &detected {
        assert!(!cpus.is_empty() && cpus.windows(2).all(|w| w[0] < w[1]), "{cpus:?}");
        assert!(cpus.iter().all(|c| allowed.contains(c)), "{cpus:?} not within {allowed:?}");
        assert_ne!(*source, Why::Configured);
    }
    let chosen = choose(Some(configured), root);
    match parse_cpulist(configured) {
        Some(c) => assert_eq!(chosen, Placement::Pinned { cpus: c, source: Why::Configured }),
        None => assert_eq!(chosen, detected),
    }
    assert_eq!(choose(None, root), detected);
}

// ---------------------------------------------------------------------------------------------
// Property files and values (target props)

/// `FileProperties::parse`, `parse_int`, `parse_bool`, `Config::load` and the PSI triggers made
/// from the configuration: keys non-empty, trimmed, without white space; values trimmed;
/// malformed line numbers increasing and within the file; the map written back parses to
/// itself; values format back to themselves; the configuration respects its clamps and
/// survives `to_properties` → `load`; a trigger's text is `<some|full> <µs> <µs>` and its NUL.
pub fn props(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (map, bad) = FileProperties::parse(&text);
    let lines = text.lines().count();
    assert!(bad.windows(2).all(|w| w[0] < w[1]));
    assert!(bad.iter().all(|&n| (1..=lines).contains(&n)));
    for (k, v) in &map {
        assert!(!k.is_empty() && !k.contains(char::is_whitespace) && !k.starts_with('#'));
        assert!(!k.contains('='));
        assert_eq!(v.trim(), v);
        value(v);
    }
    let written: String = map.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
    assert_eq!(FileProperties::parse(&written), (map.clone(), vec![]));
    for line in text.lines() {
        value(line);
    }
    let c = Config::load(&FileProperties::from_pairs(
        map.iter().map(|(k, v)| (k.as_str(), v.as_str())),
    ));
    config(&c);
}

/// A parsed integer or boolean formats back to text that parses to the same value.
pub fn value(v: &str) {
    if let Some(i) = parse_int(v) {
        assert_eq!(parse_int(&i.to_string()), Some(i));
    }
    if let Some(b) = parse_bool(v) {
        assert_eq!(parse_bool(&b.to_string()), Some(b));
    }
}

/// A loaded configuration: its documented clamps, `to_properties` → `load` is the identity, and
/// the PSI triggers the daemon makes from it.
pub fn config(c: &Config) {
    assert!((0..=100).contains(&c.swap_free_low_percentage));
    assert!(c.thrashing_limit >= 0 && c.thrashing_limit_critical >= 0);
    assert!((0..=100).contains(&c.thrashing_limit_decay));
    assert!((0..=100).contains(&c.swap_util_max));
    assert!(c.lowmem_min_oom_score >= 201);
    assert!((0..=16).contains(&c.reaper_threads));
    assert!((-20..=19).contains(&c.reaper_nice));
    assert!((500..=10_000).contains(&c.psi_window_ms));
    assert!((0..=65_536).contains(&c.kill_history_size));
    let props = c.to_properties();
    let again =
        Config::load(&FileProperties::from_pairs(props.iter().map(|(k, v)| (*k, v.as_str()))));
    assert_eq!(&again, c, "to_properties then load is the identity");
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
        let kind = if stall == Stall::Some { "some" } else { "full" };
        assert_eq!(body, format!("{kind} {} {}", t.threshold_ms * 1000, w * 1000));
        let s = t.scaled_to(UNPRIVILEGED_WINDOW_MS);
        assert_eq!((s.stall, s.window_ms), (stall, UNPRIVILEGED_WINDOW_MS));
        assert!((1..=UNPRIVILEGED_WINDOW_MS).contains(&s.threshold_ms));
    }
}

// ---------------------------------------------------------------------------------------------
// Decision traces (target trace)

/// A replayed decision: `none`, `skipped` or `kill min_adj=<adj> reason=<known code>`.
fn decision(d: &str) {
    if d == "none" || d == "skipped" {
        return;
    }
    let rest = d.strip_prefix("kill min_adj=").unwrap_or_else(|| panic!("decision {d:?}"));
    let (adj, reason) = rest.split_once(" reason=").expect("a kill decision has a reason");
    adj.parse::<i32>().expect("min_adj is a number");
    let code = reason.parse::<i32>().expect("reason is a number");
    assert!(KillReason::from_code(code).is_some(), "unknown reason {code}");
}

/// `replay` on the bytes as text: deterministic; one decision per `wake`, `sample` (the
/// predictive rule) and `pick` (a victim choice) record; an error names a line of the input.
pub fn trace_text(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let result = replay(&text);
    assert_eq!(replay(&text), result, "replay is deterministic");
    match result {
        Ok(decisions) => {
            let records = text
                .lines()
                .map(str::trim)
                .filter(|l| {
                    matches!(l.split_once(' ').map_or(*l, |(k, _)| k), "wake" | "sample" | "pick")
                })
                .count();
            assert_eq!(decisions.len(), records);
            for d in &decisions {
                decision(&d.decision);
            }
        }
        Err(e) => assert!((1..=text.lines().count()).contains(&e.line), "{e}"),
    }
}

/// A snapshot from the input's little-endian words (zero past its end; values in
/// 0..=`COUNTER_MAX`, as the parsers give them) goes through `wake_line` (the writer) and
/// `replay` (the reader): exactly one decision, at the same time.
pub fn trace_written(data: &[u8]) {
    let mut i = 0usize;
    let mut n = || {
        let mut w = [0u8; 8];
        for (j, b) in w.iter_mut().enumerate() {
            *b = data.get(i * 8 + j).copied().unwrap_or(0);
        }
        i += 1;
        (i64::from_le_bytes(w) & i64::MAX) % (COUNTER_MAX + 1)
    };
    let flags = n();
    let s = Snapshot {
        meminfo: Meminfo {
            mem_free: n(),
            cma_free: n(),
            swap_total: n(),
            swap_free: n(),
            active_anon: n(),
            inactive_anon: n(),
            active_file: n(),
            inactive_file: n(),
            shmem: n(),
            unevictable: n(),
            cached: n(),
            buffers: n(),
            swap_cached: n(),
            ..Meminfo::default()
        },
        vmstat: Vmstat {
            nr_inactive_file: n(),
            nr_active_file: n(),
            workingset_refault_file: n(),
            pgscan_kswapd: n(),
            pgscan_direct: n(),
            pgrefill: n(),
            ..Vmstat::default()
        },
        psi: PsiAverages {
            full: PsiLine { avg10: (n() % 10_001) as u32, ..PsiLine::default() },
            ..PsiAverages::default()
        },
        memcg: flags & 128 != 0,
    };
    let wm =
        Watermarks { min: n(), low: n(), high: n(), totalreserve: n(), ..Watermarks::default() };
    let usage =
        MemcgUsage { mem: (flags & 8 != 0).then(&mut n), memsw: (flags & 16 != 0).then(&mut n) };
    let wake = Wakeup {
        source: if flags & 1 != 0 { Source::Vmpressure } else { Source::Psi },
        level: Level::from_index((flags >> 1) as usize % 3).expect("0..=2"),
        event: flags & 32 != 0,
    };
    let t = n() as u64;
    let events = (flags & 512 != 0).then(|| ReclaimEvents {
        direct_since_ms: (flags & 1024 != 0).then(|| n() as u64),
        kswapd: flags & 2048 != 0,
    });
    let vendor = (flags & 4096 != 0)
        .then(|| VendorKill { reason: (n() % 1000) as i32, min_adj: (n() % 1001) as i32 });
    let x = WakeExtras { usage, run_out: flags & 256 != 0, events, vendor };
    let line = wake_line(t, wake, flags & 64 != 0, &s, &wm, &x);
    let replayed = replay(&line).unwrap_or_else(|e| panic!("{line:?}: {e}"));
    assert_eq!(replayed.len(), 1, "{line:?}");
    assert_eq!(replayed[0].t, t);
    decision(&replayed[0].decision);
}

// ---------------------------------------------------------------------------------------------
// The packet codec (target packet)

/// The bytes as a client's packet, as a daemon's message and reply, as an extension reply, and
/// as a name: whatever decodes re-encodes to what it came from; names are sanitised, bounded
/// and idempotent.
pub fn packet(data: &[u8]) {
    // Client to daemon.
    if let Ok((_, nargs)) = frame(data) {
        assert_eq!(nargs + 1, data.len() / 4);
    }
    if let Ok(cmd) = Command::decode(data) {
        assert!(data.len().is_multiple_of(4) && data.len() <= CTRL_PACKET_MAX_SIZE);
        let mut buf = [0u8; CTRL_PACKET_MAX_SIZE];
        let n = cmd.encode(&mut buf);
        assert_eq!(Command::decode(&buf[..n]), Ok(cmd));
    }
    if let Ok(ext) = ExtCommand::decode(data) {
        assert_eq!(ExtCommand::decode(&ext.encode()), Ok(ext));
    }

    // Daemon to client.
    match ServerMessage::decode(data) {
        Some(ServerMessage::KillCount(v)) => assert_eq!(encode_reply(LMK_GETKILLCNT, v), data),
        Some(ServerMessage::UpdateProps(v)) => assert_eq!(encode_reply(LMK_UPDATE_PROPS, v), data),
        Some(ServerMessage::BootCompleted(v)) => {
            assert_eq!(encode_reply(LMK_BOOT_COMPLETED, v), data)
        }
        Some(ServerMessage::ProcKill(p)) => {
            // The 16-byte packet exactly; the legacy 12-byte one is its prefix.
            let full = p.encode();
            if data.len() == PROCKILL_SIZE {
                assert_eq!(full, data);
            } else {
                assert_eq!(&full[..data.len()], data);
                assert_eq!(p.rss_kb, 0);
            }
        }
        Some(ServerMessage::KillStat(s)) => {
            assert_eq!(KillStat::decode(data), Some(s));
            let mut out = [0u8; LMKD_REPLY_MAX_SIZE];
            let n = s.encode(&mut out);
            assert_eq!(KillStat::decode(&out[..n]), Some(s));
        }
        Some(ServerMessage::Other(_)) | None => {}
    }
    if let Some(s) = KillStat::decode(data) {
        assert!(s.name().len() <= STAT_NAME_MAX);
    }

    // Extension replies.
    if let Some((_, _, entries)) = decode_procs_reply(data) {
        assert_eq!(data.len(), 16 + entries.len() * PROCS_RECORD_WORDS * 4);
        if entries.len() <= PROCS_PER_PACKET {
            let again = encode_procs_reply(&entries);
            assert_eq!(again.len(), 1);
            assert_eq!(decode_procs_reply(&again[0]), Some((entries.len(), 0, entries)));
        }
    }
    if let Some((_, _, bytes)) = decode_text_reply(data) {
        assert_eq!(data.len(), 16 + bytes.len());
        if let (Ok(text), true) = (std::str::from_utf8(&bytes), bytes.len() <= STATUS_CHUNK) {
            let again = encode_text_reply(text);
            assert_eq!(again.len(), 1);
            assert_eq!(decode_text_reply(&again[0]), Some((bytes.len(), 0, bytes.clone())));
        }
    }
    if let Some((_, _, records)) = decode_history(data) {
        assert_eq!(data.len(), 16 + records.len() * RECORD_WIRE_SIZE);
        let mut h = KillHistory::new(records.len());
        for r in &records {
            h.push(*r);
        }
        let mut back = Vec::new();
        for p in encode_history(&h) {
            let (total, offset, chunk) = decode_history(&p).expect("own encoding decodes");
            assert_eq!((total, offset), (records.len(), back.len()));
            back.extend(chunk);
        }
        assert_eq!(back, records);
    }

    // Names: what Java's DataInput.readUTF takes (UTF-8 without NUL and without 4-byte
    // sequences), and no control character (the name goes into log lines).
    let name = StatName::new(data);
    let b = name.as_bytes();
    let fits = |c: char| !c.is_control() && c.len_utf8() < 4;
    let s = std::str::from_utf8(b).expect("a StatName is UTF-8");
    assert!(b.len() <= STAT_NAME_MAX && s.chars().all(fits), "{s:?}");
    assert_eq!(StatName::new(b), name, "sanitising is idempotent");
    if data.len() <= STAT_NAME_MAX && std::str::from_utf8(data).is_ok_and(|s| s.chars().all(fits)) {
        assert_eq!(b, data, "a name that needs no change is kept as it is");
    }
    let t = FixedText::<64>::from_bytes(data);
    assert!(t.as_str().len() <= 64);
    assert_eq!(FixedText::<64>::from_bytes(t.as_str().as_bytes()).as_str(), t.as_str());
    if data.len() <= 64 {
        if let Ok(s) = std::str::from_utf8(data) {
            assert_eq!(t.as_str(), s);
        }
    }
}
