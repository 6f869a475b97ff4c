//! Memory cgroup v1 vmpressure events (kernel `Documentation/admin-guide/cgroup-v1/memory.rst`,
//! "Memory Pressure").
//!
//! For each level an eventfd is bound to the group's `memory.pressure_level` by writing
//! `"<eventfd> <pressure_level fd> <level>"` to `cgroup.event_control`; the eventfd becomes
//! readable when reclaim in the group reaches that level.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::Path;

use rustix::event::{eventfd, EventfdFlags};

use crate::policy::Level;

/// One registered level.
#[derive(Debug)]
pub struct Monitor {
    /// The level.
    pub level: Level,
    event: OwnedFd,
    // Kept open for the registration's lifetime.
    _pressure_level: File,
}

impl Monitor {
    /// The eventfd to watch.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.event.as_fd()
    }

    /// Signals the eventfd as the kernel would (the test hook that simulates pressure).
    pub fn poke(&self) -> io::Result<()> {
        rustix::io::write(&self.event, &1u64.to_ne_bytes())?;
        Ok(())
    }

    /// Reads (and so clears) the event count; 0 when nothing fired.
    pub fn take(&self) -> u64 {
        let mut b = [0u8; 8];
        match rustix::io::read(&self.event, &mut b) {
            Ok(8) => u64::from_ne_bytes(b),
            _ => 0,
        }
    }
}

/// Registers `level` on the memory cgroup v1 directory `dir`.
pub fn register(dir: &Path, level: Level) -> io::Result<Monitor> {
    let pressure_level = File::open(dir.join("memory.pressure_level"))?;
    let mut control = OpenOptions::new().write(true).open(dir.join("cgroup.event_control"))?;
    let event = eventfd(0, EventfdFlags::NONBLOCK | EventfdFlags::CLOEXEC)?;
    let line = format!("{} {} {}\0", event.as_raw_fd(), pressure_level.as_raw_fd(), level.name());
    control.write_all(line.as_bytes())?;
    Ok(Monitor { level, event, _pressure_level: pressure_level })
}
