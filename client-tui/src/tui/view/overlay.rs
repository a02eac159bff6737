//! The overlays drawn over the screen: help, information (label, members, whois, search
//! results) and the safety number.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use vigil_protocol::UserId;

use super::{style, text};
use crate::tui::app::{App, COMMANDS};
use vigil_client::sanitize::line;

/// Widest an overlay (help, information, safety number) is drawn.
const MAX_OVERLAY_WIDTH: u16 = 110;

/// The safety number screen's text.
pub(super) fn verify_lines(user: &UserId, number: &str, status: &str) -> Vec<String> {
    vec![
        format!("Safety number with {user}:"),
        String::new(),
        number.to_owned(),
        String::new(),
        format!("Status: {status}"),
        String::new(),
        "Compare it with them in person or by phone: every digit.".into(),
        "Press Alt-V if it matches to mark them verified; Esc otherwise.".into(),
        "If it does not match, do not trust this contact: call them.".into(),
    ]
}

/// The help screen: the keys, the commands and the markers.
pub(super) fn help_lines() -> Vec<String> {
    let mut lines = vec![
        "Keys".to_owned(),
        "  Enter            send the message (or run a /command); Alt-Enter, Shift-Enter, Ctrl-J: \
         new line"
            .into(),
        "  Tab              complete a /command, @user, user or channel (in the message box only)"
            .into(),
        "  F6               next pane: channels, messages, message box (Tab too outside the box)"
            .into(),
        "  Ctrl-N / Ctrl-P  next / previous channel; Alt-A the next with unread messages".into(),
        "  PageUp/PageDown  a page of the history (one row stays in view; older loads)".into(),
        "  j/k, arrows      a row in the history, or move in the channel list".into(),
        "  Home/End, g/G    the first message of the channel / the newest (message pane)".into(),
        "  Alt-N            the \"new since you left\" line; /jump DATE for a day".into(),
        "  Mouse            wheel scrolls; a click opens a channel (Shift-drag selects)".into(),
        "  Alt-Left/Right   narrower / wider channel list; F9 hides it".into(),
        "  Ctrl-L           redraw the whole screen".into(),
        "  Up / Down        in the message box: what you sent (empty box), else the draft's lines"
            .into(),
        "  Ctrl-A/E, Ctrl-B/F, Alt-B/F  line start/end; a character, a word back/forward".into(),
        "  Ctrl-W/U/K, Alt-D            cut the word before, to the line start/end, the word after"
            .into(),
        "  Ctrl-D, Ctrl-Y, Alt-E        delete a character; paste the last cut; $VISUAL/$EDITOR"
            .into(),
        "  Esc              dismiss warnings and the status message; close a window".into(),
        "  F1, /help        this screen (? too, outside the message box)".into(),
        "  Ctrl-C, /quit    leave vigil (asks first when the message box holds a draft)".into(),
        String::new(),
        "Commands".into(),
    ];
    lines.extend(
        COMMANDS
            .iter()
            .map(|(usage, what)| format!("  {usage:<52} {what}")),
    );
    lines.push(String::new());
    lines.extend([
        "A /line that is not a command stays in the box: Enter again sends it as text (// at \
         once)."
            .to_owned(),
        "/invite, /remove and /relabel act on the channel in view; they ask first when it is \
         TLP:RED, TLP:AMBER+STRICT"
            .to_owned(),
        "or classified, or not the channel your last command or message went to (/relabel also \
         before lowering the label)."
            .to_owned(),
        String::new(),
    ]);
    lines.push(
        "Markers: [you] [verified] [unverified] [KEY CHANGED]; (queued) (sent) (NOT SENT)".into(),
    );
    lines
}

/// Draws `lines` in a box titled `title` over the middle of the screen (escaped), scrolled as
/// the app says; the title says which lines are shown when not all fit.
pub(super) fn draw_overlay(frame: &mut Frame<'_>, app: &App, title: &str, lines: &[String]) {
    let area = frame.area();
    let width = area
        .width
        .saturating_sub(8)
        .min(MAX_OVERLAY_WIDTH)
        .max(10.min(area.width));
    let inner_width = usize::from(width.saturating_sub(2)).max(1);
    // Overlays list members, caveats and answers: each line drawn through the sanitiser, then
    // wrapped here so the scroll counts the rows drawn.
    let rows: Vec<Line<'static>> = lines
        .iter()
        .flat_map(|l| text::wrap(&Line::from(line(l).into_owned()), inner_width, 2))
        .collect();
    let height = u16::try_from(rows.len() + 2)
        .unwrap_or(u16::MAX)
        .min(area.height.saturating_sub(2))
        .max(3.min(area.height));
    let inner_rows = usize::from(height.saturating_sub(2)).max(1);
    let mut geometry = app.geometry.get();
    geometry.overlay_rows = u16::try_from(inner_rows).unwrap_or(1);
    geometry.overlay_total = rows.len();
    app.geometry.set(geometry);
    let top = app
        .overlay_scroll
        .min(rows.len().saturating_sub(inner_rows));
    let rect = Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height.saturating_sub(height)) / 2,
        width,
        height,
    };
    frame.render_widget(Clear, rect);
    let title = if rows.len() > inner_rows {
        format!(
            " {} (rows {}-{} of {}; arrows, PgUp/PgDn; Esc closes) ",
            line(title),
            top + 1,
            (top + inner_rows).min(rows.len()),
            rows.len()
        )
    } else {
        format!(" {} (Esc closes) ", line(title))
    };
    let shown: Vec<Line<'_>> = rows.into_iter().skip(top).take(inner_rows).collect();
    let block = Block::default()
        .borders(Borders::ALL)
        .title(title)
        .border_style(style(app, Style::default().fg(Color::Cyan)));
    frame.render_widget(Paragraph::new(shown).block(block), rect);
}
