//! pidfd system calls: `pidfd_open(2)` and `pidfd_send_signal(2)`.
//!
//! rustix wraps these only for `target_os = "linux"` and only with its `process` feature, which
//! AOSP does not build, so they are raw `libc::syscall`s here (the numbers exist in libc for
//! both Linux and Android).

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use rustix::event::{poll, PollFd, PollFlags, Timespec};

use super::cvt;

/// `pidfd_open(pid, 0)`: a file descriptor that refers to the process `pid`.
///
/// The descriptor keeps referring to the same process even after its pid number is reused,
/// becomes readable when the process exits, and is closed on exec.
/// See [pidfd_open(2)](https://man7.org/linux/man-pages/man2/pidfd_open.2.html).
///
/// Fails with `EINVAL` for a thread that is not a thread-group leader and with `ESRCH` for a
/// pid that does not exist.
pub fn pidfd_open(pid: i32) -> io::Result<OwnedFd> {
    // SAFETY: pidfd_open takes two integers and touches no memory of ours.
    let fd = cvt(unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0u32) })?;
    let fd = RawFd::try_from(fd).map_err(|_| io::Error::from_raw_os_error(libc::EBADF))?;
    // SAFETY: the kernel just returned this descriptor to us; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `pidfd_send_signal(pidfd, sig, NULL, 0)`: sends `sig` to the process behind `pidfd`.
///
/// Unlike `kill(2)` this can never reach a process that reused the pid number.
/// See [pidfd_send_signal(2)](https://man7.org/linux/man-pages/man2/pidfd_send_signal.2.html).
pub fn pidfd_send_signal(pidfd: BorrowedFd<'_>, sig: i32) -> io::Result<()> {
    if let Some(e) = crate::fault::check(crate::fault::Site::Signal, "").and_then(|f| f.error()) {
        return Err(e);
    }
    // SAFETY: a NULL siginfo pointer is allowed and means "as if sent by kill(2)"; the fd is
    // borrowed for the duration of the call.
    cvt(unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            sig,
            std::ptr::null::<libc::siginfo_t>(),
            0u32,
        )
    })
    .map(drop)
}

/// Whether the process behind `pidfd` has exited (its pidfd polls readable).
///
/// A zombie counts as exited: it holds no memory and cannot be signalled usefully.
pub fn pidfd_is_dead(pidfd: impl AsFd) -> io::Result<bool> {
    let mut fds = [PollFd::new(&pidfd, PollFlags::IN)];
    let zero = Timespec { tv_sec: 0, tv_nsec: 0 };
    let ready = poll(&mut fds, Some(&zero))?;
    Ok(ready > 0 && !fds[0].revents().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::{Command, Stdio};

    #[test]
    fn pidfd_follows_a_child_until_it_dies() {
        let mut child = Command::new("sleep").arg("30").stdin(Stdio::null()).spawn().unwrap();
        let pid = i32::try_from(child.id()).unwrap();
        let fd = pidfd_open(pid).expect("pidfd_open of a live child");
        assert!(!pidfd_is_dead(&fd).unwrap());
        pidfd_send_signal(fd.as_fd(), libc::SIGKILL).unwrap();
        child.wait().unwrap();
        assert!(pidfd_is_dead(&fd).unwrap());
        let err = pidfd_send_signal(fd.as_fd(), libc::SIGKILL).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ESRCH));
    }

    #[test]
    fn pidfd_open_of_a_missing_pid_fails() {
        // pid_max is at most 2^22 on Linux, so this pid cannot exist.
        let err = pidfd_open(i32::MAX).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ESRCH));
    }
}
