//! What the terminal shows while the demo provisions its organisations and starts the relay
//! (several seconds in a debug build): a line saying so, drawn at once, instead of a blank
//! screen.

use ratatui::DefaultTerminal;
use ratatui::layout::{Alignment, Constraint, Layout};
use ratatui::widgets::{Paragraph, Wrap};

/// What the splash says.
const TEXT: &str = "Vigil demo\n\nProvisioning CERT-AT and CERT-CZ with vigil-keytool and \
                    starting the demo relay on 127.0.0.1…\nthe incident channel opens in a few \
                    seconds.";

/// Takes the terminal (alternate screen, raw mode) and draws the splash; `None` when the
/// terminal cannot be set up (the TUI will say why).
pub(super) fn show() -> Option<DefaultTerminal> {
    let mut terminal = ratatui::try_init().ok()?;
    let drawn = terminal.draw(|frame| {
        let [_, middle, _] = Layout::vertical([
            Constraint::Fill(1),
            Constraint::Length(5),
            Constraint::Fill(1),
        ])
        .areas(frame.area());
        let text = Paragraph::new(TEXT)
            .alignment(Alignment::Center)
            .wrap(Wrap { trim: true });
        frame.render_widget(text, middle);
    });
    if drawn.is_err() {
        ratatui::restore();
        return None;
    }
    Some(terminal)
}

/// Clears the splash for the TUI (which draws on a blank screen), or gives the terminal back
/// when the demo could not start (so its error is readable).
pub(super) fn hide(splash: Option<DefaultTerminal>, started: bool) {
    let Some(mut terminal) = splash else {
        return;
    };
    if started {
        let _ = terminal.clear();
    } else {
        ratatui::restore();
    }
}
