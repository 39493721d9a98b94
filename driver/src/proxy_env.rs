//! [`ProxyChoice`]: which proxy a connection goes through, and reading it
//! from the environment the way curl, Go's `net/http` and Python's
//! `websockets` do. The core reads nothing; the driver is where the process
//! meets its environment.
//!
//! With [`ProxyChoice::FromEnvironment`] (the default):
//!
//! - **The proxy variable** depends on the WebSocket scheme: for `wss://`,
//!   `wss_proxy`, then `https_proxy`, then `all_proxy`; for `ws://`,
//!   `ws_proxy`, then `http_proxy`, then `all_proxy`. Each name is read in
//!   lowercase first, then in UPPERCASE, and the first one set wins. An empty
//!   value counts as unset (as in Go): `https_proxy=` does not hide
//!   `HTTPS_PROXY`. The value is read by [`Proxy::parse`]: `http://`,
//!   `https://`, `socks5://`, `socks5h://`, or no scheme for `http://`.
//! - **httpoxy**: when `REQUEST_METHOD` is set (even empty), the process runs
//!   under CGI, where a request's `Proxy:` header arrives as `HTTP_PROXY`;
//!   uppercase `HTTP_PROXY` is then ignored, as Python's `urllib` does
//!   (lowercase `http_proxy` is still read: no header can produce it).
//! - **`no_proxy`** (or `NO_PROXY` when `no_proxy` is unset or empty) lists
//!   the hosts reached directly, separated by commas; whitespace around an
//!   entry is trimmed and empty entries skipped. An entry is:
//!   - `*` alone: every host;
//!   - a host name (`example.com`, `.example.com`, `*.example.com`): that
//!     host and its subdomains, on a label boundary (`a.example.com`, never
//!     `badexample.com`), case-insensitively, a trailing dot ignored on
//!     either side. It matches names only, never an IP address;
//!   - an IP address (`10.1.2.3`, `2001:db8::1`, `[2001:db8::1]`): that
//!     address, compared as an address (`2001:db8:0::1` is the same);
//!   - a CIDR range (`10.0.0.0/8`, `fd00::/8`, `[fd00::]/8`): the addresses
//!     in it. Only a URL whose host is an IP literal can match, since nothing
//!     is resolved here;
//!   - any of these with a port (`example.com:8080`, `10.1.2.3:443`,
//!     `[::1]:9001`, `10.0.0.0/8:443`): the same, on that port only. An IPv6
//!     address with a port needs its brackets (`::1:9001` is an address).
//!
//!   An entry that cannot be read (`10.0.0.0/99`, `x/y`, `host:0`, `[::1`)
//!   matches nothing and never fails the connection: a typo in `no_proxy`
//!   must not stop connections the rest of the list is right about.
//! - **Loopback** is never proxied by the environment: `localhost`, any
//!   `*.localhost`, `127.0.0.0/8` and `::1` are reached directly whatever the
//!   variables say (a proxy elsewhere cannot reach this machine's loopback).
//!   Only [`ProxyChoice::Through`] sends them through a proxy.
//!
//! The host is checked against loopback and `no_proxy` before the proxy's
//! URL is parsed, so a bad proxy variable only fails the connections that
//! would use it, with a [`ProxyEnvError`] naming the variable (its password
//! replaced by `***`).

use std::fmt;
use std::net::IpAddr;
use std::ops::Range;

use sockette_core::{ClientConfig, Proxy, ProxyUrlError, WsUrl};

/// How a connection picks its proxy.
///
/// # The environment's rules
///
/// - `wss://` reads `wss_proxy`, then `https_proxy`, then `all_proxy`;
///   `ws://` reads `ws_proxy`, then `http_proxy`, then `all_proxy`. Each name
///   lowercase first, then UPPERCASE; an empty value counts as unset. The
///   value is a [`Proxy`] URL (no scheme means `http://`).
/// - Uppercase `HTTP_PROXY` is ignored when `REQUEST_METHOD` is set (CGI,
///   where a request's `Proxy:` header becomes `HTTP_PROXY`: httpoxy).
/// - Hosts in `no_proxy` (or `NO_PROXY`), a comma-separated list, are
///   reached directly: `*` for all; a name for itself and its subdomains on
///   a label boundary (`example.com`, `.example.com` or `*.example.com` match
///   `a.example.com`, not `badexample.com`), case-insensitive, trailing dots
///   ignored; an IP address (IPv6 with or without brackets); a CIDR range
///   (`10.0.0.0/8`, `fd00::/8`, `[fd00::]/8`), matched against IP literal
///   hosts only (nothing is resolved); each optionally with a port
///   (`example.com:8080`, `10.1.2.3:443`, `[::1]:9001`) to match that port
///   only. An entry that cannot be read (`10.0.0.0/99`, `x/y`) matches
///   nothing.
/// - Loopback (`localhost`, `*.localhost`, `127.0.0.0/8`, `::1`) is always
///   reached directly; only [`Through`](Self::Through) proxies it.
/// - Loopback and `no_proxy` are checked first: a bad proxy variable only
///   fails the hosts that would use it, with a [`ProxyEnvError`].
///
/// ```
/// use sockette_core::{Proxy, WsUrl};
/// use sockette_driver::ProxyChoice;
///
/// let url = WsUrl::parse("wss://example.com/chat")?;
/// let env = |name: &str| match name {
///     "https_proxy" => Some("proxy.internal:3128".to_string()),
///     "no_proxy" => Some("internal, .corp.example".to_string()),
///     _ => None,
/// };
/// let proxy = ProxyChoice::FromEnvironment.proxy_for_with(&url, env)?;
/// assert_eq!(proxy.unwrap().to_string(), "http://proxy.internal:3128");
/// assert_eq!(ProxyChoice::Direct.proxy_for_with(&url, env)?, None);
///
/// let socks = Proxy::parse("socks5h://127.0.0.1:1080")?;
/// let choice = ProxyChoice::Through(socks.clone());
/// assert_eq!(choice.proxy_for(&WsUrl::parse("ws://localhost:9001")?)?, Some(socks));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ProxyChoice {
    /// The environment decides (default), as curl and Python `websockets`
    /// read it: see [the rules](ProxyChoice#the-environments-rules).
    #[default]
    FromEnvironment,
    /// No proxy, whatever the environment says.
    Direct,
    /// This proxy, for every URL (loopback included: asked for explicitly).
    Through(Proxy),
}

impl ProxyChoice {
    /// The proxy for `url`, reading the process environment. A value that is
    /// not UTF-8 is read lossily, so that it fails as a bad proxy URL naming
    /// its variable rather than being skipped silently.
    pub fn proxy_for(&self, url: &WsUrl) -> Result<Option<Proxy>, ProxyEnvError> {
        self.proxy_for_with(url, |name| {
            std::env::var_os(name).map(|value| value.to_string_lossy().into_owned())
        })
    }

    /// The same with the variables from `lookup` (for tests, and callers with
    /// their own environment): `lookup(name)` is the variable's value, `None`
    /// when it is unset. `lookup` is only called for [`FromEnvironment`](Self::FromEnvironment).
    pub fn proxy_for_with(
        &self,
        url: &WsUrl,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<Proxy>, ProxyEnvError> {
        match self {
            ProxyChoice::Direct => Ok(None),
            ProxyChoice::Through(proxy) => Ok(Some(proxy.clone())),
            ProxyChoice::FromEnvironment => from_environment(url, &lookup),
        }
    }
}

/// `config` with the environment's proxy for its URL, unless it says
/// already ([`ClientConfig::proxy`] or [`ClientConfig::no_proxy`]): what
/// every backend does before it connects.
pub fn with_environment_proxy(config: ClientConfig) -> Result<ClientConfig, ProxyEnvError> {
    if !config.proxy_unset() {
        return Ok(config);
    }
    Ok(
        match ProxyChoice::FromEnvironment.proxy_for(config.url())? {
            Some(proxy) => config.proxy(proxy),
            None => config.no_proxy(),
        },
    )
}

/// An environment variable names a proxy that cannot be used: says which
/// variable and why (never shows a password).
///
/// ```
/// use sockette_core::{ProxyUrlError, WsUrl};
/// use sockette_driver::ProxyChoice;
///
/// let url = WsUrl::parse("wss://example.com")?;
/// let env = |name: &str| {
///     (name == "https_proxy").then(|| "http://bob:secret@proxy:3128x".to_string())
/// };
/// let error = ProxyChoice::FromEnvironment.proxy_for_with(&url, env).unwrap_err();
/// assert_eq!(error.variable(), "https_proxy");
/// assert_eq!(error.error(), &ProxyUrlError::InvalidPort("3128x".into()));
/// assert_eq!(
///     error.to_string(),
///     "environment variable https_proxy=\"http://bob:***@proxy:3128x\" is not a usable proxy: \
///      invalid proxy port \"3128x\" (expected 1-65535)"
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyEnvError {
    variable: &'static str,
    /// The value with its password, if any, replaced by `***`.
    value: String,
    error: ProxyUrlError,
}

impl ProxyEnvError {
    fn new(variable: &'static str, value: &str, error: ProxyUrlError) -> ProxyEnvError {
        let (shown, password) = conceal_password(value);
        ProxyEnvError {
            variable,
            value: shown,
            error: without_password(error, value, password),
        }
    }

    /// The variable's name, as read (`https_proxy`, `ALL_PROXY`, …).
    pub fn variable(&self) -> &str {
        self.variable
    }

    /// Why its value is not a usable proxy URL. When the parser's own
    /// answer would quote part of the password (a `/`, a space or `://`
    /// inside it), this is [`ProxyUrlError::InvalidCredentials`] instead:
    /// such a character must be percent-encoded.
    pub fn error(&self) -> &ProxyUrlError {
        &self.error
    }
}

impl fmt::Display for ProxyEnvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "environment variable {}={:?} is not a usable proxy: {}",
            self.variable, self.value, self.error
        )
    }
}

impl std::error::Error for ProxyEnvError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

/// Most specific first; lowercase before uppercase, as curl and Python read
/// them (lowercase is the older, more common convention).
const SECURE_VARIABLES: [&str; 6] = [
    "wss_proxy",
    "WSS_PROXY",
    "https_proxy",
    "HTTPS_PROXY",
    "all_proxy",
    "ALL_PROXY",
];
const PLAIN_VARIABLES: [&str; 6] = [
    "ws_proxy",
    "WS_PROXY",
    "http_proxy",
    "HTTP_PROXY",
    "all_proxy",
    "ALL_PROXY",
];

fn from_environment(
    url: &WsUrl,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<Proxy>, ProxyEnvError> {
    let Some((variable, value)) = proxy_variable(url.is_secure(), lookup) else {
        return Ok(None);
    };
    // Before parsing: a bad value must not fail a host that would not use it.
    if is_loopback(url) || in_no_proxy(url, lookup) {
        return Ok(None);
    }
    Proxy::parse(&value)
        .map(Some)
        .map_err(|error| ProxyEnvError::new(variable, &value, error))
}

/// The first proxy variable set for the scheme, with its value.
fn proxy_variable(
    secure: bool,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Option<(&'static str, String)> {
    let names = if secure {
        &SECURE_VARIABLES
    } else {
        &PLAIN_VARIABLES
    };
    names.iter().find_map(|&name| {
        // httpoxy (CVE-2016-5385): under CGI, a request header `Proxy: x`
        // becomes HTTP_PROXY=x; a client must not let a request pick its proxy.
        if name == "HTTP_PROXY" && lookup("REQUEST_METHOD").is_some() {
            return None;
        }
        non_empty(lookup, name).map(|value| (name, value))
    })
}

/// An empty value counts as unset (`export https_proxy=` is how many scripts
/// "clear" a variable).
fn non_empty(lookup: &dyn Fn(&str) -> Option<String>, name: &str) -> Option<String> {
    lookup(name).filter(|value| !value.is_empty())
}

/// The URL's host as `no_proxy` compares it.
enum Host<'a> {
    Ip(IpAddr),
    /// Lowercase, without a trailing dot.
    Name(&'a str),
}

fn host_of(url: &WsUrl) -> Host<'_> {
    if url.host_is_ip() {
        if let Ok(ip) = url.host().parse() {
            return Host::Ip(ip);
        }
    }
    let name = url.host();
    Host::Name(name.strip_suffix('.').unwrap_or(name))
}

/// `localhost`, `*.localhost` (RFC 6761 §6.3: always loopback), `127.0.0.0/8`
/// and `::1`. IPv4-mapped addresses (`::ffff:127.0.0.1`) are not special.
fn is_loopback(url: &WsUrl) -> bool {
    match host_of(url) {
        Host::Ip(ip) => ip.is_loopback(),
        Host::Name(name) => name == "localhost" || name.ends_with(".localhost"),
    }
}

fn in_no_proxy(url: &WsUrl, lookup: &dyn Fn(&str) -> Option<String>) -> bool {
    let Some(list) = non_empty(lookup, "no_proxy").or_else(|| non_empty(lookup, "NO_PROXY")) else {
        return false;
    };
    let host = host_of(url);
    list.split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .any(|entry| entry_matches(entry, &host, url.port()))
}

/// What a `no_proxy` entry names, port aside.
#[derive(Debug, PartialEq)]
enum Pattern<'a> {
    /// Without leading dots or a trailing dot, in its own case.
    Name(&'a str),
    Ip(IpAddr),
    /// An address and a prefix length valid for its family.
    Net(IpAddr, u8),
}

fn entry_matches(entry: &str, host: &Host<'_>, port: u16) -> bool {
    if entry == "*" {
        return true;
    }
    // An entry that cannot be read matches nothing.
    let Some((pattern, entry_port)) = parse_entry(entry) else {
        return false;
    };
    if entry_port.is_some_and(|p| p != port) {
        return false;
    }
    match (pattern, host) {
        (Pattern::Name(suffix), Host::Name(name)) => name_matches(name, suffix),
        (Pattern::Ip(address), Host::Ip(ip)) => address == *ip,
        (Pattern::Net(network, prefix), Host::Ip(ip)) => in_network(*ip, network, prefix),
        _ => false,
    }
}

/// Splits `host[:port]`, `[v6][/len][:port]`, `v6[/len]`, `v4[/len][:port]`.
fn parse_entry(entry: &str) -> Option<(Pattern<'_>, Option<u16>)> {
    if let Some(rest) = entry.strip_prefix('[') {
        let (address, after) = rest.split_once(']')?;
        let (prefix, port) = match after.split_once(':') {
            Some((prefix, port)) => (prefix, Some(parse_port(port)?)),
            None => (after, None),
        };
        let address: IpAddr = address.parse().ok()?;
        let pattern = match prefix {
            "" => Pattern::Ip(address),
            _ => Pattern::Net(address, parse_prefix(prefix.strip_prefix('/')?, address)?),
        };
        return Some((pattern, port));
    }
    // Two colons or more: a bare IPv6 address, which cannot carry a port.
    let (target, port) = match entry.split_once(':') {
        Some((target, port)) if !port.contains(':') => (target, Some(parse_port(port)?)),
        _ => (entry, None),
    };
    if let Some((address, prefix)) = target.split_once('/') {
        let address: IpAddr = address.parse().ok()?;
        return Some((Pattern::Net(address, parse_prefix(prefix, address)?), port));
    }
    if let Ok(address) = target.parse() {
        return Some((Pattern::Ip(address), port));
    }
    // `.example.com` and `*.example.com` say "and its subdomains", which a
    // bare name already means: curl's reading.
    let name = target.strip_prefix("*.").unwrap_or(target);
    let name = name.trim_start_matches('.');
    let name = name.strip_suffix('.').unwrap_or(name);
    if name.is_empty() {
        return None;
    }
    Some((Pattern::Name(name), port))
}

/// 1-65535, digits only (`u16`'s parser would take `+80`).
fn parse_port(text: &str) -> Option<u16> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok().filter(|&port| port != 0)
}

fn parse_prefix(text: &str, address: IpAddr) -> Option<u8> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let prefix: u8 = text.parse().ok()?;
    let bits = if address.is_ipv4() { 32 } else { 128 };
    (prefix <= bits).then_some(prefix)
}

/// `name` is `suffix` or ends with `.suffix`, ASCII case-insensitively.
/// Compared as bytes, so no input can split a character.
fn name_matches(name: &str, suffix: &str) -> bool {
    let (name, suffix) = (name.as_bytes(), suffix.as_bytes());
    let Some(start) = name.len().checked_sub(suffix.len()) else {
        return false;
    };
    name[start..].eq_ignore_ascii_case(suffix) && (start == 0 || name[start - 1] == b'.')
}

fn in_network(ip: IpAddr, network: IpAddr, prefix: u8) -> bool {
    match (ip, network) {
        (IpAddr::V4(ip), IpAddr::V4(network)) => {
            // A shift by 32 overflows: /0 is the empty mask.
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            u32::from(ip) & mask == u32::from(network) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(network)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            u128::from(ip) & mask == u128::from(network) & mask
        }
        _ => false,
    }
}

/// The value with its password replaced by `***`, and where the password was.
///
/// Generous on purpose: the credentials run to the *last* `@` of the whole
/// value, not of the authority as [`Proxy::parse`] reads it, so that a
/// password holding a raw `/`, `?` or `#` (which ends the authority) is
/// still hidden. A scheme is only recognised when it looks like one, so
/// that `user:pa://ss@host` hides `pa://ss`.
fn conceal_password(value: &str) -> (String, Option<Range<usize>>) {
    let after_scheme = value
        .find("://")
        .filter(|&end| looks_like_scheme(&value[..end]))
        .map_or(0, |end| end + 3);
    let rest = &value[after_scheme..];
    let password = rest.rfind('@').and_then(|at| {
        let colon = rest[..at].find(':')?;
        Some(after_scheme + colon + 1..after_scheme + at)
    });
    match password {
        Some(range) if !range.is_empty() => (
            format!("{}***{}", &value[..range.start], &value[range.end..]),
            Some(range),
        ),
        _ => (value.to_string(), None),
    }
}

fn looks_like_scheme(text: &str) -> bool {
    let mut bytes = text.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
}

/// `error`, unless the text it quotes overlaps the password: then
/// [`ProxyUrlError::InvalidCredentials`], which quotes nothing and is the
/// fix (a password's `/`, space or `://` must be percent-encoded).
fn without_password(
    error: ProxyUrlError,
    value: &str,
    password: Option<Range<usize>>,
) -> ProxyUrlError {
    let Some(password) = password else {
        return error;
    };
    let quotes_password = match &error {
        // The scheme is what comes before the first `://`.
        ProxyUrlError::UnsupportedScheme(_) => {
            value.find("://").is_some_and(|end| password.start < end)
        }
        // The path is the end of the value.
        ProxyUrlError::UnexpectedPath(path) => {
            value.len().saturating_sub(path.len()) < password.end
        }
        // The first character the parser refuses.
        ProxyUrlError::InvalidCharacter(_) => value
            .char_indices()
            .find(|(_, c)| c.is_whitespace() || c.is_control() || !c.is_ascii())
            .is_some_and(|(at, _)| password.contains(&at)),
        // The host and port come after the last `@` of the authority, which
        // is the password's end whenever the path check above passed.
        _ => false,
    };
    if quotes_password {
        ProxyUrlError::InvalidCredentials
    } else {
        error
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn choose(url: &str, vars: &[(&str, &str)]) -> Result<Option<Proxy>, ProxyEnvError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|&(name, value)| (name.to_string(), value.to_string()))
            .collect();
        let url = WsUrl::parse(url).unwrap();
        ProxyChoice::FromEnvironment.proxy_for_with(&url, |name| vars.get(name).cloned())
    }

    /// The proxy's host, or None for a direct connection.
    fn proxied(url: &str, vars: &[(&str, &str)]) -> Option<String> {
        choose(url, vars)
            .unwrap()
            .map(|proxy| proxy.host().to_string())
    }

    const ALL_VARIABLES: [(&str, &str); 10] = [
        ("wss_proxy", "wss-lower"),
        ("WSS_PROXY", "wss-upper"),
        ("https_proxy", "https-lower"),
        ("HTTPS_PROXY", "https-upper"),
        ("ws_proxy", "ws-lower"),
        ("WS_PROXY", "ws-upper"),
        ("http_proxy", "http-lower"),
        ("HTTP_PROXY", "http-upper"),
        ("all_proxy", "all-lower"),
        ("ALL_PROXY", "all-upper"),
    ];

    /// Each variable in turn removed: the next in order answers.
    fn order_of(url: &str) -> Vec<String> {
        let mut vars = ALL_VARIABLES.to_vec();
        let mut order = Vec::new();
        while let Some(host) = proxied(url, &vars) {
            vars.retain(|&(_, value)| value != host);
            order.push(host);
        }
        order
    }

    #[test]
    fn variables_are_read_by_scheme_lowercase_first() {
        assert_eq!(
            order_of("wss://example.com"),
            [
                "wss-lower",
                "wss-upper",
                "https-lower",
                "https-upper",
                "all-lower",
                "all-upper"
            ]
        );
        assert_eq!(
            order_of("ws://example.com"),
            [
                "ws-lower",
                "ws-upper",
                "http-lower",
                "http-upper",
                "all-lower",
                "all-upper"
            ]
        );
    }

    #[test]
    fn a_scheme_never_reads_the_other_schemes_variables() {
        let http_only = [("http_proxy", "h"), ("ws_proxy", "w")];
        assert_eq!(proxied("wss://example.com", &http_only), None);
        let https_only = [("https_proxy", "h"), ("WSS_PROXY", "w")];
        assert_eq!(proxied("ws://example.com", &https_only), None);
        assert_eq!(proxied("ws://example.com", &[]), None);
    }

    #[test]
    fn the_proxy_url_is_parsed() {
        let proxy = choose(
            "wss://example.com",
            &[("ALL_PROXY", "socks5h://u:p%40ss@[2001:db8::7]")],
        )
        .unwrap()
        .unwrap();
        assert_eq!(proxy.to_string(), "socks5h://u@[2001:db8::7]:1080");
        let proxy = choose("ws://example.com", &[("http_proxy", "10.0.0.1:8080")])
            .unwrap()
            .unwrap();
        assert_eq!(proxy.to_string(), "http://10.0.0.1:8080");
    }

    #[test]
    fn an_empty_value_counts_as_unset() {
        let vars = [
            ("wss_proxy", ""),
            ("WSS_PROXY", ""),
            ("https_proxy", ""),
            ("HTTPS_PROXY", "upper"),
        ];
        assert_eq!(
            proxied("wss://example.com", &vars).as_deref(),
            Some("upper")
        );
        assert_eq!(proxied("wss://example.com", &[("https_proxy", "")]), None);
        let vars = [
            ("http_proxy", "p"),
            ("no_proxy", ""),
            ("NO_PROXY", "example.com"),
        ];
        assert_eq!(proxied("ws://example.com", &vars), None);
    }

    #[test]
    fn uppercase_http_proxy_is_ignored_under_cgi() {
        let cgi = [("REQUEST_METHOD", "GET"), ("HTTP_PROXY", "from-a-header")];
        assert_eq!(proxied("ws://example.com", &cgi), None);
        // Even an empty REQUEST_METHOD says CGI: the safe reading.
        let cgi = [("REQUEST_METHOD", ""), ("HTTP_PROXY", "from-a-header")];
        assert_eq!(proxied("ws://example.com", &cgi), None);
        // The next variables still count.
        let cgi = [
            ("REQUEST_METHOD", "GET"),
            ("HTTP_PROXY", "from-a-header"),
            ("ALL_PROXY", "all"),
        ];
        assert_eq!(proxied("ws://example.com", &cgi).as_deref(), Some("all"));
        // No header becomes these.
        for name in ["http_proxy", "WS_PROXY", "ws_proxy"] {
            let cgi = [("REQUEST_METHOD", "GET"), (name, "mine")];
            assert_eq!(
                proxied("ws://example.com", &cgi).as_deref(),
                Some("mine"),
                "{name}"
            );
        }
        let cgi = [("REQUEST_METHOD", "POST"), ("HTTPS_PROXY", "mine")];
        assert_eq!(proxied("wss://example.com", &cgi).as_deref(), Some("mine"));
        // Outside CGI, HTTP_PROXY is read.
        let plain = [("HTTP_PROXY", "mine")];
        assert_eq!(proxied("ws://example.com", &plain).as_deref(), Some("mine"));
    }

    /// True when `no_proxy=<list>` sends `url` direct while `all_proxy` is set.
    fn bypassed(list: &str, url: &str) -> bool {
        proxied(url, &[("all_proxy", "p"), ("no_proxy", list)]).is_none()
    }

    #[test]
    fn names_match_themselves_and_their_subdomains() {
        for entry in [
            "example.com",
            ".example.com",
            "*.example.com",
            "EXAMPLE.Com",
        ] {
            for url in [
                "ws://example.com",
                "ws://a.example.com",
                "wss://b.a.Example.COM:9443/x",
                "ws://example.com./",
                "ws://a.example.com.",
            ] {
                assert!(bypassed(entry, url), "{entry} {url}");
            }
            for url in [
                "ws://badexample.com",
                "ws://example.com.evil",
                "ws://example.org",
                "ws://com",
            ] {
                assert!(!bypassed(entry, url), "{entry} {url}");
            }
        }
        assert!(bypassed("example.com.", "ws://a.example.com"));
        assert!(bypassed("com", "ws://example.com"));
        // A name never matches an address.
        assert!(!bypassed("example.com", "ws://10.0.0.1"));
        assert!(!bypassed("0.1", "ws://10.0.0.1"));
    }

    #[test]
    fn a_star_alone_matches_everything() {
        for url in ["ws://example.com", "wss://10.1.2.3:1", "ws://[2001:db8::1]"] {
            assert!(bypassed("*", url), "{url}");
            assert!(bypassed("other.example, *", url), "{url}");
        }
        // Only alone: these are names (or nothing).
        assert!(!bypassed("*example.com", "ws://a.example.com"));
        assert!(!bypassed("*.", "ws://example.com"));
    }

    #[test]
    fn addresses_match_exactly() {
        assert!(bypassed("10.1.2.3", "ws://10.1.2.3"));
        assert!(bypassed("10.1.2.3", "wss://10.1.2.3:8443"));
        assert!(!bypassed("10.1.2.3", "ws://10.1.2.4"));
        assert!(!bypassed("10.1.2.3", "ws://10.1.2.30"));
        for entry in ["2001:db8::1", "[2001:db8::1]", "2001:DB8:0:0::1"] {
            assert!(bypassed(entry, "ws://[2001:db8::1]"), "{entry}");
            assert!(bypassed(entry, "ws://[2001:db8:0::1]:81"), "{entry}");
            assert!(!bypassed(entry, "ws://[2001:db8::2]"), "{entry}");
            assert!(!bypassed(entry, "ws://example.com"), "{entry}");
        }
        // An IPv4 address is not its mapped IPv6 form.
        assert!(!bypassed("10.1.2.3", "ws://[::ffff:10.1.2.3]"));
    }

    #[test]
    fn cidr_ranges_match_addresses_in_them() {
        let v4 = [
            ("10.0.0.0/8", "ws://10.200.3.4", true),
            ("10.0.0.0/8", "ws://11.0.0.1", false),
            ("10.0.0.0/8", "ws://9.255.255.255", false),
            ("192.168.1.0/24", "ws://192.168.1.255", true),
            ("192.168.1.0/24", "ws://192.168.2.1", false),
            ("192.168.1.77/24", "ws://192.168.1.3", true),
            ("10.1.2.3/32", "ws://10.1.2.3", true),
            ("10.1.2.3/32", "ws://10.1.2.2", false),
            ("0.0.0.0/0", "ws://203.0.113.9", true),
            ("0.0.0.0/0", "ws://[2001:db8::1]", false),
            ("0.0.0.0/0", "ws://example.com", false),
        ];
        let v6 = [
            ("fd00::/8", "ws://[fd12:3456::1]", true),
            ("fd00::/8", "ws://[fe80::1]", false),
            ("[fd00::]/8", "ws://[fdff::1]", true),
            ("[fd00::]/8", "ws://[fc00::1]", false),
            ("2001:db8::/32", "ws://[2001:db8:ffff::1]", true),
            ("2001:db8::/32", "ws://[2001:db9::1]", false),
            ("2001:db8::1/128", "ws://[2001:db8::1]", true),
            ("2001:db8::1/128", "ws://[2001:db8::2]", false),
            ("::/0", "ws://[2001:db8::1]", true),
            ("::/0", "ws://10.0.0.1", false),
            ("fd00::/8", "ws://fd00.example", false),
        ];
        for (entry, url, hit) in v4.into_iter().chain(v6) {
            assert_eq!(bypassed(entry, url), hit, "{entry} {url}");
        }
    }

    #[test]
    fn entries_with_a_port_match_that_port_only() {
        let cases = [
            ("example.com:8080", "ws://example.com:8080", true),
            ("example.com:8080", "ws://a.example.com:8080/x", true),
            ("example.com:8080", "ws://example.com", false),
            ("example.com:8080", "wss://example.com", false),
            ("10.1.2.3:443", "wss://10.1.2.3", true),
            ("10.1.2.3:443", "ws://10.1.2.3", false),
            ("[2001:db8::1]:9001", "ws://[2001:db8::1]:9001", true),
            ("[2001:db8::1]:9001", "ws://[2001:db8::1]:9002", false),
            ("10.0.0.0/8:443", "wss://10.9.9.9", true),
            ("10.0.0.0/8:443", "ws://10.9.9.9", false),
            ("[fd00::]/8:443", "wss://[fd00::9]", true),
            ("[fd00::]/8:443", "wss://[fd00::9]:444", false),
            // Two colons: an address, not an address and a port.
            ("2001:db8::1:9001", "ws://[2001:db8::1]:9001", false),
            ("2001:db8::1:9001", "ws://[2001:db8::1:9001]", true),
        ];
        for (entry, url, hit) in cases {
            assert_eq!(bypassed(entry, url), hit, "{entry} {url}");
        }
    }

    #[test]
    fn entries_are_trimmed_and_empty_ones_skipped() {
        let list = " other.example ,\t, ,example.com\t ,";
        assert!(bypassed(list, "ws://a.example.com"));
        assert!(bypassed(list, "ws://other.example"));
        assert!(!bypassed(list, "ws://example.org"));
        assert!(!bypassed(",,, ,", "ws://example.com"));
        // One list or the other, never both: lowercase wins.
        let vars = [
            ("all_proxy", "p"),
            ("no_proxy", "a.example"),
            ("NO_PROXY", "b.example"),
        ];
        assert_eq!(proxied("ws://a.example", &vars), None);
        assert!(proxied("ws://b.example", &vars).is_some());
        let vars = [("all_proxy", "p"), ("NO_PROXY", "b.example")];
        assert_eq!(proxied("ws://b.example", &vars), None);
    }

    #[test]
    fn unreadable_entries_match_nothing() {
        let broken = [
            "10.0.0.0/99",
            "fd00::/129",
            "x/y",
            "10.0.0.0/",
            "/8",
            "10.0.0.0/8/8",
            "10.0.0.0/+8",
            "[::1",
            "[fd00::]x",
            "[fd00::]/",
            "[example.com]",
            "example.com:",
            "example.com:0",
            "example.com:65536",
            "example.com:+80",
            "example.com:80x",
            "[2001:db8::1]:",
            ".",
            "..",
            "*.",
            "::ffff:zz",
            "é.example.com",
            "[]",
            ":",
            "/",
        ];
        let urls = [
            "ws://example.com",
            "wss://a.example.com",
            "ws://10.0.0.1",
            "ws://[2001:db8::1]",
            "ws://[fd00::1]:80",
        ];
        for entry in broken {
            for url in urls {
                assert!(!bypassed(entry, url), "{entry} {url}");
            }
            // The rest of the list still counts.
            assert!(bypassed(
                &format!("{entry},example.com"),
                "ws://example.com"
            ));
        }
    }

    #[test]
    fn loopback_is_always_direct() {
        let everything = [
            ("wss_proxy", "p"),
            ("ws_proxy", "p"),
            ("all_proxy", "p"),
            ("no_proxy", "other.example"),
        ];
        for url in [
            "ws://localhost",
            "wss://LOCALHOST:9001",
            "ws://localhost./",
            "ws://app.localhost",
            "ws://127.0.0.1:9001",
            "wss://127.255.0.9",
            "ws://[::1]:9001",
            "ws://[0:0:0:0:0:0:0:1]",
        ] {
            assert_eq!(proxied(url, &everything), None, "{url}");
        }
        for url in [
            "ws://localhost.example.com",
            "ws://notlocalhost",
            "ws://128.0.0.1",
            "ws://[::2]",
            "ws://[::ffff:127.0.0.1]",
        ] {
            assert!(proxied(url, &everything).is_some(), "{url}");
        }
        // Asked for explicitly, a proxy is used even there.
        let proxy = Proxy::parse("socks5://127.0.0.1:1080").unwrap();
        let url = WsUrl::parse("ws://localhost:9001").unwrap();
        let choice = ProxyChoice::Through(proxy.clone());
        assert_eq!(choice.proxy_for_with(&url, |_| None), Ok(Some(proxy)));
    }

    #[test]
    fn a_bad_proxy_names_its_variable_and_hides_the_password() {
        let error = choose(
            "wss://example.com",
            &[("https_proxy", "http://bob:secret@proxy:3128x")],
        )
        .unwrap_err();
        assert_eq!(error.variable(), "https_proxy");
        assert_eq!(error.error(), &ProxyUrlError::InvalidPort("3128x".into()));
        assert_eq!(
            error.to_string(),
            "environment variable https_proxy=\"http://bob:***@proxy:3128x\" is not a usable \
             proxy: invalid proxy port \"3128x\" (expected 1-65535)"
        );
        assert!(!format!("{error:?}").contains("secret"));
        let source = std::error::Error::source(&error).unwrap();
        assert_eq!(source.to_string(), error.error().to_string());

        let error = choose("ws://example.com", &[("ALL_PROXY", "ftp://u:pw@p")]).unwrap_err();
        assert_eq!(error.variable(), "ALL_PROXY");
        assert_eq!(
            error.error(),
            &ProxyUrlError::UnsupportedScheme("ftp".into())
        );
        assert!(error.to_string().contains("\"ftp://u:***@p\""), "{error}");
    }

    #[test]
    fn a_password_the_parser_would_quote_is_hidden_too() {
        let cases = [
            // A raw `/` ends the authority: the parser would quote "/cret@p".
            ("http://bob:se/cret@p", "http://bob:***@p"),
            ("http://bob:se?cret@p", "http://bob:***@p"),
            ("http://bob:se cret@p", "http://bob:***@p"),
            ("http://bob:sécret@p", "http://bob:***@p"),
            // `://` inside the password: the parser would take "bob:se" for a scheme.
            ("bob:se://cret@p", "bob:***@p"),
            ("http://bob:se://cret@p", "http://bob:***@p"),
        ];
        for (value, shown) in cases {
            let error = choose("ws://example.com", &[("http_proxy", value)]).unwrap_err();
            assert_eq!(error.error(), &ProxyUrlError::InvalidCredentials, "{value}");
            let text = format!("{error} {error:?}");
            assert!(text.contains(&format!("{shown:?}")), "{text}");
            assert!(!text.contains("cret"), "{text}");
        }
        // What does not quote the password is kept.
        for (value, error) in [
            (
                "http://bob:secret@p/path",
                ProxyUrlError::UnexpectedPath("/path".into()),
            ),
            (
                "http://bob:secret@p q",
                ProxyUrlError::InvalidCharacter(' '),
            ),
            ("http://bob@p/x", ProxyUrlError::UnexpectedPath("/x".into())),
            ("http://p/x@y", ProxyUrlError::UnexpectedPath("/x@y".into())),
        ] {
            let got = choose("ws://example.com", &[("http_proxy", value)]).unwrap_err();
            assert_eq!(got.error(), &error, "{value}");
            assert!(!got.to_string().contains("secret"), "{got}");
        }
    }

    #[test]
    fn a_bad_proxy_does_not_fail_hosts_that_would_not_use_it() {
        let vars = [("all_proxy", "http://p:0"), ("no_proxy", "example.com")];
        assert_eq!(choose("ws://a.example.com", &vars), Ok(None));
        assert_eq!(choose("ws://localhost", &vars), Ok(None));
        assert!(choose("ws://example.org", &vars).is_err());
    }

    #[test]
    fn direct_and_through_ignore_the_environment() {
        let url = WsUrl::parse("wss://example.com").unwrap();
        let env = |_: &str| Some("http://p:1".to_string());
        assert_eq!(ProxyChoice::Direct.proxy_for_with(&url, env), Ok(None));
        let proxy = Proxy::parse("https://other:8443").unwrap();
        assert_eq!(
            ProxyChoice::Through(proxy.clone()).proxy_for_with(&url, env),
            Ok(Some(proxy))
        );
        assert_eq!(ProxyChoice::default(), ProxyChoice::FromEnvironment);
        let env = |_: &str| -> Option<String> { panic!("the environment is not read") };
        assert_eq!(ProxyChoice::Direct.proxy_for_with(&url, env), Ok(None));
    }
}
