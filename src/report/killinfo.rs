//! The `killinfo` event-log entry (tag 10195355, AOSP's `event.logtags`), one per kill.
//!
//! The payload is liblog's binary event format: a list (type 3, item count) of typed items —
//! int (type 0, 4 bytes little-endian) or float (type 4, 4 bytes little-endian). The fields, in
//! AOSP's order (reference §9): pid, uid, oom_score_adj, min_oom_score_adj, task size (kB),
//! kill reason; 19 meminfo values in kB (MemFree … CmaFree); ms since the event, ms since the
//! previous wake-up, wake-ups since the event, skipped wake-ups, task swap (kB), GPU (kB),
//! thrashing, max thrashing; then five floats: PSI memory some/full avg10, io some/full avg10,
//! cpu some avg10. Missing data is zero. Encoding is pure (tested here); on Android the bytes
//! go to `__android_log_bwrite`.

use super::clamp_i32;
use crate::memory::Meminfo;

/// `killinfo`'s event tag.
pub const KILLINFO_TAG: i32 = 10_195_355;
/// Items in the list.
pub const KILLINFO_ITEMS: usize = 6 + 19 + 8 + 5;
/// Bytes of the payload: list header, then a type byte and 4 bytes per item.
pub const KILLINFO_LEN: usize = 2 + KILLINFO_ITEMS * 5;

const EVENT_TYPE_INT: u8 = 0;
const EVENT_TYPE_LIST: u8 = 3;
const EVENT_TYPE_FLOAT: u8 = 4;

/// What a `killinfo` entry carries.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct KillInfo {
    /// Victim pid.
    pub pid: i32,
    /// Victim uid.
    pub uid: i32,
    /// Victim adj.
    pub oom_score_adj: i32,
    /// The decision's min adj.
    pub min_oom_score_adj: i32,
    /// VmRSS in kB.
    pub task_size_kb: i64,
    /// AOSP kill reason (−1 none).
    pub kill_reason: i32,
    /// The memory figures when decided.
    pub meminfo: Meminfo,
    /// ms since the pressure event that started this episode.
    pub ms_since_event: i64,
    /// ms since the previous wake-up.
    pub ms_since_prev_wakeup: i64,
    /// Wake-ups since the event.
    pub wakeups_since_event: i64,
    /// Wake-ups skipped while a kill was awaited.
    pub skipped_wakeups: i64,
    /// VmSwap in kB.
    pub task_swap_kb: i64,
    /// GPU memory in kB (not known here: 0).
    pub gpu_kb: i64,
    /// Thrashing %.
    pub thrashing: i64,
    /// Max thrashing %.
    pub max_thrashing: i64,
    /// PSI memory some avg10 (%).
    pub psi_mem_some: f32,
    /// PSI memory full avg10 (%).
    pub psi_mem_full: f32,
    /// PSI io some avg10 (%).
    pub psi_io_some: f32,
    /// PSI io full avg10 (%).
    pub psi_io_full: f32,
    /// PSI cpu some avg10 (%).
    pub psi_cpu_some: f32,
}

impl KillInfo {
    /// The binary event payload.
    pub fn encode(&self) -> [u8; KILLINFO_LEN] {
        let mut out = [0u8; KILLINFO_LEN];
        out[0] = EVENT_TYPE_LIST;
        out[1] = u8::try_from(KILLINFO_ITEMS).expect("38 items");
        let mut at = 2;
        let mut put = |ty: u8, bytes: [u8; 4]| {
            out[at] = ty;
            out[at + 1..at + 5].copy_from_slice(&bytes);
            at += 5;
        };
        let m = &self.meminfo;
        let ints = [
            i64::from(self.pid),
            i64::from(self.uid),
            i64::from(self.oom_score_adj),
            i64::from(self.min_oom_score_adj),
            self.task_size_kb,
            i64::from(self.kill_reason),
            m.mem_free,
            m.cached,
            m.swap_cached,
            m.buffers,
            m.shmem,
            m.unevictable,
            m.swap_total,
            m.swap_free,
            m.active_anon,
            m.inactive_anon,
            m.active_file,
            m.inactive_file,
            m.sreclaimable,
            m.sunreclaim,
            m.kernel_stack,
            m.page_tables,
            m.ion_heap,
            m.ion_heap_pool,
            m.cma_free,
            self.ms_since_event,
            self.ms_since_prev_wakeup,
            self.wakeups_since_event,
            self.skipped_wakeups,
            self.task_swap_kb,
            self.gpu_kb,
            self.thrashing,
            self.max_thrashing,
        ];
        for v in ints {
            put(EVENT_TYPE_INT, clamp_i32(v).to_le_bytes());
        }
        for f in [
            self.psi_mem_some,
            self.psi_mem_full,
            self.psi_io_some,
            self.psi_io_full,
            self.psi_cpu_some,
        ] {
            put(EVENT_TYPE_FLOAT, f.to_le_bytes());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_is_libliogs_list_of_33_ints_and_5_floats() {
        let k = KillInfo {
            pid: 1234,
            uid: 10_057,
            oom_score_adj: 905,
            min_oom_score_adj: 701,
            task_size_kb: i64::MAX,
            kill_reason: 8,
            meminfo: Meminfo { mem_free: 5000, cma_free: 7, ..Meminfo::default() },
            thrashing: 12,
            psi_mem_some: 1.5,
            psi_cpu_some: 0.25,
            ..KillInfo::default()
        };
        let b = k.encode();
        assert_eq!((b[0], b[1]), (3, 38));
        let item =
            |i: usize| (b[2 + i * 5], [b[3 + i * 5], b[4 + i * 5], b[5 + i * 5], b[6 + i * 5]]);
        assert_eq!(item(0), (0, 1234i32.to_le_bytes()));
        assert_eq!(item(4), (0, i32::MAX.to_le_bytes()), "task size is capped at INT32_MAX");
        assert_eq!(item(5), (0, 8i32.to_le_bytes()));
        assert_eq!(item(6), (0, 5000i32.to_le_bytes()), "MemFree first of the 19");
        assert_eq!(item(24), (0, 7i32.to_le_bytes()), "CmaFree last of the 19");
        assert_eq!(item(31), (0, 12i32.to_le_bytes()), "thrashing");
        assert_eq!(item(33), (4, 1.5f32.to_le_bytes()), "PSI memory some avg10");
        assert_eq!(item(37), (4, 0.25f32.to_le_bytes()), "PSI cpu some avg10");
        assert_eq!(b.len(), 2 + 38 * 5);
    }
}
