//! `ws://` and `wss://` URLs (RFC 6455 §3): scheme, host (names and IP literals),
//! port with its default, and the resource name sent in the request line.
//! Anything the opening handshake cannot carry is rejected with the reason.

use core::net::{Ipv4Addr, Ipv6Addr};
use std::fmt;

/// A parsed WebSocket URL.
///
/// ```
/// let url = sockette_core::WsUrl::parse("wss://[::1]:8443/chat?room=1").unwrap();
/// assert!(url.is_secure());
/// assert_eq!(url.host(), "::1");
/// assert_eq!(url.port(), 8443);
/// assert_eq!(url.resource(), "/chat?room=1");
/// assert_eq!(url.host_header(), "[::1]:8443");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct WsUrl {
    secure: bool,
    host: String,
    ip_literal: bool,
    port: u16,
    resource: String,
    /// `user:password@` before the host, percent-decoded: sent as
    /// `Authorization: Basic`, never shown.
    credentials: Option<(String, String)>,
}

/// Why a string is not a usable WebSocket URL.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UrlError {
    /// The scheme is not `ws` or `wss`.
    UnsupportedScheme(String),
    /// No `scheme://` prefix at all.
    MissingScheme,
    /// The authority has no host.
    MissingHost,
    /// The host is not a valid name or IP literal.
    InvalidHost(String),
    /// The port is not a number in 1..=65535.
    InvalidPort(String),
    /// RFC 6455 §3: fragment identifiers are not allowed.
    Fragment,
    /// The credentials (`user:pass@`) are not valid percent-encoded UTF-8.
    UserInfo,
    /// A character that cannot appear in an HTTP request line.
    InvalidCharacter(char),
}

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UrlError::UnsupportedScheme(s) => {
                write!(f, "scheme {s:?} is not supported (use ws:// or wss://)")
            }
            UrlError::MissingScheme => write!(f, "missing scheme (expected ws:// or wss://)"),
            UrlError::MissingHost => write!(f, "missing host"),
            UrlError::InvalidHost(h) => write!(f, "invalid host {h:?}"),
            UrlError::InvalidPort(p) => write!(f, "invalid port {p:?} (expected 1-65535)"),
            UrlError::Fragment => write!(f, "fragments (#...) are not allowed in WebSocket URLs"),
            UrlError::UserInfo => write!(
                f,
                "the user name or password in the URL is not valid percent-encoded UTF-8"
            ),
            UrlError::InvalidCharacter(c) => write!(f, "character {c:?} is not allowed"),
        }
    }
}

impl std::error::Error for UrlError {}

impl WsUrl {
    /// Parses a `ws://` or `wss://` URL.
    pub fn parse(input: &str) -> Result<WsUrl, UrlError> {
        if let Some(c) = input
            .chars()
            .find(|c| c.is_whitespace() || c.is_control() || !c.is_ascii())
        {
            return Err(UrlError::InvalidCharacter(c));
        }
        if input.contains('#') {
            return Err(UrlError::Fragment);
        }
        let (scheme, rest) = input.split_once("://").ok_or(UrlError::MissingScheme)?;
        let secure = match scheme.to_ascii_lowercase().as_str() {
            "ws" => false,
            "wss" => true,
            _ => return Err(UrlError::UnsupportedScheme(scheme.to_string())),
        };
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, resource) = rest.split_at(authority_end);
        // The last `@` ends the credentials: a password may hold a raw `@`.
        let (credentials, authority) = match authority.rsplit_once('@') {
            Some((userinfo, host_port)) => {
                let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
                let decoded = percent_decode(user).zip(percent_decode(password));
                (Some(decoded.ok_or(UrlError::UserInfo)?), host_port)
            }
            None => (None, authority),
        };
        let (host, ip_literal, port_text) = split_host_port(authority)?;
        let port = match port_text {
            None | Some("") => {
                if secure {
                    443
                } else {
                    80
                }
            }
            Some(p) => parse_port(p)?,
        };
        let resource = match resource.chars().next() {
            None => "/".to_string(),
            Some('?') => format!("/{resource}"),
            Some(_) => resource.to_string(),
        };
        Ok(WsUrl {
            secure,
            host,
            ip_literal,
            port,
            resource,
            credentials,
        })
    }

    /// The user name given in the URL (`wss://user:password@host/`), if any.
    pub fn user(&self) -> Option<&str> {
        self.credentials.as_ref().map(|(user, _)| user.as_str())
    }

    /// The user name and password of the URL, percent-decoded.
    pub(crate) fn credentials(&self) -> Option<(&str, &str)> {
        self.credentials
            .as_ref()
            .map(|(user, password)| (user.as_str(), password.as_str()))
    }

    /// This URL with a user name and password (not percent-encoded), sent as
    /// `Authorization: Basic`.
    #[must_use]
    pub fn with_credentials(
        mut self,
        user: impl Into<String>,
        password: impl Into<String>,
    ) -> WsUrl {
        self.credentials = Some((user.into(), password.into()));
        self
    }

    /// This URL without its credentials (to go on to another origin).
    #[must_use]
    pub fn without_credentials(mut self) -> WsUrl {
        self.credentials = None;
        self
    }

    /// The origin: scheme, host and port (RFC 6454), what decides whether
    /// credentials may follow a redirect.
    pub fn same_origin(&self, other: &WsUrl) -> bool {
        (self.secure, &self.host, self.port) == (other.secure, &other.host, other.port)
    }

    /// True for `wss://`: the connection runs over TLS.
    pub fn is_secure(&self) -> bool {
        self.secure
    }

    /// The host without brackets, lowercased: a DNS name, an IPv4 or an IPv6 address.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// True when the host is an IP address rather than a name.
    pub fn host_is_ip(&self) -> bool {
        self.ip_literal
    }

    /// The port, defaulted to 80 (`ws`) or 443 (`wss`).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Path and query, as sent in the request line (always starts with `/`).
    pub fn resource(&self) -> &str {
        &self.resource
    }

    /// The `Host` header value: brackets around IPv6, the port only when not default.
    pub fn host_header(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        let default = if self.secure { 443 } else { 80 };
        if self.port == default {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }
}

/// Shows the URL without its password.
impl fmt::Debug for WsUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("WsUrl");
        debug.field("url", &self.to_string());
        if let Some(user) = self.user() {
            debug.field("user", &user);
        }
        debug.finish()
    }
}

/// The URL as the request names it: no credentials.
impl fmt::Display for WsUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.secure { "wss" } else { "ws" };
        write!(f, "{scheme}://{}{}", self.host_header(), self.resource)
    }
}

impl std::str::FromStr for WsUrl {
    type Err = UrlError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        WsUrl::parse(s)
    }
}

pub(crate) fn split_host_port(authority: &str) -> Result<(String, bool, Option<&str>), UrlError> {
    if let Some(rest) = authority.strip_prefix('[') {
        let (literal, after) = rest
            .split_once(']')
            .ok_or_else(|| UrlError::InvalidHost(authority.to_string()))?;
        let addr: Ipv6Addr = literal
            .parse()
            .map_err(|_| UrlError::InvalidHost(literal.to_string()))?;
        let port = match after {
            "" => None,
            p => Some(
                p.strip_prefix(':')
                    .ok_or_else(|| UrlError::InvalidHost(authority.to_string()))?,
            ),
        };
        return Ok((addr.to_string(), true, port));
    }
    let (host, port) = match authority.split_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (authority, None),
    };
    if host.is_empty() {
        return Err(UrlError::MissingHost);
    }
    if host.parse::<Ipv4Addr>().is_ok() {
        return Ok((host.to_string(), true, port));
    }
    let valid_name = host.split('.').enumerate().all(|(i, label)| {
        // A trailing dot (fully qualified name) leaves one empty last label.
        (!label.is_empty() || i > 0 && host.ends_with('.'))
            && label.len() <= 63
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    }) && host.len() <= 253;
    if !valid_name {
        return Err(UrlError::InvalidHost(host.to_string()));
    }
    Ok((host.to_ascii_lowercase(), false, port))
}

/// RFC 3986 §2.1: `%XX` is the byte XX; `None` unless the result is UTF-8.
pub(crate) fn percent_decode(text: &str) -> Option<String> {
    let mut bytes = Vec::with_capacity(text.len());
    let mut rest = text.as_bytes();
    while let Some((&first, tail)) = rest.split_first() {
        if first != b'%' {
            bytes.push(first);
            rest = tail;
            continue;
        }
        let hex = tail.get(..2)?;
        if !hex.iter().all(u8::is_ascii_hexdigit) {
            return None;
        }
        let digits = std::str::from_utf8(hex).ok()?;
        bytes.push(u8::from_str_radix(digits, 16).ok()?);
        rest = &tail[2..];
    }
    String::from_utf8(bytes).ok()
}

pub(crate) fn parse_port(text: &str) -> Result<u16, UrlError> {
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(UrlError::InvalidPort(text.to_string()));
    }
    match text.parse::<u16>() {
        Ok(0) | Err(_) => Err(UrlError::InvalidPort(text.to_string())),
        Ok(p) => Ok(p),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_ports_and_resource() {
        let u = WsUrl::parse("ws://example.com").unwrap();
        assert_eq!((u.port(), u.resource(), u.is_secure()), (80, "/", false));
        assert_eq!(u.host_header(), "example.com");
        let u = WsUrl::parse("WSS://Example.COM?x=1").unwrap();
        assert_eq!(
            (u.port(), u.resource(), u.host()),
            (443, "/?x=1", "example.com")
        );
    }

    #[test]
    fn host_header_has_port_only_when_not_default() {
        assert_eq!(WsUrl::parse("ws://a:80/").unwrap().host_header(), "a");
        assert_eq!(WsUrl::parse("ws://a:443/").unwrap().host_header(), "a:443");
        assert_eq!(WsUrl::parse("wss://a:443/").unwrap().host_header(), "a");
        assert_eq!(
            WsUrl::parse("ws://127.0.0.1:9001/x").unwrap().host_header(),
            "127.0.0.1:9001"
        );
    }

    #[test]
    fn credentials_are_decoded_and_never_shown() {
        let u = WsUrl::parse("wss://al%40ice:p%3Aw@rd@example.com/x").unwrap();
        assert_eq!(u.credentials(), Some(("al@ice", "p:w@rd")));
        assert_eq!(u.to_string(), "wss://example.com/x");
        assert!(!format!("{u:?}").contains("rd"), "{u:?}");
        assert_eq!(u.clone().without_credentials().credentials(), None);
        assert!(u.same_origin(&WsUrl::parse("wss://example.com:443/y").unwrap()));
        assert!(!u.same_origin(&WsUrl::parse("ws://example.com:443/").unwrap()));
    }

    #[test]
    fn ipv6_literals() {
        let u = WsUrl::parse("ws://[::1]/").unwrap();
        assert_eq!(
            (u.host(), u.host_is_ip(), u.host_header()),
            ("::1", true, "[::1]".into())
        );
        assert!(WsUrl::parse("ws://[::1/").is_err());
        assert!(WsUrl::parse("ws://[zz::1]/").is_err());
        assert!(WsUrl::parse("ws://[::1]x/").is_err());
    }

    #[test]
    fn rejections_name_the_problem() {
        assert_eq!(
            WsUrl::parse("http://a/"),
            Err(UrlError::UnsupportedScheme("http".into()))
        );
        assert_eq!(WsUrl::parse("ws://a/#x"), Err(UrlError::Fragment));
        assert_eq!(WsUrl::parse("ws:///x"), Err(UrlError::MissingHost));
        assert_eq!(WsUrl::parse("a/b"), Err(UrlError::MissingScheme));
        assert_eq!(WsUrl::parse("ws://u:%zz@a/"), Err(UrlError::UserInfo));
        assert_eq!(
            WsUrl::parse("ws://a:0/"),
            Err(UrlError::InvalidPort("0".into()))
        );
        assert_eq!(
            WsUrl::parse("ws://a:70000/"),
            Err(UrlError::InvalidPort("70000".into()))
        );
        assert_eq!(
            WsUrl::parse("ws://a b/"),
            Err(UrlError::InvalidCharacter(' '))
        );
        assert!(matches!(
            WsUrl::parse("ws://a..b/"),
            Err(UrlError::InvalidHost(_))
        ));
        assert!(matches!(
            WsUrl::parse("ws://a\"b/"),
            Err(UrlError::InvalidHost(_))
        ));
    }
}
