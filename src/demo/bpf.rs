//! A memevents world for the tests and benchmarks (host only): stand-ins for Android's memevents
//! BPF programs (`tests/bpf/memevents.bpf.c`, built with clang) loaded with bpftool into a bpffs
//! mounted in a private mount namespace, with the ring buffer and program names AOSP's loader
//! gives them; tracefs mounted beside it; and a way to put exact records in the ring buffer (a
//! `BPF_PROG_TYPE_SYSCALL` program run on demand). The daemon reaches the namespace's files
//! through `/proc/<holder>/root` ([`BpfWorld::paths`]), or runs inside it (`nsenter -t <holder>
//! -m`, [`BpfWorld::holder_pid`]). Everything goes when the world is dropped: the holder dies and
//! its namespace with its mounts.

use std::ffi::CString;
use std::fs;
use std::io::{self, BufRead, BufReader};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::pressure::memevents::{Paths, RECORD_LEN};
use crate::sys::bpf;

/// The source of the stand-in programs.
pub fn source() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bpf/memevents.bpf.c")
}

fn have(tool: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// What the world needs that this host may lack, or `None` when it has it all (root with
/// `CAP_BPF` is checked when the world starts).
pub fn missing_tools() -> Option<String> {
    let missing: Vec<&str> =
        ["clang", "bpftool", "unshare", "nsenter"].into_iter().filter(|t| !have(t)).collect();
    (!missing.is_empty()).then(|| missing.join(", "))
}

fn other(what: String) -> io::Error {
    io::Error::other(what)
}

/// Builds the stand-in object into `out`.
pub fn build(out: &Path) -> io::Result<()> {
    let r = Command::new("clang")
        .args(["-O2", "-g", "-target", "bpf"])
        .arg(format!("-I/usr/include/{}-linux-gnu", std::env::consts::ARCH))
        .arg("-c")
        .arg(source())
        .arg("-o")
        .arg(out)
        .output()?;
    if !r.status.success() {
        return Err(other(format!("clang: {}", String::from_utf8_lossy(&r.stderr))));
    }
    Ok(())
}

/// The private namespace and what is loaded in it.
#[derive(Debug)]
pub struct BpfWorld {
    holder: Child,
    dir: PathBuf,
    /// The bpffs mount point, as seen inside the namespace.
    pub bpffs: PathBuf,
    /// The tracefs mount point, as seen inside the namespace.
    pub tracefs: PathBuf,
}

impl BpfWorld {
    /// Builds the object, mounts bpffs and tracefs in a new private mount namespace, and loads
    /// and pins the programs and the ring buffer under `memevents/` there.
    pub fn start() -> io::Result<BpfWorld> {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "lmkd-bpf-world-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir)?;
        let obj = dir.join("memevents.bpf.o");
        let (bpffs, tracefs) = (dir.join("bpf"), dir.join("tracing"));
        let started = build(&obj).and_then(|()| {
            fs::create_dir(&bpffs)?;
            fs::create_dir(&tracefs)?;
            let script = format!(
                "set -e; mount -t bpf bpf {b}; mount -t tracefs tracefs {t}; mkdir {b}/memevents; \
                 bpftool prog loadall {o} {b}/memevents pinmaps {b}/memevents; echo ready; \
                 exec sleep 3600",
                b = bpffs.display(),
                t = tracefs.display(),
                o = obj.display()
            );
            let mut holder = Command::new("unshare")
                .args(["-m", "--propagation", "private", "sh", "-c", &script])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()?;
            let mut line = String::new();
            if let Some(out) = holder.stdout.take() {
                BufReader::new(out).read_line(&mut line)?;
            }
            if line.trim() != "ready" {
                let _ = holder.kill();
                let out = holder.wait_with_output()?;
                return Err(other(format!(
                    "the BPF world did not start: {}",
                    String::from_utf8_lossy(&out.stderr)
                )));
            }
            Ok(holder)
        });
        match started {
            Ok(holder) => Ok(BpfWorld { holder, dir, bpffs, tracefs }),
            Err(e) => {
                let _ = fs::remove_dir_all(&dir);
                Err(e)
            }
        }
    }

    /// The pid whose mount namespace holds the world (for `nsenter -t`).
    pub fn holder_pid(&self) -> u32 {
        self.holder.id()
    }

    /// A path inside the namespace, as a process outside it reaches it.
    pub fn outside(&self, inside: &Path) -> PathBuf {
        let rel = inside.strip_prefix("/").unwrap_or(inside);
        Path::new(&format!("/proc/{}/root", self.holder.id())).join(rel)
    }

    /// Where a daemon outside the namespace finds the objects.
    pub fn paths(&self) -> Paths {
        Paths { bpffs: self.outside(&self.bpffs), tracefs: self.outside(&self.tracefs) }
    }

    /// The pinned object `name` under `memevents/`.
    pub fn pinned(&self, name: &str) -> io::Result<OwnedFd> {
        let p = self.outside(&self.bpffs.join("memevents").join(name));
        let c = CString::new(p.as_os_str().as_bytes()).map_err(|e| other(e.to_string()))?;
        bpf::bpf_obj_get(&c)
    }

    fn run_inject(&self, ctx: &[u8]) -> io::Result<()> {
        match bpf::prog_test_run(self.pinned("inject")?.as_fd(), ctx)? {
            0 => Ok(()),
            rc => Err(other(format!("inject returned {rc} (ring buffer full?)"))),
        }
    }

    /// Puts `record` in the ring buffer as one record (any length from 1 to 96 bytes).
    pub fn inject(&self, record: &[u8]) -> io::Result<()> {
        let mut ctx = [0u8; 104];
        let len = u32::try_from(record.len()).ok().filter(|&n| (1..=96).contains(&n));
        let len = len.ok_or_else(|| other(format!("a record of {} bytes", record.len())))?;
        ctx[..4].copy_from_slice(&len.to_ne_bytes());
        ctx[8..8 + record.len()].copy_from_slice(record);
        self.run_inject(&ctx)
    }

    /// Reserves a record and discards it (a consumer must skip it).
    pub fn inject_discarded(&self) -> io::Result<()> {
        let mut ctx = [0u8; 104];
        ctx[4] = 1;
        self.run_inject(&ctx)
    }

    /// Attaches the pinned program `prog` to the tracepoint `category/event` as well, for as
    /// long as the returned descriptor lives.
    pub fn attach_also(&self, prog: &str, category: &str, event: &str) -> io::Result<OwnedFd> {
        let id_path =
            self.outside(&self.tracefs.join("events").join(category).join(event).join("id"));
        let id: u64 = fs::read_to_string(&id_path)?
            .trim()
            .parse()
            .map_err(|_| other(format!("{}: not a number", id_path.display())))?;
        bpf::attach_tracepoint(self.pinned(prog)?.as_fd(), id)
    }
}

impl Drop for BpfWorld {
    fn drop(&mut self) {
        let _ = self.holder.kill();
        let _ = self.holder.wait();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// An 88-byte `mem_event_t` of `kind`, with `fill` applied to its bytes.
pub fn record(kind: u64, fill: impl FnOnce(&mut [u8])) -> Vec<u8> {
    let mut b = vec![0u8; RECORD_LEN];
    b[..8].copy_from_slice(&kind.to_ne_bytes());
    fill(&mut b);
    b
}

/// A vendor kill request.
pub fn vendor(reason: u32, min_adj: i16) -> Vec<u8> {
    record(5, |b| {
        b[8..12].copy_from_slice(&reason.to_ne_bytes());
        b[12..14].copy_from_slice(&min_adj.to_ne_bytes());
    })
}
