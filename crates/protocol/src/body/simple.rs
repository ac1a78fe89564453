//! Small bodies: `TopicList` and `KVTable`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `{"brokerAddr":"…","topicList":["t1","t2"]}`; `brokerAddr` omitted when absent.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicList {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broker_addr: Option<String>,
    #[serde(default)]
    pub topic_list: Vec<String>,
}

/// `{"table":{"k":"v"}}`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct KvTable {
    #[serde(default)]
    pub table: BTreeMap<String, String>,
}
