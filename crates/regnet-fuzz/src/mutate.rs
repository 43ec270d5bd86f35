//! Mutations of valid seed files: what a truncated download, a hostile
//! author or a bit flip makes of them.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Integers a size, count, index or shape field is most likely to
/// mishandle: zero, one, sign and width boundaries, and sizes far beyond
/// any file.
const INTERESTING: [u64; 14] = [
    0,
    1,
    0x7f,
    0xff,
    0x7fff,
    0xffff,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
    1 << 32,
    1 << 40,
    0x7fff_ffff_ffff_ffff,
    0x8000_0000_0000_0000,
    u64::MAX,
];

/// Tokens a text reader is most likely to mishandle where a number stood.
const NUMBERS: [&str; 12] = [
    "0",
    "-1",
    "1e308",
    "-1e308",
    "1e400",
    ".nan",
    "NaN",
    "inf",
    "-inf",
    "1e18",
    "18446744073709551616",
    "\"x\"",
];

/// A seeded source of mutated inputs.
pub struct Mutator {
    rng: ChaCha8Rng,
}

impl Mutator {
    pub fn new(seed: u64) -> Mutator {
        Mutator {
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    /// One to four mutations of `seed` (text mutations when `text`);
    /// `other` is another seed to splice from.
    pub fn mutate(&mut self, seed: &[u8], other: &[u8], text: bool) -> Vec<u8> {
        let mut out = seed.to_vec();
        for _ in 0..self.rng.random_range(1..=4) {
            if text && self.rng.random_bool(0.6) {
                self.text_edit(&mut out);
            } else {
                self.byte_edit(&mut out, other);
            }
        }
        out
    }

    fn pos(&mut self, v: &[u8]) -> usize {
        if v.is_empty() {
            0
        } else {
            self.rng.random_range(0..v.len())
        }
    }

    fn byte_edit(&mut self, v: &mut Vec<u8>, other: &[u8]) {
        let at = self.pos(v);
        match self.rng.random_range(0..8) {
            0 if !v.is_empty() => v[at] ^= 1 << self.rng.random_range(0..8),
            1 if !v.is_empty() => v[at] = self.rng.random(),
            2 => {
                // An interesting integer over 1, 2, 4 or 8 bytes, either order.
                let x = INTERESTING[self.rng.random_range(0..INTERESTING.len())];
                let width = [1, 2, 4, 8][self.rng.random_range(0..4)];
                let bytes = if self.rng.random_bool(0.5) {
                    x.to_le_bytes()[..width].to_vec()
                } else {
                    x.to_be_bytes()[8 - width..].to_vec()
                };
                let end = (at + width).min(v.len());
                v.splice(at..end, bytes);
            }
            3 => {
                let n = self.rng.random_range(1..=16);
                let bytes: Vec<u8> = (0..n).map(|_| self.rng.random()).collect();
                v.splice(at..at, bytes);
            }
            4 if !v.is_empty() => {
                let end = (at + self.rng.random_range(1..=64)).min(v.len());
                v.drain(at..end);
            }
            5 if !v.is_empty() => {
                // A repeated run (nesting, repeated records).
                let end = (at + self.rng.random_range(1..=32)).min(v.len());
                let run = v[at..end].to_vec();
                let times = self.rng.random_range(1..=64);
                let copies: Vec<u8> = run
                    .iter()
                    .copied()
                    .cycle()
                    .take(run.len() * times)
                    .collect();
                v.splice(at..at, copies);
            }
            6 if !other.is_empty() => {
                let from = self.rng.random_range(0..other.len());
                let end = (from + self.rng.random_range(1..=256)).min(other.len());
                v.splice(at..at, other[from..end].iter().copied());
            }
            _ => v.truncate(at),
        }
    }

    fn text_edit(&mut self, v: &mut Vec<u8>) {
        let text = String::from_utf8_lossy(v).into_owned();
        let edited = match self.rng.random_range(0..4) {
            0 => self.replace_number(&text),
            1 => self.repeat_line(&text),
            2 => {
                // Deeper nesting than any config has.
                let depth = [10, 1000, 100_000][self.rng.random_range(0..3)];
                let at = self.pos(text.as_bytes());
                let at = (0..=at)
                    .rev()
                    .find(|&i| text.is_char_boundary(i))
                    .unwrap_or(0);
                format!("{}{}{}", &text[..at], "[".repeat(depth), &text[at..])
            }
            _ => {
                let at = self.pos(text.as_bytes());
                let at = (0..=at)
                    .rev()
                    .find(|&i| text.is_char_boundary(i))
                    .unwrap_or(0);
                let junk = [
                    ": ",
                    "- ",
                    "{",
                    "}",
                    "\"",
                    "\u{1b}[2J",
                    "\n",
                    "&a ",
                    "*a",
                    "!!binary ",
                ];
                let j = junk[self.rng.random_range(0..junk.len())];
                format!("{}{j}{}", &text[..at], &text[at..])
            }
        };
        *v = edited.into_bytes();
    }

    /// One number of `text` replaced by a troublesome token.
    fn replace_number(&mut self, text: &str) -> String {
        let spans: Vec<(usize, usize)> = number_spans(text);
        if spans.is_empty() {
            return text.to_string();
        }
        let (a, b) = spans[self.rng.random_range(0..spans.len())];
        let token = NUMBERS[self.rng.random_range(0..NUMBERS.len())];
        format!("{}{token}{}", &text[..a], &text[b..])
    }

    fn repeat_line(&mut self, text: &str) -> String {
        let lines: Vec<&str> = text.lines().collect();
        if lines.is_empty() {
            return text.to_string();
        }
        let i = self.rng.random_range(0..lines.len());
        let times = self.rng.random_range(2..=8);
        let mut out: Vec<&str> = lines[..i].to_vec();
        out.extend(std::iter::repeat_n(lines[i], times));
        out.extend(&lines[i..]);
        out.join("\n")
    }
}

/// Byte spans of the decimal numbers in `text`.
fn number_spans(text: &str) -> Vec<(usize, usize)> {
    let b = text.as_bytes();
    let mut spans = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_digit() {
            let start = i;
            while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.' || b[i] == b'e') {
                i += 1;
            }
            spans.push((start, i));
        } else {
            i += 1;
        }
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_found_where_they_are() {
        assert_eq!(
            number_spans("a: 12\nb: [3.5, 1e5]"),
            vec![(3, 5), (10, 13), (15, 18)]
        );
    }

    #[test]
    fn a_seed_gives_the_same_inputs_and_they_differ_from_the_seed() {
        let seed = b"STEM_W: 16\nDEPTHS: [1, 2, 3]\n";
        let run = |s| {
            let mut m = Mutator::new(s);
            (0..50)
                .map(|_| m.mutate(seed, b"xyz", true))
                .collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
        assert!(run(7).iter().filter(|v| v.as_slice() != seed).count() > 40);
    }
}
