//! Fuzzes the packet decoders: every byte string a client (or, for the client library, the
//! daemon) could send. Decoding must never panic, and what decodes must encode back to bytes
//! that decode to the same command.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lmkd::protocol::ext::ExtCommand;
use lmkd::protocol::{Command, KillStat, ServerMessage, CTRL_PACKET_MAX_SIZE};

fuzz_target!(|data: &[u8]| {
    if let Ok(cmd) = Command::decode(data) {
        let mut buf = [0u8; CTRL_PACKET_MAX_SIZE];
        let n = cmd.encode(&mut buf);
        assert_eq!(Command::decode(&buf[..n]), Ok(cmd));
    }
    if let Ok(ext) = ExtCommand::decode(data) {
        assert_eq!(ExtCommand::decode(&ext.encode()), Ok(ext));
    }
    let _ = ServerMessage::decode(data);
    let _ = KillStat::decode(data);
});
