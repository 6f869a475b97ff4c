//! The control socket handed over by init.

use std::os::fd::{FromRawFd, OwnedFd, RawFd};

/// Takes the socket that init created for service socket `name`.
///
/// init creates the socket, clears `FD_CLOEXEC` and exports its number as
/// `ANDROID_SOCKET_<name>` (what libcutils' `android_get_control_socket` reads). Returns `None`
/// when the variable is absent, not a number, or names a descriptor that is not open. The
/// descriptor is marked close-on-exec again so it does not leak into children, and the variable
/// is removed so that the descriptor gets exactly one owner. Call it while single-threaded.
pub fn control_socket_from_env(name: &str) -> Option<OwnedFd> {
    let var = format!("ANDROID_SOCKET_{name}");
    let fd: RawFd = std::env::var(&var).ok()?.trim().parse().ok()?;
    // Taken at most once: a second call must not create a second owner of the same number.
    std::env::remove_var(&var);
    if fd < 0 {
        return None;
    }
    // SAFETY: F_GETFD only reads the descriptor table; it fails with EBADF for a closed fd.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
    if flags < 0 {
        return None;
    }
    // SAFETY: F_SETFD with FD_CLOEXEC only changes a flag of an open descriptor.
    unsafe { libc::fcntl(fd, libc::F_SETFD, flags | libc::FD_CLOEXEC) };
    // SAFETY: the descriptor is open (checked above) and was created for us by our parent; by
    // the init contract nothing else in this process owns it.
    Some(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Credentials the kernel attached to a received message (`SCM_CREDENTIALS`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Creds {
    /// Sender's process id (its thread-group id) as seen from this pid namespace; 0 when the
    /// sender is not visible here.
    pub pid: i32,
    /// Sender's uid.
    pub uid: u32,
    /// Sender's gid.
    pub gid: u32,
}

/// One received `SOCK_SEQPACKET` message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Received {
    /// Length of the message as sent (may exceed the buffer).
    pub len: usize,
    /// Whether the message was longer than the buffer and was cut.
    pub truncated: bool,
    /// The sender's credentials, if the kernel attached them.
    pub creds: Option<Creds>,
    /// Descriptors the sender passed and this call closed (they are never kept).
    pub fds_dropped: usize,
}

/// `recvmsg(fd, …, MSG_DONTWAIT | MSG_TRUNC | MSG_CMSG_CLOEXEC)` with room for one
/// `SCM_CREDENTIALS` control message.
///
/// rustix offers this too, but it reads the credentials into a type whose pid may not be 0,
/// and a sender outside this pid namespace arrives with pid 0, so the control message is
/// parsed here. Any `SCM_RIGHTS` descriptors a client sends are closed at once.
/// See [recvmsg(2)](https://man7.org/linux/man-pages/man2/recvmsg.2.html) and
/// [unix(7)](https://man7.org/linux/man-pages/man7/unix.7.html).
pub fn recvmsg_creds(fd: std::os::fd::BorrowedFd<'_>, buf: &mut [u8]) -> std::io::Result<Received> {
    use std::os::fd::AsRawFd;
    // u64 elements give the control buffer the alignment of `struct cmsghdr`.
    let mut control = [0u64; 16];
    let mut iov = libc::iovec { iov_base: buf.as_mut_ptr().cast(), iov_len: buf.len() };
    // SAFETY: msghdr is plain old data; an all-zero value is a valid empty header.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&control) as _;
    let flags = libc::MSG_DONTWAIT | libc::MSG_TRUNC | libc::MSG_CMSG_CLOEXEC;
    // SAFETY: `msg` points at `iov` (covering `buf`) and at `control`; all three outlive the
    // call and the kernel writes only within the lengths given.
    let n = unsafe { libc::recvmsg(fd.as_raw_fd(), &mut msg, flags) };
    if n < 0 {
        return Err(std::io::Error::last_os_error());
    }
    let len = usize::try_from(n).unwrap_or(0);
    let mut out = Received {
        len,
        truncated: len > buf.len() || msg.msg_flags & libc::MSG_TRUNC != 0,
        creds: None,
        fds_dropped: 0,
    };
    // SAFETY: `msg` was filled by a successful recvmsg; CMSG_FIRSTHDR/CMSG_NXTHDR only walk
    // within msg_control/msg_controllen, and each header is checked for length before its
    // payload is read (with read_unaligned, as the payload has no alignment guarantee).
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
        while !cmsg.is_null() {
            let hdr = &*cmsg;
            let data = libc::CMSG_DATA(cmsg);
            let payload = (hdr.cmsg_len as usize).saturating_sub(libc::CMSG_LEN(0) as usize);
            if hdr.cmsg_level == libc::SOL_SOCKET && hdr.cmsg_type == libc::SCM_CREDENTIALS {
                if payload >= std::mem::size_of::<libc::ucred>() {
                    let uc = std::ptr::read_unaligned(data.cast::<libc::ucred>());
                    out.creds = Some(Creds { pid: uc.pid, uid: uc.uid, gid: uc.gid });
                }
            } else if hdr.cmsg_level == libc::SOL_SOCKET && hdr.cmsg_type == libc::SCM_RIGHTS {
                let count = payload / std::mem::size_of::<libc::c_int>();
                for i in 0..count {
                    let fd = std::ptr::read_unaligned(data.cast::<libc::c_int>().add(i));
                    libc::close(fd);
                    out.fds_dropped += 1;
                }
            }
            cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
        }
    }
    Ok(out)
}
