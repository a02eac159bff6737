//! The open channel's pane: its label banner above and below the messages (wrapped onto more
//! rows rather than cut), the warnings and refusals that must not be missed, and the compose
//! box, which grows with its text up to a bound and then scrolls with the cursor. Whatever the
//! size of the terminal, the message pane keeps rows of its own.

use ratatui::Frame;
use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use super::{banner, banner_rows, focus_style, messages, style, text};
use crate::tui::app::{App, Focus, Mode};
use vigil_client::sanitize::line;

/// Rows the compose box grows to before its text scrolls.
const MAX_COMPOSE_ROWS: u16 = 8;

/// Persistent warnings shown at once (the newest; Esc dismisses them).
const MAX_WARNINGS_SHOWN: usize = 3;

/// Rows the warning area takes at most (warnings wrap).
const MAX_WARNING_ROWS: u16 = 6;

/// Rows the message pane keeps whatever else is shown (its border included).
const MIN_PANE_ROWS: u16 = 5;

/// A warning line and whether it is a refusal (red) rather than a warning (yellow).
type Warning = (String, bool);

/// Draws the open channel (or how to get one) into `area`.
pub(super) fn draw_channel(frame: &mut Frame<'_>, app: &App, area: Rect) {
    let label = app.current().map(|c| &c.summary.label);
    let banner_height = label.map_or(0, |l| {
        u16::try_from(banner_rows(l, usize::from(area.width)).len()).unwrap_or(1)
    });
    // What the message pane can spare, shared between the compose box and the warnings.
    let spare = area
        .height
        .saturating_sub(2 * banner_height + MIN_PANE_ROWS);
    let compose = text::hard_wrap(
        &app.compose,
        usize::from(area.width.saturating_sub(2)),
        app.cursor,
    );
    let needed = compose.rows.len().max(compose.cursor.0 + 1);
    let compose_height = needed.clamp(1, usize::from(MAX_COMPOSE_ROWS));
    let compose_height = u16::try_from(compose_height)
        .unwrap_or(1)
        .min((spare / 2).saturating_sub(2).max(1));
    let warnings = warnings(app);
    let warning_height =
        warning_rows(&warnings, area.width).min(spare.saturating_sub(compose_height + 2));
    let parts = Layout::default()
        .direction(Direction::Vertical)
        .constraints([
            Constraint::Length(banner_height),
            Constraint::Min(1),
            Constraint::Length(banner_height),
            Constraint::Length(warning_height),
            Constraint::Length(compose_height + 2),
        ])
        .split(area);
    match app.current() {
        Some(item) => {
            frame.render_widget(banner(app, &item.summary.label, area.width), parts[0]);
            frame.render_widget(banner(app, &item.summary.label, area.width), parts[2]);
            messages::draw_messages(frame, app, parts[1], &item.summary.name);
        }
        None => {
            let text = Paragraph::new(
                "No channel yet. Create one:\n  /create NAME --tlp TLP:AMBER --level \"EU RESTRICTED\"\nor wait for an invitation. Press F1 for help.",
            )
            .wrap(Wrap { trim: false })
            .block(Block::default().borders(Borders::ALL).title(" Vigil "));
            frame.render_widget(text, parts[1]);
        }
    }
    draw_warnings(frame, app, warnings, parts[3]);
    draw_compose(frame, app, parts[4], &compose);
}

/// What is shown above the compose box: the newest persistent warnings, unverified members of
/// a sensitive channel, the last refusal and the channel's alert (all escaped).
/// The most pressing first (an alert, a refusal), so that a short terminal cuts the least.
fn warnings(app: &App) -> Vec<Warning> {
    let mut warnings: Vec<Warning> = Vec::new();
    if let Some(alert) = app.current().and_then(|c| c.summary.alert.as_ref()) {
        warnings.push((format!("ALERT: {}", line(alert)), true));
    }
    if let Some((text, true)) = &app.status {
        warnings.push((format!("REFUSED: {}", line(text)), true));
    }
    if let Some(w) = app.unverified_in_sensitive_channel() {
        warnings.push((line(&w).into_owned(), false));
    }
    let hidden = app.warnings.len().saturating_sub(MAX_WARNINGS_SHOWN);
    if hidden > 0 {
        warnings.push((
            format!(
                "{} warnings, the newest below, {hidden} more (Esc dismisses all)",
                app.warnings.len()
            ),
            false,
        ));
    }
    warnings.extend(
        app.warnings
            .iter()
            .rev()
            .take(MAX_WARNINGS_SHOWN)
            .map(|w| (line(w).into_owned(), false)),
    );
    warnings
}

/// Rows the warnings take wrapped to `width`, at most [`MAX_WARNING_ROWS`].
fn warning_rows(warnings: &[Warning], width: u16) -> u16 {
    let width = usize::from(width).max(10);
    let rows: usize = warnings
        .iter()
        .map(|(w, _)| (text::width(w) + 2).div_ceil(width))
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

/// The compose box: the rows around the cursor, and the terminal cursor there when it has the
/// keyboard; the title says which rows are shown when not all are.
fn draw_compose(frame: &mut Frame<'_>, app: &App, area: Rect, layout: &text::ComposeLayout) {
    let height = usize::from(area.height.saturating_sub(2)).max(1);
    let (row, column) = layout.cursor;
    let rows = &layout.rows;
    let total = rows.len().max(row + 1);
    let top = (row + 1).saturating_sub(height);
    let shown: Vec<Line<'_>> = rows
        .iter()
        .skip(top)
        .take(height)
        .map(|t| Line::from(t.clone()))
        .collect();
    let mut title = " Message (Enter sends, Alt-Enter new line, Alt-E editor, F1 help) ".to_owned();
    if total > height {
        title = format!(
            " Message: rows {}-{} of {total} ",
            top + 1,
            (top + height).min(total)
        );
    }
    let compose = Paragraph::new(shown).block(
        Block::default()
            .borders(Borders::ALL)
            .title(title)
            .border_style(focus_style(app, Focus::Compose)),
    );
    frame.render_widget(compose, area);
    if app.focus == Focus::Compose && app.mode == Mode::Normal {
        let x = area.x + 1 + u16::try_from(column).unwrap_or(0);
        let y = area.y + 1 + u16::try_from(row - top).unwrap_or(0);
        frame.set_cursor_position((x, y));
    }
}
