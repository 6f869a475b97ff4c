//! Pure decisions over snapshots and time: when to kill, down to which adj, and why.
//!
//! Nothing here reads a file, a clock or a descriptor: every input is an argument (time in ms
//! on the daemon's monotonic clock), so the same code runs in the daemon, in table-driven
//! tests and in the trace replayer.
//!
//! * [`psi_strategy`]: AOSP's new strategy (the PSI decision table, reference §4.5).
//! * [`legacy`]: the old strategy, in level mode and minfree mode (§4.6).
//! * [`predict`]: the predictive kill rule (the headroom's fall, `ro.lmk.predictive_kill`).
//! * [`victim`]: which process of a level dies (§5.2).
//! * [`trace`]: recording and replaying the inputs of decisions.
//!
//! How AOSP's quirks (reference §11) are treated here:
//!
//! | quirk | decision |
//! |---|---|
//! | 1. a 0 kB kill goes on to the next level | fixed: one kill per decision; the next cycle decides again with fresh figures |
//! | 2. the last failing candidate of a level ends the search | fixed: the walk goes on to the next level |
//! | 3. the heaviest-task search chooses nothing when every RSS reads 0 | fixed: the LRU tail is taken |
//! | 4. `stall_limit_critical`'s default (100) disables the critical-stall rule | kept: the property enables it |
//! | 5. LOW_MEM says "low" when only the high watermark is breached | not a quirk in the code read: AOSP's `wmark < WMARK_HIGH` means "below the low watermark" (`WMARK_HIGH` is "below high, above low"), so rows e, f, g and k fire only below low and "low" is accurate; behaviour and texts kept exactly |
//! | 6–11 (protocol) | see the README |
//! | 12. the watchdog never kills adj < 0 | kept |

pub mod legacy;
pub mod predict;
pub mod psi_strategy;
pub mod trace;
pub mod victim;

use crate::kill::{KillReason, ReasonText};

/// Where a wake-up came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// A PSI trigger.
    Psi,
    /// A memcg vmpressure event.
    Vmpressure,
}

/// One wake-up of the decision: an event at a level, or a poll.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Wakeup {
    /// The monitor kind.
    pub source: Source,
    /// The level of the monitor (for a poll: of the event that started the polling).
    pub level: Level,
    /// An event (`true`) or a poll (`false`).
    pub event: bool,
}

impl Wakeup {
    /// Whether the kernel reported something (not a poll).
    pub fn is_event(&self) -> bool {
        self.event
    }

    /// Whether the wake-up comes from PSI.
    pub fn is_psi(&self) -> bool {
        self.source == Source::Psi
    }

    /// The level.
    pub fn level(&self) -> Option<Level> {
        Some(self.level)
    }
}

/// A decision to kill.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KillDecision {
    /// The lowest adj that may die.
    pub min_adj: i32,
    /// AOSP's reason.
    pub reason: KillReason,
    /// The text after `reason: ` in the kill line (empty for the old strategy).
    pub text: ReasonText,
    /// Cut the thrashing limit if this kill succeeds (rows g and h).
    pub cut_thrashing_limit: bool,
    /// Thrashing % when decided.
    pub thrashing: i64,
    /// Highest thrashing % since the last kill.
    pub max_thrashing: i64,
    /// Effective free swap in kB when decided.
    pub free_swap_kb: i64,
}

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

/// A handler's request to the polling machinery (AOSP's `polling_update`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PollUpdate {
    /// Leave polling as it is; it stops once the window has passed.
    DoNotChange,
    /// (Re)start a window now.
    Start,
    /// Stop polling while a kill is awaited.
    Pause,
    /// Continue after a pause: a fresh window, polled at once.
    Resume,
}

/// AOSP's `PSI_WINDOW_SIZE_MS`.
pub const WINDOW_MS: u64 = 1000;
/// `PSI_POLL_PERIOD_SHORT_MS`: after a kill or when swap is low.
pub const SHORT_INTERVAL_MS: u64 = 10;
/// `PSI_POLL_PERIOD_LONG_MS`.
pub const LONG_INTERVAL_MS: u64 = 100;
