#!/bin/sh
# /init of the VM lane's guest (tests/vm/run.sh stages it): sets up a small Android-like device
# — zram swap as Android's init does it (lz4, half of RAM), the root memory cgroup at /dev/memcg,
# a v1 freezer at /dev/freezer, cgroup v2 at /sys/fs/cgroup, bpffs and tracefs, /dev/socket — and then runs the
# guest test driver (examples/vm_driver.rs), which plays init and ActivityManager for the daemon.
# Results go to the second serial port (/dev/ttyS1, the results channel); the driver's last
# line there is `RESULT PASS` or `RESULT FAIL`. Then the guest powers off.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
dmesg -n 1
stty -F /dev/ttyS1 raw -echo -onlcr 2>/dev/null
exec 3>/dev/ttyS1
say() { echo "$*" >&3; }
say "INFO kernel $(uname -r) $(uname -v)"
fail() {
    say "INFO setup failed: $*"
    say "RESULT FAIL"
    sync
    poweroff -f
    sleep 10
}

# Modules (zram and its compressors; the disk for the page-cache scenario).
for m in zram lz4 zstd crc32c_generic virtio_pci virtio_blk ext4; do
    modprobe "$m" 2>&3 || fail "modprobe $m"
done

# zram swap the way Android's fstab does it: lz4, disksize half of RAM.
mem_kb=$(awk '/^MemTotal:/{print $2}' /proc/meminfo)
echo lz4 >/sys/block/zram0/comp_algorithm || fail "zram lz4"
echo "$((mem_kb / 2))K" >/sys/block/zram0/disksize || fail "zram disksize"
mkswap /dev/zram0 >/dev/null 2>&3 || fail "mkswap"
swapon /dev/zram0 2>&3 || fail "swapon"
say "INFO zram $(sed 's/.*\[\(.*\)\].*/\1/' /sys/block/zram0/comp_algorithm), disksize $(($(cat /sys/block/zram0/disksize) >> 20)) MiB, MemTotal $((mem_kb >> 10)) MiB, $(nproc) CPUs"

# Cgroups as an Android device of the memcg v1 era mounts them (init.rc): the root memory
# cgroup at /dev/memcg, the freezer at /dev/freezer, and cgroup v2 for the rest.
mkdir -p /dev/memcg /dev/freezer /dev/socket /sys/fs/cgroup
mount -t cgroup -o memory none /dev/memcg || fail "memcg v1"
echo 1 >/dev/memcg/memory.move_charge_at_immigrate 2>/dev/null
mount -t cgroup -o freezer none /dev/freezer || fail "freezer v1"
mount -t cgroup2 none /sys/fs/cgroup || fail "cgroup2"
# bpffs and tracefs where Android mounts them (memevents: the driver loads the BPF object and
# the daemon attaches its programs to the tracepoints).
mkdir -p /sys/fs/bpf /sys/kernel/tracing
mount -t bpf bpf /sys/fs/bpf || fail "bpffs"
mount -t tracefs tracefs /sys/kernel/tracing || fail "tracefs"
# A data partition for files whose page cache can be dropped and read back.
mke2fs -q /dev/vda >/dev/null 2>&3 || fail "mke2fs"
mkdir -p /data
mount -t ext4 /dev/vda /data 2>&3 || fail "mount /data"

args=$(sed -n 's/.*lmkd_vm\.args=\([^ ]*\).*/\1/p' /proc/cmdline | tr ',' ' ')
# The driver's results go to fd 3 (the results channel); its stderr to the console.
/bin/vm_driver --results /dev/ttyS1 $args 2>/dev/console || say "INFO driver exited with $?"
sync
poweroff -f
sleep 10
