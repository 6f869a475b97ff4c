//! Peer comparison: one scenario, three ways of handling it, repeated.
//!
//! Run as root: `cargo bench --bench compare -- --runs 5 --json FILE` (`--limit MIB`, default
//! 512; `--modes lmkd,noreap,kernel` narrows a run down). Results go to stdout as a Markdown
//! table (medians, min–max in brackets); `--json` also writes every run — samples, deaths,
//! figures — for `cargo bench --bench plot`. With `LMKD_COMPARE_WORLD_JSON=PREFIX` each run's
//! world also writes its `lmkd demo`-style event log to `PREFIX-<mode>-<n>.json`.
//!
//! The scenario (issue 7's scenario (d), a foreground leak): a memory-cgroup sandbox (the
//! `lmkd demo` world, [`lmkd::demo::world`]) holds four cached apps (adj 900, 915, 930, 945; 40
//! MiB of private anonymous memory each), a perceptible music app (adj 200; 32 MiB anonymous,
//! re-reading a 64 MiB file, so that it refaults as soon as its page cache is squeezed) and the
//! foreground app (adj 0; 40 MiB). After 2 s the foreground app starts leaking at 16 MiB/s up
//! to 448 MiB in all, which fits the 512 MiB sandbox only once every other app is gone (with
//! the music app alive, its file pages are squeezed out and it thrashes). The right outcome:
//! the cached apps die in adj order (945 first), then the perceptible one; the foreground app
//! survives. (The scenario test `foreground_leak_kills_in_adj_order` lets the leak grow without
//! bound, so that the leaker dies last; here the leak stops where the foreground app still
//! fits alone, so that its survival is a result, not a given.)
//!
//! Modes, interleaved run by run so that a slow spell of the shared machine hits all alike:
//!
//! * `lmkd`: the release daemon, PSI strategy, memcg domain = the sandbox (as `lmkd demo`);
//! * `noreap`: the same with `ro.lmk.reaper_threads=0` (synchronous pidfd SIGKILL, no
//!   `process_mrelease`);
//! * `kernel`: no daemon; the bench writes each app's `oom_score_adj` itself (as the daemon
//!   would on `LMK_PROCPRIO`), so the kernel's memcg OOM killer has the same ranking to go by.
//!
//! Figures per run: deaths (the daemon's kills plus the kernel's OOM kills in the sandbox),
//! memory freed per kill (the victim's VmRSS right before it died: the daemon's record, or the
//! bench's last sample ≤ 100 ms before), time from pressure onset to relief, the sandbox's PSI
//! stall during the run, whether the foreground app survived, whether the deaths kept adj order.
//!
//! Pressure is read from the sandbox's cgroup v2 `memory.pressure` `some` total, sampled every
//! 100 ms: onset is the first sample after the leak starts in which it grew by at least 10 % of
//! the elapsed time; relief is the end of the last such sample. A run ends once the leak is
//! done (the foreground app is at its cap, or dead) and the sandbox has been calm for 3 s, or
//! after 90 s.

use std::fmt::Write as _;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use lmkd::demo::app::AppOptions;
use lmkd::demo::world::{adj, json_escape, Mode, World, WorldOptions};

const MIB: u64 = 1 << 20;
const APP_MIB: usize = 40;
const LEAK_CAP_MIB: usize = 448;
const LEAK_RATE: usize = 16;
const STALL_RATE: f64 = 0.10;
const CALM: Duration = Duration::from_secs(3);
const LONGEST: Duration = Duration::from_secs(90);

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Which {
    Lmkd,
    NoReap,
    Kernel,
}

impl Which {
    fn name(self) -> &'static str {
        match self {
            Which::Lmkd => "lmkd",
            Which::NoReap => "noreap",
            Which::Kernel => "kernel",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Which::Lmkd => "(i) lmkd",
            Which::NoReap => "(ii) lmkd, reaping off (SIGKILL only)",
            Which::Kernel => "(iii) no daemon (kernel memcg OOM killer)",
        }
    }
}

/// A death in the sandbox.
struct Death {
    t: Duration,
    app: String,
    adj: i32,
    rss_kb: u64,
    by_lmkd: bool,
    /// SIGKILL → `process_mrelease` returned (daemon kills with reaping).
    reap_us: Option<i64>,
    /// SIGKILL → death seen on the pidfd (daemon kills).
    death_us: Option<i64>,
}

/// One sample: t, usage, PSI some avg10, some total, full total.
type Row = (Duration, u64, f64, u64, u64);

struct RunResult {
    which: Which,
    deaths: Vec<Death>,
    oom_kills: u64,
    leak_start: Duration,
    onset: Option<Duration>,
    relief: Option<Duration>,
    stall_some_us: u64,
    stall_full_us: u64,
    fg_survived: bool,
    adj_order: bool,
    /// The run hit the time cap (still under pressure, or the leak not done).
    capped: bool,
    end: Duration,
    samples: Vec<Row>,
}

fn rss_kb(pid: i32) -> Option<u64> {
    fs::read_to_string(format!("/proc/{pid}/status")).ok().and_then(|s| {
        s.lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
    })
}

fn one(program: &Path, which: Which, limit_mib: u64, n: usize) -> io::Result<RunResult> {
    let music_file =
        lmkd::demo::data_dir().join(format!("lmkd-compare-music-{}-{n}", std::process::id()));
    struct Remove(PathBuf);
    impl Drop for Remove {
        fn drop(&mut self) {
            let _ = fs::remove_file(&self.0);
        }
    }
    let _remove = Remove(music_file.clone());
    let mut w = World::start(&WorldOptions {
        program: program.to_path_buf(),
        tag: format!("compare-{}-{n}", which.name()),
        limit: limit_mib * MIB,
        mode: if which == Which::Kernel { Mode::NoDaemon } else { Mode::Psi },
        props: if which == Which::NoReap {
            "ro.lmk.reaper_threads=0\n".into()
        } else {
            String::new()
        },
        freezer: false,
    })?;
    let plain = |anon| AppOptions { anon_mib: anon, ..Default::default() };
    let launch = |w: &mut World, name: &str, a: i32, o: AppOptions| -> io::Result<usize> {
        let i = w.launch(name, a, o)?;
        if which == Which::Kernel {
            // What the daemon writes on LMK_PROCPRIO: the kernel's OOM killer ranks by it.
            fs::write(format!("/proc/{}/oom_score_adj", w.apps[i].process.pid()), a.to_string())?;
        }
        Ok(i)
    };
    for (k, a) in [900, 915, 930, 945].into_iter().enumerate() {
        launch(&mut w, &format!("cached-{}", k + 1), a, plain(APP_MIB))?;
    }
    launch(
        &mut w,
        "music",
        adj::PERCEPTIBLE,
        AppOptions {
            anon_mib: 32,
            file: Some(music_file.clone()),
            file_mib: 64,
            reread: true,
            ..Default::default()
        },
    )?;
    let fg = launch(&mut w, "foreground", adj::FOREGROUND, plain(APP_MIB))?;
    let adjs: Vec<i32> = w.apps.iter().map(|a| a.adj).collect();
    let mut last_rss: Vec<u64> =
        w.apps.iter().map(|a| rss_kb(a.process.pid()).unwrap_or(0)).collect();
    let mut dead: Vec<Option<Duration>> = vec![None; w.apps.len()];
    let mut deaths: Vec<Death> = Vec::new();
    let oom_before = w.sandbox.oom_kills();
    let first = w.sample();
    let mut samples: Vec<Row> = Vec::new();
    let mut prev = first;
    let mut onset = None;
    let mut relief = None;
    let mut leak_start = None;
    let baseline_until = w.now() + Duration::from_secs(2);
    let mut last_death = w.now();
    let mut next_sample = w.now();
    let started = Instant::now();
    let mut last_sample_t = w.now();
    let mut capped = false;
    loop {
        std::thread::sleep(Duration::from_millis(20));
        w.poll()?;
        let now = w.now();
        if leak_start.is_none() && now >= baseline_until {
            w.note("the foreground app starts leaking");
            w.apps[fg].process.command(&format!("max {LEAK_CAP_MIB}"))?;
            w.apps[fg].process.command(&format!("grow {LEAK_RATE}"))?;
            leak_start = Some(now);
        }
        // Deaths: the daemon's reports first (their time is the kill's), then exits.
        for i in 0..w.apps.len() {
            if dead[i].is_some() {
                continue;
            }
            let by_lmkd = w.apps[i].killed_at;
            if by_lmkd.is_none() && !w.apps[i].process.exited() {
                continue;
            }
            let t = by_lmkd.unwrap_or(now);
            dead[i] = Some(t);
            last_death = now;
            deaths.push(Death {
                t,
                app: w.apps[i].name.clone(),
                adj: adjs[i],
                rss_kb: last_rss[i],
                by_lmkd: by_lmkd.is_some(),
                reap_us: None,
                death_us: None,
            });
        }
        if now >= next_sample {
            next_sample = now + Duration::from_millis(100);
            let s = w.sample();
            for (i, a) in w.apps.iter().enumerate() {
                if dead[i].is_none() {
                    if let Some(r) = rss_kb(a.process.pid()) {
                        last_rss[i] = r;
                    }
                }
            }
            samples.push((s.t, s.usage, s.psi_some, s.some_total_us, s.full_total_us));
            let dt = s.t.saturating_sub(last_sample_t).as_micros() as f64;
            let stalled = s.some_total_us.saturating_sub(prev.some_total_us) as f64;
            if leak_start.is_some() && dt > 0.0 && stalled >= STALL_RATE * dt {
                onset.get_or_insert(last_sample_t);
                relief = Some(s.t);
            }
            prev = s;
            last_sample_t = s.t;
        }
        let leak_done = dead[fg].is_some()
            || last_rss[fg] >= (LEAK_CAP_MIB as u64 - 4) * 1024
            || leak_start.is_some_and(|l| now > l + Duration::from_secs(60));
        let calm_since = relief.unwrap_or(Duration::ZERO).max(last_death);
        if leak_done && now > calm_since + CALM {
            break;
        }
        if started.elapsed() > LONGEST {
            capped = true;
            break;
        }
    }
    w.apps[fg].process.command("grow 0").ok();
    // The daemon's records for the kills (VmRSS read right before SIGKILL, reap times).
    if which != Which::Kernel {
        let end = Instant::now() + Duration::from_secs(2);
        while w.kills.iter().any(|k| k.record.is_none_or(|r| r.outcome.is_none()))
            && Instant::now() < end
        {
            std::thread::sleep(Duration::from_millis(50));
            w.poll()?;
        }
        for d in deaths.iter_mut().filter(|d| d.by_lmkd) {
            let rec =
                w.kills.iter().find(|k| k.app.as_deref() == Some(&d.app)).and_then(|k| k.record);
            if let Some(r) = rec {
                if r.rss_kb > 0 {
                    d.rss_kb = r.rss_kb as u64;
                }
                d.reap_us = (r.reap_us >= 0).then_some(r.reap_us);
                d.death_us = (r.death_us >= 0).then_some(r.death_us);
            }
        }
    }
    // Deaths seen in the same poll (20 ms) are taken in adj order.
    deaths.sort_by_key(|d| (d.t, -d.adj));
    let last = samples.last().copied().unwrap_or((Duration::ZERO, 0, 0.0, 0, 0));
    let adj_order = deaths.windows(2).all(|p| p[0].adj >= p[1].adj);
    let json_path = std::env::var_os("LMKD_COMPARE_WORLD_JSON");
    if let Some(p) = json_path {
        let _ =
            fs::write(format!("{}-{}-{n}.json", p.to_string_lossy(), which.name()), w.to_json());
    }
    Ok(RunResult {
        which,
        oom_kills: w.sandbox.oom_kills() - oom_before,
        leak_start: leak_start.unwrap_or_default(),
        onset,
        relief,
        stall_some_us: last.3.saturating_sub(first.some_total_us),
        stall_full_us: last.4.saturating_sub(first.full_total_us),
        fg_survived: dead[fg].is_none(),
        adj_order,
        capped,
        end: w.now(),
        deaths,
        samples,
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

/// "median [min–max]" with `prec` decimals.
fn cell(v: &[f64], prec: usize) -> String {
    if v.is_empty() {
        return "–".into();
    }
    let min = v.iter().cloned().fold(f64::INFINITY, f64::min);
    let max = v.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    format!("{:.prec$} [{:.prec$}–{:.prec$}]", median(v), min, max)
}

fn to_json(runs: &[RunResult], limit_mib: u64) -> String {
    let ms = |d: Duration| d.as_millis();
    let opt = |d: Option<Duration>| d.map_or("null".to_owned(), |d| d.as_millis().to_string());
    let mut o = format!(
        "{{\"bench\":\"compare\",\"limit_bytes\":{},\"leak_cap_mib\":{LEAK_CAP_MIB},\"runs\":[",
        limit_mib * MIB
    );
    for (i, r) in runs.iter().enumerate() {
        if i > 0 {
            o.push(',');
        }
        let _ = write!(
            o,
            "{{\"mode\":\"{}\",\"label\":\"{}\",\"leak_start_ms\":{},\"onset_ms\":{},\"relief_ms\":{},\"end_ms\":{},\"stall_some_us\":{},\"stall_full_us\":{},\"oom_kills\":{},\"foreground_survived\":{},\"adj_order\":{},\"capped\":{},\"deaths\":[",
            r.which.name(),
            json_escape(r.which.label()),
            ms(r.leak_start),
            opt(r.onset),
            opt(r.relief),
            ms(r.end),
            r.stall_some_us,
            r.stall_full_us,
            r.oom_kills,
            r.fg_survived,
            r.adj_order,
            r.capped
        );
        for (j, d) in r.deaths.iter().enumerate() {
            if j > 0 {
                o.push(',');
            }
            let num = |v: Option<i64>| v.map_or("null".to_owned(), |v| v.to_string());
            let _ = write!(
                o,
                "{{\"t_ms\":{},\"app\":\"{}\",\"adj\":{},\"rss_kb\":{},\"by\":\"{}\",\"reap_us\":{},\"death_us\":{}}}",
                ms(d.t),
                json_escape(&d.app),
                d.adj,
                d.rss_kb,
                if d.by_lmkd { "lmkd" } else { "kernel" },
                num(d.reap_us),
                num(d.death_us)
            );
        }
        o.push_str("],\"samples\":[");
        for (j, s) in r.samples.iter().enumerate() {
            if j > 0 {
                o.push(',');
            }
            let _ = write!(o, "[{},{},{:.2},{},{}]", ms(s.0), s.1, s.2, s.3, s.4);
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
    let limit_mib: u64 =
        arg("--limit").and_then(|v| v.parse().ok()).unwrap_or(512).clamp(512, 1024);
    let json = arg("--json").map(PathBuf::from);
    let modes: Vec<Which> = arg("--modes")
        .unwrap_or_else(|| "lmkd,noreap,kernel".into())
        .split(',')
        .filter_map(|m| match m {
            "lmkd" => Some(Which::Lmkd),
            "noreap" => Some(Which::NoReap),
            "kernel" => Some(Which::Kernel),
            _ => None,
        })
        .collect();
    let root = fs::read_to_string("/proc/self/status")
        .map(|s| {
            s.lines().any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(2) == Some("0"))
        })
        .unwrap_or(false);
    if !root || !PathBuf::from("/sys/fs/cgroup/unified/cgroup.procs").exists() {
        println!("compare benchmark: needs root, cgroup v1 memory and the cgroup v2 hierarchy (sandbox PSI); skipped");
        return;
    }
    let program = PathBuf::from(env!("CARGO_BIN_EXE_lmkd"));
    let mut results: Vec<RunResult> = Vec::new();
    let mut n = 0;
    for rep in 0..runs {
        for &m in &modes {
            n += 1;
            eprint!("run {}/{runs} {:<7}", rep + 1, m.name());
            let r = one(&program, m, limit_mib, n).expect("run");
            eprintln!(
                " {} deaths ({}), oom {}, onset→relief {}, stall {:.2} s, foreground {}",
                r.deaths.len(),
                r.deaths
                    .iter()
                    .map(|d| format!("{}@{:.1}s", d.app, d.t.as_secs_f64()))
                    .collect::<Vec<_>>()
                    .join(" "),
                r.oom_kills,
                match (r.onset, r.relief) {
                    (Some(a), Some(b)) => format!("{:.1} s", (b - a).as_secs_f64()),
                    _ => "-".into(),
                },
                r.stall_some_us as f64 / 1e6,
                if r.fg_survived { "survived" } else { "died" }
            );
            results.push(r);
        }
    }
    println!("Scenario (d), {limit_mib} MiB sandbox, {runs} runs per mode: median [min–max]\n");
    println!("| measure | {} |", modes.iter().map(|m| m.label()).collect::<Vec<_>>().join(" | "));
    println!("|---|{}", "---:|".repeat(modes.len()));
    let per = |f: &dyn Fn(&RunResult) -> Option<f64>, prec: usize| -> String {
        modes
            .iter()
            .map(|&m| {
                let v: Vec<f64> = results.iter().filter(|r| r.which == m).filter_map(f).collect();
                cell(&v, prec)
            })
            .collect::<Vec<_>>()
            .join(" | ")
    };
    let count = |f: &dyn Fn(&RunResult) -> bool| -> String {
        modes
            .iter()
            .map(|&m| {
                let rs: Vec<&RunResult> = results.iter().filter(|r| r.which == m).collect();
                format!("{}/{}", rs.iter().filter(|r| f(r)).count(), rs.len())
            })
            .collect::<Vec<_>>()
            .join(" | ")
    };
    let rows: Vec<(&str, String)> = vec![
        ("kills (all deaths in the sandbox)", per(&|r| Some(r.deaths.len() as f64), 0)),
        ("… of them by the kernel's OOM killer", per(&|r| Some(r.oom_kills as f64), 0)),
        (
            "memory freed per kill, MiB (victim VmRSS; median of the run)",
            per(
                &|r| {
                    let v: Vec<f64> = r.deaths.iter().map(|d| d.rss_kb as f64 / 1024.0).collect();
                    (!v.is_empty()).then(|| median(&v))
                },
                1,
            ),
        ),
        ("pressure onset → relief, s", per(&|r| Some((r.relief? - r.onset?).as_secs_f64()), 1)),
        (
            "pressure onset → first death, s",
            per(&|r| Some(r.deaths.first()?.t.checked_sub(r.onset?)?.as_secs_f64()), 1),
        ),
        ("PSI some stall in the sandbox, s", per(&|r| Some(r.stall_some_us as f64 / 1e6), 2)),
        ("PSI full stall in the sandbox, s", per(&|r| Some(r.stall_full_us as f64 / 1e6), 2)),
        (
            "kill → reaped, ms (daemon's record; median of the run)",
            per(
                &|r| {
                    let v: Vec<f64> =
                        r.deaths.iter().filter_map(|d| d.reap_us).map(|u| u as f64 / 1e3).collect();
                    (!v.is_empty()).then(|| median(&v))
                },
                1,
            ),
        ),
        (
            "kill → death seen, ms (daemon's record; median of the run)",
            per(
                &|r| {
                    let v: Vec<f64> = r
                        .deaths
                        .iter()
                        .filter_map(|d| d.death_us)
                        .map(|u| u as f64 / 1e3)
                        .collect();
                    (!v.is_empty()).then(|| median(&v))
                },
                1,
            ),
        ),
        ("foreground app survived (runs)", count(&|r| r.fg_survived)),
        ("deaths in adj order (runs)", count(&|r| r.adj_order)),
        ("still under pressure at the 90 s cap (runs)", count(&|r| r.capped)),
    ];
    for (name, cells) in rows {
        println!("| {name} | {cells} |");
    }
    let _ = io::stdout().flush();
    if let Some(p) = json {
        fs::write(&p, to_json(&results, limit_mib)).expect("write JSON");
        eprintln!("wrote {}", p.display());
    }
}
