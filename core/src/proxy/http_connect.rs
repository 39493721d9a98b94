//! HTTP `CONNECT` (RFC 9110 §9.3.6): ask the proxy for a tunnel to the
//! server's host and port, with `Proxy-Authorization: Basic` when the proxy
//! URL carries credentials, and read its answer head (bounded like the
//! server's, found in linear work by [`HeadScan`]). A 2xx opens the tunnel;
//! what arrived past the head is the tunnel's first bytes. Interim 1xx
//! answers are skipped.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;

use crate::handshake::{HeadProblem, HeadScan, MAX_HEADERS};

use super::config::{authority, Proxy};
use super::error::ProxyErrorKind;

/// The tunnel request, waiting for its answer.
#[derive(Debug)]
pub(crate) struct HttpConnect {
    scan: HeadScan,
    /// The answer so far.
    answer: Vec<u8>,
    max_size: usize,
}

impl HttpConnect {
    /// Writes the `CONNECT` request for `host:port` to `out`.
    pub(crate) fn start(
        proxy: &Proxy,
        host: &str,
        port: u16,
        max_size: usize,
        out: &mut Vec<u8>,
    ) -> HttpConnect {
        let target = authority(host, port);
        let mut request = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n");
        if let Some(credentials) = proxy.credentials_ref() {
            let token = BASE64.encode(format!("{}:{}", credentials.user, credentials.password));
            request.push_str(&format!("Proxy-Authorization: Basic {token}\r\n"));
        }
        request.push_str("\r\n");
        out.extend_from_slice(request.as_bytes());
        HttpConnect {
            scan: HeadScan::default(),
            answer: Vec::new(),
            max_size,
        }
    }

    /// Takes bytes of the answer. `Ok(Some(rest))`: a 2xx, the tunnel is
    /// open and `rest` is what followed the head. `Ok(None)`: incomplete.
    pub(crate) fn read(&mut self, data: &[u8]) -> Result<Option<Vec<u8>>, ProxyErrorKind> {
        self.answer.extend_from_slice(data);
        loop {
            let end = match self.scan.locate(&self.answer, self.max_size, probe) {
                Ok(Some(end)) => end,
                Ok(None) => return Ok(None),
                Err(HeadProblem::TooLarge) => {
                    return Err(ProxyErrorKind::TooLarge {
                        limit: self.max_size,
                    })
                }
                Err(HeadProblem::Malformed(why)) => return Err(malformed(&self.answer, why)),
            };
            let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
            let mut response = httparse::Response::new(&mut headers);
            let head_len = match response.parse(&self.answer[..end]) {
                Ok(httparse::Status::Complete(n)) => n,
                Ok(httparse::Status::Partial) => {
                    return Err(ProxyErrorKind::Malformed(
                        "the answer head is not terminated".into(),
                    ))
                }
                Err(e) => {
                    let why = crate::error::MalformedHttp::from_httparse(e);
                    return Err(malformed(&self.answer, why));
                }
            };
            let code = response.code.unwrap_or(0);
            match code {
                200..=299 => return Ok(Some(self.answer.split_off(head_len))),
                // An interim answer (RFC 9110 §15.2): the final one follows.
                100..=199 if code != 101 => {
                    self.answer.drain(..head_len);
                    self.scan = HeadScan::default();
                }
                _ => {
                    let challenges: Vec<String> = response
                        .headers
                        .iter()
                        .filter(|h| h.name.eq_ignore_ascii_case("proxy-authenticate"))
                        .map(|h| String::from_utf8_lossy(h.value).trim().to_string())
                        .collect();
                    return Err(ProxyErrorKind::Status {
                        code,
                        reason: response.reason.unwrap_or("").to_string(),
                        challenge: (!challenges.is_empty()).then(|| challenges.join(", ")),
                    });
                }
            }
        }
    }

    /// Why the tunnel failed when the proxy closed before its answer ended:
    /// malformed if the bytes already say so, else closed early.
    pub(crate) fn error_at_end(&mut self) -> ProxyErrorKind {
        match self.scan.check_at_end(&self.answer, self.max_size, probe) {
            Err(HeadProblem::Malformed(why)) => malformed(&self.answer, why),
            _ => ProxyErrorKind::Closed,
        }
    }
}

fn probe(partial: &[u8]) -> Result<httparse::Status<usize>, httparse::Error> {
    httparse::Response::new(&mut [httparse::EMPTY_HEADER; MAX_HEADERS]).parse(partial)
}

/// A malformed answer, with a hint when it is another protocol's.
fn malformed(answer: &[u8], why: crate::error::MalformedHttp) -> ProxyErrorKind {
    let hint = match answer.first() {
        Some(5) => " (it looks like SOCKS5: use a socks5:// proxy URL)",
        Some(20..=24) => " (it looks like TLS: use an https:// proxy URL)",
        _ => "",
    };
    ProxyErrorKind::Malformed(format!("not an HTTP answer: {why}{hint}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start(proxy: &str) -> (HttpConnect, String) {
        let mut out = Vec::new();
        let proxy = Proxy::parse(proxy).unwrap();
        let stage = HttpConnect::start(&proxy, "::1", 9001, 1024, &mut out);
        (stage, String::from_utf8(out).unwrap())
    }

    #[test]
    fn the_request_names_the_target_and_carries_basic_credentials() {
        let (_, request) = start("http://al%20ice:pa%3Ass@p:3128");
        assert_eq!(
            request,
            "CONNECT [::1]:9001 HTTP/1.1\r\nHost: [::1]:9001\r\n\
             Proxy-Authorization: Basic YWwgaWNlOnBhOnNz\r\n\r\n"
        );
        let (_, request) = start("http://p");
        assert!(!request.contains("Proxy-Authorization"));
    }

    #[test]
    fn a_2xx_opens_the_tunnel_and_keeps_what_follows_whatever_the_reads() {
        let answer = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 Connection established\r\nVia: x\r\n\r\n\x16\x03\x01tail";
        for chunk in 1..answer.len() {
            let (mut stage, _) = start("http://p");
            // Once the tunnel is open, the next reads are the tunnel's.
            let mut rest: Option<Vec<u8>> = None;
            for piece in answer.chunks(chunk) {
                match &mut rest {
                    Some(rest) => rest.extend_from_slice(piece),
                    None => rest = stage.read(piece).unwrap(),
                }
            }
            assert_eq!(
                rest.as_deref(),
                Some(&b"\x16\x03\x01tail"[..]),
                "chunk {chunk}"
            );
        }
    }

    #[test]
    fn a_407_reports_its_challenge() {
        let (mut stage, _) = start("http://p");
        let error = stage
            .read(b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"corp\"\r\nProxy-Authenticate: Negotiate\r\n\r\n")
            .unwrap_err();
        assert_eq!(
            error,
            ProxyErrorKind::Status {
                code: 407,
                reason: "Proxy Authentication Required".into(),
                challenge: Some("Basic realm=\"corp\", Negotiate".into()),
            }
        );
        let (mut stage, _) = start("http://p");
        let error = stage.read(b"HTTP/1.0 403 Forbidden\r\n\r\n").unwrap_err();
        assert!(matches!(
            error,
            ProxyErrorKind::Status {
                code: 403,
                challenge: None,
                ..
            }
        ));
    }

    #[test]
    fn garbage_too_much_and_an_early_end_fail() {
        let (mut stage, _) = start("http://p");
        let error = stage.read(&[5, 0]).unwrap_err();
        assert!(
            matches!(&error, ProxyErrorKind::Malformed(d) if d.contains("socks5://")),
            "{error:?}"
        );
        let (mut stage, _) = start("http://p");
        let mut long = b"HTTP/1.1 200 OK\r\nX: ".to_vec();
        long.resize(2000, b'a');
        assert_eq!(
            stage.read(&long),
            Err(ProxyErrorKind::TooLarge { limit: 1024 })
        );
        let (mut stage, _) = start("http://p");
        assert_eq!(stage.read(b"HTTP/1.1 200 OK\r\n"), Ok(None));
        assert_eq!(stage.error_at_end(), ProxyErrorKind::Closed);
        let (mut stage, _) = start("http://p");
        assert_eq!(stage.read(b"HTTP/1.1 2"), Ok(None));
        assert_eq!(stage.read(b"x0"), Ok(None));
        assert!(matches!(stage.error_at_end(), ProxyErrorKind::Malformed(_)));
    }
}
