//! [`Attempts`]: the TCP connection attempts of an opening, so that its error
//! names every address tried and why each one failed, the same way in every
//! backend.

use std::io;
use std::net::SocketAddr;

/// The addresses an opening tried, each with its failure.
///
/// ```
/// use sockette_driver::Attempts;
/// use std::io;
///
/// let mut attempts = Attempts::default();
/// let refused = io::Error::from(io::ErrorKind::ConnectionRefused);
/// attempts.failed("[::1]:9001".parse()?, &refused);
/// attempts.not_tried("127.0.0.1:9001".parse()?);
/// let error = attempts.into_error();
/// assert_eq!(error.kind(), io::ErrorKind::ConnectionRefused);
/// assert!(error.to_string().starts_with("[::1]:9001: "));
/// assert!(error.to_string().ends_with("127.0.0.1:9001: not tried, the deadline passed"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Default)]
pub struct Attempts {
    failures: Vec<String>,
    kind: Option<io::ErrorKind>,
}

impl Attempts {
    /// The attempt on `addr` failed with `error`.
    pub fn failed(&mut self, addr: SocketAddr, error: &io::Error) {
        self.kind = Some(error.kind());
        self.failures.push(format!("{addr}: {error}"));
    }

    /// The opening's deadline passed before `addr` was tried.
    pub fn not_tried(&mut self, addr: SocketAddr) {
        self.failures
            .push(format!("{addr}: not tried, the deadline passed"));
    }

    /// The attempt on `addr` had no answer when the opening's deadline passed.
    pub fn no_answer(&mut self, addr: SocketAddr) {
        self.kind = Some(io::ErrorKind::TimedOut);
        self.failures
            .push(format!("{addr}: no answer before the deadline"));
    }

    /// One error for them all: of the kind of the last failure (timed out if
    /// none failed on its own), saying `address: why` for each, in order.
    pub fn into_error(self) -> io::Error {
        io::Error::new(
            self.kind.unwrap_or(io::ErrorKind::TimedOut),
            self.failures.join("; "),
        )
    }
}
