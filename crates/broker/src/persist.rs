//! RocketMQ's config-file procedure (REMOTING.md §6.11) for `topics.json` and friends: write
//! the new content to a temporary file and fsync it, keep the previous file as `<name>.bak`,
//! move the new one into place, fsync the directory. Loading falls back to `.bak` when the
//! file is missing or unreadable, so a crash at any step leaves one good copy.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::BrokerError;

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    path.with_file_name(name)
}

/// Replaces `path` with `bytes` atomically, keeping the old content as `<path>.bak`.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), BrokerError> {
    let err = |source| BrokerError::Persist {
        path: path.display().to_string(),
        source,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(err)?;
    let tmp = sibling(path, ".tmp");
    {
        let mut file = std::fs::File::create(&tmp).map_err(err)?;
        file.write_all(bytes).map_err(err)?;
        file.sync_all().map_err(err)?;
    }
    if path.exists() {
        std::fs::rename(path, sibling(path, ".bak")).map_err(err)?;
    }
    std::fs::rename(&tmp, path).map_err(err)?;
    if let Ok(d) = std::fs::File::open(dir) {
        // Directory fsync makes the rename durable; not every platform allows it.
        let _ = d.sync_all();
    }
    Ok(())
}

/// Reads and parses `path`, or `<path>.bak` when the former is missing or does not parse.
/// `Ok(None)` when neither exists (a fresh broker).
pub fn load<T>(
    path: &Path,
    parse: impl Fn(&[u8]) -> Result<T, String>,
) -> Result<Option<T>, BrokerError> {
    let mut first_error = None;
    for candidate in [path.to_path_buf(), sibling(path, ".bak")] {
        match std::fs::read(&candidate) {
            Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => {}
            Ok(bytes) => match parse(&bytes) {
                Ok(value) => {
                    if first_error.is_some() {
                        tracing::warn!(path = %candidate.display(), "loaded the backup copy");
                    }
                    return Ok(Some(value));
                }
                Err(reason) => {
                    tracing::warn!(path = %candidate.display(), %reason, "unreadable config file");
                    first_error.get_or_insert(BrokerError::Load {
                        path: candidate.display().to_string(),
                        reason,
                    });
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                first_error.get_or_insert(BrokerError::Load {
                    path: candidate.display().to_string(),
                    reason: e.to_string(),
                });
            }
        }
    }
    first_error.map_or(Ok(None), Err)
}

/// [`load`] for a JSON document (fastjson's relaxed keys accepted).
pub fn load_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Option<T>, BrokerError> {
    load(path, |bytes| {
        apogee_protocol::fastjson::from_slice::<T>(bytes).map_err(|e| e.to_string())
    })
}

/// [`write_atomically`] for a JSON document in fastjson's legacy style; maps under the keys in
/// `numeric_key_maps` get bare numeric keys, as Java writes them.
pub fn write_json<T: serde::Serialize>(
    path: &Path,
    value: &T,
    numeric_key_maps: &[&str],
) -> Result<(), BrokerError> {
    let bytes = apogee_protocol::fastjson::to_json(
        value,
        apogee_protocol::fastjson::JsonStyle::Legacy,
        numeric_key_maps,
    );
    write_atomically(path, &bytes)
}

/// A JSON config document held in memory and saved whole: the shape of `topics.json` and
/// `subscriptionGroup.json`. Readers take the read lock; a save serialises under the read lock
/// and writes the file under a separate lock, so request paths never wait on file IO.
pub struct JsonTable<T> {
    value: std::sync::RwLock<T>,
    path: std::path::PathBuf,
    saving: std::sync::Mutex<()>,
}

impl<T: serde::Serialize + serde::de::DeserializeOwned> JsonTable<T> {
    /// Loads `path` (or its backup), or starts from `fresh()`.
    pub fn load(path: std::path::PathBuf, fresh: impl FnOnce() -> T) -> Result<Self, BrokerError> {
        let value = load_json::<T>(&path)?.unwrap_or_else(fresh);
        Ok(Self {
            value: std::sync::RwLock::new(value),
            path,
            saving: std::sync::Mutex::new(()),
        })
    }

    pub fn read(&self) -> std::sync::RwLockReadGuard<'_, T> {
        self.value
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn write(&self) -> std::sync::RwLockWriteGuard<'_, T> {
        self.value
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Writes the current content to disk (atomically, keeping a `.bak`).
    pub fn save(&self) -> Result<(), BrokerError> {
        let _saving = self
            .saving
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        write_json(&self.path, &*self.read(), &[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(bytes: &[u8]) -> Result<String, String> {
        let text = String::from_utf8(bytes.to_vec()).map_err(|e| e.to_string())?;
        if text.starts_with('{') {
            Ok(text)
        } else {
            Err("not json".into())
        }
    }

    #[test]
    fn given_two_writes_should_keep_the_previous_as_bak_and_load_the_latest() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config/topics.json");
        assert_eq!(load(&path, parse).unwrap(), None);
        write_atomically(&path, b"{1}").unwrap();
        write_atomically(&path, b"{2}").unwrap();
        assert_eq!(load(&path, parse).unwrap().as_deref(), Some("{2}"));
        assert_eq!(std::fs::read(sibling(&path, ".bak")).unwrap(), b"{1}");
    }

    #[test]
    fn given_corrupt_file_should_fall_back_to_bak_and_fail_when_both_are_bad() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("topics.json");
        write_atomically(&path, b"{good}").unwrap();
        write_atomically(&path, b"garbage").unwrap();
        assert_eq!(load(&path, parse).unwrap().as_deref(), Some("{good}"));
        std::fs::write(sibling(&path, ".bak"), b"also garbage").unwrap();
        assert!(load(&path, parse).is_err());
    }
}
