//! `sockette`: a WebSocket client for the terminal and for scripts, on
//! sockette-std. With no URL, a self-contained wss:// demo against an embedded
//! echo server; `--serve` runs that server alone. See `sockette --help`.
//!
//! Modules: `args` (the options), `session` (the owner loop and exit status),
//! `script` (stdin and `--send`), `demo`, `serve`, `echo_server` and `cert` (the
//! embedded server), `output` (human, quiet and JSON lines), `exit` (exit codes).

mod args;
mod cert;
mod demo;
mod echo_server;
mod exit;
mod output;
mod script;
mod serve;
mod session;

use std::process::ExitCode;

use clap::Parser;
use sockette_std::sockette_core::WsUrl;

use crate::args::Args;
use crate::output::{BinaryDisplay, Form, Printer};
use crate::script::{Interactive, SendList};

fn main() -> ExitCode {
    let args = Args::parse();
    let form = match (args.json, args.quiet) {
        (true, _) => Form::Json,
        (_, true) => Form::Quiet,
        _ => Form::Human,
    };
    let binary = match (args.hex, args.binary) {
        (true, _) => BinaryDisplay::Hex,
        (_, true) => BinaryDisplay::Raw,
        _ => BinaryDisplay::Preview,
    };
    let mut out = Printer::new(form, binary, args.no_escape);
    #[cfg(not(feature = "platform-verifier"))]
    if args.platform_verifier {
        out.exit_reason(
            "--platform-verifier: this sockette was built without the platform-verifier feature",
        );
        return exit::Status::Usage.code();
    }
    out.set_verbose(args.verbose);
    if args.insecure {
        out.warn("--insecure: server certificates are NOT verified; anyone on the path can read and change this traffic");
    }
    let status = match (&args.serve, &args.url) {
        (Some(spec), _) => serve::run(&args, spec, &out),
        (None, None) => demo::run(&args, &mut out),
        (None, Some(url)) => {
            let builder = session::builder(&args, url);
            // Shown without the URL's credentials.
            let shown = WsUrl::parse(url).map_or_else(|_| url.clone(), |u| u.to_string());
            if args.send.is_empty() {
                let mut script = Interactive::new(args.slash);
                session::run(builder, &shown, &mut script, &mut out)
            } else {
                let mut script = SendList::new(args.send.clone(), args.wait);
                session::run(builder, &shown, &mut script, &mut out)
            }
        }
    };
    status.code()
}
