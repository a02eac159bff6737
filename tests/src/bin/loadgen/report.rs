//! The table: every figure beside its R1 counterpart and the ratio.

use std::fmt::Write as _;

/// What a figure measures (and so how it is printed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Unit {
    /// Messages (or logins) per second.
    PerSecond,
    /// A latency, held in seconds.
    Latency,
    /// CPU time per item, held in microseconds.
    Micros,
    Bytes,
    KiB,
    /// Percent of one core.
    Percent,
    /// A plain number.
    Number,
}

#[derive(Clone, Debug)]
struct Row {
    run: &'static str,
    case: String,
    figure: String,
    value: f64,
    unit: Unit,
    baseline: Option<f64>,
}

/// The rows so far.
#[derive(Debug, Default)]
pub(crate) struct Report {
    rows: Vec<Row>,
    /// Problems seen (refused or missing messages): the run fails when there are any.
    pub(crate) problems: Vec<String>,
}

fn format(value: f64, unit: Unit) -> String {
    match unit {
        Unit::PerSecond => format!("{} /s", thousands(value)),
        Unit::Latency => format!("{:.2} ms", value * 1e3),
        Unit::Micros => format!("{value:.1} µs"),
        Unit::Bytes => format!("{} B", thousands(value)),
        Unit::KiB => format!("{value:.1} KiB"),
        Unit::Percent => format!("{value:.2} %"),
        Unit::Number => format!("{value:.1}"),
    }
}

fn thousands(value: f64) -> String {
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "a figure for a table, rounded"
    )]
    let whole = value.max(0.0).round() as u64;
    let digits = whole.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

impl Report {
    /// Adds a figure, with the R1 figure it compares to.
    pub(crate) fn add(
        &mut self,
        run: &'static str,
        case: impl Into<String>,
        figure: impl Into<String>,
        value: f64,
        unit: Unit,
        baseline: Option<f64>,
    ) {
        let row = Row {
            run,
            case: case.into(),
            figure: figure.into(),
            value,
            unit,
            baseline,
        };
        eprintln!(
            "  {} {} {}: {}",
            row.run,
            row.case,
            row.figure,
            format(row.value, row.unit)
        );
        self.rows.push(row);
    }

    /// The table, in Markdown.
    pub(crate) fn table(&self) -> String {
        let mut out = String::from(
            "| run | case | figure | value | R1 (raw QUIC) | ratio to R1 |\n|---|---|---|---|---|---|\n",
        );
        for row in &self.rows {
            let (baseline, ratio) = match row.baseline {
                Some(b) if b > 0.0 => (format(b, row.unit), format!("{:.2}", row.value / b)),
                _ => ("".to_owned(), "".to_owned()),
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} |",
                row.run,
                row.case,
                row.figure,
                format(row.value, row.unit),
                baseline,
                ratio
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(0.0), "0");
        assert_eq!(thousands(999.4), "999");
        assert_eq!(thousands(1000.0), "1,000");
        assert_eq!(thousands(1_234_567.0), "1,234,567");
    }

    #[test]
    fn ratio_is_value_over_baseline() {
        let mut report = Report::default();
        report.add("R2", "1 KiB", "max", 500.0, Unit::PerSecond, Some(1000.0));
        report.add("R5", "n", "no baseline", 1.0, Unit::KiB, None);
        let table = report.table();
        assert!(
            table.contains("| R2 | 1 KiB | max | 500 /s | 1,000 /s | 0.50 |"),
            "{table}"
        );
        assert!(
            table.contains("| R5 | n | no baseline | 1.0 KiB |  |  |"),
            "{table}"
        );
    }
}
