//! What the console keeps of its own about topics and groups, which RocketMQ's metadata has no
//! place for: a topic's remark and its allowed consumer groups, a group's remark. One JSON file
//! in the data directory, written to a temp file, synced and renamed on every change.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};

use serde::{Deserialize, Serialize};

use crate::reply::ApiError;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Note {
    pub remark: Option<String>,
    /// A topic's `allowdConsumerGroups`.
    pub allowed_groups: Vec<String>,
    /// A group's `pullMechanism`, `firstConsumeMechanism` and `subscribeMap` (the managed
    /// service's own settings, kept and shown as given).
    pub pull_mechanism: Option<i64>,
    pub first_consume_mechanism: Option<i64>,
    pub subscribe_map: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
struct File {
    topics: BTreeMap<String, Note>,
    groups: BTreeMap<String, Note>,
}

pub struct Notes {
    path: PathBuf,
    file: Mutex<File>,
}

impl Notes {
    /// Reads `notes.json` under `dir` (none yet: empty). A damaged file is set aside, not lost.
    pub fn open(dir: &std::path::Path) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join("notes.json");
        let file = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                let aside = path.with_extension("json.damaged");
                tracing::warn!(error = %e, path = %path.display(), "notes file unreadable; set aside as {}", aside.display());
                let _ = std::fs::rename(&path, &aside);
                File::default()
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => File::default(),
            Err(e) => return Err(e),
        };
        Ok(Self {
            path,
            file: Mutex::new(file),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, File> {
        self.file.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn topic(&self, topic: &str) -> Option<Note> {
        self.lock().topics.get(topic).cloned()
    }

    pub fn group(&self, group: &str) -> Option<Note> {
        self.lock().groups.get(group).cloned()
    }

    pub fn set_topic(&self, topic: &str, note: Note) -> Result<(), ApiError> {
        self.change(|f| {
            f.topics.insert(topic.to_owned(), note);
        })
    }

    pub fn remove_topic(&self, topic: &str) -> Result<(), ApiError> {
        self.change(|f| {
            f.topics.remove(topic);
        })
    }

    pub fn set_group(&self, group: &str, note: Note) -> Result<(), ApiError> {
        self.change(|f| {
            f.groups.insert(group.to_owned(), note);
        })
    }

    pub fn remove_group(&self, group: &str) -> Result<(), ApiError> {
        self.change(|f| {
            f.groups.remove(group);
        })
    }

    fn change(&self, edit: impl FnOnce(&mut File)) -> Result<(), ApiError> {
        let mut file = self.lock();
        edit(&mut file);
        let bytes =
            serde_json::to_vec_pretty(&*file).map_err(|e| ApiError::internal(e.to_string()))?;
        let tmp = self.path.with_extension("json.tmp");
        let written = std::fs::File::create(&tmp).and_then(|mut f| {
            std::io::Write::write_all(&mut f, &bytes)?;
            f.sync_all()
        });
        written
            .and_then(|()| std::fs::rename(&tmp, &self.path))
            .map_err(|e| ApiError::internal(format!("writing {}: {e}", self.path.display())))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn given_notes_should_survive_a_reopen_and_a_damaged_file_should_be_set_aside() {
        let dir = tempfile::tempdir().unwrap();
        let notes = Notes::open(dir.path()).unwrap();
        let note = Note {
            remark: Some("orders".into()),
            allowed_groups: vec!["billing".into()],
            ..Note::default()
        };
        notes.set_topic("T", note.clone()).unwrap();
        assert_eq!(Notes::open(dir.path()).unwrap().topic("T"), Some(note));
        std::fs::write(dir.path().join("notes.json"), b"{not json").unwrap();
        let reopened = Notes::open(dir.path()).unwrap();
        assert_eq!(reopened.topic("T"), None);
        assert!(dir.path().join("notes.json.damaged").exists());
    }
}
