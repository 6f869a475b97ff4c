//! What only a device build has (`cfg(aosp_build)`: Soong sets it, Cargo never does):
//! the `killinfo` event log and the `dumpsys lmkd` binder service.
//!
//! The service is a thin adapter: `dump()` asks the event loop for the same status report
//! `lmkctl status` prints (tested on the host through `LMK_EXT_STATUS`) and writes it out.
#![cfg(aosp_build)]

use std::io::Write;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use binder::{BinderFeatures, Interface};
use lmkd_service_aidl::aidl::android::lmkd::ILmkdService::{BnLmkdService, ILmkdService};
use rustix::event::{eventfd, EventfdFlags};

use crate::report::killinfo::{KillInfo, KILLINFO_TAG};

/// Writes one `killinfo` event.
pub fn write_killinfo(k: &KillInfo) {
    if let Err(e) = crate::sys::android::log_event(KILLINFO_TAG, &k.encode()) {
        log::debug!("killinfo event not written: {e}");
    }
}

/// Dump requests from binder threads to the event loop.
pub struct DumpRequests {
    wake: OwnedFd,
    waiting: Mutex<Vec<SyncSender<String>>>,
}

impl DumpRequests {
    /// The eventfd the loop watches.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.wake.as_fd()
    }

    /// Hands `report` to every waiting `dump()` (the loop calls this on its token).
    pub fn answer(&self, report: &str) {
        let mut b = [0u8; 8];
        let _ = rustix::io::read(&self.wake, &mut b);
        for tx in self.waiting.lock().unwrap_or_else(|e| e.into_inner()).drain(..) {
            let _ = tx.try_send(report.to_owned());
        }
    }
}

struct LmkdService {
    requests: Arc<DumpRequests>,
}

impl Interface for LmkdService {
    // libbinder_rs's `dump` returns its crate-private `Result<(), StatusCode>`, not
    // `binder::Result` (which is over `Status`).
    fn dump(
        &self,
        writer: &mut dyn Write,
        _args: &[&std::ffi::CStr],
    ) -> std::result::Result<(), binder::StatusCode> {
        let (tx, rx) = sync_channel(1);
        self.requests.waiting.lock().unwrap_or_else(|e| e.into_inner()).push(tx);
        let _ = rustix::io::write(&self.requests.wake, &1u64.to_ne_bytes());
        let text = rx
            .recv_timeout(Duration::from_secs(2))
            .unwrap_or_else(|_| "lmkd did not answer in 2 s\n".to_owned());
        let _ = writer.write_all(text.as_bytes());
        Ok(())
    }
}

impl ILmkdService for LmkdService {}

/// Registers the `lmkd` service with servicemanager and starts the binder thread pool.
pub fn start_dump_service() -> std::io::Result<Arc<DumpRequests>> {
    let requests = Arc::new(DumpRequests {
        wake: eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)?,
        waiting: Mutex::new(Vec::new()),
    });
    let service = BnLmkdService::new_binder(
        LmkdService { requests: Arc::clone(&requests) },
        BinderFeatures::default(),
    );
    binder::add_service("lmkd", service.as_binder())
        .map_err(|e| std::io::Error::other(format!("add_service lmkd: {e:?}")))?;
    binder::ProcessState::start_thread_pool();
    Ok(requests)
}
