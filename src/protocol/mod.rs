//! The lmkd protocol: the wire codec, this project's extensions and the connection server.

pub mod codec;
pub mod ext;
pub mod server;

pub use codec::*;
pub use server::{Conn, Incoming, ReplyOutcome, Server, MAX_DATA_CONN};
