//! Text measured and wrapped the way the terminal draws it: by grapheme cluster, each as wide
//! as ratatui says (a CJK character or a flag two cells, a combining accent none), tabs
//! expanded to stops, and wrapping that never drops a cell. Every row this module returns
//! fits its width exactly as ratatui will draw it, so nothing is cut at the edge.

use ratatui::buffer::CellWidth as _;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use unicode_segmentation::UnicodeSegmentation as _;

/// Tab stops every this many cells, as terminals set them.
pub(crate) const TAB_STOP: usize = 8;

/// Cells a grapheme cluster takes on screen (0 for one ratatui does not draw).
#[must_use]
pub(crate) fn grapheme_width(g: &str) -> usize {
    if g.chars().any(char::is_control) {
        return 0;
    }
    usize::from(g.cell_width())
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
    text: &'a str,
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
                text: g,
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
            .rposition(|c| c.text == " ")
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
                last.content.to_mut().push_str(cell.text);
            }
            _ => spans.push(Span::styled(cell.text.to_owned(), cell.style)),
        }
    }
}

/// Hard-wraps plain `text` (no styles, newlines honoured) into rows of at most `width` cells,
/// returning each row's text and the char index it starts at: what the compose box draws, and
/// where its cursor goes.
#[must_use]
pub(crate) fn hard_wrap(text: &str, width: usize) -> Vec<(String, usize)> {
    let width = width.max(2);
    let mut rows = Vec::new();
    let mut row = String::new();
    let mut used = 0;
    let mut row_start = 0;
    let mut index = 0; // chars
    for g in text.graphemes(true) {
        let chars = g.chars().count();
        if g == "\n" || g == "\r\n" {
            rows.push((std::mem::take(&mut row), row_start));
            used = 0;
            index += chars;
            row_start = index;
            continue;
        }
        let (shown, w) = shown_in_compose(g, used);
        if used + w > width && used > 0 {
            rows.push((std::mem::take(&mut row), row_start));
            used = 0;
            row_start = index;
        }
        let (shown, w) = if g == "\t" {
            shown_in_compose(g, used)
        } else {
            (shown, w)
        };
        row.push_str(&shown);
        used += w;
        index += chars;
    }
    rows.push((row, row_start));
    rows
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
    (g.to_owned(), grapheme_width(g))
}

/// The cells of `text`'s first `chars` chars on the last of its hard-wrapped rows: the column
/// of a cursor after them.
#[must_use]
pub(crate) fn column_of(row: &str, chars: usize) -> usize {
    let mut column = 0;
    let mut seen = 0;
    for g in row.graphemes(true) {
        if seen >= chars {
            break;
        }
        seen += g.chars().count();
        column += grapheme_width(g);
    }
    column
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
    fn flags_and_zwj_sequences_are_one_cluster_each() {
        let flags = "🇨🇿🇵🇱🇭🇺";
        assert_eq!(width(flags), 6);
        let rows = wrap(&Line::from(flags), 4, 0);
        assert_eq!(texts(&rows), ["🇨🇿🇵🇱", "🇭🇺"]);
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
    fn compose_rows_hard_wrap_and_know_where_each_starts() {
        let rows = hard_wrap("abcdef\nxy", 4);
        assert_eq!(
            rows,
            [("abcd".into(), 0), ("ef".into(), 4), ("xy".into(), 7)]
        );
        assert_eq!(hard_wrap("", 4), [(String::new(), 0)]);
        assert_eq!(hard_wrap("a\tb", 20)[0].0, "a       b");
        assert_eq!(column_of("中文", 1), 2);
    }
}
