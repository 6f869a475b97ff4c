//! A small validator for `init/lmkd.rc` (no init parser exists outside an AOSP build): only
//! keywords init knows, the stock service contract (user, groups, capabilities, `critical`, the
//! exact socket line, the task profile), AOSP's reinit and boot-completed triggers, one trigger
//! per DeviceConfig experiment flag, and every binary and option a trigger runs exists.

use std::collections::BTreeSet;

const RC: &str = include_str!("../init/lmkd.rc");

/// Service options init accepts (system/core/init/service_parser.cpp).
const SERVICE_OPTIONS: &[&str] = &[
    "capabilities",
    "class",
    "console",
    "critical",
    "disabled",
    "enter_namespace",
    "file",
    "group",
    "interface",
    "ioprio",
    "keycodes",
    "memcg.limit_in_bytes",
    "memcg.limit_percent",
    "memcg.limit_property",
    "memcg.soft_limit_in_bytes",
    "memcg.swappiness",
    "namespace",
    "oneshot",
    "onrestart",
    "oom_score_adjust",
    "override",
    "priority",
    "reboot_on_failure",
    "restart_period",
    "rlimit",
    "seclabel",
    "setenv",
    "shutdown",
    "sigstop",
    "socket",
    "stdio_to_kmsg",
    "task_profiles",
    "timeout_period",
    "updatable",
    "user",
    "writepid",
];

/// Action commands used by lmkd's rc file (a subset of init's builtins).
const COMMANDS: &[&str] =
    &["exec_background", "setprop", "exec", "start", "stop", "write", "chmod", "chown", "mkdir"];

/// The DeviceConfig flags AOSP's lmkd.rc reinitialises on (reference §7.3).
const AOSP_EXPERIMENT_FLAGS: &[&str] = &[
    "debug",
    "kill_heaviest_task",
    "kill_timeout_ms",
    "swap_free_low_percentage",
    "psi_partial_stall_ms",
    "psi_complete_stall_ms",
    "thrashing_limit",
    "thrashing_limit_decay",
    "thrashing_limit_critical",
    "swap_util_max",
    "filecache_min_kb",
    "direct_reclaim_threshold_ms",
    "swap_compression_ratio",
    "lowmem_min_oom_score",
];

#[derive(Debug)]
enum Section {
    Service { name: String, path: String, options: Vec<Vec<String>> },
    On { trigger: String, commands: Vec<Vec<String>> },
}

fn parse(text: &str) -> Vec<Section> {
    let mut out: Vec<Section> = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let words: Vec<String> = line.split_whitespace().map(str::to_owned).collect();
        let indented = raw.starts_with(' ') || raw.starts_with('\t');
        match (indented, words[0].as_str()) {
            (false, "service") => {
                assert!(words.len() >= 3, "line {}: service needs a name and a path", n + 1);
                out.push(Section::Service {
                    name: words[1].clone(),
                    path: words[2].clone(),
                    options: vec![],
                });
            }
            (false, "on") => {
                out.push(Section::On { trigger: words[1..].join(" "), commands: vec![] })
            }
            (false, other) => panic!("line {}: unknown section keyword {other:?}", n + 1),
            (true, _) => match out.last_mut() {
                Some(Section::Service { options, .. }) => {
                    assert!(
                        SERVICE_OPTIONS.contains(&words[0].as_str()),
                        "line {}: unknown service option {:?}",
                        n + 1,
                        words[0]
                    );
                    options.push(words);
                }
                Some(Section::On { commands, .. }) => {
                    assert!(
                        COMMANDS.contains(&words[0].as_str()),
                        "line {}: unknown command {:?}",
                        n + 1,
                        words[0]
                    );
                    commands.push(words);
                }
                None => panic!("line {}: indented line outside a section", n + 1),
            },
        }
    }
    out
}

fn service(sections: &[Section]) -> (&str, &str, &Vec<Vec<String>>) {
    sections
        .iter()
        .find_map(|s| match s {
            Section::Service { name, path, options } => {
                Some((name.as_str(), path.as_str(), options))
            }
            _ => None,
        })
        .expect("a service section")
}

fn option<'a>(options: &'a [Vec<String>], key: &str) -> Option<&'a [String]> {
    options.iter().find(|o| o[0] == key).map(|o| &o[1..])
}

#[test]
fn the_service_keeps_the_stock_contract() {
    let sections = parse(RC);
    let (name, path, opts) = service(&sections);
    assert_eq!((name, path), ("lmkd", "/system/bin/lmkd"));
    assert_eq!(option(opts, "class"), Some(&["core".to_owned()][..]));
    assert_eq!(option(opts, "user"), Some(&["lmkd".to_owned()][..]));
    assert_eq!(option(opts, "group").map(|g| g.join(" ")), Some("lmkd system readproc".to_owned()));
    let caps: BTreeSet<&str> =
        option(opts, "capabilities").unwrap().iter().map(String::as_str).collect();
    assert_eq!(
        caps,
        ["DAC_OVERRIDE", "IPC_LOCK", "KILL", "SYS_NICE", "SYS_RESOURCE"].into_iter().collect()
    );
    assert!(option(opts, "critical").is_some());
    assert_eq!(
        option(opts, "socket").map(|s| s.join(" ")),
        Some("lmkd seqpacket+passcred 0660 system system".to_owned())
    );
    assert_eq!(
        option(opts, "task_profiles").map(|s| s.join(" ")),
        Some("ServiceCapacityLow".to_owned())
    );
    // The daemon starts with no arguments, as stock: the socket comes from init.
    assert!(RC.lines().any(|l| l.trim() == "service lmkd /system/bin/lmkd"));
}

#[test]
fn triggers_cover_reinit_boot_and_every_experiment_flag() {
    let sections = parse(RC);
    let on: Vec<(&str, &Vec<Vec<String>>)> = sections
        .iter()
        .filter_map(|s| match s {
            Section::On { trigger, commands } => Some((trigger.as_str(), commands)),
            _ => None,
        })
        .collect();
    let find = |t: &str| on.iter().find(|(trigger, _)| *trigger == t).map(|(_, c)| *c);
    let cmd = |c: &Vec<Vec<String>>| c.iter().map(|w| w.join(" ")).collect::<Vec<_>>();
    assert_eq!(
        cmd(find("property:lmkd.reinit=1").unwrap()),
        vec!["exec_background /system/bin/lmkd --reinit"]
    );
    assert_eq!(
        cmd(find("property:sys.boot_completed=1").unwrap()),
        vec!["exec_background /system/bin/lmkd --boot_completed"]
    );
    assert_eq!(
        cmd(find("property:sys.boot_completed=1 && property:lmkd.reinit=0").unwrap()),
        vec!["setprop lmkd.reinit 1"]
    );
    for flag in AOSP_EXPERIMENT_FLAGS {
        let c = find(&format!("property:persist.device_config.lmkd_native.{flag}=*"))
            .unwrap_or_else(|| panic!("no reinit trigger for {flag}"));
        assert_eq!(cmd(c), vec!["setprop lmkd.reinit ${sys.boot_completed:-0}"], "{flag}");
    }
}

#[test]
fn every_binary_and_option_the_triggers_run_exists() {
    let sections = parse(RC);
    let bin = env!("CARGO_BIN_EXE_lmkd");
    let dir = std::env::temp_dir().join(format!("lmkd-rc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for s in &sections {
        let Section::On { commands, .. } = s else { continue };
        for c in commands.iter().filter(|c| c[0] == "exec_background" || c[0] == "exec") {
            assert_eq!(c[1], "/system/bin/lmkd", "only the daemon itself is run");
            // The option is understood: with no daemon to talk to it fails as a client (255),
            // not as a usage error (2).
            let status = std::process::Command::new(bin)
                .args(&c[2..])
                .args(["--socket", dir.join("none").to_str().unwrap()])
                .stderr(std::process::Stdio::null())
                .status()
                .unwrap();
            assert_eq!(status.code(), Some(255), "{c:?}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_validator_rejects_what_init_would() {
    let bad_option = "service lmkd /system/bin/lmkd\n    criticall\n";
    assert!(std::panic::catch_unwind(|| parse(bad_option)).is_err());
    let bad_command = "on property:x=1\n    exec_bg /system/bin/lmkd\n";
    assert!(std::panic::catch_unwind(|| parse(bad_command)).is_err());
    let orphan = "    user lmkd\n";
    assert!(std::panic::catch_unwind(|| parse(orphan)).is_err());
}
