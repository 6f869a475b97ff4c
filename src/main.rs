//! `lmkd`: the daemon, and its `--reinit` / `--boot_completed` client modes.

// Every numeric cast that can truncate, wrap or lose a sign is either checked (`try_from`
// with a logged clamp where a kernel value can be out of range) or allowed where it stands,
// with the reason: 32-bit Android (Go devices) runs this code too.
#![deny(clippy::cast_possible_truncation, clippy::cast_sign_loss, clippy::cast_possible_wrap)]

use std::path::PathBuf;
use std::process::ExitCode;

use log::{error, info, warn};

use lmkd::client::{Client, DEFAULT_SOCKET};
use lmkd::config::{Config, FileProperties, PropertySource};
use lmkd::daemon::{Daemon, Options};
use lmkd::logging;
use lmkd::procs::UpdateMode;
use lmkd::protocol::Server;

const USAGE: &str = "\
usage: lmkd [OPTIONS]                 run the daemon
       lmkd demo [--help]             see the daemon at work in a sandbox (root; host builds)
       lmkd --reinit [--socket PATH]  ask the running daemon to re-read its properties
       lmkd --boot_completed [--socket PATH]
                                      tell the running daemon that boot has completed

Options:
  --socket PATH   host mode: create the control socket at PATH (SOCK_SEQPACKET, 0660).
                  Without it the socket must come from init in ANDROID_SOCKET_lmkd.
                  In the client modes: the daemon's socket (default /dev/socket/lmkd).
  --props FILE    host mode: read properties (ro.lmk.* ...) from a build.prop-style
                  key=value file; LMK_UPDATE_PROPS re-reads it.
  --record FILE   write the inputs of every kill decision to FILE (a trace that
                  `lmkctl replay FILE` feeds back to the same decision code)
  --trace-marker FILE
                  host builds only: write the Perfetto kill events (atrace `N|...|lmk,...`) to
                  FILE, e.g. a tracefs instance's trace_marker, instead of
                  /sys/kernel/tracing/trace_marker (else .../debug/tracing/trace_marker)
  --bpffs DIR     host builds only: the BPF filesystem holding memevents/ (AOSP's pinned
                  ring buffer and programs) instead of /sys/fs/bpf
  --tracefs DIR   host builds only: tracefs (for the memevents tracepoints' ids) instead of
                  /sys/kernel/tracing (else /sys/kernel/debug/tracing)
  --bench-reopen-procfs
                  benchmark baseline only: open, read and write /proc files on every
                  priority update, as AOSP lmkd does, instead of keeping them open.
  --test-hooks    tests only (host builds): accept the LMK_EXT_TEST_* commands (stall the loop, panic,
                  inject faults, simulate pressure) and LMKD_FAULTS. Never set on a device.
  -h, --help      this text
  -V, --version   the version

Environment:
  LMKD_LOG        host log level (error, warn, info, debug, trace); default from ro.lmk.debug.
  ANDROID_SOCKET_lmkd
                  the listening socket's descriptor, as init passes it.
  LMKD_FAULTS     with --test-hooks: faults to inject from the start (see src/fault.rs).

Exit status (client modes, as AOSP): 0 on success, 255 (-1) on failure.";

#[derive(Default)]
struct Args {
    mode: Mode,
    socket: Option<PathBuf>,
    props: Option<PathBuf>,
    update_mode: UpdateMode,
    record: Option<PathBuf>,
    trace_marker: Option<PathBuf>,
    memevents: lmkd::pressure::memevents::Paths,
    test_hooks: bool,
}

#[derive(Default, PartialEq, Eq)]
enum Mode {
    #[default]
    Daemon,
    Reinit,
    BootCompleted,
    Help,
    Version,
}

fn parse_args(mut it: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut a = Args::default();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--reinit" => a.mode = Mode::Reinit,
            "--boot_completed" => a.mode = Mode::BootCompleted,
            "-h" | "--help" => a.mode = Mode::Help,
            "-V" | "--version" => a.mode = Mode::Version,
            "--socket" => a.socket = Some(it.next().ok_or("--socket needs a path")?.into()),
            "--props" => a.props = Some(it.next().ok_or("--props needs a file")?.into()),
            "--bench-reopen-procfs" => a.update_mode = UpdateMode::ReopenEachTime,
            "--record" => a.record = Some(it.next().ok_or("--record needs a file")?.into()),
            // Device builds trace to tracefs's own marker only.
            #[cfg(not(aosp_build))]
            "--trace-marker" => {
                a.trace_marker = Some(it.next().ok_or("--trace-marker needs a file")?.into())
            }
            // Device builds use Android's bpffs and tracefs.
            #[cfg(not(aosp_build))]
            "--bpffs" => a.memevents.bpffs = it.next().ok_or("--bpffs needs a directory")?.into(),
            #[cfg(not(aosp_build))]
            "--tracefs" => {
                a.memevents.tracefs = it.next().ok_or("--tracefs needs a directory")?.into()
            }
            // Device builds have no test hooks at all.
            #[cfg(not(aosp_build))]
            "--test-hooks" => a.test_hooks = true,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(a)
}

fn main() -> ExitCode {
    // librustutils wants the inherited descriptors claimed before anything else owns one.
    #[cfg(aosp_build)]
    let claimed = lmkd::sys::android::claim_inherited_fds();
    logging::init(false);
    // In release builds a panic aborts (`panic = "abort"`) and init restarts the critical
    // service; say why first, where the logs go.
    std::panic::set_hook(Box::new(|info| {
        log::error!("lmkd panicked: {info}; exiting");
    }));
    #[cfg(aosp_build)]
    if let Err(e) = claimed {
        log::error!("cannot claim the descriptors init passed: {e}");
    }
    let argv: Vec<String> = std::env::args().skip(1).collect();
    // Host tools: `lmkd demo` and the synthetic app it runs (`lmkd app`).
    #[cfg(not(aosp_build))]
    match argv.first().map(String::as_str) {
        Some("demo") => return demo(&argv[1..]),
        Some("app") => return app(&argv[1..]),
        _ => {}
    }
    let args = match parse_args(argv.into_iter()) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("lmkd: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match args.mode {
        Mode::Help => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        Mode::Version => {
            println!("lmkd {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Mode::Reinit => reinit(&args),
        Mode::BootCompleted => boot_completed(&args),
        Mode::Daemon => run_daemon(args),
    }
}

/// `lmkd demo`.
#[cfg(not(aosp_build))]
fn demo(argv: &[String]) -> ExitCode {
    if argv.iter().any(|a| a == "-h" || a == "--help") {
        println!("{}", lmkd::demo::USAGE);
        return ExitCode::SUCCESS;
    }
    let o = match lmkd::demo::DemoOptions::parse(argv) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("lmkd demo: {e}\n\n{}", lmkd::demo::USAGE);
            return ExitCode::from(2);
        }
    };
    if !lmkd::sys::is_root() {
        eprintln!(
            "lmkd demo needs root: it creates a memory cgroup to run its apps in (the sandbox \
             that plays the phone's RAM), and the daemon writes their oom_score_adj and kills \
             them. Run it as root, e.g.: sudo target/release/lmkd demo"
        );
        return ExitCode::from(1);
    }
    let program = match std::env::current_exe() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("lmkd demo: cannot find this binary: {e}");
            return ExitCode::FAILURE;
        }
    };
    match lmkd::demo::run(program, &o) {
        Ok(s) if s.interrupted => ExitCode::from(130),
        Ok(_) => ExitCode::SUCCESS,
        // Ctrl-C reaches the daemon and the apps too; what failed then is only that.
        Err(_) if lmkd::sys::interrupted() => {
            eprintln!("lmkd demo: interrupted; everything it made is removed");
            ExitCode::from(130)
        }
        Err(e) => {
            eprintln!("lmkd demo: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `lmkd app`: the synthetic app `lmkd demo` runs (see `lmkd::demo::app`).
#[cfg(not(aosp_build))]
fn app(argv: &[String]) -> ExitCode {
    match lmkd::demo::app::AppOptions::parse(argv) {
        Ok(o) => {
            let e = lmkd::demo::app::run(&o).err();
            eprintln!("lmkd app: {}", e.map_or_else(|| "stopped".into(), |e| e.to_string()));
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("lmkd app: {e}");
            ExitCode::from(2)
        }
    }
}

fn client_socket(args: &Args) -> PathBuf {
    args.socket.clone().unwrap_or_else(|| DEFAULT_SOCKET.into())
}

/// The exit status AOSP's helper modes use for failure (`return -1` from `main`).
fn failure() -> ExitCode {
    ExitCode::from(255)
}

/// `lmkd --reinit`: clear `lmkd.reinit`, send `LMK_UPDATE_PROPS`, report the reply.
fn reinit(args: &Args) -> ExitCode {
    let mut props = property_source(args);
    if let Err(e) = props.set("lmkd.reinit", "") {
        error!("Failed to reset lmkd.reinit property: {e}");
    }
    let mut client = match Client::connect(client_socket(args)) {
        Ok(c) => c,
        Err(e) => {
            error!("failed to connect to lmkd: {e}");
            return failure();
        }
    };
    match client.update_props() {
        Ok(0) => {
            info!("lmkd updated properties successfully");
            ExitCode::SUCCESS
        }
        Ok(_) => {
            error!("lmkd failed to update its properties");
            failure()
        }
        Err(e) => {
            error!("failed to exchange LMK_UPDATE_PROPS with lmkd: {e}");
            failure()
        }
    }
}

/// `lmkd --boot_completed`: send `LMK_BOOT_COMPLETED`, report the reply.
fn boot_completed(args: &Args) -> ExitCode {
    let mut client = match Client::connect(client_socket(args)) {
        Ok(c) => c,
        Err(e) => {
            error!("failed to connect to lmkd: {e}");
            return failure();
        }
    };
    match client.boot_completed() {
        Ok(0) => {
            info!("lmkd updated boot completed successfully");
            ExitCode::SUCCESS
        }
        Ok(1) => {
            warn!("lmkd already handled boot-completed operations");
            ExitCode::SUCCESS
        }
        Ok(_) => {
            error!("lmkd failed to respond to boot-completed notification");
            failure()
        }
        Err(e) => {
            error!("failed to exchange LMK_BOOT_COMPLETED with lmkd: {e}");
            failure()
        }
    }
}

fn property_source(args: &Args) -> Box<dyn PropertySource> {
    #[cfg(aosp_build)]
    if args.props.is_none() {
        return Box::new(lmkd::config::AndroidProperties);
    }
    match &args.props {
        Some(path) => match FileProperties::open(path) {
            Ok(p) => Box::new(p),
            Err(e) => {
                error!("cannot read properties from {}: {e}; using defaults", path.display());
                Box::new(FileProperties::default())
            }
        },
        None => Box::new(FileProperties::default()),
    }
}

/// The `lmkd` socket init passed, if any: librustutils on Android, the same environment
/// variable parsed by hand elsewhere.
#[cfg(aosp_build)]
fn init_socket() -> Option<std::os::fd::OwnedFd> {
    lmkd::sys::android::control_socket("lmkd")
}

/// The `lmkd` socket init passed, if any (`ANDROID_SOCKET_lmkd`).
#[cfg(not(aosp_build))]
fn init_socket() -> Option<std::os::fd::OwnedFd> {
    lmkd::sys::control_socket_from_env("lmkd")
}

fn run_daemon(args: Args) -> ExitCode {
    let props = property_source(&args);
    logging::set_debug(Config::load(props.as_ref()).debug);
    let server = match (&args.socket, init_socket()) {
        (_, Some(fd)) => Server::from_fd(fd),
        (Some(path), None) => Server::bind(path),
        (None, None) => {
            error!("no control socket: ANDROID_SOCKET_lmkd is not set and --socket was not given");
            return ExitCode::FAILURE;
        }
    };
    let server = match server {
        Ok(s) => s,
        Err(e) => {
            error!("cannot set up the control socket: {e}; exiting");
            return ExitCode::FAILURE;
        }
    };
    #[cfg(not(aosp_build))]
    if args.test_hooks {
        warn!("test hooks are on (--test-hooks): never run a device like this");
        if let Ok(spec) = std::env::var("LMKD_FAULTS") {
            match lmkd::fault::install(&spec) {
                Ok(n) => warn!("{n} faults armed from LMKD_FAULTS: {spec:?}"),
                Err(e) => {
                    error!("LMKD_FAULTS: {e}; exiting");
                    return ExitCode::FAILURE;
                }
            }
        }
    } else if std::env::var_os("LMKD_FAULTS").is_some() {
        warn!("LMKD_FAULTS is ignored without --test-hooks");
    }
    if let Some(path) = &args.trace_marker {
        lmkd::sys::trace_marker::set_marker_path(path.clone());
    }
    let opts = Options {
        server,
        props,
        update_mode: args.update_mode,
        record: args.record.clone(),
        test_hooks: args.test_hooks,
        clock: lmkd::clock::Clock::real(),
        memevents: args.memevents.clone(),
    };
    let mut daemon = match Daemon::new(opts) {
        Ok(d) => d,
        Err(e) => {
            error!("initialisation failed: {e}; exiting");
            return ExitCode::FAILURE;
        }
    };
    let h = lmkd::sys::harden();
    info!(
        "lmkd {} started (memory {}, main thread {})",
        env!("CARGO_PKG_VERSION"),
        if h.locked { "locked" } else { "not locked" },
        if h.realtime { "SCHED_FIFO" } else { "not real-time" }
    );
    match daemon.run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            error!("event loop failed: {e}; exiting");
            ExitCode::FAILURE
        }
    }
}
