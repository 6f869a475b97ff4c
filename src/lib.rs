//! # lmkd: Android's low memory killer daemon, in Rust
//!
//! A drop-in replacement for AOSP's `/system/bin/lmkd`. ActivityManager and init talk to it
//! over the `lmkd` `SOCK_SEQPACKET` socket exactly as they talk to AOSP lmkd; it keeps the
//! processes they register in per-adj LRU lists, watches memory pressure, decides when and
//! down to which `oom_score_adj` to kill, and reaps its victims.
//!
//! ## Architecture
//!
//! ```text
//!            ActivityManager / init / lmkctl
//!                        │  SOCK_SEQPACKET, big-endian i32 words
//!                        ▼
//!   protocol::server ── protocol::codec ──┐
//!                                         ▼
//!   event::Poller ──────────────► daemon::Daemon::dispatch  (the one dispatch point)
//!                                   │            │
//!                         procs::ProcTable   config::Config ◄── config::PropertySource
//!                         (registry, /proc)
//!                                   │
//!                                  sys  (the only `unsafe`: pidfd, recvmsg, rlimits)
//! ```
//!
//! * [`protocol`]: the wire codec for commands 0–11 and the connection server (three slots,
//!   credentials on every message, writes that never block).
//! * [`procs`]: the process registry (per-adj LRU lists, owners, pidfds, kill counters) and
//!   the `/proc/<pid>` readers and writers.
//! * [`config`]: every `ro.lmk.*` property in one immutable [`config::Config`].
//! * [`client`]: the client library (what liblmkd_utils is to C), used by `lmkctl` and tests.
//! * [`sys`]: raw system calls that rustix (as AOSP builds it) does not offer.
//!
//! Dependency direction: `daemon` → everything; nothing else depends on `daemon`; only `sys`
//! contains `unsafe`.

// Every numeric cast that can truncate, wrap or lose a sign is either checked (`try_from`
// with a logged clamp where a kernel value can be out of range) or allowed where it stands,
// with the reason: 32-bit Android (Go devices) runs this code too.
#![deny(clippy::cast_possible_truncation, clippy::cast_sign_loss, clippy::cast_possible_wrap)]
// Unit tests may cast freely (the library itself is checked in its non-test build).
#![cfg_attr(
    test,
    allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, clippy::cast_possible_wrap)
)]

#[cfg(aosp_build)]
pub mod android;
pub mod client;
pub mod clock;
pub mod config;
pub mod daemon;
#[cfg(not(aosp_build))]
pub mod demo;
pub mod event;
pub mod fault;
pub mod kill;
pub mod logging;
pub mod memory;
pub mod policy;
pub mod pressure;
pub mod procs;
pub mod protocol;
pub mod ratelimit;
pub mod reaper;
pub mod report;
pub mod sys;
