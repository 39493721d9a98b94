//! Every saved input of every fuzz target, replayed through the target's own
//! check (`sockette_fuzz::targets::<target>::check`, the very body the fuzzer
//! runs): the inputs that once crashed a target (`fuzz/run.sh` copies them to
//! `core/tests/fuzz_regressions/<target>/`) and the seeds in `corpus/<target>/`.
//!
//! Each target must have its regression folder (files starting with `.` are not
//! inputs; `.keep` holds a folder with none yet), a folder for a target that
//! does not exist fails, and every replayed file must be an input of its target
//! (one the check does not skip), so no replay here passes by checking nothing.
//! Run by `fuzz/run.sh` before fuzzing, or `cargo test` in `fuzz/`.

use std::fs;
use std::path::{Path, PathBuf};

use sockette_fuzz::targets;

/// A target's check: panics on a broken invariant, `false` when the bytes are not its input.
type Check = fn(&[u8]) -> bool;

/// Every target in `fuzz_targets/`, with its check.
const TARGETS: [(&str, Check); 8] = [
    ("client_session", targets::client_session::check),
    ("close_payload", targets::close_payload::check),
    ("frame_decoder", targets::frame_decoder::check),
    ("handshake_response", targets::handshake_response::check),
    ("proxy_answer", targets::proxy_answer::check),
    ("server_session", targets::server_session::check),
    ("tls_session", targets::tls_session::check),
    ("utf8", targets::utf8::check),
];

fn regressions_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../core/tests/fuzz_regressions")
}

/// The inputs in `dir`, sorted; panics if the folder cannot be read.
fn inputs(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let entries = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{} cannot be read ({e}): it must exist", dir.display()));
    let mut files: Vec<_> = entries
        .map(|entry| entry.unwrap().path())
        .filter(|path| !path.file_name().unwrap().to_string_lossy().starts_with('.'))
        .map(|path| {
            let bytes = fs::read(&path).unwrap();
            (path, bytes)
        })
        .collect();
    files.sort();
    files
}

/// Replays the saved regressions and the corpus of `target`; returns how many
/// regressions were replayed.
fn replay(target: &str) -> usize {
    let (_, check) = TARGETS.iter().find(|(name, _)| *name == target).unwrap();
    let regressions = inputs(&regressions_dir().join(target));
    let corpus = inputs(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("corpus")
            .join(target),
    );
    assert!(!corpus.is_empty(), "corpus/{target} has no seeds");
    for (path, bytes) in regressions.iter().chain(&corpus) {
        assert!(
            check(bytes),
            "{} is not an input of {target}: its check skipped it",
            path.display()
        );
    }
    regressions.len()
}

#[test]
fn every_regression_folder_is_a_target() {
    let mut folders: Vec<String> = fs::read_dir(regressions_dir())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    folders.sort();
    let names: Vec<&str> = TARGETS.iter().map(|(name, _)| *name).collect();
    assert_eq!(folders, names);
}

#[test]
fn client_session() {
    replay("client_session");
}

#[test]
fn close_payload() {
    replay("close_payload");
}

/// `control-frame-split-first-flag`: a control frame split across reads.
#[test]
fn frame_decoder() {
    assert!(replay("frame_decoder") >= 1);
}

#[test]
fn handshake_response() {
    replay("handshake_response");
}

#[test]
fn proxy_answer() {
    replay("proxy_answer");
}

#[test]
fn server_session() {
    replay("server_session");
}

/// `garbage-after-close-notify`: ciphertext after the client's close_notify
/// made rustls hit a debug assertion (see core/tests/fuzz_regressions.rs).
#[test]
fn tls_session() {
    assert!(replay("tls_session") >= 1);
}

#[test]
fn utf8() {
    replay("utf8");
}
