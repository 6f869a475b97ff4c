//! `process_mrelease(2)`: release the memory of a dying process from the caller's context.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

use super::cvt;

/// The kill-and-reap flag proposed upstream (`PROCESS_MRELEASE_REAP_KILL`, 2026, not merged
/// when this was written): the call sends SIGKILL itself after pinning the victim's mm. The
/// value is the proposal's; it is only ever used after [`probe`] found the kernel accepts it.
pub const PROCESS_MRELEASE_REAP_KILL: u32 = 1;

/// `process_mrelease(pidfd, flags)`: reaps the private anonymous memory of the process behind
/// `pidfd`, which must already be dying (SIGKILL sent), in the caller's context — on the
/// caller's CPU, at the caller's priority.
///
/// Errors: `EINVAL` (not dying, or its mm is shared with a live process), `ESRCH` (it already
/// left its mm), `EAGAIN` (part of the address space could not be released yet), `EINTR`.
/// See [process_mrelease(2)](https://man7.org/linux/man-pages/man2/process_mrelease.2.html).
pub fn process_mrelease(pidfd: BorrowedFd<'_>, flags: u32) -> io::Result<()> {
    // SAFETY: two integer arguments; the fd is borrowed for the duration of the call.
    cvt(unsafe { libc::syscall(libc::SYS_process_mrelease, pidfd.as_raw_fd(), flags) }).map(drop)
}

/// What the kernel offers, probed at start-up without touching any process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MreleaseSupport {
    /// `process_mrelease` exists (`ENOSYS` otherwise).
    pub available: bool,
    /// The kernel accepts [`PROCESS_MRELEASE_REAP_KILL`].
    pub reap_kill: bool,
}

/// Probes with an invalid descriptor: `EBADF` means the call (and, with a flag, that flag) is
/// understood; `ENOSYS` means no syscall; `EINVAL` for the flagged call means an unknown flag
/// (the kernel checks flags before the descriptor).
pub fn probe() -> MreleaseSupport {
    if let Some(crate::fault::Action::Errno(e)) =
        crate::fault::check(crate::fault::Site::Mrelease, "probe")
    {
        return MreleaseSupport { available: e != libc::ENOSYS, reap_kill: false };
    }
    let call = |flags: u32| -> Option<i32> {
        // SAFETY: an invalid descriptor (-1) makes the kernel fail the call before it acts.
        let r = unsafe { libc::syscall(libc::SYS_process_mrelease, -1i32, flags) };
        (r < 0).then(|| io::Error::last_os_error().raw_os_error().unwrap_or(0))
    };
    let available = call(0) != Some(libc::ENOSYS);
    let reap_kill = available && call(PROCESS_MRELEASE_REAP_KILL) == Some(libc::EBADF);
    MreleaseSupport { available, reap_kill }
}
