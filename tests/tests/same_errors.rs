//! A failed opening reads the same through sockette-std and sockette-mio: one
//! error type (`sockette-driver`), the same step, target and cause, the same
//! sentence. (They had two shapes: mio's `Connect(io::Error)` named neither
//! the step nor the target.)

use std::net::TcpListener;
use std::time::Duration;

use sockette_std::{ConnectCause, ConnectStep, Error};

/// A loopback port nothing listens on.
fn refused_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn through_std(url: &str) -> Error {
    match sockette_std::Client::connect(url) {
        Err(e) => e,
        Ok(_) => panic!("sockette-std connected to {url}"),
    }
}

fn through_mio(url: &str) -> Error {
    use sockette_mio::{ClientConfig, Event, EventLoop};
    let mut event_loop = EventLoop::new().unwrap();
    event_loop
        .connect_with(ClientConfig::new(url).unwrap())
        .unwrap();
    let mut error = None;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !event_loop.is_empty() {
        assert!(std::time::Instant::now() < deadline, "no end after 10 s");
        event_loop
            .turn(Some(Duration::from_millis(100)), |_ws, event| {
                if let Event::Error(e) = event {
                    error = Some(e);
                }
            })
            .unwrap();
    }
    error.expect("an Error event before the Close")
}

#[test]
fn a_refused_connection_is_the_same_error_on_both_backends() {
    let port = refused_port();
    let url = format!("ws://127.0.0.1:{port}/");
    let (std_error, mio_error) = (through_std(&url), through_mio(&url));
    for error in [&std_error, &mio_error] {
        let Error::Connect(c) = error else {
            panic!("not a connect error: {error:?}");
        };
        assert_eq!(c.step, ConnectStep::Tcp, "{error}");
        assert_eq!(c.target, format!("127.0.0.1:{port}"));
        assert!(
            matches!(&c.cause, ConnectCause::Io(e) if e.kind() == std::io::ErrorKind::ConnectionRefused),
            "{error:?}"
        );
    }
    assert_eq!(std_error.to_string(), mio_error.to_string());
}
