//! Fault injection, for tests: the kernel-facing layer can be made to fail on demand, so that
//! tests can prove how the daemon degrades. Nothing is armed unless a test arms it — the daemon
//! accepts faults only when started with `--test-hooks` (from `LMKD_FAULTS`, or later through
//! `LMK_EXT_TEST_FAULTS`) — and while nothing is armed every check is one relaxed atomic load.
//!
//! A fault specification is a list separated by `;`, each entry `site[@target]=action[*count]`:
//!
//! | site | where it strikes | target (a substring) |
//! |---|---|---|
//! | `read` | a read of a kernel file the daemon keeps open (`memory::KernelFile`) | the file: `/proc/meminfo`, `/proc/vmstat`, `/proc/zoneinfo`, `memory.stat`, ... |
//! | `pid-read` | a read of `/proc/<pid>/<file>` (registration, victims) | the path, e.g. `/proc/123/cmdline`, or just `cmdline` |
//! | `adj-write` | a write of `oom_score_adj` | — |
//! | `signal` | `pidfd_send_signal`, and writing a group's `cgroup.kill` | `cgroup.kill` (only the group kill; without a target, both) |
//! | `mrelease` | `process_mrelease` | `probe` (the start-up probe) or `reap` |
//! | `psi` | registering a PSI trigger | — |
//! | `psi-event` | a PSI wake-up (it arrives as an error, `EPOLLERR`) | — |
//! | `pidfd-wait` | waiting for a killed process's pidfd (it never signals) | — |
//! | `accept` | accepting a connection on the control socket | — |
//!
//! Actions: an errno name (`ENOENT`, `EINTR`, `EAGAIN`, `ENOMEM`, `EIO`, `EINVAL`, `ENOSYS`,
//! `EPERM`, `EACCES`, `ESRCH`, `EMFILE`), `truncate:N` (reads return at most N bytes), or `on` (for
//! `psi-event` and `pidfd-wait`). `*count` limits how many times the fault strikes; without it
//! it strikes until replaced. `EINTR` needs a count (the readers retry it, as they must).
//! An empty specification disarms everything.
//!
//! Device builds (`cfg(aosp_build)`) have the sites and nothing else: [`check`] is a constant
//! `None` there, and the installer is not compiled in.

#[cfg(not(aosp_build))]
use std::sync::atomic::{AtomicBool, Ordering};
#[cfg(not(aosp_build))]
use std::sync::Mutex;

/// Where a fault strikes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Site {
    /// A read of a kept-open kernel file.
    Read,
    /// A read of a `/proc/<pid>` file.
    PidRead,
    /// A write of `oom_score_adj`.
    AdjWrite,
    /// `pidfd_send_signal`.
    Signal,
    /// `process_mrelease`.
    Mrelease,
    /// Registering a PSI trigger.
    Psi,
    /// A PSI wake-up.
    PsiEvent,
    /// Waiting for a killed process's pidfd.
    PidfdWait,
    /// Accepting a connection.
    Accept,
}

#[cfg(not(aosp_build))]
impl Site {
    fn parse(s: &str) -> Option<Site> {
        Some(match s {
            "read" => Site::Read,
            "pid-read" => Site::PidRead,
            "adj-write" => Site::AdjWrite,
            "signal" => Site::Signal,
            "mrelease" => Site::Mrelease,
            "psi" => Site::Psi,
            "psi-event" => Site::PsiEvent,
            "pidfd-wait" => Site::PidfdWait,
            "accept" => Site::Accept,
            _ => return None,
        })
    }
}

/// What a fault does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// The call fails with this errno.
    Errno(i32),
    /// A read returns at most this many bytes.
    Truncate(usize),
    /// The site's event is changed (an error wake-up; a pidfd that never signals).
    On,
}

impl Action {
    #[cfg(not(aosp_build))]
    fn parse(s: &str) -> Option<Action> {
        if let Some(n) = s.strip_prefix("truncate:") {
            return n.parse().ok().map(Action::Truncate);
        }
        let errno = match s {
            "on" => return Some(Action::On),
            "ENOENT" => libc::ENOENT,
            "EINTR" => libc::EINTR,
            "EAGAIN" => libc::EAGAIN,
            "ENOMEM" => libc::ENOMEM,
            "EIO" => libc::EIO,
            "EINVAL" => libc::EINVAL,
            "ENOSYS" => libc::ENOSYS,
            "EPERM" => libc::EPERM,
            "EACCES" => libc::EACCES,
            "ESRCH" => libc::ESRCH,
            "EMFILE" => libc::EMFILE,
            _ => return None,
        };
        Some(Action::Errno(errno))
    }

    /// The error for an `Errno` action.
    pub fn error(self) -> Option<std::io::Error> {
        match self {
            Action::Errno(e) => Some(std::io::Error::from_raw_os_error(e)),
            _ => None,
        }
    }
}

#[cfg(not(aosp_build))]
#[derive(Clone, Debug, PartialEq, Eq)]
struct Fault {
    site: Site,
    target: String,
    action: Action,
    remaining: Option<u32>,
}

#[cfg(not(aosp_build))]
static ARMED: AtomicBool = AtomicBool::new(false);
#[cfg(not(aosp_build))]
static FAULTS: Mutex<Vec<Fault>> = Mutex::new(Vec::new());

/// Whether `site` (for `target`) should fail now, and how. One atomic load when nothing is
/// armed; nothing at all in device builds, which have no test hooks.
#[cfg(aosp_build)]
#[inline(always)]
pub fn check(_site: Site, _target: &str) -> Option<Action> {
    None
}

/// Whether `site` (for `target`) should fail now, and how. One atomic load when nothing is
/// armed; nothing at all in device builds, which have no test hooks.
#[cfg(not(aosp_build))]
#[inline]
pub fn check(site: Site, target: &str) -> Option<Action> {
    if !ARMED.load(Ordering::Relaxed) {
        return None;
    }
    check_armed(site, target)
}

#[cfg(not(aosp_build))]
#[cold]
fn check_armed(site: Site, target: &str) -> Option<Action> {
    let mut faults = FAULTS.lock().unwrap_or_else(|e| e.into_inner());
    let i = faults.iter().position(|f| f.site == site && target.contains(f.target.as_str()))?;
    let action = faults[i].action;
    if let Some(n) = &mut faults[i].remaining {
        *n -= 1;
        if *n == 0 {
            faults.remove(i);
            if faults.is_empty() {
                ARMED.store(false, Ordering::Relaxed);
            }
        }
    }
    Some(action)
}

/// Arms `spec` for the `LMK_EXT_TEST_FAULTS` hook and logs what came of it.
#[cfg(not(aosp_build))]
pub fn install_logged(spec: &str) {
    match install(spec) {
        Ok(n) => log::warn!("test hook: {n} faults armed: {spec:?}"),
        Err(e) => log::error!("test hook: bad fault specification: {e}"),
    }
}

/// Device builds have no fault installer: the hook is refused with a log line.
#[cfg(aosp_build)]
pub fn install_logged(spec: &str) {
    log::error!("test hook: no fault injection in device builds; {spec:?} ignored");
}

/// Replaces the armed faults with `spec` (see the module documentation). Returns how many
/// were armed, or what is wrong with the specification (then nothing changes).
#[cfg(not(aosp_build))]
pub fn install(spec: &str) -> Result<usize, String> {
    let mut parsed = Vec::new();
    for entry in spec.split(';').map(str::trim).filter(|e| !e.is_empty()) {
        let (lhs, rhs) = entry.split_once('=').ok_or_else(|| format!("{entry}: no '='"))?;
        let (site, target) = lhs.split_once('@').unwrap_or((lhs, ""));
        let site = Site::parse(site).ok_or_else(|| format!("{entry}: unknown site {site:?}"))?;
        let (action, count) = match rhs.split_once('*') {
            Some((a, n)) => {
                let n: u32 = n.parse().map_err(|_| format!("{entry}: bad count {n:?}"))?;
                if n == 0 {
                    return Err(format!("{entry}: a count must be at least 1"));
                }
                (a, Some(n))
            }
            None => (rhs, None),
        };
        let action =
            Action::parse(action).ok_or_else(|| format!("{entry}: unknown action {action:?}"))?;
        if action == Action::Errno(libc::EINTR) && count.is_none() {
            return Err(format!("{entry}: EINTR needs a count (readers retry it)"));
        }
        parsed.push(Fault { site, target: target.to_owned(), action, remaining: count });
    }
    let n = parsed.len();
    let mut faults = FAULTS.lock().unwrap_or_else(|e| e.into_inner());
    *faults = parsed;
    ARMED.store(n > 0, Ordering::Relaxed);
    Ok(n)
}

#[cfg(all(test, not(aosp_build)))]
mod tests {
    use super::*;

    /// The whole table is global, so one test walks through it in order, with targets that
    /// no other test's reads or calls can contain (tests run in parallel).
    #[test]
    fn specs_arm_match_count_down_and_disarm() {
        let (mi, vm) = ("zz-fault/meminfo", "zz-fault/vmstat");
        assert_eq!(check(Site::Read, mi), None);
        assert!(install(
            "read@zz-fault/meminfo=ENOENT*2; mrelease@zz-fault-reap=EAGAIN; psi-event@zz-fault=on"
        )
        .is_ok());
        assert_eq!(check(Site::Read, vm), None);
        assert_eq!(check(Site::Read, mi), Some(Action::Errno(libc::ENOENT)));
        assert_eq!(check(Site::Read, mi), Some(Action::Errno(libc::ENOENT)));
        assert_eq!(check(Site::Read, mi), None, "count used up");
        assert_eq!(check(Site::Mrelease, "zz-fault-probe"), None);
        assert_eq!(check(Site::Mrelease, "zz-fault-reap"), Some(Action::Errno(libc::EAGAIN)));
        assert_eq!(check(Site::Mrelease, "zz-fault-reap"), Some(Action::Errno(libc::EAGAIN)));
        assert_eq!(check(Site::PsiEvent, "zz-fault"), Some(Action::On));
        assert!(install("pid-read@zz-fault/cmdline=truncate:3*1").is_ok());
        assert_eq!(check(Site::Mrelease, "zz-fault-reap"), None, "replaced");
        assert_eq!(check(Site::PidRead, "zz-fault/cmdline"), Some(Action::Truncate(3)));
        assert!(!ARMED.load(Ordering::Relaxed), "the last count disarms");
        // Bad specifications change nothing.
        assert!(install("read@zz-fault=ENOENT").is_ok());
        for bad in ["read", "nowhere=ENOENT", "read=EWHAT", "read=EINTR", "read=ENOENT*0"] {
            assert!(install(bad).is_err(), "{bad}");
        }
        assert_eq!(check(Site::Read, "zz-fault/x"), Some(Action::Errno(libc::ENOENT)));
        assert_eq!(install(""), Ok(0));
        assert_eq!(check(Site::Read, "zz-fault/x"), None);
    }
}
