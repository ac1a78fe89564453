//! Layered configuration: an annotated TOML file, then environment variables, then
//! command-line overrides, merged into one table and deserialised once into a raw config
//! type (which should `deny_unknown_fields`). Validation into the type `run()` accepts is the
//! caller's job.
//!
//! ```text
//! file (toml) ──► env APOGEE_<COMPONENT>__KEY[__SUB] ──► --set key=value ──► T
//! ```

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use toml::{Table, Value};

/// What went wrong while loading configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path} is not valid TOML: {source}")]
    Parse {
        path: PathBuf,
        source: Box<toml::de::Error>,
    },
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// Where each layer comes from.
#[derive(Debug, Default, Clone)]
pub struct Layers<'a> {
    /// Optional TOML file.
    pub file: Option<&'a Path>,
    /// A table to start from instead of a file (e.g. one converted from another format).
    pub base: Option<Table>,
    /// Environment variable prefix, e.g. `APOGEE_NAMESRV`; variables look like
    /// `APOGEE_NAMESRV__LISTEN_PORT=9877` (a double underscore separates nesting levels).
    pub env_prefix: Option<&'a str>,
    /// Environment to read; `None` reads the process environment.
    pub env: Option<Vec<(String, String)>>,
    /// `key=value` overrides with dotted keys, applied last.
    pub overrides: Vec<(String, String)>,
}

/// Merges the layers and deserialises the result into `T`.
pub fn load_layered<T: DeserializeOwned>(layers: &Layers<'_>) -> Result<T, ConfigError> {
    let mut table = match (layers.file, &layers.base) {
        (Some(path), _) => read_toml(path)?,
        (None, Some(base)) => base.clone(),
        (None, None) => Table::new(),
    };
    if let Some(prefix) = layers.env_prefix {
        let env = layers
            .env
            .clone()
            .unwrap_or_else(|| std::env::vars().collect());
        let marker = format!("{prefix}__");
        for (name, value) in env {
            if let Some(rest) = name.strip_prefix(&marker) {
                let path: Vec<String> = rest.split("__").map(str::to_ascii_lowercase).collect();
                set_path(&mut table, &path, parse_scalar(&value))?;
            }
        }
    }
    for (key, value) in &layers.overrides {
        let path: Vec<String> = key.split('.').map(str::to_owned).collect();
        set_path(&mut table, &path, parse_scalar(value))?;
    }
    T::deserialize(Value::Table(table)).map_err(|e| ConfigError::Invalid(e.to_string()))
}

fn read_toml(path: &Path) -> Result<Table, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    text.parse::<Table>().map_err(|source| ConfigError::Parse {
        path: path.to_owned(),
        source: Box::new(source),
    })
}

/// Reads a value the way TOML would (`9876` → integer, `true` → bool), else as a string.
pub fn parse_scalar(text: &str) -> Value {
    let probe = format!("v = {text}");
    match probe.parse::<Table>() {
        Ok(mut t) => t
            .remove("v")
            .unwrap_or_else(|| Value::String(text.to_owned())),
        Err(_) => Value::String(text.to_owned()),
    }
}

fn set_path(table: &mut Table, path: &[String], value: Value) -> Result<(), ConfigError> {
    let Some((last, parents)) = path.split_last() else {
        return Err(ConfigError::Invalid("empty configuration key".into()));
    };
    let mut cursor = table;
    for key in parents {
        let entry = cursor
            .entry(key.clone())
            .or_insert_with(|| Value::Table(Table::new()));
        cursor = entry
            .as_table_mut()
            .ok_or_else(|| ConfigError::Invalid(format!("`{key}` is not a table")))?;
    }
    cursor.insert(last.clone(), value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Sample {
        port: u16,
        name: String,
        #[serde(default)]
        flag: bool,
    }

    #[test]
    fn given_file_env_and_override_when_loaded_should_apply_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "port = 1\nname = \"file\"\n").unwrap();
        let layers = Layers {
            file: Some(&path),
            base: None,
            env_prefix: Some("APOGEE_TEST"),
            env: Some(vec![
                ("APOGEE_TEST__PORT".into(), "2".into()),
                ("APOGEE_TEST__NAME".into(), "env".into()),
                ("UNRELATED".into(), "x".into()),
            ]),
            overrides: vec![("port".into(), "3".into()), ("flag".into(), "true".into())],
        };
        let s: Sample = load_layered(&layers).unwrap();
        assert_eq!(
            s,
            Sample {
                port: 3,
                name: "env".into(),
                flag: true
            }
        );
    }

    #[test]
    fn given_unknown_key_when_loaded_should_name_it() {
        let layers = Layers {
            overrides: vec![
                ("port".into(), "1".into()),
                ("name".into(), "n".into()),
                ("bogus".into(), "1".into()),
            ],
            ..Layers::default()
        };
        let err = load_layered::<Sample>(&layers).unwrap_err();
        assert!(err.to_string().contains("bogus"), "{err}");
    }

    #[test]
    fn given_missing_file_when_loaded_should_name_the_path() {
        let layers = Layers {
            file: Some(Path::new("/nonexistent/x.toml")),
            ..Layers::default()
        };
        let err = load_layered::<Sample>(&layers).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/x.toml"));
    }
}
