//! Many calls over one long-lived gRPC stream (`Node.Calls`) per calling process and node.
//!
//! Every unary gRPC call opens an HTTP/2 stream of its own: request headers, data, response
//! headers, data and trailers, each hpack-coded and mostly written by a syscall of its own,
//! and a task on the server. A Raft round of a group is ten such calls from its leader (data
//! and then the commit index to five followers), so on a busy node that framing cost more
//! CPU than the Raft work. Here a call is one data frame each way on a stream that stays
//! open, and calls queued at the same moment (other groups', other requests') leave in one
//! write.
//!
//! - [`Session`] (client): requests carry an id; a reader task hands each reply to the caller
//!   waiting for that id. When the stream ends or breaks, every waiting caller gets an error
//!   at once and the next call opens a new stream.
//! - [`serve`] (server): runs each request on a task of its own (bounded), so a slow call
//!   (a proposal waiting for its quorum) never holds up the ones behind it; replies leave in
//!   the order they finish. It ends its reply stream on shutdown, so a graceful stop of the
//!   server is not held open by streams that never end on their own.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tessera_proto::node::v1::node_client::NodeClient;
use tessera_proto::node::v1::{call_reply, call_request, CallReply, CallRequest};
use tokio::sync::{mpsc, oneshot, watch, Semaphore};
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Channel;
use tonic::{Status, Streaming};

/// Requests a session queues before callers wait for room (the stream's own flow control
/// holds them when the peer reads slowly).
const SESSION_QUEUE: usize = 1024;
/// Calls of one stream a server runs at once; it stops reading the stream (and HTTP/2 flow
/// control stops the caller) beyond that.
pub const SERVE_CALLS_MAX: usize = 4096;
/// Replies a server queues for its stream.
const REPLY_QUEUE: usize = 1024;

/// Why a call got no reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallError {
    /// The call never left this process (no stream could be opened, or it closed first): it
    /// certainly did not run.
    NotSent(String),
    /// It was sent (or queued to be) and no reply came: it may or may not have run.
    NoReply(String),
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::NotSent(m) => write!(f, "not sent: {m}"),
            CallError::NoReply(m) => write!(f, "no reply: {m}"),
        }
    }
}

#[derive(Default)]
struct Waiting {
    closed: bool,
    calls: HashMap<u64, oneshot::Sender<call_reply::Reply>>,
}

/// One open `Calls` stream to a node (see the module docs).
pub struct Session {
    requests: mpsc::Sender<CallRequest>,
    waiting: Arc<Mutex<Waiting>>,
    closed: Arc<AtomicBool>,
    next_id: AtomicU64,
}

impl Session {
    /// Opens a stream on `client` (within `timeout`) and starts its reply reader.
    pub async fn open(mut client: NodeClient<Channel>, timeout: Duration) -> Result<Arc<Session>, CallError> {
        let (requests, rx) = mpsc::channel(SESSION_QUEUE);
        let replies = tokio::time::timeout(timeout, client.calls(ReceiverStream::new(rx)))
            .await
            .map_err(|_| CallError::NotSent("timed out opening a call stream".into()))?
            .map_err(|status| CallError::NotSent(status.message().to_string()))?
            .into_inner();
        let session = Arc::new(Session {
            requests,
            waiting: Arc::new(Mutex::new(Waiting::default())),
            closed: Arc::new(AtomicBool::new(false)),
            next_id: AtomicU64::new(1),
        });
        tokio::spawn(read_replies(replies, session.waiting.clone(), session.closed.clone()));
        Ok(session)
    }

    /// False once the stream ended: callers open a new one.
    pub fn is_open(&self) -> bool {
        !self.closed.load(Ordering::Acquire) && !self.requests.is_closed()
    }

    /// Sends `call` and waits (up to `timeout`) for its reply. An error means no reply came:
    /// the call may or may not have run on the node.
    pub async fn call(&self, call: call_request::Call, timeout: Duration) -> Result<call_reply::Reply, CallError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        {
            let mut waiting = self
                .waiting
                .lock()
                .map_err(|_| CallError::NotSent("call stream poisoned".into()))?;
            // Checked under the lock the reader closes under: a call registered here is
            // either answered or failed by the reader, never left waiting.
            if waiting.closed {
                return Err(CallError::NotSent("the call stream closed".into()));
            }
            waiting.calls.insert(id, tx);
        }
        let deadline = tokio::time::Instant::now() + timeout;
        if timeout.is_zero() {
            // Out of time before it left (a slow open): not sending it keeps "not run" true.
            self.forget(id);
            return Err(CallError::NotSent("no time left to send".into()));
        }
        let request = CallRequest {
            id,
            call: Some(call),
            // Rounded up: the node never gives up before the caller does.
            timeout_ms: u64::try_from(timeout.as_micros().div_ceil(1000)).unwrap_or(u64::MAX),
        };
        let queued = tokio::time::timeout_at(deadline, self.requests.send(request)).await;
        let outcome = match queued {
            Ok(Ok(())) => match tokio::time::timeout_at(deadline, rx).await {
                Ok(Ok(reply)) => return Ok(reply),
                Ok(Err(_)) => CallError::NoReply("the call stream closed before the reply".into()),
                Err(_) => CallError::NoReply("timed out waiting for the reply".into()),
            },
            Ok(Err(_)) => CallError::NotSent("the call stream closed".into()),
            Err(_) => CallError::NotSent("timed out waiting to send".into()),
        };
        self.forget(id);
        Err(outcome)
    }

    fn forget(&self, id: u64) {
        if let Ok(mut waiting) = self.waiting.lock() {
            waiting.calls.remove(&id);
        }
    }
}

async fn read_replies(mut replies: Streaming<CallReply>, waiting: Arc<Mutex<Waiting>>, closed: Arc<AtomicBool>) {
    loop {
        match replies.message().await {
            Ok(Some(CallReply { id, reply })) => {
                let tx = waiting.lock().ok().and_then(|mut w| w.calls.remove(&id));
                // A reply without a body fails its caller (the sender is dropped).
                if let (Some(tx), Some(reply)) = (tx, reply) {
                    let _ = tx.send(reply);
                }
            }
            Ok(None) => break,
            Err(status) => {
                tracing::debug!(%status, "call stream broke");
                break;
            }
        }
    }
    closed.store(true, Ordering::Release);
    if let Ok(mut w) = waiting.lock() {
        w.closed = true;
        // Dropping the senders fails every caller still waiting.
        w.calls.clear();
    }
}

/// Serves one `Calls` stream: runs `handler` for every request (each on a task of its own,
/// at most [`SERVE_CALLS_MAX`] at once, each given up after the caller's timeout) and streams
/// the replies back until the caller ends its stream or `shutdown` turns true.
pub fn serve<H, F>(
    mut inbound: Streaming<CallRequest>,
    handler: H,
    mut shutdown: watch::Receiver<bool>,
) -> ReceiverStream<Result<CallReply, Status>>
where
    H: Fn(call_request::Call) -> F + Send + Sync + 'static,
    F: Future<Output = call_reply::Reply> + Send + 'static,
{
    let (tx, rx) = mpsc::channel(REPLY_QUEUE);
    let handler = Arc::new(handler);
    let permits = Arc::new(Semaphore::new(SERVE_CALLS_MAX));
    tokio::spawn(async move {
        loop {
            if *shutdown.borrow() {
                break;
            }
            let next = tokio::select! {
                m = inbound.message() => m,
                changed = shutdown.changed() => {
                    // A dropped sender is a server that is gone: stop as on shutdown.
                    if changed.is_err() {
                        break;
                    }
                    continue;
                }
            };
            let request = match next {
                Ok(Some(r)) => r,
                Ok(None) => break,
                Err(status) => {
                    tracing::debug!(%status, "inbound call stream broke");
                    break;
                }
            };
            let Some(call) = request.call else {
                // Nothing to run: the caller's reader fails the call when the reply has no body.
                let _ = tx
                    .send(Ok(CallReply {
                        id: request.id,
                        reply: None,
                    }))
                    .await;
                continue;
            };
            let Ok(permit) = permits.clone().acquire_owned().await else {
                break;
            };
            let tx = tx.clone();
            let handler = handler.clone();
            let limit = (request.timeout_ms > 0).then(|| Duration::from_millis(request.timeout_ms));
            tokio::spawn(async move {
                let reply = match limit {
                    Some(limit) => tokio::time::timeout(limit, handler(call)).await.ok(),
                    None => Some(handler(call).await),
                };
                // Past its deadline the caller stopped waiting: no reply, and the permit and
                // the stream (for a graceful stop) are released as a unary call's would be.
                if let Some(reply) = reply {
                    let _ = tx
                        .send(Ok(CallReply {
                            id: request.id,
                            reply: Some(reply),
                        }))
                        .await;
                }
                drop(permit);
            });
        }
    });
    ReceiverStream::new(rx)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use tessera_proto::node::v1::node_server::{Node, NodeServer};
    use tessera_proto::node::v1::*;
    use tonic::{Request, Response};

    /// Answers a Read with its payload; a payload's first byte is how long to wait first, in
    /// units of 10 ms (255: a minute, longer than any test waits).
    #[derive(Clone)]
    struct Echo {
        shutdown: watch::Receiver<bool>,
        /// Calls that reached the handler.
        received: Arc<AtomicU64>,
    }

    #[tonic::async_trait]
    impl Node for Echo {
        async fn raft(&self, _: Request<RaftRequest>) -> Result<Response<RaftReply>, Status> {
            Err(Status::unimplemented("test"))
        }
        async fn propose(&self, _: Request<ProposeRequest>) -> Result<Response<ProposeReply>, Status> {
            Err(Status::unimplemented("test"))
        }
        async fn read(&self, request: Request<ReadRequest>) -> Result<Response<ReadReply>, Status> {
            Ok(Response::new(ReadReply {
                result: Some(read_reply::Result::Ok(request.into_inner().read)),
            }))
        }
        async fn cluster_state(&self, _: Request<ClusterStateRequest>) -> Result<Response<ClusterStateReply>, Status> {
            Err(Status::unimplemented("test"))
        }
        async fn status(&self, _: Request<StatusRequest>) -> Result<Response<StatusReply>, Status> {
            Err(Status::unimplemented("test"))
        }
        async fn fault(&self, _: Request<FaultRequest>) -> Result<Response<FaultReply>, Status> {
            Err(Status::unimplemented("test"))
        }
        type CallsStream = ReceiverStream<Result<CallReply, Status>>;
        async fn calls(&self, request: Request<Streaming<CallRequest>>) -> Result<Response<Self::CallsStream>, Status> {
            let received = self.received.clone();
            let replies = serve(
                request.into_inner(),
                move |call| {
                    received.fetch_add(1, Ordering::SeqCst);
                    async move {
                        let call_request::Call::Read(r) = call else {
                            return call_reply::Reply::Read(ReadReply { result: None });
                        };
                        let wait = match r.read.first().copied().unwrap_or(0) {
                            255 => Duration::from_secs(60),
                            units => Duration::from_millis(10 * u64::from(units)),
                        };
                        tokio::time::sleep(wait).await;
                        call_reply::Reply::Read(ReadReply {
                            result: Some(read_reply::Result::Ok(r.read)),
                        })
                    }
                },
                self.shutdown.clone(),
            );
            Ok(Response::new(replies))
        }
    }

    struct Server {
        addr: String,
        stop: watch::Sender<bool>,
        done: tokio::task::JoinHandle<()>,
        received: Arc<AtomicU64>,
    }

    impl Server {
        /// Waits until `n` calls in all have reached the handler.
        async fn wait_received(&self, n: u64) {
            for _ in 0..500 {
                if self.received.load(Ordering::SeqCst) >= n {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            panic!("only {} calls reached the server", self.received.load(Ordering::SeqCst));
        }
    }

    async fn start(listener: tokio::net::TcpListener) -> Server {
        let addr = listener.local_addr().unwrap().to_string();
        let (stop, stopped) = watch::channel(false);
        let mut on_stop = stopped.clone();
        let received = Arc::new(AtomicU64::new(0));
        let service = NodeServer::new(Echo {
            shutdown: stopped,
            received: received.clone(),
        });
        let done = tokio::spawn(async move {
            tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming_shutdown(tonic::transport::server::TcpIncoming::from(listener), async move {
                    let _ = on_stop.wait_for(|s| *s).await;
                })
                .await
                .unwrap();
        });
        Server {
            addr,
            stop,
            done,
            received,
        }
    }

    fn read(payload: Vec<u8>) -> call_request::Call {
        call_request::Call::Read(ReadRequest {
            group_id: 1,
            read: payload,
            linearizable: false,
        })
    }

    fn payload_of(reply: call_reply::Reply) -> Vec<u8> {
        match reply {
            call_reply::Reply::Read(ReadReply {
                result: Some(read_reply::Result::Ok(b)),
            }) => b,
            other => panic!("unexpected reply {other:?}"),
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_calls_each_get_their_own_reply_in_any_order() {
        let server = start(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap()).await;
        let pool = crate::PeerPool::new(7);
        let pool = &pool;
        let addr = server.addr.as_str();
        // Earlier calls wait longer, so replies come back in the reverse order.
        let calls = (0u8..64).map(|i| async move {
            let payload = vec![(64 - i) / 4, i, 0xAB];
            let reply = pool
                .call(addr, read(payload.clone()), Duration::from_secs(5))
                .await
                .unwrap();
            assert_eq!(payload_of(reply), payload);
        });
        futures_join_all(calls).await;
        assert_eq!(pool.opened.load(Ordering::Relaxed), 1, "all calls shared one stream");
        let _ = server.stop.send(true);
        server.done.await.unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_stopping_server_finishes_its_calls_and_the_next_call_reopens() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = start(listener).await;
        let pool = crate::PeerPool::new(7);
        let addr = server.addr.clone();
        assert_eq!(
            payload_of(pool.call(&addr, read(vec![0]), Duration::from_secs(5)).await.unwrap()),
            vec![0]
        );
        // A call the server holds for 200 ms while it is told to stop: the graceful stop
        // finishes it (the stream ends after its reply), and the server goes away.
        let slow = {
            let pool = pool.clone();
            let addr = addr.clone();
            tokio::spawn(async move { pool.call(&addr, read(vec![20]), Duration::from_secs(5)).await })
        };
        server.wait_received(2).await;
        let _ = server.stop.send(true);
        tokio::time::timeout(Duration::from_secs(5), server.done)
            .await
            .expect("the server stopped although a call stream was open")
            .unwrap();
        assert_eq!(payload_of(slow.await.unwrap().unwrap()), vec![20]);
        // The reader sees the stream end (a call queued before that could still be lost).
        for _ in 0..100 {
            if pool.open_session(&addr).is_none() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(pool.open_session(&addr).is_none(), "the ended stream is dropped");
        // Nobody listens now: the call is certainly not sent.
        match pool.call(&addr, read(vec![1]), Duration::from_secs(2)).await {
            Err(CallError::NotSent(_)) => {}
            other => panic!("expected NotSent, got {other:?}"),
        }
        // A new server on the same port: the pool opens a new stream.
        let server = start(tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap()).await;
        let mut answered = None;
        for _ in 0..50 {
            match pool.call(&addr, read(vec![2]), Duration::from_secs(2)).await {
                Ok(reply) => {
                    answered = Some(payload_of(reply));
                    break;
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
        assert_eq!(answered, Some(vec![2]));
        let _ = server.stop.send(true);
        server.done.await.unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_call_past_its_timeout_gets_no_reply_and_is_forgotten() {
        let server = start(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap()).await;
        let pool = crate::PeerPool::new(7);
        // The stream is open first, so the short timeout is all the call's own.
        pool.call(&server.addr, read(vec![0]), Duration::from_secs(5))
            .await
            .unwrap();
        match pool.call(&server.addr, read(vec![25]), Duration::from_millis(50)).await {
            Err(CallError::NoReply(_)) => {}
            other => panic!("expected NoReply, got {other:?}"),
        }
        let session = pool.open_session(&server.addr).unwrap();
        assert!(session.waiting.lock().unwrap().calls.is_empty());
        // The stream keeps serving.
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(
            payload_of(
                pool.call(&server.addr, read(vec![3]), Duration::from_secs(5))
                    .await
                    .unwrap()
            ),
            vec![3]
        );
        let _ = server.stop.send(true);
        server.done.await.unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_large_call_goes_as_a_unary_call_of_its_own() {
        let server = start(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap()).await;
        let pool = crate::PeerPool::new(7);
        let large = vec![0u8; crate::network::STREAM_CALL_BYTES_MAX + 1];
        let reply = pool
            .call(&server.addr, read(large.clone()), Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(payload_of(reply), large);
        assert!(pool.sessions.lock().unwrap().is_empty(), "no stream was opened for it");
        let _ = server.stop.send(true);
        server.done.await.unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_server_gives_up_on_a_call_after_the_callers_timeout() {
        let server = start(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap()).await;
        let pool = crate::PeerPool::new(7);
        pool.call(&server.addr, read(vec![0]), Duration::from_secs(5))
            .await
            .unwrap();
        // The handler would take a minute; the caller waits 50 ms, and so does the server: the
        // graceful stop right after does not wait for the handler.
        let started = std::time::Instant::now();
        assert!(matches!(
            pool.call(&server.addr, read(vec![255]), Duration::from_millis(50))
                .await,
            Err(CallError::NoReply(_))
        ));
        let _ = server.stop.send(true);
        server.done.await.unwrap();
        assert!(
            started.elapsed() < Duration::from_millis(2000),
            "the stop waited for the handler"
        );
    }

    /// Forwards TCP connections to `to` until aborted; aborting drops every connection.
    async fn proxy(to: String) -> (String, tokio::task::JoinHandle<()>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let task = tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            while let Ok((mut inbound, _)) = listener.accept().await {
                let to = to.clone();
                connections.spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(to).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        });
        (addr, task)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_connection_lost_mid_call_fails_the_call_at_once_as_no_reply() {
        let server = start(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap()).await;
        let (addr, link) = proxy(server.addr.clone()).await;
        let pool = crate::PeerPool::new(7);
        pool.call(&addr, read(vec![0]), Duration::from_secs(5)).await.unwrap();
        let call = {
            let pool = pool.clone();
            let addr = addr.clone();
            tokio::spawn(async move { pool.call(&addr, read(vec![255]), Duration::from_secs(120)).await })
        };
        server.wait_received(2).await;
        let started = std::time::Instant::now();
        link.abort();
        // The node may have run it: the answer is "no reply", and it comes when the stream
        // breaks, not after the 2-minute timeout (nor the handler's minute).
        assert!(matches!(call.await.unwrap(), Err(CallError::NoReply(_))));
        assert!(started.elapsed() < Duration::from_secs(30));
        let _ = server.stop.send(true);
        server.done.await.unwrap();
    }

    async fn futures_join_all<F: Future<Output = ()>>(calls: impl Iterator<Item = F>) {
        let mut set = Vec::new();
        for c in calls {
            set.push(c);
        }
        // Polled together on this task: the calls are in flight at once.
        let mut pinned: Vec<_> = set.into_iter().map(Box::pin).collect();
        std::future::poll_fn(move |cx| {
            pinned.retain_mut(|f| f.as_mut().poll(cx).is_pending());
            if pinned.is_empty() {
                std::task::Poll::Ready(())
            } else {
                std::task::Poll::Pending
            }
        })
        .await;
    }
}
