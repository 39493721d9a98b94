//! wss:// in memory: a client core and a server core over real rustls sessions,
//! with certificates made at test time. Every TLS failure has its own kind.

use std::sync::Arc;
use std::time::Instant;

use rcgen::{date_time_ymd, BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use sockette_core::rustls;
use sockette_core::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use sockette_core::{
    ChaChaSource, ClientConfig, CloseCode, ConfigError, Connection, Error, Event, HandshakeError,
    Message, PemItem, ServerConfig, TlsErrorKind,
};
use sockette_testkit::pki::{provider, self_signed, self_signed_with, server_tls, Leaf, Pki};
use sockette_testkit::{drive, drive_at};

fn client(url: &str, pki: &Pki) -> Connection {
    let config = ClientConfig::new(url)
        .unwrap()
        .wall_clock(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_780_000_000))
        .add_root_certificates_pem(pki.ca_pem().as_bytes())
        .unwrap()
        .random_source(ChaChaSource::from_seed(1));
    Connection::client(config, Instant::now()).unwrap()
}

fn server(tls: Arc<rustls::ServerConfig>) -> Connection {
    let config = ServerConfig::new()
        .tls(tls)
        .random_source(ChaChaSource::from_seed(2));
    Connection::server(config, Instant::now()).unwrap()
}

fn tls_error(events: &[Event]) -> (TlsErrorKind, String) {
    assert!(
        !events.iter().any(|e| matches!(e, Event::Open(_))),
        "no Open expected: {events:?}"
    );
    match events.iter().find_map(Event::error) {
        Some(Error::Tls(e)) => (e.kind(), e.to_string()),
        other => panic!("expected a TLS error, got {other:?} in {events:?}"),
    }
}

fn close_of(events: &[Event]) -> &sockette_core::CloseInfo {
    match events.last() {
        Some(Event::Close(c)) => c,
        other => panic!("expected Close last, got {other:?}"),
    }
}

#[test]
fn wss_session_exchanges_messages_and_closes_cleanly_with_close_notify() {
    let pki = Pki::new("sockette test CA");
    let mut c = client("wss://localhost/chat", &pki);
    let mut s = server(server_tls(pki.leaf(&["localhost"], |_| {})));
    assert!(c.is_tls() && s.is_tls());
    c.send_text("hello over TLS").unwrap();
    c.send_binary(&[1, 2, 3]).unwrap();
    let (ce, se) = drive(&mut c, &mut s, usize::MAX);
    assert!(matches!(ce.first(), Some(Event::Open(_))));
    assert!(matches!(&se[1], Event::Message(Message::Text(t)) if t == "hello over TLS"));
    assert!(matches!(&se[2], Event::Message(Message::Binary(b)) if b[..] == [1, 2, 3]));
    s.send_text("and back").unwrap();
    s.send_binary(&[9; 1000]).unwrap();
    let (ce, _) = drive(&mut c, &mut s, usize::MAX);
    assert!(matches!(&ce[0], Event::Message(Message::Text(t)) if t == "and back"));
    assert!(matches!(&ce[1], Event::Message(Message::Binary(b)) if b.len() == 1000));
    c.close(Instant::now(), CloseCode::Normal, "bye").unwrap();
    let (ce, se) = drive(&mut c, &mut s, usize::MAX);
    let closed = close_of(&ce);
    assert!(closed.was_clean && closed.code == CloseCode::Normal);
    let closed = close_of(&se);
    assert!(closed.was_clean && closed.code == 1000 && closed.reason == "bye");
    assert!(c.tls_close_notify_received(), "server sent close_notify");
}

#[test]
fn byte_at_a_time_and_odd_chunkings_work() {
    let pki = Pki::new("sockette test CA");
    for chunk in [1, 2, 7, 100, 1500] {
        let mut c = client("wss://localhost/", &pki);
        let mut s = server(server_tls(pki.leaf(&["localhost"], |_| {})));
        c.send_text("tiny pieces").unwrap();
        let (ce, se) = drive(&mut c, &mut s, chunk);
        assert!(matches!(ce.first(), Some(Event::Open(_))), "chunk {chunk}");
        assert!(
            matches!(&se[1], Event::Message(Message::Text(t)) if t == "tiny pieces"),
            "chunk {chunk}: {se:?}"
        );
    }
}

#[test]
fn a_large_message_crosses_tls_intact() {
    let pki = Pki::new("sockette test CA");
    let mut c = client("wss://localhost/", &pki);
    let mut s = server(server_tls(pki.leaf(&["localhost"], |_| {})));
    let payload: Vec<u8> = (0..6 << 20).map(|i: u32| (i * 31 % 251) as u8).collect();
    c.send_binary(&payload).unwrap();
    let (_, se) = drive(&mut c, &mut s, 16 * 1024 + 5);
    match &se[1] {
        Event::Message(Message::Binary(b)) => assert!(b[..] == payload[..]),
        other => panic!("{other:?}"),
    }
}

#[test]
fn ip_address_host_is_verified_against_ip_sans() {
    let pki = Pki::new("sockette test CA");
    let mut c = client("wss://127.0.0.1:8443/", &pki);
    let mut s = server(server_tls(pki.leaf(&["127.0.0.1"], |_| {})));
    let (ce, _) = drive(&mut c, &mut s, usize::MAX);
    assert!(matches!(ce.first(), Some(Event::Open(_))), "{ce:?}");
}

/// The client's events against a server presenting `leaf`, trusting `pki`'s CA.
fn client_events_against(pki: &Pki, leaf: Leaf) -> Vec<Event> {
    let mut c = client("wss://localhost/", pki);
    let mut s = server(server_tls(leaf));
    drive(&mut c, &mut s, usize::MAX).0
}

#[test]
fn unknown_issuer_is_its_own_error() {
    let pki = Pki::new("sockette test CA");
    let events = client_events_against(
        &pki,
        Pki::new("sockette test CA").leaf(&["localhost"], |_| {}),
    );
    let (kind, text) = tls_error(&events);
    assert_eq!(kind, TlsErrorKind::UnknownIssuer, "{text}");
    assert!(text.contains("not trusted"), "{text}");
    assert_eq!(close_of(&events).code, CloseCode::Tls);
}

/// The chain a caller walks with `source()`: the connection's error, its
/// `TlsError`, then rustls' own error.
#[test]
fn a_tls_failure_chains_down_to_the_rustls_error() {
    use std::error::Error as _;
    let pki = Pki::new("sockette test CA");
    let events = client_events_against(
        &pki,
        Pki::new("sockette test CA").leaf(&["localhost"], |_| {}),
    );
    let Some(Event::Error(error)) = events.iter().find(|e| matches!(e, Event::Error(_))) else {
        panic!("no error in {events:?}");
    };
    let tls = error
        .source()
        .and_then(|s| s.downcast_ref::<sockette_core::TlsError>())
        .unwrap_or_else(|| panic!("no TlsError under {error:?}"));
    assert_eq!(tls.kind(), TlsErrorKind::UnknownIssuer);
    let rustls_error = tls
        .source()
        .and_then(|s| s.downcast_ref::<rustls::Error>())
        .unwrap_or_else(|| panic!("no rustls::Error under {tls:?}"));
    assert_eq!(
        rustls_error,
        &rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer)
    );
}

#[test]
fn self_signed_leaf_is_untrusted() {
    let events =
        client_events_against(&Pki::new("sockette test CA"), self_signed(&["localhost"]).0);
    assert_eq!(tls_error(&events).0, TlsErrorKind::UnknownIssuer);
}

#[test]
fn hostname_mismatch_is_its_own_error() {
    let pki = Pki::new("sockette test CA");
    let events = client_events_against(&pki, pki.leaf(&["example.org"], |_| {}));
    let (kind, text) = tls_error(&events);
    assert_eq!(kind, TlsErrorKind::HostnameMismatch);
    assert!(text.contains("host name"), "{text}");
}

#[test]
fn certificates_outside_their_validity_have_their_own_errors() {
    let pki = Pki::new("sockette test CA");
    for ((from, to), expected) in [
        ((2000, 2001), TlsErrorKind::Expired),
        ((2090, 2091), TlsErrorKind::NotYetValid),
    ] {
        let leaf = pki.leaf(&["localhost"], |p| {
            p.not_before = date_time_ymd(from, 1, 1);
            p.not_after = date_time_ymd(to, 1, 1);
        });
        let events = client_events_against(&pki, leaf);
        assert_eq!(tls_error(&events).0, expected);
    }
}

#[test]
fn plain_http_answer_on_a_tls_port_is_reported_as_not_tls() {
    let pki = Pki::new("sockette test CA");
    let mut c = client("wss://localhost/", &pki);
    assert!(c.poll_transmit().is_some(), "ClientHello is ready");
    c.handle_input(Instant::now(), b"HTTP/1.1 400 Bad Request\r\n\r\n");
    let events: Vec<Event> = std::iter::from_fn(|| c.poll_event()).collect();
    let (kind, text) = tls_error(&events);
    assert_eq!(kind, TlsErrorKind::NotTls);
    assert!(text.contains("ws://"), "{text}");
    assert!(c.is_closed());
}

#[test]
fn garbage_instead_of_server_hello_is_a_clear_error() {
    let pki = Pki::new("sockette test CA");
    let mut c = client("wss://localhost/", &pki);
    c.handle_input(
        Instant::now(),
        &[0x16, 0x03, 0x03, 0x00, 0x05, 1, 2, 3, 4, 5],
    );
    let events: Vec<Event> = std::iter::from_fn(|| c.poll_event()).collect();
    assert_eq!(tls_error(&events).0, TlsErrorKind::InvalidMessage);
    let mut c = client("wss://localhost/", &pki);
    c.handle_input(Instant::now(), &[0xff; 64]);
    let events: Vec<Event> = std::iter::from_fn(|| c.poll_event()).collect();
    assert_eq!(tls_error(&events).0, TlsErrorKind::InvalidMessage);
    assert!(c.is_closed());
}

#[test]
fn eof_during_tls_handshake_is_an_incomplete_handshake() {
    let pki = Pki::new("sockette test CA");
    let mut c = client("wss://localhost/", &pki);
    c.handle_eof(Instant::now());
    let events: Vec<Event> = std::iter::from_fn(|| c.poll_event()).collect();
    assert!(matches!(
        events[0].error(),
        Some(Error::Handshake(HandshakeError::Incomplete))
    ));
    assert_eq!(close_of(&events).code, CloseCode::Abnormal);
}

#[test]
fn tcp_end_after_the_close_handshake_is_normal_and_before_it_is_1006() {
    let pki = Pki::new("sockette test CA");
    let mut c = client("wss://localhost/", &pki);
    let mut s = server(server_tls(pki.leaf(&["localhost"], |_| {})));
    drive(&mut c, &mut s, usize::MAX);
    c.handle_eof(Instant::now());
    let events: Vec<Event> = std::iter::from_fn(|| c.poll_event()).collect();
    assert!(matches!(events[0].error(), Some(Error::ConnectionLost(_))));
    let closed = close_of(&events);
    assert!(!closed.was_clean && closed.code == CloseCode::Abnormal);

    let mut c = client("wss://localhost/", &pki);
    let mut s = server(server_tls(pki.leaf(&["localhost"], |_| {})));
    drive(&mut c, &mut s, usize::MAX);
    s.close(Instant::now(), CloseCode::GoingAway, "").unwrap();
    let (ce, _) = drive(&mut c, &mut s, usize::MAX);
    assert!(close_of(&ce).was_clean);
    c.handle_eof(Instant::now());
    assert_eq!(c.poll_event(), None, "nothing more after a clean close");
}

#[test]
fn mutual_tls_accepts_a_client_certificate_and_rejects_its_absence() {
    let pki = Pki::new("sockette test CA");
    let mut roots = rustls::RootCertStore::empty();
    roots.add(pki.ca_der()).unwrap();
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots.clone()),
        provider(),
    )
    .build()
    .unwrap();
    let leaf = pki.leaf(&["localhost"], |_| {});
    let server_config = Arc::new(
        rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_client_cert_verifier(verifier)
            .with_single_cert(leaf.chain, leaf.key)
            .unwrap(),
    );
    let client_leaf = pki.leaf(&["client.example"], |_| {});
    let with_cert = Arc::new(
        rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots.clone())
            .with_client_auth_cert(client_leaf.chain, client_leaf.key)
            .unwrap(),
    );
    let config = ClientConfig::new("wss://localhost/")
        .unwrap()
        .wall_clock(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_780_000_000))
        .tls_config(with_cert);
    let mut c = Connection::client(config, Instant::now()).unwrap();
    let mut s = server(server_config.clone());
    let (ce, se) = drive(&mut c, &mut s, usize::MAX);
    assert!(matches!(ce.first(), Some(Event::Open(_))), "{ce:?}");
    assert!(matches!(se.first(), Some(Event::Open(_))), "{se:?}");

    let without_cert = Arc::new(
        rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    );
    let config = ClientConfig::new("wss://localhost/")
        .unwrap()
        .wall_clock(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_780_000_000))
        .tls_config(without_cert);
    let mut c = Connection::client(config, Instant::now()).unwrap();
    let mut s = server(server_config);
    let (ce, se) = drive(&mut c, &mut s, usize::MAX);
    assert!(!ce.iter().any(|e| matches!(e, Event::Open(_))), "{ce:?}");
    assert!(
        matches!(se.first().and_then(Event::error), Some(Error::Tls(e)) if e.kind() == TlsErrorKind::NoCertificate),
        "{se:?}"
    );
}

#[test]
fn a_client_certificate_from_pem_is_presented_and_its_absence_refused() {
    let pki = Pki::new("sockette test CA");
    let server_tls = pki.client_auth_server_tls();
    let (cert_pem, key_pem) = pki.client_cert_pem();
    let trusting = || {
        ClientConfig::new("wss://localhost/")
            .unwrap()
            .wall_clock(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_780_000_000))
            .add_root_certificates_pem(pki.ca_pem().as_bytes())
            .unwrap()
    };

    let config = trusting()
        .client_cert_pem(cert_pem.as_bytes(), key_pem.as_bytes())
        .unwrap();
    let mut c = Connection::client(config, Instant::now()).unwrap();
    let mut s = server(server_tls.clone());
    let (ce, se) = drive(&mut c, &mut s, usize::MAX);
    assert!(matches!(ce.first(), Some(Event::Open(_))), "{ce:?}");
    assert!(matches!(se.first(), Some(Event::Open(_))), "{se:?}");

    let mut c = Connection::client(trusting(), Instant::now()).unwrap();
    let mut s = server(server_tls);
    let (ce, se) = drive(&mut c, &mut s, usize::MAX);
    assert_eq!(tls_error(&ce).0, TlsErrorKind::NoCertificate, "{ce:?}");
    assert_eq!(tls_error(&se).0, TlsErrorKind::NoCertificate, "{se:?}");
}

#[test]
fn a_client_certificate_from_another_ca_is_refused_by_the_server() {
    let pki = Pki::new("sockette test CA");
    let (cert_pem, key_pem) = Pki::new("sockette test CA").client_cert_pem();
    let config = ClientConfig::new("wss://localhost/")
        .unwrap()
        .wall_clock(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_780_000_000))
        .add_root_certificates_pem(pki.ca_pem().as_bytes())
        .unwrap()
        .client_cert_pem(cert_pem.as_bytes(), key_pem.as_bytes())
        .unwrap();
    let mut c = Connection::client(config, Instant::now()).unwrap();
    let mut s = server(pki.client_auth_server_tls());
    let (ce, se) = drive(&mut c, &mut s, usize::MAX);
    assert!(!ce.iter().any(|e| matches!(e, Event::Open(_))), "{ce:?}");
    assert_eq!(tls_error(&se).0, TlsErrorKind::UnknownIssuer, "{se:?}");
}

#[test]
fn unusable_client_certificate_pem_is_a_config_error_that_says_why() {
    let pki = Pki::new("sockette test CA");
    let (cert_pem, key_pem) = pki.client_cert_pem();
    let (_, other_key_pem) = pki.client_cert_pem();
    /// The case, the certificate and key given, the kind expected, its text.
    type Case<'a> = (
        &'a str,
        &'a [u8],
        &'a [u8],
        fn(&ConfigError) -> bool,
        &'a str,
    );
    let cases: [Case<'_>; 5] = [
        (
            "no certificate",
            b"not a certificate",
            key_pem.as_bytes(),
            |e| {
                matches!(
                    e,
                    ConfigError::PemEmpty {
                        item: PemItem::ClientCertificate
                    }
                )
            },
            "client certificate: no certificate",
        ),
        (
            "no key",
            cert_pem.as_bytes(),
            b"not a key",
            |e| {
                matches!(
                    e,
                    ConfigError::PemEmpty {
                        item: PemItem::ClientKey
                    }
                )
            },
            "client key: no private key",
        ),
        (
            "certificate given as the key",
            cert_pem.as_bytes(),
            cert_pem.as_bytes(),
            |e| {
                matches!(
                    e,
                    ConfigError::PemEmpty {
                        item: PemItem::ClientKey
                    }
                )
            },
            "client key: no private key",
        ),
        (
            "another certificate's key",
            cert_pem.as_bytes(),
            other_key_pem.as_bytes(),
            |e| matches!(e, ConfigError::ClientKeyMismatch),
            "does not belong to the client certificate",
        ),
        (
            "a key rustls cannot use",
            cert_pem.as_bytes(),
            b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
            |e| matches!(e, ConfigError::UnusableClientKey(_)),
            "client key: unusable private key",
        ),
    ];
    for (case, cert, key, kind, expected) in cases {
        match ClientConfig::new("wss://localhost/")
            .unwrap()
            .wall_clock(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_780_000_000))
            .client_cert_pem(cert, key)
        {
            Err(Error::Config(why)) => {
                assert!(kind(&why), "{case}: {why:?}");
                assert!(why.to_string().contains(expected), "{case}: {why}");
            }
            Err(other) => panic!("{case}: {other:?}"),
            Ok(_) => panic!("{case}: accepted"),
        }
    }
}

#[test]
fn disabled_verification_is_explicit_and_works() {
    let mut c = Connection::client(
        ClientConfig::new("wss://localhost/")
            .unwrap()
            .wall_clock(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_780_000_000))
            .dangerous_disable_certificate_verification(),
        Instant::now(),
    )
    .unwrap();
    let mut s = server(server_tls(self_signed(&["anything"]).0));
    let (ce, _) = drive(&mut c, &mut s, usize::MAX);
    assert!(matches!(ce.first(), Some(Event::Open(_))), "{ce:?}");
}

#[test]
fn bad_pem_is_a_config_error() {
    let err = ClientConfig::new("wss://localhost/")
        .unwrap()
        .wall_clock(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_780_000_000))
        .add_root_certificates_pem(b"not a certificate")
        .unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err}");
}

#[test]
fn no_common_protocol_version_is_its_own_error() {
    let pki = Pki::new("sockette test CA");
    let leaf = pki.leaf(&["localhost"], |_| {});
    let tls13_only = Arc::new(
        rustls::ServerConfig::builder_with_provider(provider())
            .with_protocol_versions(&[&rustls::version::TLS13])
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(leaf.chain, leaf.key)
            .unwrap(),
    );
    let mut roots = rustls::RootCertStore::empty();
    roots.add(pki.ca_der()).unwrap();
    let tls12_only = Arc::new(
        rustls::ClientConfig::builder_with_provider(provider())
            .with_protocol_versions(&[&rustls::version::TLS12])
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    );
    let config = ClientConfig::new("wss://localhost/")
        .unwrap()
        .wall_clock(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_780_000_000))
        .tls_config(tls12_only);
    let mut c = Connection::client(config, Instant::now()).unwrap();
    let mut s = server(tls13_only);
    let (ce, _) = drive(&mut c, &mut s, usize::MAX);
    assert_eq!(tls_error(&ce).0, TlsErrorKind::ProtocolVersion);
}

#[test]
fn a_server_without_http11_alpn_is_refused() {
    let pki = Pki::new("sockette test CA");
    let leaf = pki.leaf(&["localhost"], |_| {});
    let mut h2_only = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(leaf.chain, leaf.key)
        .unwrap();
    h2_only.alpn_protocols = vec![b"h2".to_vec()];
    let mut c = client("wss://localhost/", &pki);
    let mut s = server(Arc::new(h2_only));
    let (ce, _) = drive(&mut c, &mut s, usize::MAX);
    assert_eq!(tls_error(&ce).0, TlsErrorKind::Alpn);
}

#[test]
fn the_handshake_timeout_covers_the_tls_handshake() {
    let pki = Pki::new("sockette test CA");
    let start = Instant::now();
    let mut c = client("wss://localhost/", &pki);
    let deadline = c.poll_timeout().expect("a handshake deadline is set");
    c.handle_timeout(deadline - std::time::Duration::from_millis(1));
    assert_eq!(c.poll_event(), None, "early timeouts are harmless");
    c.handle_timeout(deadline);
    assert!(deadline > start);
    assert!(matches!(
        c.poll_event().as_ref().and_then(Event::error),
        Some(Error::Timeout(sockette_core::TimeoutKind::Handshake))
    ));
    assert!(matches!(c.poll_event(), Some(Event::Close(_))));
}

/// `openssl req -x509` makes self-signed certificates with `CA:TRUE`; trusting
/// such a file with `--ca` must work, for the names it carries only.
fn self_signed_ca_leaf(name: &str) -> (String, Leaf) {
    let (leaf, pem) = self_signed_with(&[name], |params| {
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "sockette openssl-style self-signed");
    });
    (pem, leaf)
}

#[test]
fn an_explicitly_trusted_self_signed_ca_certificate_serves_as_its_own_leaf() {
    let (pem, leaf) = self_signed_ca_leaf("localhost");
    let config = ClientConfig::new("wss://localhost/")
        .unwrap()
        .wall_clock(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_780_000_000))
        .add_root_certificates_pem(pem.as_bytes())
        .unwrap();
    let mut c = Connection::client(config, Instant::now()).unwrap();
    let mut s = server(server_tls(leaf));
    let (ce, _) = drive(&mut c, &mut s, usize::MAX);
    assert!(matches!(ce.first(), Some(Event::Open(_))), "{ce:?}");

    let (pem, leaf) = self_signed_ca_leaf("other.example");
    let config = ClientConfig::new("wss://localhost/")
        .unwrap()
        .wall_clock(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_780_000_000))
        .add_root_certificates_pem(pem.as_bytes())
        .unwrap();
    let mut c = Connection::client(config, Instant::now()).unwrap();
    let mut s = server(server_tls(leaf));
    let (ce, _) = drive(&mut c, &mut s, usize::MAX);
    assert_eq!(tls_error(&ce).0, TlsErrorKind::HostnameMismatch);
}

#[test]
fn an_explicitly_trusted_self_signed_certificate_is_refused_outside_its_validity() {
    for ((from, to), expected) in [
        ((2000, 2001), TlsErrorKind::Expired),
        ((2090, 2091), TlsErrorKind::NotYetValid),
    ] {
        for ca in [false, true] {
            let key = KeyPair::generate().unwrap();
            let mut params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
            params.not_before = date_time_ymd(from, 1, 1);
            params.not_after = date_time_ymd(to, 1, 1);
            if ca {
                params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            }
            let cert = params.self_signed(&key).unwrap();
            let config = ClientConfig::new("wss://localhost/")
                .unwrap()
                .wall_clock(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_780_000_000))
                .add_root_certificates_pem(cert.pem().as_bytes())
                .unwrap();
            let mut c = Connection::client(config, Instant::now()).unwrap();
            let mut s = server(server_tls(Leaf {
                chain: vec![cert.der().clone()],
                key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            }));
            let (ce, _) = drive(&mut c, &mut s, usize::MAX);
            assert_eq!(tls_error(&ce).0, expected, "valid {from}..{to}, CA {ca}");
        }
    }
}

#[test]
fn the_client_ends_its_tls_session_with_close_notify_after_the_close_handshake() {
    use std::io::{Read, Write};
    // The server end is a bare rustls session, so what the client puts on the wire
    // is read by code that is not ours.
    let pki = Pki::new("sockette test CA");
    let mut c = client("wss://localhost/", &pki);
    let mut tls =
        rustls::ServerConnection::new(server_tls(pki.leaf(&["localhost"], |_| {}))).unwrap();
    let now = Instant::now();
    let exchange = |c: &mut Connection, tls: &mut rustls::ServerConnection| {
        let mut plaintext = Vec::new();
        while let Some(out) = c.poll_transmit() {
            let n = tls.read_tls(&mut &out[..]).unwrap();
            c.advance_transmit(n);
            tls.process_new_packets().unwrap();
        }
        let _ = tls.reader().read_to_end(&mut plaintext);
        let mut records = Vec::new();
        while tls.wants_write() {
            tls.write_tls(&mut records).unwrap();
        }
        c.handle_input(now, &records);
        while c.poll_event().is_some() {}
        plaintext
    };
    let mut plaintext = Vec::new();
    for _ in 0..4 {
        plaintext.extend(exchange(&mut c, &mut tls));
    }
    let request = String::from_utf8(plaintext).unwrap();
    let key = request
        .lines()
        .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
        .unwrap();
    let answer = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
        sockette_core::accept_key(key)
    );
    tls.writer().write_all(answer.as_bytes()).unwrap();
    exchange(&mut c, &mut tls);
    assert_eq!(c.state(), sockette_core::State::Open);
    // The server closes; the client echoes the close, then ends TLS.
    tls.writer().write_all(&[0x88, 0x02, 0x03, 0xe8]).unwrap();
    exchange(&mut c, &mut tls);
    assert!(c.is_closed());
    let state = loop {
        let Some(out) = c.poll_transmit() else {
            panic!("nothing left to read and no close_notify")
        };
        let n = tls.read_tls(&mut &out[..]).unwrap();
        c.advance_transmit(n);
        let state = tls.process_new_packets().unwrap();
        if state.peer_has_closed() {
            break state;
        }
    };
    assert!(state.peer_has_closed());
}

/// Seconds since the Unix epoch of `year`-`month`-01, midnight UTC (1970 <= year).
fn wall(year: i32, month: u32) -> std::time::SystemTime {
    let days_from_civil = |y: i64, m: i64| {
        // Days since 1970-01-01 of the first of the month (proleptic Gregorian).
        let (y, m) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let doy = (153 * m + 2) / 5;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    };
    let days = days_from_civil(i64::from(year), i64::from(month));
    std::time::UNIX_EPOCH + std::time::Duration::from_secs(days as u64 * 86_400)
}

/// The client's events against a server presenting `leaf`, when the caller says
/// the connection starts at `start` and every input arrives `later` after it.
fn events_at(
    pki: &Pki,
    leaf: Leaf,
    start: std::time::SystemTime,
    later: std::time::Duration,
) -> Vec<Event> {
    let t0 = Instant::now();
    let config = ClientConfig::new("wss://localhost/")
        .unwrap()
        .wall_clock(start)
        .add_root_certificates_pem(pki.ca_pem().as_bytes())
        .unwrap()
        .random_source(ChaChaSource::from_seed(1));
    let mut c = Connection::client(config, t0).unwrap();
    let mut s = server(server_tls(leaf));
    drive_at(&mut c, &mut s, usize::MAX, t0 + later).0
}

#[test]
fn certificate_validity_follows_the_wall_clock_the_caller_gives() {
    use std::time::Duration;
    let pki = Pki::new("sockette test CA");
    let leaf = || {
        pki.leaf(&["localhost"], |p| {
            p.not_before = date_time_ymd(2030, 1, 1);
            p.not_after = date_time_ymd(2031, 1, 1);
        })
    };
    let opened = |events: &[Event]| events.iter().any(|e| matches!(e, Event::Open(_)));
    // Judged at the time the caller says it is, whatever the machine's clock says.
    let events = events_at(&pki, leaf(), wall(2030, 6), Duration::ZERO);
    assert!(opened(&events), "{events:?}");
    let events = events_at(&pki, leaf(), wall(2040, 1), Duration::ZERO);
    assert_eq!(tls_error(&events).0, TlsErrorKind::Expired);
    let events = events_at(&pki, leaf(), wall(2029, 6), Duration::ZERO);
    assert_eq!(tls_error(&events).0, TlsErrorKind::NotYetValid);
    // The monotonic `now` of the input moves that time on: started in December
    // 2030, the certificate is checked 40 days later, in 2031.
    let events = events_at(
        &pki,
        leaf(),
        wall(2030, 12),
        Duration::from_secs(40 * 86_400),
    );
    assert_eq!(tls_error(&events).0, TlsErrorKind::Expired);
}

#[test]
fn wss_without_a_wall_clock_is_a_config_error() {
    let config = ClientConfig::new("wss://localhost/").unwrap();
    let refused = Connection::client(config, Instant::now());
    assert!(matches!(refused, Err(Error::Config(_))), "{refused:?}");
    // ws:// needs no time, and a caller-built rustls configuration brings its own.
    let plain = ClientConfig::new("ws://localhost/").unwrap();
    assert!(Connection::client(plain, Instant::now()).is_ok());
}

#[test]
fn the_server_checks_client_certificates_against_the_wall_clock_it_is_given() {
    let pki = Pki::new("sockette test CA");
    let mut params = CertificateParams::new(vec!["client.example".to_string()]).unwrap();
    params.not_before = date_time_ymd(2030, 1, 1);
    params.not_after = date_time_ymd(2031, 1, 1);
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, pki.issuer()).unwrap();
    let server_tls = pki.client_auth_server_tls();
    let run = |server_wall| {
        let config = ClientConfig::new("wss://localhost/")
            .unwrap()
            .wall_clock(wall(2030, 6))
            .add_root_certificates_pem(pki.ca_pem().as_bytes())
            .unwrap()
            .client_cert_pem(cert.pem().as_bytes(), key.serialize_pem().as_bytes())
            .unwrap();
        let mut c = Connection::client(config, Instant::now()).unwrap();
        let config = ServerConfig::new()
            .tls(server_tls.clone())
            .wall_clock(server_wall)
            .random_source(ChaChaSource::from_seed(2));
        let mut s = Connection::server(config, Instant::now()).unwrap();
        drive(&mut c, &mut s, usize::MAX).1
    };
    let events = run(wall(2030, 6));
    assert!(matches!(events.first(), Some(Event::Open(_))), "{events:?}");
    let events = run(wall(2040, 1));
    assert_eq!(tls_error(&events).0, TlsErrorKind::Expired, "{events:?}");
}

/// A verifier handed in by the caller (as the backends hand in the operating
/// system's): it counts its calls and says what `verdict` says, or what webpki
/// over `roots` says, with the core's crypto provider for the signatures.
#[derive(Debug)]
struct CallerVerifier {
    webpki: Arc<rustls::client::WebPkiServerVerifier>,
    revoke_all: bool,
    calls: std::sync::atomic::AtomicUsize,
}

impl CallerVerifier {
    fn trusting(pki: &Pki, revoke_all: bool) -> Arc<CallerVerifier> {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(pki.ca_der()).unwrap();
        let webpki = rustls::client::WebPkiServerVerifier::builder_with_provider(
            Arc::new(roots),
            sockette_core::crypto_provider(),
        )
        .build()
        .unwrap();
        Arc::new(CallerVerifier {
            webpki,
            revoke_all,
            calls: Default::default(),
        })
    }

    fn calls(&self) -> usize {
        self.calls.load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl rustls::client::danger::ServerCertVerifier for CallerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &rustls::pki_types::ServerName<'_>,
        ocsp: &[u8],
        now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        self.calls
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if self.revoke_all {
            return Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::Revoked,
            ));
        }
        self.webpki
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

/// A client verified by `verifier`, also trusting `extra_root`'s CA if given.
fn events_with_verifier(
    verifier: Arc<CallerVerifier>,
    extra_root: Option<&Pki>,
    leaf: Leaf,
) -> Vec<Event> {
    let mut config = ClientConfig::new("wss://localhost/")
        .unwrap()
        .wall_clock(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_780_000_000))
        .server_cert_verifier(verifier)
        .random_source(ChaChaSource::from_seed(1));
    if let Some(pki) = extra_root {
        config = config
            .add_root_certificates_pem(pki.ca_pem().as_bytes())
            .unwrap();
    }
    let mut c = Connection::client(config, Instant::now()).unwrap();
    let mut s = server(server_tls(leaf));
    drive(&mut c, &mut s, usize::MAX).0
}

#[test]
fn a_verifier_handed_in_decides_and_added_roots_are_trusted_beside_it() {
    let (system, private) = (Pki::new("sockette test CA"), Pki::new("sockette test CA"));
    // What the verifier trusts opens; the Mozilla roots were not asked.
    let verifier = CallerVerifier::trusting(&system, false);
    let trusted = events_with_verifier(verifier.clone(), None, system.leaf(&["localhost"], |_| {}));
    assert!(
        matches!(trusted.first(), Some(Event::Open(_))),
        "{trusted:?}"
    );
    assert_eq!(verifier.calls(), 1);
    // What it does not trust is refused, with its reason.
    let refused = events_with_verifier(
        CallerVerifier::trusting(&system, false),
        None,
        private.leaf(&["localhost"], |_| {}),
    );
    assert_eq!(tls_error(&refused).0, TlsErrorKind::UnknownIssuer);
    // A root added by the caller is trusted beside the verifier...
    let verifier = CallerVerifier::trusting(&system, false);
    let beside = events_with_verifier(
        verifier.clone(),
        Some(&private),
        private.leaf(&["localhost"], |_| {}),
    );
    assert!(matches!(beside.first(), Some(Event::Open(_))), "{beside:?}");
    assert_eq!(verifier.calls(), 1, "the verifier is asked first");
    // ...but not over the verifier's "revoked".
    let revoked = events_with_verifier(
        CallerVerifier::trusting(&system, true),
        Some(&private),
        private.leaf(&["localhost"], |_| {}),
    );
    assert_eq!(tls_error(&revoked).0, TlsErrorKind::Revoked);
}
