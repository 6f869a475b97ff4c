//! Readers and writers for `/proc/<pid>/*`.
//!
//! Parsers are pure functions over bytes (tested on captured files); the I/O helpers read
//! into caller-provided stack buffers and build paths without allocating.

use std::fs::File;
use std::io::{self, Read, Write};

/// The fields of `/proc/<pid>/status` the daemon uses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Status {
    /// `Tgid`: the thread-group id (equal to the pid for a process, not for a thread).
    pub tgid: Option<i32>,
    /// `VmRSS` in kB (absent for zombies and kernel threads).
    pub vm_rss_kb: Option<i64>,
    /// `VmSwap` in kB.
    pub vm_swap_kb: Option<i64>,
    /// Real uid (first number of `Uid`).
    pub uid: Option<u32>,
}

/// Parses the leading decimal number of `s` after optional blanks.
fn leading_number(s: &[u8]) -> Option<i64> {
    let s = s.trim_ascii_start();
    let end = s.iter().position(|b| !b.is_ascii_digit()).unwrap_or(s.len());
    if end == 0 || end > 18 {
        return None;
    }
    let mut v: i64 = 0;
    for &b in &s[..end] {
        v = v * 10 + i64::from(b - b'0');
    }
    Some(v)
}

/// Parses `/proc/<pid>/status`. Unknown and malformed lines are skipped; a truncated file
/// yields the fields that were complete.
pub fn parse_status(buf: &[u8]) -> Status {
    let mut st = Status::default();
    for line in buf.split(|&b| b == b'\n') {
        let Some(colon) = line.iter().position(|&b| b == b':') else { continue };
        let (key, value) = (&line[..colon], &line[colon + 1..]);
        match key {
            b"Tgid" => st.tgid = leading_number(value).and_then(|v| i32::try_from(v).ok()),
            b"VmRSS" => st.vm_rss_kb = leading_number(value),
            b"VmSwap" => st.vm_swap_kb = leading_number(value),
            b"Uid" => st.uid = leading_number(value).and_then(|v| u32::try_from(v).ok()),
            _ => {}
        }
    }
    st
}

/// A `/proc/<pid>/<file>` path built on the stack.
pub struct ProcPath {
    buf: [u8; 64],
    len: usize,
}

impl ProcPath {
    /// `/proc/<pid>/<file>`; `file` must be shorter than 40 bytes.
    pub fn new(pid: i32, file: &str) -> ProcPath {
        let mut p = ProcPath { buf: [0; 64], len: 0 };
        p.push(b"/proc/");
        let mut digits = [0u8; 12];
        p.push(format_i32(pid, &mut digits));
        p.push(b"/");
        p.push(&file.as_bytes()[..file.len().min(40)]);
        p
    }

    fn push(&mut self, b: &[u8]) {
        self.buf[self.len..self.len + b.len()].copy_from_slice(b);
        self.len += b.len();
    }

    /// The path as a string.
    pub fn as_str(&self) -> &str {
        // Only ASCII digits, slashes and the caller's ASCII file name were written.
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or("/proc/invalid")
    }
}

/// Formats `v` in decimal into `buf` and returns the digits (no allocation).
pub fn format_i32(v: i32, buf: &mut [u8; 12]) -> &[u8] {
    let mut n = i64::from(v).unsigned_abs();
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if v < 0 {
        i -= 1;
        buf[i] = b'-';
    }
    &buf[i..]
}

/// Reads as much of `/proc/<pid>/<file>` as fits in `buf` and returns the bytes read.
pub fn read_proc_file<'a>(pid: i32, file: &str, buf: &'a mut [u8]) -> io::Result<&'a [u8]> {
    let path = ProcPath::new(pid, file);
    let mut f = File::open(path.as_str())?;
    let mut len = 0;
    while len < buf.len() {
        let fault = crate::fault::check(crate::fault::Site::PidRead, path.as_str());
        let r = match fault.and_then(|a| a.error()) {
            Some(e) => Err(e),
            None => f.read(&mut buf[len..]),
        };
        match r {
            Ok(0) => break,
            Ok(n) => {
                len += n;
                if let Some(crate::fault::Action::Truncate(max)) = fault {
                    len = len.min(max);
                    break;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(&buf[..len])
}

/// Reads and parses `/proc/<pid>/status`.
pub fn read_status(pid: i32) -> io::Result<Status> {
    let mut buf = [0u8; 4096];
    Ok(parse_status(read_proc_file(pid, "status", &mut buf)?))
}

/// Opens `/proc/<pid>/oom_score_adj` for writing.
pub fn open_oom_score_adj(pid: i32) -> io::Result<File> {
    File::options().write(true).open(ProcPath::new(pid, "oom_score_adj").as_str())
}

/// Writes `adj` in decimal to an open `oom_score_adj` file: one `write(2)`, no allocation.
pub fn write_oom_score_adj(file: &File, adj: i32) -> io::Result<()> {
    if let Some(e) = crate::fault::check(crate::fault::Site::AdjWrite, "").and_then(|f| f.error()) {
        return Err(e);
    }
    let mut digits = [0u8; 12];
    let text = format_i32(adj, &mut digits);
    let mut f = file;
    let n = f.write(text)?;
    if n != text.len() {
        return Err(io::Error::from(io::ErrorKind::WriteZero));
    }
    Ok(())
}

/// Reads the process name the way AOSP does for its kill reports: `/proc/<pid>/cmdline` up to
/// the first NUL or space (argv\[0\]), into `buf`. Empty for kernel threads and zombies.
pub fn read_cmdline_name(pid: i32, buf: &mut [u8]) -> io::Result<&[u8]> {
    let raw = read_proc_file(pid, "cmdline", buf)?;
    let end = raw.iter().position(|&b| b == 0 || b == b' ').unwrap_or(raw.len());
    Ok(&raw[..end])
}

/// Resident pages of a process (`/proc/<pid>/statm`, second field), for the heaviest-task
/// rule. `None` when the file cannot be read or parsed.
pub fn resident_pages(pid: i32) -> Option<u64> {
    let mut buf = [0u8; 128];
    let s = read_proc_file(pid, "statm", &mut buf).ok()?;
    let field = s.split(|&b| b == b' ').nth(1)?;
    std::str::from_utf8(field).ok()?.trim().parse().ok()
}

/// The fields of `/proc/<pid>/stat` the kill statistics and the kill path use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stat {
    /// Minor faults (field 10).
    pub minflt: u64,
    /// Major faults (field 12).
    pub majflt: u64,
    /// Nice value (field 19).
    pub nice: i32,
    /// Start time after boot in clock ticks (field 22).
    pub starttime: u64,
    /// Scheduling policy (field 41; absent before 2.6.22: 0).
    pub policy: i32,
}

/// Parses `/proc/<pid>/stat`. The command name (field 2) may contain spaces and parentheses,
/// so fields are counted from the last `)`.
pub fn parse_stat(buf: &[u8]) -> Option<Stat> {
    let close = buf.iter().rposition(|&b| b == b')')?;
    let mut st = Stat::default();
    let mut seen_start = false;
    // After the name, field 3 (state) has index 0: field N has index N - 3.
    for (i, f) in
        buf[close + 1..].split(|b| b.is_ascii_whitespace()).filter(|f| !f.is_empty()).enumerate()
    {
        let text = std::str::from_utf8(f).ok()?;
        match i + 3 {
            10 => st.minflt = text.parse().ok()?,
            12 => st.majflt = text.parse().ok()?,
            19 => st.nice = text.parse().ok()?,
            22 => {
                st.starttime = text.parse().ok()?;
                seen_start = true;
            }
            41 => {
                st.policy = text.parse().ok()?;
                break;
            }
            _ => {}
        }
    }
    seen_start.then_some(st)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOST_STATUS: &[u8] = include_bytes!("../../tests/fixtures/linux-6.18-host/status");

    #[test]
    fn status_of_a_captured_process() {
        let st = parse_status(HOST_STATUS);
        assert!(st.tgid.is_some());
        assert!(st.vm_rss_kb.is_some_and(|v| v > 0));
        assert_eq!(st.vm_swap_kb, Some(0));
    }

    #[test]
    fn status_of_a_thread_has_another_tgid() {
        let st = parse_status(
            b"Name:\tbinder:1_2\nTgid:\t1234\nPid:\t1240\nUid:\t10057\t10057\t10057\t10057\n",
        );
        assert_eq!(st.tgid, Some(1234));
        assert_eq!(st.uid, Some(10057));
        assert_eq!(st.vm_rss_kb, None, "no VmRSS line");
    }

    #[test]
    fn garbage_and_truncation_never_panic() {
        for input in [
            &b""[..],
            b"Tgid",
            b"Tgid:",
            b"Tgid:\t",
            b"Tgid:\tabc",
            b"VmRSS:\t99999999999999999999999 kB",
            b"\n\n::::\n",
            b"Tgid:\t12",
        ] {
            let _ = parse_status(input);
        }
        assert_eq!(parse_status(b"Tgid:\t12").tgid, Some(12));
        assert_eq!(parse_status(b"VmRSS:\t99999999999999999999999 kB").vm_rss_kb, None);
    }

    #[test]
    fn stat_fields_survive_odd_names() {
        let line = b"1234 (my) app (x)) S 1 1234 1234 0 -1 4194560 5001 0 7 0 10 20 0 0 20 0 3 0 98765 1000000 250 18446744073709551615\n";
        assert_eq!(
            parse_stat(line),
            Some(Stat { minflt: 5001, majflt: 7, nice: 0, starttime: 98765, policy: 0 })
        );
        let idle = b"7 (x) R 1 7 7 0 -1 4194560 1 0 2 0 0 0 0 0 39 19 1 0 55 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 5 0 0 0\n";
        let st = parse_stat(idle).unwrap();
        assert_eq!((st.nice, st.policy, st.starttime), (19, 5, 55));
        assert_eq!(parse_stat(b"1 (init) S 1"), None);
        assert_eq!(parse_stat(b""), None);
        let me = i32::try_from(std::process::id()).unwrap();
        let mut buf = [0u8; 1024];
        let st = parse_stat(read_proc_file(me, "stat", &mut buf).unwrap()).unwrap();
        assert!(st.starttime > 0);
    }

    #[test]
    fn numbers_format_without_allocation() {
        let mut b = [0u8; 12];
        assert_eq!(format_i32(0, &mut b), b"0");
        assert_eq!(format_i32(-1000, &mut b), b"-1000");
        assert_eq!(format_i32(999, &mut b), b"999");
        assert_eq!(format_i32(i32::MIN, &mut b), b"-2147483648");
        assert_eq!(ProcPath::new(1234, "oom_score_adj").as_str(), "/proc/1234/oom_score_adj");
    }

    #[test]
    fn our_own_status_and_name_are_readable() {
        let me = i32::try_from(std::process::id()).unwrap();
        let st = read_status(me).unwrap();
        assert_eq!(st.tgid, Some(me));
        let mut buf = [0u8; 256];
        assert!(!read_cmdline_name(me, &mut buf).unwrap().is_empty());
    }
}
