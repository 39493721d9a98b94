//! The HTTP/1.1 opening handshake (RFC 6455 §4): the client's request and the
//! validation of the server's answer, and for the server role, the validation of a
//! request and its 101 answer. Heads are parsed with httparse; a head that is not
//! complete yet is not an error, one beyond the size limit is.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use sha1::{Digest, Sha1};

use crate::deflate::{self, DeflateConfig, Negotiated};
use crate::error::{Error, HandshakeError};
use crate::event::OpenInfo;
use crate::url::WsUrl;

/// RFC 6455 §1.3: the GUID appended to the key before hashing.
pub const WEBSOCKET_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// Most headers an HTTP head may carry.
const MAX_HEADERS: usize = 64;

/// Headers the handshake manages itself; callers may not set them.
const MANAGED_HEADERS: [&str; 8] = [
    "host",
    "upgrade",
    "connection",
    "sec-websocket-key",
    "sec-websocket-version",
    "sec-websocket-accept",
    "sec-websocket-protocol",
    "sec-websocket-extensions",
];

/// `Sec-WebSocket-Accept` for a key: base64(SHA-1(key + GUID)) (RFC 6455 §4.2.2).
///
/// ```
/// // The example of RFC 6455 §1.3.
/// assert_eq!(
///     sockette_core::accept_key("dGhlIHNhbXBsZSBub25jZQ=="),
///     "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
/// );
/// ```
pub fn accept_key(key: &str) -> String {
    let mut sha = Sha1::new();
    sha.update(key.as_bytes());
    sha.update(WEBSOCKET_GUID.as_bytes());
    BASE64.encode(sha.finalize())
}

/// A fresh `Sec-WebSocket-Key`: 16 random bytes, base64-encoded (RFC 6455 §4.1).
pub(crate) fn new_key(random: [u8; 16]) -> String {
    BASE64.encode(random)
}

/// RFC 7230 §3.2.6 token characters.
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn is_header_value(s: &str) -> bool {
    s.bytes().all(|b| b == b'\t' || (b >= 0x20 && b != 0x7f))
}

/// What the client sends and what it will accept in return.
#[derive(Debug)]
pub(crate) struct ClientHandshake {
    expected_accept: String,
    protocols: Vec<String>,
    deflate: Option<DeflateConfig>,
    max_size: usize,
    /// The request sent, for [`OpenInfo::request_head`] (dropped once open).
    request_head: String,
}

/// A validated answer: what to report, where frames begin, what was negotiated.
#[derive(Debug)]
pub(crate) struct Upgraded {
    pub(crate) info: OpenInfo,
    pub(crate) head_len: usize,
    pub(crate) deflate: Option<Negotiated>,
}

/// An accepted request, for the server role: the 101 answer to send as well.
#[derive(Debug)]
pub(crate) struct Accepted {
    pub(crate) upgraded: Upgraded,
    pub(crate) response: Vec<u8>,
}

impl ClientHandshake {
    /// Builds the request; checks every caller-supplied name and value.
    pub(crate) fn new(
        url: &WsUrl,
        key: &str,
        protocols: &[String],
        origin: Option<&str>,
        headers: &[(String, String)],
        deflate: Option<DeflateConfig>,
        max_size: usize,
    ) -> Result<(ClientHandshake, Vec<u8>), Error> {
        for p in protocols {
            if !is_token(p) {
                return Err(Error::Config(format!(
                    "subprotocol {p:?} is not a valid HTTP token"
                )));
            }
        }
        for (name, value) in headers {
            if !is_token(name) {
                return Err(Error::Config(format!(
                    "header name {name:?} is not a valid HTTP token"
                )));
            }
            if MANAGED_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
                return Err(Error::Config(format!(
                    "header {name:?} is set by the handshake itself"
                )));
            }
            if !is_header_value(value) {
                return Err(Error::Config(format!(
                    "value of header {name:?} contains a control character"
                )));
            }
        }
        if let Some(origin) = origin {
            if !is_header_value(origin) {
                return Err(Error::Config("Origin contains a control character".into()));
            }
        }
        let mut req = format!(
            "GET {} HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n",
            url.resource(),
            url.host_header()
        );
        if !protocols.is_empty() {
            req.push_str(&format!(
                "Sec-WebSocket-Protocol: {}\r\n",
                protocols.join(", ")
            ));
        }
        if let Some(origin) = origin {
            req.push_str(&format!("Origin: {origin}\r\n"));
        }
        if let Some(deflate) = &deflate {
            deflate.validate()?;
            req.push_str(&format!(
                "Sec-WebSocket-Extensions: {}\r\n",
                deflate.offer()
            ));
        }
        for (name, value) in headers {
            req.push_str(&format!("{name}: {value}\r\n"));
        }
        req.push_str("\r\n");
        let handshake = ClientHandshake {
            expected_accept: accept_key(key),
            protocols: protocols.to_vec(),
            deflate,
            max_size,
            request_head: req.clone(),
        };
        Ok((handshake, req.into_bytes()))
    }

    /// Parses and validates the server's answer from the start of `buf`.
    /// `Ok(None)`: incomplete. `Ok(Some((info, n)))`: the head is `n` bytes long;
    /// what follows it is frame data.
    pub(crate) fn parse_response(&self, buf: &[u8]) -> Result<Option<Upgraded>, HandshakeError> {
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut response = httparse::Response::new(&mut headers);
        let head_len = match response.parse(buf) {
            Ok(httparse::Status::Complete(n)) if n > self.max_size => {
                return Err(HandshakeError::TooLarge {
                    limit: self.max_size,
                })
            }
            Ok(httparse::Status::Complete(n)) => n,
            Ok(httparse::Status::Partial) if buf.len() > self.max_size => {
                return Err(HandshakeError::TooLarge {
                    limit: self.max_size,
                })
            }
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(e) => return Err(HandshakeError::Malformed(e.to_string())),
        };
        let headers = collect_headers(response.headers);
        let code = response.code.unwrap_or(0);
        if code != 101 {
            let location = (300..400)
                .contains(&code)
                .then(|| header(&headers, "location").map(str::to_string))
                .flatten();
            return Err(HandshakeError::Status {
                code,
                reason: response.reason.unwrap_or("").to_string(),
                location,
            });
        }
        if response.version != Some(1) {
            return Err(HandshakeError::Malformed(
                "101 response is not HTTP/1.1".into(),
            ));
        }
        require_token(&headers, "Upgrade", "websocket")?;
        require_token(&headers, "Connection", "upgrade")?;
        let accept =
            single(&headers, "Sec-WebSocket-Accept")?.ok_or(HandshakeError::BadHeader {
                name: "Sec-WebSocket-Accept",
                problem: "missing".into(),
            })?;
        if accept.trim() != self.expected_accept {
            return Err(HandshakeError::BadAccept {
                expected: self.expected_accept.clone(),
                received: accept.to_string(),
            });
        }
        let protocol = match single(&headers, "Sec-WebSocket-Protocol")? {
            None => None,
            Some(p) => {
                let p = p.trim();
                if !self.protocols.iter().any(|offered| offered == p) {
                    return Err(HandshakeError::UnexpectedProtocol(p.to_string()));
                }
                Some(p.to_string())
            }
        };
        let extension_values = all(&headers, "sec-websocket-extensions");
        let deflate = match &self.deflate {
            Some(offer) => deflate::accept_response(&extension_values, offer)?,
            None => match extension_values.iter().find(|v| !v.trim().is_empty()) {
                Some(value) => return Err(HandshakeError::UnexpectedExtension(value.to_string())),
                None => None,
            },
        };
        let info = OpenInfo {
            protocol,
            extensions: deflate.iter().map(Negotiated::to_string).collect(),
            headers,
            resource: String::new(),
            request_head: self.request_head.clone(),
            response_head: String::from_utf8_lossy(&buf[..head_len]).into_owned(),
        };
        Ok(Some(Upgraded {
            info,
            head_len,
            deflate,
        }))
    }
}

/// A server's settings for accepting handshakes.
#[derive(Debug)]
pub(crate) struct ServerHandshake {
    pub(crate) protocols: Vec<String>,
    pub(crate) deflate: Option<DeflateConfig>,
    pub(crate) max_size: usize,
}

/// A rejected request: the reason, and the HTTP answer to send back.
#[derive(Debug)]
pub(crate) struct Rejection {
    pub(crate) error: HandshakeError,
    pub(crate) response: Vec<u8>,
}

impl ServerHandshake {
    /// Parses and validates a client's request; on success returns the 101 answer.
    pub(crate) fn parse_request(&self, buf: &[u8]) -> Result<Option<Accepted>, Rejection> {
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut request = httparse::Request::new(&mut headers);
        let reject = |status: &str, error: HandshakeError| Rejection {
            response: format!(
                "HTTP/1.1 {status}\r\nConnection: close\r\nSec-WebSocket-Version: 13\r\n\
                 Content-Type: text/plain\r\nContent-Length: {}\r\n\r\n{error}",
                error.to_string().len()
            )
            .into_bytes(),
            error,
        };
        let head_len = match request.parse(buf) {
            Ok(httparse::Status::Complete(n)) if n <= self.max_size => n,
            Ok(httparse::Status::Partial) if buf.len() <= self.max_size => return Ok(None),
            Ok(_) => {
                return Err(reject(
                    "431 Request Header Fields Too Large",
                    HandshakeError::TooLarge {
                        limit: self.max_size,
                    },
                ))
            }
            Err(e) => {
                return Err(reject(
                    "400 Bad Request",
                    HandshakeError::Malformed(e.to_string()),
                ))
            }
        };
        let headers = collect_headers(request.headers);
        let bad = |error| Err(reject("400 Bad Request", error));
        if request.method != Some("GET") {
            return bad(HandshakeError::Malformed("method is not GET".into()));
        }
        if request.version != Some(1) {
            return bad(HandshakeError::Malformed("request is not HTTP/1.1".into()));
        }
        if header(&headers, "host").is_none() {
            return bad(HandshakeError::BadHeader {
                name: "Host",
                problem: "missing".into(),
            });
        }
        if let Err(e) = require_token(&headers, "Upgrade", "websocket")
            .and_then(|_| require_token(&headers, "Connection", "upgrade"))
        {
            return bad(e);
        }
        match single(&headers, "Sec-WebSocket-Version") {
            Ok(Some(v)) if v.trim() == "13" => {}
            _ => {
                return Err(reject(
                    "426 Upgrade Required",
                    HandshakeError::BadHeader {
                        name: "Sec-WebSocket-Version",
                        problem: "must be 13".into(),
                    },
                ))
            }
        }
        let key = match single(&headers, "Sec-WebSocket-Key") {
            Ok(Some(k)) if BASE64.decode(k.trim()).is_ok_and(|raw| raw.len() == 16) => {
                k.trim().to_string()
            }
            Err(e) => return bad(e),
            _ => {
                return bad(HandshakeError::BadHeader {
                    name: "Sec-WebSocket-Key",
                    problem: "missing or not 16 base64-encoded bytes".into(),
                })
            }
        };
        let protocol = headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("sec-websocket-protocol"))
            .flat_map(|(_, v)| v.split(','))
            .map(str::trim)
            .find(|offered| self.protocols.iter().any(|p| p == offered))
            .map(str::to_string);
        let mut response = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {}\r\n",
            accept_key(&key)
        );
        if let Some(p) = &protocol {
            response.push_str(&format!("Sec-WebSocket-Protocol: {p}\r\n"));
        }
        let deflate = self.deflate.as_ref().and_then(|ours| {
            deflate::answer_offers(&all(&headers, "sec-websocket-extensions"), ours)
        });
        if let Some(agreed) = &deflate {
            response.push_str(&format!("Sec-WebSocket-Extensions: {agreed}\r\n"));
        }
        response.push_str("\r\n");
        let info = OpenInfo {
            protocol,
            extensions: deflate.iter().map(Negotiated::to_string).collect(),
            headers,
            resource: request.path.unwrap_or("/").to_string(),
            request_head: String::from_utf8_lossy(&buf[..head_len]).into_owned(),
            response_head: response.clone(),
        };
        Ok(Some(Accepted {
            upgraded: Upgraded {
                info,
                head_len,
                deflate,
            },
            response: response.into_bytes(),
        }))
    }
}

fn collect_headers(raw: &[httparse::Header<'_>]) -> Vec<(String, String)> {
    raw.iter()
        .map(|h| {
            (
                h.name.to_string(),
                String::from_utf8_lossy(h.value).into_owned(),
            )
        })
        .collect()
}

fn all<'a>(headers: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
        .collect()
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// The value of a header that must appear at most once.
fn single<'a>(
    headers: &'a [(String, String)],
    name: &'static str,
) -> Result<Option<&'a str>, HandshakeError> {
    let mut found = headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name));
    let first = found.next().map(|(_, v)| v.as_str());
    if found.next().is_some() {
        return Err(HandshakeError::BadHeader {
            name,
            problem: "appears more than once".into(),
        });
    }
    Ok(first)
}

/// Checks that a comma-separated header holds `token` (case-insensitively).
fn require_token(
    headers: &[(String, String)],
    name: &'static str,
    token: &str,
) -> Result<(), HandshakeError> {
    let present = headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .flat_map(|(_, v)| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(token));
    if present {
        Ok(())
    } else {
        Err(HandshakeError::BadHeader {
            name,
            problem: match header(headers, name) {
                Some(v) => format!("is {v:?}, expected {token:?}"),
                None => "missing".into(),
            },
        })
    }
}
