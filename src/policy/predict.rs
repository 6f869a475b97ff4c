//! The predictive kill rule: how much memory reclaim cannot create (the headroom, see
//! [`crate::memory::headroom_kb`]), how fast it falls, and whether it runs out before a kill
//! could bring memory back.
//!
//! Two measures per sample: the headroom ([`crate::memory::headroom_kb`], how far the domain
//! is from running out) and the demand ([`crate::memory::demand_kb`], what reclaim cannot give
//! back). The fall is the demand's growth: page cache coming and going (a file read, pages
//! activated by a second access) moves the headroom by tens of MiB within a sample and is not
//! a step toward the OOM killer; anonymous memory growing is.
//!
//! AOSP lmkd, and this daemon without this rule, act on the kernel's pressure signals: a PSI
//! stall window that fills, or a vmpressure level. A domain with nothing to reclaim (no page
//! cache, no swap) gives neither before its limit, and the kernel's OOM killer acts first. Here
//! the pressure engine wakes early (memory cgroup usage thresholds, vmpressure `low`, PSI at its
//! shortest window, memevents' kswapd wake), samples the headroom every [`SAMPLE_MS`] while
//! woken, and this module decides from the samples:
//!
//! * the fall rate is the slope of a least-squares line through the demand samples of the last
//!   [`RATE_WINDOW_MS`] (at least [`MIN_SAMPLES`] of them, spanning [`MIN_SPAN_MS`]: one odd
//!   sample must not make a rate; a rise counts as no fall);
//! * the time to exhaustion is headroom / fall rate;
//! * a kill is due when that time is shorter than the daemon's own kill → memory-back time
//!   (measured from its kill history: the slowest of its recent reaps and deaths; before the
//!   first kill [`DEFAULT_KILL_MS`]) plus [`MARGIN_MS`], or when the headroom is gone already
//!   and the demand still grows;
//! * the watch ends when the headroom is comfortable ([`Predictor::calm`]).
//!
//! Pure: samples and times are arguments.

use std::fmt::Write as _;

use super::KillDecision;
use crate::kill::{KillReason, ReasonText};

/// The sampling period while woken. 20 ms: at 512 MiB/s the headroom falls 10 MiB between two
/// samples, a third of what the default warning level ([`warning_kb`]) leaves of a 256 MiB
/// domain, and a sample (a snapshot: 7–15 µs) costs less than 0.1 % of a CPU.
pub const SAMPLE_MS: u64 = 20;
/// The samples the fall rate is fitted over.
pub const RATE_WINDOW_MS: u64 = 200;
/// The fewest samples a rate is fitted to.
pub const MIN_SAMPLES: i128 = 4;
/// The shortest span of samples a rate is fitted to: three periods.
pub const MIN_SPAN_MS: u64 = 3 * SAMPLE_MS;
/// The kill → memory-back time assumed before the daemon has measured one: conservative
/// (a 1 GiB starved victim took about 300 ms on the development machines; most take 10–60).
pub const DEFAULT_KILL_MS: u64 = 150;
/// Added to the kill time: one sample period of detection lag, and scheduling slack.
pub const MARGIN_MS: u64 = 2 * SAMPLE_MS + 40;
/// A watch ends after the headroom has not fallen for this long (and is above the warning
/// level, or has stopped falling at all).
pub const CALM_MS: u64 = 600;

/// The headroom below which the engine wakes up and watches: an eighth of the domain, at least
/// 32 MiB, at most 256 MiB — at 512 MiB/s, 32 MiB are 62 ms of warning, four times the kill
/// time of a cached app.
pub fn warning_kb(total_kb: i64) -> i64 {
    (total_kb / 8).clamp(32 * 1024, 256 * 1024)
}

const SAMPLES: usize = 16;

/// The samples of one watch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Predictor {
    /// (time ms, headroom kB, demand kB), a ring.
    samples: [(u64, i64, i64); SAMPLES],
    len: usize,
    next: usize,
    /// The last time the headroom fell (or the watch began).
    last_fall_ms: u64,
}

/// What the samples say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Kill now.
    Kill(KillDecision),
    /// Keep sampling.
    Watch,
    /// Comfortable: stop sampling.
    Calm,
}

/// The fall rate and the time to exhaustion at the last sample.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Forecast {
    /// The latest headroom, kB.
    pub headroom_kb: i64,
    /// How fast it falls, kB/s (0 when it does not).
    pub fall_kb_per_s: i64,
    /// When it runs out at that rate, ms from the last sample (`None`: it does not fall).
    pub exhausted_in_ms: Option<u64>,
}

impl Predictor {
    /// Forgets every sample (a new watch, or after a kill: the headroom jumps).
    pub fn reset(&mut self, now_ms: u64) {
        *self = Predictor { last_fall_ms: now_ms, ..Predictor::default() };
    }

    /// Adds a sample: the headroom and the demand, kB.
    pub fn observe(&mut self, t_ms: u64, headroom_kb: i64, demand_kb: i64) {
        if let Some(&(_, _, prev)) = self.last() {
            if demand_kb > prev {
                self.last_fall_ms = t_ms;
            }
        } else {
            self.last_fall_ms = t_ms;
        }
        self.samples[self.next] = (t_ms, headroom_kb, demand_kb);
        self.next = (self.next + 1) % SAMPLES;
        self.len = (self.len + 1).min(SAMPLES);
    }

    fn last(&self) -> Option<&(u64, i64, i64)> {
        (self.len > 0).then(|| &self.samples[(self.next + SAMPLES - 1) % SAMPLES])
    }

    /// The forecast from the samples of the last [`RATE_WINDOW_MS`].
    pub fn forecast(&self) -> Option<Forecast> {
        let &(t_last, h_last, _) = self.last()?;
        // Least squares over the recent samples, in ms and kB (i128: no overflow).
        let (mut n, mut st, mut sh, mut stt, mut sth) = (0i128, 0i128, 0i128, 0i128, 0i128);
        let mut span = 0;
        for i in 0..self.len {
            let (t, _, d) = self.samples[(self.next + SAMPLES - 1 - i) % SAMPLES];
            // A sample later than the last one cannot come from the daemon's monotonic clock;
            // a hand-edited trace may have one: it is left out.
            let Some(age) = t_last.checked_sub(t) else { continue };
            if age > RATE_WINDOW_MS {
                break;
            }
            span = age;
            // Time runs backwards from the last sample and the demand is negated, so that a
            // growing demand is a positive slope: the headroom's fall.
            let t = i128::from(age);
            let h = -i128::from(d);
            n += 1;
            st += t;
            sh += h;
            stt += t * t;
            sth += t * h;
        }
        let denom = n * stt - st * st;
        // Slope in kB per ms over "ms before the last sample": a positive slope here means the
        // headroom was higher in the past, i.e. it falls.
        let fall_kb_per_s = if n >= MIN_SAMPLES && span >= MIN_SPAN_MS && denom != 0 {
            let slope_milli = (n * sth - st * sh) * 1000 / denom;
            i64::try_from(slope_milli.max(0)).unwrap_or(i64::MAX)
        } else {
            0
        };
        let exhausted_in_ms = (fall_kb_per_s > 0).then(|| {
            let ms = i128::from(h_last.max(0)) * 1000 / i128::from(fall_kb_per_s);
            u64::try_from(ms).unwrap_or(u64::MAX)
        });
        Some(Forecast { headroom_kb: h_last, fall_kb_per_s, exhausted_in_ms })
    }

    /// Whether the watch can end at `now_ms`: the headroom has not fallen for [`CALM_MS`] and
    /// is above the warning level, or it is rising.
    pub fn calm(&self, now_ms: u64, warning_kb: i64) -> bool {
        let Some(f) = self.forecast() else { return true };
        let quiet = now_ms.saturating_sub(self.last_fall_ms) >= CALM_MS;
        quiet && (f.headroom_kb >= warning_kb || f.fall_kb_per_s == 0)
    }

    /// The verdict at `now_ms`, with `kill_ms` the daemon's kill → memory-back time.
    pub fn verdict(&self, now_ms: u64, kill_ms: u64, warning_kb: i64) -> Verdict {
        let Some(f) = self.forecast() else { return Verdict::Watch };
        let due = kill_ms.saturating_add(MARGIN_MS);
        let gone = f.headroom_kb <= 0 && f.fall_kb_per_s > 0;
        if gone || f.exhausted_in_ms.is_some_and(|ms| ms < due) {
            return Verdict::Kill(decision(&f, gone));
        }
        if self.calm(now_ms, warning_kb) {
            Verdict::Calm
        } else {
            Verdict::Watch
        }
    }
}

/// The kill for a forecast: in the usual victim order down to adj 0 — the alternative is the
/// kernel's OOM killer, which takes the largest process it finds. The reason code sent to
/// ActivityManager and statsd is AOSP's `LOW_MEM` (8): memory is (about to be) below the
/// watermark; they know no other codes. The text says what was predicted.
fn decision(f: &Forecast, gone: bool) -> KillDecision {
    let mut text = ReasonText::default();
    let mib = |kb: i64| kb / 1024;
    if gone {
        let _ = write!(
            text,
            "headroom gone ({} MiB) falling {} MiB/s",
            mib(f.headroom_kb),
            mib(f.fall_kb_per_s)
        );
    } else {
        let _ = write!(
            text,
            "headroom {} MiB falling {} MiB/s: exhausted in {} ms",
            mib(f.headroom_kb),
            mib(f.fall_kb_per_s),
            f.exhausted_in_ms.unwrap_or(0)
        );
    }
    KillDecision { min_adj: 0, reason: KillReason::LowMem, text, ..KillDecision::default() }
}

/// The daemon's kill → memory-back time from its recent kills (µs each; a negative value is
/// unknown): the slowest of them, so that a slow victim is planned for; [`DEFAULT_KILL_MS`]
/// when none is known.
pub fn kill_time_ms(recent_us: impl Iterator<Item = i64>) -> u64 {
    recent_us.filter(|&us| us >= 0).max().map_or(DEFAULT_KILL_MS, |us| {
        u64::try_from(us / 1000 + i64::from(us % 1000 != 0)).unwrap_or(u64::MAX)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: i64 = 1024;

    /// A predictor fed `headroom(t)` every sample period from `from` to `to` (ms), the demand
    /// taking up exactly what the headroom loses.
    fn fed(from: u64, to: u64, headroom: impl Fn(u64) -> i64) -> Predictor {
        let mut p = Predictor::default();
        p.reset(from);
        let mut t = from;
        while t <= to {
            p.observe(t, headroom(t), 1024 * MIB - headroom(t));
            t += SAMPLE_MS;
        }
        p
    }

    #[test]
    fn a_sample_from_the_future_is_left_out() {
        // A trace can say anything: time going backwards must not overflow.
        let mut p = Predictor::default();
        p.reset(0);
        for (t, h) in [(100, 50 * MIB), (200, 40 * MIB), (50, 30 * MIB), (300, 20 * MIB)] {
            p.observe(t, h, 1024 * MIB - h);
        }
        assert!(p.forecast().is_some());
        let _ = p.verdict(300, DEFAULT_KILL_MS, 32 * MIB);
    }

    #[test]
    fn the_fall_rate_is_the_slope_of_the_recent_samples() {
        // 100 MiB falling 200 MiB/s (200 kB per ms... in kB: 204.8 kB/ms).
        let p = fed(0, 100, |t| 100 * MIB - i64::try_from(t).unwrap() * 200 * MIB / 1000);
        let f = p.forecast().unwrap();
        assert_eq!(f.fall_kb_per_s, 200 * MIB);
        assert_eq!(f.headroom_kb, 80 * MIB);
        assert_eq!(f.exhausted_in_ms, Some(400));
        // Rising or flat: no fall, no exhaustion.
        let p = fed(0, 100, |t| 10 * MIB + i64::try_from(t).unwrap());
        assert_eq!(p.forecast().unwrap().fall_kb_per_s, 0);
        assert_eq!(p.forecast().unwrap().exhausted_in_ms, None);
        // Three samples are not a rate yet; a fourth, three periods on, is.
        let p = fed(0, 2 * SAMPLE_MS, |t| 100 * MIB - i64::try_from(t).unwrap() * MIB);
        assert_eq!(p.forecast().unwrap().fall_kb_per_s, 0);
        let p = fed(0, 3 * SAMPLE_MS, |t| 100 * MIB - i64::try_from(t).unwrap() * MIB);
        assert_eq!(p.forecast().unwrap().fall_kb_per_s, 1000 * MIB);
    }

    #[test]
    fn only_the_last_window_counts() {
        // A fast fall long ago, flat since: no fall now.
        let p = fed(0, 1000, |t| {
            if t < 400 {
                500 * MIB - i64::try_from(t).unwrap() * MIB
            } else {
                100 * MIB
            }
        });
        assert_eq!(p.forecast().unwrap().fall_kb_per_s, 0);
    }

    #[test]
    fn a_kill_is_due_when_exhaustion_comes_before_memory_could_be_back() {
        let w = 64 * MIB;
        // 40 MiB falling 200 MiB/s: gone in 200 ms; a kill takes 150 + margin 80: due.
        let p = fed(0, 100, |t| 60 * MIB - i64::try_from(t).unwrap() * 200 * MIB / 1000);
        match p.verdict(100, DEFAULT_KILL_MS, w) {
            Verdict::Kill(k) => {
                assert_eq!((k.reason, k.min_adj), (KillReason::LowMem, 0));
                assert_eq!(
                    k.text.as_str(),
                    "headroom 40 MiB falling 200 MiB/s: exhausted in 200 ms"
                );
            }
            v => panic!("{v:?}"),
        }
        // The same fall with a measured 10 ms kill: 200 ms is enough time, keep watching.
        assert_eq!(p.verdict(100, 10, w), Verdict::Watch);
        // Headroom already gone and the demand still growing: kill whatever the rate.
        let p = fed(0, 100, |t| -MIB - i64::try_from(t).unwrap());
        assert!(matches!(p.verdict(100, 10, w), Verdict::Kill(_)));
        // Gone but not growing (nothing left to run out of faster): no kill.
        let p = fed(0, 100, |_| -MIB);
        assert!(!matches!(p.verdict(100, 10, w), Verdict::Kill(_)));
    }

    #[test]
    fn page_cache_moving_the_headroom_is_not_a_fall() {
        // The headroom dips by 75 MiB in one sample (pages activated by a re-read), the demand
        // (anonymous memory) stays: no rate, no kill.
        let mut p = Predictor::default();
        p.reset(0);
        for (i, h) in [175, 173, 175, 100, 150, 170].into_iter().enumerate() {
            p.observe(i as u64 * SAMPLE_MS, h * MIB, 80 * MIB);
        }
        assert_eq!(p.forecast().unwrap().fall_kb_per_s, 0);
        assert!(!matches!(p.verdict(5 * SAMPLE_MS, DEFAULT_KILL_MS, 32 * MIB), Verdict::Kill(_)));
    }

    #[test]
    fn a_watch_ends_when_the_headroom_is_comfortable_or_stops_falling() {
        let w = 64 * MIB;
        // Flat above the warning level for CALM_MS: calm.
        let p = fed(0, CALM_MS, |_| 100 * MIB);
        assert_eq!(p.verdict(CALM_MS, 10, w), Verdict::Calm);
        // Flat below the warning level: calm too (no fall), the engine re-arms lower.
        let p = fed(0, CALM_MS, |_| 40 * MIB);
        assert_eq!(p.verdict(CALM_MS, 10, w), Verdict::Calm);
        // Still falling slowly below the warning level: watch.
        let p = fed(0, CALM_MS, |t| 40 * MIB - i64::try_from(t).unwrap() * 4);
        assert_eq!(p.verdict(CALM_MS, 10, w), Verdict::Watch);
        // Not yet quiet for long enough.
        let p = fed(0, CALM_MS / 2, |_| 100 * MIB);
        assert_eq!(p.verdict(CALM_MS / 2, 10, w), Verdict::Watch);
    }

    #[test]
    fn kill_time_is_the_slowest_recent_one_or_the_default() {
        assert_eq!(kill_time_ms([].into_iter()), DEFAULT_KILL_MS);
        assert_eq!(kill_time_ms([-1, -1].into_iter()), DEFAULT_KILL_MS);
        assert_eq!(kill_time_ms([7_000, 35_200, -1].into_iter()), 36);
    }

    #[test]
    fn warning_levels_scale_with_the_domain() {
        assert_eq!(warning_kb(256 * MIB), 32 * MIB);
        assert_eq!(warning_kb(1024 * MIB), 128 * MIB);
        assert_eq!(warning_kb(8 * 1024 * MIB), 256 * MIB);
    }
}
