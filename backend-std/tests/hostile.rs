//! Misuse and hostile peers: timeouts too long to be represented, helper
//! threads, defaults that protect the user.

mod support;

use std::time::Duration;

use sockette_std::{Client, CloseCode, Event, Message};
use support::{bounded, echo_server};

/// A timeout longer than an `Instant` can reach (`now + Duration::MAX`
/// overflows) means "no deadline", for every API that takes one; it used to
/// panic with "overflow when adding duration to instant".
#[test]
fn huge_timeouts_mean_no_deadline_instead_of_a_panic() {
    bounded(20, || {
        let (server, _events) = echo_server();
        let mut client = Client::builder(&server.url("/"))
            .connect_timeout(Duration::MAX)
            .close_timeout(Duration::MAX)
            .keepalive(Duration::MAX, Duration::MAX)
            .connect()
            .unwrap();

        assert!(matches!(
            client.next_event(Some(Duration::MAX)),
            Ok(Some(Event::Open(_)))
        ));
        client.send_text("one").unwrap();
        assert_eq!(
            client.recv_timeout(Duration::MAX).unwrap(),
            Some(Message::Text("one".into()))
        );
        client.send_text("two").unwrap();
        let mut seen = Vec::new();
        while seen.is_empty() {
            client
                .dispatch(Duration::MAX, |_, event| seen.push(event))
                .unwrap();
        }
        assert!(
            matches!(&seen[..], [Event::Message(Message::Text(t))] if t.as_str() == "two"),
            "{seen:?}"
        );

        client.close(CloseCode::Normal, "").unwrap();
        let info = client.run(|_, _| {}).unwrap();
        assert!(info.was_clean, "{info:?}");
    });
}
