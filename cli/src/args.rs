//! The command line: every option, its help text, and the checks clap cannot do
//! alone (header syntax, durations). Nothing here connects or prints events.

// The doc comments below are clap's `--help` text, read as plain text: brackets such as
// `host[:port]` are not intra-doc links.
#![allow(rustdoc::broken_intra_doc_links)]

use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgAction, Parser};

/// What `--help` shows after the options: modes, interactive use, exit codes.
const AFTER_HELP: &str = "\
MODES:
  sockette                    demo: an embedded echo server on a free loopback port with a
                              certificate made at start (trusted for this run only), a wss://
                              session with it (text, binary, ping, close 1000), each event printed
  sockette URL                interactive session: each stdin line is sent as a text message,
                              every event is printed; end of input (Ctrl-D) closes with 1000
  sockette URL --send MSG...  send the messages, wait for as many replies (at most --wait
                              seconds), close with 1000 and exit
  sockette --serve PORT       run the echo server alone (ws://, or wss:// with --tls) until killed;
                              the first output line is `listening on URL`

OUTPUT:
  `* open` / `* close` lines are events, `<` marks a received message, `>` a sent one;
  errors go to stderr as `! error: ...`. Colors only when stdout is a terminal (and NO_COLOR is
  unset). On a terminal, control characters the server sent are shown escaped (`\x1b`), so it
  cannot drive the terminal (--no-escape: print them raw). --json prints one JSON object per
  event instead, on stdout.

DURATIONS:
  SECS values are seconds, fractions allowed (0.5): more than 0 and at most 31536000 (one
  year); anything else is refused with exit code 2.

EXIT CODES:
  0  the connection closed cleanly (close handshake done, code 1000, 1001 or none)
  1  the connection was lost or failed after opening (socket error, stdin error)
  2  invalid arguments or configuration (URL, header, CA file, client certificate)
  3  DNS resolution failed
  4  TCP connection failed (refused, unreachable)
  5  TLS failed (untrusted or invalid certificate, not a TLS server)
  6  the server refused the WebSocket upgrade (HTTP status other than 101, bad handshake)
  7  the server broke the WebSocket protocol (or a size limit was exceeded)
  8  a deadline passed (--connect-timeout, keepalive, close handshake)
  9  the server closed cleanly with an error code (1002-1014, 3000-4999)
 10  the proxy failed (refused the tunnel, wrong credentials, unreachable destination,
     no answer in time)

PROXIES:
  Without --proxy or --no-proxy the environment decides, as Python and Go read it:
  wss_proxy, https_proxy, then all_proxy for wss://; ws_proxy, http_proxy, then
  all_proxy for ws:// (lowercase first, then uppercase); no_proxy lists hosts
  reached directly (names with their subdomains, addresses, CIDR ranges, :port);
  loopback is always reached directly.";

/// sockette: a WebSocket (RFC 6455) client for the terminal and for scripts.
///
/// With no URL, runs a self-contained demo over wss:// against an embedded echo server.
#[derive(Debug, Parser)]
#[command(name = "sockette", version, about, long_about = None, after_help = AFTER_HELP)]
pub(crate) struct Args {
    /// The server to connect to: ws://host[:port]/path or wss://host[:port]/path.
    /// Without it (and without --serve), runs the embedded TLS demo.
    #[arg(value_name = "URL", conflicts_with = "serve")]
    pub(crate) url: Option<String>,

    /// Adds a header to the opening handshake, as "Name: value" (repeatable).
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE", value_parser = parse_header, action = ArgAction::Append)]
    pub(crate) headers: Vec<(String, String)>,

    /// Offers a subprotocol (Sec-WebSocket-Protocol), in order of preference (repeatable).
    #[arg(long = "protocol", value_name = "NAME", action = ArgAction::Append)]
    pub(crate) protocols: Vec<String>,

    /// Sends an Origin header.
    #[arg(long, value_name = "ORIGIN")]
    pub(crate) origin: Option<String>,

    /// Sends "Authorization: Basic" with this user name and password, as
    /// credentials in the URL (ws://user:password@host/) do.
    #[arg(long, value_name = "USER:PASSWORD", value_parser = parse_auth)]
    pub(crate) auth: Option<(String, String)>,

    /// wss://: also trusts the certificates of this PEM file (a private CA, or the
    /// certificate written by `--serve PORT --tls`) (repeatable).
    #[arg(long = "ca", value_name = "FILE", action = ArgAction::Append)]
    pub(crate) ca_files: Vec<PathBuf>,

    /// wss://: lets the operating system verify the server's certificate (its store
    /// and policies: corporate CAs, TLS-inspecting proxies) instead of the Mozilla
    /// roots; --ca certificates are still trusted.
    #[arg(long, conflicts_with = "insecure")]
    pub(crate) platform_verifier: bool,

    /// wss://: presents this client certificate to servers that ask for one (mutual
    /// TLS): a PEM file with the certificate, then any intermediates. Needs --key.
    #[arg(
        long = "cert",
        value_name = "FILE",
        requires = "key",
        conflicts_with = "serve"
    )]
    pub(crate) cert: Option<PathBuf>,

    /// With --cert: the certificate's private key, a PEM file (PKCS#8, PKCS#1 or
    /// SEC1).
    #[arg(long = "key", value_name = "FILE", requires = "cert")]
    pub(crate) key: Option<PathBuf>,

    /// DANGEROUS: wss:// without verifying the server's certificate, so anyone on the
    /// path can read and change the traffic. Off by default; for local experiments only.
    #[arg(long)]
    pub(crate) insecure: bool,

    /// Do not offer permessage-deflate compression (offered by default; used only
    /// if the server agrees).
    #[arg(long)]
    pub(crate) no_deflate: bool,

    /// Follows redirects (301, 302, 303, 307, 308) during the opening, up to
    /// --max-redirects; a wss:// to ws:// downgrade is refused, and credentials
    /// are not sent on to another origin.
    #[arg(short = 'L', long = "location")]
    pub(crate) location: bool,

    /// With -L: the most redirects followed [default: 10].
    #[arg(long, value_name = "N", requires = "location")]
    pub(crate) max_redirects: Option<u32>,

    /// Goes through this proxy: http://, https:// (TLS to the proxy too),
    /// socks5:// (the server's name resolved here) or socks5h:// (resolved by
    /// the proxy), with user:password@ for its credentials (percent-encoded).
    #[arg(long, value_name = "URL", conflicts_with = "no_proxy")]
    pub(crate) proxy: Option<String>,

    /// Connects directly, whatever the proxy environment variables say.
    #[arg(long)]
    pub(crate) no_proxy: bool,

    /// Deadline of the whole opening (DNS, TCP, proxy, TLS, HTTP upgrade), in seconds;
    /// when it passes, exit code 8 [default: 10].
    #[arg(long, value_name = "SECS", value_parser = parse_seconds)]
    pub(crate) connect_timeout: Option<Duration>,

    /// Sends a ping after SECS of silence from the server, and fails the connection
    /// (exit code 8) if it then stays silent for SECS more (at least 2 s), so a
    /// server that vanished is noticed [default: 20, then 20 s more].
    #[arg(long, value_name = "SECS", value_parser = parse_seconds)]
    pub(crate) ping_interval: Option<Duration>,

    /// Turns keepalive pings off: a server that vanishes without a word (a NAT
    /// timeout, a pulled cable) is then never noticed.
    #[arg(long, conflicts_with = "ping_interval")]
    pub(crate) no_keepalive: bool,

    /// Prints received binary messages as a full hex dump (default: their size and
    /// the first 32 bytes in hex).
    #[arg(long, conflicts_with = "binary")]
    pub(crate) hex: bool,

    /// Writes received binary messages to stdout as raw bytes, unmarked (for piping
    /// to a file).
    #[arg(long)]
    pub(crate) binary: bool,

    /// Sends this text message once open (repeatable, in order), then waits for as
    /// many replies or --wait seconds, closes with 1000 and exits. Stdin is not read.
    #[arg(long = "send", value_name = "MSG", action = ArgAction::Append, requires = "url")]
    pub(crate) send: Vec<String>,

    /// With --send: the longest wait for the replies, in seconds, counted from the
    /// opening.
    #[arg(long, value_name = "SECS", default_value = "5", value_parser = parse_seconds)]
    pub(crate) wait: Duration,

    /// Runs the echo server alone on PORT (or ADDR:PORT; default address 127.0.0.1;
    /// 0 picks a free port) until killed. Its first output line is
    /// `listening on ws://ADDR:PORT/` (wss:// with --tls).
    #[arg(long, value_name = "PORT")]
    pub(crate) serve: Option<String>,

    /// With --serve: serves wss:// with a certificate made at start for localhost,
    /// 127.0.0.1 and ::1. Its PEM is written to --cert-out (the path is printed on
    /// the second output line); clients trust it with --ca FILE.
    #[arg(long, requires = "serve")]
    pub(crate) tls: bool,

    /// With --serve --tls: where to write the certificate
    /// [default: sockette-serve-PORT.pem in the temporary directory].
    #[arg(long, value_name = "FILE", requires = "tls")]
    pub(crate) cert_out: Option<PathBuf>,

    /// With a URL: lines starting with `/` are commands: `/ping [TEXT]`,
    /// `/close [CODE [REASON]]`, `/binary HEX`; `//text` sends `/text`.
    #[arg(long, requires = "url")]
    pub(crate) slash: bool,

    /// Prints the server's text as received even on a terminal. By default, when
    /// stdout (or stderr) is a terminal, control characters in it (escape
    /// sequences that could move the cursor, retitle the window or hide text) are
    /// shown escaped, e.g. `\x1b`; pipes, files and --json are never changed.
    #[arg(long)]
    pub(crate) no_escape: bool,

    /// Prints only received messages (and errors, on stderr).
    #[arg(short, long, conflicts_with = "json")]
    pub(crate) quiet: bool,

    /// Prints one JSON object per event on stdout, for scripts.
    #[arg(long)]
    pub(crate) json: bool,

    /// Prints the opening handshake (the HTTP request and response heads; for a
    /// refused upgrade, the answer's headers and body) and, at the end, the
    /// connection's statistics (messages, bytes, compression, ping round trip),
    /// on stderr; with --json, as `handshake`, `refusal` and `stats` objects.
    #[arg(short, long, conflicts_with = "quiet")]
    pub(crate) verbose: bool,
}

/// "user:password" → (user, password); the password may hold colons.
fn parse_auth(s: &str) -> Result<(String, String), String> {
    match s.split_once(':') {
        Some((user, password)) if !user.is_empty() => Ok((user.to_string(), password.to_string())),
        _ => Err("expected USER:PASSWORD, the user name not empty".to_string()),
    }
}

/// "Name: value" → (name, value), both trimmed.
fn parse_header(s: &str) -> Result<(String, String), String> {
    let (name, value) = s
        .split_once(':')
        .ok_or_else(|| format!("{s:?} is not a header: expected \"Name: value\""))?;
    let name = name.trim();
    if name.is_empty() {
        return Err(format!("{s:?} has no header name"));
    }
    Ok((name.to_string(), value.trim().to_string()))
}

/// The longest duration any option accepts: a year. Longer is surely a typo, and
/// refusing it keeps every deadline the session computes representable.
const MAX_SECONDS: f64 = 365.0 * 24.0 * 3600.0;

/// A number of seconds, fractions allowed: "2", "0.5"; more than zero and at
/// most [`MAX_SECONDS`].
fn parse_seconds(s: &str) -> Result<Duration, String> {
    let secs: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))?;
    if secs > MAX_SECONDS {
        return Err(format!(
            "{s} seconds is too long: at most {MAX_SECONDS} seconds (one year)"
        ));
    }
    Duration::try_from_secs_f64(secs)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| format!("{s:?}: expected a positive number of seconds"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_is_consistent() {
        Args::command().debug_assert();
    }

    #[test]
    fn headers_and_seconds_parse() {
        assert_eq!(
            parse_header("Authorization: Bearer a:b").unwrap(),
            ("Authorization".to_string(), "Bearer a:b".to_string())
        );
        assert!(parse_header("no colon").is_err());
        assert!(parse_header(": empty").is_err());
        assert_eq!(parse_seconds("0.5").unwrap(), Duration::from_millis(500));
        assert!(parse_seconds("0").is_err());
        assert!(parse_seconds("-1").is_err());
        assert!(parse_seconds("soon").is_err());
        assert_eq!(
            parse_seconds("31536000").unwrap(),
            Duration::from_secs(31_536_000)
        );
        assert!(parse_seconds("31536001").is_err());
        assert!(parse_seconds("1e19").is_err());
        assert!(parse_seconds("inf").is_err());
        assert!(parse_seconds("NaN").is_err());
    }
}
