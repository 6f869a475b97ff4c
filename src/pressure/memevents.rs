//! BPF memevents: the kernel's reclaim events, as Android's BPF programs put them in lmkd's ring
//! buffer (Android 15 and later).
//!
//! Android's BPF loader loads the memevents programs at boot and pins them with the ring buffer
//! under `/sys/fs/bpf/memevents/`. The consumer — lmkd, through AOSP's libmemevents — opens the
//! ring buffer, claims it (an exclusive lock, so that one consumer reads it), attaches each
//! program to its tracepoint and reads `mem_event_t` records as they come. This module is that
//! consumer, with no library: the ring buffer is read in place ([`crate::sys::bpf::RingBuffer`]),
//! records are parsed from their bytes ([`parse`]), and the program table is AOSP's
//! ([`PROGRAMS`]). What the events mean for a decision is the pressure engine's and the
//! policy's (reference §4.5 step 5, §4.7).
//!
//! The record, 88 bytes: a `u64` type at offset 0, then per type —
//!
//! | type | fields (byte offset) |
//! |---|---|
//! | 0 `OOM_KILL` | pid u32 @8, timestamp_ms u64 @16, oom_score_adj i16 @24, uid u32 @28, comm @32 … (not lmkd's) |
//! | 1 `DIRECT_RECLAIM_BEGIN`, 2 `…_END` | none |
//! | 3 `KSWAPD_WAKE` | node u32 @8, zone u32 @12, alloc order u32 @16 |
//! | 4 `KSWAPD_SLEEP` | node u32 @8 |
//! | 5 `VENDOR_LMK_KILL` | reason u32 @8, min_oom_score_adj i16 @12 |
//! | 6 `UPDATE_ZONEINFO` | none read |

use std::ffi::CString;
use std::fs;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::sys::bpf::{self, RingBuffer, BPF_MAP_TYPE_RINGBUF};

/// The size of a `mem_event_t`; AOSP rejects a record of any other length.
pub const RECORD_LEN: usize = 88;
/// lmkd's ring buffer, under the bpffs root.
pub const RING_BUFFER: &str = "memevents/map_bpfMemEvents_lmkd_rb";
/// The vendor reasons end here (exclusive): kill reasons 1000..1999 (AOSP compares the raw
/// reason against `VENDOR_KILL_REASON_END`, 1999; the BPF program already keeps it below 1000).
pub const VENDOR_REASON_END: u32 = 1000;

/// A memevent type (`mem_event_type_t`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    /// `MEM_EVENT_OOM_KILL` (ActivityManager's; never registered by lmkd).
    OomKill = 0,
    /// `MEM_EVENT_DIRECT_RECLAIM_BEGIN`.
    DirectReclaimBegin = 1,
    /// `MEM_EVENT_DIRECT_RECLAIM_END`.
    DirectReclaimEnd = 2,
    /// `MEM_EVENT_KSWAPD_WAKE`.
    KswapdWake = 3,
    /// `MEM_EVENT_KSWAPD_SLEEP`.
    KswapdSleep = 4,
    /// `MEM_EVENT_VENDOR_LMK_KILL`.
    VendorKill = 5,
    /// `MEM_EVENT_UPDATE_ZONEINFO`.
    UpdateZoneinfo = 6,
}

/// The number of memevent types (`NR_MEM_EVENTS`).
pub const KINDS: usize = 7;

/// One event, parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemEvent {
    /// A task entered direct reclaim.
    DirectReclaimBegin,
    /// A task left direct reclaim.
    DirectReclaimEnd,
    /// kswapd was woken.
    KswapdWake {
        /// The node.
        node: u32,
        /// The zone.
        zone: u32,
        /// The allocation order that woke it.
        order: u32,
    },
    /// kswapd went to sleep.
    KswapdSleep {
        /// The node.
        node: u32,
    },
    /// A vendor module asks for a kill.
    VendorKill {
        /// The vendor's reason (the kill reason is 1000 + this).
        reason: u32,
        /// The lowest `oom_score_adj` that may be killed.
        min_adj: i16,
    },
    /// The kernel recomputed its reserves: the watermarks changed.
    UpdateZoneinfo,
    /// An event lmkd does not handle (the OOM kill report, ActivityManager's).
    Other(Kind),
}

/// Why a record was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordError {
    /// Its length is not [`RECORD_LEN`].
    Length(usize),
    /// Its type is not one of the [`KINDS`].
    Type(u64),
}

impl std::fmt::Display for RecordError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RecordError::Length(n) => write!(f, "a record of {n} bytes (not {RECORD_LEN})"),
            RecordError::Type(t) => write!(f, "a record of unknown type {t}"),
        }
    }
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Parses one ring-buffer record.
pub fn parse(b: &[u8]) -> Result<MemEvent, RecordError> {
    if b.len() != RECORD_LEN {
        return Err(RecordError::Length(b.len()));
    }
    let mut t = [0u8; 8];
    t.copy_from_slice(&b[..8]);
    let kind = u64::from_ne_bytes(t);
    Ok(match kind {
        0 => MemEvent::Other(Kind::OomKill),
        1 => MemEvent::DirectReclaimBegin,
        2 => MemEvent::DirectReclaimEnd,
        3 => MemEvent::KswapdWake { node: u32_at(b, 8), zone: u32_at(b, 12), order: u32_at(b, 16) },
        4 => MemEvent::KswapdSleep { node: u32_at(b, 8) },
        5 => MemEvent::VendorKill {
            reason: u32_at(b, 8),
            min_adj: i16::from_ne_bytes([b[12], b[13]]),
        },
        6 => MemEvent::UpdateZoneinfo,
        other => return Err(RecordError::Type(other)),
    })
}

/// One of lmkd's BPF programs: where AOSP's loader pins it and the tracepoint it serves.
#[derive(Clone, Copy, Debug)]
pub struct Program {
    /// The event it reports.
    pub kind: Kind,
    /// The tracepoint's category (`events/<category>/…` in tracefs).
    pub category: &'static str,
    /// The tracepoint.
    pub event: &'static str,
    /// Whether lmkd can do without it (the vendor and zoneinfo events need kernel ≥ 6.1 and a
    /// vendor module).
    pub optional: bool,
}

impl Program {
    /// Its pinned path under the bpffs root: `memevents/prog_bpfMemEvents_tracepoint_<category>_<event>_lmkd`.
    pub fn pin_path(&self, bpffs: &Path) -> PathBuf {
        bpffs.join(format!(
            "memevents/prog_bpfMemEvents_tracepoint_{}_{}_lmkd",
            self.category, self.event
        ))
    }
}

/// lmkd's programs (libmemevents' table for the LMKD client).
pub const PROGRAMS: [Program; 6] = [
    Program {
        kind: Kind::DirectReclaimBegin,
        category: "vmscan",
        event: "mm_vmscan_direct_reclaim_begin",
        optional: false,
    },
    Program {
        kind: Kind::DirectReclaimEnd,
        category: "vmscan",
        event: "mm_vmscan_direct_reclaim_end",
        optional: false,
    },
    Program {
        kind: Kind::KswapdWake,
        category: "vmscan",
        event: "mm_vmscan_kswapd_wake",
        optional: false,
    },
    Program {
        kind: Kind::KswapdSleep,
        category: "vmscan",
        event: "mm_vmscan_kswapd_sleep",
        optional: false,
    },
    Program {
        kind: Kind::VendorKill,
        category: "android_vendor_lmk",
        event: "android_trigger_vendor_lmk_kill",
        optional: true,
    },
    Program {
        kind: Kind::UpdateZoneinfo,
        category: "kmem",
        event: "mm_calculate_totalreserve_pages",
        optional: true,
    },
];

/// Where the BPF filesystem and tracefs are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Paths {
    /// The bpffs root (`/sys/fs/bpf`).
    pub bpffs: PathBuf,
    /// The tracefs root (`/sys/kernel/tracing`, or `/sys/kernel/debug/tracing` on kernels
    /// that mount it only under debugfs).
    pub tracefs: PathBuf,
}

impl Default for Paths {
    fn default() -> Paths {
        let tracefs = ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"]
            .iter()
            .map(PathBuf::from)
            .find(|p| p.join("events").is_dir())
            .unwrap_or_else(|| PathBuf::from("/sys/kernel/tracing"));
        Paths { bpffs: PathBuf::from("/sys/fs/bpf"), tracefs }
    }
}

/// Why the listener could not be set up (the daemon then detects reclaim from vmstat).
#[derive(Debug)]
pub enum OpenError {
    /// The ring buffer could not be opened (no memevents on this device or kernel).
    RingBuffer(PathBuf, io::Error),
    /// It is not a BPF ring buffer, or has no room.
    NotARingBuffer(PathBuf),
    /// Another consumer holds it.
    Claimed(PathBuf, io::Error),
    /// A required program is missing or cannot be attached.
    Program(&'static str, io::Error),
}

impl std::fmt::Display for OpenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OpenError::RingBuffer(p, e) => write!(f, "cannot open {}: {e}", p.display()),
            OpenError::NotARingBuffer(p) => write!(f, "{} is not a BPF ring buffer", p.display()),
            OpenError::Claimed(p, e) => {
                write!(f, "cannot claim {} (another consumer?): {e}", p.display())
            }
            OpenError::Program(event, e) => write!(f, "no program for {event}: {e}"),
        }
    }
}

impl std::error::Error for OpenError {}

fn cpath(p: &Path) -> io::Result<CString> {
    CString::new(p.as_os_str().as_bytes()).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
}

/// Opens the program pinned for `prog` and attaches it to its tracepoint; the attachment lives
/// as long as the returned descriptor.
pub fn attach(prog: &Program, paths: &Paths) -> io::Result<OwnedFd> {
    let fd = bpf::bpf_obj_get(&cpath(&prog.pin_path(&paths.bpffs))?)?;
    let id_path = paths.tracefs.join("events").join(prog.category).join(prog.event).join("id");
    let id = fs::read_to_string(&id_path)?
        .trim()
        .parse::<u64>()
        .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    bpf::attach_tracepoint(fd.as_fd(), id)
}

/// lmkd's memevents listener: the claimed ring buffer and the attached programs.
#[derive(Debug)]
pub struct Listener {
    map: OwnedFd,
    ring: RingBuffer,
    /// The tracepoint attachments (each a perf event descriptor), kept open.
    links: Vec<OwnedFd>,
    supported: [bool; KINDS],
}

impl Listener {
    /// Opens and claims the ring buffer and attaches every program (the optional ones when
    /// present).
    pub fn open(paths: &Paths) -> Result<Listener, OpenError> {
        let rb = paths.bpffs.join(RING_BUFFER);
        let map = cpath(&rb)
            .and_then(|c| bpf::bpf_obj_get(&c))
            .map_err(|e| OpenError::RingBuffer(rb.clone(), e))?;
        let info =
            bpf::bpf_map_info(map.as_fd()).map_err(|e| OpenError::RingBuffer(rb.clone(), e))?;
        if info.map_type != BPF_MAP_TYPE_RINGBUF || info.max_entries == 0 {
            return Err(OpenError::NotARingBuffer(rb));
        }
        bpf::ofd_write_lock(map.as_fd(), info.id).map_err(|e| OpenError::Claimed(rb.clone(), e))?;
        let ring = RingBuffer::map(map.as_fd(), info.max_entries)
            .map_err(|e| OpenError::RingBuffer(rb.clone(), e))?;
        let mut links = Vec::with_capacity(PROGRAMS.len());
        let mut supported = [false; KINDS];
        for p in &PROGRAMS {
            match attach(p, paths) {
                Ok(link) => {
                    links.push(link);
                    supported[p.kind as usize] = true;
                }
                Err(e) if p.optional => {
                    log::debug!("memevents: no {}/{} ({e}); not used", p.category, p.event)
                }
                Err(e) => return Err(OpenError::Program(p.event, e)),
            }
        }
        Ok(Listener { map, ring, links, supported })
    }

    /// The descriptor that polls readable when records wait.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.map.as_fd()
    }

    /// Whether the events of `kind` come (its program is attached).
    pub fn supports(&self, kind: Kind) -> bool {
        self.supported[kind as usize]
    }

    /// The next waiting record, parsed (`None`: none waits). Allocates nothing.
    pub fn next_event(&mut self) -> Option<Result<MemEvent, RecordError>> {
        self.ring.next_record(parse)
    }

    /// How many tracepoints are attached.
    pub fn attached(&self) -> usize {
        self.links.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(kind: u64, fill: impl FnOnce(&mut [u8])) -> [u8; RECORD_LEN] {
        let mut b = [0u8; RECORD_LEN];
        b[..8].copy_from_slice(&kind.to_ne_bytes());
        fill(&mut b);
        b
    }

    #[test]
    fn every_type_parses_at_its_offsets() {
        assert_eq!(parse(&record(1, |_| {})), Ok(MemEvent::DirectReclaimBegin));
        assert_eq!(parse(&record(2, |_| {})), Ok(MemEvent::DirectReclaimEnd));
        let wake = record(3, |b| {
            b[8..12].copy_from_slice(&1u32.to_ne_bytes());
            b[12..16].copy_from_slice(&2u32.to_ne_bytes());
            b[16..20].copy_from_slice(&3u32.to_ne_bytes());
        });
        assert_eq!(parse(&wake), Ok(MemEvent::KswapdWake { node: 1, zone: 2, order: 3 }));
        let sleep = record(4, |b| b[8..12].copy_from_slice(&7u32.to_ne_bytes()));
        assert_eq!(parse(&sleep), Ok(MemEvent::KswapdSleep { node: 7 }));
        let vendor = record(5, |b| {
            b[8..12].copy_from_slice(&42u32.to_ne_bytes());
            b[12..14].copy_from_slice(&(-3i16).to_ne_bytes());
        });
        assert_eq!(parse(&vendor), Ok(MemEvent::VendorKill { reason: 42, min_adj: -3 }));
        assert_eq!(parse(&record(6, |_| {})), Ok(MemEvent::UpdateZoneinfo));
        assert_eq!(parse(&record(0, |_| {})), Ok(MemEvent::Other(Kind::OomKill)));
    }

    #[test]
    fn bad_records_are_refused() {
        assert_eq!(parse(&[0u8; 80]), Err(RecordError::Length(80)));
        assert_eq!(parse(&[0u8; 96]), Err(RecordError::Length(96)));
        assert_eq!(parse(&[]), Err(RecordError::Length(0)));
        assert_eq!(parse(&record(7, |_| {})), Err(RecordError::Type(7)));
        assert_eq!(parse(&record(u64::MAX, |_| {})), Err(RecordError::Type(u64::MAX)));
    }

    #[test]
    fn pin_paths_are_aosps() {
        let p = PROGRAMS[0].pin_path(Path::new("/sys/fs/bpf"));
        assert_eq!(
            p,
            Path::new(
                "/sys/fs/bpf/memevents/prog_bpfMemEvents_tracepoint_vmscan_mm_vmscan_direct_reclaim_begin_lmkd"
            )
        );
        let required: Vec<_> = PROGRAMS.iter().filter(|p| !p.optional).map(|p| p.kind).collect();
        assert_eq!(
            required,
            [Kind::DirectReclaimBegin, Kind::DirectReclaimEnd, Kind::KswapdWake, Kind::KswapdSleep]
        );
    }
}
