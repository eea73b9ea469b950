//! Printing results: an aligned table for people, or JSON for scripts. Both
//! go to stdout; progress and questions go to stderr, so `-o json | jq` works.

use std::io::{IsTerminal, Write};

use serde_json::Value;

use crate::args::Format;
use crate::failure::Failure;

/// Rows under headers, printed with aligned columns.
pub struct Table {
    headers: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(headers: &[&'static str]) -> Table {
        Table {
            headers: headers.to_vec(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        debug_assert_eq!(cells.len(), self.headers.len());
        self.rows.push(cells);
    }

    pub fn rows(&self) -> usize {
        self.rows.len()
    }

    pub fn render(&self) -> String {
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let line = |cells: Vec<&str>| {
            let padded: Vec<String> = cells
                .iter()
                .zip(&widths)
                .map(|(c, w)| format!("{c:<w$}", w = *w))
                .collect();
            padded.join("  ").trim_end().to_string() + "\n"
        };
        let mut out = line(self.headers.clone());
        for row in &self.rows {
            out += &line(row.iter().map(String::as_str).collect());
        }
        out
    }
}

/// Prints `json` in JSON mode, else what `human` renders.
pub fn print(format: Format, json: &Value, human: impl FnOnce() -> String) {
    let text = match format {
        Format::Json => serde_json::to_string_pretty(json).expect("values serialize") + "\n",
        Format::Table => human(),
    };
    print!("{text}");
}

/// Asks on the terminal; without one (a script, CI) it refuses rather than
/// guess, so nothing changes unless `--yes` says so.
pub fn confirm(question: &str) -> Result<(), Failure> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Err(Failure::NotConfirmed);
    }
    eprint!("{question} [y/N] ");
    std::io::stderr().flush().ok();
    let mut answer = String::new();
    stdin.read_line(&mut answer).ok();
    if matches!(answer.trim(), "y" | "Y" | "yes") {
        Ok(())
    } else {
        Err(Failure::NotConfirmed)
    }
}

/// Some("x") as "x", None as "-".
pub fn or_dash(value: Option<impl ToString>) -> String {
    value.map(|v| v.to_string()).unwrap_or_else(|| "-".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_line_up_under_their_headers() {
        let mut t = Table::new(&["DAY", "STATE"]);
        t.row(vec!["2026-11-21".into(), "SUCCEEDED".into()]);
        t.row(vec!["x".into(), "-".into()]);
        let text = t.render();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "DAY         STATE");
        assert_eq!(lines[1], "2026-11-21  SUCCEEDED");
        assert_eq!(lines[2], "x           -");
    }
}
