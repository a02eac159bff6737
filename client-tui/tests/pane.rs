//! The message pane, banners, compose box and overlays at the sizes duty officers use, on
//! ratatui's `TestBackend`: every defect of the "whole shift" review that concerns what is
//! drawn, reproduced and shown fixed (nothing typed or received is lost from view).

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "test code: a failed unwrap is a failed test"
)]

mod support;

use std::collections::BTreeSet;

use ratatui::crossterm::event::{KeyCode, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use ratatui::style::{Color, Modifier};
use support::{
    NOON, Screen, app, app_with, arrive, channel, config, entry_at, key, key_with, label, text,
};
use vigil_client::engine::{Body, Entry};
use vigil_protocol::channel::ChannelId;
use vigil_tui::config::ColourDepth;
use vigil_tui::tui::app::{Action, App, Mode, Update};

const INCIDENT: ChannelId = ChannelId([1; 32]);

/// A 200-line IOC list, as pasted.
fn ioc_list() -> String {
    let mut lines: Vec<String> = (1..200)
        .map(|i| format!("{i:03} ioc 198.51.100.{i} c2"))
        .collect();
    lines.push("200 IOC list END".into());
    lines.join("\n")
}

/// The rows inside the message pane's border on `screen` (its title row excluded).
fn pane_rows(screen: &str) -> Vec<String> {
    let lines: Vec<Vec<char>> = screen.lines().map(|l| l.chars().collect()).collect();
    let Some(top) = lines
        .iter()
        .position(|l| l.iter().collect::<String>().contains("┌ incident-42"))
    else {
        return Vec::new();
    };
    let left = lines[top].iter().rposition(|c| *c == '┌').unwrap();
    // The pane is the rightmost: its right border ends each row (wide characters make rows
    // shorter in chars than in cells, so no column index is used on that side).
    lines[top + 1..]
        .iter()
        .take_while(|l| l.get(left) != Some(&'└'))
        .map(|l| {
            let row: String = l[left + 1..].iter().collect();
            row.strip_suffix('│').unwrap_or(&row).to_owned()
        })
        .collect()
}

#[test]
fn every_line_of_a_200_line_message_is_reachable_by_page_at_80_by_24() {
    let mut app = app();
    let mut screen = Screen::new(80, 24);
    arrive(&mut app, 1, 1, text("petra@cert-cz", &ioc_list()));
    let _ = arrive(&mut app, 1, 2, text("lead@cert-at", "thanks"));
    let mut seen = BTreeSet::new();
    let mut previous: Option<Vec<String>> = None;
    let mut header = false;
    for _ in 0..100 {
        let shown = screen.draw(&app);
        let rows = pane_rows(&shown);
        header |= shown.contains("petra (CERT-CZ) [unverified]: 001 ioc");
        for row in &rows {
            if let Some(n) = row.split_whitespace().find_map(|w| w.parse::<u32>().ok()) {
                seen.insert(n);
            }
        }
        // A page moves by the pane's height less one: its top row is the next page's bottom
        // (at the top, the last page overlaps more).
        if let Some(before) = &previous
            && before != &rows
        {
            assert!(rows.contains(&before[0]), "PageUp skipped rows");
        }
        previous = Some(rows);
        let _ = key(&mut app, KeyCode::PageUp);
    }
    assert!(header, "the sender and the trust marker are reachable");
    assert!((1..=200).all(|n| seen.contains(&n)), "missing lines");
    // Down a line at a time from the top shows the same lines again.
    app.focus = vigil_tui::tui::app::Focus::Messages;
    let top = pane_rows(&screen.draw(&app));
    let _ = key(&mut app, KeyCode::Down);
    let next = pane_rows(&screen.draw(&app));
    assert_eq!(top[1..], next[..next.len() - 1], "Down moves one row");
}

#[test]
fn cjk_tabs_and_flags_are_drawn_whole_at_the_wrap() {
    let mut app = app();
    let mut screen = Screen::new(60, 24);
    app.list_hidden = true;
    let cjk = "这是一个测试消息，用于检查中文字符在换行时是否完整显示而不丢失任何字符";
    arrive(&mut app, 1, 1, text("petra@cert-cz", cjk));
    arrive(
        &mut app,
        1,
        2,
        text("petra@cert-cz", "ip\t198.51.100.1\tC2"),
    );
    arrive(&mut app, 1, 3, text("petra@cert-cz", "🇨🇿🇵🇱🇭🇺 partners"));
    let shown = screen.draw(&app);
    let joined: String = pane_rows(&shown).concat();
    let without_spaces: String = joined.chars().filter(|c| !c.is_whitespace()).collect();
    assert!(without_spaces.contains(cjk), "{shown}");
    let wide = Screen::new(120, 24).draw(&app);
    assert!(wide.contains("ip      198.51.100.1    C2"), "{wide}");
    // Flags are shown as their letters: terminals disagree on a flag's width, and a
    // disagreement left debris on the rows drawn after it.
    assert!(shown.contains("[CZ][PL][HU] partners"), "{shown}");
    // Ctrl-L asks the runner for a full redraw.
    let actions = key_with(&mut app, KeyCode::Char('l'), KeyModifiers::CONTROL);
    assert_eq!(actions, [Action::Redraw]);
}

#[test]
fn the_full_label_stays_readable_at_60_and_40_columns() {
    let mut app = app();
    let long = label(
        "TLP:AMBER+STRICT",
        "EU CONFIDENTIAL",
        &["REL TO AT, CZ, HU, PL"],
    );
    let _ = app.on_update(Update::Channels(vec![channel(1, "incident-42", long)]));
    for width in [120, 60, 40, 30] {
        app.list_hidden = width < 100;
        let shown = Screen::new(width, 24).draw(&app);
        for part in ["TLP:AMBER+STRICT", "EU CONFIDENTIAL", "REL TO AT,CZ,HU,PL"] {
            let rows = shown
                .lines()
                .filter(|l| l.contains(part) && !l.contains('[') && !l.contains("Unverified"))
                .count();
            assert_eq!(rows, 2, "{part} at {width} columns:\n{shown}");
        }
    }
}

#[test]
fn the_compose_box_grows_scrolls_and_keeps_the_cursor_in_view() {
    let mut app = app();
    let mut screen = Screen::new(80, 24);
    for c in "x".repeat(140).chars() {
        let _ = key(&mut app, KeyCode::Char(c));
    }
    let shown = screen.draw(&app);
    let full_rows = shown
        .lines()
        .filter(|l| l.contains(&"x".repeat(40)))
        .count();
    assert!(full_rows >= 3, "150 characters wrap onto rows:\n{shown}");
    let (x, y) = screen.cursor();
    let row: String = shown.lines().nth(usize::from(y)).unwrap().to_owned();
    assert!(row.contains('x') && x < 80, "cursor at {x},{y}: {row}");
    // A 199-line paste: the box grows to its bound and shows the rows at the cursor.
    app.compose.clear();
    app.cursor = 0;
    app.on_paste(&ioc_list()[..ioc_list().rfind('\n').unwrap()]);
    let shown = screen.draw(&app);
    assert!(shown.contains("199 ioc 198.51.100.199 c2"), "{shown}");
    assert!(
        shown.contains("of 199"),
        "the title says which rows: {shown}"
    );
    let (_, y) = screen.cursor();
    assert!(
        shown
            .lines()
            .nth(usize::from(y))
            .unwrap()
            .contains("199 ioc")
    );
    assert!(
        pane_rows(&shown).len() >= 3,
        "the message pane keeps rows:\n{shown}"
    );
}

#[test]
fn many_warnings_never_shrink_the_message_pane_to_nothing() {
    let mut app = app();
    for i in 0..12 {
        app.warnings.push(format!(
            "warning {i}: a long warning that wraps over more than one row of the terminal at \
             eighty columns"
        ));
    }
    app.on_paste(&"line\n".repeat(30));
    arrive(&mut app, 1, 1, text("petra@cert-cz", "still visible"));
    let shown = Screen::new(80, 24).draw(&app);
    assert!(shown.contains("still visible"), "{shown}");
    assert!(
        shown.contains("12 warnings, the newest below, 9 more"),
        "{shown}"
    );
}

/// A history of `n` one-line messages, one a minute, in pages as the worker gives them.
fn history(n: u64) -> Vec<(u64, Entry)> {
    (1..=n)
        .map(|i| {
            (
                i,
                entry_at(
                    "lead@cert-at",
                    NOON + i * 60,
                    Body::Text(format!("message {i}")),
                ),
            )
        })
        .collect()
}

/// Answers the app's history requests from `all` until it asks for none.
fn serve(app: &mut App, all: &[(u64, Entry)], mut actions: Vec<Action>) {
    while let Some(Action::LoadHistory(id, before)) = actions.pop() {
        let page: Vec<(u64, Entry)> = all
            .iter()
            .rev()
            .filter(|(s, _)| before.is_none_or(|b| *s < b))
            .take(vigil_tui::tui::app::PAGE)
            .cloned()
            .collect();
        actions.extend(app.on_update(Update::History(id, before, page)));
    }
}

#[test]
fn paging_through_5000_messages_skips_none_and_home_reaches_the_first_at_once() {
    let all = history(5000);
    let mut app = app();
    let mut screen = Screen::new(80, 24);
    serve(&mut app, &all, vec![Action::LoadHistory(INCIDENT, None)]);
    let number = |row: &String| {
        row.split("message ")
            .nth(1)
            .and_then(|r| r.split_whitespace().next()?.parse::<u64>().ok())
    };
    let mut seen = BTreeSet::new();
    for _ in 0..40 {
        let shown = screen.draw(&app);
        seen.extend(pane_rows(&shown).iter().filter_map(number));
        let actions = key(&mut app, KeyCode::PageUp);
        serve(&mut app, &all, actions);
    }
    let low = *seen.first().unwrap();
    assert!(low < 4800, "PageUp went up: {low}");
    assert!(
        (low..=5000).all(|n| seen.contains(&n)),
        "PageUp skipped messages"
    );
    // One Home loads every page and shows the first message.
    app.focus = vigil_tui::tui::app::Focus::Messages;
    let actions = key(&mut app, KeyCode::Home);
    serve(&mut app, &all, actions);
    let shown = screen.draw(&app);
    assert!(shown.contains("message 1 "), "{shown}");
    assert!(shown.contains("Saturday 28 November 2026 (UTC)"), "{shown}");
    // /jump to a time shows the first message from it.
    let _ = key(&mut app, KeyCode::End);
    app.focus = vigil_tui::tui::app::Focus::Compose;
    app.on_paste("/jump 2026-11-29 10:00");
    let actions = key(&mut app, KeyCode::Enter);
    serve(&mut app, &all, actions);
    let rows = pane_rows(&screen.draw(&app));
    let first = rows.iter().find_map(number).unwrap();
    // Message 1239 is at 10:00:44 on the 29th, 1238 at 09:59:44.
    assert_eq!(first, 1239, "{rows:?}");
}

#[test]
fn a_new_message_does_not_move_what_a_scrolled_up_reader_sees() {
    let all = history(100);
    let mut app = app();
    let mut screen = Screen::new(80, 24);
    serve(&mut app, &all, vec![Action::LoadHistory(INCIDENT, None)]);
    screen.draw(&app);
    let _ = key(&mut app, KeyCode::PageUp);
    let before = pane_rows(&screen.draw(&app));
    arrive(
        &mut app,
        1,
        101,
        text("petra@cert-cz", "line one\nline two"),
    );
    assert_eq!(pane_rows(&screen.draw(&app)), before);
}

#[test]
fn the_help_screen_scrolls_to_its_last_line_at_80_by_24() {
    let mut app = app();
    let mut screen = Screen::new(80, 24);
    app.mode = Mode::Help;
    let mut seen = String::new();
    for _ in 0..10 {
        seen.push_str(&screen.draw(&app));
        let _ = key(&mut app, KeyCode::PageDown);
    }
    for (usage, _) in vigil_tui::tui::app::COMMANDS {
        let command = usage.split_whitespace().next().unwrap();
        assert!(seen.contains(command), "{command} never shown");
    }
    assert!(seen.contains("Markers:"), "the last line is reachable");
}

#[test]
fn a_long_channel_name_keeps_its_count_and_mention_marker() {
    let mut app = app();
    let long = "national-incident-2026-11-29-ransomware-hospital-network";
    let _ = app.on_update(Update::Channels(vec![
        channel(1, "incident-42", label("TLP:AMBER", "EU RESTRICTED", &[])),
        channel(4, long, label("TLP:AMBER", "EU RESTRICTED", &[])),
    ]));
    arrive(&mut app, 4, 1, text("lead@cert-at", "@officer please look"));
    arrive(&mut app, 4, 2, text("lead@cert-at", "and this"));
    let shown = Screen::new(100, 24).draw(&app);
    let row = shown.lines().find(|l| l.contains("national-")).unwrap();
    assert!(row.contains("… (2) @"), "{row}");
}

#[test]
fn colours_fit_an_8_colour_terminal_and_no_color_keeps_bold_and_reverse() {
    let mut settings = config(true);
    settings.colour_depth = ColourDepth::Palette8;
    let app8 = app_with(&settings);
    let mut screen = Screen::new(100, 24);
    screen.draw(&app8);
    let rgb = screen.buffer().content().iter().any(|c| {
        matches!(c.fg, Color::Rgb(..) | Color::Indexed(_)) || matches!(c.bg, Color::Rgb(..))
    });
    assert!(!rgb, "no 24-bit or 256 colour on an 8-colour terminal");
    let plain = app_with(&config(false));
    let shown = screen.draw(&plain);
    let row = shown
        .lines()
        .position(|l| l.contains("==== TLP:AMBER"))
        .unwrap();
    let x = shown.lines().nth(row).unwrap().find("====").unwrap();
    let cell = &screen.buffer()[(u16::try_from(x).unwrap(), u16::try_from(row).unwrap())];
    assert!(cell.modifier.contains(Modifier::BOLD | Modifier::REVERSED));
    assert_eq!(cell.fg, Color::Reset);
}

#[test]
fn days_are_marked_and_the_new_since_you_left_line_is_one_key_away() {
    let mut app = app();
    let mut screen = Screen::new(80, 30);
    arrive(
        &mut app,
        1,
        1,
        entry_at("lead@cert-at", NOON, Body::Text("friday".into())),
    );
    // Read up to 1, then away to another channel while two more arrive.
    let _ = key_with(&mut app, KeyCode::Char('n'), KeyModifiers::CONTROL);
    let _ = app.on_update(Update::History(ChannelId([2; 32]), None, Vec::new()));
    arrive(
        &mut app,
        1,
        2,
        entry_at("lead@cert-at", NOON + 86_400, Body::Text("saturday".into())),
    );
    arrive(
        &mut app,
        1,
        3,
        entry_at("petra@cert-cz", NOON + 86_460, Body::Text("new too".into())),
    );
    let late = |seq| {
        entry_at(
            "petra@cert-cz",
            NOON + 90_000,
            Body::Text(format!("later {seq}")),
        )
    };
    let _ = key_with(&mut app, KeyCode::Char('p'), KeyModifiers::CONTROL);
    let shown = screen.draw(&app);
    let rows = pane_rows(&shown);
    let at = |needle: &str| rows.iter().position(|r| r.contains(needle)).unwrap();
    assert!(at("Saturday 28 November 2026") < at("friday"), "{shown}");
    assert!(at("friday") < at("new since you left"), "{shown}");
    assert!(
        at("new since you left") < at("Sunday 29 November 2026"),
        "{shown}"
    );
    assert!(at("Sunday 29 November 2026") < at("saturday"), "{shown}");
    // Once more arrived than the pane shows, the key puts the line at the top of the pane.
    for seq in 4..60 {
        arrive(&mut app, 1, seq, late(seq));
    }
    assert!(
        !pane_rows(&screen.draw(&app))
            .iter()
            .any(|r| r.contains("new since"))
    );
    let _ = key_with(&mut app, KeyCode::Char('n'), KeyModifiers::ALT);
    let rows = pane_rows(&screen.draw(&app));
    assert!(rows[0].contains("new since you left"), "{rows:?}");
}

#[test]
fn the_mouse_picks_channels_and_scrolls_the_pane() {
    let all = history(300);
    let mut app = app();
    let mut screen = Screen::new(100, 24);
    serve(&mut app, &all, vec![Action::LoadHistory(INCIDENT, None)]);
    let shown = screen.draw(&app);
    let row = shown.lines().position(|l| l.contains("red-team")).unwrap();
    let click = |kind, column, row| MouseEvent {
        kind,
        column,
        row,
        modifiers: KeyModifiers::NONE,
    };
    let _ = app.on_mouse(click(
        MouseEventKind::Down(MouseButton::Left),
        5,
        u16::try_from(row).unwrap(),
    ));
    assert_eq!(app.current().unwrap().summary.name, "red-team");
    let _ = app.on_mouse(click(MouseEventKind::Down(MouseButton::Left), 5, 1));
    assert_eq!(app.current().unwrap().summary.name, "incident-42");
    screen.draw(&app);
    let _ = app.on_mouse(click(MouseEventKind::ScrollUp, 60, 10));
    assert_eq!(app.scroll, 3);
    // The channel list can be hidden for room; the pane takes the width.
    let _ = key(&mut app, KeyCode::F(9));
    let shown = screen.draw(&app);
    assert!(!shown.contains("Channels"), "{shown}");
}

#[test]
fn a_message_naming_me_is_highlighted_and_senders_have_their_own_colour() {
    let mut app = app();
    let mut screen = Screen::new(100, 24);
    arrive(
        &mut app,
        1,
        1,
        text("lead@cert-at", "@officer can you take the proxy logs?"),
    );
    arrive(&mut app, 1, 2, text("petra@cert-cz", "no mention here"));
    let shown = screen.draw(&app);
    let cell_of = |needle: &str| {
        let row = shown.lines().position(|l| l.contains(needle)).unwrap();
        let x = shown.lines().nth(row).unwrap().find(needle).unwrap();
        let x = shown.lines().nth(row).unwrap()[..x].chars().count();
        screen.buffer()[(u16::try_from(x).unwrap(), u16::try_from(row).unwrap())].clone()
    };
    assert!(cell_of("@officer can").modifier.contains(Modifier::BOLD));
    assert!(!cell_of("no mention").modifier.contains(Modifier::BOLD));
    let (lead, petra) = (cell_of("lead (CERT-AT)").fg, cell_of("petra (CERT-CZ)").fg);
    assert_ne!(lead, petra, "two senders, two colours");
    for colour in [lead, petra] {
        assert!(!matches!(
            colour,
            Color::Red | Color::Yellow | Color::Green | Color::White
        ));
    }
}

#[test]
fn the_channel_list_resizes_within_bounds() {
    let mut app = app();
    let width = app.list_width;
    let _ = key_with(&mut app, KeyCode::Right, KeyModifiers::ALT);
    assert_eq!(app.list_width, width + 4);
    for _ in 0..20 {
        let _ = key_with(&mut app, KeyCode::Left, KeyModifiers::ALT);
    }
    assert_eq!(app.list_width, 12);
    let shown = Screen::new(80, 24).draw(&app);
    assert!(
        shown.lines().nth(1).unwrap().starts_with("│[AMBER] i…│"),
        "{shown}"
    );
}

#[test]
fn a_huge_message_is_drawn_up_to_a_bound_and_says_what_is_left() {
    let mut app = app();
    let mut screen = Screen::new(80, 24);
    let body: Vec<String> = (1..=5000).map(|i| format!("line {i}")).collect();
    arrive(&mut app, 1, 1, text("petra@cert-cz", &body.join("\n")));
    let shown = screen.draw(&app);
    assert!(
        shown.contains("[… 3000 more lines, ") && shown.contains("`vigil read` shows the whole"),
        "{shown}"
    );
    // The lines before the bound are all reachable; the first is at the top.
    app.focus = vigil_tui::tui::app::Focus::Messages;
    let _ = key(&mut app, KeyCode::Home);
    let shown = screen.draw(&app);
    assert!(
        shown.contains("petra (CERT-CZ) [unverified]: line 1 "),
        "{shown}"
    );
    assert!(app.total_rows() < 2_100, "{}", app.total_rows());
}
