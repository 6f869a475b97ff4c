//! Process-group kills, as AOSP's 2025 reaper does them: a victim's whole cgroup v2 group dies
//! with it, so that the processes an app forked do not outlive it and keep its memory.
//!
//! **Which group.** Before the kill, the victim's group is read from `/proc/<pid>/cgroup` (the
//! `0::` line) while its pidfd says it is alive, before and after the read: a pid that changed
//! hands is never read. The group is then killed whole only when it is the victim's own:
//!
//! * **Android's layout**: the group is `…/uid_<uid>/pid_<pid>` for the victim's registered uid
//!   and its pid — the group libprocessgroup made for this very process when zygote forked it.
//!   Everything in it belongs to the app, also children that were re-parented (AOSP kills
//!   them too: that is what the group kill is for).
//! * **Elsewhere** (a host): a group that is not the root, has no child groups (`cgroup.stat`
//!   `nr_descendants 0`), and whose every process (`cgroup.procs`) is the victim or a
//!   descendant of it, checked through each one's chain of parents in `/proc`. A process that
//!   is not (the victim's parent, a sibling, a child re-parented away from it) makes the group
//!   shared, and then only the victim dies. At most [`MAX_CHECKED`] processes are checked;
//!   a larger group counts as shared.
//!
//! In both cases a group that holds the daemon itself or pid 1 is never killed whole, and the
//! root group never is (it has no `cgroup.kill`).
//!
//! **The kill.** The victim is always signalled first through its pidfd (so its memory can be
//! reaped at once, whatever happens to the rest); then the group: `cgroup.kill` (kernel ≥ 5.14:
//! one write of `1`, atomic against forks), else — no `cgroup.kill`, or the write fails (a
//! threaded group refuses it) — every process in `cgroup.procs`, each through a pidfd taken and
//! checked to be in the group before it is signalled, else nothing more (the victim alone).
//! The descriptors are opened at resolution, so the kill is one write.
//!
//! Known limits: a process moved into the group (by root) between the check and the kill dies
//! with it; a fork that races the `cgroup.procs` walk (only without `cgroup.kill`) can escape.
//!
//! Resolving reads only fixed-size stack buffers: it allocates nothing, like the rest of the
//! kill path.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use rustix::fs::{openat, Mode, OFlags};

use crate::procs::procfs;
use crate::ratelimit::limited;
use crate::sys;

/// Longest group path (as `/proc/<pid>/cgroup` shows it) resolved; a longer one is not.
pub const GROUP_PATH_MAX: usize = 256;

/// Most processes checked for descent from the victim; a larger group counts as shared.
pub const MAX_CHECKED: u32 = 256;

/// Longest chain of parents followed from a process towards the victim.
const MAX_DEPTH: usize = 64;

/// Why a victim was killed alone, through its pidfd, without its group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Alone {
    /// No cgroup v2 hierarchy is mounted, or the victim is not in it.
    NoCgroupV2,
    /// The victim is in the root group (which has no `cgroup.kill`).
    Root,
    /// Its group is not its own (see the module documentation).
    Shared,
    /// Its group could not be read (an I/O error, a path longer than [`GROUP_PATH_MAX`]).
    Unreadable,
    /// `cgroup.kill` and `cgroup.procs` both failed at the kill.
    GroupFailed,
    /// A watchdog kill: the watchdog reads nothing of its victim (that may be what the loop
    /// is stuck on), so it signals the victim alone.
    Watchdog,
}

impl Alone {
    fn code(self) -> i32 {
        match self {
            Alone::NoCgroupV2 => 1,
            Alone::Root => 2,
            Alone::Shared => 3,
            Alone::Unreadable => 4,
            Alone::GroupFailed => 5,
            Alone::Watchdog => 6,
        }
    }

    fn from_code(c: i32) -> Option<Alone> {
        Some(match c {
            1 => Alone::NoCgroupV2,
            2 => Alone::Root,
            3 => Alone::Shared,
            4 => Alone::Unreadable,
            5 => Alone::GroupFailed,
            6 => Alone::Watchdog,
            _ => return None,
        })
    }

    /// A short name.
    pub fn as_str(self) -> &'static str {
        match self {
            Alone::NoCgroupV2 => "no-cgroup-v2",
            Alone::Root => "root-group",
            Alone::Shared => "shared-group",
            Alone::Unreadable => "unreadable",
            Alone::GroupFailed => "group-failed",
            Alone::Watchdog => "watchdog",
        }
    }
}

/// How a victim's process group was killed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum GroupKill {
    /// Not known: the kill is pending, or the record comes from a daemon that did not record it.
    #[default]
    Unknown,
    /// The victim alone, through its pidfd, and why.
    Alone(Alone),
    /// Its group through `cgroup.kill`.
    CgroupKill,
    /// Its group process by process, through pidfds, from `cgroup.procs`.
    CgroupProcs,
}

impl GroupKill {
    /// A short name for logs and reports (`cgroup.kill`, `cgroup.procs`, `alone:<why>`).
    pub fn as_str(self) -> &'static str {
        match self {
            GroupKill::Unknown => "-",
            GroupKill::CgroupKill => "cgroup.kill",
            GroupKill::CgroupProcs => "cgroup.procs",
            GroupKill::Alone(a) => match a {
                Alone::NoCgroupV2 => "alone:no-cgroup-v2",
                Alone::Root => "alone:root-group",
                Alone::Shared => "alone:shared-group",
                Alone::Unreadable => "alone:unreadable",
                Alone::GroupFailed => "alone:group-failed",
                Alone::Watchdog => "alone:watchdog",
            },
        }
    }

    /// A stable number for the wire (`LMK_EXT_KILL_HISTORY`): 0 unknown, 1 `cgroup.kill`,
    /// 2 `cgroup.procs`, 10 + n alone for reason n.
    pub fn code(self) -> i32 {
        match self {
            GroupKill::Unknown => 0,
            GroupKill::CgroupKill => 1,
            GroupKill::CgroupProcs => 2,
            GroupKill::Alone(a) => 10 + a.code(),
        }
    }

    /// The inverse of [`GroupKill::code`]; unknown numbers are [`GroupKill::Unknown`].
    pub fn from_code(c: i32) -> GroupKill {
        match c {
            1 => GroupKill::CgroupKill,
            2 => GroupKill::CgroupProcs,
            c => c
                .checked_sub(10)
                .and_then(Alone::from_code)
                .map_or(GroupKill::Unknown, GroupKill::Alone),
        }
    }
}

/// The cgroup v2 hierarchy groups are resolved in, found once at start-up.
#[derive(Debug)]
pub struct CgroupV2 {
    root: OwnedFd,
    mount: PathBuf,
    /// The mount's root inside the hierarchy (`/` unless a subtree is mounted).
    mount_root: String,
}

impl CgroupV2 {
    /// The first `cgroup2` mount in `/proc/self/mountinfo` (`/sys/fs/cgroup` on Android,
    /// `/sys/fs/cgroup/unified` on hybrid hosts), or `None`.
    pub fn discover() -> Option<CgroupV2> {
        let info = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
        let (root, mount) = find_cgroup2(&info)?;
        CgroupV2::at(Path::new(&mount), &root).ok()
    }

    /// The hierarchy mounted at `mount`, whose root inside the hierarchy is `mount_root`.
    pub fn at(mount: &Path, mount_root: &str) -> io::Result<CgroupV2> {
        let root = openat(
            rustix::fs::CWD,
            mount,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        Ok(CgroupV2 { root, mount: mount.to_owned(), mount_root: mount_root.to_owned() })
    }

    /// Where it is mounted.
    pub fn mount(&self) -> &Path {
        &self.mount
    }

    /// The group path relative to the mount for `path` as `/proc/<pid>/cgroup` shows it, if
    /// it is under the mount's root.
    fn relative<'a>(&self, path: &'a [u8]) -> Option<&'a [u8]> {
        let root = self.mount_root.as_bytes();
        let rest = path.strip_prefix(root)?;
        if root != b"/" && !(rest.is_empty() || rest[0] == b'/') {
            return None;
        }
        Some(rest.strip_prefix(b"/").unwrap_or(rest))
    }
}

/// The root and mount point of the first `cgroup2` line of a mountinfo text.
fn find_cgroup2(info: &str) -> Option<(String, String)> {
    for line in info.lines() {
        let (left, right) = line.split_once(" - ")?;
        if right.split_whitespace().next() != Some("cgroup2") {
            continue;
        }
        let mut f = left.split_whitespace();
        let root = f.nth(3)?;
        let mount = f.next()?;
        return Some((unescape(root), unescape(mount)));
    }
    None
}

/// mountinfo's octal escapes (`\040` for a space).
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let oct = b
            .get(i + 1..i + 4)
            .filter(|d| b[i] == b'\\' && d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match oct {
            Some(d) => {
                out.push((d[0] - b'0') * 64 + (d[1] - b'0') * 8 + (d[2] - b'0'));
                i += 4;
            }
            None => {
                out.push(b[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Which rule made a group the victim's own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    /// Android's `uid_<uid>/pid_<pid>`.
    Android,
    /// Every process in it descends from the victim.
    Descendants,
}

/// A victim's own group, resolved before the kill: its directory and, where the kernel has
/// it, its `cgroup.kill`, open.
#[derive(Debug)]
pub struct VictimGroup {
    dir: OwnedFd,
    kill: Option<OwnedFd>,
    procs: u32,
    rule: Rule,
}

impl VictimGroup {
    /// Processes in it when it was resolved, the victim included.
    pub fn procs(&self) -> u32 {
        self.procs
    }

    /// The rule that made it the victim's own.
    pub fn rule(&self) -> Rule {
        self.rule
    }

    /// Kills the group of `victim` (already signalled through its pidfd): `cgroup.kill`, else
    /// every process in `cgroup.procs` through pidfds; returns how.
    pub fn kill(&self, victim: i32) -> GroupKill {
        if let Some(fd) = &self.kill {
            let r = match crate::fault::check(crate::fault::Site::Signal, "cgroup.kill") {
                Some(f) => f.error().map_or(Ok(()), Err),
                None => rustix::io::write(fd, b"1").map(drop).map_err(io::Error::from),
            };
            match r {
                Ok(()) => return GroupKill::CgroupKill,
                Err(e) => limited!(
                    warn,
                    "cannot write cgroup.kill of the group of pid {victim}: {e}; signalling its processes one by one"
                ),
            }
        }
        match self.kill_procs(victim) {
            Ok(_) => GroupKill::CgroupProcs,
            Err(e) => {
                limited!(
                    warn,
                    "cannot read cgroup.procs of the group of pid {victim}: {e}; it was killed alone"
                );
                GroupKill::Alone(Alone::GroupFailed)
            }
        }
    }

    /// SIGKILL to every process listed in `cgroup.procs` but `victim`, each through a pidfd
    /// taken first and checked alive after the group was read again and still listed it (so
    /// the process listed is the pidfd's); returns how many were signalled.
    pub fn kill_procs(&self, victim: i32) -> io::Result<u32> {
        let procs =
            openat(&self.dir, "cgroup.procs", OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())?;
        let mut signalled = 0;
        for_each_pid(procs.as_fd(), |pid| {
            if pid == victim || pid <= 1 {
                return true;
            }
            let Ok(fd) = sys::pidfd_open(pid) else { return true };
            let mut listed = false;
            let _ = for_each_pid(procs.as_fd(), |p| {
                listed = p == pid;
                !listed
            });
            if listed
                && !sys::pidfd_is_dead(&fd).unwrap_or(true)
                && sys::pidfd_send_signal(fd.as_fd(), libc::SIGKILL).is_ok()
            {
                signalled += 1;
            }
            true
        })?;
        Ok(signalled)
    }
}

/// What resolving a victim's group came to.
#[derive(Debug)]
pub enum Resolution {
    /// The victim dies alone, for this reason.
    Alone(Alone),
    /// Its own group dies with it.
    Group(VictimGroup),
}

impl Resolution {
    /// Processes in the group when resolved (0 when the victim dies alone).
    pub fn procs(&self) -> u32 {
        match self {
            Resolution::Group(g) => g.procs,
            Resolution::Alone(_) => 0,
        }
    }

    /// Kills the rest of the group of `victim` (already signalled); returns how.
    pub fn kill(&self, victim: i32) -> GroupKill {
        match self {
            Resolution::Alone(a) => GroupKill::Alone(*a),
            Resolution::Group(g) => g.kill(victim),
        }
    }
}

/// The victim exited while its group was resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Gone;

/// Resolves the group of the process behind `pidfd` (pid `pid`, registered as `uid`) in `v2`
/// (see the module documentation). Nothing is allocated.
pub fn resolve(
    v2: Option<&CgroupV2>,
    pidfd: BorrowedFd<'_>,
    pid: i32,
    uid: i32,
) -> Result<Resolution, Gone> {
    let alive = || !sys::pidfd_is_dead(pidfd).unwrap_or(true);
    if !alive() {
        return Err(Gone);
    }
    let Some(v2) = v2 else { return Ok(Resolution::Alone(Alone::NoCgroupV2)) };
    let mut buf = [0u8; 2048];
    let path = match read_v2_path(pid, &mut buf) {
        Ok(Some(p)) => p,
        Ok(None) => return Ok(Resolution::Alone(Alone::NoCgroupV2)),
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT | libc::ESRCH)) => return Err(Gone),
        Err(_) => return Ok(Resolution::Alone(Alone::Unreadable)),
    };
    let resolved = resolve_path(v2, path, pid, uid);
    // Alive after the read: `/proc/<pid>/cgroup` was the victim's own.
    if !alive() {
        return Err(Gone);
    }
    Ok(resolved)
}

fn resolve_path(v2: &CgroupV2, path: &[u8], pid: i32, uid: i32) -> Resolution {
    if path == b"/" {
        return Resolution::Alone(Alone::Root);
    }
    if path.len() > GROUP_PATH_MAX {
        return Resolution::Alone(Alone::Unreadable);
    }
    let Some(rel) = v2.relative(path) else { return Resolution::Alone(Alone::Unreadable) };
    if rel.is_empty() {
        // The root of what this mount shows (a cgroup namespace's root): never killed whole.
        return Resolution::Alone(Alone::Root);
    }
    let open = |dir: BorrowedFd<'_>, name: &[u8], flags: OFlags| {
        openat(dir, name, flags | OFlags::CLOEXEC, Mode::empty())
    };
    let Ok(dir) = open(v2.root.as_fd(), rel, OFlags::PATH | OFlags::DIRECTORY) else {
        return Resolution::Alone(Alone::Unreadable);
    };
    let rule = if android_layout(path, uid, pid) { Rule::Android } else { Rule::Descendants };
    if rule == Rule::Descendants {
        match nr_descendants(dir.as_fd()) {
            Ok(0) => {}
            Ok(_) => return Resolution::Alone(Alone::Shared),
            Err(_) => return Resolution::Alone(Alone::Unreadable),
        }
    }
    let Ok(procs_fd) = open(dir.as_fd(), b"cgroup.procs", OFlags::RDONLY) else {
        return Resolution::Alone(Alone::Unreadable);
    };
    let me = i32::try_from(std::process::id()).unwrap_or(0);
    let mut procs = 0u32;
    let mut own = true;
    let mut listed = false;
    let walked = for_each_pid(procs_fd.as_fd(), |p| {
        procs += 1;
        listed |= p == pid;
        own = p != 1
            && p != me
            && (p == pid
                || rule == Rule::Android
                || (procs <= MAX_CHECKED && descends_from(p, pid)));
        own
    });
    match walked {
        Err(_) => return Resolution::Alone(Alone::Unreadable),
        Ok(()) if !own => return Resolution::Alone(Alone::Shared),
        // The victim left the group since its `cgroup` file was read.
        Ok(()) if !listed => return Resolution::Alone(Alone::Unreadable),
        Ok(()) => {}
    }
    // Absent before Linux 5.14: the kill then walks `cgroup.procs`.
    let kill = open(dir.as_fd(), b"cgroup.kill", OFlags::WRONLY).ok();
    Resolution::Group(VictimGroup { dir, kill, procs, rule })
}

/// Whether `path` ends in `/uid_<uid>/pid_<pid>`.
fn android_layout(path: &[u8], uid: i32, pid: i32) -> bool {
    let (mut u, mut p) = ([0u8; 12], [0u8; 12]);
    let (uid, pid) = (procfs::format_i32(uid, &mut u), procfs::format_i32(pid, &mut p));
    let Some(rest) = path.strip_suffix(pid) else { return false };
    let Some(rest) = rest.strip_suffix(b"/pid_") else { return false };
    let Some(rest) = rest.strip_suffix(uid) else { return false };
    rest.ends_with(b"/uid_")
}

/// The cgroup v2 path of `pid` (the `0::` line of `/proc/<pid>/cgroup`), `None` when it has
/// none.
fn read_v2_path(pid: i32, buf: &mut [u8]) -> io::Result<Option<&[u8]>> {
    let text = procfs::read_proc_file(pid, "cgroup", buf)?;
    Ok(text.split(|&b| b == b'\n').find_map(|l| l.strip_prefix(b"0::")))
}

/// `nr_descendants` of the group's `cgroup.stat`: live child groups.
fn nr_descendants(dir: BorrowedFd<'_>) -> io::Result<u64> {
    let fd = openat(dir, "cgroup.stat", OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())?;
    let mut buf = [0u8; 512];
    let n = rustix::io::read(&fd, &mut buf)?;
    buf[..n]
        .split(|&b| b == b'\n')
        .find_map(|l| l.strip_prefix(b"nr_descendants "))
        .and_then(|v| std::str::from_utf8(v).ok()?.trim().parse().ok())
        .ok_or_else(|| io::Error::from_raw_os_error(libc::EINVAL))
}

/// Calls `f` with every pid in a `cgroup.procs` file, read in pieces from the start, until it
/// returns `false`.
fn for_each_pid(fd: BorrowedFd<'_>, mut f: impl FnMut(i32) -> bool) -> io::Result<()> {
    let mut buf = [0u8; 512];
    let mut offset = 0u64;
    let mut value: Option<i32> = None;
    loop {
        let n = match rustix::io::pread(fd, &mut buf, offset) {
            Ok(n) => n,
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        };
        if n == 0 {
            if let Some(v) = value {
                f(v);
            }
            return Ok(());
        }
        offset += u64::try_from(n).unwrap_or(u64::MAX);
        for &b in &buf[..n] {
            match b {
                b'0'..=b'9' => {
                    let d = i32::from(b - b'0');
                    value = Some(value.unwrap_or(0).saturating_mul(10).saturating_add(d));
                }
                _ => {
                    if let Some(v) = value.take() {
                        if !f(v) {
                            return Ok(());
                        }
                    }
                }
            }
        }
    }
}

/// The parent of `pid`, from `/proc/<pid>/stat` (field 4).
fn parent_of(pid: i32) -> io::Result<i32> {
    let mut buf = [0u8; 1024];
    let stat = procfs::read_proc_file(pid, "stat", &mut buf)?;
    let close = stat.iter().rposition(|&b| b == b')').ok_or(io::ErrorKind::InvalidData)?;
    stat[close + 1..]
        .split(|b| b.is_ascii_whitespace())
        .filter(|f| !f.is_empty())
        .nth(1)
        .and_then(|f| std::str::from_utf8(f).ok()?.parse().ok())
        .ok_or_else(|| io::ErrorKind::InvalidData.into())
}

/// Whether `p` descends from `ancestor` (its chain of parents reaches it). A process that is
/// gone counts (it cannot be hurt); an unreadable one does not.
fn descends_from(p: i32, ancestor: i32) -> bool {
    let mut cur = p;
    for _ in 0..MAX_DEPTH {
        match parent_of(cur) {
            Ok(pp) if pp == ancestor => return true,
            Ok(pp) if pp > 1 => cur = pp,
            Ok(_) => return false,
            Err(e) => {
                return cur == p && matches!(e.raw_os_error(), Some(libc::ENOENT | libc::ESRCH))
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        let all = [
            GroupKill::Unknown,
            GroupKill::CgroupKill,
            GroupKill::CgroupProcs,
            GroupKill::Alone(Alone::NoCgroupV2),
            GroupKill::Alone(Alone::Root),
            GroupKill::Alone(Alone::Shared),
            GroupKill::Alone(Alone::Unreadable),
            GroupKill::Alone(Alone::GroupFailed),
            GroupKill::Alone(Alone::Watchdog),
        ];
        for g in all {
            assert_eq!(GroupKill::from_code(g.code()), g);
        }
        for c in [-1, 3, 9, 10, 17, i32::MIN, i32::MAX] {
            assert_eq!(GroupKill::from_code(c), GroupKill::Unknown, "{c}");
        }
    }

    #[test]
    fn mountinfo_finds_the_cgroup2_mount() {
        let hybrid = "25 31 0:23 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755\n\
                      41 25 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n\
                      42 25 0:39 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n";
        assert_eq!(find_cgroup2(hybrid), Some(("/".into(), "/sys/fs/cgroup/unified".into())));
        let android = "30 22 0:27 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 none rw,memory_recursiveprot\n";
        assert_eq!(find_cgroup2(android), Some(("/".into(), "/sys/fs/cgroup".into())));
        let escaped = "30 22 0:27 /sub\\040tree /mnt/a\\040b rw - cgroup2 none rw\n";
        assert_eq!(find_cgroup2(escaped), Some(("/sub tree".into(), "/mnt/a b".into())));
        assert_eq!(find_cgroup2("22 1 0:2 / / rw - ext4 /dev/vda rw\n"), None);
    }

    #[test]
    fn android_layout_names_this_process() {
        assert!(android_layout(b"/uid_10057/pid_1234", 10057, 1234));
        assert!(android_layout(b"/apps/uid_10057/pid_1234", 10057, 1234));
        assert!(!android_layout(b"/uid_10057/pid_12345", 10057, 1234));
        assert!(!android_layout(b"/uid_10057/pid_234", 10057, 1234));
        assert!(!android_layout(b"/uid_110057/pid_1234", 10057, 1234));
        assert!(!android_layout(b"/uid_10058/pid_1234", 10057, 1234));
        assert!(!android_layout(b"uid_10057/pid_1234", 10057, 1234));
        assert!(!android_layout(b"/pid_1234", 10057, 1234));
    }

    #[test]
    fn paths_relative_to_the_mount_root() {
        let dir = std::env::temp_dir();
        let top = CgroupV2::at(&dir, "/").unwrap();
        assert_eq!(top.relative(b"/a/b"), Some(&b"a/b"[..]));
        assert_eq!(top.relative(b"/"), Some(&b""[..]));
        let sub = CgroupV2::at(&dir, "/ns").unwrap();
        assert_eq!(sub.relative(b"/ns/a"), Some(&b"a"[..]));
        assert_eq!(sub.relative(b"/ns"), Some(&b""[..]));
        assert_eq!(sub.relative(b"/nsx/a"), None);
        assert_eq!(sub.relative(b"/other"), None);
    }

    #[test]
    fn pids_are_read_across_pieces() {
        // 300 pids of 6 digits: the file is read in several 512-byte pieces.
        let dir = std::env::temp_dir().join(format!("lmkd-procs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("cgroup.procs");
        let pids: Vec<i32> = (0..300).map(|i| 100_000 + i * 7).collect();
        let text: String = pids.iter().map(|p| format!("{p}\n")).collect();
        std::fs::write(&path, &text).unwrap();
        let f = std::fs::File::open(&path).unwrap();
        let mut got = Vec::new();
        for_each_pid(f.as_fd(), |p| {
            got.push(p);
            true
        })
        .unwrap();
        assert_eq!(got, pids);
        // Stops when told to; a last pid without a newline counts.
        std::fs::write(&path, "5\n6\n7").unwrap();
        let f = std::fs::File::open(&path).unwrap();
        let mut got = Vec::new();
        for_each_pid(f.as_fd(), |p| {
            got.push(p);
            true
        })
        .unwrap();
        assert_eq!(got, [5, 6, 7]);
        let mut got = Vec::new();
        for_each_pid(f.as_fd(), |p| {
            got.push(p);
            p < 6
        })
        .unwrap();
        assert_eq!(got, [5, 6]);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn this_process_descends_from_its_parent_and_not_from_a_sibling() {
        let me = i32::try_from(std::process::id()).unwrap();
        let mut child = std::process::Command::new("sleep").arg("30").spawn().unwrap();
        let mut other = std::process::Command::new("sleep").arg("30").spawn().unwrap();
        let c = i32::try_from(child.id()).unwrap();
        let o = i32::try_from(other.id()).unwrap();
        assert!(descends_from(c, me));
        assert!(!descends_from(c, o), "a sibling is no ancestor");
        assert!(!descends_from(me, c), "nor a child");
        let _ = (child.kill(), other.kill());
        let _ = (child.wait(), other.wait());
        // Gone (and reaped): it cannot be hurt.
        assert!(descends_from(c, o));
    }
}
