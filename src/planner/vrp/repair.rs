//! Step 6 of the solver, filling and priority repair: waiting stops go into time freed,
//! or replace planned stops of lower rank.

use super::{Network, Replacement, Room, Solver};

impl<N: Network> Solver<'_, '_, N> {
    /// Step 6: inserts waiting stops and lets them replace lower-ranked planned ones until
    /// neither changes anything; returns whether anything changed.
    pub(super) fn fill(&mut self) -> bool {
        let ctx = self.ctx;
        let mut any = false;
        loop {
            let mut changed = false;
            let mut waiting = std::mem::take(&mut self.waiting);
            waiting.sort_by(|&a, &b| ctx.precedence(a, b));
            for s in waiting {
                match self.best_insertion(s) {
                    Some(ins) => {
                        self.place(s, ins);
                        changed = true;
                    }
                    None => self.waiting.push(s),
                }
            }
            for k in 0..self.waiting.len() {
                let d = self.waiting[k];
                if let Some(rep) = self.best_replacement(d) {
                    let mut stops = self.routes[rep.route].stops.clone();
                    let victim = stops.remove(rep.at);
                    stops.insert(rep.gap, d);
                    self.at[victim] = None;
                    self.set_route(rep.route, stops);
                    self.waiting[k] = victim;
                    changed = true;
                }
            }
            // Most important first, so that a stop made room for is not displaced again
            // by one that ranks lower.
            let mut waiting = self.waiting.clone();
            waiting.sort_by(|&a, &b| ctx.precedence(a, b));
            for d in waiting {
                if let Some(room) = self.make_room(d) {
                    for &v in &room.victims {
                        self.at[v] = None;
                    }
                    self.set_route(room.route, room.stops);
                    self.waiting.retain(|&w| w != d);
                    self.waiting.extend(room.victims);
                    changed = true;
                }
            }
            if !changed {
                return any;
            }
            any = true;
        }
    }

    /// Room for waiting stop `d` in a day of a group that may visit it, made by removing
    /// that day's stops that rank below it (never a must-visit one), lowest rank first,
    /// until `d` fits at its cheapest place: the day needing the fewest removals, then the
    /// least `F`. `None` if `d` fits in no day even with all of them gone. Each use plans
    /// a stop in place of lower-ranked ones, so the planned ranks, sorted, grow
    /// lexicographically and `fill` ends.
    pub(super) fn make_room(&self, d: usize) -> Option<Room> {
        let ctx = self.ctx;
        let (node, service) = (ctx.node(d), ctx.service(d));
        let mut best: Option<Room> = None;
        let rank = ctx.rank(d);
        let removable = |s: usize| !ctx.stops[s].must_visit && ctx.rank(s) < rank;
        for (r, route) in self.routes.iter().enumerate() {
            let kept_service: f64 = route
                .stops
                .iter()
                .filter(|&&s| !removable(s))
                .map(|&s| ctx.service(s))
                .sum();
            if !ctx.allowed(d, route.group) || kept_service + service > ctx.limit {
                continue;
            }
            let mut victims: Vec<usize> = route
                .stops
                .iter()
                .copied()
                .filter(|&s| removable(s))
                .collect();
            if victims.is_empty() {
                continue;
            }
            victims.sort_by(|&a, &b| ctx.precedence(b, a));
            for k in 1..=victims.len() {
                if best.as_ref().is_some_and(|b| b.victims.len() < k) {
                    break;
                }
                let kept: Vec<usize> = route
                    .stops
                    .iter()
                    .copied()
                    .filter(|s| !victims[..k].contains(s))
                    .collect();
                let day = ctx.build(route.group, kept);
                let (added, gap) = ctx.cheapest_gap(&day, node);
                let (travel, service) = (day.travel + added, day.service() + service);
                if travel + service <= ctx.limit {
                    let cost = ctx.cost(travel, service) - ctx.cost(route.travel, route.service());
                    let better = best.as_ref().is_none_or(|b| {
                        k < b.victims.len() || (k == b.victims.len() && cost < b.cost)
                    });
                    if better {
                        let mut stops = day.stops;
                        stops.insert(gap, d);
                        best = Some(Room {
                            cost,
                            route: r,
                            stops,
                            victims: victims[..k].to_vec(),
                        });
                    }
                    break;
                }
            }
        }
        best
    }

    /// The best way for waiting stop `d` to take the place of a lower-ranked planned stop:
    /// the lowest-ranked victim, then the least added `F`.
    pub(super) fn best_replacement(&self, d: usize) -> Option<Replacement> {
        let ctx = self.ctx;
        let rank = ctx.rank(d);
        let mut best: Option<Replacement> = None;
        for (r, route) in self.routes.iter().enumerate() {
            if !ctx.allowed(d, route.group) || route.stops.iter().all(|&p| ctx.rank(p) >= rank) {
                continue;
            }
            for rep in self.replacements(d, r) {
                let better = best.is_none_or(|b| {
                    rep.rank
                        .cmp(&b.rank)
                        .then(rep.cost.total_cmp(&b.cost))
                        .is_lt()
                });
                if better {
                    best = Some(rep);
                }
            }
        }
        best
    }

    /// Every feasible replacement of a lower-ranked stop of route `r` by waiting stop `d`,
    /// each at `d`'s cheapest gap in the route without the victim.
    pub(super) fn replacements(&self, d: usize, r: usize) -> Vec<Replacement> {
        let ctx = self.ctx;
        let route = &self.routes[r];
        let n = route.stops.len();
        let node = ctx.node(d);
        // into[j], out[j]: minutes from the node before gap j to d, and from d to the node after.
        let into: Vec<f64> = (0..=n)
            .map(|j| ctx.minutes(ctx.before(route, j), node))
            .collect();
        let out: Vec<f64> = (0..=n)
            .map(|j| ctx.minutes(node, ctx.after(route, j)))
            .collect();
        let added: Vec<f64> = (0..=n).map(|j| into[j] + out[j] - route.gap[j]).collect();
        // prefix[j]: cheapest of gaps 0..j; suffix[j]: cheapest of gaps j..=n.
        let mut prefix = vec![(f64::INFINITY, 0); n + 2];
        for j in 0..=n {
            prefix[j + 1] = if added[j] < prefix[j].0 {
                (added[j], j)
            } else {
                prefix[j]
            };
        }
        let mut suffix = vec![(f64::INFINITY, 0); n + 2];
        for j in (0..=n).rev() {
            suffix[j] = if added[j] <= suffix[j + 1].0 {
                (added[j], j)
            } else {
                suffix[j + 1]
            };
        }
        let rank = ctx.rank(d);
        let base = ctx.cost(route.travel, route.service());
        let mut found = Vec::new();
        for (i, &p) in route.stops.iter().enumerate() {
            if ctx.rank(p) >= rank {
                continue;
            }
            let service = route.service() - ctx.service(p) + ctx.service(d);
            let (travel, gap) = if n == 1 {
                (into[0] + out[1], 0)
            } else {
                // Gaps of the route without p: 0..i as before, i bridging p's neighbours,
                // and i + 2..=n shifted down by one.
                let bridge = ctx.minutes(ctx.before(route, i), ctx.after(route, i + 1));
                let without = route.travel - route.gap[i] - route.gap[i + 1] + bridge;
                let mut pick = (into[i] + out[i + 1] - bridge, i);
                if prefix[i].0 < pick.0 {
                    pick = prefix[i];
                }
                if suffix[i + 2].0 < pick.0 {
                    pick = (suffix[i + 2].0, suffix[i + 2].1 - 1);
                }
                (without + pick.0, pick.1)
            };
            if travel + service <= ctx.limit {
                found.push(Replacement {
                    rank: ctx.rank(p),
                    cost: ctx.cost(travel, service) - base,
                    route: r,
                    at: i,
                    gap,
                });
            }
        }
        found
    }
}
