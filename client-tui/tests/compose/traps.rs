//! The smaller traps of issue 21 in the TUI: channels of the same name (`/open` never picks
//! one silently, opens by id), `/create` of a name we hold, `/relabel` (asks first where care
//! is needed), and `/members` with each member's clearance.

use ratatui::crossterm::event::KeyCode;
use vigil_protocol::channel::ChannelId;
use vigil_tui::tui::app::{Action, Mode, Update};

use crate::fixture::*;

const TWIN: ChannelId = ChannelId([0xAB; 32]);

/// The fixture's channels and a second `public`, created by a partner.
fn with_twin() -> vigil_tui::tui::app::App {
    let mut app = app();
    let mut list = channels();
    list.push(channel(
        TWIN,
        "public",
        label("TLP:GREEN", "UNCLASSIFIED"),
        "petra@cert-cz",
    ));
    let _ = app.on_update(Update::Channels(list));
    app
}

#[test]
fn open_refuses_a_name_two_channels_share_listing_both_and_opens_by_id() {
    let mut app = with_twin();
    open(&mut app, "incident-42");
    typed(&mut app, "/open public");
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    assert!(refused(&app), "an ambiguous name is refused");
    assert_eq!(
        app.current().unwrap().summary.id,
        INCIDENT,
        "nothing opened"
    );
    let (why, _) = app.status.clone().unwrap();
    assert!(
        why.contains(&PUBLIC.short()) && why.contains(&TWIN.short()),
        "both candidates are named by id: {why}"
    );
    assert!(
        why.contains("petra@cert-cz") && why.contains("lead@cert-at"),
        "{why}"
    );
    assert_eq!(app.compose, "/open public", "the line stays for correction");
    app.on_key(ctrl('u'));
    // A unique id prefix (as `/open` lists them) opens that one.
    open_id(&mut app, &TWIN.short()[..8], TWIN);
    open_id(&mut app, &PUBLIC.to_string(), PUBLIC);
    // Too short a prefix names nothing.
    typed(&mut app, "/open 0101");
    press(&mut app, KeyCode::Enter);
    assert!(refused(&app));
    assert_eq!(app.current().unwrap().summary.id, PUBLIC);
}

fn open_id(app: &mut vigil_tui::tui::app::App, id: &str, expected: ChannelId) {
    typed(app, &format!("/open {id}"));
    press(app, KeyCode::Enter);
    assert!(!refused(app), "{:?}", app.status);
    assert_eq!(app.current().unwrap().summary.id, expected);
}

#[test]
fn create_refuses_a_name_we_hold_already() {
    let mut app = app();
    typed(
        &mut app,
        "/create public --tlp TLP:CLEAR --level UNCLASSIFIED",
    );
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    assert!(refused(&app));
    assert!(app.compose.starts_with("/create public"));
}

#[test]
fn relabel_raises_at_once_and_asks_before_lowering_or_where_care_is_needed() {
    let mut app = app();
    open(&mut app, "green");
    // Raising an unclassified GREEN channel to AMBER in the channel in view: at once.
    typed(&mut app, "/relabel --tlp TLP:AMBER --level UNCLASSIFIED");
    assert_eq!(
        press(&mut app, KeyCode::Enter),
        [Action::Relabel(GREEN, label("TLP:AMBER", "UNCLASSIFIED"))]
    );
    // Lowering asks, naming both labels; no keeps the line.
    open(&mut app, "incident-42");
    typed(
        &mut app,
        "/relabel --tlp TLP:GREEN --level \"EU RESTRICTED\"",
    );
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    assert!(question_open(&app));
    let shown = screen(&app);
    assert!(
        shown.contains("Lower the label of incident-42 from [TLP:AMBER | EU RESTRICTED] to"),
        "{shown}"
    );
    assert!(typed(&mut app, "n").is_empty());
    assert!(app.compose.starts_with("/relabel"));
    // To TLP:RED: asks; y runs it.
    app.on_key(ctrl('u'));
    typed(&mut app, "/relabel --tlp TLP:RED --level \"EU RESTRICTED\"");
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    assert!(question_open(&app));
    assert_eq!(
        typed(&mut app, "y"),
        [Action::Relabel(INCIDENT, label("TLP:RED", "EU RESTRICTED"))]
    );
    // A label the policy refuses, no label, or the same label: refused, nothing asked.
    for line in [
        "/relabel --tlp TLP:PINK --level UNCLASSIFIED",
        "/relabel",
        "/relabel --tlp TLP:AMBER --level \"EU RESTRICTED\"",
    ] {
        app.on_key(ctrl('u'));
        typed(&mut app, line);
        assert!(press(&mut app, KeyCode::Enter).is_empty(), "{line}");
        assert!(refused(&app) && !question_open(&app), "{line}");
    }
}

#[test]
fn members_shows_each_members_clearance() {
    let mut app = app();
    typed(&mut app, "/members");
    press(&mut app, KeyCode::Enter);
    let Mode::Info { lines, .. } = &app.mode else {
        panic!("no members overlay");
    };
    assert_eq!(lines.len(), 3);
    assert!(
        lines.iter().all(|l| l.contains("clearance EU SECRET")),
        "{lines:?}"
    );
}
