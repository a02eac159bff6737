//! Drawing the screen from the [`App`]: channel list, classification banners above and below
//! the open channel, messages, warnings, compose box and status line. Colours are the FIRST
//! TLP colours on black; without colour every label is still there as text. Every string that
//! came from someone else (names, messages, notices, reasons, warnings) is drawn through
//! [`vigil_client::sanitize`], so no control or bidirectional character reaches the terminal raw.
//!
//! By part of the screen: the open channel with its banners, warnings and compose box
//! (`channel`), its messages (`messages`), and the overlays (`overlay`).

mod channel;
pub mod clock;
mod messages;
mod overlay;
pub(crate) mod palette;
pub(crate) mod rows;
pub(crate) mod text;

use ratatui::Frame;
use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, List, ListItem, ListState, Paragraph};
use vigil_protocol::label::Label;

use super::app::{App, ChannelItem, Focus, Mode};
use vigil_client::engine::Connection;
use vigil_client::sanitize::line;

/// Columns the channel list leaves the open channel at least.
const MIN_CHANNEL_WIDTH: u16 = 20;

/// The label's colour (FIRST TLP 2.0), as a terminal colour.
#[must_use]
pub fn label_colour(label: &Label) -> Color {
    let rgb = label.colour();
    Color::Rgb(rgb.0, rgb.1, rgb.2)
}

/// The short badge of a label in the channel list, e.g. `AMBER`.
#[must_use]
pub fn badge(label: &Label) -> String {
    label.tlp.to_string().trim_start_matches("TLP:").to_owned()
}

/// `style` as this terminal can show it: without colour, only its bold, italic or reverse;
/// with fewer colours than 24-bit, each colour the nearest the terminal has.
fn style(app: &App, style: Style) -> Style {
    if !app.colour {
        return Style::default().add_modifier(style.add_modifier);
    }
    let mut fitted = style;
    fitted.fg = style.fg.map(|c| palette::fit(c, app.depth));
    fitted.bg = style.bg.map(|c| palette::fit(c, app.depth));
    fitted
}

/// The banner line shown above and below the open channel.
#[must_use]
pub fn banner_text(label: &Label) -> String {
    format!("==== {} ====", line(&label.to_string()))
}

/// The banner as rows of at most `width` cells: on one row when it fits, else the label's
/// parts (TLP, level, each caveat) packed onto as many rows as they need, never cut.
#[must_use]
pub fn banner_rows(label: &Label, width: usize) -> Vec<String> {
    let full = banner_text(label);
    if text::width(&full) <= width {
        return vec![full];
    }
    let shown = line(&label.to_string()).into_owned();
    let mut rows: Vec<String> = Vec::new();
    for part in shown.split(" | ") {
        match rows.last_mut() {
            Some(row) if text::width(row) + 3 + text::width(part) <= width => {
                row.push_str(" | ");
                row.push_str(part);
            }
            _ => rows.push(part.to_owned()),
        }
    }
    rows.iter()
        .flat_map(|row| text::wrap(&Line::from(row.as_str()), width, 0))
        .map(|l| l.to_string())
        .collect()
}

/// Draws the whole screen from `app`.
pub fn draw(frame: &mut Frame<'_>, app: &App) {
    let area = frame.area();
    let rows = Layout::default()
        .direction(Direction::Vertical)
        .constraints([Constraint::Min(3), Constraint::Length(1)])
        .split(area);
    let list_width = if app.list_hidden {
        0
    } else {
        app.list_width
            .min(rows[0].width.saturating_sub(MIN_CHANNEL_WIDTH))
    };
    let columns = Layout::default()
        .direction(Direction::Horizontal)
        .constraints([Constraint::Length(list_width), Constraint::Min(1)])
        .split(rows[0]);
    let mut geometry = app.geometry.get();
    geometry.list = Rect::default();
    app.geometry.set(geometry);
    if list_width > 2 {
        draw_channels(frame, app, columns[0]);
    }
    channel::draw_channel(frame, app, columns[1]);
    draw_status(frame, app, rows[1]);
    match &app.mode {
        Mode::Normal => {}
        Mode::Help => overlay::draw_overlay(frame, app, "Help", &overlay::help_lines()),
        Mode::Info { title, lines } => overlay::draw_overlay(frame, app, title, lines),
        Mode::Verify {
            user,
            number,
            status,
        } => overlay::draw_overlay(
            frame,
            app,
            "Verify",
            &overlay::verify_lines(user, number, status),
        ),
    }
}

/// `name` cut to `room` cells with an ellipsis when longer.
fn fit_name(name: &str, room: usize) -> String {
    let name = text::tame(name);
    let name = name.as_ref();
    if text::width(name) <= room {
        return name.to_owned();
    }
    let mut out = String::new();
    let mut used = 0;
    for g in unicode_segmentation::UnicodeSegmentation::graphemes(name, true) {
        let w = text::grapheme_width(g);
        if used + w + 1 > room {
            break;
        }
        out.push_str(g);
        used += w;
    }
    out.push('…');
    out
}

/// One row of the channel list: badge, name (cut to fit), then the unread count and the
/// mention marker, which are never cut.
fn channel_row(app: &App, item: &ChannelItem, width: usize) -> ListItem<'static> {
    let label = &item.summary.label;
    let badge = format!("[{}] ", badge(label));
    let mut tail = Vec::new();
    if item.unread > 0 {
        tail.push(Span::styled(
            format!(" ({})", item.unread),
            Style::default().add_modifier(Modifier::BOLD),
        ));
    }
    if item.mention {
        tail.push(Span::styled(
            " @",
            style(app, Style::default().fg(Color::Yellow)).add_modifier(Modifier::BOLD),
        ));
    }
    if !item.summary.member {
        tail.push(Span::raw(" (removed)"));
    }
    let tail_width: usize = tail.iter().map(|s| text::width(&s.content)).sum();
    let room = width
        .saturating_sub(text::width(&badge) + tail_width)
        .max(2);
    let mut spans = vec![
        Span::styled(
            badge,
            style(
                app,
                Style::default()
                    .fg(label_colour(label))
                    .bg(Color::Black)
                    .add_modifier(Modifier::BOLD),
            ),
        ),
        Span::raw(fit_name(&line(&item.summary.name), room)),
    ];
    spans.extend(tail);
    ListItem::new(Line::from(spans))
}

fn draw_channels(frame: &mut Frame<'_>, app: &App, area: Rect) {
    let inner = Block::default().borders(Borders::ALL).inner(area);
    let mut geometry = app.geometry.get();
    geometry.list = inner;
    app.geometry.set(geometry);
    let width = usize::from(inner.width);
    let items: Vec<ListItem<'_>> = app
        .channels
        .iter()
        .map(|item| channel_row(app, item, width))
        .collect();
    let block = Block::default()
        .borders(Borders::ALL)
        .title(" Channels ")
        .border_style(focus_style(app, Focus::Channels));
    let list = List::new(items)
        .block(block)
        .highlight_style(Style::default().add_modifier(Modifier::REVERSED));
    let mut state = ListState::default();
    if !app.channels.is_empty() {
        state.select(Some(app.selected));
    }
    frame.render_stateful_widget(list, area, &mut state);
}

fn focus_style(app: &App, focus: Focus) -> Style {
    if app.focus == focus {
        style(app, Style::default().fg(Color::Cyan)).add_modifier(Modifier::BOLD)
    } else {
        Style::default()
    }
}

/// The banner at `width`, centred, in the label's colour on black (reversed without colour,
/// so it still stands out).
fn banner<'a>(app: &App, label: &Label, width: u16) -> Paragraph<'a> {
    let rows: Vec<Line<'_>> = banner_rows(label, usize::from(width))
        .into_iter()
        .map(Line::from)
        .collect();
    let modifier = if app.colour {
        Modifier::BOLD
    } else {
        Modifier::BOLD | Modifier::REVERSED
    };
    Paragraph::new(rows)
        .style(style(
            app,
            Style::default()
                .fg(label_colour(label))
                .bg(Color::Black)
                .add_modifier(modifier),
        ))
        .alignment(ratatui::layout::Alignment::Center)
}

fn draw_status(frame: &mut Frame<'_>, app: &App, area: Rect) {
    let (connection, colour) = match &app.connection {
        Connection::Online => ("online".to_owned(), Color::Green),
        Connection::Connecting => ("connecting".to_owned(), Color::Yellow),
        Connection::Degraded => ("RELAY NOT ANSWERING".to_owned(), Color::Red),
        Connection::Offline(why) => (format!("OFFLINE ({})", line(why)), Color::Red),
        Connection::Refused(why) => (
            format!("REFUSED BY THE RELAY ({})", line(&why.message)),
            Color::Red,
        ),
    };
    let mut spans = vec![
        Span::styled(
            format!(" {connection} "),
            style(app, Style::default().fg(Color::Black).bg(colour)),
        ),
        Span::raw(format!(
            " outbox {} | {} <{}> | F1 help ",
            app.outbox,
            line(&app.my_name),
            app.me
        )),
    ];
    if let Some((text, false)) = &app.status {
        spans.push(Span::styled(
            format!(" {} ", line(text)),
            Style::default().add_modifier(Modifier::BOLD),
        ));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}
