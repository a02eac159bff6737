//! The one line `vigil-keytool` writes on standard error when a command fails: `text` for an
//! administrator, or `json` (`--error-format json`) for scripts, which act on the error's
//! stable [`Error::kind`] rather than on its wording.

use crate::error::Error;

/// How a failure is reported on standard error.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ErrorFormat {
    /// One line: `vigil-keytool: REASON`.
    #[default]
    Text,
    /// One JSON object: `{"error":KIND,"code":EXIT_CODE,"message":REASON}`.
    Json,
}

impl Error {
    /// The line to write on standard error for this failure, in `format` (without the newline).
    #[must_use]
    pub fn report(&self, format: ErrorFormat) -> String {
        match format {
            ErrorFormat::Text => format!("vigil-keytool: {self}"),
            ErrorFormat::Json => format!(
                "{{\"error\":{},\"code\":{},\"message\":{}}}",
                vigil_common::json::string(self.kind()),
                self.exit_code(),
                vigil_common::json::string(&self.to_string())
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::error::{Damage, Unverified};

    #[test]
    fn json_strings_escape_quotes_backslashes_controls_and_bidi() {
        assert_eq!(
            vigil_common::json::string("ok\u{1b}]0;pwned\u{7}\r\u{202e}fdp.exe\u{9b}"),
            r#""ok\u001b]0;pwned\u0007\r\u202efdp.exe\u009b""#
        );
        assert_eq!(
            vigil_common::json::string("a\"b\\c\u{2028}\td\ne\u{7f}"),
            r#""a\"b\\c\u2028\td\ne\u007f""#
        );
        assert_eq!(vigil_common::json::string("CZ:TAJNÉ"), "\"CZ:TAJNÉ\"");
    }

    #[test]
    fn a_failure_is_one_json_object_naming_its_kind_code_and_message() {
        let hostile = PathBuf::from("at/\"x\"\n\u{1b}[2J");
        let error = Error::NotOrgDir(hostile);
        let json = error.report(ErrorFormat::Json);
        assert_eq!(
            json,
            r#"{"error":"not_org_dir","code":2,"message":"at/\"x\"\n\u001b[2J is not an organisation directory (create one with `vigil-keytool org init`)"}"#
        );
        assert!(!json.contains('\n') && !json.contains('\u{1b}'), "{json:?}");

        let refused = Error::from(Unverified::RootSelfSignature {
            org: "CERT-AT".parse().unwrap(),
        });
        assert_eq!(
            refused.report(ErrorFormat::Json),
            r#"{"error":"bad_root_signature","code":1,"message":"signature check failed: DOES NOT VERIFY"}"#
        );
        let corrupt = Error::corrupt("org.toml", Damage::SerialsExhausted);
        assert_eq!(
            corrupt.report(ErrorFormat::Text),
            "vigil-keytool: org.toml: serials exhausted"
        );
        assert!(
            corrupt
                .report(ErrorFormat::Json)
                .starts_with(r#"{"error":"corrupt","code":2,"#)
        );
    }
}
