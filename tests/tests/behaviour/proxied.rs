//! The proxy scenarios of the behaviour suite: both backends through real
//! proxies nobody here wrote, started on loopback by the test itself —
//! pproxy (from the tests' Python environment, so these always run),
//! tinyproxy and microsocks (Debian packages: skipped with what to install
//! when missing, a failure when `SOCKETTE_REQUIRE_SYSTEM_PROXIES=1`, as CI
//! sets). Each is told explicitly to the client: loopback is never proxied
//! from the environment.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use sockette_core::{Message, ProxyErrorKind, ProxyStep, SocksReply};
use sockette_std::{ConnectCause, ConnectStep};
use sockette_testkit::pki::{scratch_dir, Pki};
use sockette_testkit::proxies::{self, ProxyServer};

use super::harness::{Backend, Outcome, Settings, Transcript};
use super::{assert_failed_opening, connect_error, echo_exchange, peers, run_script};

fn messages() -> Vec<Message> {
    vec![
        Message::from("through the proxy"),
        Message::from(vec![0xA5u8; 200 << 10]),
    ]
}

/// A ws:// echo through `proxy`, and a wss:// one with a CA of its own.
fn echo_both_ways(backend: Backend, proxy: &ProxyServer) -> Transcript {
    let peer = peers::echo(None);
    let settings = Settings::new(peer.ws_url("/plain")).proxy(proxy.url());
    let mut transcript = echo_exchange(backend, &settings, messages());
    let pki = Pki::new("proxy suite CA");
    let secure = peers::echo(Some(pki.server_tls()));
    let settings = Settings::new(secure.wss_url("/secure"))
        .trust_only(pki.ca_pem())
        .proxy(proxy.url());
    transcript
        .0
        .extend(echo_exchange(backend, &settings, messages()).0);
    transcript
}

/// The proxy error of a failed opening, checked to be its own step and
/// named in the text.
fn proxy_failure(backend: Backend, outcome: &Outcome) -> sockette_core::ProxyError {
    assert_failed_opening(backend, outcome, 1006);
    let c = connect_error(backend, outcome.error());
    assert_eq!(c.step, ConnectStep::Proxy, "{backend}: {c}");
    assert!(c.via.is_some(), "{backend}: {c}");
    let text = outcome.transcript.error_text();
    assert!(text.contains(" via proxy "), "{backend}: {text}");
    assert!(
        text.contains("failed at the proxy step"),
        "{backend}: {text}"
    );
    match &c.cause {
        ConnectCause::WebSocket(sockette_core::Error::Proxy(e)) => e.clone(),
        other => panic!("{backend}: not a proxy failure: {other:?}"),
    }
}

/// A failed opening through `proxy` to a server that accepts (or refuses:
/// `url`) the connection.
fn failing(backend: Backend, url: &str, proxy: &str) -> Outcome {
    run_script(backend, &Settings::new(url).proxy(proxy), |_, _, _| {})
}

/// pproxy over HTTP CONNECT, no credentials.
pub(super) fn proxy_http_echo(backend: Backend) -> Transcript {
    echo_both_ways(backend, &proxies::pproxy_http(None))
}

/// pproxy over HTTP CONNECT with Basic credentials; a wrong password is a
/// 407 at the proxy step, with the challenge.
pub(super) fn proxy_http_credentials(backend: Backend) -> Transcript {
    let proxy = proxies::pproxy_http(Some(("alice", "s3cret")));
    let mut transcript = echo_both_ways(backend, &proxy);
    let peer = peers::echo(None);
    let wrong = proxy.url().replace("s3cret", "wrong");
    let outcome = failing(backend, &peer.ws_url("/"), &wrong);
    let error = proxy_failure(backend, &outcome);
    assert_eq!(error.step(), ProxyStep::HttpConnect);
    assert!(
        matches!(error.kind(), ProxyErrorKind::Status { code: 407, challenge: Some(c), .. } if c.contains("Basic")),
        "{backend}: {error}"
    );
    transcript.0.extend(outcome.transcript.0);
    transcript
}

/// pproxy as an `https://` proxy: TLS to the proxy, and for wss:// TLS to
/// the server inside it.
pub(super) fn proxy_https_echo(backend: Backend) -> Transcript {
    let pki = Pki::new("proxy suite CA (https proxy)");
    // Tests run at once in one process: each its own directory.
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let files = pki.write_files(scratch_dir(&format!("https-proxy-{n}")));
    let proxy = proxies::pproxy_https(
        Some(("bob", "pw")),
        &files.join("cert.pem"),
        &files.join("key.pem"),
    );
    // The proxy's certificate is for localhost, from the same CA as the server's.
    let url = proxy.url().replace("127.0.0.1", "localhost");
    let peer = peers::echo(None);
    let settings = Settings::new(peer.ws_url("/"))
        .trust_only(pki.ca_pem())
        .proxy(&url);
    let mut transcript = echo_exchange(backend, &settings, messages());
    let secure = peers::echo(Some(pki.server_tls()));
    let settings = Settings::new(secure.wss_url("/"))
        .trust_only(pki.ca_pem())
        .proxy(&url);
    transcript
        .0
        .extend(echo_exchange(backend, &settings, messages()).0);
    // A proxy certificate nobody trusts: the proxy's TLS step.
    let other = Pki::new("proxy suite CA (untrusted)");
    let settings = Settings::new(peer.ws_url("/"))
        .trust_only(other.ca_pem())
        .proxy(&url);
    let outcome = run_script(backend, &settings, |_, _, _| {});
    let error = proxy_failure(backend, &outcome);
    assert_eq!(error.step(), ProxyStep::Tls, "{backend}: {error}");
    assert!(
        matches!(error.kind(), ProxyErrorKind::Tls(_)),
        "{backend}: {error}"
    );
    transcript.0.extend(outcome.transcript.0);
    transcript
}

/// pproxy over SOCKS5 with a user and password, the name resolved by the
/// proxy (`socks5h://`) and here (`socks5://`).
pub(super) fn proxy_socks5_echo(backend: Backend) -> Transcript {
    let proxy = proxies::pproxy_socks5(Some(("carol", "pw")));
    let by_proxy = proxy.url().replace("socks5://", "socks5h://");
    let peer = peers::echo(None);
    // A name, so that who resolves it matters.
    let url = peer.ws_url("/").replace("127.0.0.1", "localhost");
    let mut transcript = echo_exchange(backend, &Settings::new(&url).proxy(&by_proxy), messages());
    transcript
        .0
        .extend(echo_exchange(backend, &Settings::new(&url).proxy(proxy.url()), messages()).0);
    transcript
}

/// A proxy that accepts TCP and never answers: the opening's deadline, at
/// the proxy step.
pub(super) fn proxy_silent(backend: Backend) -> Transcript {
    let silent = peers::silent();
    let proxy = format!("http://127.0.0.1:{}", silent.port);
    let settings = Settings::new("ws://example.invalid/")
        .proxy(&proxy)
        .connect_timeout(Duration::from_millis(300));
    let outcome = run_script(backend, &settings, |_, _, _| {});
    let error = proxy_failure(backend, &outcome);
    assert_eq!(
        (error.step(), error.kind()),
        (ProxyStep::HttpConnect, &ProxyErrorKind::TimedOut)
    );
    assert!(outcome.error().is_timeout(), "{backend}");
    outcome.transcript
}

/// tinyproxy: ws:// and wss:// with and without Basic credentials, a wrong
/// password, a port it does not allow (403), a destination that refuses it.
pub(super) fn tinyproxy_http(backend: Backend) -> Transcript {
    let Some(open) = proxies::or_skip(proxies::tinyproxy(None, None)) else {
        return Transcript::default();
    };
    let mut transcript = echo_both_ways(backend, &open);
    let Some(guarded) = proxies::or_skip(proxies::tinyproxy(Some(("dave", "pw")), None)) else {
        return Transcript::default();
    };
    transcript.0.extend(echo_both_ways(backend, &guarded).0);
    let peer = peers::echo(None);
    let outcome = failing(
        backend,
        &peer.ws_url("/"),
        &guarded.url().replace(":pw@", ":no@"),
    );
    let error = proxy_failure(backend, &outcome);
    // tinyproxy 1.11 answers a wrong password with 401, a missing one with 407.
    assert!(
        matches!(
            error.kind(),
            ProxyErrorKind::Status {
                code: 401 | 407,
                ..
            }
        ),
        "{backend}: {error}"
    );
    transcript.0.extend(outcome.transcript.0);

    let Some(strict) = proxies::or_skip(proxies::tinyproxy(None, Some(&[443]))) else {
        return Transcript::default();
    };
    let outcome = failing(backend, &peer.ws_url("/"), strict.url());
    let error = proxy_failure(backend, &outcome);
    assert!(
        matches!(error.kind(), ProxyErrorKind::Status { code: 403, .. }),
        "{backend}: {error}"
    );
    transcript.0.extend(outcome.transcript.0);

    let closed = format!("ws://127.0.0.1:{}/", peers::refused_port());
    let outcome = failing(backend, &closed, open.url());
    let error = proxy_failure(backend, &outcome);
    assert!(
        matches!(
            error.kind(),
            ProxyErrorKind::Status {
                code: 500..=599,
                ..
            }
        ),
        "{backend}: {error}"
    );
    transcript.0.extend(outcome.transcript.0);
    transcript
}

/// microsocks: SOCKS5 with and without a password, a wrong password, a
/// destination that refuses it (reply 5).
pub(super) fn microsocks_socks5(backend: Backend) -> Transcript {
    let Some(open) = proxies::or_skip(proxies::microsocks(None)) else {
        return Transcript::default();
    };
    let mut transcript = echo_both_ways(backend, &open);
    let Some(guarded) = proxies::or_skip(proxies::microsocks(Some(("erin", "pw")))) else {
        return Transcript::default();
    };
    transcript.0.extend(echo_both_ways(backend, &guarded).0);
    let peer = peers::echo(None);
    let outcome = failing(
        backend,
        &peer.ws_url("/"),
        &guarded.url().replace(":pw@", ":no@"),
    );
    let error = proxy_failure(backend, &outcome);
    assert_eq!(error.step(), ProxyStep::SocksAuth, "{backend}: {error}");
    assert!(
        error.to_string().contains("auth failed"),
        "{backend}: {error}"
    );
    transcript.0.extend(outcome.transcript.0);

    let closed = format!("ws://127.0.0.1:{}/", peers::refused_port());
    let outcome = failing(backend, &closed, open.url());
    let error = proxy_failure(backend, &outcome);
    assert_eq!(
        error.kind(),
        &ProxyErrorKind::Socks(SocksReply::ConnectionRefused),
        "{backend}: {error}"
    );
    assert!(
        error
            .to_string()
            .contains("connection refused by the destination"),
        "{backend}: {error}"
    );
    transcript.0.extend(outcome.transcript.0);
    transcript
}
