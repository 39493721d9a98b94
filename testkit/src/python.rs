//! Peers nobody here wrote, for sockette's interop tests, brought up by the
//! tests themselves: the Python [`websockets`](WEBSOCKETS_VERSION) echo server
//! (`ws_echo_server.py` beside this crate's manifest), and the Python
//! [`pproxy`](PPROXY_VERSION) proxy server that [`crate::proxies`] runs.
//!
//! The tests need only `python3` (3.11 or newer) and, once, the package
//! registry. On first use, [`python_with_websockets`] makes a virtual
//! environment at `<target dir>/python-venv` with `python3 -m venv` and installs
//! the pinned requirements, `websockets==`[`WEBSOCKETS_VERSION`] and
//! `pproxy==`[`PPROXY_VERSION`], into it; later runs reuse it. When the
//! interpreter has no `venv` module (Debian without `python3-venv`), the
//! packages are installed with `python3 -m pip install --target <target
//! dir>/python-site` instead and found through `PYTHONPATH`.
//!
//! Tests run in parallel threads and test binaries may run in parallel
//! processes, so the environment is never built in place: each process builds
//! into `python-venv.tmp-<pid>`, writes the marker file `sockette-ready` (the
//! pinned requirements, one a line) last, and renames the directory to
//! `python-venv` in one step. A directory is used only if its marker names
//! exactly the pinned requirements, so a half-made one is never used and one
//! made for other pins (an older version, or before `pproxy` was added) is
//! replaced; when two processes race, the first rename wins and the other uses
//! the winner's and deletes its own. Within one process the setup runs once and
//! its result (or its error) is shared.

use std::fmt;
use std::io::{BufRead, BufReader, ErrorKind};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{mpsc, OnceLock};
use std::time::Duration;
use std::{env, fs};

/// The `websockets` release the tests install: the newest stable one when it
/// was pinned. It needs Python 3.11 or newer.
pub const WEBSOCKETS_VERSION: &str = "17.4";

/// The `pproxy` release the tests install (the newest one when it was pinned):
/// the HTTP, HTTPS and SOCKS5 proxy server of [`crate::proxies`].
pub const PPROXY_VERSION: &str = "2.7.9";

/// The oldest Python the pinned `websockets` supports.
const MIN_PYTHON: (u32, u32) = (3, 11);

/// Written last into a finished environment; holds the pinned requirements so
/// an environment made for other versions is replaced, not used.
const MARKER: &str = "sockette-ready";

/// Overrides `python3` as the interpreter the environment is made from.
const PYTHON_VARIABLE: &str = "SOCKETTE_TEST_PYTHON";

/// How long the echo server may take to print its port.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// A Python interpreter that imports the pinned `websockets` and `pproxy`.
#[derive(Debug, Clone)]
pub struct Python {
    program: PathBuf,
    /// Where the packages are when they were installed with `pip --target`
    /// rather than into a virtual environment.
    pythonpath: Option<PathBuf>,
}

impl Python {
    /// A command that runs this interpreter with the pinned `websockets` and
    /// `pproxy` importable (and no `PYTHONHOME`/`PYTHONPATH` of the caller's to
    /// hide them).
    pub fn command(&self) -> Command {
        let mut command = Command::new(&self.program);
        command.env_remove("PYTHONHOME");
        match &self.pythonpath {
            Some(dir) => command.env("PYTHONPATH", dir),
            None => command.env_remove("PYTHONPATH"),
        };
        command
    }

    /// The interpreter's path.
    pub fn program(&self) -> &Path {
        &self.program
    }
}

/// Why the Python peer could not be set up: a sentence naming the command that
/// failed, its exit status and the end of its output, and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupError(String);

impl fmt::Display for SetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SetupError {}

/// The interpreter with the pinned `websockets` and `pproxy`, set up on the
/// first call (see the module documentation) and shared by every later call in
/// this process, error included, so parallel tests wait for one setup instead
/// of racing.
pub fn python_with_websockets() -> Result<&'static Python, &'static SetupError> {
    static PYTHON: OnceLock<Result<Python, SetupError>> = OnceLock::new();
    PYTHON.get_or_init(|| set_up(&target_dir())).as_ref()
}

/// The Python `websockets` echo server (`ws_echo_server.py`) on a free loopback
/// port; killed and reaped on drop.
#[derive(Debug)]
pub struct PythonEchoServer {
    child: Child,
    port: u16,
}

impl PythonEchoServer {
    /// Starts the server on ws://, setting up Python first if needed.
    ///
    /// # Panics
    ///
    /// If Python cannot be set up or the server does not start, with a message
    /// saying what failed: it is meant to fail the test calling it.
    pub fn start() -> PythonEchoServer {
        Self::spawn(None).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Starts the server on wss:// with this certificate chain and key (PEM).
    ///
    /// # Panics
    ///
    /// As [`PythonEchoServer::start`].
    pub fn start_tls(cert: &Path, key: &Path) -> PythonEchoServer {
        Self::spawn(Some((cert, key))).unwrap_or_else(|e| panic!("{e}"))
    }

    /// The loopback port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    fn spawn(tls: Option<(&Path, &Path)>) -> Result<PythonEchoServer, SetupError> {
        let python = python_with_websockets().map_err(Clone::clone)?;
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("ws_echo_server.py");
        let mut command = python.command();
        command.arg(&script);
        if let Some((cert, key)) = tls {
            command.arg("--cert").arg(cert).arg("--key").arg(key);
        }
        let shown = show(&command);
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| SetupError(format!("`{shown}` could not be started: {e}")))?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(START_TIMEOUT).unwrap_or_default();
        match line.trim().parse() {
            Ok(port) => Ok(PythonEchoServer { child, port }),
            Err(_) => {
                let _ = child.kill();
                let status = child.wait();
                Err(SetupError(format!(
                    "the Python websockets echo server did not start: `{shown}` printed {:?} \
                     instead of its port within {} s (exit: {status:?}; its stderr is above)",
                    line.trim(),
                    START_TIMEOUT.as_secs()
                )))
            }
        }
    }
}

impl Drop for PythonEchoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The cargo target directory the tests were built into: the ancestor of the
/// running test binary that holds cargo's `CACHEDIR.TAG` (this follows
/// `CARGO_TARGET_DIR`, `--target-dir` and `--target <triple>` alike), else
/// `CARGO_TARGET_DIR` when absolute, else the workspace's `target/`.
pub(crate) fn target_dir() -> PathBuf {
    if let Ok(exe) = env::current_exe() {
        if let Some(dir) = exe
            .ancestors()
            .skip(1)
            .find(|dir| dir.join("CACHEDIR.TAG").is_file())
        {
            return dir.to_path_buf();
        }
    }
    if let Some(dir) = env::var_os("CARGO_TARGET_DIR").map(PathBuf::from) {
        if dir.is_absolute() {
            return dir;
        }
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target")
}

/// The pinned requirements, as pip takes them.
fn requirements() -> [String; 2] {
    [
        format!("websockets=={WEBSOCKETS_VERSION}"),
        format!("pproxy=={PPROXY_VERSION}"),
    ]
}

/// The marker's contents: the pinned requirements, one a line.
fn marker_text() -> String {
    requirements().map(|r| r + "\n").concat()
}

/// Whether `dir` is a finished environment for the pinned requirements.
fn is_ready(dir: &Path) -> bool {
    fs::read_to_string(dir.join(MARKER)).is_ok_and(|text| text == marker_text())
}

/// The interpreter inside a virtual environment.
fn venv_python(venv: &Path) -> PathBuf {
    if cfg!(windows) {
        venv.join("Scripts").join("python.exe")
    } else {
        venv.join("bin").join("python")
    }
}

/// Reuses a finished environment under `target`, or makes one.
fn set_up(target: &Path) -> Result<Python, SetupError> {
    let venv = target.join("python-venv");
    let site = target.join("python-site");
    if is_ready(&venv) {
        return Ok(Python {
            program: venv_python(&venv),
            pythonpath: None,
        });
    }
    if is_ready(&site) {
        return Ok(Python {
            program: base_python(),
            pythonpath: Some(site),
        });
    }
    fs::create_dir_all(target).map_err(|e| {
        SetupError(format!(
            "could not create {} for the Python test environment: {e}",
            target.display()
        ))
    })?;
    let base = base_python();
    check_version(&base)?;
    let requirements = requirements();
    let requirement = requirements.join(" ");
    let registry_hint = format!(
        "the Python interop and proxy tests install {requirement} themselves, once, from the \
         package registry (later runs reuse {}): is the registry reachable from this machine?",
        venv.display()
    );

    // A virtual environment: its own pip, nothing of the user's site-packages.
    let made_venv = build_atomically(&venv, |tmp| {
        run(Command::new(&base).arg("-m").arg("venv").arg(tmp)).map_err(Failure::NoVenv)?;
        run(pip_install(venv_python(tmp)).args(&requirements))
            .map_err(|e| Failure::Install(format!("{registry_hint}\n{e}")))?;
        run(import_check(&mut Command::new(venv_python(tmp)))).map_err(Failure::Install)?;
        Ok(())
    });
    let no_venv = match made_venv {
        Ok(()) => {
            return Ok(Python {
                program: venv_python(&venv),
                pythonpath: None,
            })
        }
        Err(Failure::Install(message)) => {
            return Err(SetupError(format!(
                "could not install {requirement} into {}: {message}",
                venv.display()
            )))
        }
        Err(Failure::NoVenv(message)) => message,
    };

    // No venv module (Debian without python3-venv): pip alone, into a directory
    // of packages put on PYTHONPATH.
    let made_site = build_atomically(&site, |tmp| {
        run(pip_install(base.clone())
            .arg("--target")
            .arg(tmp)
            .args(&requirements))
        .map_err(Failure::NoVenv)?;
        run(import_check(Command::new(&base).env("PYTHONPATH", tmp))).map_err(Failure::Install)?;
        Ok(())
    });
    match made_site {
        Ok(()) => Ok(Python {
            program: base,
            pythonpath: Some(site),
        }),
        Err(Failure::NoVenv(message) | Failure::Install(message)) => Err(SetupError(format!(
            "could not set up {requirement} for the Python interop and proxy tests.\n\
             First, a virtual environment in {}: {no_venv}\n\
             Then, pip alone into {}: {message}\n\
             Install Python's venv module (Debian/Ubuntu: the python3-venv package) or pip \
             (python3-pip); if pip ran but could not download, {registry_hint}",
            venv.display(),
            site.display()
        ))),
    }
}

/// Why an environment could not be built.
enum Failure {
    /// The tool making the environment is missing or failed: another way may work.
    NoVenv(String),
    /// The environment was made but the package could not be installed in it.
    Install(String),
}

/// The interpreter environments are made from: `$SOCKETTE_TEST_PYTHON`, or
/// `python3` on the PATH.
fn base_python() -> PathBuf {
    env::var_os(PYTHON_VARIABLE)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("python3"))
}

/// Fails unless `python` runs and is at least [`MIN_PYTHON`].
fn check_version(python: &Path) -> Result<(), SetupError> {
    let mut command = Command::new(python);
    command.args(["-c", "import sys; print('%d.%d' % sys.version_info[:2])"]);
    let output = run(&mut command).map_err(|e| {
        SetupError(format!(
            "the Python interop tests need Python {}.{} or newer as `python3` on the PATH \
             (or named by {PYTHON_VARIABLE}): {e}",
            MIN_PYTHON.0, MIN_PYTHON.1
        ))
    })?;
    let text = String::from_utf8_lossy(&output.stdout).trim().to_string();
    let version = text
        .split_once('.')
        .and_then(|(major, minor)| Some((major.parse().ok()?, minor.parse().ok()?)));
    match version {
        Some(version) if version >= MIN_PYTHON => Ok(()),
        _ => Err(SetupError(format!(
            "{} is Python {text:?}; websockets {WEBSOCKETS_VERSION} (the Python interop tests' \
             peer) needs Python {}.{} or newer: put one first on the PATH as `python3` or \
             name it in {PYTHON_VARIABLE}",
            python.display(),
            MIN_PYTHON.0,
            MIN_PYTHON.1
        ))),
    }
}

/// `python -m pip install` with no prompts, no self-update check, bounded
/// network retries, and none of the caller's pip settings that conflict with
/// an isolated install.
fn pip_install(python: PathBuf) -> Command {
    let mut command = Command::new(python);
    command
        .args(["-m", "pip", "install", "--quiet", "--no-input"])
        .args([
            "--disable-pip-version-check",
            "--retries",
            "2",
            "--timeout",
            "30",
        ])
        .env_remove("PIP_USER")
        .env_remove("PIP_REQUIRE_VIRTUALENV")
        .env_remove("PYTHONPATH")
        .env_remove("PYTHONHOME");
    command
}

/// Makes `command` check that the pinned `websockets` and `pproxy` import
/// (pproxy's own `__version__` needs setuptools, so its installed version is
/// read from the package metadata).
fn import_check(command: &mut Command) -> &mut Command {
    command.args([
        "-c",
        &format!(
            "import websockets.asyncio.server, pproxy.server, importlib.metadata, sys; \
             sys.exit(websockets.__version__ != {WEBSOCKETS_VERSION:?} and \
             'websockets ' + websockets.__version__ + ' imported, not {WEBSOCKETS_VERSION}' or \
             importlib.metadata.version('pproxy') != {PPROXY_VERSION:?} and \
             'pproxy ' + importlib.metadata.version('pproxy') + ' installed, not {PPROXY_VERSION}')"
        ),
    ])
}

/// Builds a directory at `dest` without ever exposing a half-made one: `build`
/// fills `dest.tmp-<pid>`, the marker is written last, and one rename publishes
/// it. If another process published a finished one first, that one is kept and
/// ours deleted; a stale one (no marker, or another version's) is moved aside
/// and replaced.
fn build_atomically(
    dest: &Path,
    build: impl FnOnce(&Path) -> Result<(), Failure>,
) -> Result<(), Failure> {
    let tmp = sibling(dest, "tmp");
    // A leftover of a killed process that had our pid.
    let _ = fs::remove_dir_all(&tmp);
    let built = build(&tmp).and_then(|()| {
        fs::write(tmp.join(MARKER), marker_text()).map_err(|e| {
            Failure::Install(format!(
                "could not write {}: {e}",
                tmp.join(MARKER).display()
            ))
        })
    });
    if let Err(failure) = built {
        let _ = fs::remove_dir_all(&tmp);
        return Err(failure);
    }
    publish(&tmp, dest).map_err(Failure::Install)
}

/// Renames the finished `tmp` to `dest` (see [`build_atomically`]).
fn publish(tmp: &Path, dest: &Path) -> Result<(), String> {
    let mut last_error = None;
    for _ in 0..3 {
        match fs::rename(tmp, dest) {
            Ok(()) => return Ok(()),
            Err(_) if is_ready(dest) => {
                // Another process won the race; its environment is as good as ours.
                let _ = fs::remove_dir_all(tmp);
                return Ok(());
            }
            Err(e) if e.kind() == ErrorKind::NotFound || !dest.exists() => {
                last_error = Some(e);
            }
            Err(e) => {
                // A stale directory is in the way: move it aside in one step (so
                // nobody sees it half-deleted), then delete it unless it turned
                // out to be a finished one another process just published.
                let aside = sibling(dest, "stale");
                if fs::rename(dest, &aside).is_ok() && !is_ready(&aside) {
                    let _ = fs::remove_dir_all(&aside);
                }
                last_error = Some(e);
            }
        }
    }
    let _ = fs::remove_dir_all(tmp);
    Err(format!(
        "could not rename {} to {}: {}",
        tmp.display(),
        dest.display(),
        last_error.map_or_else(|| "unknown error".to_string(), |e| e.to_string())
    ))
}

/// `dest` with `.<what>-<pid>` appended: private to this process.
fn sibling(dest: &Path, what: &str) -> PathBuf {
    let mut name = dest.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{what}-{}", std::process::id()));
    dest.with_file_name(name)
}

/// Runs `command` to completion with no stdin; a failure says which command,
/// its exit status and the end of what it printed.
fn run(command: &mut Command) -> Result<Output, String> {
    let shown = show(command);
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("`{shown}` could not be started: {e}"))?;
    if output.status.success() {
        return Ok(output);
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let text = if stderr.trim().is_empty() {
        stdout
    } else {
        stderr
    };
    let lines: Vec<&str> = text.trim_end().lines().collect();
    let tail = lines[lines.len().saturating_sub(12)..].join("\n    ");
    Err(format!(
        "`{shown}` failed ({}); its output ended with:\n    {tail}",
        output.status
    ))
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

    /// A fresh empty directory under the system's temporary directory.
    fn scratch(name: &str) -> PathBuf {
        let dir = env::temp_dir().join(format!(
            "sockette-testkit-python-{name}-{}",
            std::process::id()
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn build_with(file: &'static str) -> impl FnOnce(&Path) -> Result<(), Failure> {
        move |tmp| {
            fs::create_dir_all(tmp).unwrap();
            fs::write(tmp.join(file), "").unwrap();
            Ok(())
        }
    }

    #[test]
    fn a_built_directory_is_published_with_its_marker_and_no_leftover() {
        let root = scratch("publish");
        let dest = root.join("env");
        assert!(build_atomically(&dest, build_with("ours")).is_ok());
        assert!(is_ready(&dest));
        assert!(dest.join("ours").is_file());
        let names: Vec<_> = fs::read_dir(&root)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec!["env"]);
        fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn a_finished_directory_published_first_by_another_process_is_kept() {
        let root = scratch("race");
        let dest = root.join("env");
        fs::create_dir_all(&dest).unwrap();
        fs::write(dest.join("theirs"), "").unwrap();
        fs::write(dest.join(MARKER), marker_text()).unwrap();
        assert!(build_atomically(&dest, build_with("ours")).is_ok());
        assert!(dest.join("theirs").is_file());
        assert!(!dest.join("ours").exists());
        let names: Vec<_> = fs::read_dir(&root)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec!["env"]);
        fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn a_half_made_or_other_version_directory_is_replaced() {
        // No marker, another version's, and the marker of the environments made
        // before pproxy was pinned too.
        for stale_marker in [None, Some("websockets==1.0\n"), Some("websockets==17.4\n")] {
            let root = scratch("stale");
            let dest = root.join("env");
            fs::create_dir_all(&dest).unwrap();
            fs::write(dest.join("half"), "").unwrap();
            if let Some(text) = stale_marker {
                fs::write(dest.join(MARKER), text).unwrap();
            }
            assert!(!is_ready(&dest));
            assert!(build_atomically(&dest, build_with("ours")).is_ok());
            assert!(is_ready(&dest));
            assert!(dest.join("ours").is_file());
            assert!(!dest.join("half").exists());
            let names: Vec<_> = fs::read_dir(&root)
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect();
            assert_eq!(names, vec!["env"], "{stale_marker:?}");
            fs::remove_dir_all(root).unwrap();
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_failed_build_leaves_nothing_and_says_why() {
        let root = scratch("fail");
        let dest = root.join("env");
        let result = build_atomically(&dest, |tmp| {
            fs::create_dir_all(tmp).unwrap();
            run(Command::new("sh").args(["-c", "echo no registry >&2; exit 7"]))
                .map(drop)
                .map_err(Failure::Install)
        });
        match result {
            Err(Failure::Install(message)) => {
                assert!(
                    message.contains("`sh -c echo no registry >&2; exit 7`"),
                    "{message}"
                );
                assert!(message.contains("exit status: 7"), "{message}");
                assert!(message.contains("no registry"), "{message}");
            }
            _ => panic!("the build's failure was not reported"),
        }
        assert_eq!(fs::read_dir(&root).unwrap().count(), 0);
        fs::remove_dir_all(root).unwrap();
    }
}
