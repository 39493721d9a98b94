//! The errors are the ones every backend shares (`sockette-driver`): a failed
//! opening names the step (DNS, TCP, TLS, HTTP upgrade), the target and the
//! cause; after the opening, errors come from the WebSocket layer or the
//! socket; a configuration file names itself.

pub use sockette_driver::{
    ConfigFile, ConfigFileError, ConnectCause, ConnectError, ConnectStep, Error,
};
