#!/usr/bin/env bash
# The device-like test lane: a small phone in a VM (1 GiB RAM, 2 vCPUs, zram swap, AOSP's 1 s
# PSI windows) that runs the daemon in its Android default mode, which a development host cannot
# (see the README, "The VM lane"). It
#
#   1. fetches the Debian kernel (resolved through linux-image-amd64), busybox-static and QEMU
#      with `apt-get download` into a cache directory and unpacks them there (nothing is
#      installed, /etc/apt is not touched);
#   2. builds the daemon and the guest test driver (examples/vm_driver.rs) as static binaries;
#   3. stages an initramfs (busybox, tests/vm/init.sh as /init, the binaries, the memevents BPF
#      object built from tests/bpf/memevents.bpf.c with clang and the host's bpftool with its
#      shared libraries, the kernel modules for zram, lz4/zstd, virtio-blk and ext4 with their
#      dependencies);
#   4. boots the guest under TCG (KVM with LMKD_VM_ACCEL=kvm on a machine where it works) under
#      `timeout`; the guest reports on its second serial port (the results channel);
#   5. copies the guest's daemon logs, kill histories and decision traces out of the results
#      channel, prints a summary of every kill, and passes only if the guest reported
#      `RESULT PASS`.
#
# Usage: tests/vm/run.sh [--scenarios a,b,c,d] [--repeat N | --bench N | --bench-race N]
#   --scenarios LIST  the guest scenarios to run (default a,b,c,d,e; see examples/vm_driver.rs)
#   --repeat N        boot N times, each running the scenarios; per boot PASS/FAIL and
#                     scenario (d)'s first pressure event → first kill, then a summary (passes
#                     of N; min/median/max of that time); fails unless every boot passed
#   --bench N         instead: scenario (a) N times with the daemon and N times without it
#                     (the kernel's OOM killer alone), alternating in one boot, then a table
#                     of medians for BENCHMARKS.md
#   --bench-race N    instead: the allocation-rate race, N rounds (one boot each): in each, for
#                     every rate, a run with ro.lmk.predictive_kill=true, one with =false and
#                     one with no daemon (the order rotated by round); a table per rate and
#                     the highest rate at which the daemon killed before the kernel in every
#                     run (BENCHMARKS.md, "VM lane")
#   --rates LIST      --bench-race's rates, MiB/s (default 16,64,128,256,512)
#   --modes LIST      --bench-race's modes (default on,off,kernel)
# Environment:
#   LMKD_VM_CACHE     download cache (default ${XDG_CACHE_HOME:-$HOME/.cache}/lmkd-vm)
#   LMKD_VM_OUT       results: console log, results channel, daemon logs, kill histories,
#                     decision traces (default target/vm-lane)
#   LMKD_VM_TIMEOUT   seconds one boot may take (default 420; with --bench N, 120 + 200 per
#                     round; with --bench-race, from the rates)
#   LMKD_VM_ACCEL     tcg (default) or kvm
#   LMKD_VM_LOCK      a lock file: each boot runs under `flock` on it (machines shared with
#                     other memory-heavy jobs)
#   LMKD_VM_QEMU      a qemu-system-x86_64 to use instead of the downloaded one
set -euo pipefail

T0=$(date +%s.%N)
LOCK_WAIT=0
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CACHE=${LMKD_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lmkd-vm}
OUT=${LMKD_VM_OUT:-$ROOT/target/vm-lane}
TIMEOUT=${LMKD_VM_TIMEOUT:-420}
ACCEL=${LMKD_VM_ACCEL:-tcg}
SCENARIOS=a,b,c,d,e
SCENARIOS_GIVEN=
BENCH=0
REPEAT=0
RACE=0
RATES=16,64,128,256,512
MODES=on,off,kernel
# Guest size: a low-RAM phone.
MEM_MIB=1024
CPUS=2
# Kernel modules the guest loads (their dependencies are added from modules.dep).
MODULES="zram lz4 zstd virtio_pci virtio_blk ext4 crc32c_generic"

while (($#)); do
    case $1 in
        --scenarios) SCENARIOS=$2; SCENARIOS_GIVEN=1; shift 2 ;;
        --bench) BENCH=$2; shift 2 ;;
        --repeat) REPEAT=$2; shift 2 ;;
        --bench-race) RACE=$2; shift 2 ;;
        --rates) RATES=$2; shift 2 ;;
        --modes) MODES=$2; shift 2 ;;
        -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
[[ $SCENARIOS =~ ^[a-e](,[a-e])*$ ]] || { echo "run.sh: bad --scenarios $SCENARIOS" >&2; exit 2; }
[[ $BENCH =~ ^[0-9]+$ ]] || { echo "run.sh: --bench needs a number" >&2; exit 2; }
[[ $REPEAT =~ ^[0-9]+$ ]] || { echo "run.sh: --repeat needs a number" >&2; exit 2; }
[[ $RACE =~ ^[0-9]+$ ]] || { echo "run.sh: --bench-race needs a number" >&2; exit 2; }
[[ $RATES =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]] || { echo "run.sh: bad --rates $RATES" >&2; exit 2; }
[[ $MODES =~ ^(on|off|kernel)(,(on|off|kernel))*$ ]] || { echo "run.sh: bad --modes $MODES" >&2; exit 2; }
(((BENCH > 0) + (REPEAT > 0) + (RACE > 0) <= 1)) \
    || { echo "run.sh: --repeat, --bench and --bench-race exclude each other" >&2; exit 2; }
((BENCH == 0)) || TIMEOUT=${LMKD_VM_TIMEOUT:-$((120 + 200 * BENCH))}
if ((RACE > 0)); then
    # A bound, not an estimate: per run, twice the growth of about 560 MiB at the rate, plus
    # the app start-up, the settling and the wait for memory to come back.
    t=120
    for rate in ${RATES//,/ }; do
        for _ in ${MODES//,/ }; do t=$((t + 2 * 560 / rate + 45)); done
    done
    TIMEOUT=${LMKD_VM_TIMEOUT:-$t}
fi

step() { printf '\n==> [%5.1fs] %s\n' "$(elapsed)" "$*"; }
elapsed() { awk -v a="$(date +%s.%N)" -v b="$T0" 'BEGIN { printf "%.1f", a - b }'; }
die() { echo "run.sh: $*" >&2; exit 1; }
waited() { awk -v w="$LOCK_WAIT" 'BEGIN { if (w > 0) printf "; %.0f s of the total spent waiting for the lock", w }'; }

command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null \
    || die "needs apt-get and dpkg-deb (a Debian or Ubuntu machine with bookworm-like sources)"
mkdir -p "$CACHE/debs" "$OUT"

# apt-get download into the cache (file names carry the versions, so a cached .deb is reused
# until the candidate version changes). If the lists are too old to download from, update them
# once (root only; this touches /var/lib/apt/lists, never /etc/apt).
APT_UPDATED=0
apt_update() {
    ((APT_UPDATED == 0)) && [ "$(id -u)" = 0 ] || return 1
    APT_UPDATED=1
    apt-get update -qq
}
fetch() {
    local missing=() spec
    for spec in "$@"; do
        [ -n "$(deb_path "$spec")" ] || missing+=("$spec")
    done
    ((${#missing[@]})) || return 0
    if ! (cd "$CACHE/debs" && apt-get download -qq -o APT::Sandbox::User=root "${missing[@]}"); then
        apt_update || die "apt-get download ${missing[*]} failed"
        (cd "$CACHE/debs" && apt-get download -qq -o APT::Sandbox::User=root "${missing[@]}") \
            || die "apt-get download ${missing[*]} failed"
    fi
}
# The cached .deb of "name=version" (apt-get download writes ':' in versions as %3a), if any.
deb_path() {
    local name=${1%%=*} ver=${1#*=} f
    for f in "$CACHE/debs/${name}_${ver//:/%3a}_"*.deb; do
        [ -s "$f" ] && echo "$f" && return 0
    done
}
# "name=version" of each package's candidate, from one apt-cache call (lists updated once
# if a package has none).
candidates() {
    local out
    out=$(apt-cache policy "$@" 2>/dev/null \
        | awk '/^[^ ].*:$/ { n = substr($0, 1, length($0) - 1) } /^  Candidate:/ && $2 != "(none)" { print n "=" $2 }')
    if [ "$(echo "$out" | grep -c .)" -lt $# ] && apt_update; then
        out=$(apt-cache policy "$@" 2>/dev/null \
            | awk '/^[^ ].*:$/ { n = substr($0, 1, length($0) - 1) } /^  Candidate:/ && $2 != "(none)" { print n "=" $2 }')
    fi
    [ "$(echo "$out" | grep -c .)" -ge $# ] || die "no apt candidate for some of: $* (apt-get update?)"
    echo "$out"
}

# ---------------------------------------------------------------------------------------------
step "packages (cache: $CACHE)"
# The kernel: whatever linux-image-amd64 depends on today, so that a security update (a new
# ABI name such as linux-image-6.1.0-57-amd64) does not break the lane.
candidates linux-image-amd64 >/dev/null
KPKG=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
[ -n "$KPKG" ] || die "cannot resolve linux-image-amd64 to a kernel package"
mapfile -t kb < <(candidates "$KPKG" busybox-static)
KVER_PKG=$(printf '%s\n' "${kb[@]}" | sed -n "s/^$KPKG=//p")
BBVER=$(printf '%s\n' "${kb[@]}" | sed -n 's/^busybox-static=//p')
fetch "$KPKG=$KVER_PKG" "busybox-static=$BBVER"
KDEB=$(deb_path "$KPKG=$KVER_PKG")
BBDEB=$(deb_path "busybox-static=$BBVER")
echo "kernel  $KPKG $KVER_PKG"
echo "busybox busybox-static $BBVER"

# busybox: one static binary.
BBDIR=$CACHE/busybox-${BBVER//:/_}
if [ ! -x "$BBDIR/bin/busybox" ]; then
    rm -rf "$BBDIR.tmp" && mkdir -p "$BBDIR.tmp"
    dpkg-deb -x "$BBDEB" "$BBDIR.tmp"
    rm -rf "$BBDIR" && mv "$BBDIR.tmp" "$BBDIR"
fi
BB=$BBDIR/bin/busybox

# The kernel: vmlinuz and the modules the guest needs with their dependency closure, taken
# from the whole tree (unpacked once, then thrown away) and kept keyed by package version and
# module list.
KKEY=$(echo "$KVER_PKG $MODULES" | md5sum | cut -c1-8)
KDIR=$CACHE/kernel-$KPKG-$KVER_PKG-$KKEY
if [ ! -s "$KDIR/vmlinuz" ]; then
    step "unpacking $KPKG $KVER_PKG"
    rm -rf "$KDIR.tmp" "$KDIR" && mkdir -p "$KDIR.tmp/full" "$KDIR.tmp/keep"
    # Only vmlinuz and the module directories the closure of $MODULES lives in (the whole
    # tree is 400 MB on disk); a dependency outside them would fail loudly at modprobe time.
    dpkg-deb --fsys-tarfile "$KDEB" | tar -x -C "$KDIR.tmp/full" --wildcards --no-same-owner \
        './boot/vmlinuz-*' './lib/modules/*/kernel/drivers/block' './lib/modules/*/kernel/drivers/virtio' \
        './lib/modules/*/kernel/crypto' './lib/modules/*/kernel/lib' './lib/modules/*/kernel/mm' \
        './lib/modules/*/kernel/fs/ext4' './lib/modules/*/kernel/fs/jbd2' './lib/modules/*/kernel/fs/mbcache.ko*' \
        './lib/modules/*/modules.builtin*' './lib/modules/*/modules.order'
    kver=$(ls "$KDIR.tmp/full/lib/modules")
    # The .deb ships no modules.dep; busybox's depmod makes one.
    "$BB" depmod -b "$KDIR.tmp/full" "$kver"
    dep=$KDIR.tmp/full/lib/modules/$kver/modules.dep
    mods=()
    for m in $MODULES; do
        line=$(grep -E "(^|/)$m\.ko(\.xz|\.zst)?:" "$dep" | head -1) || true
        [ -n "$line" ] || die "module $m is not in $KPKG"
        mods+=("${line%%:*}" ${line#*:})
    done
    for p in $(printf '%s\n' "${mods[@]}" | sort -u); do
        mkdir -p "$KDIR.tmp/keep/lib/modules/$kver/$(dirname "$p")"
        cp "$KDIR.tmp/full/lib/modules/$kver/$p" "$KDIR.tmp/keep/lib/modules/$kver/$p"
        case $p in
            *.xz) "$BB" unxz "$KDIR.tmp/keep/lib/modules/$kver/$p" ;;
            *.zst) zstd -q -d --rm "$KDIR.tmp/keep/lib/modules/$kver/$p" ;;
        esac
    done
    cp "$KDIR.tmp/full/boot/vmlinuz-$kver" "$KDIR.tmp/keep/vmlinuz"
    echo "$kver" >"$KDIR.tmp/keep/kver"
    rm -rf "$KDIR.tmp/full"
    mv "$KDIR.tmp/keep" "$KDIR" && rm -rf "$KDIR.tmp"
    # Older kernels of this cache are superseded.
    for old in "$CACHE"/kernel-*; do
        [ "$old" = "$KDIR" ] || rm -rf "$old"
    done
fi
KVER=$(cat "$KDIR/kver")

# QEMU: qemu-system-x86 and whatever of its dependencies this machine lacks, unpacked side by
# side and run with LD_LIBRARY_PATH (installing it could replace packages of the host's own,
# e.g. a newer qemu-utils from backports).
if [ -n "${LMKD_VM_QEMU:-}" ]; then
    QEMU=$LMKD_VM_QEMU
    QEMU_ARGS=()
    QEMU_ENV=()
else
    mapfile -t qpkgs < <(
        {
            printf '%s\n' qemu-system-x86 qemu-system-common qemu-system-data seabios
            apt-get install -s -qq --no-install-recommends qemu-system-x86 2>/dev/null \
                | awk '/^Inst /{print $2}'
        } | sort -u
    )
    mapfile -t specs < <(candidates "${qpkgs[@]}")
    QVER=$(printf '%s\n' "${specs[@]}" | sed -n 's/^qemu-system-x86=//p')
    QKEY=$(printf '%s\n' "${specs[@]}" | md5sum | cut -c1-8)
    QDIR=$CACHE/qemu-${QVER//:/_}-$QKEY   # no ':': the path goes into LD_LIBRARY_PATH
    if [ ! -x "$QDIR/usr/bin/qemu-system-x86_64" ]; then
        fetch "${specs[@]}"
        step "unpacking qemu-system-x86 $QVER (${#specs[@]} packages)"
        rm -rf "$QDIR.tmp" && mkdir -p "$QDIR.tmp"
        for s in "${specs[@]}"; do dpkg-deb -x "$(deb_path "$s")" "$QDIR.tmp"; done
        rm -rf "$QDIR" && mv "$QDIR.tmp" "$QDIR"
        for old in "$CACHE"/qemu-*; do
            [ "$old" = "$QDIR" ] || rm -rf "$old"
        done
    fi
    echo "qemu    qemu-system-x86 $QVER (+$((${#specs[@]} - 1)) packages)"
    QEMU=$QDIR/usr/bin/qemu-system-x86_64
    QEMU_ARGS=(-L "$QDIR/usr/share/qemu" -L "$QDIR/usr/share/seabios")
    QEMU_ENV=(env "LD_LIBRARY_PATH=$QDIR/usr/lib/x86_64-linux-gnu:$QDIR/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}")
fi
"${QEMU_ENV[@]}" "$QEMU" --version | head -1

# ---------------------------------------------------------------------------------------------
step "building the daemon and the guest driver (release, static)"
# The daemon as it ships (the release profile); the driver in a target dir of its own, without
# LTO, so that changing it costs seconds and never invalidates the main build.
(cd "$ROOT" && cargo build --release --quiet --bin lmkd)
(cd "$ROOT" && CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
    cargo build --release --quiet --example vm_driver --target-dir target/vm)
TARGET_DIR=$(cd "$ROOT" && cargo metadata --format-version 1 --no-deps \
    | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
LMKD_BIN=$TARGET_DIR/release/lmkd
DRIVER_BIN=$ROOT/target/vm/release/examples/vm_driver
for b in "$LMKD_BIN" "$DRIVER_BIN"; do
    file -L "$b" | grep -q 'statically linked\|static-pie linked' \
        || die "$b is not a static executable (.cargo/config.toml sets +crt-static): $(file -L "$b")"
done

# ---------------------------------------------------------------------------------------------
step "initramfs"
WORK=$OUT/work
rm -rf "$WORK" && mkdir -p "$WORK/stage"
S=$WORK/stage
mkdir -p "$S"/{bin,dev,proc,sys,tmp,data,mnt} "$S/lib/modules"
cp "$BB" "$S/bin/busybox"
ln -s busybox "$S/bin/sh"
ln -s bin "$S/sbin"
cp "$ROOT/tests/vm/init.sh" "$S/init"
chmod 755 "$S/init"
cp "$LMKD_BIN" "$S/bin/lmkd"
cp "$DRIVER_BIN" "$S/bin/vm_driver"
cp -r "$KDIR/lib/modules/$KVER" "$S/lib/modules/"
# The memevents object and a loader for it, for scenario (e) only (the other scenarios' guest
# stays as it was when AOSP lmkd was measured in it): scenario (e) pins it with bpftool, as
# Android's BPF loader would; bpftool goes in with its shared libraries (and the dynamic loader)
# at the paths it was linked with.
if ((BENCH == 0 && RACE == 0)) && [[ ,$SCENARIOS, == *,e,* ]]; then
    for t in clang bpftool ldd; do
        command -v $t >/dev/null || die "needs $t (apt-get install clang bpftool libbpf-dev) for the memevents object"
    done
    clang -O2 -g -target bpf "-I/usr/include/$(uname -m)-linux-gnu" \
        -c "$ROOT/tests/bpf/memevents.bpf.c" -o "$S/memevents.bpf.o" \
        || die "clang could not build tests/bpf/memevents.bpf.c"
    BPFTOOL=$(readlink -f "$(command -v bpftool)")
    cp "$BPFTOOL" "$S/bin/bpftool"
    for lib in $(ldd "$BPFTOOL" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do
        mkdir -p "$S$(dirname "$lib")"
        cp -L "$lib" "$S$lib"
    done
fi
"$BB" depmod -b "$S" "$KVER"
(cd "$S" && find . | "$BB" cpio -o -H newc -R 0:0 2>/dev/null | gzip -1 >"$WORK/initramfs.cpio.gz")
echo "initramfs $(du -h "$WORK/initramfs.cpio.gz" | cut -f1), kernel $KVER"

# ---------------------------------------------------------------------------------------------
# One boot: runs the driver with the given arguments; leaves console.log and results.txt in
# $1 and returns the guest's verdict.
boot() {
    local dir=$1 driver_args=$2 rc=0
    mkdir -p "$dir"
    rm -f "$dir/console.log" "$dir/results.txt"
    # The thrashing scenario's files live on a disk (page cache that can be dropped and read
    # back); a sparse image, made afresh for each boot.
    rm -f "$WORK/disk.img" && truncate -s 512M "$WORK/disk.img"
    local accel=(-accel tcg -cpu max)
    [ "$ACCEL" = kvm ] && accel=(-accel kvm -cpu host)
    # The lock (if any) is taken before the clock starts: waiting for it is not the boot's time.
    local lockfd= w0
    if [ -n "${LMKD_VM_LOCK:-}" ]; then
        exec {lockfd}>>"$LMKD_VM_LOCK"
        w0=$(date +%s.%N)
        flock "$lockfd"
        LOCK_WAIT=$(awk -v a="$(date +%s.%N)" -v b="$w0" -v c="$LOCK_WAIT" 'BEGIN { printf "%.1f", c + a - b }')
    fi
    local t
    t=$(date +%s.%N)
    timeout --foreground -k 10 "$TIMEOUT" "${QEMU_ENV[@]}" "$QEMU" "${QEMU_ARGS[@]}" \
        "${accel[@]}" -m "$MEM_MIB" -smp "$CPUS" \
        -display none -no-reboot -nodefaults \
        -kernel "$KDIR/vmlinuz" -initrd "$WORK/initramfs.cpio.gz" \
        -append "console=ttyS0 panic=-1 oops=panic loglevel=4 printk.devkmsg=on lmkd_vm.args=$driver_args" \
        -drive "file=$WORK/disk.img,format=raw,if=virtio,cache=unsafe" \
        -serial "file:$dir/console.log" -serial "file:$dir/results.txt" || rc=$?
    BOOT_SECONDS=$(awk -v a="$(date +%s.%N)" -v b="$t" 'BEGIN { printf "%.1f", a - b }')
    if [ -n "$lockfd" ]; then
        flock -u "$lockfd"
        exec {lockfd}>&-
    fi
    tr -d '\r' <"$dir/results.txt" >"$dir/results.clean" 2>/dev/null || : >"$dir/results.clean"
    mv "$dir/results.clean" "$dir/results.txt"
    printf 'boot: qemu exited %d after %.1f s\n' "$rc" "$BOOT_SECONDS"
    ((rc != 124)) || echo "boot: TIMEOUT after $TIMEOUT s"
    extract_files "$dir"
    grep -qx 'RESULT PASS' "$dir/results.txt"
}

# Files the guest sent as "FILE <name> <bytes>" + contents + "END FILE"; a <name>.gz.b64
# (a decision trace) is decoded into <name>.
extract_files() {
    awk -v dir="$1/files" '
        /^FILE [^ ]+ [0-9]+$/ && !f { f = dir "/" $2; system("mkdir -p \"" dir "\""); printf "" > f; next }
        /^END FILE$/ && f { close(f); f = ""; next }
        f { print >> f }
    ' "$1/results.txt"
    local b
    for b in "$1"/files/*.gz.b64; do
        [ -e "$b" ] || continue
        if base64 -d <"$b" | gzip -dc >"${b%.gz.b64}" 2>/dev/null; then
            rm -f "$b"
        else
            echo "boot: cannot decode $b" >&2
        fi
    done
}

# The kills of the results channel as a table.
summary() {
    local r=$1/results.txt
    echo
    echo "Guest: $(grep -m1 '^INFO kernel' "$r" | cut -d' ' -f2- || echo '?')"
    grep '^INFO ' "$r" | grep -v '^INFO kernel' | sed 's/^INFO /  /' || true
    local sc
    for sc in $(grep -o '^SCENARIO [a-z] BEGIN' "$r" | cut -d' ' -f2); do
        echo
        grep -m1 "^SCENARIO $sc BEGIN" "$r" | sed 's/^SCENARIO \([a-z]\) BEGIN /Scenario (\1): /'
        printf '  %4s %8s %-28s %5s %5s %9s %9s %9s %8s  %s\n' \
            SEQ 'T(s)' NAME ADJ MIN 'RSS(kB)' 'SWAP(kB)' 'REAP(ms)' OUTCOME REASON
        grep "^KILL $sc " "$r" | awk '{
            for (i = 3; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = substr($i, length(kv[1]) + 2) }
            reason = $0; sub(/.* text=/, "", reason)
            printf "  %4s %8.2f %-28s %5s %5s %9s %9s %9s %8s  %s\n", v["seq"], v["t_ms"] / 1000,
                substr(v["name"], 1, 28), v["adj"], v["min_adj"], v["rss_kb"], v["swap_kb"],
                v["reap_us"] < 0 ? "-" : sprintf("%.2f", v["reap_us"] / 1000), v["outcome"], reason
        }'
        grep "^METRIC $sc " "$r" | sed 's/^METRIC [a-z] /  /' || true
        grep "^CHECK $sc " "$r" | sed 's/^CHECK [a-z] /  /' || true
        grep "^SCENARIO $sc \(PASS\|FAIL\)" "$r" | sed 's/^/  /' || true
    done
}

fail_tail() {
    echo
    echo "---- guest console (last 60 lines of $1/console.log) ----"
    tail -n 60 "$1/console.log" 2>/dev/null || true
    echo "---- results channel (last 30 lines of $1/results.txt) ----"
    grep -v '^[^A-Z]' "$1/results.txt" 2>/dev/null | grep -v '^$' | tail -n 30 || true
}

# "min / median / max (n)" of the numbers on stdin ("-" when none).
stats() {
    grep -E '^-?[0-9]' | sort -g | awk '{ v[NR] = $1 } END {
        if (NR == 0) { print "-"; exit }
        m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
        printf "%s / %s / %s (%d)\n", v[1], m, v[NR], NR }'
}
# The value of key $1 in the key=value words of $2.
kv() { tr ' ' '\n' <<<"$2" | sed -n "s/^$1=//p" | head -1; }

if ((REPEAT > 0)); then
    # -----------------------------------------------------------------------------------------
    # --repeat N: the scenarios in N boots.
    step "repeat: $REPEAT boots of ${MEM_MIB} MiB, $CPUS vCPUs, $ACCEL; scenarios $SCENARIOS"
    R=$OUT/repeat.txt
    : >"$R"
    passes=0
    for ((i = 1; i <= REPEAT; i++)); do
        d=$OUT/repeat/$i
        step "boot $i of $REPEAT"
        result=PASS
        boot "$d" "--scenarios,${SCENARIOS//,/+}" || result=FAIL
        [ "$result" = FAIL ] || passes=$((passes + 1))
        summary "$d" >"$d/summary.txt"
        m=$(grep -m1 '^METRIC d vmpressure ' "$d/results.txt" || true)
        scen=$(grep -o '^SCENARIO [a-z] \(PASS\|FAIL\)' "$d/results.txt" | awk '{ printf "%s%s:%s", n++ ? "," : "", $2, $3 }')
        line="boot=$i result=$result scenarios=${scen:-none} boot_s=$BOOT_SECONDS"
        if [ -n "$m" ]; then
            for k in event_to_kill_ms driver_event_to_kill_ms wake_to_kill_ms first_event_s first_kill_s first_kill_reason first_kill_adj events_before_kill ignored_before_kill; do
                line+=" d_$k=$(kv "$k" "$m")"
            done
        fi
        echo "$line" | tee -a "$R"
        grep '^CHECK [a-z] FAIL' "$d/results.txt" | sed 's/^/    /' || true
        if [ "$result" = FAIL ]; then
            grep -q '^RESULT' "$d/results.txt" || echo "    RESULT missing: the guest did not finish"
            echo "    (summary in $d/summary.txt, console in $d/console.log)"
        fi
    done
    echo
    echo "Repeat summary ($ACCEL, ${MEM_MIB} MiB, $CPUS vCPUs, kernel $KVER; scenarios $SCENARIOS):"
    echo "  boots passed: $passes of $REPEAT"
    for sc in ${SCENARIOS//,/ }; do
        echo "  scenario ($sc) passed: $(grep -c "scenarios=[^ ]*$sc:PASS" "$R") of $REPEAT"
    done
    if grep -q ' d_event_to_kill_ms=' "$R"; then
        echo "  scenario (d), first vmpressure event → first kill, min / median / max (boots):"
        echo "    daemon log (its first 'memory pressure event' line → its first kill line): $(sed -n 's/.* d_event_to_kill_ms=\([-0-9.]*\) .*/\1/p' "$R" | stats) ms"
        echo "    driver's own 'low' listener → the first kill's history time:              $(sed -n 's/.* d_driver_event_to_kill_ms=\([-0-9.]*\) .*/\1/p' "$R" | stats) ms"
        echo "    of which the deciding wake-up → SIGKILL (the kill history):               $(sed -n 's/.* d_wake_to_kill_ms=\([-0-9.]*\) .*/\1/p' "$R" | stats) ms"
        echo "    first kill, seconds into the scenario:                                   $(sed -n 's/.* d_first_kill_s=\([-0-9.]*\) .*/\1/p' "$R" | stats) s"
        echo "    first kills by level mode / by the predictive rule: $(grep -c 'd_first_kill_reason=level' "$R") / $(grep -c 'd_first_kill_reason=predictive' "$R")"
    fi
    printf '\nVM lane --repeat %d: %d of %d boots passed, %.0f s%s (per boot: %s/repeat/N)\n' \
        "$REPEAT" "$passes" "$REPEAT" "$(elapsed)" "$(waited)" "$OUT"
    ((passes == REPEAT))
    exit
fi

if ((RACE > 0)); then
    # -----------------------------------------------------------------------------------------
    # --bench-race N: the allocation-rate race, one boot per round.
    step "race: $RACE rounds (one boot each, timeout $TIMEOUT s), rates $RATES MiB/s, modes $MODES"
    R=$OUT/race.txt
    : >"$R"
    for ((i = 1; i <= RACE; i++)); do
        d=$OUT/race/$i
        step "race round $i of $RACE"
        if ! boot "$d" "--race,${RATES//,/+},--race-modes,${MODES//,/+},--race-round,$i"; then
            fail_tail "$d" | tail -n 30
            echo "race round $i: the guest did not finish cleanly; its finished runs count"
        fi
        grep '^METRIC race ' "$d/results.txt" | sed 's/^METRIC race //' | tee -a "$R" || true
    done
    echo
    echo "Race: one foreground app (adj 0, ${MEM_MIB} MiB guest, zram, System domain, PSI 1 s windows)"
    echo "grows from 192 MiB at each rate among 9 apps of 56 MiB on the adj ladder; $RACE rounds;"
    echo "cells: median [min–max] over the runs ($ACCEL, $CPUS vCPUs, kernel $KVER)"
    echo
    awk -v rates="$RATES" -v modes="$MODES" '
        function cell(list, prec,   n, v, i, j, t, m, f) {
            n = split(list, v, " ")
            if (n == 0) return "–"
            for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j - 1] + 0 > v[j] + 0; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
            m = n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
            f = "%." prec "f"
            if (v[1] == v[n]) return sprintf(f, v[1])
            return sprintf(f " [" f "–" f "]", m, v[1], v[n])
        }
        function add(a, k, x) { if (x != "-" && x != "") a[k] = (k in a) ? a[k] " " x : x }
        {
            delete f
            for (i = 1; i <= NF; i++) { p = index($i, "="); f[substr($i, 1, p - 1)] = substr($i, p + 1) }
            k = f["rate"] SUBSEP f["mode"]
            runs[k]++
            add(st, k, f["start_mib_s"]); add(ach, k, f["achieved_mib_s"]); add(endr, k, f["end_mib_s"])
            if (f["first_death_ms"] != "-") add(first, k, f["first_death_ms"] / 1000)
            add(lk, k, f["lmkd_kills"]); add(pk, k, f["predictive_kills"])
            add(stall, k, f["stall_ms"] / 1000)
            oom[k] += f["kernel_kills"]; lost[k] += f["lost"]
            byl[k] += f["first_by"] == "lmkd"; surv[k] += f["fg_survived"]; capped[k] += f["capped"]
            won[k] += f["first_by"] == "lmkd" && f["lost"] == 0
        }
        END {
            nr = split(rates, R, ","); nm = split(modes, M, ",")
            for (a = 2; a <= nr; a++) for (b = a; b > 1 && R[b - 1] + 0 > R[b] + 0; b--) { t = R[b]; R[b] = R[b - 1]; R[b - 1] = t }
            print "| MiB/s asked | mode | runs | MiB/s achieved: first 0.5 s | to the first death | in its last second | kernel OOM kills (while a killable app was left) | daemon kills (predictive) | first death after growth start (s) | first death by the daemon | foreground survived | PSI some stall (s) |"
            print "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
            for (a = 1; a <= nr; a++) for (b = 1; b <= nm; b++) {
                k = R[a] SUBSEP M[b]
                if (!(k in runs)) continue
                printf "| %s | %s | %d | %s | %s | %s | %d (%d) | %s (%s) | %s | %s | %d of %d%s | %s |\n", R[a], M[b], runs[k],
                    cell(st[k], 0), cell(ach[k], 0), cell(endr[k], 0), oom[k], lost[k],
                    M[b] == "kernel" ? "–" : cell(lk[k], 0), M[b] == "kernel" ? "–" : cell(pk[k], 0),
                    cell(first[k], 2), M[b] == "kernel" ? "–" : sprintf("%d of %d", byl[k], runs[k]), surv[k], runs[k],
                    capped[k] ? sprintf(" (%d hit the time limit)", capped[k]) : "", cell(stall[k], 1)
            }
            print ""
            for (b = 1; b <= nm; b++) {
                if (M[b] == "kernel") continue
                best = "none"; upto = "none"; broken = 0
                for (a = 1; a <= nr; a++) {
                    k = R[a] SUBSEP M[b]
                    if (!(k in runs)) continue
                    if (won[k] == runs[k]) { best = R[a]; if (!broken) upto = R[a] } else broken = 1
                }
                printf "Daemon with ro.lmk.predictive_kill=%s: killed before the kernel (first death its own, no kernel OOM kill while a killable app was left) in every run up to %s MiB/s asked; highest rate won in every run: %s\n", M[b] == "on" ? "true" : "false", upto, best
            }
        }' "$R" | tee "$OUT/race-table.md"
    printf '
VM lane --bench-race %d finished in %.0f s%s (per round: %s/race/N)
' \
        "$RACE" "$(elapsed)" "$(waited)" "$OUT"
    exit 0
fi

if ((BENCH == 0)); then
    step "boot: ${MEM_MIB} MiB, $CPUS vCPUs, $ACCEL; scenarios $SCENARIOS"
    ok=1
    boot "$OUT" "--scenarios,${SCENARIOS//,/+}" || ok=0
    summary "$OUT"
    if ((ok == 0)); then
        fail_tail "$OUT"
        grep '^RESULT' "$OUT/results.txt" || echo "RESULT missing: the guest did not finish"
        printf '\nVM lane FAILED after %.0f s%s (logs in %s)\n' "$(elapsed)" "$(waited)" "$OUT"
        exit 1
    fi
    grep '^RESULT' "$OUT/results.txt"
    printf '\nVM lane passed in %.0f s (guest %.0f s%s); logs, daemon logs and kill histories in %s\n' \
        "$(elapsed)" "$BOOT_SECONDS" "$(waited)" "$OUT"
    exit 0
fi

# ---------------------------------------------------------------------------------------------
# --bench N: scenario (a) N times with the daemon and N times without it, alternating, in one
# boot (one hold of the lock on a shared machine; each run has a fresh daemon and fresh apps).
step "benchmark: scenario (a), $BENCH runs with the daemon and $BENCH without, one boot"
d=$OUT/bench
# (--scenarios with --bench: those scenarios run after the benchmark, in the same boot.)
extra=
[ -n "$SCENARIOS_GIVEN" ] && extra=",--scenarios,${SCENARIOS//,/+}"
if ! boot "$d" "--bench,$BENCH$extra"; then
    fail_tail "$d"
    die "benchmark boot failed"
fi
grep '^METRIC a ' "$d/results.txt" | sed 's/^METRIC a mode=//' | tee "$OUT/bench.txt"
[ -z "$SCENARIOS_GIVEN" ] || grep -a '^[A-Z]' "$d/results.txt" | grep -v '^FILE\|^END FILE' | sed -n '/bench round/!p' | tail -n +1 >"$OUT/bench-extra.txt"
median() { sort -g | awk '{v[NR] = $1} END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
metric() { awk -v m="$1" -v k="$2" '$1 == m { for (i = 2; i <= NF; i++) if (index($i, k "=") == 1) print substr($i, length(k) + 2) }' "$OUT/bench.txt" | grep -v '^-$' | median; }
count() { awk -v m="$1" -v k="$2" '$1 == m { for (i = 2; i <= NF; i++) if (index($i, k "=") == 1) s += substr($i, length(k) + 2) } END { print s + 0 }' "$OUT/bench.txt"; }
echo
echo "Scenario (a), medians of $BENCH runs each ($ACCEL, ${MEM_MIB} MiB, $CPUS vCPUs, kernel $KVER):"
echo
echo "| measure | lmkd | no daemon (kernel OOM killer alone) |"
echo "|---|---:|---:|"
for row in "first PSI event (some 70 ms / 1 s) → first kill (ms)@psi_to_kill_ms" \
    "kill → memory back (ms; lmkd: SIGKILL → process_mrelease done; kernel: oom_reaper done, else the victim's exit, polled)@kill_to_back_ms" \
    "kill → victim exited (ms; kernel: polled every 20-50 ms)@kill_to_exit_ms" \
    "kills (lmkd's, or the kernel's OOM kills)@kills" \
    "kernel OOM kills@oom_kills" \
    "scenario time (s)@scenario_s"; do
    label=${row%%@*} key=${row##*@}
    echo "| $label | $(metric lmkd "$key") | $(metric kernel "$key") |"
done
echo "| foreground app survived (runs) | $(count lmkd fg_survived) of $BENCH | $(count kernel fg_survived) of $BENCH |"
printf '\nVM lane benchmark finished in %.0f s (guest %.0f s%s)\n' "$(elapsed)" "$BOOT_SECONDS" "$(waited)"
