//! The open channel's pane: its label banner above and below the messages, the warnings and
//! refusals that must not be missed, and the compose box with the cursor.

use ratatui::Frame;
use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use super::{banner, focus_style, messages, style};
use crate::tui::app::{App, Focus, Mode};
use vigil_client::sanitize::line;

/// Rows the compose box grows to before its text scrolls.
const MAX_COMPOSE_ROWS: usize = 6;

/// Persistent warnings shown at once (the newest; Esc dismisses them).
const MAX_WARNINGS_SHOWN: usize = 3;

/// Rows the warning area takes at most (warnings wrap).
const MAX_WARNING_ROWS: u16 = 6;

/// A warning line and whether it is a refusal (red) rather than a warning (yellow).
type Warning = (String, bool);

/// Draws the open channel (or how to get one) into `area`.
pub(super) fn draw_channel(frame: &mut Frame<'_>, app: &App, area: Rect) {
    let compose_rows = u16::try_from(app.compose.lines().count().clamp(1, MAX_COMPOSE_ROWS))
        .unwrap_or(1)
        + u16::from(app.compose.ends_with('\n'));
    let warnings = warnings(app);
    let parts = Layout::default()
        .direction(Direction::Vertical)
        .constraints([
            Constraint::Length(1),
            Constraint::Min(3),
            Constraint::Length(1),
            Constraint::Length(warning_rows(&warnings, area.width)),
            Constraint::Length(compose_rows + 2),
        ])
        .split(area);
    match app.current() {
        Some(item) => {
            frame.render_widget(banner(app, &item.summary.label), parts[0]);
            frame.render_widget(banner(app, &item.summary.label), parts[2]);
            messages::draw_messages(frame, app, parts[1], &item.summary.name);
        }
        None => {
            let text = Paragraph::new(
                "No channel yet. Create one:\n  /create NAME --tlp TLP:AMBER --level \"EU RESTRICTED\"\nor wait for an invitation. Press ? for help.",
            )
            .block(Block::default().borders(Borders::ALL).title(" Vigil "));
            frame.render_widget(text, parts[1]);
        }
    }
    draw_warnings(frame, app, warnings, parts[3]);
    draw_compose(frame, app, parts[4]);
}

/// What is shown above the compose box: the newest persistent warnings, unverified members of
/// a sensitive channel, the last refusal and the channel's alert (all escaped).
fn warnings(app: &App) -> Vec<Warning> {
    let mut warnings: Vec<Warning> = app
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
    warnings
}

/// Rows the warnings take wrapped to `width`, at most [`MAX_WARNING_ROWS`].
fn warning_rows(warnings: &[Warning], width: u16) -> u16 {
    let width = usize::from(width).max(10);
    let rows: usize = warnings
        .iter()
        .map(|(w, _)| (w.chars().count() + 2).div_ceil(width))
        .sum();
    u16::try_from(rows)
        .unwrap_or(MAX_WARNING_ROWS)
        .min(MAX_WARNING_ROWS)
}

fn draw_warnings(frame: &mut Frame<'_>, app: &App, warnings: Vec<Warning>, area: Rect) {
    let lines: Vec<Line<'_>> = warnings
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
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), area);
}

/// The compose box, with the terminal cursor at the app's cursor when it has the keyboard.
fn draw_compose(frame: &mut Frame<'_>, app: &App, area: Rect) {
    let compose = Paragraph::new(app.compose.clone())
        .block(
            Block::default()
                .borders(Borders::ALL)
                .title(" Message (Enter sends, Alt-Enter new line, Alt-E editor, F1 help) ")
                .border_style(focus_style(app, Focus::Compose)),
        )
        .wrap(Wrap { trim: false });
    frame.render_widget(compose, area);
    if app.focus == Focus::Compose && app.mode == Mode::Normal {
        let before: String = app.compose.chars().take(app.cursor).collect();
        let row = u16::try_from(before.matches('\n').count()).unwrap_or(0);
        let col =
            u16::try_from(before.rsplit('\n').next().unwrap_or("").chars().count()).unwrap_or(0);
        let x = area.x + 1 + col.min(area.width.saturating_sub(3));
        let y = area.y + 1 + row.min(area.height.saturating_sub(3));
        frame.set_cursor_position((x, y));
    }
}
