//! A synthetic app: a process that holds memory the way an Android app does — private anonymous
//! pages (every page written, so they are really there), optionally the page cache of a file it
//! reads (again and again with `reread`), and optionally a leak that grows at a set rate.
//!
//! It is what `lmkctl app`, `lmkd demo`, the scenario tests and the benchmarks run. After it has
//! joined its cgroups and allocated, it prints `ready <pid>` on stdout. It then takes commands
//! on stdin, one per line: `grow <MiB per second>` (0 stops), `max <MiB>` (the cap of the
//! total), `shrink` (frees what the leak grew). It never exits on its own; it is killed.

use std::io::{self, BufRead, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const MIB: usize = 1 << 20;
const PAGE: usize = 4096;

/// What the app does.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AppOptions {
    /// Private anonymous memory held from the start, MiB.
    pub anon_mib: usize,
    /// A file to read into the page cache.
    pub file: Option<PathBuf>,
    /// Write the file first, this many MiB (from inside the app's cgroups, so that its page
    /// cache is charged to them).
    pub file_mib: usize,
    /// Read the file again and again.
    pub reread: bool,
    /// Leak growth at start, MiB per second (0: none).
    pub grow_mib_per_s: usize,
    /// Cap of the total (start + leak), MiB.
    pub max_mib: Option<usize>,
    /// Run at `SCHED_IDLE` (a starved app).
    pub sched_idle: bool,
    /// Spin on a CPU instead of sleeping.
    pub spin: bool,
    /// Cgroup directories to join (their `cgroup.procs`) before allocating.
    pub join: Vec<PathBuf>,
}

impl AppOptions {
    /// Parses `--anon MIB --file PATH --file-mib MIB --reread --grow MIB_PER_S --max MIB
    /// --sched-idle --spin --join DIR...`.
    pub fn parse(args: &[String]) -> Result<AppOptions, String> {
        let mut o = AppOptions::default();
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let mut value = |name: &str| -> Result<&String, String> {
                it.next().ok_or_else(|| format!("{name} needs a value"))
            };
            let mut num = |name: &str| -> Result<usize, String> {
                value(name)?.parse().map_err(|_| format!("{name} needs a number"))
            };
            match a.as_str() {
                "--anon" => o.anon_mib = num("--anon")?,
                "--grow" => o.grow_mib_per_s = num("--grow")?,
                "--max" => o.max_mib = Some(num("--max")?),
                "--file" => o.file = Some(value("--file")?.into()),
                "--file-mib" => o.file_mib = num("--file-mib")?,
                "--join" => o.join.push(value("--join")?.into()),
                "--reread" => o.reread = true,
                "--sched-idle" => o.sched_idle = true,
                "--spin" => o.spin = true,
                other => return Err(format!("unknown app option {other:?}")),
            }
        }
        Ok(o)
    }

    /// The arguments [`AppOptions::parse`] reads back.
    pub fn to_args(&self) -> Vec<String> {
        let mut a = vec!["--anon".to_owned(), self.anon_mib.to_string()];
        if let Some(f) = &self.file {
            a.extend(["--file".to_owned(), f.display().to_string()]);
        }
        if self.file_mib > 0 {
            a.extend(["--file-mib".to_owned(), self.file_mib.to_string()]);
        }
        if self.reread {
            a.push("--reread".into());
        }
        if self.grow_mib_per_s > 0 {
            a.extend(["--grow".to_owned(), self.grow_mib_per_s.to_string()]);
        }
        if let Some(m) = self.max_mib {
            a.extend(["--max".to_owned(), m.to_string()]);
        }
        if self.sched_idle {
            a.push("--sched-idle".into());
        }
        if self.spin {
            a.push("--spin".into());
        }
        for j in &self.join {
            a.extend(["--join".to_owned(), j.display().to_string()]);
        }
        a
    }
}

/// Private anonymous memory with every page written.
/// A non-zero byte that varies with `i` (1..=251), so that pages neither dedupe nor compress to
/// nothing.
fn pattern_byte(i: usize) -> u8 {
    u8::try_from(i % 251).unwrap_or(0) + 1
}

fn touched(mib: usize) -> Vec<u8> {
    let mut v = vec![0u8; mib * MIB];
    for (i, p) in v.iter_mut().step_by(PAGE).enumerate() {
        *p = pattern_byte(i);
    }
    v
}

fn read_file(path: &Path, buf: &mut [u8]) -> io::Result<()> {
    let mut f = std::fs::File::open(path)?;
    while f.read(buf)? > 0 {}
    Ok(())
}

/// Runs the app in this process; returns only on an error.
pub fn run(o: &AppOptions) -> io::Result<()> {
    let pid = std::process::id().to_string();
    for dir in &o.join {
        std::fs::write(dir.join("cgroup.procs"), &pid)
            .map_err(|e| io::Error::new(e.kind(), format!("joining {}: {e}", dir.display())))?;
    }
    if o.sched_idle {
        crate::sys::sched_setscheduler(0, crate::sys::SCHED_IDLE, 0)?;
    }
    let base = touched(o.anon_mib);
    let mut buf = vec![0u8; MIB];
    if let Some(f) = &o.file {
        if o.file_mib > 0 {
            let chunk: Vec<u8> = (0..MIB).map(pattern_byte).collect();
            let mut out = std::fs::File::create(f)?;
            for _ in 0..o.file_mib {
                out.write_all(&chunk)?;
            }
            out.sync_all()?;
        }
        read_file(f, &mut buf)?;
    }
    // Commands from stdin, applied by the main loop.
    let rate = Arc::new(AtomicUsize::new(o.grow_mib_per_s));
    let max = Arc::new(AtomicUsize::new(o.max_mib.unwrap_or(usize::MAX)));
    let shrink = Arc::new(AtomicBool::new(false));
    {
        let (rate, max, shrink) = (Arc::clone(&rate), Arc::clone(&max), Arc::clone(&shrink));
        std::thread::spawn(move || {
            for line in io::stdin().lock().lines().map_while(Result::ok) {
                let mut w = line.split_whitespace();
                match (w.next(), w.next().and_then(|v| v.parse::<usize>().ok())) {
                    (Some("grow"), Some(n)) => rate.store(n, Ordering::SeqCst),
                    (Some("max"), Some(n)) => max.store(n, Ordering::SeqCst),
                    (Some("shrink"), _) => shrink.store(true, Ordering::SeqCst),
                    _ => {}
                }
            }
        });
    }
    println!("ready {pid}");
    io::stdout().flush()?;
    let mut leak: Vec<Vec<u8>> = Vec::new();
    let mut leaked = 0usize;
    let mut last = Instant::now();
    let mut owed = 0.0f64;
    loop {
        let now = Instant::now();
        let r = rate.load(Ordering::SeqCst);
        if shrink.swap(false, Ordering::SeqCst) {
            leak.clear();
            leaked = 0;
            owed = 0.0;
        }
        if r > 0 {
            owed += now.duration_since(last).as_secs_f64() * r as f64;
            let room = max.load(Ordering::SeqCst).saturating_sub(o.anon_mib + leaked);
            // The whole MiB owed: a small non-negative float.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let step = (owed.max(0.0) as usize).min(room);
            if step > 0 {
                leak.push(touched(step));
                leaked += step;
                owed -= step as f64;
            }
            if room == 0 {
                owed = 0.0;
            }
        }
        last = now;
        if o.reread {
            if let Some(f) = &o.file {
                read_file(f, &mut buf)?;
            }
        }
        if o.spin {
            std::hint::spin_loop();
        } else {
            let ms = if o.reread || r > 0 { 10 } else { 200 };
            std::thread::sleep(Duration::from_millis(ms));
        }
        std::hint::black_box(&base);
    }
}

/// A running app, killed and reaped when dropped.
pub struct AppProcess {
    child: Child,
    stdin: Option<ChildStdin>,
    pid: i32,
}

impl AppProcess {
    /// Starts `program args... <options>` (a binary with an app mode: `lmkd app` or
    /// `lmkctl app`) and waits until it has joined its cgroups and holds its memory.
    pub fn spawn(program: &Path, args: &[&str], o: &AppOptions) -> io::Result<AppProcess> {
        let mut child = Command::new(program)
            .args(args)
            .args(o.to_args())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let stdin = child.stdin.take();
        let mut out = io::BufReader::new(child.stdout.take().expect("piped"));
        let mut line = String::new();
        let ready = out.read_line(&mut line).is_ok() && line.starts_with("ready ");
        if !ready {
            let _ = child.kill();
            let _ = child.wait();
            return Err(io::Error::other(format!("the app did not start: {line:?}")));
        }
        let pid = i32::try_from(child.id()).unwrap_or(0);
        Ok(AppProcess { child, stdin, pid })
    }

    /// Its pid.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// Sends a command (`grow N`, `max N`, `shrink`).
    pub fn command(&mut self, cmd: &str) -> io::Result<()> {
        match &mut self.stdin {
            Some(s) => writeln!(s, "{cmd}"),
            None => Err(io::Error::from(io::ErrorKind::BrokenPipe)),
        }
    }

    /// Whether it has exited (and reaps it if so).
    pub fn exited(&mut self) -> bool {
        !matches!(self.child.try_wait(), Ok(None))
    }

    /// Kills it now and reaps it (waiting at most `wait`; a frozen app cannot die until
    /// thawed).
    pub fn kill(&mut self, wait: Duration) {
        let _ = self.child.kill();
        let end = Instant::now() + wait;
        while !self.exited() && Instant::now() < end {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for AppProcess {
    fn drop(&mut self) {
        self.kill(Duration::from_secs(3));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_round_trip() {
        let o = AppOptions {
            anon_mib: 64,
            file: Some("/tmp/x".into()),
            file_mib: 16,
            reread: true,
            grow_mib_per_s: 10,
            max_mib: Some(300),
            sched_idle: true,
            spin: false,
            join: vec!["/a".into(), "/b".into()],
        };
        assert_eq!(AppOptions::parse(&o.to_args()), Ok(o));
        assert!(AppOptions::parse(&["--anon".into()]).is_err());
        assert!(AppOptions::parse(&["--what".into()]).is_err());
    }
}
