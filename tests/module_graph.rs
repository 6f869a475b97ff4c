//! The crate's top-level modules depend on each other without cycles (the design's rule:
//! dependencies point one way, from the loop down to `sys`). Every `crate::<module>` path in a
//! module's files (code, not comments) is an edge; a cycle fails the test and names it.
//!
//! Also pins the edges the engine issue removed, so that they do not come back one by one:
//! `policy` and `report` meet only in `kill`, `event` knows nothing of `procs`, and `memory`
//! knows nothing of `reaper` or `procs`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Graph = BTreeMap<String, BTreeSet<String>>;

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The top-level modules (files and directories under `src/`, without the binaries) and the
/// files of each.
fn modules() -> BTreeMap<String, Vec<PathBuf>> {
    let mut mods = BTreeMap::new();
    for e in std::fs::read_dir(src()).unwrap().flatten() {
        let p = e.path();
        let name = p.file_stem().unwrap().to_string_lossy().into_owned();
        if ["main", "lib", "bin"].contains(&name.as_str()) {
            continue;
        }
        let mut files = Vec::new();
        if p.is_dir() {
            rust_files(&p, &mut files);
        } else if p.extension().is_some_and(|x| x == "rs") {
            files.push(p);
        } else {
            continue;
        }
        mods.insert(name, files);
    }
    mods
}

/// The names `crate::` paths in `code` start with: `crate::a::...` and each of
/// `crate::{a, b::c, ...}`.
fn crate_paths(code: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let ident = |s: &str| -> String {
        s.trim_start().chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect()
    };
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        let before = rest[..i].chars().last();
        rest = &rest[i + "crate::".len()..];
        // `$crate::` (macros) and `lmkd_crate::` are not paths of this crate's modules.
        if before.is_some_and(|c| c == '$' || c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            // Up to the matching brace.
            let mut depth = 1;
            let end = group
                .char_indices()
                .find(|&(_, c)| {
                    depth += match c {
                        '{' => 1,
                        '}' => -1,
                        _ => 0,
                    };
                    depth == 0
                })
                .map_or(group.len(), |(j, _)| j);
            let mut level = 0;
            let mut start = 0;
            for (j, c) in group[..end].char_indices() {
                match c {
                    '{' => level += 1,
                    '}' => level -= 1,
                    ',' if level == 0 => {
                        names.insert(ident(&group[start..j]));
                        start = j + 1;
                    }
                    _ => {}
                }
            }
            names.insert(ident(&group[start..end]));
        } else {
            names.insert(ident(rest));
        }
    }
    names.remove("");
    names
}

/// The edges between top-level modules.
fn graph() -> Graph {
    let mods = modules();
    let mut g = Graph::new();
    for (name, files) in &mods {
        let edges = g.entry(name.clone()).or_default();
        for f in files {
            let text = std::fs::read_to_string(f).unwrap();
            let code: String = text
                .lines()
                .filter(|l| !l.trim_start().starts_with("//"))
                .map(|l| format!("{l}\n"))
                .collect();
            for dep in crate_paths(&code) {
                if dep != *name && mods.contains_key(&dep) {
                    edges.insert(dep);
                }
            }
        }
    }
    g
}

/// A cycle, if there is one, as the modules along it (first = last).
fn find_cycle(g: &Graph) -> Option<Vec<String>> {
    fn visit(
        g: &Graph,
        m: &str,
        state: &mut BTreeMap<String, u8>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(m.to_owned(), 1);
        path.push(m.to_owned());
        for d in g.get(m).into_iter().flatten() {
            match state.get(d) {
                Some(1) => {
                    let at = path.iter().position(|p| p == d).unwrap();
                    let mut cycle = path[at..].to_vec();
                    cycle.push(d.clone());
                    return Some(cycle);
                }
                Some(_) => {}
                None => {
                    if let Some(c) = visit(g, d, state, path) {
                        return Some(c);
                    }
                }
            }
        }
        path.pop();
        state.insert(m.to_owned(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for m in g.keys() {
        if !state.contains_key(m) {
            if let Some(c) = visit(g, m, &mut state, &mut Vec::new()) {
                return Some(c);
            }
        }
    }
    None
}

#[test]
fn the_module_graph_has_no_cycle() {
    let g = graph();
    assert!(g.len() > 10, "modules found: {:?}", g.keys());
    if let Some(c) = find_cycle(&g) {
        panic!("module cycle: {}\nedges: {g:#?}", c.join(" → "));
    }
}

#[test]
fn removed_edges_stay_removed() {
    let g = graph();
    let edge = |a: &str, b: &str| g.get(a).is_some_and(|d| d.contains(b));
    for (a, b) in [
        ("policy", "report"),
        ("report", "policy"),
        ("event", "procs"),
        ("memory", "reaper"),
        ("memory", "procs"),
        ("procs", "report"),
        ("policy", "sys"),
        ("policy", "daemon"),
        ("policy", "pressure"),
    ] {
        assert!(!edge(a, b), "{a} depends on {b} again");
    }
    // Both sides of a kill speak the shared vocabulary.
    assert!(edge("policy", "kill") && edge("report", "kill"));
}

#[test]
fn the_checker_sees_cycles_and_paths() {
    let paths = crate_paths(
        "use crate::a::X;\nuse crate::{b, c::{D, E}, d::F};\nlet x = crate::e::f();\n\
         $crate::g::h!(); my_crate::i::j;",
    );
    let want: BTreeSet<String> = ["a", "b", "c", "d", "e"].iter().map(|s| s.to_string()).collect();
    assert_eq!(paths, want);
    let mut g = Graph::new();
    g.entry("x".into()).or_default().insert("y".into());
    g.entry("y".into()).or_default().insert("z".into());
    g.entry("z".into()).or_default();
    assert_eq!(find_cycle(&g), None);
    g.entry("z".into()).or_default().insert("x".into());
    assert_eq!(find_cycle(&g).unwrap(), ["x", "y", "z", "x"]);
}
