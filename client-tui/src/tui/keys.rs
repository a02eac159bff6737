//! Key names in the configuration: `ctrl-n`, `alt-a`, `?`, `f2`, `pageup`, ...

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// A key and its modifiers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Binding {
    /// The key, lower case with Ctrl.
    pub code: KeyCode,
    /// Ctrl, Alt (Shift is part of the character).
    pub modifiers: KeyModifiers,
}

impl Binding {
    /// Whether `event` is this key.
    #[must_use]
    pub fn matches(&self, event: &KeyEvent) -> bool {
        let relevant = KeyModifiers::CONTROL | KeyModifiers::ALT;
        let code = match event.code {
            KeyCode::Char(c) if self.modifiers.contains(KeyModifiers::CONTROL) => {
                KeyCode::Char(c.to_ascii_lowercase())
            }
            other => other,
        };
        code == self.code && (event.modifiers & relevant) == self.modifiers
    }
}

/// Parses a key name; `None` when it is not one.
#[must_use]
pub fn parse(spec: &str) -> Option<Binding> {
    let mut modifiers = KeyModifiers::NONE;
    let mut rest = spec.trim();
    loop {
        let lower = rest.to_ascii_lowercase();
        if let Some(r) = lower
            .strip_prefix("ctrl-")
            .or_else(|| lower.strip_prefix("c-"))
        {
            modifiers |= KeyModifiers::CONTROL;
            rest = &rest[rest.len() - r.len()..];
        } else if let Some(r) = lower
            .strip_prefix("alt-")
            .or_else(|| lower.strip_prefix("m-"))
        {
            modifiers |= KeyModifiers::ALT;
            rest = &rest[rest.len() - r.len()..];
        } else {
            break;
        }
    }
    let mut chars = rest.chars();
    let code = match (chars.next(), chars.next()) {
        (Some(c), None) => KeyCode::Char(if modifiers.contains(KeyModifiers::CONTROL) {
            c.to_ascii_lowercase()
        } else {
            c
        }),
        (None, _) => return None,
        _ => match rest.to_ascii_lowercase().as_str() {
            "up" => KeyCode::Up,
            "down" => KeyCode::Down,
            "left" => KeyCode::Left,
            "right" => KeyCode::Right,
            "pageup" => KeyCode::PageUp,
            "pagedown" => KeyCode::PageDown,
            "home" => KeyCode::Home,
            "end" => KeyCode::End,
            "tab" => KeyCode::Tab,
            "enter" => KeyCode::Enter,
            "esc" => KeyCode::Esc,
            f if f.starts_with('f') => {
                KeyCode::F(f[1..].parse().ok().filter(|n| (1..=12).contains(n))?)
            }
            _ => return None,
        },
    };
    Some(Binding { code, modifiers })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_and_match() {
        let b = parse("ctrl-n").unwrap();
        assert!(b.matches(&KeyEvent::new(KeyCode::Char('n'), KeyModifiers::CONTROL)));
        assert!(!b.matches(&KeyEvent::new(KeyCode::Char('n'), KeyModifiers::NONE)));
        let b = parse("alt-a").unwrap();
        assert!(b.matches(&KeyEvent::new(KeyCode::Char('a'), KeyModifiers::ALT)));
        assert_eq!(parse("?").unwrap().code, KeyCode::Char('?'));
        assert_eq!(parse("F2").unwrap().code, KeyCode::F(2));
        assert_eq!(parse("pageup").unwrap().code, KeyCode::PageUp);
        for bad in ["", "ctrl-", "f13", "hyper-x", "nope"] {
            assert!(parse(bad).is_none(), "{bad}");
        }
    }
}
