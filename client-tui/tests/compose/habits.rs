//! The habits: mentions, Esc on the unverified warning, readline keys, the sent history and
//! the editor key.

use ratatui::crossterm::event::KeyCode;
use vigil_client::engine::{Body, Entry, Event, Place};
use vigil_protocol::UnixTime;
use vigil_tui::config::Config;
use vigil_tui::tui::app::{Action, App, Focus, TrustMark, Update};

use crate::fixture::*;

#[test]
fn mentions_match_the_local_part_the_id_and_the_name_in_any_case_and_accents() {
    let app = app();
    for text in [
        "@officer please look",
        "ping officer@cert-at",
        "OFFICER@CERT-AT",
        "anna huber, your turn",
        "ÁNNA HÚBER",
    ] {
        assert!(app.names_me(text), "{text}");
    }
    for text in ["@officers", "@officer@cert-cz", "officer", "annahuber"] {
        assert!(!app.names_me(text), "{text}");
    }
    let tomas = App::new(
        user("tomas@cert-cz"),
        "Tomáš Dvořák".into(),
        &Config::default(),
    );
    assert!(tomas.names_me("tomáš dvořák: status?"));
    assert!(tomas.names_me("Tomas Dvorak: status?"));
    // A mention elsewhere marks the channel.
    let mut app = self::app();
    let _ = app.on_update(Update::Event(Event::Message {
        place: Place::Channel(RED),
        seq: 1,
        entry: Entry {
            sender: user("lead@cert-at"),
            sender_name: "Markus Gruber".into(),
            at: UnixTime(1_795_798_504),
            body: Body::Text("@officer can you check".into()),
            delivery: None,
            signer: None,
        },
    }));
    assert!(app.channels[1].mention);
}

#[test]
fn esc_dismisses_the_unverified_warning_until_the_members_change() {
    let mut app = app();
    let warning = "Unverified in this EU RESTRICTED channel";
    assert!(screen(&app).contains(warning));
    press(&mut app, KeyCode::Esc);
    assert!(!screen(&app).contains(warning));
    // Per channel.
    open(&mut app, "red-team");
    assert!(screen(&app).contains("Unverified in this TLP:RED channel"));
    open(&mut app, "incident-42");
    assert!(!screen(&app).contains(warning));
    // A new member brings it back.
    let mut list = channels();
    list[0].members.push(vigil_client::engine::MemberSummary {
        user: user("jan@cert-pl"),
        display_name: "Jan".into(),
        org: "CERT-PL".into(),
        clearance: "EU RESTRICTED".into(),
    });
    let _ = app.on_update(Update::Channels(list));
    assert!(screen(&app).contains("jan@cert-pl"));
    // So does a change in who is unverified.
    press(&mut app, KeyCode::Esc);
    let _ = app.on_update(Update::Trust(
        user("jan@cert-pl"),
        None,
        TrustMark::Verified,
    ));
    assert!(screen(&app).contains(warning));
}

#[test]
fn readline_keys_edit_the_box() {
    let mut app = app();
    typed(&mut app, "grep -i evil /var/log");
    app.on_key(ctrl('w'));
    assert_eq!(app.compose, "grep -i evil ");
    app.on_key(ctrl('y'));
    assert_eq!(app.compose, "grep -i evil /var/log");
    app.on_key(alt('b'));
    app.on_key(alt('b'));
    assert_eq!(app.cursor, 14);
    app.on_key(alt('d'));
    assert_eq!(app.compose, "grep -i evil //log");
    app.on_key(ctrl('a'));
    assert_eq!(app.cursor, 0);
    app.on_key(ctrl('d'));
    app.on_key(alt('f'));
    assert_eq!((app.compose.as_str(), app.cursor), ("rep -i evil //log", 3));
    app.on_key(ctrl('k'));
    assert_eq!(app.compose, "rep");
    app.on_key(ctrl('e'));
    app.on_key(ctrl('u'));
    assert_eq!(app.compose, "");
    // In a draft of several lines, the keys act on the cursor's line.
    app.on_paste("first line\nsecond line");
    app.on_key(ctrl('a'));
    assert_eq!(app.cursor, 11);
    app.on_key(ctrl('k'));
    assert_eq!(app.compose, "first line\n");
    press(&mut app, KeyCode::Backspace);
    app.on_key(ctrl('u'));
    assert_eq!(app.compose, "");
}

#[test]
fn up_and_down_walk_the_sent_history_in_an_empty_box_and_lines_in_a_draft() {
    let mut app = app();
    for text in ["one", "two"] {
        typed(&mut app, text);
        press(&mut app, KeyCode::Enter);
    }
    press(&mut app, KeyCode::Up);
    assert_eq!(app.compose, "two");
    press(&mut app, KeyCode::Up);
    press(&mut app, KeyCode::Up);
    assert_eq!(app.compose, "one");
    assert_eq!(app.scroll, 0, "Up no longer scrolls the messages");
    press(&mut app, KeyCode::Down);
    assert_eq!(app.compose, "two");
    press(&mut app, KeyCode::Down);
    assert_eq!(app.compose, "");
    assert_eq!(app.sent, ["one", "two"]);
    // Edited, a recalled line is a draft: Up moves in it.
    press(&mut app, KeyCode::Up);
    typed(&mut app, "\u{a0}more");
    press(&mut app, KeyCode::Up);
    assert_eq!((app.compose.as_str(), app.cursor), ("two\u{a0}more", 0));
    // Up and Down move between the lines of a draft, keeping the column.
    app.on_key(ctrl('u'));
    app.on_key(ctrl('k'));
    app.on_paste("abcdef\nab\nabcdef");
    press(&mut app, KeyCode::Up);
    assert_eq!(app.cursor, 9);
    press(&mut app, KeyCode::Up);
    assert_eq!(app.cursor, 2);
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Down);
    assert_eq!(app.cursor, 12);
}

#[test]
fn the_editor_key_asks_for_the_editor_and_its_text_replaces_the_draft() {
    let mut app = app();
    typed(&mut app, "draft");
    assert_eq!(app.on_key(alt('e')), [Action::Editor]);
    let _ = app.on_update(Update::Edited("draft\nfrom the editor".into()));
    assert_eq!(
        (app.compose.as_str(), app.cursor),
        ("draft\nfrom the editor", 21)
    );
    // A failed or emptied edit leaves the draft.
    let _ = app.on_update(Update::Refused("the editor \"vi\" failed".into()));
    let _ = app.on_update(Update::Edited(String::new()));
    assert_eq!(app.compose, "draft\nfrom the editor");
    // The key is configurable.
    let mut config = Config::default();
    config.keys.editor = "f2".into();
    config.keys.next_pane = "ctrl-o".into();
    let mut app = app_with(&config);
    assert_eq!(press(&mut app, KeyCode::F(2)), [Action::Editor]);
    app.on_key(ctrl('o'));
    assert_eq!(app.focus, Focus::Channels);
}
