//! The event loop's epoll set and its typed tokens.
//!
//! Every source the daemon waits on has a [`Token`]; the token is packed into epoll's 64-bit
//! user data and unpacked again by [`Token::from_bits`], which maps anything it does not know
//! to [`Token::Unknown`] (logged and ignored by the dispatcher, never a panic).

use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, OwnedFd};
use std::time::Duration;

use rustix::event::epoll::{self, CreateFlags, Event, EventData, EventFlags};
use rustix::event::Timespec;

/// An event source of the daemon.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Token {
    /// The listening control socket.
    Listener,
    /// A client connection, by slot.
    Conn(usize),
    /// A registered process exited (its pidfd became readable): the record's id, as
    /// `procs::RecordId::to_bits` packed it (at most 56 bits).
    ProcExit(u64),
    /// The reaper pool has results.
    ReaperDone,
    /// A pressure monitor fired (PSI trigger or vmpressure eventfd), by level index.
    Pressure(u8),
    /// An early-warning source fired (a memory cgroup usage threshold, vmpressure `low`, the
    /// short-window PSI trigger, cgroup v2 `memory.events`), by kind.
    Early(u8),
    /// The BPF memevents ring buffer has records.
    MemEvents,
    /// `dumpsys lmkd` asked for the status report (Android only).
    Dump,
    /// The watchdog killed a process while the loop was stuck.
    Watchdog,
    /// A killed process died (its pidfd became readable): in-flight kill slot and generation.
    KillDone {
        /// The slot.
        slot: u8,
        /// The slot's generation when the kill was tracked.
        generation: u32,
    },
    /// Anything else (a stale or corrupt token).
    Unknown(u64),
}

const KIND_SHIFT: u32 = 56;
const KIND_LISTENER: u64 = 1;
const KIND_CONN: u64 = 2;
const KIND_PROC: u64 = 3;
const KIND_REAPER: u64 = 4;
const KIND_KILL: u64 = 5;
const KIND_PRESSURE: u64 = 6;
const KIND_DUMP: u64 = 7;
const KIND_WATCHDOG: u64 = 8;
const KIND_EARLY: u64 = 9;
const KIND_MEMEVENTS: u64 = 10;
const PAYLOAD_MASK: u64 = (1 << KIND_SHIFT) - 1;

impl Token {
    /// Packs the token into epoll user data.
    pub fn to_bits(self) -> u64 {
        match self {
            Token::Listener => KIND_LISTENER << KIND_SHIFT,
            Token::Conn(slot) => (KIND_CONN << KIND_SHIFT) | (slot as u64 & PAYLOAD_MASK),
            Token::ProcExit(id) => (KIND_PROC << KIND_SHIFT) | (id & PAYLOAD_MASK),
            Token::ReaperDone => KIND_REAPER << KIND_SHIFT,
            Token::Pressure(level) => (KIND_PRESSURE << KIND_SHIFT) | u64::from(level),
            Token::Early(kind) => (KIND_EARLY << KIND_SHIFT) | u64::from(kind),
            Token::MemEvents => KIND_MEMEVENTS << KIND_SHIFT,
            Token::Dump => KIND_DUMP << KIND_SHIFT,
            Token::Watchdog => KIND_WATCHDOG << KIND_SHIFT,
            Token::KillDone { slot, generation } => {
                (KIND_KILL << KIND_SHIFT) | (u64::from(generation) << 8) | u64::from(slot)
            }
            Token::Unknown(bits) => bits,
        }
    }

    /// Unpacks epoll user data.
    pub fn from_bits(bits: u64) -> Token {
        let payload = bits & PAYLOAD_MASK;
        match bits >> KIND_SHIFT {
            KIND_LISTENER if payload == 0 => Token::Listener,
            KIND_CONN => Token::Conn(payload as usize),
            KIND_PROC => Token::ProcExit(payload),
            KIND_REAPER if payload == 0 => Token::ReaperDone,
            KIND_PRESSURE => match u8::try_from(payload) {
                Ok(level) if level < 3 => Token::Pressure(level),
                _ => Token::Unknown(bits),
            },
            KIND_EARLY => match u8::try_from(payload) {
                Ok(kind) if kind < 4 => Token::Early(kind),
                _ => Token::Unknown(bits),
            },
            KIND_MEMEVENTS if payload == 0 => Token::MemEvents,
            KIND_DUMP if payload == 0 => Token::Dump,
            KIND_WATCHDOG if payload == 0 => Token::Watchdog,
            KIND_KILL => match (u8::try_from(payload & 0xff), u32::try_from(payload >> 8)) {
                (Ok(slot), Ok(generation)) => Token::KillDone { slot, generation },
                _ => Token::Unknown(bits),
            },
            _ => Token::Unknown(bits),
        }
    }
}

/// Readiness reported for a token.
#[derive(Clone, Copy, Debug)]
pub struct Ready {
    /// The source.
    pub token: Token,
    /// The epoll flags (`IN`, `OUT`, `PRI`, `HUP`, `ERR`, `RDHUP`).
    pub flags: EventFlags,
}

/// Most events taken from the kernel per wait.
pub const MAX_EVENTS: usize = 32;

/// The epoll set.
#[derive(Debug)]
pub struct Poller {
    epoll: OwnedFd,
}

impl Poller {
    /// A new, empty set.
    pub fn new() -> io::Result<Poller> {
        Ok(Poller { epoll: epoll::create(CreateFlags::CLOEXEC)? })
    }

    /// Another handle to the same set (a duplicated descriptor), for an owner of event
    /// sources that adds and removes its own.
    pub fn try_clone(&self) -> io::Result<Poller> {
        Ok(Poller { epoll: rustix::io::fcntl_dupfd_cloexec(&self.epoll, 0)? })
    }

    /// Adds `fd` under `token`.
    pub fn add(&self, fd: impl AsFd, token: Token, flags: EventFlags) -> io::Result<()> {
        Ok(epoll::add(&self.epoll, fd, EventData::new_u64(token.to_bits()), flags)?)
    }

    /// Changes the flags of `fd`.
    pub fn modify(&self, fd: impl AsFd, token: Token, flags: EventFlags) -> io::Result<()> {
        Ok(epoll::modify(&self.epoll, fd, EventData::new_u64(token.to_bits()), flags)?)
    }

    /// Removes `fd`.
    pub fn delete(&self, fd: impl AsFd) -> io::Result<()> {
        Ok(epoll::delete(&self.epoll, fd)?)
    }

    /// Waits up to `timeout` (forever if `None`) and writes the ready sources into `out`,
    /// returning how many. `EINTR` is a normal return with no events.
    pub fn wait(
        &self,
        out: &mut [Ready; MAX_EVENTS],
        timeout: Option<Duration>,
    ) -> io::Result<usize> {
        let mut events = [MaybeUninit::<Event>::uninit(); MAX_EVENTS];
        let ts = timeout.map(|d| Timespec {
            tv_sec: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            tv_nsec: i64::from(d.subsec_nanos()),
        });
        let (ready, _) = match epoll::wait(&self.epoll, &mut events, ts.as_ref()) {
            Ok(r) => r,
            Err(rustix::io::Errno::INTR) => return Ok(0),
            Err(e) => return Err(e.into()),
        };
        for (slot, ev) in out.iter_mut().zip(ready.iter()) {
            *slot = Ready { token: Token::from_bits(ev.data.u64()), flags: ev.flags };
        }
        Ok(ready.len())
    }
}

impl Default for Ready {
    fn default() -> Self {
        Ready { token: Token::Unknown(0), flags: EventFlags::empty() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_garbage_is_unknown() {
        let id = (1 << 32) | 5;
        for t in [
            Token::Listener,
            Token::Conn(0),
            Token::Conn(2),
            Token::ProcExit(id),
            Token::ReaperDone,
            Token::Pressure(2),
            Token::Early(0),
            Token::Early(2),
            Token::Early(3),
            Token::MemEvents,
            Token::Dump,
            Token::Watchdog,
            Token::KillDone { slot: 15, generation: u32::MAX },
        ] {
            assert_eq!(Token::from_bits(t.to_bits()), t);
        }
        assert_eq!(Token::from_bits(0), Token::Unknown(0));
        assert_eq!(Token::from_bits(u64::MAX), Token::Unknown(u64::MAX));
        assert_eq!(Token::from_bits((1 << 56) | 7), Token::Unknown((1 << 56) | 7));
    }
}
