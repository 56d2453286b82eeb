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
        _ if rest % 10 == 0 => format!("{whole}.{}%", rest / 10),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_keep_needed_decimals_only() {
        assert_eq!(percent(10_000), "100%");
        assert_eq!(percent(2500), "25%");
        assert_eq!(percent(1250), "12.5%");
        assert_eq!(percent(1), "0.01%");
    }
}
