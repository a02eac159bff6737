//! `REL TO` caveats: releasable to the organisations of the named countries only (ISO 3166-1
//! alpha-2 codes, e.g. `REL TO AT,CZ`). Written in one canonical form, so two members reading
//! the same caveat agree on what it allows.

use std::collections::BTreeSet;

use super::LabelError;
use crate::ids::CountryCode;

/// The prefix of a releasability caveat.
pub(super) const REL_TO: &str = "REL TO ";

/// The canonical form of a caveat: a `REL TO` caveat (any case, codes separated by commas
/// and/or spaces) becomes `REL TO AT,CZ` with assigned codes, upper case, sorted, each once;
/// any other caveat is returned as it is.
///
/// # Errors
///
/// [`LabelError::Releasability`] for a `REL TO` caveat without codes or with a code that is
/// not an assigned ISO 3166-1 alpha-2 code.
pub(super) fn canonical(caveat: &str) -> Result<String, LabelError> {
    match countries(caveat) {
        None => Ok(caveat.to_owned()),
        Some(Err(e)) => Err(e),
        Some(Ok(codes)) => {
            let list: Vec<&str> = codes.iter().map(CountryCode::as_str).collect();
            Ok(format!("{REL_TO}{}", list.join(",")))
        }
    }
}

/// The countries a caveat releases to, when it is a `REL TO` caveat.
pub(super) fn countries(caveat: &str) -> Option<Result<BTreeSet<CountryCode>, LabelError>> {
    let head = caveat.get(..REL_TO.len())?;
    if !head.eq_ignore_ascii_case(REL_TO) {
        return None;
    }
    let rest = caveat.get(REL_TO.len()..).unwrap_or_default();
    let bad = || LabelError::Releasability(caveat.to_owned());
    let codes: Result<BTreeSet<CountryCode>, LabelError> = rest
        .split([',', ' '])
        .filter(|code| !code.is_empty())
        .map(|code| CountryCode::new(code).map_err(|_| bad()))
        .collect();
    Some(codes.and_then(|codes| {
        if codes.is_empty() {
            Err(bad())
        } else {
            Ok(codes)
        }
    }))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test code")]

    use super::*;

    #[test]
    fn rel_to_caveats_are_read_in_one_canonical_form() {
        assert_eq!(canonical("rel to cz, at").unwrap(), "REL TO AT,CZ");
        assert_eq!(canonical("REL TO AT,CZ,AT").unwrap(), "REL TO AT,CZ");
        assert_eq!(canonical("not to vendor X").unwrap(), "not to vendor X");
        for bad in ["REL TO ", "REL TO UK", "REL TO AT,XX", "REL TO EU"] {
            assert_eq!(
                canonical(bad),
                Err(LabelError::Releasability(bad.to_owned())),
                "{bad:?}"
            );
        }
    }
}
