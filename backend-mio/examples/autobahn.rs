//! The Autobahn|Testsuite client through sockette-mio: reads the number of cases
//! from `/getCaseCount`, runs every case `/runCase?case=N&agent=AGENT` echoing each
//! text and binary message from inside the callback until the server closes, then
//! asks for `/updateReports?agent=AGENT`. One [`EventLoop`], one case at a time.
//!
//! ```sh
//! ../shared/tools/autobahn/run-fuzzingserver.sh start -p 9001 -d target/autobahn
//! cargo run --release -p sockette-mio --example autobahn -- ws://127.0.0.1:9001 sockette-mio
//! cargo run --release -p sockette-mio --example autobahn -- wss://127.0.0.1:9001 sockette-mio --ca RUNDIR/server.crt
//! python3 ../shared/tools/autobahn/summarize.py target/autobahn/reports/clients -v
//! ```

use std::time::Instant;

use sockette_mio::{ClientConfig, DeflateConfig, Event, EventLoop, Limits, Message};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut positional = Vec::new();
    let mut ca_pem = None;
    let mut deflate = true;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--no-deflate" => deflate = false,
            "--ca" => ca_pem = Some(std::fs::read(args.next().ok_or("--ca needs a file")?)?),
            _ => positional.push(arg),
        }
    }
    let mut positional = positional.into_iter();
    let base = positional
        .next()
        .unwrap_or_else(|| "ws://127.0.0.1:9001".into());
    let agent = positional.next().unwrap_or_else(|| "sockette-mio".into());
    let settings = Settings {
        ca_pem: ca_pem.as_deref(),
        deflate,
    };
    let mut event_loop = EventLoop::new()?;

    let count: usize = run(
        &mut event_loop,
        &settings,
        &format!("{base}/getCaseCount"),
        false,
    )?
    .ok_or("no case count received")?
    .trim()
    .parse()?;
    println!("{count} cases");
    let start = Instant::now();
    for case in 1..=count {
        run(
            &mut event_loop,
            &settings,
            &format!("{base}/runCase?case={case}&agent={agent}"),
            true,
        )?;
        if case % 50 == 0 {
            println!("{case}/{count} cases ({:.1?})", start.elapsed());
        }
    }
    run(
        &mut event_loop,
        &settings,
        &format!("{base}/updateReports?agent={agent}"),
        false,
    )?;
    println!(
        "done in {:.1?}; reports updated for agent {agent}",
        start.elapsed()
    );
    Ok(())
}

/// What every connection of the run is configured with.
struct Settings<'a> {
    ca_pem: Option<&'a [u8]>,
    deflate: bool,
}

/// Runs one connection until it closes; echoes when asked; returns the last text
/// message received.
fn run(
    event_loop: &mut EventLoop,
    settings: &Settings<'_>,
    url: &str,
    echo: bool,
) -> Result<Option<String>, Box<dyn std::error::Error>> {
    let limits = Limits::default()
        .max_frame_size(64 << 20)
        .max_message_size(64 << 20);
    let mut config = ClientConfig::new(url)?.limits(limits);
    if let Some(pem) = settings.ca_pem {
        config = config.add_root_certificates_pem(pem)?;
    }
    if settings.deflate {
        config = config.deflate(DeflateConfig::default());
    }
    event_loop.connect_with(config)?;
    let mut last_text = None;
    event_loop.run(|ws, event| match event {
        Event::Message(message) => {
            if echo {
                // The echo goes out from inside the callback.
                let _ = ws.send(&message);
            }
            if let Message::Text(text) = message {
                last_text = Some(text.as_str().to_string());
            }
        }
        Event::Error(e) if !echo => eprintln!("{url}: {e}"),
        _ => {}
    })?;
    Ok(last_text)
}
