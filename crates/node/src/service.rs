//! The node's gRPC service: Raft traffic, proposals, reads, cluster state, status, faults.

use std::sync::Arc;

use tessera_model::Error;
use tessera_proto::node::v1::node_server::Node;
use tessera_proto::node::v1::{
    call_reply, call_request, cluster_state_reply, propose_reply, raft_reply, read_reply, CallReply, CallRequest,
    ClusterStateReply, ClusterStateRequest, Failure, FailureKind, FaultReply, FaultRequest, ProposeReply,
    ProposeRequest, RaftReply, RaftRequest, ReadReply, ReadRequest, StatusReply, StatusRequest,
};
use tessera_replication::{Command, Failure as GroupFailure, MetaCommand, ReadOp, ReadResult, Registry, META_GROUP};
use tokio::sync::watch;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

/// How long CreateTable waits for the new table's shard groups to elect leaders.
const TABLE_READY_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

#[derive(Clone)]
pub struct NodeService {
    pub registry: Arc<Registry>,
    pub az: String,
    pub shards_per_table: u32,
    /// Turns true when the server stops: open `Calls` streams end then.
    pub shutdown: watch::Receiver<bool>,
}

/// A group-level failure as it crosses the wire: typed, never a bare gRPC error. A leader hint
/// carries the leader's address when the cluster state knows it.
pub async fn to_proto_with_addr(registry: &Registry, f: GroupFailure) -> Failure {
    let hint = match &f {
        GroupFailure::NotLeader(Some(h)) => Some(*h),
        _ => None,
    };
    let mut failure = to_proto(f);
    if let Some(h) = hint {
        if let Some(node) = registry.cluster_state().await.nodes.get(&h) {
            failure.leader_addr = node.addr.clone();
        }
    }
    failure
}

pub fn to_proto(f: GroupFailure) -> Failure {
    match f {
        GroupFailure::Dynamo(e) => Failure {
            kind: FailureKind::Dynamo as i32,
            message: e.message.clone(),
            leader_hint: 0,
            detail: serde_json::to_vec(&e).unwrap_or_default(),
            leader_addr: String::new(),
        },
        GroupFailure::NotLeader(hint) => Failure {
            kind: FailureKind::NotLeader as i32,
            message: "not the leader".into(),
            leader_hint: hint.unwrap_or(0),
            detail: Vec::new(),
            leader_addr: String::new(),
        },
        GroupFailure::NoSuchGroup => Failure {
            kind: FailureKind::NoSuchGroup as i32,
            message: "no replica of this group here".into(),
            leader_hint: 0,
            detail: Vec::new(),
            leader_addr: String::new(),
        },
        GroupFailure::Unavailable(m) => Failure {
            kind: FailureKind::Unavailable as i32,
            message: m,
            ..Default::default()
        },
        GroupFailure::Raft(detail) => Failure {
            kind: FailureKind::Raft as i32,
            message: "raft error".into(),
            detail,
            ..Default::default()
        },
    }
}

fn bad_request(e: impl std::fmt::Display) -> GroupFailure {
    GroupFailure::Unavailable(format!("malformed request: {e}"))
}

impl NodeService {
    async fn do_propose(&self, req: ProposeRequest) -> Result<Vec<u8>, GroupFailure> {
        let bytes = req.command.len();
        let mut command: Command = tessera_model::wire::decode(&req.command).map_err(bad_request)?;
        // Routers leave the shard count to the nodes' configuration.
        if let Command::Meta(MetaCommand::CreateTable { shards, .. }) = &mut command {
            if *shards == 0 {
                *shards = self.shards_per_table;
            }
        }
        let creating = match &command {
            Command::Meta(MetaCommand::CreateTable { meta, .. }) => Some(meta.name.clone()),
            _ => None,
        };
        let result = self.registry.propose(req.group_id, command, bytes).await?;
        if let Some(table) = creating {
            self.wait_for_leaders(&table).await;
        }
        tessera_model::wire::encode(&result).map_err(GroupFailure::Unavailable)
    }

    /// Lets CreateTable answer once the new table's shard groups hosted here have elected
    /// leaders (bounded), so the first requests to the table do not wait for elections.
    async fn wait_for_leaders(&self, table: &str) {
        let deadline = tokio::time::Instant::now() + TABLE_READY_WAIT;
        loop {
            let state = self.registry.cluster_state().await;
            let groups: Vec<u64> = state
                .tables
                .get(table)
                .map(|t| t.shards.iter().map(|s| s.group).collect())
                .unwrap_or_default();
            let mut ready = true;
            for g in groups {
                if self.registry.group(g).await.is_some() && self.registry.leader_of(g).await.is_none() {
                    ready = false;
                }
            }
            if ready || tokio::time::Instant::now() >= deadline {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    async fn do_read(&self, req: ReadRequest) -> Result<Vec<u8>, GroupFailure> {
        let op: ReadOp = tessera_model::wire::decode(&req.read).map_err(bad_request)?;
        if req.linearizable {
            self.registry.read_barrier(req.group_id).await?;
        }
        let shard = self.registry.shard(req.group_id).await?;
        // sled reads are quick and never wait on the network; run them inline.
        let result = match &op {
            ReadOp::Get { table, op } => shard.get(table, op).map(ReadResult::Item),
            ReadOp::Query { table, op } => shard.query(table, op).map(ReadResult::Page),
            ReadOp::Scan {
                table,
                op,
                lo,
                hi,
                byte_budget,
            } => shard.scan(table, op, *lo, *hi, *byte_budget).map(ReadResult::Page),
        }
        .map_err(GroupFailure::Dynamo)?;
        tessera_model::wire::encode(&result).map_err(GroupFailure::Unavailable)
    }

    async fn raft_reply(&self, r: RaftRequest) -> RaftReply {
        let result = match self
            .registry
            .handle_raft(r.group_id, r.from_node, r.kind, &r.payload)
            .await
        {
            Ok(bytes) => raft_reply::Result::Ok(bytes),
            Err(f) => raft_reply::Result::Failure(to_proto(f)),
        };
        RaftReply { result: Some(result) }
    }

    async fn propose_reply(&self, r: ProposeRequest) -> ProposeReply {
        let result = match self.do_propose(r).await {
            Ok(bytes) => propose_reply::Result::Ok(bytes),
            Err(f) => propose_reply::Result::Failure(to_proto_with_addr(&self.registry, f).await),
        };
        ProposeReply { result: Some(result) }
    }

    async fn read_reply(&self, r: ReadRequest) -> ReadReply {
        let result = match self.do_read(r).await {
            Ok(bytes) => read_reply::Result::Ok(bytes),
            Err(f) => read_reply::Result::Failure(to_proto_with_addr(&self.registry, f).await),
        };
        ReadReply { result: Some(result) }
    }

    async fn call_reply(&self, call: call_request::Call) -> call_reply::Reply {
        match call {
            call_request::Call::Raft(r) => call_reply::Reply::Raft(self.raft_reply(r).await),
            call_request::Call::Propose(r) => call_reply::Reply::Propose(self.propose_reply(r).await),
            call_request::Call::Read(r) => call_reply::Reply::Read(self.read_reply(r).await),
        }
    }
}

#[tonic::async_trait]
impl Node for NodeService {
    async fn raft(&self, request: Request<RaftRequest>) -> Result<Response<RaftReply>, Status> {
        Ok(Response::new(self.raft_reply(request.into_inner()).await))
    }

    async fn propose(&self, request: Request<ProposeRequest>) -> Result<Response<ProposeReply>, Status> {
        Ok(Response::new(self.propose_reply(request.into_inner()).await))
    }

    async fn read(&self, request: Request<ReadRequest>) -> Result<Response<ReadReply>, Status> {
        Ok(Response::new(self.read_reply(request.into_inner()).await))
    }

    type CallsStream = ReceiverStream<Result<CallReply, Status>>;

    async fn calls(&self, request: Request<Streaming<CallRequest>>) -> Result<Response<Self::CallsStream>, Status> {
        let service = self.clone();
        let replies = tessera_replication::mux::serve(
            request.into_inner(),
            move |call| {
                let service = service.clone();
                async move { service.call_reply(call).await }
            },
            self.shutdown.clone(),
        );
        Ok(Response::new(replies))
    }

    async fn cluster_state(
        &self,
        request: Request<ClusterStateRequest>,
    ) -> Result<Response<ClusterStateReply>, Status> {
        if request.into_inner().linearizable {
            if let Err(f) = self.registry.read_barrier(META_GROUP).await {
                let reply = ClusterStateReply {
                    result: Some(cluster_state_reply::Result::Failure(
                        to_proto_with_addr(&self.registry, f).await,
                    )),
                };
                return Ok(Response::new(reply));
            }
        }
        let state = self.registry.cluster_state().await;
        let bytes = tessera_model::wire::encode(&state).map_err(Status::internal)?;
        Ok(Response::new(ClusterStateReply {
            result: Some(cluster_state_reply::Result::State(bytes)),
        }))
    }

    async fn status(&self, request: Request<StatusRequest>) -> Result<Response<StatusReply>, Status> {
        let status = serde_json::json!({
            "node_id": self.registry.node_id(),
            "az": self.az,
            "groups": self.registry.status(request.into_inner().digests).await,
        });
        Ok(Response::new(StatusReply {
            json: serde_json::to_vec(&status).unwrap_or_default(),
        }))
    }

    async fn fault(&self, request: Request<FaultRequest>) -> Result<Response<FaultReply>, Status> {
        if !self.registry.fault_injection_enabled() {
            return Err(Status::permission_denied("fault injection is disabled on this node"));
        }
        let request = request.into_inner();
        let blocked = request.blocked_nodes;
        tracing::warn!(
            ?blocked,
            delay_ms = request.delay_ms,
            "fault injection: dropping / delaying raft traffic"
        );
        self.registry.set_blocked(blocked);
        self.registry
            .set_delay(std::time::Duration::from_millis(request.delay_ms));
        Ok(Response::new(FaultReply {}))
    }
}

/// Errors of the node's own start-up, as model errors.
pub fn startup_error(what: &str, e: impl std::fmt::Display) -> Error {
    Error::internal(format!("{what}: {e}"))
}
