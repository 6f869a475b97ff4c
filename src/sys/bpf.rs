//! The BPF and perf-event calls the memevents client needs, as raw system calls (rustix has no
//! BPF, and AOSP's `librustix` no more), and a consumer of a BPF ring buffer
//! (`BPF_MAP_TYPE_RINGBUF`) mapped into this process.
//!
//! * `bpf(BPF_OBJ_GET)`: a pinned object (map or program) from bpffs.
//! * `bpf(BPF_OBJ_GET_INFO_BY_FD)`: a map's type, id and size.
//! * `bpf(BPF_PROG_TEST_RUN)`: a program run on demand (the tests' record injection).
//! * `perf_event_open(PERF_TYPE_TRACEPOINT)` with `PERF_EVENT_IOC_SET_BPF` and
//!   `PERF_EVENT_IOC_ENABLE`: a tracepoint program attached, for as long as the descriptor lives.
//! * `fcntl(F_OFD_SETLK)`: AOSP's exclusive claim on a ring buffer (a write lock on the byte at
//!   offset = the map's id), so that one consumer reads it.
//! * [`RingBuffer`]: the kernel's ring-buffer ABI (`kernel/bpf/ringbuf.c`): the consumer
//!   position page mapped read-write at offset 0, the producer position page and the data (twice,
//!   so that a record never wraps) read-only from offset `page`.

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use super::cvt;

/// `BPF_MAP_TYPE_RINGBUF`.
pub const BPF_MAP_TYPE_RINGBUF: u32 = 27;
const BPF_OBJ_GET: libc::c_long = 7;
const BPF_PROG_TEST_RUN: libc::c_long = 10;
const BPF_OBJ_GET_INFO_BY_FD: libc::c_long = 15;
const PERF_TYPE_TRACEPOINT: u32 = 2;
/// `_IOW('$', 8, __u32)`.
const PERF_EVENT_IOC_SET_BPF: u32 = 0x4004_2408;
/// `_IO('$', 0)`.
const PERF_EVENT_IOC_ENABLE: u32 = 0x2400;
/// `PERF_FLAG_FD_CLOEXEC`.
const PERF_FLAG_FD_CLOEXEC: libc::c_ulong = 8;
/// The ring buffer record header's busy bit (the producer has not committed it yet).
const RINGBUF_BUSY_BIT: u32 = 1 << 31;
/// The header's discard bit (committed, but to be skipped).
const RINGBUF_DISCARD_BIT: u32 = 1 << 30;
/// A record's header: its length (with the two bits above) and the page offset.
const RINGBUF_HDR_SZ: u64 = 8;

/// `bpf(cmd, attr, size)` over an attribute block of `N` bytes.
fn bpf<const N: usize>(cmd: libc::c_long, attr: &mut [u8; N]) -> io::Result<libc::c_long> {
    // SAFETY: `attr` is a zero-initialised buffer of exactly `N` bytes that outlives the call;
    // the kernel reads at most `N` bytes of it and writes only into pointers the caller put in
    // it (each pointing to memory the caller keeps alive across the call).
    cvt(unsafe { libc::syscall(libc::SYS_bpf, cmd, attr.as_mut_ptr(), N) })
}

fn owned(fd: libc::c_long) -> io::Result<OwnedFd> {
    let fd = RawFd::try_from(fd).map_err(|_| io::Error::from_raw_os_error(libc::EBADF))?;
    // SAFETY: the kernel just returned this descriptor to us; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `bpf(BPF_OBJ_GET)`: opens the object pinned at `path` in bpffs.
pub fn bpf_obj_get(path: &CStr) -> io::Result<OwnedFd> {
    let mut attr = [0u8; 16];
    attr[..8].copy_from_slice(&(path.as_ptr() as u64).to_ne_bytes());
    owned(bpf(BPF_OBJ_GET, &mut attr)?)
}

/// `bpf(BPF_PROG_TEST_RUN)` with `ctx` as the program's context and no data: how a
/// `BPF_PROG_TYPE_SYSCALL` program is run on demand. Returns the program's return value. (The
/// tests put exact records in a ring buffer this way; the daemon never runs a program.)
pub fn prog_test_run(prog: BorrowedFd<'_>, ctx: &[u8]) -> io::Result<u32> {
    let size = u32::try_from(ctx.len()).map_err(|_| io::Error::from_raw_os_error(libc::E2BIG))?;
    // The test-run attribute block: prog_fd @0, retval @4, ctx_size_in @40, ctx_in @48.
    let mut attr = [0u8; 80];
    attr[..4].copy_from_slice(&prog.as_raw_fd().to_ne_bytes());
    attr[40..44].copy_from_slice(&size.to_ne_bytes());
    attr[48..56].copy_from_slice(&(ctx.as_ptr() as u64).to_ne_bytes());
    bpf(BPF_PROG_TEST_RUN, &mut attr)?;
    Ok(u32::from_ne_bytes([attr[4], attr[5], attr[6], attr[7]]))
}

/// What the kernel says of a map.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MapInfo {
    /// `BPF_MAP_TYPE_*`.
    pub map_type: u32,
    /// The map's id.
    pub id: u32,
    /// For a ring buffer: its data size in bytes (a power of two, a multiple of the page).
    pub max_entries: u32,
}

/// `bpf(BPF_OBJ_GET_INFO_BY_FD)` for a map.
pub fn bpf_map_info(map: BorrowedFd<'_>) -> io::Result<MapInfo> {
    // struct bpf_map_info: type, id, key_size, value_size, max_entries, ... (96 bytes cover
    // every kernel's; the kernel checks that what it does not know of is zero).
    let mut info = [0u8; 96];
    let mut attr = [0u8; 16];
    attr[..4].copy_from_slice(&map.as_raw_fd().to_ne_bytes());
    attr[4..8].copy_from_slice(&96u32.to_ne_bytes());
    attr[8..16].copy_from_slice(&(info.as_mut_ptr() as u64).to_ne_bytes());
    bpf(BPF_OBJ_GET_INFO_BY_FD, &mut attr)?;
    let word = |i: usize| u32::from_ne_bytes([info[i], info[i + 1], info[i + 2], info[i + 3]]);
    Ok(MapInfo { map_type: word(0), id: word(4), max_entries: word(16) })
}

/// Attaches the tracepoint program `prog` to the tracepoint with tracefs id `tracepoint_id`
/// (`events/<category>/<name>/id`): a perf event on it, the program set on the event, the
/// event enabled. The program runs for every CPU's hits of the tracepoint until the returned
/// descriptor is closed.
pub fn attach_tracepoint(prog: BorrowedFd<'_>, tracepoint_id: u64) -> io::Result<OwnedFd> {
    // struct perf_event_attr, its first version (64 bytes, PERF_ATTR_SIZE_VER0): type, size,
    // config (the tracepoint id), sample_period = 1, wakeup_events = 1.
    let mut attr = [0u8; 64];
    attr[..4].copy_from_slice(&PERF_TYPE_TRACEPOINT.to_ne_bytes());
    attr[4..8].copy_from_slice(&64u32.to_ne_bytes());
    attr[8..16].copy_from_slice(&tracepoint_id.to_ne_bytes());
    attr[16..24].copy_from_slice(&1u64.to_ne_bytes());
    attr[48..52].copy_from_slice(&1u32.to_ne_bytes());
    // SAFETY: `attr` is a 64-byte perf_event_attr that outlives the call; pid −1 with cpu 0 and
    // no group is the form tracepoint programs are attached with (the program itself runs on
    // every CPU).
    let fd = cvt(unsafe {
        libc::syscall(
            libc::SYS_perf_event_open,
            attr.as_ptr(),
            -1 as libc::pid_t,
            0 as libc::c_int,
            -1 as libc::c_int,
            PERF_FLAG_FD_CLOEXEC,
        )
    })?;
    let event = owned(fd)?;
    // The request's C type is the C library's (an int in bionic and musl, an unsigned long in
    // glibc); both requests fit either.
    fn req<T: TryFrom<u32>>(v: u32) -> io::Result<T> {
        T::try_from(v).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
    }
    let (set_bpf, enable) = (req(PERF_EVENT_IOC_SET_BPF)?, req(PERF_EVENT_IOC_ENABLE)?);
    // SAFETY: integer arguments only: the program's descriptor for SET_BPF, none for ENABLE.
    cvt(libc::c_long::from(unsafe { libc::ioctl(event.as_raw_fd(), set_bpf, prog.as_raw_fd()) }))?;
    // SAFETY: as above.
    cvt(libc::c_long::from(unsafe { libc::ioctl(event.as_raw_fd(), enable, 0) }))?;
    Ok(event)
}

/// AOSP's claim on a ring buffer: an exclusive open-file-description write lock on the byte at
/// offset `id` of the map's descriptor (held until the descriptor closes). Fails with `EAGAIN`
/// when another consumer holds it.
pub fn ofd_write_lock(fd: BorrowedFd<'_>, id: u32) -> io::Result<()> {
    // SAFETY: an all-zero `flock` is valid; the fields are set below.
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    // The constants are C ints; `flock` holds shorts.
    let short = |v: libc::c_int| {
        libc::c_short::try_from(v).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
    };
    fl.l_type = short(libc::F_WRLCK)?;
    fl.l_whence = short(libc::SEEK_SET)?;
    // `off_t` is 32-bit on 32-bit Android: fallible there.
    #[allow(clippy::unnecessary_fallible_conversions)]
    let start = libc::off_t::try_from(id);
    fl.l_start = start.map_err(|_| io::Error::from_raw_os_error(libc::EOVERFLOW))?;
    fl.l_len = 1;
    // SAFETY: `fl` is a valid flock that outlives the call; the fd is borrowed for it.
    cvt(libc::c_long::from(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_OFD_SETLK, &fl) }))
        .map(drop)
}

/// A BPF ring buffer mapped for reading.
pub struct RingBuffer {
    /// The consumer position page (read-write).
    consumer: *mut u8,
    /// The producer position page followed by the data, mapped twice.
    producer: *mut u8,
    page: usize,
    /// The data size (a power of two).
    size: u64,
}

// SAFETY: the mappings belong to this value alone; moving it to another thread moves them.
unsafe impl Send for RingBuffer {}

impl std::fmt::Debug for RingBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RingBuffer").field("size", &self.size).finish()
    }
}

impl RingBuffer {
    /// Maps the ring buffer `map` of `size` data bytes (its `max_entries`).
    pub fn map(map: BorrowedFd<'_>, size: u32) -> io::Result<RingBuffer> {
        let page = rustix::param::page_size();
        let size_bytes =
            usize::try_from(size).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
        if size_bytes == 0 || !size_bytes.is_power_of_two() {
            return Err(io::Error::from_raw_os_error(libc::EINVAL));
        }
        // SAFETY: a fresh shared mapping of the map's consumer page (the kernel checks the
        // length and the offset); nothing else in this process aliases it.
        let consumer = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                page,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                map.as_raw_fd(),
                0,
            )
        };
        if consumer == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let offset =
            libc::off_t::try_from(page).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
        // SAFETY: a fresh read-only shared mapping of the producer page and the doubled data;
        // the kernel checks the length and the offset.
        let producer = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                page + 2 * size_bytes,
                libc::PROT_READ,
                libc::MAP_SHARED,
                map.as_raw_fd(),
                offset,
            )
        };
        if producer == libc::MAP_FAILED {
            let e = io::Error::last_os_error();
            // SAFETY: the consumer mapping made above, unmapped once.
            unsafe { libc::munmap(consumer, page) };
            return Err(e);
        }
        Ok(RingBuffer {
            consumer: consumer.cast(),
            producer: producer.cast(),
            page,
            size: u64::from(size),
        })
    }

    fn consumer_pos(&self) -> &AtomicU64 {
        // SAFETY: the consumer page is mapped read-write for the life of `self`, page-aligned
        // (so aligned for a u64), and the kernel and this process access it only atomically.
        unsafe { &*self.consumer.cast::<AtomicU64>() }
    }

    fn producer_pos(&self) -> &AtomicU64 {
        // SAFETY: as above, for the read-only producer page (only loaded from).
        unsafe { &*self.producer.cast::<AtomicU64>() }
    }

    /// Takes the next committed record, skipping discarded ones: hands its bytes to `f`, frees
    /// its space and returns what `f` returned; `None` when no committed record waits.
    /// Allocates nothing.
    pub fn next_record<R>(&mut self, f: impl FnOnce(&[u8]) -> R) -> Option<R> {
        let mask = self.size - 1;
        let mut cons = self.consumer_pos().load(Ordering::Acquire);
        loop {
            let prod = self.producer_pos().load(Ordering::Acquire);
            if cons >= prod {
                return None;
            }
            let off = usize::try_from(cons & mask).unwrap_or(0);
            // The data starts one page into the producer mapping.
            // SAFETY: `off` < size, and the data (mapped twice) spans `2 × size` bytes past the
            // page, so the header lies in the mapping; it is 8-byte aligned (records are), so
            // aligned for a u32, and the kernel writes it atomically.
            let hdr = unsafe { &*self.producer.add(self.page + off).cast::<AtomicU32>() };
            let len = hdr.load(Ordering::Acquire);
            if len & RINGBUF_BUSY_BIT != 0 {
                return None;
            }
            let body = len & !(RINGBUF_BUSY_BIT | RINGBUF_DISCARD_BIT);
            let next = cons + ((u64::from(body) + RINGBUF_HDR_SZ + 7) & !7);
            if len & RINGBUF_DISCARD_BIT != 0 {
                cons = next;
                self.consumer_pos().store(cons, Ordering::Release);
                continue;
            }
            let body_len =
                usize::try_from(body).unwrap_or(0).min(usize::try_from(self.size).unwrap_or(0));
            // SAFETY: the record's bytes follow its 8-byte header and, the data being mapped
            // twice, lie within the mapping even when they pass the end of the first copy (a
            // committed record is at most `size` bytes); the producer does not write a
            // committed record again before the consumer position passes it, which happens
            // only after `f` returned.
            let bytes = unsafe {
                std::slice::from_raw_parts(self.producer.add(self.page + off + 8), body_len)
            };
            let r = f(bytes);
            self.consumer_pos().store(next, Ordering::Release);
            return Some(r);
        }
    }

    /// Hands every committed record to `f`, skipping discarded ones, and frees their space;
    /// returns how many records it took. Allocates nothing.
    pub fn drain(&mut self, mut f: impl FnMut(&[u8])) -> usize {
        let mut n = 0;
        while self.next_record(&mut f).is_some() {
            n += 1;
        }
        n
    }
}

impl Drop for RingBuffer {
    fn drop(&mut self) {
        let data = usize::try_from(self.size).unwrap_or(0);
        // SAFETY: the two mappings made in `map`, with their lengths, unmapped once.
        unsafe {
            libc::munmap(self.consumer.cast(), self.page);
            libc::munmap(self.producer.cast(), self.page + 2 * data);
        }
    }
}
