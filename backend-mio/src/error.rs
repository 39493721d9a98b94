//! The errors are the ones every backend shares (`sockette-driver`): a failed
//! opening names the step (DNS, TCP, TLS, HTTP upgrade), the target and the
//! cause; after the opening, errors come from the WebSocket layer or the
//! socket; a configuration file names itself. Commands on a connection, and on
//! a [`Sender`](crate::Sender), are refused with the core's
//! [`CommandError`](sockette_core::CommandError).

pub use sockette_driver::{
    ConfigFile, ConfigFileError, ConnectCause, ConnectError, ConnectStep, Error,
};
