//! GET_NAMESRV_CONFIG and UPDATE_NAMESRV_CONFIG (Java properties text, UTF-8).

use apogee_protocol::body::properties;
use apogee_protocol::{RemotingCommand, RequestCode};
use apogee_remoting::Connection;

use super::{Handler, success};
use crate::{NamesrvConfig, NamesrvError};

pub struct ConfigProcessor {
    pub config: NamesrvConfig,
}

impl Handler for ConfigProcessor {
    const CODES: &'static [RequestCode] = &[
        RequestCode::GET_NAMESRV_CONFIG,
        RequestCode::UPDATE_NAMESRV_CONFIG,
    ];

    fn handle(
        &self,
        connection: &Connection,
        request: &RemotingCommand,
    ) -> Result<RemotingCommand, NamesrvError> {
        if request.request_code() == RequestCode::GET_NAMESRV_CONFIG {
            let text = properties::render(&self.config.to_properties());
            return Ok(success(request).with_body(text.into_bytes()));
        }
        let text = std::str::from_utf8(&request.body).map_err(|_| {
            NamesrvError::BadConfigUpdate("string2Properties error: body is not UTF-8".into())
        })?;
        let props = properties::parse(text).map_err(|line| {
            NamesrvError::BadConfigUpdate(format!("string2Properties error: {line:?}"))
        })?;
        self.config.update_from_properties(&props)?;
        tracing::info!(peer = %connection.peer(), ?props, "namesrv config updated");
        Ok(success(request))
    }
}
