//! The open channel's messages: one line per notice, alert or undecryptable entry, a header
//! (time, sender, organisation, trust marker, delivery) and the text for a message, wrapped
//! to the pane with the newest lines in view.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Block, Borders, Paragraph};

use super::{focus_style, style};
use crate::tui::app::{App, Focus, TrustMark};
use vigil_client::engine::{Body, Delivery, Entry};
use vigil_client::sanitize::{line, multiline};

fn time_of(at: vigil_protocol::UnixTime) -> String {
    let text = at.to_string(); // 2026-11-27T19:32:27Z
    text.get(11..19).unwrap_or(&text).to_owned()
}

/// A notice, an alert or an undecryptable entry, as one styled line (escaped).
fn one_line_entry(app: &App, entry: &Entry) -> Span<'static> {
    let (text, colour, modifier) = match &entry.body {
        Body::Notice(text) => (format!("* {}", line(text)), Color::Gray, Modifier::ITALIC),
        Body::Alert(text) => (
            format!("!! {}", line(text)),
            Color::Red,
            Modifier::BOLD | Modifier::REVERSED,
        ),
        Body::Undecryptable(why) => (
            format!(
                "{} <{}>: [could not decrypt or verify: {}]",
                line(&entry.sender_name),
                entry.sender,
                line(why)
            ),
            Color::Red,
            Modifier::BOLD,
        ),
        Body::Text(text) => (line(text).into_owned(), Color::Reset, Modifier::empty()),
    };
    Span::styled(
        text,
        style(app, Style::default().fg(colour)).add_modifier(modifier),
    )
}

/// Draws the messages of the open channel, `name`, scrolled as the app says.
pub(super) fn draw_messages(frame: &mut Frame<'_>, app: &App, area: Rect, name: &str) {
    let id = app.current().map(|c| c.summary.id);
    let empty = Vec::new();
    let entries = id.and_then(|id| app.messages.get(&id)).unwrap_or(&empty);
    let visible_rows = usize::from(area.height.saturating_sub(2));
    let end = entries.len().saturating_sub(app.scroll);
    let start = end.saturating_sub(visible_rows.max(1));
    let mut lines: Vec<Line<'_>> = Vec::new();
    for (_, entry) in entries.get(start..end).unwrap_or_default() {
        let time = Span::styled(
            format!("{} ", time_of(entry.at)),
            style(app, Style::default().fg(Color::DarkGray)),
        );
        match &entry.body {
            Body::Notice(_) | Body::Alert(_) | Body::Undecryptable(_) => {
                lines.push(Line::from(vec![time, one_line_entry(app, entry)]));
            }
            Body::Text(text) => lines.extend(text_entry(app, time, entry, text)),
        }
    }
    let name = line(name);
    let title = if app.scroll > 0 {
        format!(" {name} (scrolled: {} newer below) ", app.scroll)
    } else {
        format!(" {name} ")
    };
    // Wrap to the pane, then keep the newest lines in view.
    let width = usize::from(area.width.saturating_sub(2)).max(10);
    let lines: Vec<Line<'_>> = lines.into_iter().flat_map(|l| wrap(l, width)).collect();
    let skip = lines.len().saturating_sub(visible_rows);
    let lines: Vec<Line<'_>> = lines.into_iter().skip(skip).collect();
    let block = Block::default()
        .borders(Borders::ALL)
        .title(title)
        .border_style(focus_style(app, Focus::Messages));
    frame.render_widget(Paragraph::new(Text::from(lines)).block(block), area);
}

/// A text message: the header (time, sender, organisation, trust marker, delivery) with the
/// first line of the text, then its other lines indented.
fn text_entry(app: &App, time: Span<'static>, entry: &Entry, text: &str) -> Vec<Line<'static>> {
    let mark = app.entry_mark(entry);
    let mark_style = match mark {
        TrustMark::Verified => Style::default().fg(Color::Green),
        TrustMark::Changed => Style::default()
            .fg(Color::Red)
            .add_modifier(Modifier::BOLD | Modifier::REVERSED),
        TrustMark::Unverified => Style::default().fg(Color::Yellow),
        TrustMark::Own => Style::default().fg(Color::DarkGray),
    };
    let org = entry
        .sender
        .as_str()
        .rsplit_once('@')
        .map_or_else(String::new, |(_, org)| org.to_uppercase());
    let mut head = vec![
        time,
        Span::styled(
            line(&entry.sender_name).into_owned(),
            Style::default().add_modifier(Modifier::BOLD),
        ),
        Span::raw(format!(" ({org}) ")),
        Span::styled(format!("[{}]", mark.text()), style(app, mark_style)),
    ];
    if let Some(delivery) = &entry.delivery {
        head.push(delivery_span(app, delivery));
    }
    head.push(Span::raw(": "));
    let text = multiline(text);
    let mut body = text.lines();
    head.push(Span::raw(body.next().unwrap_or_default().to_owned()));
    let mut lines = vec![Line::from(head)];
    for more in body {
        lines.push(Line::from(format!("         {more}")));
    }
    lines
}

/// `(queued)`, `(sent)` or `(NOT SENT: why)` after our own messages.
fn delivery_span(app: &App, delivery: &Delivery) -> Span<'static> {
    let (text, colour) = match delivery {
        Delivery::Queued => ("queued".to_owned(), Color::Yellow),
        Delivery::Sent => ("sent".to_owned(), Color::DarkGray),
        Delivery::Failed(why) => (format!("NOT SENT: {}", line(why)), Color::Red),
    };
    Span::styled(
        format!(" ({text})"),
        style(app, Style::default().fg(colour)),
    )
}

/// Splits a line into lines of at most `width` cells (continuations indented), keeping
/// styles; breaks at a space when there is one near the end, else anywhere (hashes, URLs).
fn wrap(line: Line<'_>, width: usize) -> Vec<Line<'static>> {
    const INDENT: &str = "         ";
    let cells: Vec<(char, Style)> = line
        .spans
        .iter()
        .flat_map(|span| span.content.chars().map(move |c| (c, span.style)))
        .collect();
    let mut out = Vec::new();
    let mut start = 0;
    let mut first = true;
    while start < cells.len() || first {
        let room = if first {
            width
        } else {
            width.saturating_sub(INDENT.len()).max(1)
        };
        let mut end = (start + room).min(cells.len());
        if end < cells.len()
            && let Some(space) = cells[start..end].iter().rposition(|(c, _)| *c == ' ')
            && space > room / 2
        {
            end = start + space + 1;
        }
        let mut spans: Vec<Span<'static>> = Vec::new();
        if !first {
            spans.push(Span::raw(INDENT));
        }
        let fixed = spans.len(); // the indent is never extended
        for (c, style) in cells.get(start..end).unwrap_or_default() {
            let extend = spans.len() > fixed && spans.last().is_some_and(|l| l.style == *style);
            match spans.last_mut() {
                Some(last) if extend => last.content.to_mut().push(*c),
                _ => spans.push(Span::styled(c.to_string(), *style)),
            }
        }
        out.push(Line::from(spans));
        first = false;
        start = end;
    }
    out
}
