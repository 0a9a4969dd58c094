//! The read model: one data version held in memory, whole and immutable.
//!
//! A [`Snapshot`] is built in two steps from the store: [`Places::read`] indexes the
//! boundaries, locates every household and judges its position; the store's derived
//! indicator table is then brought up to date from those places
//! ([`Places::refresh_derived`]); [`Snapshot::load`] reads back what each household
//! adds to each measure ([`Facts`]) and assembles the whole. The service swaps a new
//! snapshot in whole when data changes, so that a request never sees half an update
//! and the `data_version` in cache keys and ETags always matches what it is served from.

mod facts;
mod texts;

use std::collections::HashMap;

use geo::MultiPolygon;
use rayon::prelude::*;

pub use facts::Facts;
pub use texts::Texts;

use crate::domain::{AreaLevel, Crs, PovertyLine};
use crate::spatial::quality::{
    FlagKind, LocatedHousehold, LocationFlag, QualityReport, assess_locations,
};
use crate::spatial::{AreaIndex, IndexedArea, LonLat, PointIndex, crs, mercator};
use crate::store::indicators::PlaceException;
use crate::store::{self, AreaFilter, StoreError};

/// Everything derived from one version of the data.
#[derive(Debug)]
pub struct Snapshot {
    /// The data version the snapshot was built from.
    pub data_version: i64,
    /// Households stored.
    pub households: i64,
    /// Village boundaries, indexed.
    pub villages: AreaIndex,
    /// The county outline (the union of its townships).
    pub county: MultiPolygon<f64>,
    /// Code → name and level of every area.
    pub names: HashMap<String, (String, AreaLevel)>,
    /// Household numbers, in the row order of `locations` and the quality report.
    pub household_nos: Texts,
    /// Every household's registered place and recorded position.
    pub locations: Vec<LocatedHousehold>,
    /// Household positions in WGS-84 (declared system converted, systematic offsets
    /// corrected), indexed by row.
    pub points: PointIndex,
    /// Location quality of every household, village and township.
    pub quality: QualityReport,
    /// Per household row, the village (its index in `villages`) its position lies in.
    pub located: Vec<Option<u32>>,
    /// Per household row, its best WGS-84 position (declared system converted,
    /// systematic offsets corrected), as indexed in `points`.
    pub positions: Vec<Option<LonLat>>,
    /// Per household row, its position in Web Mercator world coordinates at zoom 0
    /// scaled to 0–1 (NaN without a position): heat maps multiply instead of taking
    /// a tangent and a logarithm per household per tile.
    pub mercator: Vec<[f32; 2]>,
    /// Township boundaries, in code order.
    pub townships: Vec<(String, MultiPolygon<f64>)>,
    /// County boundaries, in code order (one, or a city's several).
    pub counties: Vec<(String, MultiPolygon<f64>)>,
    /// City outlines, in code order (none for a county served alone; a province's
    /// several, each its own boundary or the union of its counties').
    pub cities: Vec<(String, MultiPolygon<f64>)>,
    /// The bounding box of every county served: west, south, east, north.
    pub county_bounds: [f64; 4],
    /// Per household row, what it adds to each measure.
    pub facts: Facts,
    /// The poverty line that `income_below_line` judges by, if one is in force.
    pub income_line: Option<PovertyLine>,
    /// The code of the area every other one lies in, what views show when none is
    /// asked: the county, or the city (or province) when several counties are served.
    pub top_code: String,
    /// The date the data describes (`YYYY-MM-DD`), if recorded.
    pub data_date: Option<String>,
    /// Whether the data is the synthetic demo county (said on every map).
    pub demo: bool,
}

impl Snapshot {
    /// Reads one data version from the store and builds the snapshot over it:
    /// boundaries and household positions, indexed; location quality; each
    /// household's best position; and the facts of `household_indicators`. Nothing is
    /// written: the derived table must be fresh for this data version, which
    /// [`Places::refresh_derived`] sees to.
    ///
    /// # Errors
    /// The [`StoreError`] of the first query that fails, or [`StoreError::Invalid`]
    /// when the derived table is stale or does not hold every household.
    pub fn load(conn: &duckdb::Connection, places: Places) -> Result<Self, StoreError> {
        Self::load_with(conn, places, None)
    }

    /// [`Snapshot::load`], given the facts read already beside the places, with the
    /// stamp of the table they were read from ([`Facts::read`]): kept when the table
    /// fresh now has that stamp, else read again.
    ///
    /// # Errors
    /// As [`Snapshot::load`].
    pub fn load_with(
        conn: &duckdb::Connection,
        places: Places,
        early: Option<(Option<String>, Facts)>,
    ) -> Result<Self, StoreError> {
        let line = places.income_line.as_ref().map(|l| l.yuan_per_capita);
        if !store::indicators::is_fresh(conn, places.data_version, line)? {
            return Err(StoreError::Invalid(format!(
                "the derived indicator table is not that of data version {}",
                places.data_version
            )));
        }
        let clock = Phases::start();
        let held = store::indicators::stamp_held(conn)?;
        let facts = match early {
            Some((stamp, facts)) if stamp.is_some() && stamp == held => facts,
            _ => Facts::read(conn)?.1,
        };
        clock.lap("facts read");
        if facts.len() != places.locations.len() {
            return Err(StoreError::Invalid(format!(
                "derived indicators hold {} households, the store {}",
                facts.len(),
                places.locations.len()
            )));
        }
        let Places {
            data_version,
            names,
            county,
            townships,
            counties,
            cities,
            villages,
            household_nos,
            locations,
            quality,
            positions,
            located,
            income_line,
            top_code,
            data_date,
            demo,
        } = places;
        let county_bounds = geo::BoundingRect::bounding_rect(&county)
            .map_or([0.0; 4], |r| [r.min().x, r.min().y, r.max().x, r.max().y]);
        let points = PointIndex::from_rows(&positions);
        let mercator = world_fractions(&positions);
        clock.lap("positions indexed");
        let snapshot = Self {
            data_version,
            households: household_nos.len() as i64,
            points,
            mercator,
            located,
            positions,
            townships,
            counties,
            cities,
            county_bounds,
            facts,
            income_line,
            top_code,
            data_date,
            demo,
            villages,
            county,
            names,
            household_nos,
            locations,
            quality,
        };
        if tracing::enabled!(tracing::Level::DEBUG) {
            let parts = snapshot.heap_bytes();
            let total: usize = parts.iter().map(|(_, b)| b).sum();
            let per = |b: usize| b as f64 / snapshot.household_nos.len().max(1) as f64;
            for (part, bytes) in &parts {
                tracing::debug!(
                    bytes,
                    per_household = per(*bytes),
                    "snapshot memory: {part}"
                );
            }
            tracing::debug!(bytes = total, per_household = per(total), "snapshot memory");
        }
        Ok(snapshot)
    }

    /// Bytes the per-household parts hold on the heap, part by part (the rest, areas
    /// and quality groups, is small): how the memory at 10 million households is
    /// spent (BENCHMARKS.md).
    #[must_use]
    pub fn heap_bytes(&self) -> Vec<(&'static str, usize)> {
        let flags: usize = self
            .quality
            .flagged
            .iter()
            .map(|f| size_of_val(f) + f.flags.capacity() * size_of::<LocationFlag>())
            .sum();
        vec![
            ("household numbers", self.household_nos.heap_bytes()),
            (
                "registered places",
                self.locations.capacity() * size_of::<LocatedHousehold>(),
            ),
            (
                "positions",
                self.positions.capacity() * size_of::<Option<LonLat>>()
                    + self.mercator.capacity() * size_of::<[f32; 2]>(),
            ),
            (
                "located villages",
                self.located.capacity() * size_of::<Option<u32>>(),
            ),
            ("point index", self.points.heap_bytes()),
            ("facts", self.facts.heap_bytes()),
            ("location flags", flags),
            ("village index", self.villages.heap_bytes()),
        ]
    }

    /// The name of an area, if the code is known.
    #[must_use]
    pub fn name(&self, code: &str) -> Option<&str> {
        self.names.get(code).map(|(n, _)| n.as_str())
    }

    /// An area's level, if the code is known.
    #[must_use]
    pub fn level(&self, code: &str) -> Option<AreaLevel> {
        self.names.get(code).map(|(_, l)| *l)
    }
}

/// The area every other one lies in: the one area of the highest level when every
/// other code begins with its code; else (counties of several cities, with no row
/// above them) the first county.
fn top_area<S: std::hash::BuildHasher>(
    names: &HashMap<String, (String, AreaLevel), S>,
) -> Option<String> {
    let mut codes: Vec<(&String, AreaLevel)> = names.iter().map(|(c, (_, l))| (c, *l)).collect();
    codes.sort_by_key(|(c, l)| (l.code_len(), (*c).clone()));
    let (first, _) = codes.first()?;
    if codes.iter().all(|(c, _)| c.starts_with(first.as_str())) {
        return Some((*first).clone());
    }
    codes
        .iter()
        .find(|(_, l)| *l == AreaLevel::County)
        .map(|(c, _)| (*c).clone())
}

/// The spatial half of a snapshot, read from the store before the derived indicator
/// table is brought up to date: the boundaries indexed, every household located and
/// its position judged. Two steps, because the derived table needs the places found
/// here ([`Places::place_exceptions`]) and the snapshot needs the table.
#[derive(Debug)]
pub struct Places {
    data_version: i64,
    names: HashMap<String, (String, AreaLevel)>,
    county: MultiPolygon<f64>,
    townships: Vec<(String, MultiPolygon<f64>)>,
    counties: Vec<(String, MultiPolygon<f64>)>,
    cities: Vec<(String, MultiPolygon<f64>)>,
    villages: AreaIndex,
    household_nos: Texts,
    locations: Vec<LocatedHousehold>,
    quality: QualityReport,
    positions: Vec<Option<LonLat>>,
    located: Vec<Option<u32>>,
    income_line: Option<PovertyLine>,
    top_code: String,
    data_date: Option<String>,
    demo: bool,
}

impl Places {
    /// Reads boundaries and household positions, indexes them, assesses location
    /// quality and finds each household's village by position. `poverty_lines` are
    /// the catalog's: the one in force for the stored income year and the county is
    /// kept, for `income_below_line`.
    ///
    /// # Errors
    /// The [`StoreError`] of the first query that fails.
    pub fn read(
        conn: &duckdb::Connection,
        poverty_lines: &[PovertyLine],
    ) -> Result<Self, StoreError> {
        let clock = Phases::start();
        let all = store::areas::records(conn, &AreaFilter::default())?;
        let names: HashMap<String, (String, AreaLevel)> = all
            .iter()
            .map(|r| {
                (
                    r.summary.code.clone(),
                    (r.summary.name.clone(), r.summary.level),
                )
            })
            .collect();
        let of_level = |level: AreaLevel| -> Vec<(String, MultiPolygon<f64>)> {
            all.iter()
                .filter(|r| r.summary.level == level)
                .map(|r| (r.summary.code.clone(), r.geometry.clone()))
                .collect()
        };
        let townships = of_level(AreaLevel::Township);
        let counties = of_level(AreaLevel::County);
        let cities = of_level(AreaLevel::City);
        // A household outside every county served is outside "the county".
        let county = match counties.as_slice() {
            [(_, one)] => one.clone(),
            several => geo::unary_union(several.iter().flat_map(|(_, g)| g.0.iter())),
        };
        let top_code = top_area(&names).unwrap_or_default();
        let villages = AreaIndex::new(
            all.into_iter()
                .filter(|r| r.summary.level.is_village_like())
                .map(|r| IndexedArea {
                    township_code: r.summary.parent_code.unwrap_or_default(),
                    code: r.summary.code,
                    geometry: r.geometry,
                })
                .collect(),
        );
        clock.lap("boundaries read and indexed");
        let mut household_nos = Texts::default();
        let mut locations = Vec::new();
        store::households::for_each_location(conn, |number, h| {
            household_nos.push(number);
            locations.push(LocatedHousehold {
                village_code: h.village_code,
                township_code: h.township_code,
                gps: h.gps,
            });
        })?;
        household_nos.shrink_to_fit();
        locations.shrink_to_fit();
        clock.lap("household locations read");
        let quality = assess_locations(&locations, &villages, &county);
        clock.lap("locations assessed");
        let positions = positions(&locations, &quality);
        let located: Vec<Option<u32>> = positions
            .par_iter()
            .map(|p| p.and_then(|p| villages.locate(p)))
            .collect();
        clock.lap("households located");
        let income_line = store::meta(conn, "income_year")?
            .and_then(|y| y.parse().ok())
            .and_then(|year| PovertyLine::in_force(poverty_lines, year, &top_code))
            .cloned();
        Ok(Self {
            data_version: store::data_version(conn)?,
            data_date: store::meta(conn, "data_date")?,
            demo: store::meta(conn, "source")?.as_deref() == Some("demo"),
            names,
            county,
            townships,
            counties,
            cities,
            villages,
            household_nos,
            locations,
            quality,
            positions,
            located,
            income_line,
            top_code,
        })
    }

    /// The households whose located village differs from the registered one or whose
    /// position has a problem, for the indicator rules (see [`PlaceException`]).
    #[must_use]
    pub fn place_exceptions(&self) -> Vec<PlaceException> {
        place_exceptions(
            &self.locations,
            &self.quality,
            &self.located,
            &self.villages,
        )
    }

    /// Brings the store's derived indicator table up to this data version and poverty
    /// line, from the places found here, unless it already is: the store's own step,
    /// run before [`Snapshot::load`].
    ///
    /// # Errors
    /// The [`StoreError`] that stopped the derivation; the old table then stays.
    pub fn refresh_derived(&self, conn: &duckdb::Connection) -> Result<(), StoreError> {
        let line = self.income_line.as_ref().map(|l| l.yuan_per_capita);
        if store::indicators::is_fresh(conn, self.data_version, line)? {
            return Ok(());
        }
        store::indicators::derive(conn, self.data_version, line, &self.place_exceptions())
    }
}

/// Times the steps of loading a snapshot, at debug level: start-up at 10 million
/// households is measured step by step (BENCHMARKS.md).
struct Phases(std::cell::Cell<std::time::Instant>);

impl Phases {
    fn start() -> Self {
        Self(std::cell::Cell::new(std::time::Instant::now()))
    }

    fn lap(&self, step: &'static str) {
        let now = std::time::Instant::now();
        let seconds = now.duration_since(self.0.replace(now)).as_secs_f64();
        tracing::debug!(seconds, "{step}");
    }
}

/// Positions in Web Mercator world coordinates scaled to 0–1, NaN where none.
fn world_fractions(positions: &[Option<LonLat>]) -> Vec<[f32; 2]> {
    positions
        .par_iter()
        .map(|p| {
            p.map_or([f32::NAN; 2], |p| {
                [
                    mercator::lon_to_fraction(p.lon) as f32,
                    mercator::lat_to_fraction(p.lat) as f32,
                ]
            })
        })
        .collect()
}

/// The households whose located village differs from the registered one or whose
/// position has a problem, for the indicator rules (see [`PlaceException`]).
fn place_exceptions(
    locations: &[LocatedHousehold],
    quality: &QualityReport,
    located: &[Option<u32>],
    villages: &AreaIndex,
) -> Vec<PlaceException> {
    let mut flagged = vec![(false, false, None); locations.len()];
    for f in &quality.flagged {
        let kinds = || f.flags.iter().map(LocationFlag::kind);
        let corrected = f.flags.iter().find_map(|flag| match flag {
            LocationFlag::Offset { crs, corrected, .. } => Some((corrected[0], corrected[1], *crs)),
            _ => None,
        });
        flagged[f.row as usize] = (
            kinds().any(|k| k == FlagKind::NoGps),
            kinds().any(|k| {
                matches!(
                    k,
                    FlagKind::OutsideVillage | FlagKind::OutsideCounty | FlagKind::Swapped
                )
            }),
            corrected,
        );
    }
    locations
        .iter()
        .zip(located)
        .zip(flagged)
        .enumerate()
        .filter_map(|(row, ((h, at), (no_gps, mismatch, corrected)))| {
            let area = at.filter(|_| !no_gps).and_then(|i| villages.area(i));
            let same = area.is_some_and(|a| *a.code == *h.village_code);
            (no_gps || mismatch || !same || corrected.is_some()).then(|| PlaceException {
                row: row as u32,
                located_village: area.map(|a| a.code.clone()),
                located_township: area.map(|a| a.township_code.clone()),
                has_position: !no_gps,
                mismatch,
                corrected,
            })
        })
        .collect()
}

/// Each household's best WGS-84 position: its declared system converted, or the
/// offset-corrected position where its group recorded in another system.
fn positions(locations: &[LocatedHousehold], quality: &QualityReport) -> Vec<Option<LonLat>> {
    let mut out: Vec<Option<LonLat>> = locations
        .iter()
        .map(|h| {
            h.gps
                .map(|g| crs::convert(LonLat::new(g.lon, g.lat), g.crs, Crs::Wgs84))
        })
        .collect();
    for flagged in &quality.flagged {
        for flag in &flagged.flags {
            if let LocationFlag::Offset { corrected, .. } = flag {
                out[flagged.row as usize] = Some(LonLat::new(corrected[0], corrected[1]));
            }
        }
    }
    out
}
