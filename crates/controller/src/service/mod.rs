//! The controller's remoting front end: RocketMQ 5's controller requests (904, 1001–1006,
//! 1009–1013) and the controllers' raft messages (7101–7103) on one port. Leader-only requests
//! on a follower get CONTROLLER_NOT_LEADER (2007); every refusal carries RocketMQ's code.

mod admin;
mod broker;
pub(crate) mod core;

use std::sync::Arc;

use apogee_protocol::{RemotingCommand, RequestCode, ResponseCode};
use apogee_remoting::{BoxFuture, Connection, Dispatcher, RequestProcessor};

use self::core::{Core, refusal};
use crate::decide::Refusal;

/// Every code this front end serves.
pub const CODES: &[RequestCode] = &[
    RequestCode::BROKER_HEARTBEAT,
    RequestCode::CONTROLLER_ALTER_SYNC_STATE_SET,
    RequestCode::CONTROLLER_ELECT_MASTER,
    RequestCode::CONTROLLER_REGISTER_BROKER,
    RequestCode::CONTROLLER_GET_REPLICA_INFO,
    RequestCode::CONTROLLER_GET_METADATA_INFO,
    RequestCode::CONTROLLER_GET_SYNC_STATE_DATA,
    RequestCode::UPDATE_CONTROLLER_CONFIG,
    RequestCode::GET_CONTROLLER_CONFIG,
    RequestCode::CLEAN_BROKER_DATA,
    RequestCode::CONTROLLER_GET_NEXT_BROKER_ID,
    RequestCode::CONTROLLER_APPLY_BROKER_ID,
    RequestCode::APOGEE_RAFT_APPEND_ENTRIES,
    RequestCode::APOGEE_RAFT_VOTE,
    RequestCode::APOGEE_RAFT_INSTALL_SNAPSHOT,
];

struct ControllerProcessor(Arc<Core>);

/// Routes the controller's codes to `core`.
pub fn register(dispatcher: &mut Dispatcher, core: Arc<Core>) {
    dispatcher.register(CODES, Arc::new(ControllerProcessor(core)));
}

impl RequestProcessor for ControllerProcessor {
    fn process(
        &self,
        connection: Connection,
        request: RemotingCommand,
    ) -> BoxFuture<RemotingCommand> {
        let core = Arc::clone(&self.0);
        Box::pin(async move {
            match handle(&core, &connection, &request).await {
                Ok(response) => response,
                Err(r) => RemotingCommand::response_to(&request, r.code, Some(r.remark)),
            }
        })
    }
}

async fn handle(
    core: &Arc<Core>,
    connection: &Connection,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    use RequestCode as R;
    match request.request_code() {
        R::BROKER_HEARTBEAT => broker::heartbeat(core, connection, request),
        R::CONTROLLER_REGISTER_BROKER => broker::register(core, request).await,
        R::CONTROLLER_GET_REPLICA_INFO => broker::replica_info(core, request).await,
        R::CONTROLLER_GET_NEXT_BROKER_ID => broker::next_broker_id(core, request).await,
        R::CONTROLLER_APPLY_BROKER_ID => broker::apply_broker_id(core, request).await,
        R::CONTROLLER_ALTER_SYNC_STATE_SET => admin::alter_sync_state_set(core, request).await,
        R::CONTROLLER_ELECT_MASTER => admin::elect_master(core, request).await,
        R::CONTROLLER_GET_METADATA_INFO => Ok(admin::metadata(core, request)),
        R::CONTROLLER_GET_SYNC_STATE_DATA => admin::sync_state_data(core, request).await,
        R::GET_CONTROLLER_CONFIG => Ok(admin::config(core, request)),
        R::UPDATE_CONTROLLER_CONFIG => admin::update_config(core, request),
        R::CLEAN_BROKER_DATA => admin::clean_broker_data(core, request).await,
        _ => Ok(crate::raft::serve_raft_rpc(&core.raft, request).await),
    }
}

/// A header or body that does not decode.
fn bad_request(e: impl std::fmt::Display) -> Refusal {
    refusal(ResponseCode::SYSTEM_ERROR, e.to_string())
}

/// SUCCESS with no header and no body.
fn success(request: &RemotingCommand) -> RemotingCommand {
    RemotingCommand::response_to(request, ResponseCode::SUCCESS, None)
}
