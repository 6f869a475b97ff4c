//! `lmkd demo`: the daemon doing its job, in one command, in a sandbox.
//!
//! A memory cgroup (1 GiB by default) plays the phone's RAM and is the daemon's memory domain.
//! The demo plays ActivityManager: it launches a dozen synthetic apps, registers them on AOSP's
//! adj ladder, switches between them as a user would, then lets the foreground app leak until
//! memory runs short — and shows, live, the sandbox's memory and PSI, the apps by adj, and
//! every kill with its reason, adj, memory freed and kill→reaped time. It ends with a summary,
//! removes everything (also on Ctrl-C), and can write its event log as JSON.
//!
//! [`world`] (sandbox + daemon + apps + ActivityManager's side) is what the scenario tests and
//! the comparison benchmark use as well; [`bpf`] is the memevents stand-in world of the
//! memevents tests and the pressure benchmark.

pub mod app;
pub mod bpf;
pub mod sandbox;
pub mod world;

use std::fmt::Write as _;
use std::io::{self, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use app::AppOptions;
use world::{adj, Mode, World, WorldOptions};

const MIB: u64 = 1 << 20;

/// `lmkd demo` options.
#[derive(Clone, Debug, PartialEq)]
pub struct DemoOptions {
    /// The sandbox's limit, MiB.
    pub limit_mib: u64,
    /// Write the event log here.
    pub json: Option<PathBuf>,
    /// Longest run.
    pub duration: Duration,
    /// vmpressure instead of PSI.
    pub mode: Mode,
    /// Redraw a live view (a terminal); otherwise print events as lines.
    pub live: bool,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions {
            limit_mib: 1024,
            json: None,
            duration: Duration::from_secs(60),
            mode: Mode::Psi,
            live: true,
        }
    }
}

/// `lmkd demo --help`.
pub const USAGE: &str = "\
usage: lmkd demo [--limit MIB] [--json FILE] [--duration SECONDS] [--vmpressure] [--plain]

Runs the daemon on a memory-cgroup sandbox and plays ActivityManager: a dozen synthetic apps
on AOSP's adj ladder, app switching, then a foreground app that leaks until memory runs
short. Shows memory, PSI, the apps by adj and every kill live; ends with a summary.
Needs root (it creates memory cgroups, and the daemon writes oom_score_adj and kills).

  --limit MIB       the sandbox's memory limit (default 1024; at most 1024 on shared hosts)
  --json FILE       write the event log (samples, launches, adj changes, kills) as JSON
  --duration S      stop after S seconds at the latest (default 60)
  --vmpressure      watch pressure with vmpressure and the old strategy instead of PSI
  --plain           print events as lines instead of redrawing a live view";

impl DemoOptions {
    /// Parses the arguments after `demo`.
    pub fn parse(args: &[String]) -> Result<DemoOptions, String> {
        let mut o = DemoOptions { live: stdout_is_terminal(), ..DemoOptions::default() };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let mut value =
                |name: &str| it.next().cloned().ok_or_else(|| format!("{name} needs a value"));
            match a.as_str() {
                "--limit" => {
                    o.limit_mib = value("--limit")?
                        .parse()
                        .ok()
                        .filter(|&m| m >= 256)
                        .ok_or("--limit needs a number of MiB, at least 256")?
                }
                "--json" => o.json = Some(value("--json")?.into()),
                "--duration" => {
                    o.duration = Duration::from_secs(
                        value("--duration")?
                            .parse()
                            .ok()
                            .filter(|&s| s >= 10)
                            .ok_or("--duration needs a number of seconds, at least 10")?,
                    )
                }
                "--vmpressure" => o.mode = Mode::Vmpressure,
                "--plain" => o.live = false,
                other => return Err(format!("unknown demo option {other:?}")),
            }
        }
        Ok(o)
    }
}

fn stdout_is_terminal() -> bool {
    use std::io::IsTerminal;
    io::stdout().is_terminal()
}

/// A directory for the demo's data files, on a disk (so their page cache is reclaimable).
pub fn data_dir() -> PathBuf {
    let var_tmp = PathBuf::from("/var/tmp");
    if var_tmp.is_dir() {
        var_tmp
    } else {
        std::env::temp_dir()
    }
}

/// What a run came to.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    /// Kills by the daemon.
    pub kills: usize,
    /// Kernel OOM kills in the sandbox.
    pub oom_kills: u64,
    /// The leaking foreground app survived.
    pub foreground_survived: bool,
    /// Highest usage, bytes.
    pub peak_usage: u64,
    /// Whether the run was interrupted.
    pub interrupted: bool,
}

/// Runs the demo; `program` is the `lmkd` binary (for the daemon and the apps).
pub fn run(program: PathBuf, o: &DemoOptions) -> io::Result<Summary> {
    crate::sys::catch_interrupts()?;
    /// Removes the file when dropped — after the world (declared later, dropped earlier).
    struct RemoveOnDrop(PathBuf);
    impl Drop for RemoveOnDrop {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
    let music_file =
        RemoveOnDrop(data_dir().join(format!("lmkd-demo-music-{}", std::process::id())));
    let limit = o.limit_mib * MIB;
    let mut w = World::start(&WorldOptions {
        program,
        tag: "demo".into(),
        limit,
        mode: o.mode,
        props: String::new(),
        freezer: false,
    })?;
    let per_app = (o.limit_mib / 20).max(8) as usize;
    let mut view = View::new(o.live);
    let started = Instant::now();
    let mut summary = Summary::default();

    // The launcher and a service first, then the user opens apps one after another: each new
    // one comes to the front, the one before becomes "previous", older ones are cached.
    let home =
        w.launch("launcher", adj::HOME, AppOptions { anon_mib: per_app, ..Default::default() })?;
    w.launch("sync-service", adj::SERVICE, AppOptions { anon_mib: per_app, ..Default::default() })?;
    let music = w.launch(
        "music",
        adj::PERCEPTIBLE,
        AppOptions {
            anon_mib: per_app / 2,
            file: Some(music_file.0.clone()),
            file_mib: per_app,
            reread: true,
            ..Default::default()
        },
    )?;
    let _ = music;
    // The user's apps, most recent last; `order[0]` is in front.
    let mut order: Vec<usize> = Vec::new();
    for i in 0..9 {
        let a = w.launch(
            &format!("app-{}", i + 1),
            adj::FOREGROUND,
            AppOptions { anon_mib: per_app, ..Default::default() },
        )?;
        order.insert(0, a);
        restack(&mut w, &order)?;
        view.tick(&mut w, "launching apps", started, &mut summary)?;
        if crate::sys::interrupted() {
            break;
        }
    }
    let _ = home;
    w.note("app switching");
    // Switching: every 1.5 s the user goes back to an older app.
    let switch_until = started + o.duration.mul_f64(0.3).max(Duration::from_secs(8));
    let mut next_switch = Instant::now();
    let mut k = 0usize;
    while Instant::now() < switch_until && !crate::sys::interrupted() {
        if Instant::now() >= next_switch {
            let alive: Vec<usize> =
                order.iter().copied().filter(|&i| w.apps[i].killed_at.is_none()).collect();
            if alive.len() > 2 {
                let pick = alive[2 + k % (alive.len() - 2)];
                order.retain(|&i| i != pick);
                order.insert(0, pick);
                restack(&mut w, &order)?;
                k += 1;
            }
            next_switch += Duration::from_millis(1500);
        }
        view.tick(&mut w, "app switching", started, &mut summary)?;
    }
    // The app in front leaks until memory runs short.
    let leaker = order[0];
    w.note(&format!("{} (in front) starts leaking", w.apps[leaker].name));
    // Slow enough for the killer to keep up (one kill frees an app's worth); a real leak is
    // slower still.
    let rate = (o.limit_mib / 64).max(4);
    w.apps[leaker].process.command(&format!("max {}", o.limit_mib))?;
    w.apps[leaker].process.command(&format!("grow {rate}"))?;
    let mut quiet_since = Instant::now();
    let mut kills_seen = 0;
    while started.elapsed() < o.duration && !crate::sys::interrupted() {
        view.tick(&mut w, "the foreground app leaks", started, &mut summary)?;
        if w.kills.len() != kills_seen {
            kills_seen = w.kills.len();
            quiet_since = Instant::now();
        }
        // Done when the leak has met the limit's worth and nothing happened for 5 s.
        if w.apps[leaker].killed_at.is_some()
            || (!w.kills.is_empty() && quiet_since.elapsed() > Duration::from_secs(5))
        {
            break;
        }
    }
    w.apps[leaker].process.command("grow 0").ok();
    // Let the last reports arrive.
    let end = Instant::now() + Duration::from_millis(500);
    while Instant::now() < end {
        view.tick(&mut w, "finishing", started, &mut summary)?;
    }
    summary.interrupted = crate::sys::interrupted();
    summary.kills = w.kills.len();
    summary.oom_kills = w.sandbox.oom_kills();
    summary.foreground_survived = w.apps[leaker].killed_at.is_none();
    if let Some(path) = &o.json {
        std::fs::write(path, w.to_json())?;
    }
    print!("{}", summary_text(&w, &summary, leaker));
    Ok(summary)
}

/// Files the apps by recency: in front 0, the one before 700, the rest cached 900, 915, ...
fn restack(w: &mut World, order: &[usize]) -> io::Result<()> {
    let mut cached = 0;
    for (rank, &i) in order.iter().enumerate() {
        if w.apps[i].killed_at.is_some() {
            continue;
        }
        let a = match rank {
            0 => adj::FOREGROUND,
            1 => adj::PREVIOUS,
            _ => {
                cached += 1;
                (adj::CACHED_MIN + 15 * (cached - 1)).min(adj::CACHED_MAX)
            }
        };
        w.set_adj(i, a)?;
    }
    Ok(())
}

fn rss_mib(pid: i32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb / 1024)
}

/// The live view (or, without a terminal, event lines).
struct View {
    live: bool,
    last: Option<Instant>,
    printed_kills: usize,
}

impl View {
    fn new(live: bool) -> View {
        View { live, last: None, printed_kills: 0 }
    }

    /// Polls the world for ~100 ms and redraws every 500 ms.
    fn tick(
        &mut self,
        w: &mut World,
        phase: &str,
        started: Instant,
        summary: &mut Summary,
    ) -> io::Result<()> {
        std::thread::sleep(Duration::from_millis(100));
        w.poll()?;
        if self.last.is_some_and(|t| t.elapsed() < Duration::from_millis(500)) {
            return Ok(());
        }
        self.last = Some(Instant::now());
        let s = w.sample();
        summary.peak_usage = summary.peak_usage.max(s.usage);
        let mut out = String::new();
        if self.live {
            out.push_str("\x1b[H\x1b[2J");
            out.push_str(&frame(w, phase, started, &s));
        } else {
            for k in &w.kills[self.printed_kills..] {
                let _ = writeln!(out, "{}", kill_line(k));
            }
            self.printed_kills = w.kills.len();
        }
        let mut stdout = io::stdout().lock();
        stdout.write_all(out.as_bytes())?;
        stdout.flush()
    }
}

fn bar(used: u64, limit: u64, width: usize) -> String {
    // A fraction of the bar's width, between 0 and width (clamped below).
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let n = ((used as f64 / limit.max(1) as f64) * width as f64).round().max(0.0) as usize;
    let n = n.min(width);
    format!("[{}{}]", "#".repeat(n), ".".repeat(width - n))
}

/// Kill→reaped time in ms, or "-" while the reaper has not reported.
fn reap_ms(r: &crate::report::KillRecord) -> String {
    match r.outcome {
        Some(_) if r.reap_us > 0 => format!("{:.1}", r.reap_us as f64 / 1000.0),
        _ => "-".into(),
    }
}

fn kill_line(k: &world::Kill) -> String {
    let app = k.app.as_deref().unwrap_or("?");
    match &k.record {
        Some(r) => format!(
            "{:>6.1}s  {:<12} adj {:>4}  freed {:>5} MiB  reaped in {:>6} ms  {}",
            k.t.as_secs_f64(),
            app,
            r.adj,
            r.freed_kb.max(r.rss_kb) / 1024,
            reap_ms(r),
            r.reason_text.as_str()
        ),
        None => format!("{:>6.1}s  {:<12} pid {} killed", k.t.as_secs_f64(), app, k.pid),
    }
}

fn frame(w: &mut World, phase: &str, started: Instant, s: &world::Sample) -> String {
    let limit = w.sandbox.limit();
    let mut o = String::new();
    let _ = writeln!(
        o,
        "lmkd demo — {:.1} s — {phase}   (Ctrl-C stops and cleans up)\n",
        started.elapsed().as_secs_f64()
    );
    let _ = writeln!(
        o,
        "memory {} {:>5} / {} MiB    PSI some {:>5.2}%  full {:>5.2}%    kernel OOM kills {}",
        bar(s.usage, limit, 40),
        s.usage / MIB,
        limit / MIB,
        s.psi_some,
        s.psi_full,
        s.oom_kills
    );
    let _ = writeln!(o, "\n  {:>4}  {:<14} {:>7} {:>8}  STATE", "ADJ", "APP", "PID", "RSS MiB");
    let mut idx: Vec<usize> = (0..w.apps.len()).collect();
    idx.sort_by_key(|&i| (w.apps[i].killed_at.is_some(), w.apps[i].adj));
    for i in idx {
        let a = &w.apps[i];
        let state = match (a.killed_at, a.adj) {
            (Some(t), _) => format!("killed at {:.1} s", t.as_secs_f64()),
            (None, adj::FOREGROUND) => "foreground".into(),
            (None, adj::VISIBLE) => "visible".into(),
            (None, adj::PERCEPTIBLE) => "perceptible".into(),
            (None, adj::SERVICE) => "service".into(),
            (None, adj::HOME) => "home".into(),
            (None, adj::PREVIOUS) => "previous".into(),
            (None, _) => "cached".into(),
        };
        let rss = if a.killed_at.is_some() { 0 } else { rss_mib(a.process.pid()) };
        let _ = writeln!(
            o,
            "  {:>4}  {:<14} {:>7} {:>8}  {state}",
            a.adj,
            a.name,
            a.process.pid(),
            rss
        );
    }
    let _ = writeln!(o, "\nkills ({}):", w.kills.len());
    for k in w.kills.iter().rev().take(10).rev() {
        let _ = writeln!(o, "  {}", kill_line(k));
    }
    o
}

fn summary_text(w: &World, s: &Summary, leaker: usize) -> String {
    let mut o = String::from("\nSummary\n");
    let _ = writeln!(
        o,
        "  sandbox limit {} MiB, peak {} MiB; {} kills by lmkd, {} by the kernel's OOM killer",
        w.sandbox.limit() / MIB,
        s.peak_usage / MIB,
        s.kills,
        s.oom_kills
    );
    let _ = writeln!(
        o,
        "  the leaking foreground app ({}) {}",
        w.apps[leaker].name,
        if s.foreground_survived { "survived" } else { "was killed" }
    );
    if !w.kills.is_empty() {
        let _ = writeln!(
            o,
            "\n  {:>7}  {:<12} {:>4}  {:>9}  {:>9}  REASON",
            "TIME", "APP", "ADJ", "FREED MiB", "REAP ms"
        );
        for k in &w.kills {
            let (a, freed, reap, why) = match &k.record {
                Some(r) => (
                    r.adj,
                    r.freed_kb.max(r.rss_kb) / 1024,
                    reap_ms(r),
                    r.reason_text.as_str().to_owned(),
                ),
                None => (0, 0, "-".into(), String::new()),
            };
            let _ = writeln!(
                o,
                "  {:>6.1}s  {:<12} {:>4}  {:>9}  {:>9}  {why}",
                k.t.as_secs_f64(),
                k.app.as_deref().unwrap_or("?"),
                a,
                freed,
                reap
            );
        }
    }
    if s.interrupted {
        o.push_str("\n  (interrupted)\n");
    }
    o
}
