//! Text measured and wrapped the way the terminal draws it: by grapheme cluster, each as wide
//! as ratatui says (a CJK character or a flag two cells, a combining accent none), tabs
//! expanded to stops, and wrapping that never drops a cell. Every row this module returns
//! fits its width exactly as ratatui will draw it, so nothing is cut at the edge.

use std::borrow::Cow;

use ratatui::buffer::CellWidth as _;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use unicode_segmentation::UnicodeSegmentation as _;

/// Tab stops every this many cells, as terminals set them.
pub(crate) const TAB_STOP: usize = 8;

/// Whether `c` is a regional indicator (two of them make a flag: 🇨🇿).
fn is_regional_indicator(c: char) -> bool {
    ('\u{1F1E6}'..='\u{1F1FF}').contains(&c)
}

/// How a grapheme cluster is shown. Flags (pairs of regional indicators) are shown as their
/// letters, `[CZ]`: terminals and tmux disagree on how wide a flag is (two cells, or two of
/// two), and a disagreement leaves debris on the rows drawn after it. Everything else is shown
/// as it is.
#[must_use]
pub(crate) fn shown(g: &str) -> Cow<'_, str> {
    if !g.chars().any(is_regional_indicator) {
        return Cow::Borrowed(g);
    }
    let letters: String = g
        .chars()
        .filter(|c| is_regional_indicator(*c))
        .filter_map(|c| char::from_u32(u32::from(c) - 0x1F1E6 + u32::from('A')))
        .collect();
    Cow::Owned(format!("[{letters}]"))
}

/// `text` with each flag shown as its letters (see [`shown`]).
#[must_use]
pub(crate) fn tame(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_regional_indicator) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(text.graphemes(true).map(shown).collect())
}

/// Cells a grapheme cluster takes on screen (0 for one ratatui does not draw).
#[must_use]
pub(crate) fn grapheme_width(g: &str) -> usize {
    if g.chars().any(char::is_control) {
        return 0;
    }
    usize::from(shown(g).as_ref().cell_width())
}

/// Cells `text` takes on one row.
#[must_use]
pub(crate) fn width(text: &str) -> usize {
    text.graphemes(true).map(grapheme_width).sum()
}

/// `line` with each tab replaced by the spaces up to the next tab stop (columns counted in
/// cells from the start of the line), so tab-separated IOC columns stay apart and aligned.
#[must_use]
pub(crate) fn expand_tabs(line: &str) -> String {
    if !line.contains('\t') {
        return line.to_owned();
    }
    let mut out = String::with_capacity(line.len() + TAB_STOP);
    let mut column = 0;
    for g in line.graphemes(true) {
        if g == "\t" {
            let pad = TAB_STOP - column % TAB_STOP;
            out.extend(std::iter::repeat_n(' ', pad));
            column += pad;
        } else {
            out.push_str(g);
            column += grapheme_width(g);
        }
    }
    out
}

/// One grapheme cluster with its style and width.
struct Cell<'a> {
    text: Cow<'a, str>,
    style: Style,
    width: usize,
}

/// Splits `line` into rows of at most `width` cells, keeping styles. A row breaks after the
/// last space when there is one in its second half, else at the last cluster that fits (a
/// hash, a URL, CJK text); continuation rows start with `indent` spaces. Never drops a
/// visible cluster; a cluster wider than a row gets a row of its own.
#[must_use]
pub(crate) fn wrap(line: &Line<'_>, width: usize, indent: usize) -> Vec<Line<'static>> {
    let width = width.max(1);
    let indent = if indent * 2 > width { 0 } else { indent };
    let cells: Vec<Cell<'_>> = line
        .spans
        .iter()
        .flat_map(|span| {
            let style = line.style.patch(span.style);
            span.content.graphemes(true).map(move |g| Cell {
                text: shown(g),
                style,
                width: grapheme_width(g),
            })
        })
        .filter(|c| c.width > 0)
        .collect();
    let mut rows = Vec::new();
    let mut start = 0;
    loop {
        let room = if rows.is_empty() {
            width
        } else {
            width - indent
        };
        let end = row_end(&cells, start, room);
        let mut spans = Vec::new();
        if !rows.is_empty() && indent > 0 {
            spans.push(Span::raw(" ".repeat(indent)));
        }
        push_cells(&mut spans, cells.get(start..end).unwrap_or_default());
        rows.push(Line::from(spans));
        start = end;
        if start >= cells.len() {
            return rows;
        }
    }
}

/// Where the row starting at `start` ends, given `room` cells.
fn row_end(cells: &[Cell<'_>], start: usize, room: usize) -> usize {
    let mut used = 0;
    let mut end = start;
    while let Some(cell) = cells.get(end) {
        if used + cell.width > room {
            break;
        }
        used += cell.width;
        end += 1;
    }
    if end == start && start < cells.len() {
        return start + 1; // wider than the row: alone, rather than lost
    }
    if end < cells.len()
        && let Some(space) = cells
            .get(start..end)
            .unwrap_or_default()
            .iter()
            .rposition(|c| c.text.as_ref() == " ")
        && space + 1 > (end - start) / 2
    {
        return start + space + 1;
    }
    end
}

/// Appends `cells` to `spans`, one span per run of one style.
fn push_cells(spans: &mut Vec<Span<'static>>, cells: &[Cell<'_>]) {
    let fixed = spans.len(); // an indent span is never extended
    for cell in cells {
        let extend = spans.len() > fixed;
        match spans.last_mut() {
            Some(last) if extend && last.style == cell.style => {
                last.content.to_mut().push_str(&cell.text);
            }
            _ => spans.push(Span::styled(cell.text.to_string(), cell.style)),
        }
    }
}

/// The compose box's text as drawn: its rows, and the row and column of the cursor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ComposeLayout {
    /// Each row's text as shown (tabs as spaces, flags as letters).
    pub(crate) rows: Vec<String>,
    /// The cursor's row and column (in cells); a cursor after a full row is at the start of
    /// the next.
    pub(crate) cursor: (usize, usize),
}

/// Hard-wraps plain `text` (no styles, newlines honoured) into rows of at most `width` cells
/// and finds the cell of the cursor, a char index into `text`: what the compose box draws.
#[must_use]
pub(crate) fn hard_wrap(text: &str, width: usize, cursor: usize) -> ComposeLayout {
    let width = width.max(2);
    let mut rows = Vec::new();
    let mut row = String::new();
    let mut used = 0;
    let mut at = None;
    let mut index = 0; // chars
    for g in text.graphemes(true) {
        let here = index == cursor;
        index += g.chars().count();
        if g == "\n" || g == "\r\n" {
            if here {
                at = Some((rows.len(), used));
            }
            rows.push(std::mem::take(&mut row));
            used = 0;
            continue;
        }
        if used + shown_in_compose(g, used).1 > width && used > 0 {
            rows.push(std::mem::take(&mut row));
            used = 0;
        }
        if here {
            at = Some((rows.len(), used));
        }
        let (text, w) = shown_in_compose(g, used);
        row.push_str(&text);
        used += w;
    }
    let (r, c) = at.unwrap_or((rows.len(), used));
    rows.push(row);
    let cursor = if c >= width { (r + 1, 0) } else { (r, c) };
    ComposeLayout { rows, cursor }
}

/// How the compose box shows one cluster at column `used`: a tab as spaces to the next stop, a
/// control character as `�` (it is sent as typed, and escaped on every screen that shows it).
fn shown_in_compose(g: &str, used: usize) -> (String, usize) {
    if g == "\t" {
        let pad = TAB_STOP - used % TAB_STOP;
        return (" ".repeat(pad), pad);
    }
    if g.chars().any(char::is_control) {
        return ("\u{fffd}".to_owned(), 1);
    }
    (shown(g).into_owned(), grapheme_width(g))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(rows: &[Line<'_>]) -> Vec<String> {
        rows.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn cjk_wraps_by_width_and_loses_nothing() {
        let text = "这是一个测试消息，用于检查中文字符在换行时是否完整显示";
        let rows = wrap(&Line::from(text), 20, 0);
        assert!(rows.iter().all(|r| width(&r.to_string()) <= 20));
        assert_eq!(texts(&rows).concat(), text);
        assert_eq!(width(&rows[0].to_string()), 20);
    }

    #[test]
    fn flags_are_shown_as_their_letters_and_zwj_sequences_are_one_cluster() {
        let flags = "🇨🇿🇵🇱🇭🇺";
        assert_eq!(width(flags), 12);
        let rows = wrap(&Line::from(flags), 8, 0);
        assert_eq!(texts(&rows), ["[CZ][PL]", "[HU]"]);
        assert_eq!(tame("EU 🇪🇺 flag"), "EU [EU] flag");
        assert_eq!(hard_wrap("🇨🇿x", 10, 2).rows, ["[CZ]x"]);
        assert_eq!(hard_wrap("🇨🇿x", 10, 2).cursor, (0, 4));
        assert_eq!(width("👩‍💻"), 2);
        assert_eq!(width("é"), 1); // e + combining acute
    }

    #[test]
    fn tabs_expand_to_stops_and_columns_stay_apart() {
        assert_eq!(
            expand_tabs("ip\t198.51.100.1\tC2"),
            "ip      198.51.100.1    C2"
        );
        assert_eq!(expand_tabs("no tabs"), "no tabs");
    }

    #[test]
    fn words_break_at_spaces_and_long_words_anywhere() {
        let rows = wrap(&Line::from("alpha beta gamma delta"), 12, 2);
        assert_eq!(texts(&rows), ["alpha beta ", "  gamma ", "  delta"]);
        let hash = "a".repeat(25);
        let rows = wrap(&Line::from(hash.as_str()), 10, 0);
        assert_eq!(rows.len(), 3);
        assert_eq!(texts(&rows).concat(), hash);
    }

    #[test]
    fn compose_rows_hard_wrap_and_place_the_cursor() {
        let layout = hard_wrap("abcdef\nxy", 4, 5);
        assert_eq!(layout.rows, ["abcd", "ef", "xy"]);
        assert_eq!(layout.cursor, (1, 1));
        assert_eq!(hard_wrap("abcdef\nxy", 4, 9).cursor, (2, 2));
        assert_eq!(
            hard_wrap("abcd", 4, 4).cursor,
            (1, 0),
            "after a full row: the next"
        );
        assert_eq!(hard_wrap("", 4, 0).rows, [""]);
        assert_eq!(hard_wrap("", 4, 0).cursor, (0, 0));
        let tab = hard_wrap("a\tb", 20, 2);
        assert_eq!((tab.rows[0].as_str(), tab.cursor), ("a       b", (0, 8)));
        assert_eq!(hard_wrap("中文", 10, 1).cursor, (0, 2));
    }
}
