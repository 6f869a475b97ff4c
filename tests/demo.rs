//! `lmkd demo` as a user runs it: it needs root and says why; it runs, prints its summary,
//! writes its JSON event log, and leaves nothing behind — no memory cgroup, no data file, no
//! process — also when interrupted with Ctrl-C (SIGINT to its whole process group, as a
//! terminal sends it).

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

/// Groups, files and processes the demo (`pid`) could have left.
fn leftovers(pid: u32) -> Vec<String> {
    let mut left = Vec::new();
    let name = format!("lmkd-demo-{pid}");
    for root in [MEMCG_V1_ROOT, UNIFIED_ROOT, FREEZER_V1_ROOT] {
        if Path::new(root).join(&name).exists() {
            left.push(format!("{root}/{name}"));
        }
    }
    let music = format!("lmkd-demo-music-{pid}");
    for dir in ["/var/tmp", "/tmp"] {
        if Path::new(dir).join(&music).exists() {
            left.push(format!("{dir}/{music}"));
        }
    }
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
        // Field 4 is the parent pid: a child of the demo still alive.
        let ppid = stat.rsplit_once(") ").and_then(|(_, r)| r.split_whitespace().nth(1));
        if ppid == Some(pid.to_string().as_str()) && !stat.contains(") Z ") {
            left.push(format!("process {}", e.file_name().to_string_lossy()));
        }
    }
    left
}

fn demo_host() -> bool {
    require(
        kill_test_host() && Path::new(UNIFIED_ROOT).join("cgroup.procs").exists(),
        "root, cgroup v1 memory and freezer, and the cgroup v2 hierarchy",
    )
}

#[test]
fn the_demo_runs_reports_and_cleans_up() {
    if !demo_host() {
        return;
    }
    let dir = TempDir::new("demo");
    let json = dir.path().join("events.json");
    let child = Command::new(lmkd_bin())
        .args(["demo", "--plain", "--duration", "25", "--json"])
        .arg(&json)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("Summary"), "{text}");
    assert!(text.contains("kills by lmkd"), "{text}");
    let log = std::fs::read_to_string(&json).unwrap();
    assert!(log.starts_with("{\"limit_bytes\":1073741824,\"events\":["), "{log}");
    assert!(log.ends_with("]}"));
    assert_eq!(log.matches("\"type\":\"launch\"").count(), 12, "a dozen apps");
    assert!(log.matches("\"type\":\"sample\"").count() >= 20);
    assert!(log.matches("\"type\":\"adj\"").count() > 12, "app switching");
    assert!(log.contains("starts leaking"));
    // Every kill in the log came with the daemon's record: an adj at or above its minimum.
    for k in log.split("\"type\":\"kill\"").skip(1) {
        let field = |name: &str| -> i64 {
            let i = k.find(&format!("\"{name}\":")).expect(name) + name.len() + 3;
            k[i..].split(|c: char| c != '-' && !c.is_ascii_digit()).next().unwrap().parse().unwrap()
        };
        assert!(field("adj") >= field("min_adj"), "{k}");
    }
    assert_eq!(leftovers(pid), Vec::<String>::new());
}

#[test]
fn ctrl_c_cleans_up() {
    if !demo_host() {
        return;
    }
    // `setsid` puts the demo in its own process group, which then gets the SIGINT a terminal
    // would send to the foreground group: the demo, its daemon and its apps.
    let mut child = Command::new("setsid")
        .args([lmkd_bin(), "demo", "--plain"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    assert!(
        wait_until(Duration::from_secs(20), || Path::new(MEMCG_V1_ROOT)
            .join(format!("lmkd-demo-{pid}"))
            .exists()
            && leftovers(pid).iter().filter(|l| l.starts_with("process")).count() >= 6),
        "the demo did not get going"
    );
    let status = Command::new("kill").args(["-INT", "--", &format!("-{pid}")]).status().unwrap();
    assert!(status.success());
    let end = std::time::Instant::now() + Duration::from_secs(30);
    let code = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s.code();
        }
        assert!(std::time::Instant::now() < end, "the demo did not stop");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(code, Some(130));
    assert_eq!(leftovers(pid), Vec::<String>::new());
}

#[test]
fn it_says_why_it_needs_root() {
    if !require(is_root(), "root (to drop to an ordinary user)") {
        return;
    }
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", lmkd_bin(), "demo"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("lmkd demo needs root"), "{err}");
    assert!(err.contains("memory cgroup"), "{err}");
}
