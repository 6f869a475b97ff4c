//! Resource limits.

use std::io;

/// The open-file limit after [`raise_nofile_limit`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NofileLimit {
    /// The soft limit now in force.
    pub soft: u64,
    /// The hard limit.
    pub hard: u64,
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit and returns both.
///
/// The registry keeps one pidfd (and, within a budget, one `oom_score_adj` descriptor) per
/// registered process, so the daemon wants as many descriptors as it is allowed.
/// See [getrlimit(2)](https://man7.org/linux/man-pages/man2/getrlimit.2.html).
pub fn raise_nofile_limit() -> io::Result<NofileLimit> {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: `lim` is a valid, writable rlimit struct for the duration of the call.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return Err(io::Error::last_os_error());
    }
    if lim.rlim_cur < lim.rlim_max {
        let raised = libc::rlimit { rlim_cur: lim.rlim_max, rlim_max: lim.rlim_max };
        // SAFETY: `raised` is a valid rlimit struct that the kernel only reads.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            lim.rlim_cur = lim.rlim_max;
        }
    }
    #[allow(clippy::useless_conversion)] // rlim_t is u64 on LP64 and u32 elsewhere
    Ok(NofileLimit { soft: u64::from(lim.rlim_cur), hard: u64::from(lim.rlim_max) })
}
