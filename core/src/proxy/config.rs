//! Which proxy to go through: `http://`, `https://`, `socks5://` and
//! `socks5h://` URLs as curl and Python `websockets` read them, with
//! credentials percent-decoded. Parsing only; the stages that speak to the
//! proxy are [`super::http_connect`] and [`super::socks5`].

use std::fmt;
use std::net::IpAddr;

use crate::url::{self, UrlError};

/// How the proxy is spoken to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProxyScheme {
    /// `http://`: an HTTP proxy, asked to open a tunnel with `CONNECT`
    /// (RFC 9110 §9.3.6). Default port 80.
    Http,
    /// `https://`: the same over TLS to the proxy, so that the proxy's
    /// credentials and the `CONNECT` line are encrypted too; a `wss://`
    /// connection then runs its own TLS inside. Default port 443.
    Https,
    /// `socks5://`: SOCKS5 (RFC 1928), the server's name resolved here and its
    /// address sent to the proxy. Default port 1080.
    Socks5,
    /// `socks5h://`: SOCKS5 with the server's name sent to the proxy, which
    /// resolves it (what a proxy in front of a private network needs).
    /// Default port 1080.
    Socks5h,
}

impl ProxyScheme {
    /// The URL scheme, as written before `://`.
    pub fn as_str(self) -> &'static str {
        match self {
            ProxyScheme::Http => "http",
            ProxyScheme::Https => "https",
            ProxyScheme::Socks5 => "socks5",
            ProxyScheme::Socks5h => "socks5h",
        }
    }

    /// The port used when the URL gives none.
    pub fn default_port(self) -> u16 {
        match self {
            ProxyScheme::Http => 80,
            ProxyScheme::Https => 443,
            ProxyScheme::Socks5 | ProxyScheme::Socks5h => 1080,
        }
    }

    fn parse(scheme: &str) -> Option<ProxyScheme> {
        Some(match scheme.to_ascii_lowercase().as_str() {
            "http" => ProxyScheme::Http,
            "https" => ProxyScheme::Https,
            "socks5" => ProxyScheme::Socks5,
            "socks5h" => ProxyScheme::Socks5h,
            _ => return None,
        })
    }
}

/// A proxy to reach the server through, parsed from its URL.
///
/// ```
/// use sockette_core::{Proxy, ProxyScheme};
///
/// let proxy = Proxy::parse("http://alice:s%40cret@proxy.example:3128")?;
/// assert_eq!(proxy.scheme(), ProxyScheme::Http);
/// assert_eq!((proxy.host(), proxy.port()), ("proxy.example", 3128));
/// assert_eq!(proxy.user(), Some("alice"));
/// // The password is never shown.
/// assert_eq!(proxy.to_string(), "http://alice@proxy.example:3128");
/// // No scheme means http://, as in curl's and the environment's usage.
/// assert_eq!(Proxy::parse("10.0.0.1:8080")?.scheme(), ProxyScheme::Http);
/// # Ok::<(), sockette_core::ProxyUrlError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Proxy {
    scheme: ProxyScheme,
    /// Lowercased, without brackets.
    host: String,
    host_is_ip: bool,
    port: u16,
    credentials: Option<Credentials>,
    /// For `socks5://`: the server's address, resolved by the caller.
    destination: Option<IpAddr>,
}

/// A user name and password, percent-decoded.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Credentials {
    pub(crate) user: String,
    pub(crate) password: String,
}

/// Why a string is not a usable proxy URL.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProxyUrlError {
    /// A scheme other than `http`, `https`, `socks5` and `socks5h`.
    UnsupportedScheme(String),
    /// The host is missing or not a valid name or IP literal.
    InvalidHost(String),
    /// The port is not a number in 1..=65535.
    InvalidPort(String),
    /// The user name or password holds a `%` not followed by two hex digits,
    /// or decodes to something that is not UTF-8.
    InvalidCredentials,
    /// The URL has a path, query or fragment: a proxy is only an address.
    UnexpectedPath(String),
    /// A character that cannot appear in a URL.
    InvalidCharacter(char),
}

impl fmt::Display for ProxyUrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProxyUrlError::UnsupportedScheme(s) => write!(
                f,
                "proxy scheme {s:?} is not supported (use http://, https://, socks5:// or socks5h://)"
            ),
            ProxyUrlError::InvalidHost(h) => write!(f, "invalid proxy host {h:?}"),
            ProxyUrlError::InvalidPort(p) => {
                write!(f, "invalid proxy port {p:?} (expected 1-65535)")
            }
            ProxyUrlError::InvalidCredentials => write!(
                f,
                "the proxy's user name or password is not valid percent-encoded UTF-8"
            ),
            ProxyUrlError::UnexpectedPath(p) => {
                write!(f, "a proxy URL is only an address; {p:?} cannot follow it")
            }
            ProxyUrlError::InvalidCharacter(c) => {
                write!(f, "character {c:?} is not allowed in a proxy URL")
            }
        }
    }
}

impl std::error::Error for ProxyUrlError {}

impl Proxy {
    /// Parses `[scheme://][user[:password]@]host[:port][/]`. Without a
    /// scheme the proxy is `http://`; without a port, the scheme's
    /// ([`ProxyScheme::default_port`]). The user name and password are
    /// percent-decoded (`%40` for an `@` in a password).
    pub fn parse(input: &str) -> Result<Proxy, ProxyUrlError> {
        if let Some(c) = input
            .chars()
            .find(|c| c.is_whitespace() || c.is_control() || !c.is_ascii())
        {
            return Err(ProxyUrlError::InvalidCharacter(c));
        }
        let (scheme, rest) = match input.split_once("://") {
            Some((scheme, rest)) => (
                ProxyScheme::parse(scheme)
                    .ok_or_else(|| ProxyUrlError::UnsupportedScheme(scheme.to_string()))?,
                rest,
            ),
            None => (ProxyScheme::Http, input),
        };
        let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(authority_end);
        if !matches!(path, "" | "/") {
            return Err(ProxyUrlError::UnexpectedPath(path.to_string()));
        }
        // The last `@` ends the credentials: a password may hold a raw `@`.
        let (credentials, host_port) = match authority.rsplit_once('@') {
            Some((userinfo, host_port)) => (Some(parse_credentials(userinfo)?), host_port),
            None => (None, authority),
        };
        let (host, host_is_ip, port) = url::split_host_port(host_port).map_err(|e| match e {
            UrlError::InvalidPort(p) => ProxyUrlError::InvalidPort(p),
            _ => ProxyUrlError::InvalidHost(host_port.to_string()),
        })?;
        let port = match port {
            None | Some("") => scheme.default_port(),
            Some(p) => url::parse_port(p).map_err(|_| ProxyUrlError::InvalidPort(p.to_string()))?,
        };
        Ok(Proxy {
            scheme,
            host,
            host_is_ip,
            port,
            credentials,
            destination: None,
        })
    }

    /// How the proxy is spoken to.
    pub fn scheme(&self) -> ProxyScheme {
        self.scheme
    }

    /// The proxy's host, lowercased and without brackets: the name or address
    /// to connect to.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// True when [`host`](Self::host) is an IP address rather than a name.
    pub fn host_is_ip(&self) -> bool {
        self.host_is_ip
    }

    /// The proxy's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The user name the proxy is given, if any.
    pub fn user(&self) -> Option<&str> {
        self.credentials.as_ref().map(|c| c.user.as_str())
    }

    /// This proxy with a user name and password (not percent-encoded), for
    /// `Proxy-Authorization: Basic` or SOCKS5's username/password method
    /// (RFC 1929, at most 255 bytes each).
    #[must_use]
    pub fn credentials(mut self, user: impl Into<String>, password: impl Into<String>) -> Proxy {
        self.credentials = Some(Credentials {
            user: user.into(),
            password: password.into(),
        });
        self
    }

    /// True for `socks5://`: the server's name must be resolved before the
    /// connection is made, and its address given with
    /// [`destination_address`](Self::destination_address) (the core reads no
    /// resolver). Not needed when the URL's host is an IP address.
    pub fn resolves_destination_locally(&self) -> bool {
        self.scheme == ProxyScheme::Socks5
    }

    /// This proxy with the server's address, resolved by the caller, sent in
    /// place of its name (`socks5://`; ignored by the other schemes).
    #[must_use]
    pub fn destination_address(mut self, address: IpAddr) -> Proxy {
        self.destination = Some(address);
        self
    }

    pub(crate) fn credentials_ref(&self) -> Option<&Credentials> {
        self.credentials.as_ref()
    }

    pub(crate) fn resolved_destination(&self) -> Option<IpAddr> {
        self.destination
    }

    /// `host:port`, with brackets around an IPv6 address.
    pub(crate) fn authority(&self) -> String {
        authority(&self.host, self.port)
    }
}

/// `host:port` as a request target or `Host` value: brackets around IPv6.
pub(crate) fn authority(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// The URL without the password: what errors and logs show.
impl fmt::Display for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://", self.scheme.as_str())?;
        if let Some(user) = self.user() {
            write!(f, "{user}@")?;
        }
        write!(f, "{}", self.authority())
    }
}

/// Shows the URL without the password.
impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Proxy").field(&self.to_string()).finish()
    }
}

impl std::str::FromStr for Proxy {
    type Err = ProxyUrlError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Proxy::parse(s)
    }
}

fn parse_credentials(userinfo: &str) -> Result<Credentials, ProxyUrlError> {
    let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
    let decode = |text| url::percent_decode(text).ok_or(ProxyUrlError::InvalidCredentials);
    Ok(Credentials {
        user: decode(user)?,
        password: decode(password)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes_and_default_ports() {
        for (url, scheme, port) in [
            ("http://p", ProxyScheme::Http, 80),
            ("HTTPS://p", ProxyScheme::Https, 443),
            ("socks5://p", ProxyScheme::Socks5, 1080),
            ("socks5h://p/", ProxyScheme::Socks5h, 1080),
            ("p:3128", ProxyScheme::Http, 3128),
        ] {
            let proxy = Proxy::parse(url).unwrap();
            assert_eq!((proxy.scheme(), proxy.port()), (scheme, port), "{url}");
        }
    }

    #[test]
    fn credentials_are_percent_decoded_and_hidden() {
        let proxy = Proxy::parse("socks5://us%65r:p%3Ass@w%40rd@[::1]:1081").unwrap();
        let credentials = proxy.credentials_ref().unwrap();
        assert_eq!(credentials.user, "user");
        assert_eq!(credentials.password, "p:ss@w@rd");
        assert_eq!((proxy.host(), proxy.host_is_ip()), ("::1", true));
        assert_eq!(proxy.to_string(), "socks5://user@[::1]:1081");
        assert!(!format!("{proxy:?}").contains("rd"));
        let no_password = Proxy::parse("http://bob@p").unwrap();
        assert_eq!(no_password.credentials_ref().unwrap().password, "");
    }

    #[test]
    fn refusals_name_the_problem() {
        assert_eq!(
            Proxy::parse("ftp://p"),
            Err(ProxyUrlError::UnsupportedScheme("ftp".into()))
        );
        assert_eq!(
            Proxy::parse("http://p:0"),
            Err(ProxyUrlError::InvalidPort("0".into()))
        );
        assert_eq!(
            Proxy::parse("http://p:x"),
            Err(ProxyUrlError::InvalidPort("x".into()))
        );
        assert_eq!(
            Proxy::parse("http://"),
            Err(ProxyUrlError::InvalidHost("".into()))
        );
        assert_eq!(
            Proxy::parse("http://u:%zz@p"),
            Err(ProxyUrlError::InvalidCredentials)
        );
        assert_eq!(
            Proxy::parse("http://u:%ff@p"),
            Err(ProxyUrlError::InvalidCredentials)
        );
        assert_eq!(
            Proxy::parse("http://u:%4@p"),
            Err(ProxyUrlError::InvalidCredentials)
        );
        assert_eq!(
            Proxy::parse("http://p/path"),
            Err(ProxyUrlError::UnexpectedPath("/path".into()))
        );
        assert_eq!(
            Proxy::parse("http://p q"),
            Err(ProxyUrlError::InvalidCharacter(' '))
        );
        assert!(Proxy::parse("http://[zz]:1").is_err());
    }

    #[test]
    fn the_destination_address_is_kept_for_socks5() {
        let proxy = Proxy::parse("socks5://p").unwrap();
        assert!(proxy.resolves_destination_locally());
        let proxy = proxy.destination_address("192.0.2.7".parse().unwrap());
        assert_eq!(
            proxy.resolved_destination(),
            Some("192.0.2.7".parse().unwrap())
        );
        assert!(!Proxy::parse("socks5h://p")
            .unwrap()
            .resolves_destination_locally());
    }
}
