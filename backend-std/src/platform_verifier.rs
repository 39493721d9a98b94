//! The operating system's certificate verifier (feature `platform-verifier`),
//! built here and handed to the core, which reads no files: on Linux and the BSDs
//! building it reads the system's store (rustls-native-certs, which honours
//! `SSL_CERT_FILE` / `SSL_CERT_DIR`).

use std::sync::Arc;

use sockette_core::rustls::client::danger::ServerCertVerifier;
use sockette_core::{ConfigError, TlsError};

use crate::error::Error;

/// The operating system's certificate verifier (feature `platform-verifier`),
/// to hand to [`ClientConfig::server_cert_verifier`]: the system's store and
/// policies decide, so corporate CAs and TLS-inspecting proxies it trusts are
/// trusted. Handshake signatures are checked with the core's crypto provider.
///
/// [`ClientBuilder::platform_verifier`](crate::ClientBuilder::platform_verifier)
/// calls it when connecting; call it yourself to drive the core directly. On Linux
/// and the BSDs the store is read when it is called (a store with no usable
/// certificate is an [`Error::WebSocket`] holding
/// [`ConfigError::PlatformVerifier`]); on macOS, Windows and
/// Android the system is asked during each handshake, from inside rustls.
///
/// ```no_run
/// use sockette_std::{platform_verifier, sockette_core::ClientConfig};
///
/// let config = ClientConfig::new("wss://example.org/chat")?
///     .server_cert_verifier(platform_verifier()?);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// [`ClientConfig::server_cert_verifier`]: sockette_core::ClientConfig::server_cert_verifier
pub fn platform_verifier() -> Result<Arc<dyn ServerCertVerifier>, Error> {
    let verifier = rustls_platform_verifier::Verifier::new(sockette_core::crypto_provider())
        .map_err(|e| {
            Error::WebSocket(sockette_core::Error::Config(ConfigError::PlatformVerifier(
                TlsError::from_rustls(e),
            )))
        })?;
    Ok(Arc::new(verifier))
}
