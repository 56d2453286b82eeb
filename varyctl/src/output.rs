//! Where results go and in which form: tables for people, JSON and YAML for scripts.
//! Results go to stdout; progress and errors to stderr, so `-o json | jq` stays clean.

use std::io::Write;

use comfy_table::{ContentArrangement, Table, presets};
use serde::Serialize;

use crate::{cli::OutputFormat, yaml};

/// The output streams and the chosen format.
pub struct Term<'a> {
    /// Table, JSON or YAML.
    pub format: OutputFormat,
    /// Results.
    pub out: &'a mut dyn Write,
    /// Progress, warnings and errors.
    pub err: &'a mut dyn Write,
}

// === impl Term ===

impl std::fmt::Debug for Term<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Term").field("format", &self.format).finish_non_exhaustive()
    }
}

impl Term<'_> {
    /// Whether the operator asked for a table (so commands print human text).
    pub fn is_table(&self) -> bool {
        self.format == OutputFormat::Table
    }

    /// Prints `value` as JSON or YAML (callers handle the table form themselves).
    pub fn structured<T: Serialize>(&mut self, value: &T) {
        let json = serde_json::to_value(value).unwrap_or(serde_json::Value::Null);
        let text = match self.format {
            OutputFormat::Yaml => yaml::to_string(&json),
            OutputFormat::Json | OutputFormat::Table => {
                let pretty = serde_json::to_string_pretty(&json).unwrap_or_default();
                format!("{pretty}\n")
            }
        };
        self.print(&text);
    }

    /// Writes a line of results. A closed stdout (`| head`) is not an error worth a
    /// second message, so write errors are ignored.
    pub fn line(&mut self, text: impl AsRef<str>) {
        let _ = writeln!(self.out, "{}", text.as_ref());
    }

    /// Writes results without adding a newline.
    pub fn print(&mut self, text: &str) {
        let _ = self.out.write_all(text.as_bytes());
        let _ = self.out.flush();
    }

    /// Writes a line of progress or diagnostics to stderr.
    pub fn note(&mut self, text: impl AsRef<str>) {
        let _ = writeln!(self.err, "{}", text.as_ref());
        let _ = self.err.flush();
    }

    /// Prints a table, without the padding comfy-table leaves at line ends.
    pub fn table(&mut self, table: &Table) {
        let text = table.to_string();
        for line in text.lines() {
            self.line(line.trim_end());
        }
    }
}

/// A borderless, kubectl-like table with upper-case headers.
pub fn new_table(headers: &[&str]) -> Table {
    let mut table = Table::new();
    table
        .load_preset(presets::NOTHING)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(headers.iter().map(|header| header.to_uppercase()));
    // No padding on the left, so the first column aligns with the prompt as kubectl's does.
    for column in table.column_iter_mut() {
        column.set_padding((0, 3));
    }
    table
}

/// A two-column `Field:  value` table for one object; long values wrap at the width in
/// `$COLUMNS` (default 120), since a hypothesis can be a paragraph.
pub fn new_details() -> Table {
    let width = std::env::var("COLUMNS")
        .ok()
        .and_then(|columns| columns.parse::<u16>().ok())
        .filter(|columns| *columns >= 40)
        .unwrap_or(120);
    let mut table = Table::new();
    table
        .load_preset(presets::NOTHING)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_width(width);
    table
}

/// Pads the first column of a details table after rows are added (comfy-table creates
/// columns with the first row).
pub fn finish_details(table: &mut Table) {
    for column in table.column_iter_mut() {
        column.set_padding((0, 2));
    }
}

/// Allocation basis points as a percentage: 2500 -> `25%`, 1250 -> `12.5%`.
pub fn percent(bps: u32) -> String {
    let whole = bps / 100;
    let rest = bps % 100;
    match rest {
        0 => format!("{whole}%"),
        _ if rest.is_multiple_of(10) => format!("{whole}.{}%", rest / 10),
        _ => format!("{whole}.{rest:02}%"),
    }
}

/// A protobuf timestamp as RFC 3339 (UTC, seconds), or empty.
pub fn timestamp(at: Option<&prost_types::Timestamp>) -> String {
    let Some(at) = at else { return String::new() };
    let Ok(time) = time::OffsetDateTime::from_unix_timestamp(at.seconds) else {
        return String::new();
    };
    time.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

/// How long ago `at` was, from `now` (both Unix seconds), as people say it: `3s ago`,
/// `5m ago`, `2h ago`, `4d ago`. A time after `now` (clock skew between hosts) shows as
/// `0s ago` rather than as a negative age.
pub fn ago(at: i64, now: i64) -> String {
    let seconds = now.saturating_sub(at).max(0);
    match seconds {
        0..60 => format!("{seconds}s ago"),
        60..3600 => format!("{}m ago", seconds / 60),
        3600..86_400 => format!("{}h ago", seconds / 3600),
        _ => format!("{}d ago", seconds / 86_400),
    }
}

/// A protobuf duration for people: `0.4s`, `12.3s`, `4m05s`, `3h12m`.
pub fn duration_text(duration: &prost_types::Duration) -> String {
    let seconds = duration.seconds.max(0);
    match seconds {
        0..60 => {
            let exact = seconds as f64 + f64::from(duration.nanos.max(0)) / 1e9;
            format!("{exact:.1}s")
        }
        60..3600 => format!("{}m{:02}s", seconds / 60, seconds % 60),
        _ => format!("{}h{:02}m", seconds / 3600, seconds % 3600 / 60),
    }
}

/// A protobuf duration in seconds, for JSON.
pub fn duration_seconds(duration: &prost_types::Duration) -> f64 {
    duration.seconds as f64 + f64::from(duration.nanos) / 1e9
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_use_the_largest_whole_unit() {
        assert_eq!(ago(100, 103), "3s ago");
        assert_eq!(ago(0, 59), "59s ago");
        assert_eq!(ago(0, 300), "5m ago");
        assert_eq!(ago(0, 7200), "2h ago");
        assert_eq!(ago(0, 4 * 86_400 + 5), "4d ago");
        assert_eq!(ago(110, 100), "0s ago", "clock skew is not a negative age");
    }

    #[test]
    fn durations_read_like_people_write_them() {
        let duration = |seconds, nanos| prost_types::Duration { seconds, nanos };
        assert_eq!(duration_text(&duration(1, 560_000_000)), "1.6s");
        assert_eq!(duration_text(&duration(0, 0)), "0.0s");
        assert_eq!(duration_text(&duration(245, 0)), "4m05s");
        assert_eq!(duration_text(&duration(3 * 3600 + 12 * 60 + 9, 0)), "3h12m");
        assert!((duration_seconds(&duration(1, 500_000_000)) - 1.5).abs() < 1e-9);
    }

    #[test]
    fn percentages_keep_needed_decimals_only() {
        assert_eq!(percent(10_000), "100%");
        assert_eq!(percent(2500), "25%");
        assert_eq!(percent(1250), "12.5%");
        assert_eq!(percent(1), "0.01%");
    }
}
