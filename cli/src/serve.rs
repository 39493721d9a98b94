//! `sockette --serve PORT`: the embedded echo server alone, until the process is
//! killed, for other clients to connect to. Prints `listening on URL` first, then
//! (with `--tls`) where the certificate to trust was written, then one line per
//! connection event.

use std::net::{Ipv4Addr, SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::Arc;

use serde_json::json;

use crate::args::Args;
use crate::cert::Certificate;
use crate::echo_server::{EchoServer, Log, ServerEvent};
use crate::exit::Status;
use crate::output::Printer;

/// Runs the server; returns only when it could not start.
pub(crate) fn run(args: &Args, spec: &str, out: &Printer) -> Status {
    match serve(args, spec, out) {
        Ok(never) => match never {},
        Err((status, why)) => {
            out.exit_reason(&why);
            status
        }
    }
}

/// Why a value cannot exist: `serve` only returns on failure.
enum Never {}

fn serve(args: &Args, spec: &str, out: &Printer) -> Result<Never, (Status, String)> {
    let addr = parse_addr(spec).map_err(|why| (Status::Usage, why))?;
    let mut cert_path = None;
    let tls = if args.tls {
        let cert = Certificate::generate().map_err(|e| (Status::Failed, e))?;
        let tls = cert.server_config().map_err(|e| (Status::Failed, e))?;
        cert_path = Some((cert, args.cert_out.clone()));
        Some(tls)
    } else {
        None
    };
    let log_out = out.clone();
    let log: Log = Arc::new(move |e: ServerEvent| {
        log_out.note(
            &format!("server-{}", e.kind),
            &format!("[{}] {} {}: {}", e.id, e.peer, e.kind, e.detail),
            json!({ "id": e.id, "peer": e.peer.to_string(), "detail": e.detail }),
        )
    });
    let server = EchoServer::start(addr, tls, Some(log))
        .map_err(|e| (Status::Failed, format!("cannot listen on {addr}: {e}")))?;
    let url = server.url("/");
    let port = server.local_addr().port();
    let cert_file = match cert_path {
        Some((cert, path)) => {
            let path = path.unwrap_or_else(|| default_cert_path(port));
            std::fs::write(&path, &cert.pem).map_err(|e| {
                let why = format!("cannot write the certificate to {}: {e}", path.display());
                (Status::Failed, why)
            })?;
            Some(path)
        }
        None => None,
    };
    out.banner(
        "listening",
        &format!("listening on {url}"),
        json!({ "url": url, "certificate": cert_file }),
    );
    if let Some(path) = &cert_file {
        out.banner(
            "certificate",
            &format!(
                "certificate: {} (clients trust it with --ca {0})",
                path.display()
            ),
            json!({ "path": path }),
        );
    }
    loop {
        // The server's threads do the work; this one waits to be killed.
        std::thread::park();
    }
}

/// `PORT`, `ADDR:PORT` or `HOST:PORT`; a bare port listens on 127.0.0.1.
fn parse_addr(spec: &str) -> Result<SocketAddr, String> {
    if let Ok(port) = spec.parse::<u16>() {
        return Ok(SocketAddr::from((Ipv4Addr::LOCALHOST, port)));
    }
    spec.to_socket_addrs()
        .ok()
        .and_then(|mut addrs| addrs.next())
        .ok_or_else(|| format!("--serve {spec:?}: expected PORT or ADDR:PORT"))
}

/// `sockette-serve-PORT.pem` in the temporary directory.
fn default_cert_path(port: u16) -> PathBuf {
    std::env::temp_dir().join(format!("sockette-serve-{port}.pem"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_parse() {
        assert_eq!(parse_addr("0").unwrap(), "127.0.0.1:0".parse().unwrap());
        assert_eq!(parse_addr("[::1]:80").unwrap(), "[::1]:80".parse().unwrap());
        assert!(parse_addr("nope").is_err());
        assert!(parse_addr("70000").is_err());
    }
}
