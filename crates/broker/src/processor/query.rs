//! QUERY_MESSAGE (12, by key through the index) and VIEW_MESSAGE_BY_ID (33, by CommitLog
//! offset), REMOTING.md §3.3. Both answer with stored records, byte for byte.

use std::sync::Arc;

use apogee_protocol::header::consumer::{
    QueryMessageRequestHeader, QueryMessageResponseHeader, ViewMessageRequestHeader,
};
use apogee_protocol::record::find_property;
use apogee_protocol::{RemotingCommand, RequestCode, ResponseCode};
use apogee_remoting::Connection;
use apogee_store::RecordReader;
use bytes::BytesMut;

use super::{Handler, blocking, success};
use crate::BrokerError;

/// `defaultQueryMaxNum`, used for UNIQ_KEY lookups.
const UNIQUE_KEY_QUERY_MAX: usize = 32;
/// Upper bound on `maxNum` for key lookups.
const KEY_QUERY_MAX: usize = 64;

/// The query family.
pub struct QueryProcessor {
    pub store: Arc<dyn RecordReader>,
}

impl Handler for QueryProcessor {
    const CODES: &'static [RequestCode] =
        &[RequestCode::QUERY_MESSAGE, RequestCode::VIEW_MESSAGE_BY_ID];

    async fn handle(
        &self,
        _connection: Connection,
        request: &RemotingCommand,
    ) -> Result<RemotingCommand, BrokerError> {
        // Both walk files that may be on disk (index chains, old records): a blocking thread
        // does it, never a network worker.
        let store = Arc::clone(&self.store);
        if request.request_code() == RequestCode::VIEW_MESSAGE_BY_ID {
            let h: ViewMessageRequestHeader = request.header()?;
            let bytes = blocking(move || view(&*store, h.offset)).await??;
            return Ok(success(request).with_body(bytes));
        }
        let h: QueryMessageRequestHeader = request.header()?;
        let unique = request
            .ext_fields
            .get("_UNIQUE_KEY_QUERY")
            .is_some_and(|v| v == "true");
        let max = if unique {
            UNIQUE_KEY_QUERY_MAX
        } else {
            usize::try_from(h.max_num)
                .unwrap_or(0)
                .clamp(1, KEY_QUERY_MAX)
        };
        let body = blocking(move || query(&*store, &h, max)).await?;
        if body.is_empty() {
            return Err(BrokerError::QueryNotFound(
                "can not find message, maybe time range not correct".into(),
            ));
        }
        Ok(
            RemotingCommand::response_to(request, ResponseCode::SUCCESS, None)
                .with_header(&QueryMessageResponseHeader {
                    index_last_update_timestamp: 0,
                    index_last_update_phyoffset: self.store.indexed_offset(),
                })
                .with_body(body),
        )
    }
}

/// The record starting at `offset` (only a real one: see `MessageStore::lookup_record`).
fn view(store: &dyn RecordReader, offset: i64) -> Result<bytes::Bytes, BrokerError> {
    store
        .lookup_record(offset)
        .and_then(|r| store.record_bytes_at(offset, r.encoded_len()))
        .ok_or_else(|| {
            BrokerError::SystemError(format!("can not find message by the offset, {offset}"))
        })
}

/// The stored records of `h.topic` whose key or UNIQ_KEY is `h.key`, concatenated.
fn query(store: &dyn RecordReader, h: &QueryMessageRequestHeader, max: usize) -> bytes::Bytes {
    let mut body = BytesMut::new();
    for offset in store.query_by_key(&h.topic, &h.key, max, h.begin_timestamp, h.end_timestamp) {
        let Some(record) = store.record_at(offset) else {
            continue;
        };
        let props = std::str::from_utf8(&record.properties).unwrap_or("");
        let key_matches = find_property(props, "UNIQ_KEY") == Some(h.key.as_str())
            || find_property(props, "KEYS").is_some_and(|k| k.split(' ').any(|k| k == h.key));
        if record.topic_str() != h.topic || !key_matches {
            continue;
        }
        if let Some(bytes) = store.record_bytes_at(offset, record.encoded_len()) {
            body.extend_from_slice(&bytes);
        }
    }
    body.freeze()
}
