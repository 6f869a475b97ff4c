//! cgroup v2 `memory.events` (kernel `Documentation/admin-guide/cgroup-v2.rst`): the group's
//! counters of `low`, `high`, `max`, `oom`, `oom_kill` and `oom_group_kill` events. The kernel
//! notifies a change through the file itself: a descriptor of it polls `EPOLLPRI` (with
//! `EPOLLERR`) once a counter moved, until the file is read again.
//!
//! The early warning of a cgroup v2 memory domain, free while nothing happens: `high` counts
//! each time the group's usage went over `memory.high` (reclaim is forced on the allocating
//! tasks), `max` each time it reached `memory.max` (its limit: reclaim or the OOM killer),
//! `oom` each time reclaim failed there. Which of them moves, and how often, is for the headroom
//! watch to judge: a group full of clean page cache counts `max` while it recycles its cache,
//! and the watch then sees no fall.

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::fs::FileExt;
use std::path::Path;

/// The counters the early warning follows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// `high`: usage went over `memory.high`.
    pub high: u64,
    /// `max`: usage reached `memory.max`.
    pub max: u64,
    /// `oom`: reclaim failed at the limit.
    pub oom: u64,
}

impl Counters {
    /// Parses `memory.events` (unknown keys are ignored; missing ones are 0).
    pub fn parse(text: &str) -> Counters {
        let mut c = Counters::default();
        for line in text.lines() {
            let mut it = line.split_whitespace();
            let (Some(k), Some(v)) = (it.next(), it.next()) else { continue };
            let Ok(v) = v.parse::<u64>() else { continue };
            match k {
                "high" => c.high = v,
                "max" => c.max = v,
                "oom" => c.oom = v,
                _ => {}
            }
        }
        c
    }
}

/// A group's `memory.events`, open and watched.
#[derive(Debug)]
pub struct MemoryEvents {
    file: File,
    last: Counters,
}

impl MemoryEvents {
    /// Opens `path` (a group's `memory.events`) and reads it once (a fresh descriptor is
    /// notified of changes after its first read).
    pub fn open(path: &Path) -> io::Result<MemoryEvents> {
        let mut e = MemoryEvents { file: File::open(path)?, last: Counters::default() };
        e.last = e.read()?;
        Ok(e)
    }

    /// The descriptor to watch for `EPOLLPRI`.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.file.as_fd()
    }

    fn read(&mut self) -> io::Result<Counters> {
        // Six short lines: 256 bytes hold them; read from the start, which also re-arms the
        // notification. No allocation.
        let mut buf = [0u8; 256];
        let n = loop {
            match self.file.read_at(&mut buf, 0) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                r => break r?,
            }
        };
        Ok(Counters::parse(std::str::from_utf8(&buf[..n]).unwrap_or("")))
    }

    /// Reads the counters (re-arming the notification) and returns them with whether any grew
    /// since the last read.
    pub fn take(&mut self) -> io::Result<(Counters, bool)> {
        let now = self.read()?;
        let grew = now.high > self.last.high || now.max > self.last.max || now.oom > self.last.oom;
        self.last = now;
        Ok((now, grew))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_parse_and_ignore_the_rest() {
        let text = "low 0\nhigh 12\nmax 3\noom 1\noom_kill 1\noom_group_kill 0\n";
        assert_eq!(Counters::parse(text), Counters { high: 12, max: 3, oom: 1 });
        assert_eq!(
            Counters::parse("max x\nhigh\n\noom 2"),
            Counters { oom: 2, ..Counters::default() }
        );
    }
}
