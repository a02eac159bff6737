//! `inspect` of a trust list: its version, partners and limits, and its signature checked
//! against the root of its organisation when that root is known.

use std::io::Write;

use vigil_protocol::{OrgRoot, TrustList};

use crate::error::{Result, Unverified};
use crate::say;

/// Prints `list`; refuses (exit 1) when its signature or content does not verify.
pub(super) fn trust_list(list: &TrustList, roots: &[OrgRoot], out: &mut dyn Write) -> Result<()> {
    let body = list.body();
    say(out, "Vigil trust list");
    say(out, format!("  organisation:  {}", body.org));
    say(out, format!("  version:       {}", body.version));
    say(out, format!("  issued:        {}", body.issued_at));
    say(out, format!("  partners:      {}", body.partners.len()));
    for partner in &body.partners {
        say(
            out,
            format!(
                "    {} ({}, fingerprint {}): {}",
                partner.root.org(),
                partner.root.country(),
                partner.root.fingerprint(),
                partner.limits
            ),
        );
    }
    super::inspect::check_org_signature(roots, &body.org, out, |root| {
        list.verify(root).map_err(|_| Unverified::TrustList {
            org: root.org().clone(),
        })
    })
}
