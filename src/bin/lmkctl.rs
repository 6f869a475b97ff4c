//! `lmkctl`: a command-line client for lmkd, over the client library.

// Every numeric cast that can truncate, wrap or lose a sign is either checked (`try_from`
// with a logged clamp where a kernel value can be out of range) or allowed where it stands,
// with the reason: 32-bit Android (Go devices) runs this code too.
#![deny(clippy::cast_possible_truncation, clippy::cast_sign_loss, clippy::cast_possible_wrap)]

use std::process::ExitCode;

use lmkd::client::{Client, DEFAULT_SOCKET};
use lmkd::protocol::ext::{
    KILL_FAILED, KILL_GONE, KILL_NOT_OWNER, KILL_NOT_REGISTERED, KILL_SENT, KILL_UID_MISMATCH,
};
use lmkd::protocol::{
    ProcPrio, RecordLayout, ServerMessage, LMK_ASYNC_EVENT_KILL, LMK_ASYNC_EVENT_STAT,
    PROC_TYPE_APP, PROC_TYPE_SERVICE,
};

const USAGE: &str = "\
usage: lmkctl [--socket PATH] COMMAND [ARGS]

Commands:
  register PID UID ADJ [--service] [--lmkd-only] [--hold]
                          register a process or change its oom_score_adj (LMK_PROCPRIO);
                          --service sends PROC_TYPE_SERVICE, --lmkd-only sets for_lmkd_only,
                          --hold keeps the connection (and so the ownership) until killed
  batch PID:UID:ADJ...  [--wide]
                          register several processes with LMK_PROCS_PRIO (3 per packet;
                          --wide uses the Android 16 5-field records)
  unregister PID          forget a process (LMK_PROCREMOVE)
  purge                   forget every process this client registered (LMK_PROCPURGE)
  target MINFREE:ADJ...   send the minfree table, minfree in pages (LMK_TARGET)
  killcnt [MIN MAX]       kills with oom_score_adj in MIN..=MAX (default -1000 1000)
  procs [--json]          the registered processes, next victim first (LMK_EXT_PROCS)
  kill PID UID [REASON]   kill and reap a registered process (LMK_EXT_KILL): refused for
                          processes another live client registered
  history [--json]        the kill history, oldest first (LMK_EXT_KILL_HISTORY), with how
                          each victim's process group died (GROUP: cgroup.kill or
                          cgroup.procs and the group's size, or alone:<why>)
  status [--json]         the daemon's state: mode, configuration, pressure, processes,
                          kills, reaper, clients (LMK_EXT_STATUS; `dumpsys lmkd` on Android)
  update-props            make the daemon re-read its properties (LMK_UPDATE_PROPS)
  boot-completed          LMK_BOOT_COMPLETED
  start-monitoring        LMK_START_MONITORING
  watch [--count N]       subscribe to kill events and print them as they arrive
  raw INT...              send one packet of big-endian int32 words; print a reply if any
  replay FILE             feed a decision trace (lmkd --record) to the decision code and print
                          the decisions; with `expect` lines, exit 1 on any mismatch
  app [--anon MIB] [--file PATH [--file-mib MIB] [--reread]] [--grow MIB_PER_S]
      [--max MIB] [--sched-idle] [--spin] [--join CGROUP_DIR]...
                          a synthetic app for tests and demos (host builds; no daemon needed): joins the
                          cgroups, holds MIB of private anonymous memory, writes PATH first
                          (--file-mib) and reads it into the page cache (again and again with
                          --reread), grows by MIB_PER_S up to --max MIB in all, optionally
                          at SCHED_IDLE and busy; prints \"ready PID\", then takes commands
                          on stdin: \"grow N\", \"max N\", \"shrink\"

Options:
  -s, --socket PATH       the daemon's socket (default: $LMKD_SOCKET or /dev/socket/lmkd)
  -h, --help              this text

Commands that change state end with a LMK_GETKILLCNT round trip, so when lmkctl returns the
daemon has handled them.";

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut socket = std::env::var("LMKD_SOCKET").unwrap_or_else(|_| DEFAULT_SOCKET.to_owned());
    if let Some(i) = args.iter().position(|a| a == "-s" || a == "--socket") {
        if i + 1 >= args.len() {
            return usage_error("--socket needs a path");
        }
        socket = args.remove(i + 1);
        args.remove(i);
    }
    if args.is_empty() || args.iter().any(|a| a == "-h" || a == "--help") {
        println!("{USAGE}");
        return if args.is_empty() { ExitCode::from(2) } else { ExitCode::SUCCESS };
    }
    if args[0] == "replay" {
        return replay(&args[1..]);
    }
    #[cfg(not(aosp_build))]
    if args[0] == "app" {
        return match app(&args[1..]) {
            Ok(()) => ExitCode::SUCCESS,
            Err(Error::Usage(m)) => usage_error(&m),
            Err(Error::Io(e)) => {
                eprintln!("lmkctl app: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let mut client = match Client::connect(&socket) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("lmkctl: cannot connect to {socket}: {e}");
            return ExitCode::FAILURE;
        }
    };
    match run(&mut client, &args[0], &args[1..]) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Error::Usage(m)) => usage_error(&m),
        Err(Error::Io(e)) => {
            eprintln!("lmkctl: {e}");
            ExitCode::FAILURE
        }
    }
}

fn usage_error(msg: &str) -> ExitCode {
    eprintln!("lmkctl: {msg}\n\n{USAGE}");
    ExitCode::from(2)
}

enum Error {
    Usage(String),
    Io(std::io::Error),
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(e)
    }
}

fn int(s: &str) -> Result<i32, Error> {
    lmkd::config::parse_int(s)
        .and_then(|v| i32::try_from(v).ok())
        .ok_or_else(|| Error::Usage(format!("not a 32-bit integer: {s:?}")))
}

fn barrier(c: &mut Client) -> Result<(), Error> {
    c.kill_count(-1000, 1000)?;
    Ok(())
}

fn run(c: &mut Client, cmd: &str, rest: &[String]) -> Result<(), Error> {
    let flags: Vec<&str> =
        rest.iter().map(String::as_str).filter(|a| a.starts_with("--")).collect();
    let pos: Vec<&str> = rest.iter().map(String::as_str).filter(|a| !a.starts_with("--")).collect();
    match cmd {
        "register" => {
            let [pid, uid, adj] = pos[..] else {
                return Err(Error::Usage("register needs PID UID ADJ".into()));
            };
            let p = ProcPrio {
                pid: int(pid)?,
                uid: int(uid)?,
                adj: int(adj)?,
                ptype: if flags.contains(&"--service") { PROC_TYPE_SERVICE } else { PROC_TYPE_APP },
                for_lmkd_only: flags.contains(&"--lmkd-only"),
            };
            c.register_prio(p)?;
            barrier(c)?;
            println!("registered pid {} (uid {}) at oom_score_adj {}", p.pid, p.uid, p.adj);
            if flags.contains(&"--hold") {
                use std::io::Write;
                println!("holding the connection");
                let _ = std::io::stdout().flush();
                loop {
                    std::thread::sleep(std::time::Duration::from_secs(3600));
                }
            }
        }
        "batch" => {
            let mut records = Vec::new();
            for spec in &pos {
                let parts: Vec<&str> = spec.split(':').collect();
                let [pid, uid, adj] = parts[..] else {
                    return Err(Error::Usage(format!("not PID:UID:ADJ: {spec:?}")));
                };
                records.push(ProcPrio {
                    pid: int(pid)?,
                    uid: int(uid)?,
                    adj: int(adj)?,
                    ..Default::default()
                });
            }
            if records.is_empty() {
                return Err(Error::Usage("batch needs at least one PID:UID:ADJ".into()));
            }
            let layout = if flags.contains(&"--wide") {
                RecordLayout::FiveFields
            } else {
                RecordLayout::FourFields
            };
            c.register_batch(&records, layout)?;
            barrier(c)?;
            println!("sent {} records", records.len());
        }
        "unregister" => {
            let [pid] = pos[..] else { return Err(Error::Usage("unregister needs PID".into())) };
            c.unregister(int(pid)?)?;
            barrier(c)?;
            println!("unregistered pid {pid}");
        }
        "purge" => {
            c.purge()?;
            barrier(c)?;
            println!("purged");
        }
        "target" => {
            let mut pairs = Vec::new();
            for spec in &pos {
                let Some((minfree, adj)) = spec.split_once(':') else {
                    return Err(Error::Usage(format!("not MINFREE:ADJ: {spec:?}")));
                };
                pairs.push((int(minfree)?, int(adj)?));
            }
            c.target(&pairs).map_err(|e| Error::Usage(e.to_string()))?;
            barrier(c)?;
            println!("sent {} minfree levels", pairs.len());
        }
        "killcnt" => {
            let (min, max) = match pos[..] {
                [] => (-1000, 1000),
                [min, max] => (int(min)?, int(max)?),
                _ => return Err(Error::Usage("killcnt takes MIN MAX or nothing".into())),
            };
            println!("{}", c.kill_count(min, max)?);
        }
        "procs" if flags.contains(&"--json") => {
            let procs = c.procs()?;
            let items: Vec<String> = procs
                .iter()
                .map(|e| {
                    format!(
                        "{{\"pid\":{},\"uid\":{},\"adj\":{},\"ptype\":{},\"owner\":{}}}",
                        e.pid, e.uid, e.adj, e.ptype, e.owner
                    )
                })
                .collect();
            println!("[{}]", items.join(","));
        }
        "procs" => {
            let procs = c.procs()?;
            println!("{:>8} {:>7} {:>6} {:<8} {:>8}", "PID", "UID", "ADJ", "TYPE", "OWNER");
            for e in &procs {
                let kind = match e.ptype {
                    PROC_TYPE_APP => "app",
                    PROC_TYPE_SERVICE => "service",
                    _ => "?",
                };
                let owner = if e.owner == 0 { "-".to_owned() } else { e.owner.to_string() };
                println!("{:>8} {:>7} {:>6} {:<8} {:>8}", e.pid, e.uid, e.adj, kind, owner);
            }
            println!("{} processes", procs.len());
        }
        "kill" => {
            let (pid, uid, reason) = match pos[..] {
                [pid, uid] => (int(pid)?, int(uid)?, 0),
                [pid, uid, reason] => (int(pid)?, int(uid)?, int(reason)?),
                _ => return Err(Error::Usage("kill needs PID UID [REASON]".into())),
            };
            let r = c.kill(pid, uid, reason)?;
            let text = match r {
                KILL_SENT => "killed",
                KILL_NOT_REGISTERED => "refused: not registered",
                KILL_NOT_OWNER => "refused: registered by another client",
                KILL_UID_MISMATCH => "refused: uid does not match the registration",
                KILL_GONE => "not killed: the process had already exited",
                KILL_FAILED => "failed: the kernel refused the signal",
                _ => "unknown result",
            };
            println!("pid {pid}: {text} ({r})");
            if r != KILL_SENT {
                return Err(Error::Io(std::io::Error::other("kill was not sent")));
            }
        }
        "status" => {
            let json = flags.contains(&"--json");
            let text = c.status(json)?;
            if json {
                println!("{text}");
            } else {
                print!("{text}");
            }
        }
        "history" if flags.contains(&"--json") => {
            let h = c.kill_history()?;
            let mut out = String::from("[");
            for (i, r) in h.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                lmkd::report::status::kill_json(&mut out, r);
            }
            out.push(']');
            println!("{out}");
        }
        "history" => {
            let h = c.kill_history()?;
            println!(
                "{:>5} {:>10} {:>7} {:>6} {:<24} {:>5} {:>5} {:>9} {:>9} {:>9} {:>3} {:<12} {:<18} REASON",
                "SEQ",
                "UPTIME(s)",
                "PID",
                "UID",
                "NAME",
                "ADJ",
                "MIN",
                "RSS(kB)",
                "FREED(kB)",
                "REAP(ms)",
                "CPU",
                "OUTCOME",
                "GROUP"
            );
            for r in &h {
                let ms = |us: i64| {
                    if us < 0 {
                        "-".to_owned()
                    } else {
                        format!("{:.1}", us as f64 / 1000.0)
                    }
                };
                let kb = |v: i64| if v < 0 { "-".to_owned() } else { v.to_string() };
                println!(
                    "{:>5} {:>10.3} {:>7} {:>6} {:<24} {:>5} {:>5} {:>9} {:>9} {:>9} {:>3} {:<12} {:<18} {}",
                    r.seq,
                    r.uptime_ms as f64 / 1000.0,
                    r.pid,
                    r.uid,
                    r.name.as_str(),
                    r.adj,
                    r.min_adj,
                    r.rss_kb,
                    kb(r.freed_kb),
                    ms(r.reap_us),
                    if r.cpu < 0 { "-".to_owned() } else { r.cpu.to_string() },
                    r.outcome.map_or("pending", |o| o.as_str()),
                    lmkd::report::status::group_text(r),
                    r.reason_text.as_str()
                );
            }
            println!("{} kills", h.len());
        }
        "update-props" => {
            let r = c.update_props()?;
            println!(
                "{}",
                if r == 0 { "properties updated".to_owned() } else { format!("failed ({r})") }
            );
            if r != 0 {
                return Err(Error::Io(std::io::Error::other(
                    "lmkd failed to update its properties",
                )));
            }
        }
        "boot-completed" => {
            let r = c.boot_completed()?;
            let text = match r {
                0 => "boot-completed work done",
                1 => "boot-completed work was already done",
                _ => "boot has not completed",
            };
            println!("{text} ({r})");
        }
        "start-monitoring" => {
            c.start_monitoring()?;
            barrier(c)?;
            println!("sent");
        }
        "watch" => watch(c, &flags, &pos)?,
        "raw" => {
            let mut bytes = Vec::new();
            for w in &pos {
                bytes.extend_from_slice(&int(w)?.to_be_bytes());
            }
            c.send_raw(&bytes)?;
            c.set_timeout(Some(std::time::Duration::from_secs(1)))?;
            let mut buf = [0u8; 256];
            match c.recv_packet(&mut buf) {
                Ok(n) => {
                    let words: Vec<String> = buf[..n]
                        .chunks(4)
                        .map(|w| {
                            if w.len() == 4 {
                                i32::from_be_bytes([w[0], w[1], w[2], w[3]]).to_string()
                            } else {
                                format!("{w:02x?}")
                            }
                        })
                        .collect();
                    println!("reply: {}", words.join(" "));
                }
                Err(_) => println!("no reply"),
            }
        }
        other => return Err(Error::Usage(format!("unknown command {other:?}"))),
    }
    Ok(())
}

fn watch(c: &mut Client, flags: &[&str], pos: &[&str]) -> Result<(), Error> {
    let count = if flags.contains(&"--count") {
        Some(pos.first().map(|n| int(n)).transpose()?.unwrap_or(1))
    } else {
        None
    };
    c.subscribe(LMK_ASYNC_EVENT_KILL)?;
    c.subscribe(LMK_ASYNC_EVENT_STAT)?;
    c.set_timeout(None)?;
    let mut seen = 0;
    println!("{:<8} {:>8} {:>7} {:>10}  DETAILS", "EVENT", "PID", "UID", "RSS(kB)");
    loop {
        let Some(ev) = c.recv_event()? else { continue };
        match ev {
            ServerMessage::ProcKill(k) => {
                println!("{:<8} {:>8} {:>7} {:>10}", "kill", k.pid, k.uid, k.rss_kb);
                seen += 1;
            }
            ServerMessage::KillStat(s) => println!(
                "{:<8} {:>8} {:>7} {:>10}  {} adj {} min_adj {} reason {} free {}kB",
                "stat",
                "-",
                s.uid,
                if s.rss_bytes >= 0 { (s.rss_bytes / 1024).to_string() } else { "-".into() },
                String::from_utf8_lossy(s.name()),
                s.oom_score,
                s.min_oom_score,
                s.kill_reason,
                s.free_mem_kb
            ),
            other => println!("{other:?}"),
        }
        if count.is_some_and(|n| seen >= n) {
            return Ok(());
        }
    }
}

/// `lmkctl app`: a process that holds memory like an app would, until it is killed (see
/// `lmkd::demo::app`). Host builds only.
#[cfg(not(aosp_build))]
fn app(args: &[String]) -> Result<(), Error> {
    let o = lmkd::demo::app::AppOptions::parse(args).map_err(Error::Usage)?;
    lmkd::demo::app::run(&o)?;
    Ok(())
}

/// `lmkctl replay FILE`.
fn replay(args: &[String]) -> ExitCode {
    let [path] = args else { return usage_error("replay needs FILE") };
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("lmkctl replay: {path}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let decisions = match lmkd::policy::trace::replay(&text) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("lmkctl replay: {path}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut mismatches = 0;
    for d in &decisions {
        let mark = match &d.expected {
            Some(e) if *e == d.decision => " (as expected)".to_owned(),
            Some(e) => {
                mismatches += 1;
                format!(" (EXPECTED {e})")
            }
            None => String::new(),
        };
        let text = if d.text.is_empty() { String::new() } else { format!(": {}", d.text) };
        println!("t={:>8} {}{text}{mark}", d.t, d.decision);
    }
    println!(
        "{} wake-ups, {} kills, {mismatches} mismatches",
        decisions.len(),
        decisions.iter().filter(|d| d.decision.starts_with("kill")).count()
    );
    if mismatches > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
