//! Shared by the loopback tests: certificates made at test time (rcgen), the
//! echo server, and servers that misbehave on purpose.

// Test support: each test binary uses a part, and `pub` only crosses its modules.
#![allow(dead_code, unreachable_pub)]

pub mod server;

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use sockette_core::rustls;
use sockette_core::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use sockette_mio::ClientConfig;

/// A test certificate authority.
pub struct Pki {
    ca: CertifiedIssuer<'static, KeyPair>,
}

impl Pki {
    pub fn new(name: &str) -> Pki {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        Pki { ca }
    }

    /// A server configuration with a leaf for `localhost` signed by this CA.
    pub fn server_tls(&self) -> Arc<rustls::ServerConfig> {
        let params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.ca).unwrap();
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        Arc::new(
            rustls::ServerConfig::builder_with_provider(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert.der().clone()], key)
            .unwrap(),
        )
    }

    /// Like [`server_tls`](Self::server_tls), requiring a client certificate
    /// signed by this CA.
    pub fn client_auth_server_tls(&self) -> Arc<rustls::ServerConfig> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.ca.der().clone()).unwrap();
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
            Arc::new(roots),
            provider.clone(),
        )
        .build()
        .unwrap();
        let params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.ca).unwrap();
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        Arc::new(
            rustls::ServerConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_client_cert_verifier(verifier)
                .with_single_cert(vec![cert.der().clone()], key)
                .unwrap(),
        )
    }

    /// A client certificate signed by this CA and its key, as PEM.
    pub fn client_cert_pem(&self) -> (String, String) {
        let params = CertificateParams::new(vec!["client.example".to_string()]).unwrap();
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.ca).unwrap();
        (cert.pem(), key.serialize_pem())
    }

    /// A client configuration for `wss://localhost:port/path` trusting this CA only.
    pub fn client(&self, port: u16, path: &str) -> ClientConfig {
        ClientConfig::new(&format!("wss://localhost:{port}{path}"))
            .unwrap()
            .add_root_certificates_pem(self.ca.pem().as_bytes())
            .unwrap()
            .without_default_roots()
    }
}

/// A port where nothing listens (bound, then released).
pub fn refused_addr() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

/// A server that accepts and then never says a word; holds the sockets for
/// `hold`.
pub fn silent_server(hold: Duration) -> (SocketAddr, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let thread = std::thread::spawn(move || {
        let (socket, _) = listener.accept().unwrap();
        std::thread::sleep(hold);
        drop(socket);
    });
    (addr, thread)
}

/// A server that accepts, waits for the client's first bytes and closes without
/// reading them: the kernel answers with a reset.
pub fn resetting_server() -> (SocketAddr, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let thread = std::thread::spawn(move || {
        let (socket, _) = listener.accept().unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut probe = [0u8; 1];
        let _ = socket.peek(&mut probe);
        drop(socket); // unread data: RST
    });
    (addr, thread)
}

/// The soft limit on open files (`ulimit -n`), from /proc/self/limits.
pub fn soft_fd_limit() -> usize {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|v| v.parse().ok())
        .unwrap_or(usize::MAX) // not Linux: let the test try
}
