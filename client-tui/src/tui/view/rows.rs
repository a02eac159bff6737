//! The message pane as rows of the terminal: each entry laid out at the pane's width (header,
//! then every line of its text, wrapped by grapheme width with nothing dropped), with a date
//! line where the day changes and the "new since you left" line under the last entry read.
//! Scrolling counts these rows, so every line of every message can be reached; drawing and
//! scrolling use the same layout.

use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};

use super::{palette, style, text};
use crate::tui::app::{App, TrustMark};
use vigil_client::engine::{Body, Delivery, Entry};
use vigil_client::sanitize::{line, multiline};

/// Cells the time takes before each message (`HH:MM `); continuation rows are indented by it.
pub(crate) const INDENT: usize = 6;

/// The text of the line drawn under the last entry read.
pub(crate) const NEW_SINCE: &str = "new since you left";

/// One loaded entry and its sequence number.
type Loaded = (u64, Entry);

/// The rows entry `index` of `entries` takes, markers above it included.
#[must_use]
pub(crate) fn block(
    app: &App,
    entries: &[Loaded],
    index: usize,
    width: usize,
) -> Vec<Line<'static>> {
    let Some((seq, entry)) = entries.get(index) else {
        return Vec::new();
    };
    let previous = index.checked_sub(1).and_then(|i| entries.get(i));
    let mut rows = Vec::new();
    if let (Some(mark), Some((before, _))) = (app.since, previous)
        && *before <= mark
        && *seq > mark
    {
        rows.push(marker(app, NEW_SINCE, width, Color::LightRed));
    }
    if previous.is_none_or(|(_, p)| app.clock.day(p.at) != app.clock.day(entry.at)) {
        let day = app.clock.day_line(entry.at);
        rows.push(marker(app, &day, width, Color::DarkGray));
    }
    for row in entry_lines(app, entry) {
        rows.extend(text::wrap(&row, width, INDENT));
    }
    rows
}

/// A line across the pane with `label` in the middle: `──── label ────`.
fn marker(app: &App, label: &str, width: usize, colour: Color) -> Line<'static> {
    let label = format!(" {label} ");
    let side = width.saturating_sub(text::width(&label)) / 2;
    let rule = "─".repeat(side);
    Line::from(Span::styled(
        format!("{rule}{label}{rule}"),
        style(app, Style::default().fg(colour)).add_modifier(Modifier::BOLD),
    ))
}

/// The last rows of `entries` at `width`: at least `need` of them when there are that many,
/// whole entries only, top first; and the index of the first entry they include.
#[must_use]
pub(crate) fn bottom(
    app: &App,
    entries: &[Loaded],
    width: usize,
    need: usize,
) -> (Vec<Line<'static>>, usize) {
    let mut blocks = Vec::new();
    let mut rows = 0;
    let mut first = entries.len();
    while rows < need && first > 0 {
        first -= 1;
        let b = block(app, entries, first, width);
        rows += b.len();
        blocks.push(b);
    }
    (blocks.into_iter().rev().flatten().collect(), first)
}

/// Rows entries `..end` take at `width`.
#[must_use]
pub(crate) fn count(app: &App, entries: &[Loaded], width: usize, end: usize) -> usize {
    (0..end.min(entries.len()))
        .map(|i| block(app, entries, i, width).len())
        .sum()
}

/// The lines of one entry before wrapping: a notice, an alert or an undecryptable entry is one
/// line; a message is its header with its first line, then each further line indented.
fn entry_lines(app: &App, entry: &Entry) -> Vec<Line<'static>> {
    let time = Span::styled(
        format!("{} ", app.clock.time(entry.at)),
        style(app, Style::default().fg(Color::DarkGray)),
    );
    match &entry.body {
        Body::Text(text) => text_lines(app, time, entry, text),
        _ => vec![Line::from(vec![time, one_line(app, entry)])],
    }
}

/// A notice, an alert or an undecryptable entry, as one styled span (escaped).
fn one_line(app: &App, entry: &Entry) -> Span<'static> {
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

/// A text message: header (time, sender in their colour, organisation, trust marker of the key
/// that signed it, delivery) and the first line, then the other lines indented. Tabs become
/// spaces to the next stop; every other control character is escaped. A message that names us
/// is drawn bold.
fn text_lines(app: &App, time: Span<'static>, entry: &Entry, text: &str) -> Vec<Line<'static>> {
    let mark = app.entry_mark(entry);
    let org = entry
        .sender
        .as_str()
        .rsplit_once('@')
        .map_or_else(String::new, |(_, org)| org.to_uppercase());
    let name_style = Style::default()
        .fg(palette::sender(entry.sender.as_str()))
        .add_modifier(Modifier::BOLD);
    let mut head = vec![
        time,
        Span::styled(
            line(&entry.sender_name).into_owned(),
            style(app, name_style),
        ),
        Span::raw(format!(" ({org}) ")),
        Span::styled(format!("[{}]", mark.text()), style(app, mark_style(mark))),
    ];
    if let Some(delivery) = &entry.delivery {
        head.push(delivery_span(app, delivery));
    }
    head.push(Span::raw(": "));
    let body_style = if entry.sender != app.me && app.names_me(text) {
        style(app, Style::default().fg(Color::LightYellow)).add_modifier(Modifier::BOLD)
    } else {
        Style::default()
    };
    let mut body = text.split('\n').map(|l| {
        let l = l.strip_suffix('\r').unwrap_or(l);
        multiline(&text::expand_tabs(l)).into_owned()
    });
    head.push(Span::styled(body.next().unwrap_or_default(), body_style));
    let mut lines = vec![Line::from(head)];
    for more in body {
        lines.push(Line::from(vec![
            Span::raw(" ".repeat(INDENT)),
            Span::styled(more, body_style),
        ]));
    }
    lines
}

fn mark_style(mark: TrustMark) -> Style {
    match mark {
        TrustMark::Verified => Style::default().fg(Color::Green),
        TrustMark::Changed => Style::default()
            .fg(Color::Red)
            .add_modifier(Modifier::BOLD | Modifier::REVERSED),
        TrustMark::Unverified => Style::default().fg(Color::Yellow),
        TrustMark::Own => Style::default().fg(Color::DarkGray),
    }
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
