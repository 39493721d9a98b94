//! What the callback receives: the browser's open / message / close / error, plus
//! pings and pongs, in every sockette backend. The same vocabulary as the
//! core's, with this crate's [`Error`] (which names connect steps and socket
//! failures).

use sockette_core::{Bytes, CloseInfo, Message, OpenInfo};

use crate::error::Error;

/// One thing that happened on a connection, delivered on the thread that
/// drives it (sockette-std's owner thread, sockette-mio's loop thread).
///
/// The order is always: `Open` (unless the opening failed), any number of
/// `Message`/`Ping`/`Pong`, then `Close`, exactly once and last. An `Error` is
/// always followed by `Close` (code 1006 when the connection was lost); an
/// [`Error::NotSent`] comes just before it.
#[derive(Debug)]
#[non_exhaustive]
pub enum Event {
    /// The opening handshake succeeded (WLanguage's `SocketOuverture`): messages
    /// may be sent, and those queued earlier are on their way (unless `close` was
    /// called before: its close frame follows them, and the state is `Closing`).
    Open(OpenInfo),
    /// A complete message arrived (`SocketMessage`).
    Message(Message),
    /// The peer sent a ping. While open, the pong is queued already (or, when the
    /// outgoing buffer is full, held until it drains: only the latest ping's);
    /// while closing, none is sent (see `sockette_core::Event::Ping`).
    Ping(Bytes),
    /// The peer sent a pong.
    Pong(Bytes),
    /// The connection is closed (`SocketFermeture`) and its socket shut down:
    /// `code`, `reason`, `was_clean` (true only after a completed close handshake).
    Close(CloseInfo),
    /// Something went wrong (`SocketErreur`); a `Close` follows.
    Error(Error),
}
