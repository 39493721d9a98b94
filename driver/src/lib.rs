//! # sockette-driver
//!
//! What every sockette backend shares, written once so the backends cannot
//! drift apart: [`Session`], the driver of one connection over a
//! non-blocking socket in a `mio::Poll` (the name lookup, RFC 8305 attempts,
//! reads, writes, timers, the close and linger; the backend tells it of
//! readiness, wake-ups and deadlines and pulls its events), the [`Event`]
//! and [`Error`] the user sees (a failed opening
//! names its step, its target and its cause the same way everywhere:
//! [`core_failure`], [`socket_failure`]), and the cross-thread [`Sender`] with
//! the [`SenderQueue`] the thread driving the connection applies it from, with
//! one policy:
//!
//! - a command is checked at once, by the core's own checks (ping and pong
//!   payloads, close codes and reasons) and against
//!   [`Limits::max_buffered_output`](sockette_core::Limits): what the sender
//!   queued plus what the connection holds, each command counted by the
//!   core's [`SendCost`](sockette_core::SendCost). A refusal is a typed
//!   [`CommandError`](sockette_core::CommandError) saying how much is buffered
//!   and the limit, and queues nothing; a message that can never fit is
//!   refused when it is sent, never parked;
//! - accepted commands are applied in order; one the connection cannot take
//!   yet (its output is full) waits at the head until the output drains;
//! - after a close is queued, or once the connection is closing or over, every
//!   command is refused with the connection's own answer; what was accepted
//!   and never applied is counted by [`SenderQueue::sync`] and
//!   [`SenderQueue::end`] for the backend to report, never dropped silently.
//!
//! A backend implements [`Wake`] (how a sender wakes its thread) and calls
//! [`SenderQueue::apply`] when woken and whenever its output drained.
//!
//! [`ProxyChoice`] says which proxy a connection goes through; by default the
//! environment's (`wss_proxy`, `https_proxy`, `all_proxy`, `no_proxy`, … as
//! curl reads them), a bad value a [`ProxyEnvError`] naming its variable.

mod attempts;
mod close;
mod config_files;
mod connecting;
mod error;
mod event;
#[cfg(feature = "platform-verifier")]
mod platform_verifier;
mod proxy_env;
mod resolve;
mod sender;
mod session;
mod socket_options;
mod stream;
mod wake;

pub use attempts::Attempts;
pub use close::{explain_close, LINGER};
pub use config_files::{read_file, ClientConfigFiles};
pub use connecting::ATTEMPT_DELAY;
pub use error::{
    core_failure, failed_step, socket_failure, target_of, ConfigFile, ConfigFileError,
    ConnectCause, ConnectError, ConnectStep, Error,
};
pub use event::Event;
#[cfg(feature = "platform-verifier")]
pub use platform_verifier::platform_verifier;
pub use proxy_env::{with_environment_proxy, ProxyChoice, ProxyEnvError};
pub use resolve::lookup;
pub use sender::{Sender, SenderQueue, Wake};
pub use session::Session;
pub use socket_options::{SocketOptions, Transport};
pub use stream::Stream;
pub use wake::{LoopWake, ReadyList};
