//! Kill reasons, with AOSP's numeric values (they reach statsd atom 51 through
//! `LMK_STAT_KILL_OCCURRED`, so they never change).

/// Why a process was killed (`enum kill_reasons` of AOSP lmkd).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum KillReason {
    /// No reason (the old strategy's kills; requested kills).
    #[default]
    None,
    /// The min watermark is breached even after a kill.
    PressureAfterKill,
    /// A critical PSI event: the device is not responding.
    NotResponding,
    /// Swap is low and the device thrashes.
    LowSwapAndThrashing,
    /// A watermark is breached and swap is low.
    LowMemAndSwap,
    /// A watermark is breached and the device thrashes.
    LowMemAndThrashing,
    /// Direct reclaim and thrashing.
    DirectReclAndThrashing,
    /// A watermark is breached and swap utilisation is high.
    LowMemAndSwapUtil,
    /// File cache is low after thrashing.
    LowFilecacheAfterThrashing,
    /// A watermark is breached.
    LowMem,
    /// Stuck in direct reclaim.
    DirectReclStuck,
    /// A vendor memevent, with its reason (0..=999).
    Vendor(i32),
}

impl KillReason {
    /// AOSP's number (−1 for none, 1000 + r for vendor reasons).
    pub fn code(self) -> i32 {
        match self {
            KillReason::None => -1,
            KillReason::PressureAfterKill => 0,
            KillReason::NotResponding => 1,
            KillReason::LowSwapAndThrashing => 2,
            KillReason::LowMemAndSwap => 3,
            KillReason::LowMemAndThrashing => 4,
            KillReason::DirectReclAndThrashing => 5,
            KillReason::LowMemAndSwapUtil => 6,
            KillReason::LowFilecacheAfterThrashing => 7,
            KillReason::LowMem => 8,
            KillReason::DirectReclStuck => 9,
            KillReason::Vendor(r) => 1000 + r,
        }
    }

    /// The reason for an AOSP number.
    pub fn from_code(code: i32) -> Option<KillReason> {
        Some(match code {
            -1 => KillReason::None,
            0 => KillReason::PressureAfterKill,
            1 => KillReason::NotResponding,
            2 => KillReason::LowSwapAndThrashing,
            3 => KillReason::LowMemAndSwap,
            4 => KillReason::LowMemAndThrashing,
            5 => KillReason::DirectReclAndThrashing,
            6 => KillReason::LowMemAndSwapUtil,
            7 => KillReason::LowFilecacheAfterThrashing,
            8 => KillReason::LowMem,
            9 => KillReason::DirectReclStuck,
            1000..=1999 => KillReason::Vendor(code - 1000),
            _ => return None,
        })
    }

    /// The statsd name (`LmkKillOccurred.Reason`).
    pub fn name(self) -> &'static str {
        match self {
            KillReason::None => "UNKNOWN",
            KillReason::PressureAfterKill => "PRESSURE_AFTER_KILL",
            KillReason::NotResponding => "NOT_RESPONDING",
            KillReason::LowSwapAndThrashing => "LOW_SWAP_AND_THRASHING",
            KillReason::LowMemAndSwap => "LOW_MEM_AND_SWAP",
            KillReason::LowMemAndThrashing => "LOW_MEM_AND_THRASHING",
            KillReason::DirectReclAndThrashing => "DIRECT_RECL_AND_THRASHING",
            KillReason::LowMemAndSwapUtil => "LOW_MEM_AND_SWAP_UTIL",
            KillReason::LowFilecacheAfterThrashing => "LOW_FILECACHE_AFTER_THRASHING",
            KillReason::LowMem => "LOW_MEM",
            KillReason::DirectReclStuck => "DIRECT_RECL_STUCK",
            KillReason::Vendor(_) => "VENDOR_KILL",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_aosps_and_round_trip() {
        let all = [
            (KillReason::PressureAfterKill, 0),
            (KillReason::NotResponding, 1),
            (KillReason::LowSwapAndThrashing, 2),
            (KillReason::LowMemAndSwap, 3),
            (KillReason::LowMemAndThrashing, 4),
            (KillReason::DirectReclAndThrashing, 5),
            (KillReason::LowMemAndSwapUtil, 6),
            (KillReason::LowFilecacheAfterThrashing, 7),
            (KillReason::LowMem, 8),
            (KillReason::DirectReclStuck, 9),
            (KillReason::None, -1),
            (KillReason::Vendor(5), 1005),
        ];
        for (r, c) in all {
            assert_eq!(r.code(), c);
            assert_eq!(KillReason::from_code(c), Some(r));
        }
        assert_eq!(KillReason::from_code(10), None);
        assert_eq!(KillReason::from_code(2000), None);
    }
}
