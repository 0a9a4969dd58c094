//! Step 4 of the solver, local search: relocating segments, swapping stops and
//! exchanging tails between days, reordering changed days with the travelling-salesman
//! solver, and untangling a day with 2-opt and single-stop moves.

use super::{
    Costs, EPS, GroupSpec, MAX_PASSES, MAX_REORDERS, Matrix, Network, Options, Relocation, Route,
    SEGMENT_MAX, Solver, TSP_SAFETY_CAP, mix, tsp,
};

impl<N: Network> Solver<'_, '_, N> {
    /// Step 4, local search: first improvement between routes until a pass finds nothing.
    pub(super) fn local_search(&mut self) {
        let count = self.routes.len();
        let mut look = vec![true; count];
        for _ in 0..MAX_PASSES {
            if self.ctx.cancelled() {
                break;
            }
            self.touched.fill(false);
            let everything = std::mem::take(&mut self.reshaped);
            let mut improved = false;
            for s in 0..self.ctx.stops.len() {
                let Some((r, _)) = self.at[s] else { continue };
                let fresh = |r: usize| look[r] || self.touched[r];
                let worth = everything
                    || fresh(r)
                    || self.near[s]
                        .iter()
                        .any(|&u| self.at[u].is_some_and(|(ru, _)| fresh(ru)));
                if worth && (self.try_relocate(s) || self.try_swap(s) || self.try_tails(s)) {
                    improved = true;
                }
            }
            if !improved {
                break;
            }
            look.clone_from(&self.touched);
        }
    }

    /// Step 4: local search, balancing and reordering, until reordering finds nothing (at
    /// most [`MAX_REORDERS`] times).
    pub(super) fn improve(&mut self) {
        for _ in 0..MAX_REORDERS {
            self.local_search();
            if self.balance() {
                self.local_search();
            }
            self.reorders += 1;
            if !self.reorder_stale(self.reorders) {
                break;
            }
        }
    }

    /// Improves the order of route `r` with 2-opt and single-stop moves until neither
    /// helps: `O(n²)` per pass over a local distance table, cheap enough to run after
    /// every recreate.
    pub(super) fn untangle(&mut self, day: usize) {
        let ctx = self.ctx;
        let route = &self.routes[day];
        let count = route.stops.len();
        if count < 3 {
            return;
        }
        let GroupSpec { start, end } = ctx.groups[route.group];
        // Local node k: 0 the start, 1..=count the stops as they are now, count + 1 the end.
        let nodes: Vec<usize> = std::iter::once(start)
            .chain(route.stops.iter().map(|&s| ctx.node(s)))
            .chain(std::iter::once(end))
            .collect();
        let table = Matrix::from_fn(count + 2, |a, b| ctx.minutes(nodes[a], nodes[b]));
        let mut path: Vec<usize> = (0..count + 2).collect();
        let mut changed = false;
        let mut improved = true;
        while improved {
            improved = false;
            // Reverse path[i + 1..=j + 1], i.e. stops i..=j.
            for i in 0..count {
                for j in i + 1..count {
                    let (before, first, last, after) =
                        (path[i], path[i + 1], path[j + 1], path[j + 2]);
                    if table.cost(before, last) + table.cost(first, after)
                        < table.cost(before, first) + table.cost(last, after) - EPS
                    {
                        path[i + 1..=j + 1].reverse();
                        improved = true;
                    }
                }
            }
            // Move the stop at path[i + 1] to another gap.
            for i in 0..count {
                let (prev, moved, next) = (path[i], path[i + 1], path[i + 2]);
                let saved =
                    table.cost(prev, moved) + table.cost(moved, next) - table.cost(prev, next);
                let mut pick = (saved - EPS, usize::MAX);
                for gap in (0..=count).filter(|&gap| gap != i && gap != i + 1) {
                    let (left, right) = (path[gap], path[gap + 1]);
                    let added = table.cost(left, moved) + table.cost(moved, right)
                        - table.cost(left, right);
                    if added < pick.0 {
                        pick = (added, gap);
                    }
                }
                if pick.1 != usize::MAX {
                    let node = path.remove(i + 1);
                    let gap = if pick.1 > i { pick.1 - 1 } else { pick.1 };
                    path.insert(gap + 1, node);
                    improved = true;
                }
            }
            changed |= improved;
        }
        if changed {
            let order = path[1..=count]
                .iter()
                .map(|&k| route.stops[k - 1])
                .collect();
            self.set_route(day, order);
        }
    }

    /// Relocates a segment that has `s` at one end, if that lowers `F`.
    pub(super) fn try_relocate(&mut self, s: usize) -> bool {
        let Some((r1, p)) = self.at[s] else {
            return false;
        };
        let n1 = self.routes[r1].stops.len();
        let targets = self.nearby_routes(s, r1);
        for len in 1..=SEGMENT_MAX.min(n1) {
            for s_first in [true, false] {
                let (a, b) = if s_first {
                    if p + len > n1 {
                        continue;
                    }
                    (p, p + len - 1)
                } else {
                    if len == 1 || len > p + 1 {
                        continue;
                    }
                    (p + 1 - len, p)
                };
                if let Some(m) = self.best_relocation(r1, a, b, s_first, &targets) {
                    self.apply_relocation(m);
                    return true;
                }
            }
        }
        false
    }

    /// The best improving relocation of `routes[r1].stops[a..=b]` next to the stops in
    /// `targets` (at the segment's end `s_first` names) or into an empty day.
    pub(super) fn best_relocation(
        &self,
        r1: usize,
        a: usize,
        b: usize,
        s_first: bool,
        targets: &[(usize, usize)],
    ) -> Option<Relocation> {
        let ctx = self.ctx;
        let route = &self.routes[r1];
        let segment = &route.stops[a..=b];
        let left = self.without_segment(r1, a, b);
        let (first, last) = (ctx.node(segment[0]), ctx.node(segment[segment.len() - 1]));
        let mut best: Option<Relocation> = None;
        let mut consider = |to: usize, gap: usize, reversed: bool| {
            let other = &self.routes[to];
            let (f, l) = if reversed {
                (last, first)
            } else {
                (first, last)
            };
            let cut = if other.stops.is_empty() {
                0.0
            } else {
                other.gap[gap]
            };
            let linking = ctx.minutes(ctx.before(other, gap), f)
                + ctx.minutes(l, ctx.after(other, gap))
                - cut;
            let scored = self.score_relocation(r1, [a, b], (to, gap, reversed), left, linking);
            if let Some(m) = scored
                && m.delta < best.map_or(-EPS, |m| m.delta)
            {
                best = Some(m);
            }
        };
        let single = a == b;
        for &(to, q) in targets {
            if !ctx.allows_all(segment, self.routes[to].group) {
                continue;
            }
            // Put the segment's named end next to the neighbour at position q: after it
            // (gap q + 1) or before it (gap q), the segment turned as needed.
            consider(to, q + 1, !s_first && !single);
            consider(to, q, s_first && !single);
        }
        for g in 0..ctx.groups.len() {
            if let Some(to) = self.first_empty[g]
                && ctx.allows_all(segment, g)
            {
                consider(to, 0, false);
                if !single && ctx.groups[g].start != ctx.groups[g].end {
                    consider(to, 0, true);
                }
            }
        }
        best
    }

    pub(super) fn apply_relocation(&mut self, m: Relocation) {
        let mut from = self.routes[m.from].stops.clone();
        let mut segment: Vec<usize> = from.drain(m.a..=m.b).collect();
        if m.reversed {
            segment.reverse();
        }
        let mut to = self.routes[m.to].stops.clone();
        to.splice(m.gap..m.gap, segment);
        self.set_route(m.from, from);
        self.set_route(m.to, to);
    }

    /// Travel and service of route `r` without `stops[a..=b]`.
    /// Scores moving `routes[from].stops[a..=b]` into gap `gap` of route `to`, turned
    /// round when `reversed`: `left` is the source day without the segment (see
    /// [`Self::without_segment`]), `linking` the travel minutes that joining the segment
    /// in adds (into and out of it, less the gap it splits). The move with its change of
    /// `F`, or `None` if a day would no longer fit. Every relocation is scored here.
    pub(super) fn score_relocation(
        &self,
        from: usize,
        [a, b]: [usize; 2],
        (to, gap, reversed): (usize, usize, bool),
        left: (f64, f64),
        linking: f64,
    ) -> Option<Relocation> {
        let (route, other) = (&self.routes[from], &self.routes[to]);
        let seg_travel = route.arr[b] - route.arr[a];
        let seg_service = route.svc[b + 1] - route.svc[a];
        let new = [
            left,
            (
                other.travel + linking + seg_travel,
                other.service() + seg_service,
            ),
        ];
        self.ctx.delta([route, other], new).map(|delta| Relocation {
            delta,
            from,
            a,
            b,
            to,
            gap,
            reversed,
        })
    }

    pub(super) fn without_segment(&self, r: usize, a: usize, b: usize) -> (f64, f64) {
        let ctx = self.ctx;
        let route = &self.routes[r];
        let travel = if a == 0 && b + 1 == route.stops.len() {
            0.0
        } else {
            route.head(a)
                + ctx.minutes(ctx.before(route, a), ctx.after(route, b + 1))
                + route.tail(b + 1)
        };
        (travel, route.service() - (route.svc[b + 1] - route.svc[a]))
    }

    /// Swaps `s` with a stop next to (or equal to) one of its neighbours in another route,
    /// if that lowers `F`.
    pub(super) fn try_swap(&mut self, s: usize) -> bool {
        let ctx = self.ctx;
        let Some((r1, pos)) = self.at[s] else {
            return false;
        };
        let ra = &self.routes[r1];
        let replaced = |route: &Route, i: usize, by: usize| {
            let travel = route.travel - route.gap[i] - route.gap[i + 1]
                + ctx.minutes(ctx.before(route, i), ctx.node(by))
                + ctx.minutes(ctx.node(by), ctx.after(route, i + 1));
            let service = route.service() - ctx.service(route.stops[i]) + ctx.service(by);
            (travel, service)
        };
        for (r2, q) in self.nearby_routes(s, r1) {
            let rb = &self.routes[r2];
            if !ctx.allowed(s, rb.group) {
                continue;
            }
            for j in [q.wrapping_sub(1), q, q + 1] {
                let Some(&other) = rb.stops.get(j) else {
                    continue;
                };
                if !ctx.allowed(other, ra.group) {
                    continue;
                }
                let new = [replaced(ra, pos, other), replaced(rb, j, s)];
                if ctx.delta([ra, rb], new).is_some_and(|delta| delta < -EPS) {
                    let (mut mine, mut theirs) = (ra.stops.clone(), rb.stops.clone());
                    (mine[pos], theirs[j]) = (other, s);
                    self.set_route(r1, mine);
                    self.set_route(r2, theirs);
                    return true;
                }
            }
        }
        false
    }

    /// Exchanges the tails of `s`'s day and another day of the same group so that `s`
    /// and one of its neighbours become consecutive, if that lowers `F`.
    pub(super) fn try_tails(&mut self, s: usize) -> bool {
        let ctx = self.ctx;
        let Some((r1, pos)) = self.at[s] else {
            return false;
        };
        let ra = &self.routes[r1];
        let (n1, group) = (ra.stops.len(), ra.group);
        for (r2, q) in self.nearby_routes(s, r1) {
            let rb = &self.routes[r2];
            if rb.group != group {
                continue;
            }
            let n2 = rb.stops.len();
            // A' = A[..i] + B[j..], B' = B[..j] + A[i..].
            for (i, j) in [(pos + 1, q), (pos, q + 1)] {
                if (i == 0 && j == 0) || (i == n1 && j == n2) {
                    continue;
                }
                // The head of `front` before gap `i`, then the tail of `back` from gap `j`.
                let joined = |front: &Route, i: usize, back: &Route, j: usize| {
                    if i == 0 && j == back.stops.len() {
                        (0.0, 0.0)
                    } else {
                        let travel = front.head(i)
                            + ctx.minutes(ctx.before(front, i), ctx.after(back, j))
                            + back.tail(j);
                        (travel, front.svc[i] + back.service() - back.svc[j])
                    }
                };
                let new = [joined(ra, i, rb, j), joined(rb, j, ra, i)];
                if ctx.delta([ra, rb], new).is_some_and(|delta| delta < -EPS) {
                    let mut first = ra.stops[..i].to_vec();
                    first.extend_from_slice(&rb.stops[j..]);
                    let mut second = rb.stops[..j].to_vec();
                    second.extend_from_slice(&ra.stops[i..]);
                    self.set_route(r1, first);
                    self.set_route(r2, second);
                    return true;
                }
            }
        }
        false
    }

    /// Step 4, reordering: every changed day by the travelling-salesman solver; returns
    /// whether any day got shorter.
    pub(super) fn reorder_stale(&mut self, round: u64) -> bool {
        let mut shorter = false;
        for r in 0..self.routes.len() {
            if self.stale[r] {
                shorter |= self.reorder(r, round);
                self.stale[r] = false;
            }
        }
        shorter
    }

    pub(super) fn reorder(&mut self, r: usize, round: u64) -> bool {
        let ctx = self.ctx;
        let route = &self.routes[r];
        let n = route.stops.len();
        if n < 2 {
            return false;
        }
        let GroupSpec { start, end } = ctx.groups[route.group];
        let depots: &[usize] = if start == end {
            &[start]
        } else {
            &[start, end]
        };
        let k = depots.len();
        let nodes: Vec<usize> = depots
            .iter()
            .copied()
            .chain(route.stops.iter().map(|&s| ctx.node(s)))
            .collect();
        let matrix = Matrix::from_fn(nodes.len(), |a, b| ctx.minutes(nodes[a], nodes[b]));
        let opts = Options {
            time_limit: TSP_SAFETY_CAP,
            seed: mix(ctx.seed ^ mix(round ^ mix(r as u64))),
            max_iterations: Some((25 * n as u64).clamp(100, 1000)),
        };
        let tour = tsp::solve_path(&matrix, 0, k - 1, &opts);
        let order: Vec<usize> = tour
            .order
            .iter()
            .filter(|&&i| i >= k)
            .map(|&i| route.stops[i - k])
            .collect();
        let candidate = ctx.build(route.group, order.clone());
        if order.len() == n && candidate.travel < route.travel - EPS {
            self.set_route(r, order);
            true
        } else {
            false
        }
    }
}
