//! Name resolution off the driving thread: the system resolver blocks (and
//! cannot be interrupted), so each lookup runs on a short-lived thread of its
//! own that hands the addresses back and wakes the driver. An IP literal needs
//! no lookup and no thread.

use std::collections::VecDeque;
use std::io;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::{Arc, Mutex};
use std::thread;

use crate::sender::Wake;

type Answer = io::Result<Vec<SocketAddr>>;

/// A lookup under way, or its answer.
#[derive(Debug)]
pub(crate) enum Resolution {
    /// The answer is known already (an IP literal); `None` once taken.
    Known(Option<Answer>),
    /// The resolver thread writes the answer here, then wakes the driver.
    Pending(Arc<Mutex<Option<Answer>>>),
}

impl Resolution {
    /// Resolves `host:port`: at once for an IP literal, else on a new thread
    /// that calls `wake` when done. An abandoned lookup finishes on its own.
    pub(crate) fn start(host: &str, port: u16, wake: Box<dyn Wake>) -> Resolution {
        let literal = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = literal.parse::<IpAddr>() {
            return Resolution::Known(Some(Ok(vec![SocketAddr::new(ip, port)])));
        }
        let slot = Arc::new(Mutex::new(None));
        let answer = slot.clone();
        let host = host.to_string();
        let spawned = thread::Builder::new()
            .name("sockette-resolver".into())
            .spawn(move || {
                let result = lookup(&host, port);
                *answer.lock().unwrap_or_else(|e| e.into_inner()) = Some(result);
                // A driver that cannot be woken has gone: nobody waits.
                let _ = wake.wake();
            });
        match spawned {
            Ok(_) => Resolution::Pending(slot),
            Err(e) => Resolution::Known(Some(Err(io::Error::new(
                e.kind(),
                format!("cannot start the resolver thread: {e}"),
            )))),
        }
    }

    /// The answer, once there is one (taken: `None` after).
    pub(crate) fn take(&mut self) -> Option<Answer> {
        match self {
            Resolution::Known(answer) => answer.take(),
            Resolution::Pending(slot) => slot.lock().unwrap_or_else(|e| e.into_inner()).take(),
        }
    }
}

/// The addresses of `host:port`, blocking the calling thread (the system
/// resolver); an empty answer is an error. A [`Session`](crate::Session) runs it off the
/// driving thread.
pub fn lookup(host: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
    let addrs: Vec<SocketAddr> = (host, port).to_socket_addrs()?.collect();
    if addrs.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("{host} has no address"),
        ));
    }
    Ok(addrs)
}

/// The order in which to try `addrs` (RFC 8305 §4): IPv6 first, then the
/// families alternating, each family in the resolver's order.
pub(crate) fn attempt_order(addrs: Vec<SocketAddr>) -> VecDeque<SocketAddr> {
    let (mut v6, mut v4): (VecDeque<_>, VecDeque<_>) =
        addrs.into_iter().partition(SocketAddr::is_ipv6);
    let mut out = VecDeque::with_capacity(v6.len() + v4.len());
    loop {
        match (v6.pop_front(), v4.pop_front()) {
            (None, None) => return out,
            (a, b) => out.extend(a.into_iter().chain(b)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addrs(list: &[&str]) -> Vec<SocketAddr> {
        list.iter().map(|s| s.parse().unwrap()).collect()
    }

    #[test]
    fn ipv6_first_then_the_families_alternate() {
        let order = attempt_order(addrs(&["127.0.0.1:1", "127.0.0.2:1", "[::1]:1", "[::2]:1"]));
        let order: Vec<String> = order.iter().map(|a| a.to_string()).collect();
        assert_eq!(order, ["[::1]:1", "127.0.0.1:1", "[::2]:1", "127.0.0.2:1"]);
        let only_v4 = attempt_order(addrs(&["127.0.0.1:1", "127.0.0.2:1"]));
        assert_eq!(only_v4, addrs(&["127.0.0.1:1", "127.0.0.2:1"]));
    }

    struct NoWake;
    impl Wake for NoWake {
        fn wake(&self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn an_ip_literal_is_known_at_once_without_a_thread() {
        for (host, expected) in [
            ("::1", "[::1]:80"),
            ("[::1]", "[::1]:80"),
            ("10.0.0.1", "10.0.0.1:80"),
        ] {
            let mut resolution = Resolution::start(host, 80, Box::new(NoWake));
            assert!(matches!(resolution, Resolution::Known(_)), "{host}");
            assert_eq!(resolution.take().unwrap().unwrap(), addrs(&[expected]));
            assert!(resolution.take().is_none(), "taken once");
        }
    }

    #[test]
    fn a_name_is_resolved_on_a_thread_that_wakes_the_driver() {
        let (tx, rx) = std::sync::mpsc::channel();
        struct Tell(Mutex<std::sync::mpsc::Sender<()>>);
        impl Wake for Tell {
            fn wake(&self) -> io::Result<()> {
                let _ = self.0.lock().unwrap().send(());
                Ok(())
            }
        }
        let mut resolution = Resolution::start("localhost", 80, Box::new(Tell(Mutex::new(tx))));
        assert!(matches!(resolution, Resolution::Pending(_)));
        rx.recv_timeout(std::time::Duration::from_secs(10))
            .expect("woken");
        let answer = resolution
            .take()
            .expect("an answer")
            .expect("localhost resolves");
        assert!(
            answer
                .iter()
                .all(|a| a.ip().is_loopback() && a.port() == 80),
            "{answer:?}"
        );
        assert!(resolution.take().is_none(), "taken once");
    }
}
