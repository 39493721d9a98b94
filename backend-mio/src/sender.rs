//! [`Sender`] is the one every backend shares (`sockette-driver`: checks, the
//! bound, the order, the close and the end are there); it wakes the loop
//! through the `Poll`'s `mio::Waker` (`sockette_driver::LoopWake`), after
//! noting which connection has commands so that an
//! [`EventLoop`](crate::EventLoop) visits only those.

pub use sockette_driver::Sender;
