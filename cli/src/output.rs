//! What the user sees: progress steps with elapsed time, colour only on a terminal, tables.

use std::{
    io::{IsTerminal, Write},
    time::Instant,
};

/// Progress lines on stderr: `► step`, `✔ done (3.2s)`, `✗ failed`. Silent when stderr is not a
/// terminal, so scripts piping the output see only results and errors.
pub struct Progress {
    interactive: bool,
    started: Instant,
}

impl Progress {
    pub fn new() -> Self {
        Self {
            interactive: std::io::stderr().is_terminal(),
            started: Instant::now(),
        }
    }

    /// A step that is starting (`► applying CRDs`).
    pub fn step(&self, message: &str) {
        self.line("►", "36", message);
    }

    /// A step that finished, with the time since the command started.
    pub fn done(&self, message: &str) {
        let elapsed = self.started.elapsed().as_secs_f64();
        self.line("✔", "32", &format!("{message} ({elapsed:.1}s)"));
    }

    /// Something worth knowing that is not an error.
    pub fn note(&self, message: &str) {
        self.line("◎", "33", message);
    }

    fn line(&self, symbol: &str, colour: &str, message: &str) {
        if !self.interactive {
            return;
        }
        let mut stderr = std::io::stderr().lock();
        let _ = writeln!(stderr, "\x1b[{colour}m{symbol}\x1b[0m {message}");
    }
}

/// Prints rows as left-aligned columns separated by three spaces, like `flux get`.
pub fn print_table(headers: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = headers
        .iter()
        .map(|header| header.chars().count())
        .collect();
    for row in rows {
        for (index, cell) in row.iter().enumerate() {
            if let Some(width) = widths.get_mut(index) {
                *width = (*width).max(cell.chars().count());
            }
        }
    }
    let format_row = |cells: Vec<&str>| {
        let last = cells.len().saturating_sub(1);
        let mut line = String::new();
        for (index, cell) in cells.into_iter().enumerate() {
            line.push_str(cell);
            if index < last {
                let pad = widths[index].saturating_sub(cell.chars().count()) + 3;
                line.push_str(&" ".repeat(pad));
            }
        }
        line.trim_end().to_string()
    };
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{}", format_row(headers.to_vec()));
    for row in rows {
        let _ = writeln!(
            stdout,
            "{}",
            format_row(row.iter().map(String::as_str).collect())
        );
    }
}

/// Shortens 40- and 64-character hex digests in a revision to their first 8 characters, as
/// `flux get` displays them (`main@sha1:1a2b3c4d`).
pub fn truncate_hex(revision: &str) -> String {
    let mut out = String::with_capacity(revision.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.len() >= 40 {
            out.push_str(&run[..8]);
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in revision.chars() {
        if c.is_ascii_hexdigit() && !c.is_ascii_uppercase() {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

/// The output formats of commands that print objects.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Table,
    Yaml,
    Json,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncates_only_full_length_digests() {
        let sha1 = "main@sha1:0123456789abcdef0123456789abcdef01234567";
        assert_eq!(truncate_hex(sha1), "main@sha1:01234567");
        assert_eq!(truncate_hex("v1.2.3@sha256:abc"), "v1.2.3@sha256:abc");
        assert_eq!(truncate_hex(""), "");
    }
}
