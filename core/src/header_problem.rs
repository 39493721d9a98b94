//! What is wrong with one header of the opening handshake: the kinds inside
//! [`HandshakeError::BadHeader`](crate::HandshakeError::BadHeader) and, for the
//! permessage-deflate negotiation, [`HandshakeError::Deflate`](crate::HandshakeError::Deflate).
//! Each kind is matchable; what the peer sent (a value, a parameter name) stays
//! in a field, and `Display` writes the sentence a person reads.

use std::fmt;

/// Why a handshake header was refused (its name is beside it, in
/// [`HandshakeError::BadHeader`](crate::HandshakeError::BadHeader)).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HeaderProblem {
    /// The header is required and absent.
    Missing,
    /// The header may appear at most once and appears more often.
    Repeated,
    /// The header's comma-separated list lacks the token it must hold
    /// (`Upgrade: websocket`, `Connection: upgrade`).
    WrongToken {
        /// The header's (first) value, as sent.
        found: String,
        /// The token it must hold, compared case-insensitively.
        expected: &'static str,
    },
    /// `Sec-WebSocket-Version` is not 13, the only version of RFC 6455 (the
    /// server answers 426 Upgrade Required).
    UnsupportedVersion {
        /// The version, as sent (surrounding whitespace removed).
        found: String,
    },
    /// `Sec-WebSocket-Key` is not 16 bytes encoded in base64 (RFC 6455 §4.1).
    InvalidKey {
        /// The key, as sent (surrounding whitespace removed).
        found: String,
    },
}

impl fmt::Display for HeaderProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeaderProblem::Missing => f.write_str("missing"),
            HeaderProblem::Repeated => f.write_str("appears more than once"),
            HeaderProblem::WrongToken { found, expected } => {
                write!(f, "is {found:?}, expected {expected:?}")
            }
            HeaderProblem::UnsupportedVersion { found } => {
                write!(f, "is {found:?}, must be 13")
            }
            HeaderProblem::InvalidKey { found } => {
                write!(f, "is {found:?}, not 16 base64-encoded bytes")
            }
        }
    }
}

impl std::error::Error for HeaderProblem {}

/// Why a permessage-deflate negotiation (RFC 7692 §7.1) in
/// `Sec-WebSocket-Extensions` was refused: a server's answer, read by the client
/// role, or the agreement handed to
/// [`UpgradedConfig::deflate_agreed`](crate::UpgradedConfig::deflate_agreed).
/// The server role declines a client's malformed offer for the same reasons,
/// without failing.
///
/// Parameter names and values are as sent: names keep their case, values their
/// quotes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DeflateProblem {
    /// A parameter appears twice in one element (names compare case-insensitively).
    RepeatedParameter {
        /// The second occurrence's name.
        name: String,
    },
    /// A `*_no_context_takeover` parameter carries a value; it takes none.
    ValueNotAllowed {
        /// The parameter's name.
        name: String,
        /// The value it carried.
        value: String,
    },
    /// `server_max_window_bits` without a value; it needs one.
    ValueRequired {
        /// The parameter's name.
        name: String,
    },
    /// `client_max_window_bits` without a value in an answer: only an offer
    /// may leave it out (§7.1.2.2).
    ValueRequiredInAnswer {
        /// The parameter's name.
        name: String,
    },
    /// A parameter RFC 7692 does not define.
    UnknownParameter {
        /// The parameter's name.
        name: String,
        /// Its value, if it had one.
        value: Option<String>,
    },
    /// A window size that is not a decimal in 8..=15 without sign or leading
    /// zero (§7.1.2), plain or in quotes.
    InvalidWindowBits {
        /// The parameter's name.
        name: String,
        /// The value, as sent.
        value: String,
    },
    /// A quoted window size whose quotes do not balance (RFC 7230 §3.2.6).
    UnbalancedQuote {
        /// The parameter's name.
        name: String,
        /// The value, as sent.
        value: String,
    },
    /// The answer holds more than one permessage-deflate element.
    AcceptedTwice,
    /// The answer's `server_max_window_bits` exceeds the one the offer asked for.
    ServerWindowTooLarge {
        /// The window (log2) in the answer.
        bits: u8,
        /// The window (log2) the offer asked for.
        requested: u8,
    },
    /// The offer asked for a parameter the answer did not grant (§7.1.1.1,
    /// §7.1.2.1).
    NotGranted {
        /// The parameter: `server_no_context_takeover` or `server_max_window_bits`.
        name: &'static str,
    },
    /// The agreed extensions hold no permessage-deflate element.
    NotAgreed,
    /// The agreed extensions hold more than one element; permessage-deflate is
    /// the only extension supported.
    MoreThanOneExtension,
}

impl fmt::Display for DeflateProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeflateProblem::RepeatedParameter { name } => {
                write!(f, "parameter {name} appears twice")
            }
            DeflateProblem::ValueNotAllowed { name, value } => {
                write!(f, "{name} takes no value, got {name}={value}")
            }
            DeflateProblem::ValueRequired { name } => write!(f, "{name} needs a value"),
            DeflateProblem::ValueRequiredInAnswer { name } => {
                write!(f, "{name} needs a value in an answer")
            }
            DeflateProblem::UnknownParameter { name, value: None } => {
                write!(f, "unknown permessage-deflate parameter {name}")
            }
            DeflateProblem::UnknownParameter {
                name,
                value: Some(value),
            } => write!(f, "unknown permessage-deflate parameter {name}={value}"),
            DeflateProblem::InvalidWindowBits { name, value } => write!(
                f,
                "{name}={value} is not a window size in 8..=15 \
                 (a decimal number without sign or leading zero)"
            ),
            DeflateProblem::UnbalancedQuote { name, value } => {
                write!(f, "{name}={value} has an unbalanced quote")
            }
            DeflateProblem::AcceptedTwice => {
                f.write_str("permessage-deflate accepted more than once")
            }
            DeflateProblem::ServerWindowTooLarge { bits, requested } => write!(
                f,
                "server_max_window_bits={bits} exceeds the {requested} requested"
            ),
            DeflateProblem::NotGranted { name } => {
                write!(f, "{name} was requested but not granted")
            }
            DeflateProblem::NotAgreed => {
                f.write_str("no permessage-deflate in the agreed extensions")
            }
            DeflateProblem::MoreThanOneExtension => f.write_str(
                "more than one extension agreed; permessage-deflate is the only one supported",
            ),
        }
    }
}

impl std::error::Error for DeflateProblem {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::HandshakeError;

    fn s(text: &str) -> String {
        text.to_string()
    }

    /// The sentences a person reads (the CLI prints them, the server role sends
    /// them in its 400 answer) read as they did when the problem was a string.
    #[test]
    fn each_kind_reads_as_a_sentence_naming_what_was_sent() {
        let header = |name, problem| HandshakeError::BadHeader { name, problem }.to_string();
        let deflate = |problem| HandshakeError::Deflate(problem).to_string();
        let cases = [
            (
                header("Host", HeaderProblem::Missing),
                "header Host: missing",
            ),
            (
                header("Sec-WebSocket-Accept", HeaderProblem::Repeated),
                "header Sec-WebSocket-Accept: appears more than once",
            ),
            (
                header(
                    "Upgrade",
                    HeaderProblem::WrongToken {
                        found: s("h2c"),
                        expected: "websocket",
                    },
                ),
                "header Upgrade: is \"h2c\", expected \"websocket\"",
            ),
            (
                header(
                    "Sec-WebSocket-Version",
                    HeaderProblem::UnsupportedVersion { found: s("8") },
                ),
                "header Sec-WebSocket-Version: is \"8\", must be 13",
            ),
            (
                header(
                    "Sec-WebSocket-Key",
                    HeaderProblem::InvalidKey {
                        found: s("c2hvcnQ="),
                    },
                ),
                "header Sec-WebSocket-Key: is \"c2hvcnQ=\", not 16 base64-encoded bytes",
            ),
            (
                deflate(DeflateProblem::RepeatedParameter {
                    name: s("Server_No_Context_Takeover"),
                }),
                "header Sec-WebSocket-Extensions: parameter Server_No_Context_Takeover appears twice",
            ),
            (
                deflate(DeflateProblem::ValueNotAllowed {
                    name: s("server_no_context_takeover"),
                    value: s("1"),
                }),
                "header Sec-WebSocket-Extensions: server_no_context_takeover takes no value, \
                 got server_no_context_takeover=1",
            ),
            (
                deflate(DeflateProblem::ValueRequired {
                    name: s("server_max_window_bits"),
                }),
                "header Sec-WebSocket-Extensions: server_max_window_bits needs a value",
            ),
            (
                deflate(DeflateProblem::ValueRequiredInAnswer {
                    name: s("client_max_window_bits"),
                }),
                "header Sec-WebSocket-Extensions: client_max_window_bits needs a value in an answer",
            ),
            (
                deflate(DeflateProblem::UnknownParameter {
                    name: s("foo"),
                    value: None,
                }),
                "header Sec-WebSocket-Extensions: unknown permessage-deflate parameter foo",
            ),
            (
                deflate(DeflateProblem::UnknownParameter {
                    name: s("x"),
                    value: Some(s("10")),
                }),
                "header Sec-WebSocket-Extensions: unknown permessage-deflate parameter x=10",
            ),
            (
                deflate(DeflateProblem::InvalidWindowBits {
                    name: s("server_max_window_bits"),
                    value: s("+15"),
                }),
                "header Sec-WebSocket-Extensions: server_max_window_bits=+15 is not a window \
                 size in 8..=15 (a decimal number without sign or leading zero)",
            ),
            (
                deflate(DeflateProblem::UnbalancedQuote {
                    name: s("client_max_window_bits"),
                    value: s("\"9"),
                }),
                "header Sec-WebSocket-Extensions: client_max_window_bits=\"9 has an unbalanced quote",
            ),
            (
                deflate(DeflateProblem::AcceptedTwice),
                "header Sec-WebSocket-Extensions: permessage-deflate accepted more than once",
            ),
            (
                deflate(DeflateProblem::ServerWindowTooLarge {
                    bits: 11,
                    requested: 10,
                }),
                "header Sec-WebSocket-Extensions: server_max_window_bits=11 exceeds the 10 requested",
            ),
            (
                deflate(DeflateProblem::NotGranted {
                    name: "server_no_context_takeover",
                }),
                "header Sec-WebSocket-Extensions: server_no_context_takeover was requested but \
                 not granted",
            ),
            (
                deflate(DeflateProblem::NotAgreed),
                "header Sec-WebSocket-Extensions: no permessage-deflate in the agreed extensions",
            ),
            (
                deflate(DeflateProblem::MoreThanOneExtension),
                "header Sec-WebSocket-Extensions: more than one extension agreed; \
                 permessage-deflate is the only one supported",
            ),
        ];
        for (written, expected) in cases {
            assert_eq!(written, expected);
        }
    }

    #[test]
    fn the_source_of_a_header_error_is_its_kind() {
        use std::error::Error as _;
        let bad = HandshakeError::BadHeader {
            name: "Host",
            problem: HeaderProblem::Missing,
        };
        let source = bad.source().and_then(|e| e.downcast_ref::<HeaderProblem>());
        assert_eq!(source, Some(&HeaderProblem::Missing));
        let refused = HandshakeError::Deflate(DeflateProblem::AcceptedTwice);
        let source = refused
            .source()
            .and_then(|e| e.downcast_ref::<DeflateProblem>());
        assert_eq!(source, Some(&DeflateProblem::AcceptedTwice));
    }
}
