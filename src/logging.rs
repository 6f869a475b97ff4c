//! Logging through the `log` crate: logcat with tag `lowmemorykiller` on Android, readable
//! stderr lines on a host.
//!
//! The level comes from `ro.lmk.debug` (debug when true, info otherwise) and is re-applied on
//! `LMK_UPDATE_PROPS`. On a host the environment variable `LMKD_LOG`
//! (`error|warn|info|debug|trace`) overrides the property.

use log::LevelFilter;

/// The logcat tag AOSP lmkd uses; tools and AOSP's tests filter on it.
pub const TAG: &str = "lowmemorykiller";

/// The level the environment asks for, if any (`LMKD_LOG`).
fn env_level() -> Option<LevelFilter> {
    std::env::var("LMKD_LOG").ok()?.parse().ok()
}

/// The level for a given `ro.lmk.debug`.
pub fn level_for(debug: bool) -> LevelFilter {
    env_level().unwrap_or(if debug { LevelFilter::Debug } else { LevelFilter::Info })
}

/// Installs the logger (once; later calls only change the level).
pub fn init(debug: bool) {
    let level = level_for(debug);
    #[cfg(target_os = "android")]
    {
        android_logger::init_once(
            android_logger::Config::default().with_tag(TAG).with_max_level(LevelFilter::Trace),
        );
    }
    #[cfg(not(target_os = "android"))]
    {
        let _ = log::set_logger(&host::HOST_LOGGER);
    }
    log::set_max_level(level);
}

/// Applies a new `ro.lmk.debug`.
pub fn set_debug(debug: bool) {
    log::set_max_level(level_for(debug));
}

#[cfg(not(target_os = "android"))]
mod host {
    use std::io::Write;
    use std::sync::OnceLock;
    use std::time::Instant;

    /// Writes `<seconds since start> <L> lowmemorykiller: <message>` lines to stderr.
    pub struct HostLogger;

    pub static HOST_LOGGER: HostLogger = HostLogger;

    fn start() -> Instant {
        static START: OnceLock<Instant> = OnceLock::new();
        *START.get_or_init(Instant::now)
    }

    impl log::Log for HostLogger {
        fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
            metadata.level() <= log::max_level()
        }

        fn log(&self, record: &log::Record<'_>) {
            if !self.enabled(record.metadata()) {
                return;
            }
            let t = start().elapsed();
            let level = match record.level() {
                log::Level::Error => 'E',
                log::Level::Warn => 'W',
                log::Level::Info => 'I',
                log::Level::Debug => 'D',
                log::Level::Trace => 'V',
            };
            // One write per line so that lines from the reaper threads do not interleave.
            let mut line = [0u8; 1024];
            let mut cur = std::io::Cursor::new(&mut line[..]);
            let _ = writeln!(
                cur,
                "{:5}.{:03} {level} {}: {}",
                t.as_secs(),
                t.subsec_millis(),
                super::TAG,
                record.args()
            );
            let len = usize::try_from(cur.position()).unwrap_or(0);
            let mut out = &line[..len];
            if len == line.len() {
                // Longer than the buffer: cut, but keep the line ending.
                line[len - 1] = b'\n';
                out = &line[..];
            }
            let _ = std::io::stderr().lock().write_all(out);
        }

        fn flush(&self) {}
    }
}
