//! In-memory codec benchmarks, sockette next to tungstenite 0.30 and
//! nexus-web 0.8 on the same bytes in the same run:
//! 1. receive: unmasked server frames → messages (binary, and text with UTF-8
//!    validation), through owned events and through the borrowed path;
//! 2. send: client frames encoded and masked, next to a plain memcpy;
//! 3. UTF-8 validation alone.
//!
//! `cargo bench -p sockette-core --bench codec`; a ratio table is printed at the end.

mod support;

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput};
use sockette_core::frame::OpCode;
use sockette_core::utf8::Utf8Validator;
use sockette_core::{Bytes, Event, EventRef};

use support::record::{human, rate, ratio, record, show};
use support::*;

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Binary,
    Text,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Binary => "binary",
            Kind::Text => "text",
        }
    }
}

fn payload(kind: Kind, size: usize) -> Vec<u8> {
    match kind {
        Kind::Binary => binary_payload(size),
        Kind::Text => text_payload(size),
    }
}

fn recv(c: &mut Criterion) {
    for kind in [Kind::Binary, Kind::Text] {
        let mut group = c.benchmark_group(format!("recv_{}", kind.name()));
        for size in SIZES {
            let count = batch_len(size);
            let opcode = if kind == Kind::Text {
                OpCode::Text
            } else {
                OpCode::Binary
            };
            let wire = server_frames(opcode, &payload(kind, size), count);
            group.throughput(Throughput::Elements(count as u64));
            let key = |who: &str| format!("recv/{}/{}/{who}", kind.name(), label(size));

            let id = key("sockette");
            group.bench_function(BenchmarkId::new("sockette", label(size)), |b| {
                let mut conn = open_client();
                b.iter_custom(|iters| {
                    let start = Instant::now();
                    for _ in 0..iters {
                        conn.handle_input(start, &wire);
                        for _ in 0..count {
                            match conn.poll_event() {
                                Some(Event::Message(m)) => {
                                    black_box(m.len());
                                }
                                other => panic!("{other:?}"),
                            }
                        }
                    }
                    let elapsed = start.elapsed();
                    record(&id, elapsed, iters * count as u64);
                    elapsed
                })
            });

            let id = key("sockette_ref");
            group.bench_function(BenchmarkId::new("sockette_ref", label(size)), |b| {
                let mut conn = open_client();
                b.iter_custom(|iters| {
                    let start = Instant::now();
                    for _ in 0..iters {
                        conn.handle_input(start, &wire);
                        for _ in 0..count {
                            match conn.poll_event_ref() {
                                Some(EventRef::Binary(m)) => {
                                    black_box(m.len());
                                }
                                Some(EventRef::Text(m)) => {
                                    black_box(m.len());
                                }
                                other => panic!("{other:?}"),
                            }
                        }
                    }
                    let elapsed = start.elapsed();
                    record(&id, elapsed, iters * count as u64);
                    elapsed
                })
            });

            let id = key("tungstenite");
            group.bench_function(BenchmarkId::new("tungstenite", label(size)), |b| {
                let mut ws = tungstenite_client(wire.clone());
                b.iter_custom(|iters| {
                    let start = Instant::now();
                    for _ in 0..iters {
                        ws.get_mut().pos = 0;
                        for _ in 0..count {
                            match ws.read().unwrap() {
                                tungstenite::Message::Binary(m) => {
                                    black_box(m.len());
                                }
                                tungstenite::Message::Text(m) => {
                                    black_box(m.len());
                                }
                                other => panic!("{other:?}"),
                            }
                        }
                    }
                    let elapsed = start.elapsed();
                    record(&id, elapsed, iters * count as u64);
                    elapsed
                })
            });

            let id = key("nexus");
            group.bench_function(BenchmarkId::new("nexus-web", label(size)), |b| {
                let mut reader = nexus_web::ws::FrameReader::builder()
                    .role(nexus_web::ws::Role::Client)
                    .buffer_capacity(4 << 20)
                    .max_frame_size(16 << 20)
                    .max_message_size(64 << 20)
                    .build();
                b.iter_custom(|iters| {
                    let start = Instant::now();
                    for _ in 0..iters {
                        reader.read(&wire).unwrap();
                        for _ in 0..count {
                            match reader.next().unwrap() {
                                Some(nexus_web::ws::Message::Binary(m)) => {
                                    black_box(m.len());
                                }
                                Some(nexus_web::ws::Message::Text(m)) => {
                                    black_box(m.len());
                                }
                                other => panic!("{other:?}"),
                            }
                        }
                    }
                    let elapsed = start.elapsed();
                    record(&id, elapsed, iters * count as u64);
                    elapsed
                })
            });
        }
        group.finish();
    }
}

fn send(c: &mut Criterion) {
    let mut group = c.benchmark_group("send_binary");
    for size in SIZES {
        let data = binary_payload(size);
        let count = batch_len(size) as u64;
        group.throughput(Throughput::Bytes(size as u64 * count));
        let key = |who: &str| format!("send/{}/{who}", label(size));

        let id = key("sockette");
        group.bench_function(BenchmarkId::new("sockette", label(size)), |b| {
            let mut conn = open_client();
            b.iter_custom(|iters| {
                let start = Instant::now();
                for _ in 0..iters * count {
                    conn.send_binary(&data).unwrap();
                    while let Some(out) = conn.poll_transmit() {
                        let n = black_box(out.len());
                        conn.advance_transmit(n);
                    }
                }
                let elapsed = start.elapsed();
                record(&id, elapsed, iters * count * size as u64);
                elapsed
            })
        });

        let id = key("tungstenite");
        group.bench_function(BenchmarkId::new("tungstenite", label(size)), |b| {
            let mut ws = tungstenite_client(Vec::new());
            // Built once: tungstenite takes its payload by value, cloning Bytes is
            // a reference count, not a copy.
            let message = tungstenite::Message::Binary(Bytes::copy_from_slice(&data));
            b.iter_custom(|iters| {
                let start = Instant::now();
                for _ in 0..iters * count {
                    ws.send(message.clone()).unwrap();
                }
                black_box(ws.get_mut().written);
                let elapsed = start.elapsed();
                record(&id, elapsed, iters * count * size as u64);
                elapsed
            })
        });

        let id = key("memcpy");
        group.bench_function(BenchmarkId::new("memcpy", label(size)), |b| {
            let mut dst = vec![0u8; size + 14];
            b.iter_custom(|iters| {
                let start = Instant::now();
                for _ in 0..iters * count {
                    dst[14..].copy_from_slice(black_box(&data));
                    black_box(&mut dst);
                }
                let elapsed = start.elapsed();
                record(&id, elapsed, iters * count * size as u64);
                elapsed
            })
        });
    }
    group.finish();
}

fn utf8(c: &mut Criterion) {
    let mut group = c.benchmark_group("utf8_1MiB");
    // The text the receive benches carry (a non-ASCII character every ~30 bytes),
    // and ASCII JSON with one non-ASCII character per ~1 KiB.
    let dense = text_payload(1 << 20);
    let mut ascii = Vec::with_capacity((1 << 20) + 64);
    while ascii.len() < 1 << 20 {
        for i in 0..14 {
            ascii.extend_from_slice(
                format!("{{\"id\":{i},\"price\":1.25,\"ok\":true}},").as_bytes(),
            );
        }
        ascii.extend_from_slice("\"€\",".as_bytes());
    }
    ascii.truncate(1 << 20);
    assert!(
        std::str::from_utf8(&ascii).is_ok(),
        "the cut falls between characters"
    );
    group.throughput(Throughput::Bytes(dense.len() as u64));
    type Validate = fn(&[u8]) -> bool;
    let cases: [(&str, Validate); 2] = [
        ("sockette", |t| {
            let mut v = Utf8Validator::new();
            v.feed(t).is_ok() && v.finish().is_ok()
        }),
        ("std", |t| std::str::from_utf8(t).is_ok()),
    ];
    for (corpus, text) in [("dense", &dense), ("ascii", &ascii)] {
        for (name, validate) in cases {
            let id = format!("utf8/{corpus}/{name}");
            group.bench_function(format!("{name}/{corpus}"), |b| {
                b.iter_custom(|iters| {
                    let start = Instant::now();
                    for _ in 0..iters {
                        assert!(validate(black_box(text)));
                    }
                    let elapsed = start.elapsed();
                    record(&id, elapsed, iters * text.len() as u64);
                    elapsed
                })
            });
        }
    }
    group.finish();
}

fn summary() {
    println!("\n== sockette vs tungstenite vs nexus-web, same run ==");
    println!(
        "| receive | size | sockette (owned) | sockette (borrowed) | tungstenite | nexus-web | owned/tung | borrowed/nexus |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for kind in ["binary", "text"] {
        for size in SIZES {
            let get = |who: &str| rate(&format!("recv/{kind}/{}/{who}", label(size)));
            let cell = |who: &str| {
                get(who).map_or("-".into(), |r| {
                    format!("{} ({})", human(r, "msg"), human(r * size as f64, "B"))
                })
            };
            println!(
                "| {kind} | {} | {} | {} | {} | {} | {} | {} |",
                label(size),
                cell("sockette"),
                cell("sockette_ref"),
                cell("tungstenite"),
                cell("nexus"),
                ratio(get("sockette"), get("tungstenite")),
                ratio(get("sockette_ref"), get("nexus")),
            );
        }
    }
    println!("\n| send binary | sockette | tungstenite | memcpy | sockette/tung | sockette/memcpy | tung/memcpy |");
    println!("|---|---|---|---|---|---|---|");
    for size in SIZES {
        let get = |who: &str| rate(&format!("send/{}/{who}", label(size)));
        println!(
            "| {} | {} ({}) | {} | {} | {} | {} | {} |",
            label(size),
            show(get("sockette"), "B"),
            show(get("sockette").map(|r| r / size as f64), "msg"),
            show(get("tungstenite"), "B"),
            show(get("memcpy"), "B"),
            ratio(get("sockette"), get("tungstenite")),
            ratio(get("sockette"), get("memcpy")),
            ratio(get("tungstenite"), get("memcpy")),
        );
    }
    println!("\n| UTF-8 1 MiB | sockette validator | std::str::from_utf8 | ratio |");
    println!("|---|---|---|---|");
    for corpus in ["dense", "ascii"] {
        let s = rate(&format!("utf8/{corpus}/sockette"));
        let std = rate(&format!("utf8/{corpus}/std"));
        println!(
            "| {corpus} | {} | {} | {} |",
            show(s, "B"),
            show(std, "B"),
            ratio(s, std)
        );
    }
}

fn main() {
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_millis(800))
        .sample_size(10)
        .configure_from_args();
    recv(&mut c);
    send(&mut c);
    utf8(&mut c);
    c.final_summary();
    summary();
}
