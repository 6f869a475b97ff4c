//! PSI triggers (kernel `Documentation/accounting/psi.rst`, "Userspace monitors").
//!
//! A trigger is the string `"<some|full> <stall µs> <window µs>"` written, **with its trailing
//! NUL**, to a pressure file opened for writing (the kernel replaces the last byte written with
//! NUL, so a string written without one loses its last digit). The descriptor then reports
//! `EPOLLPRI` at most once per window while the stall threshold is exceeded. Closing it removes
//! the trigger.

use std::fmt::Write as _;
use std::fs::OpenOptions;
use std::io::{self, Write};
use std::os::fd::OwnedFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Which stall a trigger measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stall {
    /// Some tasks stalled.
    Some,
    /// All non-idle tasks stalled at once.
    Full,
}

/// A trigger's parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Trigger {
    /// `some` or `full`.
    pub stall: Stall,
    /// Stall time within the window that fires the trigger, in ms.
    pub threshold_ms: u64,
    /// The window, in ms.
    pub window_ms: u64,
}

impl Trigger {
    /// The text written to the pressure file, with its trailing NUL.
    pub fn text(&self) -> String {
        let mut s = String::new();
        let kind = match self.stall {
            Stall::Some => "some",
            Stall::Full => "full",
        };
        let _ = write!(s, "{kind} {} {}\0", self.threshold_ms * 1000, self.window_ms * 1000);
        s
    }

    /// The same stall fraction in another window (the fallback keeps AOSP's sensitivity:
    /// 70 ms per 1 s becomes 140 ms per 2 s).
    pub fn scaled_to(&self, window_ms: u64) -> Trigger {
        let threshold_ms =
            (self.threshold_ms * window_ms / self.window_ms.max(1)).clamp(1, window_ms);
        Trigger { stall: self.stall, threshold_ms, window_ms }
    }
}

/// The window the kernel accepts from a task without `CAP_SYS_RESOURCE` (a multiple of 2 s).
pub const UNPRIVILEGED_WINDOW_MS: u64 = 2000;

/// Writes `t` to the pressure file at `path` and returns the trigger's descriptor.
pub fn register(path: &Path, t: &Trigger) -> io::Result<OwnedFd> {
    if let Some(e) = crate::fault::check(crate::fault::Site::Psi, "").and_then(|f| f.error()) {
        return Err(e);
    }
    let mut f = OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)?;
    f.write_all(t.text().as_bytes())?;
    Ok(f.into())
}

/// Registers `t`; when the kernel refuses its window with `EINVAL` (no `CAP_SYS_RESOURCE`),
/// retries with the 2 s window, scaled, and reports that with `Ok((fd, Some(used)))`.
pub fn register_with_fallback(path: &Path, t: &Trigger) -> io::Result<(OwnedFd, Option<Trigger>)> {
    match register(path, t) {
        Ok(fd) => Ok((fd, None)),
        Err(e)
            if e.raw_os_error() == Some(libc::EINVAL)
                && !t.window_ms.is_multiple_of(UNPRIVILEGED_WINDOW_MS) =>
        {
            let fallback = t.scaled_to(UNPRIVILEGED_WINDOW_MS);
            register(path, &fallback).map(|fd| (fd, Some(fallback)))
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trigger_text_keeps_its_nul() {
        let t = Trigger { stall: Stall::Some, threshold_ms: 70, window_ms: 1000 };
        assert_eq!(t.text(), "some 70000 1000000\0");
        let f = Trigger { stall: Stall::Full, threshold_ms: 700, window_ms: 1000 };
        assert_eq!(f.text(), "full 700000 1000000\0");
        assert_eq!(
            t.scaled_to(2000),
            Trigger { stall: Stall::Some, threshold_ms: 140, window_ms: 2000 }
        );
        assert_eq!(f.scaled_to(2000).threshold_ms, 1400);
    }

    #[test]
    fn a_trigger_registers_on_this_kernel() {
        let path = Path::new("/proc/pressure/memory");
        if !path.exists() {
            return;
        }
        let t = Trigger { stall: Stall::Some, threshold_ms: 150, window_ms: 1000 };
        match register_with_fallback(path, &t) {
            Ok((_fd, used)) => {
                if let Some(u) = used {
                    assert_eq!(u.window_ms, 2000);
                }
            }
            // Not root: the pressure files are not writable.
            Err(e) => {
                assert!(matches!(e.raw_os_error(), Some(libc::EACCES) | Some(libc::EPERM)), "{e}")
            }
        }
    }
}
