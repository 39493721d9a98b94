//! `--proxy`, `--no-proxy` and the proxy environment: an echo through a real
//! proxy (pproxy, from the tests' Python environment), a wrong password
//! exiting 10 with one line naming the proxy step, a bad proxy variable
//! exiting 2 with the variable named, and loopback reached directly whatever
//! the environment says.

mod support;

use std::ffi::OsStr;

use sockette_testkit::proxies;
use support::{sockette, sockette_with_env, Server};

#[test]
fn an_echo_goes_through_the_proxy_given() {
    let server = Server::start(&[]);
    let proxy = proxies::pproxy_http(Some(("ann", "pw")));
    let run = sockette(
        &[&server.url, "--proxy", proxy.url(), "--send", "via proxy"],
        30,
    );
    assert_eq!(run.code(), 0, "{run:?}\nproxy log:\n{}", proxy.log());
    assert!(run.stdout.contains("via proxy"), "{run:?}");
    // The proxy logged the tunnel to the server: it was not reached directly.
    let target = server.url.trim_start_matches("ws://").trim_end_matches('/');
    eprintln!("proxy log:\n{}", proxy.log());
    assert!(
        proxy.log().contains(target),
        "{target} not in:\n{}",
        proxy.log()
    );
}

#[test]
fn a_wrong_proxy_password_exits_10_with_the_proxy_step() {
    let server = Server::start(&[]);
    let proxy = proxies::pproxy_http(Some(("ann", "pw")));
    let wrong = proxy.url().replace(":pw@", ":nope@");
    let run = sockette(&[&server.url, "--proxy", &wrong, "--send", "x"], 30);
    assert_eq!(run.code(), 10, "{run:?}");
    let lines = run.stderr_lines();
    assert_eq!(lines.len(), 1, "{run:?}");
    for words in ["proxy step", "407", "via proxy http://ann@127.0.0.1:"] {
        assert!(
            lines[0].contains(words),
            "{words:?} missing in {:?}",
            lines[0]
        );
    }
    assert!(
        !lines[0].contains("nope"),
        "the password is shown: {}",
        lines[0]
    );
}

#[test]
fn a_bad_proxy_variable_exits_2_naming_it() {
    // Not loopback, so the environment applies; the URL is refused before
    // anything is connected.
    let env = [("ws_proxy", OsStr::new("http://proxy:99999"))];
    let run = sockette_with_env(&["ws://192.0.2.1/", "--send", "x"], None, &env, 30);
    assert_eq!(run.code(), 2, "{run:?}");
    assert!(run.stderr.contains("ws_proxy"), "{run:?}");
    assert!(run.stderr.contains("99999"), "{run:?}");
    // --no-proxy does not read it (the address is unreachable: a TCP step,
    // cut short by the deadline, not a usage error).
    let run = sockette_with_env(
        &[
            "ws://192.0.2.1/",
            "--no-proxy",
            "--connect-timeout",
            "1",
            "--send",
            "x",
        ],
        None,
        &env,
        30,
    );
    assert_ne!(run.code(), 2, "{run:?}");
    assert!(!run.stderr.contains("ws_proxy"), "{run:?}");
}

#[test]
fn loopback_is_reached_directly_whatever_the_environment_says() {
    let server = Server::start(&[]);
    // A proxy that cannot be reached: used, it would fail the run.
    let dead = OsStr::new("http://127.0.0.1:9");
    let env = [
        ("http_proxy", dead),
        ("ws_proxy", dead),
        ("all_proxy", dead),
        ("ALL_PROXY", dead),
    ];
    let run = sockette_with_env(&[&server.url, "--send", "direct"], None, &env, 30);
    assert_eq!(run.code(), 0, "{run:?}");
    assert!(run.stdout.contains("direct"), "{run:?}");
}
