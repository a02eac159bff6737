//! The defects: Tab, unknown and refused commands, `?`, late windows, Ctrl-C, drafts per
//! channel, `/create` and the membership commands' questions.

use ratatui::crossterm::event::{KeyCode, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use vigil_protocol::channel::ChannelId;
use vigil_tui::tui::app::{Action, Focus, Mode, Update};

use crate::fixture::*;

#[test]
fn tab_in_the_compose_box_only_completes_and_f6_moves_between_panes() {
    let mut app = app();
    typed(&mut app, "ip");
    press(&mut app, KeyCode::Tab);
    typed(&mut app, "198.51.100.1 jk");
    assert_eq!(app.focus, Focus::Compose);
    assert_eq!(app.compose, "ip198.51.100.1 jk");
    assert_eq!(app.current().unwrap().summary.id, INCIDENT);
    // F6 goes to the list; Tab walks the other panes; a letter that is not theirs goes back to
    // the box, typed.
    press(&mut app, KeyCode::F(6));
    assert_eq!(app.focus, Focus::Channels);
    press(&mut app, KeyCode::Tab);
    assert_eq!(app.focus, Focus::Messages);
    typed(&mut app, "x");
    assert_eq!(app.focus, Focus::Compose);
    assert_eq!(app.compose, "ip198.51.100.1 jkx");
    // Tab after @ completes a user id (a mention), after any blank.
    app.on_key(ctrl('u'));
    typed(&mut app, "ask\u{a0}@pe");
    press(&mut app, KeyCode::Tab);
    assert_eq!(app.compose, "ask\u{a0}@petra@cert-cz ");
}

#[test]
fn a_line_that_is_not_a_command_stays_and_a_second_enter_sends_it_as_text() {
    let mut app = app();
    let line = "/var/log/auth.log shows 4,000 failed logins";
    typed(&mut app, line);
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    assert_eq!(app.compose, line);
    assert!(refused(&app));
    assert!(screen(&app).contains("/var/log/auth.log is not a command"));
    let actions = press(&mut app, KeyCode::Enter);
    assert_eq!(actions, [Action::Send(INCIDENT, line.into())]);
    assert_eq!(
        app.status,
        Some(("sent as text: it was not a command".into(), false))
    );
    assert!(app.compose.is_empty());
    // A typo stays too; once edited, it is a new line, refused again rather than sent.
    typed(&mut app, "/creat x");
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    typed(&mut app, "y");
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    assert_eq!(app.compose, "/creat xy");
    app.on_key(ctrl('u'));
    // // sends the rest as text at once.
    typed(&mut app, "//etc/passwd was read");
    let actions = press(&mut app, KeyCode::Enter);
    assert_eq!(
        actions,
        [Action::Send(INCIDENT, "/etc/passwd was read".into())]
    );
}

#[test]
fn a_refused_command_stays_in_the_box_with_the_reason() {
    for line in [
        "/invite",
        "/invite petra@cert-cz #red-team",
        "/whois not an id",
        "/create x --tlp TLP:PINK --level UNCLASSIFIED",
        "/create x --tlp TLP:AMBER",
        "/open nowhere",
        "/export",
        "/leave",
    ] {
        let mut app = app();
        typed(&mut app, line);
        assert!(press(&mut app, KeyCode::Enter).is_empty(), "{line}");
        assert_eq!(app.compose, line);
        assert!(refused(&app), "{line}");
        assert!(!question_open(&app), "{line}");
    }
}

#[test]
fn a_question_mark_types_in_the_box_and_opens_help_elsewhere() {
    let mut app = app();
    typed(&mut app, "?? which host");
    assert_eq!(
        (app.compose.as_str(), &app.mode),
        ("?? which host", &Mode::Normal)
    );
    press(&mut app, KeyCode::F(1));
    assert_eq!(app.mode, Mode::Help);
    press(&mut app, KeyCode::Esc);
    press(&mut app, KeyCode::F(6));
    typed(&mut app, "?");
    assert_eq!(app.mode, Mode::Help);
    // Opened from a pane, help takes j/k and q there; typing goes on in the box. (It scrolls
    // within its text as drawn.)
    let _ = screen(&app);
    typed(&mut app, "jj");
    assert_eq!(app.overlay_scroll, 2);
    typed(&mut app, "q");
    assert_eq!(app.mode, Mode::Normal);
    assert_eq!(app.compose, "?? which host");
}

#[test]
fn a_window_that_arrives_while_typing_takes_no_keys_meant_for_the_box() {
    let mut app = app();
    typed(&mut app, "hel");
    let _ = app.on_update(Update::Info("whois petra@cert-cz".into(), vec!["x".into()]));
    typed(&mut app, "lo q?");
    assert_eq!(app.compose, "hello q?");
    assert!(matches!(app.mode, Mode::Info { .. }));
    // Enter still sends what was typed; only Esc closes the window.
    assert_eq!(
        press(&mut app, KeyCode::Enter),
        [Action::Send(INCIDENT, "hello q?".into())]
    );
    assert!(matches!(app.mode, Mode::Info { .. }));
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.mode, Mode::Normal);
    // The safety number screen arrives late too: typing "very" does not mark anyone verified.
    let _ = app.on_update(Update::Safety(
        user("petra@cert-cz"),
        "12345 67890".into(),
        "unverified".into(),
    ));
    assert!(typed(&mut app, "very good").is_empty());
    assert_eq!(app.compose, "very good");
    assert_eq!(
        app.on_key(alt('v')),
        [Action::MarkVerified(
            user("petra@cert-cz"),
            "12345 67890".into()
        )]
    );
    assert_eq!(app.mode, Mode::Normal);
}

#[test]
fn ctrl_c_with_a_draft_asks_first() {
    let mut app = app();
    typed(&mut app, "half a report");
    assert!(app.on_key(ctrl('c')).is_empty());
    assert!(question_open(&app) && !app.quit);
    // Anything else cancels and is not typed.
    assert!(typed(&mut app, "n").is_empty());
    assert_eq!((app.compose.as_str(), app.quit), ("half a report", false));
    assert_eq!(app.mode, Mode::Normal);
    app.on_key(ctrl('c'));
    assert_eq!(app.on_key(ctrl('c')), [Action::Quit]);
    let mut app = self::app();
    typed(&mut app, "x");
    app.on_key(ctrl('c'));
    assert_eq!(typed(&mut app, "y"), [Action::Quit]);
    // An empty box quits at once.
    let mut app = self::app();
    assert_eq!(app.on_key(ctrl('c')), [Action::Quit]);
}

#[test]
fn a_draft_is_kept_per_channel() {
    let mut app = app();
    typed(&mut app, "half");
    app.on_key(ctrl('n'));
    assert_eq!(app.current().unwrap().summary.id, RED);
    assert_eq!(app.compose, "");
    assert_eq!(app.drafts.get(&INCIDENT).map(String::as_str), Some("half"));
    typed(&mut app, "other");
    app.on_key(ctrl('p'));
    assert_eq!((app.compose.as_str(), app.cursor), ("half", 4));
    assert_eq!(app.drafts.get(&RED).map(String::as_str), Some("other"));
    assert!(!app.drafts.contains_key(&INCIDENT));
    let kept = app.drafts_to_keep();
    assert_eq!(kept.get(&INCIDENT).map(String::as_str), Some("half"));
    assert_eq!(kept.get(&RED).map(String::as_str), Some("other"));
    // A new channel list in another order keeps each draft with its channel.
    let mut reordered = channels();
    reordered.reverse();
    let _ = app.on_update(Update::Channels(reordered));
    assert_eq!(app.current().unwrap().summary.id, INCIDENT);
    assert_eq!(app.compose, "half");
    // A draft restored for the open channel while the box held text is not replaced.
    app.drafts.insert(INCIDENT, "restored late".into());
    app.on_key(ctrl('n'));
    assert_eq!(app.drafts[&INCIDENT], "restored late\nhalf");
    app.on_key(ctrl('p'));
    assert_eq!(app.compose, "restored late\nhalf");
    // A draft restored from the store comes back when its channel opens.
    app.drafts.insert(PUBLIC, "restored".into());
    while !app.compose.is_empty() {
        app.on_key(ctrl('u'));
        press(&mut app, KeyCode::Backspace);
    }
    open(&mut app, "public");
    assert_eq!(app.compose, "restored");
}

#[test]
fn create_opens_the_new_channel_once_it_exists() {
    let mut app = app();
    open(&mut app, "red-team");
    typed(
        &mut app,
        "/create ir-7 --tlp TLP:GREEN --level UNCLASSIFIED",
    );
    let actions = press(&mut app, KeyCode::Enter);
    assert!(matches!(&actions[..], [Action::Create(name, _)] if name == "ir-7"));
    // A channel of that name that is not ours is not it; ours, new in the list, is opened.
    let mut list = channels();
    list.push(channel(
        ChannelId([9; 32]),
        "ir-7",
        label("TLP:GREEN", "UNCLASSIFIED"),
        "lead@cert-at",
    ));
    let _ = app.on_update(Update::Channels(list.clone()));
    assert_eq!(app.current().unwrap().summary.id, RED);
    list.push(channel(
        ChannelId([8; 32]),
        "ir-7",
        label("TLP:GREEN", "UNCLASSIFIED"),
        "officer@cert-at",
    ));
    let actions = app.on_update(Update::Channels(list));
    assert_eq!(app.current().unwrap().summary.id, ChannelId([8; 32]));
    assert!(actions.contains(&Action::LoadHistory(ChannelId([8; 32]), None)));
    // The next /invite goes to it, at once (not sensitive, and the channel we just created),
    // and the status names it and its label.
    typed(&mut app, "/invite petra@cert-cz");
    let actions = press(&mut app, KeyCode::Enter);
    assert_eq!(
        actions,
        [Action::Invite(ChannelId([8; 32]), user("petra@cert-cz"))]
    );
    let status = &app.status.as_ref().unwrap().0;
    assert_eq!(
        status,
        "inviting petra@cert-cz to ir-7 [TLP:GREEN | UNCLASSIFIED]"
    );
}

#[test]
fn membership_commands_name_the_channel_and_ask_where_care_is_needed() {
    let mut app = app();
    // In view since the last message, not sensitive: at once.
    open(&mut app, "public");
    typed(&mut app, "/remove petra@cert-cz");
    assert_eq!(
        press(&mut app, KeyCode::Enter),
        [Action::Remove(PUBLIC, user("petra@cert-cz"))]
    );
    // Switched since: asks, naming the channel and its label; no keeps the line.
    app.on_key(ctrl('n'));
    assert_eq!(app.current().unwrap().summary.id, GREEN);
    typed(&mut app, "/invite petra@cert-cz");
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    assert!(question_open(&app));
    assert!(screen(&app).contains("Invite petra@cert-cz to green [TLP:GREEN | UNCLASSIFIED]?"));
    assert!(typed(&mut app, "n").is_empty());
    assert_eq!(app.compose, "/invite petra@cert-cz");
    // TLP:RED or classified: asks every time; y runs it.
    app.on_key(ctrl('u'));
    open(&mut app, "red-team");
    typed(&mut app, "hello");
    press(&mut app, KeyCode::Enter);
    typed(&mut app, "/invite @petra@cert-cz");
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    assert!(screen(&app).contains("Invite petra@cert-cz to red-team [TLP:RED | EU SECRET]?"));
    assert_eq!(
        typed(&mut app, "y"),
        [Action::Invite(RED, user("petra@cert-cz"))]
    );
    assert_eq!(app.compose, "");
    // An answer arriving while the question is open waits behind it.
    typed(&mut app, "/remove petra@cert-cz");
    press(&mut app, KeyCode::Enter);
    let _ = app.on_update(Update::Info("Search".into(), vec!["hit".into()]));
    assert!(question_open(&app));
    // A click on another channel changes nothing under the question either.
    let _ = screen(&app);
    let click = MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column: 3,
        row: 1,
        modifiers: KeyModifiers::NONE,
    };
    let _ = app.on_mouse(click);
    assert_eq!(app.current().unwrap().summary.id, RED);
    assert_eq!(
        typed(&mut app, "y"),
        [Action::Remove(RED, user("petra@cert-cz"))]
    );
    assert!(matches!(&app.mode, Mode::Info { title, .. } if title == "Search"));
}
