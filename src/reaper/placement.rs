//! Where the reaper threads run: `ro.lmk.reaper_cpus`, or the lowest-capacity CPU cluster.
//!
//! On big.LITTLE phones the little cores are where reaping costs the foreground least. The
//! cluster is found from `/sys/devices/system/cpu/cpu<N>/cpu_capacity` (arm64's relative
//! capacity), falling back to `cpufreq/cpuinfo_max_freq`; when every CPU is alike (or nothing
//! tells them apart) the workers are not pinned, and the daemon says so once.

use std::fmt;
use std::fs;
use std::path::Path;

/// The sysfs directory with one `cpu<N>` directory per CPU.
pub const SYSFS_CPU_ROOT: &str = "/sys/devices/system/cpu";

/// Parses a kernel cpulist (`0-3,6,8-9`). `None` if malformed or empty.
pub fn parse_cpulist(s: &str) -> Option<Vec<usize>> {
    let mut cpus = Vec::new();
    for part in s.trim().split(',') {
        let part = part.trim();
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (usize, usize) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
                if a > b || b >= 4096 {
                    return None;
                }
                cpus.extend(a..=b);
            }
            None => {
                let c: usize = part.parse().ok()?;
                if c >= 4096 {
                    return None;
                }
                cpus.push(c);
            }
        }
    }
    cpus.sort_unstable();
    cpus.dedup();
    (!cpus.is_empty()).then_some(cpus)
}

/// Formats CPUs as a cpulist (`0-3,6`).
pub fn format_cpulist(cpus: &[usize]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < cpus.len() {
        let start = cpus[i];
        let mut end = start;
        while i + 1 < cpus.len() && cpus[i + 1] == end + 1 {
            i += 1;
            end = cpus[i];
        }
        if !out.is_empty() {
            out.push(',');
        }
        if start == end {
            out.push_str(&start.to_string());
        } else {
            out.push_str(&format!("{start}-{end}"));
        }
        i += 1;
    }
    out
}

/// How the reaper CPUs were chosen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Placement {
    /// Pinned to these CPUs.
    Pinned {
        /// The CPUs.
        cpus: Vec<usize>,
        /// Why these.
        source: Source,
    },
    /// Not pinned.
    Unpinned(&'static str),
}

/// Where a pinned placement came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// `ro.lmk.reaper_cpus`.
    Configured,
    /// The lowest `cpu_capacity`.
    Capacity,
    /// The lowest `cpuinfo_max_freq`.
    MaxFrequency,
}

impl fmt::Display for Placement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Placement::Pinned { cpus, source } => {
                let why = match source {
                    Source::Configured => "ro.lmk.reaper_cpus",
                    Source::Capacity => "lowest cpu_capacity",
                    Source::MaxFrequency => "lowest cpuinfo_max_freq",
                };
                write!(f, "CPUs {} ({why})", format_cpulist(cpus))
            }
            Placement::Unpinned(why) => write!(f, "not pinned ({why})"),
        }
    }
}

fn read_u64(p: &Path) -> Option<u64> {
    fs::read_to_string(p).ok()?.trim().parse().ok()
}

/// The CPUs under `root` (`cpu<N>` directories), limited to the `online` list if present.
fn cpus_under(root: &Path) -> Vec<usize> {
    let mut cpus: Vec<usize> = fs::read_dir(root)
        .map(|it| {
            it.filter_map(|e| {
                let name = e.ok()?.file_name();
                name.to_str()?.strip_prefix("cpu")?.parse().ok()
            })
            .collect()
        })
        .unwrap_or_default();
    if let Some(online) =
        fs::read_to_string(root.join("online")).ok().and_then(|s| parse_cpulist(&s))
    {
        cpus.retain(|c| online.contains(c));
    }
    cpus.sort_unstable();
    cpus
}

/// The CPUs with the smallest value of a per-CPU attribute, if every CPU has it and the CPUs
/// differ; `Err` names why not.
fn lowest_by(root: &Path, cpus: &[usize], attr: &str) -> Result<Vec<usize>, &'static str> {
    let mut values = Vec::with_capacity(cpus.len());
    for &c in cpus {
        match read_u64(&root.join(format!("cpu{c}")).join(attr)) {
            Some(v) => values.push((c, v)),
            None => return Err("missing"),
        }
    }
    let min = values.iter().map(|&(_, v)| v).min().ok_or("no CPUs")?;
    let max = values.iter().map(|&(_, v)| v).max().ok_or("no CPUs")?;
    if min == max {
        return Err("all CPUs alike");
    }
    Ok(values.into_iter().filter(|&(_, v)| v == min).map(|(c, _)| c).collect())
}

/// Finds the little cluster in a sysfs CPU tree.
pub fn detect(root: &Path) -> Placement {
    let cpus = cpus_under(root);
    if cpus.is_empty() {
        return Placement::Unpinned("no CPU topology in sysfs");
    }
    match lowest_by(root, &cpus, "cpu_capacity") {
        Ok(little) => return Placement::Pinned { cpus: little, source: Source::Capacity },
        Err("all CPUs alike") => return Placement::Unpinned("all CPUs have the same capacity"),
        Err(_) => {}
    }
    match lowest_by(root, &cpus, "cpufreq/cpuinfo_max_freq") {
        Ok(little) => Placement::Pinned { cpus: little, source: Source::MaxFrequency },
        Err("all CPUs alike") => Placement::Unpinned("all CPUs have the same maximum frequency"),
        Err(_) => Placement::Unpinned("no CPU capacity or frequency information"),
    }
}

/// The placement for a configuration: `ro.lmk.reaper_cpus` if set and valid (else logged and
/// detected), otherwise detected from sysfs.
pub fn choose(configured: Option<&str>, root: &Path) -> Placement {
    if let Some(list) = configured {
        match parse_cpulist(list) {
            Some(cpus) => return Placement::Pinned { cpus, source: Source::Configured },
            None => log::warn!(
                "ro.lmk.reaper_cpus={list:?} is not a cpulist; finding the little cores instead"
            ),
        }
    }
    detect(root)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    struct Tree(PathBuf);

    impl Tree {
        fn new(name: &str) -> Tree {
            let p = std::env::temp_dir().join(format!("lmkd-cpu-{name}-{}", std::process::id()));
            let _ = fs::remove_dir_all(&p);
            fs::create_dir_all(&p).unwrap();
            Tree(p)
        }

        fn cpu(&self, n: usize, capacity: Option<u64>, max_freq: Option<u64>) -> &Self {
            let d = self.0.join(format!("cpu{n}"));
            fs::create_dir_all(d.join("cpufreq")).unwrap();
            if let Some(c) = capacity {
                fs::write(d.join("cpu_capacity"), format!("{c}\n")).unwrap();
            }
            if let Some(f) = max_freq {
                fs::write(d.join("cpufreq/cpuinfo_max_freq"), format!("{f}\n")).unwrap();
            }
            self
        }
    }

    impl Drop for Tree {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn cpulists() {
        assert_eq!(parse_cpulist("0-3,6,8-9\n"), Some(vec![0, 1, 2, 3, 6, 8, 9]));
        assert_eq!(parse_cpulist("2"), Some(vec![2]));
        assert_eq!(parse_cpulist("3,1,1"), Some(vec![1, 3]));
        for bad in ["", "a", "3-1", "1,", "-1", "0-99999"] {
            assert_eq!(parse_cpulist(bad), None, "{bad:?}");
        }
        assert_eq!(format_cpulist(&[0, 1, 2, 3, 6, 8, 9]), "0-3,6,8-9");
        assert_eq!(format_cpulist(&[5]), "5");
    }

    #[test]
    fn big_little_with_two_clusters() {
        let t = Tree::new("2c");
        for c in 0..4 {
            t.cpu(c, Some(381), Some(1_800_000));
        }
        for c in 4..8 {
            t.cpu(c, Some(1024), Some(2_800_000));
        }
        assert_eq!(
            detect(&t.0),
            Placement::Pinned { cpus: vec![0, 1, 2, 3], source: Source::Capacity }
        );
    }

    #[test]
    fn three_clusters_pick_the_smallest() {
        let t = Tree::new("3c");
        for (c, cap) in
            [(0, 160), (1, 160), (2, 160), (3, 160), (4, 498), (5, 498), (6, 498), (7, 1024)]
        {
            t.cpu(c, Some(cap), None);
        }
        assert_eq!(
            detect(&t.0),
            Placement::Pinned { cpus: vec![0, 1, 2, 3], source: Source::Capacity }
        );
        // Offline CPUs do not count.
        fs::write(t.0.join("online"), "4-7\n").unwrap();
        assert_eq!(
            detect(&t.0),
            Placement::Pinned { cpus: vec![4, 5, 6], source: Source::Capacity }
        );
    }

    #[test]
    fn uniform_cpus_are_not_pinned() {
        let t = Tree::new("uni");
        for c in 0..4 {
            t.cpu(c, Some(1024), Some(3_000_000));
        }
        assert_eq!(detect(&t.0), Placement::Unpinned("all CPUs have the same capacity"));
    }

    #[test]
    fn missing_capacity_falls_back_to_max_frequency() {
        let t = Tree::new("freq");
        t.cpu(0, None, Some(1_000_000)).cpu(1, None, Some(1_000_000)).cpu(
            2,
            Some(1024),
            Some(2_000_000),
        );
        assert_eq!(
            detect(&t.0),
            Placement::Pinned { cpus: vec![0, 1], source: Source::MaxFrequency }
        );
    }

    #[test]
    fn missing_files_mean_no_pinning() {
        let t = Tree::new("none");
        t.cpu(0, None, None).cpu(1, None, None);
        assert_eq!(detect(&t.0), Placement::Unpinned("no CPU capacity or frequency information"));
        assert_eq!(detect(&t.0.join("absent")), Placement::Unpinned("no CPU topology in sysfs"));
        let u = Tree::new("samefreq");
        u.cpu(0, None, Some(5)).cpu(1, None, Some(5));
        assert_eq!(detect(&u.0), Placement::Unpinned("all CPUs have the same maximum frequency"));
    }

    #[test]
    fn configuration_wins_unless_malformed() {
        let t = Tree::new("cfg");
        t.cpu(0, Some(100), None).cpu(1, Some(1024), None);
        assert_eq!(
            choose(Some("1"), &t.0),
            Placement::Pinned { cpus: vec![1], source: Source::Configured }
        );
        assert_eq!(
            choose(Some("x"), &t.0),
            Placement::Pinned { cpus: vec![0], source: Source::Capacity }
        );
        assert_eq!(choose(None, &t.0).to_string(), "CPUs 0 (lowest cpu_capacity)");
    }
}
