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
/// Call it when configuring, and share the result between connections (the
/// backends' builders call it when connecting): on Linux
/// and the BSDs the store is read when it is called (a store with no usable
/// certificate is an [`Error::WebSocket`] holding
/// [`ConfigError::PlatformVerifier`]); on macOS, Windows and
/// Android the system is asked during each handshake, from inside rustls.
///
/// ```no_run
/// use sockette_driver::platform_verifier;
/// use sockette_core::ClientConfig;
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

/// `.ci/run` runs this with `--features platform-verifier`. One test: the
/// environment (`SSL_CERT_FILE` / `SSL_CERT_DIR`, honoured by rustls-native-certs
/// on Linux) is shared by the threads of the test binary.
#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    use sockette_core::rustls::pki_types::{ServerName, UnixTime};

    fn ca() -> CertifiedIssuer<'static, KeyPair> {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
    }

    #[test]
    fn the_verifier_trusts_the_systems_store_and_an_empty_store_is_an_error() {
        let dir =
            std::env::temp_dir().join(format!("sockette-driver-platform-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("empty")).unwrap();
        let system_ca = ca();
        std::fs::write(dir.join("system.pem"), system_ca.pem()).unwrap();
        let leaf = |issuer: &CertifiedIssuer<'static, KeyPair>| {
            let key = KeyPair::generate().unwrap();
            CertificateParams::new(vec!["localhost".to_string()])
                .unwrap()
                .signed_by(&key, issuer)
                .unwrap()
                .der()
                .clone()
        };
        let (trusted, untrusted) = (leaf(&system_ca), leaf(&ca()));

        std::env::set_var("SSL_CERT_FILE", dir.join("system.pem"));
        std::env::set_var("SSL_CERT_DIR", dir.join("empty"));
        let built = platform_verifier();
        std::env::set_var("SSL_CERT_FILE", dir.join("missing.pem"));
        let empty = platform_verifier();
        std::env::remove_var("SSL_CERT_FILE");
        std::env::remove_var("SSL_CERT_DIR");
        let _ = std::fs::remove_dir_all(&dir);

        let verifier = built.unwrap();
        let name = ServerName::try_from("localhost").unwrap();
        let verdict = |cert| verifier.verify_server_cert(cert, &[], &name, &[], UnixTime::now());
        assert!(verdict(&trusted).is_ok());
        assert!(verdict(&untrusted).is_err());
        match empty {
            Err(Error::WebSocket(sockette_core::Error::Config(ConfigError::PlatformVerifier(
                _,
            )))) => {}
            Err(other) => panic!("{other}"),
            Ok(_) => panic!("an empty store must not pass silently"),
        }
    }
}
