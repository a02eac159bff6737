//! Names: organisation ids, user ids, country codes, roles and other bounded text, validated
//! when built and when decoded, so no code past the codec ever sees an ill-formed one.

use bincode::de::Decoder;
use bincode::enc::Encoder;
use bincode::error::{DecodeError as BincodeDecodeError, EncodeError};
use bincode::{Decode, Encode};

/// Longest user id, organisation id or role, in bytes.
pub const MAX_ID_LEN: usize = 128;

/// Longest free text (display names, revocation reasons), in bytes.
pub const MAX_TEXT_LEN: usize = 256;

/// Why a name was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdError {
    /// Empty, or longer than the limit.
    #[error("{what} must be 1 to {max} bytes long, got {len}")]
    Length {
        /// What kind of name.
        what: &'static str,
        len: usize,
        max: usize,
    },
    /// A character outside the allowed set.
    #[error("{what} {value:?} contains {found:?}; allowed: {allowed}")]
    Character {
        /// What kind of name.
        what: &'static str,
        /// The refused value.
        value: String,
        /// The first refused character.
        found: char,
        /// The allowed characters, for the error message.
        allowed: &'static str,
    },
    /// A user id that is not `local@org`.
    #[error("user id {0:?} must have the form local@org, e.g. officer1@cert-at")]
    UserIdShape(String),
    /// A bidirectional-text control (override, embedding, isolate or mark), which can make
    /// text display in another order than it is stored (Trojan Source, CVE-2021-42574).
    #[error(
        "{what} contains the bidirectional control U+{:04X}; write the text without it",
        u32::from(*found)
    )]
    BidiControl {
        /// What kind of name.
        what: &'static str,
        /// The first refused character.
        found: char,
    },
    /// Not an assigned ISO 3166-1 alpha-2 country code.
    #[error(
        "{0:?} is not an assigned ISO 3166-1 alpha-2 country code (two letters, e.g. AT, CZ, DE)"
    )]
    Country(String),
}

/// Whether `c` is a bidirectional-text control: an embedding or override (U+202A–U+202E), an
/// isolate (U+2066–U+2069), or a mark (U+200E LRM, U+200F RLM, U+061C ALM). Invisible, they can
/// reorder what a reader sees ("Trojan Source", CVE-2021-42574): [`Text`] refuses them, and
/// clients escape them wherever they show text that came from someone else.
#[must_use]
pub fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}'
    )
}

fn check_len(what: &'static str, value: &str, max: usize) -> Result<(), IdError> {
    if value.is_empty() || value.len() > max {
        return Err(IdError::Length {
            what,
            len: value.len(),
            max,
        });
    }
    Ok(())
}

fn check_chars(
    what: &'static str,
    value: &str,
    allowed: &'static str,
    ok: impl Fn(char) -> bool,
) -> Result<(), IdError> {
    match value.chars().find(|&c| !ok(c)) {
        Some(found) => Err(IdError::Character {
            what,
            value: value.to_owned(),
            found,
            allowed,
        }),
        None => Ok(()),
    }
}

const ID_CHARS: &str = "a-z 0-9 . _ -";

fn is_id_char(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')
}

/// An organisation, e.g. `CERT-AT`. Canonical form is upper case; `cert-at` parses to `CERT-AT`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OrgId(String);

impl OrgId {
    /// Parses and canonicalises (upper case) an organisation id.
    ///
    /// # Errors
    ///
    /// [`IdError`] when empty, too long, or with characters outside `A-Z 0-9 . _ -`.
    pub fn new(value: &str) -> Result<Self, IdError> {
        let upper = value.to_ascii_uppercase();
        check_len("organisation id", &upper, MAX_ID_LEN)?;
        check_chars("organisation id", &upper, "A-Z 0-9 . _ -", |c| {
            c.is_ascii_uppercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')
        })?;
        Ok(Self(upper))
    }

    /// The canonical text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A member, `local@org` in lower case, e.g. `officer1@cert-at`. The part after `@` names the
/// member's organisation: a certificate is valid only when it matches the issuing org.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UserId(String);

impl UserId {
    /// Parses a user id; upper case letters are lowered.
    ///
    /// # Errors
    ///
    /// [`IdError`] when it is not `local@org` with both parts in `a-z 0-9 . _ -`.
    pub fn new(value: &str) -> Result<Self, IdError> {
        let lower = value.to_ascii_lowercase();
        check_len("user id", &lower, MAX_ID_LEN)?;
        let Some((local, org)) = lower.split_once('@') else {
            return Err(IdError::UserIdShape(value.to_owned()));
        };
        if local.is_empty() || org.is_empty() {
            return Err(IdError::UserIdShape(value.to_owned()));
        }
        check_chars("user id", local, ID_CHARS, is_id_char)?;
        check_chars("user id", org, ID_CHARS, is_id_char)?;
        Ok(Self(lower))
    }

    /// The canonical text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the part after `@` names `org` (case-insensitively).
    #[must_use]
    pub fn belongs_to(&self, org: &OrgId) -> bool {
        self.0
            .rsplit_once('@')
            .is_some_and(|(_, domain)| domain.eq_ignore_ascii_case(&org.0))
    }
}

/// A role a member holds in their organisation, e.g. `duty-officer`, `incident-lead`, `admin`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Role(String);

impl Role {
    /// Parses a role (lower-cased).
    ///
    /// # Errors
    ///
    /// [`IdError`] when empty, too long, or with characters outside `a-z 0-9 . _ -`.
    pub fn new(value: &str) -> Result<Self, IdError> {
        let lower = value.to_ascii_lowercase();
        check_len("role", &lower, MAX_ID_LEN)?;
        check_chars("role", &lower, ID_CHARS, is_id_char)?;
        Ok(Self(lower))
    }

    /// The canonical text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The officially assigned ISO 3166-1 alpha-2 codes, one per line (`#` starts a comment).
const COUNTRY_CODES: &str = include_str!("../data/iso3166-1-alpha2.txt");

fn is_assigned_country(code: &str) -> bool {
    COUNTRY_CODES
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .any(|line| line == code)
}

/// An organisation's country: an assigned ISO 3166-1 alpha-2 code, e.g. `AT`, `CZ`. Canonical
/// form is upper case; `cz` parses to `CZ`. `REL TO` caveats name countries by these codes.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CountryCode(String);

impl CountryCode {
    /// Parses and canonicalises (upper case) a country code.
    ///
    /// # Errors
    ///
    /// [`IdError::Country`] unless it is two ASCII letters forming an officially assigned
    /// ISO 3166-1 alpha-2 code (reserved and user-assigned codes such as `EU`, `UK` or `XK`
    /// are refused).
    pub fn new(value: &str) -> Result<Self, IdError> {
        let upper = value.to_ascii_uppercase();
        let two_letters = upper.len() == 2 && upper.bytes().all(|b| b.is_ascii_uppercase());
        if !two_letters || !is_assigned_country(&upper) {
            return Err(IdError::Country(value.to_owned()));
        }
        Ok(Self(upper))
    }

    /// The canonical text, e.g. `AT`.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Free text a human reads: a display name, a revocation reason, a caveat. Bounded, with no
/// control characters and no bidirectional controls ([`is_bidi_control`]).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Text(String);

impl Text {
    /// Checks and wraps free text.
    ///
    /// # Errors
    ///
    /// [`IdError`] when empty, longer than [`MAX_TEXT_LEN`] bytes, with control characters, or
    /// ([`IdError::BidiControl`]) with bidirectional controls.
    pub fn new(value: &str) -> Result<Self, IdError> {
        check_len("text", value, MAX_TEXT_LEN)?;
        check_chars("text", value, "printable characters", |c| !c.is_control())?;
        if let Some(found) = value.chars().find(|&c| is_bidi_control(c)) {
            return Err(IdError::BidiControl {
                what: "text",
                found,
            });
        }
        Ok(Self(value.to_owned()))
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! validated_string {
    ($($ty:ident),*) => {$(
        impl Encode for $ty {
            fn encode<E: Encoder>(&self, encoder: &mut E) -> Result<(), EncodeError> {
                self.0.encode(encoder)
            }
        }

        impl<C> Decode<C> for $ty {
            fn decode<D: Decoder<Context = C>>(decoder: &mut D) -> Result<Self, BincodeDecodeError> {
                let raw = String::decode(decoder)?;
                let parsed = Self::new(&raw).map_err(|e| BincodeDecodeError::OtherString(e.to_string()))?;
                // Only the canonical spelling is a valid encoding, so every value has one encoding.
                if parsed.0 != raw {
                    return Err(BincodeDecodeError::Other(concat!("non-canonical ", stringify!($ty))));
                }
                Ok(parsed)
            }
        }

        bincode::impl_borrow_decode!($ty);

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::str::FromStr for $ty {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                Self::new(s)
            }
        }
    )*};
}

validated_string!(OrgId, UserId, CountryCode, Role, Text);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec;

    #[test]
    fn user_ids_are_canonical_and_belong_to_their_org() {
        let user = UserId::new("Officer1@CERT-AT").unwrap();
        assert_eq!(user.as_str(), "officer1@cert-at");
        assert!(user.belongs_to(&OrgId::new("cert-at").unwrap()));
        assert!(!user.belongs_to(&OrgId::new("CERT-CZ").unwrap()));
        assert!(matches!(
            UserId::new("nobody"),
            Err(IdError::UserIdShape(_))
        ));
        assert!(matches!(
            UserId::new("a b@x"),
            Err(IdError::Character { found: ' ', .. })
        ));
        assert!(matches!(UserId::new("@x"), Err(IdError::UserIdShape(_))));
    }

    #[test]
    fn decoding_refuses_invalid_and_non_canonical_names() {
        let bad = codec::encode(&"officer 1@cert-at".to_owned());
        assert!(codec::decode::<UserId>(&bad).is_err());
        let upper = codec::encode(&"OFFICER@CERT-AT".to_owned());
        assert!(codec::decode::<UserId>(&upper).is_err());
        let good = codec::encode(&UserId::new("officer@cert-at").unwrap());
        assert_eq!(
            codec::decode::<UserId>(&good).unwrap().as_str(),
            "officer@cert-at"
        );
        assert!(Text::new("line\nbreak").is_err());
    }

    #[test]
    fn text_refuses_every_bidi_control_and_decoding_does_too() {
        let controls = [
            '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2067}',
            '\u{2068}', '\u{2069}', '\u{200E}', '\u{200F}', '\u{061C}',
        ];
        for found in controls {
            assert!(is_bidi_control(found));
            let text = format!("invoice{found}fdp.exe");
            assert_eq!(
                Text::new(&text),
                Err(IdError::BidiControl {
                    what: "text",
                    found
                })
            );
            assert!(codec::decode::<Text>(&codec::encode(&text)).is_err());
        }
        // Scripts written right to left need no control character.
        for ok in ["Jana Nováková", "مركز الاستجابة", "צוות תגובה"] {
            assert_eq!(Text::new(ok).unwrap().as_str(), ok);
        }
        assert!(!is_bidi_control('\u{200B}') && !is_bidi_control('a'));
    }

    #[test]
    fn country_codes_are_assigned_iso_codes_in_upper_case() {
        assert_eq!(CountryCode::new("cz").unwrap().as_str(), "CZ");
        assert_eq!(CountryCode::new("AT").unwrap().to_string(), "AT");
        for refused in [
            "XK", "UK", "EU", "EL", "ZZ", "A", "AUT", "", "A1", "Ä", "a t",
        ] {
            assert_eq!(
                CountryCode::new(refused),
                Err(IdError::Country(refused.to_owned())),
                "{refused:?}"
            );
        }
    }

    #[test]
    fn the_country_list_is_the_249_assigned_codes_sorted() {
        let codes: Vec<&str> = COUNTRY_CODES
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect();
        assert_eq!(codes.len(), 249);
        assert!(
            codes.windows(2).all(|w| w[0] < w[1]),
            "sorted, no duplicates"
        );
        for code in codes {
            assert_eq!(CountryCode::new(code).unwrap().as_str(), code);
        }
    }

    #[test]
    fn decoding_refuses_unassigned_and_non_canonical_country_codes() {
        for bad in ["XK", "cz", "C", "CZE"] {
            let bytes = codec::encode(&bad.to_owned());
            assert!(codec::decode::<CountryCode>(&bytes).is_err(), "{bad:?}");
        }
        let good = codec::encode(&CountryCode::new("CZ").unwrap());
        assert_eq!(codec::decode::<CountryCode>(&good).unwrap().as_str(), "CZ");
    }
}
