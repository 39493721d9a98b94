//! [`Sender`] is the one every backend shares (`sockette-driver`: checks, the
//! bound, the order, the close and the end are there); it wakes the owner
//! thread through the `mio::Waker` of the connection's own `Poll`.

pub use sockette_driver::Sender;
