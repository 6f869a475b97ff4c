//! Catching Ctrl-C for the host tools (`lmkd demo`), so that they clean up before exiting.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    // Only an atomic store: async-signal-safe.
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// Installs a handler for `SIGINT`, `SIGTERM` and `SIGHUP` that only records the signal (see
/// [`interrupted`]); system calls it interrupts fail with `EINTR`.
/// See [sigaction(2)](https://man7.org/linux/man-pages/man2/sigaction.2.html).
pub fn catch_interrupts() -> io::Result<()> {
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: a zeroed sigaction is valid (no flags, empty mask); the handler is an
        // `extern "C" fn(c_int)` that only stores to an atomic, which is async-signal-safe.
        let r = unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, std::ptr::null_mut())
        };
        if r != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Whether this process runs as root (effective uid 0).
/// See [geteuid(2)](https://man7.org/linux/man-pages/man2/geteuid.2.html).
pub fn is_root() -> bool {
    // SAFETY: geteuid takes no arguments, has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Whether one of the signals [`catch_interrupts`] catches has arrived.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}
