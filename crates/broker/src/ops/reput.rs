//! A stored record stored again elsewhere: how delay-level and timer delivery, transaction
//! checks and commits move a message without changing what the consumer sees (same body,
//! flag, sys flag, born time and host, reconsume times; the properties given).

use std::net::SocketAddr;

use apogee_protocol::record::StoredRecord;
use apogee_store::MessageToStore;

/// `record` as a new message on `topic` / `queue_id` with `properties`.
pub fn copy_of(
    record: &StoredRecord,
    (topic, queue_id): (&str, i32),
    properties: String,
    store_host: SocketAddr,
) -> MessageToStore {
    MessageToStore {
        topic: topic.to_owned(),
        queue_id,
        flag: record.flag,
        sys_flag: record.sys_flag,
        born_timestamp: record.born_timestamp,
        born_host: record.born_host,
        store_host,
        reconsume_times: record.reconsume_times,
        prepared_transaction_offset: record.prepared_transaction_offset,
        body: record.body.clone(),
        properties,
    }
}
