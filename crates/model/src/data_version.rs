//! `DataVersion`: the (timestamp, counter, stateVersion) triple a broker sends with its topic
//! table so the NameServer can tell whether anything changed since the last registration.

use serde::{Deserialize, Serialize};

/// A broker's metadata version. Two versions are equal only if all three fields are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DataVersion {
    pub counter: i64,
    /// 5.x only; 4.x peers omit it and it reads as 0.
    pub state_version: i64,
    pub timestamp: i64,
}

impl DataVersion {
    /// A fresh version stamped at `now_ms`, as a broker creates at start-up.
    pub fn new(now_ms: i64) -> Self {
        Self {
            counter: 0,
            state_version: 0,
            timestamp: now_ms,
        }
    }

    /// Bumps the counter and timestamp after a metadata change.
    pub fn next(&mut self, now_ms: i64) {
        self.counter += 1;
        self.timestamp = now_ms;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_4x_json_without_state_version_when_parsed_should_default_it() {
        let v: DataVersion = serde_json::from_str(r#"{"counter":3,"timestamp":99}"#).unwrap();
        assert_eq!(
            v,
            DataVersion {
                counter: 3,
                state_version: 0,
                timestamp: 99
            }
        );
    }

    #[test]
    fn given_version_when_serialised_should_use_java_names_in_order() {
        let v = DataVersion {
            counter: 1,
            state_version: 0,
            timestamp: 5,
        };
        assert_eq!(
            serde_json::to_string(&v).unwrap(),
            r#"{"counter":1,"stateVersion":0,"timestamp":5}"#
        );
    }
}
