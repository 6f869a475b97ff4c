//! Stand-in for AOSP's librustutils (system/librustutils): signatures only.
#![allow(missing_docs, clippy::missing_safety_doc)]

pub mod system_properties {
    #[derive(Debug)]
    pub struct PropertyWatcherError;
    impl std::fmt::Display for PropertyWatcherError {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("property error")
        }
    }
    impl std::error::Error for PropertyWatcherError {}
    pub type Result<T> = std::result::Result<T, PropertyWatcherError>;

    pub fn read(_name: &str) -> Result<Option<String>> {
        unimplemented!()
    }
    pub fn write(_name: &str, _value: &str) -> Result<()> {
        unimplemented!()
    }
}

pub mod inherited_fd {
    pub unsafe fn init_once() -> Result<(), std::io::Error> {
        unimplemented!()
    }
}

pub mod sockets {
    #[derive(Debug)]
    pub enum SocketError {
        InvalidName(String),
    }
    impl std::fmt::Display for SocketError {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "{self:?}")
        }
    }
    impl std::error::Error for SocketError {}

    pub fn android_get_control_socket(_name: &str) -> Result<std::os::fd::OwnedFd, SocketError> {
        unimplemented!()
    }
}
