//! Field-visit planning for inspection groups (督查组). So far: the route solver that
//! orders a day's stops ([`tsp`]) and the TSPLIB reader its benchmark runs on
//! ([`tsplib`]); targets, days and exports come with the planner itself.

pub mod tsp;
pub mod tsplib;
