//! The HTTP/1.1 opening handshake (RFC 6455 §4): the client's request and the
//! validation of the server's answer, and for the server role, the validation of a
//! request and its 101 answer. Heads are parsed with httparse; a head that is not
//! complete yet is not an error, one beyond the size limit is. A head arriving in
//! many small reads costs work linear in its size (see [`HeadScan`]).

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use sha1::{Digest, Sha1};

use crate::config::ClientConfig;
use crate::config_error::ConfigError;
use crate::deflate::{self, DeflateConfig, Negotiated};
use crate::error::{Error, HandshakeError, MalformedHttp};
use crate::event::OpenInfo;
use crate::header_problem::HeaderProblem;
use crate::rejection::Rejected;

/// RFC 6455 §1.3: the GUID appended to the key before hashing.
pub const WEBSOCKET_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// Most headers an HTTP head may carry.
pub(crate) const MAX_HEADERS: usize = 64;

/// Headers the handshake writes itself; callers may not add them (a second copy
/// would leave the server to pick one). Any `Sec-WebSocket-*` name is refused too.
const MANAGED_HEADERS: [&str; 3] = ["host", "upgrade", "connection"];

/// The prefix of the headers RFC 6455 defines (and of any later extension's).
const WEBSOCKET_HEADER_PREFIX: &str = "sec-websocket-";

/// Headers that describe a request body: a handshake GET has none, and a server
/// or proxy reading one would disagree with another about where the request ends.
const BODY_HEADERS: [&str; 2] = ["content-length", "transfer-encoding"];

/// Headers a request may carry at most once (RFC 7230 §3.2.2: they are not
/// comma-separated lists; RFC 6265 §5.4 for `Cookie`), so two would be ambiguous.
const SINGLE_HEADERS: [&str; 4] = [
    "authorization",
    "proxy-authorization",
    "cookie",
    "user-agent",
];

/// Why a caller-supplied header may not be sent, if it may not.
fn refused_header(name: &str, earlier: &[(String, String)]) -> Option<ConfigError> {
    let lower = name.to_ascii_lowercase();
    let name = name.to_string();
    if !is_token(&name) {
        return Some(ConfigError::InvalidHeaderName { name });
    }
    if MANAGED_HEADERS.contains(&lower.as_str()) || lower.starts_with(WEBSOCKET_HEADER_PREFIX) {
        return Some(ConfigError::ManagedHeader { name });
    }
    if lower == "origin" {
        return Some(ConfigError::OriginHeader);
    }
    if BODY_HEADERS.contains(&lower.as_str()) {
        return Some(ConfigError::BodyHeader { name });
    }
    if SINGLE_HEADERS.contains(&lower.as_str())
        && earlier.iter().any(|(n, _)| n.eq_ignore_ascii_case(&name))
    {
        return Some(ConfigError::RepeatedHeader { name });
    }
    None
}

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

/// Why a head could not be located.
#[derive(Debug)]
pub(crate) enum HeadProblem {
    TooLarge,
    Malformed(MalformedHttp),
}

/// Finds where an HTTP head ends in a buffer that grows between calls, in work
/// linear in the head's size: the search for the empty line resumes where the
/// previous call stopped, and httparse reads the head once it is complete. So
/// that a peer that is not speaking HTTP is still reported at once rather than
/// at the size limit or the timeout, a partial head is also given to httparse,
/// but only each time the buffer has doubled, which keeps the total linear.
#[derive(Debug, Default)]
pub(crate) struct HeadScan {
    /// The empty lines httparse skips before the first line are behind us.
    in_head: bool,
    /// No head end starts before this index (where the search resumes).
    searched: usize,
    /// The length given to httparse at the last partial parse.
    probed_len: usize,
    /// Bytes examined so far, by the search and by httparse.
    #[cfg(test)]
    work: usize,
}

impl HeadScan {
    /// The length of the head at the start of `buf` once it is complete (checked
    /// against `max_size`); `probe` runs httparse over a partial head.
    pub(crate) fn locate(
        &mut self,
        buf: &[u8],
        max_size: usize,
        probe: impl FnOnce(&[u8]) -> Result<httparse::Status<usize>, httparse::Error>,
    ) -> Result<Option<usize>, HeadProblem> {
        // A head longer than the limit is refused, so the search need not look
        // beyond it, however much arrived at once.
        let window = &buf[..buf.len().min(max_size)];
        let from = self.searched;
        if !self.in_head {
            // httparse skips empty lines before the first line: so does the search.
            match window[from..]
                .iter()
                .position(|b| !matches!(b, b'\r' | b'\n'))
            {
                Some(offset) => {
                    self.in_head = true;
                    self.searched = from + offset;
                }
                None => self.searched = window.len(),
            }
        }
        let mut at = self.searched;
        let stop = if !self.in_head {
            at
        } else {
            loop {
                let Some(offset) = window[at..].iter().position(|&b| b == b'\n') else {
                    break window.len();
                };
                let lf = at + offset;
                // An empty line: LF LF or LF CR LF (httparse accepts bare LF line ends).
                match (window.get(lf + 1), window.get(lf + 2)) {
                    (Some(b'\n'), _) => return Ok(Some(self.found(from, lf + 2))),
                    (Some(b'\r'), Some(b'\n')) => return Ok(Some(self.found(from, lf + 3))),
                    // Cannot tell yet: look at this LF again when more has arrived.
                    (None, _) | (Some(b'\r'), None) => break lf,
                    _ => at = lf + 1,
                }
            }
        };
        self.count(stop.max(from) - from);
        self.searched = stop;
        // A head that is too large is still reported as malformed when its
        // bytes say so, as it would be had it arrived in one read.
        let too_large = buf.len() > max_size;
        let doubled = self.probed_len == 0 || window.len() >= 2 * self.probed_len;
        if doubled || too_large {
            if let Some(n) = self.probe_new_bytes(window, probe)? {
                return Ok(Some(n));
            }
        }
        if too_large {
            return Err(HeadProblem::TooLarge);
        }
        Ok(None)
    }

    /// The transport ended before the head did: a partial head whose bytes are
    /// already malformed is reported so, whatever reads it came in (a probe
    /// skipped between doublings is run now), else it is merely incomplete.
    pub(crate) fn check_at_end(
        &mut self,
        buf: &[u8],
        max_size: usize,
        probe: impl FnOnce(&[u8]) -> Result<httparse::Status<usize>, httparse::Error>,
    ) -> Result<(), HeadProblem> {
        self.probe_new_bytes(&buf[..buf.len().min(max_size)], probe)
            .map(|_| ())
    }

    /// Runs httparse over `window` unless it already saw all of it.
    fn probe_new_bytes(
        &mut self,
        window: &[u8],
        probe: impl FnOnce(&[u8]) -> Result<httparse::Status<usize>, httparse::Error>,
    ) -> Result<Option<usize>, HeadProblem> {
        if window.is_empty() || window.len() <= self.probed_len {
            return Ok(None);
        }
        self.probed_len = window.len();
        self.count(window.len());
        match probe(window) {
            Ok(httparse::Status::Complete(n)) => Ok(Some(n)),
            Ok(httparse::Status::Partial) => Ok(None),
            Err(e) => Err(HeadProblem::Malformed(MalformedHttp::from_httparse(e))),
        }
    }

    /// The head ends at `end`: counts the search since `from` and the one full
    /// parse of `buf[..end]` the caller does next.
    fn found(&mut self, from: usize, end: usize) -> usize {
        self.count(end - from + end);
        self.searched = end;
        end
    }

    /// Bytes examined so far (tests bound it: the work must stay linear).
    #[cfg(test)]
    fn work(&self) -> usize {
        self.work
    }

    #[cfg_attr(not(test), allow(unused_variables))]
    fn count(&mut self, bytes: usize) {
        #[cfg(test)]
        {
            self.work += bytes;
        }
    }
}

/// What the client sends and what it will accept in return.
#[derive(Debug)]
pub(crate) struct ClientHandshake {
    expected_accept: String,
    protocols: Vec<String>,
    deflate: Option<DeflateConfig>,
    max_size: usize,
    scan: HeadScan,
    /// The request sent, for [`OpenInfo::request_head`] (dropped once open).
    request_head: String,
    /// The server refused (not 101): its body is being read (boxed: rare).
    rejected: Option<Box<Rejected>>,
    /// The URL, for [`OpenInfo::url`].
    url: String,
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
    /// Builds the request for `config`; checks every caller-supplied name
    /// and value.
    pub(crate) fn new(
        config: &ClientConfig,
        key: &str,
    ) -> Result<(ClientHandshake, Vec<u8>), Error> {
        let (url, protocols, headers) = (&config.url, &config.protocols[..], &config.headers[..]);
        let (origin, user_agent) = (config.origin.as_deref(), config.user_agent.as_deref());
        let (deflate, max_size) = (config.deflate, config.common.limits.max_handshake_size);
        for p in protocols {
            if !is_token(p) {
                return Err(ConfigError::InvalidProtocol {
                    protocol: p.clone(),
                }
                .into());
            }
        }
        for (i, (name, value)) in headers.iter().enumerate() {
            if let Some(why) = refused_header(name, &headers[..i]) {
                return Err(why.into());
            }
            if !is_header_value(value) {
                return Err(ConfigError::InvalidHeaderValue { name: name.clone() }.into());
            }
        }
        if let Some(origin) = origin {
            if !is_header_value(origin) {
                return Err(ConfigError::InvalidOrigin.into());
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
        let given = |wanted: &str| headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(wanted));
        // The URL's credentials, unless the caller's own header says otherwise.
        if let (Some((user, password)), false) = (url.credentials(), given("authorization")) {
            let token = BASE64.encode(format!("{user}:{password}"));
            req.push_str(&format!("Authorization: Basic {token}\r\n"));
        }
        if let (Some(agent), false) = (user_agent, given("user-agent")) {
            if !is_header_value(agent) {
                return Err(ConfigError::InvalidHeaderValue {
                    name: "User-Agent".into(),
                }
                .into());
            }
            req.push_str(&format!("User-Agent: {agent}\r\n"));
        }
        req.push_str("\r\n");
        let handshake = ClientHandshake {
            expected_accept: accept_key(key),
            protocols: protocols.to_vec(),
            deflate,
            max_size,
            scan: HeadScan::default(),
            request_head: req.clone(),
            rejected: None,
            url: url.to_string(),
        };
        Ok((handshake, req.into_bytes()))
    }

    /// The server's refusal with the body so far, when its body is awaited
    /// (the opening's deadline passed meanwhile).
    pub(crate) fn rejection_so_far(&self, buf: &[u8]) -> Option<HandshakeError> {
        self.rejected.as_ref().map(|r| r.error(buf))
    }

    /// Parses and validates the server's answer from the start of `buf`, which
    /// holds what earlier calls saw plus what arrived since (the search for the
    /// head's end resumes where it stopped, see [`HeadScan`]).
    /// `Ok(None)`: incomplete. `Ok(Some(upgraded))`: the head is
    /// `upgraded.head_len` bytes long; what follows it is frame data.
    /// Why the opening failed when the transport ended with `buf` (the answer
    /// so far) buffered: malformed if its bytes already say so, else incomplete.
    pub(crate) fn error_at_end(&mut self, buf: &[u8]) -> HandshakeError {
        if let Some(rejected) = &self.rejected {
            return rejected.error(buf);
        }
        match self.scan.check_at_end(buf, self.max_size, |partial| {
            httparse::Response::new(&mut [httparse::EMPTY_HEADER; MAX_HEADERS]).parse(partial)
        }) {
            Err(HeadProblem::Malformed(why)) => HandshakeError::Malformed(why),
            _ => HandshakeError::Incomplete,
        }
    }

    pub(crate) fn parse_response(
        &mut self,
        buf: &[u8],
    ) -> Result<Option<Upgraded>, HandshakeError> {
        if let Some(rejected) = &self.rejected {
            return rejected.complete(buf).map_or(Ok(None), Err);
        }
        let limit = self.max_size;
        let end = match self.scan.locate(buf, limit, |partial| {
            httparse::Response::new(&mut [httparse::EMPTY_HEADER; MAX_HEADERS]).parse(partial)
        }) {
            Ok(Some(end)) => end,
            Ok(None) => return Ok(None),
            Err(HeadProblem::TooLarge) => return Err(HandshakeError::TooLarge { limit }),
            Err(HeadProblem::Malformed(why)) => return Err(HandshakeError::Malformed(why)),
        };
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut response = httparse::Response::new(&mut headers);
        let head_len = match response.parse(&buf[..end]) {
            Ok(httparse::Status::Complete(n)) => n,
            Ok(httparse::Status::Partial) => {
                return Err(HandshakeError::Malformed(MalformedHttp::Unterminated))
            }
            Err(e) => return Err(HandshakeError::Malformed(MalformedHttp::from_httparse(e))),
        };
        let headers = collect_headers(response.headers);
        let code = response.code.unwrap_or(0);
        if code != 101 {
            // Its body is awaited too: see `rejection`.
            let rejected = Rejected::new(
                code,
                response.reason.unwrap_or("").to_string(),
                headers,
                head_len,
            );
            let verdict = rejected.complete(buf);
            self.rejected = Some(Box::new(rejected));
            return verdict.map_or(Ok(None), Err);
        }
        if response.version != Some(1) {
            return Err(HandshakeError::Malformed(MalformedHttp::NotHttp11));
        }
        require_token(&headers, "Upgrade", "websocket")?;
        require_token(&headers, "Connection", "upgrade")?;
        let accept =
            single(&headers, "Sec-WebSocket-Accept")?.ok_or(HandshakeError::BadHeader {
                name: "Sec-WebSocket-Accept",
                problem: HeaderProblem::Missing,
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
            url: Some(self.url.clone()),
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
    pub(crate) scan: HeadScan,
}

/// A rejected request: the reason, and the HTTP answer to send back.
#[derive(Debug)]
pub(crate) struct Rejection {
    pub(crate) error: HandshakeError,
    pub(crate) response: Vec<u8>,
}

impl ServerHandshake {
    /// Why the opening failed when the transport ended with `buf` (the request
    /// so far) buffered: malformed if its bytes already say so, else incomplete.
    pub(crate) fn error_at_end(&mut self, buf: &[u8]) -> HandshakeError {
        match self.scan.check_at_end(buf, self.max_size, |partial| {
            httparse::Request::new(&mut [httparse::EMPTY_HEADER; MAX_HEADERS]).parse(partial)
        }) {
            Err(HeadProblem::Malformed(why)) => HandshakeError::Malformed(why),
            _ => HandshakeError::Incomplete,
        }
    }

    /// Parses and validates a client's request; on success returns the 101 answer.
    /// As for [`ClientHandshake::parse_response`], `buf` grows between calls.
    /// The rejection is boxed: it is rare, and large.
    pub(crate) fn parse_request(&mut self, buf: &[u8]) -> Result<Option<Accepted>, Box<Rejection>> {
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut request = httparse::Request::new(&mut headers);
        let reject = |status: &str, error: HandshakeError| {
            Box::new(Rejection {
                response: format!(
                    "HTTP/1.1 {status}\r\nConnection: close\r\nSec-WebSocket-Version: 13\r\n\
                     Content-Type: text/plain\r\nContent-Length: {}\r\n\r\n{error}",
                    error.to_string().len()
                )
                .into_bytes(),
                error,
            })
        };
        let end = match self.scan.locate(buf, self.max_size, |partial| {
            httparse::Request::new(&mut [httparse::EMPTY_HEADER; MAX_HEADERS]).parse(partial)
        }) {
            Ok(Some(end)) => end,
            Ok(None) => return Ok(None),
            Err(HeadProblem::TooLarge) => {
                return Err(reject(
                    "431 Request Header Fields Too Large",
                    HandshakeError::TooLarge {
                        limit: self.max_size,
                    },
                ))
            }
            Err(HeadProblem::Malformed(why)) => {
                return Err(reject("400 Bad Request", HandshakeError::Malformed(why)))
            }
        };
        let head_len = match request.parse(&buf[..end]) {
            Ok(httparse::Status::Complete(n)) => n,
            Ok(httparse::Status::Partial) => {
                return Err(reject(
                    "400 Bad Request",
                    HandshakeError::Malformed(MalformedHttp::Unterminated),
                ))
            }
            Err(e) => {
                return Err(reject(
                    "400 Bad Request",
                    HandshakeError::Malformed(MalformedHttp::from_httparse(e)),
                ))
            }
        };
        let headers = collect_headers(request.headers);
        let bad = |error| Err(reject("400 Bad Request", error));
        if request.method != Some("GET") {
            return bad(HandshakeError::Malformed(MalformedHttp::NotGet {
                method: request.method.unwrap_or("").to_string(),
            }));
        }
        if request.version != Some(1) {
            return bad(HandshakeError::Malformed(MalformedHttp::NotHttp11));
        }
        if header(&headers, "host").is_none() {
            return bad(HandshakeError::BadHeader {
                name: "Host",
                problem: HeaderProblem::Missing,
            });
        }
        if let Err(e) = require_token(&headers, "Upgrade", "websocket")
            .and_then(|_| require_token(&headers, "Connection", "upgrade"))
        {
            return bad(e);
        }
        // Any version problem gets 426 with our version, so that a client
        // speaking another one learns which to use (RFC 6455 §4.2.2).
        let version_problem = match single(&headers, "Sec-WebSocket-Version") {
            Ok(Some(v)) if v.trim() == "13" => None,
            Ok(Some(v)) => Some(HeaderProblem::UnsupportedVersion {
                found: v.trim().to_string(),
            }),
            Ok(None) => Some(HeaderProblem::Missing),
            Err(_) => Some(HeaderProblem::Repeated),
        };
        if let Some(problem) = version_problem {
            return Err(reject(
                "426 Upgrade Required",
                HandshakeError::BadHeader {
                    name: "Sec-WebSocket-Version",
                    problem,
                },
            ));
        }
        let key = match single(&headers, "Sec-WebSocket-Key") {
            Ok(Some(k)) if BASE64.decode(k.trim()).is_ok_and(|raw| raw.len() == 16) => {
                k.trim().to_string()
            }
            Ok(Some(k)) => {
                return bad(HandshakeError::BadHeader {
                    name: "Sec-WebSocket-Key",
                    problem: HeaderProblem::InvalidKey {
                        found: k.trim().to_string(),
                    },
                })
            }
            Ok(None) => {
                return bad(HandshakeError::BadHeader {
                    name: "Sec-WebSocket-Key",
                    problem: HeaderProblem::Missing,
                })
            }
            Err(e) => return bad(e),
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
            url: None,
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
            problem: HeaderProblem::Repeated,
        });
    }
    Ok(first)
}

/// Checks that a comma-separated header holds `token` (case-insensitively).
fn require_token(
    headers: &[(String, String)],
    name: &'static str,
    token: &'static str,
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
                Some(v) => HeaderProblem::WrongToken {
                    found: v.to_string(),
                    expected: token,
                },
                None => HeaderProblem::Missing,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
    const LIMIT: usize = 1 << 20;

    fn client(max_size: usize) -> ClientHandshake {
        let config = ClientConfig::new("ws://example.com/chat")
            .unwrap()
            .limits(crate::Limits::default().max_handshake_size(max_size));
        ClientHandshake::new(&config, KEY).unwrap().0
    }

    fn server(max_size: usize) -> ServerHandshake {
        ServerHandshake {
            protocols: Vec::new(),
            deflate: None,
            max_size,
            scan: HeadScan::default(),
        }
    }

    /// A 101 answer carrying `padding` bytes of an extra header.
    fn response(padding: usize) -> Vec<u8> {
        format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {}\r\nX-Padding: {}\r\n\r\n",
            accept_key(KEY),
            "p".repeat(padding)
        )
        .into_bytes()
    }

    /// A client's request carrying `padding` bytes of an extra header.
    fn request(padding: usize) -> Vec<u8> {
        format!(
            "GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n\
             X-Padding: {}\r\n\r\n",
            "p".repeat(padding)
        )
        .into_bytes()
    }

    /// Feeds `head` one more byte per call, as a byte-at-a-time peer makes the
    /// connection do; returns the head length reported at the last byte.
    fn byte_at_a_time<T>(
        head: &[u8],
        mut parse: impl FnMut(&[u8]) -> Option<T>,
        head_len: impl Fn(&T) -> usize,
    ) -> usize {
        for end in 1..head.len() {
            assert!(parse(&head[..end]).is_none(), "complete after {end} bytes");
        }
        head_len(&parse(head).expect("complete at the last byte"))
    }

    #[test]
    fn a_response_head_fed_byte_by_byte_is_scanned_in_linear_work() {
        let head = response(64 << 10);
        let mut hs = client(LIMIT);
        let len = byte_at_a_time(&head, |buf| hs.parse_response(buf).unwrap(), |u| u.head_len);
        assert_eq!(len, head.len());
        // The search once (n), httparse on doubling prefixes (< 2n), the final parse
        // (n): under 5n. Re-parsing from the first byte on every call was n²/2.
        let work = hs.scan.work();
        assert!(
            work <= 5 * head.len(),
            "{work} bytes examined for a {}-byte head",
            head.len()
        );
        assert!(work >= head.len(), "the counter counts: {work}");
    }

    #[test]
    fn a_request_head_fed_byte_by_byte_is_scanned_in_linear_work() {
        let head = request(64 << 10);
        let mut hs = server(LIMIT);
        let len = byte_at_a_time(
            &head,
            |buf| hs.parse_request(buf).map_err(|r| r.error).unwrap(),
            |a| a.upgraded.head_len,
        );
        assert_eq!(len, head.len());
        let work = hs.scan.work();
        assert!(
            work <= 5 * head.len(),
            "{work} bytes examined for a {}-byte head",
            head.len()
        );
        assert!(work >= head.len(), "the counter counts: {work}");
    }

    #[test]
    fn every_way_of_splitting_a_head_finds_the_same_end() {
        let accept = accept_key(KEY);
        // Bare LF line ends and leading empty lines are accepted by httparse.
        let heads = [
            String::from_utf8(response(3)).unwrap(),
            format!(
                "HTTP/1.1 101 OK\nUpgrade: websocket\nConnection: Upgrade\n\
                 Sec-WebSocket-Accept: {accept}\n\n"
            ),
            format!(
                "\r\n\n\r\nHTTP/1.1 101 OK\r\nUpgrade: websocket\nConnection: Upgrade\r\n\
                 Sec-WebSocket-Accept: {accept}\n\r\n"
            ),
        ];
        for head in &heads {
            let mut with_frames = head.clone().into_bytes();
            with_frames.extend_from_slice(b"\x81\x02hi\n\n\r\n");
            for first in 0..=with_frames.len() {
                for second in first..=with_frames.len() {
                    let mut hs = client(LIMIT);
                    let found = [first, second, with_frames.len()]
                        .into_iter()
                        .find_map(|end| hs.parse_response(&with_frames[..end]).unwrap());
                    assert_eq!(
                        found.map(|u| u.head_len),
                        Some(head.len()),
                        "{head:?} in pieces ending at {first}, {second}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_peer_not_speaking_http_is_reported_before_any_empty_line() {
        let mut hs = client(LIMIT);
        assert!(matches!(
            hs.parse_response(b"SSH-2.0-OpenSSH_9.6\r\n"),
            Err(HandshakeError::Malformed(_))
        ));
        // Garbage trickling in is caught by a partial parse at a doubled length.
        let mut hs = client(LIMIT);
        let garbage = b"SSH-2.0-OpenSSH_9.6\r\n";
        let verdicts: Vec<_> = (1..=garbage.len())
            .map(|end| hs.parse_response(&garbage[..end]))
            .collect();
        assert!(
            verdicts
                .iter()
                .any(|v| matches!(v, Err(HandshakeError::Malformed(_)))),
            "{verdicts:?}"
        );
    }

    #[test]
    fn the_size_limit_still_applies_to_a_head_without_an_end() {
        let head = response(600);
        let mut hs = client(512);
        let err = (1..=head.len())
            .find_map(|end| hs.parse_response(&head[..end]).err())
            .unwrap();
        assert_eq!(err, HandshakeError::TooLarge { limit: 512 });
        let mut hs = server(512);
        let rejection = hs.parse_request(&request(600)).err().unwrap();
        assert_eq!(rejection.error, HandshakeError::TooLarge { limit: 512 });
        assert!(rejection.response.starts_with(b"HTTP/1.1 431 "));
    }
}
