//! Configuration: every property AOSP lmkd reads, parsed once into an immutable [`Config`].
//!
//! Precedence is AOSP's `GET_LMK_PROPERTY`: `persist.device_config.lmkd_native.<name>` (a
//! DeviceConfig experiment) over `ro.lmk.<name>` over the default. `ro.config.low_ram`,
//! `ro.config.per_app_memcg` and `ro.lmk.log_stats` are plain reads without the override.
//! Defaults, low-RAM variants and clamping are AOSP's. A value that does not parse is logged
//! and the next source in the chain is used, as libcutils' `property_get_*` does.
//!
//! `LMK_UPDATE_PROPS` re-reads the source and swaps the whole `Config`; nothing holds a
//! reference into the old one.

mod source;

pub use source::{FileProperties, PropertySource};

#[cfg(aosp_build)]
pub use source::AndroidProperties;

use log::warn;

/// Prefix of the DeviceConfig overrides.
pub const DEVICE_CONFIG_PREFIX: &str = "persist.device_config.lmkd_native.";
/// Prefix of the read-only configuration.
pub const RO_PREFIX: &str = "ro.lmk.";

/// The configuration in force. Field docs name the property (`ro.lmk.<field>` unless noted).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// `ro.lmk.low`: min adj at the low level (old strategy); 1001 disables it.
    pub level_low: i32,
    /// `ro.lmk.medium`: min adj at the medium level (old strategy).
    pub level_medium: i32,
    /// `ro.lmk.critical`: min adj at the critical level (old strategy).
    pub level_critical: i32,
    /// Verbose logs, including the reaper's `Process N was reaped in Nms`.
    pub debug: bool,
    /// Upgrade the level when swapping heavily (old strategy).
    pub critical_upgrade: bool,
    /// Memory pressure (%) below which the level is upgraded (old strategy).
    pub upgrade_pressure: i64,
    /// Memory pressure (%) above which events are ignored (old strategy).
    pub downgrade_pressure: i64,
    /// Kill the largest process of a level instead of the least recently updated one.
    pub kill_heaviest_task: bool,
    /// `ro.config.low_ram` (plain read).
    pub low_ram: bool,
    /// How long to wait for the previous victim to die before killing again; 0 waits for death.
    pub kill_timeout_ms: i64,
    /// Min adj for `PRESSURE_AFTER_KILL`.
    pub pressure_after_kill_min_score: i32,
    /// Use ActivityManager's minfree table (`LMK_TARGET`) against free memory (old strategy).
    pub use_minfree_levels: bool,
    /// `ro.config.per_app_memcg` (plain read; default = low_ram).
    pub per_app_memcg: bool,
    /// "Swap is low" below this % of SwapTotal (0..=100).
    pub swap_free_low_percentage: i64,
    /// Medium PSI trigger threshold (`some`), new strategy.
    pub psi_partial_stall_ms: i64,
    /// Critical PSI trigger threshold (`full`), new strategy.
    pub psi_complete_stall_ms: i64,
    /// Refaults as % of the file LRU that count as thrashing (≥ 0).
    pub thrashing_limit: i64,
    /// % cut of the thrashing limit after each thrashing kill (0..=100).
    pub thrashing_limit_decay: i64,
    /// Thrashing % above which perceptible apps may be killed (≥ 0; default 3 × limit).
    pub thrashing_limit_critical: i64,
    /// Swap utilisation % above which to kill (0..=100; 100 disables).
    pub swap_util_max: i64,
    /// Keep killing after thrashing while the file LRU is below this many kB.
    pub filecache_min_kb: i64,
    /// PSI `full avg10` above which the min adj drops to 0.
    pub stall_limit_critical: i64,
    /// Do not start pressure monitors until `LMK_START_MONITORING` after boot.
    pub delay_monitors_until_boot: bool,
    /// Direct-reclaim duration that counts as stuck (0 = off; needs memevents).
    pub direct_reclaim_threshold_ms: i64,
    /// Multiplier on easily available memory in the free-swap estimate (0 = SwapFree only).
    pub swap_compression_ratio: i64,
    /// Min adj for `LOW_MEM` kills (at least 201; 1001 disables them).
    pub lowmem_min_oom_score: i32,
    /// Try PSI before vmpressure.
    pub use_psi: bool,
    /// New (PSI decision table) vs old (levels or minfree) strategy.
    pub use_new_strategy: bool,
    /// `ro.lmk.log_stats` (plain read): send `LMK_STAT_KILL_OCCURRED`.
    pub log_stats: bool,

    // This project's own properties (README, "Properties").
    /// `ro.lmk.reaper_threads`: reaper pool size (0 disables reaping: kills are synchronous).
    pub reaper_threads: i64,
    /// `ro.lmk.reaper_cpus`: cpulist the reapers are pinned to; unset = the little cluster.
    pub reaper_cpus: Option<String>,
    /// `ro.lmk.reaper_nice`: nice value of the reaper threads (−20..=19).
    pub reaper_nice: i64,
    /// `ro.lmk.psi_window_ms`: PSI trigger window (AOSP: 1000; kernels without
    /// CAP_SYS_RESOURCE need a multiple of 2000, and the daemon falls back to that).
    pub psi_window_ms: i64,
    /// `ro.lmk.memcg_domain`: a memory cgroup that is the whole world (unset = the system).
    pub memcg_domain: Option<String>,
    /// `ro.lmk.kill_history_size`: kill records kept for `lmkctl history`.
    pub kill_history_size: i64,
    /// `ro.lmk.predictive_kill`: wake up early (memory cgroup usage thresholds, vmpressure
    /// `low`, PSI at its shortest window), watch the headroom and kill before it runs out; never
    /// ignore a domain about to run out for want of a low-pressure event. Off: AOSP's behaviour.
    pub predictive_kill: bool,
}

/// AOSP's `PERCEPTIBLE_APP_ADJ + 1`: the floor of `lowmem_min_oom_score`.
const LOWMEM_MIN_SCORE_FLOOR: i32 = 201;

impl Default for Config {
    fn default() -> Self {
        Config::load(&FileProperties::default())
    }
}

/// Reads typed values with AOSP's precedence and logs what does not parse.
struct Reader<'a> {
    src: &'a dyn PropertySource,
}

impl Reader<'_> {
    /// The raw values of `name` in precedence order: the DeviceConfig override, then `ro.lmk.`.
    fn chain(&self, name: &str) -> [(String, Option<String>); 2] {
        let dc = format!("{DEVICE_CONFIG_PREFIX}{name}");
        let ro = format!("{RO_PREFIX}{name}");
        let dcv = self.src.get(&dc);
        let rov = self.src.get(&ro);
        [(dc, dcv), (ro, rov)]
    }

    fn first<T>(
        &self,
        keys: &[(String, Option<String>)],
        parse: impl Fn(&str) -> Option<T>,
    ) -> Option<T> {
        for (key, value) in keys {
            if let Some(v) = value {
                match parse(v) {
                    Some(x) => return Some(x),
                    None => warn!("property {key}={v:?} is not valid; ignored"),
                }
            }
        }
        None
    }

    fn bool(&self, name: &str, default: bool) -> bool {
        self.first(&self.chain(name), parse_bool).unwrap_or(default)
    }

    fn int(&self, name: &str, default: i64) -> i64 {
        self.first(&self.chain(name), parse_int).unwrap_or(default)
    }

    fn int32(&self, name: &str, default: i32) -> i32 {
        self.first(&self.chain(name), |v| parse_int(v).and_then(|x| i32::try_from(x).ok()))
            .unwrap_or(default)
    }

    fn string(&self, name: &str) -> Option<String> {
        self.first(&self.chain(name), |v| Some(v.to_owned()))
    }

    fn plain_bool(&self, key: &str, default: bool) -> bool {
        self.first(&[(key.to_owned(), self.src.get(key))], parse_bool).unwrap_or(default)
    }
}

/// Android's boolean property syntax (`property_get_bool`).
pub fn parse_bool(v: &str) -> Option<bool> {
    match v.trim() {
        "1" | "y" | "yes" | "on" | "true" => Some(true),
        "0" | "n" | "no" | "off" | "false" => Some(false),
        _ => None,
    }
}

/// Android's integer property syntax (`strtoimax` with base 0: decimal, `0x` hex, `0` octal).
/// Unlike libcutils, trailing garbage makes the value invalid instead of being ignored.
pub fn parse_int(v: &str) -> Option<i64> {
    let v = v.trim();
    let (neg, digits) = match v.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, v.strip_prefix('+').unwrap_or(v)),
    };
    let (radix, digits) =
        if let Some(h) = digits.strip_prefix("0x").or_else(|| digits.strip_prefix("0X")) {
            (16, h)
        } else if digits.len() > 1 && digits.starts_with('0') {
            (8, &digits[1..])
        } else {
            (10, digits)
        };
    if digits.is_empty() || digits.starts_with(['+', '-']) {
        return None;
    }
    let magnitude = i64::from_str_radix(digits, radix).ok()?;
    Some(if neg { -magnitude } else { magnitude })
}

impl Config {
    /// Reads every property from `src`.
    pub fn load(src: &dyn PropertySource) -> Config {
        let r = Reader { src };
        let low_ram = r.plain_bool("ro.config.low_ram", false);
        let use_minfree_levels = r.bool("use_minfree_levels", false);
        let thrashing_limit = r.int("thrashing_limit", if low_ram { 30 } else { 100 }).max(0);
        Config {
            level_low: r.int32("low", 1001),
            level_medium: r.int32("medium", 800),
            level_critical: r.int32("critical", 0),
            debug: r.bool("debug", false),
            critical_upgrade: r.bool("critical_upgrade", false),
            upgrade_pressure: r.int("upgrade_pressure", 100),
            downgrade_pressure: r.int("downgrade_pressure", 100),
            kill_heaviest_task: r.bool("kill_heaviest_task", false),
            low_ram,
            kill_timeout_ms: r.int("kill_timeout_ms", 100),
            pressure_after_kill_min_score: r.int32("pressure_after_kill_min_score", 0),
            use_minfree_levels,
            per_app_memcg: r.plain_bool("ro.config.per_app_memcg", low_ram),
            swap_free_low_percentage: r.int("swap_free_low_percentage", 10).clamp(0, 100),
            psi_partial_stall_ms: r.int("psi_partial_stall_ms", if low_ram { 200 } else { 70 }),
            psi_complete_stall_ms: r.int("psi_complete_stall_ms", 700),
            thrashing_limit,
            thrashing_limit_decay: r
                .int("thrashing_limit_decay", if low_ram { 50 } else { 10 })
                .clamp(0, 100),
            thrashing_limit_critical: r
                .int("thrashing_limit_critical", thrashing_limit.saturating_mul(3))
                .max(0),
            swap_util_max: r.int("swap_util_max", 100).clamp(0, 100),
            filecache_min_kb: r.int("filecache_min_kb", 0),
            stall_limit_critical: r.int("stall_limit_critical", 100),
            delay_monitors_until_boot: r.bool("delay_monitors_until_boot", false),
            direct_reclaim_threshold_ms: r.int("direct_reclaim_threshold_ms", 0),
            swap_compression_ratio: r.int("swap_compression_ratio", 1),
            lowmem_min_oom_score: r.int32("lowmem_min_oom_score", 701).max(LOWMEM_MIN_SCORE_FLOOR),
            use_psi: r.bool("use_psi", true),
            use_new_strategy: r.bool("use_new_strategy", low_ram || !use_minfree_levels),
            log_stats: r.plain_bool("ro.lmk.log_stats", true),
            reaper_threads: r.int("reaper_threads", 2).clamp(0, 16),
            reaper_cpus: r.string("reaper_cpus"),
            reaper_nice: r.int("reaper_nice", -20).clamp(-20, 19),
            psi_window_ms: r.int("psi_window_ms", 1000).clamp(500, 10_000),
            memcg_domain: r.string("memcg_domain"),
            kill_history_size: r.int("kill_history_size", 256).clamp(0, 65_536),
            predictive_kill: r.bool("predictive_kill", true),
        }
    }
}

impl Config {
    /// Every setting as the property it comes from and its value in force (`ro.lmk.*` names;
    /// the plain reads under their own names). Status reports and decision traces use this.
    pub fn to_properties(&self) -> Vec<(&'static str, String)> {
        let b = |v: bool| if v { "true".to_owned() } else { "false".to_owned() };
        let opt = |v: &Option<String>| v.clone().unwrap_or_default();
        vec![
            ("ro.config.low_ram", b(self.low_ram)),
            ("ro.config.per_app_memcg", b(self.per_app_memcg)),
            ("ro.lmk.low", self.level_low.to_string()),
            ("ro.lmk.medium", self.level_medium.to_string()),
            ("ro.lmk.critical", self.level_critical.to_string()),
            ("ro.lmk.debug", b(self.debug)),
            ("ro.lmk.critical_upgrade", b(self.critical_upgrade)),
            ("ro.lmk.upgrade_pressure", self.upgrade_pressure.to_string()),
            ("ro.lmk.downgrade_pressure", self.downgrade_pressure.to_string()),
            ("ro.lmk.kill_heaviest_task", b(self.kill_heaviest_task)),
            ("ro.lmk.kill_timeout_ms", self.kill_timeout_ms.to_string()),
            (
                "ro.lmk.pressure_after_kill_min_score",
                self.pressure_after_kill_min_score.to_string(),
            ),
            ("ro.lmk.use_minfree_levels", b(self.use_minfree_levels)),
            ("ro.lmk.swap_free_low_percentage", self.swap_free_low_percentage.to_string()),
            ("ro.lmk.psi_partial_stall_ms", self.psi_partial_stall_ms.to_string()),
            ("ro.lmk.psi_complete_stall_ms", self.psi_complete_stall_ms.to_string()),
            ("ro.lmk.thrashing_limit", self.thrashing_limit.to_string()),
            ("ro.lmk.thrashing_limit_decay", self.thrashing_limit_decay.to_string()),
            ("ro.lmk.thrashing_limit_critical", self.thrashing_limit_critical.to_string()),
            ("ro.lmk.swap_util_max", self.swap_util_max.to_string()),
            ("ro.lmk.filecache_min_kb", self.filecache_min_kb.to_string()),
            ("ro.lmk.stall_limit_critical", self.stall_limit_critical.to_string()),
            ("ro.lmk.delay_monitors_until_boot", b(self.delay_monitors_until_boot)),
            ("ro.lmk.direct_reclaim_threshold_ms", self.direct_reclaim_threshold_ms.to_string()),
            ("ro.lmk.swap_compression_ratio", self.swap_compression_ratio.to_string()),
            ("ro.lmk.lowmem_min_oom_score", self.lowmem_min_oom_score.to_string()),
            ("ro.lmk.use_psi", b(self.use_psi)),
            ("ro.lmk.use_new_strategy", b(self.use_new_strategy)),
            ("ro.lmk.log_stats", b(self.log_stats)),
            ("ro.lmk.reaper_threads", self.reaper_threads.to_string()),
            ("ro.lmk.reaper_cpus", opt(&self.reaper_cpus)),
            ("ro.lmk.reaper_nice", self.reaper_nice.to_string()),
            ("ro.lmk.psi_window_ms", self.psi_window_ms.to_string()),
            ("ro.lmk.memcg_domain", opt(&self.memcg_domain)),
            ("ro.lmk.kill_history_size", self.kill_history_size.to_string()),
            ("ro.lmk.predictive_kill", self.predictive_kill.to_string()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(pairs: &[(&str, &str)]) -> Config {
        Config::load(&FileProperties::from_pairs(pairs.iter().copied()))
    }

    #[test]
    fn to_properties_round_trips_through_load() {
        let c = load(&[
            ("ro.lmk.kill_timeout_ms", "5"),
            ("ro.lmk.reaper_cpus", "0-1"),
            ("ro.config.low_ram", "1"),
        ]);
        let props = c.to_properties();
        let pairs: Vec<(&str, &str)> = props.iter().map(|(k, v)| (*k, v.as_str())).collect();
        assert_eq!(load(&pairs), c, "every setting is listed under its property");
    }

    #[test]
    fn defaults_are_aosps() {
        let c = load(&[]);
        assert_eq!((c.level_low, c.level_medium, c.level_critical), (1001, 800, 0));
        assert_eq!(c.kill_timeout_ms, 100);
        assert_eq!(c.swap_free_low_percentage, 10);
        assert_eq!((c.psi_partial_stall_ms, c.psi_complete_stall_ms), (70, 700));
        assert_eq!(
            (c.thrashing_limit, c.thrashing_limit_decay, c.thrashing_limit_critical),
            (100, 10, 300)
        );
        assert_eq!(c.swap_util_max, 100);
        assert_eq!(c.stall_limit_critical, 100);
        assert_eq!(c.lowmem_min_oom_score, 701);
        assert_eq!(c.swap_compression_ratio, 1);
        assert!(c.use_psi && c.use_new_strategy && c.log_stats);
        assert!(!c.low_ram && !c.per_app_memcg && !c.debug && !c.use_minfree_levels);
        assert_eq!((c.reaper_threads, c.reaper_nice, c.psi_window_ms), (2, -20, 1000));
        assert_eq!(c, Config::default());
    }

    #[test]
    fn low_ram_variants() {
        let c = load(&[("ro.config.low_ram", "true")]);
        assert_eq!(c.psi_partial_stall_ms, 200);
        assert_eq!(
            (c.thrashing_limit, c.thrashing_limit_decay, c.thrashing_limit_critical),
            (30, 50, 90)
        );
        assert!(c.per_app_memcg, "per_app_memcg defaults to low_ram");
        assert!(c.use_new_strategy);
    }

    #[test]
    fn device_config_overrides_ro_lmk_except_plain_reads() {
        let c = load(&[
            ("ro.lmk.kill_timeout_ms", "50"),
            ("persist.device_config.lmkd_native.kill_timeout_ms", "20"),
            ("ro.lmk.debug", "false"),
            ("persist.device_config.lmkd_native.debug", "true"),
            ("ro.lmk.log_stats", "false"),
            ("persist.device_config.lmkd_native.log_stats", "true"),
        ]);
        assert_eq!(c.kill_timeout_ms, 20);
        assert!(c.debug);
        assert!(!c.log_stats, "log_stats is a plain read");
    }

    #[test]
    fn a_malformed_override_falls_back_to_ro_lmk_then_default() {
        let c = load(&[
            ("persist.device_config.lmkd_native.thrashing_limit", "lots"),
            ("ro.lmk.thrashing_limit", "40"),
            ("ro.lmk.swap_util_max", "ninety"),
        ]);
        assert_eq!(c.thrashing_limit, 40);
        assert_eq!(c.thrashing_limit_critical, 120, "critical follows the limit in force");
        assert_eq!(c.swap_util_max, 100);
    }

    #[test]
    fn clamping() {
        let c = load(&[
            ("ro.lmk.swap_free_low_percentage", "150"),
            ("ro.lmk.thrashing_limit", "-5"),
            ("ro.lmk.thrashing_limit_decay", "-1"),
            ("ro.lmk.swap_util_max", "101"),
            ("ro.lmk.lowmem_min_oom_score", "0"),
            ("ro.lmk.thrashing_limit_critical", "-3"),
        ]);
        assert_eq!(c.swap_free_low_percentage, 100);
        assert_eq!(c.thrashing_limit, 0);
        assert_eq!(c.thrashing_limit_decay, 0);
        assert_eq!(c.swap_util_max, 100);
        assert_eq!(c.lowmem_min_oom_score, 201);
        assert_eq!(c.thrashing_limit_critical, 0);
    }

    #[test]
    fn minfree_levels_select_the_old_strategy_unless_low_ram() {
        assert!(!load(&[("ro.lmk.use_minfree_levels", "1")]).use_new_strategy);
        assert!(
            load(&[("ro.lmk.use_minfree_levels", "1"), ("ro.config.low_ram", "1")])
                .use_new_strategy
        );
        assert!(
            load(&[("ro.lmk.use_minfree_levels", "1"), ("ro.lmk.use_new_strategy", "yes")])
                .use_new_strategy
        );
    }

    #[test]
    fn android_number_and_bool_syntax() {
        assert_eq!(parse_int("0x10"), Some(16));
        assert_eq!(parse_int("010"), Some(8));
        assert_eq!(parse_int(" -20 "), Some(-20));
        assert_eq!(parse_int("0"), Some(0));
        assert_eq!(parse_int("12abc"), None);
        assert_eq!(parse_int("--1"), None);
        assert_eq!(parse_int(""), None);
        assert_eq!(parse_int("99999999999999999999"), None);
        for t in ["1", "y", "yes", "on", "true"] {
            assert_eq!(parse_bool(t), Some(true));
        }
        for f in ["0", "n", "no", "off", "false"] {
            assert_eq!(parse_bool(f), Some(false));
        }
        assert_eq!(parse_bool("TRUE"), None);
    }
}
