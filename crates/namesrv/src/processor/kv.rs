//! KV config requests: PUT/GET/DELETE_KV_CONFIG and GET_KVLIST_BY_NAMESPACE.

use apogee_protocol::body::KvTable;
use apogee_protocol::header::namesrv::{
    GetKvConfigResponseHeader, GetKvListByNamespaceRequestHeader, KvConfigKeyHeader,
    PutKvConfigRequestHeader,
};
use apogee_protocol::{RemotingCommand, RequestCode};
use apogee_remoting::Connection;

use super::{Handler, success};
use crate::NamesrvError;
use crate::kv_config::KvConfig;

pub struct KvProcessor {
    pub kv: KvConfig,
}

impl Handler for KvProcessor {
    const CODES: &'static [RequestCode] = &[
        RequestCode::PUT_KV_CONFIG,
        RequestCode::GET_KV_CONFIG,
        RequestCode::DELETE_KV_CONFIG,
        RequestCode::GET_KVLIST_BY_NAMESPACE,
    ];

    fn handle(
        &self,
        _connection: &Connection,
        request: &RemotingCommand,
    ) -> Result<RemotingCommand, NamesrvError> {
        match request.request_code() {
            RequestCode::PUT_KV_CONFIG => {
                let h: PutKvConfigRequestHeader = request.header()?;
                self.kv.put(&h.namespace, &h.key, &h.value)?;
                Ok(success(request))
            }
            RequestCode::GET_KV_CONFIG => {
                let h: KvConfigKeyHeader = request.header()?;
                let value = self
                    .kv
                    .get(&h.namespace, &h.key)
                    .ok_or(NamesrvError::KvNotFound {
                        namespace: h.namespace,
                        key: h.key,
                    })?;
                Ok(success(request).with_header(&GetKvConfigResponseHeader { value: Some(value) }))
            }
            RequestCode::DELETE_KV_CONFIG => {
                let h: KvConfigKeyHeader = request.header()?;
                self.kv.delete(&h.namespace, &h.key)?;
                Ok(success(request))
            }
            _ => {
                let h: GetKvListByNamespaceRequestHeader = request.header()?;
                let table = self
                    .kv
                    .list(&h.namespace)
                    .ok_or(NamesrvError::KvNamespaceNotFound(h.namespace))?;
                Ok(success(request)
                    .with_body(serde_json::to_vec(&KvTable { table }).unwrap_or_default()))
            }
        }
    }
}
