//! Helpers shared by the integration tests: a temporary directory, the real `lmkd` binary on a
//! temporary socket, child processes that clean up after themselves, and the root/kernel gate.
#![allow(dead_code)]

pub mod bpf;
pub mod rig;

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use lmkd::client::Client;

/// `LMKD_REQUIRE_KERNEL_TESTS=1` (set by CI): a test that would skip fails instead.
pub fn kernel_tests_required() -> bool {
    std::env::var("LMKD_REQUIRE_KERNEL_TESTS").is_ok_and(|v| v == "1")
}

/// Whether a test that needs `what` may run; skips (or fails under CI) when `ok` is false.
pub fn require(ok: bool, what: &str) -> bool {
    if ok {
        return true;
    }
    if kernel_tests_required() {
        panic!("this test needs {what}, and LMKD_REQUIRE_KERNEL_TESTS=1 forbids skipping it");
    }
    eprintln!("SKIPPED: this test needs {what}");
    false
}

/// Whether the test runs as root.
pub fn is_root() -> bool {
    // Effective uid: the second number of the Uid line (rustix's `process` feature is kept
    // off, as in AOSP's build, so it is read from /proc).
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("Uid:")).map(str::to_owned))
        .and_then(|l| l.split_whitespace().nth(2).map(|v| v == "0"))
        .unwrap_or(false)
}

/// A directory removed (with its contents) on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let p = std::env::temp_dir().join(format!(
            "lmkd-test-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&p);
        fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Polls `f` every 10 ms until it returns true or `timeout` passes.
pub fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + timeout;
    loop {
        if f() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The real daemon on a temporary socket, killed on drop.
pub struct Daemon {
    pub child: Child,
    pub dir: TempDir,
    pub socket: PathBuf,
    pub props: PathBuf,
    pub log: PathBuf,
}

pub fn lmkd_bin() -> &'static str {
    env!("CARGO_BIN_EXE_lmkd")
}

pub fn lmkctl_bin() -> &'static str {
    env!("CARGO_BIN_EXE_lmkctl")
}

impl Daemon {
    /// Starts `lmkd --socket <tmp> --props <tmp>` with the given properties and debug logs.
    pub fn start(props: &str) -> Daemon {
        Daemon::start_with(props, &[])
    }

    /// As [`Daemon::start`], with extra arguments.
    pub fn start_with(props: &str, extra: &[&str]) -> Daemon {
        Daemon::start_full(props, extra, Some("debug"))
    }

    /// As [`Daemon::start`], with extra arguments and `LMKD_LOG` set to `log` (or unset, so
    /// that `ro.lmk.debug` decides the level).
    pub fn start_full(props: &str, extra: &[&str], log_level: Option<&str>) -> Daemon {
        Daemon::start_env(props, extra, log_level, &[])
    }

    /// As [`Daemon::start_full`], with extra environment variables for the daemon.
    pub fn start_env(
        props: &str,
        extra: &[&str],
        log_level: Option<&str>,
        env: &[(&str, &str)],
    ) -> Daemon {
        let dir = TempDir::new("daemon");
        let socket = dir.path().join("lmkd.sock");
        let props_path = dir.path().join("lmkd.prop");
        let log = dir.path().join("lmkd.log");
        fs::write(&props_path, props).unwrap();
        let mut cmd = Command::new(lmkd_bin());
        cmd.arg("--socket").arg(&socket).arg("--props").arg(&props_path).args(extra);
        cmd.envs(env.iter().copied());
        match log_level {
            Some(l) => cmd.env("LMKD_LOG", l),
            None => cmd.env_remove("LMKD_LOG"),
        };
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(fs::File::create(&log).unwrap())
            .spawn()
            .expect("start lmkd");
        let d = Daemon { child, dir, socket, props: props_path, log };
        assert!(
            wait_until(Duration::from_secs(10), || d.socket.exists()),
            "lmkd did not create its socket; log:\n{}",
            d.log_text()
        );
        d
    }

    /// A connected client.
    pub fn client(&self) -> Client {
        Client::connect(&self.socket).expect("connect to lmkd")
    }

    /// The daemon's log so far.
    pub fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the log contains `needle`.
    pub fn wait_log(&self, needle: &str) -> bool {
        wait_until(Duration::from_secs(10), || self.log_text().contains(needle))
    }

    /// Whether the daemon process is still running.
    pub fn alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// VmRSS of the daemon in kB.
    pub fn rss_kb(&self) -> u64 {
        status_field(self.child.id(), "VmRSS").expect("VmRSS")
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A field of `/proc/<pid>/status` in kB (or the number as is).
pub fn status_field(pid: u32, key: &str) -> Option<u64> {
    let s = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = s.lines().find(|l| l.starts_with(&format!("{key}:")))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// A `sleep` child, killed and reaped on drop.
pub struct Sleeper(pub Child);

impl Sleeper {
    /// A `sleep 600`, returned once it has exec'd (its `comm` is `sleep`).
    pub fn new() -> Sleeper {
        let s = Sleeper(
            Command::new("sleep").arg("600").stdin(Stdio::null()).spawn().expect("spawn sleep"),
        );
        let comm = format!("/proc/{}/comm", s.0.id());
        wait_until(Duration::from_secs(5), || {
            fs::read_to_string(&comm).is_ok_and(|c| c.trim() == "sleep")
        });
        s
    }

    pub fn pid(&self) -> i32 {
        self.0.id() as i32
    }

    pub fn adj(&self) -> i32 {
        read_adj(self.pid())
    }
}

impl Drop for Sleeper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `/proc/<pid>/oom_score_adj`.
pub fn read_adj(pid: i32) -> i32 {
    fs::read_to_string(format!("/proc/{pid}/oom_score_adj")).unwrap().trim().parse().unwrap()
}

/// The current process's executable, to re-run a helper test in a child process.
pub fn self_exe() -> PathBuf {
    std::env::current_exe().unwrap()
}

/// Reads all of a child's stdout after it exits.
pub fn output_of(mut child: Child) -> (bool, String) {
    let mut out = String::new();
    if let Some(mut s) = child.stdout.take() {
        let _ = s.read_to_string(&mut out);
    }
    let ok = child.wait().map(|s| s.success()).unwrap_or(false);
    (ok, out)
}

/// The cgroup v1 memory controller's mount on these hosts.
pub const MEMCG_V1_ROOT: &str = "/sys/fs/cgroup/memory";

/// A cgroup v1 memory cgroup made for one test, removed on drop (its remaining tasks are
/// moved back to the root group first, so removal cannot fail on them).
pub struct Memcg {
    pub path: PathBuf,
}

impl Memcg {
    /// Creates `<root>/lmkd-test-<tag>-<pid>-<n>`; `limit` in bytes, if any.
    pub fn create(tag: &str, limit: Option<u64>) -> std::io::Result<Memcg> {
        static N: AtomicUsize = AtomicUsize::new(0);
        let path = Path::new(MEMCG_V1_ROOT).join(format!(
            "lmkd-test-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        fs::create_dir(&path)?;
        let cg = Memcg { path };
        if let Some(l) = limit {
            cg.write("memory.limit_in_bytes", &l.to_string())?;
        }
        Ok(cg)
    }

    pub fn write(&self, file: &str, value: &str) -> std::io::Result<()> {
        fs::write(self.path.join(file), value)
    }

    pub fn read(&self, file: &str) -> String {
        fs::read_to_string(self.path.join(file)).unwrap_or_default()
    }

    pub fn add(&self, pid: u32) -> std::io::Result<()> {
        self.write("cgroup.procs", &pid.to_string())
    }
}

impl Drop for Memcg {
    fn drop(&mut self) {
        for pid in self.read("cgroup.procs").lines() {
            let _ = fs::write(Path::new(MEMCG_V1_ROOT).join("cgroup.procs"), pid);
        }
        let end = Instant::now() + Duration::from_secs(10);
        while fs::remove_dir(&self.path).is_err() && Instant::now() < end {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// A synthetic app (`lmkctl app ...`): started, waited for until it holds its memory, killed and
/// reaped on drop.
pub struct App {
    pub child: Child,
    stdin: Option<std::process::ChildStdin>,
}

impl App {
    /// Starts `lmkctl app <args>` and waits for its `ready` line; `setup` runs on the child's
    /// pid before it allocates (e.g. to move it into a cgroup), which is why the app is started
    /// through `sh`: the shell's pid is moved first, then it execs the app.
    pub fn start(args: &[&str], cgroups: &[&Path]) -> App {
        App::start_after("true", args, cgroups)
    }

    /// As [`App::start`], running the shell command `before` inside the cgroups first (e.g. to
    /// write a file whose page cache is then charged to them).
    pub fn start_after(before: &str, args: &[&str], cgroups: &[&Path]) -> App {
        let mut script = String::new();
        for cg in cgroups {
            script.push_str(&format!("echo $$ > {}/cgroup.procs && ", cg.display()));
        }
        script.push_str(&format!("{before} && exec {} app {}", lmkctl_bin(), args.join(" ")));
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(&script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start lmkctl app");
        let stdin = child.stdin.take();
        let mut out = child.stdout.take().unwrap();
        let mut got = String::new();
        let mut buf = [0u8; 64];
        while !got.contains('\n') {
            let n = out.read(&mut buf).unwrap();
            assert!(n > 0, "the app exited before it was ready");
            got.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
        assert!(got.starts_with("ready "), "{got}");
        App { child, stdin }
    }

    /// Sends the app a command line (`grow N`, `max N`, `shrink`).
    pub fn command(&mut self, line: &str) {
        use std::io::Write;
        let stdin = self.stdin.as_mut().expect("the app's stdin");
        stdin.write_all(format!("{line}\n").as_bytes()).expect("the app takes commands");
        stdin.flush().unwrap();
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Whether `/proc/<pid>` still exists (alive, frozen or a zombie).
    pub fn exists(&self) -> bool {
        Path::new(&format!("/proc/{}", self.pid())).exists()
    }
}

impl Drop for App {
    fn drop(&mut self) {
        let _ = self.child.kill();
        // A frozen app cannot die until its freezer thaws (which may be dropped after it), so
        // never block on it: give up after a while and leave the zombie to this process's exit.
        wait_until(Duration::from_secs(3), || self.child.try_wait().is_ok_and(|s| s.is_some()));
    }
}

/// The cgroup v1 freezer controller's mount on these hosts.
pub const FREEZER_V1_ROOT: &str = "/sys/fs/cgroup/freezer";

/// A cgroup v1 freezer group, thawed and removed on drop.
pub struct Freezer {
    pub path: PathBuf,
}

impl Freezer {
    pub fn create(tag: &str) -> std::io::Result<Freezer> {
        static N: AtomicUsize = AtomicUsize::new(0);
        let path = Path::new(FREEZER_V1_ROOT).join(format!(
            "lmkd-test-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        fs::create_dir(&path)?;
        Ok(Freezer { path })
    }

    pub fn freeze(&self) {
        fs::write(self.path.join("freezer.state"), "FROZEN").unwrap();
        assert!(
            wait_until(Duration::from_secs(10), || self.state() == "FROZEN"),
            "the freezer did not reach FROZEN"
        );
    }

    pub fn thaw(&self) {
        let _ = fs::write(self.path.join("freezer.state"), "THAWED");
    }

    pub fn state(&self) -> String {
        fs::read_to_string(self.path.join("freezer.state")).unwrap_or_default().trim().to_owned()
    }
}

impl Drop for Freezer {
    fn drop(&mut self) {
        self.thaw();
        for pid in fs::read_to_string(self.path.join("cgroup.procs")).unwrap_or_default().lines() {
            let _ = fs::write(Path::new(FREEZER_V1_ROOT).join("cgroup.procs"), pid);
        }
        let end = Instant::now() + Duration::from_secs(10);
        while fs::remove_dir(&self.path).is_err() && Instant::now() < end {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Whether this host offers what the kill tests need: root, cgroup v1 memory and freezer.
pub fn kill_test_host() -> bool {
    is_root()
        && Path::new(MEMCG_V1_ROOT).join("memory.usage_in_bytes").exists()
        && Path::new(FREEZER_V1_ROOT).join("cgroup.procs").exists()
}

/// Another client process (`lmkctl register ... --hold`) that registers `pid` at `adj` and
/// stays connected, owning the record, until dropped.
pub struct OtherClient(pub Child);

impl OtherClient {
    pub fn register(d: &Daemon, pid: i32, uid: i32, adj: i32) -> OtherClient {
        let mut child = Command::new(lmkctl_bin())
            .args(["--socket", d.socket.to_str().unwrap(), "register"])
            .args([pid.to_string(), uid.to_string(), adj.to_string()])
            .arg("--hold")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut out = child.stdout.take().unwrap();
        let mut got = String::new();
        let mut buf = [0u8; 128];
        while !got.contains("holding") {
            let n = out.read(&mut buf).unwrap();
            assert!(n > 0, "lmkctl register --hold exited early");
            got.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
        OtherClient(child)
    }

    pub fn pid(&self) -> i32 {
        self.0.id() as i32
    }
}

impl Drop for OtherClient {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Where cgroup v2 is mounted beside v1 on these hosts (systemd's hybrid layout).
pub const UNIFIED_ROOT: &str = "/sys/fs/cgroup/unified";

/// A cgroup v2 group at the same relative path as a v1 memory cgroup, so that the daemon's
/// memcg domain finds its `memory.pressure` (per-group PSI). Removed on drop.
pub struct V2Group {
    pub path: PathBuf,
}

impl V2Group {
    /// The v2 twin of `cg` (same directory name under the unified root).
    pub fn twin_of(cg: &Memcg) -> std::io::Result<V2Group> {
        let path = Path::new(UNIFIED_ROOT).join(cg.path.file_name().unwrap());
        fs::create_dir(&path)?;
        Ok(V2Group { path })
    }
}

impl Drop for V2Group {
    fn drop(&mut self) {
        for pid in fs::read_to_string(self.path.join("cgroup.procs")).unwrap_or_default().lines() {
            let _ = fs::write(Path::new(UNIFIED_ROOT).join("cgroup.procs"), pid);
        }
        let end = Instant::now() + Duration::from_secs(10);
        while fs::remove_dir(&self.path).is_err() && Instant::now() < end {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// A file of `mib` MiB of non-zero bytes in `dir` (for page-cache workloads).
pub fn data_file(dir: &Path, name: &str, mib: usize) -> PathBuf {
    let p = dir.join(name);
    let chunk: Vec<u8> = (0..(1 << 20)).map(|i| (i % 251) as u8 + 1).collect();
    let mut f = fs::File::create(&p).unwrap();
    for _ in 0..mib {
        std::io::Write::write_all(&mut f, &chunk).unwrap();
    }
    f.sync_all().unwrap();
    p
}

/// `oom_kill` of a v1 memory cgroup's `memory.oom_control`: kernel OOM kills in the group.
pub fn memcg_oom_kills(cg: &Memcg) -> u64 {
    cg.read("memory.oom_control")
        .lines()
        .find_map(|l| l.strip_prefix("oom_kill ").and_then(|v| v.trim().parse().ok()))
        .unwrap_or(0)
}

/// A cgroup v2 group made for one test under the unified root (`lmkd-test-<tag>-<pid>-<n>`),
/// with groups of its own inside. On drop every process still in it or below it — all of
/// them started by the test — is killed (`cgroup.kill`), and the groups are removed, deepest
/// first; also when the test failed.
pub struct V2TestGroup {
    pub path: PathBuf,
}

impl V2TestGroup {
    pub fn create(tag: &str) -> std::io::Result<V2TestGroup> {
        static N: AtomicUsize = AtomicUsize::new(0);
        let path = Path::new(UNIFIED_ROOT).join(format!(
            "lmkd-test-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        fs::create_dir(&path)?;
        Ok(V2TestGroup { path })
    }

    /// A group inside it (`rel` may have several components; missing ones are made).
    pub fn sub(&self, rel: &str) -> PathBuf {
        let p = self.path.join(rel);
        fs::create_dir_all(&p).unwrap();
        p
    }

    /// The processes in the group at `path`.
    pub fn procs(path: &Path) -> Vec<i32> {
        fs::read_to_string(path.join("cgroup.procs"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect()
    }
}

impl Drop for V2TestGroup {
    fn drop(&mut self) {
        let _ = fs::write(self.path.join("cgroup.kill"), "1");
        let populated = || {
            fs::read_to_string(self.path.join("cgroup.events"))
                .map(|e| e.lines().any(|l| l == "populated 1"))
                .unwrap_or(false)
        };
        wait_until(Duration::from_secs(10), || !populated());
        lmkd::demo::sandbox::remove_tree(&self.path);
    }
}

/// Pidfds of processes a test started outside any group of its own (in the root group, say):
/// each is killed through its pidfd on drop, if still alive.
#[derive(Default)]
pub struct Pidfds(pub Vec<(i32, std::os::fd::OwnedFd)>);

impl Pidfds {
    /// Takes a pidfd of each of `pids` (processes the test started).
    pub fn of(pids: &[i32]) -> Pidfds {
        Pidfds(pids.iter().map(|&p| (p, lmkd::sys::pidfd_open(p).expect("pidfd_open"))).collect())
    }

    /// Whether process `pid` (one of them) has exited.
    pub fn dead(&self, pid: i32) -> bool {
        let (_, fd) = self.0.iter().find(|(p, _)| *p == pid).expect("one of them");
        lmkd::sys::pidfd_is_dead(fd).unwrap()
    }

    /// Waits (bounded) until every one of `pids` has exited.
    pub fn wait_dead(&self, pids: &[i32]) -> bool {
        wait_until(Duration::from_secs(10), || pids.iter().all(|&p| self.dead(p)))
    }
}

impl Drop for Pidfds {
    fn drop(&mut self) {
        use std::os::fd::AsFd;
        for (_, fd) in &self.0 {
            let _ = lmkd::sys::pidfd_send_signal(fd.as_fd(), libc::SIGKILL);
        }
    }
}

/// Whether process `pid` is alive with no SIGKILL pending: neither exited nor about to. (A
/// process a group kill reached has SIGKILL pending from the moment the kill returned.)
pub fn alive_and_unsignalled(pid: i32) -> bool {
    let Ok(st) = fs::read_to_string(format!("/proc/{pid}/status")) else { return false };
    let field = |k: &str| {
        st.lines()
            .find_map(|l| l.strip_prefix(k))
            .map(|v| u64::from_str_radix(v.trim(), 16).unwrap_or(u64::MAX))
    };
    let sigkill = 1u64 << (libc::SIGKILL - 1);
    let state = st.lines().find_map(|l| l.strip_prefix("State:")).unwrap_or("").trim();
    !state.starts_with('Z')
        && !state.starts_with('X')
        && field("SigPnd:").is_some_and(|m| m & sigkill == 0)
        && field("ShdPnd:").is_some_and(|m| m & sigkill == 0)
}
