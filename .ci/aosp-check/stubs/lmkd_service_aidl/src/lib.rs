//! Stand-in for the AIDL compiler's Rust output for aidl/android/lmkd/ILmkdService.aidl.
#![allow(missing_docs, non_snake_case)]

pub use binder;

pub mod aidl {
    pub mod android {
        pub mod lmkd {
            pub mod ILmkdService {
                use binder::{BinderFeatures, Interface, Strong};

                pub trait ILmkdService: Interface {}

                pub struct BnLmkdService;
                impl BnLmkdService {
                    pub fn new_binder<T: ILmkdService>(
                        inner: T,
                        _features: BinderFeatures,
                    ) -> Strong<dyn ILmkdService> {
                        Strong::new(Box::new(inner))
                    }
                }
            }
        }
    }
}
