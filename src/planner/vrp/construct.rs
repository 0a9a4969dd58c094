//! Step 3 of the solver: construction, every reachable stop in precedence order at
//! its cheapest feasible place.

use super::{Network, Solver};

impl<N: Network> Solver<'_, '_, N> {
    /// Step 3: every reachable stop in precedence order, at its cheapest place.
    pub(super) fn construct(&mut self) {
        let ctx = self.ctx;
        let mut order: Vec<usize> = (0..ctx.stops.len()).filter(|&s| ctx.reachable(s)).collect();
        order.sort_by(|&a, &b| ctx.precedence(a, b));
        for s in order {
            match self.best_insertion(s) {
                Some(ins) => self.place(s, ins),
                None => self.waiting.push(s),
            }
        }
    }
}
