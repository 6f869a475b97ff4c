//! The control socket and up to three client connections.
//!
//! AOSP's rules: at most [`MAX_DATA_CONN`] connections; a fourth client closes all three and
//! takes slot 0; every message must carry `SCM_CREDENTIALS` (a message without them closes the
//! connection); the sender pid of the latest message is the connection's pid.
//!
//! One deliberate difference: **writes never block.** Data sockets are non-blocking. A reply
//! that does not fit waits in a small per-connection queue and is flushed when the socket
//! turns writable; an asynchronous event that does not fit is dropped for that subscriber
//! only, counted, and logged at a limited rate. AOSP wrote with blocking `write`, so a
//! subscriber that stopped reading could stall the daemon.

use std::collections::VecDeque;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;
use std::time::{Duration, Instant};

use log::{error, info, warn};
use rustix::event::epoll::EventFlags;
use rustix::net::{self, AddressFamily, SendFlags, SocketAddrUnix, SocketFlags, SocketType};

use crate::event::{Poller, Token};
use crate::ratelimit::RateLimit;
use crate::sys::{self, Creds};

/// Most client connections (`MAX_DATA_CONN`: ActivityManager, init, and one more).
pub const MAX_DATA_CONN: usize = 3;
/// Replies a connection may have waiting for socket space before it is closed as stuck.
pub const MAX_PENDING_REPLIES: usize = 64;

const CONN_FLAGS: EventFlags = EventFlags::IN.union(EventFlags::RDHUP);

/// One client connection.
#[derive(Debug)]
pub struct Conn {
    fd: OwnedFd,
    /// A number unique to this connection for the daemon's lifetime (slots are reused).
    pub id: u64,
    /// The sender pid of the latest message (0 until the first one).
    pub pid: i32,
    /// The sender uid of the latest message.
    pub uid: u32,
    /// Bit `1 << event` for each `LMK_SUBSCRIBE`d event type.
    pub subscriptions: u32,
    /// Asynchronous events dropped because the client did not read them.
    pub dropped_events: u64,
    pending: VecDeque<Box<[u8]>>,
    drop_log: RateLimit,
}

impl Conn {
    /// Whether the client subscribed to event type `event`.
    pub fn subscribed(&self, event: i32) -> bool {
        u32::try_from(event)
            .ok()
            .and_then(|e| 1u32.checked_shl(e))
            .is_some_and(|bit| self.subscriptions & bit != 0)
    }
}

/// What reading from a connection produced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Incoming {
    /// A message of `len` bytes is in the caller's buffer.
    Message {
        /// Its length.
        len: usize,
        /// The sender.
        creds: Creds,
    },
    /// A message longer than the receive buffer (refused; AOSP truncated it silently).
    Oversized {
        /// Its length.
        len: usize,
    },
    /// A message without `SCM_CREDENTIALS`: the connection must be closed.
    NoCredentials,
    /// The peer closed the connection.
    Closed,
    /// Nothing more to read now.
    Drained,
}

/// The outcome of sending a reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplyOutcome {
    /// Written, or queued until the socket has room.
    Sent,
    /// The connection has too many replies it does not read: close it.
    Stuck,
    /// The slot is empty.
    NoConnection,
}

/// The listening socket and the connection slots.
#[derive(Debug)]
pub struct Server {
    listener: OwnedFd,
    conns: [Option<Conn>; MAX_DATA_CONN],
    accepted: u64,
    /// A descriptor held in reserve (`/dev/null`): when accepting fails for lack of
    /// descriptors, it is given up to accept and close the waiting connection, which would
    /// otherwise keep the listener readable and the loop spinning.
    spare: Option<std::fs::File>,
    fd_exhausted: RateLimit,
}

impl Server {
    /// Creates, binds and listens on a socket at `path` (host mode): `SOCK_SEQPACKET`,
    /// `SO_PASSCRED`, mode 0660, as init creates `/dev/socket/lmkd`. The socket is bound under
    /// a temporary name and renamed into place once it listens, so a client never finds a path
    /// that refuses connections; a stale socket file from an earlier run is replaced.
    pub fn bind(path: &Path) -> io::Result<Server> {
        let fd = net::socket_with(
            AddressFamily::UNIX,
            SocketType::SEQPACKET,
            SocketFlags::CLOEXEC | SocketFlags::NONBLOCK,
            None,
        )?;
        net::sockopt::set_socket_passcred(&fd, true)?;
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(format!(".{}.tmp", std::process::id()));
        let tmp = std::path::PathBuf::from(tmp);
        let _ = std::fs::remove_file(&tmp);
        net::bind(&fd, &SocketAddrUnix::new(&tmp)?)?;
        let server = Server::listen(fd)
            .and_then(|s| {
                rustix::fs::chmod(&tmp, rustix::fs::Mode::from_raw_mode(0o660))
                    .map(|()| s)
                    .map_err(Into::into)
            })
            .and_then(|s| std::fs::rename(&tmp, path).map(|()| s));
        if server.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        server
    }

    /// Takes a socket created by someone else (init, or a test playing init): checks that it
    /// is a Unix `SOCK_SEQPACKET` socket, enables `SO_PASSCRED` and calls `listen(3)`.
    pub fn from_fd(fd: OwnedFd) -> io::Result<Server> {
        let domain = net::sockopt::socket_domain(&fd)?;
        let kind = net::sockopt::socket_type(&fd)?;
        if domain != AddressFamily::UNIX || kind != SocketType::SEQPACKET {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the control socket is not a unix SOCK_SEQPACKET socket",
            ));
        }
        net::sockopt::set_socket_passcred(&fd, true)?;
        rustix::io::ioctl_fionbio(&fd, true)?;
        Server::listen(fd)
    }

    fn listen(fd: OwnedFd) -> io::Result<Server> {
        net::listen(&fd, i32::try_from(MAX_DATA_CONN).unwrap_or(i32::MAX))?;
        Ok(Server {
            listener: fd,
            conns: [None, None, None],
            accepted: 0,
            spare: std::fs::File::open("/dev/null").ok(),
            fd_exhausted: RateLimit::new(Duration::from_secs(10)),
        })
    }

    /// The listening socket.
    pub fn listener(&self) -> BorrowedFd<'_> {
        self.listener.as_fd()
    }

    /// The connection in `slot`.
    pub fn conn(&self, slot: usize) -> Option<&Conn> {
        self.conns.get(slot)?.as_ref()
    }

    /// Mutable access to the connection in `slot`.
    pub fn conn_mut(&mut self, slot: usize) -> Option<&mut Conn> {
        self.conns.get_mut(slot)?.as_mut()
    }

    /// Connected slots.
    pub fn slots(&self) -> impl Iterator<Item = (usize, &Conn)> + '_ {
        self.conns.iter().enumerate().filter_map(|(i, c)| c.as_ref().map(|c| (i, c)))
    }

    /// Accepts one pending connection. With every slot taken, AOSP's overflow policy applies:
    /// all connections are closed and the new one takes slot 0. Returns the pids of the closed
    /// connections (their records must be un-claimed), or `None` if nothing was pending.
    pub fn accept(&mut self, poller: &Poller) -> io::Result<Option<[Option<i32>; MAX_DATA_CONN]>> {
        let injected = crate::fault::check(crate::fault::Site::Accept, "")
            .and_then(|f| f.error())
            .and_then(|e| e.raw_os_error())
            .map(rustix::io::Errno::from_raw_os_error);
        let accepted = match injected {
            Some(e) => Err(e),
            None => net::accept_with(&self.listener, SocketFlags::CLOEXEC | SocketFlags::NONBLOCK),
        };
        let fd = match accepted {
            Ok(fd) => fd,
            Err(rustix::io::Errno::AGAIN | rustix::io::Errno::INTR) => return Ok(None),
            Err(e @ (rustix::io::Errno::MFILE | rustix::io::Errno::NFILE)) => {
                self.refuse_without_descriptors(e);
                return Ok(None);
            }
            Err(e) => return Err(e.into()),
        };
        // Inherited from the listener on Linux; set again so a hand-over socket without it
        // still yields credentials.
        net::sockopt::set_socket_passcred(&fd, true)?;
        // The pid is learnt from the first message's credentials (rustix's SO_PEERCRED type
        // cannot hold the pid 0 of a peer outside this pid namespace).
        let (pid, uid) = (0, 0);
        let mut evicted = [None; MAX_DATA_CONN];
        let slot = match self.conns.iter().position(Option::is_none) {
            Some(s) => s,
            None => {
                warn!("lmkd data connections are all in use; closing them for a new client");
                for (s, e) in evicted.iter_mut().enumerate() {
                    *e = self.close(s, poller);
                }
                0
            }
        };
        poller.add(&fd, Token::Conn(slot), CONN_FLAGS)?;
        self.accepted += 1;
        self.conns[slot] = Some(Conn {
            fd,
            id: self.accepted,
            pid,
            uid,
            subscriptions: 0,
            dropped_events: 0,
            pending: VecDeque::new(),
            drop_log: RateLimit::new(Duration::from_secs(10)),
        });
        info!("lmkd data connection established");
        Ok(Some(evicted))
    }

    /// Out of descriptors: accept the waiting connection with the spare one and close it, so
    /// that the listener does not stay readable (the client sees its connection closed).
    fn refuse_without_descriptors(&mut self, e: rustix::io::Errno) {
        self.spare = None;
        let accepted = net::accept_with(&self.listener, SocketFlags::CLOEXEC).is_ok();
        self.spare = std::fs::File::open("/dev/null").ok();
        if let Some(n) = self.fd_exhausted.check(Instant::now()) {
            error!(
                "lmkd control socket accept failed: {e}; {} ({n} similar suppressed)",
                if accepted {
                    "the new connection was closed"
                } else {
                    "no descriptor left even to refuse it"
                }
            );
        }
    }

    /// Closes the connection in `slot` and returns its pid.
    pub fn close(&mut self, slot: usize, poller: &Poller) -> Option<i32> {
        let conn = self.conns.get_mut(slot)?.take()?;
        info!("closing lmkd data connection");
        let _ = poller.delete(&conn.fd);
        if conn.dropped_events > 0 {
            info!("client {} missed {} events in all", conn.pid, conn.dropped_events);
        }
        Some(conn.pid)
    }

    /// Reads one message from `slot` into `buf`.
    pub fn recv(&mut self, slot: usize, buf: &mut [u8]) -> Incoming {
        let Some(conn) = self.conn_mut(slot) else { return Incoming::Closed };
        match sys::recvmsg_creds(conn.fd.as_fd(), buf) {
            Ok(r) => {
                if r.fds_dropped > 0 {
                    warn!(
                        "client {} passed {} file descriptors; closed them",
                        conn.pid, r.fds_dropped
                    );
                }
                match r.creds {
                    // A zero-length read without credentials is the end of the stream; a
                    // zero-length message from a live peer still carries them.
                    None if r.len == 0 => Incoming::Closed,
                    None => Incoming::NoCredentials,
                    Some(creds) => {
                        conn.pid = creds.pid;
                        conn.uid = creds.uid;
                        if r.truncated {
                            Incoming::Oversized { len: r.len }
                        } else {
                            Incoming::Message { len: r.len, creds }
                        }
                    }
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Incoming::Drained,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Incoming::Drained,
            Err(e) => {
                warn!("failed to read from lmkd data connection: {e}");
                Incoming::Closed
            }
        }
    }

    /// Sends a reply to `slot`; when the socket is full it is queued and sent once the client
    /// reads (in order with earlier replies).
    pub fn reply(&mut self, slot: usize, bytes: &[u8], poller: &Poller) -> ReplyOutcome {
        let Some(conn) = self.conn_mut(slot) else { return ReplyOutcome::NoConnection };
        if conn.pending.is_empty() {
            match send_nonblocking(&conn.fd, bytes) {
                Ok(()) => return ReplyOutcome::Sent,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                // The peer is gone; its hang-up closes the slot.
                Err(_) => return ReplyOutcome::Sent,
            }
        }
        if conn.pending.len() >= MAX_PENDING_REPLIES {
            warn!("client {} does not read its replies; closing its connection", conn.pid);
            return ReplyOutcome::Stuck;
        }
        conn.pending.push_back(bytes.into());
        let _ = poller.modify(&conn.fd, Token::Conn(slot), CONN_FLAGS | EventFlags::OUT);
        ReplyOutcome::Sent
    }

    /// The socket of `slot` has room again: sends queued replies.
    pub fn flush(&mut self, slot: usize, poller: &Poller) {
        let Some(conn) = self.conn_mut(slot) else { return };
        while let Some(front) = conn.pending.front() {
            match send_nonblocking(&conn.fd, front) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                _ => {
                    conn.pending.pop_front();
                }
            }
        }
        let _ = poller.modify(&conn.fd, Token::Conn(slot), CONN_FLAGS);
    }

    /// Sends an asynchronous event to every client subscribed to `event`. A client whose
    /// socket is full misses it (counted and logged at a limited rate); nobody waits.
    pub fn broadcast(&mut self, event: i32, bytes: &[u8], now: Instant) {
        for conn in self.conns.iter_mut().flatten() {
            if !conn.subscribed(event) {
                continue;
            }
            match send_nonblocking(&conn.fd, bytes) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    conn.dropped_events += 1;
                    if let Some(suppressed) = conn.drop_log.check(now) {
                        warn!(
                            "client {} is not reading its events; {} dropped so far ({} warnings suppressed)",
                            conn.pid, conn.dropped_events, suppressed
                        );
                    }
                }
                Err(_) => {}
            }
        }
    }
}

fn send_nonblocking(fd: &OwnedFd, bytes: &[u8]) -> io::Result<()> {
    loop {
        match net::send(fd, bytes, SendFlags::DONTWAIT | SendFlags::NOSIGNAL) {
            Ok(_) => return Ok(()),
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}
