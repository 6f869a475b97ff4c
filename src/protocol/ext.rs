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

/// Words per record in an `LMK_EXT_PROCS` reply.
pub const PROCS_RECORD_WORDS: usize = 5;
/// Records per `LMK_EXT_PROCS` reply packet.
pub const PROCS_PER_PACKET: usize = 256;

/// An extension request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExtCommand {
    /// `LMK_EXT_PROCS`.
    Procs,
}

impl ExtCommand {
    /// Decodes an extension request; codes below [`EXT_BASE`] are not extensions.
    pub fn decode(buf: &[u8]) -> Result<ExtCommand, DecodeError> {
        let (cmd, nargs) = frame(buf)?;
        let len = buf.len();
        match cmd {
            LMK_EXT_PROCS if nargs == 0 => Ok(ExtCommand::Procs),
            LMK_EXT_PROCS => Err(DecodeError::WrongLength { cmd, len }),
            _ => Err(DecodeError::UnknownCommand { cmd }),
        }
    }

    /// The request packet.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            ExtCommand::Procs => LMK_EXT_PROCS.to_be_bytes().to_vec(),
        }
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

/// Splits `entries` into `LMK_EXT_PROCS` reply packets.
pub fn encode_procs_reply(entries: &[ProcEntry]) -> Vec<Vec<u8>> {
    let total = i32::try_from(entries.len()).unwrap_or(i32::MAX);
    let mut packets = Vec::new();
    let mut offset = 0usize;
    loop {
        let chunk = &entries[offset..(offset + PROCS_PER_PACKET).min(entries.len())];
        let mut p = Vec::with_capacity(16 + chunk.len() * PROCS_RECORD_WORDS * 4);
        for w in
            [LMK_EXT_PROCS, total, i32::try_from(offset).unwrap_or(i32::MAX), chunk.len() as i32]
        {
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
    fn requests_decode() {
        assert_eq!(ExtCommand::decode(&ExtCommand::Procs.encode()), Ok(ExtCommand::Procs));
        let mut long = ExtCommand::Procs.encode();
        long.extend_from_slice(&[0; 4]);
        assert!(matches!(ExtCommand::decode(&long), Err(DecodeError::WrongLength { .. })));
        assert!(matches!(
            ExtCommand::decode(&[0x10, 0, 0, 0]),
            Err(DecodeError::UnknownCommand { .. })
        ));
    }
}
