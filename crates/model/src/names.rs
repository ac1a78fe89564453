//! Validated identifiers.
//!
//! RocketMQ accepts topic and group names made of `[%|a-zA-Z0-9_-]`; topics are at most
//! 127 characters and groups at most 255. Broker and cluster names are free-form but must be
//! non-blank. Every name is a newtype so signatures say which name they want.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Longest topic name RocketMQ 5.x accepts (`TopicValidator.TOPIC_MAX_LENGTH`).
pub const TOPIC_NAME_MAX_CHARS: usize = 127;
/// Longest group name (`Validators.CHARACTER_MAX_LENGTH`).
pub const GROUP_NAME_MAX_CHARS: usize = 255;

/// Why a name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("the {kind} name is blank")]
    Blank { kind: &'static str },
    #[error("the {kind} name is {len} characters long; the limit is {max}")]
    TooLong {
        kind: &'static str,
        len: usize,
        max: usize,
    },
    #[error("the {kind} name {name:?} contains {bad:?}; allowed characters are [%|a-zA-Z0-9_-]")]
    IllegalChar {
        kind: &'static str,
        name: String,
        bad: char,
    },
}

fn is_legal_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '%' | '|' | '_' | '-')
}

fn check_strict(kind: &'static str, name: &str, max: usize) -> Result<(), NameError> {
    if name.trim().is_empty() {
        return Err(NameError::Blank { kind });
    }
    let len = name.chars().count();
    if len > max {
        return Err(NameError::TooLong { kind, len, max });
    }
    if let Some(bad) = name.chars().find(|c| !is_legal_name_char(*c)) {
        return Err(NameError::IllegalChar {
            kind,
            name: name.to_owned(),
            bad,
        });
    }
    Ok(())
}

macro_rules! name_type {
    ($(#[$doc:meta])* $ty:ident, $kind:literal, $check:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $ty(String);

        impl $ty {
            /// Validates and wraps a name.
            pub fn new(name: impl Into<String>) -> Result<Self, NameError> {
                let name = name.into();
                Self::check(&name)?;
                Ok(Self(name))
            }

            /// Validates a name without wrapping (or allocating) it.
            pub fn check(name: &str) -> Result<(), NameError> {
                let check: fn(&str) -> Result<(), NameError> = $check;
                check(name)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $ty {
            type Error = NameError;
            fn try_from(value: String) -> Result<Self, NameError> {
                Self::new(value)
            }
        }

        impl From<$ty> for String {
            fn from(value: $ty) -> String {
                value.0
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $ty {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl std::borrow::Borrow<str> for $ty {
            fn borrow(&self) -> &str {
                &self.0
            }
        }
    };
}

/// Longest retry or dead-letter topic name (`%RETRY%` / `%DLQ%` + a group).
pub const SYSTEM_TOPIC_NAME_MAX_CHARS: usize = 255;
/// Longest POP retry topic name (`%RETRY%{group}_{topic}` or `%RETRY%{group}+{topic}`).
pub const POP_RETRY_TOPIC_NAME_MAX_CHARS: usize =
    7 + GROUP_NAME_MAX_CHARS + 1 + TOPIC_NAME_MAX_CHARS;

name_type!(
    /// A topic name: `[%|a-zA-Z0-9_-]{1,127}`; a `%DLQ%…` topic up to 255; a `%RETRY%…` topic
    /// up to a POP retry topic's length, with one `+` (RocketMQ's V2 POP retry topics).
    TopicName,
    "topic",
    |n| {
        if crate::system_topic::is_retry_topic(n) {
            return check_strict("topic", &n.replacen('+', "_", 1), POP_RETRY_TOPIC_NAME_MAX_CHARS);
        }
        let max = if crate::system_topic::is_dlq_topic(n) {
            SYSTEM_TOPIC_NAME_MAX_CHARS
        } else {
            TOPIC_NAME_MAX_CHARS
        };
        check_strict("topic", n, max)
    }
);
name_type!(
    /// A producer or consumer group name: `[%|a-zA-Z0-9_-]{1,255}`.
    GroupName,
    "group",
    |n| check_strict("group", n, GROUP_NAME_MAX_CHARS)
);
name_type!(
    /// A broker name (shared by a master and its slaves). Any non-blank text.
    BrokerName,
    "broker",
    |n| if n.trim().is_empty() { Err(NameError::Blank { kind: "broker" }) } else { Ok(()) }
);
name_type!(
    /// A cluster name. Any non-blank text.
    ClusterName,
    "cluster",
    |n| if n.trim().is_empty() { Err(NameError::Blank { kind: "cluster" }) } else { Ok(()) }
);

/// Topics an admin may not create or delete (Java's `TopicValidator` system set); names
/// starting with `rmq_sys_` are system topics too, and so are the cluster- and broker-name
/// topics each broker creates.
pub const SYSTEM_TOPICS: &[&str] = &[
    "TBW102",
    "SCHEDULE_TOPIC_XXXX",
    "SCHEDULE_TOPIC_XXXX_V2",
    "BenchmarkTest",
    "RMQ_SYS_TRANS_HALF_TOPIC",
    "RMQ_SYS_TRACE_TOPIC",
    "RMQ_SYS_TRANS_OP_HALF_TOPIC",
    "TRANS_CHECK_MAX_TIME_TOPIC",
    "SELF_TEST_TOPIC",
    "OFFSET_MOVED_EVENT",
];

/// Whether `topic` is one of the fixed system topics or has the `rmq_sys_` prefix.
pub fn is_system_topic(topic: &str) -> bool {
    SYSTEM_TOPICS.contains(&topic) || topic.starts_with("rmq_sys_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_legal_topic_names_when_validated_should_accept() {
        for name in [
            "TopicTest",
            "%RETRY%group_1",
            "%RETRY%g+Topic",
            "a|b-c",
            &"x".repeat(127),
        ] {
            assert!(TopicName::new(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn given_illegal_topic_names_when_validated_should_say_why() {
        assert_eq!(TopicName::new(""), Err(NameError::Blank { kind: "topic" }));
        assert!(matches!(
            TopicName::new("x".repeat(128)),
            Err(NameError::TooLong { len: 128, .. })
        ));
        let err = TopicName::new("a b").unwrap_err();
        assert!(err.to_string().contains("' '"), "{err}");
        assert!(TopicName::new("tópico").is_err());
    }

    #[test]
    fn given_json_string_when_deserialised_should_validate() {
        let ok: TopicName = serde_json::from_str("\"T1\"").unwrap();
        assert_eq!(ok.as_str(), "T1");
        assert!(serde_json::from_str::<TopicName>("\"bad topic\"").is_err());
        assert!(serde_json::from_str::<BrokerName>("\" \"").is_err());
    }
}
