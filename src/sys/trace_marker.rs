//! Android's atrace, the part the daemon writes: text events to tracefs `trace_marker`.
//!
//! atrace writes plain text to `/sys/kernel/tracing/trace_marker` (else
//! `/sys/kernel/debug/tracing/trace_marker`), one `write(2)` per event, without a newline and
//! at most [`ATRACE_MESSAGE_MAX`] bytes; the kernel records each write as an `ftrace/print`
//! event, which Perfetto parses (`N|<pid>|<track>|<name>` is an instant event on a named
//! track). AOSP's lmkd traces with the "always" tag, so it writes whenever the marker can be
//! opened; so does this daemon.
//!
//! The marker is opened once per process ([`trace_marker`], called at start-up) and kept; an
//! event is formatted into a stack buffer and written with one call, so tracing a kill
//! allocates nothing. Without tracefs there is nothing to write to: that is logged once and
//! every event is then a no-op. A write the kernel refuses (tracing switched off, a full
//! buffer) is dropped and counted.
//!
//! No `unsafe` here: it lives in `sys` because it is a kernel interface that both the kill
//! pipeline and the watchdog thread (which must not depend on the reports) write to.

use std::fmt;
use std::fs::OpenOptions;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// Where tracefs puts the marker, in the order atrace tries them.
pub const TRACE_MARKER_PATHS: [&str; 2] =
    ["/sys/kernel/tracing/trace_marker", "/sys/kernel/debug/tracing/trace_marker"];

/// The longest event atrace writes (`ATRACE_MESSAGE_LENGTH`); longer ones are refused here.
pub const ATRACE_MESSAGE_MAX: usize = 1024;

/// The track lmkd's kills are on: its log tag (AOSP's `ATRACE_INSTANT_FOR_TRACK` track).
pub const LMK_TRACK: &str = "lowmemorykiller";

/// Bytes of the stack buffer a kill event is formatted in (the longest event, with every
/// number at its widest, is 88 bytes).
const KILL_EVENT_BUF: usize = 128;

/// An open trace marker.
#[derive(Debug)]
pub struct TraceMarker {
    fd: OwnedFd,
    path: PathBuf,
    pid: u32,
    dropped: AtomicU64,
}

impl TraceMarker {
    /// Opens the marker at `path` for writing (`O_WRONLY | O_CLOEXEC`, as atrace does).
    pub fn open(path: &Path) -> io::Result<TraceMarker> {
        let file = OpenOptions::new().write(true).open(path)?;
        Ok(TraceMarker {
            fd: file.into(),
            path: path.to_owned(),
            pid: std::process::id(),
            dropped: AtomicU64::new(0),
        })
    }

    /// Opens the first of [`TRACE_MARKER_PATHS`] that opens; the error is the last one's.
    pub fn open_default() -> io::Result<TraceMarker> {
        let mut last = io::Error::from_raw_os_error(libc::ENOENT);
        for p in TRACE_MARKER_PATHS {
            match TraceMarker::open(Path::new(p)) {
                Ok(m) => return Ok(m),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// The file it writes to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Events the kernel refused so far (tracing off, or the write failed).
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Writes one event as it is, in one `write(2)`. An event longer than
    /// [`ATRACE_MESSAGE_MAX`] is refused (`EINVAL`), as a cut one would be a different event.
    pub fn write_event(&self, event: &[u8]) -> io::Result<()> {
        if event.len() > ATRACE_MESSAGE_MAX {
            return Err(io::Error::from_raw_os_error(libc::EINVAL));
        }
        match rustix::io::write(self.fd.as_fd(), event) {
            Ok(n) if n == event.len() => Ok(()),
            Ok(_) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
                Err(io::Error::from_raw_os_error(libc::EIO))
            }
            Err(e) => {
                if self.dropped.fetch_add(1, Ordering::Relaxed) == 0 {
                    log::debug!("trace marker {}: {e} (events are dropped)", self.path.display());
                }
                Err(e.into())
            }
        }
    }

    /// AOSP's 2025 kill event, an instant on the `lowmemorykiller` track of this process:
    /// `N|<lmkd pid>|lowmemorykiller|lmk,<pid>,<reason>,<adj>,<min adj>,<max thrashing>`
    /// (see [`kill_event`]).
    pub fn kill_event(&self, k: &KillEvent) -> io::Result<()> {
        let mut buf = StackBuf::<KILL_EVENT_BUF>::new();
        // Every field is an integer: the text always fits.
        let _ = kill_event(&mut buf, self.pid, k);
        self.write_event(buf.as_bytes())
    }
}

/// The fields of a kill event. AOSP writes −1 for `reason` and `max_thrashing` when the kill
/// had no kill information (its old strategy, and here also requested and watchdog kills).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KillEvent {
    /// The victim.
    pub pid: i32,
    /// AOSP's kill reason code, or −1.
    pub reason: i32,
    /// The victim's `oom_score_adj`.
    pub adj: i32,
    /// The lowest adj the decision allowed.
    pub min_adj: i32,
    /// The highest thrashing (% of the file LRU) since the previous kill, or −1.
    pub max_thrashing: i64,
}

/// Formats the kill event of `lmkd_pid` into `out` (no allocation).
pub fn kill_event(out: &mut impl fmt::Write, lmkd_pid: u32, k: &KillEvent) -> fmt::Result {
    write!(
        out,
        "N|{lmkd_pid}|{LMK_TRACK}|lmk,{},{},{},{},{}",
        k.pid, k.reason, k.adj, k.min_adj, k.max_thrashing
    )
}

/// A fixed buffer that formats without allocating (text beyond its size is an error).
struct StackBuf<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> StackBuf<N> {
    fn new() -> Self {
        StackBuf { buf: [0; N], len: 0 }
    }

    fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl<const N: usize> fmt::Write for StackBuf<N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len + s.len();
        if end > N {
            return Err(fmt::Error);
        }
        self.buf[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

static MARKER_PATH: OnceLock<PathBuf> = OnceLock::new();
static MARKER: OnceLock<Option<TraceMarker>> = OnceLock::new();

/// Host runs: trace to `path` instead of tracefs's own marker (`lmkd --trace-marker PATH`,
/// e.g. the `trace_marker` of a tracefs instance). Takes effect only before the marker is
/// first opened; returns whether it did.
pub fn set_marker_path(path: PathBuf) -> bool {
    MARKER.get().is_none() && MARKER_PATH.set(path).is_ok()
}

/// The process's trace marker, opened on the first call (the daemon makes it at start-up) and
/// kept for the process's life; `None` when there is none, which the first call logs.
pub fn trace_marker() -> Option<&'static TraceMarker> {
    MARKER
        .get_or_init(|| {
            let opened = match MARKER_PATH.get() {
                Some(p) => TraceMarker::open(p),
                None => TraceMarker::open_default(),
            };
            match opened {
                Ok(m) => {
                    log::info!("kills are traced to {} (Perfetto: ftrace/print)", m.path.display());
                    Some(m)
                }
                Err(e) => {
                    match MARKER_PATH.get() {
                        Some(p) => log::warn!(
                            "cannot open trace marker {}: {e}; kills are not traced",
                            p.display()
                        ),
                        None => log::info!("no tracefs trace_marker ({e}); kills are not traced"),
                    }
                    None
                }
            }
        })
        .as_ref()
}

/// Writes a kill event to the process's marker, if it has one (nothing otherwise).
pub fn trace_kill(k: &KillEvent) {
    if let Some(m) = trace_marker() {
        let _ = m.kill_event(k);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kill_event_is_aosps_line() {
        let mut b = StackBuf::<KILL_EVENT_BUF>::new();
        let k = KillEvent { pid: 3, reason: 1, adj: 900, min_adj: 0, max_thrashing: 42 };
        kill_event(&mut b, 2, &k).unwrap();
        assert_eq!(b.as_bytes(), b"N|2|lowmemorykiller|lmk,3,1,900,0,42");
        // Without kill information: -1 for the reason and the thrashing, as AOSP writes.
        let mut b = StackBuf::<KILL_EVENT_BUF>::new();
        let k = KillEvent { pid: 77, reason: -1, adj: 905, min_adj: 905, max_thrashing: -1 };
        kill_event(&mut b, 1234, &k).unwrap();
        assert_eq!(b.as_bytes(), b"N|1234|lowmemorykiller|lmk,77,-1,905,905,-1");
        // The widest event fits the buffer.
        let mut b = StackBuf::<KILL_EVENT_BUF>::new();
        let k = KillEvent {
            pid: i32::MIN,
            reason: i32::MIN,
            adj: i32::MIN,
            min_adj: i32::MIN,
            max_thrashing: i64::MIN,
        };
        kill_event(&mut b, u32::MAX, &k).unwrap();
        assert!(b.as_bytes().len() <= KILL_EVENT_BUF);
    }

    #[test]
    fn events_go_out_in_one_write_and_long_ones_are_refused() {
        let dir = std::env::temp_dir().join(format!("lmkd-marker-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("trace_marker");
        std::fs::write(&path, b"").unwrap();
        let m = TraceMarker::open(&path).unwrap();
        let k = KillEvent { pid: 10, reason: 8, adj: 950, min_adj: 701, max_thrashing: 0 };
        m.kill_event(&k).unwrap();
        let long = vec![b'x'; ATRACE_MESSAGE_MAX + 1];
        assert_eq!(m.write_event(&long).unwrap_err().raw_os_error(), Some(libc::EINVAL));
        m.write_event(&long[..ATRACE_MESSAGE_MAX]).unwrap();
        let got = std::fs::read(&path).unwrap();
        let first = format!("N|{}|lowmemorykiller|lmk,10,8,950,701,0", std::process::id());
        assert_eq!(&got[..first.len()], first.as_bytes(), "no newline");
        assert_eq!(got.len(), first.len() + ATRACE_MESSAGE_MAX);
        assert_eq!(m.dropped(), 0);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
