#!/usr/bin/env bash
# Proves that the cfg(aosp_build) check bites: the stand-in AOSP crates (stubs/) must reject what
# Soong rejects against the real libbinder_rs and AIDL output, or the check proves nothing.
#
# 1. The project's own code, mutated back to the `dump` signature issue 15 fixed (returning the
#    public `binder::Result<()>`): the CI's aosp_build clippy command must fail with E0053.
# 2. bites/: a known-good service (must compile) and known-bad variants selected by a `bite`
#    cfg, each of which must fail with its error code and no unrelated one.
#
# Run from anywhere: `bash .ci/aosp-check/bites.sh`. Needs the aarch64-linux-android target.
set -euo pipefail
cd "$(dirname "$0")/../.."
. .ci/aosp-check/soong-lints.sh

TARGET=aarch64-linux-android
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Error codes in a build log, sorted and unique, space-separated.
codes() { { grep -o '^error\[E[0-9]*\]' "$1" || true; } | sed 's/^error\[\(E[0-9]*\)\]/\1/' | sort -u | tr '\n' ' '; }

# expect NAME LOG STATUS REQUIRED [ALLOWED...]: the build failed, REQUIRED is among its error
# codes, and every code is REQUIRED or ALLOWED.
expect() {
    local name=$1 log=$2 status=$3 required=$4
    shift 4
    local got
    got=$(codes "$log")
    if [ "$status" -eq 0 ]; then
        echo "FAIL $name: compiled, expected $required"
        fail=1
        return
    fi
    if [[ " $got" != *" $required "* ]]; then
        echo "FAIL $name: expected $required, got: ${got:-no error code}"
        sed -n '1,40p' "$log"
        fail=1
        return
    fi
    for c in $got; do
        if [ "$c" != "$required" ] && [[ " $* " != *" $c "* ]]; then
            echo "FAIL $name: unexpected $c (expected $required)"
            sed -n '1,40p' "$log"
            fail=1
            return
        fi
    done
    echo "ok   $name: $got"
}

# 1. The real code with the pre-issue-15 `dump` signature, checked by the CI's own command.
mkdir -p "$tmp/tree/.ci/aosp-check"
cp -R src "$tmp/tree/src"
cp .ci/aosp-check/Cargo.toml .ci/aosp-check/Cargo.lock "$tmp/tree/.ci/aosp-check/"
cp -R .ci/aosp-check/stubs "$tmp/tree/.ci/aosp-check/stubs"
right='-> std::result::Result<(), binder::StatusCode> {'
n=$(grep -cF -- "$right" "$tmp/tree/src/android.rs" || true)
if [ "$n" != 1 ]; then
    echo "FAIL mutation: src/android.rs has $n lines '$right' (expected 1); update bites.sh"
    exit 1
fi
sed -i "s/-> std::result::Result<(), binder::StatusCode> {/-> binder::Result<()> {/" \
    "$tmp/tree/src/android.rs"
status=0
RUSTFLAGS="$AOSP_RUSTFLAGS" cargo clippy --manifest-path "$tmp/tree/.ci/aosp-check/Cargo.toml" \
    --lib --target "$TARGET" --target-dir target/aosp-check --quiet \
    -- "${SOONG_CLIPPY_LINTS[@]}" >"$tmp/mutant.log" 2>&1 || status=$?
expect "src/android.rs with dump() -> binder::Result<()>" "$tmp/mutant.log" "$status" E0053

# 2. The snippets. Only the snippet crate gets the `bite` cfg (cargo rustc), so the stand-ins are
# built once.
bite() {
    local cfg=$1
    shift
    local args=() status=0
    [ -n "$cfg" ] && args=(--cfg "bite=\"$cfg\"")
    RUSTFLAGS="$AOSP_RUSTFLAGS" cargo rustc --manifest-path .ci/aosp-check/bites/Cargo.toml \
        --lib --profile check --target "$TARGET" --target-dir target/aosp-bites --quiet \
        -- "${args[@]}" >"$tmp/bite.log" 2>&1 || status=$?
    if [ -z "$cfg" ]; then
        if [ "$status" -ne 0 ]; then
            echo "FAIL good service: does not compile against the stand-ins"
            cat "$tmp/bite.log"
            fail=1
        else
            echo "ok   good service compiles"
        fi
    else
        expect "bite=$cfg" "$tmp/bite.log" "$status" "$@"
    fi
}

bite ""
bite dump_binder_result E0053
bite dump_file E0053
bite not_sync E0277
bite not_static E0478 E0495 E0803
bite no_interface E0277
bite strong_needs_frombinder E0277
bite add_service_status E0308

if [ "$fail" -ne 0 ]; then
    echo "the stand-in AOSP crates accept code Soong would reject (or reject good code)"
    exit 1
fi
echo "the stand-ins bite"
