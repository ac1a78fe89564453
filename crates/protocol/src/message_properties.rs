//! A message's properties as the store keeps them (REMOTING.md §4.1): `key 0x01 value 0x02`
//! pairs in one string. [`Properties`] edits that string in place, so the send path never
//! builds a map; [`property`] names the keys the broker reads or writes (`MessageConst`).

use crate::record::{NAME_VALUE_SEPARATOR, PROPERTY_SEPARATOR, any_property, find_property};

/// Property keys (`MessageConst`).
pub mod property {
    pub const TAGS: &str = "TAGS";
    pub const KEYS: &str = "KEYS";
    pub const UNIQ_KEY: &str = "UNIQ_KEY";
    pub const CLUSTER: &str = "CLUSTER";
    pub const WAIT: &str = "WAIT";
    pub const DELAY: &str = "DELAY";
    pub const REAL_TOPIC: &str = "REAL_TOPIC";
    pub const REAL_QUEUE_ID: &str = "REAL_QID";
    pub const RETRY_TOPIC: &str = "RETRY_TOPIC";
    pub const ORIGIN_MESSAGE_ID: &str = "ORIGIN_MESSAGE_ID";
    pub const TRANSACTION_PREPARED: &str = "TRAN_MSG";
    pub const PRODUCER_GROUP: &str = "PGROUP";
    pub const SHARDING_KEY: &str = "__SHARDINGKEY";
    pub const TIMER_DELIVER_MS: &str = "TIMER_DELIVER_MS";
    pub const TIMER_DELAY_SEC: &str = "TIMER_DELAY_SEC";
    pub const TIMER_DELAY_MS: &str = "TIMER_DELAY_MS";
    pub const TIMER_OUT_MS: &str = "TIMER_OUT_MS";
    pub const TIMER_ENQUEUE_MS: &str = "TIMER_ENQUEUE_MS";
    pub const TIMER_DEQUEUE_MS: &str = "TIMER_DEQUEUE_MS";
    pub const TIMER_DEL_UNIQKEY: &str = "TIMER_DEL_UNIQKEY";
    pub const TIMER_ROLL_TIMES: &str = "TIMER_ROLL_TIMES";
    /// Aliyun ONS clients' absolute delivery time in ms (`__STARTDELIVERTIME`).
    pub const START_DELIVER_TIME: &str = "__STARTDELIVERTIME";
}

/// A message's properties string, edited in place.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Properties(String);

impl Properties {
    /// Properties as they came off the wire or out of the store.
    pub fn from_wire(text: String) -> Self {
        Self(text)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }

    /// Length in bytes of the encoded string.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// A value, as Java reads it: empty values count as absent, the last occurrence wins.
    pub fn get(&self, key: &str) -> Option<&str> {
        find_property(&self.0, key)
    }

    pub fn contains(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Whether any of `keys` has a value (one walk over the properties).
    pub fn contains_any(&self, keys: &[&str]) -> bool {
        any_property(&self.0, keys)
    }

    /// Sets `key` to `value`, replacing any earlier occurrence.
    pub fn insert(&mut self, key: &str, value: &str) {
        self.remove(key);
        self.push(key, value);
    }

    /// Appends `key 0x01 value 0x02` without looking for an earlier occurrence, adding the
    /// separator a Java 5.x string may lack.
    pub fn push(&mut self, key: &str, value: &str) {
        if !self.0.is_empty() && !self.0.ends_with(PROPERTY_SEPARATOR) {
            self.0.push(PROPERTY_SEPARATOR);
        }
        self.0.push_str(key);
        self.0.push(NAME_VALUE_SEPARATOR);
        self.0.push_str(value);
        self.0.push(PROPERTY_SEPARATOR);
    }

    /// Removes every occurrence of `key`; whether there was one.
    pub fn remove(&mut self, key: &str) -> bool {
        let present = self.0.split(PROPERTY_SEPARATOR).any(|piece| {
            piece
                .split_once(NAME_VALUE_SEPARATOR)
                .is_some_and(|(k, _)| k == key)
        });
        if !present {
            return false;
        }
        let mut kept = String::with_capacity(self.0.len());
        for piece in self.0.split(PROPERTY_SEPARATOR).filter(|p| !p.is_empty()) {
            if piece
                .split_once(NAME_VALUE_SEPARATOR)
                .is_some_and(|(k, _)| k == key)
            {
                continue;
            }
            kept.push_str(piece);
            kept.push(PROPERTY_SEPARATOR);
        }
        self.0 = kept;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::parse_properties;
    use proptest::prelude::*;

    #[test]
    fn given_properties_when_edited_should_keep_the_wire_form() {
        let mut p = Properties::from_wire("A\u{1}1\u{2}B\u{1}2".into());
        assert_eq!(p.get("B"), Some("2"));
        p.insert("A", "3");
        assert_eq!(p.as_str(), "B\u{1}2\u{2}A\u{1}3\u{2}");
        assert!(p.remove("B") && !p.remove("B"));
        assert_eq!(p.as_str(), "A\u{1}3\u{2}");
        p.push("C", "4");
        assert_eq!(p.get("C"), Some("4"));
        assert!(!p.contains("B"));
    }

    proptest! {
        #[test]
        fn edits_agree_with_a_map(
            pairs in proptest::collection::vec(("[A-D]", "[a-z0-9]{1,3}"), 0..8),
            key in "[A-D]",
            value in "[a-z]{1,3}",
        ) {
            let mut p = Properties::default();
            for (k, v) in &pairs {
                p.insert(k, v);
            }
            let mut map = parse_properties(p.as_str());
            p.insert(&key, &value);
            map.insert(key.clone(), value.clone());
            prop_assert_eq!(parse_properties(p.as_str()), map.clone());
            p.remove(&key);
            map.remove(&key);
            prop_assert_eq!(parse_properties(p.as_str()), map);
        }
    }
}
