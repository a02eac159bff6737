//! The TUI's screen and keys, on ratatui's `TestBackend`: banners (text and FIRST colour per
//! label, and without colour), unread counts, placeholders, warnings, and what keys do.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "test code: a failed unwrap is a failed test"
)]

mod support;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::style::Color;
use support::{Screen, channel, config, user};
use vigil_client::engine::{Body, Delivery, Entry, Event, Place, TrustWarning};
use vigil_protocol::channel::ChannelId;
use vigil_protocol::label::Label;
use vigil_tui::tui::app::{Action, App, Focus, Mode, Update};

fn label(tlp: &str, level: &str) -> Label {
    support::label(tlp, level, &[])
}

fn entry(sender: &str, body: Body) -> Entry {
    support::entry_at(sender, 1_795_798_504, body)
}

fn app(colour: bool) -> App {
    support::app_with(&config(colour))
}

fn render(app: &App) -> (String, ratatui::buffer::Buffer) {
    let mut screen = Screen::new(120, 30);
    let text = screen.draw(app);
    (text, screen.buffer().clone())
}

/// The foreground colour of the first cell of `needle` on screen.
fn colour_of(text: &str, buffer: &ratatui::buffer::Buffer, needle: &str) -> Color {
    let line = text.lines().position(|l| l.contains(needle)).unwrap();
    let column = text.lines().nth(line).unwrap().find(needle).unwrap();
    let x = text.lines().nth(line).unwrap()[..column].chars().count();
    buffer[(u16::try_from(x).unwrap(), u16::try_from(line).unwrap())].fg
}

#[test]
fn banners_show_the_label_above_and_below_in_its_first_colour() {
    for (index, tlp, level, rgb) in [
        (
            0,
            "TLP:AMBER",
            "EU RESTRICTED",
            Color::Rgb(0xFF, 0xC0, 0x00),
        ),
        (1, "TLP:RED", "EU SECRET", Color::Rgb(0xFF, 0x2B, 0x2B)),
        (2, "TLP:CLEAR", "UNCLASSIFIED", Color::Rgb(0xFF, 0xFF, 0xFF)),
    ] {
        let mut app = app(true);
        let _ = app.on_key(KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE));
        for _ in 0..index {
            let _ = app.on_key(KeyEvent::new(KeyCode::Char('n'), KeyModifiers::CONTROL));
        }
        let (text, buffer) = render(&app);
        let banner = format!("==== {tlp} | {level} ====");
        assert_eq!(text.matches(&banner).count(), 2, "{text}");
        assert_eq!(colour_of(&text, &buffer, &banner), rgb);
    }
}

#[test]
fn without_colour_the_labels_are_still_there_as_text() {
    let app = app(false);
    let (text, buffer) = render(&app);
    assert_eq!(
        text.matches("==== TLP:AMBER | EU RESTRICTED ====").count(),
        2,
        "{text}"
    );
    assert!(text.contains("[AMBER] incident-42") && text.contains("[RED] red-team"));
    let coloured = buffer
        .content()
        .iter()
        .any(|cell| matches!(cell.fg, Color::Rgb(..)));
    assert!(!coloured, "NO_COLOR: no RGB colour anywhere");
}

#[test]
fn unread_counts_mentions_placeholders_and_warnings_are_drawn() {
    let mut app = app(true);
    let _ = app.on_update(Update::History(ChannelId([2; 32]), None, Vec::new()));
    for text in ["one", "two for @officer@cert-at"] {
        let _ = app.on_update(Update::Event(Event::Message {
            place: Place::Channel(ChannelId([2; 32])),
            seq: 10,
            entry: entry("lead@cert-at", Body::Text(text.into())),
        }));
    }
    let _ = app.on_update(Update::Event(Event::Message {
        place: Place::Channel(ChannelId([1; 32])),
        seq: 11,
        entry: entry(
            "petra@cert-cz",
            Body::Undecryptable("message signature does not verify".into()),
        ),
    }));
    let _ = app.on_update(Update::Event(Event::Trust {
        user: user("petra@cert-cz"),
        warning: TrustWarning::KeyChanged,
    }));
    let mut own = entry("officer@cert-at", Body::Text("on it".into()));
    own.delivery = Some(Delivery::Queued);
    let _ = app.on_update(Update::Event(Event::Message {
        place: Place::Channel(ChannelId([1; 32])),
        seq: 12,
        entry: own,
    }));
    let (text, _) = render(&app);
    assert!(text.contains("red-team (2) @"), "{text}");
    assert!(
        text.contains("[could not decrypt or verify: message signature does not"),
        "{text}"
    );
    assert!(text.contains("The keys of petra@cert-cz CHANGED"), "{text}");
    assert!(text.contains("[you] (queued): on it"), "{text}");
    assert!(
        text.contains("Unverified in this EU RESTRICTED channel"),
        "{text}"
    );
    // The delivery state follows the outbox.
    let _ = app.on_update(Update::Event(Event::Delivery {
        channel: ChannelId([1; 32]),
        seq: 12,
        state: Delivery::Sent,
    }));
    assert!(render(&app).0.contains("[you] (sent): on it"));
    // Alt-A jumps to the channel with unread messages and clears its count.
    let _ = app.on_key(KeyEvent::new(KeyCode::Char('a'), KeyModifiers::ALT));
    assert_eq!(app.current().unwrap().summary.name, "red-team");
    assert!(!render(&app).0.contains("(2)"));
}

/// What a hostile member puts in a message, a display name, a notice or a reason: an OSC title
/// change ended by BEL, a carriage return (to overwrite the line) and a right-to-left override.
const HOSTILE: &str = "\u{1b}]0;pwned\u{7}\r\u{202e}";

#[test]
fn a_channel_alert_stays_on_screen_in_red_until_it_is_resolved() {
    let mut app = app(true);
    let mut alerted = channel(1, "incident-42", label("TLP:AMBER", "EU RESTRICTED"));
    alerted.alert = Some("The history of this channel has forked: tell the owner".into());
    let _ = app.on_update(Update::Channels(vec![alerted]));
    let (text, buffer) = render(&app);
    assert!(
        text.contains("ALERT: The history of this channel has forked"),
        "{text}"
    );
    let line = text.lines().position(|l| l.contains("ALERT:")).unwrap();
    let x = text.lines().nth(line).unwrap().find("! ALERT").unwrap();
    assert_eq!(
        buffer[(u16::try_from(x).unwrap(), u16::try_from(line).unwrap())].bg,
        Color::Red
    );
    let _ = app.on_update(Update::Channels(vec![channel(
        1,
        "incident-42",
        label("TLP:AMBER", "EU RESTRICTED"),
    )]));
    assert!(!render(&app).0.contains("ALERT:"));
}

fn assert_nothing_raw(text: &str) {
    for c in ['\u{1b}', '\r', '\u{7}', '\u{202e}'] {
        assert!(!text.contains(c), "raw {c:?} on screen:\n{text}");
    }
}

#[test]
fn hostile_text_reaches_the_screen_escaped_never_raw() {
    let mut app = app(true);
    let mut message = entry(
        "petra@cert-cz",
        Body::Text(format!("see{HOSTILE}x\nsecond line")),
    );
    message.sender_name = format!("P{HOSTILE}");
    let notice = entry("lead@cert-at", Body::Notice(format!("renamed{HOSTILE}")));
    let failed = entry(
        "petra@cert-cz",
        Body::Undecryptable(format!("bad{HOSTILE}")),
    );
    for (seq, entry) in [(1, message), (2, notice), (3, failed)] {
        let _ = app.on_update(Update::Event(Event::Message {
            place: Place::Channel(ChannelId([1; 32])),
            seq,
            entry,
        }));
    }
    let (text, _) = render(&app);
    assert_nothing_raw(&text);
    assert!(text.contains(r"\u{1b}]0;pwned\u{7}\u{d}\u{202e}"), "{text}");
    assert!(text.contains("second line"), "{text}");
    // Overlays (members, whois, label) show member-chosen names too.
    let _ = app.on_update(Update::Info(
        format!("Members{HOSTILE}"),
        vec![format!("Petra{HOSTILE} <petra@cert-cz>  CERT-CZ")],
    ));
    let (text, _) = render(&app);
    assert_nothing_raw(&text);
    assert!(text.contains(r"Petra\u{1b}]0;pwned"), "{text}");
}

fn typed(app: &mut App, text: &str) {
    for c in text.chars() {
        let _ = app.on_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
    }
}

#[test]
fn keys_compose_complete_and_dispatch() {
    let mut app = app(true);
    assert_eq!(app.focus, Focus::Compose);
    typed(&mut app, "line one");
    let _ = app.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::ALT));
    typed(&mut app, "line two");
    app.on_paste("pasted\r\nlog 198.51.100.7\n");
    let actions = app.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    assert_eq!(
        actions,
        [Action::Send(
            ChannelId([1; 32]),
            "line one\nline twopasted\nlog 198.51.100.7\n".into()
        )]
    );
    // Tab completes commands, then user ids.
    typed(&mut app, "/inv");
    let _ = app.on_key(KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE));
    assert_eq!(app.compose, "/invite ");
    typed(&mut app, "pet");
    let _ = app.on_key(KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE));
    assert_eq!(app.compose, "/invite petra@cert-cz ");
    // The channel is classified: the invitation names it and its label, and asks first.
    assert!(
        app.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE))
            .is_empty()
    );
    assert!(
        render(&app)
            .0
            .contains("Invite petra@cert-cz to incident-42 [TLP:AMBER | EU RESTRICTED]?")
    );
    let actions = app.on_key(KeyEvent::new(KeyCode::Char('y'), KeyModifiers::NONE));
    assert_eq!(
        actions,
        [Action::Invite(ChannelId([1; 32]), user("petra@cert-cz"))]
    );
    // A /create without a level is refused with the usage, and stays in the box.
    typed(&mut app, "/create x --tlp TLP:AMBER");
    let actions = app.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    assert!(actions.is_empty());
    assert!(app.status.as_ref().unwrap().1);
    assert_eq!(app.compose, "/create x --tlp TLP:AMBER");
    let _ = app.on_key(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL));
    typed(
        &mut app,
        "/create ir-7 --tlp TLP:RED --level \"EU SECRET\" --caveat \"REL TO AT\"",
    );
    let actions = app.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    let Action::Create(name, label) = &actions[0] else {
        panic!("{actions:?}");
    };
    assert_eq!(name, "ir-7");
    assert_eq!(label.to_string(), "TLP:RED | EU SECRET | REL TO AT");
    // F1 opens help; Esc closes it; /label shows the rules.
    let _ = app.on_key(KeyEvent::new(KeyCode::F(1), KeyModifiers::NONE));
    assert_eq!(app.mode, Mode::Help);
    assert!(render(&app).0.contains("Commands"));
    let _ = app.on_key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE));
    typed(&mut app, "/label");
    let _ = app.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    let (text, _) = render(&app);
    assert!(
        text.contains("TLP:AMBER: members of trusted organisations"),
        "{text}"
    );
    let _ = app.on_key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE));
    // Ctrl-C quits.
    let actions = app.on_key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
    assert_eq!(actions, [Action::Quit]);
}

#[test]
fn history_pages_merge_with_live_messages_without_duplicates() {
    let mut app = app(true);
    let page: Vec<(u64, Entry)> = (0..5u64)
        .rev()
        .map(|i| (i, entry("lead@cert-at", Body::Text(format!("m{i}")))))
        .collect();
    // A live message that is also in the page (it was stored before the page was read).
    let _ = app.on_update(Update::Event(Event::Message {
        place: Place::Channel(ChannelId([1; 32])),
        seq: 4,
        entry: entry("lead@cert-at", Body::Text("m4".into())),
    }));
    let _ = app.on_update(Update::History(ChannelId([1; 32]), None, page));
    let _ = app.on_update(Update::Event(Event::Message {
        place: Place::Channel(ChannelId([1; 32])),
        seq: 4,
        entry: entry("lead@cert-at", Body::Text("m4".into())),
    }));
    let seqs: Vec<u64> = app.messages[&ChannelId([1; 32])]
        .iter()
        .map(|(s, _)| *s)
        .collect();
    assert_eq!(seqs, [0, 1, 2, 3, 4]);
}

#[test]
fn a_change_of_the_organisations_partners_is_shown_naming_them() {
    let mut app = app(true);
    let change = vigil_protocol::cert::TrustChange {
        version: 4,
        added: vec!["CERT-SK".parse().unwrap()],
        removed: vec!["CERT-CZ".parse().unwrap()],
        ..Default::default()
    };
    let actions = app.on_update(Update::Event(Event::Partners(change)));
    assert!(actions.contains(&Action::RefreshChannels));
    let (text, _) = render(&app);
    assert!(text.contains("now trusting CERT-SK"), "{text}");
    assert!(text.contains("no longer trusting CERT-CZ"), "{text}");
}
