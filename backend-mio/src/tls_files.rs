//! Settings read from files, when configuring: the core does no I/O, so this
//! crate reads the files and hands the core their bytes.

use std::path::Path;

use sockette_core::ClientConfig;

use crate::error::{ConfigFile, ConfigFileError, Error};

/// File-based TLS settings for a [`ClientConfig`] (`use sockette_mio::ClientConfigFiles`).
///
/// ```no_run
/// use sockette_mio::{ClientConfig, ClientConfigFiles, EventLoop};
///
/// let config = ClientConfig::new("wss://example.org/chat")?
///     .client_cert("client.pem", "client.key")?;
/// let mut event_loop = EventLoop::new()?;
/// event_loop.connect_with(config)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait ClientConfigFiles: Sized {
    /// `wss://`: presents a client certificate to servers that ask for one
    /// (mutual TLS). `cert_path` is a PEM file with the certificate, then any
    /// intermediates; `key_path` a PEM file with its private key (PKCS#8, PKCS#1
    /// or SEC1). Read now: a missing file, PEM without a certificate or key, or a
    /// key that does not belong to the certificate is an [`Error::Config`] naming
    /// the file ([`ConfigFileError::Read`] or [`ConfigFileError::ClientCert`]).
    fn client_cert(
        self,
        cert_path: impl AsRef<Path>,
        key_path: impl AsRef<Path>,
    ) -> Result<Self, Error>;
}

impl ClientConfigFiles for ClientConfig {
    fn client_cert(
        self,
        cert_path: impl AsRef<Path>,
        key_path: impl AsRef<Path>,
    ) -> Result<Self, Error> {
        let (cert_path, key_path) = (cert_path.as_ref(), key_path.as_ref());
        let cert = read_file(ConfigFile::ClientCertificate, cert_path)?;
        let key = read_file(ConfigFile::ClientKey, key_path)?;
        self.client_cert_pem(&cert, &key).map_err(|source| {
            ConfigFileError::ClientCert {
                cert: cert_path.to_path_buf(),
                key: key_path.to_path_buf(),
                source: Box::new(source),
            }
            .into()
        })
    }
}

fn read_file(file: ConfigFile, path: &Path) -> Result<Vec<u8>, Error> {
    std::fs::read(path).map_err(|source| {
        ConfigFileError::Read {
            file,
            path: path.to_path_buf(),
            source,
        }
        .into()
    })
}
