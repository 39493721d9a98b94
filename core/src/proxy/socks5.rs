//! SOCKS5 (RFC 1928): offer no authentication (and username/password,
//! RFC 1929, when the proxy URL carries credentials), authenticate if the
//! proxy chose it, then ask it to connect to the server, by name
//! (`socks5h://`) or by an address resolved by the caller (`socks5://`). Each
//! reply is read whole however the reads cut it; what follows the last one is
//! the tunnel's first bytes.

use std::net::IpAddr;

use crate::config_error::ConfigError;

use super::config::Proxy;
use super::error::{ProxyErrorKind, ProxyStep, SocksReply};

const VERSION: u8 = 5;
const NO_AUTH: u8 = 0x00;
const USER_PASSWORD: u8 = 0x02;
const NO_ACCEPTABLE_METHOD: u8 = 0xFF;
const CONNECT: u8 = 0x01;
const IPV4: u8 = 0x01;
const DOMAIN: u8 = 0x03;
const IPV6: u8 = 0x04;
/// RFC 1929's sub-negotiation version.
const AUTH_VERSION: u8 = 0x01;

/// The server, as the proxy is told it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Destination {
    Name(String),
    Address(IpAddr),
    /// `socks5://` and a host name: the caller resolves it
    /// ([`Socks5::resolve`]) before the proxy's first reply is read.
    Unresolved(String),
}

/// Where the negotiation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Greeting,
    Auth,
    Connect,
}

/// A SOCKS5 negotiation in progress.
#[derive(Debug)]
pub(crate) struct Socks5 {
    step: Step,
    /// Bytes of the current reply so far.
    reply: Vec<u8>,
    /// The RFC 1929 request, when credentials were given.
    auth: Option<Vec<u8>>,
    destination: Destination,
    port: u16,
}

impl Socks5 {
    /// Writes the greeting to `out`. Refuses credentials RFC 1929 cannot
    /// carry (a user name of 1-255 bytes, a password of at most 255).
    pub(crate) fn start(
        proxy: &Proxy,
        destination: Destination,
        port: u16,
        out: &mut Vec<u8>,
    ) -> Result<Socks5, ConfigError> {
        let auth = match proxy.credentials_ref() {
            None => None,
            Some(credentials) => {
                let (user, password) =
                    (credentials.user.as_bytes(), credentials.password.as_bytes());
                if user.is_empty() || user.len() > 255 || password.len() > 255 {
                    return Err(ConfigError::SocksCredentials);
                }
                let mut request = vec![AUTH_VERSION, user.len() as u8];
                request.extend_from_slice(user);
                request.push(password.len() as u8);
                request.extend_from_slice(password);
                Some(request)
            }
        };
        if auth.is_some() {
            out.extend_from_slice(&[VERSION, 2, NO_AUTH, USER_PASSWORD]);
        } else {
            out.extend_from_slice(&[VERSION, 1, NO_AUTH]);
        }
        Ok(Socks5 {
            step: Step::Greeting,
            reply: Vec::new(),
            auth,
            destination,
            port,
        })
    }

    /// The host name the caller must resolve, for `socks5://`.
    pub(crate) fn unresolved(&self) -> Option<&str> {
        match &self.destination {
            Destination::Unresolved(name) => Some(name),
            _ => None,
        }
    }

    /// The server's address, resolved by the caller.
    pub(crate) fn resolve(&mut self, address: IpAddr) {
        if let Destination::Unresolved(_) = self.destination {
            self.destination = Destination::Address(address);
        }
    }

    /// Writes the CONNECT request: the server by address or by name.
    fn write_connect(&self, out: &mut Vec<u8>) -> Result<(), ProxyErrorKind> {
        out.extend_from_slice(&[VERSION, CONNECT, 0]);
        match &self.destination {
            Destination::Address(IpAddr::V4(ip)) => {
                out.push(IPV4);
                out.extend_from_slice(&ip.octets());
            }
            Destination::Address(IpAddr::V6(ip)) => {
                out.push(IPV6);
                out.extend_from_slice(&ip.octets());
            }
            Destination::Name(name) => {
                // A URL's host name is at most 253 bytes (checked when parsed).
                let name = &name.as_bytes()[..name.len().min(255)];
                out.push(DOMAIN);
                out.push(name.len() as u8);
                out.extend_from_slice(name);
            }
            Destination::Unresolved(host) => {
                return Err(ProxyErrorKind::Unresolved { host: host.clone() })
            }
        }
        out.extend_from_slice(&self.port.to_be_bytes());
        Ok(())
    }

    /// The step whose reply is awaited.
    pub(crate) fn step(&self) -> ProxyStep {
        match self.step {
            Step::Greeting => ProxyStep::SocksGreeting,
            Step::Auth => ProxyStep::SocksAuth,
            Step::Connect => ProxyStep::SocksConnect,
        }
    }

    /// Takes bytes of the replies, writing the next request to `out` as each
    /// one completes. `Ok(Some(rest))`: connected, `rest` followed the last
    /// reply. `Ok(None)`: a reply is incomplete.
    pub(crate) fn read(
        &mut self,
        data: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<Option<Vec<u8>>, ProxyErrorKind> {
        self.reply.extend_from_slice(data);
        loop {
            match self.step {
                Step::Greeting => {
                    let [version, method, ..] = self.reply[..] else {
                        return Ok(None);
                    };
                    if version != VERSION {
                        return Err(not_socks(&self.reply));
                    }
                    match method {
                        NO_AUTH => {
                            self.write_connect(out)?;
                            self.step = Step::Connect;
                        }
                        USER_PASSWORD if self.auth.is_some() => {
                            out.extend_from_slice(self.auth.as_deref().unwrap_or_default());
                            self.step = Step::Auth;
                        }
                        NO_ACCEPTABLE_METHOD => {
                            return Err(ProxyErrorKind::NoAcceptableAuth {
                                offered_password: self.auth.is_some(),
                            })
                        }
                        other => {
                            return Err(ProxyErrorKind::Malformed(format!(
                                "the proxy chose authentication method {other:#04x}, which was not offered"
                            )))
                        }
                    }
                    self.reply.drain(..2);
                }
                Step::Auth => {
                    // The version byte is not checked: some proxies answer
                    // with 5 where RFC 1929 says 1, and the status is what counts.
                    let [_, status, ..] = self.reply[..] else {
                        return Ok(None);
                    };
                    if status != 0 {
                        return Err(ProxyErrorKind::AuthFailed { status });
                    }
                    self.auth = None;
                    self.write_connect(out)?;
                    self.step = Step::Connect;
                    self.reply.drain(..2);
                }
                Step::Connect => {
                    let [version, code, _reserved, address_type, ..] = self.reply[..] else {
                        return Ok(None);
                    };
                    if version != VERSION {
                        return Err(not_socks(&self.reply));
                    }
                    if code != 0 {
                        return Err(ProxyErrorKind::Socks(SocksReply::from_code(code)));
                    }
                    let address_len = match address_type {
                        IPV4 => 4,
                        IPV6 => 16,
                        DOMAIN => match self.reply.get(4) {
                            Some(&len) => 1 + usize::from(len),
                            None => return Ok(None),
                        },
                        other => {
                            return Err(ProxyErrorKind::Malformed(format!(
                                "the proxy's reply has address type {other:#04x}"
                            )))
                        }
                    };
                    let reply_len = 4 + address_len + 2;
                    if self.reply.len() < reply_len {
                        return Ok(None);
                    }
                    return Ok(Some(self.reply.split_off(reply_len)));
                }
            }
        }
    }

    /// Why the negotiation failed when the proxy closed during it.
    pub(crate) fn error_at_end(&self) -> ProxyErrorKind {
        ProxyErrorKind::Closed
    }
}

/// A reply whose version byte is not 5, with a hint when it is HTTP.
fn not_socks(reply: &[u8]) -> ProxyErrorKind {
    let hint = if reply.starts_with(b"HT") {
        " (it looks like HTTP: use an http:// proxy URL)"
    } else {
        ""
    };
    ProxyErrorKind::Malformed(format!(
        "not a SOCKS5 reply (version byte {:#04x}){hint}",
        reply[0]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start(proxy: &str, destination: Destination) -> (Socks5, Vec<u8>) {
        let mut out = Vec::new();
        let stage =
            Socks5::start(&Proxy::parse(proxy).unwrap(), destination, 443, &mut out).unwrap();
        (stage, out)
    }

    /// Feeds `replies` cut into pieces of `chunk` bytes; returns what the
    /// stage wrote and its verdict.
    fn feed(
        stage: &mut Socks5,
        replies: &[u8],
        chunk: usize,
    ) -> (Vec<u8>, Result<Option<Vec<u8>>, ProxyErrorKind>) {
        let mut out = Vec::new();
        let mut pieces = replies.chunks(chunk);
        for piece in pieces.by_ref() {
            match stage.read(piece, &mut out) {
                Ok(None) => {}
                // Once the tunnel is open, the next reads are the tunnel's.
                Ok(Some(mut rest)) => {
                    pieces.for_each(|piece| rest.extend_from_slice(piece));
                    return (out, Ok(Some(rest)));
                }
                Err(e) => return (out, Err(e)),
            }
        }
        (out, Ok(None))
    }

    #[test]
    fn no_auth_by_name_with_every_reply_address_type_and_any_cut() {
        for reply_address in [
            &[IPV4, 127, 0, 0, 1][..],
            &[IPV6, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1][..],
            &[DOMAIN, 3, b'a', b'b', b'c'][..],
        ] {
            let mut replies = vec![5, 0, 5, 0, 0];
            replies.extend_from_slice(reply_address);
            replies.extend_from_slice(&[0x1f, 0x90]);
            replies.extend_from_slice(b"first");
            for chunk in 1..replies.len() {
                let (mut stage, greeting) =
                    start("socks5h://p", Destination::Name("example.org".into()));
                assert_eq!(greeting, [5, 1, 0]);
                let (out, verdict) = feed(&mut stage, &replies, chunk);
                let mut connect = vec![5, 1, 0, DOMAIN, 11];
                connect.extend_from_slice(b"example.org");
                connect.extend_from_slice(&[1, 187]);
                assert_eq!(out, connect);
                assert_eq!(verdict, Ok(Some(b"first".to_vec())), "chunk {chunk}");
            }
        }
    }

    #[test]
    fn username_and_password_then_an_address() {
        let (mut stage, greeting) = start(
            "socks5://us%3Aer:pw@p",
            Destination::Address("::1".parse().unwrap()),
        );
        assert_eq!(greeting, [5, 2, 0, 2]);
        let mut out = Vec::new();
        assert_eq!(stage.read(&[5, 2], &mut out), Ok(None));
        assert_eq!(out, [1, 5, b'u', b's', b':', b'e', b'r', 2, b'p', b'w']);
        assert_eq!(stage.step(), ProxyStep::SocksAuth);
        out.clear();
        assert_eq!(stage.read(&[1, 0], &mut out), Ok(None));
        let mut connect = vec![5, 1, 0, IPV6];
        connect.extend_from_slice(&"::1".parse::<std::net::Ipv6Addr>().unwrap().octets());
        connect.extend_from_slice(&[1, 187]);
        assert_eq!(out, connect);
        assert_eq!(stage.step(), ProxyStep::SocksConnect);
    }

    #[test]
    fn every_failure_is_named() {
        let (mut stage, _) = start("socks5://u:wrong@p", Destination::Name("h".into()));
        assert_eq!(
            feed(&mut stage, &[5, 2, 1, 1], 4).1,
            Err(ProxyErrorKind::AuthFailed { status: 1 })
        );
        let (mut stage, _) = start("socks5://p", Destination::Name("h".into()));
        assert_eq!(
            feed(&mut stage, &[5, 0xFF], 2).1,
            Err(ProxyErrorKind::NoAcceptableAuth {
                offered_password: false
            })
        );
        let (mut stage, _) = start("socks5://p", Destination::Name("h".into()));
        assert!(matches!(
            feed(&mut stage, &[5, 2], 2).1,
            Err(ProxyErrorKind::Malformed(_))
        ));
        for (code, reply) in [
            (1, SocksReply::GeneralFailure),
            (2, SocksReply::NotAllowed),
            (3, SocksReply::NetworkUnreachable),
            (4, SocksReply::HostUnreachable),
            (5, SocksReply::ConnectionRefused),
            (6, SocksReply::TtlExpired),
            (7, SocksReply::CommandNotSupported),
            (8, SocksReply::AddressTypeNotSupported),
            (9, SocksReply::Other(9)),
        ] {
            let (mut stage, _) = start("socks5://p", Destination::Name("h".into()));
            assert_eq!(
                feed(&mut stage, &[5, 0, 5, code, 0, 1], 1).1,
                Err(ProxyErrorKind::Socks(reply))
            );
        }
        let (mut stage, _) = start("socks5://p", Destination::Name("h".into()));
        let verdict = feed(&mut stage, b"HTTP/1.1 400 Bad Request\r\n\r\n", 64).1;
        assert!(matches!(&verdict, Err(ProxyErrorKind::Malformed(d)) if d.contains("http://")));
        let (mut stage, _) = start("socks5://p", Destination::Name("h".into()));
        let verdict = feed(&mut stage, &[5, 0, 5, 0, 0, 9, 0, 0], 8).1;
        assert!(matches!(verdict, Err(ProxyErrorKind::Malformed(_))));
    }

    #[test]
    fn credentials_socks_cannot_carry_are_refused() {
        let long = "u".repeat(256);
        for proxy in [format!("socks5://{long}:p@h"), "socks5://:p@h".to_string()] {
            let mut out = Vec::new();
            let result = Socks5::start(
                &Proxy::parse(&proxy).unwrap(),
                Destination::Name("h".into()),
                1,
                &mut out,
            );
            assert!(matches!(result, Err(ConfigError::SocksCredentials)));
        }
    }
}
