//! The HTTP front: method and content type, JSON body, `X-Amz-Target`, the presence of an
//! AWS signature, dispatch, and the response headers clients check.

use std::future::Future;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::Value;
use tessera_model::limits::REQUEST_BODY_BYTES_MAX;
use tessera_model::{Error, ErrorKind, Result};
use tracing::Instrument;

use crate::client::RawReply;
use crate::ops;
use crate::request::parse_body;
use crate::Backend;

pub(crate) const TARGET_PREFIX: &str = "DynamoDB_20120810.";
pub(crate) const CONTENT_TYPE: &str = "application/x-amz-json-1.0";

/// The axum router serving the DynamoDB API (and `GET /` as a health check).
pub fn router<B: Backend>(backend: Arc<B>) -> Router {
    Router::new()
        .fallback(handle::<B>)
        .layer(DefaultBodyLimit::max(REQUEST_BODY_BYTES_MAX))
        .with_state(backend)
}

/// Serves until `shutdown` resolves, then finishes the requests in flight.
pub async fn serve<B: Backend>(
    listener: tokio::net::TcpListener,
    backend: Arc<B>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(without_nagle(listener), router(backend))
        .with_graceful_shutdown(shutdown)
        .await
}

/// `listener` with TCP_NODELAY on every accepted connection: answers are small and each is
/// followed by nothing until the next request, so Nagle's algorithm would meet the client's
/// delayed ACK and stall ~40 ms.
pub fn without_nagle(
    listener: tokio::net::TcpListener,
) -> impl axum::serve::Listener<Io = tokio::net::TcpStream, Addr = std::net::SocketAddr> {
    use axum::serve::ListenerExt;
    listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    })
}

fn request_id() -> String {
    // DynamoDB's request ids are 52 upper-case alphanumerics.
    let id = format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
    id[..52].to_ascii_uppercase()
}

fn respond(status: StatusCode, body: Vec<u8>, content_type: &'static str) -> Response {
    let crc = crc32fast::hash(&body);
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert("content-type", HeaderValue::from_static(content_type));
    headers.insert("x-amz-crc32", HeaderValue::from(crc));
    if let Ok(id) = HeaderValue::from_str(&request_id()) {
        headers.insert("x-amzn-requestid", id);
    }
    response
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    respond(status, serde_json::to_vec(body).unwrap_or_default(), CONTENT_TYPE)
}

fn error_response(e: &Error) -> Response {
    let (_, status) = crate::error::wire(e.kind);
    if e.kind == ErrorKind::InternalServerError {
        tracing::error!(error = %e.message, "internal error");
    }
    json_response(
        StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        &crate::error::body(e),
    )
}

async fn handle<B: Backend>(
    State(backend): State<Arc<B>>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if method == Method::GET {
        return respond(StatusCode::OK, b"healthy: tessera".to_vec(), "text/plain");
    }
    let json_content = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with(CONTENT_TYPE) || ct.starts_with("application/json"));
    if method != Method::POST || !json_content {
        return respond(
            StatusCode::NOT_FOUND,
            b"<UnknownOperationException/>\n".to_vec(),
            "application/xml",
        );
    }
    match dispatch(&*backend, &headers, &body).await {
        Ok(Reply::Json(v)) => json_response(StatusCode::OK, &v),
        Ok(Reply::Encoded(body)) => respond(StatusCode::OK, body, CONTENT_TYPE),
        Ok(Reply::Raw(raw)) => raw_response(raw),
        Err(e) => error_response(&e),
    }
}

/// A backend's own answer, relayed as it came (status, body, `x-tessera-*` headers).
fn raw_response(raw: RawReply) -> Response {
    let status = StatusCode::from_u16(raw.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = respond(status, raw.body.to_vec(), CONTENT_TYPE);
    for (name, value) in raw.headers {
        if let (Ok(n), Ok(v)) = (
            axum::http::HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            response.headers_mut().insert(n, v);
        }
    }
    response
}

enum Reply {
    Json(Value),
    Encoded(Vec<u8>),
    Raw(RawReply),
}

/// The service's order: JSON body, then the target, then the signature's presence.
async fn dispatch<B: Backend>(backend: &B, headers: &HeaderMap, body: &Bytes) -> Result<Reply> {
    let request = parse_body(body)?;
    let operation = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(|t| t.strip_prefix(TARGET_PREFIX))
        .ok_or_else(|| Error::new(ErrorKind::UnknownOperation, ""))?;
    let authorization = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("");
    if !authorization.starts_with("AWS4-") {
        return Err(Error::new(
            ErrorKind::MissingAuthenticationToken,
            "Request is missing Authentication Token",
        ));
    }
    if let Some(raw) = backend.passthrough(operation, body, authorization).await {
        return raw.map(Reply::Raw);
    }
    ops::execute(backend, operation, &request)
        .instrument(tracing::debug_span!("request", operation))
        .await
        .map(|answer| match answer {
            ops::Answer::Json(v) => Reply::Json(v),
            ops::Answer::Encoded(body) => Reply::Encoded(body),
        })
}
