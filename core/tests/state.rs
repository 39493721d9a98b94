//! A fatal error sticks: once the connection has failed, every later command
//! (`send_*`, `ping`, `pong`, `close`) returns the failure that ended it, inside
//! `CommandError::Closed`, typed; after a close it returns
//! `CommandError::Closed(None)`. Each other kind of refusal is reached here
//! too, and told apart by its type.

use sockette_testkit as support;

use std::time::Duration;

use sockette_core::{
    CloseCode, CommandError, Connection, Error, Event, InvalidInput, Limits, Message,
    ProtocolError, TimeoutKind,
};
use support::{client_config, frame, masked_frame, op, server_config, Raw, URL};

/// Every command on `conn`, each with its result.
fn every_command(
    conn: &mut Connection,
    raw_now: std::time::Instant,
) -> Vec<Result<(), CommandError>> {
    vec![
        conn.send_text("x"),
        conn.send_binary(b"x"),
        conn.send(&Message::Binary(b"x".to_vec().into())),
        conn.ping(b""),
        conn.ping_at(raw_now, b""),
        conn.pong(b""),
        conn.close(raw_now, CloseCode::Normal, ""),
    ]
}

/// The error the connection reported in its `Event::Error`.
fn reported_error(events: &[Event]) -> Error {
    events
        .iter()
        .find_map(|e| match e {
            Event::Error(error) => Some((**error).clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no error event in {events:?}"))
}

fn assert_every_command_returns(raw: &mut Raw, cause: Option<Error>) {
    let now = raw.now;
    let expected = Err(CommandError::Closed(cause.map(Box::new)));
    // Twice: the cause does not wear off.
    for _ in 0..2 {
        for result in every_command(&mut raw.conn, now) {
            assert_eq!(result, expected);
        }
    }
    assert!(
        raw.conn.poll_transmit().is_none(),
        "refused commands queue nothing"
    );
    assert!(raw.events().is_empty(), "no event after the close");
}

#[test]
fn after_a_protocol_error_from_the_peer_commands_return_that_error() {
    let mut raw = Raw::client();
    let events = raw.feed(&masked_frame(true, op::TEXT, b"Hello", [1, 2, 3, 4]));
    let error = Error::Protocol(ProtocolError::MaskedFrameFromServer);
    assert_eq!(reported_error(&events), error);
    assert!(raw.conn.is_closed());
    raw.take_output();
    assert_every_command_returns(&mut raw, Some(error));
}

#[test]
fn after_an_opening_timeout_commands_return_the_timeout() {
    let mut raw = Raw::connecting_client(client_config(URL));
    let events = raw.advance(Duration::from_secs(10));
    let error = Error::Timeout(TimeoutKind::Handshake);
    assert_eq!(reported_error(&events), error);
    raw.take_output();
    assert_every_command_returns(&mut raw, Some(error));
}

#[test]
fn after_a_keepalive_timeout_commands_return_the_timeout() {
    let config = client_config(URL).keepalive(Duration::from_secs(20), Duration::from_secs(5));
    let mut raw = Raw::open_client(config);
    assert!(raw.advance(Duration::from_secs(20)).is_empty());
    let events = raw.advance(Duration::from_secs(5));
    let error = Error::Timeout(TimeoutKind::Keepalive);
    assert_eq!(reported_error(&events), error);
    raw.take_output();
    assert_every_command_returns(&mut raw, Some(error));
}

#[test]
fn after_the_transport_ends_commands_return_the_lost_connection() {
    let mut raw = Raw::client();
    let events = raw.eof();
    let error = reported_error(&events);
    assert!(matches!(error, Error::ConnectionLost(_)), "{error:?}");
    raw.take_output();
    assert_every_command_returns(&mut raw, Some(error));
}

#[test]
fn after_a_clean_close_commands_return_closed_with_no_cause() {
    let mut raw = Raw::client();
    let events = raw.feed(&frame(true, op::CLOSE, &support::close_payload(1000, b"")));
    assert!(
        matches!(&events[..], [Event::Close(info)] if info.was_clean),
        "{events:?}"
    );
    raw.take_output();
    assert_every_command_returns(&mut raw, None);
}

#[test]
fn after_a_close_before_open_commands_return_closed_with_no_cause() {
    let mut raw = Raw::connecting_client(client_config(URL));
    raw.conn.close(raw.now, CloseCode::Normal, "").unwrap();
    assert!(raw.conn.is_closed());
    raw.events();
    raw.take_output();
    assert_every_command_returns(&mut raw, None);
}

#[test]
fn invalid_input_is_still_reported_as_such_after_a_failure() {
    // What is wrong with the command itself is said first.
    let mut raw = Raw::client();
    raw.eof();
    assert_eq!(
        raw.conn.ping(&[0; 126]),
        Err(CommandError::Invalid(InvalidInput::ControlPayloadTooLong {
            len: 126
        }))
    );
    assert_eq!(
        raw.conn.close(raw.now, CloseCode::Abnormal, ""),
        Err(CommandError::Invalid(InvalidInput::CloseCodeNotSendable {
            code: CloseCode::Abnormal
        }))
    );
}

#[test]
fn every_kind_of_command_error_is_reached_and_told_apart_by_type() {
    use std::error::Error as _;

    // The server role cannot hold a message before it accepts a request.
    let mut server = Connection::server(server_config(), std::time::Instant::now()).unwrap();
    assert_eq!(server.send_text("x"), Err(CommandError::Connecting));

    // A full outgoing buffer: the sizes are given, nothing is queued.
    let limits = Limits::default().max_buffered_output(100);
    let mut raw = Raw::open_client(client_config(URL).limits(limits));
    match raw.conn.send_binary(&[0; 200]) {
        Err(CommandError::OutputFull {
            buffered: 0,
            needed,
            limit: 100,
        }) => assert!(needed > 200, "{needed}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(raw.conn.buffered_amount(), 0);

    // Each argument that cannot be sent.
    let invalid = |result: Result<(), CommandError>| match result {
        Err(CommandError::Invalid(kind)) => kind,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        invalid(raw.conn.pong(&[0; 200])),
        InvalidInput::ControlPayloadTooLong { len: 200 }
    );
    assert_eq!(
        invalid(raw.conn.close(raw.now, CloseCode::Other(1004), "")),
        InvalidInput::CloseCodeNotSendable {
            code: CloseCode::Other(1004)
        }
    );
    assert_eq!(
        invalid(raw.conn.close(raw.now, CloseCode::NoStatus, "why")),
        InvalidInput::ReasonWithoutCode
    );
    assert_eq!(
        invalid(raw.conn.close(raw.now, CloseCode::Normal, &"é".repeat(62))),
        InvalidInput::CloseReasonTooLong { len: 124 }
    );

    // Closing, then closed by a failure: the cause is the source.
    raw.conn.close(raw.now, CloseCode::Normal, "").unwrap();
    assert_eq!(raw.conn.ping(b""), Err(CommandError::Closing));
    assert!(raw.conn.failure().is_none());
    let events = raw.advance(Duration::from_secs(60));
    let cause = reported_error(&events);
    assert_eq!(cause, Error::Timeout(TimeoutKind::CloseHandshake));
    assert_eq!(raw.conn.failure(), Some(&cause));
    let refusal = raw.conn.send_text("x").unwrap_err();
    assert_eq!(refusal.cause(), Some(&cause));
    assert!(refusal.is_closed());
    let source = refusal.source().and_then(|s| s.downcast_ref::<Error>());
    assert_eq!(source, Some(&cause));
}
