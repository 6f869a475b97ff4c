//! Scheduling of threads: policy and nice value (rustix has neither in AOSP's build).

use std::io;

// The policy numbers are the kernel's ABI (include/uapi/linux/sched.h), the same on every
// architecture; libc names them differently for glibc and bionic.
/// `SCHED_OTHER` (`SCHED_NORMAL`), the normal time-sharing policy.
pub const SCHED_OTHER: i32 = 0;
/// `SCHED_FIFO`, real-time first-in first-out.
pub const SCHED_FIFO: i32 = 1;
/// `SCHED_BATCH`.
pub const SCHED_BATCH: i32 = 3;
/// `SCHED_IDLE`: runs only when nothing else wants the CPU.
pub const SCHED_IDLE: i32 = 5;

/// `sched_setscheduler(tid, policy, {priority})` for one thread (0 = the calling thread).
/// See [sched_setscheduler(2)](https://man7.org/linux/man-pages/man2/sched_setscheduler.2.html).
pub fn sched_setscheduler(tid: i32, policy: i32, priority: i32) -> io::Result<()> {
    let param = libc::sched_param { sched_priority: priority };
    // SAFETY: `param` is a valid sched_param that the kernel only reads.
    if unsafe { libc::sched_setscheduler(tid, policy, &param) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `sched_getscheduler(tid)`: the policy of one thread.
pub fn sched_getscheduler(tid: i32) -> io::Result<i32> {
    // SAFETY: takes and returns integers only.
    let r = unsafe { libc::sched_getscheduler(tid) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(r)
}

/// `setpriority(PRIO_PROCESS, tid, nice)`: the nice value of one thread (Linux applies
/// PRIO_PROCESS to the thread id given; 0 = the calling thread).
/// See [setpriority(2)](https://man7.org/linux/man-pages/man2/setpriority.2.html).
pub fn setpriority(tid: i32, nice: i32) -> io::Result<()> {
    let who = libc::id_t::try_from(tid).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: integer arguments only. The `which` argument's C type differs between glibc and
    // bionic, hence the inferred cast.
    if unsafe { libc::setpriority(libc::PRIO_PROCESS as _, who, nice) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `getpriority(PRIO_PROCESS, tid)`: the nice value of one thread.
pub fn getpriority(tid: i32) -> io::Result<i32> {
    let who = libc::id_t::try_from(tid).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    // getpriority can legitimately return -1, so errno is cleared and checked.
    // SAFETY: errno is a thread-local int that libc lets callers write.
    unsafe { *errno_location() = 0 };
    // SAFETY: integer arguments only.
    let r = unsafe { libc::getpriority(libc::PRIO_PROCESS as _, who) };
    let err = io::Error::last_os_error();
    if r == -1 && err.raw_os_error().unwrap_or(0) != 0 {
        return Err(err);
    }
    Ok(r)
}

#[cfg(target_os = "android")]
fn errno_location() -> *mut libc::c_int {
    // SAFETY: bionic's __errno returns the calling thread's errno slot.
    unsafe { libc::__errno() }
}

#[cfg(not(target_os = "android"))]
fn errno_location() -> *mut libc::c_int {
    // SAFETY: glibc's __errno_location returns the calling thread's errno slot.
    unsafe { libc::__errno_location() }
}
