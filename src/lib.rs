//! # lmkd: Android's low memory killer daemon, in Rust
//!
//! A drop-in replacement for AOSP's `/system/bin/lmkd`. ActivityManager and init talk to it
//! over the `lmkd` `SOCK_SEQPACKET` socket exactly as they talk to AOSP lmkd; it keeps the
//! processes they register in per-adj LRU lists, watches memory pressure, decides when and
//! down to which `oom_score_adj` to kill, and reaps its victims.
//!
//! ## Architecture
//!
//! The daemon is three objects wired by one loop, and a clock:
//!
//! ```text
//!        ActivityManager / init / lmkctl                 the kernel
//!                 │ SOCK_SEQPACKET     PSI, vmpressure, thresholds, memevents, pidfds
//!                 ▼                                              │
//!  event::Poller ─────► daemon::Daemon::dispatch ◄───────────────┘  (the one dispatch point)
//!                          │           │            │
//!            daemon::commands   daemon::engine   daemon::pipeline
//!            (command handler)  (pressure engine)  (kill pipeline)
//!                 │                │                 │
//!       protocol, procs,     memory, pressure,    policy::victim, procs,
//!       config               policy (pure),       reaper, report
//!                            config
//!                 └──────── kill (shared vocabulary), clock ─────────┘
//!                                         │
//!                                        sys  (the only `unsafe`)
//! ```
//!
//! **A priority update** (`LMK_PROCPRIO`): the listener's or a connection's token →
//! [`daemon::Daemon::dispatch`] → the command handler reads the packet with its sender's
//! credentials ([`protocol::server`]), decodes it ([`protocol::codec`]), and
//! [`procs::ProcTable::apply_prio`] checks the owner, writes `/proc/<pid>/oom_score_adj` through
//! a kept descriptor and moves the record in its per-adj LRU list. No allocation.
//!
//! **A pressure event, to memory back**: a PSI trigger's or vmpressure eventfd's token (or an
//! early warning's, or the memevents ring buffer's) →
//! `dispatch` → the pressure engine's one entry point (`on_wake`) reads the domain's snapshot
//! ([`memory::Domain::snapshot`], `pread` on kept-open files) and what the decision needs
//! (watermarks, memcg usage), asks the pure policy ([`policy::psi_strategy`] or
//! [`policy::legacy`]) → a [`policy::KillDecision`] → the kill pipeline walks the adj levels,
//! copies each level's candidates out of the registry, reads their sizes without the lock when
//! the heaviest rule needs them, lets [`policy::victim::pick`] choose, reads the victim
//! ([`procs::read_victim`]), resolves its process group ([`reaper::group`]) and hands it to a
//! reaper thread ([`reaper`]), which sends SIGKILL through the pidfd, kills the rest of the
//! group and `process_mrelease`s the victim at once → [`report`] writes the kill line, the
//! Perfetto kill event, `LMK_PROCKILL`/`LMK_STAT_KILL_OCCURRED` and the history → the victim's
//! pidfd ends the kill wait, and the engine decides the next poll. While woken, the engine also
//! samples the headroom and may kill on [`policy::predict`]'s forecast.
//!
//! ## Modules
//!
//! * [`daemon`]: the loop, its dispatch, and the three objects (command handler, pressure
//!   engine, kill pipeline).
//! * [`clock`]: the one monotonic clock (real on devices, fake in tests).
//! * [`kill`]: the shared kill vocabulary (reasons, reason text, victim, context).
//! * [`event`]: the epoll set and its typed tokens.
//! * [`protocol`]: the wire codec for commands 0–11 and this project's extensions, and the
//!   connection server (three slots, credentials on every message, writes that never block).
//! * [`procs`]: the process registry (per-adj LRU lists, owners, pidfds, kill counters) and
//!   the `/proc/<pid>` readers and writers.
//! * [`memory`]: the memory domain (system or one memory cgroup), its kernel files and parsers,
//!   watermarks, free-memory probes, cgroup discovery and per-app soft limits.
//! * [`pressure`]: the kernel's wake-up sources: PSI triggers, vmpressure events, memory cgroup
//!   usage thresholds, cgroup v2 `memory.events`, and the BPF memevents ring buffer.
//! * [`policy`]: pure decisions (both strategies, the predictive rule, victim choice), the
//!   polling intervals, and decision traces.
//! * [`reaper`]: the reaper pool, its CPU placement, process-group kills, and the watchdog.
//! * [`report`]: kill reports (log line, Perfetto kill event), the kill history, the killinfo
//!   event, the status report.
//! * [`config`]: every `ro.lmk.*` property in one immutable [`config::Config`].
//! * [`ratelimit`], [`logging`]: log budgets and the log backends.
//! * [`fault`]: fault injection for tests (the installer is host-only).
//! * [`client`]: the client library (what liblmkd_utils is to C), used by `lmkctl` and tests.
//! * `demo` (host only): `lmkd demo`, its sandbox and synthetic apps, and the memevents
//!   stand-in world of the tests and benchmarks.
//! * `android` (Android only): the killinfo event and the `dumpsys lmkd` service.
//! * [`sys`]: raw system calls that rustix (as AOSP builds it) does not offer.
//!
//! Dependencies point one way: the loop → {commands, engine, pipeline} → {policy, memory,
//! pressure, procs, reaper, report} → {kill, config, clock} → sys, with no cycle
//! (`tests/module_graph.rs` checks it). Only `sys` contains `unsafe`.

// Every numeric cast that can truncate, wrap or lose a sign is either checked (`try_from`,
// saturating where a wire word or a kernel value can be out of range; the kernel-file parsers
// clamp every counter to `memory::parse::COUNTER_MAX`) or allowed where it stands, with the
// reason: 32-bit Android (Go devices) runs this code too.
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
