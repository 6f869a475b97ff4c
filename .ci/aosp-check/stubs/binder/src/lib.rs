//! Stand-in for AOSP's libbinder_rs (frameworks/native/libs/binder/rust): signatures only.
#![allow(missing_docs)]

use std::ffi::CStr;
use std::io::Write;

#[derive(Debug)]
pub struct Status;
#[derive(Debug, Clone, Copy)]
pub enum StatusCode {
    Ok,
}
pub type Result<T> = std::result::Result<T, Status>;

#[derive(Default)]
pub struct BinderFeatures {
    pub set_requesting_sid: bool,
}

pub struct SpIBinder;

pub trait Interface: Send + Sync + 'static {
    fn as_binder(&self) -> SpIBinder {
        unimplemented!()
    }
    fn dump(&self, _writer: &mut dyn Write, _args: &[&CStr]) -> Result<()> {
        Ok(())
    }
}

pub struct Strong<I: ?Sized>(Box<I>);
impl<I: ?Sized> Strong<I> {
    pub fn new(b: Box<I>) -> Self {
        Strong(b)
    }
}
impl<I: ?Sized> std::ops::Deref for Strong<I> {
    type Target = I;
    fn deref(&self) -> &I {
        &self.0
    }
}

pub fn add_service(_name: &str, _binder: SpIBinder) -> std::result::Result<(), StatusCode> {
    unimplemented!()
}

pub struct ProcessState;
impl ProcessState {
    pub fn start_thread_pool() {}
    pub fn join_thread_pool() {}
}
