//! Operating characteristics of the sequential comparison on the study's own
//! populations (bench/sequential.sh): A/A pairs for the false-decision rate
//! under every look, and the study's large differences for the models each
//! design spends, sequential (Pocock and O'Brien-Fleming, 6 looks of 8)
//! against the fixed n = 48 of the study. Prints a Markdown table.

use regnet_stats::sequential::{simulate, Boundary, Design, Simulation};

#[path = "../tests/support/study.rs"]
mod support;
use support::study;

fn main() {
    let pairs = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(4000);
    let designs = [
        (
            "Pocock 6x8",
            Design::new(0.05, 6, 8, Boundary::Pocock).unwrap(),
        ),
        (
            "O'Brien-Fleming 6x8",
            Design::new(0.05, 6, 8, Boundary::OBrienFleming).unwrap(),
        ),
        (
            "fixed n = 48",
            Design::new(0.05, 1, 48, Boundary::Pocock).unwrap(),
        ),
    ];
    let cases = [
        ("A / A", "anynetx_a", "anynetx_a"),
        ("C / C", "anynetx_c", "anynetx_c"),
        ("E / E", "anynetx_e", "anynetx_e"),
        ("RegNetX / RegNetX", "regnetx", "regnetx"),
        ("A vs E", "anynetx_a", "anynetx_e"),
        ("C vs E", "anynetx_c", "anynetx_e"),
        ("E vs RegNetX", "anynetx_e", "regnetx"),
    ];
    println!("{pairs} resampled comparisons per row (seeded); alpha = 0.05, two-sided.\n");
    println!("| pair (baseline / candidate) | design | better | worse | undecided | models per space | vs fixed 48 |");
    println!("|---|---|---|---|---|---|---|");
    for (label, a, b) in cases {
        let (a, b) = (study(a), study(b));
        for (name, design) in &designs {
            let Simulation {
                better,
                worse,
                undecided,
                mean_n,
                ..
            } = simulate(design, (&a, &b), 0.0, None, (pairs, 7));
            println!(
                "| {label} | {name} | {:.1}% | {:.1}% | {:.1}% | {mean_n:.1} | {:.2}x |",
                100.0 * better,
                100.0 * worse,
                100.0 * undecided,
                mean_n / 48.0
            );
        }
    }
    let mc = (0.05f64 * 0.95 / pairs as f64).sqrt();
    println!(
        "\nMonte Carlo standard error of a 5% rate at {pairs} comparisons: {:.2} points.",
        100.0 * mc
    );
}
