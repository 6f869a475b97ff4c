//! The properties the `cargo fuzz` targets in `fuzz/` check, as `proptest` properties that run
//! on stable: every parser of kernel and file input (`/proc` memory files, `/proc/<pid>` files,
//! cgroup files and mountinfo, sysfs CPU trees and cpulists, property files and values,
//! decision traces) and the packet codec, on arbitrary input, on soups of the tokens those
//! formats use, and on mutations of the real captures in `tests/fixtures` (cut at every line
//! boundary, bytes flipped, lines duplicated or dropped, numbers replaced).
//!
//! The properties themselves are `fuzz/checks.rs`, which the fuzz targets include too; this file
//! supplies the inputs. The crashes fuzzing found are at the end, as regression tests with the
//! inputs inline.
//!
//! The number replacements of the general properties stay below 2^50 (more than any kernel
//! counter reaches); the extremes (up to `u64::MAX`, which the parsers clamp to
//! `memory::parse::COUNTER_MAX`) are exercised by the `extreme_numbers_*` properties and the
//! regression tests.

use std::fs;
use std::path::{Path, PathBuf};

use lmkd::config::{Config, FileProperties};
use lmkd::memory::parse::{parse_meminfo, parse_psi, parse_zoneinfo, ParseError};
use lmkd::policy::trace::replay;
use lmkd::protocol::ext::{
    LMK_EXT_KILL, LMK_EXT_KILL_HISTORY, LMK_EXT_PROCS, LMK_EXT_STATUS, PROCS_RECORD_WORDS,
};
use lmkd::report::history::RECORD_WIRE_SIZE;
use proptest::prelude::*;
use proptest::sample::Index;

mod common;
use common::TempDir;

/// The properties themselves, shared with the fuzz targets.
#[allow(dead_code)]
#[path = "../fuzz/checks.rs"]
mod checks;

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

#[test]
fn memory_fixtures_parse_and_every_cut_is_safe() {
    for f in memory_fixtures() {
        checks::memory(&f);
        for p in prefixes(&f) {
            checks::memory(p);
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

fn pid_fixtures() -> Vec<Vec<u8>> {
    let mut v = fixtures(|n| n == "status" || n == "statm");
    v.push(b"1234 (my) app (x)) S 1 1234 1234 0 -1 4194560 5001 0 7 0 10 20 0 0 20 0 3 0 98765 1000000 250 18446744073709551615\n".to_vec());
    v.push(b"7 (x) R 1 7 7 0 -1 4194560 1 0 2 0 0 0 0 0 39 19 1 0 55 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 5 0 0 0\n".to_vec());
    v
}

#[test]
fn pid_fixtures_and_every_cut_are_safe() {
    for f in pid_fixtures() {
        checks::proc_pid(&f);
        for p in prefixes(&f) {
            checks::proc_pid(p);
        }
        // Every cut of a stat line, not only at lines.
        if f.contains(&b')') {
            for i in 0..=f.len() {
                checks::proc_pid(&f[..i]);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Properties: cgroup files, mountinfo, /proc/<pid>/cgroup (fuzz target cgroup)

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

/// The memcg domain over fuzzed cgroup files: the same layout as the cgroup fuzz target.
fn check_memcg_domain(v1: bool, files: &[Option<Vec<u8>>; 6]) {
    let dir = TempDir::new("fuzzprop-memcg");
    checks::memcg_files(dir.path(), v1, &files.each_ref().map(|f| f.as_deref()));
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

const CPULIST_TOKENS: &[&str] =
    &["0", "1", "3", "7", "4095", "4096", "-", ",", " ", "\n", "a", "99999999999999999999"];

fn check_placement(
    n: usize,
    online: Option<&str>,
    cpus: &[(Option<String>, Option<String>)],
    configured: &str,
) {
    let tree = TempDir::new("fuzzprop-cpus");
    let cpus: Vec<(Option<&str>, Option<&str>)> =
        cpus.iter().take(n).map(|(c, f)| (c.as_deref(), f.as_deref())).collect();
    checks::placement(&tree.path().join("cpu"), online, &cpus, configured);
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

/// Little-endian words below 2^40 (the general properties; `extreme_numbers` goes further).
fn trace_words() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(0..(1u64 << 40), 0..34)
        .prop_map(|w| w.iter().flat_map(|v| v.to_le_bytes()).collect())
}

// ---------------------------------------------------------------------------------------------
// Properties: the packet codec (fuzz target packet)

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
        checks::memory(&data);
    }

    #[test]
    fn memory_parsers_on_token_soup(data in soup(MEMORY_TOKENS)) {
        checks::memory(&data);
    }

    #[test]
    fn every_parser_on_arbitrary_bytes(data in prop::collection::vec(any::<u8>(), 0..400)) {
        checks::memory(&data);
        checks::proc_pid(&data);
        checks::props(&data);
        checks::trace_text(&data);
        checks::packet(&data);
        checks::cpulist(&String::from_utf8_lossy(&data));
        let text = String::from_utf8_lossy(&data);
        checks::mounts(data.first().is_some_and(|b| b & 1 == 1), &text, &text);
    }

    #[test]
    fn pid_parsers_on_mutated_captures(data in mutated(pid_fixtures(), NUMBERS)) {
        checks::proc_pid(&data);
    }

    #[test]
    fn packet_codec(data in packet()) {
        checks::packet(&data);
    }

    #[test]
    fn mountinfo_and_proc_cgroup(v2 in any::<bool>(), mi in soup(MOUNT_TOKENS), cg in soup(MOUNT_TOKENS)) {
        checks::mounts(v2, &String::from_utf8_lossy(&mi), &String::from_utf8_lossy(&cg));
    }

    #[test]
    fn cpulists(data in soup(CPULIST_TOKENS)) {
        checks::cpulist(&String::from_utf8_lossy(&data));
    }

    #[test]
    fn property_files(data in property_file()) {
        checks::props(&data);
    }

    #[test]
    fn property_values(v in prop::sample::select(PROP_VALUES), junk in "[ -~]{0,3}") {
        checks::value(v);
        checks::value(&format!("{v}{junk}"));
    }

    #[test]
    fn traces_mutated(data in mutated(trace_fixtures(), NUMBERS)) {
        checks::trace_text(&data);
    }

    #[test]
    fn wake_lines_replay(data in trace_words()) {
        checks::trace_written(&data);
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
        checks::trace_text(&f);
        for p in prefixes(&f) {
            checks::trace_text(p);
        }
    }
}

#[test]
fn seed_shapes_of_the_fuzz_targets_hold() {
    let props = b"ro.lmk.use_psi=false\nro.lmk.delay_monitors_until_boot=true\nro.config.per_app_memcg=false\nro.lmk.reaper_threads=0\n";
    checks::props(props);
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
        checks::memory(&data);
    }

    #[test]
    fn extreme_numbers_in_wake_lines(data in prop::collection::vec(any::<u8>(), 0..280)) {
        checks::trace_written(&data);
    }
}

/// Found by the `trace` fuzz target (its `wake_line` half), minimised: MemFree at `i64::MAX`
/// (what `parse_meminfo` gives for a value of 2^63 or more) overflows
/// `Meminfo::easy_available` (src/memory/parse.rs) in `psi_strategy::free_swap_kb`.
#[test]
fn trace_fuzz_crash_easy_available_overflows() {
    const INPUT: &[u8] = b"\n#f min \xff\xff\xff\xff\xff\xff\xff\xffswaMa\n# of (ma\n#\0\0\x02g(munevictableThe ginfwre\0\0\0\x02g";
    assert_eq!(INPUT.len(), 65);
    checks::trace_written(INPUT);
}

/// The same, as a trace line.
#[test]
fn wake_line_with_memfree_at_the_limit() {
    checks::trace_text(
        b"wake t=0 src=psi lvl=medium ev=1 free=9223372036854775807 inactive_file=1\n",
    );
}

/// The file LRU sum of `psi_strategy::decide` (nr_inactive_file + nr_active_file).
#[test]
fn wake_line_with_file_lru_at_the_limit() {
    checks::trace_text(
        b"wake t=0 src=psi lvl=medium ev=1 nr_inactive_file=9223372036854775807 nr_active_file=1\n",
    );
}

/// `parse_vmstat` sums the per-zone counters of kernels before 4.8 with `+=`.
#[test]
fn vmstat_per_zone_scan_counters_at_the_limit() {
    checks::memory(b"nr_free_pages 1\npgscan_kswapd_normal 9223372036854775807\npgscan_kswapd_movable 9223372036854775807\n");
    checks::memory(
        b"nr_free_pages 1\npgscan_direct_normal 18446744073709551615\npgscan_direct_dma 1\n",
    );
    checks::memory(b"nr_free_pages 1\npgrefill_normal 9223372036854775807\npgrefill_dma 1\n");
}

/// `parse_zoneinfo` sums protection + watermark, free pages and file LRU over zones with `+`.
#[test]
fn zoneinfo_sums_at_the_limit() {
    checks::memory(b"Node 0, zone Normal\n  pages free 1\n  min 9223372036854775807\n  present 1\n  protection: (0, 1)\n");
    checks::memory(b"Node 0, zone A\n  pages free 9223372036854775807\n  present 1\nNode 0, zone B\n  pages free 9223372036854775807\n  present 1\n");
    checks::memory(b"Node 0, zone A\n  present 1\n  nr_inactive_file 9223372036854775807\n  nr_active_file 9223372036854775807\n");
    checks::memory(b"Node 0, zone A\n  present 1\nper-node stats\n  nr_inactive_file 9223372036854775807\n  nr_active_file 1\n");
}

/// `parse_memcg_stat` sums the v1 hierarchical refault counters with `+`.
#[test]
fn memory_stat_refaults_at_the_limit() {
    checks::memory(b"total_rss 1\ntotal_workingset_refault_file 9223372036854775807\ntotal_workingset_refault 9223372036854775807\n");
}

/// A task in another cgroup namespace shows `..` in `/proc/<pid>/cgroup`: its soft-limit file
/// must not climb out of the controller's root (fixed in the security review; kept).
#[test]
fn proc_cgroup_path_climbing_out_of_the_root() {
    checks::mounts(false, "", "0::/../..\n");
    checks::mounts(false, "", "5:memory:/../x\n");
    checks::mounts(false, "", "5:memory:/a/./../../b\n");
}
