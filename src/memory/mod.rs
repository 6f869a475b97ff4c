//! Memory domains: where the daemon reads how much memory is left, and where it listens for
//! pressure.
//!
//! * [`Domain::System`] (the Android default): `/proc/meminfo`, `/proc/vmstat`,
//!   `/proc/zoneinfo` (watermarks), `/proc/pressure/memory`, and the root memory cgroup for
//!   vmpressure (`/dev/memcg` on Android, the v1 memory controller's mount on a host).
//! * [`Domain::Memcg`] (`ro.lmk.memcg_domain`): one memory cgroup is the whole world — how
//!   Android runs in containers, and how tests make real pressure on a large machine safely.
//!   Its snapshot is synthesised from the group's files so that the same decision logic applies:
//!
//!   | snapshot field | from (cgroup v1 / v2) |
//!   |---|---|
//!   | `MemTotal` | the limit (`memory.limit_in_bytes` / `memory.max`), at most the system's |
//!   | `MemFree` | limit − usage (`memory.usage_in_bytes` / `memory.current`) + inactive file: what the group can take without touching its active working set (a group has no kswapd keeping memory free, so its usage always sits at the limit once the page cache has filled it) |
//!   | file/anon LRU, shmem, unevictable | `memory.stat` (`total_*` on v1) |
//!   | `SwapTotal` / `SwapFree` | `memory.memsw.*` − the memory figures (v1), `memory.swap.max` / `memory.swap.current` (v2) |
//!   | refaults | `workingset_refault_file` of `memory.stat` |
//!   | direct reclaim | v1: `memory.failcnt` (charges that hit the limit, each one a reclaim in the allocating task); v2: `pgscan` of `memory.stat` |
//!   | watermarks | from the limit: min = 1/64, low = 3/128, high = 1/32 of it (16, 24 and 32 MiB for 1 GiB) |
//!   | PSI | the group's own `memory.pressure` (cgroup v2; a v1 group has none unless a tool links one into its directory), else on a hybrid hierarchy the v2 group at the same path when it exists, else `/proc/pressure/memory` |
//!   | vmpressure | the v1 group's `memory.pressure_level` |
//!
//! Every file is opened once and re-read with `pread` into a buffer sized at start-up (twice
//! the file's size then, at least a page); the parsers in [`parse`] allocate nothing. A file
//! that outgrows its buffer gets a bigger one (logged; an allocation off the usual path).

pub mod cgroup;
pub mod parse;

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use parse::{MemcgStat, Meminfo, ParseError, PsiAverages, PsiLine, Vmstat, Watermarks};

/// Why a snapshot could not be taken.
#[derive(Debug)]
pub enum MemoryError {
    /// A file could not be read.
    Io(&'static str, io::Error),
    /// A file could not be parsed.
    Parse(&'static str, ParseError),
}

impl std::fmt::Display for MemoryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MemoryError::Io(file, e) => write!(f, "cannot read {file}: {e}"),
            MemoryError::Parse(file, e) => write!(f, "cannot parse {file}: {e}"),
        }
    }
}

impl std::error::Error for MemoryError {}

/// A kernel file kept open and re-read from offset 0.
#[derive(Debug)]
pub struct KernelFile {
    name: &'static str,
    file: File,
    buf: Vec<u8>,
}

impl KernelFile {
    /// Opens `path` and sizes its buffer from one read.
    pub fn open(name: &'static str, path: &Path) -> io::Result<KernelFile> {
        let file = File::open(path)?;
        let mut k = KernelFile { name, file, buf: vec![0; 4096] };
        let n = k.read_growing(false)?.len();
        k.buf.resize((n * 2).max(4096), 0);
        Ok(k)
    }

    /// The file's name for messages.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Reads the whole file with `pread` from offset 0.
    pub fn read(&mut self) -> io::Result<&[u8]> {
        self.read_growing(true)
    }

    fn read_growing(&mut self, warn: bool) -> io::Result<&[u8]> {
        loop {
            let mut len = 0;
            loop {
                let fault = crate::fault::check(crate::fault::Site::Read, self.name);
                let r = match fault.and_then(|a| a.error()) {
                    Some(e) => Err(e),
                    None => self.file.read_at(&mut self.buf[len..], len as u64),
                };
                match r {
                    Ok(0) => break,
                    Ok(n) => {
                        len += n;
                        if let Some(crate::fault::Action::Truncate(max)) = fault {
                            len = len.min(max);
                            break;
                        }
                        if len == self.buf.len() {
                            break;
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                }
            }
            if len < self.buf.len() {
                return Ok(&self.buf[..len]);
            }
            let bigger = self.buf.len() * 2;
            if warn {
                log::warn!("{} outgrew its {} byte buffer; growing it", self.name, self.buf.len());
            }
            self.buf.resize(bigger, 0);
        }
    }

    /// Reads and parses the file.
    pub fn parse<T>(
        &mut self,
        f: impl Fn(&[u8]) -> Result<T, ParseError>,
    ) -> Result<T, MemoryError> {
        let name = self.name;
        let buf = self.read().map_err(|e| MemoryError::Io(name, e))?;
        f(buf).map_err(|e| MemoryError::Parse(name, e))
    }

    /// Reads the file as one number (a cgroup attribute), `max` meaning `None`.
    pub fn number(&mut self) -> Result<Option<i64>, MemoryError> {
        let name = self.name;
        let buf = self.read().map_err(|e| MemoryError::Io(name, e))?;
        let t = buf.trim_ascii();
        if t == b"max" {
            return Ok(None);
        }
        std::str::from_utf8(t)
            .ok()
            .and_then(|s| s.parse::<u64>().ok())
            .map(|v| Some(i64::try_from(v).unwrap_or(i64::MAX)))
            .ok_or(MemoryError::Parse(name, ParseError::Malformed("value")))
    }
}

/// What the decision reads at every wake-up.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Memory figures, in kB.
    pub meminfo: Meminfo,
    /// Counters (pages, events).
    pub vmstat: Vmstat,
    /// Memory PSI averages of the domain.
    pub psi: PsiAverages,
    /// A memory cgroup's snapshot: its `MemFree` already counts the inactive file pages (see
    /// the table above).
    pub memcg: bool,
}

/// The headroom of a domain, in kB: the memory it can still give before the kernel's OOM
/// killer must act, counting only what reclaim can create without thrashing — free memory,
/// plus the file pages above the working set, plus `swap_kb` (the free swap that can really
/// take pages: the caller's estimate, the effective free swap of AOSP's strategy, `SwapFree`
/// capped at `easy_available × ro.lmk.swap_compression_ratio`), minus the min watermark below
/// which allocations stall in direct reclaim. It goes negative past the min watermark.
///
/// * System domain: `MemFree − CmaFree + Inactive(file)` from one read of `/proc/meminfo` (the
///   kernel protects the active file list; what it reclaims first is the inactive one).
/// * Memory cgroup: its limit minus what reclaim cannot take — anonymous memory, unevictable
///   pages and the active file list (the group's file working set) — all from one read of
///   `memory.stat`. The same measure as limit − usage + inactive file, but usage and
///   `memory.stat` read at two instants disagree by tens of MiB while file I/O runs, and a
///   forecast over such samples sees falls that are not there (measured: a 42 MiB dip in one
///   20 ms sample while a group re-read a file). Kernel memory charged to the group is not in
///   `memory.stat`; the rule's margins cover it (page tables and slab of a few hundred MiB of
///   apps are a few MiB).
pub fn headroom_kb(s: &Snapshot, min_wmark_kb: i64, swap_kb: i64) -> i64 {
    let m = &s.meminfo;
    let free = if s.memcg {
        let kept = m
            .active_anon
            .saturating_add(m.inactive_anon)
            .saturating_add(m.unevictable)
            .saturating_add(m.active_file);
        m.mem_total.saturating_sub(kept)
    } else {
        m.mem_free.saturating_sub(m.cma_free).saturating_add(m.inactive_file)
    };
    free.saturating_add(swap_kb.max(0)).saturating_sub(min_wmark_kb)
}

/// What reclaim cannot give back, in kB: the memory whose growth runs a domain out (the
/// predictive rule measures its rate, [`crate::policy::predict`]). Page cache can always be
/// dropped, so its coming and going — a file being read, pages activated on a second access —
/// is not a fall toward the OOM killer, however fast it is.
///
/// * System domain: `MemTotal − MemFree − Active(file) − Inactive(file)` (anonymous memory,
///   kernel memory, the compressed swap pool: swapping anonymous memory out lowers it by what
///   compression saves).
/// * Memory cgroup: anonymous memory and unevictable pages (`memory.stat`).
pub fn demand_kb(s: &Snapshot) -> i64 {
    let m = &s.meminfo;
    if s.memcg {
        m.active_anon.saturating_add(m.inactive_anon).saturating_add(m.unevictable)
    } else {
        m.mem_total
            .saturating_sub(m.mem_free)
            .saturating_sub(m.active_file)
            .saturating_sub(m.inactive_file)
    }
}

/// The page size in kB.
pub fn page_kb() -> i64 {
    i64::try_from(rustix::param::page_size() / 1024).unwrap_or(4).max(1)
}

/// The system memory domain.
#[derive(Debug)]
pub struct SystemDomain {
    meminfo: KernelFile,
    vmstat: KernelFile,
    zoneinfo: KernelFile,
    psi: Option<KernelFile>,
    root_memcg: Option<PathBuf>,
}

/// One memory cgroup as the world.
#[derive(Debug)]
pub struct MemcgDomain {
    path: PathBuf,
    v2: bool,
    limit: KernelFile,
    usage: KernelFile,
    stat: KernelFile,
    swap_limit: Option<KernelFile>,
    swap_usage: Option<KernelFile>,
    failcnt: Option<KernelFile>,
    psi: Option<KernelFile>,
    psi_path: PathBuf,
    system_total_kb: i64,
    /// The system's `SwapTotal` when the domain was opened: a group cannot swap more than the
    /// system has, whatever its (often unlimited) swap limit says.
    system_swap_kb: i64,
}

/// The memory domain in force.
#[derive(Debug)]
pub enum Domain {
    /// The whole system.
    System(SystemDomain),
    /// One memory cgroup.
    Memcg(MemcgDomain),
}

const PROC_PSI_MEMORY: &str = "/proc/pressure/memory";
/// Where cgroup v2 is mounted beside v1 on a hybrid hierarchy (systemd's layout).
const HYBRID_V2_ROOT: &str = "/sys/fs/cgroup/unified";

fn open_opt(name: &'static str, p: &Path) -> Option<KernelFile> {
    KernelFile::open(name, p).ok()
}

impl Domain {
    /// The system domain. `/proc/meminfo`, `/proc/vmstat` and `/proc/zoneinfo` must exist.
    pub fn system() -> io::Result<Domain> {
        let root_memcg = cgroup::MemcgRoot::discover().and_then(|r| match r {
            cgroup::MemcgRoot::V1(p) => Some(p),
            cgroup::MemcgRoot::V2(_) => None,
        });
        // Android mounts the root memory cgroup at /dev/memcg.
        let root_memcg = if Path::new("/dev/memcg/memory.pressure_level").exists() {
            Some(PathBuf::from("/dev/memcg"))
        } else {
            root_memcg
        };
        Ok(Domain::System(SystemDomain {
            meminfo: KernelFile::open("/proc/meminfo", Path::new("/proc/meminfo"))?,
            vmstat: KernelFile::open("/proc/vmstat", Path::new("/proc/vmstat"))?,
            zoneinfo: KernelFile::open("/proc/zoneinfo", Path::new("/proc/zoneinfo"))?,
            psi: open_opt(PROC_PSI_MEMORY, Path::new(PROC_PSI_MEMORY)),
            root_memcg,
        }))
    }

    /// A memory cgroup (v1 group, or v2 group with the memory controller) as the domain.
    pub fn memcg(path: &Path) -> io::Result<Domain> {
        let v2 = path.join("memory.current").exists();
        let f = |n: &str| path.join(n);
        let (limit, usage) = if v2 {
            (
                KernelFile::open("memory.max", &f("memory.max"))?,
                KernelFile::open("memory.current", &f("memory.current"))?,
            )
        } else {
            (
                KernelFile::open("memory.limit_in_bytes", &f("memory.limit_in_bytes"))?,
                KernelFile::open("memory.usage_in_bytes", &f("memory.usage_in_bytes"))?,
            )
        };
        let (swap_limit, swap_usage) = if v2 {
            (
                open_opt("memory.swap.max", &f("memory.swap.max")),
                open_opt("memory.swap.current", &f("memory.swap.current")),
            )
        } else {
            (
                open_opt("memory.memsw.limit_in_bytes", &f("memory.memsw.limit_in_bytes")),
                open_opt("memory.memsw.usage_in_bytes", &f("memory.memsw.usage_in_bytes")),
            )
        };
        // PSI: the group's own file (v2, or a v1 group's directory that links one in); on a
        // hybrid hierarchy the v2 group at the same relative path; else the system's.
        let psi_path = if v2 || f("memory.pressure").exists() {
            f("memory.pressure")
        } else {
            cgroup::MemcgRoot::discover()
                .and_then(|r| match r {
                    cgroup::MemcgRoot::V1(root) => {
                        path.strip_prefix(&root).ok().map(Path::to_path_buf)
                    }
                    cgroup::MemcgRoot::V2(_) => None,
                })
                .map(|rel| Path::new(HYBRID_V2_ROOT).join(rel).join("memory.pressure"))
                .filter(|p| p.exists())
                .unwrap_or_else(|| PathBuf::from(PROC_PSI_MEMORY))
        };
        let system =
            std::fs::read("/proc/meminfo").ok().and_then(|b| parse::parse_meminfo(&b).ok());
        let system_total_kb = system.map_or(i64::MAX, |m| m.mem_total);
        let system_swap_kb = system.map_or(0, |m| m.swap_total);
        Ok(Domain::Memcg(MemcgDomain {
            path: path.to_owned(),
            v2,
            limit,
            usage,
            stat: KernelFile::open("memory.stat", &f("memory.stat"))?,
            swap_limit,
            swap_usage,
            failcnt: if v2 { None } else { open_opt("memory.failcnt", &f("memory.failcnt")) },
            psi: open_opt("memory.pressure", &psi_path),
            psi_path,
            system_total_kb,
            system_swap_kb,
        }))
    }

    /// A short description for logs and status reports.
    pub fn describe(&self) -> String {
        match self {
            Domain::System(_) => "system".to_owned(),
            Domain::Memcg(m) => {
                format!("memcg {} ({})", m.path.display(), if m.v2 { "v2" } else { "v1" })
            }
        }
    }

    /// The file PSI triggers are written to.
    pub fn psi_path(&self) -> PathBuf {
        match self {
            Domain::System(_) => PathBuf::from(PROC_PSI_MEMORY),
            Domain::Memcg(m) => m.psi_path.clone(),
        }
    }

    /// The memory cgroup v1 directory whose `memory.pressure_level` gives vmpressure events.
    pub fn vmpressure_dir(&self) -> Option<PathBuf> {
        match self {
            Domain::System(s) => s.root_memcg.clone(),
            Domain::Memcg(m) => (!m.v2).then(|| m.path.clone()),
        }
    }

    /// A cgroup v2 memory domain's `memory.events` (`None` for the system and cgroup v1).
    pub fn memory_events_path(&self) -> Option<PathBuf> {
        match self {
            Domain::System(_) => None,
            Domain::Memcg(m) => m.v2.then(|| m.path.join("memory.events")),
        }
    }

    /// The memory cgroup v1 directory whose usage thresholds give the early warning of a
    /// memcg domain (`None` for the system domain and for cgroup v2).
    pub fn threshold_dir(&self) -> Option<&Path> {
        match self {
            Domain::System(_) => None,
            Domain::Memcg(m) => (!m.v2).then_some(m.path.as_path()),
        }
    }

    /// Reads a snapshot into `out`. Nothing is allocated.
    pub fn snapshot(&mut self, out: &mut Snapshot) -> Result<(), MemoryError> {
        match self {
            Domain::System(s) => {
                out.meminfo = s.meminfo.parse(parse::parse_meminfo)?;
                out.vmstat = s.vmstat.parse(parse::parse_vmstat)?;
                out.psi = match &mut s.psi {
                    Some(p) => p.parse(parse::parse_psi).unwrap_or_default(),
                    None => PsiAverages::default(),
                };
                out.memcg = false;
                Ok(())
            }
            Domain::Memcg(m) => m.snapshot(out),
        }
    }

    /// The watermarks (recomputed by the caller every 60 s).
    pub fn watermarks(&mut self) -> Result<Watermarks, MemoryError> {
        match self {
            Domain::System(s) => s.zoneinfo.parse(parse::parse_zoneinfo),
            Domain::Memcg(m) => {
                let limit_pages = m.limit_pages()?;
                Ok(memcg_watermarks(limit_pages))
            }
        }
    }

    /// The free-memory probe the reaper uses to tell how much a kill gave back.
    pub fn free_probe(&self) -> Arc<dyn FreeMemory> {
        match self {
            Domain::System(_) => Arc::new(MeminfoFree),
            Domain::Memcg(m) => {
                Arc::new(MemcgFree { limit: m.limit_path(), usage: m.usage_path() })
            }
        }
    }
}

/// Watermarks derived from a memory cgroup's limit, in pages.
pub fn memcg_watermarks(limit_pages: i64) -> Watermarks {
    Watermarks {
        min: limit_pages / 64,
        low: limit_pages * 3 / 128,
        high: limit_pages / 32,
        totalreserve: limit_pages / 32,
        zones: 1,
        nodes: 1,
        ..Watermarks::default()
    }
}

impl MemcgDomain {
    fn limit_path(&self) -> PathBuf {
        self.path.join(if self.v2 { "memory.max" } else { "memory.limit_in_bytes" })
    }

    fn usage_path(&self) -> PathBuf {
        self.path.join(if self.v2 { "memory.current" } else { "memory.usage_in_bytes" })
    }

    fn limit_kb(&mut self) -> Result<i64, MemoryError> {
        let limit = self.limit.number()?.map_or(i64::MAX, |b| b / 1024);
        Ok(limit.min(self.system_total_kb))
    }

    fn limit_pages(&mut self) -> Result<i64, MemoryError> {
        Ok(self.limit_kb()? / page_kb())
    }

    fn snapshot(&mut self, out: &mut Snapshot) -> Result<(), MemoryError> {
        let limit_kb = self.limit_kb()?;
        let usage_kb = self.usage.number()?.unwrap_or(0) / 1024;
        let st = self.stat.parse(parse::parse_memcg_stat)?;
        let kb = |b: i64| b / 1024;
        let (swap_total, swap_free) = match (&mut self.swap_limit, &mut self.swap_usage) {
            (Some(l), Some(u)) => {
                let (l, u) = (l.number()?, u.number()?.unwrap_or(0) / 1024);
                if self.v2 {
                    let total = l.map_or(0, |v| v / 1024);
                    (total, (total - u).max(0))
                } else {
                    // memsw counts memory + swap.
                    let total = l.map_or(0, |v| (v / 1024 - limit_kb).max(0));
                    (total, (total - (u - usage_kb).max(0)).max(0))
                }
            }
            _ => (0, 0),
        };
        let swap_total = swap_total.min(self.system_swap_kb);
        let swap_free = swap_free.min(swap_total);
        let m = &mut out.meminfo;
        *m = Meminfo::default();
        m.mem_total = limit_kb;
        m.mem_free = ((limit_kb - usage_kb).max(0) + kb(st.inactive_file)).min(limit_kb);
        m.mem_available = m.mem_free;
        m.cached = kb(st.file);
        m.active_file = kb(st.active_file);
        m.inactive_file = kb(st.inactive_file);
        m.active_anon = kb(st.active_anon);
        m.inactive_anon = kb(st.inactive_anon);
        m.shmem = kb(st.shmem);
        m.unevictable = kb(st.unevictable);
        m.swap_total = swap_total;
        m.swap_free = swap_free;
        let pk = page_kb();
        let v = &mut out.vmstat;
        *v = Vmstat::default();
        v.nr_free_pages = m.mem_free / pk;
        v.nr_inactive_file = m.inactive_file / pk;
        v.nr_active_file = m.active_file / pk;
        v.workingset_refault_file = st.workingset_refault_file;
        v.pgscan_direct = match (&mut self.failcnt, st.pgscan) {
            (_, Some(scan)) => scan,
            (Some(f), None) => f.number()?.unwrap_or(0),
            (None, None) => 0,
        };
        out.psi = match &mut self.psi {
            Some(p) => p.parse(parse::parse_psi).unwrap_or_default(),
            None => PsiAverages::default(),
        };
        out.memcg = true;
        Ok(())
    }
}

/// A source of "how much memory is free now", read by the kill pipeline and the reapers
/// before a kill and after the reap, to tell how much a kill gave back. Unlike a [`Domain`],
/// it can be shared with the reaper threads: each read opens its file afresh.
pub trait FreeMemory: Send + Sync {
    /// Free memory in kB, if it can be read.
    fn free_kb(&self) -> Option<i64>;
}

/// `MemFree` of `/proc/meminfo` (the system memory domain), read with the one meminfo parser.
#[derive(Debug, Default)]
pub struct MeminfoFree;

impl FreeMemory for MeminfoFree {
    fn free_kb(&self) -> Option<i64> {
        let mut buf = [0u8; 16 * 1024];
        let f = File::open("/proc/meminfo").ok()?;
        let mut len = 0;
        while len < buf.len() {
            match f.read_at(&mut buf[len..], len as u64) {
                Ok(0) => break,
                Ok(n) => len += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return None,
            }
        }
        parse::parse_meminfo(&buf[..len]).ok().map(|m| m.mem_free)
    }
}

/// Free memory of a memory cgroup: limit − usage, in kB.
#[derive(Debug)]
struct MemcgFree {
    limit: PathBuf,
    usage: PathBuf,
}

impl FreeMemory for MemcgFree {
    fn free_kb(&self) -> Option<i64> {
        let read = |p: &Path| -> Option<i64> {
            let mut buf = [0u8; 32];
            let f = File::open(p).ok()?;
            let n = f.read_at(&mut buf, 0).ok()?;
            let t = buf[..n].trim_ascii();
            if t == b"max" {
                return Some(i64::MAX / 1024);
            }
            std::str::from_utf8(t).ok()?.parse::<i64>().ok().map(|b| b / 1024)
        };
        Some((read(&self.limit)? - read(&self.usage)?).max(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_system_domain_reads_this_machine() {
        let mut d = Domain::system().unwrap();
        let mut s = Snapshot::default();
        d.snapshot(&mut s).unwrap();
        assert!(s.meminfo.mem_total > 0 && s.vmstat.nr_free_pages > 0);
        let w = d.watermarks().unwrap();
        assert!(w.min > 0 && w.high > w.min);
        assert_eq!(d.psi_path(), PathBuf::from(PROC_PSI_MEMORY));
    }

    #[test]
    fn memcg_watermarks_scale_with_the_limit() {
        let w = memcg_watermarks(262_144); // 1 GiB of 4 KiB pages
        assert_eq!((w.min, w.low, w.high), (4096, 6144, 8192));
    }

    /// An unlimited memsw limit (the v1 default) does not make the group's swap unbounded:
    /// it is capped at the system's `SwapTotal`.
    #[test]
    fn a_groups_swap_is_capped_at_the_systems() {
        let dir = std::env::temp_dir().join(format!("lmkd-memcg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let stat = include_bytes!("../../tests/fixtures/linux-6.18-host/memory.stat");
        for (name, value) in [
            ("memory.limit_in_bytes", &b"1073741824\n"[..]),
            ("memory.usage_in_bytes", b"536870912\n"),
            ("memory.memsw.limit_in_bytes", b"9223372036854771712\n"),
            ("memory.memsw.usage_in_bytes", b"536870912\n"),
            ("memory.stat", stat),
        ] {
            std::fs::write(dir.join(name), value).unwrap();
        }
        let mut d = Domain::memcg(&dir).unwrap();
        let mut s = Snapshot::default();
        d.snapshot(&mut s).unwrap();
        let system = parse::parse_meminfo(&std::fs::read("/proc/meminfo").unwrap()).unwrap();
        assert_eq!(s.meminfo.mem_total, 1 << 20);
        assert!(s.meminfo.swap_total <= system.swap_total, "{} kB", s.meminfo.swap_total);
        assert!(s.meminfo.swap_free <= s.meminfo.swap_total);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn kernel_files_grow_their_buffer() {
        let p = std::env::temp_dir().join(format!("lmkd-kf-{}", std::process::id()));
        std::fs::write(&p, "a\n").unwrap();
        let mut k = KernelFile::open("test", &p).unwrap();
        assert_eq!(k.read().unwrap(), b"a\n");
        let big = "x".repeat(20_000) + "\n";
        std::fs::write(&p, &big).unwrap();
        assert_eq!(k.read().unwrap().len(), big.len());
        std::fs::write(&p, "42\n").unwrap();
        assert_eq!(k.number().unwrap(), Some(42));
        std::fs::write(&p, "max\n").unwrap();
        assert_eq!(k.number().unwrap(), None);
        let _ = std::fs::remove_file(&p);
    }
}
