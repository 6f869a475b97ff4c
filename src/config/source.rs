//! Where properties come from: the Android property service, or a `key=value` file on a host.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};

use log::{info, warn};

/// A source of system properties.
pub trait PropertySource {
    /// The value of `name`, if set (an empty value counts as unset, as on Android).
    fn get(&self, name: &str) -> Option<String>;
    /// Sets `name` (the daemon publishes `sys.lmk.*` and clears `lmkd.reinit`).
    fn set(&mut self, name: &str, value: &str) -> io::Result<()>;
    /// Re-reads the source (`LMK_UPDATE_PROPS`). The Android property service is always
    /// current, so there it does nothing.
    fn reload(&mut self) -> io::Result<()>;
}

/// Properties from a build.prop-style file (`key=value` per line, `#` comments), plus the
/// values the daemon set itself. This is the host's property service.
#[derive(Debug, Default)]
pub struct FileProperties {
    path: Option<PathBuf>,
    file: HashMap<String, String>,
    written: HashMap<String, String>,
}

impl FileProperties {
    /// Reads `path`; fails if it cannot be read (a malformed line is only logged).
    pub fn open(path: &Path) -> io::Result<FileProperties> {
        let mut p = FileProperties { path: Some(path.to_owned()), ..Default::default() };
        p.reload()?;
        Ok(p)
    }

    /// A source with fixed values and no file (tests, tools).
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> FileProperties {
        let file = pairs.into_iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect();
        FileProperties { path: None, file, written: HashMap::new() }
    }

    /// Parses build.prop text. Returns the map and the 1-based numbers of malformed lines.
    pub fn parse(text: &str) -> (HashMap<String, String>, Vec<usize>) {
        let mut map = HashMap::new();
        let mut bad = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            match line.split_once('=') {
                Some((k, v)) if !k.trim().is_empty() && !k.trim().contains(char::is_whitespace) => {
                    map.insert(k.trim().to_owned(), v.trim().to_owned());
                }
                _ => bad.push(n + 1),
            }
        }
        (map, bad)
    }
}

impl PropertySource for FileProperties {
    fn get(&self, name: &str) -> Option<String> {
        self.written.get(name).or_else(|| self.file.get(name)).filter(|v| !v.is_empty()).cloned()
    }

    fn set(&mut self, name: &str, value: &str) -> io::Result<()> {
        info!("setprop {name} {value}");
        self.written.insert(name.to_owned(), value.to_owned());
        Ok(())
    }

    fn reload(&mut self) -> io::Result<()> {
        let Some(path) = &self.path else { return Ok(()) };
        let text = std::fs::read_to_string(path)?;
        let (map, bad) = FileProperties::parse(&text);
        for n in bad {
            warn!("{}:{n}: not a key=value line; ignored", path.display());
        }
        self.file = map;
        Ok(())
    }
}

/// The Android property service, through librustutils.
#[cfg(aosp_build)]
#[derive(Debug, Default)]
pub struct AndroidProperties;

#[cfg(aosp_build)]
impl PropertySource for AndroidProperties {
    fn get(&self, name: &str) -> Option<String> {
        rustutils::system_properties::read(name).ok().flatten().filter(|v| !v.is_empty())
    }

    fn set(&mut self, name: &str, value: &str) -> io::Result<()> {
        rustutils::system_properties::write(name, value)
            .map_err(|e| io::Error::other(format!("setprop {name}: {e}")))
    }

    fn reload(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_prop_lines() {
        let (map, bad) = FileProperties::parse(
            "# comment\n\nro.lmk.debug=true\n  ro.lmk.kill_timeout_ms = 50  \nnot a line\n=x\nro.empty=\na b=c\n",
        );
        assert_eq!(map.get("ro.lmk.debug").map(String::as_str), Some("true"));
        assert_eq!(map.get("ro.lmk.kill_timeout_ms").map(String::as_str), Some("50"));
        assert_eq!(map.get("ro.empty").map(String::as_str), Some(""));
        assert_eq!(bad, vec![5, 6, 8]);
    }

    #[test]
    fn written_values_shadow_the_file_and_empty_means_unset() {
        let mut p = FileProperties::from_pairs([("a", "1"), ("b", "")]);
        assert_eq!(p.get("a").as_deref(), Some("1"));
        assert_eq!(p.get("b"), None);
        p.set("a", "2").unwrap();
        assert_eq!(p.get("a").as_deref(), Some("2"));
        p.set("a", "").unwrap();
        assert_eq!(p.get("a"), None);
    }
}
