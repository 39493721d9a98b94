//! The per-message types stay small: every `poll_event` moves an `Event` and
//! every `poll_event_ref` an `Option<EventRef>`, and a large one becomes a
//! `memcpy` call per message (at 144 bytes, with `OpenInfo` and `Error`
//! inline, it was a third of the borrowed path's time at 16 B messages).
//! The bounds are on 64-bit targets, where the benchmarks run.

use std::mem::size_of;

use sockette_core::payload::INLINE_CAPACITY;
use sockette_core::{Event, EventRef, Message, Payload};

/// A `Bytes` is four words; the per-message types may be one word more.
const BYTES: usize = 4 * size_of::<usize>();

#[test]
#[cfg(target_pointer_width = "64")]
fn a_payload_holds_its_inline_bytes_in_the_room_of_a_shared_one() {
    assert!(size_of::<Payload>() <= BYTES + size_of::<usize>());
    // The inline form uses the room the shared form needs anyway.
    assert!(INLINE_CAPACITY + 2 <= size_of::<Payload>());
}

#[test]
#[cfg(target_pointer_width = "64")]
fn events_and_messages_are_a_few_words() {
    let bound = BYTES + 2 * size_of::<usize>();
    assert!(
        size_of::<Message>() <= bound,
        "Message is {}",
        size_of::<Message>()
    );
    assert!(
        size_of::<Event>() <= bound,
        "Event is {}",
        size_of::<Event>()
    );
    assert!(
        size_of::<Option<EventRef<'_>>>() <= bound,
        "Option<EventRef> is {}",
        size_of::<Option<EventRef<'_>>>()
    );
}
