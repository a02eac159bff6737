//! Where passphrases come from: `--passphrase-file`, `VIGIL_PASSPHRASE`, or a prompt without
//! echo. Held in zeroizing strings.

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};

use rand_core::RngCore as _;
use zeroize::Zeroizing;

use crate::Error;

/// Shortest passphrase accepted for an org root key or a bundle.
pub const MIN_PASSPHRASE_LEN: usize = 12;

/// Environment variable holding a passphrase, for scripts and tests.
pub const PASSPHRASE_ENV: &str = "VIGIL_PASSPHRASE";

/// A passphrase source chosen on the command line.
#[derive(Debug, Clone, Default)]
pub struct Source {
    pub file: Option<PathBuf>,
}

fn from_file(path: &Path) -> Result<Zeroizing<String>, Error> {
    let text = Zeroizing::new(crate::fs::read_text(path)?);
    let line = text.lines().next().unwrap_or_default();
    Ok(Zeroizing::new(line.to_owned()))
}

impl Source {
    fn read(&self, prompt: &str) -> Result<Zeroizing<String>, Error> {
        if let Some(path) = &self.file {
            return from_file(path);
        }
        if let Ok(value) = std::env::var(PASSPHRASE_ENV) {
            return Ok(Zeroizing::new(value));
        }
        if !std::io::stdin().is_terminal() {
            return Err(Error::NoPassphrase);
        }
        rpassword::prompt_password(prompt)
            .map(Zeroizing::new)
            .map_err(|e| Error::io("terminal", e))
    }

    /// The passphrase of an existing sealed file; one shorter than [`MIN_PASSPHRASE_LEN`] is
    /// refused as too short before anything is opened (Vigil never seals under one).
    pub fn existing(&self, what: &str) -> Result<Zeroizing<String>, Error> {
        let given = self.read(&format!("Passphrase for {what}: "))?;
        check_length(&given)?;
        Ok(given)
    }

    /// The PIN of a hardware token (from the same sources as a passphrase): its length is the
    /// token's business, not checked here.
    pub fn pin(&self, what: &str) -> Result<Zeroizing<String>, Error> {
        self.read(&format!("PIN of {what}: "))
    }

    /// Whether a passphrase can be read without a prompt (a file, or [`PASSPHRASE_ENV`]).
    #[must_use]
    pub fn given(&self) -> bool {
        self.file.is_some() || std::env::var_os(PASSPHRASE_ENV).is_some()
    }

    /// A new passphrase: asked twice when prompted, and at least [`MIN_PASSPHRASE_LEN`] long.
    pub fn new_passphrase(&self, what: &str) -> Result<Zeroizing<String>, Error> {
        let first = self.read(&format!("New passphrase for {what}: "))?;
        if first.chars().count() < MIN_PASSPHRASE_LEN {
            return Err(Error::WeakPassphrase {
                min: MIN_PASSPHRASE_LEN,
            });
        }
        if self.file.is_none() && std::env::var(PASSPHRASE_ENV).is_err() {
            let again = self.read("Repeat it: ")?;
            if *again != *first {
                return Err(Error::PassphraseMismatch);
            }
        }
        Ok(first)
    }
}

/// Refuses a passphrase given for something sealed that is shorter than any Vigil seals under.
///
/// # Errors
///
/// [`Error::ShortPassphrase`].
pub fn check_length(given: &str) -> Result<(), Error> {
    if given.chars().count() < MIN_PASSPHRASE_LEN {
        return Err(Error::ShortPassphrase {
            min: MIN_PASSPHRASE_LEN,
        });
    }
    Ok(())
}

/// The one-time passphrase of a bundle: read from `file`, or generated (100 bits, Crockford
/// base32 in five groups of four, easy to read out over the phone).
pub fn bundle_passphrase(file: Option<&Path>) -> Result<(Zeroizing<String>, bool), Error> {
    if let Some(path) = file {
        let value = from_file(path)?;
        if value.chars().count() < MIN_PASSPHRASE_LEN {
            return Err(Error::WeakPassphrase {
                min: MIN_PASSPHRASE_LEN,
            });
        }
        return Ok((value, false));
    }
    const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let mut random = Zeroizing::new([0u8; 20]);
    rand_core::OsRng.fill_bytes(random.as_mut_slice());
    let mut out = Zeroizing::new(String::with_capacity(24));
    for (i, byte) in random.iter().enumerate() {
        if i > 0 && i % 4 == 0 {
            out.push('-');
        }
        out.push(char::from(ALPHABET[usize::from(byte & 31)]));
    }
    Ok((out, true))
}
