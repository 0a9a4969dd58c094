//! Step 5 of the solver, ruin and recreate: a large-neighbourhood search that empties
//! a few days and reinserts their stops, accepted by a shrinking random threshold.

use super::{
    ANNEAL_START, ChaCha8Rng, EPS, Network, RUIN_MAX, RUIN_MIN, RUIN_PER_STOP, RUIN_ROUTES, Rng,
    SeedableRng, SliceRandom, Solver, mix,
};

impl<N: Network> Solver<'_, '_, N> {
    /// Step 5: ruin and recreate, a large-neighbourhood search (see [`Self::ruin_once`]).
    /// A step is kept if `F` rose by less than a random threshold that shrinks linearly to
    /// zero (simulated annealing without transcendental functions, so that every platform
    /// takes the same decisions); the best plan met is kept in the end. This escapes local
    /// optima that moving one segment at a time cannot, such as villages split between two
    /// long days. Returns whether the plan changed.
    pub(super) fn ruin_and_recreate(&mut self) -> bool {
        let ctx = self.ctx;
        let planned: Vec<usize> = (0..ctx.stops.len())
            .filter(|&s| self.at[s].is_some())
            .collect();
        let working = self.routes.iter().filter(|r| !r.stops.is_empty()).count();
        if planned.is_empty() {
            return false;
        }
        let iterations = (RUIN_PER_STOP * planned.len()).clamp(RUIN_MIN, RUIN_MAX);
        let mut rng = ChaCha8Rng::seed_from_u64(mix(ctx.seed ^ 0x5275_696e));
        let total = |plan: &Self| -> f64 {
            plan.routes
                .iter()
                .map(|r| ctx.cost(r.travel, r.service()))
                .sum()
        };
        let mut current = total(self);
        let mut best = current;
        let start: Vec<Vec<usize>> = self.routes.iter().map(|r| r.stops.clone()).collect();
        let mut kept: Option<Vec<Vec<usize>>> = None;
        let hottest = ANNEAL_START * current / working as f64;
        for step in 0..iterations {
            if ctx.cancelled() {
                break;
            }
            let cooling = 1.0 - step as f64 / iterations as f64;
            let threshold = hottest * cooling * rng.random::<f64>();
            let s = planned[rng.random_range(0..planned.len())];
            if let Some(delta) = self.ruin_once(s, threshold, &mut rng) {
                current += delta;
                if current < best - EPS {
                    best = current;
                    kept = Some(self.routes.iter().map(|r| r.stops.clone()).collect());
                }
            }
        }
        let target = kept.as_ref().unwrap_or(&start);
        for (r, stops) in target.iter().enumerate() {
            if self.routes[r].stops != *stops {
                for &x in &self.routes[r].stops {
                    self.at[x] = None;
                }
            }
        }
        for (r, stops) in target.iter().enumerate() {
            if self.routes[r].stops != *stops {
                self.set_route(r, stops.clone());
            }
        }
        kept.is_some()
    }

    /// One ruin-and-recreate step around stop `s`: empties its day and [`RUIN_ROUTES`]` - 1`
    /// others (the shortest that may take `s`, or those holding its nearest neighbours),
    /// reinserts their stops in random, farthest-first or nearest-first order at their
    /// cheapest places among the days near them, and untangles the changed days. Keeps
    /// the result and returns the change of `F` if that is below `threshold`, else
    /// restores the days and returns `None`.
    pub(super) fn ruin_once(
        &mut self,
        s: usize,
        threshold: f64,
        rng: &mut ChaCha8Rng,
    ) -> Option<f64> {
        let ctx = self.ctx;
        let (r0, _) = self.at[s]?;
        let mut ruined = vec![r0];
        if rng.random_bool(0.5) {
            // Balance-minded: the shortest days that may take s.
            let mut shortest: Vec<usize> = (0..self.routes.len())
                .filter(|&r| r != r0 && ctx.allowed(s, self.routes[r].group))
                .collect();
            shortest.sort_by(|&a, &b| {
                let minutes = |r: usize| self.routes[r].minutes();
                minutes(a).total_cmp(&minutes(b)).then(a.cmp(&b))
            });
            ruined.extend(shortest.into_iter().take(RUIN_ROUTES - 1));
        } else {
            // Distance-minded: the days holding s's neighbours.
            for (r, _) in self.nearby_routes(s, r0) {
                if ruined.len() == RUIN_ROUTES {
                    break;
                }
                ruined.push(r);
            }
        }
        let mut removed: Vec<usize> = ruined
            .iter()
            .flat_map(|&r| self.routes[r].stops.iter().copied())
            .collect();
        let mut candidates = ruined.clone();
        for &x in &removed {
            for (r, _) in self.nearby_routes(x, usize::MAX) {
                if !candidates.contains(&r) {
                    candidates.push(r);
                }
            }
        }
        candidates.extend(self.first_empty.iter().flatten().copied());
        candidates.sort_unstable();
        candidates.dedup();
        let saved: Vec<Vec<usize>> = candidates
            .iter()
            .map(|&r| self.routes[r].stops.clone())
            .collect();
        let cost = |plan: &Self| -> f64 {
            candidates
                .iter()
                .map(|&r| ctx.cost(plan.routes[r].travel, plan.routes[r].service()))
                .sum()
        };
        let before = cost(self);
        for &r in &ruined {
            self.set_route(r, Vec::new());
        }
        for &x in &removed {
            self.at[x] = None;
        }
        removed.shuffle(rng);
        match rng.random_range(0..3) {
            // Farthest first: the days are laid out around the stops hardest to fit.
            0 => removed.sort_by(|&a, &b| ctx.solo[b].total_cmp(&ctx.solo[a]).then(a.cmp(&b))),
            // Nearest first.
            1 => removed.sort_by(|&a, &b| ctx.solo[a].total_cmp(&ctx.solo[b]).then(a.cmp(&b))),
            _ => {}
        }
        let complete = removed
            .iter()
            .all(|&x| match self.insertion_among(x, &candidates) {
                Some(ins) => {
                    self.place(x, ins);
                    true
                }
                None => false,
            });
        if complete {
            for (&r, old) in candidates.iter().zip(&saved) {
                if self.routes[r].stops != *old {
                    self.untangle(r);
                }
            }
            let delta = cost(self) - before;
            if delta < threshold - EPS {
                return Some(delta);
            }
        }
        for &x in &removed {
            self.at[x] = None;
        }
        for (&r, stops) in candidates.iter().zip(saved) {
            self.set_route(r, stops);
        }
        None
    }
}
