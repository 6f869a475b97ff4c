//! The only module allowed to contain `unsafe` code.
//!
//! Every wrapper here is shaped like rustix's: one function per system call, named after it,
//! `BorrowedFd`/`AsFd` in, `OwnedFd` or `io::Result` out, with the C call and man page in the
//! doc comment. rustix covers most of what the daemon needs; this module adds what AOSP's
//! `librustix` build lacks (it has no `process` and no `time` feature) and what rustix does not
//! wrap at all (`process_mrelease`, `sched_setscheduler`).
//!
//! Every `unsafe` block carries a `// SAFETY:` line that states the invariant it relies on.
#![allow(unsafe_code)]

#[cfg(not(aosp_build))]
mod alloc_count;
#[cfg(aosp_build)]
pub mod android;
pub mod bpf;
mod mrelease;
mod pidfd;
mod resource;
mod sched;
mod signal;
mod socket;
mod startup;
pub mod trace_marker;

#[cfg(not(aosp_build))]
pub use alloc_count::{count_allocations, CountingAlloc};
pub use mrelease::{
    probe as probe_mrelease, process_mrelease, MreleaseSupport, PROCESS_MRELEASE_REAP_KILL,
};
pub use pidfd::{pidfd_is_dead, pidfd_open, pidfd_send_signal};
pub use resource::{raise_nofile_limit, NofileLimit};
pub use sched::{
    getpriority, sched_getscheduler, sched_setscheduler, setpriority, SCHED_BATCH, SCHED_FIFO,
    SCHED_IDLE, SCHED_OTHER,
};
pub use signal::{catch_interrupts, interrupted, is_root};
pub use socket::{control_socket_from_env, recvmsg_creds, Creds, Received};
pub use startup::{harden, Hardening};

/// Converts a raw `syscall(2)` return value into an `io::Result`.
fn cvt(ret: libc::c_long) -> std::io::Result<libc::c_long> {
    if ret < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// `strerror_r(3)`, the POSIX one: the C library's text for `errno`, written into `buf`, with
/// no allocation (`std::io::Error`'s `Display` allocates a `String` for it). Unknown numbers
/// give the C library's "Unknown error N".
pub fn strerror_r(errno: i32, buf: &mut [u8; 64]) -> &str {
    // SAFETY: `buf` is writable for its full length, which is passed; the POSIX variant writes
    // at most that many bytes including the terminating NUL (glibc links `__xpg_strerror_r`).
    let rc = unsafe { libc::strerror_r(errno, buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return "Unknown error";
    }
    let len = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    std::str::from_utf8(&buf[..len]).unwrap_or("Unknown error")
}
