//! Step 4 of the solver, balancing: moving work from longer days to clearly shorter
//! ones, or exchanging segments with them, whatever the distance between the days.

use super::{
    BALANCE_GAP, BALANCE_SWEEPS, EPS, EXCHANGE_MAX, Exchange, Network, Relocation, SEGMENT_MAX,
    SHIFT_TARGETS, Shift, Solver, Table,
};

impl<N: Network> Solver<'_, '_, N> {
    /// Step 4, balancing: shifts work from longer days to shorter ones wherever that lowers
    /// `F`, whatever the distance between them; returns whether anything moved.
    pub(super) fn balance(&mut self) -> bool {
        let count = self.routes.len();
        let mut any = false;
        // Routes changed since the previous sweep: only donors next to one are examined.
        let mut dirty = vec![true; count];
        for _ in 0..BALANCE_SWEEPS {
            let mut donors: Vec<usize> = (0..count)
                .filter(|&r| !self.routes[r].stops.is_empty())
                .collect();
            donors.sort_by(|&a, &b| {
                let minutes = |r: usize| self.routes[r].minutes();
                minutes(b).total_cmp(&minutes(a)).then(a.cmp(&b))
            });
            let mut changed = vec![false; count];
            for r in donors {
                let targets = self.shift_targets(r);
                if !dirty[r] && !changed[r] && targets.iter().all(|&t| !dirty[t] && !changed[t]) {
                    continue;
                }
                if let Some(shift) = self.best_shift(r, &targets) {
                    let (a, b) = self.apply_shift(shift);
                    changed[a] = true;
                    changed[b] = true;
                }
            }
            if !changed.contains(&true) {
                break;
            }
            any = true;
            dirty = changed;
        }
        any
    }

    /// Routes clearly shorter than `r1` (by [`BALANCE_GAP`] of a day) that may take some
    /// of its stops: the [`SHIFT_TARGETS`] shortest (an empty day counted once per group),
    /// then up to as many more that hold neighbours of its stops.
    pub(super) fn shift_targets(&self, r1: usize) -> Vec<usize> {
        let ctx = self.ctx;
        let route = &self.routes[r1];
        let below = route.minutes() - BALANCE_GAP * ctx.day_minutes;
        let serves = |g: usize| route.stops.iter().any(|&s| ctx.allowed(s, g));
        let mut shorter: Vec<usize> = (0..self.routes.len())
            .filter(|&r| {
                let other = &self.routes[r];
                other.minutes() < below
                    && (!other.stops.is_empty() || self.first_empty[other.group] == Some(r))
            })
            .collect();
        shorter.sort_by(|&a, &b| {
            let minutes = |r: usize| self.routes[r].minutes();
            minutes(a).total_cmp(&minutes(b)).then(a.cmp(&b))
        });
        let mut groups_ok = vec![None; ctx.groups.len()];
        let mut targets: Vec<usize> = Vec::with_capacity(2 * SHIFT_TARGETS);
        for r in shorter {
            let g = self.routes[r].group;
            if *groups_ok[g].get_or_insert_with(|| serves(g)) {
                targets.push(r);
                if targets.len() == SHIFT_TARGETS {
                    break;
                }
            }
        }
        let cap = targets.len() + SHIFT_TARGETS;
        for &s in &route.stops {
            for (r, _) in self.nearby_routes(s, r1) {
                if targets.len() < cap && self.routes[r].minutes() < below && !targets.contains(&r)
                {
                    targets.push(r);
                }
            }
        }
        targets
    }

    /// The best improving move from route `r1` to one of its
    /// [shift targets](Self::shift_targets): a segment of up to [`SEGMENT_MAX`] stops to the
    /// target's cheapest gap, or an exchange of segments of up to [`EXCHANGE_MAX`] stops.
    pub(super) fn best_shift(&self, r1: usize, targets: &[usize]) -> Option<Shift> {
        let ctx = self.ctx;
        let route = &self.routes[r1];
        let mut best: Option<Shift> = None;
        for &to in targets {
            let table = Table::new(ctx, route, &self.routes[to]);
            for shift in [
                self.best_move_to(r1, to, &table),
                self.best_exchange(r1, to, &table),
            ]
            .into_iter()
            .flatten()
            {
                if best.is_none_or(|b| shift.delta() < b.delta()) {
                    best = Some(shift);
                }
            }
        }
        best
    }

    /// The best improving move of a segment of route `r1` to its cheapest gap in route `to`.
    pub(super) fn best_move_to(&self, r1: usize, to: usize, table: &Table) -> Option<Shift> {
        let ctx = self.ctx;
        let (route, other) = (&self.routes[r1], &self.routes[to]);
        let n1 = route.stops.len();
        let mut best: Option<Relocation> = None;
        for a in 0..n1 {
            for b in a..n1.min(a + SEGMENT_MAX) {
                let seg_service = route.svc[b + 1] - route.svc[a];
                // Only a move to a day that stays shorter can even out the two.
                if other.minutes() + seg_service >= route.minutes() {
                    break;
                }
                if !ctx.allows_all(&route.stops[a..=b], other.group) {
                    break;
                }
                // The target's cost grows with its travel: take the cheapest gap.
                let mut pick = (f64::INFINITY, 0, false);
                for j in 0..=other.stops.len() {
                    let cut = if other.stops.is_empty() {
                        0.0
                    } else {
                        other.gap[j]
                    };
                    let fwd = table.at(a + 1, j) + table.at(b + 1, j + 1) - cut;
                    let rev = table.at(b + 1, j) + table.at(a + 1, j + 1) - cut;
                    if fwd < pick.0 {
                        pick = (fwd, j, false);
                    }
                    if rev < pick.0 {
                        pick = (rev, j, true);
                    }
                }
                let (added, gap, reversed) = pick;
                let left = self.without_segment(r1, a, b);
                if let Some(m) = self.score_relocation(r1, [a, b], (to, gap, reversed), left, added)
                    && m.delta < best.map_or(-EPS, |m| m.delta)
                {
                    best = Some(m);
                }
            }
        }
        best.map(Shift::Move)
    }

    /// The best improving exchange of `routes[r1].stops[i..=k]` with `routes[r2].stops[x..=y]`,
    /// each taking the other's place.
    pub(super) fn best_exchange(&self, r1: usize, r2: usize, table: &Table) -> Option<Shift> {
        let ctx = self.ctx;
        let (ra, rb) = (&self.routes[r1], &self.routes[r2]);
        let (n1, n2) = (ra.stops.len(), rb.stops.len());
        let mut best: Option<Exchange> = None;
        for i in 0..n1 {
            for k in i..n1.min(i + EXCHANGE_MAX) {
                if !ctx.allows_all(&ra.stops[i..=k], rb.group) {
                    break;
                }
                let (inner_a, service_a) = (ra.arr[k] - ra.arr[i], ra.svc[k + 1] - ra.svc[i]);
                for x in 0..n2 {
                    for y in x..n2.min(x + EXCHANGE_MAX) {
                        if !ctx.allows_all(&rb.stops[x..=y], ra.group) {
                            break;
                        }
                        let (inner_b, service_b) =
                            (rb.arr[y] - rb.arr[x], rb.svc[y + 1] - rb.svc[x]);
                        let travel_a = ra.head(i)
                            + table.at(i, x + 1)
                            + inner_b
                            + table.at(k + 2, y + 1)
                            + ra.tail(k + 1);
                        let travel_b = rb.head(x)
                            + table.at(i + 1, x)
                            + inner_a
                            + table.at(k + 1, y + 2)
                            + rb.tail(y + 1);
                        let new = [
                            (travel_a, ra.service() - service_a + service_b),
                            (travel_b, rb.service() - service_b + service_a),
                        ];
                        if let Some(delta) = ctx.delta([ra, rb], new)
                            && delta < best.map_or(-EPS, |m| m.delta)
                        {
                            best = Some(Exchange {
                                delta,
                                r1,
                                i,
                                k,
                                r2,
                                x,
                                y,
                            });
                        }
                    }
                }
            }
        }
        best.map(Shift::Exchange)
    }

    /// Applies `shift`; returns the two routes it changed.
    pub(super) fn apply_shift(&mut self, shift: Shift) -> (usize, usize) {
        match shift {
            Shift::Move(m) => {
                self.apply_relocation(m);
                (m.from, m.to)
            }
            Shift::Exchange(e) => {
                let mut a = self.routes[e.r1].stops.clone();
                let mut b = self.routes[e.r2].stops.clone();
                let from_b: Vec<usize> = b[e.x..=e.y].to_vec();
                let from_a: Vec<usize> = a.splice(e.i..=e.k, from_b).collect();
                b.splice(e.x..=e.y, from_a);
                self.set_route(e.r1, a);
                self.set_route(e.r2, b);
                (e.r1, e.r2)
            }
        }
    }
}
