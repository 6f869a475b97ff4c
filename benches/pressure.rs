//! The pressure side's costs: how long a snapshot takes, how often an idle daemon wakes up, and
//! how long it takes from a pressure event's wake-up to the SIGKILL.
//!
//! Run with `cargo bench --bench pressure` (`-- --quick` for a short run; the latency part
//! needs root, cgroup v1 memory, and `lmkctl` beside `lmkd`). `LMKD_BENCH_PROPS` adds
//! properties to the latency daemons (`;`-separated), e.g. `ro.lmk.reaper_threads=0`.
//!
//! * Snapshot: `Domain::snapshot` (meminfo + vmstat + memory PSI, `pread` on kept-open files
//!   and allocation-free parsing) and `Domain::watermarks` (zoneinfo), in batches; median.
//! * Idle wake-ups: the release daemon with no clients and no pressure, its main thread's
//!   context switches over 30 s (10 s with `--quick`), per minute, from 3 s after its start
//!   (a round of the loop may owe one watchdog wake-up at its 2 s mark).
//! * Wake-up → SIGKILL: 2,000 registered `sleep` processes at adj 950; the daemon's domain is a
//!   64 MiB memory cgroup in which an app re-reads a 128 MiB file, so vmpressure events come
//!   back to back; minfree mode with a table that always matches and `kill_timeout_ms=0`, so
//!   every event kills one registered process. Each kill's time from the loop's wake-up to the
//!   SIGKILL (the kill history's `wake_to_kill_us`) is collected; median and 99th percentile.
//! * Wake-up → SIGKILL with memevents as the source: the same 2,000 processes, the daemon in a
//!   private mount namespace with the memevents stand-ins (`lmkd::demo::bpf`: bpffs, tracefs,
//!   AOSP's ring buffer and program names); a vendor kill request is put in the ring buffer,
//!   the daemon wakes on it and kills (PSI strategy, row a); the next request once that victim
//!   is dead. Needs root with `CAP_BPF`, clang and bpftool.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use lmkd::client::Client;
use lmkd::memory::{Domain, Snapshot};
use lmkd::protocol::PROC_TYPE_APP;

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i.min(v.len() - 1)]
}

fn snapshot_cost() {
    let mut d = Domain::system().expect("system domain");
    let mut s = Snapshot::default();
    let mut per = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        for _ in 0..500 {
            d.snapshot(&mut s).unwrap();
        }
        per.push(t.elapsed().as_secs_f64() * 1e6 / 500.0);
    }
    let mut wm = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        for _ in 0..100 {
            d.watermarks().unwrap();
        }
        wm.push(t.elapsed().as_secs_f64() * 1e6 / 100.0);
    }
    println!(
        "| snapshot (meminfo + vmstat + PSI), system domain | {:.1} µs | {:.1}–{:.1} µs |",
        percentile(&mut per.clone(), 0.5),
        per.iter().cloned().fold(f64::INFINITY, f64::min),
        per.iter().cloned().fold(0.0, f64::max)
    );
    println!(
        "| watermarks (zoneinfo) | {:.1} µs | {:.1}–{:.1} µs |",
        percentile(&mut wm.clone(), 0.5),
        wm.iter().cloned().fold(f64::INFINITY, f64::min),
        wm.iter().cloned().fold(0.0, f64::max)
    );
    if let Ok(mut m) = Domain::memcg(Path::new("/sys/fs/cgroup/memory")) {
        let mut mc = Vec::new();
        for _ in 0..20 {
            let t = Instant::now();
            for _ in 0..500 {
                m.snapshot(&mut s).unwrap();
            }
            mc.push(t.elapsed().as_secs_f64() * 1e6 / 500.0);
        }
        println!(
            "| snapshot, memcg domain (root memory cgroup) | {:.1} µs | {:.1}–{:.1} µs |",
            percentile(&mut mc.clone(), 0.5),
            mc.iter().cloned().fold(f64::INFINITY, f64::min),
            mc.iter().cloned().fold(0.0, f64::max)
        );
    }
}

fn lmkctl() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_lmkd")).with_file_name("lmkctl")
}

struct Daemon {
    child: Child,
    socket: PathBuf,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// The child is owned by the returned `Daemon`, which kills and waits for it on drop.
#[allow(clippy::zombie_processes)]
fn start(dir: &Path, name: &str, props: &str) -> Daemon {
    let socket = dir.join(format!("{name}.sock"));
    let prop_file = dir.join(format!("{name}.prop"));
    fs::write(&prop_file, props).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_lmkd"))
        .arg("--socket")
        .arg(&socket)
        .arg("--props")
        .arg(&prop_file)
        .env("LMKD_LOG", "warn")
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let d = Daemon { child, socket };
    let end = Instant::now() + Duration::from_secs(10);
    while Client::connect(&d.socket).is_err() {
        assert!(Instant::now() < end, "lmkd did not start");
        std::thread::sleep(Duration::from_millis(10));
    }
    d
}

/// Context switches of thread `tid` of `pid`.
fn switches(pid: u32, tid: &str) -> u64 {
    let s = fs::read_to_string(format!("/proc/{pid}/task/{tid}/status")).unwrap_or_default();
    s.lines()
        .filter(|l| {
            l.starts_with("voluntary_ctxt_switches") || l.starts_with("nonvoluntary_ctxt_switches")
        })
        .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        .sum()
}

/// Context switches of every thread of `pid` (main, reapers, watchdog).
fn all_switches(pid: u32) -> u64 {
    fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .flatten()
        .map(|e| switches(pid, &e.file_name().to_string_lossy()))
        .sum()
}

fn idle_wakeups(dir: &Path, secs: u64) {
    let d = start(dir, "idle", "");
    // Past the watchdog's period after the start-up connection: the loop's last round (that
    // connection) may owe one watchdog wake-up at its 2 s mark, which belongs to the activity,
    // not to the idle time measured here.
    std::thread::sleep(lmkd::reaper::watchdog::WATCHDOG_TIMEOUT + Duration::from_secs(1));
    let pid = d.child.id();
    let (main0, all0) = (switches(pid, &pid.to_string()), all_switches(pid));
    std::thread::sleep(Duration::from_secs(secs));
    let (main1, all1) = (switches(pid, &pid.to_string()), all_switches(pid));
    let per_min = |n: u64| n as f64 * 60.0 / secs as f64;
    println!(
        "| idle wake-ups of the main thread (no clients, no pressure, {secs} s) | {:.1} per minute | |",
        per_min(main1 - main0)
    );
    println!(
        "| idle wake-ups of all threads (main, reapers, watchdog; {secs} s) | {:.1} per minute | |",
        per_min(all1 - all0)
    );
}

fn is_root() -> bool {
    fs::read_to_string("/proc/self/status")
        .map(|s| {
            s.lines().any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(2) == Some("0"))
        })
        .unwrap_or(false)
}

fn wake_to_kill(dir: &Path, kills_wanted: usize) {
    let cg =
        PathBuf::from(format!("/sys/fs/cgroup/memory/lmkd-bench-pressure-{}", std::process::id()));
    fs::create_dir(&cg).expect("create memcg");
    fs::write(cg.join("memory.limit_in_bytes"), (64u64 << 20).to_string()).unwrap();
    let mut sleepers: Vec<Child> = (0..2000)
        .map(|_| {
            Command::new("sleep").arg("3600").stdin(Stdio::null()).spawn().expect("spawn sleep")
        })
        .collect();
    let d = start(
        dir,
        "latency",
        &format!(
            "ro.lmk.memcg_domain={}\nro.lmk.use_psi=false\nro.lmk.use_minfree_levels=true\nro.lmk.kill_timeout_ms=0\nro.lmk.kill_history_size=4096\n{}\n",
            cg.display(),
            std::env::var("LMKD_BENCH_PROPS").unwrap_or_default().replace(';', "\n")
        ),
    );
    let mut c = Client::connect(&d.socket).unwrap();
    for s in &sleepers {
        c.register(s.id() as i32, 10_000, 950, PROC_TYPE_APP).unwrap();
    }
    // A minfree level no memory figure can be above: every event kills, down to adj 900.
    c.target(&[(i32::MAX, 900)]).unwrap();
    c.kill_count(0, 0).unwrap();
    let file = dir.join("data");
    let script = format!(
        "echo $$ > {}/cgroup.procs && dd if=/dev/zero of={} bs=1M count=128 status=none && exec {} app --file {} --reread",
        cg.display(),
        file.display(),
        lmkctl().display(),
        file.display()
    );
    let mut reader =
        Command::new("sh").arg("-c").arg(script).stdout(Stdio::null()).spawn().unwrap();
    let end = Instant::now() + Duration::from_secs(120);
    let mut hist = Vec::new();
    while Instant::now() < end {
        std::thread::sleep(Duration::from_millis(500));
        hist = c.kill_history().unwrap();
        if hist.len() >= kills_wanted {
            break;
        }
    }
    let _ = reader.kill();
    let _ = reader.wait();
    drop(d);
    for s in &mut sleepers {
        let _ = s.kill();
        let _ = s.wait();
    }
    for pid in fs::read_to_string(cg.join("cgroup.procs")).unwrap_or_default().lines() {
        let _ = fs::write("/sys/fs/cgroup/memory/cgroup.procs", pid);
    }
    let _ = fs::remove_dir(&cg);
    let us = hist.iter().filter(|r| r.wake_to_kill_us >= 0).map(|r| r.wake_to_kill_us as f64);
    wake_row("wake-up → SIGKILL", "", us.collect());
}

/// The table row of the wake-up → SIGKILL times `us` (µs) of the kills measured.
fn wake_row(what: &str, how: &str, mut us: Vec<f64>) {
    if us.is_empty() {
        println!("| {what} | no kills measured | |");
        return;
    }
    let n = us.len();
    let (p50, p99, max) = (
        percentile(&mut us, 0.5),
        percentile(&mut us, 0.99),
        us.iter().cloned().fold(0.0, f64::max),
    );
    println!("| {what}{how}, 2,000 registered ({n} kills) | median {p50:.0} µs, p99 {p99:.0} µs | max {max:.0} µs |");
}

/// Wake-up → SIGKILL when a memevents record (a vendor kill request) wakes the daemon.
fn memevents_wake_to_kill(dir: &Path, kills_wanted: usize) {
    use lmkd::demo::bpf::{missing_tools, vendor, BpfWorld};
    if let Some(m) = missing_tools() {
        println!("| wake-up → SIGKILL, memevents | needs {m}; skipped | |");
        return;
    }
    let world = match BpfWorld::start() {
        Ok(w) => w,
        Err(e) => {
            println!("| wake-up → SIGKILL, memevents | no memevents world ({e}); skipped | |");
            return;
        }
    };
    let mut sleepers: Vec<Child> = (0..2000)
        .map(|_| {
            Command::new("sleep").arg("3600").stdin(Stdio::null()).spawn().expect("spawn sleep")
        })
        .collect();
    let socket = dir.join("memevents.sock");
    let prop_file = dir.join("memevents.prop");
    fs::write(
        &prop_file,
        format!(
            "sys.boot_completed=1\nbpf.progs_loaded=1\nro.lmk.kill_history_size=4096\nro.lmk.predictive_kill=false\n{}\n",
            std::env::var("LMKD_BENCH_PROPS").unwrap_or_default().replace(';', "\n")
        ),
    )
    .unwrap();
    let child = Command::new("nsenter")
        .args(["-t", &world.holder_pid().to_string(), "-m", "--", env!("CARGO_BIN_EXE_lmkd")])
        .arg("--socket")
        .arg(&socket)
        .arg("--props")
        .arg(&prop_file)
        .arg("--bpffs")
        .arg(&world.bpffs)
        .arg("--tracefs")
        .arg(&world.tracefs)
        .env("LMKD_LOG", "warn")
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let d = Daemon { child, socket };
    let end = Instant::now() + Duration::from_secs(10);
    while Client::connect(&d.socket).is_err() {
        assert!(Instant::now() < end, "lmkd did not start");
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut c = Client::connect(&d.socket).unwrap();
    for s in &sleepers {
        c.register(s.id() as i32, 10_000, 950, PROC_TYPE_APP).unwrap();
    }
    c.kill_count(0, 0).unwrap();
    let request = vendor(1, 900);
    let mut done = 0;
    let end = Instant::now() + Duration::from_secs(120);
    while done < kills_wanted && Instant::now() < end {
        world.inject(&request).expect("inject");
        // The next request once this victim is dead and reaped (a request while a kill is
        // awaited is skipped, as AOSP skips it).
        let before = done;
        while done == before && Instant::now() < end {
            std::thread::sleep(Duration::from_millis(5));
            done = c.kill_count(-1000, 1000).unwrap() as usize;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let hist = c.kill_history().unwrap();
    drop(d);
    for s in &mut sleepers {
        let _ = s.kill();
        let _ = s.wait();
    }
    let us = hist
        .iter()
        .filter(|r| r.reason == 1001 && r.wake_to_kill_us >= 0)
        .map(|r| r.wake_to_kill_us as f64);
    wake_row("wake-up → SIGKILL, memevents", " (vendor request)", us.collect());
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let dir = std::env::temp_dir().join(format!("lmkd-pressure-bench-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    println!("| measure | result | spread |");
    println!("|---|---:|---:|");
    snapshot_cost();
    idle_wakeups(&dir, if quick { 10 } else { 30 });
    if is_root() && Path::new("/sys/fs/cgroup/memory/memory.pressure_level").exists() {
        wake_to_kill(&dir, if quick { 100 } else { 500 });
    } else {
        println!("| wake-up → SIGKILL | needs root and cgroup v1 memory; skipped | |");
    }
    if is_root() {
        memevents_wake_to_kill(&dir, if quick { 50 } else { 300 });
    }
    let _ = fs::remove_dir_all(&dir);
}
