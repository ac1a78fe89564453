//! Subscription-group administration (REMOTING.md §2.2, §3.8):
//! UPDATE_AND_CREATE_SUBSCRIPTIONGROUP (200, body = SubscriptionGroupConfig JSON),
//! GET_ALL_SUBSCRIPTIONGROUP_CONFIG (201), DELETE_SUBSCRIPTIONGROUP (207, optionally with the
//! group's offsets).

use apogee_model::GroupName;
use apogee_protocol::body::admin::{SubscriptionGroupConfig, to_java_json};
use apogee_protocol::body::from_json;
use apogee_protocol::header::admin::DeleteSubscriptionGroupRequestHeader;
use apogee_protocol::{RemotingCommand, RequestCode};
use apogee_remoting::Connection;

use super::{Handler, success};
use crate::BrokerError;
use crate::manager::consumer_offset::ConsumerOffsets;
use crate::manager::subscription_group::SubscriptionGroups;

/// The subscription-group administration family.
pub struct GroupAdminProcessor {
    pub groups: SubscriptionGroups,
    pub offsets: ConsumerOffsets,
}

impl Handler for GroupAdminProcessor {
    const CODES: &'static [RequestCode] = &[
        RequestCode::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP,
        RequestCode::GET_ALL_SUBSCRIPTIONGROUP_CONFIG,
        RequestCode::DELETE_SUBSCRIPTIONGROUP,
    ];

    async fn handle(
        &self,
        connection: Connection,
        request: &RemotingCommand,
    ) -> Result<RemotingCommand, BrokerError> {
        match request.request_code() {
            RequestCode::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP => {
                let config: SubscriptionGroupConfig =
                    from_json("SubscriptionGroupConfig", &request.body)?;
                GroupName::new(config.group_name.as_str())
                    .map_err(|e| BrokerError::SystemError(e.to_string()))?;
                tracing::info!(group = config.group_name, caller = %connection.peer(), "create or update subscription group");
                self.groups.put(config)?;
                Ok(success(request))
            }
            RequestCode::DELETE_SUBSCRIPTIONGROUP => {
                let h: DeleteSubscriptionGroupRequestHeader = request.header()?;
                let clean_offset = h.clean_offset.unwrap_or(false);
                let existed = self.groups.delete(&h.group_name)?;
                if clean_offset {
                    self.offsets.remove_group(&h.group_name);
                }
                tracing::info!(group = h.group_name, existed, clean_offset, caller = %connection.peer(), "delete subscription group");
                Ok(success(request))
            }
            _ => Ok(success(request).with_body(to_java_json(&self.groups.snapshot()))),
        }
    }
}
