//! The heap a connection holds at once, counted by a global allocator: a burst
//! of messages followed by the end of the transport (EOF, TLS close_notify) is
//! decoded one event at a time, so the connection holds at most
//! `max_message_size` + its input buffer + `max_buffered_output` + a few KiB,
//! never one message per frame still buffered.
//!
//! Its own test binary: the counting allocator sees every allocation of the
//! process, so the tests here take turns (`SERIAL`) and measure from a baseline.

// A counting global allocator is an `unsafe impl`: allowed in this test binary
// only (core denies `unsafe_code` elsewhere, src/mask.rs aside).
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use flate2::{Compress, Compression, FlushCompress};
use sockette_core::{
    CapacityError, ChaChaSource, ClientConfig, CloseCode, Connection, DeflateConfig, Error, Event,
    Limits, ServerConfig,
};
use sockette_testkit::pki::self_signed_server_tls;
use sockette_testkit::{drive, take_output};

/// The system allocator, keeping the live and the peak number of bytes.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(by: usize) {
    let live = LIVE.fetch_add(by, Ordering::Relaxed) + by;
    PEAK.fetch_max(live, Ordering::Relaxed);
}

// SAFETY: every call is forwarded unchanged to the system allocator; the counters
// have no effect on the memory handed out.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as our caller's.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            grew(layout.size());
        }
        ptr
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as our caller's.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            grew(layout.size());
        }
        ptr
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: same contract as our caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: same contract as our caller's.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            grew(new_size);
        }
        new
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// One measurement at a time: the counters are the whole process's.
static SERIAL: Mutex<()> = Mutex::new(());

/// Bytes above `max_message_size` + input + `max_buffered_output` the connection
/// may hold: event queue, a frame header, the bookkeeping of a decoded message.
const FIXED_SLACK: usize = 16 << 10;

const MESSAGE: usize = 1 << 20;
const BURST: usize = 64;

/// Read size of a backend (what `sockette-mio` and `sockette-std` read at once).
const READ: usize = 64 << 10;

fn limits() -> Limits {
    Limits::default()
        .max_message_size(MESSAGE)
        .max_buffered_output(64 << 10)
}

/// An opened client (measured) and server (the peer), deflate agreed or not,
/// over TLS or not.
fn open_pair(deflate: bool, tls: bool) -> (Connection, Connection) {
    open_pair_limits(deflate, tls, limits())
}

/// A plain pair whose client accepts messages of up to `max_message_size`.
fn open_pair_with(deflate: bool, max_message_size: usize) -> (Connection, Connection) {
    let limits = limits().max_message_size(max_message_size);
    open_pair_limits(deflate, false, limits)
}

fn open_pair_limits(deflate: bool, tls: bool, limits: Limits) -> (Connection, Connection) {
    let url = if tls {
        "wss://localhost/"
    } else {
        "ws://localhost/"
    };
    let mut client = ClientConfig::new(url)
        .unwrap()
        .wall_clock(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_780_000_000))
        .limits(limits)
        .random_source(ChaChaSource::from_seed(1));
    let mut server = ServerConfig::new().random_source(ChaChaSource::from_seed(2));
    if deflate {
        client = client.deflate(DeflateConfig::default());
        server = server.deflate(DeflateConfig::default());
    }
    if tls {
        client = client.dangerous_disable_certificate_verification();
        server = server.tls(self_signed_server_tls(&["localhost"]));
    }
    let now = Instant::now();
    let mut c = Connection::client(client, now).unwrap();
    let mut s = Connection::server(server, now).unwrap();
    let (ce, se) = drive(&mut c, &mut s, usize::MAX);
    assert!(matches!(ce[..], [Event::Open(_)]), "{ce:?}");
    assert!(matches!(se[..], [Event::Open(_)]), "{se:?}");
    (c, s)
}

/// What the measured client did with the wire bytes it was fed.
struct Outcome {
    /// Peak live heap above the baseline, in bytes.
    peak: usize,
    /// The bound it must stay within for the input fed.
    bound: usize,
    messages: usize,
    events: Vec<Event>,
}

/// Feeds `wire` to `client` in reads of `read` bytes without polling (a reader
/// running ahead of its caller), then `end` (EOF, or nothing when the wire ends
/// with close_notify), then polls events one at a time, dropping each message.
/// Measures the peak heap from before the first read.
fn feed_then_poll(client: &mut Connection, wire: &[u8], read: usize, eof: bool) -> Outcome {
    let tls = client.is_tls();
    let now = Instant::now();
    let baseline = LIVE.load(Ordering::Relaxed);
    PEAK.store(baseline, Ordering::Relaxed);
    for piece in wire.chunks(read) {
        client.handle_input(now, piece);
    }
    if eof {
        client.handle_eof(now);
    }
    let mut messages = 0;
    let mut events = Vec::new();
    while let Some(event) = client.poll_event() {
        match event {
            Event::Message(m) => {
                assert!(m.len() <= MESSAGE);
                messages += 1;
            }
            other => events.push(other),
        }
    }
    assert!(client.is_closed(), "still open after its last event");
    let peak = PEAK.load(Ordering::Relaxed) - baseline;
    let limits = limits();
    // The input buffer grows by doubling: it holds at most twice what it was fed
    // (exactly that when fed in one read). Over TLS, the session also holds the
    // last read, and its plaintext is kept for the next one.
    let growth = if read >= wire.len() { 1 } else { 2 };
    let input = growth * wire.len() + if tls { 2 * read } else { 0 };
    Outcome {
        peak,
        bound: limits.max_message_size + input + limits.max_buffered_output + FIXED_SLACK,
        messages,
        events,
    }
}

/// The server's wire bytes for `count` binary messages of `size` bytes, each in
/// two frames when `fragmented` (uncompressed then), else as the server sends
/// them (compressed if deflate was agreed).
fn burst(server: &mut Connection, fragmented: bool, size: usize, count: usize) -> Vec<u8> {
    let mut wire = Vec::new();
    let payload = vec![0u8; size];
    for i in 0..count {
        let payload = {
            let mut p = payload.clone();
            p[0] = i as u8;
            p
        };
        if fragmented {
            // The core has no API for fragments: write them by hand.
            let (a, b) = payload.split_at(size / 2);
            wire.extend_from_slice(&unmasked_frame(0x02, a));
            wire.extend_from_slice(&unmasked_frame(0x80, b));
        } else {
            server.send_binary(&payload).unwrap();
            wire.extend_from_slice(&take_output(server));
        }
    }
    wire
}

fn unmasked_frame(b0: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![b0];
    match payload.len() {
        n if n < 126 => out.push(n as u8),
        n if n <= 0xffff => {
            out.push(126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(payload);
    out
}

fn assert_lost(events: &[Event]) {
    assert!(
        matches!(events, [Event::Error(e), Event::Close(c)]
            if matches!(**e, Error::ConnectionLost(_)) && c.code == CloseCode::Abnormal && !c.was_clean),
        "{events:?}"
    );
}

#[test]
fn a_deflated_burst_then_eof_is_inflated_one_message_at_a_time() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (mut client, mut server) = open_pair(true, false);
    let wire = burst(&mut server, false, MESSAGE, BURST);
    assert!(wire.len() < 128 << 10, "{} bytes on the wire", wire.len());
    let outcome = feed_then_poll(&mut client, &wire, READ, true);
    println!(
        "deflated burst + EOF: {} wire bytes, peak heap {} bytes, bound {}",
        wire.len(),
        outcome.peak,
        outcome.bound
    );
    assert_eq!(outcome.messages, BURST);
    assert_lost(&outcome.events);
    assert!(
        outcome.peak <= outcome.bound,
        "{} > {}",
        outcome.peak,
        outcome.bound
    );
}

#[test]
fn a_deflated_burst_then_tls_close_notify_is_inflated_one_message_at_a_time() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (mut client, mut server) = open_pair(true, true);
    let mut wire = burst(&mut server, false, MESSAGE, BURST);
    // The server's transport ends: it sends close_notify, without a close frame.
    server.handle_eof(Instant::now());
    while server.poll_event().is_some() {}
    wire.extend_from_slice(&take_output(&mut server));
    let outcome = feed_then_poll(&mut client, &wire, READ, false);
    println!(
        "deflated burst + close_notify: {} wire bytes, peak heap {} bytes, bound {}",
        wire.len(),
        outcome.peak,
        outcome.bound
    );
    assert!(client.tls_close_notify_received());
    assert_eq!(outcome.messages, BURST);
    assert_lost(&outcome.events);
    assert!(
        outcome.peak <= outcome.bound,
        "{} > {}",
        outcome.peak,
        outcome.bound
    );
}

#[test]
fn a_fragmented_plain_burst_then_eof_is_assembled_one_message_at_a_time() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (mut client, mut server) = open_pair(false, false);
    // Fragments are copied into a message of their own: queued, each would be
    // held on top of the input.
    // One read: the input buffer is then exactly the wire bytes.
    let wire = burst(&mut server, true, 16 << 10, 256);
    let outcome = feed_then_poll(&mut client, &wire, wire.len(), true);
    println!(
        "fragmented plain burst + EOF: {} wire bytes, peak heap {} bytes, bound {}",
        wire.len(),
        outcome.peak,
        outcome.bound
    );
    assert_eq!(outcome.messages, 256);
    assert_lost(&outcome.events);
    assert!(
        outcome.peak <= outcome.bound,
        "{} > {}",
        outcome.peak,
        outcome.bound
    );
}

#[test]
fn a_clean_close_after_a_burst_is_still_reported_after_its_messages() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (mut client, mut server) = open_pair(true, false);
    let mut wire = burst(&mut server, false, MESSAGE, BURST);
    server
        .close(Instant::now(), CloseCode::Normal, "bye")
        .unwrap();
    wire.extend_from_slice(&take_output(&mut server));
    let outcome = feed_then_poll(&mut client, &wire, READ, true);
    assert_eq!(outcome.messages, BURST);
    assert!(
        matches!(&outcome.events[..], [Event::Close(c)] if c.was_clean && c.code == CloseCode::Normal),
        "{:?}",
        outcome.events
    );
    assert!(
        outcome.peak <= outcome.bound,
        "{} > {}",
        outcome.peak,
        outcome.bound
    );
}

/// Raw deflate with the sync-flush tail removed (RFC 7692 §7.2.1).
fn deflate_raw(data: &[u8]) -> Vec<u8> {
    let mut c = Compress::new(Compression::best(), false);
    let mut out = Vec::with_capacity(data.len() / 500 + 1024);
    loop {
        out.reserve(64 << 10);
        let consumed = c.total_in() as usize;
        c.compress_vec(&data[consumed..], &mut out, FlushCompress::Sync)
            .unwrap();
        if c.total_in() as usize == data.len() && out.len() < out.capacity() {
            break;
        }
    }
    out.truncate(out.len() - 4);
    out
}

/// CVE-2018-1000518 (tornado: a flood of small compressed messages each
/// inflating to the size limit exhausts memory). Here as a burst followed by
/// EOF: each message just over the limit fails the connection with 1009 at the
/// first, within the limit; messages just under it are inflated one at a time.
#[test]
fn cve_2018_1000518_a_burst_of_deflate_bombs_stays_within_one_message() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // Under the limit: a valid burst, inflated one message at a time.
    let bomb = deflate_raw(&vec![b'a'; MESSAGE]);
    let frame = unmasked_frame(0xc2, &bomb);
    let wire: Vec<u8> = std::iter::repeat_n(&frame[..], 256)
        .flatten()
        .copied()
        .collect();
    let (mut client, _server) = open_pair(true, false);
    let outcome = feed_then_poll(&mut client, &wire, READ, true);
    println!(
        "256 deflate bombs of 1 MiB + EOF: {} wire bytes, peak heap {} bytes, bound {}",
        wire.len(),
        outcome.peak,
        outcome.bound
    );
    assert_eq!(outcome.messages, 256);
    assert_lost(&outcome.events);
    assert!(
        outcome.peak <= outcome.bound,
        "{} > {}",
        outcome.peak,
        outcome.bound
    );

    // Over the limit: the first fails the connection with 1009.
    let bomb = deflate_raw(&vec![b'a'; 4 * MESSAGE]);
    let frame = unmasked_frame(0xc2, &bomb);
    let wire: Vec<u8> = std::iter::repeat_n(&frame[..], 64)
        .flatten()
        .copied()
        .collect();
    let (mut client, _server) = open_pair(true, false);
    let outcome = feed_then_poll(&mut client, &wire, READ, true);
    assert_eq!(outcome.messages, 0);
    assert!(
        matches!(&outcome.events[..], [Event::Error(e), Event::Close(c)]
            if matches!(**e, Error::Capacity(CapacityError::MessageTooLarge { limit: MESSAGE, .. }))
                && c.code == CloseCode::TooBig),
        "{:?}",
        outcome.events
    );
    assert!(
        outcome.peak <= outcome.bound,
        "{} > {}",
        outcome.peak,
        outcome.bound
    );
}

/// A message buffer grows by doubling but not past `max_message_size`: with a
/// limit that is not a power of two, a message over half of it must not take a
/// buffer of the next power of two.
#[test]
fn a_message_buffer_never_outgrows_the_limit() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let limit = 3 << 19; // 1.5 MiB
    let size = limit - 1000;
    for compressed in [true, false] {
        let (mut client, _server) = open_pair_with(compressed, limit);
        let payload = vec![b'z'; size];
        let wire = if compressed {
            unmasked_frame(0xc2, &deflate_raw(&payload))
        } else {
            // In pieces, so that they are assembled (a single frame is not copied).
            let mut wire = Vec::new();
            let mut pieces = payload.chunks(64 << 10).peekable();
            let mut first = true;
            while let Some(piece) = pieces.next() {
                let fin = if pieces.peek().is_none() { 0x80 } else { 0 };
                let op = if first { 0x02 } else { 0 };
                wire.extend_from_slice(&unmasked_frame(fin | op, piece));
                first = false;
            }
            wire
        };
        let now = Instant::now();
        let baseline = LIVE.load(Ordering::Relaxed);
        PEAK.store(baseline, Ordering::Relaxed);
        client.handle_input(now, &wire);
        let input = wire.len();
        let mut got = 0;
        while let Some(event) = client.poll_event() {
            if let Event::Message(m) = event {
                got = m.len();
            }
        }
        let peak = PEAK.load(Ordering::Relaxed) - baseline;
        println!(
            "one message of {size} bytes, limit {limit}, compressed: {compressed}: peak {peak}"
        );
        assert_eq!(got, size);
        // Compressed, the input is tiny and the inflater's state is the slack.
        let slack = if compressed { 64 << 10 } else { FIXED_SLACK };
        assert!(
            peak <= limit + input + slack,
            "{peak} > {limit} + {input} + {slack}"
        );
    }
}

/// After EOF with frames still buffered, the connection is not closed yet: no
/// timer runs, no more input is read, what the caller answers to a message is
/// still sent, and it closes once the buffered frames have been polled.
#[test]
fn after_eof_the_buffered_frames_are_polled_then_the_connection_closes() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (mut client, mut server) = open_pair(false, false);
    let mut wire = burst(&mut server, false, 100, 2);
    wire.extend_from_slice(&unmasked_frame(0x89, b"ping"));
    let now = Instant::now();
    client.handle_input(now, &wire);
    client.handle_eof(now);
    assert!(!client.is_closed(), "closed before its frames were polled");
    assert_eq!(client.poll_timeout(), None, "a timer after the end");
    // Input after the end is ignored.
    client.handle_input(now, &unmasked_frame(0x82, b"late"));
    let Some(Event::Message(first)) = client.poll_event() else {
        panic!("the first message first")
    };
    // An answer to a message is still sent (the peer may still read).
    client.send(&first).unwrap();
    assert!(!take_output(&mut client).is_empty());
    let rest: Vec<Event> = std::iter::from_fn(|| client.poll_event()).collect();
    assert!(
        matches!(&rest[..], [Event::Message(_), Event::Ping(p), Event::Error(e), Event::Close(c)]
            if matches!(**e, Error::ConnectionLost(_)) && &p[..] == b"ping" && c.code == CloseCode::Abnormal),
        "{rest:?}"
    );
    assert!(client.is_closed());
}

/// Reads into the room the connection lends, 64 KiB at a time, of
/// a burst of 1 MiB messages in one frame each: polled after each read, the
/// connection holds one message (which it made room for when its header came)
/// and one read; read ahead without polling, what it was fed and the room.
#[test]
fn reads_into_lent_room_hold_one_message_and_one_read() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    for polled in [true, false] {
        let (mut client, mut server) = open_pair(false, false);
        let wire = burst(&mut server, false, MESSAGE - 64, 16);
        let now = Instant::now();
        let baseline = LIVE.load(Ordering::Relaxed);
        PEAK.store(baseline, Ordering::Relaxed);
        let mut messages = 0;
        for piece in wire.chunks(READ) {
            let room = client.input_buffer(READ);
            room[..piece.len()].copy_from_slice(piece);
            client.handle_read(now, piece.len());
            if polled {
                while let Some(event) = client.poll_event() {
                    assert!(matches!(event, Event::Message(_)), "{event:?}");
                    messages += 1;
                }
            }
        }
        client.handle_eof(now);
        while let Some(event) = client.poll_event() {
            if let Event::Message(_) = event {
                messages += 1;
            }
        }
        assert_eq!(messages, 16);
        let peak = PEAK.load(Ordering::Relaxed) - baseline;
        let limits = limits();
        // Polled: the message being read, and the room made with it for four
        // more reads (new room is made for four reads of the size asked for).
        // Read ahead: the input doubles as it piles up, and is copied as it
        // grows: the old block and the new one, at most three times what was fed.
        let room = 4 * READ;
        let input = if polled {
            room + READ
        } else {
            3 * wire.len() + 2 * room
        };
        let bound = limits.max_message_size + input + limits.max_buffered_output + FIXED_SLACK;
        println!("1 MiB messages read into lent room, polled {polled}: peak {peak}, bound {bound}");
        assert!(peak <= bound, "polled {polled}: {peak} > {bound}");
    }
}
