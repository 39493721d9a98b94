//! Close codes (RFC 6455 §7.4, IANA registry) and the close frame payload
//! (§5.5.1): a 2-byte code then a UTF-8 reason, or nothing at all.

use std::fmt;

use crate::command_error::InvalidInput;
use crate::error::ProtocolError;

/// The largest reason that fits a control frame beside the 2-byte code (§5.5).
pub const MAX_REASON_LEN: usize = 123;

/// A close status code (RFC 6455 §7.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CloseCode {
    /// 1000: the purpose of the connection has been fulfilled.
    Normal,
    /// 1001: an endpoint is going away (server shutdown, page navigation).
    GoingAway,
    /// 1002: protocol error.
    Protocol,
    /// 1003: a data type the endpoint cannot accept.
    Unsupported,
    /// 1005: no status code was present. Reported locally, never sent.
    NoStatus,
    /// 1006: the connection closed without a close frame. Reported locally, never sent.
    Abnormal,
    /// 1007: message data inconsistent with its type (invalid UTF-8 in text).
    InvalidData,
    /// 1008: a message violates the endpoint's policy.
    Policy,
    /// 1009: a message too big to process.
    TooBig,
    /// 1010: the client expected an extension the server did not negotiate.
    MandatoryExtension,
    /// 1011: the server hit an unexpected condition.
    InternalError,
    /// 1012: the service is restarting (IANA).
    ServiceRestart,
    /// 1013: try again later (IANA).
    TryAgainLater,
    /// 1014: bad gateway (IANA).
    BadGateway,
    /// 1015: the TLS handshake failed. Reported locally, never sent.
    Tls,
    /// 3000-4999: codes for libraries, frameworks and applications.
    Application(u16),
    /// Any other value, including the reserved and invalid ones.
    Other(u16),
}

impl CloseCode {
    /// Whether the code may appear in a close frame on the wire (§7.4.1, §7.4.2):
    /// 1000-1003, 1007-1014 and 3000-4999.
    pub fn is_allowed_on_wire(self) -> bool {
        matches!(u16::from(self), 1000..=1003 | 1007..=1014 | 3000..=4999)
    }

    /// The numeric value.
    pub fn as_u16(self) -> u16 {
        self.into()
    }
}

impl From<u16> for CloseCode {
    fn from(code: u16) -> Self {
        match code {
            1000 => CloseCode::Normal,
            1001 => CloseCode::GoingAway,
            1002 => CloseCode::Protocol,
            1003 => CloseCode::Unsupported,
            1005 => CloseCode::NoStatus,
            1006 => CloseCode::Abnormal,
            1007 => CloseCode::InvalidData,
            1008 => CloseCode::Policy,
            1009 => CloseCode::TooBig,
            1010 => CloseCode::MandatoryExtension,
            1011 => CloseCode::InternalError,
            1012 => CloseCode::ServiceRestart,
            1013 => CloseCode::TryAgainLater,
            1014 => CloseCode::BadGateway,
            1015 => CloseCode::Tls,
            3000..=4999 => CloseCode::Application(code),
            other => CloseCode::Other(other),
        }
    }
}

impl From<CloseCode> for u16 {
    fn from(code: CloseCode) -> u16 {
        match code {
            CloseCode::Normal => 1000,
            CloseCode::GoingAway => 1001,
            CloseCode::Protocol => 1002,
            CloseCode::Unsupported => 1003,
            CloseCode::NoStatus => 1005,
            CloseCode::Abnormal => 1006,
            CloseCode::InvalidData => 1007,
            CloseCode::Policy => 1008,
            CloseCode::TooBig => 1009,
            CloseCode::MandatoryExtension => 1010,
            CloseCode::InternalError => 1011,
            CloseCode::ServiceRestart => 1012,
            CloseCode::TryAgainLater => 1013,
            CloseCode::BadGateway => 1014,
            CloseCode::Tls => 1015,
            CloseCode::Application(c) | CloseCode::Other(c) => c,
        }
    }
}

impl PartialEq<u16> for CloseCode {
    fn eq(&self, other: &u16) -> bool {
        u16::from(*self) == *other
    }
}

impl fmt::Display for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            CloseCode::Normal => "normal closure",
            CloseCode::GoingAway => "going away",
            CloseCode::Protocol => "protocol error",
            CloseCode::Unsupported => "unsupported data",
            CloseCode::NoStatus => "no status received",
            CloseCode::Abnormal => "abnormal closure",
            CloseCode::InvalidData => "invalid payload data",
            CloseCode::Policy => "policy violation",
            CloseCode::TooBig => "message too big",
            CloseCode::MandatoryExtension => "mandatory extension",
            CloseCode::InternalError => "internal error",
            CloseCode::ServiceRestart => "service restart",
            CloseCode::TryAgainLater => "try again later",
            CloseCode::BadGateway => "bad gateway",
            CloseCode::Tls => "TLS handshake failure",
            CloseCode::Application(_) => "application",
            CloseCode::Other(_) => "unregistered",
        };
        write!(f, "{} ({name})", u16::from(*self))
    }
}

/// Parses a received close payload: empty means [`CloseCode::NoStatus`].
pub fn parse_close_payload(payload: &[u8]) -> Result<(CloseCode, String), ProtocolError> {
    match payload {
        [] => Ok((CloseCode::NoStatus, String::new())),
        [_] => Err(ProtocolError::CloseOneByte),
        [hi, lo, reason @ ..] => {
            let code = CloseCode::from(u16::from_be_bytes([*hi, *lo]));
            if !code.is_allowed_on_wire() {
                return Err(ProtocolError::InvalidCloseCode(code.into()));
            }
            let reason = simdutf8::basic::from_utf8(reason)
                .map_err(|_| ProtocolError::InvalidCloseReason)?;
            Ok((code, reason.to_string()))
        }
    }
}

/// Encodes a close payload; [`CloseCode::NoStatus`] encodes as the empty payload.
/// The caller has checked the code and the reason's length.
pub(crate) fn encode_close_payload(code: CloseCode, reason: &str) -> Vec<u8> {
    if code == CloseCode::NoStatus {
        return Vec::new();
    }
    let mut payload = Vec::with_capacity(2 + reason.len());
    payload.extend_from_slice(&u16::from(code).to_be_bytes());
    payload.extend_from_slice(reason.as_bytes());
    payload
}

/// Truncates `reason` to at most [`MAX_REASON_LEN`] bytes on a character boundary.
pub(crate) fn truncate_reason(reason: &str) -> &str {
    if reason.len() <= MAX_REASON_LEN {
        return reason;
    }
    let mut end = MAX_REASON_LEN;
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    &reason[..end]
}

/// Refuses a close command the protocol does not allow: a code that may not be
/// sent, a reason without a code, a reason over [`MAX_REASON_LEN`].
pub(crate) fn check_close_command(code: CloseCode, reason: &str) -> Result<(), InvalidInput> {
    if code != CloseCode::NoStatus && !code.is_allowed_on_wire() {
        return Err(InvalidInput::CloseCodeNotSendable { code });
    }
    if code == CloseCode::NoStatus && !reason.is_empty() {
        return Err(InvalidInput::ReasonWithoutCode);
    }
    if reason.len() > MAX_REASON_LEN {
        return Err(InvalidInput::CloseReasonTooLong { len: reason.len() });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_allowed_on_the_wire_follow_rfc6455_7_4() {
        for code in [
            1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999,
        ] {
            assert!(CloseCode::from(code).is_allowed_on_wire(), "{code}");
        }
        for code in [
            0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535,
        ] {
            assert!(!CloseCode::from(code).is_allowed_on_wire(), "{code}");
        }
    }

    #[test]
    fn every_code_round_trips_through_u16() {
        for code in 0..=u16::MAX {
            assert_eq!(u16::from(CloseCode::from(code)), code);
        }
    }

    #[test]
    fn close_payload_rules() {
        assert_eq!(
            parse_close_payload(b""),
            Ok((CloseCode::NoStatus, String::new()))
        );
        assert_eq!(parse_close_payload(&[3]), Err(ProtocolError::CloseOneByte));
        assert_eq!(
            parse_close_payload(&[0x03, 0xe8, b'o', b'k']),
            Ok((CloseCode::Normal, "ok".into()))
        );
        assert_eq!(
            parse_close_payload(&[0x03, 0xed]),
            Err(ProtocolError::InvalidCloseCode(1005))
        );
        assert_eq!(
            parse_close_payload(&[0x03, 0xe8, 0xff]),
            Err(ProtocolError::InvalidCloseReason)
        );
    }

    #[test]
    fn truncation_respects_char_boundaries() {
        let long = "é".repeat(100);
        let cut = truncate_reason(&long);
        assert!(cut.len() <= MAX_REASON_LEN);
        assert_eq!(cut.len(), 122);
    }
}
