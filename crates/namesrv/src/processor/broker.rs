//! Broker-facing requests: REGISTER_BROKER, UNREGISTER_BROKER, BROKER_HEARTBEAT,
//! QUERY_DATA_VERSION, GET_BROKER_MEMBER_GROUP.

use apogee_model::{BrokerName, DataVersion};
use apogee_protocol::body::register::{RegisterBrokerBody, TopicConfigSerializeWrapper};
use apogee_protocol::body::route::GetBrokerMemberGroupResponseBody;
use apogee_protocol::body::{KvTable, from_json};
use apogee_protocol::header::namesrv::{
    BrokerHeartbeatRequestHeader, GetBrokerMemberGroupRequestHeader, QueryDataVersionRequestHeader,
    QueryDataVersionResponseHeader, RegisterBrokerRequestHeader, RegisterBrokerResponseHeader,
    UnRegisterBrokerRequestHeader,
};
use apogee_protocol::{FrameLimits, RemotingCommand, RequestCode, version};
use apogee_remoting::Connection;
use apogee_runtime::Clock;

use super::{Handler, success};

/// The error a refused registration answers with.
fn refused(refusal: RegisterRefusal, name: &BrokerName, addr: &str, id: i64) -> NamesrvError {
    match refusal {
        RegisterRefusal::IdTaken { holder } => {
            tracing::warn!(broker = %name, %addr, id, %holder, "registration refused: the id is held by a live broker");
            NamesrvError::BrokerIdTaken {
                broker: name.to_string(),
                id,
                holder,
            }
        }
        RegisterRefusal::NotRegisteredYet => NamesrvError::RegisterFailed,
    }
}
use crate::NamesrvError;
use crate::config::LiveSettings;
use crate::kv_config::{KvConfig, ORDER_TOPIC_CONFIG};
use crate::route_table::{BrokerAddrInfo, RegisterRefusal, Registration, SharedRouteTable};

/// What broker requests need.
pub struct BrokerProcessor {
    pub table: SharedRouteTable,
    pub kv: KvConfig,
    pub live: LiveSettings,
    pub clock: std::sync::Arc<dyn Clock>,
    pub limits: FrameLimits,
}

impl Handler for BrokerProcessor {
    const CODES: &'static [RequestCode] = &[
        RequestCode::REGISTER_BROKER,
        RequestCode::UNREGISTER_BROKER,
        RequestCode::BROKER_HEARTBEAT,
        RequestCode::QUERY_DATA_VERSION,
        RequestCode::GET_BROKER_MEMBER_GROUP,
    ];

    fn handle(
        &self,
        connection: &Connection,
        request: &RemotingCommand,
    ) -> Result<RemotingCommand, NamesrvError> {
        match request.request_code() {
            RequestCode::REGISTER_BROKER => self.register(connection, request),
            RequestCode::UNREGISTER_BROKER => {
                let h: UnRegisterBrokerRequestHeader = request.header()?;
                self.table.write().unregister_broker(
                    &h.cluster_name,
                    &h.broker_addr,
                    &h.broker_name,
                );
                tracing::info!(broker = %h.broker_name, addr = %h.broker_addr, id = h.broker_id, "broker unregistered");
                Ok(success(request))
            }
            RequestCode::BROKER_HEARTBEAT => {
                let h: BrokerHeartbeatRequestHeader = request.header()?;
                let key = BrokerAddrInfo {
                    cluster: h.cluster_name,
                    addr: h.broker_addr,
                };
                self.table.write().touch(&key, self.clock.now_ms());
                Ok(success(request))
            }
            RequestCode::QUERY_DATA_VERSION => self.query_data_version(request),
            _ => {
                let h: GetBrokerMemberGroupRequestHeader = request.header()?;
                let group = self
                    .table
                    .read()
                    .member_group(&h.cluster_name, &h.broker_name);
                let body = GetBrokerMemberGroupResponseBody {
                    broker_member_group: group,
                };
                Ok(success(request).with_body(body.to_json()))
            }
        }
    }
}

impl BrokerProcessor {
    fn register(
        &self,
        connection: &Connection,
        request: &RemotingCommand,
    ) -> Result<RemotingCommand, NamesrvError> {
        let h: RegisterBrokerRequestHeader = request.header()?;
        if let Some(expected) = h.body_crc32.filter(|crc| *crc != 0) {
            let actual = i32::try_from(crc32fast::hash(&request.body) & 0x7FFF_FFFF).unwrap_or(0);
            if actual != expected {
                return Err(NamesrvError::CrcMismatch);
            }
        }
        let (topics, filter_servers) = if request.version >= version::V3_0_11 {
            let body = RegisterBrokerBody::decode(
                &request.body,
                h.compressed.unwrap_or(false),
                &self.limits,
            )?;
            (
                body.topic_config_serialize_wrapper,
                Some(body.filter_server_list),
            )
        } else if request.body.is_empty() {
            (TopicConfigSerializeWrapper::default(), None)
        } else {
            (
                from_json::<TopicConfigSerializeWrapper>(
                    "TopicConfigSerializeWrapper",
                    &request.body,
                )?,
                None,
            )
        };
        let registration = Registration {
            cluster: h.cluster_name,
            broker_addr: h.broker_addr,
            broker_name: h.broker_name,
            broker_id: h.broker_id,
            ha_server_addr: h.ha_server_addr,
            timeout_ms: h.heartbeat_timeout_millis,
            enable_acting_master: h.enable_acting_master,
            topics: Some(topics),
            filter_servers,
            connection: Some(connection.id()),
        };
        let (name, addr, id) = (
            registration.broker_name.clone(),
            registration.broker_addr.clone(),
            registration.broker_id,
        );
        let live = self.live.get();
        let outcome = self
            .table
            .write()
            .register_broker(
                registration,
                live.delete_topic_with_broker_registration,
                self.clock.now_ms(),
            )
            .map_err(|refusal| refused(refusal, &name, &addr, id))?;
        tracing::debug!(broker = %name, %addr, id, "broker registered");
        let header = RegisterBrokerResponseHeader {
            ha_server_addr: outcome.ha_server_addr,
            master_addr: outcome.master_addr,
        };
        let mut response = success(request).with_header(&header);
        let order_config = live
            .return_order_topic_config_to_broker
            .then(|| self.kv.list(ORDER_TOPIC_CONFIG))
            .flatten();
        if let Some(table) = order_config {
            response =
                response.with_body(serde_json::to_vec(&KvTable { table }).unwrap_or_default());
        }
        Ok(response)
    }

    fn query_data_version(
        &self,
        request: &RemotingCommand,
    ) -> Result<RemotingCommand, NamesrvError> {
        let h: QueryDataVersionRequestHeader = request.header()?;
        let version: DataVersion = from_json("DataVersion", &request.body)?;
        let key = BrokerAddrInfo {
            cluster: h.cluster_name,
            addr: h.broker_addr,
        };
        let mut table = self.table.write();
        let changed = table.is_broker_topic_config_changed(&key, Some(&version));
        table.touch(&key, self.clock.now_ms());
        let stored = table.broker_data_version(&key);
        drop(table);
        let mut response =
            success(request).with_header(&QueryDataVersionResponseHeader { changed });
        if let Some(stored) = stored {
            response = response.with_body(serde_json::to_vec(&stored).unwrap_or_default());
        }
        Ok(response)
    }
}
