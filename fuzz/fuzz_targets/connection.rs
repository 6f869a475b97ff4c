//! Fuzzes the connection state machine: the real daemon (`lmkd::daemon::Daemon`) runs in this
//! process on a temporary socket, and up to four real client connections
//! (`lmkd::client::Client`) send it sequences of packets, connect, disconnect and read (or do not
//! read) its replies, in the order the input says. After every sequence a fresh client must get
//! its `LMK_GETKILLCNT` answered: the daemon stays alive and responsive whatever its clients do.
//!
//! # Input
//!
//! Byte 0 picks the reaper pool size (0–2 threads). Then steps, at most 64, each a header byte
//! (client index in bits 0–1, operation in bits 2–4) and its operands:
//!
//! | op | operands | effect |
//! |---|---|---|
//! | 0, 6, 7 | length byte, bytes | send one packet, then let the daemon handle it |
//! | 1 | length byte, bytes | send one packet and let it queue (the daemon runs after 4 such) |
//! | 5 | count byte, 4 × (count mod 17) bytes | as 0, a whole number of words |
//! | 2 | | close the connection |
//! | 3 | | read every reply and event waiting on the connection |
//! | 4 | | let the daemon wait 1 ms for events (kill completions) |
//!
//! A client connects on first use (and again after its connection was closed or evicted).
//!
//! # Properties
//!
//! No panic and no `run_once` error; the daemon becomes idle when its clients are; every packet
//! it sends decodes with the client library's decoders (replies, `LMK_PROCKILL`,
//! `LMK_STAT_KILL_OCCURRED`, the extension replies); `LMK_UPDATE_PROPS` succeeds (the property
//! file does not change) and `LMK_BOOT_COMPLETED` answers "not yet"; every pid the daemon reports
//! (kill events, registrations, kill history) is one of the harness's children; the kill count
//! never exceeds the `LMK_EXT_KILL` requests sent.
//!
//! # Safety of the host
//!
//! A client can register any pid, set its `oom_score_adj` and ask for its kill. So that nothing
//! but this harness's own children can ever be signalled or re-prioritised, even as root:
//!
//! * every pid field the daemon reads — `LMK_PROCPRIO` (1), `LMK_PROCREMOVE` (2), each record of
//!   `LMK_PROCS_PRIO` (11), `LMK_EXT_KILL` (0x1003) — is rewritten, at the offsets the decoder
//!   reads it from, to the pid of one of four `cat` children this harness spawned (child
//!   `pid mod 4`); the packet is then decoded exactly as the daemon decodes it, and the harness
//!   aborts *before sending* if any pid in it is not one of its children (a harness bug; a new
//!   pid-carrying command must be added to `sanitise`);
//! * pressure monitors stay inert: the property file sets `ro.lmk.use_psi=false` and
//!   `ro.lmk.delay_monitors_until_boot=true` and never `sys.boot_completed`, and
//!   `LMK_START_MONITORING` (9) is dropped, so the daemon never decides a kill by itself;
//!   `ro.config.per_app_memcg=false` keeps it from writing cgroup soft limits; test-only
//!   commands are off;
//! * children killed by a sequence are reaped and re-spawned only between sequences, when no
//!   daemon exists: while a daemon can name a pid, that pid is a live child or its unreaped
//!   zombie, so it cannot be reused by another process. The children are `cat` reading a pipe
//!   from this process, so they exit with it, even when it crashes.
//!
//! All clients share this process's pid, so the daemon sees them as one client on several
//! connections (ownership rules between different client pids are tested in `tests/daemon.rs`).
#![no_main]

use std::cell::RefCell;
use std::io::{ErrorKind, Read};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command as Process, Stdio};
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use lmkd::client::Client;
use lmkd::config::FileProperties;
use lmkd::daemon::{Daemon, Options};
use lmkd::procs::UpdateMode;
use lmkd::protocol::ext::{
    decode_procs_reply, decode_text_reply, ExtCommand, KILL_FAILED, KILL_GONE, KILL_NOT_OWNER,
    KILL_NOT_REGISTERED, KILL_SENT, KILL_UID_MISMATCH, LMK_EXT_KILL, LMK_EXT_KILL_HISTORY,
    LMK_EXT_PROCS, LMK_EXT_STATUS,
};
use lmkd::protocol::{
    Command, DecodeError, Server, ServerMessage, EXT_BASE, LMK_GETKILLCNT, LMK_PROCPRIO,
    LMK_PROCREMOVE, LMK_PROCS_PRIO, LMK_START_MONITORING, PROCS_PRIO_MAX_WIDE_RECORDS,
};
use lmkd::report::history::decode_history;

const CHILDREN: usize = 4;
const CLIENTS: usize = 4;
const MAX_STEPS: usize = 64;
/// Packets a client may queue before the daemon runs (the accepted socket's queue holds a few;
/// a full queue makes the non-blocking send fail, and the packet is dropped).
const MAX_QUEUED: usize = 4;

/// The harness's children: the only processes a sequence may name.
struct Children(Vec<Child>);

impl Children {
    fn spawn() -> Child {
        Process::new("cat")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn a child for the daemon to manage")
    }

    fn new() -> Children {
        Children((0..CHILDREN).map(|_| Children::spawn()).collect())
    }

    fn pids(&self) -> [i32; CHILDREN] {
        std::array::from_fn(|i| i32::try_from(self.0[i].id()).expect("pid fits i32"))
    }

    /// Reaps the children that died and starts new ones. Only called when no daemon exists.
    fn refresh(&mut self) {
        for c in &mut self.0 {
            if !matches!(c.try_wait(), Ok(None)) {
                *c = Children::spawn();
            }
        }
    }
}

struct Harness {
    dir: PathBuf,
    children: Children,
}

impl Harness {
    fn new() -> Harness {
        let dir = std::env::temp_dir().join(format!("lmkd-fuzz-conn-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch directory");
        Harness { dir, children: Children::new() }
    }
}

thread_local! {
    static HARNESS: RefCell<Option<Harness>> = const { RefCell::new(None) };
}

fuzz_target!(|data: &[u8]| {
    HARNESS.with(|h| {
        let mut h = h.borrow_mut();
        let h = h.get_or_insert_with(Harness::new);
        run(h, data);
        h.children.refresh();
    });
});

fn props(reaper_threads: u8) -> String {
    format!(
        "# Written by the connection fuzz target: no pressure monitor may ever start.\n\
         ro.lmk.use_psi=false\n\
         ro.lmk.delay_monitors_until_boot=true\n\
         ro.config.per_app_memcg=false\n\
         ro.config.low_ram=false\n\
         ro.lmk.reaper_threads={reaper_threads}\n\
         ro.lmk.kill_history_size=8\n"
    )
}

/// Runs one sequence against a fresh daemon.
fn run(h: &mut Harness, data: &[u8]) {
    let kids = h.children.pids();
    let sock = h.dir.join("lmkd.sock");
    let prop_file = h.dir.join("lmkd.prop");
    let reaper_threads = data.first().map_or(0, |b| b % 3);
    std::fs::write(&prop_file, props(reaper_threads)).expect("property file");
    let opts = Options {
        server: Server::bind(&sock).expect("bind the control socket"),
        props: Box::new(FileProperties::open(&prop_file).expect("property file")),
        update_mode: UpdateMode::KeepOpen,
        record: None,
        test_hooks: false,
        clock: lmkd::clock::Clock::real(),
        // Nothing pinned there: the daemon reads reclaim from vmstat, as it does on a device
        // without memevents.
        memevents: lmkd::pressure::memevents::Paths {
            bpffs: h.dir.join("no-bpffs"),
            tracefs: h.dir.join("no-tracefs"),
        },
    };
    let mut daemon = Daemon::new(opts).expect("daemon starts");
    let cfg = daemon.config();
    assert!(!cfg.use_psi && cfg.delay_monitors_until_boot && !cfg.per_app_memcg);

    let mut s = Session { sock: &sock, kids, conns: Default::default(), kills_sent: 0, queued: 0 };
    let mut i = 1;
    let mut steps = 0;
    while i < data.len() && steps < MAX_STEPS {
        steps += 1;
        let head = data[i];
        i += 1;
        let client = usize::from(head & 3);
        let mut take = |n: usize| {
            let end = (i + n).min(data.len());
            let b = &data[i..end];
            i = end;
            b
        };
        match (head >> 2) & 7 {
            op @ (0 | 1 | 6 | 7) => {
                let len = take(1).first().copied().map_or(0, usize::from);
                let packet = take(len).to_vec();
                s.send(&mut daemon, client, packet, op == 1);
            }
            5 => {
                let words = take(1).first().map_or(0, |c| usize::from(c % 17));
                let packet = take(words * 4).to_vec();
                s.send(&mut daemon, client, packet, false);
            }
            2 => {
                s.conns[client] = None;
                pump(&mut daemon);
            }
            3 => s.drain(client),
            _ => {
                daemon.run_once(Some(Duration::from_millis(1))).expect("the event loop runs");
                pump(&mut daemon);
            }
        }
    }
    pump(&mut daemon);
    if s.kills_sent > 0 {
        // Let the kills complete (pidfd exits, reaper reports).
        for _ in 0..20 {
            if daemon.run_once(Some(Duration::from_millis(2))).expect("the event loop runs") == 0 {
                break;
            }
        }
    }
    for c in 0..CLIENTS {
        s.drain(c);
    }

    // The daemon still answers a new client.
    let fresh = Client::connect(&sock).expect("a new client connects");
    pump(&mut daemon);
    fresh.send_raw(&be(&[LMK_GETKILLCNT, -1000, 1000])).expect("the request is sent");
    pump(&mut daemon);
    fresh.set_timeout(Some(Duration::from_secs(1))).expect("timeout");
    let mut buf = [0u8; 64];
    let n = fresh.recv_packet(&mut buf).expect("LMK_GETKILLCNT is answered");
    match ServerMessage::decode(&buf[..n]) {
        Some(ServerMessage::KillCount(k)) => {
            assert!((0..=s.kills_sent).contains(&i64::from(k)), "{k} kills, {} asked", s.kills_sent)
        }
        other => panic!("LMK_GETKILLCNT answered with {other:?}"),
    }
    drop(fresh);
    drop(s);
    drop(daemon);
}

/// Handles events until the daemon is idle.
fn pump(daemon: &mut Daemon) {
    for _ in 0..10_000 {
        if daemon.run_once(Some(Duration::ZERO)).expect("the event loop runs") == 0 {
            return;
        }
    }
    panic!("the daemon is never idle");
}

fn be(words: &[i32]) -> Vec<u8> {
    words.iter().flat_map(|w| w.to_be_bytes()).collect()
}

struct Conn {
    client: Client,
    /// The same socket, non-blocking, for reading replies without waiting.
    reader: UnixStream,
}

struct Session<'a> {
    sock: &'a Path,
    kids: [i32; CHILDREN],
    conns: [Option<Conn>; CLIENTS],
    kills_sent: i64,
    queued: usize,
}

impl Session<'_> {
    fn conn(&mut self, daemon: &mut Daemon, c: usize) -> Option<&Conn> {
        if self.conns[c].is_none() {
            let client = Client::connect(self.sock).expect("the daemon listens");
            pump(daemon);
            let reader = UnixStream::from(client.socket().try_clone_to_owned().ok()?);
            // Shared by both descriptors: sends do not block either (a full queue drops them).
            reader.set_nonblocking(true).ok()?;
            self.conns[c] = Some(Conn { client, reader });
        }
        self.conns[c].as_ref()
    }

    fn send(&mut self, daemon: &mut Daemon, c: usize, mut packet: Vec<u8>, queue: bool) {
        if !sanitise(&mut packet, &self.kids) {
            return;
        }
        let is_kill = matches!(ExtCommand::decode(&packet), Ok(ExtCommand::Kill { .. }));
        let Some(conn) = self.conn(daemon, c) else { return };
        match conn.client.send_raw(&packet) {
            Ok(()) => self.kills_sent += i64::from(is_kill),
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            // Closed by the daemon (evicted, or stuck): connect again on next use.
            Err(_) => self.conns[c] = None,
        }
        self.queued += 1;
        if !queue || self.queued >= MAX_QUEUED {
            self.queued = 0;
            pump(daemon);
        }
    }

    /// Reads and checks every packet waiting on connection `c`.
    fn drain(&mut self, c: usize) {
        let Some(conn) = &mut self.conns[c] else { return };
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match conn.reader.read(&mut buf) {
                Ok(0) => {
                    self.conns[c] = None;
                    return;
                }
                Ok(n) => check_from_daemon(&buf[..n], &self.kids),
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => {
                    self.conns[c] = None;
                    return;
                }
            }
        }
    }
}

fn word(p: &[u8], i: usize) -> i32 {
    i32::from_be_bytes([p[i * 4], p[i * 4 + 1], p[i * 4 + 2], p[i * 4 + 3]])
}

/// Rewrites every pid field the daemon reads to one of `kids` and drops
/// `LMK_START_MONITORING`; returns whether the packet may be sent. Aborts if a pid escaped.
fn sanitise(p: &mut [u8], kids: &[i32; CHILDREN]) -> bool {
    let words = p.len() / 4;
    if words == 0 {
        return true;
    }
    let fix = |p: &mut [u8], i: usize| {
        if i < words {
            let pid = kids[word(p, i) as u32 as usize % CHILDREN];
            p[i * 4..i * 4 + 4].copy_from_slice(&pid.to_be_bytes());
        }
    };
    match word(p, 0) {
        LMK_START_MONITORING => return false,
        LMK_PROCPRIO | LMK_PROCREMOVE | LMK_EXT_KILL => fix(p, 1),
        LMK_PROCS_PRIO => {
            // The decoder's rule for the record width (codec.rs, LMK_PROCS_PRIO).
            let nargs = words - 1;
            let width =
                if nargs > 0 && nargs.is_multiple_of(5) && nargs / 5 <= PROCS_PRIO_MAX_WIDE_RECORDS
                {
                    5
                } else {
                    4
                };
            for r in 0..nargs / width {
                fix(p, 1 + r * width);
            }
        }
        _ => {}
    }
    // Decode it as the daemon does (daemon/mod.rs, on_packet) and check every pid in it.
    let ok = match Command::decode(p) {
        Ok(Command::ProcPrio(r)) => kids.contains(&r.pid),
        Ok(Command::ProcsPrio(b)) => b.records().iter().all(|r| kids.contains(&r.pid)),
        Ok(Command::ProcRemove { pid }) => kids.contains(&pid),
        Ok(Command::StartMonitoring) => false,
        Ok(_) => true,
        Err(DecodeError::UnknownCommand { cmd }) if cmd >= EXT_BASE => {
            match ExtCommand::decode(p) {
                Ok(ExtCommand::Kill { pid, .. }) => kids.contains(&pid),
                Ok(_) | Err(_) => true,
            }
        }
        Err(_) => true,
    };
    assert!(ok, "harness bug: a pid escaped the rewrite in {p:?}; nothing was sent");
    true
}

/// Checks one packet the daemon sent a client.
fn check_from_daemon(p: &[u8], kids: &[i32; CHILDREN]) {
    assert!(p.len() >= 4, "runt packet from the daemon: {p:?}");
    match word(p, 0) {
        LMK_EXT_PROCS => {
            let (_, _, entries) = decode_procs_reply(p).expect("LMK_EXT_PROCS reply decodes");
            assert!(entries.iter().all(|e| kids.contains(&e.pid)), "{entries:?}");
        }
        LMK_EXT_KILL_HISTORY => {
            let (_, _, records) = decode_history(p).expect("kill history reply decodes");
            assert!(records.iter().all(|r| kids.contains(&r.pid)), "{records:?}");
        }
        LMK_EXT_STATUS => {
            decode_text_reply(p).expect("status reply decodes");
        }
        LMK_EXT_KILL => {
            assert_eq!(p.len(), 12, "LMK_EXT_KILL reply length");
            assert!(kids.contains(&word(p, 1)));
            let results = [
                KILL_SENT,
                KILL_NOT_REGISTERED,
                KILL_NOT_OWNER,
                KILL_UID_MISMATCH,
                KILL_GONE,
                KILL_FAILED,
            ];
            assert!(results.contains(&word(p, 2)), "LMK_EXT_KILL result {}", word(p, 2));
        }
        _ => match ServerMessage::decode(p) {
            Some(ServerMessage::KillCount(n)) => assert!(n >= 0),
            Some(ServerMessage::UpdateProps(r)) => assert_eq!(r, 0, "LMK_UPDATE_PROPS failed"),
            Some(ServerMessage::BootCompleted(r)) => assert_eq!(r, -1, "boot is not completed"),
            Some(ServerMessage::ProcKill(k)) => assert!(kids.contains(&k.pid), "{k:?}"),
            Some(ServerMessage::KillStat(_)) => {}
            Some(ServerMessage::Other(_)) | None => panic!("undecodable packet: {p:?}"),
        },
    }
}
