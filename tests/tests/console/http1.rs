//! A bare HTTP/1.1 client (hyper, one connection per request), and gRPC-Web framing built
//! by hand, so the tests see exactly what a browser sends and gets.

use std::{collections::BTreeMap, net::SocketAddr};

use bytes::{Buf as _, BufMut as _, Bytes, BytesMut};
use http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::{BodyExt as _, Full};
use hyper_util::rt::TokioIo;

/// A whole HTTP response.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl Answer {
    /// A header as text ("" when absent).
    pub(crate) fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|value| value.to_str().ok()).unwrap_or("")
    }

    /// The body as text (lossy).
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends `request` to `addr` over a new HTTP/1.1 connection and reads the whole answer.
pub(crate) async fn send(addr: SocketAddr, mut request: Request<Full<Bytes>>) -> Answer {
    request.headers_mut().insert(header::HOST, addr.to_string().parse().expect("host"));
    let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.expect("handshake");
    tokio::spawn(connection);
    let response = sender.send_request(request).await.expect("an HTTP/1.1 response");
    let (parts, body) = response.into_parts();
    let body = body.collect().await.expect("the body").to_bytes();
    Answer { status: parts.status, headers: parts.headers, body }
}

/// `method path` with no body.
pub(crate) async fn request(addr: SocketAddr, method: Method, path: &str) -> Answer {
    let request = Request::builder().method(method).uri(path).body(Full::default());
    send(addr, request.expect("request")).await
}

/// `GET path`.
pub(crate) async fn get(addr: SocketAddr, path: &str) -> Answer {
    request(addr, Method::GET, path).await
}

/// What a gRPC-Web call answered.
#[derive(Debug)]
pub(crate) struct GrpcWebAnswer {
    pub(crate) http: Answer,
    /// The payloads of the data frames.
    pub(crate) messages: Vec<Bytes>,
    /// The trailer frame's fields (lower-case names), when there was one.
    pub(crate) trailer_frame: Option<BTreeMap<String, String>>,
}

impl GrpcWebAnswer {
    /// `grpc-status`, from the trailer frame or, for a "trailers-only" answer, the headers.
    pub(crate) fn grpc_status(&self) -> Option<i32> {
        let in_frame = self.trailer_frame.as_ref().and_then(|fields| fields.get("grpc-status"));
        let text = in_frame.map(String::as_str).or(self
            .http
            .headers
            .get("grpc-status")
            .map(|v| v.to_str().expect("ascii status")));
        text.map(|text| text.parse().expect("a number"))
    }

    /// `grpc-message`, wherever it came, percent-decoded.
    pub(crate) fn grpc_message(&self) -> String {
        let in_frame = self.trailer_frame.as_ref().and_then(|fields| fields.get("grpc-message"));
        let encoded = in_frame.map(String::as_str).unwrap_or(self.http.header("grpc-message"));
        percent_decode(encoded)
    }
}

/// One length-prefixed gRPC(-Web) message: flag 0 (uncompressed), big-endian length, bytes.
pub(crate) fn frame(message: &[u8]) -> Bytes {
    let mut framed = BytesMut::with_capacity(5 + message.len());
    framed.put_u8(0);
    framed.put_u32(u32::try_from(message.len()).expect("small message"));
    framed.put_slice(message);
    framed.freeze()
}

/// POSTs `body` (already framed) to `path` as binary gRPC-Web over HTTP/1.1, with
/// `authorization: Bearer <token>` when given, and splits the answer into frames.
pub(crate) async fn grpc_web_raw(
    addr: SocketAddr,
    path: &str,
    token: Option<&str>,
    body: Bytes,
) -> GrpcWebAnswer {
    let mut request = Request::post(path)
        .header(header::CONTENT_TYPE, "application/grpc-web+proto")
        .header(header::ACCEPT, "application/grpc-web+proto")
        .header("x-grpc-web", "1");
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let http = send(addr, request.body(Full::new(body)).expect("request")).await;
    let (messages, trailer_frame) = split_frames(http.body.clone());
    GrpcWebAnswer { http, messages, trailer_frame }
}

/// A unary gRPC-Web call of `path` with `message`.
pub(crate) async fn grpc_web_call(
    addr: SocketAddr,
    path: &str,
    token: Option<&str>,
    message: &impl prost::Message,
) -> GrpcWebAnswer {
    grpc_web_raw(addr, path, token, frame(&message.encode_to_vec())).await
}

/// Data frames' payloads and the trailer frame (flag bit 0x80: `name: value\r\n` lines).
fn split_frames(mut body: Bytes) -> (Vec<Bytes>, Option<BTreeMap<String, String>>) {
    let mut messages = Vec::new();
    let mut trailers = None;
    while !body.is_empty() {
        assert!(body.len() >= 5, "a truncated frame header: {body:?}");
        let flag = body.get_u8();
        let length = body.get_u32() as usize;
        assert!(body.len() >= length, "a truncated frame");
        let payload = body.split_to(length);
        if flag & 0x80 == 0 {
            messages.push(payload);
            continue;
        }
        let text = std::str::from_utf8(&payload).expect("trailers are text");
        let fields = text
            .split("\r\n")
            .filter(|line| !line.is_empty())
            .map(|line| {
                let (name, value) = line.split_once(':').expect("name: value");
                (name.trim().to_ascii_lowercase(), value.trim().to_owned())
            })
            .collect();
        trailers = Some(fields);
    }
    (messages, trailers)
}

/// `%XX` escapes decoded (as gRPC encodes `grpc-message`).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        let escaped = (bytes[at] == b'%')
            .then(|| text.get(at + 1..at + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                out.push(byte);
                at += 3;
            }
            None => {
                out.push(bytes[at]);
                at += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
