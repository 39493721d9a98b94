//! A test PKI made at test time with rcgen: a CA and a leaf for localhost and
//! 127.0.0.1, as rustls configurations and PEM files.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use sockette_core::rustls;
use sockette_core::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

pub struct Pki {
    pub ca_pem: String,
    pub leaf_pem: String,
    pub key_pem: String,
    /// A client certificate the CA signed, and its key, for mutual TLS.
    pub client_pem: String,
    pub client_key_pem: String,
    ca_der: CertificateDer<'static>,
    leaf_der: CertificateDer<'static>,
    key_der: Vec<u8>,
}

impl Pki {
    pub fn new(ca_name: &str) -> Pki {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, ca_name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        let leaf_params =
            CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
        let key = KeyPair::generate().unwrap();
        let leaf = leaf_params.signed_by(&key, &ca).unwrap();
        let client_key = KeyPair::generate().unwrap();
        let client = CertificateParams::new(vec!["client.example".to_string()])
            .unwrap()
            .signed_by(&client_key, &ca)
            .unwrap();
        Pki {
            ca_pem: ca.pem(),
            leaf_pem: leaf.pem(),
            key_pem: key.serialize_pem(),
            client_pem: client.pem(),
            client_key_pem: client_key.serialize_pem(),
            ca_der: ca.der().clone(),
            leaf_der: leaf.der().clone(),
            key_der: key.serialize_der(),
        }
    }

    /// The server side, for `ServerConfig::tls`.
    pub fn server_config(&self) -> Arc<rustls::ServerConfig> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_der.clone()));
        Arc::new(
            rustls::ServerConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_no_client_auth()
                .with_single_cert(vec![self.leaf_der.clone()], key)
                .unwrap(),
        )
    }

    /// The server side, requiring a client certificate signed by the CA.
    pub fn client_auth_server_config(&self) -> Arc<rustls::ServerConfig> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.ca_der.clone()).unwrap();
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
            Arc::new(roots),
            provider.clone(),
        )
        .build()
        .unwrap();
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_der.clone()));
        Arc::new(
            rustls::ServerConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_client_cert_verifier(verifier)
                .with_single_cert(vec![self.leaf_der.clone()], key)
                .unwrap(),
        )
    }

    /// Writes `ca.pem`, `cert.pem` and `key.pem` into a fresh directory.
    pub fn write_files(&self, tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("sockette-std-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        write(&dir, "ca.pem", &self.ca_pem);
        write(&dir, "cert.pem", &self.leaf_pem);
        write(&dir, "key.pem", &self.key_pem);
        dir
    }
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}
