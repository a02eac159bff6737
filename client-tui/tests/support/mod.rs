//! What the TUI tests share: an app with three labelled channels, entries, keys, and a
//! screen of any size to draw it on (ratatui's `TestBackend`).

#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "test code: each test file uses part of it; a failed unwrap is a failed test"
)]

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use vigil_client::engine::{Body, ChannelSummary, Entry, Event, MemberSummary, Place};
use vigil_protocol::channel::ChannelId;
use vigil_protocol::label::Label;
use vigil_protocol::policy::ClassificationPolicy;
use vigil_protocol::{UnixTime, UserId};
use vigil_tui::config::{ColourDepth, Colours, Config, TimeZoneChoice};
use vigil_tui::tui::app::{Action, App, Update};
use vigil_tui::tui::view;

/// 2026-11-28T13:21:44Z.
pub(crate) const NOON: u64 = 1_795_872_104;

pub(crate) fn user(id: &str) -> UserId {
    UserId::new(id).unwrap()
}

pub(crate) fn label(tlp: &str, level: &str, caveats: &[&str]) -> Label {
    Label::new(tlp, level, caveats, ClassificationPolicy::eu()).unwrap()
}

pub(crate) fn channel(n: u8, name: &str, label: Label) -> ChannelSummary {
    let member = |id: &str, name: &str, org: &str| MemberSummary {
        user: user(id),
        display_name: name.into(),
        org: org.into(),
        clearance: "EU SECRET".into(),
    };
    ChannelSummary {
        id: ChannelId([n; 32]),
        name: name.into(),
        label,
        owner: user("lead@cert-at"),
        admins: vec![],
        alert: None,
        members: vec![
            member("lead@cert-at", "Markus Gruber", "CERT-AT"),
            member("officer@cert-at", "Anna Huber", "CERT-AT"),
            member("petra@cert-cz", "Petra Svobodová", "CERT-CZ"),
        ],
        epoch: 0,
        member: true,
    }
}

pub(crate) fn entry_at(sender: &str, at: u64, body: Body) -> Entry {
    Entry {
        sender: user(sender),
        sender_name: sender.split('@').next().unwrap().into(),
        at: UnixTime(at),
        body,
        delivery: None,
        signer: None,
    }
}

pub(crate) fn text(sender: &str, text: &str) -> Entry {
    entry_at(sender, NOON, Body::Text(text.into()))
}

/// The settings the tests draw with: `colours`, 24-bit colour, UTC.
pub(crate) fn config(colours: bool) -> Config {
    Config {
        colours: if colours {
            Colours::Always
        } else {
            Colours::Never
        },
        colour_depth: ColourDepth::Truecolor,
        time: TimeZoneChoice::Utc,
        ..Config::default()
    }
}

/// An app for officer@cert-at with three channels, the first open with an empty history.
pub(crate) fn app_with(config: &Config) -> App {
    let mut app = App::new(user("officer@cert-at"), "Anna Huber".into(), config);
    let _ = app.on_update(Update::Channels(vec![
        channel(1, "incident-42", label("TLP:AMBER", "EU RESTRICTED", &[])),
        channel(2, "red-team", label("TLP:RED", "EU SECRET", &[])),
        channel(3, "public", label("TLP:CLEAR", "UNCLASSIFIED", &[])),
    ]));
    let _ = app.on_update(Update::History(ChannelId([1; 32]), None, Vec::new()));
    app
}

pub(crate) fn app() -> App {
    app_with(&config(true))
}

/// Entry `entry` arrives in channel `n` with sequence number `seq`.
pub(crate) fn arrive(app: &mut App, n: u8, seq: u64, entry: Entry) -> Vec<Action> {
    app.on_update(Update::Event(Event::Message {
        place: Place::Channel(ChannelId([n; 32])),
        seq,
        entry,
    }))
}

pub(crate) fn key(app: &mut App, code: KeyCode) -> Vec<Action> {
    app.on_key(KeyEvent::new(code, KeyModifiers::NONE))
}

pub(crate) fn key_with(app: &mut App, code: KeyCode, modifiers: KeyModifiers) -> Vec<Action> {
    app.on_key(KeyEvent::new(code, modifiers))
}

/// A terminal of `width` × `height` cells.
pub(crate) struct Screen {
    terminal: Terminal<TestBackend>,
}

impl Screen {
    pub(crate) fn new(width: u16, height: u16) -> Self {
        Self {
            terminal: Terminal::new(TestBackend::new(width, height)).unwrap(),
        }
    }

    /// Draws `app` and returns the screen's text, one line per row.
    pub(crate) fn draw(&mut self, app: &App) -> String {
        self.terminal.draw(|f| view::draw(f, app)).unwrap();
        text_of(self.buffer())
    }

    pub(crate) fn buffer(&self) -> &Buffer {
        self.terminal.backend().buffer()
    }

    pub(crate) fn cursor(&mut self) -> (u16, u16) {
        let p = self.terminal.get_cursor_position().unwrap();
        (p.x, p.y)
    }
}

/// The text of `buffer`, one line per row (a wide character's hidden cell adds nothing).
pub(crate) fn text_of(buffer: &Buffer) -> String {
    let mut text = String::new();
    for y in 0..buffer.area.height {
        let mut skip = 0;
        for x in 0..buffer.area.width {
            if skip > 0 {
                skip -= 1;
                continue;
            }
            let symbol = buffer[(x, y)].symbol();
            skip = unicode_width::UnicodeWidthStr::width(symbol).saturating_sub(1);
            text.push_str(symbol);
        }
        text.push('\n');
    }
    text
}
