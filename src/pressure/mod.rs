//! The kernel's pressure sources.
//!
//! * [`events`]: cgroup v2 `memory.events` notifications, the early warning of a v2 memcg domain.
//! * [`memevents`]: the BPF memevents ring buffer (Android 15+): direct reclaim and kswapd as
//!   the kernel's tracepoints see them, vendor kill requests, reserve changes.
//! * [`psi`]: PSI triggers (`some`/`full` stall thresholds in a window) on the domain's memory
//!   pressure file; the fd turns `EPOLLPRI` when the stall is exceeded. AOSP's 1 s window is
//!   used when the kernel accepts it; without `CAP_SYS_RESOURCE` the kernel wants a multiple of
//!   2 s, and the daemon then falls back to 2 s and says so once.
//! * [`threshold`]: memory cgroup v1 usage thresholds, the early warning of a memcg domain.
//! * [`vmpressure`]: memory cgroup v1 `memory.pressure_level` events (low/medium/critical)
//!   through eventfds, the fallback when PSI is off or unavailable.
//!
//! These are the kernel's wake-up sources only: what a wake-up means and when to poll again
//! are decided by [`crate::policy`] and the daemon's pressure engine.

pub mod events;
pub mod memevents;
pub mod psi;
pub mod threshold;
pub mod vmpressure;
