//! Certificates made at test time with rcgen: a CA ([`Pki`]) and the leaves it
//! signs, self-signed leaves, as rustls server configurations and PEM files.

use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use sockette_core::rustls;
use sockette_core::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// The crypto provider of the tests' rustls configurations (ring).
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A certificate chain and its private key, to serve.
pub struct Leaf {
    /// The chain, leaf first.
    pub chain: Vec<CertificateDer<'static>>,
    /// The leaf's key.
    pub key: PrivateKeyDer<'static>,
}

impl Clone for Leaf {
    fn clone(&self) -> Self {
        Leaf {
            chain: self.chain.clone(),
            key: self.key.clone_key(),
        }
    }
}

/// A certificate and its key, as PEM.
#[derive(Debug, Clone)]
pub struct Pem {
    /// The certificate.
    pub cert: String,
    /// Its private key (PKCS#8).
    pub key: String,
}

/// A server configuration presenting `leaf`, asking no client certificate.
pub fn server_tls(leaf: Leaf) -> Arc<rustls::ServerConfig> {
    Arc::new(
        rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(leaf.chain, leaf.key)
            .unwrap(),
    )
}

/// A self-signed leaf for `names` (not a CA), and its certificate as PEM.
pub fn self_signed(names: &[&str]) -> (Leaf, String) {
    self_signed_with(names, |_| {})
}

/// [`self_signed`], its parameters first changed by `edit`.
pub fn self_signed_with(
    names: &[&str],
    edit: impl FnOnce(&mut CertificateParams),
) -> (Leaf, String) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(strings(names)).unwrap();
    params
        .distinguished_name
        .push(DnType::CommonName, "sockette self-signed leaf");
    edit(&mut params);
    let cert = params.self_signed(&key).unwrap();
    let leaf = Leaf {
        chain: vec![cert.der().clone()],
        key: pkcs8(&key),
    };
    (leaf, cert.pem())
}

/// A server configuration presenting a self-signed leaf for `names`.
pub fn self_signed_server_tls(names: &[&str]) -> Arc<rustls::ServerConfig> {
    server_tls(self_signed(names).0)
}

/// A test certificate authority, with a server leaf for `localhost` and
/// `127.0.0.1` and a client certificate for `client.example`, both signed by it.
pub struct Pki {
    ca: CertifiedIssuer<'static, KeyPair>,
    server: Leaf,
    /// The server leaf ([`Pki::server_tls`]), as PEM.
    pub server_pem: Pem,
    /// The client certificate, as PEM.
    pub client_pem: Pem,
}

impl Pki {
    /// A CA whose common name is `name` and a number of this process's own:
    /// verifiers match issuers by name before checking signatures, so two CAs
    /// never share one.
    pub fn new(name: &str) -> Pki {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let serial = NEXT.fetch_add(1, Ordering::Relaxed);
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, format!("{name} #{serial}"));
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        let (server, server_pem) = sign(&ca, &["localhost", "127.0.0.1"], |_| {});
        let (_, client_pem) = sign(&ca, &["client.example"], |_| {});
        Pki {
            ca,
            server,
            server_pem,
            client_pem,
        }
    }

    /// The CA's certificate, PEM.
    pub fn ca_pem(&self) -> String {
        self.ca.pem()
    }

    /// The CA itself, to sign certificates of other shapes with rcgen.
    pub fn issuer(&self) -> &CertifiedIssuer<'static, KeyPair> {
        &self.ca
    }

    /// The CA's certificate, DER.
    pub fn ca_der(&self) -> CertificateDer<'static> {
        self.ca.der().clone()
    }

    /// A new leaf for `names` signed by this CA, its parameters first changed by
    /// `edit`.
    pub fn leaf(&self, names: &[&str], edit: impl FnOnce(&mut CertificateParams)) -> Leaf {
        sign(&self.ca, names, edit).0
    }

    /// A new client certificate (`client.example`) signed by this CA, with a
    /// key of its own, as PEM: certificate, key.
    pub fn client_cert_pem(&self) -> (String, String) {
        let (_, pem) = sign(&self.ca, &["client.example"], |_| {});
        (pem.cert, pem.key)
    }

    /// A server configuration presenting the server leaf.
    pub fn server_tls(&self) -> Arc<rustls::ServerConfig> {
        server_tls(self.server.clone())
    }

    /// Like [`Pki::server_tls`], requiring a client certificate signed by this CA.
    pub fn client_auth_server_tls(&self) -> Arc<rustls::ServerConfig> {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.ca_der()).unwrap();
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
            Arc::new(roots),
            provider(),
        )
        .build()
        .unwrap();
        let leaf = self.server.clone();
        Arc::new(
            rustls::ServerConfig::builder_with_provider(provider())
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_client_cert_verifier(verifier)
                .with_single_cert(leaf.chain, leaf.key)
                .unwrap(),
        )
    }

    /// Writes `ca.pem`, the server leaf (`cert.pem`, `key.pem`), the client
    /// certificate (`client.pem`, `client.key`) and an empty directory `empty/`
    /// into `dir`, made afresh; the files go with the returned value.
    pub fn write_files(&self, dir: PathBuf) -> PkiFiles {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("empty")).unwrap();
        for (name, text) in [
            ("ca.pem", &self.ca_pem()),
            ("cert.pem", &self.server_pem.cert),
            ("key.pem", &self.server_pem.key),
            ("client.pem", &self.client_pem.cert),
            ("client.key", &self.client_pem.key),
        ] {
            std::fs::write(dir.join(name), text).unwrap();
        }
        PkiFiles { dir }
    }
}

/// A directory of PEM files ([`Pki::write_files`]), removed on drop; derefs to
/// its path.
#[derive(Debug)]
pub struct PkiFiles {
    dir: PathBuf,
}

impl PkiFiles {
    /// The path of file `name` in the directory, as a string (for command lines).
    pub fn path(&self, name: &str) -> String {
        self.dir.join(name).to_str().unwrap().to_string()
    }
}

impl Deref for PkiFiles {
    type Target = Path;

    fn deref(&self) -> &Path {
        &self.dir
    }
}

impl AsRef<Path> for PkiFiles {
    fn as_ref(&self) -> &Path {
        &self.dir
    }
}

impl Drop for PkiFiles {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A fresh name under the system's temporary directory for `tag`, this process's own.
pub fn scratch_dir(tag: &str) -> PathBuf {
    std::env::temp_dir().join(format!("sockette-test-{tag}-{}", std::process::id()))
}

fn sign(
    ca: &CertifiedIssuer<'static, KeyPair>,
    names: &[&str],
    edit: impl FnOnce(&mut CertificateParams),
) -> (Leaf, Pem) {
    let mut params = CertificateParams::new(strings(names)).unwrap();
    edit(&mut params);
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, ca).unwrap();
    let pem = Pem {
        cert: cert.pem(),
        key: key.serialize_pem(),
    };
    let leaf = Leaf {
        chain: vec![cert.der().clone()],
        key: pkcs8(&key),
    };
    (leaf, pem)
}

fn pkcs8(key: &KeyPair) -> PrivateKeyDer<'static> {
    PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()))
}

fn strings(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| n.to_string()).collect()
}
