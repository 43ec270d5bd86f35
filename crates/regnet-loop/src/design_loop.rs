//! The loop itself: train the starting population, screen candidate
//! restrictions in it, test the next candidate on a fresh population of its
//! space in the same band, keep or drop it by the sequential comparison,
//! and go on until the budget is spent or no candidate is left.
//!
//! Every decision is recomputed from the populations' results, so a loop
//! that was killed and is driven again replays what it decided and goes on
//! where it was, training nothing twice.

use crate::policy::ordered;
use crate::populations::{Populations, StepId};
use crate::settings::{Budget, Settings};
use crate::{LoopError, Result};
use regnet_analysis::{
    analyze, refine, sequential, Analysis, Chain, Design, Options, Population, Refinement,
    SequentialOptions, Step, StepDecision,
};
use regnet_space::Restriction;
use regnet_stats::normalize::default_bins;

/// Why a loop could not go on: the budget ended.
struct Spent;

/// What the loop may still do, as the budget rules answer it.
type Go<T> = std::result::Result<T, Spent>;

/// A design loop over the populations `P` provides.
pub struct Loop<P> {
    s: Settings,
    design: Design,
    pops: P,
    /// Each step's restrictions, relative to the starting space.
    restrictions: Vec<Vec<Restriction>>,
    chain: Chain,
}

impl<P: Populations> Loop<P> {
    /// A loop with settings `s` (checked here, before anything is trained
    /// or written) over `pops`.
    pub fn new(s: Settings, pops: P) -> Result<Self> {
        let design = Design::new(s.alpha, s.looks, s.round, s.boundary)
            .map_err(|e| LoopError::new(format!("--round/--looks/--alpha: {e}")))?;
        regnet_space::Band::parse(&s.flops)
            .map_err(|e| LoopError::new(format!("--flops '{}': {e}", s.flops)))?;
        let start = parse(&s.restrictions)?;
        let chain = Chain {
            name: format!("{} in {} flops", s.start, s.flops),
            setting: format!(
                "{} in a {} flops band on {}; rounds of {} models, at most {} looks ({} boundary, alpha {}); candidates screened on {} models of each parent",
                space_name(&s, &start),
                s.flops,
                s.data,
                s.round,
                s.looks,
                s.boundary,
                s.alpha,
                s.screen
            ),
            margin: s.margin,
            steps: Vec::new(),
            status: "started".into(),
            models: 0,
            train_hours: 0.0,
        };
        Ok(Loop {
            s,
            design,
            pops,
            restrictions: Vec::new(),
            chain,
        })
    }

    /// The chain so far.
    pub fn chain(&self) -> &Chain {
        &self.chain
    }

    /// The populations the loop drives.
    pub fn populations_mut(&mut self) -> &mut P {
        &mut self.pops
    }

    /// Runs the loop from its start (replaying what its populations already
    /// hold) until the budget ends or no candidate is left; says which.
    /// `decided` sees the chain after every decision (to write it out).
    pub fn drive(&mut self, mut decided: impl FnMut(&mut Self) -> Result<()>) -> Result<String> {
        let start = parse(&self.s.restrictions)?;
        if self.add_step(start, None, None, self.s.screen)?.is_err() {
            return Ok(self.spent());
        }
        let (mut parent, mut tried) = (0, Vec::new());
        loop {
            if self.ensure(parent, self.s.screen)?.is_err() {
                return Ok(self.spent());
            }
            let screening = self.screen(parent)?;
            let Some(c) = self.next_candidate(parent, &screening, &tried)? else {
                return Ok(format!(
                    "no candidate left: every restriction screened in step {parent} keeps all of it, looks worse than the margin there, or was tried"
                ));
            };
            let mut rs = self.restrictions[parent].clone();
            rs.extend(c.restrictions.iter().cloned());
            let child = self.restrictions.len();
            if self
                .add_step(rs, Some(&c.constraint), Some(parent), self.s.round)?
                .is_err()
            {
                return Ok(self.spent());
            }
            let Ok(kept) = self.compare(parent, child)? else {
                return Ok(self.spent());
            };
            self.chain.status = format!("running: step {child} decided");
            decided(self)?;
            if kept {
                (parent, tried) = (child, Vec::new());
            } else {
                tried.push(c.restrictions);
            }
        }
    }

    /// Opens (or samples, budget permitting) the next step's population.
    fn add_step(
        &mut self,
        restrictions: Vec<Restriction>,
        tested: Option<&str>,
        parent: Option<usize>,
        n: usize,
    ) -> Result<Go<()>> {
        let id = StepId {
            index: self.restrictions.len(),
            tested: tested.map(str::to_string),
        };
        if !self.pops.exists(&id)? && !self.affords(n)? {
            return Ok(Err(Spent));
        }
        let opened = self.pops.open(&id, &restrictions, n)?;
        self.chain.steps.push(Step {
            index: id.index,
            space: space_name(&self.s, &restrictions),
            parent,
            tested: id.tested.clone(),
            restrictions: restrictions.iter().map(ToString::to_string).collect(),
            size_log10: opened.size_log10,
            size: opened.size,
            population: population_name(id.index, tested),
            sweep: opened.location,
            models: 0,
            train_seconds: 0.0,
            comparison: None,
            decision: None,
            screening: Vec::new(),
        });
        self.restrictions.push(restrictions);
        Ok(Ok(()))
    }

    /// The candidate to test against step `parent` next, in the settings'
    /// order, leaving out those `tried` against it.
    fn next_candidate(
        &mut self,
        parent: usize,
        screening: &[Refinement],
        tried: &[Vec<Restriction>],
    ) -> Result<Option<Refinement>> {
        let parent_size = self.chain.steps[parent].size_log10;
        let parent_rs = self.restrictions[parent].clone();
        let mut failure = None;
        let pops = &mut self.pops;
        let ranked = ordered(self.s.order, screening, tried, self.s.margin, |rs| {
            if rs.iter().all(|r| parent_rs.contains(r)) {
                return Some(0.0);
            }
            let all: Vec<Restriction> = parent_rs.iter().chain(rs).cloned().collect();
            match pops.size_log10(&all) {
                Ok(size) => Some(parent_size - size),
                Err(e) => {
                    failure.get_or_insert(e);
                    None
                }
            }
        });
        match failure {
            Some(e) => Err(e),
            None => Ok(ranked.into_iter().next().map(|r| r.refinement)),
        }
    }

    /// Trains step `i` until it has `n` finished models, adding models
    /// (and replacing failed ones) while the budget allows. Models that
    /// other loops sharing the store train are waited for.
    fn ensure(&mut self, i: usize, n: usize) -> Result<Go<()>> {
        let mut waited = false;
        loop {
            let c = self.pops.counts(i)?;
            if c.done >= n {
                return Ok(Ok(()));
            }
            let short = n.saturating_sub(c.done + c.pending + c.running);
            if short == 0 && c.pending == 0 {
                // Models of a loop that died are queued again, and trained here.
                if self.pops.recover(i)? > 0 {
                    continue;
                }
                if !waited {
                    let line = format!(
                        "refine: step {i}: waiting for {} models trained elsewhere",
                        c.running
                    );
                    self.pops.say(&line);
                    waited = true;
                }
                self.pops.wait();
                continue;
            }
            if short > 0 {
                if c.failed > n {
                    return Err(LoopError::new(format!(
                        "step {i}: {} of its models failed (`regnet sweep status {}`)",
                        c.failed, self.chain.steps[i].sweep
                    )));
                }
                if !self.affords(short)? {
                    return Ok(Err(Spent));
                }
                self.pops.grow_to(i, c.total() + short)?;
            }
            self.pops.train(i)?;
        }
    }

    /// Whether the budget allows `more` models beyond those sampled.
    fn affords(&mut self, more: usize) -> Result<bool> {
        Ok(match self.s.budget {
            Budget::Models(b) => self.sampled()? + more <= b,
            Budget::Time(d) => self.train_seconds()? < d.as_secs_f64(),
        })
    }

    fn sampled(&mut self) -> Result<usize> {
        (0..self.restrictions.len())
            .map(|i| self.pops.counts(i).map(|c| c.total()))
            .sum()
    }

    fn train_seconds(&mut self) -> Result<f64> {
        Ok(self.populations()?.iter().map(seconds).sum::<f64>())
    }

    /// Every step's finished models, named as in the analysis.
    pub fn populations(&mut self) -> Result<Vec<Population>> {
        (0..self.chain.steps.len())
            .map(|i| self.population(i))
            .collect()
    }

    fn population(&mut self, i: usize) -> Result<Population> {
        let name = self.chain.steps[i].population.clone();
        self.pops.population(i, &name)
    }

    /// The candidates, screened on the first `screen` models of step `i`.
    fn screen(&mut self, i: usize) -> Result<Vec<Refinement>> {
        let mut p = self.population(i)?;
        p.models.truncate(self.s.screen);
        let o = Options::default();
        let bins = default_bins(&[p.models.len()]);
        let screening = refine(&p, &[], o.ranges(), o.normalize_by, bins);
        self.chain.steps[i].screening = screening.clone();
        Ok(screening)
    }

    /// The sequential comparison of step `child` against `parent`, a round
    /// of each at a time: Ok(kept), or Err when the budget ends first.
    fn compare(&mut self, parent: usize, child: usize) -> Result<Go<bool>> {
        let o = SequentialOptions {
            design: self.design.clone(),
            margin: Some(self.s.margin),
        };
        for look in 1..=self.design.looks {
            let n = look * self.design.round;
            for i in [parent, child] {
                if self.ensure(i, n)?.is_err() {
                    return Ok(Err(Spent));
                }
            }
            let (p, c) = (self.population(parent)?, self.population(child)?);
            let seq = sequential(&p, &c, &o);
            let decision = StepDecision::of(&seq.outcome);
            let line = format!("refine: step {child} look {look}: {}", seq.verdict());
            self.pops.say(&line);
            self.chain.steps[child].comparison = Some(seq);
            if let Some(d) = decision {
                self.chain.steps[child].decision = Some(d);
                return Ok(Ok(d.kept()));
            }
        }
        // The plan's last look decides (at worst "undecided, looks spent").
        self.chain.steps[child].decision = Some(StepDecision::UndecidedLooksSpent);
        Ok(Ok(false))
    }

    fn spent(&self) -> String {
        let budget = match self.s.budget {
            Budget::Models(b) => format!("{b} models"),
            Budget::Time(d) => format!("{:.2} worker-hours", d.as_secs_f64() / 3600.0),
        };
        format!("budget spent ({budget})")
    }

    /// The chain brought up to date with every population's models and
    /// time, and `status`; with the analysis of all trained populations.
    pub fn record(&mut self, status: &str) -> Result<Analysis> {
        let pops = self.populations()?;
        for (step, p) in self.chain.steps.iter_mut().zip(&pops) {
            step.models = p.models.len();
            step.train_seconds = seconds(p);
        }
        self.chain.status = status.to_string();
        self.chain.models = pops.iter().map(|p| p.models.len()).sum();
        self.chain.train_hours = pops.iter().map(seconds).sum::<f64>() / 3600.0;
        let trained: Vec<Population> = pops.into_iter().filter(|p| !p.models.is_empty()).collect();
        Ok(analyze(&trained, &Options::default()))
    }
}

/// A step's name in the analysis: its index and what it added.
fn population_name(index: usize, tested: Option<&str>) -> String {
    match tested {
        None => format!("{index}: start"),
        Some(c) => format!("{index}: +{c}"),
    }
}

/// Training seconds summed over a population's models.
fn seconds(p: &Population) -> f64 {
    p.models.iter().filter_map(|m| m.seconds).sum()
}

/// The starting space's name with the restrictions appended.
pub fn space_name(s: &Settings, restrictions: &[Restriction]) -> String {
    restrictions
        .iter()
        .fold(s.start.clone(), |n, r| format!("{n}+{r}"))
}

/// The starting space's restrictions, stored as text.
fn parse(list: &[String]) -> Result<Vec<Restriction>> {
    list.iter()
        .map(|r| {
            r.parse()
                .map_err(|e| LoopError::new(format!("{}: restrictions: {e}", crate::SETTINGS_FILE)))
        })
        .collect()
}
