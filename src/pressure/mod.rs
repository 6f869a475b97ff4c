//! Pressure sources and the polling window.
//!
//! * [`psi`]: PSI triggers (`some`/`full` stall thresholds in a window) on the domain's memory
//!   pressure file; the fd turns `EPOLLPRI` when the stall is exceeded. AOSP's 1 s window is
//!   used when the kernel accepts it; without `CAP_SYS_RESOURCE` the kernel wants a multiple of
//!   2 s, and the daemon then falls back to 2 s and says so once.
//! * [`vmpressure`]: memory cgroup v1 `memory.pressure_level` events (low/medium/critical)
//!   through eventfds, the fallback when PSI is off or unavailable.
//! * [`poll`]: the polling window (pure): after an event the decision runs every 10 or 100 ms
//!   for one window, paused while a kill is awaited; no timer at all while there is no
//!   pressure.

pub mod poll;
pub mod psi;
pub mod vmpressure;

/// A pressure level (AOSP's `vmpressure_level`): the index of the monitor that fired.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// Low.
    #[default]
    Low = 0,
    /// Medium.
    Medium = 1,
    /// Critical.
    Critical = 2,
}

impl Level {
    /// All levels, lowest first.
    pub const ALL: [Level; 3] = [Level::Low, Level::Medium, Level::Critical];

    /// The level for an index (0..=2).
    pub fn from_index(i: usize) -> Option<Level> {
        Level::ALL.get(i).copied()
    }

    /// The vmpressure name (`low`, `medium`, `critical`).
    pub fn name(self) -> &'static str {
        match self {
            Level::Low => "low",
            Level::Medium => "medium",
            Level::Critical => "critical",
        }
    }

    /// One level up (critical stays critical).
    pub fn upgrade(self) -> Level {
        match self {
            Level::Low => Level::Medium,
            _ => Level::Critical,
        }
    }

    /// One level down (low stays low).
    pub fn downgrade(self) -> Level {
        match self {
            Level::Critical => Level::Medium,
            _ => Level::Low,
        }
    }
}
