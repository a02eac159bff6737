//! Traffic Light Protocol 2.0 (FIRST): who may receive information.

use bincode::{Decode, Encode};

/// A TLP 2.0 label, least to most restrictive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode)]
pub enum Tlp {
    /// `TLP:CLEAR`: no limit on disclosure.
    Clear,
    /// `TLP:GREEN`: the community, not public channels.
    Green,
    /// `TLP:AMBER`: the recipient's organisation and its clients, need-to-know.
    Amber,
    /// `TLP:AMBER+STRICT`: the recipient's own organisation only.
    AmberStrict,
    /// `TLP:RED`: the named recipients only.
    Red,
}

/// A display colour, as FIRST specifies it (foreground on a black background).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rgb(pub u8, pub u8, pub u8);

impl Tlp {
    /// Every label, least restrictive first.
    pub const ALL: [Self; 5] = [
        Self::Clear,
        Self::Green,
        Self::Amber,
        Self::AmberStrict,
        Self::Red,
    ];

    /// The canonical spelling: capitals, no spaces, never translated.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Clear => "TLP:CLEAR",
            Self::Green => "TLP:GREEN",
            Self::Amber => "TLP:AMBER",
            Self::AmberStrict => "TLP:AMBER+STRICT",
            Self::Red => "TLP:RED",
        }
    }

    /// The FIRST display colour, to draw on black: RED `#FF2B2B`, AMBER `#FFC000`,
    /// GREEN `#33FF00`, CLEAR `#FFFFFF`.
    #[must_use]
    pub const fn colour(self) -> Rgb {
        match self {
            Self::Red => Rgb(0xFF, 0x2B, 0x2B),
            Self::Amber | Self::AmberStrict => Rgb(0xFF, 0xC0, 0x00),
            Self::Green => Rgb(0x33, 0xFF, 0x00),
            Self::Clear => Rgb(0xFF, 0xFF, 0xFF),
        }
    }

    /// Parses a TLP label: the canonical spelling, in any case, with or without the `TLP:`
    /// prefix. Legacy TLP 1.0 `TLP:WHITE` imports as `TLP:CLEAR`.
    ///
    /// # Errors
    ///
    /// [`UnknownTlp`] holding the refused text, when it is not a TLP 2.0 (or legacy WHITE)
    /// label.
    pub fn parse(text: &str) -> Result<Self, UnknownTlp> {
        let upper = text.trim().to_ascii_uppercase();
        let bare = upper.strip_prefix("TLP:").unwrap_or(&upper);
        match bare {
            "CLEAR" | "WHITE" => Ok(Self::Clear),
            "GREEN" => Ok(Self::Green),
            "AMBER" => Ok(Self::Amber),
            "AMBER+STRICT" => Ok(Self::AmberStrict),
            "RED" => Ok(Self::Red),
            _ => Err(UnknownTlp(text.to_owned())),
        }
    }
}

/// Text that is not a TLP 2.0 label (nor legacy `TLP:WHITE`), as it was given.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a TLP 2.0 label")]
pub struct UnknownTlp(pub String);

impl std::fmt::Display for Tlp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_spellings_round_trip_and_white_becomes_clear() {
        for tlp in Tlp::ALL {
            assert_eq!(Tlp::parse(tlp.as_str()), Ok(tlp));
            assert_eq!(Tlp::parse(&tlp.as_str().to_ascii_lowercase()), Ok(tlp));
        }
        assert_eq!(Tlp::parse("TLP:WHITE"), Ok(Tlp::Clear));
        assert_eq!(Tlp::parse("amber+strict"), Ok(Tlp::AmberStrict));
        assert!(Tlp::parse("TLP:AMBER STRICT").is_err());
        assert!(Tlp::parse("TLP:ROT").is_err());
        assert!(Tlp::Red > Tlp::AmberStrict && Tlp::AmberStrict > Tlp::Amber);
        assert_eq!(Tlp::Red.colour(), Rgb(0xFF, 0x2B, 0x2B));
        assert_eq!(Tlp::AmberStrict.colour(), Tlp::Amber.colour());
        assert_eq!(Tlp::Green.colour(), Rgb(0x33, 0xFF, 0x00));
        assert_eq!(Tlp::Clear.colour(), Rgb(0xFF, 0xFF, 0xFF));
    }
}
