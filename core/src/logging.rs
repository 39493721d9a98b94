//! Log records behind the optional `log` feature: each call site is one line,
//! and without the feature it compiles to nothing (its arguments are not even
//! evaluated). Levels: `debug` for the steps of a healthy connection (TLS and
//! WebSocket handshakes, the close), `trace` for detail, `warn` for a
//! connection that failed. Nothing above `debug` on the happy path.

/// A `debug` record (the steps of a healthy connection).
macro_rules! debug {
    ($($arg:tt)+) => {
        #[cfg(feature = "log")]
        ::log::debug!($($arg)+);
    };
}

/// A `warn` record (the connection failed).
macro_rules! warning {
    ($($arg:tt)+) => {
        #[cfg(feature = "log")]
        ::log::warn!($($arg)+);
    };
}

pub(crate) use {debug, warning};
