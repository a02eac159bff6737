//! Classification policies as data: ordered levels, their markings in every spelling a partner
//! uses, and parsing of what an administrator or officer types.
//!
//! The built-in policy is the EU one ([`ClassificationPolicy::eu`], from `policies/eu.txt`);
//! another (NATO, a national scheme) is a table in the same format, no code change.

use std::sync::OnceLock;

/// Most levels a policy may define.
pub const MAX_LEVELS: usize = 16;

/// A policy table or a level name was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// A line of a policy table is malformed.
    #[error("policy table line {line}: {why}")]
    Table {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        why: &'static str,
    },
    /// No level of the policy has this marking.
    #[error("unknown classification level {input:?} in policy {policy}; known: {known}")]
    UnknownLevel {
        /// What was typed.
        input: String,
        /// The policy's name.
        policy: String,
        /// The policy's markings, for the error message.
        known: String,
    },
    /// The marking names different levels in different countries.
    #[error(
        "{input:?} means different levels in different countries; prefix the country, e.g. {example}"
    )]
    Ambiguous {
        /// What was typed.
        input: String,
        /// A qualified spelling.
        example: String,
    },
}

/// One level of a policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Level {
    /// Rank: higher dominates lower.
    pub rank: u8,
    /// The policy's own marking, e.g. `EU SECRET`.
    pub marking: String,
    /// Other spellings of the same marking, e.g. `SECRET UE`.
    pub aliases: Vec<String>,
    /// National equivalents: (country code, marking), e.g. (`CZ`, `TAJNÉ`).
    pub national: Vec<(String, String)>,
}

/// An ordered set of classification levels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClassificationPolicy {
    name: String,
    levels: Vec<Level>,
}

impl ClassificationPolicy {
    /// The built-in EU policy.
    #[must_use]
    pub fn eu() -> &'static Self {
        static EU: OnceLock<ClassificationPolicy> = OnceLock::new();
        EU.get_or_init(|| {
            #[expect(
                clippy::expect_used,
                reason = "the built-in table is checked by a unit test"
            )]
            Self::from_table(include_str!("../policies/eu.txt")).expect("built-in EU policy")
        })
    }

    /// Loads a policy table (format: see `policies/eu.txt`).
    ///
    /// # Errors
    ///
    /// [`PolicyError::Table`] for a malformed line, ranks out of order, or too many levels.
    pub fn from_table(text: &str) -> Result<Self, PolicyError> {
        let mut name = None;
        let mut levels: Vec<Level> = Vec::new();
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            let bad = |why| PolicyError::Table { line, why };
            let trimmed = raw.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            if let Some(n) = trimmed.strip_prefix("policy ") {
                name = Some(n.trim().to_owned());
                continue;
            }
            let fields: Vec<&str> = trimmed.split('|').map(str::trim).collect();
            let [rank, marking, aliases, national] = fields.as_slice() else {
                return Err(bad("expected RANK | MARKING | ALIASES | NATIONAL"));
            };
            let rank: u8 = rank.parse().map_err(|_| bad("rank is not a number"))?;
            if usize::from(rank) != levels.len() {
                return Err(bad("ranks must start at 0 and increase by one"));
            }
            if marking.is_empty() {
                return Err(bad("empty marking"));
            }
            let list = |s: &str| -> Vec<String> {
                s.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            };
            let national = list(national)
                .into_iter()
                .map(|entry| {
                    entry
                        .split_once(':')
                        .map(|(c, m)| (c.trim().to_ascii_uppercase(), m.trim().to_owned()))
                        .ok_or(bad("national marking must be CC:MARKING"))
                })
                .collect::<Result<_, _>>()?;
            levels.push(Level {
                rank,
                marking: (*marking).to_owned(),
                aliases: list(aliases),
                national,
            });
            if levels.len() > MAX_LEVELS {
                return Err(bad("too many levels"));
            }
        }
        let name = name.ok_or(PolicyError::Table {
            line: 0,
            why: "missing `policy NAME` line",
        })?;
        if levels.is_empty() {
            return Err(PolicyError::Table {
                line: 0,
                why: "no levels",
            });
        }
        Ok(Self { name, levels })
    }

    /// The policy's name, e.g. `EU`.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The levels, lowest first.
    #[must_use]
    pub fn levels(&self) -> &[Level] {
        &self.levels
    }

    /// The level of `rank`.
    #[must_use]
    pub fn level(&self, rank: u8) -> Option<&Level> {
        self.levels.get(usize::from(rank))
    }

    /// The marking of `rank` with its national equivalents, e.g.
    /// `EU SECRET (AT GEHEIM, CZ TAJNÉ, …)`; `level N` if the policy has no such level.
    #[must_use]
    pub fn describe(&self, rank: u8) -> String {
        match self.level(rank) {
            None => format!("{} level {rank}", self.name),
            Some(level) if level.national.is_empty() => level.marking.clone(),
            Some(level) => {
                let national: Vec<String> = level
                    .national
                    .iter()
                    .map(|(c, m)| format!("{c} {m}"))
                    .collect();
                format!("{} ({})", level.marking, national.join(", "))
            }
        }
    }

    /// Parses a marking: the policy's own (`EU SECRET`), another spelling (`SECRET UE`), or a
    /// national one with or without its country (`CZ:TAJNÉ`, `tajne`, `GEHEIM`), in any case,
    /// with or without diacritics.
    ///
    /// # Errors
    ///
    /// [`PolicyError::UnknownLevel`], or [`PolicyError::Ambiguous`] when an unqualified national
    /// marking means different levels in different countries.
    pub fn parse_level(&self, input: &str) -> Result<u8, PolicyError> {
        let (country, marking) = match input.split_once(':') {
            Some((c, m)) if c.trim().len() == 2 => (Some(c.trim().to_ascii_uppercase()), m),
            _ => (None, input),
        };
        let wanted = normalise(marking);
        let mut found: Vec<(u8, Option<&str>)> = Vec::new();
        for level in &self.levels {
            if country.is_none()
                && (normalise(&level.marking) == wanted
                    || level.aliases.iter().any(|a| normalise(a) == wanted))
            {
                found.push((level.rank, None));
            }
            for (c, m) in &level.national {
                if country.as_deref().is_none_or(|want| want == c) && normalise(m) == wanted {
                    found.push((level.rank, Some(c)));
                }
            }
        }
        match found.as_slice() {
            [] => Err(PolicyError::UnknownLevel {
                input: input.to_owned(),
                policy: self.name.clone(),
                known: self
                    .levels
                    .iter()
                    .map(|l| l.marking.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
            [(rank, _), rest @ ..] if rest.iter().all(|(r, _)| r == rank) => Ok(*rank),
            [(_, country), ..] => Err(PolicyError::Ambiguous {
                input: input.to_owned(),
                example: format!("{}:{}", country.unwrap_or("CZ"), marking.trim()),
            }),
        }
    }
}

/// Upper case, diacritics and `!` removed, `_` as space, whitespace collapsed.
fn normalise(text: &str) -> String {
    let folded: String = text
        .chars()
        .flat_map(char::to_uppercase)
        .filter_map(|c| match c {
            '!' => None,
            '_' => Some(' '),
            'Á' | 'Ä' | 'Ą' => Some('A'),
            'Č' | 'Ć' => Some('C'),
            'Ď' => Some('D'),
            'É' | 'È' | 'Ě' | 'Ę' => Some('E'),
            'Í' => Some('I'),
            'Ĺ' | 'Ľ' | 'Ł' => Some('L'),
            'Ň' | 'Ń' => Some('N'),
            'Ó' | 'Ö' | 'Ô' | 'Ő' => Some('O'),
            'Ř' | 'Ŕ' => Some('R'),
            'Š' | 'Ś' => Some('S'),
            'Ť' => Some('T'),
            'Ú' | 'Ů' | 'Ü' | 'Ű' => Some('U'),
            'Ý' => Some('Y'),
            'Ž' | 'Ż' | 'Ź' => Some('Z'),
            other => Some(other),
        })
        .collect();
    folded.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_eu_policy_loads() {
        let eu = ClassificationPolicy::eu();
        assert_eq!(eu.name(), "EU");
        assert_eq!(eu.levels().len(), 5);
        assert_eq!(eu.describe(0), "UNCLASSIFIED");
        assert!(eu.describe(3).starts_with("EU SECRET (AT GEHEIM, CZ TAJNÉ"));
    }

    #[test]
    fn parses_eu_and_national_markings_with_and_without_diacritics() {
        let eu = ClassificationPolicy::eu();
        for (input, rank) in [
            ("UNCLASSIFIED", 0),
            ("eu restricted", 1),
            ("RESTREINT UE", 1),
            ("EU_CONFIDENTIAL", 2),
            ("SECRET UE", 3),
            ("TRES SECRET UE", 4),
            ("Très Secret UE", 4),
            ("EINGESCHRÄNKT", 1),
            ("eingeschrankt", 1),
            ("CZ:VYHRAZENÉ", 1),
            ("vyhrazene", 1),
            ("KORLÁTOZOTT TERJESZTÉSŰ!", 1),
            ("korlatozott terjesztesu", 1),
            ("POUFNE", 2),
            ("DÔVERNÉ", 2),
            ("DUVERNE", 2),
            ("TAJNE", 3),
            ("PL:TAJNE", 3),
            ("SK:TAJNÉ", 3),
            ("GEHEIM", 3),
            ("STRENG GEHEIM", 4),
            ("PŘÍSNĚ TAJNÉ", 4),
            ("ŚCIŚLE TAJNE", 4),
            ("szigoruan titkos", 4),
        ] {
            assert_eq!(eu.parse_level(input), Ok(rank), "{input}");
        }
    }

    #[test]
    fn refuses_unknown_and_wrong_country() {
        let eu = ClassificationPolicy::eu();
        assert!(matches!(
            eu.parse_level("COSMIC TOP SECRET"),
            Err(PolicyError::UnknownLevel { .. })
        ));
        assert!(matches!(
            eu.parse_level("AT:TAJNE"),
            Err(PolicyError::UnknownLevel { .. })
        ));
        let err = eu.parse_level("SECRET").unwrap_err();
        assert!(err.to_string().contains("EU SECRET"), "{err}");
    }

    #[test]
    fn ambiguous_national_markings_need_their_country() {
        let table = "policy X\n0 | LOW | | AA:WORD\n1 | HIGH | | BB:WORD\n";
        let policy = ClassificationPolicy::from_table(table).unwrap();
        assert!(matches!(
            policy.parse_level("word"),
            Err(PolicyError::Ambiguous { .. })
        ));
        assert_eq!(policy.parse_level("BB:word"), Ok(1));
    }

    #[test]
    fn malformed_tables_are_refused() {
        assert!(ClassificationPolicy::from_table("0 | A | |\n").is_err());
        assert!(ClassificationPolicy::from_table("policy X\n1 | A | |\n").is_err());
        assert!(ClassificationPolicy::from_table("policy X\n0 | A |\n").is_err());
    }
}
