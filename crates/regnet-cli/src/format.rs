//! Human-readable numbers and plain-text tables, and JSON output.

use crate::CliError;

/// `v` as one line of JSON (`pretty`: indented), for output.
pub fn to_json<T: serde::Serialize + ?Sized>(v: &T, pretty: bool) -> Result<String, CliError> {
    let text = if pretty {
        serde_json::to_string_pretty(v)
    } else {
        serde_json::to_string(v)
    };
    text.map_err(|e| CliError::new(format!("cannot write JSON output: {e}")))
}

/// `1234567` → `"1,234,567"`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A count in paper units: `199040872` → `"199.04M"`, `3.2e9` → `"3.20G"`.
pub fn short(n: u64) -> String {
    let x = n as f64;
    match n {
        0..=999 => n.to_string(),
        1_000..=999_999 => format!("{:.2}K", x / 1e3),
        1_000_000..=999_999_999 => format!("{:.2}M", x / 1e6),
        _ => format!("{:.2}G", x / 1e9),
    }
}

/// Seconds as `1h 02m`, `3m 05s` or `42s`.
pub fn duration(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    match (s / 3600, s % 3600 / 60, s % 60) {
        (0, 0, sec) => format!("{sec}s"),
        (0, m, sec) => format!("{m}m {sec:02}s"),
        (h, m, _) => format!("{h}h {m:02}m"),
    }
}

/// A plain-text table: the first `left` columns left-aligned (names), the
/// others right-aligned (numbers), every column sized to fit.
pub fn table(header: &[&str], rows: &[Vec<String>], left: usize) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        cells
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (c, &w))| {
                if i < left {
                    format!("{c:<w$}")
                } else {
                    format!("{c:>w$}")
                }
            })
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    let mut out = line(header.to_vec());
    for row in rows {
        out.push('\n');
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

/// Prints a command's output and a newline (every command prints through
/// here, with `say!`). A reader that stopped reading (`regnet sweep export
/// DIR | head`) ends the command quietly, exit status 0, as SIGPIPE ends
/// other command-line tools, instead of a panic.
pub fn print(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if let Err(e) = writeln!(out, "{text}").and_then(|_| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: cannot write the output: {e}");
        std::process::exit(1);
    }
}

/// A string from a store or a file, safe to print: control characters
/// (escape sequences that would clear a terminal or forge lines) are shown
/// escaped, `\u{1b}`, instead of acting.
pub fn plain(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(thousands(199_040_872), "199,040,872");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(short(199_040_872), "199.04M");
        assert_eq!(short(3_176_622_952), "3.18G");
        assert_eq!(short(928), "928");
        assert_eq!(short(12_345), "12.35K");
        assert_eq!(duration(42.4), "42s");
        assert_eq!(duration(185.0), "3m 05s");
        assert_eq!(duration(3720.0), "1h 02m");
    }

    #[test]
    fn stored_strings_cannot_drive_the_terminal() {
        assert_eq!(plain("job\u{1b}[2Jx\nforged"), "job\\u{1b}[2Jx\\nforged");
        assert_eq!(plain("épreuve ok"), "épreuve ok");
    }

    #[test]
    fn table_aligns() {
        let t = table(&["a", "bb"], &[vec!["xyz".into(), "1".into()]], 1);
        assert_eq!(t, "a    bb\nxyz   1");
    }
}
