//! The events are the ones every backend shares (`sockette-driver`).

pub use sockette_driver::Event;
