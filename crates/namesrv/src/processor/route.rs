//! Route and topic requests: routes, cluster info, topic lists, topic delete/register,
//! wipe/add write permission.

use apogee_model::TopicSysFlag;
use apogee_protocol::body::from_json;
use apogee_protocol::body::route::TopicRouteData;
use apogee_protocol::fastjson::JsonStyle;
use apogee_protocol::header::namesrv::{
    AddWritePermOfBrokerResponseHeader, DeleteTopicFromNamesrvRequestHeader,
    GetRouteInfoRequestHeader, GetTopicsByClusterRequestHeader, RegisterTopicRequestHeader,
    WipeWritePermOfBrokerResponseHeader, WritePermOfBrokerRequestHeader,
};
use apogee_protocol::{RemotingCommand, RequestCode, version};
use apogee_remoting::Connection;

use super::{Handler, success};
use crate::NamesrvError;
use crate::config::LiveSettings;
use crate::kv_config::{KvConfig, ORDER_TOPIC_CONFIG};
use crate::route_table::{SharedRouteTable, WritePermOp};

/// What route requests need.
pub struct RouteProcessor {
    pub table: SharedRouteTable,
    pub kv: KvConfig,
    pub live: LiveSettings,
}

impl Handler for RouteProcessor {
    const CODES: &'static [RequestCode] = &[
        RequestCode::GET_ROUTEINFO_BY_TOPIC,
        RequestCode::GET_BROKER_CLUSTER_INFO,
        RequestCode::GET_ALL_TOPIC_LIST_FROM_NAMESERVER,
        RequestCode::GET_TOPICS_BY_CLUSTER,
        RequestCode::GET_SYSTEM_TOPIC_LIST_FROM_NS,
        RequestCode::GET_UNIT_TOPIC_LIST,
        RequestCode::GET_HAS_UNIT_SUB_TOPIC_LIST,
        RequestCode::GET_HAS_UNIT_SUB_UNUNIT_TOPIC_LIST,
        RequestCode::DELETE_TOPIC_IN_NAMESRV,
        RequestCode::REGISTER_TOPIC_IN_NAMESRV,
        RequestCode::WIPE_WRITE_PERM_OF_BROKER,
        RequestCode::ADD_WRITE_PERM_OF_BROKER,
    ];

    fn handle(
        &self,
        _connection: &Connection,
        request: &RemotingCommand,
    ) -> Result<RemotingCommand, NamesrvError> {
        let live = self.live.get();
        let json = |value: &dyn erased::Json| Ok(success(request).with_body(value.to_vec()));
        match request.request_code() {
            RequestCode::GET_ROUTEINFO_BY_TOPIC => self.route(request, live.order_message_enable),
            RequestCode::GET_BROKER_CLUSTER_INFO => {
                Ok(success(request).with_body(self.table.read().cluster_info().to_json()))
            }
            RequestCode::GET_ALL_TOPIC_LIST_FROM_NAMESERVER if live.enable_all_topic_list => {
                json(&self.table.read().all_topics())
            }
            RequestCode::GET_TOPICS_BY_CLUSTER if live.enable_topic_list => {
                let h: GetTopicsByClusterRequestHeader = request.header()?;
                json(&self.table.read().topics_of_cluster(&h.cluster))
            }
            RequestCode::GET_SYSTEM_TOPIC_LIST_FROM_NS => json(&self.table.read().system_topics()),
            RequestCode::GET_UNIT_TOPIC_LIST if live.enable_topic_list => {
                json(&self.table.read().topics_by_sys_flag(TopicSysFlag::is_unit))
            }
            RequestCode::GET_HAS_UNIT_SUB_TOPIC_LIST if live.enable_topic_list => json(
                &self
                    .table
                    .read()
                    .topics_by_sys_flag(TopicSysFlag::has_unit_sub),
            ),
            RequestCode::GET_HAS_UNIT_SUB_UNUNIT_TOPIC_LIST if live.enable_topic_list => json(
                &self
                    .table
                    .read()
                    .topics_by_sys_flag(|f| f.has_unit_sub() && !f.is_unit()),
            ),
            RequestCode::DELETE_TOPIC_IN_NAMESRV => {
                let h: DeleteTopicFromNamesrvRequestHeader = request.header()?;
                self.table
                    .write()
                    .delete_topic(&h.topic, h.cluster_name.as_deref());
                Ok(success(request))
            }
            RequestCode::REGISTER_TOPIC_IN_NAMESRV => {
                let h: RegisterTopicRequestHeader = request.header()?;
                let route: TopicRouteData = from_json("TopicRouteData", &request.body)?;
                let registered = self
                    .table
                    .write()
                    .register_topic(&h.topic, route.queue_datas);
                tracing::info!(topic = %h.topic, registered, "topic registered in namesrv");
                Ok(success(request))
            }
            RequestCode::WIPE_WRITE_PERM_OF_BROKER => {
                let h: WritePermOfBrokerRequestHeader = request.header()?;
                let wipe_topic_count = self
                    .table
                    .write()
                    .operate_write_perm(&h.broker_name, WritePermOp::Wipe);
                Ok(success(request)
                    .with_header(&WipeWritePermOfBrokerResponseHeader { wipe_topic_count }))
            }
            RequestCode::ADD_WRITE_PERM_OF_BROKER => {
                let h: WritePermOfBrokerRequestHeader = request.header()?;
                let add_topic_count = self
                    .table
                    .write()
                    .operate_write_perm(&h.broker_name, WritePermOp::Add);
                Ok(success(request)
                    .with_header(&AddWritePermOfBrokerResponseHeader { add_topic_count }))
            }
            _ => Err(NamesrvError::Disabled),
        }
    }
}

impl RouteProcessor {
    fn route(
        &self,
        request: &RemotingCommand,
        order_message_enable: bool,
    ) -> Result<RemotingCommand, NamesrvError> {
        let h: GetRouteInfoRequestHeader = request.header()?;
        let mut route = self
            .table
            .read()
            .route(&h.topic)
            .ok_or_else(|| NamesrvError::TopicNotExist(h.topic.clone()))?;
        if order_message_enable {
            route.order_topic_conf = self.kv.get(ORDER_TOPIC_CONFIG, &h.topic);
        }
        let standard =
            request.version >= version::V4_9_4 || h.accept_standard_json_only == Some(true);
        let style = if standard {
            JsonStyle::Standard
        } else {
            JsonStyle::Legacy
        };
        Ok(success(request).with_body(route.to_json(style)))
    }
}

/// Plain-JSON bodies behind one object-safe trait, so the match above stays one line per code.
mod erased {
    pub trait Json {
        fn to_vec(&self) -> Vec<u8>;
    }

    impl<T: serde::Serialize> Json for T {
        fn to_vec(&self) -> Vec<u8> {
            serde_json::to_vec(self).unwrap_or_default()
        }
    }
}
