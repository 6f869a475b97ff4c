//! The shared kill vocabulary: why a process dies ([`KillReason`], the reason text), who it
//! was ([`Victim`]) and what the decision knew ([`KillContext`]). The policy that decides, the
//! pipeline that kills and the reports that tell all speak it; it depends on nothing of theirs.
//!
//! Everything here is `Copy` and lives in fixed-size buffers: describing a kill allocates
//! nothing.

mod reason;

use std::fmt::{self, Write};

pub use reason::KillReason;

use crate::protocol::StatName;

/// A short string in a fixed buffer (longer text is cut).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct FixedText<const N: usize> {
    len: usize,
    buf: [u8; N],
}

impl<const N: usize> Default for FixedText<N> {
    fn default() -> Self {
        FixedText { len: 0, buf: [0; N] }
    }
}

impl<const N: usize> FixedText<N> {
    /// Text from `args`, cut to `N` bytes at a character boundary.
    pub fn format(args: fmt::Arguments<'_>) -> Self {
        let mut t = FixedText::default();
        let _ = t.write_fmt(args);
        t
    }

    /// Text from bytes (not necessarily UTF-8; invalid bytes are shown as `?`).
    pub fn from_bytes(b: &[u8]) -> Self {
        let mut t = FixedText::default();
        for chunk in b.utf8_chunks() {
            let _ = t.write_str(chunk.valid());
            if !chunk.invalid().is_empty() {
                let _ = t.write_str("?");
            }
        }
        t
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }
}

impl<const N: usize> Write for FixedText<N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for c in s.chars() {
            let mut tmp = [0u8; 4];
            let e = c.encode_utf8(&mut tmp).as_bytes();
            if self.len + e.len() > N {
                return Err(fmt::Error);
            }
            self.buf[self.len..self.len + e.len()].copy_from_slice(e);
            self.len += e.len();
        }
        Ok(())
    }
}

impl<const N: usize> fmt::Display for FixedText<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<const N: usize> fmt::Debug for FixedText<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

/// The text after `reason: ` in a kill line.
pub type ReasonText = FixedText<120>;

/// What the victim looked like just before the kill (read before it: reading
/// `/proc/<victim>` afterwards can keep its memory alive).
#[derive(Clone, Copy, Debug, Default)]
pub struct Victim {
    /// Pid.
    pub pid: i32,
    /// Uid (from the registration).
    pub uid: i32,
    /// Its adj.
    pub adj: i32,
    /// argv\[0\], as ActivityManager's `readUTF` can take it.
    pub name: StatName,
    /// VmRSS in kB.
    pub rss_kb: i64,
    /// VmSwap in kB.
    pub swap_kb: i64,
    /// Minor faults, major faults and start time (ns since boot), when `/proc/<pid>/stat` was
    /// readable.
    pub faults: Option<(i64, i64, i64)>,
}

/// The decision behind a kill.
#[derive(Clone, Copy, Debug)]
pub struct KillContext {
    /// AOSP's reason (`None` for requested kills and the old strategy).
    pub reason: KillReason,
    /// The text after `reason: `; empty for none (the line then ends after `swap`).
    pub reason_text: ReasonText,
    /// The lowest adj the decision allowed.
    pub min_adj: i32,
    /// MemFree in kB when decided.
    pub free_mem_kb: i64,
    /// Effective free swap in kB.
    pub free_swap_kb: i64,
    /// Thrashing %.
    pub thrashing: i64,
    /// Highest thrashing % since the last kill.
    pub max_thrashing: i64,
    /// The client that asked for this kill (`LMK_EXT_KILL`), 0 for the daemon's own decisions.
    pub requested_by: i32,
    /// The client's reason code for a requested kill.
    pub client_reason: i32,
}

impl Default for KillContext {
    fn default() -> Self {
        KillContext {
            reason: KillReason::None,
            reason_text: ReasonText::default(),
            min_adj: 0,
            free_mem_kb: 0,
            free_swap_kb: 0,
            thrashing: 0,
            max_thrashing: 0,
            requested_by: 0,
            client_reason: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_text_cuts_at_character_boundaries() {
        let t = FixedText::<5>::format(format_args!("abcé{}", 12));
        assert_eq!(t.as_str(), "abcé");
        let t = FixedText::<8>::from_bytes(b"a\xffb");
        assert_eq!(t.as_str(), "a?b");
    }
}
