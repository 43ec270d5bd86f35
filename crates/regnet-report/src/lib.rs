//! The analysis report: one self-contained HTML file (inline SVG charts and
//! CSS, no scripts, no external assets) that reads offline and prints.

mod chain;
mod charts;
mod page;
pub mod svg;

pub use chain::render_chain;
pub use page::render;
