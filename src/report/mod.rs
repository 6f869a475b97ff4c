//! Kill reports: AOSP's kill log line, `LMK_PROCKILL` and `LMK_STAT_KILL_OCCURRED` for
//! subscribers, and the kill history.
//!
//! Everything on the kill path here is built in fixed-size buffers: reporting a kill allocates
//! nothing.

pub mod history;
pub mod killinfo;
pub mod status;

use std::fmt::{self, Write};

use crate::policy::KillReason;
use crate::protocol::{KillStat, ProcKill, StatName, LMKD_REPLY_MAX_SIZE};

pub use history::{KillHistory, KillRecord};

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

/// Logs AOSP's kill line (AOSP's tests parse `to free %ldkB rss, %ldkB swap`):
/// `Kill '<name>' (<pid>), uid <uid>, oom_score_adj <adj> to free <rss>kB rss, <swap>kB swap; reason: <text>`.
/// Without a reason the line ends after the swap figure and spells it `kb`, as AOSP's old path.
pub fn log_kill(v: &Victim, ctx: &KillContext) {
    let name = FixedText::<128>::from_bytes(v.name.as_bytes());
    if ctx.reason_text.as_str().is_empty() {
        log::info!(
            "Kill '{}' ({}), uid {}, oom_score_adj {} to free {}kB rss, {}kb swap",
            name,
            v.pid,
            v.uid,
            v.adj,
            v.rss_kb,
            v.swap_kb
        );
    } else {
        log::info!(
            "Kill '{}' ({}), uid {}, oom_score_adj {} to free {}kB rss, {}kB swap; reason: {}",
            name,
            v.pid,
            v.uid,
            v.adj,
            v.rss_kb,
            v.swap_kb,
            ctx.reason_text
        );
    }
}

/// The `LMK_PROCKILL` event.
pub fn prockill(v: &Victim) -> [u8; 16] {
    ProcKill { pid: v.pid, uid: v.uid, rss_kb: clamp_i32(v.rss_kb) }.encode()
}

/// The `LMK_STAT_KILL_OCCURRED` event (procfs statistics, as AOSP without per-app memcg).
pub fn kill_stat(v: &Victim, ctx: &KillContext, out: &mut [u8; LMKD_REPLY_MAX_SIZE]) -> usize {
    let (pgfault, pgmajfault, start) = v.faults.unwrap_or((-1, -1, -1));
    let s = KillStat {
        pgfault,
        pgmajfault,
        rss_bytes: v.rss_kb.saturating_mul(1024),
        cache_bytes: 0,
        swap_bytes: v.swap_kb.saturating_mul(1024),
        process_start_time_ns: start,
        uid: v.uid,
        oom_score: v.adj,
        min_oom_score: ctx.min_adj,
        free_mem_kb: clamp_i32(ctx.free_mem_kb),
        free_swap_kb: clamp_i32(ctx.free_swap_kb),
        kill_reason: ctx.reason.code(),
        thrashing: clamp_i32(ctx.thrashing),
        max_thrashing: clamp_i32(ctx.max_thrashing),
        process_name: v.name,
    };
    s.encode(out)
}

fn clamp_i32(v: i64) -> i32 {
    i32::try_from(v.clamp(i64::from(i32::MIN), i64::from(i32::MAX))).unwrap_or(i32::MAX)
}

/// The text of an errno without Rust's ` (os error N)` suffix (`No such process`), as AOSP's
/// `strerror` lines.
pub fn strerror(errno: i32) -> FixedText<64> {
    let full =
        FixedText::<96>::format(format_args!("{}", std::io::Error::from_raw_os_error(errno)));
    let s = full.as_str();
    FixedText::format(format_args!("{}", s.split(" (os error").next().unwrap_or(s)))
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

    #[test]
    fn errno_texts_match_strerror() {
        assert_eq!(strerror(libc::ESRCH).as_str(), "No such process");
        assert_eq!(strerror(libc::EINVAL).as_str(), "Invalid argument");
    }
}
