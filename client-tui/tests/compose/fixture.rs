//! A member in four channels (TLP:AMBER/EU RESTRICTED, TLP:RED/EU SECRET, TLP:CLEAR and
//! TLP:GREEN, both unclassified), and keys to press, text to type and the screen to read.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use vigil_client::engine::{ChannelSummary, MemberSummary};
use vigil_protocol::UserId;
use vigil_protocol::channel::ChannelId;
use vigil_protocol::label::Label;
use vigil_protocol::policy::ClassificationPolicy;
use vigil_tui::config::Config;
use vigil_tui::tui::app::{Action, App, Mode, Update};

pub(crate) const INCIDENT: ChannelId = ChannelId([1; 32]);
pub(crate) const RED: ChannelId = ChannelId([2; 32]);
pub(crate) const PUBLIC: ChannelId = ChannelId([3; 32]);
pub(crate) const GREEN: ChannelId = ChannelId([4; 32]);

pub(crate) fn user(id: &str) -> UserId {
    UserId::new(id).unwrap()
}

pub(crate) fn label(tlp: &str, level: &str) -> Label {
    Label::new(tlp, level, &[], ClassificationPolicy::eu()).unwrap()
}

pub(crate) fn channel(id: ChannelId, name: &str, label: Label, owner: &str) -> ChannelSummary {
    let member = |id: &str, name: &str, org: &str| MemberSummary {
        user: user(id),
        display_name: name.into(),
        org: org.into(),
        clearance: "EU SECRET".into(),
    };
    ChannelSummary {
        id,
        name: name.into(),
        label,
        owner: user(owner),
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

pub(crate) fn channels() -> Vec<ChannelSummary> {
    vec![
        channel(
            INCIDENT,
            "incident-42",
            label("TLP:AMBER", "EU RESTRICTED"),
            "lead@cert-at",
        ),
        channel(
            RED,
            "red-team",
            label("TLP:RED", "EU SECRET"),
            "lead@cert-at",
        ),
        channel(
            PUBLIC,
            "public",
            label("TLP:CLEAR", "UNCLASSIFIED"),
            "lead@cert-at",
        ),
        channel(
            GREEN,
            "green",
            label("TLP:GREEN", "UNCLASSIFIED"),
            "lead@cert-at",
        ),
    ]
}

pub(crate) fn app_with(config: &Config) -> App {
    let mut app = App::new(user("officer@cert-at"), "Anna Huber".into(), config);
    let _ = app.on_update(Update::Channels(channels()));
    for id in [INCIDENT, RED, PUBLIC, GREEN] {
        let _ = app.on_update(Update::History(id, None, Vec::new()));
    }
    app
}

pub(crate) fn app() -> App {
    app_with(&Config::default())
}

pub(crate) fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

pub(crate) fn ctrl(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)
}

pub(crate) fn alt(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::ALT)
}

pub(crate) fn press(app: &mut App, code: KeyCode) -> Vec<Action> {
    app.on_key(key(code))
}

pub(crate) fn typed(app: &mut App, text: &str) -> Vec<Action> {
    text.chars()
        .flat_map(|c| app.on_key(key(KeyCode::Char(c))))
        .collect()
}

pub(crate) fn open(app: &mut App, name: &str) {
    typed(app, &format!("/open {name}"));
    assert!(press(app, KeyCode::Enter).is_empty());
    assert_eq!(app.current().unwrap().summary.name, name);
}

pub(crate) fn screen(app: &App) -> String {
    crate::support::Screen::new(120, 30).draw(app)
}

pub(crate) fn refused(app: &App) -> bool {
    app.status.as_ref().is_some_and(|(_, refusal)| *refusal)
}

pub(crate) fn question_open(app: &App) -> bool {
    matches!(&app.mode, Mode::Info { title, .. } if title == "Confirm")
}
