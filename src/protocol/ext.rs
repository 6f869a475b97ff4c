//! This project's protocol extensions (codes from [`EXT_BASE`] up).
//!
//! A stock client never sends these codes, so they can never change what AOSP's clients see.
//! Requests use AOSP's framing (big-endian `i32` words); a reply that does not fit one packet
//! is split into chunks that each carry the total, their offset and their count.

use super::codec::{frame, DecodeError, EXT_BASE};

/// `LMK_EXT_PROCS`: list the registered processes, in kill order (adj from 1000 down, and
/// within an adj from the least recently updated). Request: `[code]`. Reply: one or more
/// packets `[code, total, offset, count, count × (pid, uid, adj, ptype, owner)]`; an empty
/// table is one packet with total 0.
pub const LMK_EXT_PROCS: i32 = EXT_BASE + 1;

/// `LMK_EXT_KILL_HISTORY`: the kill history, oldest first. Request: `[code]`. Reply: one or
/// more packets `[code, total, offset, count, count × record]` (see
/// [`crate::report::history`] for the record layout).
pub const LMK_EXT_KILL_HISTORY: i32 = EXT_BASE + 2;

/// `LMK_EXT_KILL`: kill one process the client registered, through the daemon's pipeline
/// (pidfd SIGKILL, then `process_mrelease` by a reaper). Request: `[code, pid, uid, reason]`,
/// where `reason` is the client's own code (kept in the kill history). Reply:
/// `[code, pid, result]` with `result` one of the `KILL_*` values.
pub const LMK_EXT_KILL: i32 = EXT_BASE + 3;

/// `LMK_EXT_KILL` result: SIGKILL was delivered.
pub const KILL_SENT: i32 = 0;
/// `LMK_EXT_KILL` result: no such registered process.
pub const KILL_NOT_REGISTERED: i32 = -1;
/// `LMK_EXT_KILL` result: the process was registered by another client that is still
/// connected: only the registering client may ask for its kill. (A record whose client left is
/// claimed by the asking client, as `LMK_PROCPRIO` claims it, and then killed.)
pub const KILL_NOT_OWNER: i32 = -2;
/// `LMK_EXT_KILL` result: the uid does not match the registration.
pub const KILL_UID_MISMATCH: i32 = -3;
/// `LMK_EXT_KILL` result: the process had already exited (its record is dropped).
pub const KILL_GONE: i32 = -4;
/// `LMK_EXT_KILL` result: the kernel refused the signal.
pub const KILL_FAILED: i32 = -5;

/// `LMK_EXT_STATUS`: the status report (`lmkctl status`, `dumpsys lmkd`). Request:
/// `[code, format]` with format 0 = text, 1 = JSON. Reply: one or more packets
/// `[code, total bytes, offset, count, count bytes of UTF-8]`.
pub const LMK_EXT_STATUS: i32 = EXT_BASE + 4;

/// `LMK_EXT_TEST_STALL`: test-only, honoured only by a daemon started with `--test-hooks`
/// (otherwise logged and ignored): the handler sleeps for the given milliseconds, as a stuck
/// kernel call would, so that tests can prove the watchdog. Request: `[code, ms]`; no reply.
pub const LMK_EXT_TEST_STALL: i32 = EXT_BASE + 0xff;

/// `LMK_EXT_TEST_PANIC`: test-only, honoured only with `--test-hooks`: the handler panics, so
/// that tests can see the panic hook log before the daemon dies. Request: `[code]`.
pub const LMK_EXT_TEST_PANIC: i32 = EXT_BASE + 0xfe;

/// `LMK_EXT_TEST_FAULTS`: test-only, honoured only with `--test-hooks`: replaces the armed
/// faults (see [`crate::fault`]). Request: `[code]` followed by the specification in UTF-8,
/// padded with NULs to a multiple of 4 bytes (at most [`FAULT_SPEC_MAX`]); no reply.
pub const LMK_EXT_TEST_FAULTS: i32 = EXT_BASE + 0xfd;

/// `LMK_EXT_TEST_PRESSURE`: test-only, honoured only with `--test-hooks`: a pressure event at
/// a level (0 low, 1 medium, 2 critical) arrives as the running monitors would deliver it (a
/// vmpressure eventfd is signalled; a PSI wake-up is dispatched). Request: `[code, level]`.
pub const LMK_EXT_TEST_PRESSURE: i32 = EXT_BASE + 0xfc;

/// Longest fault specification `LMK_EXT_TEST_FAULTS` carries.
pub const FAULT_SPEC_MAX: usize = 240;

/// Bytes of text per `LMK_EXT_STATUS` reply packet.
pub const STATUS_CHUNK: usize = 16 * 1024;

/// Words per record in an `LMK_EXT_PROCS` reply.
pub const PROCS_RECORD_WORDS: usize = 5;
/// Records per `LMK_EXT_PROCS` reply packet.
pub const PROCS_PER_PACKET: usize = 256;

/// An extension request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExtCommand {
    /// `LMK_EXT_PROCS`.
    Procs,
    /// `LMK_EXT_KILL_HISTORY`.
    KillHistory,
    /// `LMK_EXT_STATUS`.
    Status {
        /// JSON instead of text.
        json: bool,
    },
    /// `LMK_EXT_KILL`.
    Kill {
        /// The process.
        pid: i32,
        /// Its uid, as registered.
        uid: i32,
        /// The client's reason code.
        reason: i32,
    },
    /// `LMK_EXT_TEST_STALL`.
    TestStall {
        /// How long the handler sleeps, in ms.
        ms: i32,
    },
    /// `LMK_EXT_TEST_PANIC`.
    TestPanic,
    /// `LMK_EXT_TEST_FAULTS`: the specification.
    TestFaults(Box<str>),
    /// `LMK_EXT_TEST_PRESSURE`.
    TestPressure {
        /// 0 low, 1 medium, 2 critical.
        level: i32,
    },
}

impl ExtCommand {
    /// `LMK_EXT_TEST_FAULTS` with `spec`; `None` when it is too long or holds a NUL.
    pub fn test_faults(spec: &str) -> Option<ExtCommand> {
        (spec.len() <= FAULT_SPEC_MAX && !spec.contains('\0'))
            .then(|| ExtCommand::TestFaults(spec.into()))
    }

    /// Decodes an extension request; codes below [`EXT_BASE`] are not extensions.
    pub fn decode(buf: &[u8]) -> Result<ExtCommand, DecodeError> {
        let (cmd, nargs) = frame(buf)?;
        let len = buf.len();
        let word = |i: usize| {
            i32::from_be_bytes([buf[i * 4], buf[i * 4 + 1], buf[i * 4 + 2], buf[i * 4 + 3]])
        };
        match (cmd, nargs) {
            (LMK_EXT_PROCS, 0) => Ok(ExtCommand::Procs),
            (LMK_EXT_KILL_HISTORY, 0) => Ok(ExtCommand::KillHistory),
            (LMK_EXT_KILL, 3) => {
                Ok(ExtCommand::Kill { pid: word(1), uid: word(2), reason: word(3) })
            }
            (LMK_EXT_STATUS, 1) => Ok(ExtCommand::Status { json: word(1) == 1 }),
            (LMK_EXT_TEST_STALL, 1) => Ok(ExtCommand::TestStall { ms: word(1) }),
            (LMK_EXT_TEST_PANIC, 0) => Ok(ExtCommand::TestPanic),
            (LMK_EXT_TEST_PRESSURE, 1) => Ok(ExtCommand::TestPressure { level: word(1) }),
            (LMK_EXT_TEST_FAULTS, _) => {
                let text = &buf[4..];
                let end = text.iter().position(|&b| b == 0).unwrap_or(text.len());
                let spec = std::str::from_utf8(&text[..end])
                    .ok()
                    .filter(|_| end <= FAULT_SPEC_MAX && text[end..].iter().all(|&b| b == 0));
                match spec {
                    Some(s) => Ok(ExtCommand::TestFaults(s.into())),
                    None => Err(DecodeError::WrongLength { cmd, len }),
                }
            }
            (
                LMK_EXT_PROCS
                | LMK_EXT_KILL_HISTORY
                | LMK_EXT_KILL
                | LMK_EXT_STATUS
                | LMK_EXT_TEST_STALL
                | LMK_EXT_TEST_PANIC
                | LMK_EXT_TEST_PRESSURE,
                _,
            ) => Err(DecodeError::WrongLength { cmd, len }),
            _ => Err(DecodeError::UnknownCommand { cmd }),
        }
    }

    /// The request packet.
    pub fn encode(&self) -> Vec<u8> {
        let words: Vec<i32> = match *self {
            ExtCommand::Procs => vec![LMK_EXT_PROCS],
            ExtCommand::KillHistory => vec![LMK_EXT_KILL_HISTORY],
            ExtCommand::Kill { pid, uid, reason } => vec![LMK_EXT_KILL, pid, uid, reason],
            ExtCommand::Status { json } => vec![LMK_EXT_STATUS, i32::from(json)],
            ExtCommand::TestStall { ms } => vec![LMK_EXT_TEST_STALL, ms],
            ExtCommand::TestPanic => vec![LMK_EXT_TEST_PANIC],
            ExtCommand::TestPressure { level } => vec![LMK_EXT_TEST_PRESSURE, level],
            ExtCommand::TestFaults(ref spec) => {
                let mut p = LMK_EXT_TEST_FAULTS.to_be_bytes().to_vec();
                p.extend_from_slice(spec.as_bytes());
                p.resize(p.len().next_multiple_of(4), 0);
                return p;
            }
        };
        words.iter().flat_map(|w| w.to_be_bytes()).collect()
    }
}

/// One registered process as `LMK_EXT_PROCS` reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProcEntry {
    /// Process id.
    pub pid: i32,
    /// Its uid.
    pub uid: i32,
    /// The adj it is filed under.
    pub adj: i32,
    /// Process type.
    pub ptype: i32,
    /// Pid of the registering client; 0 when that client disconnected.
    pub owner: i32,
}

/// A length, count or offset as a reply word (they are bounded far below `i32::MAX`; a larger
/// one saturates rather than wrapping).
pub fn len_word(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// Splits `entries` into `LMK_EXT_PROCS` reply packets.
pub fn encode_procs_reply(entries: &[ProcEntry]) -> Vec<Vec<u8>> {
    let total = len_word(entries.len());
    let mut packets = Vec::new();
    let mut offset = 0usize;
    loop {
        let chunk = &entries[offset..(offset + PROCS_PER_PACKET).min(entries.len())];
        let mut p = Vec::with_capacity(16 + chunk.len() * PROCS_RECORD_WORDS * 4);
        for w in [LMK_EXT_PROCS, total, len_word(offset), len_word(chunk.len())] {
            p.extend_from_slice(&w.to_be_bytes());
        }
        for e in chunk {
            for w in [e.pid, e.uid, e.adj, e.ptype, e.owner] {
                p.extend_from_slice(&w.to_be_bytes());
            }
        }
        packets.push(p);
        offset += chunk.len();
        if offset >= entries.len() {
            return packets;
        }
    }
}

/// Splits a text into `LMK_EXT_STATUS` reply packets (cut at character boundaries).
pub fn encode_text_reply(text: &str) -> Vec<Vec<u8>> {
    let bytes = text.as_bytes();
    let total = len_word(bytes.len());
    let mut packets = Vec::new();
    let mut offset = 0;
    loop {
        let mut end = (offset + STATUS_CHUNK).min(bytes.len());
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let chunk = &bytes[offset..end];
        let mut p = Vec::with_capacity(16 + chunk.len());
        for w in [LMK_EXT_STATUS, total, len_word(offset), len_word(chunk.len())] {
            p.extend_from_slice(&w.to_be_bytes());
        }
        p.extend_from_slice(chunk);
        packets.push(p);
        offset = end;
        if offset >= bytes.len() {
            return packets;
        }
    }
}

/// One decoded `LMK_EXT_STATUS` reply packet: (total, offset, bytes).
pub fn decode_text_reply(buf: &[u8]) -> Option<(usize, usize, Vec<u8>)> {
    if buf.len() < 16 {
        return None;
    }
    let w =
        |i: usize| i32::from_be_bytes([buf[i * 4], buf[i * 4 + 1], buf[i * 4 + 2], buf[i * 4 + 3]]);
    if w(0) != LMK_EXT_STATUS {
        return None;
    }
    let (total, offset, count) =
        (usize::try_from(w(1)).ok()?, usize::try_from(w(2)).ok()?, usize::try_from(w(3)).ok()?);
    (buf.len() == 16 + count).then(|| (total, offset, buf[16..].to_vec()))
}

/// One decoded `LMK_EXT_PROCS` reply packet: (total, offset, entries).
pub fn decode_procs_reply(buf: &[u8]) -> Option<(usize, usize, Vec<ProcEntry>)> {
    let words: Vec<i32> =
        buf.chunks_exact(4).map(|w| i32::from_be_bytes([w[0], w[1], w[2], w[3]])).collect();
    if !buf.len().is_multiple_of(4) || words.len() < 4 || words[0] != LMK_EXT_PROCS {
        return None;
    }
    let total = usize::try_from(words[1]).ok()?;
    let offset = usize::try_from(words[2]).ok()?;
    let count = usize::try_from(words[3]).ok()?;
    if words.len() != 4 + count * PROCS_RECORD_WORDS {
        return None;
    }
    let entries = words[4..]
        .chunks_exact(PROCS_RECORD_WORDS)
        .map(|r| ProcEntry { pid: r[0], uid: r[1], adj: r[2], ptype: r[3], owner: r[4] })
        .collect();
    Some((total, offset, entries))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn procs_reply_chunks_and_reassembles() {
        let entries: Vec<ProcEntry> = (0..600)
            .map(|i| ProcEntry { pid: 100 + i, uid: 10_000 + i, adj: 900, ptype: 0, owner: 5 })
            .collect();
        let packets = encode_procs_reply(&entries);
        assert_eq!(packets.len(), 3);
        let mut back = Vec::new();
        for p in &packets {
            let (total, offset, chunk) = decode_procs_reply(p).unwrap();
            assert_eq!((total, offset), (600, back.len()));
            back.extend(chunk);
        }
        assert_eq!(back, entries);
        let empty = encode_procs_reply(&[]);
        assert_eq!(empty.len(), 1);
        assert_eq!(decode_procs_reply(&empty[0]), Some((0, 0, vec![])));
    }

    #[test]
    fn status_text_is_chunked_at_character_boundaries() {
        let text = "é".repeat(STATUS_CHUNK); // 2 bytes each: several chunks, odd boundaries
        let packets = encode_text_reply(&text);
        assert!(packets.len() >= 2);
        let mut back = Vec::new();
        for p in &packets {
            let (total, offset, bytes) = decode_text_reply(p).unwrap();
            assert_eq!((total, offset), (text.len(), back.len()));
            assert!(std::str::from_utf8(&bytes).is_ok());
            back.extend(bytes);
        }
        assert_eq!(back, text.as_bytes());
        assert_eq!(decode_text_reply(&encode_text_reply("")[0]), Some((0, 0, vec![])));
    }

    #[test]
    fn requests_decode() {
        for c in [
            ExtCommand::Procs,
            ExtCommand::KillHistory,
            ExtCommand::Kill { pid: 5, uid: 10_001, reason: -3 },
            ExtCommand::Status { json: true },
            ExtCommand::Status { json: false },
            ExtCommand::TestStall { ms: 2500 },
            ExtCommand::TestPanic,
            ExtCommand::TestPressure { level: 2 },
            ExtCommand::test_faults("read@meminfo=ENOENT*1").unwrap(),
            ExtCommand::test_faults("").unwrap(),
        ] {
            assert_eq!(ExtCommand::decode(&c.encode()), Ok(c));
        }
        assert_eq!(
            ExtCommand::Kill { pid: 5, uid: 6, reason: 7 }.encode(),
            [0, 0, 0x10, 0x03, 0, 0, 0, 5, 0, 0, 0, 6, 0, 0, 0, 7]
        );
        assert!(matches!(
            ExtCommand::decode(&ExtCommand::Procs.encode()[..]),
            Ok(ExtCommand::Procs)
        ));
        let mut short_kill = ExtCommand::Kill { pid: 1, uid: 2, reason: 3 }.encode();
        short_kill.truncate(12);
        assert!(matches!(ExtCommand::decode(&short_kill), Err(DecodeError::WrongLength { .. })));
        let mut long = ExtCommand::Procs.encode();
        long.extend_from_slice(&[0; 4]);
        assert!(matches!(ExtCommand::decode(&long), Err(DecodeError::WrongLength { .. })));
        assert!(matches!(
            ExtCommand::decode(&[0x10, 0, 0, 0]),
            Err(DecodeError::UnknownCommand { .. })
        ));
    }
}
