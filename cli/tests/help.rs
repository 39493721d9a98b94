//! `sockette --help` documents every option, the modes and the exit codes.

mod support;

use support::sockette;

#[test]
fn help_documents_every_option_and_exit_code() {
    let run = sockette(&["--help"], 30);
    assert_eq!(run.code(), 0, "{run:?}");
    let help = run.stdout;
    for option in [
        "-H, --header",
        "--protocol",
        "--origin",
        "--ca",
        "--insecure",
        "--platform-verifier",
        "--cert <FILE>",
        "--key <FILE>",
        "--connect-timeout",
        "--ping-interval",
        "--binary",
        "--hex",
        "--send",
        "--wait",
        "--serve",
        "--tls",
        "--cert-out",
        "--slash",
        "--no-keepalive",
        "--no-escape",
        "-q, --quiet",
        "--json",
        "--version",
    ] {
        assert!(
            help.contains(option),
            "{option} missing from --help:\n{help}"
        );
    }
    assert!(help.contains("DANGEROUS"), "{help}");
    // The defaults that protect against silent peers are stated.
    assert!(help.contains("exit code 8 [default: 10]"), "{help}");
    assert!(help.contains("[default: 20, then 20 s more]"), "{help}");
    for code in 0..=9 {
        assert!(
            help.contains(&format!("\n  {code}  ")),
            "exit code {code} undocumented:\n{help}"
        );
    }
}

#[test]
fn version_prints_the_package_version() {
    let run = sockette(&["--version"], 30);
    assert_eq!(run.code(), 0, "{run:?}");
    assert_eq!(
        run.stdout.trim(),
        format!("sockette {}", env!("CARGO_PKG_VERSION"))
    );
}
