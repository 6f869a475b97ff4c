//! Memory cgroup v1 usage thresholds (kernel `Documentation/admin-guide/cgroup-v1/memory.rst`,
//! "Memory thresholds"): an eventfd bound to the group's `memory.usage_in_bytes` by writing
//! `"<eventfd> <usage fd> <bytes>"` to `cgroup.event_control` becomes readable when the usage
//! crosses `bytes`, in either direction. Closing the eventfd removes the threshold.
//!
//! The cheapest early warning a memory cgroup offers: nothing happens until the crossing. The
//! pressure engine places the threshold from what reclaim cannot free (see
//! [`crate::memory::headroom_kb`]) and moves it as the picture changes; registering one
//! allocates nothing.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::Path;

use rustix::event::{eventfd, EventfdFlags};

/// One registered threshold.
#[derive(Debug)]
pub struct UsageThreshold {
    /// The usage it fires at, bytes.
    pub bytes: u64,
    event: OwnedFd,
    // Kept open for the registration's lifetime.
    _usage: File,
}

impl UsageThreshold {
    /// The eventfd to watch.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.event.as_fd()
    }

    /// Reads (and so clears) the crossing count; 0 when nothing fired.
    pub fn take(&self) -> u64 {
        let mut b = [0u8; 8];
        match rustix::io::read(&self.event, &mut b) {
            Ok(8) => u64::from_ne_bytes(b),
            _ => 0,
        }
    }
}

/// Registers a threshold at `bytes` of usage on the memory cgroup v1 directory `dir`.
pub fn register(dir: &Path, bytes: u64) -> io::Result<UsageThreshold> {
    let usage = File::open(dir.join("memory.usage_in_bytes"))?;
    let mut control = OpenOptions::new().write(true).open(dir.join("cgroup.event_control"))?;
    let event = eventfd(0, EventfdFlags::NONBLOCK | EventfdFlags::CLOEXEC)?;
    // "<efd> <fd> <bytes>\0" on the stack: three numbers of at most 20 digits.
    let mut line = [0u8; 72];
    let len = {
        let mut w = &mut line[..];
        write!(w, "{} {} {}\0", event.as_raw_fd(), usage.as_raw_fd(), bytes)?;
        72 - w.len()
    };
    control.write_all(&line[..len])?;
    Ok(UsageThreshold { bytes, event, _usage: usage })
}
