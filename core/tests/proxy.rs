//! The proxy stage in memory: a client core through a scripted proxy (HTTP
//! CONNECT or SOCKS5, over TLS for an `https://` proxy) to a server core,
//! every answer cut at random; and every way a proxy can fail, each named.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sockette_core::rustls;
use sockette_core::{
    ClientConfig, CloseCode, Connection, Error, Event, Message, Proxy, ProxyErrorKind, ProxyStep,
    SocksReply,
};
use sockette_testkit::chunking::XorShift;
use sockette_testkit::config::{client_config, server_config};
use sockette_testkit::pki::Pki;

/// The proxy's end of the client's transport: plain, or TLS terminated here.
enum ProxyEnd {
    Plain,
    Tls(Box<rustls::ServerConnection>),
}

impl ProxyEnd {
    /// What the proxy reads of the client's bytes.
    fn receive_from_client(&mut self, wire: &[u8]) -> Vec<u8> {
        match self {
            ProxyEnd::Plain => wire.to_vec(),
            ProxyEnd::Tls(tls) => {
                let mut reader = wire;
                while !reader.is_empty() {
                    tls.read_tls(&mut reader).unwrap();
                    // A client that refused the proxy's certificate sends an
                    // alert: the proxy's side of that is not under test.
                    if tls.process_new_packets().is_err() {
                        return Vec::new();
                    }
                }
                let mut plain = Vec::new();
                let _ = std::io::Read::read_to_end(&mut tls.reader(), &mut plain);
                plain
            }
        }
    }

    /// The wire bytes for what the proxy sends (and its TLS handshake).
    fn send_to_client(&mut self, plain: &[u8]) -> Vec<u8> {
        match self {
            ProxyEnd::Plain => plain.to_vec(),
            ProxyEnd::Tls(tls) => {
                std::io::Write::write_all(&mut tls.writer(), plain).unwrap();
                let mut wire = Vec::new();
                while tls.wants_write() {
                    tls.write_tls(&mut wire).unwrap();
                }
                wire
            }
        }
    }
}

/// A client through a scripted proxy to a server.
struct Route {
    client: Connection,
    server: Connection,
    proxy: ProxyEnd,
    script: Script,
    /// What the proxy received and has not matched yet.
    at_proxy: Vec<u8>,
    now: Instant,
    rng: XorShift,
    client_events: Vec<Event>,
    server_events: Vec<Event>,
}

impl Route {
    fn new(client: ClientConfig, proxy: ProxyEnd, script: Script) -> Route {
        let now = Instant::now();
        Route {
            client: Connection::client(client, now).unwrap(),
            server: Connection::server(server_config(), now).unwrap(),
            proxy,
            script,
            at_proxy: Vec::new(),
            now,
            rng: XorShift::new(7),
            client_events: Vec::new(),
            server_events: Vec::new(),
        }
    }

    /// Gives `wire` to the client in random cuts, draining its events.
    fn feed_client(&mut self, wire: &[u8]) {
        let mut rest = wire;
        while !rest.is_empty() {
            let n = self.rng.between_1_and(rest.len().min(7));
            self.client.handle_input(self.now, &rest[..n]);
            rest = &rest[n..];
            self.client_events
                .extend(std::iter::from_fn(|| self.client.poll_event()));
        }
    }

    /// Moves bytes until nothing moves.
    fn run(&mut self) {
        for _ in 0..1000 {
            let mut moved = false;
            if let Some(out) = self.client.poll_transmit() {
                let out = out.to_vec();
                self.client.advance_transmit(out.len());
                let plain = self.proxy.receive_from_client(&out);
                self.at_proxy.extend_from_slice(&plain);
                moved = true;
            }
            let handshake = self.proxy.send_to_client(&[]);
            if !handshake.is_empty() {
                self.feed_client(&handshake);
                moved = true;
            }
            if let Some((expected, _)) = self.script.first() {
                if self.at_proxy.len() >= expected.len() {
                    let (expected, answer) = self.script.remove(0);
                    let got: Vec<u8> = self.at_proxy.drain(..expected.len()).collect();
                    assert_eq!(
                        String::from_utf8_lossy(&got),
                        String::from_utf8_lossy(&expected),
                        "what the proxy received"
                    );
                    let wire = self.proxy.send_to_client(&answer);
                    self.feed_client(&wire);
                    moved = true;
                }
            } else {
                // The tunnel: bytes pass both ways.
                if !self.at_proxy.is_empty() {
                    let bytes = std::mem::take(&mut self.at_proxy);
                    self.server.handle_input(self.now, &bytes);
                    moved = true;
                }
                self.server_events
                    .extend(std::iter::from_fn(|| self.server.poll_event()));
                if let Some(out) = self.server.poll_transmit() {
                    let out = out.to_vec();
                    self.server.advance_transmit(out.len());
                    let wire = self.proxy.send_to_client(&out);
                    self.feed_client(&wire);
                    moved = true;
                }
            }
            self.client_events
                .extend(std::iter::from_fn(|| self.client.poll_event()));
            if !moved {
                return;
            }
        }
        panic!("the route never went quiet");
    }

    /// Echoes one text message through the tunnel and checks it came back.
    fn echo(&mut self, text: &str) {
        assert!(
            matches!(self.client_events.first(), Some(Event::Open(_))),
            "{:?}",
            self.client_events
        );
        self.client.send_text(text).unwrap();
        self.run();
        let at_server: Vec<_> = self.server_events.drain(..).collect();
        let message = at_server
            .iter()
            .find_map(|e| match e {
                Event::Message(m) => Some(m.clone()),
                _ => None,
            })
            .expect("the server got the message");
        self.server.send(&message).unwrap();
        self.run();
        assert!(
            self.client_events
                .iter()
                .any(|e| matches!(e, Event::Message(Message::Text(t)) if t.as_str() == text)),
            "{:?}",
            self.client_events
        );
    }

    /// The client's proxy error and that its close is 1006 after it.
    fn proxy_error(&self) -> &sockette_core::ProxyError {
        match self.client_events.as_slice() {
            [Event::Error(e), Event::Close(close)] => {
                assert_eq!(close.code, CloseCode::Abnormal);
                match &**e {
                    Error::Proxy(p) => p,
                    other => panic!("expected a proxy error, got {other}"),
                }
            }
            other => panic!("expected Error then Close, got {other:?}"),
        }
    }
}

/// What a scripted proxy expects in turn, and what it answers to each.
type Script = Vec<(Vec<u8>, Vec<u8>)>;

/// A script the proxy never gets to the end of: it stays silent.
fn silent() -> Script {
    vec![(vec![0; 4096], Vec::new())]
}

fn connect_request(target: &str, auth: Option<&str>) -> Vec<u8> {
    let mut request = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n");
    if let Some(token) = auth {
        request.push_str(&format!("Proxy-Authorization: Basic {token}\r\n"));
    }
    request.push_str("\r\n");
    request.into_bytes()
}

fn through(url: &str, proxy: &str) -> ClientConfig {
    client_config(url).proxy(Proxy::parse(proxy).unwrap())
}

#[test]
fn ws_through_http_connect_with_basic_credentials() {
    for seed in 0..20 {
        let mut route = Route::new(
            through(
                "ws://example.com:9001/chat",
                "http://alice:s%40fe@proxy:3128",
            ),
            ProxyEnd::Plain,
            vec![(
                connect_request("example.com:9001", Some("YWxpY2U6c0BmZQ==")),
                b"HTTP/1.1 200 Connection established\r\nProxy-Agent: test\r\n\r\n".to_vec(),
            )],
        );
        route.rng = XorShift::new(seed + 1);
        route.run();
        route.echo("through the tunnel");
    }
}

#[test]
fn bytes_behind_the_proxys_answer_go_to_the_upgrade() {
    // Nothing may precede the server's 101; what follows the proxy's 200 in
    // the same read is taken as the start of it, not dropped.
    let mut route = Route::new(
        through("ws://example.com/", "http://proxy"),
        ProxyEnd::Plain,
        vec![(
            connect_request("example.com:80", None),
            b"HTTP/1.1 200 OK\r\n\r\nSMTP ready\r\n\r\n".to_vec(),
        )],
    );
    route.run();
    match route.client_events.first() {
        Some(Event::Error(e)) => assert!(
            matches!(**e, Error::Handshake(_)),
            "the leftover reached the upgrade: {e}"
        ),
        other => panic!("expected the upgrade to fail on the leftover, got {other:?}"),
    }
}

#[test]
fn wss_inside_tls_to_an_https_proxy() {
    let pki = Pki::new("proxy test CA");
    let proxy_tls = rustls::ServerConnection::new(sockette_testkit::pki::server_tls(
        pki.leaf(&["proxy.test"], |_| {}),
    ))
    .unwrap();
    // The server's TLS inside the proxy's: a second certificate from the same CA.
    let server_tls: Arc<rustls::ServerConfig> =
        sockette_testkit::pki::server_tls(pki.leaf(&["example.com"], |_| {}));
    let config = through("wss://example.com/", "https://proxy.test:8443")
        .add_root_certificates_pem(pki.ca_pem().as_bytes())
        .unwrap();
    let mut route = Route::new(
        config,
        ProxyEnd::Tls(Box::new(proxy_tls)),
        vec![(
            connect_request("example.com:443", None),
            b"HTTP/1.1 200 OK\r\n\r\n".to_vec(),
        )],
    );
    route.server = Connection::server(server_config().tls(server_tls), route.now).unwrap();
    route.run();
    assert!(route.client.is_tls());
    route.echo("TLS in TLS");
}

#[test]
fn an_https_proxy_with_an_untrusted_certificate_fails_at_the_proxy_tls_step() {
    let pki = Pki::new("proxy test CA");
    let other = Pki::new("someone else");
    let proxy_tls = rustls::ServerConnection::new(sockette_testkit::pki::server_tls(
        other.leaf(&["proxy.test"], |_| {}),
    ))
    .unwrap();
    let config = through("ws://example.com/", "https://proxy.test")
        .add_root_certificates_pem(pki.ca_pem().as_bytes())
        .unwrap();
    let mut route = Route::new(config, ProxyEnd::Tls(Box::new(proxy_tls)), silent());
    route.run();
    let error = route.proxy_error();
    assert_eq!(error.step(), ProxyStep::Tls);
    assert!(matches!(error.kind(), ProxyErrorKind::Tls(_)), "{error}");
    assert!(
        error.to_string().contains("TLS handshake with the proxy"),
        "{error}"
    );
}

#[test]
fn socks5h_with_username_and_password() {
    let mut connect = vec![5, 1, 0, 3, 11];
    connect.extend_from_slice(b"example.com");
    connect.extend_from_slice(&9001u16.to_be_bytes());
    let mut route = Route::new(
        through("ws://example.com:9001/", "socks5h://bob:pw@proxy"),
        ProxyEnd::Plain,
        vec![
            (vec![5, 2, 0, 2], vec![5, 2]),
            (vec![1, 3, b'b', b'o', b'b', 2, b'p', b'w'], vec![1, 0]),
            (connect, vec![5, 0, 0, 1, 10, 0, 0, 1, 0x1f, 0x90]),
        ],
    );
    route.run();
    route.echo("socks");
}

#[test]
fn socks5_sends_the_address_it_was_given() {
    let mut connect = vec![5, 1, 0, 4];
    connect.extend_from_slice(
        &"2001:db8::7"
            .parse::<std::net::Ipv6Addr>()
            .unwrap()
            .octets(),
    );
    connect.extend_from_slice(&80u16.to_be_bytes());
    let proxy = Proxy::parse("socks5://proxy")
        .unwrap()
        .destination_address("2001:db8::7".parse().unwrap());
    let mut route = Route::new(
        client_config("ws://example.com/").proxy(proxy),
        ProxyEnd::Plain,
        vec![
            (vec![5, 1, 0], vec![5, 0]),
            (
                connect,
                vec![
                    5, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                ],
            ),
        ],
    );
    route.run();
    route.echo("by address");
}

#[test]
fn socks5_asks_for_the_servers_address_and_fails_without_it() {
    let mut route = Route::new(
        through("ws://example.com/", "socks5://proxy"),
        ProxyEnd::Plain,
        vec![(vec![5, 1, 0], vec![5, 0])],
    );
    assert_eq!(
        route.client.proxy_destination_to_resolve(),
        Some("example.com")
    );
    route.script.extend(silent());
    route.run();
    let error = route.proxy_error();
    assert_eq!(error.step(), ProxyStep::SocksGreeting);
    assert!(
        matches!(error.kind(), ProxyErrorKind::Unresolved { host } if host == "example.com"),
        "{error}"
    );
    assert!(error.to_string().contains("socks5h://"), "{error}");

    // Resolved by the caller: the address goes to the proxy.
    let mut connect = vec![5, 1, 0, 1, 192, 0, 2, 9];
    connect.extend_from_slice(&80u16.to_be_bytes());
    let mut route = Route::new(
        through("ws://example.com/", "socks5://proxy"),
        ProxyEnd::Plain,
        vec![
            (vec![5, 1, 0], vec![5, 0]),
            (connect, vec![5, 0, 0, 1, 0, 0, 0, 0, 0, 0]),
        ],
    );
    route
        .client
        .resolve_proxy_destination("192.0.2.9".parse().unwrap());
    assert_eq!(route.client.proxy_destination_to_resolve(), None);
    route.run();
    route.echo("resolved here");

    // An IP literal needs no lookup.
    let client = Connection::client(through("ws://192.0.2.1/", "socks5://proxy"), Instant::now());
    assert_eq!(client.unwrap().proxy_destination_to_resolve(), None);
}

#[test]
fn every_proxy_refusal_is_named() {
    let cases: Vec<(&str, Script, ProxyStep, ProxyErrorKind, &str)> = vec![
        (
            "http://proxy",
            vec![(
                connect_request("example.com:80", None),
                b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"corp\"\r\n\r\n".to_vec(),
            )],
            ProxyStep::HttpConnect,
            ProxyErrorKind::Status {
                code: 407,
                reason: "Proxy Authentication Required".into(),
                challenge: Some("Basic realm=\"corp\"".into()),
            },
            "Basic realm",
        ),
        (
            "http://proxy",
            vec![(
                connect_request("example.com:80", None),
                b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 5\r\n\r\nnope!".to_vec(),
            )],
            ProxyStep::HttpConnect,
            ProxyErrorKind::Status {
                code: 502,
                reason: "Bad Gateway".into(),
                challenge: None,
            },
            "502 Bad Gateway",
        ),
        (
            "socks5h://proxy",
            vec![
                (vec![5, 1, 0], vec![5, 0]),
                ([&[5, 1, 0, 3, 11][..], b"example.com", &[0, 80]].concat(), vec![5, 5, 0, 1, 0, 0, 0, 0, 0, 0]),
            ],
            ProxyStep::SocksConnect,
            ProxyErrorKind::Socks(SocksReply::ConnectionRefused),
            "connection refused by the destination",
        ),
        (
            "socks5h://u:bad@proxy",
            vec![
                (vec![5, 2, 0, 2], vec![5, 2]),
                (vec![1, 1, b'u', 3, b'b', b'a', b'd'], vec![1, 1]),
            ],
            ProxyStep::SocksAuth,
            ProxyErrorKind::AuthFailed { status: 1 },
            "auth failed",
        ),
        (
            "socks5h://proxy",
            vec![(vec![5, 1, 0], vec![5, 0xFF])],
            ProxyStep::SocksGreeting,
            ProxyErrorKind::NoAcceptableAuth {
                offered_password: false,
            },
            "requires authentication",
        ),
    ];
    for (proxy, script, step, kind, words) in cases {
        let mut route = Route::new(through("ws://example.com/", proxy), ProxyEnd::Plain, script);
        route.run();
        let error = route.proxy_error();
        assert_eq!((error.step(), error.kind()), (step, &kind), "{proxy}");
        let message = Error::Proxy(error.clone()).to_string();
        assert!(message.contains(words), "{message}");
        assert!(message.contains("proxy"), "{message}");
        assert!(!route
            .server_events
            .iter()
            .any(|e| matches!(e, Event::Open(_))));
    }
}

#[test]
fn a_proxy_that_closes_half_way_or_stalls_fails_at_its_step() {
    // Closed in the middle of the CONNECT answer.
    let mut route = Route::new(
        through("ws://example.com/", "http://proxy"),
        ProxyEnd::Plain,
        silent(),
    );
    route.run();
    route.feed_client(b"HTTP/1.1 200 Conn");
    route.client.handle_eof(route.now);
    route
        .client_events
        .extend(std::iter::from_fn(|| route.client.poll_event()));
    let error = route.proxy_error();
    assert_eq!(
        (error.step(), error.kind()),
        (ProxyStep::HttpConnect, &ProxyErrorKind::Closed)
    );

    // Silent after the SOCKS5 greeting's answer: the opening deadline.
    let config = through("ws://example.com/", "socks5h://proxy")
        .timeouts(sockette_core::Timeouts::default().handshake(Duration::from_secs(3)));
    let mut route = Route::new(config, ProxyEnd::Plain, vec![(vec![5, 1, 0], vec![5, 0])]);
    route.script.extend(silent());
    route.run();
    assert!(route.client_events.is_empty());
    assert_eq!(
        route.client.poll_timeout(),
        Some(route.now + Duration::from_secs(3))
    );
    route.now += Duration::from_secs(3);
    route.client.handle_timeout(route.now);
    route
        .client_events
        .extend(std::iter::from_fn(|| route.client.poll_event()));
    let error = route.proxy_error();
    assert_eq!(
        (error.step(), error.kind()),
        (ProxyStep::SocksConnect, &ProxyErrorKind::TimedOut)
    );
}

#[test]
fn garbage_and_oversized_answers_fail_cleanly() {
    let mut route = Route::new(
        through("ws://example.com/", "http://proxy"),
        ProxyEnd::Plain,
        silent(),
    );
    route.run();
    route.feed_client(&[5, 0, 1, 2, 3]);
    let error = route.proxy_error();
    assert!(
        matches!(error.kind(), ProxyErrorKind::Malformed(d) if d.contains("socks5://")),
        "{error}"
    );

    let config = through("ws://example.com/", "http://proxy")
        .limits(sockette_core::Limits::default().max_handshake_size(512));
    let mut route = Route::new(config, ProxyEnd::Plain, silent());
    route.run();
    let mut flood = b"HTTP/1.1 200 OK\r\n".to_vec();
    for _ in 0..100 {
        flood.extend_from_slice(b"X-Padding: aaaaaaaaaaaaaaaaaaaaaaaa\r\n");
    }
    route.feed_client(&flood);
    let error = route.proxy_error();
    assert_eq!(error.kind(), &ProxyErrorKind::TooLarge { limit: 512 });
    // Nothing more is read once failed.
    assert!(route.client.is_closed());
}

#[test]
fn messages_sent_before_the_tunnel_opens_are_held_and_counted() {
    let mut route = Route::new(
        through("ws://example.com/", "http://proxy"),
        ProxyEnd::Plain,
        vec![(
            connect_request("example.com:80", None),
            b"HTTP/1.1 200 OK\r\n\r\n".to_vec(),
        )],
    );
    let before = route.client.buffered_amount();
    route.client.send_text("early").unwrap();
    assert!(route.client.buffered_amount() > before);
    route.run();
    let at_server: Vec<_> = route.server_events.drain(..).collect();
    assert!(
        at_server
            .iter()
            .any(|e| matches!(e, Event::Message(Message::Text(t)) if t.as_str() == "early")),
        "{at_server:?}"
    );
    assert_eq!(route.client.buffered_amount(), 0);
}

/// Found in review: what waited for the tunnel stayed counted after the
/// proxy refused; a SOCKS5 proxy answering ahead of our request left the
/// request counted forever (and due to be sent into the tunnel); an
/// `https://` proxy speaking plain HTTP got the server's hint.
#[test]
fn review_findings_stay_fixed() {
    let mut route = Route::new(
        through("wss://example.com/", "http://proxy"),
        ProxyEnd::Plain,
        vec![(
            connect_request("example.com:443", None),
            b"HTTP/1.1 403 Forbidden\r\n\r\n".to_vec(),
        )],
    );
    route.run();
    assert_eq!(route.proxy_error().step(), ProxyStep::HttpConnect);
    assert_eq!(route.client.buffered_amount(), 0);

    let mut route = Route::new(
        through("ws://example.com/", "socks5h://proxy"),
        ProxyEnd::Plain,
        silent(),
    );
    route.run();
    // In one read: cut, the request would go out between the two replies;
    // whole, it is answered already and never goes out: the upgrade follows,
    // and nothing stays counted.
    route
        .client
        .handle_input(route.now, &[5, 0, 5, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    let out = route.client.poll_transmit().unwrap_or_default().to_vec();
    assert!(out.starts_with(b"GET / HTTP/1.1\r\n"), "{out:?}");
    route.client.advance_transmit(out.len());
    assert_eq!(route.client.buffered_amount(), 0);

    let mut route = Route::new(
        through("ws://example.com/", "https://proxy.test"),
        ProxyEnd::Plain,
        silent(),
    );
    route.run();
    route.feed_client(b"HTTP/1.1 400 Bad Request\r\n\r\n");
    let error = route.proxy_error();
    assert_eq!(error.step(), ProxyStep::Tls);
    assert!(error.to_string().contains("http:// proxy URL"), "{error}");
}
