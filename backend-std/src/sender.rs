//! [`Sender`] is the one every backend shares (`sockette-driver`: checks, the
//! bound, the order, the close and the end are there); this crate supplies how
//! it wakes the owner thread: a message on the owner's channel.

use std::io;
use std::sync::mpsc::SyncSender;

pub use sockette_driver::Sender;
pub(crate) use sockette_driver::SenderQueue;
use sockette_driver::Wake;

use crate::io::Input;

/// Wakes the owner thread through its input channel.
pub(crate) struct ChannelWake(pub(crate) SyncSender<Input>);

impl Wake for ChannelWake {
    fn wake(&self) -> io::Result<()> {
        // Full: the owner has input waiting and looks at the queue after it.
        // Disconnected: the owner is finishing and refuses the queue itself
        // (what it holds then is counted in its `NotSent` report).
        let _ = self.0.try_send(Input::Wake);
        Ok(())
    }
}
