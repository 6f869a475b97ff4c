//! The kill history: a bounded ring of structured kill records, and its wire form
//! (`LMK_EXT_KILL_HISTORY`).
//!
//! The ring is allocated once at start-up (`ro.lmk.kill_history_size` records); adding a
//! record and completing it when the reaper reports never allocate.
//!
//! # Wire layout of a record ([`RECORD_WIRE_SIZE`] bytes, big-endian)
//!
//! | bytes | field |
//! |---|---|
//! | 0–99 | 25 words: seq (2 words, high first), time_ms (2), uptime_ms (2), pid, uid, adj, min_adj, reason, requested_by, client_reason, rss_kb, swap_kb, free_before_kb, freed_kb, reap_us, death_us, wake_to_kill_us, cpu, reap outcome code, its errno, name length, reason length |
//! | 100–163 | the name, NUL-padded ([`NAME_BYTES`]) |
//! | 164–271 | the reason text, NUL-padded ([`REASON_TEXT_BYTES`]) |
//! | 272–283 | the extension: `0x01000000 \| group kill code` ([`GroupKill::code`]), group_procs, max_thrashing |
//!
//! The first layout had a 120-byte reason field (164–283) and no extension. Its decoders read
//! only `reason length` bytes of that field, and this daemon never writes a reason longer than
//! [`REASON_TEXT_BYTES`], so they decode these records unchanged and ignore the extension;
//! records of such a daemon (a zero first extension word, or a reason longer than
//! [`REASON_TEXT_BYTES`]) decode here with the group kill unknown and max_thrashing −1.

use super::clamp_i32;
use crate::kill::{FixedText, KillContext, KillReason, ReasonText, Victim};
use crate::protocol::ext::{len_word, LMK_EXT_KILL_HISTORY};
use crate::reaper::group::GroupKill;
use crate::reaper::ReapOutcome;

/// Bytes of the process name kept per record.
pub const NAME_BYTES: usize = 64;
/// Bytes of the reason field on the wire: the reason text, then the extension words.
pub const REASON_BYTES: usize = 120;
/// Bytes of the reason text kept per record (the rest of the reason field holds the
/// extension).
pub const REASON_TEXT_BYTES: usize = REASON_BYTES - EXT_WORDS * 4;
/// Words of the extension at the end of the reason field.
const EXT_WORDS: usize = 3;
/// The high byte of the first extension word: the extension is there.
const EXT_TAG: i32 = 0x0100_0000;
/// Fixed words per record on the wire, before the two text fields.
const RECORD_WORDS: usize = 25;
/// Bytes per record on the wire.
pub const RECORD_WIRE_SIZE: usize = RECORD_WORDS * 4 + NAME_BYTES + REASON_BYTES;
/// Records per `LMK_EXT_KILL_HISTORY` reply packet.
pub const RECORDS_PER_PACKET: usize = 32;

/// One kill.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KillRecord {
    /// Sequence number of the kill (1, 2, ...), unique for the daemon's lifetime.
    pub seq: u64,
    /// Wall-clock time of the kill, ms since the Unix epoch.
    pub time_ms: i64,
    /// Monotonic time of the kill, ms since the daemon started.
    pub uptime_ms: i64,
    /// Victim pid.
    pub pid: i32,
    /// Victim uid.
    pub uid: i32,
    /// Victim adj.
    pub adj: i32,
    /// The lowest adj the decision allowed.
    pub min_adj: i32,
    /// AOSP reason code (−1: none).
    pub reason: i32,
    /// Pid of the client that requested the kill (0: the daemon's own decision).
    pub requested_by: i32,
    /// The requesting client's reason code.
    pub client_reason: i32,
    /// VmRSS before the kill, kB.
    pub rss_kb: i64,
    /// VmSwap before the kill, kB.
    pub swap_kb: i64,
    /// Free memory before the kill, kB (−1: unknown).
    pub free_before_kb: i64,
    /// Memory given back: free memory after the reap (or the death) minus before, kB (−1:
    /// not known yet). A system-wide difference, so other activity blurs it.
    pub freed_kb: i64,
    /// SIGKILL → `process_mrelease` returned, µs (−1: not reaped, or pending).
    pub reap_us: i64,
    /// SIGKILL → the pidfd reported death, µs (−1: not yet).
    pub death_us: i64,
    /// The pressure wake-up that decided the kill → SIGKILL, µs (−1: a requested kill).
    pub wake_to_kill_us: i64,
    /// CPU the reaper ran on (−1: none).
    pub cpu: i32,
    /// The reap outcome; `None` while pending.
    pub outcome: Option<ReapOutcome>,
    /// How the victim's process group was killed ([`GroupKill::Unknown`] until the signal).
    pub group: GroupKill,
    /// Processes in the victim's own group when it was resolved, the victim included (0 when
    /// the victim died alone).
    pub group_procs: i32,
    /// The highest thrashing (% of the file LRU) since the previous kill, as the decision saw
    /// it; −1 for kills without a pressure decision's information (requested, old-strategy and
    /// watchdog kills), as in AOSP's trace event.
    pub max_thrashing: i64,
    /// Process name.
    pub name: FixedText<NAME_BYTES>,
    /// The reason text of the kill line (cut at [`REASON_TEXT_BYTES`]).
    pub reason_text: FixedText<REASON_TEXT_BYTES>,
}

impl KillRecord {
    /// A new record for a kill just sent.
    pub fn new(
        seq: u64,
        time_ms: i64,
        uptime_ms: i64,
        v: &Victim,
        ctx: &KillContext,
        free_before_kb: Option<i64>,
    ) -> KillRecord {
        let reason_text: &ReasonText = &ctx.reason_text;
        KillRecord {
            seq,
            time_ms,
            uptime_ms,
            pid: v.pid,
            uid: v.uid,
            adj: v.adj,
            min_adj: ctx.min_adj,
            reason: ctx.reason.code(),
            requested_by: ctx.requested_by,
            client_reason: ctx.client_reason,
            rss_kb: v.rss_kb,
            swap_kb: v.swap_kb,
            free_before_kb: free_before_kb.unwrap_or(-1),
            freed_kb: -1,
            reap_us: -1,
            death_us: -1,
            wake_to_kill_us: -1,
            cpu: -1,
            outcome: None,
            group: GroupKill::Unknown,
            group_procs: 0,
            max_thrashing: if ctx.reason == KillReason::None { -1 } else { ctx.max_thrashing },
            name: FixedText::from_bytes(v.name.as_bytes()),
            reason_text: FixedText::format(format_args!("{reason_text}")),
        }
    }

    /// Records the free memory after the kill took effect.
    pub fn set_free_after(&mut self, free_after_kb: Option<i64>) {
        if let (Some(after), true) = (free_after_kb, self.free_before_kb >= 0) {
            self.freed_kb = (after - self.free_before_kb).max(0);
        }
    }

    fn encode(&self, out: &mut Vec<u8>) {
        let (code, errno) = self.outcome.map_or((0, 0), |o| o.code());
        let [seq_hi, seq_lo] = halves(self.seq.to_be_bytes());
        let [time_hi, time_lo] = halves(self.time_ms.to_be_bytes());
        let [up_hi, up_lo] = halves(self.uptime_ms.to_be_bytes());
        let words: [i32; RECORD_WORDS] = [
            seq_hi,
            seq_lo,
            time_hi,
            time_lo,
            up_hi,
            up_lo,
            self.pid,
            self.uid,
            self.adj,
            self.min_adj,
            self.reason,
            self.requested_by,
            self.client_reason,
            clamp_i32(self.rss_kb),
            clamp_i32(self.swap_kb),
            clamp_i32(self.free_before_kb),
            clamp_i32(self.freed_kb),
            clamp_i32(self.reap_us),
            clamp_i32(self.death_us),
            clamp_i32(self.wake_to_kill_us),
            self.cpu,
            code,
            errno,
            len_word(self.name.as_str().len()),
            len_word(self.reason_text.as_str().len()),
        ];
        for w in words {
            out.extend_from_slice(&w.to_be_bytes());
        }
        let mut name = [0u8; NAME_BYTES];
        name[..self.name.as_str().len()].copy_from_slice(self.name.as_str().as_bytes());
        out.extend_from_slice(&name);
        let mut reason = [0u8; REASON_BYTES];
        reason[..self.reason_text.as_str().len()]
            .copy_from_slice(self.reason_text.as_str().as_bytes());
        let ext = [EXT_TAG | self.group.code(), self.group_procs, clamp_i32(self.max_thrashing)];
        for (i, w) in ext.iter().enumerate() {
            let at = REASON_TEXT_BYTES + i * 4;
            reason[at..at + 4].copy_from_slice(&w.to_be_bytes());
        }
        out.extend_from_slice(&reason);
    }

    fn decode(b: &[u8]) -> Option<KillRecord> {
        if b.len() != RECORD_WIRE_SIZE {
            return None;
        }
        let w = |i: usize| i32::from_be_bytes([b[i * 4], b[i * 4 + 1], b[i * 4 + 2], b[i * 4 + 3]]);
        let wide = |i: usize| {
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(&b[i * 4..i * 4 + 8]);
            bytes
        };
        let name_len = usize::try_from(w(23)).ok().filter(|&l| l <= NAME_BYTES)?;
        let reason_len = usize::try_from(w(24)).ok().filter(|&l| l <= REASON_BYTES)?;
        let name_off = RECORD_WORDS * 4;
        let reason_off = name_off + NAME_BYTES;
        // The extension, when the reason text leaves room for it and it is tagged.
        let ext_off = (reason_off + REASON_TEXT_BYTES) / 4;
        let (group, group_procs, max_thrashing) =
            if reason_len <= REASON_TEXT_BYTES && (w(ext_off) & !0xff_ffff) == EXT_TAG {
                (GroupKill::from_code(w(ext_off) & 0xff_ffff), w(ext_off + 1), w(ext_off + 2))
            } else {
                (GroupKill::Unknown, 0, -1)
            };
        let outcome = match w(21) {
            0 => None,
            c => Some(ReapOutcome::from_code(c, w(22))?),
        };
        Some(KillRecord {
            seq: u64::from_be_bytes(wide(0)),
            time_ms: i64::from_be_bytes(wide(2)),
            uptime_ms: i64::from_be_bytes(wide(4)),
            pid: w(6),
            uid: w(7),
            adj: w(8),
            min_adj: w(9),
            reason: w(10),
            requested_by: w(11),
            client_reason: w(12),
            rss_kb: i64::from(w(13)),
            swap_kb: i64::from(w(14)),
            free_before_kb: i64::from(w(15)),
            freed_kb: i64::from(w(16)),
            reap_us: i64::from(w(17)),
            death_us: i64::from(w(18)),
            wake_to_kill_us: i64::from(w(19)),
            cpu: w(20),
            outcome,
            group,
            group_procs,
            max_thrashing: i64::from(max_thrashing),
            name: FixedText::from_bytes(&b[name_off..name_off + name_len]),
            reason_text: FixedText::from_bytes(&b[reason_off..reason_off + reason_len]),
        })
    }
}

/// A 64-bit field's big-endian bytes as two wire words, high first.
fn halves(b: [u8; 8]) -> [i32; 2] {
    [i32::from_be_bytes([b[0], b[1], b[2], b[3]]), i32::from_be_bytes([b[4], b[5], b[6], b[7]])]
}

/// The ring.
#[derive(Debug)]
pub struct KillHistory {
    ring: Vec<KillRecord>,
    capacity: usize,
    next: usize,
}

impl KillHistory {
    /// A ring of `capacity` records, allocated now.
    pub fn new(capacity: usize) -> KillHistory {
        KillHistory { ring: Vec::with_capacity(capacity), capacity, next: 0 }
    }

    /// How many records it keeps.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Adds a record, replacing the oldest when full.
    pub fn push(&mut self, r: KillRecord) {
        if self.capacity == 0 {
            return;
        }
        if self.ring.len() < self.capacity {
            self.ring.push(r);
        } else {
            self.ring[self.next] = r;
        }
        self.next = (self.next + 1) % self.capacity;
    }

    /// The record of kill `seq`, if still kept.
    pub fn get_mut(&mut self, seq: u64) -> Option<&mut KillRecord> {
        self.ring.iter_mut().rev().find(|r| r.seq == seq)
    }

    /// Records from the oldest to the newest.
    pub fn iter(&self) -> impl Iterator<Item = &KillRecord> + '_ {
        let split = if self.ring.len() < self.capacity { 0 } else { self.next };
        self.ring[split..].iter().chain(self.ring[..split].iter())
    }

    /// Number of records kept.
    pub fn len(&self) -> usize {
        self.ring.len()
    }

    /// Whether no kill was recorded yet.
    pub fn is_empty(&self) -> bool {
        self.ring.is_empty()
    }
}

/// Splits the history into `LMK_EXT_KILL_HISTORY` reply packets:
/// `[code, total, offset, count, count × record]`, oldest first.
pub fn encode_history(h: &KillHistory) -> Vec<Vec<u8>> {
    let records: Vec<&KillRecord> = h.iter().collect();
    let total = records.len();
    let mut packets = Vec::new();
    let mut offset = 0;
    loop {
        let chunk = &records[offset..(offset + RECORDS_PER_PACKET).min(total)];
        let mut p = Vec::with_capacity(16 + chunk.len() * RECORD_WIRE_SIZE);
        for w in [LMK_EXT_KILL_HISTORY, len_word(total), len_word(offset), len_word(chunk.len())] {
            p.extend_from_slice(&w.to_be_bytes());
        }
        for r in chunk {
            r.encode(&mut p);
        }
        packets.push(p);
        offset += chunk.len();
        if offset >= total {
            return packets;
        }
    }
}

/// Decodes one reply packet: (total, offset, records).
pub fn decode_history(b: &[u8]) -> Option<(usize, usize, Vec<KillRecord>)> {
    if b.len() < 16 {
        return None;
    }
    let w = |i: usize| i32::from_be_bytes([b[i * 4], b[i * 4 + 1], b[i * 4 + 2], b[i * 4 + 3]]);
    if w(0) != LMK_EXT_KILL_HISTORY {
        return None;
    }
    let (total, offset, count) =
        (usize::try_from(w(1)).ok()?, usize::try_from(w(2)).ok()?, usize::try_from(w(3)).ok()?);
    if b.len() != 16 + count * RECORD_WIRE_SIZE {
        return None;
    }
    let records = b[16..]
        .chunks_exact(RECORD_WIRE_SIZE)
        .map(KillRecord::decode)
        .collect::<Option<Vec<_>>>()?;
    Some((total, offset, records))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::StatName;

    fn record(seq: u64) -> KillRecord {
        let v = Victim {
            pid: 100 + seq as i32,
            uid: 10_000,
            adj: 900,
            name: StatName::new(b"com.example"),
            rss_kb: 5000,
            swap_kb: 7,
            ..Victim::default()
        };
        let ctx = KillContext {
            reason: KillReason::LowMem,
            reason_text: ReasonText::format(format_args!("low watermark is breached")),
            min_adj: 701,
            max_thrashing: 17,
            ..Default::default()
        };
        KillRecord::new(seq, 1_700_000_000_000 + seq as i64, 5_000, &v, &ctx, Some(1000))
    }

    #[test]
    fn the_ring_keeps_the_newest() {
        let mut h = KillHistory::new(3);
        for s in 1..=5 {
            h.push(record(s));
        }
        assert_eq!(h.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![3, 4, 5]);
        assert!(h.get_mut(2).is_none());
        let r = h.get_mut(4).unwrap();
        r.outcome = Some(ReapOutcome::Reaped);
        r.set_free_after(Some(6000));
        assert_eq!(h.get_mut(4).unwrap().freed_kb, 5000);
        let mut empty = KillHistory::new(0);
        empty.push(record(1));
        assert!(empty.is_empty());
    }

    #[test]
    fn wire_round_trip() {
        let mut h = KillHistory::new(100);
        for s in 1..=70 {
            let mut r = record(s);
            if s % 2 == 0 {
                r.outcome = Some(ReapOutcome::Failed(libc::EAGAIN));
                r.reap_us = 1234;
                r.cpu = 1;
                r.group = GroupKill::CgroupKill;
                r.group_procs = 3;
            } else if s % 3 == 0 {
                r.group = GroupKill::Alone(crate::reaper::group::Alone::Shared);
            }
            h.push(r);
        }
        let packets = encode_history(&h);
        assert_eq!(packets.len(), 3);
        let mut back = Vec::new();
        for p in &packets {
            let (total, offset, recs) = decode_history(p).unwrap();
            assert_eq!((total, offset), (70, back.len()));
            back.extend(recs);
        }
        assert_eq!(back, h.iter().copied().collect::<Vec<_>>());
        assert_eq!(back[1].outcome, Some(ReapOutcome::Failed(libc::EAGAIN)));
        assert_eq!(back[0].name.as_str(), "com.example");
        assert_eq!(back[0].reason_text.as_str(), "low watermark is breached");
        assert_eq!((back[1].group, back[1].group_procs), (GroupKill::CgroupKill, 3));
        assert_eq!(back[0].max_thrashing, 17);
        let empty = encode_history(&KillHistory::new(4));
        assert_eq!(decode_history(&empty[0]), Some((0, 0, vec![])));
        assert_eq!(decode_history(&[0; 15]), None);
    }

    /// What a client built for the first layout (120-byte reason field, no extension) does
    /// with a record: its decoder, as it was.
    fn first_layout_decode(b: &[u8]) -> Option<(i32, i32, String, String)> {
        let w = |i: usize| i32::from_be_bytes([b[i * 4], b[i * 4 + 1], b[i * 4 + 2], b[i * 4 + 3]]);
        let name_len = usize::try_from(w(23)).ok().filter(|&l| l <= 64)?;
        let reason_len = usize::try_from(w(24)).ok().filter(|&l| l <= 120)?;
        let name = String::from_utf8(b[100..100 + name_len].to_vec()).ok()?;
        let reason = String::from_utf8(b[164..164 + reason_len].to_vec()).ok()?;
        Some((w(6), w(21), name, reason))
    }

    #[test]
    fn clients_of_the_first_layout_read_these_records() {
        let mut r = record(5);
        r.group = GroupKill::CgroupProcs;
        r.group_procs = 7;
        r.outcome = Some(ReapOutcome::Reaped);
        // The longest reason this daemon writes.
        r.reason_text = FixedText::format(format_args!("{}", "é".repeat(60)));
        assert_eq!(r.reason_text.as_str().len(), REASON_TEXT_BYTES);
        let mut b = Vec::new();
        r.encode(&mut b);
        assert_eq!(b.len(), RECORD_WIRE_SIZE, "the record size is unchanged");
        let (pid, outcome, name, reason) = first_layout_decode(&b).unwrap();
        assert_eq!((pid, outcome), (r.pid, 1));
        assert_eq!(name, "com.example");
        assert_eq!(reason, r.reason_text.as_str(), "the extension is past the text they read");
        assert_eq!(KillRecord::decode(&b), Some(r));
    }

    #[test]
    fn records_of_the_first_layout_decode_with_the_group_unknown() {
        let mut r = record(6);
        r.group = GroupKill::CgroupKill;
        r.group_procs = 2;
        let mut b = Vec::new();
        r.encode(&mut b);
        // The first layout zero-padded its reason field.
        b[RECORD_WIRE_SIZE - EXT_WORDS * 4..].fill(0);
        let d = KillRecord::decode(&b).unwrap();
        assert_eq!((d.group, d.group_procs, d.max_thrashing), (GroupKill::Unknown, 0, -1));
        assert_eq!(d.reason_text, r.reason_text);
        // ... and allowed 120 bytes of reason text: cut here, and no extension.
        let long = "x".repeat(REASON_BYTES);
        b[164..164 + REASON_BYTES].copy_from_slice(long.as_bytes());
        b[96..100].copy_from_slice(&len_word(REASON_BYTES).to_be_bytes());
        let d = KillRecord::decode(&b).unwrap();
        assert_eq!(d.reason_text.as_str(), &long[..REASON_TEXT_BYTES]);
        assert_eq!((d.group, d.max_thrashing), (GroupKill::Unknown, -1));
        // Decoding what it decoded gives the same record again.
        let mut again = Vec::new();
        d.encode(&mut again);
        assert_eq!(KillRecord::decode(&again), Some(d));
    }

    #[test]
    fn max_thrashing_is_minus_one_without_decision_information() {
        let v = Victim { pid: 1234, ..Victim::default() };
        let requested = KillContext { max_thrashing: 55, ..Default::default() };
        assert_eq!(KillRecord::new(1, 0, 0, &v, &requested, None).max_thrashing, -1);
        let decided = KillContext {
            reason: KillReason::LowMemAndThrashing,
            max_thrashing: 55,
            ..Default::default()
        };
        assert_eq!(KillRecord::new(1, 0, 0, &v, &decided, None).max_thrashing, 55);
    }
}
