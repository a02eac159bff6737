//! `issue --csv FILE`: one bundle per row. Every row is parsed and checked (user id, name,
//! roles, clearance, days, no live certificate, no duplicate, no existing bundle file) before
//! the root key is opened; a bad row is refused naming its line, and nothing is issued. Each
//! bundle gets its own generated one-time passphrase, written only to the `--passphrases` file
//! (created `0600` before the first certificate is signed, never printed), so no bundle exists
//! whose passphrase was not kept.

use std::io::Write;
use std::path::{Path, PathBuf};

use vigil_protocol::{Text, UserId};
use zeroize::Zeroizing;

use super::issue::{Issuer, Terms, deliver, parse_user, terms};
use crate::cli::IssueArgs;
use crate::error::{CsvProblem, Error, Result};
use crate::orgdir::OrgDir;
use crate::say;
use vigil_common::{fs as fsutil, passphrase};

/// The header's columns; `days` may be left out.
const COLUMNS: [&str; 5] = ["user", "name", "roles", "clearance", "days"];

/// One row as written: its line number and fields.
struct Row {
    line: usize,
    fields: Vec<String>,
}

/// One member to issue, checked.
struct Planned {
    line: usize,
    user: UserId,
    name: Text,
    terms: Terms,
    bundle: PathBuf,
}

/// The fields of one CSV line: separated by commas, a field in double quotes may hold commas
/// and `""` for a quote; fields are trimmed. `None` for an unclosed quote.
fn fields(line: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            '"' if quoted => quoted = false,
            '"' if field.trim().is_empty() => {
                field.clear();
                quoted = true;
            }
            ',' if !quoted => out.push(std::mem::take(&mut field).trim().to_owned()),
            c => field.push(c),
        }
    }
    if quoted {
        return None;
    }
    out.push(field.trim().to_owned());
    Some(out)
}

/// The rows of `text` after its header (comments and empty lines skipped), and how many
/// columns the header has.
fn rows(path: &Path, text: &str) -> Result<(usize, Vec<Row>)> {
    let bad = |line: usize, why: CsvProblem| Error::CsvRow {
        path: path.to_owned(),
        line,
        why: Box::new(why),
    };
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim_end_matches('\r')))
        .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'));
    let (first, header) = lines.next().ok_or_else(|| bad(1, CsvProblem::Header))?;
    let header = fields(header).ok_or_else(|| bad(first, CsvProblem::Quote))?;
    let columns = header.len();
    let names: Vec<String> = header.iter().map(|h| h.to_lowercase()).collect();
    if !(4..=5).contains(&columns) || names.iter().zip(COLUMNS).any(|(h, c)| h != c) {
        return Err(bad(first, CsvProblem::Header));
    }
    let mut rows = Vec::new();
    for (line, text) in lines {
        let fields = fields(text).ok_or_else(|| bad(line, CsvProblem::Quote))?;
        if fields.len() != columns {
            let found = fields.len();
            return Err(bad(
                line,
                CsvProblem::Fields {
                    expected: columns,
                    found,
                },
            ));
        }
        rows.push(Row { line, fields });
    }
    if rows.is_empty() {
        return Err(bad(first, CsvProblem::Empty));
    }
    Ok((columns, rows))
}

/// Checks one row as `issue` checks its options; `None` fields are the row's problem.
fn plan_row(
    org: &OrgDir,
    row: &Row,
    default_days: u64,
    out_dir: &Path,
) -> std::result::Result<Planned, CsvProblem> {
    let field = |i: usize| row.fields.get(i).map_or("", String::as_str);
    let user = parse_user(org, field(0)).map_err(CsvProblem::Refused)?;
    let name = Text::new(field(1)).map_err(|why| {
        CsvProblem::Refused(Error::InvalidOption {
            option: "name",
            why,
        })
    })?;
    let roles: Vec<String> = field(2)
        .split(';')
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_owned)
        .collect();
    if roles.is_empty() {
        return Err(CsvProblem::NoRole);
    }
    let days = match field(4) {
        "" => default_days,
        days => days
            .parse()
            .map_err(|_| CsvProblem::Days(days.to_owned()))?,
    };
    let terms = terms(&roles, field(3), days).map_err(CsvProblem::Refused)?;
    let bundle = out_dir.join(format!("{user}.bundle"));
    if bundle.exists() {
        return Err(CsvProblem::Refused(Error::Exists(bundle)));
    }
    Ok(Planned {
        line: row.line,
        user,
        name,
        terms,
        bundle,
    })
}

/// Every row checked, or the first bad one.
fn plan(org: &OrgDir, path: &Path, text: &str, days: u64, out_dir: &Path) -> Result<Vec<Planned>> {
    let (_, rows) = rows(path, text)?;
    let mut planned: Vec<Planned> = Vec::with_capacity(rows.len());
    for row in &rows {
        let checked = plan_row(org, row, days, out_dir).and_then(|p| {
            match planned.iter().find(|earlier| earlier.user == p.user) {
                Some(earlier) => Err(CsvProblem::Duplicate {
                    first: earlier.line,
                }),
                None => Ok(p),
            }
        });
        planned.push(checked.map_err(|why| Error::CsvRow {
            path: path.to_owned(),
            line: row.line,
            why: Box::new(why),
        })?);
    }
    Ok(planned)
}

/// `issue --csv`: see the module's documentation.
pub fn issue_csv(
    args: &IssueArgs,
    csv: &Path,
    pass: &passphrase::Source,
    out: &mut dyn Write,
) -> Result<()> {
    let (Some(out_dir), Some(passphrases)) = (&args.out_dir, &args.passphrases) else {
        return Err(Error::IssueNeeds);
    };
    let mut org = OrgDir::open(&args.org_dir)?;
    let planned = plan(&org, csv, &fsutil::read_text(csv)?, args.days, out_dir)?;
    if passphrases.exists() {
        return Err(Error::Exists(passphrases.clone()));
    }
    let issuer = Issuer::open(&org, pass)?;
    let mut secrets = Vec::with_capacity(planned.len());
    let mut sheet = Zeroizing::new(String::new());
    for member in &planned {
        let (secret, _) = passphrase::bundle_passphrase(None)?;
        sheet.push_str(&format!(
            "{}\t{}\t{}\n",
            member.user,
            *secret,
            member.bundle.display()
        ));
        secrets.push(secret);
    }
    fsutil::create_private_dir(out_dir)?;
    fsutil::write_new(passphrases, sheet.as_bytes())?;
    for (member, secret) in planned.into_iter().zip(&secrets) {
        let who = (member.user, member.name);
        let (certificate, file) = issuer.bundle(&mut org, who, &member.terms, secret)?;
        deliver(
            &mut org,
            &certificate,
            &member.terms,
            &member.bundle,
            &file,
            out,
        )?;
        say(
            out,
            format!("Enrollment bundle: {}", member.bundle.display()),
        );
    }
    say(
        out,
        format!(
            "One-time bundle passphrases: {} (readable only by you; hand each over separately \
             from its bundle, then delete the file)",
            passphrases.display()
        ),
    );
    Ok(())
}
