//! `LMK_PROCPRIO` throughput through the real socket, and the daemon's idle memory.
//!
//! Run with `cargo bench --bench procprio` (add `-- --quick` for a short run). It starts the
//! release `lmkd` twice per round: once as shipped (the `oom_score_adj` file of each record
//! kept open: one `write` per update), once with `--bench-reopen-procfs` (the baseline: read
//! `/proc/<pid>/status`, open, write and close `oom_score_adj` on every message, as AOSP lmkd
//! does). Both get the same 1,000 registered `sleep` processes and the same stream of updates
//! whose adj changes every time, from one client, ended by a `LMK_GETKILLCNT` barrier. Rounds
//! alternate the two daemons so that machine noise hits both alike; the report gives medians,
//! the min–max spread and the ratio of medians. Results go to stdout as a Markdown table.

use std::fs;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use lmkd::client::Client;

const PROCESSES: usize = 1000;

struct Daemon {
    child: Child,
    socket: std::path::PathBuf,
}

impl Daemon {
    fn start(dir: &std::path::Path, name: &str, extra: &[&str]) -> Daemon {
        let socket = dir.join(format!("{name}.sock"));
        let child = Command::new(env!("CARGO_BIN_EXE_lmkd"))
            .arg("--socket")
            .arg(&socket)
            .args(extra)
            .env("LMKD_LOG", "warn")
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start lmkd");
        let end = Instant::now() + Duration::from_secs(10);
        while Client::connect(&socket).is_err() {
            assert!(Instant::now() < end, "lmkd did not come up");
            std::thread::sleep(Duration::from_millis(10));
        }
        Daemon { child, socket }
    }

    fn status_kb(&self, key: &str) -> u64 {
        let s = fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let line = s.lines().find(|l| l.starts_with(key)).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn packet(pid: i32, uid: i32, adj: i32) -> [u8; 16] {
    let mut b = [0u8; 16];
    for (i, w) in [1, pid, uid, adj].iter().enumerate() {
        b[i * 4..i * 4 + 4].copy_from_slice(&w.to_be_bytes());
    }
    b
}

/// Sends `updates` priority changes over the registered pids and returns updates per second.
fn run_updates(d: &Daemon, pids: &[i32], updates: usize) -> f64 {
    let mut c = Client::connect(&d.socket).unwrap();
    c.set_timeout(Some(Duration::from_secs(120))).unwrap();
    for &pid in pids {
        c.send_raw(&packet(pid, 10_000, 900)).unwrap();
    }
    c.kill_count(-1000, 1000).unwrap();
    let packets: Vec<[u8; 16]> = (0..updates)
        .map(|i| packet(pids[i % pids.len()], 10_000, 901 + (i / pids.len() % 98) as i32))
        .collect();
    let t0 = Instant::now();
    for p in &packets {
        c.send_raw(p).unwrap();
    }
    c.kill_count(-1000, 1000).unwrap();
    let secs = t0.elapsed().as_secs_f64();
    // Check the last update of the first pid really reached its file.
    let last = (0..updates).rev().find(|i| i % pids.len() == 0).unwrap();
    let want = 901 + (last / pids.len() % 98) as i32;
    let got: i32 = fs::read_to_string(format!("/proc/{}/oom_score_adj", pids[0]))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(got, want, "updates did not reach /proc");
    updates as f64 / secs
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let (rounds, updates) = if quick { (2, 20_000) } else { (5, 200_000) };
    let dir = std::env::temp_dir().join(format!("lmkd-bench-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();

    let mut kids: Vec<Child> = (0..PROCESSES)
        .map(|_| {
            Command::new("sleep").arg("3600").stdin(Stdio::null()).spawn().expect("spawn sleep")
        })
        .collect();
    let pids: Vec<i32> = kids.iter().map(|k| k.id() as i32).collect();

    let mut fast = Vec::new();
    let mut base = Vec::new();
    let mut idle_rss = Vec::new();
    let mut idle_anon = Vec::new();
    let mut loaded_rss = Vec::new();
    for round in 0..rounds {
        let d = Daemon::start(&dir, &format!("kept{round}"), &[]);
        std::thread::sleep(Duration::from_millis(200));
        idle_rss.push(d.status_kb("VmRSS:") as f64);
        idle_anon.push(d.status_kb("RssAnon:") as f64);
        fast.push(run_updates(&d, &pids, updates));
        loaded_rss.push(d.status_kb("VmRSS:") as f64);
        drop(d);
        let d = Daemon::start(&dir, &format!("reopen{round}"), &["--bench-reopen-procfs"]);
        base.push(run_updates(&d, &pids, updates));
        drop(d);
        eprintln!(
            "round {}: kept-open {:.0}/s, reopen {:.0}/s",
            round + 1,
            fast[round],
            base[round]
        );
    }
    for k in &mut kids {
        let _ = k.kill();
        let _ = k.wait();
    }
    let _ = fs::remove_dir_all(&dir);

    let spread = |v: &[f64]| {
        let min = v.iter().cloned().fold(f64::INFINITY, f64::min);
        let max = v.iter().cloned().fold(0.0, f64::max);
        format!("{min:.0}–{max:.0}")
    };
    let (fs_, bs) = (spread(&fast), spread(&base));
    let (fm, bm) = (median(&mut fast), median(&mut base));
    println!("| measure ({rounds} rounds, {PROCESSES} registered, {updates} updates each) | median | spread |");
    println!("|---|---:|---:|");
    println!("| LMK_PROCPRIO/s, lmkd (kept-open oom_score_adj) | {fm:.0} | {fs_} |");
    println!("| LMK_PROCPRIO/s, baseline (open/read/write /proc per message) | {bm:.0} | {bs} |");
    println!("| ratio lmkd / baseline | {:.2}× | |", fm / bm);
    let (irs, ias, lrs) = (spread(&idle_rss), spread(&idle_anon), spread(&loaded_rss));
    println!("| idle VmRSS (kB) | {:.0} | {irs} |", median(&mut idle_rss));
    println!("| idle RssAnon (kB) | {:.0} | {ias} |", median(&mut idle_anon));
    println!("| VmRSS with {PROCESSES} registered (kB) | {:.0} | {lrs} |", median(&mut loaded_rss));
}
