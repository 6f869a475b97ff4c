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

/// A memory cgroup's usage and control files, opened once: registering a threshold then
/// allocates nothing (an eventfd and one `write`).
#[derive(Debug)]
pub struct ThresholdFiles {
    usage: File,
    control: File,
}

impl ThresholdFiles {
    /// Opens the memory cgroup v1 directory `dir`'s `memory.usage_in_bytes` and
    /// `cgroup.event_control`.
    pub fn open(dir: &Path) -> io::Result<ThresholdFiles> {
        Ok(ThresholdFiles {
            usage: File::open(dir.join("memory.usage_in_bytes"))?,
            control: OpenOptions::new().write(true).open(dir.join("cgroup.event_control"))?,
        })
    }

    /// Registers a threshold at `bytes` of usage.
    pub fn register(&self, bytes: u64) -> io::Result<UsageThreshold> {
        let event = eventfd(0, EventfdFlags::NONBLOCK | EventfdFlags::CLOEXEC)?;
        // "<efd> <fd> <bytes>\0" on the stack: three numbers of at most 20 digits.
        let mut line = [0u8; 72];
        let len = {
            let mut w = &mut line[..];
            write!(w, "{} {} {}\0", event.as_raw_fd(), self.usage.as_raw_fd(), bytes)?;
            72 - w.len()
        };
        (&self.control).write_all(&line[..len])?;
        Ok(UsageThreshold { bytes, event })
    }
}

/// One registered threshold.
#[derive(Debug)]
pub struct UsageThreshold {
    /// The usage it fires at, bytes.
    pub bytes: u64,
    event: OwnedFd,
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
