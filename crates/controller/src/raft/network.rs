//! Raft messages between controllers, over the controllers' remoting port: APPEND_ENTRIES,
//! VOTE and INSTALL_SNAPSHOT (Apogee's codes 7101–7103) with openraft's own types as JSON
//! bodies. The answer's body is the JSON of `Result<response, RaftError>`.

use std::error::Error;

use apogee_protocol::header::EmptyHeader;
use apogee_protocol::{RemotingCommand, RequestCode, ResponseCode};
use apogee_remoting::{RemotingClient, RemotingError};
use openraft::BasicNode;
use openraft::error::{
    InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, Unreachable,
};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{NodeId, Raft, TypeConfig};

type RpcResult<T, E = openraft::error::Infallible> =
    Result<T, RPCError<NodeId, BasicNode, RaftError<NodeId, E>>>;

/// Opens connections to the other controllers (one pooled connection per peer).
#[derive(Clone)]
pub struct Network {
    client: RemotingClient,
}

impl Network {
    pub fn new(client: RemotingClient) -> Self {
        Self { client }
    }
}

/// One peer.
pub struct Peer {
    client: RemotingClient,
    target: NodeId,
    addr: String,
}

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = Peer;

    async fn new_client(&mut self, target: NodeId, node: &BasicNode) -> Peer {
        Peer {
            client: self.client.clone(),
            target,
            addr: node.addr.clone(),
        }
    }
}

/// Why a raft message could not be exchanged, as openraft wants to hear it.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Failure(String);

impl Peer {
    async fn call<Req, Resp, E>(
        &self,
        code: RequestCode,
        request: &Req,
        option: &RPCOption,
    ) -> RpcResult<Resp, E>
    where
        Req: Serialize,
        Resp: DeserializeOwned,
        E: Error + DeserializeOwned,
    {
        let body =
            serde_json::to_vec(request).map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
        let command = RemotingCommand::request(code, &EmptyHeader).with_body(body);
        let response = match self
            .client
            .invoke(&self.addr, command, option.soft_ttl())
            .await
        {
            Ok(r) => r,
            Err(e @ RemotingError::Connect { .. }) => {
                return Err(RPCError::Unreachable(Unreachable::new(&e)));
            }
            Err(e) => return Err(RPCError::Network(NetworkError::new(&e))),
        };
        if response.response_code() != ResponseCode::SUCCESS {
            let why = Failure(format!(
                "controller {} answered {}: {}",
                self.addr,
                response.response_code(),
                response.remark.unwrap_or_default()
            ));
            return Err(RPCError::Network(NetworkError::new(&why)));
        }
        let outcome: Result<Resp, RaftError<NodeId, E>> = serde_json::from_slice(&response.body)
            .map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
        outcome.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
    }
}

impl RaftNetwork<TypeConfig> for Peer {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> RpcResult<AppendEntriesResponse<NodeId>> {
        self.call(RequestCode::APOGEE_RAFT_APPEND_ENTRIES, &rpc, &option)
            .await
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> RpcResult<InstallSnapshotResponse<NodeId>, InstallSnapshotError> {
        self.call(RequestCode::APOGEE_RAFT_INSTALL_SNAPSHOT, &rpc, &option)
            .await
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        option: RPCOption,
    ) -> RpcResult<VoteResponse<NodeId>> {
        self.call(RequestCode::APOGEE_RAFT_VOTE, &rpc, &option)
            .await
    }
}

/// The receiving side: hands a raft message to the local node and encodes its answer.
pub async fn serve_raft_rpc(raft: &Raft, request: &RemotingCommand) -> RemotingCommand {
    fn answer<T: Serialize>(request: &RemotingCommand, outcome: &T) -> RemotingCommand {
        match serde_json::to_vec(outcome) {
            Ok(body) => {
                RemotingCommand::response_to(request, ResponseCode::SUCCESS, None).with_body(body)
            }
            Err(e) => RemotingCommand::response_to(
                request,
                ResponseCode::SYSTEM_ERROR,
                Some(format!("encoding the raft answer: {e}")),
            ),
        }
    }
    fn bad(request: &RemotingCommand, e: &serde_json::Error) -> RemotingCommand {
        RemotingCommand::response_to(
            request,
            ResponseCode::SYSTEM_ERROR,
            Some(format!("not a raft message: {e}")),
        )
    }
    match request.request_code() {
        RequestCode::APOGEE_RAFT_APPEND_ENTRIES => match serde_json::from_slice(&request.body) {
            Ok(rpc) => answer(request, &raft.append_entries(rpc).await),
            Err(e) => bad(request, &e),
        },
        RequestCode::APOGEE_RAFT_VOTE => match serde_json::from_slice(&request.body) {
            Ok(rpc) => answer(request, &raft.vote(rpc).await),
            Err(e) => bad(request, &e),
        },
        _ => match serde_json::from_slice(&request.body) {
            Ok(rpc) => answer(request, &raft.install_snapshot(rpc).await),
            Err(e) => bad(request, &e),
        },
    }
}
