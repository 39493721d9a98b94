//! Real proxy servers on loopback for the proxy tests, started by the tests
//! themselves and stopped when dropped: HTTP CONNECT proxies (with or without
//! Basic authentication, in the clear or inside TLS) and SOCKS5 proxies (with
//! or without RFC 1929 username/password).
//!
//! Two kinds of program serve:
//!
//! - System programs: [`tinyproxy()`] (HTTP) and [`microsocks()`] (SOCKS5), the
//!   Debian packages of the same names. CI installs them; on a developer
//!   machine they may be missing, so these return [`Unavailable`], which
//!   [`or_skip`] turns into a skipped test — or into a failure when
//!   `SOCKETTE_REQUIRE_SYSTEM_PROXIES=1` ([`system_proxies_required`]), as CI
//!   sets. `SOCKETTE_TINYPROXY` and `SOCKETTE_MICROSOCKS` name other programs
//!   (a path, or a name looked up on the `PATH`).
//! - [`pproxy_http`], [`pproxy_https`] and [`pproxy_socks5`]: the Python
//!   package `pproxy` ([`crate::python::PPROXY_VERSION`]), installed into the
//!   tests' own Python environment ([`crate::python`]), so they need only
//!   `python3`; they panic rather than skip.
//!
//! Each proxy listens on a free port of 127.0.0.1 and is accepting TCP
//! connections when its function returns. Its configuration, its log and its
//! stdout and stderr are files in a directory of its own under
//! `<target dir>/tmp`, removed on drop ([`ProxyServer::log`] reads them).
//!
//! A proxy never outlives its test: dropping the [`ProxyServer`] kills it, and
//! on Unix it runs under a small `/bin/sh` supervisor that also kills it when
//! the test process dies without dropping it (a panic with `panic = "abort"`,
//! `SIGKILL`, a test harness timeout): the supervisor holds the read end of a
//! pipe whose only write end is in the test process, and kills the proxy when
//! that pipe closes.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::fs::{self, File};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};
use std::{env, thread};

use socket2::{Domain, Socket, Type};

use crate::python::{python_with_websockets, target_dir};

/// Names the tinyproxy program instead of `tinyproxy` on the `PATH`.
pub const TINYPROXY_VARIABLE: &str = "SOCKETTE_TINYPROXY";

/// Names the microsocks program instead of `microsocks` on the `PATH`.
pub const MICROSOCKS_VARIABLE: &str = "SOCKETTE_MICROSOCKS";

/// When `1`, a missing system proxy program fails the test instead of skipping
/// it ([`system_proxies_required`]).
pub const REQUIRE_VARIABLE: &str = "SOCKETTE_REQUIRE_SYSTEM_PROXIES";

/// How long a proxy may take to accept a TCP connection once started.
const READY_TIMEOUT: Duration = Duration::from_secs(20);

/// How many fresh ports a proxy that exits at start-up (its port taken between
/// the choice and its bind) is tried on.
const ATTEMPTS: usize = 3;

/// How long a dropped proxy's supervisor may take to kill it and exit.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);

/// Directories where system daemons are installed but that a normal user's
/// `PATH` may lack (older Debian has `/usr/sbin/tinyproxy`).
const SBIN_DIRS: &[&str] = &["/usr/sbin", "/usr/local/sbin", "/sbin"];

/// The files of a proxy's directory [`ProxyServer::log`] shows, in order.
const LOG_FILES: &[&str] = &["tinyproxy.log", "stdout.txt", "stderr.txt"];

/// `/bin/sh -c` script running `"$@"` (the proxy) in the background with its
/// stdin from `/dev/null`, and a watchdog that kills it when the supervisor's
/// stdin — a pipe from the test process — reaches end of file. The supervisor
/// waits for the proxy and exits with its status, so the test sees the proxy
/// exit. The proxy stays the supervisor's unreaped child until that wait, so
/// the watchdog cannot kill a recycled pid, except in the instant between that
/// wait and the watchdog's own end, when the proxy exited by itself.
#[cfg(unix)]
const SUPERVISOR: &str = r#"exec 3<&0 </dev/null
"$@" 3<&- &
proxy=$!
(read _ignored; kill -KILL "$proxy" 2>/dev/null) <&3 &
watchdog=$!
exec 3<&-
wait "$proxy"
status=$?
kill -KILL "$watchdog" 2>/dev/null
exit "$status"
"#;

/// Runs pproxy's `main` with an event loop set first (Python 3.14 no longer
/// makes one implicitly for `asyncio.get_event_loop`, which pproxy calls), and
/// exits non-zero when it returns: it returns only when it could not listen.
const PPROXY_MAIN: &str = "import asyncio, sys\n\
    asyncio.set_event_loop(asyncio.new_event_loop())\n\
    import pproxy.server\n\
    sys.exit(pproxy.server.main() or 1)\n";

/// A proxy server running on 127.0.0.1; killed and reaped on drop, and its
/// directory (configuration, log, output) removed.
#[derive(Debug)]
pub struct ProxyServer {
    name: String,
    url: String,
    port: u16,
    dir: PathBuf,
    child: Child,
    /// The supervisor's stdin: closing it kills the proxy (Unix).
    lifeline: Option<ChildStdin>,
}

impl ProxyServer {
    /// The proxy's URL, as a client is given it: `http://127.0.0.1:PORT`,
    /// `https://…` for the TLS one, `socks5://…`, with `user:password@`
    /// (percent-encoded) when it requires those credentials.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The loopback port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// What the proxy wrote so far — its log file, stdout and stderr, each
    /// under a `--- name ---` line — or an empty string: for failure messages.
    pub fn log(&self) -> String {
        read_logs(&self.dir)
    }
}

impl Drop for ProxyServer {
    fn drop(&mut self) {
        stop(&mut self.child, self.lifeline.take());
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Why a system proxy program cannot be used: what is missing and what to
/// install (its `Display` is that sentence).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unavailable(String);

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Unavailable {}

/// Whether a missing system proxy program must fail the test rather than skip
/// it: `SOCKETTE_REQUIRE_SYSTEM_PROXIES` is set to anything but empty or `0`
/// (CI sets `1`, so a missing tinyproxy fails there).
pub fn system_proxies_required() -> bool {
    env::var_os(REQUIRE_VARIABLE).is_some_and(|value| !value.is_empty() && value != "0")
}

/// The proxy, or `None` after printing `skipped: <why>` to stderr when its
/// program is not installed, for `let Some(proxy) = or_skip(tinyproxy(None,
/// None)) else { return; };`.
///
/// # Panics
///
/// When the program is not installed and [`system_proxies_required`].
pub fn or_skip(proxy: Result<ProxyServer, Unavailable>) -> Option<ProxyServer> {
    match proxy {
        Ok(proxy) => Some(proxy),
        Err(why) if system_proxies_required() => panic!(
            "{why} ({REQUIRE_VARIABLE} is set, so a missing system proxy fails the test \
             instead of skipping it)"
        ),
        Err(why) => {
            eprintln!("skipped: {why} (set {REQUIRE_VARIABLE}=1 to fail instead)");
            None
        }
    }
}

/// tinyproxy, an HTTP proxy answering `CONNECT` (URL `http://…`): requiring
/// Basic credentials `auth` (user, password) when given, and when
/// `allowed_connect_ports` is given, refusing `CONNECT` to any other port with
/// `403 Access violation` (with `None`, tinyproxy allows every port).
///
/// # Errors
///
/// [`Unavailable`] when tinyproxy is not installed (or not where
/// `SOCKETTE_TINYPROXY` says).
///
/// # Panics
///
/// When tinyproxy is installed but does not start (the message has its log);
/// when `auth` has characters besides ASCII letters, digits and `-._` (all that
/// tinyproxy's configuration grammar takes); when `allowed_connect_ports` is
/// empty (tinyproxy would read that as every port).
pub fn tinyproxy(
    auth: Option<(&str, &str)>,
    allowed_connect_ports: Option<&[u16]>,
) -> Result<ProxyServer, Unavailable> {
    let program = system_program("tinyproxy", TINYPROXY_VARIABLE)?;
    if let Some((user, password)) = auth {
        let fits = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b))
        };
        assert!(
            fits(user) && fits(password),
            "tinyproxy's BasicAuth takes only ASCII letters, digits and `-._` in the user \
             and the password, not {user:?} / {password:?}"
        );
    }
    assert!(
        allowed_connect_ports.is_none_or(|ports| !ports.is_empty()),
        "tinyproxy reads no ConnectPort line as every port allowed: give at least one port, \
         or None"
    );
    Ok(launch("tinyproxy", "http", auth, |dir, port| {
        let log = dir.join("tinyproxy.log");
        let text = tinyproxy_config(port, &log, auth, allowed_connect_ports);
        let config = dir.join("tinyproxy.conf");
        fs::write(&config, text)
            .unwrap_or_else(|e| panic!("could not write {}: {e}", config.display()));
        let mut command = Command::new(&program);
        command.arg("-d").arg("-c").arg(&config);
        command
    }))
}

/// microsocks, a SOCKS5 proxy (URL `socks5://…`), requiring RFC 1929
/// username/password `auth` when given (and then refusing clients that offer
/// no other method with `0xFF`).
///
/// # Errors
///
/// [`Unavailable`] when microsocks is not installed (or not where
/// `SOCKETTE_MICROSOCKS` says).
///
/// # Panics
///
/// When microsocks is installed but does not start (the message has its
/// output).
pub fn microsocks(auth: Option<(&str, &str)>) -> Result<ProxyServer, Unavailable> {
    let program = system_program("microsocks", MICROSOCKS_VARIABLE)?;
    Ok(launch("microsocks", "socks5", auth, |_, port| {
        let mut command = Command::new(&program);
        command
            .args(["-i", "127.0.0.1", "-p"])
            .arg(port.to_string());
        if let Some((user, password)) = auth {
            command.arg("-u").arg(user).arg("-P").arg(password);
        }
        command
    }))
}

/// pproxy as an HTTP proxy (`CONNECT` and plain requests; URL `http://…`),
/// requiring Basic credentials `auth` when given (`407` otherwise).
///
/// # Panics
///
/// When the tests' Python environment cannot be set up or pproxy does not
/// start, with a message saying why; when `auth` cannot be given to pproxy
/// (see [`pproxy_socks5`]).
pub fn pproxy_http(auth: Option<(&str, &str)>) -> ProxyServer {
    pproxy("pproxy-http", "http", "http", auth, None)
}

/// pproxy as an HTTP proxy inside TLS (URL `https://…`): the client makes a TLS
/// connection to the proxy, presenting `cert_pem` (the chain, PEM) with the key
/// `key_pem`, and sends `CONNECT` through it; Basic credentials `auth` as for
/// [`pproxy_http`].
///
/// # Panics
///
/// As [`pproxy_http`]; when either path has a comma (pproxy's `--ssl` splits
/// on it).
pub fn pproxy_https(auth: Option<(&str, &str)>, cert_pem: &Path, key_pem: &Path) -> ProxyServer {
    for path in [cert_pem, key_pem] {
        assert!(
            !path.as_os_str().to_string_lossy().contains(','),
            "pproxy's --ssl takes `cert,key`: {} has a comma",
            path.display()
        );
    }
    pproxy(
        "pproxy-https",
        "https",
        "http+ssl",
        auth,
        Some((cert_pem, key_pem)),
    )
}

/// pproxy as a SOCKS5 proxy (URL `socks5://…`), requiring RFC 1929
/// username/password `auth` when given.
///
/// # Panics
///
/// As [`pproxy_http`]; when the user is empty or has a `:`, or either has a
/// line break or starts or ends with white space (pproxy reads `user:password`
/// lines and trims them).
pub fn pproxy_socks5(auth: Option<(&str, &str)>) -> ProxyServer {
    pproxy("pproxy-socks5", "socks5", "socks5", auth, None)
}

/// Starts pproxy listening with `listen_scheme` (`http`, `http+ssl`,
/// `socks5`), its URL's scheme being `scheme`.
///
/// The credentials go in a file (`-l URI##file`) rather than in the URI, so
/// nothing in them is read as URI syntax; `--auth 0` makes pproxy check them on
/// every connection (by default it lets an address that authenticated once in
/// without credentials for 30 days); `-v` logs each connection.
fn pproxy(
    name: &str,
    scheme: &str,
    listen_scheme: &str,
    auth: Option<(&str, &str)>,
    tls: Option<(&Path, &Path)>,
) -> ProxyServer {
    if let Some((user, password)) = auth {
        let trimmed = |s: &str| s.trim() == s && !s.contains(['\n', '\r']);
        assert!(
            !user.is_empty() && !user.contains(':') && trimmed(user) && trimmed(password),
            "pproxy reads credentials as trimmed `user:password` lines: cannot take \
             {user:?} / {password:?}"
        );
    }
    let python = python_with_websockets()
        .unwrap_or_else(|e| panic!("{name} runs in the tests' Python environment: {e}"));
    launch(name, scheme, auth, |dir, port| {
        let mut listen = OsString::from(format!("{listen_scheme}://127.0.0.1:{port}"));
        if let Some((user, password)) = auth {
            let users = dir.join("pproxy-users");
            fs::write(&users, format!("{user}:{password}\n"))
                .unwrap_or_else(|e| panic!("could not write {}: {e}", users.display()));
            listen.push("##");
            listen.push(&users);
        }
        let mut command = python.command();
        command
            .env("PYTHONUNBUFFERED", "1")
            .arg("-c")
            .arg(PPROXY_MAIN)
            .arg("-l")
            .arg(listen)
            .args(["--auth", "0", "-v"]);
        if let Some((cert, key)) = tls {
            let mut files = cert.as_os_str().to_os_string();
            files.push(",");
            files.push(key);
            command.arg("--ssl").arg(files);
        }
        command
    })
}

/// tinyproxy's configuration: loopback only, logging to `log`. It has no
/// `User`/`Group` lines, which only root could use: run as root, tinyproxy
/// then warns "You SHOULD set a UserName" and stays root; run as a user, it
/// runs as that user.
fn tinyproxy_config(
    port: u16,
    log: &Path,
    auth: Option<(&str, &str)>,
    allowed_connect_ports: Option<&[u16]>,
) -> String {
    let log = match log.to_str() {
        Some(text) if !text.contains('"') => text,
        _ => panic!("tinyproxy's LogFile cannot name {}", log.display()),
    };
    let mut text = format!(
        "# Written by sockette-testkit for one test.\n\
         Port {port}\n\
         Listen 127.0.0.1\n\
         Allow 127.0.0.1\n\
         Timeout 60\n\
         MaxClients 100\n\
         LogFile \"{log}\"\n\
         LogLevel Info\n"
    );
    if let Some((user, password)) = auth {
        text.push_str(&format!("BasicAuth {user} {password}\n"));
    }
    for port in allowed_connect_ports.unwrap_or_default() {
        text.push_str(&format!("ConnectPort {port}\n"));
    }
    text
}

/// Starts a proxy made by `command_for(dir, port)` on a free port, retrying on
/// fresh ports when it exits before listening, and returns it once it accepts a
/// TCP connection.
///
/// The port is chosen by binding 127.0.0.1:0 with `SO_REUSEADDR`; on Linux that
/// socket is kept, bound but not listening, until the proxy listens (the three
/// programs set `SO_REUSEADDR` too, which Linux then allows), so no other
/// socket of the machine is given the port meanwhile and the readiness check
/// cannot reach a stranger.
fn launch(
    name: &str,
    scheme: &str,
    auth: Option<(&str, &str)>,
    mut command_for: impl FnMut(&Path, u16) -> Command,
) -> ProxyServer {
    let mut failures = Vec::new();
    for attempt in 1..=ATTEMPTS {
        let (reservation, port) = reserve_port();
        if !cfg!(target_os = "linux") {
            drop(reservation);
        }
        let dir = fresh_dir(name);
        let command = command_for(&dir, port);
        let shown = show(&command);
        let (child, lifeline) = spawn(command, &dir)
            .unwrap_or_else(|e| panic!("{name}: `{shown}` could not be started: {e}"));
        let credentials = auth.map_or_else(String::new, |(user, password)| {
            format!("{}:{}@", percent_encode(user), percent_encode(password))
        });
        let mut server = ProxyServer {
            name: name.to_string(),
            url: format!("{scheme}://{credentials}127.0.0.1:{port}"),
            port,
            dir,
            child,
            lifeline,
        };
        match wait_until_ready(&mut server) {
            Ready::Yes => return server,
            Ready::Exited(status) => failures.push(format!(
                "attempt {attempt}: `{shown}` exited ({status}) before accepting connections \
                 on 127.0.0.1:{port}{}",
                logged(&server)
            )),
            Ready::TimedOut => panic!(
                "{name} did not accept connections on 127.0.0.1:{port} within {} s: \
                 `{shown}`{}",
                READY_TIMEOUT.as_secs(),
                logged(&server)
            ),
        }
    }
    panic!(
        "{name} could not be started on any of {ATTEMPTS} free ports:\n{}",
        failures.join("\n")
    )
}

/// How a start-up ended.
enum Ready {
    Yes,
    Exited(ExitStatus),
    TimedOut,
}

/// Polls until the proxy accepts a TCP connection, exits, or
/// [`READY_TIMEOUT`] passes.
fn wait_until_ready(server: &mut ProxyServer) -> Ready {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, server.port));
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        if let Ok(Some(status)) = server.child.try_wait() {
            return Ready::Exited(status);
        }
        if TcpStream::connect_timeout(&address, Duration::from_millis(500)).is_ok() {
            return Ready::Yes;
        }
        if Instant::now() >= deadline {
            return Ready::TimedOut;
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// A socket bound to a free port of 127.0.0.1 with `SO_REUSEADDR`, and the port.
fn reserve_port() -> (Socket, u16) {
    let reserve = || -> std::io::Result<(Socket, u16)> {
        let socket = Socket::new(Domain::IPV4, Type::STREAM, None)?;
        socket.set_reuse_address(true)?;
        socket.bind(&SocketAddr::from((Ipv4Addr::LOCALHOST, 0)).into())?;
        let port = socket.local_addr()?.as_socket().map_or(0, |a| a.port());
        Ok((socket, port))
    };
    reserve().unwrap_or_else(|e| panic!("could not find a free port on 127.0.0.1: {e}"))
}

/// A new empty directory for one proxy under `<target dir>/tmp`.
fn fresh_dir(name: &str) -> PathBuf {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let dir = target_dir()
        .join("tmp")
        .join(format!("sockette-proxy-{name}-{}-{n}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("could not create {}: {e}", dir.display()));
    dir
}

/// Spawns `command` with stdout and stderr to files in `dir`, under the
/// [`SUPERVISOR`] on Unix (returning its stdin, the lifeline).
fn spawn(command: Command, dir: &Path) -> std::io::Result<(Child, Option<ChildStdin>)> {
    let stdout = File::create(dir.join("stdout.txt"))?;
    let stderr = File::create(dir.join("stderr.txt"))?;
    #[cfg(unix)]
    {
        let mut supervised = Command::new("/bin/sh");
        supervised
            .arg("-c")
            .arg(SUPERVISOR)
            .arg("sh")
            .arg(command.get_program())
            .args(command.get_args());
        for (key, value) in command.get_envs() {
            match value {
                Some(value) => supervised.env(key, value),
                None => supervised.env_remove(key),
            };
        }
        let mut child = supervised
            .stdin(Stdio::piped())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()?;
        let lifeline = child.stdin.take();
        Ok((child, lifeline))
    }
    #[cfg(not(unix))]
    {
        let mut command = command;
        let child = command
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()?;
        Ok((child, None))
    }
}

/// Kills the proxy — by closing the supervisor's lifeline, or directly when
/// there is none or the supervisor does not exit in time — and reaps it.
fn stop(child: &mut Child, lifeline: Option<ChildStdin>) {
    if let Some(lifeline) = lifeline {
        drop(lifeline);
        let deadline = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < deadline {
            if !matches!(child.try_wait(), Ok(None)) {
                return;
            }
            thread::sleep(Duration::from_millis(5));
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// The log files of `dir` ([`LOG_FILES`]) that are not empty, each under a
/// `--- name ---` line.
fn read_logs(dir: &Path) -> String {
    let mut text = String::new();
    for name in LOG_FILES {
        let Ok(bytes) = fs::read(dir.join(name)) else {
            continue;
        };
        let content = String::from_utf8_lossy(&bytes);
        if !content.trim().is_empty() {
            text.push_str(&format!("--- {name} ---\n{}\n", content.trim_end()));
        }
    }
    text
}

/// `; it logged:` and the proxy's log, or `; it logged nothing`, for messages.
fn logged(server: &ProxyServer) -> String {
    match server.log() {
        log if log.is_empty() => format!("; {} logged nothing", server.name),
        log => format!("; it logged:\n{log}"),
    }
}

/// The system program `name` (`tinyproxy`, `microsocks`): the one `variable`
/// names, else the first on the `PATH` or in [`SBIN_DIRS`].
fn system_program(name: &str, variable: &str) -> Result<PathBuf, Unavailable> {
    find_program(
        name,
        variable,
        env::var_os(variable).filter(|v| !v.is_empty()),
        env::var_os("PATH"),
    )
}

/// [`system_program`] with its environment given: `named` is the variable's
/// value, `path` the `PATH`.
fn find_program(
    name: &str,
    variable: &str,
    named: Option<OsString>,
    path: Option<OsString>,
) -> Result<PathBuf, Unavailable> {
    let install =
        format!("on Debian/Ubuntu `sudo apt-get install {name}` (macOS: `brew install {name}`)");
    let search = |program: &OsStr, dirs: Vec<PathBuf>| {
        dirs.into_iter()
            .map(|dir| dir.join(program))
            .find(|candidate| is_executable(candidate))
    };
    let dirs_of = |path: &Option<OsString>| -> Vec<PathBuf> {
        path.as_deref()
            .map_or_else(Vec::new, |p| env::split_paths(p).collect())
    };
    if let Some(named) = named {
        let program = PathBuf::from(&named);
        let found = if program.components().count() > 1 {
            Some(program.clone()).filter(|p| is_executable(p))
        } else {
            search(&named, dirs_of(&path))
        };
        return found.ok_or_else(|| {
            Unavailable(format!(
                "{name} is not installed where {variable} says: {} is not an executable \
                 file; unset {variable} to use the {name} on the PATH, or install it: {install}",
                program.display()
            ))
        });
    }
    let mut dirs = dirs_of(&path);
    dirs.extend(SBIN_DIRS.iter().map(PathBuf::from));
    search(OsStr::new(name), dirs).ok_or_else(|| {
        Unavailable(format!(
            "{name} is not installed (not on the PATH, nor in {}): {install}, or name the \
             program in {variable}",
            SBIN_DIRS.join(", ")
        ))
    })
}

/// Whether `path` is a file this process may run.
fn is_executable(path: &Path) -> bool {
    let Ok(metadata) = fs::metadata(path) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        metadata.is_file() && metadata.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        metadata.is_file()
    }
}

/// `text` with every byte but the URI's unreserved ones (letters, digits,
/// `-._~`) percent-encoded: fit for a URL's userinfo.
fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The command line, for messages.
fn show(command: &Command) -> String {
    std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|part| part.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_program_names_itself_and_the_package_to_install() {
        let why = find_program("tinyproxy", TINYPROXY_VARIABLE, None, Some("".into()));
        let why = why.unwrap_err().to_string();
        assert!(why.starts_with("tinyproxy is not installed"), "{why}");
        assert!(why.contains("sudo apt-get install tinyproxy"), "{why}");
        assert!(why.contains(TINYPROXY_VARIABLE), "{why}");
    }

    #[test]
    fn the_variable_naming_a_missing_program_is_reported_as_such() {
        let named = Some(OsString::from("/nonexistent/tinyproxy"));
        let why = find_program("tinyproxy", TINYPROXY_VARIABLE, named, env::var_os("PATH"));
        let why = why.unwrap_err().to_string();
        assert!(why.contains("where SOCKETTE_TINYPROXY says"), "{why}");
        assert!(why.contains("/nonexistent/tinyproxy"), "{why}");
        assert!(why.contains("sudo apt-get install tinyproxy"), "{why}");
    }

    #[cfg(unix)]
    #[test]
    fn a_program_is_found_on_the_path_or_by_the_name_its_variable_gives() {
        let path = Some(OsString::from("/nonexistent:/bin"));
        assert_eq!(
            find_program("sh", "X", None, path.clone()),
            Ok(PathBuf::from("/bin/sh"))
        );
        assert_eq!(
            find_program("tinyproxy", "X", Some("sh".into()), path),
            Ok(PathBuf::from("/bin/sh"))
        );
    }

    #[test]
    fn credentials_in_urls_are_percent_encoded() {
        assert_eq!(percent_encode("a-b.c_d~e"), "a-b.c_d~e");
        assert_eq!(percent_encode("p@ss:w/rd é"), "p%40ss%3Aw%2Frd%20%C3%A9");
    }

    #[test]
    fn tinyproxy_allows_every_port_unless_told_otherwise() {
        let log = Path::new("/t/log");
        let open = tinyproxy_config(8080, log, None, None);
        assert!(!open.contains("ConnectPort"), "{open}");
        assert!(!open.contains("BasicAuth"), "{open}");
        assert!(open.contains("Port 8080\nListen 127.0.0.1\n"), "{open}");
        assert!(open.contains("LogFile \"/t/log\"\n"), "{open}");
        let shut = tinyproxy_config(8080, log, Some(("u", "p")), Some(&[443, 8443]));
        assert!(shut.contains("BasicAuth u p\n"), "{shut}");
        assert!(
            shut.contains("ConnectPort 443\nConnectPort 8443\n"),
            "{shut}"
        );
    }
}
