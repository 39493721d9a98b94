//! Allocations per message on the steady-state receive and send paths, counted
//! by a global allocator, sockette next to tungstenite.
//!
//! `cargo bench -p sockette-core --bench allocs`. Each path first runs a warm-up
//! batch (buffers reach their size), then the counted batches.

// A counting global allocator is an `unsafe impl`: allowed in this bench binary
// only (core denies `unsafe_code` elsewhere, src/mask.rs aside).
#![allow(unsafe_code)]

mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use sockette_core::frame::OpCode;
use sockette_core::{Bytes, Event, EventRef};
use support::*;

/// The system allocator, counting allocations and reallocations.
struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator; the counter
// has no effect on the memory handed out.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as our caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as our caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const ROUNDS: usize = 8;

/// Allocations per message of `f`, which handles `per_round` messages per call,
/// after one warm-up call.
fn per_message(per_round: usize, mut f: impl FnMut()) -> f64 {
    f();
    let before = ALLOCS.load(Ordering::Relaxed);
    for _ in 0..ROUNDS {
        f();
    }
    let allocs = ALLOCS.load(Ordering::Relaxed) - before;
    allocs as f64 / (ROUNDS * per_round) as f64
}

fn main() {
    let now = Instant::now();
    let before = ALLOCS.load(Ordering::Relaxed);
    black_box(Vec::<u8>::with_capacity(black_box(10)));
    assert_eq!(
        ALLOCS.load(Ordering::Relaxed) - before,
        1,
        "the counter counts"
    );
    println!("| path | size | sockette allocs/msg | tungstenite allocs/msg |");
    println!("|---|---|---|---|");
    for size in SIZES {
        let count = batch_len(size);
        let wire = server_frames(OpCode::Binary, &binary_payload(size), count);

        let mut conn = open_client();
        let owned = per_message(count, || {
            conn.handle_input(now, &wire);
            for _ in 0..count {
                let Some(Event::Message(m)) = conn.poll_event() else {
                    panic!("expected a message")
                };
                black_box(m.len());
            }
        });
        let mut conn = open_client();
        let borrowed = per_message(count, || {
            conn.handle_input(now, &wire);
            for _ in 0..count {
                let Some(EventRef::Binary(m)) = conn.poll_event_ref() else {
                    panic!("expected a message")
                };
                black_box(m.len());
            }
        });
        let mut ws = tungstenite_client(wire.clone());
        let tung = per_message(count, || {
            ws.get_mut().pos = 0;
            for _ in 0..count {
                black_box(ws.read().unwrap().len());
            }
        });
        println!(
            "| receive binary (owned events) | {} | {owned:.3} | {tung:.3} |",
            label(size)
        );
        println!(
            "| receive binary (borrowed) | {} | {borrowed:.3} | - |",
            label(size)
        );

        let data = binary_payload(size);
        let mut conn = open_client();
        let send = per_message(count, || {
            for _ in 0..count {
                conn.send_binary(&data).unwrap();
                while let Some(out) = conn.poll_transmit() {
                    let n = black_box(out.len());
                    conn.advance_transmit(n);
                }
            }
        });
        let mut ws = tungstenite_client(Vec::new());
        let message = tungstenite::Message::Binary(Bytes::from(data.clone()));
        let tung = per_message(count, || {
            for _ in 0..count {
                ws.send(message.clone()).unwrap();
            }
        });
        println!("| send binary | {} | {send:.3} | {tung:.3} |", label(size));
    }
}
