//! Multi-day, multi-group visit route planner: which inspection group (督查组) visits
//! which household or village on which working day, and in what order.
//!
//! Each day a group leaves its start, serves its stops in order and returns to its end.
//! A day's travel plus service minutes never exceeds [`Problem::day_minutes`]. Every stop
//! is either routed or dropped with a [`DropReason`]; nothing is silently lost.
//!
//! # Model
//!
//! The problem is one vehicle-routing problem with `groups × days` routes. Route
//! `(g, d)` starts and ends at group `g`'s depots, has a time capacity of one working day
//! and may hold only stops that group `g` is allowed to visit ([`StopSpec::group`]) and
//! can reach and serve within a day. Solving all routes together, rather than first
//! assigning free stops to groups with a guess of the travel they will cause and then
//! routing each group, lets the routing itself decide which group serves a free stop: it
//! goes where it is cheap to add, and later moves hand it to another group's day when
//! that is better. Groups based in the same place thus split the work by area.
//!
//! The search minimises, over all routes `r` with travel minutes `tᵣ` and day length `Lᵣ`
//! (travel + service),
//!
//! ```text
//!     F = Σᵣ tᵣ + β · Σᵣ Lᵣ² / day_minutes,      β = 2,
//! ```
//!
//! subject to `Lᵣ ≤ day_minutes`. The quadratic term is the balance criterion, across
//! days and groups alike: moving `w` minutes of work from a day of length `La` to one of
//! length `Lb` (`La > Lb + w`) lowers it by `2βw(La − Lb − w) / day_minutes`, so such a
//! move is made when it adds less travel than that. With an 8-hour day, shifting a
//! 20-minute visit from a 400-minute day to a 200-minute one is worth up to 30 minutes of
//! extra driving; evening out days of 400 and 200 minutes, up to 83. An empty day costs
//! nothing (the group stays at its base), so work spreads over more days only while the
//! balance gain pays for the extra trips out; and a short day near the base is kept when
//! filling it would mean driving far.
//!
//! # Algorithm
//!
//! 1. **Unreachable stops.** A stop is dropped as [`DropReason::Unreachable`] when, for
//!    every group allowed to visit it, start → stop → end plus its service exceeds a day.
//!    `O(stops × groups)`.
//! 2. **Neighbour lists.** Each stop's 24 nearest stops that some group may serve
//!    together with it, `O(n²)` distance evaluations once. The moves below are drawn
//!    from these lists (a granular neighbourhood), so a pass costs `O(n)`, not `O(n²)`.
//! 3. **Construction.** Stops in precedence order — must-visit first, then higher
//!    priority, then cheaper to serve alone, then index — each go to the feasible position
//!    of least added `F` over all routes (cheapest insertion with the balance term, so a
//!    stop opens a new day rather than lengthening a long one when that is cheaper in
//!    `F`). A stop that fits nowhere waits. Because of the order no stop is displaced by a
//!    less important one, and must-visit stops are placed while only other must-visit
//!    stops compete for time. `O(n · planned)` distance evaluations.
//! 4. **Improvement**, each step keeping every day within its budget and every stop with
//!    a group allowed to visit it:
//!    - *local search*, first improvement on `F` with don't-look marks on routes:
//!      relocate a segment of up to 12 consecutive stops (either way round) next to a
//!      neighbour in another route or into an empty day, which moves whole villages
//!      between days and groups; swap a stop with one beside its neighbour in another
//!      route; exchange the tails of two days of a group (2-opt*), which untangles days
//!      that cross. `O(n · 24 · 12)` per pass;
//!    - *balancing*: from the longest day down, the best move of a segment of up to 12
//!      stops to the cheapest place in a day at least 4 % of a budget shorter (the 12
//!      shortest and up to 12 holding neighbours of its stops), or the best exchange of
//!      segments of up to 3 stops with one, whatever the distance between the days, when
//!      it lowers `F` — that is, when the travel it adds is less than the balance gain
//!      above;
//!    - *reordering* of every changed day with the travelling-salesman solver
//!      ([`tsp::solve_path`]: exact up to 10 stops, iterated 3-opt and Or-opt beyond),
//!      kept if it shortens the day.
//! 5. **Ruin and recreate** (once), a large-neighbourhood search with as many steps as
//!    four per planned stop (1,000 to 12,000): empty a random stop's day and either the
//!    shortest day that may take it or the day holding its nearest neighbour, reinsert
//!    their stops (in random, farthest-first or nearest-first order) at their cheapest
//!    places among the days near them, untangle the changed days (2-opt and single-stop
//!    moves), and accept when `F` rises by less than a random threshold that shrinks to
//!    zero (simulated annealing); the best plan met is kept, then improved as in step 4.
//!    This escapes optima that moving one segment at a time cannot leave, such as
//!    villages split between two long days, and often frees time for more stops.
//! 6. **Filling and priority repair.** Waiting stops, in precedence order, are inserted
//!    into any time freed. Then each waiting stop tries to replace a planned stop of lower
//!    rank (must-visit, then priority) in a day whose group may visit it: remove that
//!    stop, insert the waiting one at its cheapest place, keep it if the day still fits
//!    (choosing the lowest-ranked victim, then the least added `F`). A waiting must-visit
//!    stop may also remove several non-must-visit stops from one day, lowest priority
//!    first, as many as it needs (the day needing fewest). Removed stops wait and may fit
//!    elsewhere. This repeats until nothing changes; it ends because each change plans
//!    one more must-visit stop, or one more stop, or raises the ranks of the planned set.
//!
//! Steps 4 and 6 repeat (at most five rounds) while step 6 changes anything. The last
//! step is always a step 6 that changed nothing, so on return, for every stop dropped as
//! [`DropReason::NoTime`] and every day of a group allowed to visit it:
//! - it does not fit into the day at its cheapest insertion;
//! - nor into the day without any one planned stop of lower rank;
//! - and, if it is a must-visit stop, nor into the day's must-visit stops alone, with
//!   all the others removed.
//!
//! # Cost and determinism
//!
//! In release builds, 500 stops over 3 groups × 5 days take about 0.1 s and 3,000 stops
//! over 15 groups × 20 days about 1.5 s, mostly in the ruin-and-recreate steps.
//!
//! Nothing depends on the clock: passes, sweeps and steps are counted, the
//! travelling-salesman solver runs with an iteration budget (its time limit is only a
//! safety cap far above what it needs), ties are broken by index, and the only
//! randomness comes from generators seeded with [`Problem::seed`]. The annealing uses
//! arithmetic only, never a logarithm or power whose last bit may vary between math
//! libraries. So the same problem and seed give the same plan on every machine, as long
//! as the network returns the same metres; [`StraightLine`] rounds its distances to the
//! millimetre so that a last-bit difference in a platform's arcsine cannot change them
//! (barring a distance exactly on a rounding boundary).

mod balance;
mod construct;
mod local_search;
mod repair;
mod ruin;

use std::cmp::Ordering;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::planner::tsp::{self, Costs, Matrix, Options};
use crate::spatial::MEAN_EARTH_RADIUS_M;
use crate::spatial::crs::LonLat;

/// Neighbours per stop in the granular neighbourhood.
const NEIGHBOURS: usize = 24;
/// Different other routes tried per stop in one move, nearest first.
const ROUTES_PER_STOP: usize = 8;
/// Longest segment moved between routes in one relocation.
const SEGMENT_MAX: usize = 12;
/// Weight `β` of the balance term.
const BALANCE_WEIGHT: f64 = 2.0;
/// Shorter days tried per donor day when balancing, besides those near its stops.
const SHIFT_TARGETS: usize = 12;
/// How much shorter, as a share of the day budget, a day must be to take work from a
/// longer one when balancing.
const BALANCE_GAP: f64 = 0.04;
/// Longest segment exchanged between two days when balancing.
const EXCHANGE_MAX: usize = 3;
/// Sweeps over all days when balancing.
const BALANCE_SWEEPS: usize = 20;
/// Days emptied together by one ruin-and-recreate step.
const RUIN_ROUTES: usize = 2;
/// Ruin-and-recreate steps per planned stop, and their bounds.
const RUIN_PER_STOP: usize = 4;
const RUIN_MIN: usize = 1000;
const RUIN_MAX: usize = 12000;
/// Largest acceptance threshold of the annealing, as a share of a working day's `F`.
const ANNEAL_START: f64 = 0.05;
/// Local-search passes per call.
const MAX_PASSES: usize = 50;
/// Rounds of local search, reordering and filling.
const MAX_ROUNDS: usize = 5;
/// Alternations of local search and reordering within a round.
const MAX_REORDERS: usize = 2;
/// Minimum gain in `F` (minutes) for a move to count, so rounding cannot make moves cycle.
const EPS: f64 = 1e-7;
/// Relative margin kept below the day budget, far above floating-point rounding, so that
/// a day recomputed in a different summation order still fits.
const BUDGET_MARGIN: f64 = 1e-10;
/// Safety cap for one travelling-salesman call; the iteration budget ends it long before.
const TSP_SAFETY_CAP: Duration = Duration::from_secs(10);

/// Road metres between nodes. Implementations: [`StraightLine`] now; a road-distance
/// matrix later.
///
/// The planner also expects the triangle inequality (shortest-path distances satisfy it):
/// it skips a day that is already too full for a stop's service time without trying
/// where the stop would go.
pub trait Network: Sync {
    /// Number of nodes.
    fn len(&self) -> usize;

    /// Whether there are no nodes.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Metres travelled from node `a` to node `b` (symmetric, finite, 0 on the diagonal).
    fn metres(&self, a: usize, b: usize) -> f64;
}

/// Great-circle (haversine, `R` = 6 371 008.8 m) distance × a detour factor (>= 1),
/// rounded to the millimetre.
///
/// The haversine `h = sin²(Δφ/2) + cos φ₁ cos φ₂ sin²(Δλ/2)` is the square of half the
/// chord between the two points on the unit sphere, so the distance `2R·asin(√h)` is
/// computed from precomputed unit vectors as `2R·asin(|p − q| / 2)`: one square root
/// and one arcsine per call instead of four trigonometric functions, and no loss of
/// precision for nearby points.
#[derive(Clone, Debug, PartialEq)]
pub struct StraightLine {
    /// Unit vectors of the points.
    points: Vec<[f64; 3]>,
    detour: f64,
}

impl StraightLine {
    /// A network whose nodes are `points`, in that order.
    ///
    /// # Panics
    ///
    /// Panics if `detour` is not finite or below 1.
    #[must_use]
    pub fn new(points: Vec<LonLat>, detour: f64) -> Self {
        assert!(
            detour.is_finite() && detour >= 1.0,
            "detour factor must be finite and at least 1, got {detour}"
        );
        let points = points
            .into_iter()
            .map(|p| {
                let (lat, lon) = (p.lat.to_radians(), p.lon.to_radians());
                [lat.cos() * lon.cos(), lat.cos() * lon.sin(), lat.sin()]
            })
            .collect();
        Self { points, detour }
    }
}

impl Network for StraightLine {
    fn len(&self) -> usize {
        self.points.len()
    }

    fn metres(&self, a: usize, b: usize) -> f64 {
        // Ordered so that the result is exactly symmetric.
        let (a, b) = (a.min(b), a.max(b));
        let (p, q) = (self.points[a], self.points[b]);
        let chord = ((p[0] - q[0]).powi(2) + (p[1] - q[1]).powi(2) + (p[2] - q[2]).powi(2)).sqrt();
        let metres = 2.0 * MEAN_EARTH_RADIUS_M * (chord / 2.0).min(1.0).asin() * self.detour;
        // Round half up to the millimetre: millimetres are non-negative and far below 2⁵³,
        // so the integer conversion is exact (and a single instruction, unlike `round`).
        ((metres * 1000.0 + 0.5) as u64) as f64 / 1000.0
    }
}

/// A household or village to visit.
#[derive(Clone, Debug, PartialEq)]
pub struct StopSpec {
    /// Node index in the network.
    pub node: usize,
    /// Minutes spent at the stop.
    pub service_minutes: f64,
    /// Higher is more important; lower priority is dropped first.
    pub priority: u8,
    /// Planned before all others; dropped only if it cannot fit at all.
    pub must_visit: bool,
    /// `Some(g)`: only group `g` may visit it (e.g. its township's group); `None`: any group.
    pub group: Option<usize>,
}

/// Where an inspection group starts and ends each day.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GroupSpec {
    /// Node the group leaves from each morning.
    pub start: usize,
    /// Node the group returns to each evening (may equal `start`).
    pub end: usize,
}

/// What to plan.
pub struct Problem<'a, N: Network> {
    /// Distances between nodes.
    pub network: &'a N,
    /// The stops; their indices identify them in the [`Solution`].
    pub stops: Vec<StopSpec>,
    /// The inspection groups.
    pub groups: Vec<GroupSpec>,
    /// Working days per group (at least 1).
    pub days: usize,
    /// Budget of one day, travel plus service, minutes (positive).
    pub day_minutes: f64,
    /// Travel speed, km/h (positive).
    pub speed_kmh: f64,
    /// Seed of the search's random choices (ruin and recreate, day ordering); the same
    /// problem and seed give the same plan.
    pub seed: u64,
}

/// Why a stop was not planned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DropReason {
    /// Going from the group's start to the stop, serving it, and reaching the end alone
    /// exceeds a day (for every group allowed to visit it).
    Unreachable,
    /// It fits in a day alone, but there was no time left: it lost to higher-priority stops.
    NoTime,
}

impl DropReason {
    /// The Chinese label used on visit sheets.
    #[must_use]
    pub const fn label(self) -> &'static str {
        match self {
            Self::Unreachable => "单程往返超出一天工时",
            Self::NoTime => "工时不足，优先级较低",
        }
    }
}

/// A plan: every stop routed or dropped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Solution {
    /// `routes[g][d]` = stop indices (into [`Problem::stops`]) in visiting order for group
    /// `g` on day `d` (0-based). Always `groups.len() × days`; a group's empty days come
    /// after its working days.
    pub routes: Vec<Vec<Vec<usize>>>,
    /// Stops not planned, with the reason, by stop index; each stop index appears exactly
    /// once in `routes` or `dropped`.
    pub dropped: Vec<(usize, DropReason)>,
}

/// Times of the way to one stop of a route.
#[derive(Clone, Debug, PartialEq)]
pub struct Leg {
    /// Metres from the previous stop (or the start).
    pub travel_metres: f64,
    /// Minutes from the previous stop (or the start).
    pub travel_minutes: f64,
    /// Minutes after leaving the start at which the group arrives.
    pub arrive_minutes: f64,
    /// Minutes after leaving the start at which the group leaves (arrival + service).
    pub depart_minutes: f64,
}

/// Times along one route.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Schedule {
    /// One per stop, in visiting order.
    pub legs: Vec<Leg>,
    /// Metres from the last stop to the end (0 for an empty route).
    pub back_metres: f64,
    /// Minutes from the last stop to the end (0 for an empty route).
    pub back_minutes: f64,
    /// All metres travelled, the way back included.
    pub travel_metres: f64,
    /// All minutes travelled, the way back included.
    pub travel_minutes: f64,
    /// Minutes spent at stops.
    pub service_minutes: f64,
    /// Minutes from leaving the start to reaching the end.
    pub total_minutes: f64,
}

/// Times along `route` (stop indices into `problem.stops`) for group `group`.
///
/// An empty route is a day the group stays at its base: all zeros, no way back.
///
/// # Panics
///
/// Panics if `group` or a stop index is out of range.
#[must_use]
pub fn schedule<N: Network>(problem: &Problem<'_, N>, group: usize, route: &[usize]) -> Schedule {
    let GroupSpec { start, end } = problem.groups[group];
    let per_metre = minutes_per_metre(problem.speed_kmh);
    let mut out = Schedule::default();
    if route.is_empty() {
        return out;
    }
    let (mut here, mut clock) = (start, 0.0);
    for &s in route {
        let stop = &problem.stops[s];
        let travel_metres = problem.network.metres(here, stop.node);
        let travel_minutes = travel_metres * per_metre;
        let arrive_minutes = clock + travel_minutes;
        let depart_minutes = arrive_minutes + stop.service_minutes;
        out.travel_metres += travel_metres;
        out.travel_minutes += travel_minutes;
        out.service_minutes += stop.service_minutes;
        out.legs.push(Leg {
            travel_metres,
            travel_minutes,
            arrive_minutes,
            depart_minutes,
        });
        (here, clock) = (stop.node, depart_minutes);
    }
    out.back_metres = problem.network.metres(here, end);
    out.back_minutes = out.back_metres * per_metre;
    out.travel_metres += out.back_metres;
    out.travel_minutes += out.back_minutes;
    out.total_minutes = clock + out.back_minutes;
    out
}

/// Plans the visits: see the [module documentation](self) for how.
///
/// # Panics
///
/// Panics if `days` is 0, `day_minutes` or `speed_kmh` is not a positive finite number,
/// a service time is negative or not finite, a node is not below `network.len()`, or a
/// stop names a group that does not exist. The caller validates these first.
#[must_use]
pub fn solve<N: Network>(problem: &Problem<'_, N>) -> Solution {
    solve_until(problem, &AtomicBool::new(false))
}

/// [`solve`], stopping early once `cancel` is set (the client that asked went away):
/// the answer is then a valid plan, every stop in a day or dropped, but not the one
/// [`solve`] gives, so it is for throwing away, never for storing.
///
/// # Panics
/// As [`solve`].
#[must_use]
pub fn solve_until<N: Network>(problem: &Problem<'_, N>, cancel: &AtomicBool) -> Solution {
    let ctx = Ctx::new(problem, cancel);
    let mut plan = Solver::new(&ctx);
    plan.construct();
    for round in 0..MAX_ROUNDS {
        plan.improve();
        if round == 0 && !ctx.cancelled() && plan.ruin_and_recreate() {
            plan.improve();
        }
        if ctx.cancelled() || !plan.fill() {
            break;
        }
    }
    plan.into_solution()
}

fn minutes_per_metre(speed_kmh: f64) -> f64 {
    60.0 / (speed_kmh * 1000.0)
}

/// `SplitMix64` finaliser, to derive independent seeds.
const fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The problem with derived constants and the groups that may serve each stop.
struct Ctx<'p, N: Network> {
    net: &'p N,
    stops: &'p [StopSpec],
    groups: &'p [GroupSpec],
    days: usize,
    day_minutes: f64,
    per_metre: f64,
    /// What a day may hold: the budget less [`BUDGET_MARGIN`].
    limit: f64,
    seed: u64,
    /// 64-bit words per stop in `masks`.
    words: usize,
    /// Bit `g` of stop `s`: group `g` may visit `s` and can serve it alone within a day.
    masks: Vec<u64>,
    /// Minutes of the cheapest single-stop day over those groups (∞ if none).
    solo: Vec<f64>,
    /// Set when the plan is no longer wanted: the phases stop at their next step.
    cancel: &'p AtomicBool,
}

impl<'p, N: Network> Ctx<'p, N> {
    fn new(problem: &'p Problem<'_, N>, cancel: &'p AtomicBool) -> Self {
        check(problem);
        let groups = &problem.groups;
        let words = groups.len().div_ceil(64).max(1);
        let mut ctx = Self {
            net: problem.network,
            stops: &problem.stops,
            groups,
            days: problem.days,
            day_minutes: problem.day_minutes,
            per_metre: minutes_per_metre(problem.speed_kmh),
            limit: problem.day_minutes * (1.0 - BUDGET_MARGIN),
            seed: problem.seed,
            words,
            masks: vec![0; problem.stops.len() * words],
            solo: vec![f64::INFINITY; problem.stops.len()],
            cancel,
        };
        for (s, stop) in problem.stops.iter().enumerate() {
            for (g, group) in groups.iter().enumerate() {
                if stop.group.is_some_and(|only| only != g) {
                    continue;
                }
                let alone = ctx.minutes(group.start, stop.node)
                    + stop.service_minutes
                    + ctx.minutes(stop.node, group.end);
                if alone <= ctx.limit {
                    ctx.masks[s * words + g / 64] |= 1 << (g % 64);
                    ctx.solo[s] = ctx.solo[s].min(alone);
                }
            }
        }
        ctx
    }

    /// Whether the plan is no longer wanted.
    fn cancelled(&self) -> bool {
        self.cancel.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn minutes(&self, a: usize, b: usize) -> f64 {
        self.net.metres(a, b) * self.per_metre
    }

    fn node(&self, s: usize) -> usize {
        self.stops[s].node
    }

    fn service(&self, s: usize) -> f64 {
        self.stops[s].service_minutes
    }

    fn allowed(&self, s: usize, g: usize) -> bool {
        self.masks[s * self.words + g / 64] >> (g % 64) & 1 == 1
    }

    fn reachable(&self, s: usize) -> bool {
        self.solo[s].is_finite()
    }

    /// Whether some group may serve both stops.
    fn share(&self, a: usize, b: usize) -> bool {
        let (a, b) = (a * self.words, b * self.words);
        (0..self.words).any(|w| self.masks[a + w] & self.masks[b + w] != 0)
    }

    /// Importance: must-visit first, then priority.
    fn rank(&self, s: usize) -> (bool, u8) {
        (self.stops[s].must_visit, self.stops[s].priority)
    }

    /// Order in which stops are planned: most important, then cheapest alone, then index.
    fn precedence(&self, a: usize, b: usize) -> Ordering {
        self.rank(b)
            .cmp(&self.rank(a))
            .then(self.solo[a].total_cmp(&self.solo[b]))
            .then(a.cmp(&b))
    }

    fn penalty(&self, minutes: f64) -> f64 {
        BALANCE_WEIGHT * minutes * minutes / self.day_minutes
    }

    /// A route's share of the objective `F`.
    fn cost(&self, travel: f64, service: f64) -> f64 {
        travel + self.penalty(travel + service)
    }

    /// Change of `F` when routes `old` become `new` (travel, service) pairs, or `None` if a
    /// new route does not fit in a day.
    fn delta(&self, old: [&Route; 2], new: [(f64, f64); 2]) -> Option<f64> {
        let mut sum = 0.0;
        for (route, (travel, service)) in old.into_iter().zip(new) {
            if travel + service > self.limit {
                return None;
            }
            sum += self.cost(travel, service) - self.cost(route.travel, route.service());
        }
        Some(sum)
    }

    /// The node before gap `j` of `route` (gap `j` lies between stops `j - 1` and `j`).
    fn before(&self, route: &Route, j: usize) -> usize {
        if j == 0 {
            self.groups[route.group].start
        } else {
            self.node(route.stops[j - 1])
        }
    }

    /// The node after gap `j` of `route`.
    fn after(&self, route: &Route, j: usize) -> usize {
        if j == route.stops.len() {
            self.groups[route.group].end
        } else {
            self.node(route.stops[j])
        }
    }

    fn build(&self, group: usize, stops: Vec<usize>) -> Route {
        let n = stops.len();
        let GroupSpec { start, end } = self.groups[group];
        let mut gap = Vec::with_capacity(n + 1);
        let mut here = start;
        for &s in &stops {
            gap.push(self.minutes(here, self.node(s)));
            here = self.node(s);
        }
        gap.push(self.minutes(here, end));
        let mut arr = Vec::with_capacity(n);
        let mut acc = 0.0;
        for &t in &gap[..n] {
            acc += t;
            arr.push(acc);
        }
        let travel = if n == 0 { 0.0 } else { acc + gap[n] };
        let mut dep = vec![0.0; n];
        let mut acc = 0.0;
        for i in (0..n).rev() {
            acc += gap[i + 1];
            dep[i] = acc;
        }
        let mut svc = Vec::with_capacity(n + 1);
        let mut acc = 0.0;
        svc.push(acc);
        for &s in &stops {
            acc += self.service(s);
            svc.push(acc);
        }
        Route {
            group,
            stops,
            gap,
            arr,
            dep,
            svc,
            travel,
        }
    }

    /// The gap where inserting node `node` adds the least travel, and that travel.
    fn cheapest_gap(&self, route: &Route, node: usize) -> (f64, usize) {
        let GroupSpec { start, end } = self.groups[route.group];
        if route.stops.is_empty() {
            return (self.minutes(start, node) + self.minutes(node, end), 0);
        }
        let n = route.stops.len();
        let mut into = self.minutes(start, node);
        let mut best = (f64::INFINITY, 0);
        for j in 0..=n {
            let next = if j == n {
                end
            } else {
                self.node(route.stops[j])
            };
            let out = self.minutes(node, next);
            let added = into + out - route.gap[j];
            if added < best.0 {
                best = (added, j);
            }
            into = out;
        }
        best
    }

    /// Whether group `g` may serve every stop of `segment`.
    fn allows_all(&self, segment: &[usize], g: usize) -> bool {
        segment.iter().all(|&s| self.allowed(s, g))
    }
}

/// Panics on inputs the caller should have rejected.
fn check<N: Network>(problem: &Problem<'_, N>) {
    let nodes = problem.network.len();
    assert!(problem.days >= 1, "a plan needs at least one day");
    assert!(
        problem.day_minutes.is_finite() && problem.day_minutes > 0.0,
        "day_minutes must be positive, got {}",
        problem.day_minutes
    );
    assert!(
        problem.speed_kmh.is_finite() && problem.speed_kmh > 0.0,
        "speed_kmh must be positive, got {}",
        problem.speed_kmh
    );
    for (g, group) in problem.groups.iter().enumerate() {
        assert!(
            group.start < nodes && group.end < nodes,
            "group {g}'s start {} or end {} is not a node of a {nodes}-node network",
            group.start,
            group.end
        );
    }
    for (s, stop) in problem.stops.iter().enumerate() {
        assert!(
            stop.node < nodes,
            "stop {s}'s node {} is not a node of a {nodes}-node network",
            stop.node
        );
        assert!(
            stop.service_minutes.is_finite() && stop.service_minutes >= 0.0,
            "stop {s}'s service time must be a non-negative number, got {}",
            stop.service_minutes
        );
        if let Some(g) = stop.group {
            assert!(
                g < problem.groups.len(),
                "stop {s} names group {g} of {}",
                problem.groups.len()
            );
        }
    }
}

/// One day of one group, with running sums for constant-time move evaluation.
#[derive(Clone, Debug)]
struct Route {
    group: usize,
    stops: Vec<usize>,
    /// `gap[j]`: minutes across gap `j`, between stops `j - 1` and `j` (gap 0 leaves the
    /// start, gap `n` reaches the end); `n + 1` entries.
    gap: Vec<f64>,
    /// `arr[i]`: travel minutes from the start to stop `i`.
    arr: Vec<f64>,
    /// `dep[i]`: travel minutes from stop `i` to the end.
    dep: Vec<f64>,
    /// `svc[j]`: service minutes of `stops[..j]`; `n + 1` entries.
    svc: Vec<f64>,
    /// Travel minutes of the day (0 when empty: the group stays at its base).
    travel: f64,
}

impl Route {
    fn service(&self) -> f64 {
        self.svc[self.stops.len()]
    }

    fn minutes(&self) -> f64 {
        self.travel + self.service()
    }

    /// Travel from the start to the node before gap `j`.
    fn head(&self, j: usize) -> f64 {
        if j == 0 { 0.0 } else { self.arr[j - 1] }
    }

    /// Travel from the node after gap `j` to the end.
    fn tail(&self, j: usize) -> f64 {
        if j == self.stops.len() {
            0.0
        } else {
            self.dep[j]
        }
    }
}

/// Where a stop goes: route, gap and the change of `F`.
#[derive(Clone, Copy, Debug)]
struct Insertion {
    cost: f64,
    route: usize,
    gap: usize,
}

/// Moving `from.stops[a..=b]` into gap `gap` of route `to`.
#[derive(Clone, Copy, Debug)]
struct Relocation {
    delta: f64,
    from: usize,
    a: usize,
    b: usize,
    to: usize,
    gap: usize,
    reversed: bool,
}

/// Exchanging `routes[r1].stops[i..=k]` with `routes[r2].stops[x..=y]`.
#[derive(Clone, Copy, Debug)]
struct Exchange {
    delta: f64,
    r1: usize,
    i: usize,
    k: usize,
    r2: usize,
    x: usize,
    y: usize,
}

/// A balancing move.
#[derive(Clone, Copy, Debug)]
enum Shift {
    Move(Relocation),
    Exchange(Exchange),
}

impl Shift {
    const fn delta(self) -> f64 {
        match self {
            Self::Move(m) => m.delta,
            Self::Exchange(e) => e.delta,
        }
    }
}

/// Minutes between the nodes of two routes, depots included: row `i` is route A's start
/// (`i = 0`), its stop `i - 1`, or its end (`i = n + 1`); columns likewise for route B.
struct Table {
    width: usize,
    minutes: Vec<f64>,
}

impl Table {
    fn new<N: Network>(ctx: &Ctx<'_, N>, a: &Route, b: &Route) -> Self {
        let nodes = |r: &Route| -> Vec<usize> {
            let GroupSpec { start, end } = ctx.groups[r.group];
            std::iter::once(start)
                .chain(r.stops.iter().map(|&s| ctx.node(s)))
                .chain(std::iter::once(end))
                .collect()
        };
        let (rows, cols) = (nodes(a), nodes(b));
        let minutes = rows
            .iter()
            .flat_map(|&u| cols.iter().map(move |&v| ctx.minutes(u, v)))
            .collect();
        Self {
            width: cols.len(),
            minutes,
        }
    }

    fn at(&self, row: usize, col: usize) -> f64 {
        self.minutes[row * self.width + col]
    }
}

/// Replacing stop `route.stops[at]` by a waiting stop inserted at `gap` of the route
/// without it.
#[derive(Clone, Copy, Debug)]
struct Replacement {
    rank: (bool, u8),
    cost: f64,
    route: usize,
    at: usize,
    gap: usize,
}

/// A day made room in for a waiting must-visit stop: its new stops (the must-visit stop
/// included), the stops removed for it, and the change of the day's `F`.
#[derive(Clone, Debug)]
struct Room {
    cost: f64,
    route: usize,
    stops: Vec<usize>,
    victims: Vec<usize>,
}

/// The solver's state.
struct Solver<'c, 'p, N: Network> {
    ctx: &'c Ctx<'p, N>,
    /// Route `g * days + d` is group `g`'s day `d`.
    routes: Vec<Route>,
    /// Route and position of each planned stop.
    at: Vec<Option<(usize, usize)>>,
    /// Reachable stops not planned (yet).
    waiting: Vec<usize>,
    /// Each stop's nearest stops that share a group with it, nearest first.
    near: Vec<Vec<usize>>,
    /// Per group, its first empty day.
    first_empty: Vec<Option<usize>>,
    /// Routes changed since they were last reordered.
    stale: Vec<bool>,
    /// Routes changed in the current local-search pass.
    touched: Vec<bool>,
    /// Whether a route became empty or non-empty in the current pass.
    reshaped: bool,
    /// Calls of the reordering so far, to vary the travelling-salesman seed.
    reorders: u64,
}

impl<'c, 'p, N: Network> Solver<'c, 'p, N> {
    fn new(ctx: &'c Ctx<'p, N>) -> Self {
        let count = ctx.groups.len() * ctx.days;
        let routes = (0..count)
            .map(|r| ctx.build(r / ctx.days, Vec::new()))
            .collect();
        Self {
            ctx,
            routes,
            at: vec![None; ctx.stops.len()],
            waiting: Vec::new(),
            near: neighbours(ctx),
            first_empty: (0..ctx.groups.len()).map(|g| Some(g * ctx.days)).collect(),
            stale: vec![false; count],
            touched: vec![false; count],
            reshaped: false,
            reorders: 0,
        }
    }

    fn set_route(&mut self, r: usize, stops: Vec<usize>) {
        let ctx = self.ctx;
        let was_empty = self.routes[r].stops.is_empty();
        let group = self.routes[r].group;
        for (i, &s) in stops.iter().enumerate() {
            self.at[s] = Some((r, i));
        }
        self.routes[r] = ctx.build(group, stops);
        self.stale[r] = true;
        self.touched[r] = true;
        if was_empty != self.routes[r].stops.is_empty() {
            self.reshaped = true;
            let days = group * ctx.days..(group + 1) * ctx.days;
            self.first_empty[group] = days.into_iter().find(|&d| self.routes[d].stops.is_empty());
        }
    }

    fn place(&mut self, s: usize, ins: Insertion) {
        let mut stops = self.routes[ins.route].stops.clone();
        stops.insert(ins.gap, s);
        self.set_route(ins.route, stops);
    }

    /// Cheapest feasible insertion of `s` over all routes that may hold it.
    fn best_insertion(&self, s: usize) -> Option<Insertion> {
        let ctx = self.ctx;
        let mut best: Option<Insertion> = None;
        for g in (0..ctx.groups.len()).filter(|&g| ctx.allowed(s, g)) {
            for r in g * ctx.days..(g + 1) * ctx.days {
                // Every empty day of a group is alike: try the first only.
                if self.routes[r].stops.is_empty() && self.first_empty[g] != Some(r) {
                    continue;
                }
                if let Some(ins) = self.insertion_into(s, r)
                    && best.is_none_or(|b| ins.cost < b.cost)
                {
                    best = Some(ins);
                }
            }
        }
        best
    }

    /// Cheapest feasible insertion of `s` into one of `routes`.
    fn insertion_among(&self, s: usize, routes: &[usize]) -> Option<Insertion> {
        let mut best: Option<Insertion> = None;
        for &r in routes {
            if self.ctx.allowed(s, self.routes[r].group)
                && let Some(ins) = self.insertion_into(s, r)
                && best.is_none_or(|b| ins.cost < b.cost)
            {
                best = Some(ins);
            }
        }
        best
    }

    /// Cheapest feasible insertion of `s` into route `r`, whose group must be allowed.
    fn insertion_into(&self, s: usize, r: usize) -> Option<Insertion> {
        let ctx = self.ctx;
        let route = &self.routes[r];
        let service = ctx.service(s);
        // With the triangle inequality a stop never takes less than its service time.
        if route.minutes() + service > ctx.limit {
            return None;
        }
        let (added, gap) = ctx.cheapest_gap(route, ctx.node(s));
        let (travel, service) = (route.travel + added, route.service() + service);
        (travel + service <= ctx.limit).then(|| Insertion {
            cost: ctx.cost(travel, service) - ctx.cost(route.travel, route.service()),
            route: r,
            gap,
        })
    }

    /// The first other routes met in `s`'s neighbour list, each with the nearest of its
    /// stops to `s`: `(route, position of that stop)`.
    fn nearby_routes(&self, s: usize, own: usize) -> Vec<(usize, usize)> {
        let mut found: Vec<(usize, usize)> = Vec::with_capacity(ROUTES_PER_STOP);
        for &u in &self.near[s] {
            if let Some((r, q)) = self.at[u]
                && r != own
                && found.iter().all(|&(f, _)| f != r)
            {
                found.push((r, q));
                if found.len() == ROUTES_PER_STOP {
                    break;
                }
            }
        }
        found
    }

    fn into_solution(self) -> Solution {
        let ctx = self.ctx;
        let mut days = self.routes.into_iter().map(|r| r.stops);
        let routes = (0..ctx.groups.len())
            .map(|_| {
                let mut group: Vec<Vec<usize>> = days.by_ref().take(ctx.days).collect();
                group.sort_by_key(Vec::is_empty);
                group
            })
            .collect();
        let mut dropped: Vec<(usize, DropReason)> = (0..ctx.stops.len())
            .filter(|&s| !ctx.reachable(s))
            .map(|s| (s, DropReason::Unreachable))
            .chain(self.waiting.iter().map(|&s| (s, DropReason::NoTime)))
            .collect();
        dropped.sort_unstable_by_key(|&(s, _)| s);
        Solution { routes, dropped }
    }
}

/// Each reachable stop's [`NEIGHBOURS`] nearest reachable stops that some group may serve
/// together with it, nearest first, ties by index. `O(n²)` distance evaluations.
fn neighbours<N: Network>(ctx: &Ctx<'_, N>) -> Vec<Vec<usize>> {
    let candidates: Vec<usize> = (0..ctx.stops.len()).filter(|&s| ctx.reachable(s)).collect();
    let mut lists: Vec<Vec<(f64, usize)>> = vec![Vec::new(); ctx.stops.len()];
    let offer = |list: &mut Vec<(f64, usize)>, item: (f64, usize)| {
        if list.len() == NEIGHBOURS && list[NEIGHBOURS - 1].0 <= item.0 {
            return;
        }
        let at = list.partition_point(|x| x.0.total_cmp(&item.0).then(x.1.cmp(&item.1)).is_lt());
        list.insert(at, item);
        list.truncate(NEIGHBOURS);
    };
    for (k, &a) in candidates.iter().enumerate() {
        for &b in &candidates[k + 1..] {
            if ctx.share(a, b) {
                let metres = ctx.net.metres(ctx.node(a), ctx.node(b));
                offer(&mut lists[a], (metres, b));
                offer(&mut lists[b], (metres, a));
            }
        }
    }
    lists
        .into_iter()
        .map(|list| list.into_iter().map(|(_, s)| s).collect())
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// An explicit symmetric distance table.
    struct Table(Vec<Vec<f64>>);

    impl Network for Table {
        fn len(&self) -> usize {
            self.0.len()
        }

        fn metres(&self, a: usize, b: usize) -> f64 {
            self.0[a][b]
        }
    }

    /// `n` nodes, `metres(a, b)` apart for `a < b`.
    fn table(n: usize, metres: impl Fn(usize, usize) -> f64) -> Table {
        Table(
            (0..n)
                .map(|a| {
                    (0..n)
                        .map(|b| {
                            if a == b {
                                0.0
                            } else {
                                metres(a.min(b), a.max(b))
                            }
                        })
                        .collect()
                })
                .collect(),
        )
    }

    /// `n` nodes, each `metres` from every other.
    fn uniform(n: usize, metres: f64) -> Table {
        table(n, |_, _| metres)
    }

    fn stop(node: usize, service_minutes: f64, priority: u8) -> StopSpec {
        StopSpec {
            node,
            service_minutes,
            priority,
            must_visit: false,
            group: None,
        }
    }

    fn problem<N: Network>(
        network: &N,
        stops: Vec<StopSpec>,
        groups: Vec<GroupSpec>,
        days: usize,
        day_minutes: f64,
        speed_kmh: f64,
    ) -> Problem<'_, N> {
        Problem {
            network,
            stops,
            groups,
            days,
            day_minutes,
            speed_kmh,
            seed: 1,
        }
    }

    /// A network of households in villages around 41.7° N 125.0° E, with the stops and
    /// groups on it; the groups' depots are its first nodes.
    struct Instance {
        net: StraightLine,
        stops: Vec<StopSpec>,
        groups: Vec<GroupSpec>,
    }

    impl Instance {
        fn problem(&self, days: usize, day_minutes: f64, seed: u64) -> Problem<'_, StraightLine> {
            Problem {
                network: &self.net,
                stops: self.stops.clone(),
                groups: self.groups.clone(),
                days,
                day_minutes,
                speed_kmh: 30.0,
                seed,
            }
        }
    }

    /// Random clustered instance: `fixed` is the share of stops tied to one group, `must`
    /// the share of must-visit stops; about 3 % of the stops lie 200 km away.
    fn clustered(seed: u64, groups: usize, stops: usize, fixed: f64, must: f64) -> Instance {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let jitter = |rng: &mut ChaCha8Rng, lat: f64, lon: f64, spread: f64| {
            LonLat::new(
                lon + rng.random_range(-spread..=spread) * 1.34,
                lat + rng.random_range(-spread..=spread),
            )
        };
        let mut points = Vec::new();
        let mut specs = Vec::new();
        for _ in 0..groups {
            let start = points.len();
            points.push(jitter(&mut rng, 41.7, 125.0, 0.1));
            let end = if rng.random_bool(0.5) {
                start
            } else {
                points.push(jitter(&mut rng, 41.7, 125.0, 0.1));
                start + 1
            };
            specs.push(GroupSpec { start, end });
        }
        let villages: Vec<LonLat> = (0..stops.div_ceil(6).max(1))
            .map(|_| jitter(&mut rng, 41.7, 125.0, 0.18))
            .collect();
        let mut list = Vec::new();
        for _ in 0..stops {
            let v = villages[rng.random_range(0..villages.len())];
            let node = points.len();
            if rng.random_bool(0.03) {
                points.push(LonLat::new(v.lon, v.lat + 1.8));
            } else {
                points.push(jitter(&mut rng, v.lat, v.lon, 0.008));
            }
            list.push(StopSpec {
                node,
                service_minutes: rng.random_range(10.0..60.0),
                priority: rng.random_range(0..5),
                must_visit: rng.random_bool(must),
                group: rng.random_bool(fixed).then(|| rng.random_range(0..groups)),
            });
        }
        Instance {
            net: StraightLine::new(points, 1.3),
            stops: list,
            groups: specs,
        }
    }

    fn may_visit(stop: &StopSpec, g: usize) -> bool {
        stop.group.is_none_or(|only| only == g)
    }

    /// Whether `route` fits in a day with a little room to spare, so that the solver's
    /// rounding margin cannot make the checks below fail.
    fn fits<N: Network>(p: &Problem<'_, N>, g: usize, route: &[usize]) -> bool {
        schedule(p, g, route).total_minutes <= p.day_minutes * (1.0 - 1e-9)
    }

    /// Whether `s` can go anywhere into `route` and still fit.
    fn insertable<N: Network>(p: &Problem<'_, N>, g: usize, route: &[usize], s: usize) -> bool {
        (0..=route.len()).any(|j| {
            let mut with = route.to_vec();
            with.insert(j, s);
            fits(p, g, &with)
        })
    }

    fn rank(stop: &StopSpec) -> (bool, u8) {
        (stop.must_visit, stop.priority)
    }

    /// Every promise of [`solve`], checked with [`schedule`] alone.
    fn check<N: Network>(p: &Problem<'_, N>, sol: &Solution) {
        assert_eq!(sol.routes.len(), p.groups.len());
        let mut seen = vec![0; p.stops.len()];
        for (g, days) in sol.routes.iter().enumerate() {
            assert_eq!(days.len(), p.days);
            for route in days {
                let total = schedule(p, g, route).total_minutes;
                assert!(total <= p.day_minutes + 1e-9, "{total} > {}", p.day_minutes);
                for &s in route {
                    seen[s] += 1;
                    assert!(may_visit(&p.stops[s], g), "stop {s} routed in group {g}");
                }
            }
        }
        for &(s, _) in &sol.dropped {
            seen[s] += 1;
        }
        assert!(seen.iter().all(|&c| c == 1), "each stop exactly once");
        for &(d, reason) in &sol.dropped {
            let alone = (0..p.groups.len())
                .filter(|&g| may_visit(&p.stops[d], g))
                .any(|g| schedule(p, g, &[d]).total_minutes <= p.day_minutes);
            assert_eq!(reason == DropReason::NoTime, alone, "stop {d}: {reason:?}");
            if reason == DropReason::Unreachable {
                continue;
            }
            for (g, days) in sol.routes.iter().enumerate() {
                if !may_visit(&p.stops[d], g) {
                    continue;
                }
                for route in days {
                    assert!(!insertable(p, g, route, d), "{d} fits in group {g}");
                    if p.stops[d].must_visit {
                        let must: Vec<usize> = route
                            .iter()
                            .copied()
                            .filter(|&q| p.stops[q].must_visit)
                            .collect();
                        assert!(!insertable(p, g, &must, d), "must-visit {d} fits {must:?}");
                    }
                    for (i, &q) in route.iter().enumerate() {
                        if rank(&p.stops[q]) < rank(&p.stops[d]) {
                            let mut without = route.clone();
                            without.remove(i);
                            assert!(
                                !insertable(p, g, &without, d),
                                "dropped {d} could replace lower-ranked {q}"
                            );
                        }
                    }
                }
            }
        }
    }

    /// Longest and shortest non-empty day, and how many days are empty.
    fn spread<N: Network>(p: &Problem<'_, N>, sol: &Solution) -> (f64, f64, usize) {
        let mut lengths = Vec::new();
        let mut empty = 0;
        for (g, days) in sol.routes.iter().enumerate() {
            for route in days {
                if route.is_empty() {
                    empty += 1;
                } else {
                    lengths.push(schedule(p, g, route).total_minutes);
                }
            }
        }
        let max = lengths.iter().copied().fold(0.0, f64::max);
        let min = lengths.iter().copied().fold(f64::INFINITY, f64::min);
        (max, min, empty)
    }

    #[test]
    fn straight_line_measures_a_degree_of_latitude() {
        let net = StraightLine::new(
            vec![LonLat::new(125.0, 41.0), LonLat::new(125.0, 42.0)],
            1.0,
        );
        let metres = net.metres(0, 1);
        assert!((metres - 111_200.0).abs() / 111_200.0 < 1e-3, "{metres}");
        assert!((metres - 111_195.08).abs() < 0.01, "{metres}");
        assert_eq!(net.metres(1, 0).to_bits(), metres.to_bits(), "symmetric");
        assert_eq!(net.metres(1, 1).to_bits(), 0.0_f64.to_bits());
        assert_eq!(net.len(), 2);
        let winding = StraightLine::new(
            vec![LonLat::new(125.0, 41.0), LonLat::new(125.0, 42.0)],
            1.5,
        );
        assert!((winding.metres(0, 1) - 1.5 * metres).abs() < 0.01);
    }

    #[test]
    #[should_panic(expected = "detour factor")]
    fn detour_below_one_panics() {
        let _ = StraightLine::new(vec![], 0.9);
    }

    #[test]
    fn schedule_of_two_stops_by_hand() {
        // start 0 → 1: 1 km, 1 → 2: 2 km, 2 → end 3: 3 km, at 60 km/h: 1 minute per km.
        let mut d = vec![vec![0.0; 4]; 4];
        for (a, b, m) in [
            (0, 1, 1000.0),
            (1, 2, 2000.0),
            (2, 3, 3000.0),
            (0, 3, 500.0),
        ] {
            d[a][b] = m;
            d[b][a] = m;
        }
        let net = Table(d);
        let p = problem(
            &net,
            vec![stop(1, 10.0, 0), stop(2, 5.0, 0)],
            vec![GroupSpec { start: 0, end: 3 }],
            1,
            480.0,
            60.0,
        );
        let s = schedule(&p, 0, &[0, 1]);
        let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
        assert_eq!(s.legs.len(), 2);
        assert!(close(s.legs[0].travel_metres, 1000.0) && close(s.legs[0].travel_minutes, 1.0));
        assert!(close(s.legs[0].arrive_minutes, 1.0) && close(s.legs[0].depart_minutes, 11.0));
        assert!(close(s.legs[1].travel_minutes, 2.0));
        assert!(close(s.legs[1].arrive_minutes, 13.0) && close(s.legs[1].depart_minutes, 18.0));
        assert!(close(s.back_metres, 3000.0) && close(s.back_minutes, 3.0));
        assert!(close(s.travel_metres, 6000.0) && close(s.travel_minutes, 6.0));
        assert!(close(s.service_minutes, 15.0) && close(s.total_minutes, 21.0));
        assert_eq!(schedule(&p, 0, &[]), Schedule::default());
    }

    #[test]
    fn labels() {
        assert_eq!(DropReason::Unreachable.label(), "单程往返超出一天工时");
        assert_eq!(DropReason::NoTime.label(), "工时不足，优先级较低");
    }

    #[test]
    fn a_stop_200_km_away_is_unreachable() {
        let net = StraightLine::new(
            vec![
                LonLat::new(125.0, 41.7),
                LonLat::new(125.01, 41.71),
                LonLat::new(125.0, 43.5),
            ],
            1.2,
        );
        let p = problem(
            &net,
            vec![stop(0, 30.0, 0), stop(2, 30.0, 9), stop(1, 30.0, 0)],
            vec![GroupSpec { start: 0, end: 0 }; 2],
            5,
            480.0,
            40.0,
        );
        let sol = solve(&p);
        assert_eq!(sol.dropped, vec![(1, DropReason::Unreachable)]);
        check(&p, &sol);
    }

    #[test]
    fn lowest_priority_is_dropped_when_not_everything_fits() {
        // Every node 100 m from every other, at 6 km/h one minute; 3 × 30-minute visits
        // and 4 legs fit into 100 minutes, 4 visits do not.
        let net = uniform(5, 100.0);
        let stops = vec![
            stop(1, 30.0, 1),
            stop(2, 30.0, 5),
            stop(3, 30.0, 3),
            stop(4, 30.0, 2),
        ];
        let p = problem(
            &net,
            stops,
            vec![GroupSpec { start: 0, end: 0 }],
            1,
            100.0,
            6.0,
        );
        let sol = solve(&p);
        assert_eq!(sol.dropped, vec![(0, DropReason::NoTime)]);
        check(&p, &sol);
    }

    #[test]
    fn an_important_stop_beats_several_cheap_ones() {
        // Stop 0 (priority 9) is far out, the cheap ones (priority 1) near the base.
        let net = table(6, |a, b| if a == 1 || b == 1 { 3000.0 } else { 100.0 });
        let mut stops = vec![stop(1, 40.0, 9)];
        stops.extend((2..6).map(|n| stop(n, 20.0, 1)));
        // At 6 km/h stop 0 takes 30 + 40 + 30 = 100 minutes alone, leaving no room in a
        // 101-minute day; the four 20-minute stops would take 5 + 80 = 85.
        let p = problem(
            &net,
            stops,
            vec![GroupSpec { start: 0, end: 0 }],
            1,
            101.0,
            6.0,
        );
        let sol = solve(&p);
        assert_eq!(sol.routes[0][0], vec![0]);
        assert_eq!(sol.dropped.len(), 4);
        check(&p, &sol);
    }

    #[test]
    fn must_visit_stops_come_first_even_at_priority_zero() {
        let net = uniform(6, 100.0);
        let mut stops: Vec<StopSpec> = (1..4)
            .map(|n| StopSpec {
                must_visit: true,
                ..stop(n, 40.0, 0)
            })
            .collect();
        stops.push(stop(4, 10.0, 9));
        stops.push(stop(5, 30.0, 9));
        let groups = vec![GroupSpec { start: 0, end: 0 }];
        // Two days: room for all three must-visit stops.
        let p = problem(&net, stops.clone(), groups.clone(), 2, 100.0, 6.0);
        let sol = solve(&p);
        check(&p, &sol);
        for s in 0..3 {
            assert!(sol.dropped.iter().all(|&(d, _)| d != s), "{s} dropped");
        }
        // One day: two must-visit stops fit, the third does not even without the others.
        let p = problem(&net, stops, groups, 1, 100.0, 6.0);
        let sol = solve(&p);
        check(&p, &sol);
        let day = &sol.routes[0][0];
        let must: Vec<usize> = day.iter().copied().filter(|&s| s < 3).collect();
        assert_eq!(must.len(), 2);
        assert!(
            day.contains(&3),
            "the 10-minute stop fits beside them: {day:?}"
        );
        let left = (0..3).find(|s| !must.contains(s)).unwrap();
        assert!(sol.dropped.contains(&(left, DropReason::NoTime)));
        assert!(!insertable(&p, 0, &must, left));
    }

    /// A waiting must-visit stop takes the place of as many non-must-visit stops as it
    /// needs, lowest priority first; they wait in its stead.
    #[test]
    fn a_must_visit_stop_displaces_several_others() {
        let net = uniform(5, 100.0);
        let stops = vec![
            StopSpec {
                must_visit: true,
                ..stop(1, 40.0, 0)
            },
            stop(2, 20.0, 9),
            stop(3, 20.0, 8),
            StopSpec {
                must_visit: true,
                ..stop(4, 45.0, 0)
            },
        ];
        let p = problem(
            &net,
            stops,
            vec![GroupSpec { start: 0, end: 0 }],
            1,
            100.0,
            6.0,
        );
        let cancel = AtomicBool::new(false);
        let ctx = Ctx::new(&p, &cancel);
        let mut plan = Solver::new(&ctx);
        // 4 legs + 80 minutes: stop 3 (45 minutes) fits only without both 1 and 2.
        plan.set_route(0, vec![0, 1, 2]);
        plan.waiting.push(3);
        assert!(plan.fill());
        let mut day = plan.routes[0].stops.clone();
        day.sort_unstable();
        assert_eq!(day, vec![0, 3]);
        plan.waiting.sort_unstable();
        assert_eq!(plan.waiting, vec![1, 2]);
        let sol = plan.into_solution();
        check(&p, &sol);
    }

    #[test]
    fn fixed_stops_stay_with_their_group() {
        // Group 0 is based west, group 1 east; the west village belongs to group 1.
        let west = LonLat::new(124.9, 41.7);
        let east = LonLat::new(125.1, 41.7);
        let mut points = vec![west, east];
        let mut stops = Vec::new();
        for k in 0..8 {
            let k = f64::from(k);
            points.push(LonLat::new(west.lon + 0.002 * k, west.lat + 0.001));
            stops.push(StopSpec {
                group: Some(1),
                ..stop(points.len() - 1, 20.0, 1)
            });
            points.push(LonLat::new(east.lon - 0.002 * k, east.lat + 0.001));
            stops.push(stop(points.len() - 1, 20.0, 1));
        }
        let net = StraightLine::new(points, 1.3);
        let groups = vec![
            GroupSpec { start: 0, end: 0 },
            GroupSpec { start: 1, end: 1 },
        ];
        let p = problem(&net, stops, groups, 2, 480.0, 30.0);
        let sol = solve(&p);
        check(&p, &sol);
        assert!(sol.dropped.is_empty());
        for route in &sol.routes[0] {
            assert!(
                route.iter().all(|&s| p.stops[s].group.is_none()),
                "{route:?}"
            );
        }
    }

    #[test]
    fn same_input_same_plan() {
        let inst = clustered(77, 3, 250, 0.4, 0.05);
        let p = inst.problem(4, 420.0, 5);
        let a = solve(&p);
        let b = solve(&p);
        assert_eq!(a, b);
        check(&p, &a);
    }

    /// One township: `groups` groups based at its seat, `villages` villages within about
    /// 8 km of it, `per_village` households each with a 20-minute visit.
    fn township(seed: u64, groups: usize, villages: usize, per_village: usize) -> Instance {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let seat = LonLat::new(125.0, 41.7);
        let mut points = vec![seat];
        let mut stops = Vec::new();
        for _ in 0..villages {
            let lon = seat.lon + rng.random_range(-0.07..0.07) * 1.34;
            let lat = seat.lat + rng.random_range(-0.07..0.07);
            for _ in 0..per_village {
                points.push(LonLat::new(
                    lon + rng.random_range(-0.006..0.006),
                    lat + rng.random_range(-0.005..0.005),
                ));
                stops.push(stop(points.len() - 1, 20.0, rng.random_range(0..4)));
            }
        }
        Instance {
            net: StraightLine::new(points, 1.3),
            stops,
            groups: vec![GroupSpec { start: 0, end: 0 }; groups],
        }
    }

    /// Fills day 1 first (cheapest insertion, nearest stops first), then day 2, ...
    fn fill_first<N: Network>(p: &Problem<'_, N>) -> Solution {
        let mut days: Vec<Vec<usize>> = vec![Vec::new(); p.days];
        let mut order: Vec<usize> = (0..p.stops.len()).collect();
        let alone = |s: usize| schedule(p, 0, &[s]).total_minutes;
        order.sort_by(|&a, &b| alone(a).total_cmp(&alone(b)));
        for s in order {
            let day = days.iter_mut().find(|d| insertable(p, 0, d, s)).unwrap();
            let length = |j: usize| {
                let mut with = day.clone();
                with.insert(j, s);
                schedule(p, 0, &with).total_minutes
            };
            let j = (0..=day.len())
                .min_by(|&x, &y| length(x).total_cmp(&length(y)))
                .unwrap();
            day.insert(j, s);
        }
        Solution {
            routes: vec![days],
            dropped: vec![],
        }
    }

    /// About 1.5 days' worth of work (600 minutes of visits plus driving) over three
    /// days: filling day 1 first leaves day 3 empty; this planner evens the days out.
    #[test]
    fn days_are_balanced_when_everything_fits() {
        let mut worst: f64 = 1.0;
        for seed in 0..10 {
            let inst = township(seed, 1, 6, 5);
            let p = inst.problem(3, 480.0, seed);
            let sol = solve(&p);
            check(&p, &sol);
            assert!(sol.dropped.is_empty());
            let (max, min, empty) = spread(&p, &sol);
            assert_eq!(empty, 0, "seed {seed}: {:?}", sol.routes);
            assert!(
                max <= 1.6 * min,
                "seed {seed}: days from {min:.0} to {max:.0} min"
            );
            worst = worst.max(max / min);

            let naive = fill_first(&p);
            check(&p, &naive);
            let (max, min, empty) = spread(&p, &naive);
            assert!(
                empty > 0 || max > 1.6 * min,
                "seed {seed}: the criterion is too weak"
            );
        }
        eprintln!("longest / shortest day, worst of 10 townships: {worst:.2}");
    }

    /// Groups sharing a base split free work between them: no group idles while another
    /// works long days, and no day stays empty.
    #[test]
    fn groups_share_free_work() {
        let (mut worst_day, mut worst_group): (f64, f64) = (1.0, 1.0);
        for seed in 0..10 {
            let inst = township(seed, 3, 12, 5);
            let p = inst.problem(2, 480.0, seed);
            let sol = solve(&p);
            check(&p, &sol);
            assert!(sol.dropped.is_empty());
            let (max, min, empty) = spread(&p, &sol);
            assert_eq!(empty, 0, "seed {seed}: {:?}", sol.routes);
            let totals: Vec<f64> = (0..3)
                .map(|g| {
                    let days = &sol.routes[g];
                    days.iter().map(|r| schedule(&p, g, r).total_minutes).sum()
                })
                .collect();
            let most = totals.iter().copied().fold(0.0, f64::max);
            let least = totals.iter().copied().fold(f64::INFINITY, f64::min);
            assert!(most <= 1.5 * least, "seed {seed}: groups {totals:.0?}");
            worst_day = worst_day.max(max / min);
            worst_group = worst_group.max(most / least);
        }
        eprintln!("3 groups × 2 days, worst of 10: days {worst_day:.2}, groups {worst_group:.2}");
    }

    #[test]
    fn no_groups_means_every_stop_is_unreachable() {
        let net = uniform(2, 100.0);
        let p = problem(&net, vec![stop(1, 10.0, 0)], vec![], 1, 100.0, 6.0);
        let sol = solve(&p);
        assert!(sol.routes.is_empty());
        assert_eq!(sol.dropped, vec![(0, DropReason::Unreachable)]);
    }

    #[test]
    #[should_panic(expected = "names group")]
    fn unknown_group_panics() {
        let net = uniform(2, 100.0);
        let stops = vec![StopSpec {
            group: Some(1),
            ..stop(1, 10.0, 0)
        }];
        let p = problem(
            &net,
            stops,
            vec![GroupSpec { start: 0, end: 0 }],
            1,
            100.0,
            6.0,
        );
        let _ = solve(&p);
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]

        #[test]
        fn random_instances_keep_every_promise(
            seed in any::<u64>(),
            groups in 1_usize..=4,
            days in 1_usize..=6,
            day_minutes in 120.0_f64..600.0,
            stops in 0_usize..120,
            fixed in 0.0_f64..1.0,
            must in prop_oneof![Just(0.0), 0.0_f64..0.6],
        ) {
            let inst = clustered(seed, groups, stops, fixed, must);
            let p = inst.problem(days, day_minutes, seed);
            let sol = solve(&p);
            check(&p, &sol);
            prop_assert_eq!(sol, solve(&p));
        }
    }
}
