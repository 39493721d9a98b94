//! `OpenInfo` carries the opening handshake's HTTP heads, as each side sent and
//! received them (what the CLI's `-v` prints).

use sockette_testkit as support;

use sockette_core::Event;
use support::*;

#[test]
fn both_ends_see_the_same_request_and_response_heads() {
    let mut pair = Pair::with_configs(
        client_config(URL).protocol("chat.v1"),
        server_config().protocol("chat.v1"),
        Chunking::Whole,
    );
    pair.drive();
    let open = |events: Vec<Event>| match events.as_slice() {
        [Event::Open(info)] => info.clone(),
        other => panic!("{other:?}"),
    };
    let client = open(pair.take_client_events());
    let server = open(pair.take_server_events());

    // Exactly the bytes that crossed the wire, each head ending with its blank line.
    let client_sent = String::from_utf8(pair.client_sent.clone()).unwrap();
    let server_sent = String::from_utf8(pair.server_sent.clone()).unwrap();
    assert_eq!(client.request_head, client_sent);
    assert_eq!(server.request_head, client_sent);
    assert_eq!(client.response_head, server_sent);
    assert_eq!(server.response_head, server_sent);
    assert!(client.request_head.starts_with("GET /chat HTTP/1.1\r\n"));
    assert!(client
        .request_head
        .contains("\r\nSec-WebSocket-Protocol: chat.v1\r\n"));
    assert!(client
        .response_head
        .starts_with("HTTP/1.1 101 Switching Protocols\r\n"));
    assert!(client.response_head.ends_with("\r\n\r\n"));
}

#[test]
fn frames_right_after_the_response_are_not_part_of_its_head() {
    let mut raw = Raw::connecting_client(client_config(URL));
    let response = response_101(&raw.request, "");
    let mut bytes = response.clone().into_bytes();
    bytes.extend(frame(true, 0x1, b"early"));
    let events = raw.feed(&bytes);
    match &events[0] {
        Event::Open(info) => {
            assert_eq!(info.response_head, response);
            assert_eq!(info.request_head, raw.request);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(events.len(), 2);
}
