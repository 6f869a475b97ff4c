//! Stand-in for the crate Soong generates from `aidl/android/lmkd/ILmkdService.aidl`
//! (`lmkd_service_aidl-rust`, crate `lmkd_service_aidl`): what the AIDL compiler's Rust backend
//! emits for an interface without methods, plus what `binder::declare_binder_interface!` expands
//! it to. Signatures and bounds only, type-checked by `.ci/run`, never linked or run.
//!
//! Mirrors: system/tools/aidl and frameworks/native **android16-release**. The shape is read from
//! the android-16 tree's golden outputs (zheng-hanhan/android-16
//! 8af99620d43c576e032157392cc18f5394710d49: `system/tools/aidl/tests/golden_output/frozen/
//! aidl-test-interface-rust-source/gen/android/aidl/tests/ListOfInterfaces.rs`, whose
//! `IEmptyInterface` has no methods, and `INamedCallback.rs` for a top-level file) and its
//! `system/tools/aidl/build/aidl_rust_glue.py` (the crate root); the macro expansion from
//! `declare_binder_interface!` in frameworks/native `libs/binder/rust/src/binder.rs`
//! (AOSPA/android_frameworks_native 4a6cf5a5b235a983a2242e424d4739671c14826a).
//!
//! What an implementation of the service must satisfy, as in Soong:
//! * `ILmkdService: binder::Interface + Send` (so `Send + Sync + DowncastSync`, hence `'static`);
//! * `BnLmkdService` is a newtype over `Box<dyn ILmkdService + Sync + Send + 'static>`, and
//!   `new_binder<T: ILmkdService + Sync + Send + 'static>(T, BinderFeatures)
//!   -> Strong<dyn ILmkdService>`;
//! * `dyn ILmkdService: FromIBinder` (what `Strong<dyn ILmkdService>` requires);
//! * `Remotable::on_dump` forwards to the service's `Interface::dump`.
//!
//! Reduced: the real crate also depends on `libstatic_assertions` and `libasync_trait`;
//! `#[async_trait]` on `ILmkdServiceAsyncServer` is left out (it changes nothing for a trait
//! without methods), as are the parcel `Serialize`/`SerializeOption` impls and the `cfg`
//! variants for `android_vndk`/`android_ndk` (the platform values are kept).
#![allow(non_snake_case)]
#![allow(missing_docs)]
#[deprecated(note = "Please access via libbinder_rs binder::")]
pub use binder;

pub mod aidl {
    pub mod android {
        pub mod lmkd {
            #[allow(clippy::all, dead_code, unused_variables)]
            pub mod ILmkdService {
                #![forbid(unsafe_code)]
                #![allow(non_upper_case_globals)]
                #![allow(non_snake_case)]
                #[allow(unused_imports)]
                use binder::binder_impl::IBinderInternal;

                // Platform (not NDK) value.
                const FLAG_PRIVATE_LOCAL: binder::binder_impl::TransactionFlags =
                    binder::binder_impl::FLAG_PRIVATE_LOCAL;

                const DESCRIPTOR: &str = "android.lmkd.ILmkdService";

                // ---- expansion of `declare_binder_interface! { ILmkdService[...] {
                //      native: BnLmkdService(on_transact), proxy: BpLmkdService {},
                //      async: ILmkdServiceAsync(try_into_local_async), } }` ----

                /// The proxy: a remote `ILmkdService`.
                pub struct BpLmkdService {
                    binder: binder::SpIBinder,
                }

                impl binder::Interface for BpLmkdService {
                    fn as_binder(&self) -> binder::SpIBinder {
                        self.binder.clone()
                    }
                }

                impl binder::binder_impl::Proxy for BpLmkdService
                where
                    BpLmkdService: ILmkdService,
                {
                    fn get_descriptor() -> &'static str {
                        DESCRIPTOR
                    }
                    fn from_binder(
                        binder: binder::SpIBinder,
                    ) -> std::result::Result<Self, binder::StatusCode> {
                        Ok(Self { binder })
                    }
                }

                /// The native object: holds the service implementation.
                #[repr(transparent)]
                pub struct BnLmkdService(Box<dyn ILmkdService + Sync + Send + 'static>);

                impl BnLmkdService {
                    /// Creates a new binder service.
                    pub fn new_binder<T: ILmkdService + Sync + Send + 'static>(
                        inner: T,
                        features: binder::BinderFeatures,
                    ) -> binder::Strong<dyn ILmkdService> {
                        let mut binder = binder::binder_impl::Binder::new_with_stability(
                            BnLmkdService(Box::new(inner)),
                            binder::binder_impl::Stability::default(),
                        );
                        binder::binder_impl::IBinderInternal::set_requesting_sid(
                            &mut binder,
                            features.set_requesting_sid,
                        );
                        binder::Strong::new(Box::new(binder))
                    }

                    /// The service object if it is a `T`.
                    pub fn downcast_binder<T: ILmkdService>(&self) -> Option<&T> {
                        self.0.as_any().downcast_ref::<T>()
                    }
                }

                impl binder::binder_impl::Remotable for BnLmkdService {
                    fn get_descriptor() -> &'static str {
                        DESCRIPTOR
                    }
                    fn on_transact(
                        &self,
                        code: binder::binder_impl::TransactionCode,
                        data: &binder::binder_impl::BorrowedParcel<'_>,
                        reply: &mut binder::binder_impl::BorrowedParcel<'_>,
                    ) -> std::result::Result<(), binder::StatusCode> {
                        on_transact(&*self.0, code, data, reply)
                    }
                    fn on_dump(
                        &self,
                        writer: &mut dyn std::io::Write,
                        args: &[&std::ffi::CStr],
                    ) -> std::result::Result<(), binder::StatusCode> {
                        self.0.dump(writer, args)
                    }
                    fn get_class() -> binder::binder_impl::InterfaceClass {
                        unimplemented!()
                    }
                }

                impl binder::FromIBinder for dyn ILmkdService {
                    fn try_from(
                        ibinder: binder::SpIBinder,
                    ) -> std::result::Result<binder::Strong<dyn ILmkdService>, binder::StatusCode>
                    {
                        unimplemented!()
                    }
                }

                impl std::fmt::Debug for dyn ILmkdService + '_ {
                    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.pad("ILmkdService")
                    }
                }

                impl std::borrow::ToOwned for dyn ILmkdService {
                    type Owned = binder::Strong<dyn ILmkdService>;
                    fn to_owned(&self) -> Self::Owned {
                        unimplemented!()
                    }
                }

                impl<P: binder::BinderAsyncPool + 'static> binder::FromIBinder for dyn ILmkdServiceAsync<P> {
                    fn try_from(
                        ibinder: binder::SpIBinder,
                    ) -> std::result::Result<
                        binder::Strong<dyn ILmkdServiceAsync<P>>,
                        binder::StatusCode,
                    > {
                        unimplemented!()
                    }
                }

                impl<P: binder::BinderAsyncPool + 'static> std::fmt::Debug for dyn ILmkdServiceAsync<P> + '_ {
                    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.pad("ILmkdServiceAsync")
                    }
                }

                impl<P: binder::BinderAsyncPool + 'static> binder::binder_impl::ToAsyncInterface<P>
                    for dyn ILmkdService
                {
                    type Target = dyn ILmkdServiceAsync<P>;
                }

                impl<P: binder::BinderAsyncPool + 'static> binder::binder_impl::ToSyncInterface
                    for dyn ILmkdServiceAsync<P>
                {
                    type Target = dyn ILmkdService;
                }

                // ---- the AIDL backend's own output ----

                /// `android.lmkd.ILmkdService`: no methods; `dumpsys lmkd` calls `dump()`.
                pub trait ILmkdService: binder::Interface + Send {
                    fn get_descriptor() -> &'static str
                    where
                        Self: Sized,
                    {
                        DESCRIPTOR
                    }
                    fn getDefaultImpl() -> ILmkdServiceDefaultRef
                    where
                        Self: Sized,
                    {
                        unimplemented!()
                    }
                    fn setDefaultImpl(d: ILmkdServiceDefaultRef) -> ILmkdServiceDefaultRef
                    where
                        Self: Sized,
                    {
                        unimplemented!()
                    }
                    fn try_as_async_server<'a>(
                        &'a self,
                    ) -> Option<&'a (dyn ILmkdServiceAsyncServer + Send + Sync)>
                    {
                        None
                    }
                }

                pub trait ILmkdServiceAsync<P>: binder::Interface + Send {
                    fn get_descriptor() -> &'static str
                    where
                        Self: Sized,
                    {
                        DESCRIPTOR
                    }
                }

                // `#[::async_trait::async_trait]` in AOSP.
                pub trait ILmkdServiceAsyncServer: binder::Interface + Send {
                    fn get_descriptor() -> &'static str
                    where
                        Self: Sized,
                    {
                        DESCRIPTOR
                    }
                }

                impl BnLmkdService {
                    /// Creates a new async binder service.
                    pub fn new_async_binder<T, R>(
                        inner: T,
                        rt: R,
                        features: binder::BinderFeatures,
                    ) -> binder::Strong<dyn ILmkdService>
                    where
                        T: ILmkdServiceAsyncServer + binder::Interface + Send + Sync + 'static,
                        R: binder::binder_impl::BinderAsyncRuntime + Send + Sync + 'static,
                    {
                        unimplemented!()
                    }

                    pub fn try_into_local_async<P: binder::BinderAsyncPool + 'static>(
                        _native: binder::binder_impl::Binder<Self>,
                    ) -> Option<binder::Strong<dyn ILmkdServiceAsync<P>>> {
                        unimplemented!()
                    }
                }

                pub trait ILmkdServiceDefault: Send + Sync {}

                pub mod transactions {}

                pub type ILmkdServiceDefaultRef = Option<std::sync::Arc<dyn ILmkdServiceDefault>>;

                static DEFAULT_IMPL: std::sync::Mutex<ILmkdServiceDefaultRef> =
                    std::sync::Mutex::new(None);

                impl BpLmkdService {}

                impl ILmkdService for BpLmkdService {}

                impl<P: binder::BinderAsyncPool> ILmkdServiceAsync<P> for BpLmkdService {}

                impl ILmkdService for binder::binder_impl::Binder<BnLmkdService> {}

                fn on_transact(
                    _aidl_service: &dyn ILmkdService,
                    _aidl_code: binder::binder_impl::TransactionCode,
                    _aidl_data: &binder::binder_impl::BorrowedParcel<'_>,
                    _aidl_reply: &mut binder::binder_impl::BorrowedParcel<'_>,
                ) -> std::result::Result<(), binder::StatusCode> {
                    Err(binder::StatusCode::UNKNOWN_TRANSACTION)
                }

                pub(crate) mod mangled {
                    pub use super::ILmkdService as _7_android_4_lmkd_12_ILmkdService;
                }
            }
        }
    }
}

pub mod mangled {
    pub use super::aidl::android::lmkd::ILmkdService::mangled::*;
}
