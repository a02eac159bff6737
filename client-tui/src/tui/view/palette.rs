//! Colours as the terminal can show them: a label's FIRST colour in 24 bits where the terminal
//! has them, else the nearest of its palette (the label's text is always there too); and a
//! colour per sender that is never one of the TLP colours.

use ratatui::style::Color;

use crate::config::ColourDepth;

/// The 8 basic ANSI colours and the RGB they are usually drawn in (xterm's defaults).
const BASIC: [(Color, (u8, u8, u8)); 8] = [
    (Color::Black, (0, 0, 0)),
    (Color::Red, (205, 0, 0)),
    (Color::Green, (0, 205, 0)),
    (Color::Yellow, (205, 205, 0)),
    (Color::Blue, (0, 0, 238)),
    (Color::Magenta, (205, 0, 205)),
    (Color::Cyan, (0, 205, 205)),
    (Color::Gray, (229, 229, 229)),
];

/// The levels of each component in the xterm 256-colour cube.
const CUBE: [u8; 6] = [0, 95, 135, 175, 215, 255];

/// Sender colours: blues, cyans and magentas, none of which a TLP label uses (red, amber,
/// green, white).
const SENDERS: [Color; 6] = [
    Color::Cyan,
    Color::Magenta,
    Color::Blue,
    Color::LightCyan,
    Color::LightMagenta,
    Color::LightBlue,
];

fn distance(a: (u8, u8, u8), b: (u8, u8, u8)) -> u32 {
    let d = |x: u8, y: u8| u32::from(x.abs_diff(y)).pow(2);
    d(a.0, b.0) + d(a.1, b.1) + d(a.2, b.2)
}

/// The cube level nearest `value`.
fn level(value: u8) -> u8 {
    let mut best = 0;
    for (i, l) in (0u8..).zip(CUBE) {
        if value.abs_diff(l) < value.abs_diff(CUBE[usize::from(best)]) {
            best = i;
        }
    }
    best
}

/// `colour` as a terminal of `depth` can show it.
#[must_use]
pub(crate) fn fit(colour: Color, depth: ColourDepth) -> Color {
    match (colour, depth) {
        (Color::Rgb(r, g, b), ColourDepth::Palette256) => {
            Color::Indexed(16 + 36 * level(r) + 6 * level(g) + level(b))
        }
        (Color::Rgb(r, g, b), ColourDepth::Palette8 | ColourDepth::Auto) => BASIC
            .iter()
            .min_by_key(|(_, rgb)| distance(*rgb, (r, g, b)))
            .map_or(Color::Reset, |(c, _)| *c),
        (Color::LightCyan, ColourDepth::Palette8) => Color::Cyan,
        (Color::LightMagenta, ColourDepth::Palette8) => Color::Magenta,
        (Color::LightBlue, ColourDepth::Palette8) => Color::Blue,
        (other, _) => other,
    }
}

/// The colour `user`'s name is drawn in: the same on every screen and every run.
#[must_use]
pub(crate) fn sender(user: &str) -> Color {
    // FNV-1a: stable across runs and platforms, unlike the standard library's hasher.
    let hash = user.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    let index = usize::try_from(hash % 6).unwrap_or(0);
    SENDERS.get(index).copied().unwrap_or(Color::Cyan)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tlp_colours_fall_back_to_the_nearest_basic_and_cube_colour() {
        let amber = Color::Rgb(0xFF, 0xC0, 0x00);
        assert_eq!(fit(amber, ColourDepth::Palette8), Color::Yellow);
        assert_eq!(
            fit(Color::Rgb(0xFF, 0x2B, 0x2B), ColourDepth::Palette8),
            Color::Red
        );
        assert_eq!(
            fit(Color::Rgb(0x33, 0xFF, 0x00), ColourDepth::Palette8),
            Color::Green
        );
        assert_eq!(
            fit(Color::Rgb(255, 255, 255), ColourDepth::Palette8),
            Color::Gray
        );
        assert_eq!(fit(amber, ColourDepth::Palette256), Color::Indexed(214));
        assert_eq!(fit(amber, ColourDepth::Truecolor), amber);
    }

    #[test]
    fn sender_colours_are_stable_and_never_a_tlp_colour() {
        assert_eq!(sender("petra@cert-cz"), sender("petra@cert-cz"));
        for user in [
            "a@x",
            "b@x",
            "lead@cert-at",
            "officer@cert-at",
            "petra@cert-cz",
        ] {
            let c = sender(user);
            assert!(!matches!(
                c,
                Color::Red
                    | Color::LightRed
                    | Color::Yellow
                    | Color::LightYellow
                    | Color::Green
                    | Color::LightGreen
                    | Color::White
                    | Color::Gray
            ));
        }
    }
}
