//! How a client's rustls configuration is built: the trusted roots (Mozilla's,
//! the caller's, the operating system's as read by the caller), PEM parsing,
//! client certificates, a verifier handed in by the caller (the operating
//! system's, which the backends build), and the verifier that accepts a pinned
//! certificate within its validity period.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::sign::{CertifiedKey, SingleCertAndKey};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};

use super::error::{TlsError, TlsErrorKind};
use super::{default_provider, ALPN_HTTP11};
use crate::config_error::{ConfigError, PemItem};

/// How a client verifies servers, as configured before the connection starts.
#[derive(Clone, Default)]
pub(crate) struct ClientTls {
    /// A complete caller-built configuration; wins over everything below.
    pub(crate) custom: Option<Arc<rustls::ClientConfig>>,
    /// Extra trusted roots, added to the Mozilla roots unless `only_extra_roots`.
    pub(crate) extra_roots: Vec<CertificateDer<'static>>,
    /// The operating system's roots, read by the caller: trusted as CAs only,
    /// and skipped when webpki cannot use one.
    pub(crate) native_roots: Vec<CertificateDer<'static>>,
    pub(crate) only_extra_roots: bool,
    pub(crate) dangerous_no_verification: bool,
    /// A verifier built by the caller (the operating system's, from a backend's
    /// `platform-verifier` feature); it replaces the Mozilla and native roots.
    pub(crate) verifier: Option<Arc<dyn ServerCertVerifier>>,
    /// The certificate chain and key shown to servers that ask for one, already
    /// checked to belong together.
    pub(crate) client_cert: Option<Arc<CertifiedKey>>,
    /// The wall-clock time at the connection's start, given by the caller: the
    /// core reads no clock, and certificates are checked against this time.
    pub(crate) wall_clock: Option<SystemTime>,
}

/// The time rustls reads (certificate validity, session ticket ages): the
/// wall-clock time the caller gave at the start, advanced by the monotonic `now`
/// of each input, in whole seconds (the resolution of certificate validity).
#[derive(Debug)]
struct InjectedTime(AtomicU64);

impl rustls::time_provider::TimeProvider for InjectedTime {
    fn current_time(&self) -> Option<UnixTime> {
        let secs = self.0.load(Ordering::Relaxed);
        Some(UnixTime::since_unix_epoch(Duration::from_secs(secs)))
    }
}

/// The session's side of [`InjectedTime`]: moves it with the caller's `now`.
/// Clones move the same time (a proxy's TLS and the server's, in one
/// connection).
#[derive(Debug, Clone)]
pub(crate) struct TlsClock {
    time: Arc<InjectedTime>,
    start_wall: Duration,
    start: Instant,
}

impl TlsClock {
    /// A clock at `wall` for a connection starting at `now`, and the provider
    /// rustls reads it through.
    fn start(wall: SystemTime, now: Instant) -> (Arc<InjectedTime>, TlsClock) {
        let start_wall = wall
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or(Duration::ZERO);
        let time = Arc::new(InjectedTime(AtomicU64::new(start_wall.as_secs())));
        let clock = TlsClock {
            time: time.clone(),
            start_wall,
            start: now,
        };
        (time, clock)
    }

    /// Sets rustls' time to the start's wall-clock time plus `now - start`.
    pub(crate) fn advance(&self, now: Instant) {
        let wall = self.start_wall + now.saturating_duration_since(self.start);
        self.time.0.store(wall.as_secs(), Ordering::Relaxed);
    }
}

impl fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientTls")
            .field("custom", &self.custom.is_some())
            .field("extra_roots", &self.extra_roots.len())
            .field("native_roots", &self.native_roots.len())
            .field("only_extra_roots", &self.only_extra_roots)
            .field("dangerous_no_verification", &self.dangerous_no_verification)
            .field("verifier", &self.verifier.is_some())
            .field("client_cert", &self.client_cert.is_some())
            .field("wall_clock", &self.wall_clock)
            .finish()
    }
}

impl ClientTls {
    /// Builds the rustls configuration for a connection starting at `now`: ALPN
    /// `http/1.1` is always offered, and rustls reads the time from the returned
    /// clock, which the session moves with each input's `now`. A caller-built
    /// configuration keeps its own time provider unless a wall clock was given;
    /// otherwise the wall clock is required.
    pub(crate) fn build(
        &self,
        now: Instant,
    ) -> Result<(Arc<rustls::ClientConfig>, Option<TlsClock>), ConfigError> {
        let mut config = self.build_config()?;
        let clock = match self.wall_clock {
            Some(wall) => {
                let (time, clock) = TlsClock::start(wall, now);
                config.time_provider = time;
                Some(clock)
            }
            None if self.custom.is_some() => None,
            None => return Err(ConfigError::MissingWallClock),
        };
        Ok((Arc::new(config), clock))
    }

    fn build_config(&self) -> Result<rustls::ClientConfig, ConfigError> {
        let mut config = match &self.custom {
            Some(custom) => (**custom).clone(),
            None => {
                let builder = rustls::ClientConfig::builder_with_provider(default_provider())
                    .with_safe_default_protocol_versions()
                    .map_err(|e| ConfigError::Tls(TlsError::from_rustls(e)))?;
                if self.dangerous_no_verification {
                    builder
                        .dangerous()
                        .with_custom_certificate_verifier(Arc::new(NoVerification(
                            default_provider(),
                        )))
                        .with_no_client_auth()
                } else if let Some(verifier) = &self.verifier {
                    builder
                        .dangerous()
                        .with_custom_certificate_verifier(self.verifier_or_extra_roots(verifier)?)
                        .with_no_client_auth()
                } else {
                    let mut roots = RootCertStore::empty();
                    if !self.only_extra_roots {
                        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
                    }
                    roots.add_parsable_certificates(self.native_roots.iter().cloned());
                    for cert in &self.extra_roots {
                        roots.add(cert.clone()).map_err(|e| {
                            ConfigError::InvalidRootCertificate(TlsError::from_rustls(e))
                        })?;
                    }
                    if self.extra_roots.is_empty() {
                        builder.with_root_certificates(roots).with_no_client_auth()
                    } else {
                        let webpki = rustls::client::WebPkiServerVerifier::builder_with_provider(
                            Arc::new(roots),
                            default_provider(),
                        )
                        .build()
                        .map_err(verifier_error)?;
                        builder
                            .dangerous()
                            .with_custom_certificate_verifier(Arc::new(TrustedOrWebPki {
                                webpki,
                                trusted: self.extra_roots.clone(),
                            }))
                            .with_no_client_auth()
                    }
                }
            }
        };
        if let (None, Some(client_cert)) = (&self.custom, &self.client_cert) {
            config.client_auth_cert_resolver =
                Arc::new(SingleCertAndKey::from(client_cert.clone()));
        }
        config.alpn_protocols = vec![ALPN_HTTP11.to_vec()];
        Ok(config)
    }

    /// The caller's verifier, and after it the roots added by the caller: a
    /// certificate either one accepts is accepted.
    fn verifier_or_extra_roots(
        &self,
        verifier: &Arc<dyn ServerCertVerifier>,
    ) -> Result<Arc<dyn ServerCertVerifier>, ConfigError> {
        if self.extra_roots.is_empty() {
            return Ok(verifier.clone());
        }
        let mut roots = RootCertStore::empty();
        for cert in &self.extra_roots {
            roots
                .add(cert.clone())
                .map_err(|e| ConfigError::InvalidRootCertificate(TlsError::from_rustls(e)))?;
        }
        let webpki = rustls::client::WebPkiServerVerifier::builder_with_provider(
            Arc::new(roots),
            default_provider(),
        )
        .build()
        .map_err(verifier_error)?;
        Ok(Arc::new(VerifierOrExtraRoots {
            first: verifier.clone(),
            extra: Arc::new(TrustedOrWebPki {
                webpki,
                trusted: self.extra_roots.clone(),
            }),
        }))
    }
}

/// The server role's rustls configuration for a connection starting at `now`:
/// with a wall clock, a copy whose time (client certificates' validity, ticket
/// ages) comes from it; without, the caller's configuration and its own provider.
pub(crate) fn server_config_at(
    config: Arc<rustls::ServerConfig>,
    wall_clock: Option<SystemTime>,
    now: Instant,
) -> (Arc<rustls::ServerConfig>, Option<TlsClock>) {
    let Some(wall) = wall_clock else {
        return (config, None);
    };
    let (time, clock) = TlsClock::start(wall, now);
    let mut config = (*config).clone();
    config.time_provider = time;
    (Arc::new(config), Some(clock))
}

/// Parses a client certificate chain and its private key (PEM) and checks that
/// the key is usable by the crypto provider and matches the first certificate.
pub(crate) fn parse_client_cert(
    cert_chain_pem: &[u8],
    key_pem: &[u8],
) -> Result<Arc<CertifiedKey>, ConfigError> {
    use rustls::pki_types::pem::{self, PemObject};
    let chain = parse_pem_certificates(cert_chain_pem, PemItem::ClientCertificate)?;
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| match e {
        pem::Error::NoItemsFound => ConfigError::PemEmpty {
            item: PemItem::ClientKey,
        },
        other => ConfigError::InvalidPem {
            item: PemItem::ClientKey,
            detail: other.to_string(),
        },
    })?;
    let key = CertifiedKey::from_der(chain, key, &default_provider()).map_err(|e| match e {
        rustls::Error::InconsistentKeys(_) => ConfigError::ClientKeyMismatch,
        other => ConfigError::UnusableClientKey(TlsError::from_rustls(other)),
    })?;
    Ok(Arc::new(key))
}

/// rustls refused to build a certificate verifier (it has roots, so this is not
/// expected); the builder's error is not a rustls error, so only its text is kept.
fn verifier_error(error: rustls::client::VerifierBuilderError) -> ConfigError {
    ConfigError::Tls(TlsError::new(TlsErrorKind::Other, error.to_string()))
}

/// Parses every certificate of a PEM bundle.
pub(crate) fn parse_pem_certificates(
    pem: &[u8],
    item: PemItem,
) -> Result<Vec<CertificateDer<'static>>, ConfigError> {
    use rustls::pki_types::pem::PemObject;
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ConfigError::InvalidPem {
            item,
            detail: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(ConfigError::PemEmpty { item });
    }
    Ok(certs)
}

/// Full webpki verification, plus one exception: a server certificate that is
/// byte for byte one the caller explicitly trusted is accepted as itself (when it
/// names the host and `now`, the time rustls passes in, lies within its validity
/// period), even if it could not serve as a chain's end (a self-signed
/// certificate with `CA:TRUE`, as `openssl req -x509` makes by default).
#[derive(Debug)]
struct TrustedOrWebPki {
    webpki: Arc<rustls::client::WebPkiServerVerifier>,
    trusted: Vec<CertificateDer<'static>>,
}

impl ServerCertVerifier for TrustedOrWebPki {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verdict = self.webpki.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        );
        let Err(error) = verdict else {
            return verdict;
        };
        if !self
            .trusted
            .iter()
            .any(|t| t.as_ref() == end_entity.as_ref())
        {
            return Err(error);
        }
        let parsed = rustls::server::ParsedCertificate::try_from(end_entity)?;
        rustls::client::verify_server_name(&parsed, server_name)?;
        // Trusting the bytes says who the server is, not until when: the period the
        // certificate itself states still applies, as for a CA-issued one.
        check_validity_period(end_entity, now)?;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

/// The caller's verifier (the operating system's, typically) first; a
/// certificate it refuses (other than as revoked) is accepted if it chains to (or
/// is) one of the roots the caller added. When both refuse, the more telling
/// reason is reported: the roots' one (a wrong host name, an expired
/// certificate) unless they, too, only say "unknown issuer".
#[derive(Debug)]
struct VerifierOrExtraRoots {
    first: Arc<dyn ServerCertVerifier>,
    extra: Arc<dyn ServerCertVerifier>,
}

impl ServerCertVerifier for VerifierOrExtraRoots {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Err(first_error) = self.first.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) else {
            return Ok(ServerCertVerified::assertion());
        };
        if matches!(
            first_error,
            rustls::Error::InvalidCertificate(CertificateError::Revoked)
        ) {
            return Err(first_error); // the verifier knows better than any root
        }
        match self.extra.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Ok(verified) => Ok(verified),
            Err(rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer)) => {
                Err(first_error)
            }
            Err(extra_error) => Err(extra_error),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.first.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.first.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.first.supported_verify_schemes()
    }
}

/// Fails with rustls' own `Expired` / `NotValidYet` errors (so they classify as
/// [`TlsErrorKind::Expired`] / [`TlsErrorKind::NotYetValid`]) when `now` is outside
/// the certificate's `notBefore..=notAfter`.
///
/// [`TlsErrorKind::Expired`]: super::TlsErrorKind::Expired
/// [`TlsErrorKind::NotYetValid`]: super::TlsErrorKind::NotYetValid
fn check_validity_period(cert: &CertificateDer<'_>, now: UnixTime) -> Result<(), rustls::Error> {
    let bad = || rustls::Error::InvalidCertificate(CertificateError::BadEncoding);
    let (not_before, not_after) = validity_period(cert.as_ref()).ok_or_else(bad)?;
    if now.as_secs() < not_before.as_secs() {
        return Err(rustls::Error::InvalidCertificate(
            CertificateError::NotValidYetContext {
                time: now,
                not_before,
            },
        ));
    }
    if now.as_secs() > not_after.as_secs() {
        return Err(rustls::Error::InvalidCertificate(
            CertificateError::ExpiredContext {
                time: now,
                not_after,
            },
        ));
    }
    Ok(())
}

/// The `validity` field of an X.509 certificate (RFC 5280 §4.1.2.5), read from its
/// DER: `Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version OPTIONAL,
/// serialNumber, signature, issuer, validity, ... } ... }`. webpki checks this
/// field only while building a chain, which a pinned certificate skips.
fn validity_period(der: &[u8]) -> Option<(UnixTime, UnixTime)> {
    const SEQUENCE: u8 = 0x30;
    const INTEGER: u8 = 0x02;
    const VERSION: u8 = 0xA0;
    let (certificate, _) = der_element(der, SEQUENCE)?;
    let (mut tbs, _) = der_element(certificate, SEQUENCE)?;
    if tbs.first() == Some(&VERSION) {
        tbs = der_element(tbs, VERSION)?.1;
    }
    let (_, rest) = der_element(tbs, INTEGER)?;
    let (_, rest) = der_element(rest, SEQUENCE)?; // signature algorithm
    let (_, rest) = der_element(rest, SEQUENCE)?; // issuer
    let (validity, _) = der_element(rest, SEQUENCE)?;
    let (not_before, rest) = der_time(validity)?;
    let (not_after, _) = der_time(rest)?;
    Some((not_before, not_after))
}

/// Splits one DER element with tag `tag` off `input`: (its contents, what follows).
fn der_element(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (&found, rest) = input.split_first()?;
    if found != tag {
        return None;
    }
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7F);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let len = rest[..count]
            .iter()
            .fold(0usize, |len, &b| (len << 8) | usize::from(b));
        (len, &rest[count..])
    };
    (rest.len() >= len).then(|| rest.split_at(len))
}

/// Reads a `Time` (UTCTime `YYMMDDHHMMSSZ` or GeneralizedTime `YYYYMMDDHHMMSSZ`,
/// the only forms RFC 5280 §4.1.2.5 allows) as seconds since the Unix epoch.
fn der_time(input: &[u8]) -> Option<(UnixTime, &[u8])> {
    const UTC_TIME: u8 = 0x17;
    const GENERALIZED_TIME: u8 = 0x18;
    let tag = *input.first()?;
    let (text, rest) = der_element(input, tag)?;
    let (year, text) = match (tag, text.len()) {
        (UTC_TIME, 13) => {
            let yy = decimal(&text[..2])?;
            // RFC 5280: YY >= 50 is 19YY, otherwise 20YY.
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, &text[2..])
        }
        (GENERALIZED_TIME, 15) => (decimal(&text[..4])?, &text[4..]),
        _ => return None,
    };
    if text[10] != b'Z' {
        return None;
    }
    let month = decimal(&text[0..2])?;
    let day = decimal(&text[2..4])?;
    let hour = decimal(&text[4..6])?;
    let minute = decimal(&text[6..8])?;
    let second = decimal(&text[8..10])?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    if second > 60 {
        return None;
    }
    // UnixTime cannot go below the epoch; any earlier date compares the same way
    // against a present-day `now`.
    let secs = if year < 1970 {
        0
    } else {
        days_since_epoch(year, month, day) * 86_400 + hour * 3_600 + minute * 60 + second
    };
    Some((
        UnixTime::since_unix_epoch(std::time::Duration::from_secs(secs)),
        rest,
    ))
}

/// ASCII digits as a number; `None` for anything else.
fn decimal(digits: &[u8]) -> Option<u64> {
    digits.iter().try_fold(0u64, |n, &d| {
        d.is_ascii_digit().then(|| n * 10 + u64::from(d - b'0'))
    })
}

/// Days from 1970-01-01 to the given proleptic Gregorian date (year >= 1970).
fn days_since_epoch(year: u64, month: u64, day: u64) -> u64 {
    let is_leap = |y: u64| (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let whole_years: u64 = (1970..year)
        .map(|y| if is_leap(y) { 366 } else { 365 })
        .sum();
    const BEFORE_MONTH: [u64; 12] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
    let leap_day = u64::from(month > 2 && is_leap(year));
    whole_years + BEFORE_MONTH[(month - 1) as usize] + leap_day + day - 1
}

/// Accepts any certificate: for `dangerous_disable_certificate_verification` only.
/// Signatures are still checked, so the handshake itself stays sound.
#[derive(Debug)]
struct NoVerification(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{date_time_ymd, BasicConstraints, CertificateParams, IsCa, KeyPair};
    use std::time::Duration;

    /// A self-signed certificate for `localhost` valid from `from` to `to` (years).
    fn self_signed(from: i32, to: i32, ca: bool) -> CertificateDer<'static> {
        let mut params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        params.not_before = date_time_ymd(from, 1, 1);
        params.not_after = date_time_ymd(to, 1, 1);
        if ca {
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        }
        params
            .self_signed(&KeyPair::generate().unwrap())
            .unwrap()
            .der()
            .clone()
    }

    fn pinning(cert: &CertificateDer<'static>) -> TrustedOrWebPki {
        let mut roots = RootCertStore::empty();
        roots.add(cert.clone()).unwrap();
        let webpki = rustls::client::WebPkiServerVerifier::builder_with_provider(
            Arc::new(roots),
            default_provider(),
        )
        .build()
        .unwrap();
        TrustedOrWebPki {
            webpki,
            trusted: vec![cert.clone()],
        }
    }

    /// 1 January of `year`, midnight UTC.
    fn new_year(year: u64) -> UnixTime {
        UnixTime::since_unix_epoch(Duration::from_secs(days_since_epoch(year, 1, 1) * 86_400))
    }

    fn verdict(cert: &CertificateDer<'static>, now: UnixTime) -> Result<(), TlsErrorKind> {
        let name = ServerName::try_from("localhost").unwrap();
        pinning(cert)
            .verify_server_cert(cert, &[], &name, &[], now)
            .map(|_| ())
            .map_err(|e| TlsError::from_rustls(e).kind())
    }

    #[test]
    fn a_pinned_certificate_is_checked_against_the_time_rustls_passes_in() {
        // (valid from, valid to, CA:TRUE, now) -> expected verdict
        let table = [
            (2000, 2001, false, 2026, Err(TlsErrorKind::Expired)),
            (2000, 2001, true, 2026, Err(TlsErrorKind::Expired)),
            (2090, 2091, false, 2026, Err(TlsErrorKind::NotYetValid)),
            (2090, 2091, true, 2026, Err(TlsErrorKind::NotYetValid)),
            (2020, 2040, false, 2026, Ok(())),
            (2020, 2040, true, 2026, Ok(())),
            // The same certificate, judged at another `now`: the verdict follows it.
            (2000, 2001, true, 2000, Ok(())),
            (2090, 2091, true, 2090, Ok(())),
            (2090, 2091, true, 2092, Err(TlsErrorKind::Expired)),
        ];
        for (from, to, ca, now, expected) in table {
            let cert = self_signed(from, to, ca);
            assert_eq!(
                verdict(&cert, new_year(now)),
                expected,
                "valid {from}..{to}, CA {ca}, now {now}"
            );
        }
    }

    #[test]
    fn native_roots_webpki_cannot_use_are_skipped() {
        let usable = self_signed(2020, 2040, true);
        let tls = ClientTls {
            native_roots: vec![CertificateDer::from(vec![0x30, 0x00]), usable],
            wall_clock: Some(SystemTime::UNIX_EPOCH),
            ..ClientTls::default()
        };
        assert!(tls.build(Instant::now()).is_ok());
    }

    #[test]
    fn validity_periods_are_read_from_the_der() {
        let cert = self_signed(1999, 2051, false);
        let (not_before, not_after) = validity_period(cert.as_ref()).unwrap();
        assert_eq!(not_before.as_secs(), 915_148_800); // 1999-01-01: UTCTime, 19YY
        assert_eq!(not_after.as_secs(), 2_556_144_000); // 2051-01-01: GeneralizedTime
        let leap =
            UnixTime::since_unix_epoch(Duration::from_secs(days_since_epoch(2024, 3, 1) * 86_400));
        assert_eq!(leap.as_secs(), 1_709_251_200);
        assert_eq!(validity_period(b"\x30\x03\x02\x01\x00"), None);
        assert_eq!(validity_period(&cert.as_ref()[..40]), None);
    }
}
