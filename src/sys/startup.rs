//! Start-up hardening, as AOSP lmkd does it before entering its loop: all memory locked, and the
//! main thread real-time, so that the killer itself is never paged out or starved exactly when
//! memory is short.

use rustix::mm::{mlockall, MlockAllFlags};

/// What [`harden`] achieved.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Hardening {
    /// `mlockall` succeeded (with or without `MCL_ONFAULT`).
    pub locked: bool,
    /// The calling thread runs `SCHED_FIFO` at priority 1.
    pub realtime: bool,
}

/// `mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT)` (without `MCL_ONFAULT` on kernels that
/// reject it with `EINVAL`), then `sched_setscheduler(0, SCHED_FIFO, 1)` for the calling
/// thread. Failures are only logged as warnings, as in AOSP. Threads started earlier keep their
/// policy; the reapers set theirs explicitly.
pub fn harden() -> Hardening {
    let mut h = Hardening::default();
    let all = MlockAllFlags::CURRENT | MlockAllFlags::FUTURE;
    match mlockall(all | MlockAllFlags::ONFAULT) {
        Ok(()) => h.locked = true,
        Err(rustix::io::Errno::INVAL) => match mlockall(all) {
            Ok(()) => h.locked = true,
            Err(e) => log::warn!("mlockall failed: {e}"),
        },
        Err(e) => log::warn!("mlockall failed: {e}"),
    }
    match super::sched_setscheduler(0, super::SCHED_FIFO, 1) {
        Ok(()) => h.realtime = true,
        Err(e) => log::warn!("set SCHED_FIFO failed: {e}"),
    }
    h
}
