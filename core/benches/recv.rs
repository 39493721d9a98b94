//! Receive and send side by side: sockette next to tungstenite 0.30,
//! nexus-web 0.8 and fastwebsockets 0.10, same frames, same run, paired ratios
//! (shared/BENCHMARKING.md).
//!
//! Every receive row runs twice: with the input fed in 64 KiB slices (what the
//! backends read at once) and whole (one batch of about 1 MiB at once). Each
//! competitor gets the same bytes the same way:
//! - sockette: `handle_input` per slice, then `poll_event` (owned) or
//!   `poll_event_ref` (borrowed) until none; `read API`: the same through
//!   `input_buffer` + `handle_read` (the slice copied into the lent buffer,
//!   as a socket read would write it); `copied`: the backends' path before
//!   the read API, the slice copied into a buffer of their own, then `handle_input`;
//! - tungstenite: `WebSocket::read` over an in-memory stream whose reads return
//!   at most one slice;
//! - nexus-web: `FrameReader::read` per slice, then `next` until none;
//! - fastwebsockets: `WebSocket::read_frame` on a current-thread tokio runtime,
//!   over an in-memory `AsyncRead` whose reads return at most one slice.
//!
//! Sections run each in a fresh process. `cargo bench -p sockette-core --bench
//! recv -- [--quick] [recv-binary|recv-text|send]`; `SOCKETTE_BENCH_SIZE=16B`
//! and `SOCKETTE_BENCH_ONLY=owned` narrow a run to one size and one competitor
//! (for `perf record`). BENCHMARKS.md has the results.

mod support;

use std::hint::black_box;
use std::io;
use std::pin::Pin;
use std::process::Command;
use std::task::{Context, Poll};
use std::time::Instant;

use sockette_core::frame::OpCode;
use sockette_core::{Bytes, Event, EventRef, Message};

use support::paired::{measure, Plan, Rates, Runner};
use support::record::human;
use support::*;

/// What the backends read at once.
const SLICE: usize = 64 << 10;

#[derive(Clone, Copy, PartialEq, Debug)]
enum Kind {
    Binary,
    Text,
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Feed {
    Slices,
    Whole,
}

impl Feed {
    fn name(self) -> &'static str {
        match self {
            Feed::Slices => "64 KiB",
            Feed::Whole => "whole",
        }
    }
    fn max_read(self) -> usize {
        match self {
            Feed::Slices => SLICE,
            Feed::Whole => usize::MAX,
        }
    }
    fn pieces(self, wire: &[u8]) -> std::slice::Chunks<'_, u8> {
        wire.chunks(self.max_read().min(wire.len().max(1)))
    }
}

/// The checksum every competitor computes over the messages of a batch: their
/// lengths plus their last bytes, so a competitor that decoded less, or other
/// bytes, is caught.
#[inline]
fn check(payload: &[u8]) -> u64 {
    payload.len() as u64 + u64::from(payload.last().copied().unwrap_or(0))
}

fn main() {
    let sections = ["recv-binary", "recv-text", "send"];
    if let Ok(section) = std::env::var("SOCKETTE_BENCH_SECTION") {
        let plan = Plan::from_args();
        match section.as_str() {
            "recv-binary" => recv_section(Kind::Binary, plan),
            "recv-text" => recv_section(Kind::Text, plan),
            "send" => send_section(plan),
            other => panic!("unknown section {other}"),
        }
        return;
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    let chosen: Vec<&str> = sections
        .iter()
        .copied()
        .filter(|s| {
            !args.iter().any(|a| sections.contains(&a.as_str())) || args.iter().any(|a| a == s)
        })
        .collect();
    let exe = std::env::current_exe().unwrap();
    println!(
        "machine: {} cores; load average at start: {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load_average()
    );
    for section in chosen {
        // A fresh process per section: allocator state left by one section
        // changes the next one's results.
        let status = Command::new(&exe)
            .args(&args)
            .env("SOCKETTE_BENCH_SECTION", section)
            .status()
            .unwrap();
        assert!(status.success(), "section {section} failed");
    }
    println!("load average at end: {}", load_average());
}

/// The sizes to run: all, or with `SOCKETTE_BENCH_SIZE=16B` (a label) that
/// one alone (to profile it).
fn chosen_sizes() -> impl Iterator<Item = usize> {
    let only = std::env::var("SOCKETTE_BENCH_SIZE").ok();
    SIZES
        .into_iter()
        .filter(move |&size| only.as_ref().is_none_or(|l| *l == label(size)))
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

// ----- receive -----

struct Row {
    kind: Kind,
    wire: Vec<u8>,
    count: usize,
    expected: (u64, u64),
}

fn row(kind: Kind, size: usize) -> Row {
    let count = batch_len(size);
    let (opcode, payloads) = match kind {
        Kind::Binary => (OpCode::Binary, distinct_binaries(size, count)),
        Kind::Text => (OpCode::Text, distinct_texts(size, count)),
    };
    let checksum = payloads.iter().map(|p| check(p)).sum();
    Row {
        kind,
        wire: server_frames_of(opcode, &payloads),
        count,
        expected: (count as u64, checksum),
    }
}

fn recv_section(kind: Kind, plan: Plan) {
    let name = match kind {
        Kind::Binary => "binary",
        Kind::Text => "text",
    };
    println!("\n### receive {name} (messages/s; ratios: median of per-repetition ratios, spread in parentheses)\n");
    println!(
        "| size | feed | owned | borrowed | owned, read API | tungstenite | nexus-web | fastwebsockets | owned/tung | owned/fastws | owned/nexus | borrowed/nexus | read API/copied |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for size in chosen_sizes() {
        let row = row(kind, size);
        for feed in [Feed::Slices, Feed::Whole] {
            let unvalidated = if kind == Kind::Text {
                peers_skipping_validation(size, feed)
            } else {
                Vec::new()
            };
            let rates = recv_row(&row, feed, plan);
            let cell = |who: &str| {
                let r = rates.median(who).unwrap();
                let mark = if unvalidated.contains(&who) {
                    " (not validated)"
                } else {
                    ""
                };
                format!("{} ({}){mark}", human(r, ""), human(r * size as f64, "B"))
            };
            println!(
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                label(size),
                feed.name(),
                cell("owned"),
                cell("borrowed"),
                cell("read_api"),
                cell("tungstenite"),
                cell("nexus"),
                cell("fastws"),
                rates.ratio_cell("owned", "tungstenite"),
                rates.ratio_cell("owned", "fastws"),
                rates.ratio_cell("owned", "nexus"),
                rates.ratio_cell("borrowed", "nexus"),
                rates.ratio_cell("read_api", "copied"),
            );
        }
    }
}

fn recv_row(row: &Row, feed: Feed, plan: Plan) -> Rates {
    let wire = &row.wire[..];
    let count = row.count;
    let kind = row.kind;
    let now = Instant::now();

    let mut owned = open_client();
    let mut borrowed = open_client();
    let mut read_api = open_client();
    let mut copied = open_client();
    let mut scratch = vec![0u8; wire.len().min(feed.max_read())];
    let mut tung = tungstenite_client(wire.to_vec());
    tung.get_mut().max_read = feed.max_read();
    let mut nexus = nexus_web::ws::FrameReader::builder()
        .role(nexus_web::ws::Role::Client)
        .buffer_capacity(4 << 20)
        .max_frame_size(16 << 20)
        .max_message_size(64 << 20)
        .build();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut fastws = fastwebsockets::WebSocket::after_handshake(
        AsyncMem::new(wire.to_vec(), feed.max_read()),
        fastwebsockets::Role::Client,
    );
    fastws.set_max_message_size(64 << 20);

    let mut runners = vec![
        Runner::new("owned", move || {
            let (mut n, mut sum) = (0, 0);
            for piece in feed.pieces(wire) {
                owned.handle_input(now, piece);
                while let Some(event) = owned.poll_event() {
                    match event {
                        Event::Message(Message::Binary(m)) if kind == Kind::Binary => {
                            sum += check(&m)
                        }
                        Event::Message(Message::Text(t)) if kind == Kind::Text => {
                            sum += check(t.as_str().as_bytes())
                        }
                        other => panic!("{other:?}"),
                    }
                    n += 1;
                }
            }
            (n, sum)
        }),
        Runner::new("borrowed", move || {
            let (mut n, mut sum) = (0, 0);
            for piece in feed.pieces(wire) {
                borrowed.handle_input(now, piece);
                while let Some(event) = borrowed.poll_event_ref() {
                    match event {
                        EventRef::Binary(m) if kind == Kind::Binary => sum += check(m),
                        EventRef::Text(t) if kind == Kind::Text => sum += check(t.as_bytes()),
                        // A message that did not arrive whole in the buffer is
                        // handed out owned.
                        EventRef::Other(Event::Message(m))
                            if m.is_text() == (kind == Kind::Text) =>
                        {
                            sum += check(m.as_bytes())
                        }
                        other => panic!("{other:?}"),
                    }
                    n += 1;
                }
            }
            (n, sum)
        }),
        Runner::new("read_api", move || {
            let (mut n, mut sum) = (0, 0);
            for piece in feed.pieces(wire) {
                read_into_core(&mut read_api, now, piece);
                while let Some(event) = read_api.poll_event() {
                    match event {
                        Event::Message(Message::Binary(m)) if kind == Kind::Binary => {
                            sum += check(&m)
                        }
                        Event::Message(Message::Text(t)) if kind == Kind::Text => {
                            sum += check(t.as_str().as_bytes())
                        }
                        other => panic!("{other:?}"),
                    }
                    n += 1;
                }
            }
            (n, sum)
        }),
        Runner::new("copied", move || {
            // The backends before the read API: a read into a buffer of their own,
            // then `handle_input`, which copies it into the core.
            let (mut n, mut sum) = (0, 0);
            for piece in feed.pieces(wire) {
                let read = &mut scratch[..piece.len()];
                read.copy_from_slice(piece);
                copied.handle_input(now, read);
                while let Some(event) = copied.poll_event() {
                    match event {
                        Event::Message(Message::Binary(m)) if kind == Kind::Binary => {
                            sum += check(&m)
                        }
                        Event::Message(Message::Text(t)) if kind == Kind::Text => {
                            sum += check(t.as_str().as_bytes())
                        }
                        other => panic!("{other:?}"),
                    }
                    n += 1;
                }
            }
            (n, sum)
        }),
        Runner::new("tungstenite", move || {
            tung.get_mut().pos = 0;
            let mut sum = 0;
            for _ in 0..count {
                match tung.read().unwrap() {
                    tungstenite::Message::Binary(m) if kind == Kind::Binary => sum += check(&m),
                    tungstenite::Message::Text(t) if kind == Kind::Text => {
                        sum += check(t.as_str().as_bytes())
                    }
                    other => panic!("{other:?}"),
                }
            }
            (count as u64, sum)
        }),
        Runner::new("nexus", move || {
            let (mut n, mut sum) = (0, 0);
            for piece in feed.pieces(wire) {
                nexus.read(piece).unwrap();
                while let Some(m) = nexus.next().unwrap() {
                    match m {
                        nexus_web::ws::Message::Binary(m) if kind == Kind::Binary => {
                            sum += check(m)
                        }
                        nexus_web::ws::Message::Text(t) if kind == Kind::Text => {
                            sum += check(t.as_bytes())
                        }
                        other => panic!("{other:?}"),
                    }
                    n += 1;
                }
            }
            (n, sum)
        }),
        Runner::new("fastws", move || {
            runtime.block_on(async {
                let mut sum = 0;
                for _ in 0..count {
                    let frame = fastws.read_frame().await.unwrap();
                    let expected = match kind {
                        Kind::Binary => fastwebsockets::OpCode::Binary,
                        Kind::Text => fastwebsockets::OpCode::Text,
                    };
                    assert!(frame.opcode == expected && frame.fin);
                    sum += check(&frame.payload);
                }
                (count as u64, sum)
            })
        }),
    ];
    measure(plan, row.expected, &mut runners)
}

/// Copies `piece` into the buffer the connection lends, as a socket read into
/// it would.
#[inline]
fn read_into_core(conn: &mut sockette_core::Connection, now: Instant, piece: &[u8]) {
    let room = conn.input_buffer(piece.len());
    room[..piece.len()].copy_from_slice(piece);
    conn.handle_read(now, piece.len());
}

/// Which peers accept a text frame of `size` bytes with invalid UTF-8 in its
/// middle when fed this way: their rows are marked, and left out of the targets.
fn peers_skipping_validation(size: usize, feed: Feed) -> Vec<&'static str> {
    let mut payload = distinct_texts(size, 1).remove(0);
    payload[size / 2] = 0xff;
    let wire = server_frames_of(OpCode::Text, &[payload]);
    let mut skipping = Vec::new();
    let now = Instant::now();

    let mut conn = open_client();
    let mut failed = false;
    for piece in feed.pieces(&wire) {
        conn.handle_input(now, piece);
        while let Some(event) = conn.poll_event() {
            failed |= matches!(event, Event::Error(_));
        }
    }
    if !failed {
        skipping.push("owned");
        skipping.push("read_api");
    }
    let mut conn = open_client();
    let mut failed = false;
    for piece in feed.pieces(&wire) {
        conn.handle_input(now, piece);
        while let Some(event) = conn.poll_event_ref() {
            failed |= matches!(event, EventRef::Other(Event::Error(_)));
        }
    }
    if !failed {
        skipping.push("borrowed");
    }

    let mut tung = tungstenite_client(wire.clone());
    tung.get_mut().max_read = feed.max_read();
    if tung.read().is_ok() {
        skipping.push("tungstenite");
    }

    let mut nexus = nexus_web::ws::FrameReader::builder()
        .role(nexus_web::ws::Role::Client)
        .buffer_capacity(4 << 20)
        .max_frame_size(16 << 20)
        .max_message_size(64 << 20)
        .build();
    let mut failed = false;
    'feed: for piece in feed.pieces(&wire) {
        nexus.read(piece).unwrap();
        loop {
            match nexus.next() {
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(_) => {
                    failed = true;
                    break 'feed;
                }
            }
        }
    }
    if !failed {
        skipping.push("nexus");
    }

    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut ws = fastwebsockets::WebSocket::after_handshake(
        AsyncMem::new(wire, feed.max_read()),
        fastwebsockets::Role::Client,
    );
    ws.set_max_message_size(64 << 20);
    if runtime.block_on(ws.read_frame()).is_ok() {
        skipping.push("fastws");
    }
    skipping
}

/// An in-memory stream for fastwebsockets: reads return at most `max_read`
/// bytes and never cross the end of `input`, which starts over once read to
/// its end (one batch per pass); writes are dropped.
struct AsyncMem {
    input: Vec<u8>,
    pos: usize,
    max_read: usize,
}

impl AsyncMem {
    fn new(input: Vec<u8>, max_read: usize) -> Self {
        AsyncMem {
            input,
            pos: 0,
            max_read,
        }
    }
}

impl tokio::io::AsyncRead for AsyncMem {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.pos == this.input.len() {
            this.pos = 0;
        }
        let rest = &this.input[this.pos..];
        let n = rest.len().min(this.max_read).min(buf.remaining());
        buf.put_slice(&rest[..n]);
        this.pos += n;
        Poll::Ready(Ok(()))
    }
}

impl tokio::io::AsyncWrite for AsyncMem {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

// ----- send -----

fn send_section(plan: Plan) {
    println!("\n### send binary, client frames encoded and masked (payload bytes/s)\n");
    println!(
        "| size | sockette | tungstenite | nexus-web | memcpy | sockette/tung | sockette/nexus | sockette/memcpy |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for size in chosen_sizes() {
        let data = binary_payload(size);
        let count = batch_len(size) as u64;
        let bytes = count * size as u64;
        let header =
            2 + if size < 126 {
                0
            } else if size <= 0xffff {
                2
            } else {
                8
            } + 4;
        let frame_len = (header + size) as u64;

        let mut conn = open_client();
        let mut tung = tungstenite_client(Vec::new());
        // Built once: tungstenite takes its payload by value; cloning Bytes is a
        // reference count, not a copy.
        let message = tungstenite::Message::Binary(Bytes::copy_from_slice(&data));
        let mut writer = nexus_web::ws::FrameWriter::new(nexus_web::ws::Role::Client);
        let mut dst = vec![0u8; writer.max_encoded_len(size)];
        let mut copy_dst = vec![0u8; size + 14];
        let data = &data[..];

        let mut runners = vec![
            Runner::new("sockette", move || {
                let mut wire = 0u64;
                for _ in 0..count {
                    conn.send_binary(data).unwrap();
                    while let Some(out) = conn.poll_transmit() {
                        let n = black_box(out.len());
                        wire += n as u64;
                        conn.advance_transmit(n);
                    }
                }
                assert_eq!(wire, count * frame_len);
                (bytes, bytes)
            }),
            Runner::new("tungstenite", move || {
                let before = tung.get_mut().written;
                for _ in 0..count {
                    tung.send(message.clone()).unwrap();
                }
                assert_eq!((tung.get_mut().written - before) as u64, count * frame_len);
                (bytes, bytes)
            }),
            Runner::new("nexus", move || {
                let mut wire = 0u64;
                for _ in 0..count {
                    let n = writer.encode_binary(data, &mut dst);
                    black_box(&mut dst);
                    wire += n as u64;
                }
                assert_eq!(wire, count * frame_len);
                (bytes, bytes)
            }),
            Runner::new("memcpy", move || {
                for _ in 0..count {
                    copy_dst[14..].copy_from_slice(black_box(data));
                    black_box(&mut copy_dst);
                }
                (bytes, bytes)
            }),
        ];
        let rates = measure(plan, (bytes, bytes), &mut runners);
        let cell = |who: &str| human(rates.median(who).unwrap(), "B");
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            label(size),
            cell("sockette"),
            cell("tungstenite"),
            cell("nexus"),
            cell("memcpy"),
            rates.ratio_cell("sockette", "tungstenite"),
            rates.ratio_cell("sockette", "nexus"),
            rates.ratio_cell("sockette", "memcpy"),
        );
    }
}
