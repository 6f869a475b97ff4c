//! Android-only C entry points (built with `cfg(aosp_build)`, i.e. by Soong only): liblog's
//! binary event writer and libprocessgroup's C scheduling-policy calls.
#![cfg(aosp_build)]

use std::io;

/// libprocessgroup's `SchedPolicy` values used here.
pub mod sched_policy {
    /// `SP_BACKGROUND`: the background cpuset (the little cores on big.LITTLE devices).
    pub const SP_BACKGROUND: i32 = 0;
    /// `SP_FOREGROUND`: the foreground cpuset and cpu group.
    pub const SP_FOREGROUND: i32 = 1;
}

extern "C" {
    fn __android_log_bwrite(
        tag: i32,
        payload: *const libc::c_void,
        len: libc::size_t,
    ) -> libc::c_int;
    fn set_cpuset_policy(tid: libc::c_int, policy: libc::c_int) -> libc::c_int;
    fn set_sched_policy(tid: libc::c_int, policy: libc::c_int) -> libc::c_int;
}

/// Writes a binary event (`LOG_ID_EVENTS`) with `tag`.
pub fn log_event(tag: i32, payload: &[u8]) -> io::Result<()> {
    // SAFETY: the pointer and length describe `payload`, which liblog only reads during the call.
    let r = unsafe { __android_log_bwrite(tag, payload.as_ptr().cast(), payload.len()) };
    if r < 0 {
        return Err(io::Error::from_raw_os_error(-r));
    }
    Ok(())
}

/// Moves thread `tid` to the cpuset of `policy` (libprocessgroup's task profiles underneath).
pub fn cpuset_policy(tid: i32, policy: i32) -> io::Result<()> {
    // SAFETY: integer arguments only.
    let r = unsafe { set_cpuset_policy(tid, policy) };
    if r != 0 {
        return Err(io::Error::from_raw_os_error(-r));
    }
    Ok(())
}

/// Moves thread `tid` to the scheduling group of `policy`.
pub fn sched_group(tid: i32, policy: i32) -> io::Result<()> {
    // SAFETY: integer arguments only.
    let r = unsafe { set_sched_policy(tid, policy) };
    if r != 0 {
        return Err(io::Error::from_raw_os_error(-r));
    }
    Ok(())
}

/// Takes ownership of the descriptors init passed in (librustutils' inherited-fd table), so that
/// `control_socket` can hand the `lmkd` socket out as an `OwnedFd`. Must run first in `main`,
/// before anything else in the process opens or adopts a descriptor.
pub fn claim_inherited_fds() -> io::Result<()> {
    // SAFETY: called once, as the first statement of `main`, before any file descriptor other
    // than stdio has an owner in this process (the function's documented requirement).
    unsafe { rustutils::inherited_fd::init_once() }
}

/// The `lmkd` socket init created (`socket lmkd seqpacket+passcred ...` in the rc file), through
/// librustutils (`ANDROID_SOCKET_lmkd`, checked by libcutils against `/dev/socket/lmkd`).
pub fn control_socket(name: &str) -> Option<std::os::fd::OwnedFd> {
    match rustutils::sockets::android_get_control_socket(name) {
        Ok(fd) => Some(fd),
        Err(e) => {
            log::warn!("no init socket \"{name}\": {e}");
            None
        }
    }
}
