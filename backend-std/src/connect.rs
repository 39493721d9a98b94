//! Opening the TCP connection: resolve the host (every address, IPv6 and IPv4),
//! then try each address in turn, alternating families, within one deadline.
//! Blocking calls only; this runs on the connector thread, never on the owner.

use std::io;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use sockette_driver::Attempts;

/// Every address of `host:port`, IPv6 and IPv4 interleaved, the family of the
/// resolver's first answer first (RFC 8305 §4 ordering, attempted one by one).
pub(crate) fn resolve(host: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
    let addrs: Vec<SocketAddr> = (host, port).to_socket_addrs()?.collect();
    if addrs.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("{host} has no address"),
        ));
    }
    Ok(interleave(addrs))
}

fn interleave(addrs: Vec<SocketAddr>) -> Vec<SocketAddr> {
    let first_v6 = addrs[0].is_ipv6();
    let (mut first, mut second): (Vec<_>, Vec<_>) =
        addrs.into_iter().partition(|a| a.is_ipv6() == first_v6);
    let mut out = Vec::with_capacity(first.len() + second.len());
    first.reverse();
    second.reverse();
    loop {
        match (first.pop(), second.pop()) {
            (None, None) => return out,
            (a, b) => out.extend(a.into_iter().chain(b)),
        }
    }
}

/// Connects to the first address that answers. Each attempt gets an equal share
/// of the time left, so one silent address cannot eat the whole deadline. Stops
/// early when `cancel` is set (the owner gave up). The error lists every address
/// tried with its own failure. `deadline` `None`: no deadline of ours (the
/// operating system's connect timeout still applies).
pub(crate) fn connect_any(
    addrs: &[SocketAddr],
    deadline: Option<Instant>,
    cancel: &AtomicBool,
) -> io::Result<(TcpStream, SocketAddr)> {
    let mut attempts = Attempts::default();
    for (i, addr) in addrs.iter().enumerate() {
        if cancel.load(Ordering::Acquire) {
            return Err(io::Error::new(io::ErrorKind::Interrupted, "cancelled"));
        }
        let left = deadline.map_or(Duration::MAX, |d| {
            d.saturating_duration_since(Instant::now())
        });
        if left.is_zero() {
            attempts.not_tried(*addr);
            break;
        }
        let share = left / (addrs.len() - i) as u32;
        match TcpStream::connect_timeout(addr, share) {
            Ok(stream) => return Ok((stream, *addr)),
            Err(e) => attempts.failed(*addr, &e),
        }
    }
    Err(attempts.into_error())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interleaves_families_starting_with_the_first() {
        let a: Vec<SocketAddr> = ["[::1]:1", "[::2]:1", "127.0.0.1:1", "127.0.0.2:1"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        let out: Vec<String> = interleave(a).iter().map(|a| a.to_string()).collect();
        assert_eq!(out, ["[::1]:1", "127.0.0.1:1", "[::2]:1", "127.0.0.2:1"]);
    }

    #[test]
    fn tries_every_address_in_turn_and_lists_the_failures() {
        let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let dead_addr = dead.local_addr().unwrap();
        drop(dead);
        let live = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let live_addr = live.local_addr().unwrap();
        let deadline = Some(Instant::now() + Duration::from_secs(5));
        let cancel = AtomicBool::new(false);
        let (_, used) = connect_any(&[dead_addr, live_addr], deadline, &cancel).unwrap();
        assert_eq!(used, live_addr);
        let err = connect_any(&[dead_addr, dead_addr], deadline, &cancel).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
        assert_eq!(
            err.to_string().matches(&dead_addr.to_string()).count(),
            2,
            "{err}"
        );
    }

    #[test]
    fn resolves_ip_literals_without_dns() {
        assert_eq!(resolve("::1", 80).unwrap(), ["[::1]:80".parse().unwrap()]);
    }
}
