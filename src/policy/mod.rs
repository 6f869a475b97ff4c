//! Pure decisions over snapshots and time: when to kill, down to which adj, and why.
//!
//! Nothing here reads a file, a clock or a descriptor: inputs are arguments.

mod reason;

pub use reason::KillReason;
