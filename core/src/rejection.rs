//! A server's answer other than 101, read whole: its status, headers and up to
//! [`MAX_REJECTION_BODY`] bytes of its body (a 401's explanation, a 403's
//! page), as the body is framed (RFC 9112 §6.3): `Content-Length`, chunked,
//! or until the connection closes. The body is awaited within the opening's
//! deadline; when the deadline passes or the server closes first, the answer
//! is reported with what arrived.

use crate::error::HandshakeError;

/// The most bytes of a refused answer's body kept: enough for an error page's
/// explanation, little enough that a server cannot make the client hold more.
pub const MAX_REJECTION_BODY: usize = 4096;

/// Raw bytes of a chunked body read at most (chunk sizes and line ends
/// included), so that chunks of one byte each cannot hold the client longer
/// than the body limit allows.
const MAX_CHUNKED_RAW: usize = 2 * MAX_REJECTION_BODY + 64;

/// How the body of a refused answer is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    /// No body (1xx, 204, 304).
    Empty,
    /// `Content-Length` bytes.
    Length(usize),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Until the server closes the connection.
    UntilClose,
}

/// A non-101 answer whose head is in, its body awaited.
#[derive(Debug)]
pub(crate) struct Rejected {
    code: u16,
    reason: String,
    location: Option<String>,
    headers: Vec<(String, String)>,
    /// Where the body starts in the input.
    head_len: usize,
    framing: Framing,
}

impl Rejected {
    /// The answer whose head, `head_len` bytes long, said `code`, `reason`
    /// and `headers`.
    pub(crate) fn new(
        code: u16,
        reason: String,
        headers: Vec<(String, String)>,
        head_len: usize,
    ) -> Rejected {
        let header = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.trim())
        };
        let location = (300..400)
            .contains(&code)
            .then(|| header("location").map(str::to_string))
            .flatten();
        let chunked = header("transfer-encoding").is_some_and(|te| {
            te.rsplit(',')
                .next()
                .is_some_and(|last| last.trim().eq_ignore_ascii_case("chunked"))
        });
        let framing = if matches!(code, 100..=199 | 204 | 304) {
            Framing::Empty
        } else if chunked {
            Framing::Chunked
        } else {
            match header("content-length").map(str::parse::<usize>) {
                Some(Ok(length)) => Framing::Length(length),
                // An unreadable length: what arrives until the end, bounded.
                Some(Err(_)) | None => Framing::UntilClose,
            }
        };
        Rejected {
            code,
            reason,
            location,
            headers,
            head_len,
            framing,
        }
    }

    /// The error, once the body (or as much as is kept) is in `input`.
    pub(crate) fn complete(&self, input: &[u8]) -> Option<HandshakeError> {
        let body = input.get(self.head_len..).unwrap_or_default();
        let done = match self.framing {
            Framing::Empty => true,
            Framing::Length(length) => body.len() >= length.min(MAX_REJECTION_BODY),
            Framing::Chunked => {
                let (decoded, ended) = dechunk(body);
                ended || decoded.len() >= MAX_REJECTION_BODY || body.len() >= MAX_CHUNKED_RAW
            }
            Framing::UntilClose => body.len() >= MAX_REJECTION_BODY,
        };
        done.then(|| self.error(input))
    }

    /// The error with what arrived of the body (the server closed, or the
    /// deadline passed).
    pub(crate) fn error(&self, input: &[u8]) -> HandshakeError {
        let raw = input.get(self.head_len..).unwrap_or_default();
        let mut body = match self.framing {
            Framing::Empty => Vec::new(),
            Framing::Length(length) => raw[..raw.len().min(length)].to_vec(),
            Framing::Chunked => dechunk(raw).0,
            Framing::UntilClose => raw.to_vec(),
        };
        body.truncate(MAX_REJECTION_BODY);
        HandshakeError::Status {
            code: self.code,
            reason: self.reason.clone(),
            location: self.location.clone(),
            headers: self.headers.clone(),
            body,
        }
    }
}

/// Decodes as much of a chunked body as has arrived: the data, and whether
/// the last chunk was reached. A malformed chunk ends the decoding there.
fn dechunk(mut raw: &[u8]) -> (Vec<u8>, bool) {
    let mut data = Vec::new();
    loop {
        let Some(line_end) = raw.windows(2).position(|w| w == b"\r\n") else {
            return (data, false);
        };
        let size_text = &raw[..line_end];
        // Chunk extensions (`;name=value`) follow the size.
        let size_text = size_text.split(|&b| b == b';').next().unwrap_or_default();
        let size = std::str::from_utf8(size_text)
            .ok()
            .and_then(|t| usize::from_str_radix(t.trim(), 16).ok());
        let Some(size) = size else {
            return (data, true);
        };
        if size == 0 {
            return (data, true);
        }
        let chunk = &raw[line_end + 2..];
        if chunk.len() < size {
            data.extend_from_slice(chunk);
            return (data, false);
        }
        data.extend_from_slice(&chunk[..size]);
        if data.len() >= MAX_REJECTION_BODY {
            return (data, false);
        }
        raw = chunk.get(size + 2..).unwrap_or_default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rejected(headers: &[(&str, &str)], code: u16) -> Rejected {
        let headers = headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        Rejected::new(code, "Nope".into(), headers, 0)
    }

    fn body_of(error: HandshakeError) -> Vec<u8> {
        match error {
            HandshakeError::Status { body, .. } => body,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_length_is_awaited_up_to_the_limit() {
        let r = rejected(&[("Content-Length", "5")], 403);
        assert_eq!(r.complete(b"nop"), None);
        assert_eq!(body_of(r.complete(b"nope!trailing").unwrap()), b"nope!");
        let r = rejected(&[("Content-Length", "1000000")], 403);
        assert_eq!(r.complete(&[b'x'; 4095]), None);
        assert_eq!(
            body_of(r.complete(&[b'x'; 5000]).unwrap()).len(),
            MAX_REJECTION_BODY
        );
        // Closed early: what arrived.
        assert_eq!(body_of(r.error(b"half")), b"half");
    }

    #[test]
    fn chunked_bodies_are_decoded_however_they_arrive() {
        let r = rejected(&[("Transfer-Encoding", "gzip, chunked")], 401);
        let raw = b"4;ext=1\r\nWiki\r\n5\r\npedia\r\n0\r\n\r\n";
        // Complete once the last chunk's size line is in, not before.
        for cut in 0..raw.len() - 2 {
            if let Some(done) = r.complete(&raw[..cut]) {
                panic!("complete at {cut} of {}: {done:?}", raw.len());
            }
            assert!(
                b"Wikipedia".starts_with(&body_of(r.error(&raw[..cut]))),
                "{cut}"
            );
        }
        assert_eq!(
            body_of(r.complete(&raw[..raw.len() - 2]).unwrap()),
            b"Wikipedia"
        );
        // One-byte chunks cannot hold the client past the raw bound.
        let tiny: Vec<u8> = std::iter::repeat_n(&b"1\r\nx\r\n"[..], 2000)
            .flatten()
            .copied()
            .collect();
        assert!(r.complete(&tiny).is_some());
        // A malformed size ends the body there.
        assert_eq!(body_of(r.complete(b"3\r\nabc\r\nzz\r\n").unwrap()), b"abc");
    }

    #[test]
    fn no_length_reads_until_close_and_some_codes_have_no_body() {
        let r = rejected(&[], 500);
        assert_eq!(r.complete(b"partial page"), None);
        assert_eq!(body_of(r.error(b"partial page")), b"partial page");
        assert_eq!(body_of(rejected(&[], 204).complete(b"").unwrap()), b"");
        let r = rejected(&[("Location", "/next"), ("Content-Length", "0")], 302);
        match r.complete(b"").unwrap() {
            HandshakeError::Status { location, .. } => {
                assert_eq!(location.as_deref(), Some("/next"))
            }
            other => panic!("{other:?}"),
        }
    }
}
