//! The open channel's messages, laid out in rows ([`super::rows`]) and scrolled by rows: the
//! newest at the bottom, or as far up as the reader scrolled. The pane's size is recorded for
//! the keys that scroll it (a page is the pane's height less one row, so nothing is skipped).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Text;
use ratatui::widgets::{Block, Borders, Paragraph};

use super::{focus_style, rows};
use crate::tui::app::{App, Focus};
use vigil_client::sanitize::line;

/// Draws the messages of the open channel, `name`, scrolled as the app says.
pub(super) fn draw_messages(frame: &mut Frame<'_>, app: &App, area: Rect, name: &str) {
    let inner = Block::default().borders(Borders::ALL).inner(area);
    app.record_pane(inner);
    let width = usize::from(inner.width).max(1);
    let height = usize::from(inner.height);
    let id = app.current().map(|c| c.summary.id);
    let empty = Vec::new();
    let entries = id.and_then(|id| app.messages.get(&id)).unwrap_or(&empty);
    let view = rows::visible(app, entries, width, app.scroll, height);
    let complete = id.is_some_and(|id| app.complete.contains(&id));
    let more_above = view.more_above || !complete;
    let (scroll, shown) = (view.scroll, view.rows);
    let name = line(name);
    let title = match (scroll, more_above) {
        (0, _) => format!(" {name} "),
        (n, true) => format!(" {name} (up {n} lines; End: newest) "),
        (n, false) => format!(" {name} (top; {n} lines below; End: newest) "),
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .title(title)
        .border_style(focus_style(app, Focus::Messages));
    frame.render_widget(Paragraph::new(Text::from(shown)).block(block), area);
}
