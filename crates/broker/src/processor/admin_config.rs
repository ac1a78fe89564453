//! GET_BROKER_CONFIG (26) and UPDATE_BROKER_CONFIG (25): the effective configuration as Java
//! properties text with a `version` header, and live updates of the keys `live::LIVE_KEYS`
//! lists (see `live` for what is refused and why). A changed `brokerPermission` bumps the
//! topic table's version and re-registers with the NameServers before answering, as Java does.

use std::sync::Arc;

use apogee_protocol::header::admin::GetBrokerConfigResponseHeader;
use apogee_protocol::{RemotingCommand, RequestCode};
use apogee_remoting::Connection;

use super::{Handler, blocking, success};
use crate::BrokerError;
use crate::live::ConfigService;
use crate::manager::topic_config::TopicConfigs;
use crate::service::register::Registration;

/// The broker-config family.
pub struct ConfigAdminProcessor {
    pub config: Arc<ConfigService>,
    pub topics: TopicConfigs,
    pub registration: Registration,
}

impl Handler for ConfigAdminProcessor {
    const CODES: &'static [RequestCode] = &[
        RequestCode::GET_BROKER_CONFIG,
        RequestCode::UPDATE_BROKER_CONFIG,
    ];

    async fn handle(
        &self,
        connection: Connection,
        request: &RemotingCommand,
    ) -> Result<RemotingCommand, BrokerError> {
        if request.request_code() == RequestCode::GET_BROKER_CONFIG {
            let (text, version) = self.config.properties()?;
            let version = serde_json::to_string(&version)
                .map_err(|e| BrokerError::SystemError(e.to_string()))?;
            return Ok(success(request)
                .with_header(&GetBrokerConfigResponseHeader { version })
                .with_body(text.into_bytes()));
        }
        let text = String::from_utf8_lossy(&request.body);
        tracing::info!(caller = %connection.peer(), request = %text.trim(), "update broker config");
        // The accepted change is written to broker.properties: a blocking thread does it.
        let (service, owned) = (Arc::clone(&self.config), text.into_owned());
        let applied = blocking(move || service.update(&owned))
            .await?
            .inspect_err(|e| {
                tracing::warn!(caller = %connection.peer(), error = %e, "broker config update refused");
            })?;
        if applied.permission_changed {
            self.topics.touch()?;
            self.topics.saved().await?;
            self.registration.register_all().await;
        }
        Ok(success(request))
    }
}
