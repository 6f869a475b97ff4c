//! How fast a victim's memory comes back: SIGKILL and wait, vs the daemon's pipeline, vs a bare
//! `process_mrelease` call (the floor), for victims of 256 MiB and 1000 MiB in three states.
//!
//! Run as root: `cargo bench --bench reap` (`-- --quick` for one repetition). Each victim is an
//! `lmkctl app` holding private anonymous memory in its own memory cgroup (limit 1 GiB, the
//! host's safety rule), and "memory back" is when the cgroup's usage falls below 10 % of the
//! victim's size — reported by a memcg usage-threshold eventfd, so nothing polls. States:
//!
//! * running: the victim spins on a CPU;
//! * frozen: the victim is in a frozen cgroup v1 freezer group;
//! * starved: the victim is `SCHED_IDLE` and every CPU runs two busy loops at nice 0.
//!
//! Methods, each timed from the kill request:
//!
//! * (a) `pidfd_send_signal(SIGKILL)` and wait;
//! * (b) `LMK_EXT_KILL` to the release `lmkd` (its reaper: 2 threads, nice −20, not pinned on
//!   this uniform machine);
//! * (c) `pidfd_send_signal(SIGKILL)` then `process_mrelease` from this program, on a thread at
//!   the reapers' priority (nice −20): the floor for (b).
//!
//! A starved victim first allocates its memory, then drops to `SCHED_IDLE`, then the busy
//! loops start; they stop right after the measurement.
//!
//! Each cell is 9 kills (repetitions interleave the three methods). Results go to stdout as a
//! Markdown table (medians, min–max in brackets). `--reps N`,
//! `--size 256|1000` and `--state running|frozen|starved` narrow a run down. `--json FILE`
//! also writes every kill's time (`null`: not back within the timeout), for
//! `cargo bench --bench plot`.
//!
//! `cargo bench --bench reap -- --costs [--kills N]` measures instead what the kill track and
//! the process-group kill add to a kill, in one run (N victims per method, default 200, the
//! methods interleaved victim by victim), as the time of the calls only (spawning and burying
//! victims is not timed):
//!
//! * (a) `pidfd_send_signal(SIGKILL)` of a victim — the plain pidfd kill;
//! * (b) resolving the victim's group and the kill, for a victim in the root group (it dies
//!   alone: what the daemon does for such victims);
//! * (c) the same for a victim with two children in Android's `uid_<uid>/pid_<pid>` group:
//!   resolve (its `cgroup` file, the group's `cgroup.procs`, opening `cgroup.kill`), the
//!   victim's SIGKILL, `cgroup.kill` — the device's case;
//! * (d) as (c) in a group of another name, where each child's chain of parents is checked;
//! * (e) as (d), with `cgroup.procs` and a pidfd per process instead of `cgroup.kill`;
//! * (f) one kill event written to a tracefs instance's `trace_marker` (tracing on), and (g)
//!   the same write refused (tracing off: what a device does when nobody records).
//!
//! Before each timed kill the victim's `status`, `cmdline` and `stat` are read, as the daemon
//! reads them before every kill, so that `/proc/<pid>` is as warm as it is there.
//!
//! Victims are `sh` and `sleep` processes; groups are made under the cgroup v2 root as
//! `lmkd-bench-costs-<pid>/<n>` and removed after. The trace part runs in a private mount
//! namespace (`unshare --mount`) with tracefs mounted there and an instance of its own,
//! removed after.

use std::fs;
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use lmkd::client::Client;
use lmkd::protocol::PROC_TYPE_APP;
use rustix::event::{eventfd, poll, EventfdFlags, PollFd, PollFlags, Timespec};

const MIB: u64 = 1 << 20;
const LIMIT: u64 = 1 << 30;
const TIMEOUT: Duration = Duration::from_secs(5);

struct Group {
    path: PathBuf,
}

impl Group {
    fn new(controller: &str, tag: &str) -> Group {
        let path = PathBuf::from(format!(
            "/sys/fs/cgroup/{controller}/lmkd-bench-{tag}-{}",
            std::process::id()
        ));
        let _ = fs::remove_dir(&path);
        fs::create_dir(&path).expect("create cgroup");
        Group { path }
    }

    fn write(&self, file: &str, v: &str) {
        fs::write(self.path.join(file), v)
            .unwrap_or_else(|e| panic!("{}/{file}: {e}", self.path.display()));
    }

    fn usage(&self) -> u64 {
        fs::read_to_string(self.path.join("memory.usage_in_bytes")).unwrap().trim().parse().unwrap()
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        let root = self.path.parent().unwrap().join("cgroup.procs");
        if self.path.join("freezer.state").exists() {
            let _ = fs::write(self.path.join("freezer.state"), "THAWED");
        }
        for pid in fs::read_to_string(self.path.join("cgroup.procs")).unwrap_or_default().lines() {
            let _ = fs::write(&root, pid);
        }
        let end = Instant::now() + Duration::from_secs(10);
        while fs::remove_dir(&self.path).is_err() && Instant::now() < end {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// An eventfd that fires when the memcg's usage crosses `threshold` (memcg v1 thresholds).
fn usage_threshold(cg: &Group, threshold: u64) -> (OwnedFd, fs::File) {
    let efd = eventfd(0, EventfdFlags::CLOEXEC).unwrap();
    let usage = fs::File::open(cg.path.join("memory.usage_in_bytes")).unwrap();
    cg.write(
        "cgroup.event_control",
        &format!("{} {} {threshold}", efd.as_raw_fd(), usage.as_raw_fd()),
    );
    (efd, usage)
}

fn wait_fd(fd: &OwnedFd, timeout: Duration) -> bool {
    let ts =
        Timespec { tv_sec: timeout.as_secs() as i64, tv_nsec: i64::from(timeout.subsec_nanos()) };
    let mut fds = [PollFd::new(fd, PollFlags::IN)];
    poll(&mut fds, Some(&ts)).unwrap_or(0) > 0
}

fn lmkctl() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_lmkd")).with_file_name("lmkctl")
}

fn start_app(args: &[&str], groups: &[&Group]) -> Child {
    let mut script = String::new();
    for g in groups {
        script.push_str(&format!("echo $$ > {}/cgroup.procs && ", g.path.display()));
    }
    script.push_str(&format!("exec {} app {}", lmkctl().display(), args.join(" ")));
    let mut child =
        Command::new("sh").arg("-c").arg(script).stdout(Stdio::piped()).spawn().unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut b = [0u8; 64];
    let n = out.read(&mut b).unwrap();
    assert!(String::from_utf8_lossy(&b[..n]).starts_with("ready"), "app did not start");
    child
}

#[derive(Clone, Copy, PartialEq)]
enum State {
    Running,
    Frozen,
    Starved,
}

#[derive(Clone, Copy, PartialEq)]
enum Method {
    SigkillWait,
    Daemon,
    Mrelease,
}

struct Daemon {
    child: Child,
    client: Client,
}

// The child is owned by the returned `Daemon`; `main` kills and waits for it.
#[allow(clippy::zombie_processes)]
fn start_daemon(dir: &Path) -> Daemon {
    let socket = dir.join("lmkd.sock");
    let mut child = Command::new(env!("CARGO_BIN_EXE_lmkd"))
        .arg("--socket")
        .arg(&socket)
        .env("LMKD_LOG", "warn")
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let end = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(client) = Client::connect(&socket) {
            return Daemon { child, client };
        }
        if Instant::now() >= end {
            let _ = child.kill();
            let _ = child.wait();
            panic!("lmkd did not start");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// One kill; returns the time until the memory was back, or `None` if it was not within the
/// timeout.
fn one(
    size_mib: u64,
    state: State,
    method: Method,
    daemon: &mut Daemon,
    n: usize,
) -> Option<Duration> {
    let tag = format!("{size_mib}-{n}");
    let cg = Group::new("memory", &tag);
    cg.write("memory.limit_in_bytes", &LIMIT.to_string());
    let fz = (state == State::Frozen).then(|| Group::new("freezer", &tag));
    let size = size_mib.to_string();
    let mut args = vec!["--anon", size.as_str()];
    if state != State::Frozen {
        args.push("--spin");
    }
    let mut groups = vec![&cg];
    if let Some(f) = &fz {
        groups.push(f);
    }
    let mut app = start_app(&args, &groups);
    let pid = app.id() as i32;
    if let Some(f) = &fz {
        f.write("freezer.state", "FROZEN");
        let end = Instant::now() + Duration::from_secs(10);
        while fs::read_to_string(f.path.join("freezer.state")).unwrap().trim() != "FROZEN" {
            assert!(Instant::now() < end, "freeze");
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    assert!(cg.usage() >= size_mib * MIB * 9 / 10, "victim holds its memory");
    // Starved: once its memory is in place, the victim drops to SCHED_IDLE and every CPU gets
    // two busy loops at nice 0.
    let mut busy: Vec<Child> = Vec::new();
    if state == State::Starved {
        let tids: Vec<i32> = fs::read_dir(format!("/proc/{pid}/task"))
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
            .collect();
        for tid in tids {
            // A thread may have exited since the listing (ESRCH): nothing left to demote.
            if let Err(e) = lmkd::sys::sched_setscheduler(tid, lmkd::sys::SCHED_IDLE, 0) {
                assert_eq!(e.raw_os_error(), Some(libc::ESRCH), "SCHED_IDLE for {tid}: {e}");
            }
        }
        let cpus = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        for _ in 0..2 * cpus {
            busy.push(
                Command::new(lmkctl())
                    .args(["app", "--spin"])
                    .stdout(Stdio::null())
                    .spawn()
                    .unwrap(),
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let (back, _usage_fd) = usage_threshold(&cg, size_mib * MIB / 10);
    let pidfd = lmkd::sys::pidfd_open(pid).unwrap();
    if method == Method::Daemon {
        daemon.client.register(pid, 10_000, 900, PROC_TYPE_APP).unwrap();
        daemon.client.kill_count(0, 0).unwrap();
    }

    let t0 = Instant::now();
    match method {
        Method::SigkillWait => lmkd::sys::pidfd_send_signal(pidfd.as_fd(), libc::SIGKILL).unwrap(),
        Method::Daemon => assert_eq!(daemon.client.kill(pid, 10_000, 0).unwrap(), 0),
        Method::Mrelease => {
            lmkd::sys::pidfd_send_signal(pidfd.as_fd(), libc::SIGKILL).unwrap();
            let _ = lmkd::sys::process_mrelease(pidfd.as_fd(), 0);
        }
    }
    let got = wait_fd(&back, TIMEOUT).then(|| t0.elapsed());
    if method == Method::Daemon && std::env::var_os("LMKD_BENCH_VERBOSE").is_some() {
        std::thread::sleep(Duration::from_millis(50));
        if let Some(r) =
            daemon.client.kill_history().unwrap().into_iter().rev().find(|r| r.pid == pid)
        {
            eprintln!(
                "  daemon: back after {:?}, SIGKILL→reaped {} µs on cpu {}, {:?}",
                got, r.reap_us, r.cpu, r.outcome
            );
        }
    }
    for mut b in busy {
        let _ = b.kill();
        let _ = b.wait();
    }
    if let Some(f) = &fz {
        f.write("freezer.state", "THAWED");
    }
    let _ = app.kill();
    let _ = app.wait();
    got
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn main() {
    if std::env::args().any(|a| a == "--costs") {
        return costs::run();
    }
    let quick = std::env::args().any(|a| a == "--quick");
    let args: Vec<String> = std::env::args().collect();
    let arg =
        |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let reps = arg("--reps").and_then(|v| v.parse().ok()).unwrap_or(if quick { 1 } else { 9 });
    let only_state = arg("--state");
    let only_size: Option<u64> = arg("--size").and_then(|v| v.parse().ok());
    let json = arg("--json");
    // Every kill: (size, state, method, ms or None).
    let mut all: Vec<(u64, &str, &str, Option<f64>)> = Vec::new();
    let root = fs::read_to_string("/proc/self/status")
        .map(|s| {
            s.lines().any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(2) == Some("0"))
        })
        .unwrap_or(false);
    if !root || !Path::new("/sys/fs/cgroup/freezer").exists() {
        println!("reap benchmark: needs root and cgroup v1 memory + freezer; skipped");
        return;
    }
    let dir = std::env::temp_dir().join(format!("lmkd-reap-bench-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    let mut daemon = start_daemon(&dir);
    // This thread runs (c) and waits for the threshold events: at the reapers' priority.
    lmkd::sys::setpriority(0, -20).expect("nice -20");

    println!("| victim | state | (a) SIGKILL + wait | (b) lmkd pipeline | (c) bare process_mrelease | (b) ≤ 1.2×(c)+1 ms |");
    println!("|---|---|---:|---:|---:|:---:|");
    let mut n = 0;
    for size in [256u64, 1000].into_iter().filter(|s| only_size.is_none_or(|o| o == *s)) {
        for state in [State::Running, State::Frozen, State::Starved] {
            let name = match state {
                State::Running => "running",
                State::Frozen => "frozen",
                State::Starved => "starved",
            };
            if only_state.as_deref().is_some_and(|o| o != name) {
                continue;
            }
            let mut cells = Vec::new();
            let mut medians = Vec::new();
            // Repetitions interleave the methods, so that a slow spell of the machine hits all
            // three alike.
            let methods = [Method::SigkillWait, Method::Daemon, Method::Mrelease];
            let mut times: [Vec<f64>; 3] = Default::default();
            let mut missed = [0usize; 3];
            for _ in 0..reps {
                for (m, &method) in methods.iter().enumerate() {
                    n += 1;
                    let got = one(size, state, method, &mut daemon, n);
                    let method_name = ["sigkill", "lmkd", "mrelease"][m];
                    all.push((size, name, method_name, got.map(|d| d.as_secs_f64() * 1000.0)));
                    match got {
                        Some(d) => times[m].push(d.as_secs_f64() * 1000.0),
                        None => missed[m] += 1,
                    }
                }
            }
            for m in 0..3 {
                let t = &mut times[m];
                if t.is_empty() {
                    cells.push(format!(
                        "not back in {} s ({}/{reps})",
                        TIMEOUT.as_secs(),
                        missed[m]
                    ));
                    medians.push(f64::INFINITY);
                    continue;
                }
                let (min, max) = (
                    t.iter().cloned().fold(f64::INFINITY, f64::min),
                    t.iter().cloned().fold(0.0, f64::max),
                );
                let med = median(t);
                let miss = if missed[m] > 0 {
                    format!(", {} not back in {} s", missed[m], TIMEOUT.as_secs())
                } else {
                    String::new()
                };
                cells.push(format!("{med:.1} ms [{min:.1}–{max:.1}{miss}]"));
                medians.push(if missed[m] * 2 > reps { f64::INFINITY } else { med });
            }
            let ok = medians[1] <= 1.2 * medians[2] + 1.0;
            let state_name = match state {
                State::Running => "running",
                State::Frozen => "frozen",
                State::Starved => "starved",
            };
            println!(
                "| {size} MiB | {state_name} | {} | {} | {} | {} |",
                cells[0],
                cells[1],
                cells[2],
                if ok { "yes" } else { "no" }
            );
            let _ = std::io::stdout().flush();
        }
    }
    let _ = daemon.child.kill();
    let _ = daemon.child.wait();
    let _ = fs::remove_dir_all(&dir);
    if let Some(path) = json {
        let kills: Vec<String> = all
            .iter()
            .map(|(size, state, method, ms)| {
                let ms = ms.map_or("null".to_owned(), |v| format!("{v:.3}"));
                format!(
                    "{{\"size_mib\":{size},\"state\":\"{state}\",\"method\":\"{method}\",\"ms\":{ms}}}"
                )
            })
            .collect();
        let text = format!(
            "{{\"bench\":\"reap\",\"timeout_ms\":{},\"kills\":[{}]}}\n",
            TIMEOUT.as_millis(),
            kills.join(",")
        );
        fs::write(&path, text).expect("write JSON");
    }
}

/// `--costs`: what the kill track and the process-group kill cost against a plain pidfd kill.
mod costs {
    use std::fs;
    use std::io::{BufRead, BufReader, Write};
    use std::os::fd::AsFd;
    use std::path::{Path, PathBuf};
    use std::process::{Child, Command, Stdio};
    use std::time::{Duration, Instant};

    use lmkd::reaper::group::{self, CgroupV2, GroupKill, Resolution};
    use lmkd::sys::trace_marker::{KillEvent, TraceMarker};

    const UNIFIED: &str = "/sys/fs/cgroup/unified";

    #[derive(Clone, Copy, PartialEq)]
    enum Method {
        Pidfd,
        Alone,
        Android,
        CgroupKill,
        CgroupProcs,
    }

    const METHODS: [Method; 5] =
        [Method::Pidfd, Method::Alone, Method::Android, Method::CgroupKill, Method::CgroupProcs];

    const UID: i32 = 10_000;

    struct Victim {
        child: Child,
        group: Option<PathBuf>,
    }

    /// `sh` that reads a group's path on stdin, moves itself there, forks `kids` sleeps and
    /// becomes a `sleep` itself; `group` gets the victim's pid (for Android's layout).
    fn victim(group: impl FnOnce(i32) -> PathBuf, own: bool, kids: usize) -> Victim {
        let mut script = String::from("read g\necho $$ > $g/cgroup.procs || exit 1\n");
        for _ in 0..kids {
            script.push_str("sleep 600 &\n");
        }
        script.push_str("echo ready\nexec sleep 600\n");
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let path = group(child.id() as i32);
        let mut stdin = child.stdin.take().unwrap();
        writeln!(stdin, "{}", path.display()).unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "ready", "victim did not start");
        // Its children are forked before `ready`; wait until they are in the group.
        if own {
            let end = Instant::now() + Duration::from_secs(10);
            while procs(&path) < kids + 1 {
                assert!(Instant::now() < end, "children did not start");
                std::thread::yield_now();
            }
        }
        Victim { child, group: own.then_some(path) }
    }

    /// `lmkd-bench-costs-<pid>` under the v2 root; on drop (also after a panic) everything left
    /// in it is killed and its groups are removed, deepest first.
    struct BaseGroup(PathBuf);

    impl BaseGroup {
        fn create() -> BaseGroup {
            let p = Path::new(UNIFIED).join(format!("lmkd-bench-costs-{}", std::process::id()));
            fs::create_dir(&p).unwrap();
            BaseGroup(p)
        }
    }

    impl Drop for BaseGroup {
        fn drop(&mut self) {
            let _ = fs::write(self.0.join("cgroup.kill"), "1");
            lmkd::demo::sandbox::remove_tree(&self.0);
        }
    }

    fn procs(group: &Path) -> usize {
        fs::read_to_string(group.join("cgroup.procs")).map_or(0, |s| s.lines().count())
    }

    /// Kills whatever is left of the victim and its group (not timed), and removes the group
    /// (and an Android-style `uid_<uid>` parent).
    fn bury(mut v: Victim, base: &Path) {
        let _ = v.child.kill();
        let _ = v.child.wait();
        if let Some(g) = v.group {
            let _ = fs::write(g.join("cgroup.kill"), "1");
            let end = Instant::now() + Duration::from_secs(10);
            let mut dir = g.as_path();
            while dir != base {
                while fs::remove_dir(dir).is_err() {
                    assert!(Instant::now() < end, "group {} not removable", dir.display());
                    std::thread::sleep(Duration::from_millis(1));
                }
                dir = dir.parent().unwrap();
            }
        }
    }

    /// One kill by `method`; returns (resolve, kill) times.
    fn one(v2: &CgroupV2, method: Method, base: &Path, n: usize) -> (Duration, Duration) {
        let own = !matches!(method, Method::Pidfd | Method::Alone);
        let v = victim(
            |pid| {
                let g = match method {
                    Method::Pidfd | Method::Alone => return PathBuf::from(UNIFIED),
                    Method::Android => base.join(format!("uid_{UID}/pid_{pid}")),
                    _ => base.join(n.to_string()),
                };
                fs::create_dir_all(&g).unwrap();
                g
            },
            own,
            if own { 2 } else { 0 },
        );
        let pid = v.child.id() as i32;
        let pidfd = lmkd::sys::pidfd_open(pid).unwrap();
        // What `procs::read_victim` reads before the kill (so `/proc/<pid>` is as warm as in the
        // daemon): not timed.
        for f in ["status", "cmdline", "stat"] {
            let _ = fs::read(format!("/proc/{pid}/{f}"));
        }
        let kill = |fd: &std::os::fd::OwnedFd| {
            lmkd::sys::pidfd_send_signal(fd.as_fd(), libc::SIGKILL).unwrap()
        };
        let times = match method {
            Method::Pidfd => {
                let t0 = Instant::now();
                kill(&pidfd);
                (Duration::ZERO, t0.elapsed())
            }
            _ => {
                let t0 = Instant::now();
                let r = group::resolve(Some(v2), pidfd.as_fd(), pid, UID).unwrap();
                let t1 = Instant::now();
                kill(&pidfd);
                let how = match (&r, method) {
                    (Resolution::Group(g), Method::CgroupProcs) => {
                        g.kill_procs(pid).unwrap();
                        GroupKill::CgroupProcs
                    }
                    _ => r.kill(pid),
                };
                let t2 = Instant::now();
                let want = match method {
                    Method::Alone => GroupKill::Alone(group::Alone::Root),
                    Method::CgroupProcs => GroupKill::CgroupProcs,
                    _ => GroupKill::CgroupKill,
                };
                assert_eq!(how, want, "resolved as {r:?}");
                (t1 - t0, t2 - t1)
            }
        };
        bury(v, base);
        times
    }

    fn percentile(v: &mut [f64], p: f64) -> f64 {
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let i = ((v.len() as f64 - 1.0) * p).round() as usize;
        v[i]
    }

    fn is_root() -> bool {
        fs::read_to_string("/proc/self/status")
            .map(|s| {
                s.lines().any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(2) == Some("0"))
            })
            .unwrap_or(false)
    }

    pub fn run() {
        let args: Vec<String> = std::env::args().collect();
        let kills: usize = args
            .iter()
            .position(|a| a == "--kills")
            .and_then(|i| args.get(i + 1)?.parse().ok())
            .unwrap_or(200);
        if std::env::var_os("LMKD_BENCH_MOUNTNS").is_some() {
            return trace_costs(kills * 50);
        }
        if !is_root() || !Path::new(UNIFIED).join("cgroup.procs").exists() {
            println!("costs benchmark: needs root and the cgroup v2 hierarchy; skipped");
            return;
        }
        let v2 = CgroupV2::discover().expect("a cgroup2 mount");
        let base_group = BaseGroup::create();
        let base = base_group.0.clone();
        let mut resolve: [Vec<f64>; 5] = Default::default();
        let mut kill: [Vec<f64>; 5] = Default::default();
        let mut n = 0;
        for _ in 0..kills {
            for (m, &method) in METHODS.iter().enumerate() {
                n += 1;
                let (r, k) = one(&v2, method, &base, n);
                resolve[m].push(r.as_secs_f64() * 1e6);
                kill[m].push(k.as_secs_f64() * 1e6);
            }
        }
        drop(base_group);
        let total: Vec<Vec<f64>> =
            (0..5).map(|m| resolve[m].iter().zip(&kill[m]).map(|(a, b)| a + b).collect()).collect();
        let base_median = percentile(&mut total[0].clone(), 0.5);
        println!("{kills} kills per method, interleaved; µs, median [p10–p90]\n");
        println!("| method | resolve | kill | total | total ÷ (a) |");
        println!("|---|---:|---:|---:|---:|");
        let names = [
            "(a) pidfd SIGKILL (the plain kill)",
            "(b) victim in the root group: resolve + pidfd SIGKILL (alone)",
            "(c) Android's `uid_<uid>/pid_<pid>` group of 3: resolve + SIGKILL + `cgroup.kill`",
            "(d) own group of 3 (descendants checked): resolve + SIGKILL + `cgroup.kill`",
            "(e) as (d), `cgroup.procs` + a pidfd per process instead of `cgroup.kill`",
        ];
        for m in 0..5 {
            let cell = |v: &mut Vec<f64>| {
                format!(
                    "{:.1} [{:.1}–{:.1}]",
                    percentile(v, 0.5),
                    percentile(v, 0.1),
                    percentile(v, 0.9)
                )
            };
            let med = percentile(&mut total[m].clone(), 0.5);
            println!(
                "| {} | {} | {} | {} | {:.2} |",
                names[m],
                if m == 0 { "—".to_owned() } else { cell(&mut resolve[m]) },
                cell(&mut kill[m]),
                cell(&mut total[m].clone()),
                med / base_median
            );
        }
        // The trace write, in a private mount namespace with tracefs of its own.
        let child = Command::new("unshare")
            .args(["--mount", "--propagation", "private", "--"])
            .args(&args)
            .env("LMKD_BENCH_MOUNTNS", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("unshare");
        // `unshare` execs the bench in its own process: the instance is named for this pid.
        let inner = child.id();
        let out = child.wait_with_output().unwrap();
        remove_instance(inner);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "trace part failed: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("TRACE ") {
                let mut f = rest.split_whitespace();
                let name = f.next().unwrap();
                let med: f64 = f.next().unwrap().parse().unwrap();
                let p10: f64 = f.next().unwrap().parse().unwrap();
                let p90: f64 = f.next().unwrap().parse().unwrap();
                let label = if name == "on" {
                    "(f) kill event to `trace_marker`, tracing on"
                } else {
                    "(g) kill event to `trace_marker`, tracing off (refused)"
                };
                println!(
                    "| {label} | — | {med:.2} [{p10:.2}–{p90:.2}] | {med:.2} | {:.3} |",
                    med / base_median
                );
            }
        }
    }

    /// tracefs mounted on a temporary directory (in the private mount namespace) with an
    /// instance named for this process; on drop the instance is removed (its marker must be
    /// closed by then: an open one keeps it busy) and tracefs unmounted.
    struct Tracefs {
        dir: PathBuf,
        inst: PathBuf,
    }

    impl Tracefs {
        fn mount() -> Tracefs {
            let dir =
                std::env::temp_dir().join(format!("lmkd-bench-tracefs-{}", std::process::id()));
            fs::create_dir_all(&dir).unwrap();
            assert!(Command::new("mount")
                .args(["-t", "tracefs", "nodev"])
                .arg(&dir)
                .status()
                .unwrap()
                .success());
            let inst = dir.join("instances").join(format!("lmkd-bench-{}", std::process::id()));
            let t = Tracefs { dir, inst };
            fs::create_dir(&t.inst).unwrap();
            t
        }
    }

    impl Drop for Tracefs {
        fn drop(&mut self) {
            let _ = fs::remove_dir(&self.inst);
            let _ = Command::new("umount").arg(&self.dir).status();
            let _ = fs::remove_dir(&self.dir);
        }
    }

    /// Removes the instance of the trace part run as process `pid`, if it is still there.
    fn remove_instance(pid: u32) {
        let script = format!(
            "d=$(mktemp -d) && mount -t tracefs nodev \"$d\" && \
             {{ rmdir \"$d/instances/lmkd-bench-{pid}\" 2>/dev/null; umount \"$d\"; }}; rmdir \"$d\""
        );
        let _ = Command::new("unshare")
            .args(["--mount", "--propagation", "private", "--", "sh", "-c", &script])
            .status();
    }

    /// Runs in a private mount namespace: tracefs on a temporary directory, an instance of its
    /// own; `n` kill events with tracing on and `n` with it off, each write timed.
    fn trace_costs(n: usize) {
        let t = Tracefs::mount();
        // Declared after `t`, so closed before the instance is removed.
        let m = TraceMarker::open(&t.inst.join("trace_marker")).unwrap();
        let k = KillEvent { pid: 12345, reason: 8, adj: 905, min_adj: 701, max_thrashing: 37 };
        for (name, on) in [("on", "1"), ("off", "0")] {
            fs::write(t.inst.join("tracing_on"), on).unwrap();
            let mut times = Vec::with_capacity(n);
            for _ in 0..n {
                let t0 = Instant::now();
                let r = m.kill_event(&k);
                times.push(t0.elapsed().as_secs_f64() * 1e6);
                assert_eq!(r.is_ok(), on == "1", "{r:?}");
            }
            println!(
                "TRACE {name} {:.3} {:.3} {:.3}",
                percentile(&mut times, 0.5),
                percentile(&mut times, 0.1),
                percentile(&mut times, 0.9)
            );
        }
    }
}
