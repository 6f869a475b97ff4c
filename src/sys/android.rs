//! Android-only C entry points (built with `cfg(aosp_build)`, i.e. by Soong only): liblog's
//! binary event writer, libprocessgroup's C scheduling-policy calls and its C wrapper for
//! task profiles.
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
    // libprocessgroup's one C entry point for task profiles (processgroup.cpp, "C wrapper for
    // SetProcessProfiles", exported since Android 13 for crosvm; not in a header).
    fn android_set_process_profiles(
        uid: libc::uid_t,
        pid: libc::pid_t,
        num_profiles: libc::size_t,
        profiles: *const *const libc::c_char,
    ) -> bool;
}

/// Most profiles [`set_process_profiles`] passes in one call.
pub const MAX_PROFILES: usize = 4;

/// Applies the task profiles `profiles` (names from `task_profiles.json`) to every thread of
/// process `pid` of `uid`: libprocessgroup's `SetProcessProfiles` through its C wrapper
/// `android_set_process_profiles`. `false` when a profile is unknown or could not be applied
/// (the process may have exited), or when more than [`MAX_PROFILES`] are given.
pub fn set_process_profiles(uid: u32, pid: i32, profiles: &[&std::ffi::CStr]) -> bool {
    if profiles.len() > MAX_PROFILES {
        return false;
    }
    let mut names = [std::ptr::null::<libc::c_char>(); MAX_PROFILES];
    for (slot, p) in names.iter_mut().zip(profiles) {
        *slot = p.as_ptr();
    }
    // SAFETY: `names` holds `profiles.len()` pointers to NUL-terminated strings borrowed from
    // `profiles`, which outlive the call; libprocessgroup only reads them (it copies each into
    // a string_view list) during the call.
    unsafe { android_set_process_profiles(uid, pid, profiles.len(), names.as_ptr()) }
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
