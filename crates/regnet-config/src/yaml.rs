//! YAML from files other people make. libyaml's time grows with the square
//! of flow nesting (100,000 `[` took over a minute), so text nested deeper
//! than any config needs is refused before it is parsed.

use serde::de::DeserializeOwned;

/// Deeper `[`/`{` nesting than this is refused (pycls configs nest 3 deep).
pub const MAX_NESTING: usize = 64;

/// Parses YAML text, refusing nesting deeper than [`MAX_NESTING`]; the
/// error is serde_yaml's, or one naming the line where the limit was passed.
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, String> {
    check_nesting(text)?;
    serde_yaml::from_str(text).map_err(|e| e.to_string())
}

/// Whether a node may start after `prev` (inside a plain scalar such as
/// `it's` or `a[1]`, quotes and brackets are only characters).
fn starts(prev: char) -> bool {
    prev.is_whitespace() || matches!(prev, '[' | '{' | ',')
}

/// Errs when flow collections outside quotes and comments nest deeper
/// than [`MAX_NESTING`].
fn check_nesting(text: &str) -> Result<(), String> {
    let (mut depth, mut line) = (0usize, 1usize);
    let mut quote: Option<char> = None;
    let mut prev = '\n';
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (_, '\n') => {
                line += 1;
                if quote == Some('#') {
                    quote = None;
                }
            }
            (Some('"'), '\\') => {
                chars.next();
            }
            (Some(q), c) if q == c && q != '#' => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') if starts(prev) => quote = Some(c),
            (None, '#') if prev.is_whitespace() => quote = Some('#'),
            (None, '[' | '{') if starts(prev) => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Err(format!(
                        "line {line}: nested more than {MAX_NESTING} levels deep"
                    ));
                }
            }
            (None, ']' | '}') => depth = depth.saturating_sub(1),
            _ => {}
        }
        prev = c;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nesting_is_counted_outside_quotes_and_comments() {
        let ok = format!(
            "a: {}1{}\n",
            "[".repeat(MAX_NESTING),
            "]".repeat(MAX_NESTING)
        );
        assert!(check_nesting(&ok).is_ok());
        let deep = format!("a: 1\nb: {}\n", "[".repeat(MAX_NESTING + 1));
        assert_eq!(
            check_nesting(&deep).unwrap_err(),
            "line 2: nested more than 64 levels deep"
        );
        let quoted = format!(
            "a: '{0}'\nb: \"{0}\\\"\"\n# {0}\nc: 1 # {0}\n",
            "[".repeat(100)
        );
        assert!(check_nesting(&quoted).is_ok());
        let plain = "DESC: it's a[1] and b[2]\n".repeat(100);
        assert!(check_nesting(&plain).is_ok());
    }

    #[test]
    fn a_hundred_thousand_levels_are_refused_at_once() {
        let t = std::time::Instant::now();
        let e = from_str::<serde_yaml::Value>(&"[".repeat(100_000)).unwrap_err();
        assert!(e.contains("nested more than 64"), "{e}");
        assert!(t.elapsed().as_secs_f64() < 1.0);
    }
}
