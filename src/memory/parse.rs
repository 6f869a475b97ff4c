//! Pure, allocation-free parsers for the kernel's memory files.
//!
//! Each parser takes the bytes of one whole file and fills a plain struct. Unknown lines are
//! skipped (every kernel adds some); a known line whose value does not parse, a missing
//! required field, or a file cut short (the kernel always ends these files with a newline) is a
//! [`ParseError`], never a panic. Values keep the kernel's units: kB for `meminfo`, pages for
//! `vmstat` and `zoneinfo`, bytes for `memory.stat`.

use std::fmt;

/// Why a file could not be parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// The file is empty or does not end with a newline (it was cut short).
    Truncated,
    /// A field the decision needs is missing.
    Missing(&'static str),
    /// A known field has a value that is not a number.
    Malformed(&'static str),
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::Truncated => write!(f, "file is empty or cut short"),
            ParseError::Missing(k) => write!(f, "field {k} is missing"),
            ParseError::Malformed(k) => write!(f, "field {k} is not a number"),
        }
    }
}

impl std::error::Error for ParseError {}

fn complete(buf: &[u8]) -> Result<(), ParseError> {
    if buf.last() == Some(&b'\n') {
        Ok(())
    } else {
        Err(ParseError::Truncated)
    }
}

/// The first whitespace-separated token of `s` as an unsigned number.
fn number(s: &[u8]) -> Option<u64> {
    let s = s.trim_ascii_start();
    let end = s.iter().position(|b| !b.is_ascii_digit()).unwrap_or(s.len());
    if end == 0 || end > 19 {
        return None;
    }
    let mut v: u64 = 0;
    for &b in &s[..end] {
        v = v.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    Some(v)
}

/// The largest value a parsed counter takes: larger numbers are clamped to it.
///
/// No kernel memory counter comes near it (2^52 kB is 4 EiB), and it leaves room above: sums of
/// counters ([`add`]) and the decision code's unit conversions and percentages cannot overflow
/// `i64`, whatever a corrupt or hostile file says.
pub const COUNTER_MAX: i64 = 1 << 52;

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX).min(COUNTER_MAX)
}

/// `a + b` for counters, clamped to [`COUNTER_MAX`] (and no lower than `-COUNTER_MAX`).
pub fn add(a: i64, b: i64) -> i64 {
    a.saturating_add(b).clamp(-COUNTER_MAX, COUNTER_MAX)
}

/// `/proc/meminfo`, in kB. Fields absent on a kernel stay 0.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Meminfo {
    /// `MemTotal`.
    pub mem_total: i64,
    /// `MemFree`.
    pub mem_free: i64,
    /// `MemAvailable` (absent before 3.14).
    pub mem_available: i64,
    /// `Buffers`.
    pub buffers: i64,
    /// `Cached`.
    pub cached: i64,
    /// `SwapCached`.
    pub swap_cached: i64,
    /// `Active(anon)`.
    pub active_anon: i64,
    /// `Inactive(anon)`.
    pub inactive_anon: i64,
    /// `Active(file)`.
    pub active_file: i64,
    /// `Inactive(file)`.
    pub inactive_file: i64,
    /// `Unevictable`.
    pub unevictable: i64,
    /// `SwapTotal`.
    pub swap_total: i64,
    /// `SwapFree`.
    pub swap_free: i64,
    /// `Shmem`.
    pub shmem: i64,
    /// `SReclaimable`.
    pub sreclaimable: i64,
    /// `SUnreclaim`.
    pub sunreclaim: i64,
    /// `KernelStack`.
    pub kernel_stack: i64,
    /// `PageTables`.
    pub page_tables: i64,
    /// `ION_heap` (Android vendor kernels).
    pub ion_heap: i64,
    /// `ION_heap_pool` (Android vendor kernels).
    pub ion_heap_pool: i64,
    /// `CmaFree`.
    pub cma_free: i64,
}

impl Meminfo {
    /// AOSP's file pages: Cached + SwapCached + Buffers.
    pub fn file_pages(&self) -> i64 {
        add(add(self.cached, self.swap_cached), self.buffers)
    }

    /// AOSP's easily available memory: MemFree + Inactive(file).
    pub fn easy_available(&self) -> i64 {
        add(self.mem_free, self.inactive_file)
    }
}

/// Parses `/proc/meminfo`. `MemTotal` and `MemFree` are required.
pub fn parse_meminfo(buf: &[u8]) -> Result<Meminfo, ParseError> {
    complete(buf)?;
    let mut m = Meminfo::default();
    let (mut total, mut free) = (false, false);
    for line in buf.split(|&b| b == b'\n') {
        let Some(colon) = line.iter().position(|&b| b == b':') else { continue };
        let (key, value) = (&line[..colon], &line[colon + 1..]);
        let field: (&'static str, &mut i64) = match key {
            b"MemTotal" => {
                total = true;
                ("MemTotal", &mut m.mem_total)
            }
            b"MemFree" => {
                free = true;
                ("MemFree", &mut m.mem_free)
            }
            b"MemAvailable" => ("MemAvailable", &mut m.mem_available),
            b"Buffers" => ("Buffers", &mut m.buffers),
            b"Cached" => ("Cached", &mut m.cached),
            b"SwapCached" => ("SwapCached", &mut m.swap_cached),
            b"Active(anon)" => ("Active(anon)", &mut m.active_anon),
            b"Inactive(anon)" => ("Inactive(anon)", &mut m.inactive_anon),
            b"Active(file)" => ("Active(file)", &mut m.active_file),
            b"Inactive(file)" => ("Inactive(file)", &mut m.inactive_file),
            b"Unevictable" => ("Unevictable", &mut m.unevictable),
            b"SwapTotal" => ("SwapTotal", &mut m.swap_total),
            b"SwapFree" => ("SwapFree", &mut m.swap_free),
            b"Shmem" => ("Shmem", &mut m.shmem),
            b"SReclaimable" => ("SReclaimable", &mut m.sreclaimable),
            b"SUnreclaim" => ("SUnreclaim", &mut m.sunreclaim),
            b"KernelStack" => ("KernelStack", &mut m.kernel_stack),
            b"PageTables" => ("PageTables", &mut m.page_tables),
            b"ION_heap" => ("ION_heap", &mut m.ion_heap),
            b"ION_heap_pool" => ("ION_heap_pool", &mut m.ion_heap_pool),
            b"CmaFree" => ("CmaFree", &mut m.cma_free),
            _ => continue,
        };
        *field.1 = to_i64(number(value).ok_or(ParseError::Malformed(field.0))?);
    }
    if !total {
        return Err(ParseError::Missing("MemTotal"));
    }
    if !free {
        return Err(ParseError::Missing("MemFree"));
    }
    Ok(m)
}

/// The `/proc/vmstat` counters the decision uses, in pages or events.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Vmstat {
    /// `nr_free_pages`.
    pub nr_free_pages: i64,
    /// `nr_inactive_file`.
    pub nr_inactive_file: i64,
    /// `nr_active_file`.
    pub nr_active_file: i64,
    /// `workingset_refault_file` (5.9+), or `workingset_refault` on older kernels.
    pub workingset_refault_file: i64,
    /// `pgscan_kswapd` (summed over the per-zone `pgscan_kswapd_*` of old kernels).
    pub pgscan_kswapd: i64,
    /// `pgscan_direct` (summed over `pgscan_direct_*` of old kernels, without `_throttle`).
    pub pgscan_direct: i64,
    /// `pgscan_direct_throttle`.
    pub pgscan_direct_throttle: i64,
    /// `pgrefill` (summed over `pgrefill_*` of old kernels).
    pub pgrefill: i64,
    /// `oom_kill`: kernel OOM kills since boot (4.13+).
    pub oom_kill: i64,
}

/// Parses `/proc/vmstat`. `nr_free_pages` is required.
pub fn parse_vmstat(buf: &[u8]) -> Result<Vmstat, ParseError> {
    complete(buf)?;
    let mut v = Vmstat::default();
    let mut free = false;
    let (mut refault_file, mut refault_old) = (None, None);
    let (mut kswapd, mut kswapd_zones) = (None, 0i64);
    let (mut direct, mut direct_zones) = (None, 0i64);
    let (mut refill, mut refill_zones) = (None, 0i64);
    for line in buf.split(|&b| b == b'\n') {
        let Some(sp) = line.iter().position(|&b| b == b' ') else { continue };
        let (key, value) = (&line[..sp], &line[sp + 1..]);
        let get = |name: &'static str| number(value).map(to_i64).ok_or(ParseError::Malformed(name));
        match key {
            b"nr_free_pages" => {
                v.nr_free_pages = get("nr_free_pages")?;
                free = true;
            }
            b"nr_inactive_file" => v.nr_inactive_file = get("nr_inactive_file")?,
            b"nr_active_file" => v.nr_active_file = get("nr_active_file")?,
            b"workingset_refault_file" => refault_file = Some(get("workingset_refault_file")?),
            b"workingset_refault" => refault_old = Some(get("workingset_refault")?),
            b"pgscan_kswapd" => kswapd = Some(get("pgscan_kswapd")?),
            b"pgscan_direct" => direct = Some(get("pgscan_direct")?),
            b"pgscan_direct_throttle" => v.pgscan_direct_throttle = get("pgscan_direct_throttle")?,
            b"pgrefill" => refill = Some(get("pgrefill")?),
            b"oom_kill" => v.oom_kill = get("oom_kill")?,
            k if k.starts_with(b"pgscan_kswapd_") => {
                kswapd_zones = add(kswapd_zones, get("pgscan_kswapd_*")?)
            }
            k if k.starts_with(b"pgscan_direct_") => {
                direct_zones = add(direct_zones, get("pgscan_direct_*")?)
            }
            k if k.starts_with(b"pgrefill_") => {
                refill_zones = add(refill_zones, get("pgrefill_*")?)
            }
            _ => {}
        }
    }
    if !free {
        return Err(ParseError::Missing("nr_free_pages"));
    }
    v.workingset_refault_file = refault_file.or(refault_old).unwrap_or(0);
    v.pgscan_kswapd = kswapd.unwrap_or(kswapd_zones);
    v.pgscan_direct = direct.unwrap_or(direct_zones);
    v.pgrefill = refill.unwrap_or(refill_zones);
    Ok(v)
}

/// Watermarks summed over all populated zones, as AOSP computes them, in pages.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Watermarks {
    /// Σ (max protection + min).
    pub min: i64,
    /// Σ (max protection + low).
    pub low: i64,
    /// Σ (max protection + high).
    pub high: i64,
    /// Σ (max protection + high): the kernel's `totalreserve_pages`, for minfree mode.
    pub totalreserve: i64,
    /// Σ free pages of the populated zones.
    pub free: i64,
    /// Σ `nr_free_cma`.
    pub free_cma: i64,
    /// Σ file LRU (`nr_inactive_file` + `nr_active_file`) over nodes (or zones before 4.8).
    pub file_lru: i64,
    /// Populated zones seen.
    pub zones: u32,
    /// Nodes seen.
    pub nodes: u32,
}

/// Parses `/proc/zoneinfo` (any number of nodes and zones; the pre-4.8 per-zone layout and the
/// 4.8+ per-node layout). Per zone: `pages free`, `min`, `low`, `high`, `present`,
/// `protection: (…)` and `nr_free_cma`; per node: the file LRU. Zones with `present 0` do
/// not count. Lines after `pagesets` belong to the per-CPU sets and are skipped.
pub fn parse_zoneinfo(buf: &[u8]) -> Result<Watermarks, ParseError> {
    complete(buf)?;
    #[derive(Default)]
    struct Zone {
        free: i64,
        min: i64,
        low: i64,
        high: i64,
        present: i64,
        max_protection: i64,
        free_cma: i64,
        file_lru: i64,
    }
    let mut w = Watermarks::default();
    let mut zone: Option<Zone> = None;
    let mut in_pagesets = false;
    let mut node_stats = false;
    let mut node_file = 0i64;
    let mut last_node: Option<&[u8]> = None;
    let mut saw_zone = false;
    let finish = |z: Zone, w: &mut Watermarks| {
        if z.present > 0 {
            w.min = add(w.min, add(z.max_protection, z.min));
            w.low = add(w.low, add(z.max_protection, z.low));
            w.high = add(w.high, add(z.max_protection, z.high));
            w.totalreserve = add(w.totalreserve, add(z.max_protection, z.high));
            w.free = add(w.free, z.free);
            w.free_cma = add(w.free_cma, z.free_cma);
            w.zones += 1;
        }
        w.file_lru = add(w.file_lru, z.file_lru);
    };
    for line in buf.split(|&b| b == b'\n') {
        let t = line.trim_ascii();
        if let Some(rest) = t.strip_prefix(b"Node ") {
            if let Some(z) = zone.take() {
                finish(z, &mut w);
            }
            let node = rest.split(|&b| b == b',').next();
            if node != last_node {
                w.nodes += 1;
                last_node = node;
            }
            zone = Some(Zone::default());
            saw_zone = true;
            in_pagesets = false;
            node_stats = false;
            continue;
        }
        let Some(z) = zone.as_mut() else { continue };
        if t == b"pagesets" {
            in_pagesets = true;
            continue;
        }
        if t == b"per-node stats" {
            node_stats = true;
            continue;
        }
        if in_pagesets {
            continue;
        }
        if let Some(rest) = t.strip_prefix(b"protection:") {
            let inner = rest.trim_ascii().trim_ascii_start();
            let inner = inner.strip_prefix(b"(").unwrap_or(inner);
            let inner = inner.strip_suffix(b")").unwrap_or(inner);
            for part in inner.split(|&b| b == b',') {
                let p = number(part).ok_or(ParseError::Malformed("protection"))?;
                z.max_protection = z.max_protection.max(to_i64(p));
            }
            continue;
        }
        if let Some(rest) = t.strip_prefix(b"pages free") {
            node_stats = false;
            z.free = to_i64(number(rest).ok_or(ParseError::Malformed("pages free"))?);
            continue;
        }
        // "key value" lines; a line that is only a number (seen on RHEL 8.0) is skipped.
        let mut parts = t.splitn(2, |&b| b == b' ');
        let (Some(key), Some(value)) = (parts.next(), parts.next()) else { continue };
        let get = |name: &'static str| number(value).map(to_i64).ok_or(ParseError::Malformed(name));
        match key {
            b"min" if !node_stats => z.min = get("min")?,
            b"low" if !node_stats => z.low = get("low")?,
            b"high" if !node_stats => z.high = get("high")?,
            b"present" if !node_stats => z.present = get("present")?,
            b"nr_free_cma" => z.free_cma = get("nr_free_cma")?,
            b"nr_inactive_file" | b"nr_active_file" => {
                let v = get("nr_*_file")?;
                if node_stats {
                    node_file = add(node_file, v);
                } else {
                    z.file_lru = add(z.file_lru, v);
                }
            }
            _ => {}
        }
    }
    if let Some(z) = zone.take() {
        finish(z, &mut w);
    }
    if !saw_zone {
        return Err(ParseError::Missing("zones"));
    }
    // From 4.8 the file LRU is per node; before, per zone. Prefer the node sums when present.
    if node_file > 0 {
        w.file_lru = node_file;
    }
    Ok(w)
}

/// One line of a PSI file, averages in hundredths of a percent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PsiLine {
    /// avg10 × 100.
    pub avg10: u32,
    /// avg60 × 100.
    pub avg60: u32,
    /// avg300 × 100.
    pub avg300: u32,
    /// Total stall time in µs.
    pub total: u64,
}

/// A PSI file (`/proc/pressure/*`, cgroup v2 `*.pressure`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PsiAverages {
    /// Some tasks stalled.
    pub some: PsiLine,
    /// All non-idle tasks stalled (absent for CPU on old kernels: zero).
    pub full: PsiLine,
}

fn hundredths(s: &[u8]) -> Option<u32> {
    let (int, frac) = match s.iter().position(|&b| b == b'.') {
        Some(dot) => (&s[..dot], &s[dot + 1..]),
        None => (s, &b""[..]),
    };
    let i = u32::try_from(number(int)?).ok()?;
    if !frac.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let f = match frac.len() {
        0 => 0,
        1 => u32::from(frac[0] - b'0') * 10,
        _ => u32::from(frac[0] - b'0') * 10 + u32::from(frac[1] - b'0'),
    };
    i.checked_mul(100)?.checked_add(f)
}

fn parse_psi_line(rest: &[u8]) -> Result<PsiLine, ParseError> {
    let mut l = PsiLine::default();
    let mut seen = 0;
    for tok in rest.split(|&b| b == b' ').filter(|t| !t.is_empty()) {
        let Some(eq) = tok.iter().position(|&b| b == b'=') else { continue };
        let (k, v) = (&tok[..eq], &tok[eq + 1..]);
        let bad = ParseError::Malformed("psi");
        match k {
            b"avg10" => l.avg10 = hundredths(v).ok_or(bad)?,
            b"avg60" => l.avg60 = hundredths(v).ok_or(bad)?,
            b"avg300" => l.avg300 = hundredths(v).ok_or(bad)?,
            b"total" => l.total = number(v).ok_or(bad)?,
            _ => continue,
        }
        seen += 1;
    }
    if seen < 4 {
        return Err(ParseError::Missing("psi averages"));
    }
    Ok(l)
}

/// Parses a PSI file; the `some` line is required, `full` is optional.
pub fn parse_psi(buf: &[u8]) -> Result<PsiAverages, ParseError> {
    complete(buf)?;
    let mut p = PsiAverages::default();
    let mut some = false;
    for line in buf.split(|&b| b == b'\n') {
        if let Some(rest) = line.strip_prefix(b"some ") {
            p.some = parse_psi_line(rest)?;
            some = true;
        } else if let Some(rest) = line.strip_prefix(b"full ") {
            p.full = parse_psi_line(rest)?;
        }
    }
    if !some {
        return Err(ParseError::Missing("some"));
    }
    Ok(p)
}

/// The fields of a memory cgroup's `memory.stat` the memcg domain uses, in bytes (hierarchical
/// `total_*` values on cgroup v1, the plain names on cgroup v2).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemcgStat {
    /// Anonymous memory (`total_rss` / `anon`).
    pub anon: i64,
    /// Page cache (`total_cache` / `file`).
    pub file: i64,
    /// `total_inactive_file` / `inactive_file`.
    pub inactive_file: i64,
    /// `total_active_file` / `active_file`.
    pub active_file: i64,
    /// `total_inactive_anon` / `inactive_anon`.
    pub inactive_anon: i64,
    /// `total_active_anon` / `active_anon`.
    pub active_anon: i64,
    /// `total_shmem` / `shmem`.
    pub shmem: i64,
    /// `total_unevictable` / `unevictable`.
    pub unevictable: i64,
    /// `total_swap` (v1 only) in bytes.
    pub swap: i64,
    /// File refaults, in pages (`total_workingset_refault_file`, or `workingset_refault_file`,
    /// or the older `workingset_refault`).
    pub workingset_refault_file: i64,
    /// `pgscan` (v2 only; v1 has no reclaim scan counter).
    pub pgscan: Option<i64>,
}

/// Parses a memory cgroup's `memory.stat` (v1 or v2).
pub fn parse_memcg_stat(buf: &[u8]) -> Result<MemcgStat, ParseError> {
    complete(buf)?;
    let mut s = MemcgStat::default();
    let mut v1 = false;
    let mut seen = false;
    let mut refault_total = None;
    let mut refault_plain = None;
    for line in buf.split(|&b| b == b'\n') {
        let Some(sp) = line.iter().position(|&b| b == b' ') else { continue };
        let (key, value) = (&line[..sp], &line[sp + 1..]);
        let val = || number(value).map(to_i64).ok_or(ParseError::Malformed("memory.stat"));
        let (v1_key, name) = match key.strip_prefix(b"total_") {
            Some(rest) => (true, rest),
            None => (false, key),
        };
        let slot: Option<&mut i64> = match name {
            b"rss" | b"anon" => Some(&mut s.anon),
            b"cache" | b"file" => Some(&mut s.file),
            b"inactive_file" => Some(&mut s.inactive_file),
            b"active_file" => Some(&mut s.active_file),
            b"inactive_anon" => Some(&mut s.inactive_anon),
            b"active_anon" => Some(&mut s.active_anon),
            b"shmem" => Some(&mut s.shmem),
            b"unevictable" => Some(&mut s.unevictable),
            b"swap" => Some(&mut s.swap),
            _ => None,
        };
        match (name, v1_key) {
            (b"workingset_refault_file" | b"workingset_refault", true) => {
                refault_total = Some(add(refault_total.unwrap_or(0), val()?))
            }
            (b"workingset_refault_file" | b"workingset_refault", false) => {
                refault_plain = Some(refault_plain.unwrap_or(0).max(val()?))
            }
            (b"pgscan", false) => s.pgscan = Some(val()?),
            _ => {}
        }
        if let Some(slot) = slot {
            seen = true;
            // v1 has both the group's own values and the hierarchical totals: the totals win.
            if v1_key {
                v1 = true;
                *slot = val()?;
            } else if !v1 {
                *slot = val()?;
            }
        }
    }
    if !seen {
        return Err(ParseError::Missing("memory.stat fields"));
    }
    s.workingset_refault_file = refault_total.or(refault_plain).unwrap_or(0);
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    macro_rules! fixture {
        ($dir:literal, $file:literal) => {
            include_bytes!(concat!("../../tests/fixtures/", $dir, "/", $file))
        };
    }

    #[test]
    fn meminfo_of_every_capture() {
        let host = parse_meminfo(fixture!("linux-6.18-host", "meminfo")).unwrap();
        assert!(host.mem_total > 20_000_000 && host.mem_free > 0);
        assert_eq!(host.swap_total, 0);
        let pixel = parse_meminfo(fixture!("android-pixel8pro-husky-zuma", "meminfo")).unwrap();
        assert_eq!(pixel.swap_total, 5_925_320);
        assert!(pixel.ion_heap_pool >= 0 && pixel.cma_free == 0);
        let op9 = parse_meminfo(fixture!("android-oneplus9-sm8350-5.4", "meminfo")).unwrap();
        assert_eq!((op9.swap_total, op9.cma_free), (4_194_300, 200));
        let old =
            parse_meminfo(fixture!("android-goclever-insignia5-mt6589-3.4", "meminfo")).unwrap();
        assert_eq!(old.mem_available, 0, "no MemAvailable on 3.4");
        for m in [
            parse_meminfo(fixture!("linux-4.18-rhcos-sosreport", "meminfo")).unwrap(),
            parse_meminfo(fixture!("linux-6.5to6.7-ncollectd-x86", "meminfo")).unwrap(),
        ] {
            assert!(m.mem_total > m.mem_free && m.file_pages() > 0);
            assert_eq!(m.easy_available(), m.mem_free + m.inactive_file);
        }
    }

    #[test]
    fn vmstat_old_and_new_refault_counters() {
        let new = parse_vmstat(fixture!("linux-6.18-host", "vmstat")).unwrap();
        assert!(new.workingset_refault_file > 0 && new.nr_free_pages > 0);
        let rhel = parse_vmstat(fixture!("linux-4.18-rhcos-sosreport", "vmstat")).unwrap();
        assert_eq!(rhel.workingset_refault_file, 0, "4.18 has only workingset_refault (0 there)");
        let renamed = parse_vmstat(b"nr_free_pages 1\nworkingset_refault 42\n").unwrap();
        assert_eq!(
            renamed.workingset_refault_file, 42,
            "the pre-5.9 name is used when the new one is absent"
        );
        let both = parse_vmstat(
            b"nr_free_pages 1\nworkingset_refault_anon 5\nworkingset_refault_file 7\n",
        )
        .unwrap();
        assert_eq!(both.workingset_refault_file, 7);
        let old =
            parse_vmstat(fixture!("android-goclever-insignia5-mt6589-3.4", "vmstat")).unwrap();
        assert_eq!(old.workingset_refault_file, 0);
        // Kernels before 4.8 count scans per zone: summed.
        let zoned = parse_vmstat(b"nr_free_pages 5\npgscan_kswapd_normal 3\npgscan_kswapd_high 4\npgscan_direct_normal 1\npgscan_direct_throttle 9\npgrefill_dma 2\n").unwrap();
        assert_eq!(
            (
                zoned.pgscan_kswapd,
                zoned.pgscan_direct,
                zoned.pgscan_direct_throttle,
                zoned.pgrefill
            ),
            (7, 1, 9, 2)
        );
        parse_vmstat(fixture!("linux-6.5to6.7-ncollectd-x86", "vmstat")).unwrap();
    }

    #[test]
    fn zoneinfo_layouts() {
        let host = parse_zoneinfo(fixture!("linux-6.18-host", "zoneinfo")).unwrap();
        assert_eq!(host.nodes, 1);
        assert!(host.zones >= 3 && host.min > 0 && host.min < host.low && host.low < host.high);
        assert!(host.file_lru > 0 && host.free > 0);
        let numa2 = parse_zoneinfo(fixture!("linux-6.6-rc1-next-numa2-vm", "zoneinfo")).unwrap();
        assert_eq!(numa2.nodes, 2);
        let numa4 = parse_zoneinfo(fixture!("linux-pre4.8-ncollectd-numa4", "zoneinfo")).unwrap();
        assert_eq!(numa4.nodes, 4);
        assert!(numa4.file_lru > 0, "per-zone file LRU before 4.8");
        let rhel = parse_zoneinfo(fixture!("linux-4.18-rhcos-sosreport", "zoneinfo")).unwrap();
        assert!(rhel.high > 0, "the nameless line is tolerated");
        let old =
            parse_zoneinfo(fixture!("android-goclever-insignia5-mt6589-3.4", "zoneinfo")).unwrap();
        assert_eq!(old.nodes, 1);
        assert!(old.zones == 2 && old.high > old.low);
    }

    #[test]
    fn zoneinfo_sums_protection_and_skips_empty_zones() {
        let z = b"Node 0, zone   Normal
  pages free     1000
        min      10
        low      20
        high     30
        spanned  5000
        present  4000
        managed  3900
        protection: (0, 5, 7)
      nr_free_cma  3
  pagesets
    cpu: 0
              count: 99
              high:  999
Node 0, zone  Movable
  pages free     0
        min      32
        low      32
        high     32
        spanned  0
        present  0
        managed  0
        protection: (0, 0, 0)
";
        let w = parse_zoneinfo(z).unwrap();
        assert_eq!((w.min, w.low, w.high, w.totalreserve), (17, 27, 37, 37));
        assert_eq!((w.free, w.free_cma, w.zones, w.nodes), (1000, 3, 1, 1));
    }

    #[test]
    fn psi_files() {
        let p = parse_psi(fixture!("linux-6.18-host", "pressure-memory")).unwrap();
        assert_eq!(p.some.total, 28_298_858);
        let p = parse_psi(b"some avg10=12.34 avg60=0.50 avg300=100.00 total=7\nfull avg10=0.01 avg60=0.00 avg300=0.00 total=1\n").unwrap();
        assert_eq!((p.some.avg10, p.some.avg60, p.some.avg300, p.some.total), (1234, 50, 10000, 7));
        assert_eq!(p.full.avg10, 1);
        let irq = parse_psi(b"some avg10=1.00 avg60=0.00 avg300=0.00 total=5\n").unwrap();
        assert_eq!(irq.full, PsiLine::default());
        assert!(
            parse_psi(fixture!("linux-6.5to6.7-ncollectd-x86", "pressure-irq")).is_err(),
            "irq has only full"
        );
        parse_psi(fixture!("linux-6.5to6.7-ncollectd-x86", "pressure-cpu")).unwrap();
    }

    #[test]
    fn memcg_stat_v1_and_v2() {
        let v1 = parse_memcg_stat(fixture!("linux-6.18-host", "memory.stat")).unwrap();
        assert_eq!(v1.inactive_file, 224_763_904, "hierarchical totals win");
        assert_eq!(v1.workingset_refault_file, 16_573_918);
        assert_eq!(v1.pgscan, None);
        let v2 = parse_memcg_stat(b"anon 100\nfile 200\ninactive_file 150\nactive_file 50\nworkingset_refault_file 9\npgscan 4\n").unwrap();
        assert_eq!(
            (v2.anon, v2.file, v2.inactive_file, v2.workingset_refault_file, v2.pgscan),
            (100, 200, 150, 9, Some(4))
        );
    }

    #[test]
    fn qemu_debian_bullseye_5_10() {
        let m = parse_meminfo(fixture!("linux-5.10-debian-bullseye-qemu", "meminfo")).unwrap();
        assert_eq!((m.mem_total, m.mem_free, m.mem_available), (987_452, 864_100, 810_936));
        assert_eq!((m.inactive_file, m.shmem, m.swap_total, m.cma_free), (27_884, 71_876, 0, 0));
        let v = parse_vmstat(fixture!("linux-5.10-debian-bullseye-qemu", "vmstat")).unwrap();
        assert_eq!((v.nr_free_pages, v.nr_inactive_file, v.nr_active_file), (216_025, 6_971, 109));
        assert_eq!(v.workingset_refault_file, 19_675);
        // All reclaim was memcg limit reclaim: only pgscan_file counts it, not these.
        assert_eq!((v.pgscan_kswapd, v.pgscan_direct, v.pgrefill, v.oom_kill), (0, 0, 0, 0));
        let z = parse_zoneinfo(fixture!("linux-5.10-debian-bullseye-qemu", "zoneinfo")).unwrap();
        // DMA (protection 940, min 183) and DMA32 (min 11080) are populated; Normal is empty.
        assert_eq!((z.nodes, z.zones), (1, 2));
        assert_eq!((z.min, z.low, z.high, z.totalreserve), (12_203, 15_018, 17_833, 17_833));
        assert_eq!((z.free, z.free_cma, z.file_lru), (216_025, 0, 7_080));
        let p = parse_psi(fixture!("linux-5.10-debian-bullseye-qemu", "pressure-memory")).unwrap();
        assert_eq!((p.some.avg10, p.some.avg60, p.some.total), (101, 34, 282_625));
        assert_eq!((p.full.avg10, p.full.total), (16, 69_102));
        let cpu = parse_psi(fixture!("linux-5.10-debian-bullseye-qemu", "pressure-cpu")).unwrap();
        assert_eq!(cpu.some.avg10, 974);
        assert_eq!(cpu.full, PsiLine::default(), "no cpu full line before 5.13");
        let io = parse_psi(fixture!("linux-5.10-debian-bullseye-qemu", "pressure-io")).unwrap();
        assert_eq!((io.some.avg10, io.full.avg10), (255, 196));
        let v1 =
            parse_memcg_stat(fixture!("linux-5.10-debian-bullseye-qemu", "memory.stat")).unwrap();
        assert_eq!((v1.anon, v1.file, v1.shmem), (0, 33_116_160, 4_190_208));
        assert_eq!((v1.inactive_file, v1.active_file), (28_364_800, 229_376));
        assert_eq!(v1.workingset_refault_file, 0, "5.10 v1 memory.stat has no workingset_*");
        assert_eq!(v1.pgscan, None);
        let v2 = parse_memcg_stat(fixture!("linux-5.10-debian-bullseye-qemu", "memory.stat.v2"))
            .unwrap();
        assert_eq!((v2.anon, v2.file, v2.inactive_file), (0, 33_116_160, 28_364_800));
        assert_eq!((v2.workingset_refault_file, v2.pgscan), (19_635, Some(36_375)));
        let cg = parse_psi(fixture!("linux-5.10-debian-bullseye-qemu", "memcg-pressure-memory"))
            .unwrap();
        assert_eq!((cg.some.avg10, cg.some.total, cg.full.avg10), (136, 419_049, 27));
    }

    #[test]
    fn qemu_ubuntu_jammy_5_15() {
        let m = parse_meminfo(fixture!("linux-5.15-ubuntu-jammy-qemu", "meminfo")).unwrap();
        assert_eq!((m.mem_total, m.mem_free, m.mem_available), (979_044, 843_124, 792_264));
        assert_eq!((m.inactive_file, m.shmem, m.swap_total), (27_860, 71_600, 0));
        let v = parse_vmstat(fixture!("linux-5.15-ubuntu-jammy-qemu", "vmstat")).unwrap();
        assert_eq!((v.nr_free_pages, v.nr_inactive_file, v.nr_active_file), (210_781, 6_965, 118));
        assert_eq!(v.workingset_refault_file, 19_587);
        assert_eq!((v.pgscan_kswapd, v.pgscan_direct, v.pgrefill, v.oom_kill), (0, 0, 0, 0));
        let z = parse_zoneinfo(fixture!("linux-5.15-ubuntu-jammy-qemu", "zoneinfo")).unwrap();
        assert_eq!((z.nodes, z.zones), (1, 2));
        assert_eq!((z.min, z.low, z.high, z.totalreserve), (12_194, 15_009, 17_824, 17_824));
        assert_eq!((z.free, z.free_cma, z.file_lru), (210_781, 0, 7_083));
        let p = parse_psi(fixture!("linux-5.15-ubuntu-jammy-qemu", "pressure-memory")).unwrap();
        assert_eq!((p.some.avg10, p.some.avg300, p.some.total), (156, 15, 529_934));
        assert_eq!((p.full.avg10, p.full.total), (146, 506_531));
        let cpu = parse_psi(fixture!("linux-5.15-ubuntu-jammy-qemu", "pressure-cpu")).unwrap();
        assert_eq!((cpu.some.avg10, cpu.some.total), (590, 2_309_223));
        assert_eq!(cpu.full, PsiLine::default(), "cpu full line present, all zero");
        let io = parse_psi(fixture!("linux-5.15-ubuntu-jammy-qemu", "pressure-io")).unwrap();
        assert_eq!((io.some.avg10, io.full.avg10), (311, 284));
        let v1 = parse_memcg_stat(fixture!("linux-5.15-ubuntu-jammy-qemu", "memory.stat")).unwrap();
        assert_eq!((v1.anon, v1.file, v1.shmem), (49_152, 33_198_080, 4_194_304));
        assert_eq!((v1.inactive_file, v1.active_file), (28_528_640, 475_136));
        assert_eq!((v1.inactive_anon, v1.active_anon), (4_239_360, 4_096));
        assert_eq!(v1.workingset_refault_file, 0, "5.15 v1 memory.stat has no workingset_*");
        let v2 =
            parse_memcg_stat(fixture!("linux-5.15-ubuntu-jammy-qemu", "memory.stat.v2")).unwrap();
        assert_eq!((v2.anon, v2.file, v2.inactive_file), (53_248, 33_038_336, 28_360_704));
        assert_eq!((v2.workingset_refault_file, v2.pgscan), (19_619, Some(29_509)));
        let cg =
            parse_psi(fixture!("linux-5.15-ubuntu-jammy-qemu", "memcg-pressure-memory")).unwrap();
        assert_eq!((cg.some.avg10, cg.some.total), (248, 565_530));
        assert_eq!(cg.full, cg.some);
    }

    #[test]
    fn qemu_debian_bookworm_6_1() {
        let m = parse_meminfo(fixture!("linux-6.1-debian-bookworm-qemu", "meminfo")).unwrap();
        assert_eq!((m.mem_total, m.mem_free, m.mem_available), (981_476, 846_820, 794_648));
        assert_eq!((m.inactive_file, m.shmem, m.swap_total), (27_884, 71_892, 0));
        let v = parse_vmstat(fixture!("linux-6.1-debian-bookworm-qemu", "vmstat")).unwrap();
        assert_eq!((v.nr_free_pages, v.nr_inactive_file, v.nr_active_file), (211_705, 6_971, 118));
        assert_eq!(v.workingset_refault_file, 20_259);
        assert_eq!((v.pgscan_kswapd, v.pgscan_direct, v.pgrefill, v.oom_kill), (0, 0, 0, 0));
        let z = parse_zoneinfo(fixture!("linux-6.1-debian-bookworm-qemu", "zoneinfo")).unwrap();
        // `boost` and `cma` lines are skipped; DMA protection 934 is added to DMA's marks.
        assert_eq!((z.nodes, z.zones), (1, 2));
        assert_eq!((z.min, z.low, z.high, z.totalreserve), (12_197, 15_012, 17_827, 17_827));
        assert_eq!((z.free, z.free_cma, z.file_lru), (211_642, 0, 7_089));
        let p = parse_psi(fixture!("linux-6.1-debian-bookworm-qemu", "pressure-memory")).unwrap();
        assert_eq!((p.some.avg10, p.some.avg60, p.some.total), (123, 49, 423_322));
        assert_eq!((p.full.avg10, p.full.total), (110, 365_079));
        let cpu = parse_psi(fixture!("linux-6.1-debian-bookworm-qemu", "pressure-cpu")).unwrap();
        assert_eq!((cpu.some.avg10, cpu.some.total, cpu.full.total), (468, 2_473_792, 0));
        let io = parse_psi(fixture!("linux-6.1-debian-bookworm-qemu", "pressure-io")).unwrap();
        assert_eq!((io.some.avg10, io.full.avg10), (243, 205));
        let v1 =
            parse_memcg_stat(fixture!("linux-6.1-debian-bookworm-qemu", "memory.stat")).unwrap();
        assert_eq!((v1.anon, v1.file, v1.shmem), (49_152, 33_222_656, 4_194_304));
        assert_eq!((v1.inactive_file, v1.active_file), (28_553_216, 475_136));
        assert_eq!(v1.workingset_refault_file, 20_259, "v1 gained workingset_refault_file");
        assert_eq!(v1.pgscan, None);
        let v2 =
            parse_memcg_stat(fixture!("linux-6.1-debian-bookworm-qemu", "memory.stat.v2")).unwrap();
        assert_eq!((v2.anon, v2.file, v2.inactive_file), (49_152, 33_251_328, 28_766_208));
        assert_eq!(v2.active_file, 290_816);
        assert_eq!(
            (v2.workingset_refault_file, v2.pgscan),
            (19_234, Some(28_020)),
            "pgscan, not pgscan_kswapd/pgscan_direct"
        );
        let cg =
            parse_psi(fixture!("linux-6.1-debian-bookworm-qemu", "memcg-pressure-memory")).unwrap();
        assert_eq!((cg.some.avg10, cg.some.total), (212, 694_707));
        assert_eq!(cg.full, cg.some);
    }

    #[test]
    fn bad_files_are_errors() {
        assert_eq!(parse_meminfo(b""), Err(ParseError::Truncated));
        assert_eq!(parse_meminfo(b"MemTotal: 100 kB\nMemFree: 5"), Err(ParseError::Truncated));
        assert_eq!(parse_meminfo(b"MemTotal: 100 kB\n"), Err(ParseError::Missing("MemFree")));
        assert_eq!(
            parse_meminfo(b"MemTotal: x kB\nMemFree: 1 kB\n"),
            Err(ParseError::Malformed("MemTotal"))
        );
        assert_eq!(
            parse_vmstat(b"nr_free_pages abc\n"),
            Err(ParseError::Malformed("nr_free_pages"))
        );
        assert_eq!(parse_vmstat(b"pgfault 1\n"), Err(ParseError::Missing("nr_free_pages")));
        assert_eq!(parse_zoneinfo(b"nothing\n"), Err(ParseError::Missing("zones")));
        assert!(parse_zoneinfo(b"Node 0, zone DMA\n  protection: (a, b)\n").is_err());
        assert!(parse_psi(b"some avg10=x avg60=0 avg300=0 total=0\n").is_err());
        assert!(parse_memcg_stat(b"nothing 1\n").is_err());
        // A file cut anywhere is an error or a smaller value, never a panic.
        let full: &[u8] = include_bytes!("../../tests/fixtures/linux-6.18-host/zoneinfo");
        for cut in (0..full.len()).step_by(97) {
            let _ = parse_zoneinfo(&full[..cut]);
            let _ = parse_meminfo(&full[..cut]);
            let _ = parse_vmstat(&full[..cut]);
            let _ = parse_psi(&full[..cut]);
            let _ = parse_memcg_stat(&full[..cut]);
        }
    }
}
