//! Fuzzes the kernel memory file parsers of `lmkd::memory::parse`: `parse_meminfo`,
//! `parse_vmstat`, `parse_zoneinfo`, `parse_psi` and `parse_memcg_stat`. Every input goes
//! through all five (the seeds are real captures of each file).
//!
//! Properties, as the module documents them: no panic; a file that does not end with a newline
//! is `Truncated`; what parses came from unsigned decimal numbers, so no value is negative; a
//! value the parser reports (a required field, a zone, a node, a PSI line) has its line in the
//! input; parsing is a pure function of the bytes (the same input gives the same result).
#![no_main]

use libfuzzer_sys::fuzz_target;
use lmkd::memory::parse::{
    parse_memcg_stat, parse_meminfo, parse_psi, parse_vmstat, parse_zoneinfo, ParseError, PsiLine,
};

fuzz_target!(|data: &[u8]| {
    let complete = data.last() == Some(&b'\n');
    let lines = || data.split(|&b| b == b'\n');

    let meminfo = parse_meminfo(data);
    check_truncated(complete, &meminfo);
    if let Ok(m) = meminfo {
        let fields = [
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
        assert!(fields.iter().all(|&v| v >= 0), "negative meminfo field: {m:?}");
        assert!(lines().any(|l| l.starts_with(b"MemTotal:")));
        assert!(lines().any(|l| l.starts_with(b"MemFree:")));
    }
    assert_eq!(parse_meminfo(data), meminfo);

    let vmstat = parse_vmstat(data);
    check_truncated(complete, &vmstat);
    if let Ok(v) = vmstat {
        let fields = [
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
        assert!(fields.iter().all(|&f| f >= 0), "negative vmstat counter: {v:?}");
        assert!(lines().any(|l| l.starts_with(b"nr_free_pages ")));
    }

    let zoneinfo = parse_zoneinfo(data);
    check_truncated(complete, &zoneinfo);
    if let Ok(w) = zoneinfo {
        let fields = [w.min, w.low, w.high, w.totalreserve, w.free, w.free_cma, w.file_lru];
        assert!(fields.iter().all(|&f| f >= 0), "negative watermark: {w:?}");
        assert_eq!(w.totalreserve, w.high, "totalreserve is the high watermark sum");
        let zone_lines = lines().filter(|l| l.trim_ascii().starts_with(b"Node ")).count() as u64;
        assert!(zone_lines >= 1);
        assert!(u64::from(w.zones) <= zone_lines, "{} zones from {zone_lines} lines", w.zones);
        assert!(u64::from(w.nodes) <= zone_lines, "{} nodes from {zone_lines} lines", w.nodes);
    }

    let psi = parse_psi(data);
    check_truncated(complete, &psi);
    if let Ok(p) = psi {
        assert!(lines().any(|l| l.starts_with(b"some ")));
        if p.full != PsiLine::default() {
            assert!(lines().any(|l| l.starts_with(b"full ")));
        }
    }

    let memcg = parse_memcg_stat(data);
    check_truncated(complete, &memcg);
    if let Ok(s) = memcg {
        let fields = [
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
        assert!(fields.iter().all(|&f| f >= 0), "negative memory.stat field: {s:?}");
        if s.pgscan.is_some() {
            assert!(lines().any(|l| l.starts_with(b"pgscan ")));
        }
    }
});

/// A file without its final newline is `Truncated`, and only such a file.
fn check_truncated<T>(complete: bool, r: &Result<T, ParseError>) {
    let truncated = matches!(r, Err(ParseError::Truncated));
    assert_eq!(truncated, !complete, "Truncated iff the file does not end with a newline");
}
