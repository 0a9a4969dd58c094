//! paicha (排查): geospatial analytics and mapping for rural poverty inspection campaigns.
//!
//! Data flows one way: the demo generator (or an import) writes the [`store`]; the
//! [`app`] loads the [`spatial`] index from it; the [`api`] answers HTTP requests from
//! both. Lower layers never call upper ones.

pub mod accounts;
pub mod api;
pub mod app;
pub mod bench;
pub mod demo;
pub mod domain;
pub mod formats;
pub mod import;
pub mod indicators;
pub mod ledger;
pub mod model;
pub mod planner;
#[cfg(test)]
mod prerequisites;
pub mod render;
pub mod settings;
pub mod spatial;
pub mod store;
pub mod tiles;
