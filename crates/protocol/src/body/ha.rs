//! GET_BROKER_HA_STATUS (907) response: `HARuntimeInfo` (docs/ha-facts.md §5.1).

use serde::{Deserialize, Serialize};

/// Replication as one broker sees it: a master lists its slaves, a slave its master.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct HaRuntimeInfo {
    pub master: bool,
    pub master_commit_log_max_offset: i64,
    pub in_sync_slave_nums: i32,
    pub ha_connection_info: Vec<HaConnectionInfo>,
    pub ha_client_runtime_info: HaClientRuntimeInfo,
}

/// One slave connection on a master (`HAConnectionRuntimeInfo`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct HaConnectionInfo {
    /// The slave's address ("ip:port").
    pub addr: String,
    /// What the slave last reported (−1 before its first report).
    pub slave_ack_offset: i64,
    /// Bytes the slave is behind.
    pub diff: i64,
    pub in_sync: bool,
    pub transferred_byte_in_second: i64,
    /// The next offset the master sends (−1 before the first report).
    pub transfer_from_where: i64,
}

/// The slave's side (`HAClientRuntimeInfo`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct HaClientRuntimeInfo {
    /// The master's HA address.
    pub master_addr: String,
    pub transferred_byte_in_second: i64,
    /// This slave's CommitLog end.
    pub max_offset: i64,
    pub last_read_timestamp: i64,
    pub last_write_timestamp: i64,
    pub master_flush_offset: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_java_json_should_read_every_field() {
        let json = br#"{"haClientRuntimeInfo":{"lastReadTimestamp":5,"lastWriteTimestamp":6,"masterAddr":"10.0.0.1:10912","masterFlushOffset":0,"maxOffset":42,"transferredByteInSecond":7},"haConnectionInfo":[{"addr":"10.0.0.2:5555","diff":0,"inSync":true,"slaveAckOffset":42,"transferFromWhere":42,"transferredByteInSecond":0}],"inSyncSlaveNums":1,"master":true,"masterCommitLogMaxOffset":42}"#;
        let info: HaRuntimeInfo = crate::body::from_json("ha", json).expect("parses");
        assert!(info.master);
        assert_eq!(info.in_sync_slave_nums, 1);
        assert_eq!(info.ha_connection_info[0].addr, "10.0.0.2:5555");
        assert!(info.ha_connection_info[0].in_sync);
        assert_eq!(info.ha_client_runtime_info.max_offset, 42);
    }
}
