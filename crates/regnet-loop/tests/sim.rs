//! The design loop's rules on simulated populations: no process, no
//! training. Each population draws three-stage AnyNet configs (depth 1–16,
//! width 8–1024 by 8, bottleneck 1/2/4, group width 1–32 per stage) by
//! rejection from its restrictions, and a model's error is a known function
//! of its config plus seeded noise, so what the loop should decide is known.

use regnet_analysis::{ModelResult, Population, StepDecision};
use regnet_loop::{Budget, Loop, LoopError, Opened, Order, Populations, Settings, StepId};
use regnet_space::{design_metrics, Restriction, SizeEstimate};
use regnet_store::Counts;
use serde_json::{json, Value};

/// A tiny seeded generator (SplitMix64): the test's own draws.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn pick<T: Copy>(&mut self, from: &[T]) -> T {
        from[(self.next() % from.len() as u64) as usize]
    }
    /// A standard normal (Box–Muller).
    fn normal(&mut self) -> f64 {
        let u = ((self.next() >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
        let v = ((self.next() >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

/// A model in a population: its config, and its error once trained.
struct Model {
    config: Value,
    error: Option<f64>,
}

/// The simulated populations, and what the loop asked of them.
struct Sim {
    /// Error of a config (before noise).
    truth: fn(&Value) -> f64,
    /// Whether every model fails to train.
    fail: bool,
    steps: Vec<(StepId, Vec<Restriction>, Vec<Model>)>,
    /// Models trained so far (a replayed loop must not add any).
    trained: usize,
    rng: Rng,
}

impl Sim {
    fn new(truth: fn(&Value) -> f64) -> Self {
        Sim {
            truth,
            fail: false,
            steps: Vec::new(),
            trained: 0,
            rng: Rng(7),
        }
    }

    fn draw(&mut self, restrictions: &[Restriction]) -> Value {
        loop {
            let stage =
                |r: &mut Rng, from: &[u64]| -> Vec<u64> { (0..3).map(|_| r.pick(from)).collect() };
            let depths: Vec<u64> = (1..=16).collect();
            let widths: Vec<u64> = (1..=128).map(|k| 8 * k).collect();
            let cfg = json!({"ANYNET": {
                "DEPTHS": stage(&mut self.rng, &depths),
                "WIDTHS": stage(&mut self.rng, &widths),
                "BOT_MULS": (0..3).map(|_| self.rng.pick(&[1.0, 0.5, 0.25])).collect::<Vec<f64>>(),
                "GROUP_WS": stage(&mut self.rng, &[1, 2, 4, 8, 16, 32]),
            }});
            let metrics = design_metrics(&cfg, true);
            if restrictions
                .iter()
                .all(|r| r.holds(&cfg, &metrics) != Some(false))
            {
                return cfg;
            }
        }
    }

    fn models(&self, i: usize) -> &[Model] {
        &self.steps[i].2
    }
}

/// log10 size reduction of each restriction in the simulated space
/// (AnyNetX_A's 13.7): distinct, so the order by reduction is known.
fn reduction(r: &Restriction) -> f64 {
    match r {
        Restriction::SharedB => 1.3,
        Restriction::SharedG => 2.2,
        Restriction::NonDecreasingW => 0.9,
        Restriction::NonDecreasingD => 0.7,
        Restriction::Range { .. } => 0.1,
    }
}

impl Populations for Sim {
    fn size_log10(&mut self, restrictions: &[Restriction]) -> regnet_loop::Result<f64> {
        Ok(13.7 - restrictions.iter().map(reduction).sum::<f64>())
    }

    fn exists(&mut self, id: &StepId) -> regnet_loop::Result<bool> {
        Ok(self.steps.iter().any(|(s, _, _)| s == id))
    }

    fn open(
        &mut self,
        id: &StepId,
        restrictions: &[Restriction],
        n: usize,
    ) -> regnet_loop::Result<Opened> {
        if !self.exists(id)? {
            self.steps
                .push((id.clone(), restrictions.to_vec(), Vec::new()));
            let i = self.steps.len() - 1;
            self.grow_to(i, n)?;
        }
        Ok(Opened {
            size_log10: self.size_log10(restrictions)?,
            size: SizeEstimate::Exact,
            location: format!("sim/{}", id.index),
        })
    }

    fn counts(&mut self, i: usize) -> regnet_loop::Result<Counts> {
        let m = self.models(i);
        let done = m.iter().filter(|m| m.error.is_some()).count();
        let (failed, pending) = if self.fail {
            (m.len(), 0)
        } else {
            (0, m.len() - done)
        };
        Ok(Counts {
            pending,
            running: 0,
            done,
            failed,
        })
    }

    fn recover(&mut self, _i: usize) -> regnet_loop::Result<usize> {
        Ok(0)
    }

    fn grow_to(&mut self, i: usize, total: usize) -> regnet_loop::Result<()> {
        let restrictions = self.steps[i].1.clone();
        while self.steps[i].2.len() < total {
            let config = self.draw(&restrictions);
            self.steps[i].2.push(Model {
                config,
                error: None,
            });
        }
        Ok(())
    }

    fn train(&mut self, i: usize) -> regnet_loop::Result<()> {
        if self.fail {
            return Ok(());
        }
        for k in 0..self.steps[i].2.len() {
            if self.steps[i].2[k].error.is_none() {
                let e = (self.truth)(&self.steps[i].2[k].config) + self.rng.normal();
                self.steps[i].2[k].error = Some(e);
                self.trained += 1;
            }
        }
        Ok(())
    }

    fn population(&mut self, i: usize, name: &str) -> regnet_loop::Result<Population> {
        let models = self
            .models(i)
            .iter()
            .enumerate()
            .filter_map(|(k, m)| {
                Some(ModelResult {
                    name: format!("m{k}"),
                    config: m.config.clone(),
                    error: m.error?,
                    curve: vec![m.error?],
                    seconds: Some(100.0),
                    metrics: design_metrics(&m.config, true),
                })
            })
            .collect();
        Ok(Population {
            name: name.into(),
            models,
            missing: Vec::new(),
        })
    }

    fn wait(&mut self) {
        panic!("a simulated loop never waits for other trainers");
    }
}

fn settings(budget: Budget) -> Settings {
    Settings {
        start: "anynetx-a".into(),
        restrictions: Vec::new(),
        flops: "10M:11M".into(),
        data: "sim".into(),
        recipe: String::new(),
        budget,
        margin: 3.0,
        round: 8,
        looks: 3,
        boundary: regnet_analysis::Boundary::Pocock,
        alpha: 0.05,
        screen: 16,
        order: Order::Shrink,
        seed: 0,
        store: None,
    }
}

/// Every space alike: 20% error for every model.
fn flat(_: &Value) -> f64 {
    20.0
}

#[test]
fn a_model_budget_is_never_exceeded_and_the_loop_says_it_was_spent() {
    let mut l = Loop::new(settings(Budget::Models(60)), Sim::new(flat)).unwrap();
    let status = l.drive(|_| Ok(())).unwrap();
    assert_eq!(status, "budget spent (60 models)");
    let sim = l.populations_mut();
    let sampled: usize = sim.steps.iter().map(|s| s.2.len()).sum();
    assert!(sampled <= 60, "sampled {sampled} of a 60-model budget");
    assert!(
        sampled > 60 - 8,
        "stopped {} models short of the budget",
        60 - sampled
    );
}

#[test]
fn neutral_restrictions_are_kept_as_not_worse_when_the_spread_is_small() {
    // SD 1 and a 3-point margin: 16 models per space show "not worse".
    let mut l = Loop::new(settings(Budget::Models(80)), Sim::new(flat)).unwrap();
    l.drive(|_| Ok(())).unwrap();
    let tested: Vec<_> = l.chain().steps.iter().skip(1).collect();
    assert!(!tested.is_empty());
    for s in &tested {
        if let Some(d) = s.decision {
            let (i, t) = (s.index, &s.tested);
            assert_eq!(
                d,
                StepDecision::KeptNotWorse,
                "step {i} ({t:?}) in a flat world"
            );
        }
    }
    assert!(tested.iter().any(|s| s.kept()));
}

#[test]
fn a_loop_driven_again_replays_its_decisions_and_trains_nothing() {
    let mut first = Loop::new(settings(Budget::Models(60)), Sim::new(flat)).unwrap();
    let status = first.drive(|_| Ok(())).unwrap();
    let decisions: Vec<_> = first
        .chain()
        .steps
        .iter()
        .map(|s| (s.tested.clone(), s.decision))
        .collect();
    let sim = std::mem::replace(first.populations_mut(), Sim::new(flat));
    let trained = sim.trained;
    let mut again = Loop::new(settings(Budget::Models(60)), sim).unwrap();
    assert_eq!(again.drive(|_| Ok(())).unwrap(), status);
    let replayed: Vec<_> = again
        .chain()
        .steps
        .iter()
        .map(|s| (s.tested.clone(), s.decision))
        .collect();
    assert_eq!(replayed, decisions);
    assert_eq!(again.populations_mut().trained, trained);
}

#[test]
fn a_population_whose_models_all_fail_stops_the_loop_with_one_line() {
    let mut sim = Sim::new(flat);
    sim.fail = true;
    let mut l = Loop::new(settings(Budget::Models(200)), sim).unwrap();
    let e: LoopError = l.drive(|_| Ok(())).unwrap_err();
    assert!(
        e.message.starts_with("step 0: ") && e.message.contains("of its models failed"),
        "{}",
        e.message
    );
    assert!(!e.message.contains('\n'));
}

#[test]
fn bad_settings_are_refused_before_anything_is_sampled() {
    let mut s = settings(Budget::Models(10));
    s.alpha = 1.5;
    let e = Loop::new(s, Sim::new(flat)).err().unwrap();
    assert!(
        e.message.starts_with("--round/--looks/--alpha"),
        "{}",
        e.message
    );
    let mut s = settings(Budget::Models(10));
    s.flops = "11M:10M".into();
    let e = Loop::new(s, Sim::new(flat)).err().unwrap();
    assert!(e.message.starts_with("--flops '11M:10M'"), "{}", e.message);
}

#[test]
fn the_method_tests_the_structural_simplifications_by_size_reduction_first() {
    // Flat world, SD 1, margin 3: each is kept after one look, and the next
    // is tested against it, though few or no screening models share g or b.
    let mut l = Loop::new(settings(Budget::Models(100)), Sim::new(flat)).unwrap();
    l.drive(|_| Ok(())).unwrap();
    let tested: Vec<_> = l
        .chain()
        .steps
        .iter()
        .skip(1)
        .take(4)
        .map(|s| s.tested.clone().unwrap())
        .collect();
    assert_eq!(
        tested,
        [
            "shared_g",
            "shared_b",
            "non_decreasing_w",
            "non_decreasing_d"
        ],
        "largest reduction (2.2, 1.3, 0.9, 0.7) first"
    );
    let screening = &l.chain().steps[0].screening;
    let g = screening
        .iter()
        .find(|r| r.constraint == "shared_g")
        .unwrap();
    assert!(
        g.kept < 3,
        "shared_g kept {} of 16 screening models",
        g.kept
    );
    let parents: Vec<_> = l
        .chain()
        .steps
        .iter()
        .skip(1)
        .take(4)
        .map(|s| s.parent)
        .collect();
    assert_eq!(
        parents,
        [Some(0), Some(1), Some(2), Some(3)],
        "each kept one is the next parent"
    );
}

#[test]
fn the_gain_order_replays_the_first_loops_policy() {
    let mut s = settings(Budget::Models(60));
    s.order = Order::Gain;
    let mut l = Loop::new(s, Sim::new(flat)).unwrap();
    l.drive(|_| Ok(())).unwrap();
    let first = &l.chain().steps[1];
    let screened = &l.chain().steps[0].screening;
    let want = regnet_analysis::next_candidate(screened, &[], 3.0).unwrap();
    assert_eq!(first.tested.as_deref(), Some(want.constraint.as_str()));
}

/// Worse by 4 points for widths that never decrease: D is shown worse.
fn d_hurts(cfg: &Value) -> f64 {
    let w: Vec<u64> = cfg["ANYNET"]["WIDTHS"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    if w.windows(2).all(|p| p[1] >= p[0]) {
        24.0
    } else {
        20.0
    }
}

/// Spread of 10 points around 20 for a third of the models, 1 otherwise:
/// with 3 looks of 8 and a 0.5-point margin no look can show "not worse".
fn noisy(cfg: &Value) -> f64 {
    let d = cfg["ANYNET"]["DEPTHS"][0].as_u64().unwrap();
    20.0 + if d % 3 == 0 { 10.0 } else { 0.0 }
}

#[test]
fn chain_json_tells_kept_better_not_worse_dropped_worse_and_undecided_apart() {
    let mut l = Loop::new(settings(Budget::Models(120)), Sim::new(d_hurts)).unwrap();
    l.drive(|_| Ok(())).unwrap();
    let nd_w = l
        .chain()
        .steps
        .iter()
        .find(|s| s.tested.as_deref() == Some("non_decreasing_w"))
        .unwrap();
    assert_eq!(
        nd_w.decision,
        Some(StepDecision::DroppedWorse),
        "{:?}",
        nd_w.comparison
    );
    assert!(!nd_w.kept());
    let kept: Vec<_> = l
        .chain()
        .steps
        .iter()
        .filter(|s| s.decision == Some(StepDecision::KeptNotWorse))
        .collect();
    assert!(!kept.is_empty());
    let json = serde_json::to_value(l.chain()).unwrap();
    let kinds: Vec<_> = json["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["decision"].clone())
        .collect();
    assert!(
        kinds.contains(&json!("dropped-worse")) && kinds.contains(&json!("kept-not-worse")),
        "{kinds:?}"
    );
    assert_eq!(kinds[0], Value::Null, "the start is not a decision");

    let mut s = settings(Budget::Models(60));
    s.margin = 0.5;
    let mut l = Loop::new(s, Sim::new(noisy)).unwrap();
    l.drive(|_| Ok(())).unwrap();
    let first = &l.chain().steps[1];
    assert_eq!(
        first.decision,
        Some(StepDecision::UndecidedLooksSpent),
        "{:?}",
        first.comparison
    );
    assert_eq!(first.comparison.as_ref().unwrap().looks.len(), 3);
    assert_eq!(
        StepDecision::UndecidedLooksSpent.label(0.5),
        "undecided (looks spent)"
    );
    assert_eq!(
        StepDecision::KeptNotWorse.label(3.0),
        "kept (not worse by more than 3 points)"
    );

    // A flat world with little spread keeps; a better one says so.
    let better = |cfg: &Value| {
        if cfg["ANYNET"]["GROUP_WS"]
            .as_array()
            .unwrap()
            .windows(2)
            .all(|p| p[0] == p[1])
        {
            15.0
        } else {
            20.0
        }
    };
    let mut l = Loop::new(settings(Budget::Models(40)), Sim::new(better)).unwrap();
    l.drive(|_| Ok(())).unwrap();
    assert_eq!(l.chain().steps[1].tested.as_deref(), Some("shared_g"));
    assert_eq!(l.chain().steps[1].decision, Some(StepDecision::KeptBetter));
}
