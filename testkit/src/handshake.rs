//! Opening handshakes written by hand: a valid request, and 101 answers.

use sockette_core::accept_key;

/// A valid client request, as a browser would send it.
pub const VALID_REQUEST: &str = "GET /chat?room=1 HTTP/1.1\r\nHost: example.com\r\n\
    Upgrade: websocket\r\nConnection: Upgrade\r\n\
    Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

/// The value of header `name` (case-insensitive) in an HTTP head.
pub fn header_value<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.split("\r\n").skip(1).find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.trim().eq_ignore_ascii_case(name).then_some(v.trim())
    })
}

/// The `Sec-WebSocket-Key` of a client request.
pub fn key_of(request: &str) -> &str {
    header_value(request, "Sec-WebSocket-Key").expect("request has a Sec-WebSocket-Key")
}

/// A valid 101 answer to `request` (the accept key computed from the request's
/// own key), with `extra` header lines (each ending in CRLF).
pub fn response_101(request: &str, extra: &str) -> String {
    format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n{extra}\r\n",
        accept_key(key_of(request))
    )
}
