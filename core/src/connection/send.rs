//! The send path: commands turned into frames (by the writer) queued where
//! they go: held until open (client handshake), to TLS, or to the wire. No
//! state changes here; `writable_phase` in `mod.rs` decides what may be sent.

use crate::command_error::{CommandError, InvalidInput};
use crate::frame::OpCode;

use super::outbox::Outbox;
use super::transport::Transport;
use super::{Connection, Phase};

impl Connection {
    #[inline]
    pub(super) fn send_data(&mut self, opcode: OpCode, payload: &[u8]) -> Result<(), CommandError> {
        if !matches!(self.phase, Phase::Open { .. }) {
            self.writable_phase()?;
        }
        let needed = self.writer.send_cost().message(payload.len());
        self.outbox.check_room(self.buffered_amount(), needed)?;
        let target = frame_target(&mut self.phase, &mut self.transport, &mut self.outbox);
        let sent = self.writer.write_message(target, opcode, payload);
        self.stats.message_sent(payload.len(), sent);
        self.flush();
        Ok(())
    }

    pub(super) fn send_control(
        &mut self,
        opcode: OpCode,
        payload: &[u8],
    ) -> Result<(), CommandError> {
        InvalidInput::check_control_payload(payload.len())?;
        self.writable_phase()?;
        let needed = self.writer.send_cost().control(payload.len());
        self.outbox.check_room(self.buffered_amount(), needed)?;
        self.write_frame(opcode, payload);
        self.flush();
        Ok(())
    }

    /// Queues one final frame (a control, here).
    pub(super) fn write_frame(&mut self, opcode: OpCode, payload: &[u8]) {
        let target = frame_target(&mut self.phase, &mut self.transport, &mut self.outbox);
        self.writer.write_frame(target, true, 0, opcode, payload);
    }

    /// Where WebSocket bytes go: to the wire, or to TLS for encryption.
    pub(super) fn ws_out(&mut self) -> &mut Vec<u8> {
        self.transport.ws_out(&mut self.outbox)
    }

    /// Encrypts pending WebSocket bytes into TLS records on the wire.
    pub(super) fn flush(&mut self) {
        if let Err(failure) = self.transport.flush(&mut self.outbox) {
            if !self.is_closed() {
                self.fail_transport(failure);
            }
        }
    }
}

/// Where a frame goes: held until open while the client handshake is in
/// progress (RFC 6455 §4.1), else out (through TLS, if any).
fn frame_target<'a>(
    phase: &'a mut Phase,
    transport: &'a mut Transport,
    outbox: &'a mut Outbox,
) -> &'a mut Vec<u8> {
    match phase {
        Phase::ClientHandshake { early, .. } => early,
        _ => transport.ws_out(outbox),
    }
}
