# Sourced by .ci/run and .ci/aosp-check/bites.sh (bash).
#
# The lints Soong applies to platform Rust code: build/soong rust/config/lints.go, the "android"
# lint set (what `lints: "default"` / `clippy_lints: "default"` select for a module outside
# external/, hardware/, prebuilts/ and vendor/, i.e. this project under system/). rustc gets
# `defaultRustcLints`; clippy-driver gets those plus `defaultClippyLints`.
# Copied as flags from AOSP main as of late 2025 (the state with b/438512272's
# `-A mismatched_lifetime_syntaxes` and 1.88's `-A clippy::uninlined_format_args`: mirrors
# omnirom/android_build_soong 84b05088f49e8debd8165a60647feb5a3de0beb2 and
# The-Clover-Project/build_soong 1f2342bb881391f0fb1523425febecc80780dfd9 agree). Those two
# allows exist for toolchains newer than android16-release's; `-A unknown_lints` keeps them
# harmless on older ones.
# shellcheck shell=bash disable=SC2034

SOONG_RUSTC_LINTS=(
    -A deprecated
    -A unknown_lints
    -D missing-docs
    -D warnings
    -D unsafe_op_in_unsafe_fn
    -A mismatched_lifetime_syntaxes
)

SOONG_CLIPPY_LINTS=(
    -A clippy::disallowed_names
    -A clippy::empty_line_after_doc_comments
    -A clippy::type-complexity
    -A clippy::unnecessary_fallible_conversions
    -A clippy::unnecessary-wraps
    -A clippy::unusual-byte-groupings
    -A clippy::upper-case-acronyms
    -A clippy::uninlined_format_args
    -D clippy::undocumented_unsafe_blocks
)

# RUSTFLAGS for the cfg(aosp_build) check: Soong's `cfgs: ["aosp_build"]` plus the rustc lints.
AOSP_RUSTFLAGS="--cfg aosp_build ${SOONG_RUSTC_LINTS[*]}"
