//! Kill reports: AOSP's kill log line, `LMK_PROCKILL` and `LMK_STAT_KILL_OCCURRED` for
//! subscribers, the Perfetto kill track (AOSP's 2025 atrace instant event), and the kill
//! history.
//!
//! Everything on the kill path here is built in fixed-size buffers: reporting a kill allocates
//! nothing.

pub mod history;
pub mod killinfo;
pub mod status;

use crate::kill::{FixedText, KillContext, KillReason, Victim};
use crate::protocol::{KillStat, ProcKill, LMKD_REPLY_MAX_SIZE};
use crate::sys::trace_marker::{self, KillEvent};

pub use history::{KillHistory, KillRecord};

/// Logs AOSP's kill line (AOSP's tests parse `to free %ldkB rss, %ldkB swap`):
/// `Kill '<name>' (<pid>), uid <uid>, oom_score_adj <adj> to free <rss>kB rss, <swap>kB swap; reason: <text>`.
/// Without a reason the line ends after the swap figure and spells it `kb`, as AOSP's old path.
pub fn log_kill(v: &Victim, ctx: &KillContext) {
    let name = FixedText::<128>::from_bytes(v.name.as_bytes());
    if ctx.reason_text.as_str().is_empty() {
        // `kb`, lower-case: AOSP's old-path text, kept as AOSP spells it on purpose.
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

/// The kill's trace event (AOSP 2025): `reason` and `max_thrashing` are −1 for a kill without a
/// pressure decision's information, as AOSP writes them when it has no kill information (its
/// old strategy; here also requested kills).
pub fn kill_event(v: &Victim, ctx: &KillContext) -> KillEvent {
    let info = ctx.reason != KillReason::None;
    KillEvent {
        pid: v.pid,
        reason: if info { ctx.reason.code() } else { -1 },
        adj: v.adj,
        min_adj: ctx.min_adj,
        max_thrashing: if info { ctx.max_thrashing } else { -1 },
    }
}

/// Writes the kill's instant event to the trace marker (a no-op without tracefs), right after
/// the kill: `N|<lmkd pid>|lowmemorykiller|lmk,<pid>,<reason>,<adj>,<min adj>,<max thrashing>`.
pub fn trace_kill(v: &Victim, ctx: &KillContext) {
    trace_marker::trace_kill(&kill_event(v, ctx));
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

/// `v` as an `i32` word, saturated at the type's bounds (wire fields that AOSP sends as 32-bit).
pub fn clamp_i32(v: i64) -> i32 {
    i32::try_from(v).unwrap_or(if v < 0 { i32::MIN } else { i32::MAX })
}

/// The C library's text of an errno (`No such process`), as AOSP's `strerror` lines, without
/// allocating (a reap that fails is logged on the kill path).
pub fn strerror(errno: i32) -> FixedText<64> {
    let mut buf = [0u8; 64];
    FixedText::format(format_args!("{}", crate::sys::strerror_r(errno, &mut buf)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_texts_match_strerror() {
        assert_eq!(strerror(libc::ESRCH).as_str(), "No such process");
        assert_eq!(strerror(libc::EINVAL).as_str(), "Invalid argument");
    }
}
