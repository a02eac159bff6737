//! What asks for the reader's attention: a message that names them (a mention) and the warning
//! about unverified members of a sensitive channel, which Esc dismisses until the channel's
//! members change.
//!
//! A mention is `@` and the local part of our user id (`@officer`), the full id, or the display
//! name, in any case and with or without accents (`tomas dvorak` names `Tomáš Dvořák`): the
//! text and the names are compared after [`fold`].

use vigil_protocol::UserId;
use vigil_protocol::label::Tlp;

use super::{App, TrustMark};

/// Lower case, with the diacritics of the Latin letters used in European names removed
/// (`Dvořák` → `dvorak`, `Straße` → `strasse`): what mentions are compared on.
#[must_use]
pub fn fold(text: &str) -> String {
    let mut folded = String::with_capacity(text.len());
    for c in text.chars().flat_map(char::to_lowercase) {
        match c {
            'ß' => folded.push_str("ss"),
            'æ' => folded.push_str("ae"),
            'œ' => folded.push_str("oe"),
            c => folded.push(base_letter(c)),
        }
    }
    folded
}

/// The letter under a lower-case Latin letter with a diacritic; other characters unchanged.
fn base_letter(c: char) -> char {
    match c {
        'á' | 'à' | 'â' | 'ä' | 'ã' | 'å' | 'ā' | 'ă' | 'ą' => 'a',
        'ç' | 'ć' | 'č' | 'ĉ' | 'ċ' => 'c',
        'ď' | 'đ' => 'd',
        'é' | 'è' | 'ê' | 'ë' | 'ē' | 'ĕ' | 'ė' | 'ę' | 'ě' => 'e',
        'ğ' | 'ģ' | 'ĝ' | 'ġ' => 'g',
        'í' | 'ì' | 'î' | 'ï' | 'ī' | 'į' | 'ı' => 'i',
        'ķ' => 'k',
        'ĺ' | 'ļ' | 'ľ' | 'ł' => 'l',
        'ñ' | 'ń' | 'ņ' | 'ň' => 'n',
        'ó' | 'ò' | 'ô' | 'ö' | 'õ' | 'ø' | 'ō' | 'ő' => 'o',
        'ŕ' | 'ř' => 'r',
        'ś' | 'š' | 'ş' | 'ș' => 's',
        'ť' | 'ţ' | 'ț' => 't',
        'ú' | 'ù' | 'û' | 'ü' | 'ū' | 'ů' | 'ű' | 'ų' => 'u',
        'ý' | 'ÿ' => 'y',
        'ź' | 'ż' | 'ž' => 'z',
        c => c,
    }
}

/// Whether `needle` (folded) occurs in `haystack` (folded) as a whole word: not inside a
/// longer name or id (`@officer` does not name `@officers` or `@officer@cert-cz`).
fn names(haystack: &str, needle: &str) -> bool {
    if needle.is_empty() {
        return false;
    }
    // A name or id goes on with letters, digits, `_`, `-`, and `.` before it (`j.officer`) or
    // `@` after it (the id of someone else of that name).
    let continues_before = |c: char| c.is_alphanumeric() || matches!(c, '_' | '-' | '.');
    let continues_after = |c: char| c.is_alphanumeric() || matches!(c, '_' | '-' | '@');
    haystack.match_indices(needle).any(|(at, _)| {
        let before = haystack[..at].chars().next_back();
        let after = haystack[at + needle.len()..].chars().next();
        before.is_none_or(|c| !continues_before(c)) && after.is_none_or(|c| !continues_after(c))
    })
}

impl App {
    /// Whether `text` names us: `@` and our id's local part, our full id, or our display
    /// name, in any case and with or without accents.
    #[must_use]
    pub fn names_me(&self, text: &str) -> bool {
        let text = fold(text);
        let id = fold(self.me.as_str());
        let local = id.split('@').next().unwrap_or_default();
        names(&text, &id)
            || names(&text, &format!("@{local}"))
            || names(&text, &fold(&self.my_name))
    }

    /// The members of the open channel who are not verified, when its label asks for care
    /// (`TLP:RED` or a classified level), as a warning; `None` when there are none or Esc
    /// dismissed this warning and the members have not changed since.
    #[must_use]
    pub fn unverified_in_sensitive_channel(&self) -> Option<String> {
        let (members, text) = self.unverified_warning()?;
        let id = self.current_id()?;
        let dismissed = self.input.dismissed.get(&id);
        (dismissed != Some(&(members, text.clone()))).then_some(text)
    }

    /// Esc: the open channel's unverified warning is not shown until its members change.
    pub(super) fn dismiss_unverified(&mut self) {
        if let (Some(id), Some(warning)) = (self.current_id(), self.unverified_warning()) {
            self.input.dismissed.insert(id, warning);
        }
    }

    /// The open channel's members and its unverified warning, dismissed or not.
    fn unverified_warning(&self) -> Option<(Vec<UserId>, String)> {
        let item = self.current()?;
        let label = &item.summary.label;
        if label.tlp != Tlp::Red && label.level.level == 0 {
            return None;
        }
        let members: Vec<UserId> = item
            .summary
            .members
            .iter()
            .map(|m| m.user.clone())
            .collect();
        let unverified: Vec<&str> = members
            .iter()
            .filter(|u| *u != &self.me && self.mark(u) != TrustMark::Verified)
            .map(UserId::as_str)
            .collect();
        if unverified.is_empty() {
            return None;
        }
        let text = format!(
            "Unverified in this {} channel: {} (compare safety numbers: /verify USER)",
            if label.tlp == Tlp::Red {
                "TLP:RED".to_owned()
            } else {
                label.level.marking()
            },
            unverified.join(", ")
        );
        Some((members, text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_drops_case_and_accents() {
        assert_eq!(fold("Tomáš Dvořák"), "tomas dvorak");
        assert_eq!(fold("ŁUKASZ Wróbel, Straße"), "lukasz wrobel, strasse");
        assert_eq!(fold("198.51.100.7"), "198.51.100.7");
    }

    #[test]
    fn a_name_is_found_only_as_a_whole_word() {
        assert!(names("ping @officer, see", "@officer"));
        assert!(names("@officer", "@officer"));
        assert!(names("two for @officer@cert-at", "officer@cert-at"));
        assert!(!names("ping @officers", "@officer"));
        assert!(!names("ping @officer@cert-cz", "@officer"));
        assert!(!names("annahuber", "anna huber"));
        assert!(!names("anything", ""));
    }
}
