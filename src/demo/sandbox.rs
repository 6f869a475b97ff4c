//! A memory-cgroup sandbox: the whole world of a demo or a scenario. Its apps run in it, its
//! limit plays the device's RAM, and the daemon's memory domain is it
//! (`ro.lmk.memcg_domain`), so nothing outside is ever under pressure or killed.
//!
//! On a cgroup v1 host (these machines, and Android's `/dev/memcg`) the sandbox is a v1 memory
//! cgroup with `memory.limit_in_bytes`, plus a cgroup v2 group of the same name when the
//! unified hierarchy is mounted beside it (hybrid layout), which gives the daemon per-group PSI.
//! On a v2-only host it is one v2 group with `memory.max`. A v1 freezer group is made on
//! request. Everything is removed on drop; the processes still in it are killed first.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::memory::parse::{parse_psi, PsiAverages};

/// Where a cgroup hierarchy is mounted: v1 `memory`, v1 `freezer`, and v2.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Mounts {
    /// The v1 memory controller.
    pub memory_v1: Option<PathBuf>,
    /// The v1 freezer controller.
    pub freezer_v1: Option<PathBuf>,
    /// The unified (v2) hierarchy.
    pub unified: Option<PathBuf>,
}

impl Mounts {
    /// From `/proc/self/mountinfo`.
    pub fn discover() -> Mounts {
        Mounts::parse(&fs::read_to_string("/proc/self/mountinfo").unwrap_or_default())
    }

    /// Parses mountinfo text.
    pub fn parse(text: &str) -> Mounts {
        let mut m = Mounts::default();
        for line in text.lines() {
            let Some((left, right)) = line.split_once(" - ") else { continue };
            let Some(mp) = left.split_whitespace().nth(4) else { continue };
            let mut r = right.split_whitespace();
            let (fstype, _, opts) = (r.next(), r.next(), r.next().unwrap_or(""));
            let has = |o: &str| opts.split(',').any(|x| x == o);
            match fstype {
                Some("cgroup") if has("memory") => m.memory_v1.get_or_insert(mp.into()),
                Some("cgroup") if has("freezer") => m.freezer_v1.get_or_insert(mp.into()),
                Some("cgroup2") => m.unified.get_or_insert(mp.into()),
                _ => continue,
            };
        }
        m
    }
}

/// The sandbox.
#[derive(Debug)]
pub struct Sandbox {
    /// The memory cgroup (the daemon's domain): v1 when the host has it, else v2.
    pub memcg: PathBuf,
    /// Whether `memcg` is a v2 group.
    pub v2_only: bool,
    /// The v2 twin of a v1 `memcg` (per-group PSI), if the hybrid layout offers one.
    pub twin: Option<PathBuf>,
    /// A v1 freezer group, if asked for.
    pub freezer: Option<PathBuf>,
    limit: u64,
}

fn remove_dir(path: &Path) {
    remove_within(path, Duration::from_secs(5));
}

/// Removes an empty cgroup directory, retrying for up to `limit`: a group can be removed only
/// once the killed processes in it have been reaped.
fn remove_within(path: &Path, limit: Duration) {
    let end = Instant::now() + limit;
    while path.exists() && fs::remove_dir(path).is_err() && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Removes a cgroup directory and every group below it, deepest first, each retried for up to
/// 10 s (the caller has killed their processes).
pub fn remove_tree(dir: &Path) {
    for e in fs::read_dir(dir).into_iter().flatten().flatten() {
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            remove_tree(&e.path());
        }
    }
    remove_within(dir, Duration::from_secs(10));
}

fn kill_all(dir: &Path) {
    for pid in fs::read_to_string(dir.join("cgroup.procs")).unwrap_or_default().lines() {
        if let Ok(pid) = pid.trim().parse::<i32>() {
            if let Ok(fd) = crate::sys::pidfd_open(pid) {
                let _ = crate::sys::pidfd_send_signal(std::os::fd::AsFd::as_fd(&fd), libc::SIGKILL);
            }
        }
    }
}

impl Sandbox {
    /// Creates `lmkd-<tag>-<pid>` groups with a memory limit of `limit` bytes (and a freezer
    /// group with `freezer`). Needs root.
    pub fn create(tag: &str, limit: u64, freezer: bool) -> io::Result<Sandbox> {
        let mounts = Mounts::discover();
        let name = format!("lmkd-{tag}-{}", std::process::id());
        let (memcg, v2_only) = match (&mounts.memory_v1, &mounts.unified) {
            (Some(v1), _) => (v1.join(&name), false),
            (None, Some(v2)) => (v2.join(&name), true),
            (None, None) => return Err(io::Error::new(
                io::ErrorKind::NotFound,
                "no memory cgroup controller is mounted (neither cgroup v1 memory nor cgroup v2)",
            )),
        };
        fs::create_dir(&memcg)?;
        let mut sb = Sandbox { memcg, v2_only, twin: None, freezer: None, limit };
        let limit_file = if v2_only { "memory.max" } else { "memory.limit_in_bytes" };
        fs::write(sb.memcg.join(limit_file), limit.to_string())?;
        if !v2_only {
            if let Some(v2) = &mounts.unified {
                let twin = v2.join(&name);
                if fs::create_dir(&twin).is_ok() {
                    sb.twin = Some(twin);
                }
            }
        }
        if freezer {
            let root = mounts.freezer_v1.ok_or_else(|| {
                io::Error::new(io::ErrorKind::NotFound, "no cgroup v1 freezer is mounted")
            })?;
            let f = root.join(&name);
            fs::create_dir(&f)?;
            sb.freezer = Some(f);
        }
        Ok(sb)
    }

    /// The groups an app joins: the memory cgroup and its v2 twin (not the freezer).
    pub fn groups(&self) -> Vec<PathBuf> {
        std::iter::once(self.memcg.clone()).chain(self.twin.clone()).collect()
    }

    /// The limit, bytes.
    pub fn limit(&self) -> u64 {
        self.limit
    }

    fn read(&self, file: &str) -> String {
        fs::read_to_string(self.memcg.join(file)).unwrap_or_default()
    }

    /// Memory charged to the sandbox now, bytes.
    pub fn usage(&self) -> u64 {
        let f = if self.v2_only { "memory.current" } else { "memory.usage_in_bytes" };
        self.read(f).trim().parse().unwrap_or(0)
    }

    /// Memory PSI of the sandbox (v2 `memory.pressure` of the group or its twin), if any.
    pub fn psi(&self) -> Option<PsiAverages> {
        let dir = if self.v2_only { Some(&self.memcg) } else { self.twin.as_ref() }?;
        parse_psi(&fs::read(dir.join("memory.pressure")).ok()?).ok()
    }

    /// Kills by the kernel's OOM killer inside the sandbox so far.
    pub fn oom_kills(&self) -> u64 {
        let (file, key) = if self.v2_only {
            ("memory.events", "oom_kill ")
        } else {
            ("memory.oom_control", "oom_kill ")
        };
        self.read(file)
            .lines()
            .find_map(|l| l.strip_prefix(key).and_then(|v| v.trim().parse().ok()))
            .unwrap_or(0)
    }

    /// Freezes (or thaws) the freezer group and waits until the state is reached.
    pub fn set_frozen(&self, frozen: bool) -> io::Result<()> {
        let f = self.freezer.as_ref().ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))?;
        let want = if frozen { "FROZEN" } else { "THAWED" };
        fs::write(f.join("freezer.state"), want)?;
        let end = Instant::now() + Duration::from_secs(10);
        while fs::read_to_string(f.join("freezer.state")).unwrap_or_default().trim() != want {
            if Instant::now() > end {
                return Err(io::Error::new(io::ErrorKind::TimedOut, "freezer state"));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(())
    }

    /// Moves `pid` into the freezer group.
    pub fn add_to_freezer(&self, pid: i32) -> io::Result<()> {
        let f = self.freezer.as_ref().ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))?;
        fs::write(f.join("cgroup.procs"), pid.to_string())
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if let Some(f) = &self.freezer {
            kill_all(f);
            let _ = fs::write(f.join("freezer.state"), "THAWED");
        }
        for dir in std::iter::once(&self.memcg).chain(&self.twin) {
            kill_all(dir);
        }
        // Killed processes leave their groups once they are reaped (by their parent).
        for dir in self.freezer.iter().chain(&self.twin).chain(std::iter::once(&self.memcg)) {
            remove_dir(dir);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_hierarchies() {
        let text = "\
30 25 0:26 / /sys/fs/cgroup/unified rw,nosuid - cgroup2 cgroup2 rw,nsdelegate
31 25 0:27 / /sys/fs/cgroup/memory rw,nosuid - cgroup cgroup rw,memory
32 25 0:28 / /sys/fs/cgroup/freezer rw,nosuid - cgroup cgroup rw,freezer
33 25 0:29 / /sys/fs/cgroup/cpu rw,nosuid - cgroup cgroup rw,cpu,cpuacct
";
        let m = Mounts::parse(text);
        assert_eq!(m.memory_v1.as_deref(), Some(Path::new("/sys/fs/cgroup/memory")));
        assert_eq!(m.freezer_v1.as_deref(), Some(Path::new("/sys/fs/cgroup/freezer")));
        assert_eq!(m.unified.as_deref(), Some(Path::new("/sys/fs/cgroup/unified")));
        let v2 = Mounts::parse("40 1 0:30 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n");
        assert_eq!(v2.memory_v1, None);
        assert_eq!(v2.unified.as_deref(), Some(Path::new("/sys/fs/cgroup")));
    }
}
