//! A small SVG chart writer: axes (linear or log) with tick labels, step
//! curves, lines, points, shaded bands and legends. Hand-written because the
//! charts must be inline, font-independent text (plotters' SVG backend needs
//! a font stack to measure text); it is the one place that knows pixels.

use std::fmt::Write;

/// How an axis maps values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scale {
    Linear,
    Log,
}

/// One axis: label (with unit), range and scale.
#[derive(Debug, Clone)]
pub struct Axis {
    pub label: String,
    pub lo: f64,
    pub hi: f64,
    pub scale: Scale,
}

impl Axis {
    /// An axis spanning `values` with a little margin; log scale when they
    /// are positive and span more than two decades.
    pub fn fit(label: &str, values: impl IntoIterator<Item = f64>) -> Axis {
        let v: Vec<f64> = values.into_iter().filter(|x| x.is_finite()).collect();
        let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if !lo.is_finite() {
            return Axis::fixed(label, 0.0, 1.0);
        }
        if lo > 0.0 && hi / lo > 100.0 {
            return Axis {
                label: label.into(),
                lo: lo / 1.2,
                hi: (hi * 1.2).min(f64::MAX),
                scale: Scale::Log,
            };
        }
        let pad = if hi > lo {
            (hi - lo) * 0.05
        } else {
            lo.abs().max(1.0) * 0.05
        };
        let pad = if pad.is_finite() { pad } else { 0.0 };
        Axis::fixed(label, (lo - pad).max(f64::MIN), (hi + pad).min(f64::MAX))
    }

    /// A linear axis over [lo, hi].
    pub fn fixed(label: &str, lo: f64, hi: f64) -> Axis {
        Axis {
            label: label.into(),
            lo,
            hi,
            scale: Scale::Linear,
        }
    }

    /// Position of `v` in [0, 1] along the axis.
    fn norm(&self, v: f64) -> f64 {
        match self.scale {
            Scale::Linear => (v - self.lo) / (self.hi - self.lo),
            Scale::Log => (v.ln() - self.lo.ln()) / (self.hi.ln() - self.lo.ln()),
        }
    }

    /// Tick positions and labels: 1-2-5 steps, or powers of ten on log axes.
    fn ticks(&self) -> Vec<(f64, String)> {
        match self.scale {
            Scale::Log => {
                // Exponents of finite doubles only, and at most about 12
                // decades labelled, however wide the data.
                let exp = |v: f64| v.log10().clamp(-320.0, 310.0);
                let (a, b) = (exp(self.lo).ceil() as i32, exp(self.hi).floor() as i32);
                let mults: &[f64] = if b - a < 2 { &[1.0, 2.0, 5.0] } else { &[1.0] };
                let every = ((b - a) / 12).max(1) as usize;
                let mut t = Vec::new();
                for e in ((a - 1)..=b).step_by(every) {
                    for m in mults {
                        let v = m * 10f64.powi(e);
                        if v >= self.lo && v <= self.hi {
                            t.push((v, si(v)));
                        }
                    }
                }
                t
            }
            Scale::Linear => {
                let span = self.hi - self.lo;
                if span <= 0.0 || !span.is_finite() {
                    return vec![(self.lo, si(self.lo))];
                }
                let raw = span / 5.0;
                let mag = 10f64.powf(raw.log10().floor());
                let step = [1.0, 2.0, 5.0, 10.0]
                    .iter()
                    .map(|m| m * mag)
                    .find(|s| span / s <= 6.0)
                    .unwrap_or(10.0 * mag);
                let first = (self.lo / step).ceil() as i64;
                let last = (self.hi / step).floor() as i64;
                (first..=last)
                    .take(12)
                    .map(|i| {
                        let v = i as f64 * step;
                        (v, si(v))
                    })
                    .collect()
            }
        }
    }
}

/// Tick text: SI suffixes from ten thousand up, else up to 3 significant digits.
fn si(v: f64) -> String {
    let a = v.abs();
    let (x, suffix) = if a >= 1e9 {
        (v / 1e9, "G")
    } else if a >= 1e6 {
        (v / 1e6, "M")
    } else if a >= 1e4 {
        (v / 1e3, "K")
    } else {
        (v, "")
    };
    let s = format!("{x:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("{s}{suffix}")
}

/// Escapes text for SVG/HTML.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A chart being drawn.
pub struct Chart {
    width: f64,
    height: f64,
    left: f64,
    right: f64,
    top: f64,
    bottom: f64,
    pub x: Axis,
    pub y: Axis,
    title: String,
    body: String,
    legend: Vec<(String, String, bool)>,
    /// Legend in the lower right corner (else the upper right).
    pub legend_low: bool,
}

impl Chart {
    pub fn new(title: &str, x: Axis, y: Axis, width: f64, height: f64) -> Chart {
        Chart {
            width,
            height,
            left: 58.0,
            right: 12.0,
            top: 26.0,
            bottom: 44.0,
            x,
            y,
            title: title.into(),
            body: String::new(),
            legend: Vec::new(),
            legend_low: false,
        }
    }

    fn px(&self, v: f64) -> f64 {
        self.left + self.x.norm(v).clamp(-0.02, 1.02) * (self.width - self.left - self.right)
    }

    fn py(&self, v: f64) -> f64 {
        self.height
            - self.bottom
            - self.y.norm(v).clamp(-0.02, 1.02) * (self.height - self.top - self.bottom)
    }

    /// A polyline through `points`.
    pub fn line(&mut self, points: &[(f64, f64)], color: &str, width: f64, dashed: bool) {
        let pts: Vec<String> = points
            .iter()
            .filter(|p| p.0.is_finite() && p.1.is_finite())
            .map(|&(x, y)| format!("{:.1},{:.1}", self.px(x), self.py(y)))
            .collect();
        if pts.len() < 2 {
            return;
        }
        let dash = if dashed {
            r#" stroke-dasharray="5,3""#
        } else {
            ""
        };
        let _ = write!(
            self.body,
            r#"<polyline fill="none" stroke="{color}" stroke-width="{width}"{dash} points="{}"/>"#,
            pts.join(" ")
        );
    }

    /// An EDF as a step function from F = 0 left of the first corner to
    /// F = 1 right of the last; corners are (error, F after it).
    pub fn steps(&mut self, corners: &[(f64, f64)], color: &str) {
        let pts = self.step_points(corners);
        self.line(&pts, color, 2.0, false);
    }

    /// A shaded band of half-height `eps` around an EDF's steps (clipped to
    /// [0, 1]): where the true distribution can be at this confidence.
    pub fn step_band(&mut self, corners: &[(f64, f64)], eps: f64, color: &str) {
        let pts = self.step_points(corners);
        if pts.len() < 2 || !eps.is_finite() {
            return;
        }
        let upper = pts.iter().map(|&(x, y)| (x, (y + eps).min(1.0)));
        let lower = pts.iter().rev().map(|&(x, y)| (x, (y - eps).max(0.0)));
        let poly: Vec<String> = upper
            .chain(lower)
            .map(|(x, y)| format!("{:.1},{:.1}", self.px(x), self.py(y)))
            .collect();
        let _ = write!(
            self.body,
            r#"<polygon fill="{color}" fill-opacity="0.10" stroke="none" points="{}"/>"#,
            poly.join(" ")
        );
    }

    /// The corners of an EDF's step function across the whole x axis.
    fn step_points(&self, corners: &[(f64, f64)]) -> Vec<(f64, f64)> {
        let Some(&(first, _)) = corners.first() else {
            return Vec::new();
        };
        let mut pts = vec![
            (self.x.lo.max(first - (self.x.hi - self.x.lo)), 0.0),
            (first, 0.0),
        ];
        let mut prev = 0.0;
        for &(e, f) in corners {
            pts.push((e, prev));
            pts.push((e, f));
            prev = f;
        }
        pts.push((self.x.hi, prev));
        pts
    }

    /// Dots, each with its own colour.
    pub fn points(&mut self, points: &[(f64, f64, String)], radius: f64) {
        for (x, y, color) in points {
            if !(x.is_finite() && y.is_finite()) {
                continue;
            }
            let _ = write!(
                self.body,
                r#"<circle cx="{:.1}" cy="{:.1}" r="{radius}" fill="{color}" fill-opacity="0.75"/>"#,
                self.px(*x),
                self.py(*y)
            );
        }
    }

    /// A shaded vertical band between x = lo and x = hi.
    pub fn band(&mut self, lo: f64, hi: f64, color: &str) {
        if !(lo.is_finite() && hi.is_finite()) {
            return;
        }
        let (a, b) = (self.px(lo), self.px(hi).max(self.px(lo) + 1.5));
        let (top, bottom) = (self.top, self.height - self.bottom);
        let _ = write!(
            self.body,
            r#"<rect x="{a:.1}" y="{top}" width="{:.1}" height="{:.1}" fill="{color}" fill-opacity="0.15"/>"#,
            b - a,
            bottom - top
        );
    }

    /// A vertical line at x.
    pub fn vline(&mut self, x: f64, color: &str) {
        if x.is_finite() {
            let (lo, hi) = (self.y.lo, self.y.hi);
            self.line(&[(x, lo), (x, hi)], color, 1.5, true);
        }
    }

    /// Adds a legend entry (dashed: a dashed line sample).
    pub fn legend(&mut self, color: &str, label: &str, dashed: bool) {
        self.legend.push((color.into(), label.into(), dashed));
    }

    /// The finished `<svg>` element.
    pub fn finish(self) -> String {
        let (w, h) = (self.width, self.height);
        let mut s = format!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="Helvetica, Arial, sans-serif" font-size="11">"#
        );
        let (x0, x1) = (self.left, w - self.right);
        let (y0, y1) = (h - self.bottom, self.top);
        let _ = write!(
            s,
            r##"<rect x="{x0}" y="{y1}" width="{}" height="{}" fill="none" stroke="#444"/>"##,
            x1 - x0,
            y0 - y1
        );
        for (v, label) in self.x.ticks() {
            let x = self.px(v);
            let _ = write!(
                s,
                r##"<line x1="{x:.1}" x2="{x:.1}" y1="{y1}" y2="{y0}" stroke="#e4e4e4"/><text x="{x:.1}" y="{:.1}" text-anchor="middle">{}</text>"##,
                y0 + 14.0,
                esc(&label)
            );
        }
        for (v, label) in self.y.ticks() {
            let y = self.py(v);
            let _ = write!(
                s,
                r##"<line x1="{x0}" x2="{x1}" y1="{y:.1}" y2="{y:.1}" stroke="#e4e4e4"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
                x0 - 4.0,
                y + 4.0,
                esc(&label)
            );
        }
        s.push_str(&self.body);
        let _ = write!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="12">{}</text>"#,
            (x0 + x1) / 2.0,
            h - 8.0,
            esc(&self.x.label)
        );
        let _ = write!(
            s,
            r#"<text transform="translate(14,{:.1}) rotate(-90)" text-anchor="middle" font-size="12">{}</text>"#,
            (y0 + y1) / 2.0,
            esc(&self.y.label)
        );
        let _ = write!(
            s,
            r#"<text x="{x0}" y="16" font-size="13" font-weight="bold">{}</text>"#,
            esc(&self.title)
        );
        let n = self.legend.len() as f64;
        let first = if self.legend_low {
            y0 - 15.0 * n
        } else {
            y1 + 6.0
        };
        if n > 0.0 {
            let _ = write!(
                s,
                r#"<rect x="{:.1}" y="{first:.1}" width="172" height="{:.1}" fill="white" fill-opacity="0.85"/>"#,
                x1 - 174.0,
                15.0 * n + 2.0
            );
        }
        for (i, (color, label, dashed)) in self.legend.iter().enumerate() {
            let y = first + 9.0 + 15.0 * i as f64;
            let dash = if *dashed {
                r#" stroke-dasharray="5,3""#
            } else {
                ""
            };
            let _ = write!(
                s,
                r#"<line x1="{:.1}" x2="{:.1}" y1="{y:.1}" y2="{y:.1}" stroke="{color}" stroke-width="2.5"{dash}/><text x="{:.1}" y="{:.1}">{}</text>"#,
                x1 - 170.0,
                x1 - 150.0,
                x1 - 146.0,
                y + 4.0,
                esc(label)
            );
        }
        s.push_str("</svg>");
        s
    }
}

/// Colours of populations, the same in every chart.
pub const PALETTE: [&str; 6] = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
];

/// Colour of a population by index.
pub fn color(i: usize) -> &'static str {
    PALETTE[i % PALETTE.len()]
}

/// Colour of an error rank in [0, 1] (0 best): blue → green → yellow → red.
pub fn rank_color(t: f64) -> String {
    let stops = [
        (0.0, [43, 131, 186]),
        (0.35, [171, 221, 164]),
        (0.65, [253, 174, 97]),
        (1.0, [215, 25, 28]),
    ];
    let t = t.clamp(0.0, 1.0);
    let i = stops
        .iter()
        .rposition(|s| s.0 <= t)
        .unwrap_or(0)
        .min(stops.len() - 2);
    let (a, b) = (stops[i], stops[i + 1]);
    let f = (t - a.0) / (b.0 - a.0);
    let c: Vec<u8> = (0..3)
        .map(|k| (a.1[k] as f64 + (b.1[k] as f64 - a.1[k] as f64) * f).round() as u8)
        .collect();
    format!("#{:02x}{:02x}{:02x}", c[0], c[1], c[2])
}
