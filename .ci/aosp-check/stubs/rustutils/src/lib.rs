//! Stand-in for AOSP's `librustutils` (crate `rustutils`, system/librustutils): signatures only,
//! type-checked by `.ci/run`, never linked or run.
//!
//! Mirrors: system/librustutils **main as of 2025-03-21** (the state issue 15 was checked
//! against; the same API as android15-qpr2-release and android16-release for the items below).
//! Read from public mirrors of that code: `inherited_fd.rs` at
//! GrapheneOS/platform_system_librustutils cbc8dbb098ae333d2d63bdf9f06dbccf6ad81b97,
//! `sockets.rs` at eee4f9324fd44c8b11c25e30c92df855af89bf74 and `system_properties/error.rs`
//! at 23c4aff04b975d91d3c3e23247db7f57d4f99b29 of the same repository, `lib.rs` and
//! `system_properties.rs` at VoltageOS-staging/system_librustutils
//! 152e96f084269783a0faf19ee73a66afce41f5e5 / e4897bdafc21df374636bb45bc197923cea0a3bd.
//!
//! The points the project depends on:
//! * `inherited_fd` exists (android15-qpr2-release and later) and `init_once` is an `unsafe fn`;
//! * `sockets::android_get_control_socket` returns `Result<OwnedFd, SocketError>` (android14 and
//!   android15-release returned `RawFd`);
//! * `system_properties::{read, write}` at the crate's top level (newer AOSP code imports them as
//!   `rustutils::android::system_properties`, which suggests a later move; see the README).
//!
//! Reduced: `PropertyWatcher`, `users` and `log` are left out (unused); `anyhow::Error` (one
//! error variant's payload) is a local stand-in, as the crate has no registry dependencies.
#![allow(missing_docs, unused_variables, dead_code)]

/// Stand-in for `anyhow::Error` (external/rust/crates/anyhow).
mod anyhow {
    pub struct Error(Box<dyn std::error::Error + Send + Sync + 'static>);

    impl std::fmt::Debug for Error {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            std::fmt::Debug::fmt(&self.0, f)
        }
    }
    impl std::fmt::Display for Error {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            std::fmt::Display::fmt(&self.0, f)
        }
    }
}

pub mod inherited_fd {
    use std::os::fd::{OwnedFd, RawFd};

    /// Why a descriptor could not be taken (`thiserror` derive in AOSP).
    #[derive(Debug, PartialEq)]
    pub enum Error {
        NotInitialized,
        OwnershipTaken(RawFd),
        FileDescriptorNotInherited(RawFd),
        FailCloseOnExec(RawFd),
    }

    impl std::fmt::Display for Error {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            unimplemented!()
        }
    }
    impl std::error::Error for Error {}

    /// Takes ownership of every descriptor open at start-up except stdio.
    ///
    /// # Safety
    ///
    /// Must run before anything in the process takes ownership of a descriptor.
    pub unsafe fn init_once() -> Result<(), std::io::Error> {
        unimplemented!()
    }

    pub fn take_fd_ownership(raw_fd: RawFd) -> Result<OwnedFd, Error> {
        unimplemented!()
    }
}

#[cfg(target_os = "android")]
pub mod sockets {
    use crate::inherited_fd;
    use std::os::fd::OwnedFd;

    /// `thiserror` derive in AOSP.
    #[derive(Debug)]
    pub enum SocketError {
        InvalidName(String),
        OwnershipFailed(inherited_fd::Error),
    }

    impl std::fmt::Display for SocketError {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            unimplemented!()
        }
    }
    impl std::error::Error for SocketError {}

    /// The init-created socket `name`, taken from `inherited_fd` (CLOEXEC set).
    pub fn android_get_control_socket(name: &str) -> Result<OwnedFd, SocketError> {
        unimplemented!()
    }
}

#[cfg(target_os = "android")]
pub mod system_properties {
    pub use self::error::{PropertyWatcherError, Result};

    pub mod error {
        /// `thiserror` derive in AOSP.
        #[derive(Debug)]
        pub enum PropertyWatcherError {
            BadNameError(std::ffi::NulError),
            SystemPropertyAbsent,
            Uninitialized,
            WaitFailed,
            ReadCallbackNotCalled,
            MissingCString,
            BadCString(std::str::Utf8Error),
            CallbackError(crate::anyhow::Error),
            SetPropertyFailed,
        }

        impl std::fmt::Display for PropertyWatcherError {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                unimplemented!()
            }
        }
        impl std::error::Error for PropertyWatcherError {}
        impl From<std::ffi::NulError> for PropertyWatcherError {
            fn from(e: std::ffi::NulError) -> Self {
                Self::BadNameError(e)
            }
        }
        impl From<std::str::Utf8Error> for PropertyWatcherError {
            fn from(e: std::str::Utf8Error) -> Self {
                Self::BadCString(e)
            }
        }

        pub type Result<T> = std::result::Result<T, PropertyWatcherError>;
    }

    /// `Ok(None)` when the property does not exist.
    pub fn read(name: &str) -> Result<Option<String>> {
        unimplemented!()
    }

    pub fn read_bool(name: &str, default_value: bool) -> Result<bool> {
        unimplemented!()
    }

    pub fn write(name: &str, value: &str) -> Result<()> {
        unimplemented!()
    }
}
