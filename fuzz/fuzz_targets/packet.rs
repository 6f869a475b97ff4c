//! Fuzzes the packet decoders: every byte string a client could send the daemon (AOSP commands
//! and this project's extensions), and every byte string the daemon could send a client
//! (replies, `LMK_PROCKILL`, `LMK_STAT_KILL_OCCURRED`, the chunked extension replies).
//!
//! Properties: decoding never panics; what decodes encodes back to bytes that decode to the
//! same value (exactly the same bytes where the format has one spelling); names and texts
//! taken from the wire stay within their documented bounds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lmkd::protocol::ext::{
    decode_procs_reply, decode_text_reply, encode_procs_reply, encode_text_reply, ExtCommand,
    PROCS_PER_PACKET, PROCS_RECORD_WORDS, STATUS_CHUNK,
};
use lmkd::protocol::{
    encode_reply, frame, Command, KillStat, ServerMessage, StatName, CTRL_PACKET_MAX_SIZE,
    LMKD_REPLY_MAX_SIZE, LMK_BOOT_COMPLETED, LMK_GETKILLCNT, LMK_UPDATE_PROPS, PROCKILL_SIZE,
    STAT_NAME_MAX,
};
use lmkd::report::history::{decode_history, encode_history, RECORD_WIRE_SIZE};
use lmkd::report::{FixedText, KillHistory};

fuzz_target!(|data: &[u8]| {
    client_to_daemon(data);
    daemon_to_client(data);
    extension_replies(data);
    names(data);
});

fn client_to_daemon(data: &[u8]) {
    if let Ok((_, nargs)) = frame(data) {
        assert_eq!(nargs + 1, data.len() / 4);
    }
    if let Ok(cmd) = Command::decode(data) {
        assert!(data.len().is_multiple_of(4) && data.len() <= CTRL_PACKET_MAX_SIZE);
        let mut buf = [0u8; CTRL_PACKET_MAX_SIZE];
        let n = cmd.encode(&mut buf);
        assert_eq!(Command::decode(&buf[..n]), Ok(cmd));
    }
    if let Ok(ext) = ExtCommand::decode(data) {
        assert_eq!(ExtCommand::decode(&ext.encode()), Ok(ext));
    }
}

fn daemon_to_client(data: &[u8]) {
    match ServerMessage::decode(data) {
        Some(ServerMessage::KillCount(v)) => assert_eq!(encode_reply(LMK_GETKILLCNT, v), data),
        Some(ServerMessage::UpdateProps(v)) => {
            assert_eq!(encode_reply(LMK_UPDATE_PROPS, v), data)
        }
        Some(ServerMessage::BootCompleted(v)) => {
            assert_eq!(encode_reply(LMK_BOOT_COMPLETED, v), data)
        }
        Some(ServerMessage::ProcKill(p)) => {
            // The 16-byte packet exactly; the legacy 12-byte one is its prefix.
            let full = p.encode();
            if data.len() == PROCKILL_SIZE {
                assert_eq!(full, data);
            } else {
                assert_eq!(&full[..data.len()], data);
                assert_eq!(p.rss_kb, 0);
            }
        }
        Some(ServerMessage::KillStat(s)) => {
            assert_eq!(KillStat::decode(data), Some(s));
            let mut out = [0u8; LMKD_REPLY_MAX_SIZE];
            let n = s.encode(&mut out);
            assert_eq!(KillStat::decode(&out[..n]), Some(s));
            assert!(s.name().len() <= STAT_NAME_MAX);
        }
        Some(ServerMessage::Other(_)) | None => {}
    }
    if let Some(s) = KillStat::decode(data) {
        assert!(s.name().len() <= STAT_NAME_MAX);
    }
}

fn extension_replies(data: &[u8]) {
    if let Some((_, _, entries)) = decode_procs_reply(data) {
        assert_eq!(data.len(), 16 + entries.len() * PROCS_RECORD_WORDS * 4);
        if entries.len() <= PROCS_PER_PACKET {
            let again = encode_procs_reply(&entries);
            assert_eq!(again.len(), 1);
            assert_eq!(decode_procs_reply(&again[0]), Some((entries.len(), 0, entries)));
        }
    }
    if let Some((_, _, bytes)) = decode_text_reply(data) {
        assert_eq!(data.len(), 16 + bytes.len());
        if let (Ok(text), true) = (std::str::from_utf8(&bytes), bytes.len() <= STATUS_CHUNK) {
            let again = encode_text_reply(text);
            assert_eq!(again.len(), 1);
            assert_eq!(decode_text_reply(&again[0]), Some((bytes.len(), 0, bytes.clone())));
        }
    }
    if let Some((_, _, records)) = decode_history(data) {
        assert_eq!(data.len(), 16 + records.len() * RECORD_WIRE_SIZE);
        let mut h = KillHistory::new(records.len());
        for r in &records {
            h.push(*r);
        }
        let mut back = Vec::new();
        for p in encode_history(&h) {
            let (total, offset, chunk) = decode_history(&p).expect("own encoding decodes");
            assert_eq!((total, offset), (records.len(), back.len()));
            back.extend(chunk);
        }
        assert_eq!(back, records);
    }
}

fn names(data: &[u8]) {
    let n = StatName::new(data);
    let b = n.as_bytes();
    assert!(b.len() <= STAT_NAME_MAX);
    // What Java's DataInput.readUTF takes (UTF-8 without NUL and without 4-byte sequences), and
    // no control character (the name goes into log lines).
    let fits = |c: char| !c.is_control() && c.len_utf8() < 4;
    let s = std::str::from_utf8(b).expect("a StatName is UTF-8");
    assert!(s.chars().all(fits), "{s:?}");
    assert_eq!(StatName::new(b), n, "sanitising is idempotent");
    if data.len() <= STAT_NAME_MAX && std::str::from_utf8(data).is_ok_and(|s| s.chars().all(fits)) {
        assert_eq!(b, data, "a name that needs no change is kept as it is");
    }
    let t = FixedText::<64>::from_bytes(data);
    assert!(t.as_str().len() <= 64);
    assert_eq!(FixedText::<64>::from_bytes(t.as_str().as_bytes()).as_str(), t.as_str());
    if data.len() <= 64 {
        if let Ok(s) = std::str::from_utf8(data) {
            assert_eq!(t.as_str(), s);
        }
    }
}
