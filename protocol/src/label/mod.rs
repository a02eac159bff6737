//! Labels: a TLP 2.0 sharing rule, a classification level from a policy, and free-text caveats.
//! Two separate axes plus text, bound into every channel message.

mod release;
mod tlp;

use bincode::de::Decoder;
use bincode::error::DecodeError as BincodeDecodeError;
use bincode::{Decode, Encode};

pub use tlp::{Rgb, Tlp, UnknownTlp};

use crate::ids::Text;
use crate::policy::{ClassificationPolicy, MAX_LEVELS, PolicyError};

/// Most caveats one label carries.
pub const MAX_CAVEATS: usize = 8;

/// A classification level in a named policy (level 0 is the lowest). Also a member's clearance.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Encode, Decode)]
pub struct Classification {
    /// The policy, e.g. `EU`.
    pub policy: Text,
    /// The rank in that policy; higher dominates lower.
    pub level: u8,
}

impl Classification {
    /// Whether this (a clearance, or a label's level) dominates `other`: same policy, and at
    /// least as high. Levels of different policies never dominate each other.
    #[must_use]
    pub fn dominates(&self, other: &Self) -> bool {
        self.policy == other.policy && self.level >= other.level
    }

    /// The marking, e.g. `EU SECRET`, or `POLICY level N` for a policy we do not know.
    #[must_use]
    pub fn marking(&self) -> String {
        let eu = ClassificationPolicy::eu();
        match eu.level(self.level) {
            Some(level) if self.policy.as_str() == eu.name() => level.marking.clone(),
            _ => format!("{} level {}", self.policy, self.level),
        }
    }
}

/// Why a label could not be built or parsed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LabelError {
    /// Not a TLP 2.0 label.
    #[error(
        "{0:?} is not a TLP 2.0 label (TLP:CLEAR, TLP:GREEN, TLP:AMBER, TLP:AMBER+STRICT, TLP:RED)"
    )]
    Tlp(String),
    /// An unknown classification level.
    #[error(transparent)]
    Level(#[from] PolicyError),
    /// A caveat that is empty, too long, or contains `|` or `;`.
    #[error("caveat {0:?} must be 1 to 256 printable characters without `|` or `;`")]
    Caveat(String),
    /// A `REL TO` caveat without countries, or naming something that is not an assigned
    /// ISO 3166-1 alpha-2 code.
    #[error(
        "caveat {0:?}: REL TO names countries by their ISO 3166-1 alpha-2 codes, e.g. `REL TO AT,CZ`"
    )]
    Releasability(String),
    /// More caveats than [`MAX_CAVEATS`].
    #[error("at most {MAX_CAVEATS} caveats")]
    TooManyCaveats,
    /// The text form is not `TLP | LEVEL [| CAVEAT; ...]`.
    #[error("a label reads `TLP:AMBER | EU SECRET | REL TO AT,CZ`; got {0:?}")]
    Shape(String),
    /// A decoded level that no policy of ours could have produced: past [`MAX_LEVELS`], or not
    /// a level of the built-in policy it names.
    #[error("policy {policy} has no level {level}")]
    NoSuchLevel {
        /// The policy's name.
        policy: String,
        level: u8,
    },
}

/// A channel's label. There is no default: every channel is created with one.
///
/// Decoding applies the checks of [`Label::new`] (caveat count, caveat text, level), so a label
/// that could not have been built cannot be decoded either.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Encode)]
pub struct Label {
    /// The sharing rule.
    pub tlp: Tlp,
    /// The classification level.
    pub level: Classification,
    /// Handling instructions, e.g. `REL TO AT,CZ`.
    pub caveats: Vec<Text>,
}

fn caveat(text: &str) -> Result<Text, LabelError> {
    let trimmed = text.trim();
    if trimmed.contains(['|', ';']) {
        return Err(LabelError::Caveat(text.to_owned()));
    }
    let canonical = release::canonical(trimmed)?;
    Text::new(&canonical).map_err(|_| LabelError::Caveat(text.to_owned()))
}

/// Checks that `level` is one a policy could have produced: below [`MAX_LEVELS`] in any policy,
/// and a defined level of the built-in EU policy when it names that one. (Other policies are
/// tables we may not hold; their markings show as `POLICY level N`.)
fn check_level(level: &Classification) -> Result<(), LabelError> {
    let eu = ClassificationPolicy::eu();
    let known = if level.policy.as_str() == eu.name() {
        eu.level(level.level).is_some()
    } else {
        usize::from(level.level) < MAX_LEVELS
    };
    if known {
        Ok(())
    } else {
        Err(LabelError::NoSuchLevel {
            policy: level.policy.to_string(),
            level: level.level,
        })
    }
}

impl Label {
    /// Builds a label, parsing the level in `policy` and checking the caveats.
    ///
    /// # Errors
    ///
    /// [`LabelError`] for an unknown TLP or level, or a bad caveat.
    pub fn new(
        tlp: &str,
        level: &str,
        caveats: &[&str],
        policy: &ClassificationPolicy,
    ) -> Result<Self, LabelError> {
        let tlp = Tlp::parse(tlp).map_err(|UnknownTlp(text)| LabelError::Tlp(text))?;
        let level = Classification {
            policy: Text::new(policy.name())
                .map_err(|_| LabelError::Shape(policy.name().to_owned()))?,
            level: policy.parse_level(level)?,
        };
        if caveats.len() > MAX_CAVEATS {
            return Err(LabelError::TooManyCaveats);
        }
        let caveats = caveats
            .iter()
            .map(|c| caveat(c))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            tlp,
            level,
            caveats,
        })
    }

    /// Parses the canonical text form `TLP | LEVEL [| CAVEAT; CAVEAT]`.
    ///
    /// # Errors
    ///
    /// [`LabelError`].
    pub fn parse(text: &str, policy: &ClassificationPolicy) -> Result<Self, LabelError> {
        let parts: Vec<&str> = text.split('|').map(str::trim).collect();
        match parts.as_slice() {
            [tlp, level] => Self::new(tlp, level, &[], policy),
            [tlp, level, caveats] => {
                let caveats: Vec<&str> = caveats.split(';').map(str::trim).collect();
                Self::new(tlp, level, &caveats, policy)
            }
            _ => Err(LabelError::Shape(text.to_owned())),
        }
    }

    /// Checks a label that was not built by [`Label::new`] (a decoded one) by the same rules:
    /// at most [`MAX_CAVEATS`] caveats, each a [`Text`] that is its own trimmed form without
    /// `|` or `;`, and a level a policy could have produced.
    fn validate(&self) -> Result<(), LabelError> {
        if self.caveats.len() > MAX_CAVEATS {
            return Err(LabelError::TooManyCaveats);
        }
        for text in &self.caveats {
            if caveat(text.as_str())?.as_str() != text.as_str() {
                return Err(LabelError::Caveat(text.to_string()));
            }
        }
        check_level(&self.level)
    }

    /// The countries this label is releasable to: `None` without a `REL TO` caveat; with
    /// several, only the countries every one of them names.
    #[must_use]
    pub fn releasable_to(&self) -> Option<std::collections::BTreeSet<crate::CountryCode>> {
        self.caveats
            .iter()
            .filter_map(|c| release::countries(c.as_str()).and_then(Result::ok))
            .reduce(|a, b| a.intersection(&b).cloned().collect())
    }

    /// The canonical text form, e.g. `TLP:AMBER | EU SECRET | REL TO AT,CZ`.
    #[must_use]
    pub fn canonical(&self) -> String {
        let mut text = format!("{} | {}", self.tlp, self.level.marking());
        if !self.caveats.is_empty() {
            let caveats: Vec<&str> = self.caveats.iter().map(Text::as_str).collect();
            text.push_str(" | ");
            text.push_str(&caveats.join("; "));
        }
        text
    }

    /// Whether this label dominates `other`: its level dominates, its TLP is at least as
    /// restrictive, and it carries every caveat of `other`.
    #[must_use]
    pub fn dominates(&self, other: &Self) -> bool {
        self.level.dominates(&other.level)
            && self.tlp >= other.tlp
            && other.caveats.iter().all(|c| self.caveats.contains(c))
    }

    /// The colour to draw the label in (on black).
    #[must_use]
    pub fn colour(&self) -> Rgb {
        self.tlp.colour()
    }

    /// Whether messages of a channel with this label may be exported or forwarded
    /// (`TLP:RED`: never).
    #[must_use]
    pub fn allows_export(&self) -> bool {
        self.tlp != Tlp::Red
    }

    /// Whether members who join later may be given earlier messages (`TLP:RED`: never).
    #[must_use]
    pub fn history_for_joiners(&self) -> bool {
        self.tlp != Tlp::Red
    }
}

impl<C> Decode<C> for Label {
    fn decode<D: Decoder<Context = C>>(decoder: &mut D) -> Result<Self, BincodeDecodeError> {
        let label = Self {
            tlp: Tlp::decode(decoder)?,
            level: Classification::decode(decoder)?,
            caveats: Vec::<Text>::decode(decoder)?,
        };
        label
            .validate()
            .map_err(|e| BincodeDecodeError::OtherString(e.to_string()))?;
        Ok(label)
    }
}

bincode::impl_borrow_decode!(Label);

impl std::fmt::Display for Label {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.canonical())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec;

    /// A label's layout with caveats that are any string, to encode what `Label` cannot hold.
    #[derive(Encode)]
    struct RawLabel {
        tlp: Tlp,
        level: Classification,
        caveats: Vec<String>,
    }

    fn raw(level: u8, caveats: &[&str]) -> Vec<u8> {
        codec::encode(&RawLabel {
            tlp: Tlp::Amber,
            level: Classification {
                policy: "EU".parse().unwrap(),
                level,
            },
            caveats: caveats.iter().map(|c| (*c).to_owned()).collect(),
        })
    }

    fn eu() -> &'static ClassificationPolicy {
        ClassificationPolicy::eu()
    }

    #[test]
    fn canonical_text_round_trips() {
        let label = Label::new(
            "tlp:amber",
            "geheim",
            &["REL TO AT,CZ", "not to vendor X"],
            eu(),
        )
        .unwrap();
        assert_eq!(
            label.canonical(),
            "TLP:AMBER | EU SECRET | REL TO AT,CZ; not to vendor X"
        );
        assert_eq!(Label::parse(&label.canonical(), eu()).unwrap(), label);
        let plain = Label::parse("TLP:WHITE | UNCLASSIFIED", eu()).unwrap();
        assert_eq!(plain.canonical(), "TLP:CLEAR | UNCLASSIFIED");
    }

    #[test]
    fn bad_labels_are_refused_with_reasons() {
        assert!(matches!(
            Label::parse("TLP:PURPLE | EU SECRET", eu()),
            Err(LabelError::Tlp(_))
        ));
        assert!(matches!(
            Label::parse("TLP:RED | SUPER SECRET", eu()),
            Err(LabelError::Level(_))
        ));
        assert!(matches!(
            Label::parse("TLP:RED", eu()),
            Err(LabelError::Shape(_))
        ));
        assert!(matches!(
            Label::new("TLP:RED", "EU SECRET", &["a|b"], eu()),
            Err(LabelError::Caveat(_))
        ));
        let many = ["x"; MAX_CAVEATS + 1];
        assert_eq!(
            Label::new("TLP:RED", "EU SECRET", &many, eu()),
            Err(LabelError::TooManyCaveats)
        );
    }

    #[test]
    fn decoding_accepts_what_new_builds() {
        let label = Label::new("TLP:AMBER", "EU SECRET", &["REL TO AT,CZ", "x"], eu()).unwrap();
        assert_eq!(codec::decode::<Label>(&codec::encode(&label)), Ok(label));
        assert!(codec::decode::<Label>(&raw(3, &["REL TO AT,CZ"])).is_ok());
    }

    #[test]
    fn decoding_refuses_what_new_refuses() {
        let malformed = |bytes: &[u8]| {
            matches!(
                codec::decode::<Label>(bytes),
                Err(codec::DecodeError::Malformed(_))
            )
        };
        assert!(malformed(&raw(0, &["x"; MAX_CAVEATS + 1])), "nine caveats");
        assert!(malformed(&raw(0, &["REL TO AT; CZ"])), "a caveat with `;`");
        assert!(malformed(&raw(0, &["REL TO AT | CZ"])), "a caveat with `|`");
        assert!(
            malformed(&raw(0, &["REL TO \u{202E}ZC,TA"])),
            "a bidi override"
        );
        assert!(malformed(&raw(0, &["line\nbreak"])), "a control character");
        assert!(malformed(&raw(0, &[" padded "])), "an untrimmed caveat");
        assert!(malformed(&raw(0, &[""])), "an empty caveat");
        assert!(malformed(&raw(5, &[])), "EU has no level 5");
        // The same refusals from the constructor.
        assert!(Label::new("TLP:AMBER", "UNCLASSIFIED", &["a\u{202E}b"], eu()).is_err());
        assert!(Label::new("TLP:AMBER", "UNCLASSIFIED", &["a;b"], eu()).is_err());
    }

    #[test]
    fn levels_of_other_policies_decode_up_to_the_table_limit() {
        let other = |level| {
            codec::encode(&RawLabel {
                tlp: Tlp::Red,
                level: Classification {
                    policy: "NATO".parse().unwrap(),
                    level,
                },
                caveats: Vec::new(),
            })
        };
        let highest = u8::try_from(MAX_LEVELS - 1).unwrap();
        assert!(codec::decode::<Label>(&other(highest)).is_ok());
        assert!(codec::decode::<Label>(&other(highest + 1)).is_err());
    }

    #[test]
    fn dominance_needs_level_tlp_and_caveats() {
        let l = |text: &str| Label::parse(text, eu()).unwrap();
        assert!(l("TLP:RED | EU SECRET").dominates(&l("TLP:AMBER | EU RESTRICTED")));
        assert!(!l("TLP:AMBER | EU SECRET").dominates(&l("TLP:RED | EU SECRET")));
        assert!(!l("TLP:RED | EU RESTRICTED").dominates(&l("TLP:RED | EU SECRET")));
        assert!(l("TLP:RED | EU SECRET | A; B").dominates(&l("TLP:RED | EU SECRET | A")));
        assert!(!l("TLP:RED | EU SECRET | A").dominates(&l("TLP:RED | EU SECRET | A; B")));
        let nato = Classification {
            policy: "NATO".parse().unwrap(),
            level: 4,
        };
        assert!(!nato.dominates(&l("TLP:RED | EU RESTRICTED").level));
    }

    #[test]
    fn red_refuses_export_and_history() {
        let red = Label::parse("TLP:RED | UNCLASSIFIED", eu()).unwrap();
        let amber = Label::parse("TLP:AMBER+STRICT | UNCLASSIFIED", eu()).unwrap();
        assert!(!red.allows_export() && !red.history_for_joiners());
        assert!(amber.allows_export() && amber.history_for_joiners());
        assert_eq!(red.colour(), Rgb(0xFF, 0x2B, 0x2B));
    }
}
