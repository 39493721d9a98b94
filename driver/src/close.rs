//! The close, as every backend ends it: how long the socket lingers after the
//! last event, and what the `Close` of a failure says.

use std::time::Duration;

use sockette_core::{CloseCode, CloseInfo};

/// After the close, how long a backend keeps writing its last bytes and
/// waits for the peer to end the TCP stream before dropping the socket
/// (RFC 6455 §7.1.1: the server closes the TCP connection first).
pub const LINGER: Duration = Duration::from_secs(1);

/// Gives the `Close` of a failed connection the reason a person can act on:
/// the core only knows that the connection ended (1006) or that TLS failed
/// (1015), while the backend reported why just before, in the `Error` event
/// whose text is `reported`. A clean close, or one whose code the peer chose,
/// keeps its reason.
///
/// ```
/// use sockette_core::{CloseCode, CloseInfo};
///
/// let mut info = CloseInfo::new(CloseCode::Abnormal, "", false);
/// sockette_driver::explain_close(&mut info, Some("socket error: connection reset".into()));
/// assert_eq!(info.reason, "socket error: connection reset");
/// ```
pub fn explain_close(info: &mut CloseInfo, reported: Option<String>) {
    let failed = !info.was_clean && matches!(info.code, CloseCode::Abnormal | CloseCode::Tls);
    if let (true, Some(text)) = (failed, reported) {
        info.reason = text;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(code: CloseCode, was_clean: bool) -> CloseInfo {
        CloseInfo::new(code, "theirs", was_clean)
    }

    #[test]
    fn only_a_failure_takes_the_reported_reason() {
        for (code, clean, explained) in [
            (CloseCode::Abnormal, false, true),
            (CloseCode::Tls, false, true),
            (CloseCode::Normal, true, false),
            (CloseCode::Protocol, false, false),
            (CloseCode::Abnormal, true, false),
        ] {
            let mut info = close(code, clean);
            explain_close(&mut info, Some("why".into()));
            let expected = if explained { "why" } else { "theirs" };
            assert_eq!(info.reason, expected, "{code:?} clean {clean}");
        }
        let mut info = close(CloseCode::Abnormal, false);
        explain_close(&mut info, None);
        assert_eq!(info.reason, "theirs", "nothing reported, nothing changed");
    }
}
