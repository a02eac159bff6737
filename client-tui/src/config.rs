//! The TUI's settings: `config.toml` in the XDG config directory
//! (`$XDG_CONFIG_HOME/vigil/config.toml`, else `~/.config/vigil/config.toml`). Every key is
//! optional; a missing file means the defaults. An unknown key or a bad value is an error that
//! names the file and the key, so a typo is not silently ignored.
//!
//! ```toml
//! relay = "relay.cert-at.example:4433"   # instead of the bundle's address (pin still checked)
//! bell_on_mention = true                 # ring the terminal bell when someone names you
//! colours = "auto"                       # "auto" (off with NO_COLOR), "always" or "never"
//! colour_depth = "auto"                  # "auto" (from COLORTERM and TERM), "truecolor",
//!                                        #   "256" or "8": label colours fall back to the
//!                                        #   nearest the terminal has
//! time = "local"                         # message times in "local" time or "utc"
//! mouse = true                           # click a channel, wheel to scroll (Shift-drag
//!                                        #   still selects text in most terminals)
//! channel_list_width = 28                # columns; alt-left/alt-right resize, f9 hides
//!
//! [keys]                                 # rebind: "ctrl-x", "alt-x", a character, or a key
//! next_channel = "ctrl-n"                #   name (up, down, pageup, tab, f1, ...)
//! previous_channel = "ctrl-p"
//! next_unread = "alt-a"
//! next_pane = "f6"                       # channel list, messages, message box in turn
//! editor = "alt-e"                       # the draft in $VISUAL / $EDITOR (else vi)
//! help = "f1"                            # ? also opens help outside the message box
//! quit = "ctrl-c"                        # asks first when the message box holds a draft
//! redraw = "ctrl-l"                      # redraw the whole screen
//! jump_to_new = "alt-n"                  # the "new since you left" line of this channel
//! toggle_channels = "f9"                 # hide or show the channel list
//! narrower_channels = "alt-left"
//! wider_channels = "alt-right"
//! ```
//!
//! The message box's editing keys are fixed (readline's): Ctrl-A/E line start/end, Ctrl-B/F
//! and Alt-B/F a character or word back/forward, Ctrl-W/U/K kill the word back, to the line
//! start, to the line end, Alt-D the word forward, Ctrl-D delete forward, Ctrl-Y yank; Up/Down
//! walk the sent history in an empty box and move between lines of a draft otherwise. A
//! binding takes precedence over them.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Whether to draw in colour.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Colours {
    /// Colour unless `NO_COLOR` is set (<https://no-color.org>).
    #[default]
    Auto,
    /// Colour even when `NO_COLOR` is set.
    Always,
    /// No colour: labels are still shown as text.
    Never,
}

/// Key bindings of the actions that have one.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Keys {
    /// Opens the next channel in the list (default `ctrl-n`).
    pub next_channel: String,
    /// Opens the previous channel (default `ctrl-p`).
    pub previous_channel: String,
    /// Opens the next channel with unread messages (default `alt-a`).
    pub next_unread: String,
    /// Moves the keyboard to the next pane: channel list, messages, compose box (default
    /// `f6`; Tab does it too outside the compose box, where Tab only completes).
    pub next_pane: String,
    /// Opens the draft in `$VISUAL` or `$EDITOR` (else `vi`) (default `alt-e`).
    pub editor: String,
    /// Shows the help screen (default `f1`; `?` also does outside the compose box). A plain
    /// character bound here types itself in the compose box.
    pub help: String,
    /// Leaves vigil; asks first when the compose box holds a draft (default `ctrl-c`).
    pub quit: String,
    /// Redraws the whole screen (default `ctrl-l`).
    pub redraw: String,
    /// Scrolls to the "new since you left" line (default `alt-n`).
    pub jump_to_new: String,
    /// Hides or shows the channel list (default `f9`).
    pub toggle_channels: String,
    /// Makes the channel list narrower (default `alt-left`).
    pub narrower_channels: String,
    /// Makes the channel list wider (default `alt-right`).
    pub wider_channels: String,
}

impl Default for Keys {
    fn default() -> Self {
        Self {
            next_channel: "ctrl-n".into(),
            previous_channel: "ctrl-p".into(),
            next_unread: "alt-a".into(),
            next_pane: "f6".into(),
            editor: "alt-e".into(),
            help: "f1".into(),
            quit: "ctrl-c".into(),
            redraw: "ctrl-l".into(),
            jump_to_new: "alt-n".into(),
            toggle_channels: "f9".into(),
            narrower_channels: "alt-left".into(),
            wider_channels: "alt-right".into(),
        }
    }
}

/// How many colours the terminal shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColourDepth {
    /// From `COLORTERM` (`truecolor`, `24bit`) and `TERM` (`*-256color`), else 8 colours.
    #[default]
    Auto,
    /// 24-bit colour.
    Truecolor,
    /// The xterm 256-colour palette.
    #[serde(rename = "256")]
    Palette256,
    /// The 8 basic ANSI colours, which every colour terminal shows (`TERM=screen`).
    #[serde(rename = "8")]
    Palette8,
}

/// Which clock message times are shown in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TimeZoneChoice {
    /// The system's local time zone.
    #[default]
    Local,
    /// Coordinated universal time.
    Utc,
}

/// Widest and narrowest the channel list can be made.
pub const CHANNEL_LIST_WIDTHS: std::ops::RangeInclusive<u16> = 12..=60;

/// The contents of `config.toml`; a key that is not there takes its default.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Relay address instead of the bundle's (`host:port`).
    pub relay: Option<String>,
    /// Ring the bell when a message names you.
    pub bell_on_mention: bool,
    /// `"auto"`, `"always"` or `"never"`.
    pub colours: Colours,
    /// `"auto"`, `"truecolor"`, `"256"` or `"8"`.
    pub colour_depth: ColourDepth,
    /// `"local"` or `"utc"`.
    pub time: TimeZoneChoice,
    /// Mouse clicks and the wheel.
    pub mouse: bool,
    /// Columns of the channel list (12 to 60).
    pub channel_list_width: u16,
    /// The `[keys]` table.
    pub keys: Keys,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            relay: None,
            bell_on_mention: false,
            colours: Colours::Auto,
            colour_depth: ColourDepth::Auto,
            time: TimeZoneChoice::Local,
            mouse: true,
            channel_list_width: 28,
            keys: Keys::default(),
        }
    }
}

/// Why the settings file was not used; each names the file and, when it can, the key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file exists but cannot be read.
    #[error("{}: {source}", .path.display())]
    Read {
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file is not valid TOML, has an unknown key or a value of the wrong type.
    #[error("{}: {message}", .path.display())]
    Parse {
        path: PathBuf,
        /// The TOML parser's message (it names the key).
        message: String,
    },
    /// A `[keys]` entry is not a key name.
    #[error(
        "{}: [keys] {name} = {value:?} is not a key (e.g. \"ctrl-n\", \"alt-a\", \"?\", \"f2\")",
        .path.display()
    )]
    Key {
        path: PathBuf,
        /// The action, e.g. `quit`.
        name: &'static str,
        /// What the file says.
        value: String,
    },
    /// `channel_list_width` is out of range.
    #[error("{}: channel_list_width = {value} is out of range (12 to 60)", .path.display())]
    ListWidth {
        path: PathBuf,
        /// What the file says.
        value: u16,
    },
}

/// `$XDG_CONFIG_HOME/vigil/config.toml`, else `~/.config/vigil/config.toml`; `None` when
/// neither variable is set.
#[must_use]
pub fn default_path() -> Option<PathBuf> {
    let from_env = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    from_env("XDG_CONFIG_HOME")
        .or_else(|| from_env("HOME").map(|h| h.join(".config")))
        .map(|dir| dir.join("vigil").join("config.toml"))
}

impl Config {
    /// Reads `path`; a missing file is the defaults.
    ///
    /// # Errors
    ///
    /// [`ConfigError`], naming the file and what is wrong in it.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(source) => {
                return Err(ConfigError::Read {
                    path: path.to_owned(),
                    source,
                });
            }
        };
        let config: Self = toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            message: e.message().to_owned(),
        })?;
        for (name, key) in [
            ("next_channel", &config.keys.next_channel),
            ("previous_channel", &config.keys.previous_channel),
            ("next_unread", &config.keys.next_unread),
            ("next_pane", &config.keys.next_pane),
            ("editor", &config.keys.editor),
            ("help", &config.keys.help),
            ("quit", &config.keys.quit),
            ("redraw", &config.keys.redraw),
            ("jump_to_new", &config.keys.jump_to_new),
            ("toggle_channels", &config.keys.toggle_channels),
            ("narrower_channels", &config.keys.narrower_channels),
            ("wider_channels", &config.keys.wider_channels),
        ] {
            if crate::tui::keys::parse(key).is_none() {
                return Err(ConfigError::Key {
                    path: path.to_owned(),
                    name,
                    value: key.clone(),
                });
            }
        }
        if !CHANNEL_LIST_WIDTHS.contains(&config.channel_list_width) {
            return Err(ConfigError::ListWidth {
                path: path.to_owned(),
                value: config.channel_list_width,
            });
        }
        Ok(config)
    }

    /// The colours the terminal shows, given the environment.
    #[must_use]
    pub fn depth(&self) -> ColourDepth {
        if self.colour_depth != ColourDepth::Auto {
            return self.colour_depth;
        }
        let var = |name: &str| std::env::var(name).unwrap_or_default().to_ascii_lowercase();
        let colorterm = var("COLORTERM");
        if colorterm == "truecolor" || colorterm == "24bit" {
            ColourDepth::Truecolor
        } else if var("TERM").contains("256color") {
            ColourDepth::Palette256
        } else {
            ColourDepth::Palette8
        }
    }

    /// Whether to colour, given the environment.
    #[must_use]
    pub fn colour(&self) -> bool {
        match self.colours {
            Colours::Always => true,
            Colours::Never => false,
            Colours::Auto => std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_partial_files_and_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        assert_eq!(Config::load(&path).unwrap(), Config::default());
        std::fs::write(
            &path,
            "bell_on_mention = true\n[keys]\nnext_unread = \"f5\"\n",
        )
        .unwrap();
        let config = Config::load(&path).unwrap();
        assert!(config.bell_on_mention);
        assert_eq!(config.keys.next_unread, "f5");
        assert_eq!(config.keys.quit, "ctrl-c");
        std::fs::write(&path, "bel_on_mention = true\n").unwrap();
        let err = Config::load(&path).unwrap_err();
        assert!(
            matches!(&err, ConfigError::Parse { message, .. } if message.contains("bel_on_mention"))
        );
        std::fs::write(&path, "[keys]\neditor = \"f2\"\nnext_pane = \"ctrl-o\"\n").unwrap();
        let keys = Config::load(&path).unwrap().keys;
        assert_eq!(
            (keys.editor.as_str(), keys.next_pane.as_str()),
            ("f2", "ctrl-o")
        );
        assert_eq!(keys.help, "f1");
        std::fs::write(&path, "[keys]\neditor = \"hyper-e\"\n").unwrap();
        let err = Config::load(&path).unwrap_err();
        assert!(
            matches!(err, ConfigError::Key { name: "editor", .. }),
            "{err}"
        );
        std::fs::write(&path, "[keys]\nquit = \"ctrl-\"\n").unwrap();
        let err = Config::load(&path).unwrap_err();
        assert!(
            matches!(err, ConfigError::Key { name: "quit", .. }),
            "{err}"
        );
    }
}
