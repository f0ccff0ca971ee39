//! One keep-alive HTTP/1.1 connection to a DynamoDB endpoint, every request SigV4-signed as an
//! SDK would sign it (so a server that verifies signatures can be measured too).

use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// What the server answered.
pub struct Reply {
    pub status: u16,
    pub body: Bytes,
}

impl Reply {
    /// The error's type name (`ConditionalCheckFailedException`), for an error answer.
    pub fn error_type(&self) -> String {
        serde_json::from_slice::<serde_json::Value>(&self.body)
            .ok()
            .and_then(|v| v.get("__type").and_then(|t| t.as_str()).map(str::to_string))
            .map(|t| t.rsplit('#').next().unwrap_or(&t).to_string())
            .unwrap_or_else(|| format!("HTTP {}", self.status))
    }
}

/// Credentials and region requests are signed with.
#[derive(Clone)]
pub struct Signer {
    identity: Identity,
    region: String,
}

impl Signer {
    pub fn new(access_key: &str, secret_key: &str, region: &str) -> Signer {
        Signer {
            identity: Credentials::from_keys(access_key, secret_key, None).into(),
            region: region.to_string(),
        }
    }

    fn sign(&self, request: &mut http::Request<Full<Bytes>>, uri: &str, body: &[u8]) -> Result<(), String> {
        let params = v4::SigningParams::builder()
            .identity(&self.identity)
            .region(&self.region)
            .name("dynamodb")
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| format!("signing parameters: {e}"))?
            .into();
        let headers = request
            .headers()
            .iter()
            .filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str(), v)));
        let signable = SignableRequest::new("POST", uri, headers, SignableBody::Bytes(body))
            .map_err(|e| format!("signing: {e}"))?;
        let (instructions, _) = sign(signable, &params)
            .map_err(|e| format!("signing: {e}"))?
            .into_parts();
        instructions.apply_to_request_http1x(request);
        Ok(())
    }
}

/// An endpoint `http://host:port`, split for connecting and signing.
#[derive(Clone, Debug)]
pub struct Endpoint {
    /// `host:port`
    pub authority: String,
    /// `http://host:port/`
    pub uri: String,
}

impl Endpoint {
    pub fn parse(url: &str) -> Result<Endpoint, String> {
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| format!("endpoint {url:?}: only http://HOST:PORT endpoints are supported"))?;
        let authority = rest.trim_end_matches('/');
        if authority.is_empty() || authority.contains('/') {
            return Err(format!("endpoint {url:?}: expected http://HOST:PORT"));
        }
        let authority = if authority.contains(':') {
            authority.to_string()
        } else {
            format!("{authority}:80")
        };
        Ok(Endpoint {
            uri: format!("http://{authority}/"),
            authority,
        })
    }
}

/// A connection that reconnects on the next call after a failure.
pub struct Connection {
    endpoint: Endpoint,
    signer: Signer,
    sender: Option<SendRequest<Full<Bytes>>>,
}

impl Connection {
    pub fn new(endpoint: Endpoint, signer: Signer) -> Connection {
        Connection {
            endpoint,
            signer,
            sender: None,
        }
    }

    async fn connect(&mut self) -> Result<&mut SendRequest<Full<Bytes>>, String> {
        if self.sender.as_ref().is_none_or(|s| s.is_closed()) {
            let stream = TcpStream::connect(&self.endpoint.authority)
                .await
                .map_err(|e| format!("connect {}: {e}", self.endpoint.authority))?;
            let _ = stream.set_nodelay(true);
            let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                .await
                .map_err(|e| format!("handshake: {e}"))?;
            tokio::spawn(async move {
                let _ = connection.await;
            });
            self.sender = Some(sender);
        }
        self.sender.as_mut().ok_or_else(|| "no connection".to_string())
    }

    /// Sends `DynamoDB_20120810.<operation>` with `body` and reads the whole answer.
    pub async fn call(&mut self, operation: &str, body: Vec<u8>) -> Result<Reply, String> {
        let mut request = http::Request::builder()
            .method("POST")
            .uri("/")
            .header("host", &self.endpoint.authority)
            .header("content-type", "application/x-amz-json-1.0")
            .header("x-amz-target", format!("DynamoDB_20120810.{operation}"))
            .body(Full::new(Bytes::new()))
            .map_err(|e| format!("request: {e}"))?;
        self.signer.sign(&mut request, &self.endpoint.uri, &body)?;
        *request.body_mut() = Full::new(Bytes::from(body));
        let result = async {
            let mut sender = self.connect().await?;
            if sender.ready().await.is_err() {
                // The server closed the kept-alive connection (some close after every answer):
                // nothing was sent, so a new connection may carry the request.
                self.sender = None;
                sender = self.connect().await?;
                sender.ready().await.map_err(|e| format!("connection: {e}"))?;
            }
            let response = sender
                .send_request(request)
                .await
                .map_err(|e| format!("request: {e}"))?;
            let status = response.status().as_u16();
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|e| format!("response: {e}"))?
                .to_bytes();
            Ok(Reply { status, body })
        }
        .await;
        if result.is_err() {
            self.sender = None;
        }
        result
    }

    /// A call that must succeed (table setup, loading): an error answer is an error.
    pub async fn call_ok(&mut self, operation: &str, body: &serde_json::Value) -> Result<serde_json::Value, String> {
        let bytes = serde_json::to_vec(body).map_err(|e| e.to_string())?;
        let reply = self.call(operation, bytes).await?;
        if reply.status != 200 {
            return Err(format!(
                "{operation}: {} {}",
                reply.error_type(),
                String::from_utf8_lossy(&reply.body)
            ));
        }
        serde_json::from_slice(&reply.body).map_err(|e| format!("{operation}: bad answer: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_parse() {
        let e = Endpoint::parse("http://127.0.0.1:8000").unwrap();
        assert_eq!(e.authority, "127.0.0.1:8000");
        assert_eq!(e.uri, "http://127.0.0.1:8000/");
        assert_eq!(Endpoint::parse("http://localhost/").unwrap().authority, "localhost:80");
        assert!(Endpoint::parse("https://x:1").is_err());
        assert!(Endpoint::parse("http://x:1/path").is_err());
    }

    /// Requests carry a SigV4 Authorization for the dynamodb service, signing the target.
    #[test]
    fn requests_are_signed() {
        let signer = Signer::new("AKID", "SECRET", "eu-west-1");
        let mut request = http::Request::builder()
            .method("POST")
            .uri("/")
            .header("host", "127.0.0.1:8000")
            .header("x-amz-target", "DynamoDB_20120810.GetItem")
            .body(Full::new(Bytes::new()))
            .unwrap();
        signer.sign(&mut request, "http://127.0.0.1:8000/", b"{}").unwrap();
        let auth = request.headers()["authorization"].to_str().unwrap();
        assert!(auth.starts_with("AWS4-HMAC-SHA256 Credential=AKID/"), "{auth}");
        assert!(auth.contains("/eu-west-1/dynamodb/aws4_request"), "{auth}");
        assert!(auth.contains("x-amz-target"), "{auth}");
        assert!(request.headers().contains_key("x-amz-date"));
    }
}
