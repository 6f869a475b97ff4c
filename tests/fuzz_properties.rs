//! The properties the `cargo fuzz` targets in `fuzz/` check, as `proptest` properties that run
//! on stable: every parser of kernel and file input (`/proc` memory files, `/proc/<pid>` files,
//! cgroup files and mountinfo, sysfs CPU trees and cpulists, property files and values,
//! decision traces) and the packet codec, on arbitrary input, on soups of the tokens those
//! formats use, and on mutations of the real captures in `tests/fixtures` (cut at every line
//! boundary, bytes flipped, lines duplicated or dropped, numbers replaced).
//!
//! The crashes fuzzing found are at the end, as regression tests with the inputs inline.
//!
//! The number replacements of the general properties stay below 2^50 (more than any kernel
//! counter reaches); the extremes the parsers can still produce (`u64::MAX`, saturated to
//! `i64::MAX`) are exercised by the `extreme_numbers_*` properties and the regression tests.

use std::fs;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use lmkd::config::{parse_bool, parse_int, Config, FileProperties};
use lmkd::memory::parse::{
    parse_memcg_stat, parse_meminfo, parse_psi, parse_vmstat, parse_zoneinfo, ParseError, PsiLine,
    COUNTER_MAX,
};
use lmkd::memory::{Domain, Meminfo, PsiAverages, Snapshot, Vmstat, Watermarks};
use lmkd::policy::legacy::MemcgUsage;
use lmkd::policy::trace::{replay, wake_line};
use lmkd::policy::{KillReason, Source, Wakeup};
use lmkd::pressure::psi::{Stall, Trigger, UNPRIVILEGED_WINDOW_MS};
use lmkd::pressure::Level;
use lmkd::procs::memcg::MemcgRoot;
use lmkd::procs::procfs::{format_i32, parse_stat, parse_status, ProcPath};
use lmkd::protocol::ext::{
    decode_procs_reply, decode_text_reply, encode_procs_reply, encode_text_reply, ExtCommand,
    LMK_EXT_KILL, LMK_EXT_KILL_HISTORY, LMK_EXT_PROCS, LMK_EXT_STATUS, PROCS_PER_PACKET,
    PROCS_RECORD_WORDS, STATUS_CHUNK,
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
use lmkd::report::{FixedText, KillHistory};
use proptest::prelude::*;
use proptest::sample::Index;

// ---------------------------------------------------------------------------------------------
// Fixtures

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Every fixture file whose name satisfies `pick`, read once.
fn fixtures(pick: impl Fn(&str) -> bool) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut dirs: Vec<PathBuf> =
        fs::read_dir(fixture_dir()).unwrap().map(|e| e.unwrap().path()).collect();
    dirs.sort();
    for d in dirs.iter().filter(|d| d.is_dir()) {
        let mut files: Vec<PathBuf> = fs::read_dir(d).unwrap().map(|e| e.unwrap().path()).collect();
        files.sort();
        for f in files {
            let name = f.file_name().unwrap().to_str().unwrap().to_owned();
            if pick(&name) {
                out.push(fs::read(&f).unwrap());
            }
        }
    }
    assert!(!out.is_empty(), "no fixture matched");
    out
}

fn memory_fixtures() -> Vec<Vec<u8>> {
    fixtures(|n| {
        n == "meminfo"
            || n == "vmstat"
            || n == "zoneinfo"
            || n.starts_with("pressure-")
            || n.ends_with("pressure-memory")
            || n.starts_with("memory.stat")
    })
}

fn trace_fixtures() -> Vec<Vec<u8>> {
    fixtures(|n| n.ends_with(".trace"))
}

/// The whole file cut after every line (and just before each newline).
fn prefixes(data: &[u8]) -> impl Iterator<Item = &[u8]> + '_ {
    data.iter()
        .enumerate()
        .filter(|(_, &b)| b == b'\n')
        .flat_map(move |(i, _)| [&data[..i], &data[..=i]])
        .chain([&data[..0]])
}

// ---------------------------------------------------------------------------------------------
// Mutations

/// Numbers a mutation may put in place of a number of the input.
const NUMBERS: &[&str] = &[
    "0",
    "1",
    "4096",
    "1125899906842623",
    "00000000000000000000000001",
    "-1",
    "+7",
    "1.5",
    "0x10",
    "",
];

/// The extremes a kernel file could hold and the parsers accept (saturated to `i64::MAX`).
const EXTREMES: &[&str] = &["9223372036854775807", "18446744073709551615", "9223372036854775808"];

#[derive(Clone, Debug)]
enum Mutation {
    Flip(Index, u8),
    DuplicateLine(Index),
    DropLine(Index),
    Cut(Index),
    Number(Index, Index),
    Insert(Index, u8),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<Index>(), 1..=255u8).prop_map(|(i, m)| Mutation::Flip(i, m)),
        any::<Index>().prop_map(Mutation::DuplicateLine),
        any::<Index>().prop_map(Mutation::DropLine),
        any::<Index>().prop_map(Mutation::Cut),
        (any::<Index>(), any::<Index>()).prop_map(|(i, n)| Mutation::Number(i, n)),
        (any::<Index>(), prop::sample::select(b" \n\t:=()-,#\0".to_vec()))
            .prop_map(|(i, b)| Mutation::Insert(i, b)),
    ]
}

fn line_spans(data: &[u8]) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut start = 0;
    for (i, &b) in data.iter().enumerate() {
        if b == b'\n' {
            spans.push((start, i + 1));
            start = i + 1;
        }
    }
    if start < data.len() {
        spans.push((start, data.len()));
    }
    spans
}

fn apply(data: &mut Vec<u8>, m: &Mutation, numbers: &[&str]) {
    match m {
        Mutation::Flip(i, mask) if !data.is_empty() => {
            let at = i.index(data.len());
            data[at] ^= mask;
        }
        Mutation::DuplicateLine(i) | Mutation::DropLine(i) => {
            let spans = line_spans(data);
            if spans.is_empty() {
                return;
            }
            let (s, e) = spans[i.index(spans.len())];
            if matches!(m, Mutation::DropLine(_)) {
                data.drain(s..e);
            } else {
                let line = data[s..e].to_vec();
                data.splice(e..e, line);
            }
        }
        Mutation::Cut(i) => {
            let at = i.index(data.len() + 1);
            data.truncate(at);
        }
        Mutation::Number(i, n) => {
            let runs: Vec<(usize, usize)> = {
                let mut v = Vec::new();
                let mut j = 0;
                while j < data.len() {
                    if data[j].is_ascii_digit() {
                        let s = j;
                        while j < data.len() && data[j].is_ascii_digit() {
                            j += 1;
                        }
                        v.push((s, j));
                    } else {
                        j += 1;
                    }
                }
                v
            };
            if runs.is_empty() {
                return;
            }
            let (s, e) = runs[i.index(runs.len())];
            let with = numbers[n.index(numbers.len())].as_bytes().to_vec();
            data.splice(s..e, with);
        }
        Mutation::Insert(i, b) => {
            let at = i.index(data.len() + 1);
            data.insert(at, *b);
        }
        Mutation::Flip(..) => {}
    }
}

/// A fixture of `set` with up to four mutations.
fn mutated(set: Vec<Vec<u8>>, numbers: &'static [&'static str]) -> impl Strategy<Value = Vec<u8>> {
    (prop::sample::select(set), prop::collection::vec(mutation(), 1..=4)).prop_map(
        move |(mut data, ms)| {
            for m in &ms {
                apply(&mut data, m, numbers);
            }
            data
        },
    )
}

/// Byte strings made of the tokens the kernel and property formats use.
fn soup(tokens: &'static [&'static str]) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(prop::sample::select(tokens), 0..40).prop_map(|t| t.concat().into_bytes())
}

const MEMORY_TOKENS: &[&str] = &[
    "MemTotal:",
    "MemFree:",
    "Cached:",
    "SwapTotal:",
    " 1000 kB",
    "\n",
    " ",
    "nr_free_pages ",
    "pgscan_kswapd ",
    "pgscan_kswapd_normal ",
    "pgscan_direct_dma ",
    "pgrefill_movable ",
    "workingset_refault ",
    "workingset_refault_file ",
    "Node 0, zone   Normal\n",
    "Node 1, zone DMA32\n",
    "  pages free     ",
    "        min      ",
    "        high     ",
    "        present  ",
    "        protection: (0, ",
    ")\n",
    "  pagesets\n",
    "  per-node stats\n",
    "      nr_inactive_file ",
    "nr_free_cma ",
    "some ",
    "full ",
    "avg10=",
    "avg60=0.00 ",
    "avg300=",
    "total=",
    "12.34 ",
    "total_",
    "rss ",
    "anon ",
    "file ",
    "inactive_file ",
    "pgscan ",
    "0",
    "7",
    "1125899906842623",
];

// ---------------------------------------------------------------------------------------------
// Properties: /proc memory files (fuzz target proc_memory)

fn check_truncated<T>(data: &[u8], r: &Result<T, ParseError>) {
    let complete = data.last() == Some(&b'\n');
    assert_eq!(
        matches!(r, Err(ParseError::Truncated)),
        !complete,
        "Truncated iff the file does not end with a newline"
    );
}

fn has_line(data: &[u8], prefix: &[u8]) -> bool {
    data.split(|&b| b == b'\n').any(|l| l.starts_with(prefix))
}

fn check_memory(data: &[u8]) {
    let meminfo = parse_meminfo(data);
    check_truncated(data, &meminfo);
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
        ];
        assert!(f.iter().all(|&v| v >= 0), "negative meminfo field: {m:?}");
        assert!(has_line(data, b"MemTotal:") && has_line(data, b"MemFree:"));
    }
    assert_eq!(parse_meminfo(data), meminfo);

    let vmstat = parse_vmstat(data);
    check_truncated(data, &vmstat);
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
        assert!(f.iter().all(|&x| x >= 0), "negative vmstat counter: {v:?}");
        assert!(has_line(data, b"nr_free_pages "));
    }

    let zoneinfo = parse_zoneinfo(data);
    check_truncated(data, &zoneinfo);
    if let Ok(w) = zoneinfo {
        let f = [w.min, w.low, w.high, w.totalreserve, w.free, w.free_cma, w.file_lru];
        assert!(f.iter().all(|&x| x >= 0), "negative watermark: {w:?}");
        assert_eq!(w.totalreserve, w.high);
        let zone_lines =
            data.split(|&b| b == b'\n').filter(|l| l.trim_ascii().starts_with(b"Node ")).count();
        assert!(zone_lines >= 1);
        assert!(w.zones as usize <= zone_lines && w.nodes as usize <= zone_lines, "{w:?}");
    }

    let psi = parse_psi(data);
    check_truncated(data, &psi);
    if let Ok(p) = psi {
        assert!(has_line(data, b"some "));
        if p.full != PsiLine::default() {
            assert!(has_line(data, b"full "));
        }
    }

    let memcg = parse_memcg_stat(data);
    check_truncated(data, &memcg);
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
        assert!(f.iter().all(|&x| x >= 0), "negative memory.stat field: {s:?}");
        if s.pgscan.is_some() {
            assert!(has_line(data, b"pgscan "));
        }
    }
}

#[test]
fn memory_fixtures_parse_and_every_cut_is_safe() {
    for f in memory_fixtures() {
        check_memory(&f);
        for p in prefixes(&f) {
            check_memory(p);
        }
    }
    assert!(parse_meminfo(&fixtures(|n| n == "meminfo")[0]).is_ok());
}

#[test]
fn fixtures_cut_before_their_last_newline_are_truncated() {
    for f in memory_fixtures() {
        let cut = &f[..f.len() - 1];
        assert_eq!(parse_meminfo(cut), Err(ParseError::Truncated));
        assert_eq!(parse_zoneinfo(cut), Err(ParseError::Truncated));
        assert_eq!(parse_psi(cut), Err(ParseError::Truncated));
    }
}

// ---------------------------------------------------------------------------------------------
// Properties: /proc/<pid> files (fuzz target proc_pid)

fn check_pid(data: &[u8]) {
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
        let close = data.iter().rposition(|&b| b == b')').unwrap();
        let fields =
            data[close + 1..].split(|b| b.is_ascii_whitespace()).filter(|f| !f.is_empty()).count();
        assert!(fields >= 20, "stat parsed from {fields} fields after the name");
        if s.policy != 0 {
            assert!(fields >= 39);
        }
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
    assert!(p.as_str() == "/proc/invalid" || p.as_str().starts_with(&prefix));
    if file.len() <= 40 {
        assert_eq!(p.as_str(), format!("{prefix}{file}"));
    }
}

fn pid_fixtures() -> Vec<Vec<u8>> {
    let mut v = fixtures(|n| n == "status" || n == "statm");
    v.push(b"1234 (my) app (x)) S 1 1234 1234 0 -1 4194560 5001 0 7 0 10 20 0 0 20 0 3 0 98765 1000000 250 18446744073709551615\n".to_vec());
    v.push(b"7 (x) R 1 7 7 0 -1 4194560 1 0 2 0 0 0 0 0 39 19 1 0 55 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 5 0 0 0\n".to_vec());
    v
}

#[test]
fn pid_fixtures_and_every_cut_are_safe() {
    for f in pid_fixtures() {
        check_pid(&f);
        for p in prefixes(&f) {
            check_pid(p);
        }
        // Every cut of a stat line, not only at lines.
        if f.contains(&b')') {
            for i in 0..=f.len() {
                check_pid(&f[..i]);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Properties: cgroup files, mountinfo, /proc/<pid>/cgroup (fuzz target cgroup)

fn stays_under(path: &Path, base: &Path) -> bool {
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

fn check_mounts(v2_has_memory: bool, mountinfo: &str, proc_cgroup: &str) {
    let found = MemcgRoot::from_mountinfo(mountinfo, |_| v2_has_memory);
    if let Some(MemcgRoot::V1(p) | MemcgRoot::V2(p)) = &found {
        let mp = p.to_str().unwrap();
        assert!(mountinfo.lines().any(|l| l.split_whitespace().nth(4) == Some(mp)));
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

const MOUNT_TOKENS: &[&str] = &[
    "25 1 0:22 / /sys/fs/cgroup/unified rw,nosuid - cgroup2 cgroup2 rw\n",
    "30 25 0:27 / /sys/fs/cgroup/memory rw,nosuid - cgroup cgroup rw,memory\n",
    "31 25 0:28 / /dev/memcg rw - cgroup none rw,memory,cpuset\n",
    "22 1 0:21 / /sys/fs/cgroup rw shared:9 - cgroup2 cgroup2 rw,nsdelegate\n",
    " - ",
    " ",
    "cgroup",
    "cgroup2",
    ",memory",
    "\n",
    "5:memory:/apps/uid_10057/pid_1234\n",
    "0::/uid_10057/pid_1234\n",
    "0::/\n",
    "0::/../..\n",
    "4:cpuset,memory:/a\n",
    ":",
    "/",
    "..",
];

/// A private directory removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        static N: AtomicUsize = AtomicUsize::new(0);
        let p = std::env::temp_dir().join(format!(
            "lmkd-fuzzprop-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&p);
        fs::create_dir_all(&p).unwrap();
        Scratch(p)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// The memcg domain over fuzzed cgroup files: the same layout as the cgroup fuzz target.
fn check_memcg_domain(v1: bool, files: &[Option<Vec<u8>>; 6]) {
    let dir = Scratch::new("memcg");
    let names: [&str; 6] = if v1 {
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
    };
    for (name, content) in names.iter().zip(files) {
        if let Some(c) = content {
            fs::write(dir.0.join(name), c).unwrap();
        }
    }
    let Ok(mut d) = Domain::memcg(&dir.0) else { return };
    let mut s = Snapshot::default();
    if d.snapshot(&mut s).is_ok() {
        let m = &s.meminfo;
        assert!(m.mem_total >= 0 && (0..=m.mem_total).contains(&m.mem_free), "{m:?}");
        assert_eq!(m.mem_available, m.mem_free);
        assert!((0..=m.swap_total).contains(&m.swap_free), "{m:?}");
    }
    if let Ok(w) = d.watermarks() {
        assert!(0 <= w.min && w.min <= w.low && w.low <= w.high && w.high == w.totalreserve);
    }
    if let Some(free) = d.free_probe().free_kb() {
        assert!(free >= 0);
    }
}

fn attribute() -> impl Strategy<Value = Option<Vec<u8>>> {
    prop::option::weighted(
        0.9,
        prop_oneof![
            prop::sample::select(vec![
                "max\n",
                "0\n",
                "1073741824\n",
                "734003200\n",
                "17\n",
                "x\n",
                "-5\n",
                "9223372036854771712\n",
                ""
            ])
            .prop_map(|s| s.as_bytes().to_vec()),
            prop::collection::vec(any::<u8>(), 0..24),
        ],
    )
}

// ---------------------------------------------------------------------------------------------
// Properties: sysfs CPU trees and cpulists (fuzz target sysfs)

fn check_cpulist(text: &str) {
    let Some(cpus) = parse_cpulist(text) else { return };
    assert!(!cpus.is_empty());
    assert!(cpus.windows(2).all(|w| w[0] < w[1]));
    assert!(cpus.iter().all(|&c| c < 4096));
    let formatted = format_cpulist(&cpus);
    assert_eq!(parse_cpulist(&formatted).as_ref(), Some(&cpus), "{formatted:?}");
}

const CPULIST_TOKENS: &[&str] =
    &["0", "1", "3", "7", "4095", "4096", "-", ",", " ", "\n", "a", "99999999999999999999"];

fn check_placement(
    n: usize,
    online: Option<&str>,
    cpus: &[(Option<String>, Option<String>)],
    configured: &str,
) {
    let tree = Scratch::new("cpus");
    for (c, (cap, freq)) in cpus.iter().enumerate().take(n) {
        let d = tree.0.join(format!("cpu{c}"));
        fs::create_dir_all(d.join("cpufreq")).unwrap();
        if let Some(v) = cap {
            fs::write(d.join("cpu_capacity"), v).unwrap();
        }
        if let Some(v) = freq {
            fs::write(d.join("cpufreq/cpuinfo_max_freq"), v).unwrap();
        }
    }
    if let Some(o) = online {
        fs::write(tree.0.join("online"), o).unwrap();
    }
    let n = n.min(cpus.len());
    let allowed: Vec<usize> = match online.and_then(parse_cpulist) {
        Some(on) => (0..n).filter(|c| on.contains(c)).collect(),
        None => (0..n).collect(),
    };
    let detected = detect(&tree.0);
    let _ = detected.to_string();
    if let Placement::Pinned { cpus, source } = &detected {
        assert!(!cpus.is_empty() && cpus.windows(2).all(|w| w[0] < w[1]));
        assert!(cpus.iter().all(|c| allowed.contains(c)), "{cpus:?} not within {allowed:?}");
        assert_ne!(*source, Why::Configured);
    }
    match parse_cpulist(configured) {
        Some(c) => assert_eq!(
            choose(Some(configured), &tree.0),
            Placement::Pinned { cpus: c, source: Why::Configured }
        ),
        None => assert_eq!(choose(Some(configured), &tree.0), detected),
    }
}

fn sysfs_value() -> impl Strategy<Value = Option<String>> {
    prop::option::weighted(
        0.8,
        prop::sample::select(vec!["160\n", "381\n", "1024\n", "1800000\n", "0\n", "", "x", " 5 "])
            .prop_map(str::to_owned),
    )
}

// ---------------------------------------------------------------------------------------------
// Properties: property files and values (fuzz target props)

fn check_props(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (map, bad) = FileProperties::parse(&text);
    let lines = text.lines().count();
    assert!(bad.windows(2).all(|w| w[0] < w[1]));
    assert!(bad.iter().all(|&n| (1..=lines).contains(&n)));
    for (k, v) in &map {
        assert!(!k.is_empty() && !k.contains(char::is_whitespace) && !k.starts_with('#'));
        assert!(!k.contains('='));
        assert_eq!(v.trim(), v);
        check_value(v);
    }
    let written: String = map.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
    assert_eq!(FileProperties::parse(&written), (map.clone(), vec![]));
    for line in text.lines() {
        check_value(line);
    }
    let c = Config::load(&FileProperties::from_pairs(
        map.iter().map(|(k, v)| (k.as_str(), v.as_str())),
    ));
    check_config(&c);
}

fn check_value(v: &str) {
    if let Some(i) = parse_int(v) {
        assert_eq!(parse_int(&i.to_string()), Some(i));
    }
    if let Some(b) = parse_bool(v) {
        assert_eq!(parse_bool(&b.to_string()), Some(b));
    }
}

fn check_config(c: &Config) {
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
    let w = u64::try_from(c.psi_window_ms).unwrap();
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
        assert!((1..=UNPRIVILEGED_WINDOW_MS).contains(&s.threshold_ms));
    }
}

const PROP_NAMES: &[&str] = &[
    "ro.lmk.low",
    "ro.lmk.critical",
    "ro.lmk.debug",
    "ro.config.low_ram",
    "ro.config.per_app_memcg",
    "ro.lmk.kill_timeout_ms",
    "ro.lmk.swap_free_low_percentage",
    "ro.lmk.psi_partial_stall_ms",
    "ro.lmk.psi_complete_stall_ms",
    "ro.lmk.thrashing_limit",
    "ro.lmk.thrashing_limit_decay",
    "ro.lmk.thrashing_limit_critical",
    "ro.lmk.swap_util_max",
    "ro.lmk.lowmem_min_oom_score",
    "ro.lmk.use_minfree_levels",
    "ro.lmk.use_new_strategy",
    "ro.lmk.reaper_threads",
    "ro.lmk.reaper_nice",
    "ro.lmk.reaper_cpus",
    "ro.lmk.psi_window_ms",
    "ro.lmk.kill_history_size",
    "ro.lmk.memcg_domain",
    "persist.device_config.lmkd_native.thrashing_limit",
    "persist.device_config.lmkd_native.psi_window_ms",
];

const PROP_VALUES: &[&str] = &[
    "0",
    "1",
    "-1",
    "true",
    "off",
    "0x10",
    "010",
    "-020",
    "99999999999999999999",
    "9223372036854775807",
    "-9223372036854775807",
    "+5",
    "--1",
    "0x",
    "",
    " 7 ",
    "ninety",
    "0-3",
];

fn property_file() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        (
            prop::sample::select(PROP_NAMES),
            prop::sample::select(PROP_VALUES),
            prop::sample::select(vec!["=", " = ", "", "=="]),
        ),
        0..20,
    )
    .prop_map(|l| {
        l.iter().map(|(k, v, eq)| format!("{k}{eq}{v}\n")).collect::<String>().into_bytes()
    })
}

// ---------------------------------------------------------------------------------------------
// Properties: decision traces (fuzz target trace)

fn check_decision(d: &str) {
    if d == "none" || d == "skipped" {
        return;
    }
    let rest = d.strip_prefix("kill min_adj=").unwrap_or_else(|| panic!("decision {d:?}"));
    let (adj, reason) = rest.split_once(" reason=").unwrap();
    adj.parse::<i32>().unwrap();
    assert!(KillReason::from_code(reason.parse().unwrap()).is_some());
}

fn check_trace_text(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let result = replay(&text);
    assert_eq!(replay(&text), result, "replay is deterministic");
    match result {
        Ok(decisions) => {
            let wakes = text
                .lines()
                .map(str::trim)
                .filter(|l| l.split_once(' ').map_or(*l, |(k, _)| k) == "wake")
                .count();
            assert_eq!(decisions.len(), wakes);
            for d in &decisions {
                check_decision(&d.decision);
            }
        }
        Err(e) => assert!((1..=text.lines().count()).contains(&e.line), "{e}"),
    }
}

/// The `written` half of the trace fuzz target: a snapshot from the input's little-endian words
/// (made non-negative and at most `COUNTER_MAX`, as the parsers' values are) goes through
/// `wake_line` and `replay`.
fn check_trace_written(data: &[u8]) {
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
    };
    let wm =
        Watermarks { min: n(), low: n(), high: n(), totalreserve: n(), ..Watermarks::default() };
    let usage =
        MemcgUsage { mem: (flags & 8 != 0).then(&mut n), memsw: (flags & 16 != 0).then(&mut n) };
    let wake = Wakeup {
        source: if flags & 1 != 0 { Source::Vmpressure } else { Source::Psi },
        level: Level::from_index((flags >> 1) as usize % 3).unwrap(),
        event: flags & 32 != 0,
    };
    let t = n() as u64;
    let line = wake_line(t, wake, flags & 64 != 0, &s, &wm, usage);
    let replayed = replay(&line).unwrap_or_else(|e| panic!("{line:?}: {e}"));
    assert_eq!(replayed.len(), 1);
    assert_eq!(replayed[0].t, t);
    check_decision(&replayed[0].decision);
}

/// Little-endian words below 2^40 (the general properties; `extreme_numbers` goes further).
fn trace_words() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(0..(1u64 << 40), 0..34)
        .prop_map(|w| w.iter().flat_map(|v| v.to_le_bytes()).collect())
}

// ---------------------------------------------------------------------------------------------
// Properties: the packet codec (fuzz target packet)

fn check_packet(data: &[u8]) {
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
    match ServerMessage::decode(data) {
        Some(ServerMessage::KillCount(v)) => assert_eq!(encode_reply(LMK_GETKILLCNT, v), data),
        Some(ServerMessage::UpdateProps(v)) => assert_eq!(encode_reply(LMK_UPDATE_PROPS, v), data),
        Some(ServerMessage::BootCompleted(v)) => {
            assert_eq!(encode_reply(LMK_BOOT_COMPLETED, v), data)
        }
        Some(ServerMessage::ProcKill(p)) => {
            let full = p.encode();
            if data.len() == PROCKILL_SIZE {
                assert_eq!(full, data);
            } else {
                assert_eq!(&full[..data.len()], data);
            }
        }
        Some(ServerMessage::KillStat(s)) => {
            let mut out = [0u8; LMKD_REPLY_MAX_SIZE];
            let n = s.encode(&mut out);
            assert_eq!(KillStat::decode(&out[..n]), Some(s));
        }
        Some(ServerMessage::Other(_)) | None => {}
    }
    if let Some((_, _, entries)) = decode_procs_reply(data) {
        assert_eq!(data.len(), 16 + entries.len() * PROCS_RECORD_WORDS * 4);
        if entries.len() <= PROCS_PER_PACKET {
            let again = encode_procs_reply(&entries);
            assert_eq!(decode_procs_reply(&again[0]), Some((entries.len(), 0, entries)));
        }
    }
    if let Some((_, _, bytes)) = decode_text_reply(data) {
        assert_eq!(data.len(), 16 + bytes.len());
        if let (Ok(text), true) = (std::str::from_utf8(&bytes), bytes.len() <= STATUS_CHUNK) {
            let again = encode_text_reply(text);
            assert_eq!(decode_text_reply(&again[0]), Some((bytes.len(), 0, bytes.clone())));
        }
    }
    if let Some((_, _, records)) = decode_history(data) {
        assert_eq!(data.len(), 16 + records.len() * RECORD_WIRE_SIZE);
        let mut h = KillHistory::new(records.len());
        for r in &records {
            h.push(*r);
        }
        let back: Vec<_> =
            encode_history(&h).iter().flat_map(|p| decode_history(p).unwrap().2).collect();
        assert_eq!(back, records);
    }
    let name = StatName::new(data);
    let fits = |c: char| !c.is_control() && c.len_utf8() < 4;
    let s = std::str::from_utf8(name.as_bytes()).expect("a StatName is UTF-8");
    assert!(s.len() <= STAT_NAME_MAX && s.chars().all(fits), "{s:?}");
    assert_eq!(StatName::new(name.as_bytes()), name);
    if data.len() <= STAT_NAME_MAX && std::str::from_utf8(data).is_ok_and(|s| s.chars().all(fits)) {
        assert_eq!(name.as_bytes(), data);
    }
    let t = FixedText::<64>::from_bytes(data);
    assert!(t.as_str().len() <= 64);
    assert_eq!(FixedText::<64>::from_bytes(t.as_str().as_bytes()).as_str(), t.as_str());
}

/// Codes worth putting in the first word.
const CODES: &[i32] = &[
    0,
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    8,
    9,
    10,
    11,
    12,
    LMK_EXT_PROCS,
    LMK_EXT_KILL_HISTORY,
    LMK_EXT_KILL,
    LMK_EXT_STATUS,
    0x10ff,
    -1,
];

fn packet() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..96),
        (
            prop::sample::select(CODES),
            prop::collection::vec(prop_oneof![any::<i32>(), -2..20i32], 0..24),
            0..4usize,
        )
            .prop_map(|(code, words, cut)| {
                let mut p: Vec<u8> =
                    std::iter::once(code).chain(words).flat_map(|w| w.to_be_bytes()).collect();
                p.truncate(p.len().saturating_sub(cut));
                p
            }),
        // Extension replies with a consistent header and a body of `count` units.
        (prop::sample::select(vec![LMK_EXT_PROCS, LMK_EXT_STATUS, LMK_EXT_KILL_HISTORY]), 0..3i32)
            .prop_flat_map(|(code, count)| {
                let unit = match code {
                    LMK_EXT_PROCS => PROCS_RECORD_WORDS * 4,
                    LMK_EXT_STATUS => 1,
                    _ => RECORD_WIRE_SIZE,
                };
                prop::collection::vec(any::<u8>(), count as usize * unit).prop_map(move |body| {
                    let mut p: Vec<u8> =
                        [code, count, 0, count].iter().flat_map(|w| w.to_be_bytes()).collect();
                    p.extend(body);
                    p
                })
            }),
    ]
}

// ---------------------------------------------------------------------------------------------
// The properties

/// `cases` cases; a failure is not saved to a regressions file (found inputs become inline
/// regression tests at the end of this file).
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

proptest! {
    #![proptest_config(config(400))]

    #[test]
    fn memory_parsers_on_mutated_captures(data in mutated(memory_fixtures(), NUMBERS)) {
        check_memory(&data);
    }

    #[test]
    fn memory_parsers_on_token_soup(data in soup(MEMORY_TOKENS)) {
        check_memory(&data);
    }

    #[test]
    fn every_parser_on_arbitrary_bytes(data in prop::collection::vec(any::<u8>(), 0..400)) {
        check_memory(&data);
        check_pid(&data);
        check_props(&data);
        check_trace_text(&data);
        check_packet(&data);
        check_cpulist(&String::from_utf8_lossy(&data));
        let text = String::from_utf8_lossy(&data);
        check_mounts(data.first().is_some_and(|b| b & 1 == 1), &text, &text);
    }

    #[test]
    fn pid_parsers_on_mutated_captures(data in mutated(pid_fixtures(), NUMBERS)) {
        check_pid(&data);
    }

    #[test]
    fn packet_codec(data in packet()) {
        check_packet(&data);
    }

    #[test]
    fn mountinfo_and_proc_cgroup(v2 in any::<bool>(), mi in soup(MOUNT_TOKENS), cg in soup(MOUNT_TOKENS)) {
        check_mounts(v2, &String::from_utf8_lossy(&mi), &String::from_utf8_lossy(&cg));
    }

    #[test]
    fn cpulists(data in soup(CPULIST_TOKENS)) {
        check_cpulist(&String::from_utf8_lossy(&data));
    }

    #[test]
    fn property_files(data in property_file()) {
        check_props(&data);
    }

    #[test]
    fn property_values(v in prop::sample::select(PROP_VALUES), junk in "[ -~]{0,3}") {
        check_value(v);
        check_value(&format!("{v}{junk}"));
    }

    #[test]
    fn traces_mutated(data in mutated(trace_fixtures(), NUMBERS)) {
        check_trace_text(&data);
    }

    #[test]
    fn wake_lines_replay(data in trace_words()) {
        check_trace_written(&data);
    }
}

proptest! {
    // These write files: fewer cases.
    #![proptest_config(config(48))]

    #[test]
    fn memcg_domain_over_cgroup_files(
        v1 in any::<bool>(),
        limit in attribute(),
        usage in attribute(),
        stat in prop::option::weighted(0.9, mutated(fixtures(|n| n.starts_with("memory.stat")), NUMBERS)),
        swap_limit in attribute(),
        swap_usage in attribute(),
        last in attribute(),
    ) {
        check_memcg_domain(v1, &[limit, usage, stat, swap_limit, swap_usage, last]);
    }

    #[test]
    fn cpu_trees(
        n in 1..8usize,
        online in prop::option::of(soup(CPULIST_TOKENS).prop_map(|b| String::from_utf8(b).unwrap())),
        cpus in prop::collection::vec((sysfs_value(), sysfs_value()), 8),
        configured in soup(CPULIST_TOKENS).prop_map(|b| String::from_utf8(b).unwrap()),
    ) {
        check_placement(n, online.as_deref(), &cpus, &configured);
    }
}

#[test]
fn trace_fixtures_replay_and_every_cut_is_safe() {
    for f in trace_fixtures() {
        let text = String::from_utf8(f.clone()).unwrap();
        assert!(replay(&text).is_ok());
        check_trace_text(&f);
        for p in prefixes(&f) {
            check_trace_text(p);
        }
    }
}

#[test]
fn seed_shapes_of_the_fuzz_targets_hold() {
    let props = b"ro.lmk.use_psi=false\nro.lmk.delay_monitors_until_boot=true\nro.config.per_app_memcg=false\nro.lmk.reaper_threads=0\n";
    check_props(props);
    let c = Config::load(&FileProperties::from_pairs(
        FileProperties::parse(std::str::from_utf8(props).unwrap())
            .0
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str())),
    ));
    assert!(!c.use_psi && c.delay_monitors_until_boot && !c.per_app_memcg);
}

// ---------------------------------------------------------------------------------------------
// The extremes, and the regression tests of the crashes fuzzing found
//
// Each was an arithmetic overflow on numbers near i64::MAX; the fix is `memory::parse::COUNTER_MAX`
// (parsed counters are clamped to 2^52 and summed with `memory::parse::add`; the trace reader
// clamps the same way).

proptest! {
    #![proptest_config(config(300))]

    #[test]
    fn extreme_numbers_in_memory_files(data in mutated(memory_fixtures(), EXTREMES)) {
        check_memory(&data);
    }

    #[test]
    fn extreme_numbers_in_wake_lines(data in prop::collection::vec(any::<u8>(), 0..280)) {
        check_trace_written(&data);
    }
}

/// Found by the `trace` fuzz target (its `wake_line` half), minimised: MemFree at `i64::MAX`
/// (what `parse_meminfo` gives for a value of 2^63 or more) overflows
/// `Meminfo::easy_available` (src/memory/parse.rs) in `psi_strategy::free_swap_kb`.
#[test]
fn trace_fuzz_crash_easy_available_overflows() {
    const INPUT: &[u8] = b"\n#f min \xff\xff\xff\xff\xff\xff\xff\xffswaMa\n# of (ma\n#\0\0\x02g(munevictableThe ginfwre\0\0\0\x02g";
    assert_eq!(INPUT.len(), 65);
    check_trace_written(INPUT);
}

/// The same, as a trace line.
#[test]
fn wake_line_with_memfree_at_the_limit() {
    check_trace_text(
        b"wake t=0 src=psi lvl=medium ev=1 free=9223372036854775807 inactive_file=1\n",
    );
}

/// The file LRU sum of `psi_strategy::decide` (nr_inactive_file + nr_active_file).
#[test]
fn wake_line_with_file_lru_at_the_limit() {
    check_trace_text(
        b"wake t=0 src=psi lvl=medium ev=1 nr_inactive_file=9223372036854775807 nr_active_file=1\n",
    );
}

/// `parse_vmstat` sums the per-zone counters of kernels before 4.8 with `+=`.
#[test]
fn vmstat_per_zone_scan_counters_at_the_limit() {
    check_memory(b"nr_free_pages 1\npgscan_kswapd_normal 9223372036854775807\npgscan_kswapd_movable 9223372036854775807\n");
    check_memory(
        b"nr_free_pages 1\npgscan_direct_normal 18446744073709551615\npgscan_direct_dma 1\n",
    );
    check_memory(b"nr_free_pages 1\npgrefill_normal 9223372036854775807\npgrefill_dma 1\n");
}

/// `parse_zoneinfo` sums protection + watermark, free pages and file LRU over zones with `+`.
#[test]
fn zoneinfo_sums_at_the_limit() {
    check_memory(b"Node 0, zone Normal\n  pages free 1\n  min 9223372036854775807\n  present 1\n  protection: (0, 1)\n");
    check_memory(b"Node 0, zone A\n  pages free 9223372036854775807\n  present 1\nNode 0, zone B\n  pages free 9223372036854775807\n  present 1\n");
    check_memory(b"Node 0, zone A\n  present 1\n  nr_inactive_file 9223372036854775807\n  nr_active_file 9223372036854775807\n");
    check_memory(b"Node 0, zone A\n  present 1\nper-node stats\n  nr_inactive_file 9223372036854775807\n  nr_active_file 1\n");
}

/// `parse_memcg_stat` sums the v1 hierarchical refault counters with `+`.
#[test]
fn memory_stat_refaults_at_the_limit() {
    check_memory(b"total_rss 1\ntotal_workingset_refault_file 9223372036854775807\ntotal_workingset_refault 9223372036854775807\n");
}

/// A task in another cgroup namespace shows `..` in `/proc/<pid>/cgroup`: its soft-limit file
/// must not climb out of the controller's root (fixed in the security review; kept).
#[test]
fn proc_cgroup_path_climbing_out_of_the_root() {
    check_mounts(false, "", "0::/../..\n");
    check_mounts(false, "", "5:memory:/../x\n");
    check_mounts(false, "", "5:memory:/a/./../../b\n");
}
