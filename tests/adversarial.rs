//! Adversarial clients against the real `lmkd` binary: a flood of 100,000 random packets, a
//! client that connects and disconnects 1,000 times, four clients racing for the three
//! connection slots, 10,000 registrations of short-lived processes by a client that then dies,
//! a subscriber that never reads its events, and `LMK_TARGET` 100 times a second.
//!
//! Every scenario checks the same things afterwards: a fresh client's `LMK_GETKILLCNT` is
//! answered (a liveness bound, not a performance one), the registrations of a bystander client
//! (another process, see [`Victim`]) are intact in the table and in `/proc/<pid>/oom_score_adj`,
//! the daemon's memory and descriptors come back near where they were, and its log shows the
//! refusals without growing with the adversary's input.
//!
//! Host safety: the random packets cannot name a process the test did not start. Every field
//! of a command that carries a pid (`LMK_PROCPRIO`, `LMK_PROCREMOVE`, `LMK_PROCS_PRIO`,
//! `LMK_EXT_KILL`) is rewritten to one of the test's own children (never reaped while the
//! flood runs, so their pids cannot be reused), to the daemon (the test's child, which refuses
//! itself), to a pid ≤ 0, or to a pid above the kernel's `PID_MAX_LIMIT`, which cannot exist.
//! The daemons run with `ro.lmk.delay_monitors_until_boot=true` and no `sys.boot_completed`, so
//! pressure on the shared machine never makes them kill the test's processes: every kill here
//! is one a test asked for.

mod common;

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::os::fd::OwnedFd;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Barrier};
use std::time::{Duration, Instant};

use common::*;
use lmkd::client::Client;
use lmkd::protocol::ext::{ExtCommand, ProcEntry, KILL_SENT, LMK_EXT_KILL};
use lmkd::protocol::{
    ProcPrio, RecordLayout, LMK_PROCPRIO, LMK_PROCREMOVE, LMK_PROCS_PRIO, PROC_TYPE_APP,
};

/// Properties of every daemon here: no pressure monitors (see the module docs).
const PROPS: &str = "ro.lmk.delay_monitors_until_boot=true\n";
/// How long a fresh client may wait for its `LMK_GETKILLCNT` reply: liveness, not speed.
const ANSWER_BOUND: Duration = Duration::from_secs(10);
/// How much the daemon's VmRSS and RssAnon may grow over a scenario.
const RSS_GROWTH_KB: u64 = 8 * 1024;
/// The kernel's `PID_MAX_LIMIT` on 64-bit: no pid is ever above it, whatever `pid_max` says.
const PID_MAX_LIMIT: i32 = 4 * 1024 * 1024;
/// The log line of a closed connection (`src/protocol/server.rs`).
const CLOSING: &str = "closing lmkd data connection";
/// The log line of AOSP's overflow rule (`src/protocol/server.rs`).
const ALL_IN_USE: &str = "lmkd data connections are all in use; closing them for a new client";

/// The real daemon at the production log level (`ro.lmk.debug` decides: info).
fn start_daemon() -> Daemon {
    Daemon::start_full(PROPS, &[], None)
}

fn be(words: &[i32]) -> Vec<u8> {
    words.iter().flat_map(|w| w.to_be_bytes()).collect()
}

fn barrier(c: &mut Client) {
    assert!(c.kill_count(-1000, 1000).expect("GETKILLCNT round trip") >= 0);
}

/// A seeded xorshift64* generator, so that a failing run can be repeated with its seed.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `0..n` (n > 0).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn word(&mut self) -> i32 {
        self.next() as u32 as i32
    }
}

/// `LMKD_ADVERSARIAL_SEED`, or a fixed seed.
fn seed() -> u64 {
    std::env::var("LMKD_ADVERSARIAL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_1a4d_0005)
}

/// What the daemon holds: resident and anonymous memory, open descriptors.
#[derive(Clone, Copy, Debug)]
struct Footprint {
    rss_kb: u64,
    anon_kb: u64,
    fds: usize,
}

fn footprint(d: &Daemon) -> Footprint {
    let pid = d.child.id();
    Footprint {
        rss_kb: status_field(pid, "VmRSS").expect("VmRSS"),
        anon_kb: status_field(pid, "RssAnon").expect("RssAnon"),
        fds: fs::read_dir(format!("/proc/{pid}/fd")).map(|it| it.count()).unwrap_or(usize::MAX),
    }
}

/// Waits (bounded) until the daemon holds at most `fd_slack` more descriptors than `before`,
/// then checks that its memory grew by less than [`RSS_GROWTH_KB`]. Returns the footprint.
fn assert_footprint_bounded(d: &Daemon, before: Footprint, fd_slack: usize) -> Footprint {
    let mut now = footprint(d);
    wait_until(Duration::from_secs(10), || {
        now = footprint(d);
        now.fds <= before.fds + fd_slack
    });
    assert!(
        now.fds <= before.fds + fd_slack,
        "the daemon keeps descriptors: {} open before, {} after",
        before.fds,
        now.fds
    );
    assert!(
        now.rss_kb <= before.rss_kb + RSS_GROWTH_KB
            && now.anon_kb <= before.anon_kb + RSS_GROWTH_KB,
        "the daemon's memory grew: before {before:?}, after {now:?}"
    );
    now
}

fn log_lines(d: &Daemon) -> Vec<String> {
    d.log_text().lines().map(str::to_owned).collect()
}

fn count_lines(lines: &[String], needle: &str) -> usize {
    lines.iter().filter(|l| l.contains(needle)).count()
}

fn count_log(d: &Daemon, needle: &str) -> usize {
    count_lines(&log_lines(d), needle)
}

/// A log line without its time stamp and with every number replaced by `#`: the call site.
fn template(line: &str) -> String {
    let msg = line.split_once("lowmemorykiller: ").map_or(line, |(_, m)| m);
    let level = line.split_whitespace().nth(1).unwrap_or("?");
    let mut out = format!("{level} ");
    let mut in_number = false;
    for ch in msg.chars() {
        if ch.is_ascii_digit() {
            if !in_number {
                out.push('#');
            }
            in_number = true;
        } else {
            in_number = false;
            out.push(ch);
        }
    }
    out
}

/// The most frequent call sites among `lines`, most frequent first.
fn top_templates(lines: &[String], n: usize) -> String {
    let mut by: BTreeMap<String, usize> = BTreeMap::new();
    for l in lines {
        *by.entry(template(l)).or_default() += 1;
    }
    let mut v: Vec<(String, usize)> = by.into_iter().collect();
    v.sort_by_key(|e| std::cmp::Reverse(e.1));
    v.iter().take(n).map(|(t, c)| format!("{c:>8}  {t}\n")).collect()
}

/// Fails when the adversary made the daemon write more than `budget` log lines (from line
/// `from` on): the daemon must rate-limit what a client can make it log.
fn assert_log_bounded(d: &Daemon, from: usize, budget: usize, what: &str) {
    let lines = log_lines(d);
    let added = &lines[from.min(lines.len())..];
    let bytes: usize = added.iter().map(|l| l.len() + 1).sum();
    eprintln!("{what}: {} log lines ({bytes} bytes) written", added.len());
    assert!(
        added.len() <= budget,
        "{what} made the daemon write {} log lines ({bytes} bytes; budget {budget}): its log \
         grows with a client's input instead of being rate-limited. Most frequent lines:\n{}",
        added.len(),
        top_templates(added, 12)
    );
}

/// A fresh connection's `LMK_GETKILLCNT` is answered within [`ANSWER_BOUND`]; returns how long
/// it took. The caller must leave a slot free (a fourth connection closes the other three).
fn fresh_client_answers(d: &Daemon) -> Duration {
    let t = Instant::now();
    let mut c = d.client();
    c.set_timeout(Some(ANSWER_BOUND)).unwrap();
    let n = c.kill_count(-1000, 1000).expect("a fresh client's GETKILLCNT is answered");
    assert!(n >= 0);
    let took = t.elapsed();
    hang_up(c);
    took
}

/// Waits until the daemon has logged `n` connection closes in all.
fn wait_closes(d: &Daemon, n: usize) {
    assert!(
        wait_until(Duration::from_secs(30), || count_log(d, CLOSING) >= n),
        "the daemon closed {} connections, expected {n}",
        count_log(d, CLOSING)
    );
}

/// Closes a client's connection at once. Dropping the `Client` alone may not: a child that
/// another test of this binary is spawning at that moment holds a copy of every descriptor
/// until it execs, and the daemon sees no hang-up until then.
fn hang_up(c: Client) {
    let _ = rustix::net::shutdown(c.socket(), rustix::net::Shutdown::Both);
}

fn entry(entries: &[ProcEntry], pid: i32) -> Option<ProcEntry> {
    entries.iter().copied().find(|e| e.pid == pid)
}

/// A bystander: another process (this test binary re-run as [`helper_victim_client`]) that
/// registered a few of the test's `sleep` children at various adj values over one connection
/// it keeps open. Killed, with its children, on drop.
struct Victim {
    helper: Child,
    stdin: ChildStdin,
    lines: mpsc::Receiver<String>,
    /// (child, uid, adj) per registration.
    kids: Vec<(Sleeper, i32, i32)>,
}

impl Victim {
    fn start(d: &Daemon, adjs: &[i32]) -> Victim {
        let kids: Vec<(Sleeper, i32, i32)> =
            adjs.iter().enumerate().map(|(i, &a)| (Sleeper::new(), 10_700 + i as i32, a)).collect();
        let records: Vec<String> =
            kids.iter().map(|(k, uid, adj)| format!("{}:{uid}:{adj}", k.pid())).collect();
        let mut helper = Command::new(self_exe())
            .args(["--exact", "helper_victim_client", "--nocapture", "--test-threads=1"])
            .env("LMKD_ADVERSARIAL_HELPER", "victim")
            .env("LMKD_ADVERSARIAL_SOCKET", &d.socket)
            .env("LMKD_ADVERSARIAL_RECORDS", records.join(","))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the victim helper");
        let stdin = helper.stdin.take().unwrap();
        let out = BufReader::new(helper.stdout.take().unwrap());
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for l in out.lines() {
                let Ok(l) = l else { break };
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
        let mut v = Victim { helper, stdin, lines, kids };
        v.expect_line("VICTIM holding");
        v
    }

    /// The rest of the first line that contains `marker`.
    fn expect_line(&mut self, marker: &str) -> String {
        let end = Instant::now() + Duration::from_secs(30);
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) => {
                    if let Some((_, rest)) = l.split_once(marker) {
                        return rest.trim().to_owned();
                    }
                }
                Err(e) => panic!("the victim helper did not say {marker:?}: {e}"),
            }
        }
    }

    fn pid(&self) -> i32 {
        self.helper.id() as i32
    }

    /// Whether the helper's connection still works (a `LMK_GETKILLCNT` round trip).
    fn connected(&mut self) -> bool {
        writeln!(self.stdin, "ping").unwrap();
        self.stdin.flush().unwrap();
        match self.expect_line("VICTIM pong").as_str() {
            "alive" => true,
            "closed" => false,
            other => panic!("the victim's connection neither works nor is closed: {other}"),
        }
    }

    /// Every registration is in the table with its uid, adj, type and `owner` (the helper's
    /// pid while it is connected, 0 once the daemon closed its connection), and the adj is
    /// what `/proc/<pid>/oom_score_adj` says.
    fn assert_intact(&self, obs: &mut Client, owner: i32) {
        let table = obs.procs().expect("LMK_EXT_PROCS");
        for (k, uid, adj) in &self.kids {
            let e = entry(&table, k.pid())
                .unwrap_or_else(|| panic!("the victim's pid {} is gone: {table:?}", k.pid()));
            assert_eq!(
                (e.uid, e.adj, e.ptype, e.owner),
                (*uid, *adj, PROC_TYPE_APP, owner),
                "the victim's record of pid {} changed",
                k.pid()
            );
            assert_eq!(k.adj(), *adj, "oom_score_adj of the victim's pid {}", k.pid());
        }
    }
}

impl Drop for Victim {
    fn drop(&mut self) {
        let _ = self.helper.kill();
        let _ = self.helper.wait();
    }
}

/// Not a test of its own: the bystander client process [`Victim`] starts.
#[test]
fn helper_victim_client() {
    if std::env::var("LMKD_ADVERSARIAL_HELPER").as_deref() != Ok("victim") {
        return;
    }
    let socket = std::env::var("LMKD_ADVERSARIAL_SOCKET").unwrap();
    let mut c = Client::connect(&socket).expect("connect");
    c.set_timeout(Some(Duration::from_secs(10))).unwrap();
    for rec in std::env::var("LMKD_ADVERSARIAL_RECORDS").unwrap().split(',') {
        let v: Vec<i32> = rec.split(':').map(|x| x.parse().unwrap()).collect();
        c.register(v[0], v[1], v[2], PROC_TYPE_APP).unwrap();
    }
    barrier(&mut c);
    println!("VICTIM holding {}", std::process::id());
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        if line.trim() == "ping" {
            let state = match c.kill_count(-1000, 1000) {
                Ok(_) => "alive".to_owned(),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::UnexpectedEof
                            | std::io::ErrorKind::BrokenPipe
                            | std::io::ErrorKind::ConnectionReset
                    ) =>
                {
                    "closed".to_owned()
                }
                Err(e) => format!("error {e}"),
            };
            println!("VICTIM pong {state}");
        }
    }
}

/// `n` processes that live until released: subshells of one `sh`, each blocked reading the
/// shell's stdin. Closing it lets them all exit; the shell reaps them and exits itself.
struct Batch {
    sh: Child,
    stdin: Option<ChildStdin>,
    pids: Vec<i32>,
}

impl Batch {
    fn spawn(n: usize) -> Batch {
        let script = format!(
            "exec 3<&0; i=0; while [ \"$i\" -lt {n} ]; do (read x <&3) >/dev/null 2>&1 & \
             echo $!; i=$((i+1)); done; wait"
        );
        let mut sh = Command::new("sh")
            .arg("-c")
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn sh");
        let stdin = sh.stdin.take();
        let mut out = BufReader::new(sh.stdout.take().unwrap());
        let mut pids = Vec::with_capacity(n);
        let mut line = String::new();
        while pids.len() < n {
            line.clear();
            let got = out.read_line(&mut line).expect("read a pid from sh");
            assert!(got > 0, "sh stopped after {} of {n} children", pids.len());
            pids.push(line.trim().parse().expect("a pid"));
        }
        Batch { sh, stdin, pids }
    }

    /// Lets every child exit and waits (bounded) until the shell has reaped them and exited.
    fn release(mut self) {
        self.stdin.take();
        let sh = &mut self.sh;
        assert!(
            wait_until(Duration::from_secs(30), || sh.try_wait().is_ok_and(|s| s.is_some())),
            "the batch's shell did not exit"
        );
    }
}

impl Drop for Batch {
    fn drop(&mut self) {
        self.stdin.take();
        let sh = &mut self.sh;
        if !wait_until(Duration::from_secs(10), || sh.try_wait().is_ok_and(|s| s.is_some())) {
            let _ = sh.kill();
            let _ = sh.wait();
        }
    }
}

/// The pids the random packets may name (see the module docs).
struct PidPool {
    own: Vec<i32>,
    victim: Vec<i32>,
    daemon: i32,
}

impl PidPool {
    /// Whether `pid` is one the flood may name.
    fn contains(&self, pid: i32) -> bool {
        self.own.contains(&pid)
            || self.victim.contains(&pid)
            || pid == self.daemon
            || pid <= 0
            || pid > PID_MAX_LIMIT
    }

    fn pick(&self, rng: &mut Rng) -> i32 {
        match rng.below(100) {
            0..=44 => self.own[rng.below(self.own.len() as u64) as usize],
            45..=64 => self.victim[rng.below(self.victim.len() as u64) as usize],
            65..=89 => PID_MAX_LIMIT + 1 + rng.below((i32::MAX - PID_MAX_LIMIT) as u64) as i32,
            90..=94 => [0, -1, i32::MIN, -(rng.below(1 << 20) as i32)][rng.below(4) as usize],
            _ => self.daemon,
        }
    }
}

/// An interesting argument word.
fn random_arg(rng: &mut Rng) -> i32 {
    match rng.below(10) {
        0..=2 => rng.below(1101) as i32,
        3 => -(rng.below(1101) as i32),
        4..=5 => {
            [0, 1, 2, -1, -1000, -1001, 1000, 1001, i32::MIN, i32::MAX][rng.below(10) as usize]
        }
        _ => rng.word(),
    }
}

/// The word positions that a pid-carrying command could read as a pid, under any layout and
/// whatever the packet's length.
fn pid_positions(words: &[i32]) -> Vec<usize> {
    let n = words.len();
    match words.first().copied() {
        Some(LMK_PROCPRIO | LMK_PROCREMOVE | LMK_EXT_KILL) if n > 1 => vec![1],
        // Four-field records at 1, 5, 9, ...; five-field ones at 1, 6, 11, ...
        Some(LMK_PROCS_PRIO) => (1..n).step_by(4).chain((1..n).step_by(5)).collect(),
        _ => Vec::new(),
    }
}

/// Rewrites every pid position of `words` to a pid from `pool`; the word after it (the uid)
/// is often the flooder's own, so that its updates and kill requests can succeed.
fn sanitize(words: &mut [i32], pool: &PidPool, adv_uid: i32, rng: &mut Rng) {
    let positions = pid_positions(words);
    for &p in &positions {
        if p + 1 < words.len() && rng.below(2) == 0 {
            words[p + 1] = adv_uid;
        }
    }
    // Last, so that no other write can land on a pid position.
    for &p in &positions {
        words[p] = pool.pick(rng);
    }
    assert!(positions.iter().all(|&p| pool.contains(words[p])), "unsafe packet {words:?}");
}

/// One random packet: mostly word-framed with a plausible command code, sometimes with a
/// ragged tail, sometimes shorter than a word, sometimes longer than any command.
fn random_packet(rng: &mut Rng, pool: &PidPool, adv_uid: i32) -> Vec<u8> {
    if rng.below(50) == 0 {
        return (0..rng.below(4)).map(|_| rng.next() as u8).collect();
    }
    let cmd = match rng.below(100) {
        0..=34 => rng.word(),
        35..=84 => rng.below(12) as i32,
        85..=94 => 0x1000 + rng.below(6) as i32,
        _ => [i32::MIN, -1, 12, 0x0fff, i32::MAX, 0x1003][rng.below(6) as usize],
    };
    let nargs = match rng.below(10) {
        0..=6 => rng.below(6),
        7..=8 => rng.below(17),
        _ => rng.below(72),
    } as usize;
    let mut words = vec![cmd];
    words.extend((0..nargs).map(|_| random_arg(rng)));
    sanitize(&mut words, pool, adv_uid, rng);
    let mut bytes = be(&words);
    if rng.below(10) == 0 {
        bytes.extend((0..1 + rng.below(3)).map(|_| rng.next() as u8));
    }
    bytes
}

/// The flooder's reader: takes every reply and event off the socket so that the daemon never
/// has a reason to give up on the connection, and watches for the sentinel reply.
struct Drain {
    stop: Arc<AtomicBool>,
    sentinel_seen: Arc<AtomicBool>,
    packets: Arc<AtomicU64>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drain {
    fn start(fd: OwnedFd, sentinel_pid: i32) -> Drain {
        let stop = Arc::new(AtomicBool::new(false));
        let sentinel_seen = Arc::new(AtomicBool::new(false));
        let packets = Arc::new(AtomicU64::new(0));
        let (s, seen, n) = (stop.clone(), sentinel_seen.clone(), packets.clone());
        let thread = std::thread::spawn(move || {
            // The daemon's loop runs SCHED_FIFO 1 and answers as fast as the flooder sends; a
            // reader at plain priority can fall behind on a loaded 2-CPU machine until the
            // daemon rightly drops the connection as one that does not read (64 replies
            // queued). This reader is the one that reads: it runs above the loop.
            if let Err(e) = lmkd::sys::sched_setscheduler(0, lmkd::sys::SCHED_FIFO, 2) {
                eprintln!("drain: cannot run SCHED_FIFO ({e}); it may fall behind under load");
            }
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                match rustix::net::recv(&fd, &mut buf[..], rustix::net::RecvFlags::empty()) {
                    Ok((_, 0)) => break,
                    Ok((_, len)) => {
                        n.fetch_add(1, Ordering::Relaxed);
                        let w = |i: usize| {
                            i32::from_be_bytes(buf[i * 4..i * 4 + 4].try_into().unwrap())
                        };
                        if len == 12 && w(0) == LMK_EXT_KILL && w(1) == sentinel_pid {
                            seen.store(true, Ordering::SeqCst);
                        }
                    }
                    Err(rustix::io::Errno::INTR) => {}
                    Err(rustix::io::Errno::AGAIN) => {
                        if s.load(Ordering::SeqCst) {
                            break;
                        }
                    }
                    Err(_) => break,
                }
            }
        });
        Drain { stop, sentinel_seen, packets, thread: Some(thread) }
    }

    fn finish(&mut self) -> u64 {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
        self.packets.load(Ordering::Relaxed)
    }
}

impl Drop for Drain {
    fn drop(&mut self) {
        self.finish();
    }
}

#[test]
fn a_flood_of_100000_random_packets() {
    const PACKETS: usize = 100_000;
    const ADV_UID: i32 = 10_900;
    let t0 = Instant::now();
    let seed = seed();
    eprintln!("random packet flood: seed {seed} (set LMKD_ADVERSARIAL_SEED to repeat another)");
    let mut d = start_daemon();
    let mut victim = Victim::start(&d, &[0, 200, 500, 800, 999]);
    let mut obs = d.client();
    // The flooder's own children, registered by it: random packets may update, remove and
    // kill them. They are never reaped before the end, so their pids cannot be reused.
    let own: Vec<Sleeper> = (0..12).map(|_| Sleeper::new()).collect();
    let mut flooder = d.client();
    for k in &own {
        flooder.register(k.pid(), ADV_UID, 900, PROC_TYPE_APP).unwrap();
    }
    barrier(&mut flooder);
    barrier(&mut obs);
    let before = footprint(&d);
    let log0 = log_lines(&d).len();
    let closes0 = count_log(&d, CLOSING);

    let pool = PidPool {
        own: own.iter().map(Sleeper::pid).collect(),
        victim: victim.kids.iter().map(|(k, _, _)| k.pid()).collect(),
        daemon: d.child.id() as i32,
    };
    let sentinel = i32::MAX - 7;
    flooder.set_timeout(Some(Duration::from_millis(200))).unwrap();
    // A daemon that stops reading makes the flooder's sends fail instead of hanging the test.
    rustix::net::sockopt::set_socket_timeout(
        flooder.socket(),
        rustix::net::sockopt::Timeout::Send,
        Some(Duration::from_secs(60)),
    )
    .unwrap();
    let mut drain = Drain::start(flooder.socket().try_clone_to_owned().unwrap(), sentinel);
    let mut rng = Rng::new(seed);
    let mut slowest = Duration::ZERO;
    let flood_start = Instant::now();
    for i in 0..PACKETS {
        // Now and then a proper registration of one of the flooder's children, so that the
        // random updates, removals and kill requests keep finding records to act on.
        let pkt = if i % 100 == 0 {
            be(&[LMK_PROCPRIO, pool.own[i / 100 % pool.own.len()], ADV_UID, 900])
        } else {
            random_packet(&mut rng, &pool, ADV_UID)
        };
        if let Err(e) = flooder.send_raw(&pkt) {
            panic!("the daemon dropped the flooder after {i} packets: {e}");
        }
        if i % 10_000 == 9_999 {
            // Meanwhile another client is served.
            let t = Instant::now();
            obs.kill_count(-1000, 1000).expect("the observer is answered during the flood");
            slowest = slowest.max(t.elapsed());
        }
    }
    // Everything the flooder sent has been handled once the reply to the sentinel (a kill
    // request for a pid that cannot exist) arrives.
    flooder.send_raw(&ExtCommand::Kill { pid: sentinel, uid: 0, reason: 0 }.encode()).unwrap();
    assert!(
        wait_until(Duration::from_secs(120), || drain.sentinel_seen.load(Ordering::SeqCst)),
        "the daemon did not get through the flood"
    );
    let flood_time = flood_start.elapsed();
    let replies = drain.finish();
    assert!(d.alive(), "the daemon died in the flood; log tail:\n{}", tail(&d));
    let during = footprint(&d);

    // The bystander is untouched, and still connected (three connections: no overflow).
    assert!(victim.connected(), "the victim's connection survived the flood");
    victim.assert_intact(&mut obs, victim.pid());
    // Only pids the flood may name are registered.
    let table = obs.procs().unwrap();
    let killed = obs.kill_count(-1000, 1000).unwrap();
    eprintln!(
        "flood: {PACKETS} packets in {flood_time:?}, {replies} replies and events read, {} of \
         the flooder's {} children still registered, {killed} killed on request; slowest \
         observer round trip {slowest:?}",
        own.iter().filter(|k| entry(&table, k.pid()).is_some()).count(),
        own.len()
    );
    for e in &table {
        assert!(
            pool.own.contains(&e.pid) || pool.victim.contains(&e.pid),
            "a pid the flood could not name is registered: {e:?}"
        );
    }

    // The flooder leaves; a fresh client is answered; memory and descriptors come back.
    hang_up(flooder);
    wait_closes(&d, closes0 + 1);
    let answer = fresh_client_answers(&d);
    let after = assert_footprint_bounded(&d, before, 2);
    eprintln!(
        "flood: daemon before {before:?}, right after {during:?}, after the flooder left \
         {after:?}; fresh GETKILLCNT answered in {answer:?}; test took {:?}",
        t0.elapsed()
    );
    assert!(d.alive());

    // The refusals are logged with AOSP's texts and this project's...
    let lines = log_lines(&d);
    for needle in [
        "Wrong control socket read length",
        "Received unknown command code",
        "Invalid PROCPRIO oomadj argument",
        "attempts to modify a process registered by another client",
        &format!("registered by client {}; refused", victim.pid()),
    ] {
        assert!(count_lines(&lines, needle) > 0, "no log line {needle:?}");
    }
    // ...but a client must not be able to make the log as long as its input.
    // A burst, then a few lines per second, whatever the input.
    let budget = 2_000 + 100 * flood_time.as_secs() as usize;
    assert_log_bounded(&d, log0, budget, "a flood of 100,000 random packets");
}

/// The last lines of the daemon's log.
fn tail(d: &Daemon) -> String {
    let lines = log_lines(d);
    lines[lines.len().saturating_sub(20)..].join("\n")
}

#[test]
fn a_client_that_connects_and_disconnects_1000_times() {
    const CYCLES: usize = 1000;
    let t0 = Instant::now();
    let mut d = start_daemon();
    let mut victim = Victim::start(&d, &[0, 300, 700, 950]);
    let own = Sleeper::new();
    {
        let mut c = d.client();
        c.register(own.pid(), 10_800, 1, PROC_TYPE_APP).unwrap();
        barrier(&mut c);
        hang_up(c);
    }
    wait_closes(&d, 1);
    let before = footprint(&d);
    let log0 = log_lines(&d).len();
    let closes0 = count_log(&d, CLOSING);
    // Only the victim and the churning client are connected, the churner never with more than
    // one connection at a time: no observer.
    let mut last_adj = 1;
    let mut refused_sends = 0;
    let churn_start = Instant::now();
    for i in 0..CYCLES {
        let c = d.client();
        let sent = match i % 4 {
            0 => Ok(()),
            1 => {
                last_adj = (i % 1000) as i32;
                c.register(own.pid(), 10_800, last_adj, PROC_TYPE_APP)
            }
            // A request whose reply is never read.
            2 => c.send_raw(&be(&[4, -1000, 1000])),
            // A subscription and a multi-packet reply nobody reads.
            _ => c.subscribe(0).and_then(|()| c.send_raw(&ExtCommand::Procs.encode())),
        };
        if sent.is_err() {
            refused_sends += 1;
        }
        hang_up(c);
    }
    wait_closes(&d, closes0 + CYCLES);
    let churn_time = churn_start.elapsed();
    let evictions = count_log(&d, ALL_IN_USE);
    let answer = fresh_client_answers(&d);
    wait_closes(&d, closes0 + CYCLES + 1);
    let after = assert_footprint_bounded(&d, before, 1);

    let mut obs = d.client();
    let table = obs.procs().unwrap();
    let mine = entry(&table, own.pid()).expect("the churner's record is kept");
    // Never more than two live connections, so AOSP's overflow rule must never fire: the
    // victim keeps its connection and its records, and every message the churner sent before
    // hanging up was handled.
    assert_eq!(
        evictions, 0,
        "two live clients, yet the overflow rule closed every connection {evictions} times"
    );
    assert!(victim.connected(), "the victim's connection survived the churn");
    victim.assert_intact(&mut obs, victim.pid());
    assert_eq!((mine.adj, own.adj()), (last_adj, last_adj), "the last update before a hang-up");
    assert_eq!(refused_sends, 0);
    eprintln!(
        "churn: {CYCLES} connections in {churn_time:?}, {evictions} overflows, {refused_sends} \
         sends refused; fresh GETKILLCNT answered in {answer:?}; daemon before {before:?}, \
         after {after:?}; test took {:?}",
        t0.elapsed()
    );
    assert!(d.alive(), "the daemon died; log tail:\n{}", tail(&d));
    // AOSP logs each connection (established, dropped, closing): linear in connections, but
    // no more than that.
    assert_log_bounded(&d, log0, 4 * (CYCLES + 1) + 50, "1,000 connections");
}

/// The daemon stopped (SIGSTOP) for as long as this lives; continued on drop.
struct Stopped(u32);

impl Stopped {
    fn new(pid: u32) -> Stopped {
        let st = Command::new("kill").args(["-s", "STOP", &pid.to_string()]).status().unwrap();
        assert!(st.success(), "kill -s STOP {pid}");
        let s = Stopped(pid);
        let state = || {
            let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            stat.rsplit_once(") ").and_then(|(_, rest)| rest.chars().next())
        };
        assert!(
            wait_until(Duration::from_secs(10), || state() == Some('T')),
            "the daemon did not stop"
        );
        s
    }
}

impl Drop for Stopped {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-s", "CONT", &self.0.to_string()]).status();
    }
}

/// Reference §2.2: the event loop handles hang-ups in a first pass, "to correctly handle cases
/// when connection gets dropped and reestablished in the same epoll cycle". Two of three
/// clients hang up and a new one connects while the daemon is not looking (stopped): when it
/// looks, two slots are free, and nobody may be closed.
#[test]
fn hang_ups_are_handled_before_new_connections_of_the_same_cycle() {
    let mut d = start_daemon();
    let mut victim = Victim::start(&d, &[100, 900]);
    let mut a = d.client();
    barrier(&mut a);
    let mut b = d.client();
    barrier(&mut b);
    let closes0 = count_log(&d, CLOSING);
    let mut c = {
        let _stopped = Stopped::new(d.child.id());
        // Connected first (it waits in the listen backlog), then the two hang up.
        let c = d.client();
        hang_up(a);
        hang_up(b);
        c
    };
    c.set_timeout(Some(ANSWER_BOUND)).unwrap();
    barrier(&mut c);
    wait_closes(&d, closes0 + 2);
    let evictions = count_log(&d, ALL_IN_USE);
    let victim_connected = victim.connected();
    let mut obs = if victim_connected { c } else { d.client() };
    victim.assert_intact(&mut obs, if victim_connected { victim.pid() } else { 0 });
    assert!(d.alive());
    assert!(
        evictions == 0 && victim_connected,
        "a connection that replaced two hung-up ones in one epoll cycle was taken for a fourth: \
         the overflow rule closed every connection ({evictions} times), the victim's included \
         (connected: {victim_connected}); log tail:\n{}",
        tail(&d)
    );
}

#[test]
fn four_clients_racing_for_three_slots() {
    const RACERS: usize = 4;
    let t0 = Instant::now();
    let mut d = start_daemon();
    let mut victim = Victim::start(&d, &[0, 250, 600, 900]);
    let own: Vec<Sleeper> = (0..RACERS).map(|_| Sleeper::new()).collect();
    let before = footprint(&d);
    let log0 = log_lines(&d).len();
    let all_connected = Arc::new(Barrier::new(RACERS));
    let threads: Vec<_> = own
        .iter()
        .enumerate()
        .map(|(r, k)| {
            let (socket, pid, go) = (d.socket.clone(), k.pid(), all_connected.clone());
            std::thread::spawn(move || race(r, &socket, pid, &go))
        })
        .collect();
    let results: Vec<RaceResult> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let race_time = t0.elapsed();
    let connections: usize = results.iter().map(|r| r.connections).sum();
    let evictions = count_log(&d, ALL_IN_USE);
    let summary: Vec<(usize, usize, usize)> =
        results.iter().map(|r| (r.connections, r.answered, r.lost)).collect();
    eprintln!(
        "race: (connections, answered, lost) per racer {summary:?}, {evictions} overflows in \
         {race_time:?}"
    );

    // Four clients held connections at once beside the victim: AOSP's rule closed them all,
    // the victim's included, and its records survive un-claimed.
    assert!(evictions >= 1, "five connections for three slots, and no overflow");
    assert!(!victim.connected(), "the overflow closed the victim's connection");
    assert!(results.iter().map(|r| r.answered).sum::<usize>() > 0, "no racer was ever served");
    // Every racer connection and the victim's are closed, by an overflow or a hang-up.
    wait_closes(&d, connections + 1);
    let answer = fresh_client_answers(&d);
    let mut obs = d.client();
    victim.assert_intact(&mut obs, 0);
    let table = obs.procs().unwrap();
    for (r, k) in own.iter().enumerate() {
        let res = &results[r];
        match entry(&table, k.pid()) {
            Some(e) => {
                assert!(res.sent_adjs.contains(&e.adj), "racer {r}: adj {} never sent", e.adj);
                assert_eq!(e.adj, k.adj(), "racer {r}: table and oom_score_adj agree");
                assert_eq!(e.uid, 10_810 + r as i32);
            }
            None => assert_eq!(res.answered, 0, "racer {r} was served, yet has no record"),
        }
    }
    let known: HashSet<i32> =
        own.iter().map(Sleeper::pid).chain(victim.kids.iter().map(|(k, _, _)| k.pid())).collect();
    assert!(table.iter().all(|e| known.contains(&e.pid)), "{table:?}");
    hang_up(obs);
    // Racers' records hold two descriptors each (pidfd and oom_score_adj).
    let after = assert_footprint_bounded(&d, before, 2 * RACERS + 1);
    eprintln!(
        "race: fresh GETKILLCNT answered in {answer:?}; daemon before {before:?}, after \
         {after:?}; test took {:?}",
        t0.elapsed()
    );
    assert!(d.alive(), "the daemon died; log tail:\n{}", tail(&d));
    // Per connection: established, dropped or closed by the overflow, closing; per overflow
    // one more line.
    assert_log_bounded(&d, log0, 5 * connections + 50, "four racing clients");
}

#[derive(Debug, Default)]
struct RaceResult {
    connections: usize,
    answered: usize,
    lost: usize,
    sent_adjs: HashSet<i32>,
}

/// One racer: connects, waits until all four are connected, then keeps registering its child
/// and asking for the kill count, reconnecting whenever the daemon closed its connection.
fn race(r: usize, socket: &Path, pid: i32, all_connected: &Barrier) -> RaceResult {
    const ROUNDS: usize = 150;
    let mut res = RaceResult::default();
    let connect = |res: &mut RaceResult| {
        res.connections += 1;
        let c = Client::connect(socket).expect("connect");
        c.set_timeout(Some(Duration::from_secs(5))).unwrap();
        c
    };
    let mut c = connect(&mut res);
    all_connected.wait();
    let end = Instant::now() + Duration::from_secs(20);
    for round in 0..ROUNDS {
        if Instant::now() > end {
            break;
        }
        let adj = 100 * (r as i32 + 1) + (round % 50) as i32;
        res.sent_adjs.insert(adj);
        let ok = c.register(pid, 10_810 + r as i32, adj, PROC_TYPE_APP).is_ok()
            && c.kill_count(-1000, 1000).is_ok();
        if ok {
            res.answered += 1;
        } else {
            res.lost += 1;
            hang_up(c);
            c = connect(&mut res);
        }
    }
    hang_up(c);
    res
}

#[test]
fn ten_thousand_short_lived_registrations_then_the_client_dies() {
    const TOTAL: usize = 10_000;
    const PER_BATCH: usize = 250;
    const STAYERS: usize = 20;
    let pid_max: usize =
        fs::read_to_string("/proc/sys/kernel/pid_max").unwrap().trim().parse().unwrap();
    let tasks: usize = fs::read_to_string("/proc/loadavg")
        .unwrap()
        .split_whitespace()
        .nth(3)
        .and_then(|f| f.split('/').nth(1)?.parse().ok())
        .unwrap();
    let nproc_ok = is_root() || nproc_soft_limit().is_none_or(|l| l >= 4 * PER_BATCH as u64);
    if !require(
        pid_max >= tasks + 4 * PER_BATCH && nproc_ok,
        "room for 250 more processes at a time (pid_max, RLIMIT_NPROC)",
    ) {
        return;
    }
    let t0 = Instant::now();
    let mut d = start_daemon();
    let mut victim = Victim::start(&d, &[0, 100, 650, 1000]);
    let mut obs = d.client();
    barrier(&mut obs);
    let stayers: Vec<Sleeper> = (0..STAYERS).map(|_| Sleeper::new()).collect();
    let before = footprint(&d);
    let log0 = log_lines(&d).len();
    let closes0 = count_log(&d, CLOSING);
    let mut rng = Rng::new(seed());

    let mut adv = d.client();
    let stay_records = |base: i32| -> Vec<ProcPrio> {
        stayers
            .iter()
            .enumerate()
            .map(|(i, k)| ProcPrio {
                pid: k.pid(),
                uid: 20_000,
                adj: base + i as i32,
                ..Default::default()
            })
            .collect()
    };
    adv.register_batch(&stay_records(500), RecordLayout::FourFields).unwrap();
    let mut peak = footprint(&d);
    let mut registered = 0;
    let reg_start = Instant::now();
    for b in 0..TOTAL / PER_BATCH {
        let batch = Batch::spawn(PER_BATCH);
        let records: Vec<ProcPrio> = batch
            .pids
            .iter()
            .map(|&pid| ProcPrio {
                pid,
                uid: 20_001 + b as i32,
                adj: rng.below(1001) as i32,
                ..Default::default()
            })
            .collect();
        let layout = if b % 2 == 0 { RecordLayout::FourFields } else { RecordLayout::FiveFields };
        adv.register_batch(&records, layout).unwrap();
        barrier(&mut adv);
        // Every one of them was registered while it was alive.
        let table = obs.procs().unwrap();
        let live = batch.pids.iter().filter(|&&p| entry(&table, p).is_some()).count();
        assert_eq!(live, PER_BATCH, "batch {b}: {live} of {PER_BATCH} registered");
        registered += live;
        if b % 8 == 0 {
            let f = footprint(&d);
            if f.rss_kb > peak.rss_kb {
                peak = f;
            }
        }
        batch.release();
    }
    let reg_time = reg_start.elapsed();
    // The exits empty the table of the dead without anyone asking.
    let live_count = victim.kids.len() + STAYERS;
    let mut n = 0;
    assert!(
        wait_until(Duration::from_secs(30), || {
            n = obs.procs().unwrap().len();
            n == live_count
        }),
        "{n} records left, {live_count} processes alive"
    );
    let drained = reg_start.elapsed();

    // The client's last words: new adj values for the stayers, then it is gone, replies unread.
    adv.register_batch(&stay_records(600), RecordLayout::FourFields).unwrap();
    hang_up(adv);
    wait_closes(&d, closes0 + 1);
    let table = obs.procs().unwrap();
    for (i, k) in stayers.iter().enumerate() {
        let e = entry(&table, k.pid()).expect("a live stayer keeps its record");
        assert_eq!((e.adj, e.uid, e.owner), (600 + i as i32, 20_000, 0), "stayer {i}");
        assert_eq!(k.adj(), 600 + i as i32, "what was sent before the hang-up was applied");
    }
    assert!(victim.connected());
    victim.assert_intact(&mut obs, victim.pid());

    // The stayers go too; only the victim's records remain.
    drop(stayers);
    assert!(
        wait_until(Duration::from_secs(30), || {
            n = obs.procs().unwrap().len();
            n == victim.kids.len()
        }),
        "{n} records left after the stayers exited"
    );
    let answer = fresh_client_answers(&d);
    let after = assert_footprint_bounded(&d, before, 1);
    assert!(d.alive());
    eprintln!(
        "10k: {registered} short-lived registrations in {reg_time:?}, table back to the living \
         after {drained:?}; fresh GETKILLCNT answered in {answer:?}; daemon before {before:?}, \
         peak {peak:?}, after {after:?}; test took {:?}",
        t0.elapsed()
    );
    // Registrations and exits are not worth a line at the production level.
    assert_log_bounded(&d, log0, 100, "10,000 short-lived registrations");
}

/// The soft `RLIMIT_NPROC` of this process (`None`: unlimited).
fn nproc_soft_limit() -> Option<u64> {
    let limits = fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max processes"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}

#[test]
fn a_subscriber_that_never_reads_its_events() {
    const ROUNDS: usize = 4;
    const PER_ROUND: usize = 100;
    const UID: i32 = 10_950;
    let t0 = Instant::now();
    let mut d = start_daemon();
    let mut victim = Victim::start(&d, &[0, 400, 800]);
    let mut stuck = d.client();
    stuck.subscribe(0).unwrap();
    stuck.subscribe(1).unwrap();
    barrier(&mut stuck);
    let mut killer = d.client();
    barrier(&mut killer);
    let before = footprint(&d);
    let log0 = log_lines(&d).len();
    let closes0 = count_log(&d, CLOSING);
    let me = std::process::id();

    let mut slowest = Duration::ZERO;
    let kill_start = Instant::now();
    for round in 0..ROUNDS {
        let batch = Batch::spawn(PER_ROUND);
        let records: Vec<ProcPrio> = batch
            .pids
            .iter()
            .map(|&pid| ProcPrio { pid, uid: UID, adj: 900 + round as i32, ..Default::default() })
            .collect();
        killer.register_batch(&records, RecordLayout::FourFields).unwrap();
        for &pid in &batch.pids {
            let t = Instant::now();
            assert_eq!(killer.kill(pid, UID, 7).unwrap(), KILL_SENT, "kill of pid {pid}");
            slowest = slowest.max(t.elapsed());
        }
        batch.release();
    }
    let kill_time = kill_start.elapsed();
    let kills = ROUNDS * PER_ROUND;
    assert_eq!(killer.kill_count(-1000, 1000).unwrap() as usize, kills);
    let dropped_warnings = count_log(&d, "is not reading its events");
    assert!(dropped_warnings >= 1, "the dropped events are logged");

    // The killer leaves; a fresh client is answered; the victim is intact.
    hang_up(killer);
    wait_closes(&d, closes0 + 1);
    let answer = fresh_client_answers(&d);
    wait_closes(&d, closes0 + 2);
    let mut obs = d.client();
    assert!(victim.connected());
    victim.assert_intact(&mut obs, victim.pid());
    hang_up(obs);
    wait_closes(&d, closes0 + 3);
    let after = assert_footprint_bounded(&d, before, 0);

    // The subscriber was never disconnected for its events: it reads what fitted (and the
    // replies it just asked for still arrive), and every event was either delivered or
    // counted as missed.
    stuck.set_timeout(Some(Duration::from_secs(1))).unwrap();
    let mut received = 0;
    while stuck.recv_event().unwrap().is_some() {
        received += 1;
    }
    barrier(&mut stuck);
    hang_up(stuck);
    let missed_line = format!("client {me} missed ");
    assert!(d.wait_log(&missed_line), "the missed events are counted when the subscriber leaves");
    let lines = log_lines(&d);
    let missed: usize = lines
        .iter()
        .find_map(|l| l.split_once(&missed_line)?.1.split_whitespace().next()?.parse().ok())
        .expect("the missed events are counted when the subscriber leaves");
    assert_eq!(received + missed, 2 * kills, "each kill is two events: delivered or missed");
    assert!(missed > 0, "the subscriber's socket never filled up");
    let elapsed = t0.elapsed();
    assert!(
        dropped_warnings as u64 <= 1 + elapsed.as_secs() / 10,
        "'not reading its events' is logged at most once per 10 s: {dropped_warnings} in \
         {elapsed:?}"
    );
    eprintln!(
        "subscriber: {kills} kills in {kill_time:?} (slowest {slowest:?}), {received} events \
         delivered, {missed} missed, {dropped_warnings} warnings; fresh GETKILLCNT answered in \
         {answer:?}; daemon before {before:?}, after {after:?}; test took {elapsed:?}"
    );
    assert!(d.alive(), "the daemon died; log tail:\n{}", tail(&d));
    // A kill line per kill, connection lines, the warnings.
    assert_log_bounded(&d, log0, kills + 50, "a subscriber that never reads");
}

/// A client sending `LMK_TARGET` back to back: the daemon publishes the first at once, ignores
/// the rest within its one-second limit (tests/timing.rs proves the limit on a fake clock),
/// logs the refusals within a budget, and serves the others meanwhile.
#[test]
fn lmk_target_as_fast_as_a_client_can_send() {
    const TARGETS: usize = 300;
    let t0 = Instant::now();
    let mut d = start_daemon();
    let mut victim = Victim::start(&d, &[0, 100, 200, 900]);
    let mut obs = d.client();
    let mut tgt = d.client();
    barrier(&mut tgt);
    let before = footprint(&d);
    let log0 = log_lines(&d).len();
    let closes0 = count_log(&d, CLOSING);
    let table = |i: i32| -> Vec<(i32, i32)> {
        [0, 100, 200, 250, 900, 950]
            .iter()
            .enumerate()
            .map(|(k, &adj)| (i + 1000 * k as i32, adj))
            .collect()
    };
    let value = |i: i32| -> String {
        table(i).iter().map(|(m, a)| format!("{m}:{a}")).collect::<Vec<_>>().join(",")
    };
    let mut slowest = Duration::ZERO;
    let start = Instant::now();
    for i in 0..TARGETS {
        tgt.target(&table(i as i32)).unwrap();
        if i % 50 == 49 {
            let t = Instant::now();
            obs.kill_count(-1000, 1000).expect("the observer is answered meanwhile");
            slowest = slowest.max(t.elapsed());
        }
    }
    barrier(&mut tgt);
    let phase = start.elapsed();

    let lines = log_lines(&d);
    let added = &lines[log0..];
    let published: Vec<&str> = added
        .iter()
        .filter_map(|l| l.split_once("setprop sys.lmk.minfree_levels ").map(|(_, v)| v.trim()))
        .collect();
    let ignored = count_lines(added, "Ignoring frequent updated to lmkd limits");
    eprintln!(
        "target: {TARGETS} LMK_TARGETs in {phase:?}: {} published, {ignored} ignored; slowest \
         observer round trip {slowest:?}",
        published.len()
    );
    // The first is published at once, and every value published is one that was sent.
    assert!(!published.is_empty());
    assert_eq!(published[0], value(0), "the first LMK_TARGET is published at once");
    let sent: HashSet<String> = (0..TARGETS as i32).map(value).collect();
    assert!(published.iter().all(|v| sent.contains(*v)), "{published:?}");
    assert!(published.len() + ignored <= TARGETS);
    // The ignored ones are logged with AOSP's text (how often is checked at the end).
    assert!(ignored > 0, "no 'Ignoring frequent updated to lmkd limits' line");

    assert!(victim.connected());
    victim.assert_intact(&mut obs, victim.pid());
    hang_up(tgt);
    wait_closes(&d, closes0 + 1);
    let answer = fresh_client_answers(&d);
    let after = assert_footprint_bounded(&d, before, 1);
    eprintln!(
        "target: fresh GETKILLCNT answered in {answer:?}; daemon before {before:?}, after \
         {after:?}; test took {:?}",
        t0.elapsed()
    );
    assert!(d.alive(), "the daemon died; log tail:\n{}", tail(&d));
    // The ignored ones must not cost a line each: a burst, then a few lines per second.
    assert_log_bounded(&d, log0, 50 + 5 * phase.as_secs() as usize, "LMK_TARGET back to back");
}
