//! Drawing one frame from the [`App`]: the history on top, the status line,
//! the input box at the bottom. Pure layout: it reads the state, changes nothing.
//!
//! ```text
//! ┌ sockette-chat ───────────────┐
//! │* open: ws://...              │  history, newest at the bottom
//! │> hello                       │
//! │< hello                       │
//! └──────────────────────────────┘
//!  open: ws://... · buffered 0 B   status line (the fourth row from the bottom)
//! ┌ message ─────────────────────┐
//! │hello_                        │  input
//! └──────────────────────────────┘
//! ```

use ratatui::layout::{Constraint, Layout, Position, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use ratatui::Frame;
use unicode_width::UnicodeWidthChar;

use crate::app::{App, Entry, Status};

/// Draws the whole screen. `buffered` is the connection's `buffered_amount()`
/// now: bytes queued and not yet written to the socket.
pub(crate) fn draw(frame: &mut Frame<'_>, app: &App, buffered: usize) {
    let [history, status, input] = Layout::vertical([
        Constraint::Min(3),
        Constraint::Length(1),
        Constraint::Length(3),
    ])
    .areas(frame.area());
    draw_history(frame, app, history);
    draw_status(frame, app, buffered, status);
    draw_input(frame, app, input);
}

/// The newest entries that fit, wrapped to the width, oldest at the top.
fn draw_history(frame: &mut Frame<'_>, app: &App, area: Rect) {
    let block = Block::bordered().title(" sockette-chat ");
    let inner = block.inner(area);
    let (width, height) = (usize::from(inner.width), usize::from(inner.height));
    // Walk back from the newest entry until the area is full: a long history
    // costs nothing per frame beyond what is shown.
    let mut rows: Vec<Line<'_>> = Vec::new();
    for entry in app.entries.iter().rev() {
        if rows.len() >= height {
            break;
        }
        let (marker, text, style) = match entry {
            Entry::Sent(t) => ("> ", t, Style::new().fg(Color::Cyan)),
            Entry::Received(t) => ("< ", t, Style::new()),
            Entry::Note(t) => ("* ", t, Style::new().fg(Color::Green)),
            Entry::Error(t) => ("! ", t, Style::new().fg(Color::Red)),
        };
        let lines = wrap(marker, text, width);
        rows.extend(
            lines
                .into_iter()
                .rev()
                .map(|l| Line::from(Span::styled(l, style))),
        );
    }
    rows.truncate(height);
    rows.reverse();
    frame.render_widget(Paragraph::new(rows).block(block), area);
}

/// One row: the connection's state from its events, and the bytes waiting to
/// be written, highlighted while there are any.
fn draw_status(frame: &mut Frame<'_>, app: &App, buffered: usize, area: Rect) {
    let state_style = match app.status {
        Status::Open => Style::new().fg(Color::Green),
        Status::Connecting | Status::Closing => Style::new().fg(Color::Yellow),
        Status::Closed { ref info, .. } if info.was_clean => Style::new().fg(Color::Green),
        Status::Closed { .. } => Style::new().fg(Color::Red),
    };
    let buffered_style = if buffered > 0 {
        Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD)
    } else {
        Style::new()
    };
    let line = Line::from(vec![
        Span::raw(" "),
        Span::styled(app.status_text(), state_style.add_modifier(Modifier::BOLD)),
        Span::raw(" · "),
        Span::styled(format!("buffered {buffered} B"), buffered_style),
        Span::raw(format!(" · sent {} · received {}", app.sent, app.received)),
    ]);
    frame.render_widget(Paragraph::new(line), area);
}

/// The line being typed, its end in view when it is longer than the box, and
/// the terminal's cursor after it.
fn draw_input(frame: &mut Frame<'_>, app: &App, area: Rect) {
    let title = if app.is_finished() {
        " closed "
    } else if app.is_closed() {
        " closed · any key exits "
    } else {
        " message · Enter sends · Esc, Ctrl-C or /quit closes "
    };
    let block = Block::bordered().title(title);
    let inner = block.inner(area);
    // Keep one column for the cursor.
    let room = usize::from(inner.width.saturating_sub(1));
    let mut shown = 0;
    let mut start = app.input.len();
    for (i, c) in app.input.char_indices().rev() {
        let w = c.width().unwrap_or(0);
        if shown + w > room {
            break;
        }
        shown += w;
        start = i;
    }
    let visible = &app.input[start..];
    frame.render_widget(Paragraph::new(visible).block(block), area);
    if !app.is_closed() {
        let x = inner.x + u16::try_from(shown).unwrap_or(inner.width);
        frame.set_cursor_position(Position::new(x, inner.y));
    }
}

/// `marker` and `text` cut into rows at most `width` columns wide: at each
/// line break of the text, and wherever a row is full. Rows after the first
/// are indented under the text, past the marker.
fn wrap(marker: &str, text: &str, width: usize) -> Vec<String> {
    let indent = marker.chars().count();
    let mut rows = Vec::new();
    for (n, part) in text.split('\n').enumerate() {
        let mut row = if n == 0 {
            marker.to_string()
        } else {
            " ".repeat(indent)
        };
        let mut used = indent;
        for c in part.chars() {
            let w = c.width().unwrap_or(0);
            if used + w > width && used > indent {
                rows.push(std::mem::replace(&mut row, " ".repeat(indent)));
                used = indent;
            }
            row.push(c);
            used += w;
        }
        rows.push(row);
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::wrap;

    #[test]
    fn long_lines_wrap_under_the_text() {
        assert_eq!(wrap("> ", "abcdef", 5), ["> abc", "  def"]);
        assert_eq!(wrap("< ", "a\nb", 10), ["< a", "  b"]);
        assert_eq!(wrap("< ", "", 10), ["< "]);
    }

    #[test]
    fn wide_characters_count_twice() {
        assert_eq!(wrap("> ", "日本語", 6), ["> 日本", "  語"]);
    }
}
