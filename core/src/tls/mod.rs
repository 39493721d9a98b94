//! TLS as one more bytes↔bytes layer: a rustls session driven purely in memory.
//! Ciphertext from the socket goes in, plaintext comes out for the WebSocket
//! layer; plaintext frames go in, TLS records come out. `ws://` skips this module.
//!
//! This module also turns rustls' errors into kinds a person can act on.
//!
//! The parts: [`config`] builds rustls' client configuration, [`session`] drives
//! one connection's rustls session, [`error`] classifies rustls' errors.

use std::sync::Arc;

mod config;
mod error;
mod session;

pub(crate) use config::{
    parse_client_cert, parse_pem_certificates, server_config_at, ClientTls, TlsClock,
};
pub use error::{TlsError, TlsErrorKind};
pub(crate) use session::TlsSession;

/// The only application protocol a WebSocket handshake runs over (RFC 6455 §4.1).
const ALPN_HTTP11: &[u8] = b"http/1.1";

/// The crypto provider the core's TLS uses: `ring` by default, `aws-lc-rs` when
/// only that feature is on. A verifier handed to
/// [`ClientConfig::server_cert_verifier`](crate::ClientConfig::server_cert_verifier)
/// can check handshake signatures with the same one (the backends build the
/// operating system's verifier with it).
pub fn crypto_provider() -> Arc<rustls::crypto::CryptoProvider> {
    default_provider()
}

/// The crypto provider: `ring` by default, `aws-lc-rs` when only that feature is on.
pub(crate) fn default_provider() -> Arc<rustls::crypto::CryptoProvider> {
    #[cfg(feature = "ring")]
    return Arc::new(rustls::crypto::ring::default_provider());
    #[cfg(all(feature = "aws-lc-rs", not(feature = "ring")))]
    return Arc::new(rustls::crypto::aws_lc_rs::default_provider());
}

#[cfg(not(any(feature = "ring", feature = "aws-lc-rs")))]
compile_error!("sockette-core needs a crypto provider: enable the `ring` or `aws-lc-rs` feature");
