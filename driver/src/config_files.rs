//! Settings read from files, when configuring: the core does no I/O, so the
//! backends read the files (through this) and hand the core their bytes.

use std::path::Path;

use sockette_core::ClientConfig;

use crate::error::{ConfigFile, ConfigFileError, Error};

/// File-based TLS settings for a [`ClientConfig`] (`use sockette_mio::ClientConfigFiles`).
///
/// ```no_run
/// use sockette_core::ClientConfig;
/// use sockette_driver::ClientConfigFiles;
///
/// let config = ClientConfig::new("wss://example.org/chat")?
///     .ca_file("company-ca.pem")?
///     .client_cert("client.pem", "client.key")?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait ClientConfigFiles: Sized {
    /// `wss://`: also trusts the CA certificates of this PEM file. Read now: a
    /// missing file is an [`Error::Config`] naming it
    /// ([`ConfigFileError::Read`]); PEM without a certificate is the core's
    /// error.
    fn ca_file(self, path: impl AsRef<Path>) -> Result<Self, Error>;

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
    fn ca_file(self, path: impl AsRef<Path>) -> Result<Self, Error> {
        let pem = read_file(ConfigFile::Ca, path.as_ref())?;
        Ok(self.add_root_certificates_pem(&pem)?)
    }

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

/// Reads a configuration file; a failure names the file and its role.
pub fn read_file(file: ConfigFile, path: &Path) -> Result<Vec<u8>, Error> {
    std::fs::read(path).map_err(|source| {
        ConfigFileError::Read {
            file,
            path: path.to_path_buf(),
            source,
        }
        .into()
    })
}
