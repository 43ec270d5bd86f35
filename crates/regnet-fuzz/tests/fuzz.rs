//! The readers against hostile input: every seed is read, every input that
//! ever failed (corpus/) now ends in a value or a one-line error within the
//! limits, and a short fuzz of each reader finds nothing new.

use regnet_fuzz::{alloc, check, files, fuzz, Target};
use std::sync::Mutex;
use std::time::Duration;

#[global_allocator]
static ALLOC: alloc::Counting = alloc::Counting;

/// The allocation counters are process-wide: one test reads at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

#[test]
fn every_seed_file_is_read() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    for t in Target::ALL {
        let seeds = files(&t.seeds_dir());
        assert!(seeds.len() >= 2, "{}: at least two seeds", t.name());
        for (name, bytes) in seeds {
            // The peak differs between reads (lazy one-time allocations):
            // only whether the seed parsed is compared.
            assert_eq!(
                check(t, &bytes).map(|(parsed, _peak)| parsed),
                Ok(true),
                "{}/{name}",
                t.name()
            );
        }
    }
}

#[test]
fn every_input_that_once_failed_is_handled() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut bad = Vec::new();
    let mut n = 0;
    for t in Target::ALL {
        for (name, bytes) in files(&t.corpus_dir()) {
            n += 1;
            if let Err(why) = check(t, &bytes) {
                bad.push(format!("{}/{name}: {why}", t.name()));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "{} of {n} corpus files fail:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

/// A short budget of each reader in CI (the long runs: docs/fuzzing.md),
/// from a seed that changes each day, printed to reproduce it.
#[test]
fn a_short_fuzz_of_each_reader_finds_nothing() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        / 86_400;
    for t in Target::ALL {
        let seeds: Vec<Vec<u8>> = files(&t.seeds_dir()).into_iter().map(|(_, b)| b).collect();
        let r = fuzz(t, &seeds, 2_000, Duration::from_secs(5), seed, |_| {});
        eprintln!(
            "{}: seed {seed}, {} inputs, {} accepted, {:.1} s",
            t.name(),
            r.inputs,
            r.accepted,
            r.seconds
        );
        let why: Vec<String> = r.failures.iter().map(|f| f.why.clone()).collect();
        assert!(why.is_empty(), "{}: {}", t.name(), why.join("\n"));
    }
}
