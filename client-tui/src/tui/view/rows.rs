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

/// Lines of one message drawn at most; the rest is summed up on a last row (a hostile member
/// can send half a megabyte: laying it out on every key would freeze the screen). `vigil read`
/// and exports show every line.
pub(crate) const MAX_SHOWN_LINES: usize = 2_000;

/// Bytes of one message drawn at most, for the same reason (about 800 rows at 80 columns).
pub(crate) const MAX_SHOWN_BYTES: usize = 64 * 1024;

/// Which marker rows stand above entry `index`: "new since you left" (under the last entry
/// read), and the day line (where the day changes, and above the oldest loaded entry).
fn marker_kinds(app: &App, entries: &[Loaded], index: usize) -> (bool, bool) {
    let Some((seq, entry)) = entries.get(index) else {
        return (false, false);
    };
    let previous = index.checked_sub(1).and_then(|i| entries.get(i));
    let new_since = matches!((app.since, previous), (Some(mark), Some((before, _)))
        if *before <= mark && *seq > mark);
    let day = previous.is_none_or(|(_, p)| app.clock.day(p.at) != app.clock.day(entry.at));
    (new_since, day)
}

/// The marker rows above entry `index`, drawn.
fn markers(app: &App, entries: &[Loaded], index: usize, width: usize) -> Vec<Line<'static>> {
    let (new_since, day) = marker_kinds(app, entries, index);
    let mut rows = Vec::new();
    if new_since {
        rows.push(marker(app, NEW_SINCE, width, Color::LightRed));
    }
    if let Some((_, entry)) = entries.get(index).filter(|_| day) {
        rows.push(marker(
            app,
            &app.clock.day_line(entry.at),
            width,
            Color::DarkGray,
        ));
    }
    rows
}

/// The rows of `entry` itself at `width`, wrapped.
fn entry_rows(app: &App, entry: &Entry, width: usize) -> Vec<Line<'static>> {
    entry_lines(app, entry)
        .iter()
        .flat_map(|row| text::wrap(row, width, INDENT))
        .collect()
}

/// What an entry's row count depends on besides its text: the width, its trust marker and its
/// delivery state (both are in its header).
fn shape(app: &App, entry: &Entry, width: usize) -> (usize, TrustMark, Option<String>) {
    let delivery = entry.delivery.as_ref().map(ToString::to_string);
    (width, app.entry_mark(entry), delivery)
}

/// Rows entry `index` takes, markers included; the entry's own rows are counted once per shape
/// and remembered.
fn block_len(app: &App, entries: &[Loaded], index: usize, width: usize) -> usize {
    let Some((seq, entry)) = entries.get(index) else {
        return 0;
    };
    let (new_since, day) = marker_kinds(app, entries, index);
    let markers = usize::from(new_since) + usize::from(day);
    let shape = shape(app, entry, width);
    let key = (app.current().map(|c| c.summary.id), *seq);
    if let Some((cached, rows)) = app.row_cache.borrow().get(&key)
        && *cached == shape
    {
        return markers + rows;
    }
    let rows = entry_rows(app, entry, width).len();
    app.row_cache.borrow_mut().insert(key, (shape, rows));
    markers + rows
}

/// The rows entry `index` of `entries` takes, markers above it included.
#[must_use]
pub(crate) fn block(
    app: &App,
    entries: &[Loaded],
    index: usize,
    width: usize,
) -> Vec<Line<'static>> {
    let mut rows = markers(app, entries, index, width);
    if let Some((_, entry)) = entries.get(index) {
        rows.extend(entry_rows(app, entry, width));
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

/// What the pane shows: its rows, how far up they are, and whether anything is above them.
#[derive(Debug)]
pub(crate) struct View {
    /// The rows in view, top first (at most the pane's height).
    pub(crate) rows: Vec<Line<'static>>,
    /// Rows scrolled up from the newest (the app's, or less when there is not that much).
    pub(crate) scroll: usize,
    /// Loaded rows above the view.
    pub(crate) more_above: bool,
}

/// The `height` rows of `entries` at `width` that end `scroll` rows above the newest. Only
/// the entries in view are laid out; the others are counted (and their counts remembered).
#[must_use]
pub(crate) fn visible(
    app: &App,
    entries: &[Loaded],
    width: usize,
    scroll: usize,
    height: usize,
) -> View {
    // From the newest up: each entry's rows, until the top of the view is passed.
    let mut spans = Vec::new(); // (index, rows below it)
    let mut below = 0;
    let mut index = entries.len();
    while below < scroll + height && index > 0 {
        index -= 1;
        spans.push((index, below));
        below += block_len(app, entries, index, width);
    }
    let scroll = scroll.min(below.saturating_sub(height));
    let (top, bottom) = (scroll + height, scroll); // rows from the newest
    let mut rows = Vec::new();
    for &(i, under) in spans.iter().rev() {
        let len = block_len(app, entries, i, width);
        if under >= top || under + len <= bottom {
            continue;
        }
        let lines = block(app, entries, i, width);
        // This block covers rows [under, under + len) from the bottom; keep those in view.
        let skip = (under + len).saturating_sub(top);
        let keep = len - skip - bottom.saturating_sub(under);
        rows.extend(lines.into_iter().skip(skip).take(keep));
    }
    View {
        rows,
        scroll,
        more_above: index > 0 || below > scroll + height,
    }
}

/// Rows of `entries` at `width` counted from the newest up, stopping once `limit` is reached:
/// the count (at least `limit` when there are that many) and whether every entry was counted.
#[must_use]
pub(crate) fn count_from_newest(
    app: &App,
    entries: &[Loaded],
    width: usize,
    limit: usize,
) -> (usize, bool) {
    let mut rows = 0;
    for index in (0..entries.len()).rev() {
        if rows >= limit {
            return (rows, false);
        }
        rows += block_len(app, entries, index, width);
    }
    (rows, true)
}

/// Rows entry `index` takes at `width`, markers included.
#[must_use]
pub(crate) fn rows_of(app: &App, entries: &[Loaded], index: usize, width: usize) -> usize {
    block_len(app, entries, index, width)
}

/// Rows entries `..end` take at `width`.
#[must_use]
pub(crate) fn count(app: &App, entries: &[Loaded], width: usize, end: usize) -> usize {
    (0..end.min(entries.len()))
        .map(|i| block_len(app, entries, i, width))
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
    let (shown, hidden) = cap(text);
    let mut body = shown.split('\n').map(|l| {
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
    if let Some((lines_left, bytes_left)) = hidden {
        lines.push(Line::from(vec![
            Span::raw(" ".repeat(INDENT)),
            Span::styled(
                format!(
                    "[… {lines_left} more lines, {bytes_left} bytes, not drawn here: `vigil read` \
                     shows the whole message]"
                ),
                style(app, Style::default().fg(Color::Gray)).add_modifier(Modifier::ITALIC),
            ),
        ]));
    }
    lines
}

/// `text` cut to [`MAX_SHOWN_LINES`] lines and [`MAX_SHOWN_BYTES`] bytes, and what was left
/// out (lines, bytes) when anything was.
fn cap(text: &str) -> (&str, Option<(usize, usize)>) {
    let by_lines = text
        .match_indices('\n')
        .nth(MAX_SHOWN_LINES - 1)
        .map_or(text.len(), |(i, _)| i);
    let mut end = by_lines.min(MAX_SHOWN_BYTES);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    if end == text.len() {
        return (text, None);
    }
    let rest = &text[end..];
    let lines = rest
        .strip_prefix('\n')
        .unwrap_or(rest)
        .matches('\n')
        .count()
        + 1;
    (&text[..end], Some((lines, rest.len())))
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

/// `(queued)`, `(sent)`, `(delivered)` or `(NOT SENT: why)` after our own messages.
fn delivery_span(app: &App, delivery: &Delivery) -> Span<'static> {
    let (text, colour) = match delivery {
        Delivery::Queued => ("queued".to_owned(), Color::Yellow),
        Delivery::Sent => ("sent".to_owned(), Color::DarkGray),
        Delivery::Delivered => ("delivered".to_owned(), Color::DarkGray),
        Delivery::Failed(why) => (format!("NOT SENT: {}", line(why)), Color::Red),
    };
    Span::styled(
        format!(" ({text})"),
        style(app, Style::default().fg(colour)),
    )
}
