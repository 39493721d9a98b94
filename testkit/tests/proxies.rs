//! The proxies of `sockette_testkit::proxies` really proxy: through each, by
//! hand with raw bytes (an HTTP `CONNECT`, or the SOCKS5 greeting,
//! username/password and connect of RFC 1928 and RFC 1929), to an echo server
//! on loopback, and each refuses what it should, the way it does.
//!
//! The tinyproxy and microsocks tests skip when the program is missing (they
//! fail then under `SOCKETTE_REQUIRE_SYSTEM_PROXIES=1`); the pproxy ones set up
//! the tests' Python environment. Run with `--nocapture` to see each proxy's
//! answers.

use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use sockette_core::rustls;
use sockette_core::rustls::pki_types::ServerName;
use sockette_testkit::pki::{self, scratch_dir, Pki};
use sockette_testkit::proxies::{self, or_skip, ProxyServer};

/// Bounds every read and write of the tests.
const TIMEOUT: Duration = Duration::from_secs(10);

const USER: &str = "alice";
const PASSWORD: &str = "s3cret-pw";

/// An echo server on 127.0.0.1: every connection gets back what it sends.
fn echo_server() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            thread::spawn(move || {
                let _ = stream.set_read_timeout(Some(TIMEOUT));
                let mut reader = stream.try_clone().unwrap();
                let _ = std::io::copy(&mut reader, &mut stream);
            });
        }
    });
    port
}

/// A loopback port nothing listens on (just freed).
fn closed_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    listener.local_addr().unwrap().port()
}

/// A TCP connection to the proxy, its reads and writes bounded.
fn connect(proxy: &ProxyServer) -> TcpStream {
    let stream = TcpStream::connect((Ipv4Addr::LOCALHOST, proxy.port()))
        .unwrap_or_else(|e| panic!("connecting to {}: {e}\n{}", proxy.url(), proxy.log()));
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    stream.set_write_timeout(Some(TIMEOUT)).unwrap();
    stream
}

/// Up to `n` bytes: fewer when the peer closes (or resets) first.
fn read_up_to(stream: &mut impl Read, n: usize) -> Vec<u8> {
    let mut bytes = vec![0; n];
    let mut filled = 0;
    while filled < n {
        match stream.read(&mut bytes[filled..]) {
            Ok(0) => break,
            Ok(k) => filled += k,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                panic!("no answer within {} s", TIMEOUT.as_secs())
            }
            // A reset, or TLS ending without close_notify: the peer is gone.
            Err(_) => break,
        }
    }
    bytes.truncate(filled);
    bytes
}

/// Whether the peer closes the connection (without sending anything more).
fn closes(stream: &mut impl Read) -> bool {
    read_up_to(stream, 1).is_empty()
}

/// Sends `CONNECT 127.0.0.1:port`, with Basic credentials when given, and
/// returns the answer's head (up to the blank line), or what came before the
/// proxy closed: empty when it answered nothing.
fn http_connect(stream: &mut (impl Read + Write), port: u16, auth: Option<(&str, &str)>) -> String {
    let authorization = auth.map_or_else(String::new, |(user, password)| {
        format!(
            "Proxy-Authorization: Basic {}\r\n",
            base64(format!("{user}:{password}").as_bytes())
        )
    });
    write!(
        stream,
        "CONNECT 127.0.0.1:{port} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{authorization}\r\n"
    )
    .unwrap();
    stream.flush().unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        match read_up_to(stream, 1)[..] {
            [byte] => head.push(byte),
            _ => break,
        }
        assert!(head.len() < 16 * 1024, "an endless head: {head:?}");
    }
    String::from_utf8_lossy(&head).into_owned()
}

/// The status code of an answer's head.
fn status(head: &str) -> Option<u16> {
    head.split(' ').nth(1)?.parse().ok()
}

/// The head's status line, for messages.
fn status_line(head: &str) -> &str {
    head.lines().next().unwrap_or("")
}

/// Sends a payload and checks it comes back.
fn assert_echoes(stream: &mut (impl Read + Write), proxy: &ProxyServer) {
    let payload: Vec<u8> = (0..4096u32).map(|i| (i * 7 + i / 256) as u8).collect();
    stream.write_all(&payload).unwrap();
    stream.flush().unwrap();
    let echoed = read_up_to(stream, payload.len());
    assert!(
        echoed == payload,
        "{} bytes echoed through {} of {} sent\n{}",
        echoed.len(),
        proxy.url(),
        payload.len(),
        proxy.log()
    );
}

/// Standard base64 with padding.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut text = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                text.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                text.push('=');
            }
        }
    }
    text
}

/// The SOCKS5 greeting offering `methods`; the two-byte answer (shorter if the
/// proxy closes).
fn socks_greet(stream: &mut (impl Read + Write), methods: &[u8]) -> Vec<u8> {
    let mut greeting = vec![5, methods.len() as u8];
    greeting.extend_from_slice(methods);
    stream.write_all(&greeting).unwrap();
    read_up_to(stream, 2)
}

/// RFC 1929 username/password; the two-byte status (shorter if the proxy
/// closes).
fn socks_auth(stream: &mut (impl Read + Write), user: &str, password: &str) -> Vec<u8> {
    let mut request = vec![1, user.len() as u8];
    request.extend_from_slice(user.as_bytes());
    request.push(password.len() as u8);
    request.extend_from_slice(password.as_bytes());
    stream.write_all(&request).unwrap();
    read_up_to(stream, 2)
}

/// The SOCKS5 CONNECT to 127.0.0.1:port; the whole reply (shorter if the proxy
/// closes).
fn socks_connect(stream: &mut (impl Read + Write), port: u16) -> Vec<u8> {
    let mut request = vec![5, 1, 0, 1, 127, 0, 0, 1];
    request.extend_from_slice(&port.to_be_bytes());
    stream.write_all(&request).unwrap();
    let mut reply = read_up_to(stream, 4);
    let rest = match reply.get(3) {
        Some(1) => 6,
        Some(4) => 18,
        Some(3) => usize::from(read_up_to(stream, 1).first().copied().unwrap_or(0)) + 2,
        _ => 0,
    };
    reply.extend(read_up_to(stream, rest));
    reply
}

/// A SOCKS5 session with no authentication, connected to `port`; asserts the
/// proxy agreed.
fn socks_open(proxy: &ProxyServer, port: u16) -> TcpStream {
    let mut stream = connect(proxy);
    assert_eq!(socks_greet(&mut stream, &[0]), [5, 0], "{}", proxy.log());
    let reply = socks_connect(&mut stream, port);
    assert_eq!(
        reply.get(..2),
        Some(&[5, 0][..]),
        "{reply:?}\n{}",
        proxy.log()
    );
    stream
}

/// A SOCKS5 session authenticated with the right credentials, connected to
/// `port`; asserts the proxy agreed.
fn socks_open_authenticated(proxy: &ProxyServer, port: u16) -> TcpStream {
    let mut stream = connect(proxy);
    assert_eq!(socks_greet(&mut stream, &[2]), [5, 2], "{}", proxy.log());
    assert_eq!(
        socks_auth(&mut stream, USER, PASSWORD),
        [1, 0],
        "{}",
        proxy.log()
    );
    let reply = socks_connect(&mut stream, port);
    assert_eq!(
        reply.get(..2),
        Some(&[5, 0][..]),
        "{reply:?}\n{}",
        proxy.log()
    );
    stream
}

#[test]
fn tinyproxy_tunnels_to_any_port_without_credentials() {
    let Some(proxy) = or_skip(proxies::tinyproxy(None, None)) else {
        return;
    };
    assert_eq!(proxy.url(), format!("http://127.0.0.1:{}", proxy.port()));
    let echo = echo_server();
    let mut stream = connect(&proxy);
    let head = http_connect(&mut stream, echo, None);
    assert_eq!(status(&head), Some(200), "{head:?}\n{}", proxy.log());
    eprintln!("tinyproxy, tunnel: {}", status_line(&head));
    assert_echoes(&mut stream, &proxy);

    // With no ConnectPort line every port is allowed: a closed one is tried.
    let head = http_connect(&mut connect(&proxy), closed_port(), None);
    assert_eq!(status(&head), Some(500), "{head:?}\n{}", proxy.log());
    eprintln!("tinyproxy, closed destination: {}", status_line(&head));
    assert!(
        proxy.log().contains("CONNECT 127.0.0.1:"),
        "{}",
        proxy.log()
    );
}

#[test]
fn tinyproxy_with_credentials_refuses_the_wrong_ones_and_tunnels_with_the_right() {
    let Some(proxy) = or_skip(proxies::tinyproxy(Some((USER, PASSWORD)), None)) else {
        return;
    };
    assert_eq!(
        proxy.url(),
        format!("http://{USER}:{PASSWORD}@127.0.0.1:{}", proxy.port())
    );
    let echo = echo_server();

    let head = http_connect(&mut connect(&proxy), echo, None);
    assert_eq!(status(&head), Some(407), "{head:?}\n{}", proxy.log());
    assert!(head.contains("Proxy-Authenticate: Basic"), "{head:?}");
    eprintln!("tinyproxy, no credentials: {}", status_line(&head));

    // tinyproxy before 1.11.2 answers wrong credentials with 401 and a
    // WWW-Authenticate header (tinyproxy issue #532), later ones with 407.
    let head = http_connect(&mut connect(&proxy), echo, Some((USER, "wrong")));
    assert!(
        matches!(status(&head), Some(401 | 407)),
        "{head:?}\n{}",
        proxy.log()
    );
    eprintln!("tinyproxy, wrong password: {}", status_line(&head));

    let mut stream = connect(&proxy);
    let head = http_connect(&mut stream, echo, Some((USER, PASSWORD)));
    assert_eq!(status(&head), Some(200), "{head:?}\n{}", proxy.log());
    assert_echoes(&mut stream, &proxy);
}

#[test]
fn tinyproxy_refuses_connect_ports_not_allowed() {
    let echo = echo_server();
    let other = echo_server();
    let Some(proxy) = or_skip(proxies::tinyproxy(None, Some(&[443, echo]))) else {
        return;
    };
    let mut stream = connect(&proxy);
    let head = http_connect(&mut stream, echo, None);
    assert_eq!(status(&head), Some(200), "{head:?}\n{}", proxy.log());
    assert_echoes(&mut stream, &proxy);

    let mut stream = connect(&proxy);
    let head = http_connect(&mut stream, other, None);
    assert_eq!(status(&head), Some(403), "{head:?}\n{}", proxy.log());
    eprintln!("tinyproxy, port not allowed: {}", status_line(&head));
}

#[test]
fn microsocks_without_credentials_connects_and_reports_a_refused_destination() {
    let Some(proxy) = or_skip(proxies::microsocks(None)) else {
        return;
    };
    assert_eq!(proxy.url(), format!("socks5://127.0.0.1:{}", proxy.port()));
    let echo = echo_server();
    let mut stream = socks_open(&proxy, echo);
    assert_echoes(&mut stream, &proxy);

    // Offered only username/password, it takes none of the methods.
    assert_eq!(socks_greet(&mut connect(&proxy), &[2]), [5, 0xFF]);

    let mut stream = connect(&proxy);
    assert_eq!(socks_greet(&mut stream, &[0]), [5, 0]);
    let reply = socks_connect(&mut stream, closed_port());
    eprintln!("microsocks, closed destination: {reply:02x?}");
    assert_eq!(
        reply.get(..2),
        Some(&[5, 5][..]),
        "connection refused: {reply:?}"
    );
    assert!(closes(&mut stream));
}

#[test]
fn microsocks_with_credentials_refuses_the_wrong_ones_and_connects_with_the_right() {
    let Some(proxy) = or_skip(proxies::microsocks(Some((USER, PASSWORD)))) else {
        return;
    };
    assert_eq!(
        proxy.url(),
        format!("socks5://{USER}:{PASSWORD}@127.0.0.1:{}", proxy.port())
    );
    let echo = echo_server();

    assert_eq!(socks_greet(&mut connect(&proxy), &[0]), [5, 0xFF]);

    let mut stream = connect(&proxy);
    assert_eq!(socks_greet(&mut stream, &[0, 2]), [5, 2]);
    let answer = socks_auth(&mut stream, USER, "wrong");
    eprintln!("microsocks, wrong password: {answer:02x?}");
    assert!(
        answer.len() == 2 && answer[0] == 1 && answer[1] != 0,
        "{answer:?}"
    );
    assert!(closes(&mut stream));

    let mut stream = socks_open_authenticated(&proxy, echo);
    assert_echoes(&mut stream, &proxy);
}

#[test]
fn pproxy_http_tunnels_and_says_nothing_of_a_refused_destination() {
    let proxy = proxies::pproxy_http(None);
    assert_eq!(proxy.url(), format!("http://127.0.0.1:{}", proxy.port()));
    let echo = echo_server();
    let mut stream = connect(&proxy);
    let head = http_connect(&mut stream, echo, None);
    assert_eq!(status(&head), Some(200), "{head:?}\n{}", proxy.log());
    eprintln!("pproxy http, tunnel: {}", status_line(&head));
    assert_echoes(&mut stream, &proxy);

    // pproxy answers only once connected; when it cannot, it just closes.
    let head = http_connect(&mut connect(&proxy), closed_port(), None);
    assert_eq!(head, "", "{}", proxy.log());
}

#[test]
fn pproxy_http_with_credentials_refuses_the_wrong_ones_and_tunnels_with_the_right() {
    let proxy = proxies::pproxy_http(Some((USER, PASSWORD)));
    assert_eq!(
        proxy.url(),
        format!("http://{USER}:{PASSWORD}@127.0.0.1:{}", proxy.port())
    );
    let echo = echo_server();
    let mut stream = connect(&proxy);
    let head = http_connect(&mut stream, echo, Some((USER, PASSWORD)));
    assert_eq!(status(&head), Some(200), "{head:?}\n{}", proxy.log());
    assert_echoes(&mut stream, &proxy);

    // After a success from this address too (pproxy runs with --auth 0).
    for auth in [None, Some((USER, "wrong"))] {
        let head = http_connect(&mut connect(&proxy), echo, auth);
        assert_eq!(
            status(&head),
            Some(407),
            "{auth:?}: {head:?}\n{}",
            proxy.log()
        );
        assert!(head.contains("Proxy-Authenticate: Basic"), "{head:?}");
        eprintln!("pproxy http, credentials {auth:?}: {}", status_line(&head));
    }
}

/// A TLS client trusting `pki`'s CA, connected to the proxy as `127.0.0.1`.
fn tls_connect(
    proxy: &ProxyServer,
    pki: &Pki,
) -> rustls::StreamOwned<rustls::ClientConnection, TcpStream> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(pki.ca_der()).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(pki::provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = ServerName::try_from("127.0.0.1").unwrap();
    let connection = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
    rustls::StreamOwned::new(connection, connect(proxy))
}

#[test]
fn pproxy_https_tunnels_inside_tls_and_checks_credentials() {
    let pki = Pki::new("sockette proxies test CA");
    let files = pki.write_files(scratch_dir("pproxy-https-proxy"));
    let cert = files.join("cert.pem");
    let key = files.join("key.pem");
    let echo = echo_server();

    let proxy = proxies::pproxy_https(None, &cert, &key);
    assert_eq!(proxy.url(), format!("https://127.0.0.1:{}", proxy.port()));
    let mut stream = tls_connect(&proxy, &pki);
    let head = http_connect(&mut stream, echo, None);
    assert_eq!(status(&head), Some(200), "{head:?}\n{}", proxy.log());
    let suite = stream.conn.negotiated_cipher_suite().unwrap().suite();
    eprintln!("pproxy https, tunnel ({suite:?}): {}", status_line(&head));
    assert_echoes(&mut stream, &proxy);

    let proxy = proxies::pproxy_https(Some((USER, PASSWORD)), &cert, &key);
    assert_eq!(
        proxy.url(),
        format!("https://{USER}:{PASSWORD}@127.0.0.1:{}", proxy.port())
    );
    let head = http_connect(&mut tls_connect(&proxy, &pki), echo, Some((USER, "wrong")));
    assert_eq!(status(&head), Some(407), "{head:?}\n{}", proxy.log());
    eprintln!("pproxy https, wrong password: {}", status_line(&head));
    let mut stream = tls_connect(&proxy, &pki);
    let head = http_connect(&mut stream, echo, Some((USER, PASSWORD)));
    assert_eq!(status(&head), Some(200), "{head:?}\n{}", proxy.log());
    assert_echoes(&mut stream, &proxy);
}

#[test]
fn pproxy_socks5_connects_and_answers_before_reaching_the_destination() {
    let proxy = proxies::pproxy_socks5(None);
    assert_eq!(proxy.url(), format!("socks5://127.0.0.1:{}", proxy.port()));
    let echo = echo_server();
    let mut stream = socks_open(&proxy, echo);
    assert_echoes(&mut stream, &proxy);

    // pproxy says "succeeded" (echoing the requested address) before it
    // connects; a refused destination then only closes the connection.
    let closed = closed_port();
    let mut stream = connect(&proxy);
    assert_eq!(socks_greet(&mut stream, &[0]), [5, 0]);
    let reply = socks_connect(&mut stream, closed);
    eprintln!("pproxy socks5, closed destination: {reply:02x?}, then closed");
    let mut expected = vec![5, 0, 0, 1, 127, 0, 0, 1];
    expected.extend_from_slice(&closed.to_be_bytes());
    assert_eq!(reply, expected);
    assert!(closes(&mut stream));
}

#[test]
fn pproxy_socks5_with_credentials_closes_on_the_wrong_ones_and_connects_with_the_right() {
    let proxy = proxies::pproxy_socks5(Some((USER, PASSWORD)));
    assert_eq!(
        proxy.url(),
        format!("socks5://{USER}:{PASSWORD}@127.0.0.1:{}", proxy.port())
    );
    let echo = echo_server();
    let mut stream = socks_open_authenticated(&proxy, echo);
    assert_echoes(&mut stream, &proxy);

    // pproxy neither picks "no acceptable method" (0xFF) nor sends a failure
    // status: it closes.
    assert_eq!(socks_greet(&mut connect(&proxy), &[0]), b"");
    let mut stream = connect(&proxy);
    assert_eq!(socks_greet(&mut stream, &[0, 2]), [5, 2]);
    assert_eq!(
        socks_auth(&mut stream, USER, "wrong"),
        b"",
        "{}",
        proxy.log()
    );
}

#[test]
fn a_dropped_proxy_is_gone() {
    let mut ports = vec![];
    let proxy = proxies::pproxy_socks5(None);
    ports.push(proxy.port());
    drop(proxy);
    for proxy in [proxies::tinyproxy(None, None), proxies::microsocks(None)]
        .into_iter()
        .filter_map(or_skip)
    {
        ports.push(proxy.port());
    }
    for port in ports {
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let error = TcpStream::connect_timeout(&address, TIMEOUT).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::ConnectionRefused, "port {port}");
    }
}
