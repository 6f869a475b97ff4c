//! Fuzzes the `/proc/<pid>` parsers of `lmkd::procs::procfs`: `parse_status` (`status`) and
//! `parse_stat` (`stat`), and the allocation-free formatting the `/proc` writers use
//! (`format_i32` for `oom_score_adj`, `ProcPath::new` for the paths).
//!
//! Properties: no panic; `status` values are the leading decimal digits of their line, so never
//! negative, and a field is only reported when its line is in the input; `stat` fields are
//! counted after the last `)`, so a result needs at least 22 fields there (41 for a non-zero
//! policy); the formatters agree with the standard library.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lmkd::procs::procfs::{format_i32, parse_stat, parse_status, ProcPath};

fuzz_target!(|data: &[u8]| {
    status(data);
    stat(data);
    formatting(data);
});

fn has_line(data: &[u8], key: &[u8]) -> bool {
    data.split(|&b| b == b'\n').any(|l| l.starts_with(key))
}

fn status(data: &[u8]) {
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
}

fn stat(data: &[u8]) {
    let Some(st) = parse_stat(data) else { return };
    let close = data.iter().rposition(|&b| b == b')').expect("a parsed stat has a name");
    let fields =
        data[close + 1..].split(|b| b.is_ascii_whitespace()).filter(|f| !f.is_empty()).count();
    // Field 3 is the first after the name: field 22 (starttime) is the 20th.
    assert!(fields >= 20, "stat parsed from {fields} fields after the name");
    if st.policy != 0 {
        assert!(fields >= 39, "policy (field 41) parsed from {fields} fields after the name");
    }
    assert_eq!(parse_stat(data), Some(st));
}

fn formatting(data: &[u8]) {
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
