//! Parser for the known-answer vector files in `protocol/tests/data/kat/`.

/// One named vector: `KEY = value` lines under a `[name]` header.
pub(crate) struct Vector {
    pub(crate) name: String,
    fields: Vec<(String, String)>,
}

impl Vector {
    pub(crate) fn get(&self, key: &str) -> &str {
        self.fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("vector {} has no field {key}", self.name))
    }
}

pub(crate) struct Vectors(Vec<Vector>);

impl Vectors {
    /// Parses `[name]` sections of `KEY = value` lines; `#` starts a comment line and a
    /// value may continue on following lines that start with whitespace.
    pub(crate) fn parse(text: &str) -> Self {
        let mut out: Vec<Vector> = Vec::new();
        for line in text.lines() {
            let trimmed = line.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            if let Some(name) = trimmed.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                out.push(Vector {
                    name: name.to_owned(),
                    fields: Vec::new(),
                });
            } else if line.starts_with(char::is_whitespace) {
                let last = out
                    .last_mut()
                    .and_then(|v| v.fields.last_mut())
                    .expect("continuation");
                last.1.push_str(trimmed);
            } else {
                let (k, v) = trimmed.split_once('=').expect("KEY = value");
                let vector = out.last_mut().expect("a [name] before fields");
                vector
                    .fields
                    .push((k.trim().to_owned(), v.trim().to_owned()));
            }
        }
        Self(out)
    }

    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &Vector> {
        self.0.iter()
    }
}

pub(crate) fn hex_bytes(text: &str) -> Vec<u8> {
    hex::decode(text).expect("hex")
}

pub(crate) fn hex32(text: &str) -> [u8; 32] {
    hex_bytes(text).try_into().expect("32 bytes")
}
