//! What the stand-ins in `../stubs` must accept and reject, as the real AOSP crates do.
//!
//! Without a `bite` cfg this is the shape of `src/android.rs` (a `dumpsys` service registered
//! with servicemanager) and must compile. Each `bite` value swaps in one mistake that Soong
//! rejects against the real libbinder_rs / AIDL output; `../bites.sh` expects its error code.

use binder::{BinderFeatures, Interface};
use lmkd_service_aidl::aidl::android::lmkd::ILmkdService::{BnLmkdService, ILmkdService};
use std::ffi::CStr;
use std::io::Write;
use std::sync::Mutex;

/// A service as `src/android.rs` writes it: `Send + Sync + 'static`.
pub struct Service {
    dumps: Mutex<u32>,
}

// Right: `dump` returns libbinder_rs's private `Result<(), StatusCode>`.
#[cfg(not(any(bite = "dump_binder_result", bite = "dump_file", bite = "no_interface")))]
impl Interface for Service {
    fn dump(
        &self,
        writer: &mut dyn Write,
        _args: &[&CStr],
    ) -> std::result::Result<(), binder::StatusCode> {
        *self.dumps.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        let _ = writer.write_all(b"ok\n");
        Ok(())
    }
}

// Wrong (E0053): the public `binder::Result`, over `Status` (the project's code before issue 15).
#[cfg(bite = "dump_binder_result")]
impl Interface for Service {
    fn dump(&self, _writer: &mut dyn Write, _args: &[&CStr]) -> binder::Result<()> {
        Ok(())
    }
}

// Wrong (E0053): Android 14's `dump(&File, ..)`.
#[cfg(bite = "dump_file")]
impl Interface for Service {
    fn dump(
        &self,
        _file: &std::fs::File,
        _args: &[&CStr],
    ) -> std::result::Result<(), binder::StatusCode> {
        Ok(())
    }
}

// Wrong (E0277) under `no_interface`: `ILmkdService` requires `binder::Interface`.
impl ILmkdService for Service {}

/// Registers the service the way `src/android.rs` does.
pub fn register() -> std::result::Result<(), binder::StatusCode> {
    let service =
        BnLmkdService::new_binder(Service { dumps: Mutex::new(0) }, BinderFeatures::default());
    binder::add_service("lmkd", service.as_binder())?;
    binder::ProcessState::start_thread_pool();
    Ok(())
}

/// Wrong (E0277): a service that is not `Sync` (binder threads call it concurrently).
#[cfg(bite = "not_sync")]
pub mod not_sync {
    use super::*;

    /// Counts in a `Cell`.
    pub struct Unsync {
        dumps: std::cell::Cell<u32>,
    }
    impl Interface for Unsync {}
    impl ILmkdService for Unsync {}

    /// Hands it to `new_binder`.
    pub fn register() {
        let _ = BnLmkdService::new_binder(
            Unsync { dumps: std::cell::Cell::new(0) },
            BinderFeatures::default(),
        );
    }
}

/// Wrong (`Interface: DowncastSync` implies `'static`): a service borrowing its state.
#[cfg(bite = "not_static")]
pub mod not_static {
    use super::*;

    /// Borrows a name.
    pub struct Borrowing<'a> {
        name: &'a str,
    }
    impl<'a> Interface for Borrowing<'a> {}
}

/// Wrong (E0277): `Strong<I>` requires `I: FromIBinder` (generated only for `dyn ILmkdService`).
#[cfg(bite = "strong_needs_frombinder")]
pub fn strong_of_service(_s: binder::Strong<Service>) {}

/// Wrong (E0308): `add_service` fails with a `StatusCode`, not a `Status`.
#[cfg(bite = "add_service_status")]
pub fn add_status() -> binder::Result<()> {
    let service =
        BnLmkdService::new_binder(Service { dumps: Mutex::new(0) }, BinderFeatures::default());
    let r: binder::Result<()> = binder::add_service("lmkd", service.as_binder());
    r
}
