//! The wire format: one command per `SOCK_SEQPACKET` message, every field a big-endian `i32`.
//!
//! Byte-compatible with AOSP's `include/lmkd.h` (commands 0–11), with the Android 16
//! framework's 5-argument `LMK_PROCPRIO` and 5-field `LMK_PROCS_PRIO` records, and with this
//! project's extension commands (codes from [`EXT_BASE`] up, which a stock client never sends).
//!
//! Decoding never panics and never allocates: it reads from the received bytes into fixed-size
//! values. Framing errors are reported as [`DecodeError`], whose `Display` text is AOSP's log
//! line for the same failure. Semantic checks (adj range, process type, pid) belong to the
//! handler, which logs them the way AOSP does.

use std::fmt;

/// `LMK_TARGET`: up to six (minfree pages, adj) pairs.
pub const LMK_TARGET: i32 = 0;
/// `LMK_PROCPRIO`: register a process or change its adj.
pub const LMK_PROCPRIO: i32 = 1;
/// `LMK_PROCREMOVE`: forget a process.
pub const LMK_PROCREMOVE: i32 = 2;
/// `LMK_PROCPURGE`: forget every process the caller registered.
pub const LMK_PROCPURGE: i32 = 3;
/// `LMK_GETKILLCNT`: number of kills in an adj range; replied to.
pub const LMK_GETKILLCNT: i32 = 4;
/// `LMK_SUBSCRIBE`: receive asynchronous events of one type.
pub const LMK_SUBSCRIBE: i32 = 5;
/// `LMK_PROCKILL`: asynchronous kill notification (daemon to client only).
pub const LMK_PROCKILL: i32 = 6;
/// `LMK_UPDATE_PROPS`: re-read the configuration; replied to.
pub const LMK_UPDATE_PROPS: i32 = 7;
/// `LMK_STAT_KILL_OCCURRED`: asynchronous kill statistics (daemon to client only).
pub const LMK_STAT_KILL_OCCURRED: i32 = 8;
/// `LMK_START_MONITORING`: start pressure monitors that were delayed until boot.
pub const LMK_START_MONITORING: i32 = 9;
/// `LMK_BOOT_COMPLETED`: boot-completed work; replied to.
pub const LMK_BOOT_COMPLETED: i32 = 10;
/// `LMK_PROCS_PRIO`: a batch of `LMK_PROCPRIO` records.
pub const LMK_PROCS_PRIO: i32 = 11;

/// First command code of this project's extensions. AOSP's codes are small and dense, so codes
/// from here up can never collide with a future AOSP command.
pub const EXT_BASE: i32 = 0x1000;

/// `LMK_ASYNC_EVENT_KILL`: subscribe to `LMK_PROCKILL`.
pub const LMK_ASYNC_EVENT_KILL: i32 = 0;
/// `LMK_ASYNC_EVENT_STAT`: subscribe to `LMK_STAT_KILL_OCCURRED`.
pub const LMK_ASYNC_EVENT_STAT: i32 = 1;

/// `PROC_TYPE_APP`: a process registered by ActivityManager.
pub const PROC_TYPE_APP: i32 = 0;
/// `PROC_TYPE_SERVICE`: a native service registered by init.
pub const PROC_TYPE_SERVICE: i32 = 1;
/// Number of process types (`PROC_TYPE_COUNT`).
pub const PROC_TYPE_COUNT: i32 = 2;

/// Most (minfree, adj) pairs in an `LMK_TARGET` (`MAX_TARGETS`).
pub const MAX_TARGETS: usize = 6;
/// AOSP's receive buffer (`CTRL_PACKET_MAX_SIZE`, 13 ints). Older lmkd truncated longer
/// packets to this size.
pub const AOSP_CTRL_PACKET_MAX_SIZE: usize = 52;
/// The largest packet of an AOSP command this daemon accepts: 16 ints, what the Android 16
/// framework sends at most (three 5-field `LMK_PROCS_PRIO` records).
pub const CTRL_PACKET_MAX_SIZE: usize = 64;
/// The receive buffer: larger than any valid command, so that an oversized packet can be
/// detected and rejected instead of silently truncated.
pub const RECV_BUFFER_SIZE: usize = 256;
/// Most records in one `LMK_PROCS_PRIO` (`PROCS_PRIO_MAX_RECORD_COUNT`): three 4-field
/// records fill AOSP's 52-byte buffer, three 5-field records the Android 16 64-byte one.
pub const PROCS_PRIO_MAX_RECORDS: usize = 3;
/// Most 5-field `LMK_PROCS_PRIO` records (the Android 16 framework's batch size).
pub const PROCS_PRIO_MAX_WIDE_RECORDS: usize = 3;
/// Size of an `LMK_PROCKILL` packet in Android 15 QPR1 and later (with `rss_kb`).
pub const PROCKILL_SIZE: usize = 16;
/// Size of the `LMK_PROCKILL` packet of Android 15.0 and older (without `rss_kb`).
pub const PROCKILL_LEGACY_SIZE: usize = 12;
/// ActivityManager's receive buffer (`LMKD_REPLY_MAX_SIZE`); no packet to a client is longer.
/// 214 since AOSP's 2025 releases (4 + 80 + 2 + 128: the command, the fixed kill-stat fields,
/// the name's length and the longest name with its NUL; it was 222): the longest
/// `LMK_STAT_KILL_OCCURRED` ([`KILL_OCCURRED_FIXED_SIZE`] bytes, then a name of
/// [`STAT_NAME_MAX`] bytes and its NUL) fills it exactly.
pub const LMKD_REPLY_MAX_SIZE: usize = 214;
/// Longest process name in `LMK_STAT_KILL_OCCURRED`, excluding the NUL.
pub const STAT_NAME_MAX: usize = 127;
/// `LMK_STAT_KILL_OCCURRED` without the name bytes and NUL (the newest `KILL_OCCURRED_MSG_SIZE`).
pub const KILL_OCCURRED_FIXED_SIZE: usize = 86;

/// A framing error: the packet is dropped, the connection stays.
///
/// `Display` gives AOSP's log line for the same condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// Shorter than one command word.
    TooShort {
        /// Bytes received.
        len: usize,
    },
    /// Not a whole number of 32-bit words (AOSP ignored the tail; this daemon refuses it).
    Misaligned {
        /// Bytes received.
        len: usize,
    },
    /// Longer than any valid packet (AOSP truncated it silently; this daemon refuses it).
    Oversized {
        /// Bytes received (as reported by the kernel, before truncation).
        len: usize,
    },
    /// The argument count does not fit the command.
    WrongLength {
        /// The command code.
        cmd: i32,
        /// Bytes received.
        len: usize,
    },
    /// A code the daemon does not know.
    UnknownCommand {
        /// The command code.
        cmd: i32,
    },
    /// A code that only the daemon sends (`LMK_PROCKILL`, `LMK_STAT_KILL_OCCURRED`).
    Unexpected {
        /// The command code.
        cmd: i32,
    },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            DecodeError::TooShort { len } => {
                write!(f, "Wrong control socket read length len={len}")
            }
            DecodeError::Misaligned { len } => {
                write!(f, "Wrong control socket read length len={len} (not a multiple of 4 bytes)")
            }
            DecodeError::Oversized { len } => {
                write!(f, "Wrong control socket read length len={len} (packet too long)")
            }
            DecodeError::WrongLength { cmd, len } => {
                write!(f, "Wrong control socket read length cmd={cmd} len={len}")
            }
            DecodeError::UnknownCommand { cmd } => write!(f, "Received unknown command code {cmd}"),
            DecodeError::Unexpected { cmd } => {
                write!(f, "Received unexpected command code {cmd} from a client")
            }
        }
    }
}

impl std::error::Error for DecodeError {}

/// The minfree table of an `LMK_TARGET`: up to [`MAX_TARGETS`] (minfree pages, adj) pairs in
/// the order received.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TargetTable {
    len: u8,
    minfree: [i32; MAX_TARGETS],
    adj: [i32; MAX_TARGETS],
}

impl TargetTable {
    /// A table from (minfree pages, adj) pairs; `None` if there are more than [`MAX_TARGETS`].
    pub fn new(pairs: &[(i32, i32)]) -> Option<Self> {
        if pairs.len() > MAX_TARGETS {
            return None;
        }
        let mut t = TargetTable::default();
        for &(minfree, adj) in pairs {
            t.push(minfree, adj);
        }
        Some(t)
    }

    fn push(&mut self, minfree: i32, adj: i32) {
        let i = usize::from(self.len);
        self.minfree[i] = minfree;
        self.adj[i] = adj;
        self.len += 1;
    }

    /// Number of pairs.
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// Whether the table has no pairs (accepted by AOSP, and ignored).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The pairs, as (minfree pages, adj), in the order received.
    pub fn pairs(&self) -> impl Iterator<Item = (i32, i32)> + '_ {
        self.minfree[..self.len()].iter().copied().zip(self.adj[..self.len()].iter().copied())
    }
}

/// One process registration (`struct lmk_procprio`, plus the Android 16 `for_lmkd_only` flag).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProcPrio {
    /// The process id.
    pub pid: i32,
    /// Its uid.
    pub uid: i32,
    /// The new `oom_score_adj`, −1000..=1000 when valid.
    pub adj: i32,
    /// [`PROC_TYPE_APP`] or [`PROC_TYPE_SERVICE`] when valid; APP when the packet omits it.
    pub ptype: i32,
    /// Update the daemon's table only; do not write `/proc/<pid>/oom_score_adj`.
    pub for_lmkd_only: bool,
}

/// Record width of an `LMK_PROCS_PRIO` packet.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RecordLayout {
    /// (pid, uid, adj, ptype): init, liblmkd_utils and Android 15 frameworks.
    #[default]
    FourFields,
    /// (pid, uid, adj, ptype, for_lmkd_only): Android 16 frameworks.
    FiveFields,
}

/// The records of an `LMK_PROCS_PRIO` packet.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProcsPrio {
    len: u8,
    layout: RecordLayout,
    records: [ProcPrio; PROCS_PRIO_MAX_RECORDS],
}

impl ProcsPrio {
    /// A batch; `None` if it is empty or has more records than the layout allows.
    pub fn new(layout: RecordLayout, records: &[ProcPrio]) -> Option<Self> {
        let max = match layout {
            RecordLayout::FourFields => PROCS_PRIO_MAX_RECORDS,
            RecordLayout::FiveFields => PROCS_PRIO_MAX_WIDE_RECORDS,
        };
        if records.is_empty() || records.len() > max {
            return None;
        }
        let mut b = ProcsPrio { len: 0, layout, records: Default::default() };
        for r in records {
            let mut r = *r;
            if layout == RecordLayout::FourFields {
                r.for_lmkd_only = false;
            }
            b.records[usize::from(b.len)] = r;
            b.len += 1;
        }
        Some(b)
    }

    /// The record layout the packet used.
    pub fn layout(&self) -> RecordLayout {
        self.layout
    }

    /// The records in packet order.
    pub fn records(&self) -> &[ProcPrio] {
        &self.records[..usize::from(self.len)]
    }
}

/// A command from a client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    /// `LMK_TARGET`.
    Target(TargetTable),
    /// `LMK_PROCPRIO`.
    ProcPrio(ProcPrio),
    /// `LMK_PROCREMOVE`.
    ProcRemove {
        /// The process to forget.
        pid: i32,
    },
    /// `LMK_PROCPURGE`.
    ProcPurge,
    /// `LMK_GETKILLCNT`.
    GetKillCnt {
        /// Lowest adj counted.
        min_adj: i32,
        /// Highest adj counted.
        max_adj: i32,
    },
    /// `LMK_SUBSCRIBE`.
    Subscribe {
        /// [`LMK_ASYNC_EVENT_KILL`] or [`LMK_ASYNC_EVENT_STAT`] when valid.
        event: i32,
    },
    /// `LMK_UPDATE_PROPS`.
    UpdateProps,
    /// `LMK_START_MONITORING`.
    StartMonitoring,
    /// `LMK_BOOT_COMPLETED`.
    BootCompleted,
    /// `LMK_PROCS_PRIO`.
    ProcsPrio(ProcsPrio),
}

/// Reads the big-endian word `i` of `buf` (the caller checked the length).
fn word(buf: &[u8], i: usize) -> i32 {
    let b = &buf[i * 4..i * 4 + 4];
    i32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

/// Checks the framing common to every packet and returns (command code, argument count).
pub fn frame(buf: &[u8]) -> Result<(i32, usize), DecodeError> {
    let len = buf.len();
    if len < 4 {
        return Err(DecodeError::TooShort { len });
    }
    if !len.is_multiple_of(4) {
        return Err(DecodeError::Misaligned { len });
    }
    Ok((word(buf, 0), len / 4 - 1))
}

fn proc_prio_at(buf: &[u8], first: usize, nfields: usize) -> ProcPrio {
    ProcPrio {
        pid: word(buf, first),
        uid: word(buf, first + 1),
        adj: word(buf, first + 2),
        ptype: if nfields >= 4 { word(buf, first + 3) } else { PROC_TYPE_APP },
        for_lmkd_only: nfields >= 5 && word(buf, first + 4) != 0,
    }
}

impl Command {
    /// Decodes one AOSP command packet (codes 0–11). Extension codes (from [`EXT_BASE`]) are
    /// [`DecodeError::UnknownCommand`] here; the server decodes them separately.
    pub fn decode(buf: &[u8]) -> Result<Command, DecodeError> {
        let (cmd, nargs) = frame(buf)?;
        let len = buf.len();
        if len > CTRL_PACKET_MAX_SIZE {
            return Err(DecodeError::Oversized { len });
        }
        let wrong = DecodeError::WrongLength { cmd, len };
        let exactly = |n: usize| if nargs == n { Ok(()) } else { Err(wrong) };
        Ok(match cmd {
            LMK_TARGET => {
                if !nargs.is_multiple_of(2) || nargs / 2 > MAX_TARGETS {
                    return Err(wrong);
                }
                let mut t = TargetTable::default();
                for i in 0..nargs / 2 {
                    t.push(word(buf, 1 + 2 * i), word(buf, 2 + 2 * i));
                }
                Command::Target(t)
            }
            LMK_PROCPRIO => {
                if !(3..=5).contains(&nargs) {
                    return Err(wrong);
                }
                Command::ProcPrio(proc_prio_at(buf, 1, nargs))
            }
            LMK_PROCREMOVE => {
                exactly(1)?;
                Command::ProcRemove { pid: word(buf, 1) }
            }
            LMK_PROCPURGE => {
                exactly(0)?;
                Command::ProcPurge
            }
            LMK_GETKILLCNT => {
                exactly(2)?;
                Command::GetKillCnt { min_adj: word(buf, 1), max_adj: word(buf, 2) }
            }
            LMK_SUBSCRIBE => {
                exactly(1)?;
                Command::Subscribe { event: word(buf, 1) }
            }
            LMK_UPDATE_PROPS => {
                exactly(0)?;
                Command::UpdateProps
            }
            LMK_START_MONITORING => {
                exactly(0)?;
                Command::StartMonitoring
            }
            LMK_BOOT_COMPLETED => {
                exactly(0)?;
                Command::BootCompleted
            }
            LMK_PROCS_PRIO => {
                // The record width is not in the packet. The rule of reference §2.9: a multiple
                // of 5 words with at most three records is the Android 16 layout, anything
                // else 4-field. Within 64 bytes the two sets of lengths never overlap.
                let (layout, width) = if nargs > 0
                    && nargs.is_multiple_of(5)
                    && nargs / 5 <= PROCS_PRIO_MAX_WIDE_RECORDS
                {
                    (RecordLayout::FiveFields, 5)
                } else if nargs >= 4 && nargs.is_multiple_of(4) {
                    (RecordLayout::FourFields, 4)
                } else {
                    return Err(wrong);
                };
                let mut b = ProcsPrio { len: 0, layout, records: Default::default() };
                for i in 0..nargs / width {
                    b.records[i] = proc_prio_at(buf, 1 + i * width, width);
                    b.len += 1;
                }
                Command::ProcsPrio(b)
            }
            LMK_PROCKILL | LMK_STAT_KILL_OCCURRED => return Err(DecodeError::Unexpected { cmd }),
            _ => return Err(DecodeError::UnknownCommand { cmd }),
        })
    }

    /// Encodes the command as a client sends it into `out` and returns the length.
    ///
    /// `LMK_PROCPRIO` is sent with its process type (20 bytes, as init and liblmkd_utils do),
    /// or with the `for_lmkd_only` word as well (24 bytes, as Android 16) when that flag is set.
    pub fn encode(&self, out: &mut [u8; CTRL_PACKET_MAX_SIZE]) -> usize {
        let mut w = Writer::new(out);
        match self {
            Command::Target(t) => {
                w.put(LMK_TARGET);
                for (minfree, adj) in t.pairs() {
                    w.put(minfree);
                    w.put(adj);
                }
            }
            Command::ProcPrio(p) => {
                w.put(LMK_PROCPRIO);
                w.put_proc_prio(p, p.for_lmkd_only);
            }
            Command::ProcRemove { pid } => {
                w.put(LMK_PROCREMOVE);
                w.put(*pid);
            }
            Command::ProcPurge => w.put(LMK_PROCPURGE),
            Command::GetKillCnt { min_adj, max_adj } => {
                w.put(LMK_GETKILLCNT);
                w.put(*min_adj);
                w.put(*max_adj);
            }
            Command::Subscribe { event } => {
                w.put(LMK_SUBSCRIBE);
                w.put(*event);
            }
            Command::UpdateProps => w.put(LMK_UPDATE_PROPS),
            Command::StartMonitoring => w.put(LMK_START_MONITORING),
            Command::BootCompleted => w.put(LMK_BOOT_COMPLETED),
            Command::ProcsPrio(b) => {
                w.put(LMK_PROCS_PRIO);
                let wide = b.layout == RecordLayout::FiveFields;
                for r in b.records() {
                    w.put_proc_prio(r, wide);
                }
            }
        }
        w.len
    }
}

/// Appends big-endian words to a fixed buffer.
struct Writer<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl<'a> Writer<'a> {
    fn new(buf: &'a mut [u8]) -> Self {
        Writer { buf, len: 0 }
    }

    fn put(&mut self, v: i32) {
        self.put_bytes(&v.to_be_bytes());
    }

    fn put_i64(&mut self, v: i64) {
        self.put_bytes(&v.to_be_bytes());
    }

    fn put_bytes(&mut self, b: &[u8]) {
        self.buf[self.len..self.len + b.len()].copy_from_slice(b);
        self.len += b.len();
    }

    fn put_proc_prio(&mut self, p: &ProcPrio, with_flag: bool) {
        self.put(p.pid);
        self.put(p.uid);
        self.put(p.adj);
        self.put(p.ptype);
        if with_flag {
            self.put(i32::from(p.for_lmkd_only));
        }
    }
}

/// An 8-byte reply `[cmd, value]` (`LMK_GETKILLCNT`, `LMK_UPDATE_PROPS`, `LMK_BOOT_COMPLETED`).
pub fn encode_reply(cmd: i32, value: i32) -> [u8; 8] {
    let mut out = [0u8; 8];
    out[..4].copy_from_slice(&cmd.to_be_bytes());
    out[4..].copy_from_slice(&value.to_be_bytes());
    out
}

/// `LMK_PROCKILL`: a process was killed (16 bytes).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProcKill {
    /// The victim's pid.
    pub pid: i32,
    /// Its uid.
    pub uid: i32,
    /// Its VmRSS before the kill, in kB. 0 in the legacy 12-byte packet.
    pub rss_kb: i32,
}

impl ProcKill {
    /// The 16-byte packet.
    pub fn encode(&self) -> [u8; PROCKILL_SIZE] {
        let mut out = [0u8; PROCKILL_SIZE];
        let mut w = Writer::new(&mut out);
        w.put(LMK_PROCKILL);
        w.put(self.pid);
        w.put(self.uid);
        w.put(self.rss_kb);
        out
    }
}

/// `LMK_STAT_KILL_OCCURRED`: what statsd's atom 51 is built from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KillStat {
    /// Minor faults of the victim (−1 when unknown).
    pub pgfault: i64,
    /// Major faults (−1 when unknown).
    pub pgmajfault: i64,
    /// Resident memory in bytes (−1 when unknown).
    pub rss_bytes: i64,
    /// Page cache charged to it in bytes (0 from procfs; −1 when unknown).
    pub cache_bytes: i64,
    /// Swapped-out memory in bytes (−1 when unknown).
    pub swap_bytes: i64,
    /// Start time since boot in ns (−1 when unknown).
    pub process_start_time_ns: i64,
    /// The victim's uid.
    pub uid: i32,
    /// The victim's adj.
    pub oom_score: i32,
    /// The lowest adj the decision allowed.
    pub min_oom_score: i32,
    /// MemFree in kB.
    pub free_mem_kb: i32,
    /// Effective free swap in kB.
    pub free_swap_kb: i32,
    /// Kill reason (`-1` = none).
    pub kill_reason: i32,
    /// Thrashing, in percent.
    pub thrashing: i32,
    /// Highest thrashing seen since the last kill, in percent.
    pub max_thrashing: i32,
    /// The process name (argv\[0\]).
    pub process_name: StatName,
}

/// A process name as `LMK_STAT_KILL_OCCURRED` carries it: at most [`STAT_NAME_MAX`] bytes that
/// Java's `DataInput.readUTF` can read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatName {
    len: u8,
    bytes: [u8; STAT_NAME_MAX],
}

impl Default for StatName {
    fn default() -> Self {
        StatName { len: 0, bytes: [0; STAT_NAME_MAX] }
    }
}

impl StatName {
    /// The name, cut to [`STAT_NAME_MAX`] bytes.
    ///
    /// ActivityManager reads the name with Java's `DataInput.readUTF`, which accepts only
    /// modified UTF-8: a cut inside a multi-byte character, a 4-byte sequence or a NUL makes
    /// it throw and lose the whole report. So the name is cut at a character boundary and
    /// anything `readUTF` cannot take is replaced with `?` (AOSP cut at 127 bytes blindly).
    /// Control characters become `?` too: the name goes into log lines, and a newline in a
    /// process's argv\[0\] must not be able to forge a line of its own.
    pub fn new(name: &[u8]) -> StatName {
        let mut out = StatName::default();
        let mut len = 0;
        let mut i = 0;
        while i < name.len() {
            let b = name[i];
            let width = match b {
                0x01..=0x7f => 1,
                0xc2..=0xdf => 2,
                0xe0..=0xef => 3,
                _ => 0,
            };
            let seq = name.get(i..i + width.max(1)).unwrap_or(&name[i..]);
            let valid = width > 0
                && seq.len() == width
                && std::str::from_utf8(seq).is_ok_and(|s| s.chars().all(|c| !c.is_control()));
            let (bytes, step): (&[u8], usize) =
                if valid { (seq, width) } else { (b"?", utf8_skip(&name[i..])) };
            if len + bytes.len() > STAT_NAME_MAX {
                break;
            }
            out.bytes[len..len + bytes.len()].copy_from_slice(bytes);
            len += bytes.len();
            i += step;
        }
        out.len = u8::try_from(len).unwrap_or(0);
        out
    }

    /// The name's bytes (valid UTF-8 without 4-byte sequences).
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

impl Default for KillStat {
    fn default() -> Self {
        KillStat {
            pgfault: -1,
            pgmajfault: -1,
            rss_bytes: -1,
            cache_bytes: -1,
            swap_bytes: -1,
            process_start_time_ns: -1,
            uid: 0,
            oom_score: 0,
            min_oom_score: 0,
            free_mem_kb: 0,
            free_swap_kb: 0,
            kill_reason: -1,
            thrashing: 0,
            max_thrashing: 0,
            process_name: StatName::default(),
        }
    }
}

impl KillStat {
    /// Sets the process name (see [`StatName::new`]).
    pub fn set_name(&mut self, name: &[u8]) {
        self.process_name = StatName::new(name);
    }

    /// The (sanitised) process name.
    pub fn name(&self) -> &[u8] {
        self.process_name.as_bytes()
    }

    /// Encodes the packet into `out` and returns its length (87 + name length).
    pub fn encode(&self, out: &mut [u8; LMKD_REPLY_MAX_SIZE]) -> usize {
        let mut w = Writer::new(out);
        w.put(LMK_STAT_KILL_OCCURRED);
        w.put_i64(self.pgfault);
        w.put_i64(self.pgmajfault);
        w.put_i64(self.rss_bytes);
        w.put_i64(self.cache_bytes);
        w.put_i64(self.swap_bytes);
        w.put_i64(self.process_start_time_ns);
        w.put(self.uid);
        w.put(self.oom_score);
        w.put(self.min_oom_score);
        w.put(self.free_mem_kb);
        w.put(self.free_swap_kb);
        w.put(self.kill_reason);
        w.put(self.thrashing);
        w.put(self.max_thrashing);
        w.put_bytes(&u16::from(self.process_name.len).to_be_bytes());
        w.put_bytes(self.name());
        w.put_bytes(&[0]);
        w.len
    }

    /// Decodes a packet as ActivityManager's `LmkdStatsReporter` does.
    pub fn decode(buf: &[u8]) -> Option<KillStat> {
        if buf.len() < KILL_OCCURRED_FIXED_SIZE || word(buf, 0) != LMK_STAT_KILL_OCCURRED {
            return None;
        }
        let i64_at = |off: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&buf[off..off + 8]);
            i64::from_be_bytes(b)
        };
        let i32_at =
            |off: usize| i32::from_be_bytes([buf[off], buf[off + 1], buf[off + 2], buf[off + 3]]);
        let name_len = usize::from(u16::from_be_bytes([buf[84], buf[85]]));
        let name = buf.get(86..86 + name_len)?;
        let mut s = KillStat {
            pgfault: i64_at(4),
            pgmajfault: i64_at(12),
            rss_bytes: i64_at(20),
            cache_bytes: i64_at(28),
            swap_bytes: i64_at(36),
            process_start_time_ns: i64_at(44),
            uid: i32_at(52),
            oom_score: i32_at(56),
            min_oom_score: i32_at(60),
            free_mem_kb: i32_at(64),
            free_swap_kb: i32_at(68),
            kill_reason: i32_at(72),
            thrashing: i32_at(76),
            max_thrashing: i32_at(80),
            ..KillStat::default()
        };
        if name.len() > STAT_NAME_MAX {
            return None;
        }
        s.process_name.bytes[..name.len()].copy_from_slice(name);
        s.process_name.len = u8::try_from(name.len()).ok()?;
        Some(s)
    }
}

/// Length of the (possibly invalid) UTF-8 sequence at the start of `b`, at least 1.
fn utf8_skip(b: &[u8]) -> usize {
    let lead = b[0];
    let want = match lead {
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf7 => 4,
        _ => return 1,
    };
    let mut n = 1;
    while n < want && n < b.len() && (b[n] & 0xc0) == 0x80 {
        n += 1;
    }
    n
}

/// A message a client receives from the daemon.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServerMessage {
    /// `[4, count]`.
    KillCount(i32),
    /// `[7, result]`: 0 = ok, −1 = failed.
    UpdateProps(i32),
    /// `[10, result]`: 0 = done, 1 = already done, −1 = boot not completed.
    BootCompleted(i32),
    /// `LMK_PROCKILL` (16 bytes, or 12 from an Android 15.0-era daemon).
    ProcKill(ProcKill),
    /// `LMK_STAT_KILL_OCCURRED`.
    KillStat(KillStat),
    /// Any other packet, by command code (extension replies are decoded by their callers).
    Other(i32),
}

impl ServerMessage {
    /// Decodes a packet received from the daemon; `None` if it is malformed.
    pub fn decode(buf: &[u8]) -> Option<ServerMessage> {
        if buf.len() < 4 {
            return None;
        }
        let cmd = word(buf, 0);
        Some(match (cmd, buf.len()) {
            (LMK_GETKILLCNT, 8) => ServerMessage::KillCount(word(buf, 1)),
            (LMK_UPDATE_PROPS, 8) => ServerMessage::UpdateProps(word(buf, 1)),
            (LMK_BOOT_COMPLETED, 8) => ServerMessage::BootCompleted(word(buf, 1)),
            (LMK_PROCKILL, PROCKILL_SIZE) => ServerMessage::ProcKill(ProcKill {
                pid: word(buf, 1),
                uid: word(buf, 2),
                rss_kb: word(buf, 3),
            }),
            (LMK_PROCKILL, PROCKILL_LEGACY_SIZE) => ServerMessage::ProcKill(ProcKill {
                pid: word(buf, 1),
                uid: word(buf, 2),
                rss_kb: 0,
            }),
            (LMK_STAT_KILL_OCCURRED, _) => ServerMessage::KillStat(KillStat::decode(buf)?),
            (LMK_GETKILLCNT | LMK_UPDATE_PROPS | LMK_BOOT_COMPLETED | LMK_PROCKILL, _) => {
                return None
            }
            (other, _) => ServerMessage::Other(other),
        })
    }
}
