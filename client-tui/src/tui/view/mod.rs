//! Drawing the screen from the [`App`]: channel list, classification banners above and below
//! the open channel, messages, warnings, compose box and status line. Colours are the FIRST
//! TLP colours on black; without colour every label is still there as text. Every string that
//! came from someone else (names, messages, notices, reasons, warnings) is drawn through
//! [`vigil_client::sanitize`], so no control or bidirectional character reaches the terminal raw.
//!
//! By part of the screen: the open channel with its banners, warnings and compose box
//! (`channel`), its messages (`messages`), and the overlays (`overlay`).

mod channel;
mod messages;
mod overlay;

use ratatui::Frame;
use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, List, ListItem, ListState, Paragraph};
use vigil_protocol::label::Label;

use super::app::{App, Focus, Mode};
use vigil_client::engine::Connection;
use vigil_client::sanitize::line;

/// Width of the channel list.
const LIST_WIDTH: u16 = 28;

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

fn style(app: &App, style: Style) -> Style {
    if app.colour { style } else { Style::default() }
}

/// The banner line shown above and below the open channel.
#[must_use]
pub fn banner_text(label: &Label) -> String {
    format!("==== {} ====", line(&label.to_string()))
}

/// Draws the whole screen from `app`.
pub fn draw(frame: &mut Frame<'_>, app: &App) {
    let area = frame.area();
    let rows = Layout::default()
        .direction(Direction::Vertical)
        .constraints([Constraint::Min(3), Constraint::Length(1)])
        .split(area);
    let columns = Layout::default()
        .direction(Direction::Horizontal)
        .constraints([Constraint::Length(LIST_WIDTH), Constraint::Min(20)])
        .split(rows[0]);
    draw_channels(frame, app, columns[0]);
    channel::draw_channel(frame, app, columns[1]);
    draw_status(frame, app, rows[1]);
    match &app.mode {
        Mode::Normal => {}
        Mode::Help => {
            overlay::draw_overlay(frame, app, "Help (Esc to close)", &overlay::help_lines());
        }
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

fn draw_channels(frame: &mut Frame<'_>, app: &App, area: Rect) {
    let items: Vec<ListItem<'_>> = app
        .channels
        .iter()
        .map(|item| {
            let label = &item.summary.label;
            let mut spans = vec![
                Span::styled(
                    format!("[{}]", badge(label)),
                    style(
                        app,
                        Style::default()
                            .fg(label_colour(label))
                            .bg(Color::Black)
                            .add_modifier(Modifier::BOLD),
                    ),
                ),
                Span::raw(" "),
                Span::raw(line(&item.summary.name).into_owned()),
            ];
            if item.unread > 0 {
                spans.push(Span::styled(
                    format!(" ({})", item.unread),
                    Style::default().add_modifier(Modifier::BOLD),
                ));
            }
            if item.mention {
                spans.push(Span::styled(
                    " @",
                    style(app, Style::default().fg(Color::Yellow)).add_modifier(Modifier::BOLD),
                ));
            }
            if !item.summary.member {
                spans.push(Span::raw(" (removed)"));
            }
            ListItem::new(Line::from(spans))
        })
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

fn banner<'a>(app: &App, label: &Label) -> Paragraph<'a> {
    Paragraph::new(banner_text(label))
        .style(style(
            app,
            Style::default()
                .fg(label_colour(label))
                .bg(Color::Black)
                .add_modifier(Modifier::BOLD),
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
            " outbox {} | {} <{}> | ? help ",
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
