//! An Autobahn|Testsuite client written with the public API in the seed's style:
//! every case is one connection whose callback echoes each message from inside
//! the callback, the way WLanguage's procedure answers with `SocketEcrit`.
//!
//! ```sh
//! cargo run --release -p sockette-std --example autobahn -- ws://127.0.0.1:9001 sockette-std
//! cargo run --release -p sockette-std --example autobahn -- wss://127.0.0.1:9001 sockette-std --ca RUNDIR/server.crt
//! ```
//! permessage-deflate is offered unless `--no-deflate` is given.
//! `tests/autobahn.sh` starts the suite's fuzzingserver and runs this.

use std::process::ExitCode;

use sockette_std::{Client, ClientBuilder, DeflateConfig, Event, Limits, Message};

struct Options {
    base: String,
    agent: String,
    ca: Option<String>,
    deflate: bool,
}

fn parse_args() -> Result<Options, String> {
    let mut args = std::env::args().skip(1);
    let mut positional = Vec::new();
    let mut ca = None;
    let mut deflate = true;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--ca" => ca = Some(args.next().ok_or("--ca needs a file")?),
            "--no-deflate" => deflate = false,
            _ => positional.push(arg),
        }
    }
    let mut positional = positional.into_iter();
    let base = positional
        .next()
        .ok_or("usage: autobahn URL [AGENT] [--ca FILE] [--no-deflate]")?;
    let agent = positional.next().unwrap_or_else(|| "sockette-std".into());
    Ok(Options {
        base: base.trim_end_matches('/').to_string(),
        agent,
        ca,
        deflate,
    })
}

fn builder(options: &Options, path: &str) -> ClientBuilder {
    // The suite sends messages up to 16 MiB (case 9.*): raise the limits above them.
    let limits = Limits::default()
        .max_frame_size(64 << 20)
        .max_message_size(64 << 20);
    let mut builder = Client::builder(&format!("{}{path}", options.base)).limits(limits);
    if options.deflate {
        // permessage-deflate is offered with its defaults (cases 12.* and 13.*).
        builder = builder.deflate(DeflateConfig::default());
    }
    match &options.ca {
        Some(ca) => builder.ca_file(ca),
        None => builder,
    }
}

/// Runs one connection, echoing every message; returns the last text received.
fn run(options: &Options, path: &str, echo: bool) -> Result<Option<String>, String> {
    let mut client = builder(options, path)
        .start()
        .map_err(|e| format!("{path}: {e}"))?;
    let mut last_text = None;
    client
        .run(|ws, event| match event {
            Event::Message(message) if echo => {
                // The echo is sent from inside the callback; a send refused because
                // the connection is already failing is what the case tests.
                let _ = ws.send(&message);
            }
            Event::Message(Message::Text(text)) => last_text = Some(text.to_string()),
            _ => {}
        })
        .map_err(|e| format!("{path}: {e}"))?;
    Ok(last_text)
}

fn main() -> ExitCode {
    let options = match parse_args() {
        Ok(options) => options,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let count = match run(&options, "/getCaseCount", false) {
        Ok(Some(text)) => match text.trim().parse::<u32>() {
            Ok(n) => n,
            Err(_) => {
                eprintln!("unexpected case count {text:?}");
                return ExitCode::FAILURE;
            }
        },
        Ok(None) => {
            eprintln!("the server sent no case count");
            return ExitCode::FAILURE;
        }
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    println!("{count} cases");
    for case in 1..=count {
        let path = format!("/runCase?case={case}&agent={}", options.agent);
        if let Err(e) = run(&options, &path, true) {
            // A case may end in an error by design; the report judges it.
            println!("case {case}: {e}");
        }
    }
    let path = format!("/updateReports?agent={}", options.agent);
    if let Err(e) = run(&options, &path, false) {
        eprintln!("{e}");
        return ExitCode::FAILURE;
    }
    println!("reports updated for agent {}", options.agent);
    ExitCode::SUCCESS
}
