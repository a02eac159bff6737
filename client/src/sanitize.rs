//! Text from other members, made safe to put on a terminal or in an exported file.
//!
//! Message bodies, display names, channel names, notices and the reasons a message could not be
//! read all come, in the end, from someone else. Written raw to a terminal, a carriage return
//! overwrites the line it is on (a forged sender), an escape sequence retitles the window,
//! moves the cursor or, in some terminals, answers back with input; a bidirectional override
//! makes text display in another order than it was written (`invoice<U+202E>fdp.exe` reads as
//! `invoiceexe.pdf`). Every place that shows such text passes it through [`line`] or
//! [`multiline`] when it is shown, not when it is stored: the store keeps what was received.
//!
//! What is escaped ([`must_escape`]): every control character (Unicode `Cc`: C0 including CR,
//! ESC and tab, DEL, and C1) and every bidirectional control
//! ([`vigil_protocol::is_bidi_control`]). It is shown, not dropped, as `\u{1b}`, so a reader
//! sees that something was there. (A sender can type those six characters too; they are then
//! as harmless as they look.)

use std::borrow::Cow;

/// What a tab in a message body becomes: four spaces. Raw, a terminal would move the cursor to
/// a tab stop the view does not know about (and ratatui drops it).
const TAB: &str = "    ";

/// Whether `c` must never reach a terminal or an export raw: a control character (C0, DEL,
/// C1) or a bidirectional control (embedding, override, isolate, mark).
#[must_use]
pub fn must_escape(c: char) -> bool {
    c.is_control() || vigil_protocol::is_bidi_control(c)
}

fn push_escaped(out: &mut String, c: char) {
    out.extend(c.escape_unicode());
}

/// `text` for one line of a terminal (a name, a reason, a notice): every character of
/// [`must_escape`], newlines included, shown escaped as `\u{…}`.
#[must_use]
pub fn line(text: &str) -> Cow<'_, str> {
    if !text.chars().any(must_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if must_escape(c) {
            push_escaped(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// `text` for a view that shows several lines (a message body): as [`line`], but a newline
/// (`\n`, or `\r\n`) stays a newline and a tab becomes spaces. A lone carriage return is
/// escaped like every other control character.
#[must_use]
pub fn multiline(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| c != '\n' && must_escape(c)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' => out.push('\n'),
            '\r' if chars.peek() == Some(&'\n') => {}
            '\t' => out.push_str(TAB),
            c if must_escape(c) => push_escaped(&mut out, c),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The characters a hostile member sends: OSC title change, BEL, CR, CSI, C1 CSI, DEL,
    /// and every bidirectional control.
    const HOSTILE: &str = "a\u{1b}]0;pwned\u{7}\rb\u{1b}[2Jc\u{9b}d\u{7f}e\u{202a}\u{202b}\u{202c}\
                           \u{202d}\u{202e}\u{2066}\u{2067}\u{2068}\u{2069}\u{200e}\u{200f}\u{61c}f";

    fn is_terminal_safe(text: &str) -> bool {
        !text.chars().any(|c| must_escape(c) && c != '\n')
    }

    #[test]
    fn a_line_escapes_every_control_and_bidi_character_visibly() {
        let shown = line(HOSTILE);
        assert!(!shown.chars().any(must_escape), "{shown:?}");
        assert!(shown.starts_with(r"a\u{1b}]0;pwned\u{7}\u{d}b\u{1b}[2Jc\u{9b}d\u{7f}e"));
        assert!(shown.contains(r"\u{202e}") && shown.contains(r"\u{61c}"));
        assert_eq!(line("x\ny"), r"x\u{a}y");
        assert_eq!(line("x\ty"), r"x\u{9}y");
    }

    #[test]
    fn ordinary_text_is_borrowed_unchanged() {
        for text in [
            "Petra Svobodová: IOC 198.51.100.7",
            "مركز الاستجابة",
            "🛡️ 👩‍💻",
            "",
        ] {
            assert!(matches!(line(text), Cow::Borrowed(t) if t == text));
            assert!(matches!(multiline(text), Cow::Borrowed(t) if t == text));
        }
        assert!(matches!(
            multiline("two\nlines"),
            Cow::Borrowed("two\nlines")
        ));
    }

    #[test]
    fn multiline_keeps_newlines_and_escapes_a_lone_carriage_return() {
        assert_eq!(multiline("one\r\ntwo\n\tthree"), "one\ntwo\n    three");
        assert_eq!(multiline("real\rforged"), r"real\u{d}forged");
        assert_eq!(multiline("end\r"), r"end\u{d}");
        let two = format!("{HOSTILE}\n{HOSTILE}");
        let shown = multiline(&two);
        assert!(is_terminal_safe(&shown), "{shown:?}");
        assert_eq!(shown.lines().count(), 2);
    }

    #[test]
    fn the_escape_set_is_controls_and_bidi_controls_only() {
        for c in [
            '\u{0}', '\u{1f}', '\u{7f}', '\u{80}', '\u{9f}', '\u{202e}', '\u{200f}',
        ] {
            assert!(must_escape(c), "{c:?}");
        }
        for c in ['a', ' ', 'é', '\u{a0}', '\u{200b}', '\u{2028}', 'م'] {
            assert!(!must_escape(c), "{c:?}");
        }
    }
}
