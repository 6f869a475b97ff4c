//! The memevents world (`lmkd::demo::bpf`) for the tests: skipped, or failed under
//! `LMKD_REQUIRE_KERNEL_TESTS=1`, where the host lacks what it needs.

#[allow(unused_imports)]
pub use lmkd::demo::bpf::{record, vendor, BpfWorld};

use super::{is_root, require};

/// The world, or `None` when the test is skipped.
pub fn world() -> Option<BpfWorld> {
    let missing = lmkd::demo::bpf::missing_tools();
    if !require(
        is_root() && missing.is_none(),
        "root with CAP_BPF, clang, bpftool, unshare and nsenter",
    ) {
        return None;
    }
    Some(BpfWorld::start().unwrap_or_else(|e| panic!("the memevents world: {e}")))
}
