//! JSON string literals for what Vigil prints for programs to read (`read --json`, exports,
//! `--error-format json`): text another member chose is escaped so the JSON decodes to it
//! exactly and a terminal showing the JSON receives no control character raw.

/// A JSON string literal for `s`. Control characters (C0, DEL, C1), bidirectional controls and
/// U+2028/U+2029 are written as `\uXXXX` (every one of them is in the Basic Multilingual
/// Plane: one escape each).
#[must_use]
pub fn string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control()
                || vigil_protocol::is_bidi_control(c)
                || c == '\u{2028}'
                || c == '\u{2029}' =>
            {
                out.push_str(&format!("\\u{:04x}", u32::from(c)));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_controls_bidi_and_line_separators_are_escaped() {
        assert_eq!(string("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(string("x\ny\tz\u{1b}[31m"), r#""x\ny\tz\u001b[31m""#);
        assert_eq!(string("\u{202e}evil\u{2028}"), r#""\u202eevil\u2028""#);
        assert_eq!(string("Svobodová 🇨🇿"), "\"Svobodová 🇨🇿\"");
    }
}
