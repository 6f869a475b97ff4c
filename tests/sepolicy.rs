//! The SELinux additions in `sepolicy/` (see `sepolicy/README.md`), through the stand-alone
//! harness `sepolicy/harness/check.sh` (m4 and checkpolicy, stand-in AOSP declarations): the
//! real policy compiles, a misspelt type and a violated neverallow are refused, and
//! `property_contexts` types every property `src/config/mod.rs` reads beyond AOSP's.
//!
//! The harness tests skip when m4 or checkpolicy is missing, unless
//! `LMKD_REQUIRE_KERNEL_TESTS=1` (CI), where a missing tool fails them.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The project's `sepolicy/` directory.
fn sepolicy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("sepolicy")
}

/// Whether m4 and checkpolicy can be run; otherwise skips, or fails under
/// `LMKD_REQUIRE_KERNEL_TESTS=1`.
fn tools_available() -> bool {
    let missing: Vec<&str> = [("m4", "--version"), ("checkpolicy", "-V")]
        .into_iter()
        .filter(|(tool, arg)| Command::new(tool).arg(arg).output().is_err())
        .map(|(tool, _)| tool)
        .collect();
    if missing.is_empty() {
        return true;
    }
    if std::env::var("LMKD_REQUIRE_KERNEL_TESTS").as_deref() == Ok("1") {
        panic!(
            "this test needs {} (apt-get install m4 checkpolicy), and \
             LMKD_REQUIRE_KERNEL_TESTS=1 forbids skipping it",
            missing.join(" and ")
        );
    }
    eprintln!(
        "SKIPPED: this test needs {} (apt-get install m4 checkpolicy)",
        missing.join(" and ")
    );
    false
}

/// What the harness said.
struct Outcome {
    success: bool,
    /// stdout and stderr together.
    output: String,
}

/// Runs `<dir>/harness/check.sh [extra]`.
fn check(dir: &Path, extra: Option<&Path>) -> Outcome {
    let mut cmd = Command::new("sh");
    cmd.arg(dir.join("harness").join("check.sh"));
    if let Some(extra) = extra {
        cmd.arg(extra);
    }
    let out = cmd.output().expect("cannot run sh");
    let mut output = String::from_utf8_lossy(&out.stdout).into_owned();
    output.push_str(&String::from_utf8_lossy(&out.stderr));
    Outcome { success: out.status.success(), output }
}

/// A directory under the system's temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let path =
            std::env::temp_dir().join(format!("lmkd-sepolicy-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).expect("cannot create a temporary directory");
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Copies the directory tree `from` to `to` (which must not exist yet).
fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir(to).expect("cannot create a directory");
    for entry in fs::read_dir(from).expect("cannot list a directory") {
        let entry = entry.expect("cannot list a directory");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("cannot stat").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).expect("cannot copy a file");
        }
    }
}

/// A copy of `sepolicy/` in a temporary directory, with `file` edited by `edit`.
fn edited_copy(tmp: &TempDir, file: &str, edit: impl FnOnce(String) -> String) -> PathBuf {
    let copy = tmp.0.join("sepolicy");
    copy_tree(&sepolicy_dir(), &copy);
    let path = copy.join(file);
    let text = fs::read_to_string(&path).expect("cannot read the copy");
    let edited = edit(text.clone());
    assert_ne!(edited, text, "the edit of {file} changed nothing");
    fs::write(&path, edited).expect("cannot write the copy");
    copy
}

#[test]
fn the_policy_compiles() {
    if !tools_available() {
        return;
    }
    let out = check(&sepolicy_dir(), None);
    assert!(out.success, "sepolicy/harness/check.sh failed:\n{}", out.output);
}

#[test]
fn a_misspelt_type_is_refused() {
    if !tools_available() {
        return;
    }
    let tmp = TempDir::new("typo");
    let copy = edited_copy(&tmp, "lmkd.te", |te| {
        te.replace(
            "r_dir_file(lmkd, sysfs_devices_system_cpu)",
            "r_dir_file(lmkd, sysfs_devices_sytsem_cpu)",
        )
    });
    let out = check(&copy, None);
    assert!(!out.success, "a misspelt type compiled:\n{}", out.output);
    assert!(
        out.output.contains("unknown type sysfs_devices_sytsem_cpu"),
        "checkpolicy did not name the unknown type:\n{}",
        out.output
    );
}

#[test]
fn a_violated_neverallow_is_refused() {
    if !tools_available() {
        return;
    }
    let tmp = TempDir::new("neverallow");
    // Each rule grants something one of the project's neverallows forbids.
    let cases = [
        ("allow shell lmkd_service:service_manager add;", "allow shell lmkd_service"),
        ("allow untrusted_app lmkd:binder call;", "allow untrusted_app lmkd:binder"),
    ];
    for (n, (rule, violation)) in cases.into_iter().enumerate() {
        let extra = tmp.0.join(format!("extra{n}.te"));
        fs::write(&extra, format!("{rule}\n")).expect("cannot write the extra .te");
        let out = check(&sepolicy_dir(), Some(&extra));
        assert!(!out.success, "`{rule}` compiled:\n{}", out.output);
        assert!(
            out.output.contains("neverallow") && out.output.contains(violation),
            "checkpolicy did not report `{rule}` as a neverallow violation:\n{}",
            out.output
        );
    }
}

#[test]
fn a_context_with_a_wrong_type_is_refused() {
    if !tools_available() {
        return;
    }
    // An undeclared type.
    let tmp = TempDir::new("contexts-undeclared");
    let copy = edited_copy(&tmp, "property_contexts", |pc| {
        pc.replace("lmkd_config_prop:s0 exact string", "lmkd_config_prp:s0 exact string")
    });
    let out = check(&copy, None);
    assert!(!out.success, "an undeclared type in property_contexts passed:\n{}", out.output);
    assert!(out.output.contains("lmkd_config_prp"), "the type was not named:\n{}", out.output);

    // A declared type of the wrong kind: a service labelled with a property type.
    let tmp = TempDir::new("contexts-attribute");
    let copy = edited_copy(&tmp, "service_contexts", |sc| {
        sc.replace("u:object_r:lmkd_service:s0", "u:object_r:lmkd_config_prop:s0")
    });
    let out = check(&copy, None);
    assert!(!out.success, "a property type in service_contexts passed:\n{}", out.output);
    assert!(
        out.output.contains("service_contexts") && out.output.contains("lmkd_config_prop"),
        "the entry was not named:\n{}",
        out.output
    );
}

/// The `ro.lmk.*` properties (and the two plain `ro.config.*` ones) AOSP's own
/// property_contexts already types: reference §7.1.
const AOSP_PROPERTIES: &[&str] = &[
    "low",
    "medium",
    "critical",
    "debug",
    "critical_upgrade",
    "upgrade_pressure",
    "downgrade_pressure",
    "kill_heaviest_task",
    "kill_timeout_ms",
    "pressure_after_kill_min_score",
    "use_minfree_levels",
    "swap_free_low_percentage",
    "psi_partial_stall_ms",
    "psi_complete_stall_ms",
    "thrashing_limit",
    "thrashing_limit_decay",
    "thrashing_limit_critical",
    "swap_util_max",
    "filecache_min_kb",
    "stall_limit_critical",
    "delay_monitors_until_boot",
    "direct_reclaim_threshold_ms",
    "swap_compression_ratio",
    "lowmem_min_oom_score",
    "use_psi",
    "use_new_strategy",
    "ro.lmk.log_stats",
    "ro.config.low_ram",
    "ro.config.per_app_memcg",
];

/// The properties this project adds (sepolicy/property_contexts).
const PROJECT_PROPERTIES: &[&str] = &[
    "reaper_threads",
    "reaper_cpus",
    "reaper_nice",
    "psi_window_ms",
    "memcg_domain",
    "kill_history_size",
    "predictive_kill",
];

/// Every `<reader>.<method>("<name>"` call in the non-test part of `src/config/mod.rs`, as
/// (name, property_contexts value type). `int`/`int32` read ints, `bool`/`plain_bool` bools,
/// `string` strings.
fn properties_read_by_config() -> Vec<(String, &'static str)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/config/mod.rs");
    let text = fs::read_to_string(path).expect("cannot read src/config/mod.rs");
    let code = text.split("#[cfg(test)]").next().unwrap_or_default();
    let methods = [
        (".int(\"", "int"),
        (".int32(\"", "int"),
        (".bool(\"", "bool"),
        (".plain_bool(\"", "bool"),
        (".string(\"", "string"),
    ];
    let mut found = Vec::new();
    for (call, value_type) in methods {
        for (at, _) in code.match_indices(call) {
            let rest = &code[at + call.len()..];
            let name = &rest[..rest.find('"').expect("unterminated string")];
            found.push((name.to_owned(), value_type));
        }
    }
    found
}

/// `(name, type, value type)` of every entry in `sepolicy/property_contexts`.
fn property_contexts() -> Vec<(String, String, String)> {
    let text = fs::read_to_string(sepolicy_dir().join("property_contexts"))
        .expect("cannot read sepolicy/property_contexts");
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            assert_eq!(f.len(), 4, "not `<name> <context> exact <type>`: {l}");
            assert_eq!(f[2], "exact", "not an exact entry: {l}");
            let ty = f[1]
                .strip_prefix("u:object_r:")
                .and_then(|t| t.strip_suffix(":s0"))
                .unwrap_or_else(|| panic!("not u:object_r:<type>:s0: {l}"));
            (f[0].to_owned(), ty.to_owned(), f[3].to_owned())
        })
        .collect()
}

#[test]
fn property_contexts_types_every_new_property() {
    let read = properties_read_by_config();
    let names: Vec<&str> = read.iter().map(|(n, _)| n.as_str()).collect();
    for p in PROJECT_PROPERTIES {
        assert!(names.contains(p), "src/config/mod.rs no longer reads {p}: update this test");
    }
    let contexts = property_contexts();
    for (name, value_type) in &read {
        if AOSP_PROPERTIES.contains(&name.as_str()) {
            continue;
        }
        let full = format!("ro.lmk.{name}");
        let entry = contexts.iter().find(|(n, _, _)| *n == full).unwrap_or_else(|| {
            panic!(
                "src/config/mod.rs reads {full}, which neither AOSP nor \
                 sepolicy/property_contexts types"
            )
        });
        assert_eq!(entry.1, "lmkd_config_prop", "{full} is not lmkd_config_prop");
        assert_eq!(&entry.2, value_type, "{full} is read as {value_type}");
    }
    // And nothing stale: every entry is a property the daemon reads.
    for (name, _, _) in &contexts {
        let short = name.strip_prefix("ro.lmk.").unwrap_or(name);
        assert!(
            names.contains(&short) && !AOSP_PROPERTIES.contains(&short),
            "sepolicy/property_contexts lists {name}, which src/config/mod.rs does not read \
             (or which AOSP already types)"
        );
    }
}
