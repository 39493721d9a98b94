//! Invariant: `parse_close_payload` accepts exactly the payloads RFC 6455 §5.5.1
//! allows: empty (1005, no reason), or a code allowed on the wire (§7.4) followed
//! by valid UTF-8, which it returns unchanged; it rejects the rest. (It does not
//! bound the reason: the frame layer caps control payloads at 125 bytes, so a
//! received reason is at most 123.) The same payload in a close frame sent to an
//! open client ends it cleanly with that code and reason, or fails it.

use std::time::Instant;

use crate::drain;
use sockette_core::{parse_close_payload, ChaChaSource, ClientConfig, CloseCode, Event, Limits};
use sockette_testkit::{check_events, Raw};

/// Checks the invariant on one input (a failure panics): the fuzz target's whole
/// body, also replayed by `tests/regressions.rs` on saved inputs. Returns false,
/// having checked nothing, when the bytes are not an input of this target (too
/// short, or not decodable as its structured input), as the fuzzer skips them.
pub fn check(data: &[u8]) -> bool {
    let parsed = parse_close_payload(data);
    match (data, &parsed) {
        ([], Ok((code, reason))) => assert!(*code == CloseCode::NoStatus && reason.is_empty()),
        ([hi, lo, rest @ ..], Ok((code, reason))) => {
            assert_eq!(code.as_u16(), u16::from_be_bytes([*hi, *lo]));
            assert!(code.is_allowed_on_wire());
            assert_eq!(reason.as_bytes(), rest);
        }
        ([hi, lo, rest @ ..], Err(_)) => assert!(
            !CloseCode::from(u16::from_be_bytes([*hi, *lo])).is_allowed_on_wire()
                || std::str::from_utf8(rest).is_err()
        ),
        ([_], Err(_)) => {}
        _ => panic!("{data:?} gave {parsed:?}"),
    }
    if data.len() > 125 {
        return true;
    }
    let now = Instant::now();
    let config = ClientConfig::new("ws://a/")
        .unwrap()
        .random_source(ChaChaSource::from_seed(0));
    let raw = Raw::open_client_at(config, now);
    let mut check = check_events(&raw.history, &Limits::default());
    let mut client = raw.conn;
    let mut frame = vec![0x88, data.len() as u8];
    frame.extend_from_slice(data);
    client.handle_input(now, &frame);
    drain(&mut check, &mut client, &Limits::default());
    match (parsed, &check.events[1..]) {
        (Ok((code, reason)), [Event::Close(c)]) => {
            assert!(c.was_clean && c.code == code && c.reason == reason)
        }
        (Err(e), [Event::Error(_), Event::Close(c)]) => {
            assert!(!c.was_clean && c.code == e.close_code())
        }
        (parsed, events) => panic!("{parsed:?} but {events:?}"),
    }
    true
}
