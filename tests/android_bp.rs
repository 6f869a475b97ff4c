//! Android.bp and Cargo.toml must describe the same crate: this test parses both (with the
//! `android_bp` and `toml` crates) and fails when they drift — a normal dependency without its
//! AOSP module, a different edition or crate name, a source, `init_rc` or data path that does
//! not exist, AOSP-only code not gated by `aosp_build` — and when `bpfmt` would reformat the
//! file.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use android_bp::{BluePrint, Module, Value};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn blueprint() -> BluePrint {
    BluePrint::from_file(root().join("Android.bp")).expect("Android.bp parses")
}

fn cargo() -> toml::Table {
    std::fs::read_to_string(root().join("Cargo.toml")).unwrap().parse().expect("Cargo.toml parses")
}

fn module<'a>(bp: &'a BluePrint, name: &str) -> &'a Module {
    bp.modules
        .iter()
        .find(|m| m.get_string("name").map(String::as_str) == Some(name))
        .unwrap_or_else(|| panic!("no module {name}"))
}

fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| if let Value::String(s) = x { Some(s.clone()) } else { None })
            .collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => vec![],
    }
}

fn map_get<'a>(v: Option<&'a Value>, key: &str) -> Option<&'a Value> {
    match v {
        Some(Value::Map(m)) => m.0.get(key),
        _ => None,
    }
}

/// The AOSP module of a crates.io crate (`external/rust/android-crates-io` names).
fn aosp_module(krate: &str) -> String {
    match krate {
        "log" => "liblog_rust".to_owned(),
        other => format!("lib{}", other.replace('-', "_")),
    }
}

#[test]
fn every_cargo_dependency_has_its_aosp_module() {
    let bp = blueprint();
    let defaults = module(&bp, "lmkd_rs_defaults");
    let common: BTreeSet<String> = strings(defaults.get("rustlibs")).into_iter().collect();
    let android: BTreeSet<String> =
        strings(map_get(map_get(defaults.get("target"), "android"), "rustlibs"))
            .into_iter()
            .collect();
    let cargo = cargo();
    let deps = cargo["dependencies"].as_table().unwrap();
    for krate in deps.keys() {
        let m = aosp_module(krate);
        assert!(
            common.contains(&m),
            "dependency {krate} has no rustlibs entry {m} in lmkd_rs_defaults"
        );
    }
    let target_deps =
        cargo["target"]["cfg(target_os = \"android\")"]["dependencies"].as_table().unwrap();
    for krate in target_deps.keys() {
        let m = aosp_module(krate);
        assert!(
            android.contains(&m),
            "Android dependency {krate} has no target.android rustlibs entry {m}"
        );
    }
    // Cargo builds against exactly the version external/rust ships, so that nothing newer
    // than AOSP's API sneaks in through the lock file.
    for (krate, spec) in deps.iter().chain(target_deps.iter()) {
        let version = match spec {
            toml::Value::String(v) => v.as_str(),
            toml::Value::Table(t) => t["version"].as_str().unwrap(),
            other => panic!("dependency {krate}: unexpected {other}"),
        };
        assert!(
            version.starts_with('='),
            "{krate} = \"{version}\" is not pinned to AOSP's version"
        );
    }
    // And nothing in Android.bp that Cargo does not know, except the AOSP-only crates.
    let aosp_only = ["libbinder_rs", "librustutils", "lmkd_service_aidl-rust"];
    for m in &common {
        assert!(
            deps.keys().any(|k| aosp_module(k) == *m),
            "{m} is in Android.bp but not in Cargo.toml"
        );
    }
    for m in &android {
        assert!(
            target_deps.keys().any(|k| aosp_module(k) == *m) || aosp_only.contains(&m.as_str()),
            "{m} is in Android.bp's android target but not in Cargo.toml"
        );
    }
}

#[test]
fn aosp_only_code_is_gated_by_the_aosp_build_cfg() {
    let bp = blueprint();
    let defaults = module(&bp, "lmkd_rs_defaults");
    assert!(
        strings(defaults.get("cfgs")).is_empty(),
        "aosp_build must not be set on the host variants"
    );
    let android_cfgs = strings(map_get(map_get(defaults.get("target"), "android"), "cfgs"));
    assert_eq!(android_cfgs, vec!["aosp_build".to_owned()]);
    let manifest = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    assert!(manifest.contains("check-cfg = ['cfg(aosp_build)']"), "rustc must know the cfg");
    // The AOSP-only crates are only named behind cfg(aosp_build).
    for (path, text) in rust_sources() {
        for krate in ["rustutils::", "binder::", "lmkd_service_aidl::"] {
            for (n, line) in text.lines().enumerate() {
                if line.contains(krate) && !line.trim_start().starts_with("//") {
                    assert!(
                        gated(&text, n),
                        "{}:{}: {krate} used outside #[cfg(aosp_build)]",
                        path.display(),
                        n + 1
                    );
                }
            }
        }
    }
}

/// The device library ships no test scaffolding: the demo sandbox (`demo`), the counting
/// allocator (`sys::alloc_count`) and the fault installer (`fault::install`) are compiled only
/// without `aosp_build`, which Soong sets for every device variant (checked above), and no
/// Android.bp module turns them back on with a feature.
#[test]
fn test_scaffolding_is_compiled_for_the_host_only() {
    let src = |p: &str| std::fs::read_to_string(root().join(p)).unwrap();
    let host_only = |text: &str, item: &str, what: &str| {
        let lines: Vec<&str> = text.lines().collect();
        let n = lines
            .iter()
            .position(|l| l.trim_start().starts_with(item))
            .unwrap_or_else(|| panic!("{what}: no line starting with {item:?}"));
        // The attributes right above the item.
        let attrs: Vec<&str> = lines[..n]
            .iter()
            .rev()
            .take_while(|l| {
                let t = l.trim_start();
                t.starts_with("#[") || t.starts_with("///")
            })
            .copied()
            .collect();
        assert!(
            attrs.iter().any(|a| a.contains("#[cfg(not(aosp_build))]")),
            "{what} ({item}) must be #[cfg(not(aosp_build))]"
        );
    };
    host_only(&src("src/lib.rs"), "pub mod demo;", "the demo sandbox");
    let sys = src("src/sys/mod.rs");
    host_only(&sys, "mod alloc_count;", "the counting allocator");
    host_only(&sys, "pub use alloc_count::", "the counting allocator's exports");
    host_only(&src("src/fault.rs"), "pub fn install(", "the fault installer");
    let bp = blueprint();
    for name in ["lmkd_rs_defaults", "liblmkd_rs", "lmkd_rs", "lmkctl"] {
        let m = module(&bp, name);
        assert!(strings(m.get("features")).is_empty(), "{name} sets features");
        assert!(
            strings(m.get("cfgs")).iter().all(|c| c == "aosp_build"),
            "{name} sets a cfg other than aosp_build"
        );
    }
}

/// Whether line `n` sits in a file or item gated by `aosp_build` (the file's first attribute,
/// or an attribute within the 40 lines above).
fn gated(text: &str, n: usize) -> bool {
    let lines: Vec<&str> = text.lines().collect();
    if text.contains("#![cfg(aosp_build)]") {
        return true;
    }
    lines[n.saturating_sub(40)..=n].iter().any(|l| l.contains("cfg(aosp_build)"))
}

fn rust_sources() -> Vec<(PathBuf, String)> {
    fn walk(dir: &Path, out: &mut Vec<(PathBuf, String)>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push((p.clone(), std::fs::read_to_string(&p).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    walk(&root().join("src"), &mut out);
    out
}

#[test]
fn editions_and_crate_names_match() {
    let bp = blueprint();
    let cargo = cargo();
    let edition = cargo["package"]["edition"].as_str().unwrap();
    assert_eq!(
        module(&bp, "lmkd_rs_defaults").get_string("edition").map(String::as_str),
        Some(edition)
    );
    let lib = cargo["lib"]["name"].as_str().unwrap();
    assert_eq!(module(&bp, "liblmkd_rs").get_string("crate_name").map(String::as_str), Some(lib));
    assert_eq!(
        strings(module(&bp, "liblmkd_rs").get("srcs")),
        vec![cargo["lib"]["path"].as_str().unwrap().to_owned()]
    );
    for bin in cargo["bin"].as_array().unwrap() {
        let name = bin["name"].as_str().unwrap();
        // The Soong module installing this binary: same crate name, and the same file name
        // (`stem`, or the module name without one).
        let m = bp
            .modules
            .iter()
            .find(|m| {
                m.typ == "rust_binary"
                    && m.get_string("crate_name").map(String::as_str) == Some(name)
                    && m.get_string("stem").or(m.get_string("name")).map(String::as_str)
                        == Some(name)
            })
            .unwrap_or_else(|| panic!("no rust_binary installs {name}"));
        assert_eq!(
            strings(m.get("srcs")),
            vec![bin["path"].as_str().unwrap().to_owned()],
            "srcs of {name}"
        );
    }
    let rust_version = cargo["package"]["rust-version"].as_str().unwrap();
    assert_eq!(rust_version, "1.88", "Soong's RustDefaultVersion the project targets");
}

#[test]
fn every_path_android_bp_names_exists() {
    let bp = blueprint();
    let mut checked = 0;
    for m in &bp.modules {
        let mut paths = strings(m.get("srcs"));
        paths.extend(strings(m.get("init_rc")));
        for p in paths {
            assert!(root().join(&p).is_file(), "{} names {p}, which does not exist", m.typ);
            checked += 1;
        }
        for pattern in strings(m.get("data")) {
            let (dir, _) = pattern.split_once('*').unwrap_or((&pattern, ""));
            let dir = root().join(dir.trim_end_matches('/'));
            assert!(
                dir.is_dir() && std::fs::read_dir(&dir).unwrap().next().is_some(),
                "data {pattern} matches nothing"
            );
            checked += 1;
        }
    }
    assert!(checked >= 8, "only {checked} paths checked");
    let rc = strings(module(&bp, "lmkd_rs").get("init_rc"));
    assert_eq!(rc, vec!["init/lmkd.rc".to_owned()]);
    let daemon = module(&bp, "lmkd_rs");
    assert_eq!(daemon.get_bool("prefer_rlib"), Some(true));
    // Installed where init and ActivityManager expect the stock daemon.
    assert_eq!(daemon.get_string("stem").map(String::as_str), Some("lmkd"));
    let test_mapping = std::fs::read_to_string(root().join("TEST_MAPPING")).unwrap();
    for m in bp.modules.iter().filter(|m| m.typ == "rust_test") {
        let name = m.get_string("name").unwrap();
        assert!(test_mapping.contains(&format!("\"{name}\"")), "TEST_MAPPING does not run {name}");
    }
}

#[test]
fn bpfmt_finds_nothing_to_change() {
    let out =
        match std::process::Command::new("bpfmt").arg("-l").arg(root().join("Android.bp")).output()
        {
            Ok(o) => o,
            Err(_) => {
                assert!(
                    std::env::var("LMKD_REQUIRE_KERNEL_TESTS").as_deref() != Ok("1"),
                    "bpfmt (Debian blueprint-tools) is missing; .ci/run installs it"
                );
                eprintln!("SKIPPED: bpfmt is not installed");
                return;
            }
        };
    // `bpfmt -l` lists files it would change and exits 0 either way.
    assert!(out.status.success(), "bpfmt failed: {}", String::from_utf8_lossy(&out.stderr));
    assert!(
        out.stdout.is_empty(),
        "bpfmt would reformat Android.bp:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
