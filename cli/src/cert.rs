//! A throwaway certificate for the embedded echo server, made at start with rcgen:
//! self-signed, for `localhost`, `127.0.0.1` and `::1`. Clients trust it by being
//! handed its PEM (the demo) or the file it is written to (`--serve --tls`);
//! nothing is installed anywhere.

use std::sync::Arc;

use rcgen::{CertificateParams, DnType, KeyPair};
use sockette_core::rustls;
use sockette_core::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// The names the certificate is valid for.
const NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// A certificate and its key, ready for the server and for clients to trust.
pub(crate) struct Certificate {
    /// The certificate in PEM, what a client trusts.
    pub(crate) pem: String,
    der: CertificateDer<'static>,
    key_der: Vec<u8>,
}

impl Certificate {
    /// Makes a fresh key pair and a self-signed certificate for the loopback names.
    pub(crate) fn generate() -> Result<Certificate, String> {
        let names = NAMES.iter().map(|n| n.to_string()).collect::<Vec<_>>();
        let mut params =
            CertificateParams::new(names).map_err(|e| format!("certificate parameters: {e}"))?;
        params
            .distinguished_name
            .push(DnType::CommonName, "sockette local echo server");
        let key = KeyPair::generate().map_err(|e| format!("key generation: {e}"))?;
        let cert = params
            .self_signed(&key)
            .map_err(|e| format!("certificate signing: {e}"))?;
        Ok(Certificate {
            pem: cert.pem(),
            der: cert.der().clone(),
            key_der: key.serialize_der(),
        })
    }

    /// The server side: a rustls configuration presenting this certificate.
    pub(crate) fn server_config(&self) -> Result<Arc<rustls::ServerConfig>, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_der.clone()));
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .and_then(|b| {
                b.with_no_client_auth()
                    .with_single_cert(vec![self.der.clone()], key)
            })
            .map_err(|e| format!("TLS server configuration: {e}"))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}
