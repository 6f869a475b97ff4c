//! Memory cgroups: where the memory controller is mounted, and per-app soft limits
//! (`ro.config.per_app_memcg`, low-RAM devices).
//!
//! On registration of an app, AOSP sets a soft limit on the app's own memory cgroup that
//! shrinks with its importance: `multiplier × 8 MiB`, by adj. The cgroup is the task's, read
//! from `/proc/<pid>/cgroup`, under the memory controller's mount (found once in
//! `/proc/self/mountinfo`): `memory.soft_limit_in_bytes` on cgroup v1, `memory.low` on v2.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// 8 MiB, the unit of the soft limit.
const EIGHT_MEGA: i64 = 8 << 20;

/// AOSP's soft-limit multiplier for an adj (×8 MiB).
pub fn soft_limit_multiplier(adj: i32) -> i64 {
    match adj {
        900.. => 0,
        800.. => 0,
        700.. => 0,
        600.. => 1,
        500.. => 0,
        400.. => 0,
        300.. => 1,
        200.. => 8,
        100.. => 10,
        0.. => 20,
        _ => 64,
    }
}

/// The soft limit in bytes for an adj.
pub fn soft_limit_bytes(adj: i32) -> i64 {
    soft_limit_multiplier(adj) * EIGHT_MEGA
}

/// Where the memory controller is mounted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MemcgRoot {
    /// cgroup v1 memory controller at this path (`/dev/memcg` on Android).
    V1(PathBuf),
    /// cgroup v2 with the memory controller enabled, at this path.
    V2(PathBuf),
}

impl MemcgRoot {
    /// Finds the memory controller in `/proc/self/mountinfo` (v1 preferred, as AOSP's
    /// `MemSoftLimit` attribute).
    pub fn discover() -> Option<MemcgRoot> {
        let text = fs::read_to_string("/proc/self/mountinfo").ok()?;
        MemcgRoot::from_mountinfo(&text, |p| {
            fs::read_to_string(p.join("cgroup.controllers"))
                .is_ok_and(|c| c.split_whitespace().any(|w| w == "memory"))
        })
    }

    /// Parses mountinfo text; `v2_has_memory` says whether a cgroup2 mount offers `memory`.
    pub fn from_mountinfo(text: &str, v2_has_memory: impl Fn(&Path) -> bool) -> Option<MemcgRoot> {
        let mut v2 = None;
        for line in text.lines() {
            // "<id> <parent> <maj:min> <root> <mount point> <opts> [optional...] - <fstype> <source> <super opts>"
            let Some((left, right)) = line.split_once(" - ") else { continue };
            let mount_point = left.split_whitespace().nth(4);
            let mut r = right.split_whitespace();
            let (fstype, _source, super_opts) = (r.next(), r.next(), r.next().unwrap_or(""));
            let Some(mp) = mount_point else { continue };
            match fstype {
                Some("cgroup") if super_opts.split(',').any(|o| o == "memory") => {
                    return Some(MemcgRoot::V1(PathBuf::from(mp)));
                }
                Some("cgroup2") if v2.is_none() && v2_has_memory(Path::new(mp)) => {
                    v2 = Some(MemcgRoot::V2(PathBuf::from(mp)));
                }
                _ => {}
            }
        }
        v2
    }

    /// The soft-limit file of the cgroup described by `/proc/<pid>/cgroup` text.
    pub fn soft_limit_file(&self, proc_cgroup: &str) -> Option<PathBuf> {
        for line in proc_cgroup.lines() {
            let mut f = line.splitn(3, ':');
            let (_id, controllers, path) = (f.next()?, f.next()?, f.next()?);
            let rel = path.trim_start_matches('/');
            // Only plain components: a path from another cgroup namespace can hold "..".
            if rel.split('/').any(|c| c == ".." || c == ".") {
                return None;
            }
            match self {
                MemcgRoot::V1(root) if controllers.split(',').any(|c| c == "memory") => {
                    return Some(root.join(rel).join("memory.soft_limit_in_bytes"));
                }
                MemcgRoot::V2(root) if controllers.is_empty() => {
                    return Some(root.join(rel).join("memory.low"));
                }
                _ => {}
            }
        }
        None
    }

    /// Sets the soft limit of `pid`'s memory cgroup for `adj`.
    pub fn apply(&self, pid: i32, adj: i32) -> io::Result<()> {
        let cg = fs::read_to_string(format!("/proc/{pid}/cgroup"))?;
        let file = self.soft_limit_file(&cg).ok_or_else(|| {
            io::Error::new(io::ErrorKind::NotFound, "no memory cgroup for the task")
        })?;
        fs::write(file, soft_limit_bytes(adj).to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipliers_are_aosps() {
        let table = [
            (999, 0),
            (900, 0),
            (800, 0),
            (700, 0),
            (650, 1),
            (600, 1),
            (500, 0),
            (400, 0),
            (300, 1),
            (250, 8),
            (200, 8),
            (100, 10),
            (0, 20),
            (-1, 64),
            (-1000, 64),
        ];
        for (adj, m) in table {
            assert_eq!(soft_limit_multiplier(adj), m, "adj {adj}");
        }
        assert_eq!(soft_limit_bytes(0), 20 * 8 * 1024 * 1024);
    }

    #[test]
    fn finds_v1_memory_before_v2() {
        let mi = "\
25 1 0:22 / /sys/fs/cgroup/unified rw,nosuid - cgroup2 cgroup2 rw
30 25 0:27 / /sys/fs/cgroup/memory rw,nosuid - cgroup cgroup rw,memory
31 25 0:28 / /sys/fs/cgroup/freezer rw - cgroup cgroup rw,freezer
";
        assert_eq!(
            MemcgRoot::from_mountinfo(mi, |_| true),
            Some(MemcgRoot::V1("/sys/fs/cgroup/memory".into()))
        );
        let v2_only = "25 1 0:22 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n";
        assert_eq!(
            MemcgRoot::from_mountinfo(v2_only, |_| true),
            Some(MemcgRoot::V2("/sys/fs/cgroup".into()))
        );
        assert_eq!(MemcgRoot::from_mountinfo(v2_only, |_| false), None);
        assert_eq!(MemcgRoot::from_mountinfo("garbage\n\n - \n", |_| true), None);
    }

    #[test]
    fn soft_limit_file_of_a_task() {
        let android =
            "5:memory:/apps/uid_10057/pid_1234\n4:cpuset:/top-app\n0::/uid_10057/pid_1234\n";
        let v1 = MemcgRoot::V1("/dev/memcg".into());
        assert_eq!(
            v1.soft_limit_file(android),
            Some(PathBuf::from("/dev/memcg/apps/uid_10057/pid_1234/memory.soft_limit_in_bytes"))
        );
        let v2 = MemcgRoot::V2("/sys/fs/cgroup".into());
        assert_eq!(
            v2.soft_limit_file(android),
            Some(PathBuf::from("/sys/fs/cgroup/uid_10057/pid_1234/memory.low"))
        );
        assert_eq!(v1.soft_limit_file("0::/\n"), None);
    }
}
