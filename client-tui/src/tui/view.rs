//! Drawing the screen from the [`App`]: channel list, classification banners above and below
//! the open channel, messages, warnings, compose box and status line. Colours are the FIRST
//! TLP colours on black; without colour every label is still there as text. Every string that
//! came from someone else (names, messages, notices, reasons, warnings) is drawn through
//! [`vigil_client::sanitize`], so no control or bidirectional character reaches the terminal raw.

use ratatui::Frame;
use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Block, Borders, Clear, List, ListItem, ListState, Paragraph, Wrap};
use vigil_protocol::label::Label;

use super::app::{App, COMMANDS, Focus, Mode, TrustMark};
use vigil_client::engine::{Body, Connection, Delivery, Entry};
use vigil_client::sanitize::{line, multiline};

/// Width of the channel list.
const LIST_WIDTH: u16 = 28;

/// Rows the compose box grows to before its text scrolls.
const MAX_COMPOSE_ROWS: usize = 6;

/// Persistent warnings shown at once (the newest; Esc dismisses them).
const MAX_WARNINGS_SHOWN: usize = 3;

/// Rows the warning area takes at most (warnings wrap).
const MAX_WARNING_ROWS: u16 = 6;

/// Widest an overlay (help, information, safety number) is drawn.
const MAX_OVERLAY_WIDTH: u16 = 110;

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

/// Draws everything.
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
    draw_channel(frame, app, columns[1]);
    draw_status(frame, app, rows[1]);
    match &app.mode {
        Mode::Normal => {}
        Mode::Help => draw_overlay(frame, app, "Help (Esc to close)", &help_lines(app)),
        Mode::Info { title, lines } => draw_overlay(frame, app, title, lines),
        Mode::Verify {
            user,
            number,
            status,
        } => {
            let lines = vec![
                format!("Safety number with {user}:"),
                String::new(),
                number.clone(),
                String::new(),
                format!("Status: {status}"),
                String::new(),
                "Compare it with them in person or by phone: every digit.".into(),
                "Press V if it matches to mark them verified; Esc otherwise.".into(),
                "If it does not match, do not trust this contact: call them.".into(),
            ];
            draw_overlay(frame, app, "Verify", &lines);
        }
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

fn draw_channel(frame: &mut Frame<'_>, app: &App, area: Rect) {
    let compose_lines = u16::try_from(app.compose.lines().count().clamp(1, MAX_COMPOSE_ROWS))
        .unwrap_or(1)
        + u16::from(app.compose.ends_with('\n'));
    // (text, is a refusal): refusals in red, warnings in yellow; all above the compose box.
    let mut warnings: Vec<(String, bool)> = app
        .warnings
        .iter()
        .rev()
        .take(MAX_WARNINGS_SHOWN)
        .map(|w| (line(w).into_owned(), false))
        .collect();
    if let Some(w) = app.unverified_in_sensitive_channel() {
        warnings.push((line(&w).into_owned(), false));
    }
    if let Some((text, true)) = &app.status {
        warnings.push((format!("REFUSED: {}", line(text)), true));
    }
    if let Some(alert) = app.current().and_then(|c| c.summary.alert.as_ref()) {
        warnings.push((format!("ALERT: {}", line(alert)), true));
    }
    let width = usize::from(area.width).max(10);
    let warning_rows: usize = warnings
        .iter()
        .map(|(w, _)| (w.chars().count() + 2).div_ceil(width))
        .sum();
    let warning_rows = u16::try_from(warning_rows)
        .unwrap_or(MAX_WARNING_ROWS)
        .min(MAX_WARNING_ROWS);
    let parts = Layout::default()
        .direction(Direction::Vertical)
        .constraints([
            Constraint::Length(1),
            Constraint::Min(3),
            Constraint::Length(1),
            Constraint::Length(warning_rows),
            Constraint::Length(compose_lines + 2),
        ])
        .split(area);
    match app.current() {
        Some(item) => {
            frame.render_widget(banner(app, &item.summary.label), parts[0]);
            frame.render_widget(banner(app, &item.summary.label), parts[2]);
            draw_messages(frame, app, parts[1], &item.summary.name);
        }
        None => {
            let text = Paragraph::new(
                "No channel yet. Create one:\n  /create NAME --tlp TLP:AMBER --level \"EU RESTRICTED\"\nor wait for an invitation. Press ? for help.",
            )
            .block(Block::default().borders(Borders::ALL).title(" Vigil "));
            frame.render_widget(text, parts[1]);
        }
    }
    let warning_lines: Vec<Line<'_>> = warnings
        .into_iter()
        .map(|(w, refusal)| {
            let colours = if refusal {
                Style::default().fg(Color::White).bg(Color::Red)
            } else {
                Style::default().fg(Color::Black).bg(Color::Yellow)
            };
            Line::from(Span::styled(
                format!("! {w}"),
                style(app, colours).add_modifier(Modifier::BOLD),
            ))
        })
        .collect();
    frame.render_widget(
        Paragraph::new(warning_lines).wrap(Wrap { trim: false }),
        parts[3],
    );
    let compose = Paragraph::new(app.compose.clone())
        .block(
            Block::default()
                .borders(Borders::ALL)
                .title(" Message (Enter sends, Alt-Enter new line, /help) ")
                .border_style(focus_style(app, Focus::Compose)),
        )
        .wrap(Wrap { trim: false });
    frame.render_widget(compose, parts[4]);
    if app.focus == Focus::Compose && app.mode == Mode::Normal {
        let before: String = app.compose.chars().take(app.cursor).collect();
        let row = u16::try_from(before.matches('\n').count()).unwrap_or(0);
        let col =
            u16::try_from(before.rsplit('\n').next().unwrap_or("").chars().count()).unwrap_or(0);
        let x = parts[4].x + 1 + col.min(parts[4].width.saturating_sub(3));
        let y = parts[4].y + 1 + row.min(parts[4].height.saturating_sub(3));
        frame.set_cursor_position((x, y));
    }
}

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

fn draw_messages(frame: &mut Frame<'_>, app: &App, area: Rect, name: &str) {
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
            Body::Text(text) => {
                let mark = app.mark(&entry.sender);
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
                    let (text, colour) = match delivery {
                        Delivery::Queued => ("queued".to_owned(), Color::Yellow),
                        Delivery::Sent => ("sent".to_owned(), Color::DarkGray),
                        Delivery::Failed(why) => (format!("NOT SENT: {}", line(why)), Color::Red),
                    };
                    head.push(Span::styled(
                        format!(" ({text})"),
                        style(app, Style::default().fg(colour)),
                    ));
                }
                head.push(Span::raw(": "));
                let text = multiline(text);
                let mut body = text.lines();
                head.push(Span::raw(body.next().unwrap_or_default().to_owned()));
                lines.push(Line::from(head));
                for more in body {
                    lines.push(Line::from(format!("         {more}")));
                }
            }
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

fn draw_status(frame: &mut Frame<'_>, app: &App, area: Rect) {
    let (connection, colour) = match &app.connection {
        Connection::Online => ("online".to_owned(), Color::Green),
        Connection::Connecting => ("connecting".to_owned(), Color::Yellow),
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

fn help_lines(app: &App) -> Vec<String> {
    let _ = app;
    let mut lines = vec![
        "Keys".to_owned(),
        "  Enter           send the message (or run a /command)".into(),
        "  Alt-Enter, Shift-Enter, Ctrl-J   new line in the message".into(),
        "  Tab             complete a /command, user or channel; else next pane".into(),
        "  Ctrl-N / Ctrl-P next / previous channel".into(),
        "  Alt-A           next channel with unread messages".into(),
        "  PageUp/PageDown scroll the history (older pages load as you go)".into(),
        "  j/k, arrows     move in the channel list or the history; g/G first/last".into(),
        "  Esc             dismiss warnings and the status message; close this screen".into(),
        "  ?               this screen (when the message box is empty)".into(),
        "  Ctrl-C, /quit   leave vigil".into(),
        String::new(),
        "Commands".into(),
    ];
    lines.extend(
        COMMANDS
            .iter()
            .map(|(usage, what)| format!("  {usage:<52} {what}")),
    );
    lines.push(String::new());
    lines.push(
        "Markers: [you] [verified] [unverified] [KEY CHANGED]; (queued) (sent) (NOT SENT)".into(),
    );
    lines
}

fn draw_overlay(frame: &mut Frame<'_>, app: &App, title: &str, lines: &[String]) {
    let area = frame.area();
    let width = area.width.saturating_sub(8).min(MAX_OVERLAY_WIDTH);
    let height = u16::try_from(lines.len() + 2)
        .unwrap_or(u16::MAX)
        .min(area.height.saturating_sub(2));
    let rect = Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height.saturating_sub(height)) / 2,
        width,
        height,
    };
    frame.render_widget(Clear, rect);
    // Overlays list members, caveats and answers: each line drawn through the sanitiser.
    let text: Vec<Line<'_>> = lines
        .iter()
        .map(|l| Line::from(line(l).into_owned()))
        .collect();
    let block = Block::default()
        .borders(Borders::ALL)
        .title(format!(" {} ", line(title)))
        .border_style(style(app, Style::default().fg(Color::Cyan)));
    frame.render_widget(
        Paragraph::new(text).block(block).wrap(Wrap { trim: false }),
        rect,
    );
}
