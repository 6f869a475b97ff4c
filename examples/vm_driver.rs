//! The VM lane's guest test driver (`tests/vm/run.sh` builds it statically and `tests/vm/init.sh`
//! runs it as the guest's test program). It plays two parts of Android for the daemon:
//!
//! * **init**: it creates the control socket at `/dev/socket/lmkd` (`SOCK_SEQPACKET`, 0660),
//!   hands it to the daemon in `ANDROID_SOCKET_lmkd`, and gives the daemon its properties in a
//!   file (`--props`), with the whole system as the memory domain;
//! * **ActivityManager**: it starts synthetic apps (this same binary in `app` mode), registers
//!   them on AOSP's adj ladder over the socket (`LMK_PROCPRIO`), subscribes to kill events
//!   (`LMK_PROCKILL`) and reads the kill history (`LMK_EXT_KILL_HISTORY`).
//!
//! Scenarios (each with a fresh daemon):
//!
//! * `a`: cached apps plus a growing foreground app, with zram swap;
//! * `b`: file-cache thrashing (a file re-read from disk) plus anonymous growth;
//! * `c`: a frozen cached app (v1 freezer) killed under pressure: its memory comes back
//!   through the reaper while it is still frozen;
//! * `d`: the legacy path, `ro.lmk.use_psi=false`: vmpressure on the root memory cgroup;
//! * `e`: scenario `a` with AOSP's memevents: the project's BPF object
//!   (`tests/bpf/memevents.bpf.c`) loaded into the guest's bpffs with bpftool, as Android's BPF
//!   loader pins it, so that the daemon learns of kswapd and direct reclaim from the kernel's
//!   own tracepoints.
//!
//! Results go to the results channel as lines: `INFO …`, `SCENARIO <s> BEGIN <text>`,
//! `KILL <s> key=value … text=<reason>`, `METRIC <s> key=value …`, `CHECK <s> ok|FAIL <text>`,
//! `SCENARIO <s> PASS|FAIL`, files as `FILE <name> <bytes>` … `END FILE`, and last
//! `RESULT PASS` or `RESULT FAIL`.
//!
//! The race (`--race RATES`, `tests/vm/run.sh --bench-race`): one foreground app grows at each
//! rate among cached apps on the adj ladder, with the daemon's predictive rule on, off, and
//! no daemon at all; one `METRIC race …` line per run (see [`race_bench`]).
//!
//! Usage: `vm_driver --results PATH [--scenarios a,b,c,d] [--no-daemon] [--lmkd PATH]
//! [--bench N] [--race RATES [--race-modes on+off+kernel] [--race-round K]]`;
//! `vm_driver app <app options>` is the synthetic app.

use std::fmt::Write as _;
use std::fs;
use std::io::{self, BufRead, Read, Write};
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use lmkd::client::Client;
use lmkd::demo::app::{AppOptions, AppProcess};
use lmkd::protocol::{ServerMessage, LMK_ASYNC_EVENT_KILL, PROC_TYPE_APP};
use lmkd::reaper::ReapOutcome;
use lmkd::report::KillRecord;

const MIB: usize = 1 << 20;
const PAGE: usize = 4096;
const SOCKET: &str = "/dev/socket/lmkd";
/// AOSP's ladder below the foreground: cached 999/950/900, service B 800, previous 700, home
/// 600, service 500, perceptible 200, visible 100.
const LADDER: [i32; 9] = [999, 950, 900, 800, 700, 600, 500, 200, 100];

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("app") {
        match AppOptions::parse(&args[1..]) {
            Ok(o) => {
                if let Err(e) = app(&o) {
                    eprintln!("vm_driver app: {e}");
                }
            }
            Err(e) => eprintln!("vm_driver app: {e}"),
        }
        std::process::exit(1);
    }
    let mut results = None;
    let mut scenarios = "a,b,c,d,e".to_owned();
    let mut no_daemon = false;
    let mut bench = 0usize;
    let mut scenarios_given = false;
    let mut lmkd = PathBuf::from("/bin/lmkd");
    let mut race = RaceOptions::default();
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--results" => results = it.next(),
            "--scenarios" => {
                scenarios = it.next().unwrap_or_default();
                scenarios_given = true;
            }
            "--no-daemon" => no_daemon = true,
            "--bench" => bench = it.next().and_then(|n| n.parse().ok()).unwrap_or(0),
            "--lmkd" => lmkd = it.next().unwrap_or_default().into(),
            "--race" => {
                race.rates = it
                    .next()
                    .unwrap_or_default()
                    .split([',', '+'])
                    .filter_map(|r| r.parse().ok())
                    .collect();
            }
            "--race-modes" => {
                race.modes = it
                    .next()
                    .unwrap_or_default()
                    .split([',', '+'])
                    .filter_map(RaceMode::parse)
                    .collect();
            }
            "--race-round" => race.round = it.next().and_then(|n| n.parse().ok()).unwrap_or(1),
            other => {
                eprintln!("vm_driver: unknown argument {other:?}");
                std::process::exit(2);
            }
        }
    }
    let out: Box<dyn Write> = match results {
        Some(p) => Box::new(
            fs::OpenOptions::new()
                .write(true)
                .custom_flags(libc::O_NOCTTY)
                .open(p)
                .expect("results channel"),
        ),
        None => Box::new(io::stdout()),
    };
    // The driver is init's stand-in: the kernel's OOM killer must not take it (its apps get
    // their own adj when they are registered).
    let _ = fs::write("/proc/self/oom_score_adj", "-1000");
    let mut r = Report { out, failed: false };
    if !race.rates.is_empty() {
        r.line(&format!("INFO driver race round {}", race.round));
        race_bench(&mut r, &race, &lmkd);
        r.line(if r.failed { "RESULT FAIL" } else { "RESULT PASS" });
        return;
    }
    r.line(&format!("INFO driver scenarios={scenarios} daemon={}", !no_daemon));
    if bench > 0 {
        // Scenario (a) `bench` times with the daemon and `bench` times without it (the
        // kernel's OOM killer alone), alternating, in this one boot.
        for i in 0..bench {
            r.line(&format!("INFO bench round {} of {bench}", i + 1));
            run_scenario(&mut r, &A, &lmkd, false);
            run_scenario(&mut r, &A, &lmkd, true);
        }
        if !scenarios_given {
            r.line(if r.failed { "RESULT FAIL" } else { "RESULT PASS" });
            return;
        }
    }
    for s in scenarios.split([',', '+']).filter(|s| !s.is_empty()) {
        let sc = match s {
            "a" => A,
            "b" => B,
            "c" => C,
            "d" => D,
            "e" => E,
            _ => {
                r.line(&format!("INFO unknown scenario {s}"));
                r.failed = true;
                continue;
            }
        };
        run_scenario(&mut r, &sc, &lmkd, no_daemon);
    }
    r.line(if r.failed { "RESULT FAIL" } else { "RESULT PASS" });
}

/// The results channel.
struct Report {
    out: Box<dyn Write>,
    failed: bool,
}

impl Report {
    fn line(&mut self, l: &str) {
        let _ = writeln!(self.out, "{l}");
        let _ = self.out.flush();
        eprintln!("vm_driver: {l}");
    }

    fn file(&mut self, name: &str, text: &str) {
        let text = if text.ends_with('\n') || text.is_empty() {
            text.to_owned()
        } else {
            format!("{text}\n")
        };
        let _ = write!(self.out, "FILE {name} {}\n{text}END FILE\n", text.len());
        let _ = self.out.flush();
    }
}

// ---------------------------------------------------------------------------------------------
// The synthetic app.

/// Writes app memory: private anonymous memory with every page written, half of each page
/// pseudo-random and half zero, so that it compresses about 2:1 in zram, like app heaps
/// (all-zero pages would cost zram nothing). The random half is copied from a pool at an offset
/// that moves from page to page (zram compresses each page on its own, so a copy is as
/// incompressible as fresh random bytes), which keeps the cost per page to a copy: under TCG
/// the fill rate, not the generator, bounds how fast an app can grow (`--bench-race`).
struct Filler {
    pool: Vec<u8>,
    page: usize,
}

impl Filler {
    const POOL: usize = 256 * 1024;

    fn new(mut seed: u64) -> Filler {
        let mut pool = vec![0u8; Self::POOL + PAGE];
        for w in pool.chunks_mut(8) {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            w.copy_from_slice(&seed.to_ne_bytes());
        }
        Filler { pool, page: 0 }
    }

    fn touched(&mut self, mib: usize) -> Vec<u8> {
        let mut v = vec![0u8; mib * MIB];
        for page in v.chunks_mut(PAGE) {
            // An odd multiple of 8 bytes: every offset of the pool comes round in turn.
            let off = (self.page.wrapping_mul(8 * 331)) % Self::POOL;
            page[..PAGE / 2].copy_from_slice(&self.pool[off..off + PAGE / 2]);
            self.page += 1;
        }
        v
    }
}

/// The app: joins its cgroups, holds `anon` MiB, optionally writes and re-reads a file, grows
/// by `grow` MiB/s up to `max`; stdin commands `grow N`, `max N`, `shrink`, `stop` (stop
/// re-reading). Prints `ready <pid>` once it holds its memory.
fn app(o: &AppOptions) -> io::Result<()> {
    let pid = std::process::id();
    for dir in &o.join {
        fs::write(dir.join("cgroup.procs"), pid.to_string())?;
    }
    let mut fill = Filler::new(0x9e37_79b9_7f4a_7c15u64 ^ u64::from(pid));
    let base = fill.touched(o.anon_mib);
    let mut buf = vec![0u8; MIB];
    if let Some(f) = &o.file {
        if o.file_mib > 0 {
            let mut out = fs::File::create(f)?;
            for _ in 0..o.file_mib {
                let chunk = fill.touched(1);
                out.write_all(&chunk)?;
            }
            out.sync_all()?;
        }
    }
    let rate = Arc::new(AtomicUsize::new(o.grow_mib_per_s));
    let max = Arc::new(AtomicUsize::new(o.max_mib.unwrap_or(usize::MAX)));
    let shrink = Arc::new(AtomicBool::new(false));
    let reread = Arc::new(AtomicBool::new(o.reread));
    {
        let (rate, max, shrink, reread) =
            (rate.clone(), max.clone(), shrink.clone(), reread.clone());
        std::thread::spawn(move || {
            for line in io::stdin().lock().lines().map_while(Result::ok) {
                let mut w = line.split_whitespace();
                match (w.next(), w.next().and_then(|v| v.parse::<usize>().ok())) {
                    (Some("grow"), Some(n)) => rate.store(n, Ordering::SeqCst),
                    (Some("max"), Some(n)) => max.store(n, Ordering::SeqCst),
                    (Some("shrink"), _) => shrink.store(true, Ordering::SeqCst),
                    (Some("stop"), _) => reread.store(false, Ordering::SeqCst),
                    _ => {}
                }
            }
        });
    }
    println!("ready {pid}");
    io::stdout().flush()?;
    let mut leak: Vec<Vec<u8>> = Vec::new();
    let mut leaked = 0usize;
    let mut last = Instant::now();
    let mut owed = 0.0f64;
    loop {
        let now = Instant::now();
        if shrink.swap(false, Ordering::SeqCst) {
            leak.clear();
            leaked = 0;
        }
        let r = rate.load(Ordering::SeqCst);
        let mut room = 0;
        if r > 0 {
            owed += now.duration_since(last).as_secs_f64() * r as f64;
            room = max.load(Ordering::SeqCst).saturating_sub(o.anon_mib + leaked);
            let step = (owed as usize).min(room).min(8);
            if step > 0 {
                leak.push(fill.touched(step));
                leaked += step;
                owed -= step as f64;
            }
            if room == 0 {
                owed = 0.0;
            }
        }
        last = now;
        let rereading = reread.load(Ordering::SeqCst);
        if rereading {
            if let Some(f) = &o.file {
                let mut file = fs::File::open(f)?;
                while file.read(&mut buf)? > 0 {}
            }
        }
        if r > 0 {
            // Growing: no sleep while a whole MiB is owed (an app behind its rate allocates
            // back to back), else until the next one is due (at most 20 ms).
            if owed < 1.0 || room == 0 {
                let due = ((1.0 - owed.max(0.0)) / r as f64).min(0.02);
                std::thread::sleep(Duration::from_secs_f64(due.max(0.001)));
            }
        } else if !rereading {
            std::thread::sleep(Duration::from_millis(200));
        }
        std::hint::black_box(&base);
    }
}

// ---------------------------------------------------------------------------------------------
// Kernel and system state.

fn vmstat(key: &str) -> u64 {
    fs::read_to_string("/proc/vmstat")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(' ')?.trim().parse().ok())
        .unwrap_or(0)
}

fn meminfo_kb(key: &str) -> i64 {
    fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix(key)?.strip_prefix(':')?.trim().trim_end_matches(" kB").parse().ok()
        })
        .unwrap_or(-1)
}

fn status_kb(pid: i32, key: &str) -> i64 {
    fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix(key)?.strip_prefix(':')?.trim().trim_end_matches(" kB").parse().ok()
        })
        .unwrap_or(0)
}

/// Writes a line into the kernel log (a marker among the kernel's own lines).
fn kmsg_mark(text: &str) {
    if let Ok(mut f) = fs::OpenOptions::new().write(true).open("/dev/kmsg") {
        let _ = writeln!(f, "vm_driver: {text}");
    }
}

/// The kernel log records so far: (timestamp µs, message).
fn kmsg_read() -> Vec<(u64, String)> {
    let mut out = Vec::new();
    let Ok(mut f) =
        fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open("/dev/kmsg")
    else {
        return out;
    };
    let mut buf = vec![0u8; 8192];
    loop {
        match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                let rec = String::from_utf8_lossy(&buf[..n]);
                let Some((head, msg)) = rec.split_once(';') else { continue };
                let ts = head.split(',').nth(2).and_then(|t| t.parse().ok()).unwrap_or(0);
                out.push((ts, msg.lines().next().unwrap_or("").to_owned()));
            }
            Err(e) if e.raw_os_error() == Some(libc::EPIPE) => continue,
            Err(_) => break,
        }
    }
    out
}

fn wall_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// A pressure source the driver watches itself: when it first fired (µs after `t0`) and how
/// often.
struct Watch {
    first: Arc<AtomicU64>,
    count: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

impl Watch {
    fn new() -> Watch {
        Watch {
            first: Arc::new(AtomicU64::new(u64::MAX)),
            count: Arc::new(AtomicU64::new(0)),
            stop: Arc::new(AtomicBool::new(false)),
        }
    }

    /// `/proc/pressure/memory` with a trigger of AOSP's default for "some" (70 ms in a 1 s
    /// window).
    fn psi(t0: Instant) -> io::Result<Watch> {
        let mut f = fs::OpenOptions::new().read(true).write(true).open("/proc/pressure/memory")?;
        f.write_all(b"some 70000 1000000\0")?;
        let w = Watch::new();
        let (fi, co, st) = (w.first.clone(), w.count.clone(), w.stop.clone());
        std::thread::spawn(move || {
            let timeout = rustix::event::Timespec { tv_sec: 0, tv_nsec: 200_000_000 };
            while !st.load(Ordering::SeqCst) {
                let mut fds = [rustix::event::PollFd::new(&f, rustix::event::PollFlags::PRI)];
                if let Ok(n) = rustix::event::poll(&mut fds, Some(&timeout)) {
                    if n > 0 && fds[0].revents().contains(rustix::event::PollFlags::PRI) {
                        note(&fi, t0);
                        co.fetch_add(1, Ordering::SeqCst);
                        // One event per window at most.
                        std::thread::sleep(Duration::from_millis(100));
                    }
                }
            }
            drop(f);
        });
        Ok(w)
    }

    /// vmpressure at `level` on the memory cgroup v1 directory `dir`, registered as the daemon
    /// registers its own (an eventfd written to `cgroup.event_control` with the
    /// `memory.pressure_level` fd, default mode): the kernel signals every listener of a level
    /// at or below the event's, so this one fires with the daemon's `low` listener.
    fn vmpressure(t0: Instant, dir: &Path, level: &str) -> io::Result<Watch> {
        use rustix::event::{eventfd, EventfdFlags};
        let efd = eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)?;
        let pl = fs::File::open(dir.join("memory.pressure_level"))?;
        let mut ctl = fs::OpenOptions::new().write(true).open(dir.join("cgroup.event_control"))?;
        ctl.write_all(format!("{} {} {level}", efd.as_raw_fd(), pl.as_raw_fd()).as_bytes())?;
        let w = Watch::new();
        let (fi, co, st) = (w.first.clone(), w.count.clone(), w.stop.clone());
        std::thread::spawn(move || {
            let timeout = rustix::event::Timespec { tv_sec: 0, tv_nsec: 200_000_000 };
            while !st.load(Ordering::SeqCst) {
                let mut fds = [rustix::event::PollFd::new(&efd, rustix::event::PollFlags::IN)];
                if let Ok(n) = rustix::event::poll(&mut fds, Some(&timeout)) {
                    if n > 0 && fds[0].revents().contains(rustix::event::PollFlags::IN) {
                        note(&fi, t0);
                        let mut v = [0u8; 8];
                        if rustix::io::read(&efd, &mut v).is_ok() {
                            co.fetch_add(u64::from_ne_bytes(v), Ordering::SeqCst);
                        }
                    }
                }
            }
            drop((efd, pl, ctl));
        });
        Ok(w)
    }

    fn first_ms(&self) -> Option<f64> {
        let v = self.first.load(Ordering::SeqCst);
        (v != u64::MAX).then(|| v as f64 / 1000.0)
    }
}

/// Notes the first event (µs after `t0`).
fn note(first: &AtomicU64, t0: Instant) {
    let _ = first.compare_exchange(
        u64::MAX,
        t0.elapsed().as_micros() as u64,
        Ordering::SeqCst,
        Ordering::SeqCst,
    );
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

// ---------------------------------------------------------------------------------------------
// The daemon, started as init starts it.

struct Daemon {
    child: Child,
    log: PathBuf,
    /// The decision trace (`lmkd --record`), if recorded.
    trace: Option<PathBuf>,
}

impl Daemon {
    /// Creates the control socket, writes the properties and starts the daemon with the
    /// socket in `ANDROID_SOCKET_lmkd`, as init does for `socket lmkd seqpacket+passcred 0660
    /// system system` (`init/lmkd.rc`). With `record`, the daemon records its decision trace
    /// (`--record`; `lmkctl replay` plays it back).
    fn start(lmkd: &Path, tag: &str, props: &str, record: bool) -> io::Result<Daemon> {
        use rustix::net::{self, AddressFamily, SocketAddrUnix, SocketFlags, SocketType};
        let _ = fs::remove_file(SOCKET);
        // Without CLOEXEC, so that the daemon inherits it; taken back right after the spawn.
        let sock = net::socket_with(
            AddressFamily::UNIX,
            SocketType::SEQPACKET,
            SocketFlags::empty(),
            None,
        )?;
        net::bind(&sock, &SocketAddrUnix::new(SOCKET)?)?;
        fs::set_permissions(SOCKET, fs::Permissions::from_mode(0o660))?;
        let prop_file = PathBuf::from(format!("/tmp/lmkd-{tag}.prop"));
        fs::write(&prop_file, props)?;
        let log = PathBuf::from(format!("/tmp/lmkd-{tag}.log"));
        let trace = record.then(|| PathBuf::from(format!("/tmp/lmkd-{tag}.trace")));
        let mut cmd = Command::new(lmkd);
        if let Some(t) = &trace {
            cmd.arg("--record").arg(t);
        }
        let child = cmd
            .arg("--props")
            .arg(&prop_file)
            .env("ANDROID_SOCKET_lmkd", sock.as_raw_fd().to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(fs::File::create(&log)?)
            .spawn();
        rustix::io::fcntl_setfd(sock.as_fd(), rustix::io::FdFlags::CLOEXEC)?;
        drop(sock);
        Ok(Daemon { child: child?, log, trace })
    }

    fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn connect(&self) -> io::Result<Client> {
        let end = Instant::now() + Duration::from_secs(20);
        loop {
            match Client::connect(SOCKET) {
                Ok(mut c) => {
                    // The daemon answers: it is in its loop.
                    if c.kill_count(-1000, 1000).is_ok() {
                        return Ok(c);
                    }
                }
                Err(e) if Instant::now() >= end => {
                    return Err(io::Error::other(format!(
                        "the daemon did not come up: {e}\n{}",
                        self.log_text()
                    )))
                }
                Err(_) => {}
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Daemon {
    /// ActivityManager's two connections: one for commands, one subscribed to kill events
    /// (the subscription in place before anything can be killed).
    fn clients(&self) -> io::Result<(Client, Client)> {
        let c = self.connect()?;
        let mut s = self.connect()?;
        s.subscribe(LMK_ASYNC_EVENT_KILL)?;
        // A barrier: the subscription is in place before anything can be killed.
        s.set_timeout(Some(Duration::from_secs(10)))?;
        s.kill_count(-1000, 1000)?;
        s.set_timeout(Some(Duration::from_millis(1)))?;
        Ok((c, s))
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------------------
// Scenarios.

#[derive(Clone, Copy)]
struct Scenario {
    id: char,
    title: &'static str,
    /// Extra properties.
    props: &'static str,
    /// Anonymous memory of each app on the ladder, MiB.
    ladder_mib: usize,
    /// The foreground app: growth rate (MiB/s) and final size as a share of MemTotal (%).
    fg_rate: usize,
    fg_max_pct: usize,
    /// Two files, each re-read by its own perceptible app, each this share of MemTotal (%;
    /// 0: none). Small enough that the refaults of a squeezed page cache are a large share
    /// of it (AOSP's thrashing measure) even at TCG's disk speed.
    file_pct: usize,
    /// A frozen cached app holding this much (MiB; 0: none).
    frozen_mib: usize,
    /// Swap off for the scenario: anonymous memory cannot go to zram, so the growth squeezes
    /// the page cache itself.
    no_swap: bool,
    /// The memevents BPF programs are loaded before the daemon starts (`sys.boot_completed`
    /// and `bpf.progs_loaded` are set in its properties).
    memevents: bool,
}

const A: Scenario = Scenario {
    id: 'a',
    title: "cached apps plus a growing foreground app, zram swap, PSI (Android default)",
    props: "",
    ladder_mib: 56,
    fg_rate: 40,
    fg_max_pct: 78,
    file_pct: 0,
    frozen_mib: 0,
    no_swap: false,
    memevents: false,
};
const B: Scenario = Scenario {
    id: 'b',
    title: "file-cache thrashing plus anonymous growth, PSI, zram off (thrashing limit 30 %, Android Go's)",
    // A 1 GiB device is an Android Go device, which ships ro.config.low_ram=true and with it a
    // thrashing limit of 30 % (100 % otherwise); only that default is taken over here.
    props: "ro.lmk.thrashing_limit=30\n",
    ladder_mib: 40,
    fg_rate: 24,
    fg_max_pct: 62,
    file_pct: 10,
    frozen_mib: 0,
    no_swap: true,
    memevents: false,
};
const C: Scenario = Scenario {
    id: 'c',
    title: "a frozen cached app (v1 freezer) killed under pressure and reaped, PSI",
    props: "",
    ladder_mib: 40,
    fg_rate: 40,
    fg_max_pct: 78,
    file_pct: 0,
    frozen_mib: 160,
    no_swap: false,
    memevents: false,
};
const D: Scenario = Scenario {
    id: 'd',
    title: "legacy: ro.lmk.use_psi=false, vmpressure on the root memory cgroup, level mode",
    props: "ro.lmk.use_psi=false\n",
    ladder_mib: 56,
    fg_rate: 40,
    fg_max_pct: 78,
    file_pct: 0,
    frozen_mib: 0,
    no_swap: false,
    memevents: false,
};
const E: Scenario = Scenario {
    id: 'e',
    title: "scenario (a) with memevents: AOSP's BPF programs pinned in the guest's bpffs, reclaim from kswapd and direct-reclaim tracepoints",
    // The device after boot with its BPF loader done: the daemon sets memevents up at start.
    props: "sys.boot_completed=1\nbpf.progs_loaded=1\n",
    ladder_mib: 56,
    fg_rate: 40,
    fg_max_pct: 78,
    file_pct: 0,
    frozen_mib: 0,
    no_swap: false,
    memevents: true,
};

/// Where Android's BPF loader pins lmkd's memevents programs and ring buffer.
const MEMEVENTS_PINS: &str = "/sys/fs/bpf/memevents";
/// The BPF object `tests/vm/run.sh` builds from `tests/bpf/memevents.bpf.c` into the guest.
const MEMEVENTS_OBJECT: &str = "/memevents.bpf.o";

/// Plays Android's BPF loader for memevents: loads the object and pins its programs and maps
/// under `/sys/fs/bpf/memevents` (init.sh mounts bpffs and tracefs where Android does). Once
/// per boot: a second scenario finds them pinned.
fn load_memevents() -> io::Result<()> {
    let ring = Path::new(MEMEVENTS_PINS).join("map_bpfMemEvents_lmkd_rb");
    if ring.exists() {
        return Ok(());
    }
    fs::create_dir_all(MEMEVENTS_PINS)?;
    let out = Command::new("/bin/bpftool")
        .args(["prog", "loadall", MEMEVENTS_OBJECT, MEMEVENTS_PINS, "pinmaps", MEMEVENTS_PINS])
        .output()?;
    if !out.status.success() || !ring.exists() {
        return Err(io::Error::other(format!(
            "bpftool prog loadall {MEMEVENTS_OBJECT}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    Ok(())
}

/// The counts in the status report's `reclaim_source` (`memevents (N tracepoints; N direct
/// reclaims, N kswapd wake-ups, …)`): (tracepoints, direct reclaims, kswapd wake-ups).
fn memevents_counts(status_json: &str) -> Option<(u64, u64, u64)> {
    let src = status_json.split("\"reclaim_source\":\"").nth(1)?.split('"').next()?;
    let body = src.strip_prefix("memevents (")?;
    let count = |what: &str| -> Option<u64> {
        let before = body.split(what).next()?;
        before.rsplit([' ', '(', ';']).find(|w| !w.is_empty())?.parse().ok()
    };
    Some((count(" tracepoints")?, count(" direct reclaims")?, count(" kswapd wake-ups")?))
}

struct App {
    name: String,
    process: AppProcess,
    adj: i32,
    /// The daemon reported it killed (LMK_PROCKILL), at this many ms into the scenario.
    killed_ms: Option<f64>,
    /// Seen dead without a kill report.
    died_ms: Option<f64>,
}

/// The state of one scenario run.
struct Run<'a> {
    r: &'a mut Report,
    sc: Scenario,
    t0: Instant,
    wall0: i64,
    apps: Vec<App>,
    client: Option<Client>,
    sub: Option<Client>,
    /// (ms, pid) of every LMK_PROCKILL.
    events: Vec<(f64, i32)>,
    oom0: u64,
    /// oom_kill moved while registered killable apps (adj > 0) were alive.
    oom_with_killable: Vec<String>,
    first_kill_marked: bool,
    program: PathBuf,
}

impl Run<'_> {
    fn ms(&self) -> f64 {
        self.t0.elapsed().as_secs_f64() * 1000.0
    }

    fn check(&mut self, ok: bool, what: &str) {
        let id = self.sc.id;
        self.r.line(&format!("CHECK {id} {} {what}", if ok { "ok  " } else { "FAIL" }));
        if !ok {
            self.r.failed = true;
        }
    }

    fn launch(&mut self, name: &str, adj: i32, o: AppOptions) -> io::Result<usize> {
        let process = AppProcess::spawn(&self.program, &["app"], &o)?;
        let uid = 10_100 + self.apps.len() as i32;
        let pid = process.pid();
        match &self.client {
            Some(c) => c.register(pid, uid, adj, PROC_TYPE_APP)?,
            // Without a daemon the adj goes to the kernel directly (its OOM killer uses it).
            None => fs::write(format!("/proc/{pid}/oom_score_adj"), adj.to_string())?,
        }
        self.apps.push(App { name: name.to_owned(), process, adj, killed_ms: None, died_ms: None });
        Ok(self.apps.len() - 1)
    }

    /// Takes kill events, notes deaths and the kernel's OOM kills.
    fn poll(&mut self) -> io::Result<()> {
        let now = self.ms();
        if let Some(sub) = &mut self.sub {
            while let Some(m) = sub.recv_event()? {
                if let ServerMessage::ProcKill(k) = m {
                    self.events.push((now, k.pid));
                    if let Some(a) = self.apps.iter_mut().find(|a| a.process.pid() == k.pid) {
                        // The victim may exit (and be seen dead below, in an earlier poll) before
                        // its event is read: that death was this kill.
                        let seen_dead = a.died_ms.take();
                        a.killed_ms.get_or_insert(seen_dead.map_or(now, |d| d.min(now)));
                    }
                }
            }
        }
        if !self.events.is_empty() && !self.first_kill_marked {
            self.first_kill_marked = true;
            kmsg_mark(&format!("scenario {} first lmkd kill seen", self.sc.id));
        }
        for a in &mut self.apps {
            if a.killed_ms.is_none() && a.died_ms.is_none() && a.process.exited() {
                a.died_ms = Some(now);
            }
        }
        let oom = vmstat("oom_kill");
        if oom > self.oom0 && self.client.is_some() {
            let killable: Vec<String> = self
                .apps
                .iter()
                .filter(|a| a.adj > 0 && a.killed_ms.is_none() && a.died_ms.is_none())
                .map(|a| format!("{}(adj {})", a.name, a.adj))
                .collect();
            if !killable.is_empty() && self.oom_with_killable.is_empty() {
                self.oom_with_killable = killable;
            }
        }
        Ok(())
    }

    /// Polls for `d`.
    fn wait(&mut self, d: Duration) -> io::Result<()> {
        let end = Instant::now() + d;
        while Instant::now() < end {
            self.poll()?;
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    fn history(&mut self) -> io::Result<Vec<KillRecord>> {
        match &mut self.client {
            Some(c) => c.kill_history(),
            None => Ok(Vec::new()),
        }
    }
}

fn run_scenario(r: &mut Report, sc: &Scenario, lmkd: &Path, no_daemon: bool) {
    r.line(&format!("SCENARIO {} BEGIN {}", sc.id, sc.title));
    let before = r.failed;
    r.failed = false;
    if let Err(e) = scenario(r, sc, lmkd, no_daemon) {
        r.line(&format!("CHECK {} FAIL the scenario could not run: {e}", sc.id));
        r.failed = true;
    }
    // Whatever is left of the scenario's memory is dropped before the next one.
    let _ = fs::write("/proc/sys/vm/drop_caches", "3");
    r.line(&format!("SCENARIO {} {}", sc.id, if r.failed { "FAIL" } else { "PASS" }));
    r.failed |= before;
}

fn scenario(r: &mut Report, sc: &Scenario, lmkd: &Path, no_daemon: bool) -> io::Result<()> {
    if sc.no_swap {
        swap(false)?;
    }
    let r = scenario_inner(r, sc, lmkd, no_daemon);
    if sc.no_swap {
        swap(true)?;
    }
    r
}

/// Turns the zram swap off or on (busybox's swapoff/swapon).
fn swap(on: bool) -> io::Result<()> {
    let ok = Command::new(if on { "swapon" } else { "swapoff" }).arg("/dev/zram0").status()?;
    if ok.success() {
        Ok(())
    } else {
        Err(io::Error::other(format!("swap{} /dev/zram0 failed", if on { "on" } else { "off" })))
    }
}

fn scenario_inner(r: &mut Report, sc: &Scenario, lmkd: &Path, no_daemon: bool) -> io::Result<()> {
    let mem_mib = (meminfo_kb("MemTotal").max(0) as usize) >> 10;
    let program = std::env::current_exe()?;
    let props = format!("ro.lmk.debug=true\n{}", sc.props);
    if sc.memevents && !no_daemon {
        load_memevents()?;
    }
    let daemon =
        if no_daemon { None } else { Some(Daemon::start(lmkd, &sc.id.to_string(), &props, true)?) };
    let (client, sub) = match &daemon {
        Some(d) => {
            let (c, s) = d.clients()?;
            (Some(c), Some(s))
        }
        None => (None, None),
    };
    // Where the daemon's pressure events come from (vmpressure: the root memory cgroup's
    // memory.pressure_level, which its eventfd registrations keep open).
    let vmpressure_fd = daemon.as_ref().is_some_and(|d| {
        fs::read_dir(format!("/proc/{}/fd", d.child.id())).is_ok_and(|dir| {
            dir.flatten().any(|e| {
                fs::read_link(e.path())
                    .is_ok_and(|l| l == Path::new("/dev/memcg/memory.pressure_level"))
            })
        })
    });
    let t0 = Instant::now();
    kmsg_mark(&format!("scenario {} start", sc.id));
    let psi = Watch::psi(t0)?;
    // In the legacy scenario, the driver's own `low` vmpressure listener on the root memory
    // cgroup: a second measure of when pressure began, beside the daemon's log.
    let vmp = if sc.props.contains("use_psi=false") {
        Some(Watch::vmpressure(t0, Path::new("/dev/memcg"), "low")?)
    } else {
        None
    };
    let mut run = Run {
        r,
        sc: *sc,
        t0,
        wall0: wall_ms(),
        apps: Vec::new(),
        client,
        sub,
        events: Vec::new(),
        oom0: vmstat("oom_kill"),
        oom_with_killable: Vec::new(),
        first_kill_marked: false,
        program,
    };
    let kmsg_start = kmsg_read()
        .iter()
        .rev()
        .find(|(_, m)| m.contains(&format!("scenario {} start", sc.id)))
        .map_or(0, |(t, _)| *t);

    // The frozen app first (the most recently cached, holding the most).
    let mut frozen = None;
    let freezer = PathBuf::from(format!("/dev/freezer/frozen-{}", sc.id));
    if sc.frozen_mib > 0 {
        fs::create_dir_all(&freezer)?;
        let o = AppOptions {
            anon_mib: sc.frozen_mib,
            join: vec![freezer.clone()],
            ..Default::default()
        };
        let i = run.launch("frozen-cached", 999, o)?;
        fs::write(freezer.join("freezer.state"), "FROZEN")?;
        let end = Instant::now() + Duration::from_secs(10);
        while fs::read_to_string(freezer.join("freezer.state"))?.trim() != "FROZEN"
            && Instant::now() < end
        {
            std::thread::sleep(Duration::from_millis(20));
        }
        frozen = Some(i);
    }
    for (i, &adj) in LADDER.iter().enumerate() {
        let adj = if sc.frozen_mib > 0 && adj == 999 { 985 } else { adj };
        run.launch(
            &format!("app-{i}-adj{adj}"),
            adj,
            AppOptions { anon_mib: sc.ladder_mib, ..Default::default() },
        )?;
    }
    let mut readers = Vec::new();
    if sc.file_pct > 0 {
        for (k, adj) in [250, 260].into_iter().enumerate() {
            let o = AppOptions {
                anon_mib: 8,
                file: Some(PathBuf::from(format!("/data/file-{}-{k}", sc.id))),
                file_mib: mem_mib * sc.file_pct / 100,
                reread: true,
                ..Default::default()
            };
            readers.push(run.launch(&format!("file-reader-{k}"), adj, o)?);
        }
        // The readers' working sets settle into the page cache before anon growth starts.
        run.wait(Duration::from_secs(3))?;
    }
    let fg_max = mem_mib * sc.fg_max_pct / 100;
    let fg = run.launch(
        "foreground",
        0,
        AppOptions {
            anon_mib: 16,
            grow_mib_per_s: sc.fg_rate,
            max_mib: Some(fg_max),
            ..Default::default()
        },
    )?;
    run.r.line(&format!(
        "INFO {} MemTotal {mem_mib} MiB; {} ladder apps of {} MiB; foreground grows {} MiB/s to {fg_max} MiB{}{}",
        sc.id,
        LADDER.len(),
        sc.ladder_mib,
        sc.fg_rate,
        if sc.file_pct > 0 { format!("; two files of {} MiB re-read", mem_mib * sc.file_pct / 100) } else { String::new() },
        if sc.frozen_mib > 0 { format!("; a frozen app of {} MiB", sc.frozen_mib) } else { String::new() },
    ));

    // The foreground grows to its size (or dies).
    let grow_end =
        Instant::now() + Duration::from_secs((fg_max / sc.fg_rate.max(1)) as u64 * 3 + 30);
    let mut frozen_checked = false;
    loop {
        run.poll()?;
        if let Some(i) = frozen {
            if !frozen_checked && run.apps[i].killed_ms.is_some() {
                frozen_checked = true;
                check_frozen(&mut run, i, &freezer)?;
            }
        }
        let a = &mut run.apps[fg];
        if a.killed_ms.is_some() || a.died_ms.is_some() || Instant::now() > grow_end {
            break;
        }
        if (status_kb(a.process.pid(), "VmRSS") + status_kb(a.process.pid(), "VmSwap")) >> 10
            >= fg_max as i64 - 4
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let grown_ms = run.ms();
    // Pressure ends: the readers stop re-reading.
    for &i in &readers {
        let _ = run.apps[i].process.command("stop");
    }
    run.wait(Duration::from_secs(5))?;
    let settled = run.events.len();
    let settled_hist = run.history()?.len();
    run.wait(Duration::from_secs(5))?;
    let hist = run.history()?;
    let end_ms = run.ms();
    psi_stop(&psi);
    let kmsg = kmsg_read();
    let oom_total = vmstat("oom_kill") - run.oom0;
    if let Some(i) = frozen {
        let _ = fs::write(freezer.join("freezer.state"), "THAWED");
        if !frozen_checked {
            let killed = run.apps[i].killed_ms.is_some();
            run.check(killed, "the frozen app was killed");
        }
    }

    // ---- what happened
    let log = daemon.as_ref().map(Daemon::log_text).unwrap_or_default();
    let id = sc.id;
    let daemon_kills: Vec<&KillRecord> = hist.iter().filter(|k| k.requested_by == 0).collect();
    for k in &daemon_kills {
        let name = run
            .apps
            .iter()
            .find(|a| a.process.pid() == k.pid)
            .map_or(k.name.as_str().replace(' ', "_"), |a| a.name.clone());
        let mut l = format!(
            "KILL {id} seq={} t_ms={} name={name} pid={} adj={} min_adj={} rss_kb={} swap_kb={} reap_us={} death_us={} outcome={} reason={} text={}",
            k.seq,
            k.time_ms - run.wall0,
            k.pid,
            k.adj,
            k.min_adj,
            k.rss_kb,
            k.swap_kb,
            k.reap_us,
            k.death_us,
            k.outcome.map_or("pending", |o| o.as_str()),
            k.reason,
            k.reason_text.as_str()
        );
        if k.reason_text.as_str().is_empty() {
            l.push('-');
        }
        run.r.line(&l);
    }
    // Kernel OOM kills in this scenario.
    let oom_lines: Vec<&(u64, String)> =
        kmsg.iter().filter(|(t, m)| *t >= kmsg_start && m.starts_with("Out of memory")).collect();
    for (t, m) in &oom_lines {
        run.r
            .line(&format!("INFO {id} kernel at {:.0} ms: {m}", (*t - kmsg_start) as f64 / 1000.0));
    }

    // ---- metrics (the benchmark's)
    let psi_first = psi.first_ms();
    let kernel_ms = |t: u64| (t.saturating_sub(kmsg_start)) as f64 / 1000.0;
    let (first_kill_ms, back_ms, exit_ms, kills) = if daemon.is_some() {
        let first = daemon_kills.first().map(|k| (k.time_ms - run.wall0) as f64);
        let back =
            daemon_kills.first().filter(|k| k.reap_us >= 0).map(|k| k.reap_us as f64 / 1000.0);
        let exit =
            daemon_kills.first().filter(|k| k.death_us >= 0).map(|k| k.death_us as f64 / 1000.0);
        (first, back, exit, daemon_kills.len())
    } else {
        let first = oom_lines.first().map(|(t, _)| *t);
        let reaped = first.and_then(|t0k| {
            kmsg.iter()
                .find(|(t, m)| *t >= t0k && m.starts_with("oom_reaper: reaped"))
                .map(|(t, _)| (*t - t0k) as f64 / 1000.0)
        });
        // The first victim's exit as the driver saw it (polled every 20-50 ms: coarse).
        let victim: Option<i32> = oom_lines.first().and_then(|(_, m)| {
            m.split("Killed process ").nth(1)?.split_whitespace().next()?.parse().ok()
        });
        let exit = victim.and_then(|pid| {
            let died = run.apps.iter().find(|a| a.process.pid() == pid)?.died_ms?;
            Some(died - kernel_ms(first?))
        });
        // Memory back: the oom_reaper's line if it had to reap, else the victim's own exit.
        (first.map(kernel_ms), reaped.or(exit), exit, oom_lines.len())
    };
    let fmt = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v:.1}"));
    let fg_alive = run.apps[fg].killed_ms.is_none()
        && run.apps[fg].died_ms.is_none()
        && !run.apps[fg].process.exited();
    run.r.line(&format!(
        "METRIC {id} mode={} psi_first_ms={} first_kill_ms={} psi_to_kill_ms={} kill_to_back_ms={} kill_to_exit_ms={} kills={kills} oom_kills={oom_total} psi_events={} fg_survived={} scenario_s={:.1}",
        if daemon.is_some() { "lmkd" } else { "kernel" },
        fmt(psi_first),
        fmt(first_kill_ms),
        fmt(match (psi_first, first_kill_ms) { (Some(p), Some(k)) => Some(k - p), _ => None }),
        fmt(back_ms),
        fmt(exit_ms),
        psi.count.load(Ordering::SeqCst),
        u8::from(fg_alive),
        end_ms / 1000.0
    ));
    run.r.line(&format!("INFO {id} foreground reached its size at {:.1} s", grown_ms / 1000.0));

    if daemon.is_none() {
        run.r.line(&format!(
            "INFO {id} no daemon: the kernel's OOM killer alone (measured, not asserted)"
        ));
        return Ok(());
    }

    // ---- assertions (the host tests' and the lane's own)
    if sc.props.contains("use_psi=false") {
        run.check(
            log.contains("Using vmpressure for memory pressure detection"),
            "the daemon uses vmpressure",
        );
        run.check(
            vmpressure_fd,
            "on the root memory cgroup (the daemon holds /dev/memcg/memory.pressure_level open)",
        );
        run.check(
            log.contains("memory pressure event #"),
            "vmpressure events arrived (level mode)",
        );
        run.check(
            daemon_kills.iter().all(|k| k.min_adj == 0 || k.min_adj == 800),
            "each kill's min adj is its level's (ro.lmk.medium 800, ro.lmk.critical 0) or the predictive rule's (0)",
        );
        // Level mode's kills carry no reason (AOSP's old strategy reports -1 and no text).
        // With ro.lmk.predictive_kill (the default) a kill may instead be the predictive
        // rule's, taken while the headroom watch runs: LOW_MEM (8) with a text saying what
        // was predicted. Nothing else may kill here.
        let level_kills = daemon_kills.iter().filter(|k| is_level_kill(k)).count();
        let predictive_kills = daemon_kills.iter().filter(|k| is_predictive_kill(k)).count();
        run.check(
            level_kills + predictive_kills == daemon_kills.len(),
            &format!(
                "each kill is level mode's (reason -1, no text: {level_kills}) or the predictive rule's (LOW_MEM 8, 'headroom …': {predictive_kills})"
            ),
        );
        vmpressure_metric(&mut run, &log, &daemon_kills, vmp.as_ref());
    } else {
        run.check(
            log.contains("Using psi monitors for memory pressure detection"),
            "the daemon uses PSI monitors",
        );
        run.check(
            log.contains("PSI triggers on /proc/pressure/memory with 1000 ms windows")
                && !log.contains("refused by the kernel"),
            "the 1 s PSI windows were accepted (no 2 s fallback)",
        );
        run.check(
            daemon_kills.iter().all(|k| k.reason >= 0),
            "the new strategy gives every kill a reason",
        );
    }
    run.check(log.contains("Memory domain: system"), "the memory domain is the system");
    run.check(
        !daemon_kills.is_empty(),
        &format!("the daemon killed ({} kills)", daemon_kills.len()),
    );
    let adjs: Vec<i32> = daemon_kills.iter().map(|k| k.adj).collect();
    run.check(adjs.windows(2).all(|w| w[0] >= w[1]), &format!("kills in adj order: {adjs:?}"));
    let top = run.apps.iter().map(|a| a.adj).max().unwrap_or(0);
    run.check(adjs.first() == Some(&top), &format!("the first victim has the highest adj ({top})"));
    run.check(
        daemon_kills.iter().all(|k| k.adj >= k.min_adj),
        "no victim below its decision's min adj",
    );
    run.check(fg_alive, "the foreground app (adj 0) survived");
    // Each kill reported once to the subscriber, and only the history's kills.
    let mut reported: Vec<i32> = run.events.iter().map(|e| e.1).collect();
    let mut recorded: Vec<i32> = hist.iter().map(|k| k.pid).collect();
    reported.sort_unstable();
    recorded.sort_unstable();
    run.check(
        reported == recorded,
        &format!("each kill reported once (LMK_PROCKILL {reported:?}, history {recorded:?})"),
    );
    // The kill lines match the history.
    let lines: Vec<&str> = log.lines().filter(|l| l.contains("Kill '")).collect();
    let mut unmatched = Vec::new();
    for k in &hist {
        let head = format!(
            "Kill '{}' ({}), uid {}, oom_score_adj {} to free {}kB rss, {}",
            k.name.as_str(),
            k.pid,
            k.uid,
            k.adj,
            k.rss_kb,
            k.swap_kb
        );
        let tail = if k.reason_text.as_str().is_empty() {
            "kb swap".to_owned()
        } else {
            format!("kB swap; reason: {}", k.reason_text.as_str())
        };
        if !lines.iter().any(|l| l.contains(&head) && l.trim_end().ends_with(&tail)) {
            unmatched.push(k.pid);
        }
    }
    run.check(
        lines.len() == hist.len() && unmatched.is_empty(),
        &format!(
            "{} kill lines match the {} history records (unmatched: {unmatched:?})",
            lines.len(),
            hist.len()
        ),
    );
    // Nobody died but by the daemon's hand.
    let unexplained: Vec<String> =
        run.apps.iter().filter(|a| a.died_ms.is_some()).map(|a| a.name.clone()).collect();
    run.check(
        unexplained.is_empty(),
        &format!("no app died without an lmkd kill: {unexplained:?}"),
    );
    // The kernel's OOM killer stayed out while killable registered apps remained.
    let killable = std::mem::take(&mut run.oom_with_killable);
    run.check(killable.is_empty(), &format!("/proc/vmstat oom_kill did not move while killable apps remained ({oom_total} OOM kills; alive then: {killable:?})"));
    let mark =
        kmsg.iter().position(|(_, m)| m.contains(&format!("scenario {id} first lmkd kill seen")));
    let first_oom =
        kmsg.iter().position(|(t, m)| *t >= kmsg_start && m.starts_with("Out of memory"));
    run.check(
        match (mark, first_oom) {
            (_, None) => true,
            (Some(k), Some(o)) => k < o,
            (None, Some(_)) => false,
        },
        "the daemon's first kill came before any kernel 'Out of memory:' line",
    );
    run.check(
        run.events.len() == settled && hist.len() == settled_hist,
        &format!("kills stopped once the pressure was gone ({} then {})", settled_hist, hist.len()),
    );
    if sc.file_pct > 0 {
        let thrash =
            daemon_kills.iter().filter(|k| k.reason_text.as_str().contains("thrashing")).count();
        run.check(
            thrash > 0,
            &format!(
                "a thrashing reason fired ({thrash} of {} kills say 'thrashing')",
                daemon_kills.len()
            ),
        );
        let refaults = vmstat("workingset_refault_file");
        run.r.line(&format!("INFO {id} workingset_refault_file {refaults}"));
    }
    let reaped = daemon_kills.iter().filter(|k| k.outcome == Some(ReapOutcome::Reaped)).count();
    run.r.line(&format!(
        "INFO {id} {reaped} of {} kills reaped with process_mrelease",
        daemon_kills.len()
    ));
    run.r.file(&format!("lmkd-{id}.log"), &log);
    // The decision trace of the legacy scenario, and of any that failed (gzip, base64: run.sh
    // decodes it; `lmkctl replay FILE` plays it back).
    if let Some(t) = daemon.as_ref().and_then(|d| d.trace.as_ref()) {
        if sc.props.contains("use_psi=false") || run.r.failed {
            send_trace(run.r, &format!("trace-{id}.trace"), t);
        }
    }
    let mut h = String::new();
    for k in &hist {
        let mut o = String::new();
        lmkd::report::status::kill_json(&mut o, k);
        let _ = writeln!(h, "{o}");
    }
    run.r.file(&format!("kill-history-{id}.jsonl"), &h);
    if sc.memevents {
        memevents_checks(&mut run, &log)?;
    }
    Ok(())
}

/// Scenario (e)'s own part: the reclaim events the daemon counted (its status report) came
/// from the kernel's tracepoints. The scenario's pressure shows kswapd at work; the daemon
/// usually kills before any allocation has to reclaim directly, so a last step makes the
/// kernel reclaim directly for certain: with the scenario's apps gone, the driver fills
/// memory down to about 200 MiB free, raises `vm.min_free_kbytes` above what is free (every
/// allocation below the min watermark reclaims directly), writes 16 MiB, and restores it.
/// Nothing is registered then, so the daemon has nobody to kill.
fn memevents_checks(run: &mut Run<'_>, log: &str) -> io::Result<()> {
    let id = run.sc.id;
    run.check(
        log.contains("Using memevents for direct reclaim and kswapd detection"),
        "the daemon uses memevents ('Using memevents for direct reclaim and kswapd detection')",
    );
    let status = |run: &mut Run<'_>| match run.client.as_mut() {
        Some(c) => c.status(true).map(|s| memevents_counts(&s)),
        None => Ok(None),
    };
    let before = status(run)?;
    let (tracepoints, direct0, kswapd) = before.unwrap_or_default();
    run.check(
        before.is_some() && tracepoints >= 4,
        &format!("the status report reads reclaim from memevents, the four reclaim tracepoints attached ({tracepoints})"),
    );
    run.check(
        kswapd > 0,
        &format!("kswapd wake-ups arrived from the kernel's tracepoint during the scenario ({kswapd}; direct reclaims {direct0})"),
    );
    // The direct-reclaim step.
    run.apps.clear();
    let _ = fs::write("/proc/sys/vm/drop_caches", "3");
    let mut fill = Filler::new(0x5eed);
    let mut hold = Vec::new();
    while meminfo_kb("MemFree") > 200 << 10 && hold.len() < 256 {
        hold.push(fill.touched(8));
    }
    let knob = "/proc/sys/vm/min_free_kbytes";
    let min0 = fs::read_to_string(knob)?;
    let stalls0 = allocstalls();
    let raised = (meminfo_kb("MemFree").max(0) + (32 << 10)).to_string();
    let wrote = fs::write(knob, &raised);
    if wrote.is_ok() {
        hold.push(fill.touched(16));
    }
    fs::write(knob, min0.trim())?;
    wrote?;
    drop(hold);
    let stalls = allocstalls() - stalls0;
    // The daemon drains its ring buffer when the loop wakes; let it.
    std::thread::sleep(Duration::from_millis(500));
    let (_, direct, kswapd_after) = status(run)?.unwrap_or_default();
    run.r.line(&format!(
        "METRIC {id} memevents tracepoints={tracepoints} scenario_kswapd_wakeups={kswapd} scenario_direct_reclaims={direct0} step_allocstalls={stalls} step_direct_reclaims={} kswapd_wakeups={kswapd_after} direct_reclaims={direct}",
        direct - direct0
    ));
    run.check(
        stalls > 0,
        &format!("the kernel reclaimed directly in the step (/proc/vmstat allocstall_* +{stalls})"),
    );
    run.check(
        direct > direct0,
        &format!("direct reclaims arrived from the kernel's tracepoints ({direct0} → {direct})"),
    );
    Ok(())
}

/// Direct reclaims so far (`/proc/vmstat` `allocstall_*`, every zone).
fn allocstalls() -> u64 {
    fs::read_to_string("/proc/vmstat")
        .unwrap_or_default()
        .lines()
        .filter(|l| l.starts_with("allocstall_"))
        .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        .sum()
}

/// A kill of AOSP's old strategy in level mode: no reason, no text.
fn is_level_kill(k: &KillRecord) -> bool {
    k.reason == -1 && k.reason_text.as_str().is_empty()
}

/// A kill of the predictive rule (`ro.lmk.predictive_kill`): LOW_MEM with a `headroom …` text.
fn is_predictive_kill(k: &KillRecord) -> bool {
    k.reason == 8 && k.reason_text.as_str().starts_with("headroom")
}

/// A daemon log line's time (seconds since the daemon's first line).
fn log_secs(line: &str) -> Option<f64> {
    line.split_whitespace().next()?.parse().ok()
}

/// Scenario (d)'s timing, the one AOSP lmkd was measured by in the same guest: from the first
/// pressure event to the first kill. Two measures:
///
/// * `event_to_kill_ms`, the daemon's own: its log's first `… memory pressure event #1 is
///   triggered` line (written when it handles its first vmpressure event, as AOSP's
///   `mp_event_common` writes it with `ro.lmk.debug`) to its first `Kill '…'` line, both on
///   the daemon's clock (ms resolution);
/// * `driver_event_to_kill_ms`: the driver's own `low` listener on the same root memory cgroup
///   firing first, to the first kill's time in the kill history (the kernel signals both
///   listeners together; the driver polls its eventfd, so this one includes its wake-up).
///
/// Negative when the first kill came before the first event (a predictive kill woken by
/// another early-warning source). `wake_to_kill_ms` is the part of it the daemon spent on the
/// deciding wake-up itself (the history's wake → SIGKILL); the rest is waiting for the event
/// that decided.
fn vmpressure_metric(
    run: &mut Run<'_>,
    log: &str,
    daemon_kills: &[&KillRecord],
    vmp: Option<&Watch>,
) {
    let lines: Vec<&str> = log.lines().collect();
    let ev = lines.iter().position(|l| l.contains("memory pressure event #"));
    let kill = lines.iter().position(|l| l.contains("Kill '"));
    let secs = |i: Option<usize>| i.and_then(|i| log_secs(lines[i]));
    let (ev_s, kill_s) = (secs(ev), secs(kill));
    let first = daemon_kills.first();
    // The daemon's clock mapped onto the scenario's through the first kill (its log line and
    // its history record are the same moment).
    let kill_ms = first.map(|k| (k.time_ms - run.wall0) as f64);
    let offset_ms = kill_ms.zip(kill_s).map(|(k, s)| k - s * 1000.0);
    let upto = kill.unwrap_or(lines.len());
    let before = |pat: &str| lines[..upto].iter().filter(|l| l.contains(pat)).count();
    let fmt = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v:.0}"));
    let fmt_s = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{:.2}", v / 1000.0));
    let drv = vmp.and_then(Watch::first_ms);
    run.r.line(&format!(
        "METRIC {} vmpressure event_to_kill_ms={} driver_event_to_kill_ms={} wake_to_kill_ms={} first_event_s={} first_kill_s={} first_kill_reason={} first_kill_adj={} events_before_kill={} ignored_before_kill={} driver_low_events={}",
        run.sc.id,
        fmt(ev_s.zip(kill_s).map(|(e, k)| (k - e) * 1000.0)),
        fmt(drv.zip(kill_ms).map(|(d, k)| k - d)),
        first.filter(|k| k.wake_to_kill_us >= 0).map_or("-".to_owned(), |k| format!(
            "{:.1}",
            k.wake_to_kill_us as f64 / 1000.0
        )),
        fmt_s(ev_s.zip(offset_ms).map(|(e, o)| e * 1000.0 + o)),
        fmt_s(kill_ms),
        first.map_or("-".to_owned(), |k| {
            if is_predictive_kill(k) { "predictive".to_owned() } else if is_level_kill(k) { "level".to_owned() } else { k.reason.to_string() }
        }),
        first.map_or("-".to_owned(), |k| k.adj.to_string()),
        before("memory pressure event #"),
        before("Ignore "),
        vmp.map_or(0, |w| w.count.load(Ordering::SeqCst)),
    ));
    for i in [ev, kill].into_iter().flatten() {
        run.r.line(&format!("INFO {} daemon: {}", run.sc.id, lines[i].trim_end()));
    }
}

/// Sends a decision trace as `FILE <name>.gz.b64` (gzip, then base64: the results channel is
/// text); run.sh turns it back into `<name>`.
fn send_trace(r: &mut Report, name: &str, path: &Path) {
    let out = Command::new("sh")
        .arg("-c")
        .arg("gzip -c \"$0\" | base64")
        .arg(path)
        .stderr(Stdio::inherit())
        .output();
    match out {
        Ok(o) if o.status.success() => {
            r.file(&format!("{name}.gz.b64"), &String::from_utf8_lossy(&o.stdout));
        }
        _ => r.line(&format!("INFO could not send {}", path.display())),
    }
}

fn psi_stop(p: &Watch) {
    p.stop.store(true, Ordering::SeqCst);
}

/// Scenario (c): the frozen victim's memory comes back while it is still frozen (SIGKILL
/// alone cannot free it: a frozen task does not run its exit).
fn check_frozen(run: &mut Run<'_>, i: usize, freezer: &Path) -> io::Result<()> {
    let pid = run.apps[i].process.pid();
    let mut rec = None;
    let end = Instant::now() + Duration::from_secs(10);
    while Instant::now() < end {
        rec = run.history()?.into_iter().find(|k| k.pid == pid && k.outcome.is_some());
        if rec.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let state = fs::read_to_string(freezer.join("freezer.state")).unwrap_or_default();
    let left_kb = status_kb(pid, "VmRSS") + status_kb(pid, "VmSwap");
    let Some(k) = rec else {
        run.check(false, "the frozen app's kill record finished");
        return Ok(());
    };
    let held = k.rss_kb + k.swap_kb;
    run.r.line(&format!(
        "INFO c frozen victim {pid}: held {held} kB (rss {} + swap {}), {left_kb} kB left after the reap, freezer {}, reap {} us, outcome {}",
        k.rss_kb,
        k.swap_kb,
        state.trim(),
        k.reap_us,
        k.outcome.map_or("pending", |o| o.as_str())
    ));
    run.check(k.adj == 999, "the frozen app (adj 999) was the first victim");
    run.check(
        k.outcome == Some(ReapOutcome::Reaped) && k.reap_us > 0,
        "it was reaped (process_mrelease)",
    );
    run.check(state.trim() == "FROZEN" && k.death_us < 0, "while still frozen (not dead)");
    run.check(held > 100 * 1024 && left_kb * 10 < held, "its memory came back while frozen");
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The race with the kernel's OOM killer: an allocation-rate sweep (`--race`).

/// Who is in charge in one race run.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum RaceMode {
    /// The daemon with `ro.lmk.predictive_kill=true` (its default).
    On,
    /// The daemon as AOSP: `ro.lmk.predictive_kill=false`.
    Off,
    /// No daemon: the apps' adj written to `oom_score_adj`, the kernel's OOM killer alone.
    Kernel,
}

impl RaceMode {
    fn parse(s: &str) -> Option<RaceMode> {
        match s {
            "on" => Some(RaceMode::On),
            "off" => Some(RaceMode::Off),
            "kernel" => Some(RaceMode::Kernel),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            RaceMode::On => "on",
            RaceMode::Off => "off",
            RaceMode::Kernel => "kernel",
        }
    }
}

struct RaceOptions {
    /// Growth rates, MiB/s.
    rates: Vec<usize>,
    modes: Vec<RaceMode>,
    /// The round's number (1-based): labels the runs and rotates the order of the modes.
    round: usize,
}

impl Default for RaceOptions {
    fn default() -> Self {
        RaceOptions {
            rates: Vec::new(),
            modes: vec![RaceMode::On, RaceMode::Off, RaceMode::Kernel],
            round: 1,
        }
    }
}

/// The race's world: scenario (a)'s (nine apps of 56 MiB on the ladder, the foreground app
/// growing to 78 % of MemTotal, zram on, System domain, PSI with 1 s windows), with the
/// foreground app holding [`RACE_FG_START_MIB`] before it grows, so that the growth at the
/// rate under test is the part that runs the guest out of memory.
const RACE: Scenario = Scenario {
    id: 'r',
    title: "race: a foreground app grows at a given rate among cached apps",
    props: "",
    ladder_mib: 56,
    fg_rate: 0,
    fg_max_pct: 78,
    file_pct: 0,
    frozen_mib: 0,
    no_swap: false,
    memevents: false,
};
const RACE_FG_START_MIB: usize = 192;
/// Quiet before the growth starts, and after the last death before a run ends.
const RACE_SETTLE: Duration = Duration::from_secs(2);

/// The sweep: for each rate, one run in each mode (the order of the modes rotated by round,
/// so that no mode always runs first after a boot). Each run prints
///
/// `METRIC race round= mode= rate= start_mib_s= achieved_mib_s= end_mib_s= first_death_ms=
/// first_by= first_reason= lmkd_kills= predictive_kills= kernel_kills= oom_kills= lost=
/// fg_survived= fg_died_by= stall_ms= capped= deaths=`
///
/// * `start_mib_s`: the foreground app's growth over its first half second, while free memory
///   is still there to grow into: what TCG lets an app write;
/// * `achieved_mib_s`: the foreground app's growth (VmRSS + VmSwap, sampled every 10 ms) from
///   the start of growth to the first death (to the end of growth when nothing died), per
///   second: TCG and reclaim decide what a nominal rate comes to;
/// * `end_mib_s`: the same over the last second before the first death;
/// * `first_death_ms`: after the growth began (a daemon kill at its kill-history time, a
///   kernel OOM kill at its `Out of memory: Killed process` line), `first_by` whose;
///   `first_reason`: the daemon's first kill's reason code (8 with a `headroom` text: the
///   predictive rule);
/// * `lost`: kernel OOM kills of the run while a registered app with adj above 0 was alive (a
///   race the daemon lost; in the kernel mode, every OOM kill that came while one remained);
/// * `stall_ms`: `/proc/pressure/memory` `some` stall over the run;
/// * `deaths`: `ms:adj:by` of each death after the growth began.
fn race_bench(r: &mut Report, o: &RaceOptions, lmkd: &Path) {
    let n = o.modes.len().max(1);
    for &rate in &o.rates {
        for k in 0..o.modes.len() {
            let mode = o.modes[(k + o.round.saturating_sub(1)) % n];
            if let Err(e) = race_one(r, o.round, mode, rate, lmkd) {
                r.line(&format!(
                    "INFO race round={} mode={} rate={rate}: could not run: {e}",
                    o.round,
                    mode.name()
                ));
                r.failed = true;
            }
            settle_memory();
        }
    }
}

/// Waits (at most 15 s) until the last run's memory is back: swap nearly empty and most of
/// RAM free.
fn settle_memory() {
    let _ = fs::write("/proc/sys/vm/drop_caches", "3");
    let end = Instant::now() + Duration::from_secs(15);
    while Instant::now() < end {
        let swap_used = meminfo_kb("SwapTotal") - meminfo_kb("SwapFree");
        let total = meminfo_kb("MemTotal");
        if swap_used < 16 * 1024 && meminfo_kb("MemAvailable") > total * 3 / 4 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(500));
}

/// `/proc/pressure/memory`'s `some` total, µs.
fn psi_some_total_us() -> u64 {
    fs::read_to_string("/proc/pressure/memory")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("some "))
        .and_then(|l| l.split_whitespace().find_map(|f| f.strip_prefix("total=")?.parse().ok()))
        .unwrap_or(0)
}

fn race_one(
    r: &mut Report,
    round: usize,
    mode: RaceMode,
    rate: usize,
    lmkd: &Path,
) -> io::Result<()> {
    let sc = RACE;
    let mem_mib = (meminfo_kb("MemTotal").max(0) as usize) >> 10;
    let program = std::env::current_exe()?;
    let daemon = match mode {
        RaceMode::Kernel => None,
        RaceMode::On | RaceMode::Off => {
            let props = format!("ro.lmk.predictive_kill={}\n", mode == RaceMode::On);
            Some(Daemon::start(lmkd, &format!("race-{}-{rate}", mode.name()), &props, false)?)
        }
    };
    let (client, sub) = match &daemon {
        Some(d) => {
            let (c, s) = d.clients()?;
            (Some(c), Some(s))
        }
        None => (None, None),
    };
    let mut run = Run {
        r,
        sc,
        t0: Instant::now(),
        wall0: wall_ms(),
        apps: Vec::new(),
        client,
        sub,
        events: Vec::new(),
        oom0: vmstat("oom_kill"),
        oom_with_killable: Vec::new(),
        first_kill_marked: false,
        program,
    };
    for (i, &adj) in LADDER.iter().enumerate() {
        run.launch(
            &format!("app-{i}-adj{adj}"),
            adj,
            AppOptions { anon_mib: sc.ladder_mib, ..Default::default() },
        )?;
    }
    let cap = mem_mib * sc.fg_max_pct / 100;
    let fg = run.launch(
        "foreground",
        0,
        AppOptions { anon_mib: RACE_FG_START_MIB, max_mib: Some(cap), ..Default::default() },
    )?;
    run.wait(RACE_SETTLE)?;
    let early: Vec<String> = run
        .apps
        .iter()
        .filter(|a| a.killed_ms.is_some() || a.died_ms.is_some())
        .map(|a| a.name.clone())
        .collect();
    if !early.is_empty() {
        return Err(io::Error::other(format!("apps died before the growth began: {early:?}")));
    }

    // ---- the growth
    let fg_pid = run.apps[fg].process.pid();
    let size_kb = |pid: i32| status_kb(pid, "VmRSS") + status_kb(pid, "VmSwap");
    kmsg_mark("race growth start");
    let g_ms = run.ms();
    let g_wall = wall_ms();
    let stall0 = psi_some_total_us();
    let oom0 = vmstat("oom_kill");
    run.apps[fg].process.command(&format!("grow {rate}"))?;
    // (ms after the growth began, the foreground app's kB)
    let mut sizes: Vec<(f64, i64)> = vec![(0.0, size_kb(fg_pid))];
    let longest = Duration::from_secs(((cap - RACE_FG_START_MIB) / rate.max(1)) as u64 * 2 + 15);
    let end = Instant::now() + longest;
    let mut last_death = Instant::now();
    let mut dead = 0;
    let mut capped = false;
    loop {
        std::thread::sleep(Duration::from_millis(10));
        run.poll()?;
        let now = run.ms() - g_ms;
        let gone = run.apps.iter().filter(|a| a.killed_ms.is_some() || a.died_ms.is_some()).count();
        if gone != dead {
            dead = gone;
            last_death = Instant::now();
        }
        let fg_gone = run.apps[fg].killed_ms.is_some() || run.apps[fg].died_ms.is_some();
        if !fg_gone {
            let kb = size_kb(fg_pid);
            if kb > 0 {
                sizes.push((now, kb));
            }
        }
        let at_cap = sizes.last().is_some_and(|&(_, kb)| kb >> 10 >= cap as i64 - 4);
        if (fg_gone || at_cap) && last_death.elapsed() >= RACE_SETTLE {
            break;
        }
        if Instant::now() > end {
            capped = true;
            break;
        }
    }
    let _ = run.apps[fg].process.command("grow 0");
    let stall_ms = psi_some_total_us().saturating_sub(stall0) / 1000;
    let oom_kills = vmstat("oom_kill") - oom0;
    let hist = run.history()?;
    let kmsg = kmsg_read();
    let mark_ts =
        kmsg.iter().rev().find(|(_, m)| m.contains("race growth start")).map_or(0, |(t, _)| *t);

    // ---- who died when (ms after the growth began)
    struct Death {
        ms: f64,
        adj: i32,
        by_lmkd: bool,
        app: usize,
    }
    let mut deaths: Vec<Death> = Vec::new();
    for (i, a) in run.apps.iter().enumerate() {
        let pid = a.process.pid();
        if let Some(k) = hist.iter().find(|k| k.pid == pid && k.requested_by == 0) {
            deaths.push(Death {
                ms: (k.time_ms - g_wall) as f64,
                adj: a.adj,
                by_lmkd: true,
                app: i,
            });
        } else if a.killed_ms.is_some() || a.died_ms.is_some() {
            // The kernel's line for it, else when the driver saw it gone.
            let needle = format!("Killed process {pid} ");
            let ms = kmsg
                .iter()
                .find(|(t, m)| *t >= mark_ts && m.contains(&needle))
                .map(|(t, _)| (*t - mark_ts) as f64 / 1000.0)
                .or_else(|| a.died_ms.or(a.killed_ms).map(|d| d - g_ms))
                .unwrap_or(0.0);
            deaths.push(Death { ms, adj: a.adj, by_lmkd: false, app: i });
        }
    }
    deaths.sort_by(|a, b| a.ms.total_cmp(&b.ms).then(b.adj.cmp(&a.adj)));
    // A kernel kill while a registered app with adj > 0 was alive is a lost race.
    let lost = deaths
        .iter()
        .filter(|d| !d.by_lmkd)
        .filter(|d| {
            run.apps.iter().enumerate().any(|(j, a)| {
                j != d.app && a.adj > 0 && !deaths.iter().any(|e| e.app == j && e.ms <= d.ms)
            })
        })
        .count();
    let first = deaths.first();
    let first_ms = first.map(|d| d.ms);
    // The foreground app's growth up to the first death (or to the end).
    let upto = first_ms.unwrap_or(f64::INFINITY);
    let before: Vec<&(f64, i64)> = sizes.iter().filter(|(t, _)| *t <= upto).collect();
    let rate_over = |from: f64| -> Option<f64> {
        let a = before.iter().find(|(t, _)| *t >= from)?;
        let b = before.last()?;
        (b.0 - a.0 > 100.0).then(|| (b.1 - a.1) as f64 / 1024.0 / ((b.0 - a.0) / 1000.0))
    };
    let achieved = rate_over(0.0);
    let end_rate = before.last().and_then(|b| rate_over(b.0 - 1000.0));
    // What TCG gives an app that has free memory to grow into: its first half second.
    let start_rate = {
        let a = sizes.first();
        let b = sizes.iter().take_while(|(t, _)| *t <= 500.0f64.min(upto)).last();
        a.zip(b)
            .filter(|(a, b)| b.0 - a.0 > 100.0)
            .map(|(a, b)| (b.1 - a.1) as f64 / 1024.0 / ((b.0 - a.0) / 1000.0))
    };
    let fg_death = deaths.iter().find(|d| d.app == fg);
    let lmkd_kills = deaths.iter().filter(|d| d.by_lmkd).count();
    let first_kill = hist.iter().filter(|k| k.requested_by == 0).min_by_key(|k| k.time_ms);
    let predictive = hist.iter().filter(|k| k.requested_by == 0 && is_predictive_kill(k)).count();
    let fmt = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v:.0}"));
    let list: Vec<String> = deaths
        .iter()
        .map(|d| format!("{:.0}:{}:{}", d.ms, d.adj, if d.by_lmkd { "lmkd" } else { "kernel" }))
        .collect();
    run.r.line(&format!(
        "METRIC race round={round} mode={} rate={rate} start_mib_s={} achieved_mib_s={} end_mib_s={} first_death_ms={} first_by={} first_reason={} lmkd_kills={lmkd_kills} predictive_kills={predictive} kernel_kills={} oom_kills={oom_kills} lost={lost} fg_survived={} fg_died_by={} stall_ms={stall_ms} capped={} deaths={}",
        mode.name(),
        fmt(start_rate),
        fmt(achieved),
        fmt(end_rate),
        fmt(first_ms),
        first.map_or("-", |d| if d.by_lmkd { "lmkd" } else { "kernel" }),
        first_kill.map_or("-".to_owned(), |k| k.reason.to_string()),
        deaths.len() - lmkd_kills,
        u8::from(fg_death.is_none()),
        fg_death.map_or("-", |d| if d.by_lmkd { "lmkd" } else { "kernel" }),
        u8::from(capped),
        if list.is_empty() { "-".to_owned() } else { list.join(",") },
    ));
    if let Some(k) = first_kill {
        run.r.line(&format!(
            "INFO race round={round} mode={} rate={rate}: first daemon kill at {} ms, adj {}, reason {} '{}'",
            mode.name(),
            k.time_ms - g_wall,
            k.adj,
            k.reason,
            k.reason_text.as_str()
        ));
    }
    // The daemon's log (info level: its start-up, early-warning and kill lines).
    if let Some(d) = &daemon {
        let log = d.log_text();
        run.r.file(&format!("lmkd-race-{round}-{}-{rate}.log", mode.name()), &log);
    }
    drop(run);
    drop(daemon);
    Ok(())
}
