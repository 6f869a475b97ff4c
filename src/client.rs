//! The client library: what AOSP's `liblmkd_utils` offers C clients, for Rust.
//!
//! A [`Client`] is one connection to the daemon. Commands without a reply are a single
//! `send`; commands with one wait for it, setting aside any asynchronous events that arrive
//! first (they are returned later by [`Client::recv_event`]). Unlike liblmkd_utils, the kill
//! count is decoded from big-endian correctly.

use std::collections::VecDeque;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;
use std::time::Duration;

use rustix::net::{
    self, AddressFamily, RecvFlags, SendFlags, SocketAddrUnix, SocketFlags, SocketType,
};

use crate::protocol::ext::{
    decode_procs_reply, decode_text_reply, ExtCommand, ProcEntry, LMK_EXT_KILL,
};
use crate::protocol::{
    Command, ProcPrio, ProcsPrio, RecordLayout, ServerMessage, TargetTable, CTRL_PACKET_MAX_SIZE,
    LMKD_REPLY_MAX_SIZE, LMK_BOOT_COMPLETED, LMK_GETKILLCNT, LMK_UPDATE_PROPS,
    PROCS_PRIO_MAX_WIDE_RECORDS,
};
use crate::report::history::decode_history;
use crate::report::KillRecord;

/// Where init creates the socket on Android.
pub const DEFAULT_SOCKET: &str = "/dev/socket/lmkd";
/// How long a command waits for its reply unless told otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// An asynchronous event from the daemon.
pub type Event = ServerMessage;

/// One connection to lmkd.
#[derive(Debug)]
pub struct Client {
    fd: OwnedFd,
    events: VecDeque<Event>,
}

impl Client {
    /// Connects to the daemon's socket at `path` (replies time out after [`DEFAULT_TIMEOUT`]).
    pub fn connect(path: impl AsRef<Path>) -> io::Result<Client> {
        let fd = net::socket_with(
            AddressFamily::UNIX,
            SocketType::SEQPACKET,
            SocketFlags::CLOEXEC,
            None,
        )?;
        net::connect(&fd, &SocketAddrUnix::new(path.as_ref())?)?;
        let c = Client { fd, events: VecDeque::new() };
        c.set_timeout(Some(DEFAULT_TIMEOUT))?;
        Ok(c)
    }

    /// Sets how long a reply or event is waited for (`None`: forever, as liblmkd_utils).
    pub fn set_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        Ok(net::sockopt::set_socket_timeout(&self.fd, net::sockopt::Timeout::Recv, timeout)?)
    }

    /// The connected socket.
    pub fn socket(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Sends raw bytes as one packet (for tools and tests of malformed input).
    pub fn send_raw(&self, bytes: &[u8]) -> io::Result<()> {
        net::send(&self.fd, bytes, SendFlags::NOSIGNAL)?;
        Ok(())
    }

    /// Sends one command.
    pub fn send(&self, cmd: &Command) -> io::Result<()> {
        let mut buf = [0u8; CTRL_PACKET_MAX_SIZE];
        let len = cmd.encode(&mut buf);
        self.send_raw(&buf[..len])
    }

    /// Registers a process or changes its adj (`LMK_PROCPRIO`, 20 bytes as
    /// `lmkd_register_proc` sends it).
    pub fn register(&self, pid: i32, uid: i32, adj: i32, ptype: i32) -> io::Result<()> {
        self.send(&Command::ProcPrio(ProcPrio { pid, uid, adj, ptype, for_lmkd_only: false }))
    }

    /// Sends a full `LMK_PROCPRIO` record, including `for_lmkd_only` (24 bytes when set).
    pub fn register_prio(&self, p: ProcPrio) -> io::Result<()> {
        self.send(&Command::ProcPrio(p))
    }

    /// Registers many processes with `LMK_PROCS_PRIO`, three records per packet (the most an
    /// AOSP daemon accepts), in the given layout.
    pub fn register_batch(&self, records: &[ProcPrio], layout: RecordLayout) -> io::Result<()> {
        for chunk in records.chunks(PROCS_PRIO_MAX_WIDE_RECORDS) {
            let batch = ProcsPrio::new(layout, chunk)
                .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "bad batch"))?;
            self.send(&Command::ProcsPrio(batch))?;
        }
        Ok(())
    }

    /// Forgets a process (`LMK_PROCREMOVE`).
    pub fn unregister(&self, pid: i32) -> io::Result<()> {
        self.send(&Command::ProcRemove { pid })
    }

    /// Forgets every process this client registered (`LMK_PROCPURGE`).
    pub fn purge(&self) -> io::Result<()> {
        self.send(&Command::ProcPurge)
    }

    /// Sends the minfree table (`LMK_TARGET`): (minfree in pages, adj) pairs, at most six.
    pub fn target(&self, pairs: &[(i32, i32)]) -> io::Result<()> {
        let t = TargetTable::new(pairs)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "at most 6 pairs"))?;
        self.send(&Command::Target(t))
    }

    /// Subscribes to an asynchronous event type (`LMK_SUBSCRIBE`).
    pub fn subscribe(&self, event: i32) -> io::Result<()> {
        self.send(&Command::Subscribe { event })
    }

    /// Starts delayed monitors (`LMK_START_MONITORING`).
    pub fn start_monitoring(&self) -> io::Result<()> {
        self.send(&Command::StartMonitoring)
    }

    /// Number of kills with adj in `min..=max` (`LMK_GETKILLCNT`). Also a barrier: every
    /// command sent earlier on this connection has been handled when it returns.
    pub fn kill_count(&mut self, min_adj: i32, max_adj: i32) -> io::Result<i32> {
        self.send(&Command::GetKillCnt { min_adj, max_adj })?;
        self.wait_reply(LMK_GETKILLCNT)
    }

    /// Asks the daemon to re-read its properties (`LMK_UPDATE_PROPS`): 0 = ok, −1 = failed.
    pub fn update_props(&mut self) -> io::Result<i32> {
        self.send(&Command::UpdateProps)?;
        self.wait_reply(LMK_UPDATE_PROPS)
    }

    /// Boot-completed notification (`LMK_BOOT_COMPLETED`): 0 = done, 1 = already done,
    /// −1 = boot not completed.
    pub fn boot_completed(&mut self) -> io::Result<i32> {
        self.send(&Command::BootCompleted)?;
        self.wait_reply(LMK_BOOT_COMPLETED)
    }

    /// The registered processes in kill order (`LMK_EXT_PROCS`, this project's extension).
    pub fn procs(&mut self) -> io::Result<Vec<ProcEntry>> {
        self.collect(&ExtCommand::Procs, decode_procs_reply)
    }

    /// The kill history, oldest first (`LMK_EXT_KILL_HISTORY`).
    pub fn kill_history(&mut self) -> io::Result<Vec<KillRecord>> {
        self.collect(&ExtCommand::KillHistory, decode_history)
    }

    /// The status report (`LMK_EXT_STATUS`): aligned text, or JSON.
    pub fn status(&mut self, json: bool) -> io::Result<String> {
        let bytes = self.collect(&ExtCommand::Status { json }, decode_text_reply)?;
        String::from_utf8(bytes)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "status is not UTF-8"))
    }

    /// Asks the daemon to kill and reap `pid`, which this client registered as `uid`
    /// (`LMK_EXT_KILL`). Returns one of the `KILL_*` results of [`crate::protocol::ext`]:
    /// 0 when SIGKILL was delivered.
    pub fn kill(&mut self, pid: i32, uid: i32, reason: i32) -> io::Result<i32> {
        self.send_raw(&ExtCommand::Kill { pid, uid, reason }.encode())?;
        let mut buf = [0u8; LMKD_REPLY_MAX_SIZE];
        loop {
            let n = self.recv_packet(&mut buf).map_err(timeout_error)?;
            let w = |i: usize| {
                i32::from_be_bytes([buf[i * 4], buf[i * 4 + 1], buf[i * 4 + 2], buf[i * 4 + 3]])
            };
            if n == 12 && w(0) == LMK_EXT_KILL && w(1) == pid {
                return Ok(w(2));
            }
            self.keep_event(&buf[..n])?;
        }
    }

    /// Sends an extension request and gathers its chunked reply.
    fn collect<T>(
        &mut self,
        request: &ExtCommand,
        decode: impl Fn(&[u8]) -> Option<(usize, usize, Vec<T>)>,
    ) -> io::Result<Vec<T>> {
        self.send_raw(&request.encode())?;
        let mut out = Vec::new();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = self.recv_packet(&mut buf).map_err(timeout_error)?;
            if let Some((total, offset, chunk)) = decode(&buf[..n]) {
                if offset != out.len() {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "reply chunks out of order",
                    ));
                }
                out.extend(chunk);
                if out.len() >= total {
                    return Ok(out);
                }
            } else {
                self.keep_event(&buf[..n])?;
            }
        }
    }

    /// Keeps an asynchronous event that arrived while waiting for a reply; anything else is an
    /// error.
    fn keep_event(&mut self, packet: &[u8]) -> io::Result<()> {
        match ServerMessage::decode(packet) {
            Some(m @ (ServerMessage::ProcKill(_) | ServerMessage::KillStat(_))) => {
                self.events.push_back(m);
                Ok(())
            }
            _ => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "unexpected packet from lmkd while waiting for a reply",
            )),
        }
    }

    /// Receives one packet (blocking up to the timeout) into `buf`; returns its length.
    pub fn recv_packet(&self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match net::recv(&self.fd, &mut *buf, RecvFlags::empty()) {
                Ok((_, 0)) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok((_, n)) => return Ok(n.min(buf.len())),
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Waits for the next asynchronous event (or returns one that arrived while waiting for a
    /// reply). A timeout is `Ok(None)`.
    pub fn recv_event(&mut self) -> io::Result<Option<Event>> {
        if let Some(e) = self.events.pop_front() {
            return Ok(Some(e));
        }
        let mut buf = [0u8; LMKD_REPLY_MAX_SIZE];
        loop {
            match self.recv_packet(&mut buf) {
                Ok(n) => {
                    if let Some(m) = ServerMessage::decode(&buf[..n]) {
                        return Ok(Some(m));
                    }
                }
                Err(e) if is_timeout(&e) => return Ok(None),
                Err(e) => return Err(e),
            }
        }
    }

    /// Waits for the 8-byte reply to `cmd`, keeping events that arrive first.
    fn wait_reply(&mut self, cmd: i32) -> io::Result<i32> {
        let mut buf = [0u8; LMKD_REPLY_MAX_SIZE];
        loop {
            let n = self.recv_packet(&mut buf).map_err(timeout_error)?;
            match ServerMessage::decode(&buf[..n]) {
                Some(ServerMessage::KillCount(v)) if cmd == LMK_GETKILLCNT => return Ok(v),
                Some(ServerMessage::UpdateProps(v)) if cmd == LMK_UPDATE_PROPS => return Ok(v),
                Some(ServerMessage::BootCompleted(v)) if cmd == LMK_BOOT_COMPLETED => return Ok(v),
                _ => self.keep_event(&buf[..n])?,
            }
        }
    }
}

fn timeout_error(e: io::Error) -> io::Error {
    if is_timeout(&e) {
        io::Error::new(io::ErrorKind::TimedOut, "no reply from lmkd")
    } else {
        e
    }
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut)
}
