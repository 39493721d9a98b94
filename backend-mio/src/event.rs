//! What the callback receives: the browser's open / message / close / error, plus
//! pings and pongs. The core's vocabulary, with this crate's [`Error`] (which
//! also names socket failures).

use sockette_core::{Bytes, CloseInfo, Message, OpenInfo};

use crate::error::Error;

/// One thing that happened on a connection, delivered on the thread that drives it.
///
/// The order is always: `Open` (unless the opening failed), any number of
/// `Message`/`Ping`/`Pong`, then `Close`, exactly once and last. An `Error` about
/// the connection is followed by `Close` (code 1006 when the connection was lost);
/// an [`Error::NotSent`] only reports queued commands that could not be carried out.
#[derive(Debug)]
#[non_exhaustive]
pub enum Event {
    /// The opening handshake succeeded (WLanguage's `SocketOuverture`): messages
    /// queued earlier are on their way.
    Open(OpenInfo),
    /// A complete message arrived (`SocketMessage`).
    Message(Message),
    /// The peer sent a ping. While open, the pong is queued already (or, when the
    /// outgoing buffer is full, held until it drains: only the latest ping's);
    /// while closing, none is sent (see `sockette_core::Event::Ping`).
    Ping(Bytes),
    /// The peer sent a pong.
    Pong(Bytes),
    /// The connection is closed (`SocketFermeture`): `code`, `reason`, `was_clean`
    /// (true only after a completed close handshake).
    Close(CloseInfo),
    /// Something went wrong (`SocketErreur`).
    Error(Error),
}
