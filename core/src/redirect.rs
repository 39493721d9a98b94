//! Following a redirect is the backends' (a new connection, maybe to another
//! host); what it leads to is decided here, with no I/O: the next URL from a
//! `Location` (RFC 9110 §10.2.2, resolved as RFC 3986 §5 says, `http` and
//! `https` mapped to `ws` and `wss`), the refusals (a downgrade from `wss` to
//! `ws`, a loop, too many hops), and the configuration for the next hop
//! (credentials kept only within the same origin).

use std::fmt;

use crate::config::ClientConfig;
use crate::url::{UrlError, WsUrl};

/// The status codes followed: the redirects that name a new location for the
/// same request (300, 304 and 305 do not).
pub const REDIRECT_CODES: [u16; 5] = [301, 302, 303, 307, 308];

/// Headers dropped when a redirect leaves the origin: they would hand the
/// first server's secrets to another.
const CREDENTIAL_HEADERS: [&str; 3] = ["authorization", "cookie", "proxy-authorization"];

/// Why a redirect was not followed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RedirectError {
    /// From `wss://` to `ws://`: the connection would lose its encryption.
    Downgrade {
        /// The location given.
        location: String,
    },
    /// The location is not a URL a WebSocket can be opened on.
    InvalidLocation {
        /// The location given.
        location: String,
        /// Why.
        error: UrlError,
    },
    /// The chain came back to a URL already visited.
    Loop {
        /// Every URL of the chain, the first one first, the repeated one last.
        chain: Vec<String>,
    },
    /// More hops than [`ClientConfig::max_redirects`] allows.
    TooMany {
        /// The limit.
        max: u32,
        /// Every URL of the chain, the first one first.
        chain: Vec<String>,
    },
}

impl fmt::Display for RedirectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RedirectError::Downgrade { location } => write!(
                f,
                "refused to follow a redirect from wss:// to {location} (it would drop TLS)"
            ),
            RedirectError::InvalidLocation { location, error } => {
                write!(f, "cannot follow the redirect to {location:?}: {error}")
            }
            RedirectError::Loop { chain } => {
                write!(f, "redirect loop: {}", chain.join(" -> "))
            }
            RedirectError::TooMany { max, chain } => {
                write!(f, "more than {max} redirect(s): {}", chain.join(" -> "))
            }
        }
    }
}

impl std::error::Error for RedirectError {}

impl WsUrl {
    /// The URL a redirect from this one to `location` leads to: an absolute
    /// URL (`ws`, `wss`, `http` as `ws`, `https` as `wss`), a network-path
    /// (`//host/path`), an absolute path, a relative path or a query,
    /// resolved against this URL (RFC 3986 §5.2); a fragment is dropped.
    /// Credentials stay only within the same origin. Refuses a `wss://` →
    /// `ws://` downgrade.
    pub fn redirect(&self, location: &str) -> Result<WsUrl, RedirectError> {
        let location = location.trim();
        let without_fragment = location.split('#').next().unwrap_or_default();
        let invalid = |error| RedirectError::InvalidLocation {
            location: location.to_string(),
            error,
        };
        let scheme = if self.is_secure() { "wss" } else { "ws" };
        let absolute = match without_fragment.split_once("://") {
            Some((given, rest)) if !given.contains(['/', '?']) => {
                let mapped = match given.to_ascii_lowercase().as_str() {
                    "ws" | "http" => "ws",
                    "wss" | "https" => "wss",
                    _ => return Err(invalid(UrlError::UnsupportedScheme(given.to_string()))),
                };
                format!("{mapped}://{rest}")
            }
            _ if without_fragment.starts_with("//") => format!("{scheme}:{without_fragment}"),
            _ => {
                let authority = self.host_header();
                let resource = resolve_reference(self.resource(), without_fragment);
                format!("{scheme}://{authority}{resource}")
            }
        };
        let mut next = WsUrl::parse(&absolute).map_err(invalid)?;
        if self.is_secure() && !next.is_secure() {
            return Err(RedirectError::Downgrade {
                location: location.to_string(),
            });
        }
        if next.credentials().is_none() && self.same_origin(&next) {
            if let Some((user, password)) = self.credentials() {
                next = next.with_credentials(user, password);
            }
        }
        Ok(next)
    }
}

/// RFC 3986 §5.2.2-5.2.4 for a reference without scheme or authority, against
/// `base` (a path and query starting with `/`).
fn resolve_reference(base: &str, reference: &str) -> String {
    let base_path = base.split('?').next().unwrap_or("/");
    if reference.is_empty() {
        return base.to_string();
    }
    if let Some(query) = reference.strip_prefix('?') {
        return format!("{base_path}?{query}");
    }
    let (path, query) = match reference.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (reference, None),
    };
    let merged = if path.starts_with('/') {
        path.to_string()
    } else {
        let directory = &base_path[..base_path.rfind('/').map_or(0, |i| i + 1)];
        format!("{directory}{path}")
    };
    let mut resolved = remove_dot_segments(&merged);
    if let Some(query) = query {
        resolved.push('?');
        resolved.push_str(query);
    }
    resolved
}

/// RFC 3986 §5.2.4, on an absolute path.
fn remove_dot_segments(path: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    let last = segments.len().saturating_sub(1);
    for (i, segment) in segments.iter().enumerate() {
        match *segment {
            "." => {
                if i == last {
                    out.push("");
                }
            }
            ".." => {
                out.pop();
                if i == last {
                    out.push("");
                }
            }
            other => out.push(other),
        }
    }
    format!("/{}", out.join("/"))
}

impl ClientConfig {
    /// This configuration for the next hop of a redirect, to `url`: leaving
    /// the origin (scheme, host, port) drops `Authorization`, `Cookie` and
    /// `Proxy-Authorization` headers, and credentials (`url` carries the
    /// URL's own, kept by [`WsUrl::redirect`] only within the origin).
    #[must_use]
    pub fn redirected(mut self, url: WsUrl) -> ClientConfig {
        if !self.url.same_origin(&url) {
            self.headers.retain(|(name, _)| {
                !CREDENTIAL_HEADERS.contains(&name.to_ascii_lowercase().as_str())
            });
        }
        self.url = url;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn follow(from: &str, location: &str) -> Result<String, RedirectError> {
        WsUrl::parse(from)
            .unwrap()
            .redirect(location)
            .map(|u| u.to_string())
    }

    #[test]
    fn locations_resolve_as_rfc_3986_says() {
        let base = "ws://a.example:8080/b/c/d?q";
        for (location, expected) in [
            ("ws://other/x", "ws://other/x"),
            ("http://other/x", "ws://other/x"),
            ("https://other/x", "wss://other/x"),
            ("//other:81/x", "ws://other:81/x"),
            ("/x/y?z", "ws://a.example:8080/x/y?z"),
            ("g", "ws://a.example:8080/b/c/g"),
            ("./g", "ws://a.example:8080/b/c/g"),
            ("../g", "ws://a.example:8080/b/g"),
            ("../../../g", "ws://a.example:8080/g"),
            ("g/..", "ws://a.example:8080/b/c/"),
            ("?y", "ws://a.example:8080/b/c/d?y"),
            ("g#frag", "ws://a.example:8080/b/c/g"),
            ("", "ws://a.example:8080/b/c/d?q"),
        ] {
            assert_eq!(
                follow(base, location).as_deref(),
                Ok(expected),
                "{location}"
            );
        }
    }

    #[test]
    fn a_downgrade_and_unusable_locations_are_refused() {
        assert_eq!(
            follow("wss://a/", "ws://a/"),
            Err(RedirectError::Downgrade {
                location: "ws://a/".into()
            })
        );
        assert!(matches!(
            follow("wss://a/", "http://a/"),
            Err(RedirectError::Downgrade { .. })
        ));
        assert!(follow("ws://a/", "wss://a/").is_ok(), "an upgrade is fine");
        assert!(matches!(
            follow("ws://a/", "ftp://a/"),
            Err(RedirectError::InvalidLocation { .. })
        ));
        assert!(matches!(
            follow("ws://a/", "ws://bad host/"),
            Err(RedirectError::InvalidLocation { .. })
        ));
    }

    #[test]
    fn credentials_stay_within_the_origin() {
        let from = WsUrl::parse("wss://u:p@a.example/x").unwrap();
        let same = from.redirect("/y").unwrap();
        assert_eq!(same.credentials(), Some(("u", "p")));
        let other = from.redirect("wss://b.example/y").unwrap();
        assert_eq!(other.credentials(), None);
        let other_port = from.redirect("wss://a.example:444/y").unwrap();
        assert_eq!(other_port.credentials(), None);

        let config = ClientConfig::from_url(from)
            .header("Authorization", "Bearer t")
            .header("Cookie", "s=1")
            .header("X-Trace", "1");
        let kept = config.clone().redirected(same);
        assert_eq!(kept.headers.len(), 3);
        let stripped = config.redirected(other);
        assert_eq!(stripped.headers, vec![("X-Trace".into(), "1".into())]);
    }
}
