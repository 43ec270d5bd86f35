//! The analysis report: one self-contained HTML file (inline SVG charts and
//! CSS, no scripts, no external assets) that reads offline and prints.

mod charts;
mod page;
pub mod svg;

pub use page::render;
