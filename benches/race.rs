//! The race with the kernel's OOM killer: an allocation-rate sweep.
//!
//! Run as root: `cargo bench --bench race` (`-- --runs N`, default 5; `--rates 16,64` and
//! `--variants nocache,cache` and `--modes on,off,kernel` narrow it down; `--json FILE` writes
//! every run). Results go to stdout as Markdown tables.
//!
//! The scenario: a no-swap memory-cgroup sandbox of [`LIMIT_MIB`] (the `lmkd demo` world,
//! [`lmkd::demo::world`]) holds nine apps on AOSP's adj ladder (999, 950, 900, 800, 700, 600,
//! 500, 200, 100; [`APP_MIB`] of private anonymous memory each) and a foreground app (adj 0)
//! that, after 2 s, grows at the rate under test up to a cap that fits only once
//! [`NEEDED`] apps are gone. Two variants:
//!
//! * `nocache`: nothing but anonymous memory — a group with no page cache gives no pressure
//!   signal before its limit;
//! * `cache`: the perceptible app (adj 200) re-reads a 64 MiB file it wrote from inside the
//!   sandbox (its page cache is charged there), and the cap is 64 MiB lower, so that the file
//!   still fits once [`NEEDED`] apps are gone.
//!
//! Modes, interleaved run by run: `on` (the daemon, `ro.lmk.predictive_kill=true`), `off` (the
//! daemon as AOSP: `ro.lmk.predictive_kill=false`), `kernel` (no daemon; the bench writes each
//! app's `oom_score_adj` itself, so the kernel's memcg OOM killer has the same ranking).
//!
//! Per run: kernel OOM kills (and how many of them came while a killable registered app, one
//! with adj above 0, was alive), daemon kills, kills beyond [`NEEDED`], the first death after the growth
//! began, the sandbox's PSI `some` stall (cgroup v2 `memory.pressure`), the foreground app's
//! survival. A run ends once the foreground app is at its cap (or dead) and nothing died for
//! 2 s, or after 40 s of growth.

use std::fmt::Write as _;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use lmkd::demo::app::AppOptions;
use lmkd::demo::world::{json_escape, Mode, World, WorldOptions};

const MIB: u64 = 1 << 20;
/// The sandbox's limit.
const LIMIT_MIB: u64 = 384;
/// Each ladder app's anonymous memory.
const APP_MIB: usize = 24;
/// The ladder.
const LADDER: [i32; 9] = [999, 950, 900, 800, 700, 600, 500, 200, 100];
/// The foreground app's size before it grows.
const FG_START_MIB: usize = 16;
/// What the sandbox needs besides the apps (kernel memory, the apps' own runtime).
const SLACK_MIB: usize = 24;
/// The apps that must die for the foreground app to reach its cap.
const NEEDED: usize = 4;
/// The re-read file of the `cache` variant.
const FILE_MIB: usize = 64;
const SETTLE: Duration = Duration::from_secs(2);
const LONGEST_GROWTH: Duration = Duration::from_secs(40);

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Which {
    On,
    Off,
    Kernel,
}

impl Which {
    fn name(self) -> &'static str {
        match self {
            Which::On => "on",
            Which::Off => "off",
            Which::Kernel => "kernel",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Variant {
    NoCache,
    Cache,
}

impl Variant {
    fn name(self) -> &'static str {
        match self {
            Variant::NoCache => "nocache",
            Variant::Cache => "cache",
        }
    }

    /// The foreground app's cap: what fits once [`NEEDED`] ladder apps are gone.
    fn cap_mib(self) -> usize {
        let apps = (LADDER.len() - NEEDED) * APP_MIB;
        let file = if self == Variant::Cache { FILE_MIB } else { 0 };
        LIMIT_MIB as usize - SLACK_MIB - apps - file
    }
}

struct Death {
    t: Duration,
    adj: i32,
    by_lmkd: bool,
    /// Registered apps with adj > 0 alive when it died (a kernel kill with some is a lost race).
    killable_left: usize,
}

struct RunResult {
    which: Which,
    variant: Variant,
    rate: usize,
    deaths: Vec<Death>,
    oom_kills: u64,
    growth_start: Duration,
    stall_some_us: u64,
    fg_survived: bool,
    capped: bool,
}

impl RunResult {
    fn lmkd_kills(&self) -> usize {
        self.deaths.iter().filter(|d| d.by_lmkd).count()
    }
    fn kernel_kills(&self) -> usize {
        self.deaths.iter().filter(|d| !d.by_lmkd).count()
    }
    fn lost_races(&self) -> usize {
        self.deaths.iter().filter(|d| !d.by_lmkd && d.killable_left > 0).count()
    }
    fn beyond_needed(&self) -> usize {
        self.deaths.len().saturating_sub(NEEDED)
    }
    fn first_death(&self) -> Option<Duration> {
        self.deaths.iter().map(|d| d.t).min().map(|t| t.saturating_sub(self.growth_start))
    }
}

fn rss_kb(pid: i32) -> Option<u64> {
    fs::read_to_string(format!("/proc/{pid}/status")).ok().and_then(|s| {
        s.lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
    })
}

fn one(
    program: &Path,
    which: Which,
    variant: Variant,
    rate: usize,
    n: usize,
) -> io::Result<RunResult> {
    let file = lmkd::demo::data_dir().join(format!("lmkd-race-file-{}-{n}", std::process::id()));
    struct Remove(PathBuf);
    impl Drop for Remove {
        fn drop(&mut self) {
            let _ = fs::remove_file(&self.0);
        }
    }
    let _remove = Remove(file.clone());
    let mut w = World::start(&WorldOptions {
        program: program.to_path_buf(),
        tag: format!("race-{}-{n}", which.name()),
        limit: LIMIT_MIB * MIB,
        mode: if which == Which::Kernel { Mode::NoDaemon } else { Mode::Psi },
        props: format!("ro.lmk.predictive_kill={}\n", which == Which::On),
        freezer: false,
    })?;
    let launch = |w: &mut World, name: &str, a: i32, o: AppOptions| -> io::Result<usize> {
        let i = w.launch(name, a, o)?;
        if which == Which::Kernel {
            fs::write(format!("/proc/{}/oom_score_adj", w.apps[i].process.pid()), a.to_string())?;
        }
        Ok(i)
    };
    for a in LADDER {
        let mut o = AppOptions { anon_mib: APP_MIB, ..Default::default() };
        if variant == Variant::Cache && a == 200 {
            o.file = Some(file.clone());
            o.file_mib = FILE_MIB;
            o.reread = true;
        }
        launch(&mut w, &format!("app-{a}"), a, o)?;
    }
    let fg = launch(
        &mut w,
        "foreground",
        0,
        AppOptions { anon_mib: FG_START_MIB, ..Default::default() },
    )?;
    let adjs: Vec<i32> = w.apps.iter().map(|a| a.adj).collect();
    let mut dead: Vec<bool> = vec![false; w.apps.len()];
    let mut deaths: Vec<Death> = Vec::new();
    let oom_before = w.sandbox.oom_kills();
    let first = w.sample();
    let growth_at = w.now() + Duration::from_secs(2);
    let mut growth_start = None;
    let mut last_death = w.now();
    let mut fg_rss = 0;
    let mut capped = false;
    let cap = variant.cap_mib();
    loop {
        std::thread::sleep(Duration::from_millis(5));
        w.poll()?;
        let now = w.now();
        if growth_start.is_none() && now >= growth_at {
            w.apps[fg].process.command(&format!("max {cap}"))?;
            w.apps[fg].process.command(&format!("grow {rate}"))?;
            growth_start = Some(now);
        }
        for i in 0..w.apps.len() {
            if dead[i] {
                continue;
            }
            let by = w.apps[i].killed_at;
            if by.is_none() && !w.apps[i].process.exited() {
                continue;
            }
            dead[i] = true;
            last_death = now;
            let killable_left = (0..w.apps.len()).filter(|&j| !dead[j] && adjs[j] > 0).count();
            deaths.push(Death {
                t: by.unwrap_or(now),
                adj: adjs[i],
                by_lmkd: by.is_some(),
                killable_left,
            });
        }
        if !dead[fg] {
            fg_rss = rss_kb(w.apps[fg].process.pid()).unwrap_or(fg_rss);
        }
        let grown =
            growth_start.is_some() && (dead[fg] || fg_rss >= (cap as u64).saturating_sub(2) * 1024);
        if grown && now > last_death + SETTLE {
            break;
        }
        if growth_start.is_some_and(|g| now > g + LONGEST_GROWTH) {
            capped = true;
            break;
        }
    }
    w.apps[fg].process.command("grow 0").ok();
    let last = w.sample();
    deaths.sort_by_key(|d| (d.t, -d.adj));
    Ok(RunResult {
        which,
        variant,
        rate,
        oom_kills: w.sandbox.oom_kills() - oom_before,
        growth_start: growth_start.unwrap_or_default(),
        stall_some_us: last.some_total_us.saturating_sub(first.some_total_us),
        fg_survived: !dead[fg],
        capped,
        deaths,
    })
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = v.len();
    match n {
        0 => f64::NAN,
        _ if n % 2 == 1 => v[n / 2],
        _ => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// "median [min–max]".
fn cell(v: &[f64], prec: usize) -> String {
    if v.is_empty() {
        return "–".into();
    }
    let min = v.iter().cloned().fold(f64::INFINITY, f64::min);
    let max = v.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    if (max - min).abs() < f64::EPSILON {
        return format!("{:.prec$}", min);
    }
    format!("{:.prec$} [{:.prec$}–{:.prec$}]", median(v), min, max)
}

fn table(results: &[RunResult], variant: Variant, rates: &[usize], modes: &[Which]) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "\n{} — limit {LIMIT_MIB} MiB, foreground cap {} MiB, {NEEDED} kills needed\n",
        match variant {
            Variant::NoCache => "(i) no page cache",
            Variant::Cache => "(ii) a 64 MiB re-read file charged to the sandbox",
        },
        variant.cap_mib()
    );
    o.push_str("| MiB/s | mode | kernel OOM kills (with a killable app left) | daemon kills | beyond needed | first death after growth (s) | PSI some stall (s) | foreground survived |\n");
    o.push_str("|---:|---|---:|---:|---:|---:|---:|---:|\n");
    for &rate in rates {
        for &m in modes {
            let rs: Vec<&RunResult> = results
                .iter()
                .filter(|r| r.variant == variant && r.rate == rate && r.which == m)
                .collect();
            if rs.is_empty() {
                continue;
            }
            let f = |g: &dyn Fn(&RunResult) -> f64| rs.iter().map(|r| g(r)).collect::<Vec<f64>>();
            let lost: usize = rs.iter().map(|r| r.lost_races()).sum();
            let kernel: usize = rs.iter().map(|r| r.kernel_kills()).sum();
            let first: Vec<f64> =
                rs.iter().filter_map(|r| r.first_death()).map(|d| d.as_secs_f64()).collect();
            let capped = rs.iter().filter(|r| r.capped).count();
            let _ = writeln!(
                o,
                "| {rate} | {} | {} ({lost}) in {} runs | {} | {} | {} | {} | {}/{}{} |",
                m.name(),
                kernel,
                rs.len(),
                cell(&f(&|r| r.lmkd_kills() as f64), 0),
                cell(&f(&|r| r.beyond_needed() as f64), 0),
                cell(&first, 2),
                cell(&f(&|r| r.stall_some_us as f64 / 1e6), 2),
                rs.iter().filter(|r| r.fg_survived).count(),
                rs.len(),
                if capped > 0 { format!(" ({capped} hit the time cap)") } else { String::new() },
            );
        }
    }
    o
}

fn to_json(results: &[RunResult]) -> String {
    let mut o = String::from("{\"bench\":\"race\",\"runs\":[");
    for (i, r) in results.iter().enumerate() {
        if i > 0 {
            o.push(',');
        }
        let _ = write!(
            o,
            "{{\"mode\":\"{}\",\"variant\":\"{}\",\"rate\":{},\"oom_kills\":{},\"stall_some_us\":{},\"foreground_survived\":{},\"capped\":{},\"growth_start_ms\":{},\"deaths\":[",
            r.which.name(),
            r.variant.name(),
            r.rate,
            r.oom_kills,
            r.stall_some_us,
            r.fg_survived,
            r.capped,
            r.growth_start.as_millis()
        );
        for (j, d) in r.deaths.iter().enumerate() {
            if j > 0 {
                o.push(',');
            }
            let _ = write!(
                o,
                "{{\"t_ms\":{},\"adj\":{},\"by\":\"{}\",\"killable_left\":{}}}",
                d.t.as_millis(),
                d.adj,
                json_escape(if d.by_lmkd { "lmkd" } else { "kernel" }),
                d.killable_left
            );
        }
        o.push_str("]}");
    }
    o.push_str("]}\n");
    o
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg =
        |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let runs: usize = arg("--runs").and_then(|v| v.parse().ok()).unwrap_or(5).max(1);
    let rates: Vec<usize> = arg("--rates")
        .unwrap_or_else(|| "16,64,128,256,512".into())
        .split(',')
        .filter_map(|r| r.parse().ok())
        .collect();
    let variants: Vec<Variant> = arg("--variants")
        .unwrap_or_else(|| "nocache,cache".into())
        .split(',')
        .filter_map(|v| match v {
            "nocache" => Some(Variant::NoCache),
            "cache" => Some(Variant::Cache),
            _ => None,
        })
        .collect();
    let modes: Vec<Which> = arg("--modes")
        .unwrap_or_else(|| "on,off,kernel".into())
        .split(',')
        .filter_map(|m| match m {
            "on" => Some(Which::On),
            "off" => Some(Which::Off),
            "kernel" => Some(Which::Kernel),
            _ => None,
        })
        .collect();
    let json = arg("--json").map(PathBuf::from);
    let root = fs::read_to_string("/proc/self/status")
        .map(|s| {
            s.lines().any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(2) == Some("0"))
        })
        .unwrap_or(false);
    if !root || !PathBuf::from("/sys/fs/cgroup/unified/cgroup.procs").exists() {
        println!(
            "race benchmark: needs root, cgroup v1 memory and the cgroup v2 hierarchy; skipped"
        );
        return;
    }
    let program = PathBuf::from(env!("CARGO_BIN_EXE_lmkd"));
    let mut results = Vec::new();
    let mut n = 0;
    let started = Instant::now();
    for rep in 0..runs {
        for &variant in &variants {
            for &rate in &rates {
                for &m in &modes {
                    n += 1;
                    let r = one(&program, m, variant, rate, n).expect("run");
                    eprintln!(
                        "run {}/{runs} {:<7} {:>3} MiB/s {:<6}: {} kernel ({} lost), {} lmkd, first death {}, stall {:.2} s, foreground {}",
                        rep + 1,
                        variant.name(),
                        rate,
                        m.name(),
                        r.kernel_kills(),
                        r.lost_races(),
                        r.lmkd_kills(),
                        r.first_death().map_or("–".into(), |d| format!("{:.2} s", d.as_secs_f64())),
                        r.stall_some_us as f64 / 1e6,
                        if r.fg_survived { "survived" } else { "died" }
                    );
                    results.push(r);
                }
            }
        }
    }
    println!("# race: {runs} runs per cell, {} s in all", started.elapsed().as_secs());
    for &v in &variants {
        print!("{}", table(&results, v, &rates, &modes));
    }
    if let Some(p) = json {
        fs::write(&p, to_json(&results)).expect("write the JSON");
    }
}
