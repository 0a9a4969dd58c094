//! The demo county: Xinbin's real division codes, names and outline, with synthetic
//! boundaries and households, written into a new database.
//!
//! Township and village boundaries and household data are not public, so they are
//! generated, deterministically for a seed: Voronoi cells of well-spread seeds
//! clipped to the real outline ([`boundaries`]), then households in settlements
//! along each village's valley ([`households`]). Deliberate flaws (missing, wrong,
//! duplicate, swapped, coarse and offset positions) are recorded in `demo_flaws` so
//! that tests can check that later steps find them.
//!
//! # Pipeline
//! 1. Parse the embedded `data/xinbin` divisions and outline.
//! 2. Generate township and village boundaries inside the outline.
//! 3. Choose the 53 poverty villages, the hardship hot spots and each township's GPS
//!    habits, and share the households out between villages.
//! 4. Stream each village's households into a [`DatabaseBuilder`], which sorts them
//!    into Hilbert order and renames the finished file into place.

pub mod accounts;
mod boundaries;
pub mod campaign;
mod city;
mod dense;
mod details;
mod exits;
pub mod households;
mod measures;
pub mod people;
mod rolls;
pub mod visits;

use std::path::Path;

use geo::{ChamberlainDuquetteArea, InteriorPoint, MultiPolygon, Polygon};
use rand::seq::{IndexedRandom, IteratorRandom};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::domain::{Area, AreaLevel};
use crate::spatial::LonLat;
use crate::store::{AreaRow, DatabaseBuilder, StoreError};
use households::{HotSpot, TownshipGps, VillageSpec};

/// The embedded division list (code, name, level, parent code).
pub const DIVISIONS_CSV: &str = include_str!("../../data/xinbin/divisions.csv");
/// The embedded county outline (one GeoJSON polygon).
pub const COUNTY_GEOJSON: &str = include_str!("../../data/xinbin/county.geojson");

/// Households in the default demo, about Xinbin's rural households.
pub const DEFAULT_HOUSEHOLDS: u64 = 70_000;
/// The default seed (the year of the seed 000 campaign).
pub const DEFAULT_SEED: u64 = 2019;
/// The largest demo the generator accepts.
pub const MAX_HOUSEHOLDS: u64 = 10_000_000;
/// Poverty villages (贫困村) in Xinbin, per seed 000.
pub const POVERTY_VILLAGES: usize = 53;
/// The county seat's township (新宾镇), whose app is never the faulty one.
const SEAT_TOWNSHIP: &str = "210422100";
/// Mixed into the seed of the stream the fields no indicator reads draw from.
const DETAILS_KEY: u64 = 0x6465_7461_696c_7331;
/// Mixed into the seed of the stream the assistance measures by year draw from.
const MEASURES_KEY: u64 = 0x6d65_6173_7572_6573;
/// Xinbin's code.
const XINBIN: &str = "210422";

/// How big a demo to build, and from which seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoOptions {
    /// Number of households, 1 to [`MAX_HOUSEHOLDS`].
    pub households: u64,
    /// Seed of every random choice.
    pub seed: u64,
    /// Dense villages, for benchmarks: the city's and province's drawn counties get 40
    /// to 64 villages a township (instead of 6 to 12), and every village's edges get
    /// vertices added with a little noise, shared edges alike on both sides, until
    /// each village has at least [`DENSE_VERTICES`].
    pub dense: bool,
}

pub use dense::DENSE_VERTICES;

impl Default for DemoOptions {
    fn default() -> Self {
        Self {
            households: DEFAULT_HOUSEHOLDS,
            seed: DEFAULT_SEED,
            dense: false,
        }
    }
}

/// What a demo build produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoSummary {
    /// Households stored.
    pub households: u64,
    /// Townships.
    pub townships: usize,
    /// Villages and communities.
    pub villages: usize,
    /// Township whose app recorded GCJ-02 while declaring WGS-84.
    pub undeclared_gcj02_township: String,
    /// Township whose app recorded and declared GCJ-02.
    pub declared_gcj02_township: String,
}

/// Errors of the demo build.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The options are out of range.
    #[error("--households must be between 1 and {MAX_HOUSEHOLDS}, got {0}")]
    Households(u64),
    /// The embedded data could not be read (a build defect).
    #[error("embedded demo data is invalid: {0}")]
    EmbeddedData(String),
    /// Boundary generation failed.
    #[error(transparent)]
    Boundaries(#[from] boundaries::BoundaryError),
    /// Synthetic ID numbers ran out.
    #[error(transparent)]
    Ids(#[from] people::IdsExhausted),
    /// Writing the database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One row of the division list.
#[derive(Debug, Clone, serde::Deserialize)]
struct DivisionRecord {
    code: String,
    name: String,
    level: String,
    parent_code: String,
}

/// The Xinbin divisions: the county, then townships, villages and communities.
///
/// # Errors
/// [`DemoError::EmbeddedData`] if the embedded CSV is malformed.
pub fn divisions() -> Result<Vec<Area>, DemoError> {
    let mut reader = csv::Reader::from_reader(DIVISIONS_CSV.as_bytes());
    reader
        .deserialize::<DivisionRecord>()
        .enumerate()
        .map(|(i, r)| {
            let r = r.map_err(|e| {
                DemoError::EmbeddedData(format!("divisions.csv row {}: {e}", i + 2))
            })?;
            let level = AreaLevel::from_code(&r.level).ok_or_else(|| {
                DemoError::EmbeddedData(format!(
                    "divisions.csv row {}: unknown level {}",
                    i + 2,
                    r.level
                ))
            })?;
            // The county's parent is written as the 6-digit 210400; the city's code is
            // its first four digits, as a 4-digit city code everywhere else.
            let parent_code = match r.parent_code.strip_suffix("00") {
                Some(city) if level == AreaLevel::County => city.to_owned(),
                _ => r.parent_code,
            };
            Ok(Area {
                code: r.code,
                name: r.name,
                level,
                parent_code: Some(parent_code),
            })
        })
        .collect()
}

/// The real county outline, WGS-84 (see `data/xinbin/SOURCES.md` on its precision).
///
/// # Errors
/// [`DemoError::EmbeddedData`] if the embedded GeoJSON is not one polygon.
pub fn county_outline() -> Result<Polygon<f64>, DemoError> {
    let bad = |e: String| DemoError::EmbeddedData(format!("county.geojson: {e}"));
    let gj: geojson::GeoJson = COUNTY_GEOJSON
        .parse()
        .map_err(|e: geojson::Error| bad(e.to_string()))?;
    let geojson::GeoJson::FeatureCollection(fc) = gj else {
        return Err(bad("not a FeatureCollection".into()));
    };
    let geometry = fc
        .features
        .into_iter()
        .next()
        .and_then(|f| f.geometry)
        .ok_or_else(|| bad("no geometry".into()))?;
    Polygon::try_from(geometry.value).map_err(|e| bad(e.to_string()))
}

/// Builds the demo county into a new database at `path`, replacing any database there
/// only once the whole build has succeeded. `on_household` is called after each
/// household, for a progress bar.
///
/// # Errors
/// [`DemoError::Households`] for a size out of range, or the error that stopped the
/// build (the file at `path` is then untouched).
pub fn build(
    path: &Path,
    options: &DemoOptions,
    mut on_household: impl FnMut(),
) -> Result<DemoSummary, DemoError> {
    check(options)?;
    let mut counties = [County::xinbin(options.seed)?];
    if options.dense {
        densify(&mut counties);
    }
    write(path, &counties, &[], options, &mut on_household)
}

/// Builds the demo city (`paicha demo --city`): Xinbin as [`build`] makes it, beside
/// two more of Fushun's counties (抚顺县, 清原满族自治县) with their real codes and
/// published outlines and made-up townships and villages, under the city 抚顺市 whose
/// outline is their union; `options.households` are shared between the three by villages.
///
/// # Errors
/// As [`build`].
pub fn build_city(
    path: &Path,
    options: &DemoOptions,
    mut on_household: impl FnMut(),
) -> Result<DemoSummary, DemoError> {
    beside_xinbin(
        path,
        options,
        city::neighbours,
        &[city::city()],
        &mut on_household,
    )
}

/// Builds the demo province (`paicha demo --province`): the demo city's three counties
/// and two of Benxi's (本溪满族自治县, 桓仁满族自治县, real codes and published outlines,
/// made-up townships and villages) under 抚顺市 and 本溪市, under 辽宁省; each city's and
/// the province's outline is the union of its counties'. `options.households` are
/// shared between the five by villages.
///
/// # Errors
/// As [`build`].
pub fn build_province(
    path: &Path,
    options: &DemoOptions,
    mut on_household: impl FnMut(),
) -> Result<DemoSummary, DemoError> {
    beside_xinbin(
        path,
        options,
        city::province_neighbours,
        &[city::province(), city::city(), city::benxi()],
        &mut on_household,
    )
}

/// Draws the counties beside Xinbin from its outline, the seed and whether villages
/// are dense.
type DrawNeighbours = fn(&Polygon<f64>, u64, bool) -> Result<Vec<city::Drawn>, DemoError>;

/// Xinbin and the counties `neighbours` draws beside it, under the areas `above` (the
/// top first), written as [`write`] does.
fn beside_xinbin(
    path: &Path,
    options: &DemoOptions,
    neighbours: DrawNeighbours,
    above: &[Area],
    on_household: &mut impl FnMut(),
) -> Result<DemoSummary, DemoError> {
    check(options)?;
    let mut counties = vec![County::xinbin(options.seed)?];
    for (areas, outline) in neighbours(&county_outline()?, options.seed, options.dense)? {
        counties.push(County::draw(&areas, &outline, options.seed)?);
    }
    if options.dense {
        densify(&mut counties);
    }
    write(path, &counties, above, options, on_household)
}

/// Every county's villages given [`DENSE_VERTICES`] vertices at least, all on one
/// spacing, so that villages on either side of a county border still meet.
fn densify(counties: &mut [County]) {
    let mut all: Vec<MultiPolygon<f64>> = counties
        .iter_mut()
        .flat_map(|c| std::mem::take(&mut c.village_geometry))
        .collect();
    dense::densify(&mut all, DENSE_VERTICES);
    let mut rest = all.into_iter();
    for county in counties {
        county.village_geometry = rest.by_ref().take(county.villages.len()).collect();
    }
}

/// Refuses a size out of range before anything is made.
fn check(options: &DemoOptions) -> Result<(), DemoError> {
    if options.households == 0 || options.households > MAX_HOUSEHOLDS {
        return Err(DemoError::Households(options.households));
    }
    Ok(())
}

/// Writes drawn counties (and the areas above them, the top first: the city, or the
/// province and its cities) with their households, ledger and metadata into a new
/// database at `path`.
#[expect(
    clippy::too_many_lines,
    reason = "the build's steps in the order the database is written"
)]
fn write(
    path: &Path,
    counties: &[County],
    above: &[Area],
    options: &DemoOptions,
    on_household: &mut impl FnMut(),
) -> Result<DemoSummary, DemoError> {
    let total_villages: usize = counties.iter().map(|c| c.villages.len()).sum();
    // Households shared by villages, the remainder to the first county.
    let mut budgets: Vec<u64> = counties
        .iter()
        .map(|c| options.households * c.villages.len() as u64 / total_villages as u64)
        .collect();
    budgets[0] += options.households - budgets.iter().sum::<u64>();
    let plans: Vec<Plan> = counties
        .iter()
        .zip(&budgets)
        .enumerate()
        .map(|(i, (county, &households))| Plan::new(county, households, options.seed + i as u64))
        .collect();

    let mut builder = DatabaseBuilder::create(path)?;
    let mut rows = Vec::new();
    for area in above {
        rows.push(AreaRow {
            area: area.clone(),
            poverty_village: false,
            geometry: geo::unary_union(
                counties
                    .iter()
                    .filter(|c| c.county.code.starts_with(area.code.as_str()))
                    .flat_map(|c| c.townships.iter().flat_map(|(_, g)| g.0.iter())),
            ),
        });
    }
    for (county, plan) in counties.iter().zip(&plans) {
        rows.extend(county.area_rows(plan));
    }
    builder.write_areas(&rows)?;
    let catalog = crate::indicators::Catalog::builtin()
        .map_err(|e| DemoError::EmbeddedData(e.to_string()))?;
    builder.write_poverty_lines(&catalog.poverty_lines)?;
    let mut ids = people::IdNumbers::default();
    let kinds = crate::domain::aid::MeasureKinds::builtin();
    let mut measure_rows = Vec::new();
    let mut sink = builder.households()?;
    for (c, (county, plan)) in counties.iter().zip(&plans).enumerate() {
        for (i, v) in county.villages.iter().enumerate() {
            let parent = v.parent_code.as_deref().unwrap_or_default();
            let neighbours: Vec<(&str, &MultiPolygon<f64>)> = county
                .villages
                .iter()
                .zip(&county.village_geometry)
                .filter(|(w, _)| w.code != v.code && w.parent_code.as_deref() == Some(parent))
                .map(|(w, g)| (w.code.as_str(), g))
                .collect();
            let spec = VillageSpec {
                code: &v.code,
                geometry: &county.village_geometry[i],
                poverty_village: plan.poverty[i],
                community: v.level == AreaLevel::Community,
                gps: plan.township_gps(parent),
                neighbours: &neighbours,
            };
            // Each village has its own stream, so its households do not depend on
            // others (the first county's streams are the single-county demo's).
            let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
            rng.set_stream((c as u64) << 32 | (i as u64 + 1));
            // The fields added later draw from a key of their own, so that the draws
            // above (and every figure of the demo) stayed as they were.
            let mut details = ChaCha8Rng::seed_from_u64(options.seed ^ DETAILS_KEY);
            details.set_stream((c as u64) << 32 | (i as u64 + 1));
            let mut by_year = ChaCha8Rng::seed_from_u64(options.seed ^ MEASURES_KEY);
            by_year.set_stream((c as u64) << 32 | (i as u64 + 1));
            let generated = households::generate_village(
                &mut rng,
                &mut details,
                &spec,
                plan.shares[i],
                &plan.hot_spots,
                &mut ids,
            )?;
            for (h, flaws) in generated {
                measure_rows.extend(measures::of_household(&mut by_year, &h, &kinds));
                sink.push(&h)?;
                for f in &flaws {
                    sink.flaw(f)?;
                }
                on_household();
            }
        }
    }
    sink.flush()?;
    // The departments' rolls, from a stream of their own after every household.
    if options.households <= rolls::MAX_HOUSEHOLDS {
        rolls::write(&mut builder, options.seed, &mut ids)?;
    } else {
        tracing::warn!(
            households = options.households,
            "no department rolls drawn: the demo draws them in memory, for up to {} households",
            rolls::MAX_HOUSEHOLDS
        );
    }
    builder.write_measures(&measure_rows)?;
    drop(measure_rows);
    // The exit form and the persons outside the registry, from streams of their own.
    exits::write(&mut builder, options.seed, &mut ids)?;
    let templates =
        crate::ledger::checklist::builtin().map_err(|e| DemoError::EmbeddedData(e.to_string()))?;
    let source = templates
        .iter()
        .find(|t| t.id == campaign::SOURCE_TEMPLATE_ID)
        .ok_or_else(|| {
            DemoError::EmbeddedData(format!("no template {}", campaign::SOURCE_TEMPLATE_ID))
        })?;
    let template = &campaign::county_template(source);
    builder.write_template(template)?;
    let villages: Vec<(String, bool)> = counties
        .iter()
        .zip(&plans)
        .flat_map(|(county, plan)| {
            county
                .villages
                .iter()
                .zip(&plan.poverty)
                .map(|(v, p)| (v.code.clone(), *p))
        })
        .collect();
    let (area_code, area_name) = above.first().map_or_else(
        || (counties[0].county.code.clone(), "新宾县".to_owned()),
        |c| (c.code.clone(), c.name.clone()),
    );
    let (mut demo_campaign, mut entries) =
        campaign::generate(&villages, template, &area_code, options.seed);
    demo_campaign.name = format!("{area_name}2019年脱贫攻坚问题大排查");
    builder.write_campaign(&demo_campaign, &entries)?;
    let home = &counties[0];
    let townships: Vec<(String, Vec<String>)> = home
        .townships
        .iter()
        .map(|(t, _)| {
            let villages = home
                .villages
                .iter()
                .filter(|v| v.parent_code.as_deref() == Some(t.code.as_str()))
                .map(|v| v.code.clone())
                .collect();
            (t.code.clone(), villages)
        })
        .filter(|(_, v): &(String, Vec<String>)| !v.is_empty())
        .collect();
    // The first three weeks of the campaign's visits, one group per township.
    let township_names: Vec<(String, String)> = home
        .townships
        .iter()
        .filter(|(t, _)| townships.iter().any(|(c, _)| *c == t.code))
        .map(|(t, _)| (t.code.clone(), t.name.clone()))
        .collect();
    let codes: Vec<String> = township_names.iter().map(|(c, _)| c.clone()).collect();
    let per_township = visits::WEEKS * 5 * visits::STOPS_PER_DAY;
    let households = builder.households_for_visits(&codes, per_township)?;
    let mut weeks = visits::generate(&demo_campaign, &township_names, &households, options.seed);
    let ledger_updates = visits::ledger_changes(&mut weeks, &mut entries);
    for (plan, recorded) in &weeks {
        builder.write_plan_and_visits(plan, recorded)?;
    }
    builder.write_ledger_updates(&ledger_updates)?;
    let mut demo_accounts = Vec::new();
    for account in accounts::accounts(&area_code, &townships, options.seed)
        .map_err(|e| DemoError::EmbeddedData(e.to_string()))?
    {
        builder.write_account(&account)?;
        demo_accounts.push(account.principal.user);
    }
    let (y, m, d) = households::DATA_DATE;
    let version = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |t| t.as_millis());
    let first = &plans[0];
    let stored = builder.finish(&[
        ("data_version", version.to_string()),
        ("source", "demo".into()),
        ("demo_seed", options.seed.to_string()),
        ("data_date", format!("{y:04}-{m:02}-{d:02}")),
        ("income_year", measures::INCOME_YEAR.to_string()),
        ("income_region", "210000".into()),
        (
            "demo_undeclared_gcj02_township",
            first.undeclared_gcj02.clone(),
        ),
        ("demo_declared_gcj02_township", first.declared_gcj02.clone()),
        // The accounts the sign-in page offers, with the demo password.
        ("demo_accounts", demo_accounts.join(",")),
    ])?;
    Ok(DemoSummary {
        households: stored,
        townships: counties.iter().map(|c| c.townships.len()).sum(),
        villages: total_villages,
        undeclared_gcj02_township: first.undeclared_gcj02.clone(),
        declared_gcj02_township: first.declared_gcj02.clone(),
    })
}

/// The demo county's village boundaries for a seed, without any household: what
/// benchmarks of the spatial index run on.
///
/// # Errors
/// [`DemoError`] if the embedded data or the boundary generation fails.
pub fn village_boundaries(seed: u64) -> Result<Vec<crate::spatial::IndexedArea>, DemoError> {
    let county = County::xinbin(seed)?;
    Ok(county
        .villages
        .into_iter()
        .zip(county.village_geometry)
        .map(|(v, geometry)| crate::spatial::IndexedArea {
            township_code: v.parent_code.unwrap_or_default(),
            code: v.code,
            geometry,
        })
        .collect())
}

/// A county with its drawn boundaries, villages in code order.
#[expect(
    clippy::struct_field_names,
    reason = "the county's own division beside its townships and villages"
)]
struct County {
    county: Area,
    townships: Vec<(Area, MultiPolygon<f64>)>,
    villages: Vec<Area>,
    village_geometry: Vec<MultiPolygon<f64>>,
}

impl County {
    /// Xinbin: the embedded divisions and outline, with the boundaries drawn.
    fn xinbin(seed: u64) -> Result<Self, DemoError> {
        Self::draw(&divisions()?, &county_outline()?, seed)
    }

    /// Draws township and village boundaries for a county's divisions inside its
    /// outline.
    fn draw(areas: &[Area], outline: &Polygon<f64>, seed: u64) -> Result<Self, DemoError> {
        let county = areas
            .iter()
            .find(|a| a.level == AreaLevel::County)
            .cloned()
            .ok_or_else(|| DemoError::EmbeddedData("divisions.csv has no county".into()))?;
        let township_areas: Vec<&Area> = areas
            .iter()
            .filter(|a| a.level == AreaLevel::Township)
            .collect();
        let villages: Vec<Area> = areas
            .iter()
            .filter(|a| a.level.is_village_like())
            .cloned()
            .collect();
        let drawn = boundaries::generate_boundaries(
            outline,
            &township_areas
                .iter()
                .map(|t| t.code.clone())
                .collect::<Vec<_>>(),
            &villages
                .iter()
                .map(|v| boundaries::DivisionInput {
                    code: v.code.clone(),
                    parent_code: v.parent_code.clone().unwrap_or_default(),
                    is_community: v.level == AreaLevel::Community,
                })
                .collect::<Vec<_>>(),
            seed,
        )?;
        let find = |list: &[(String, MultiPolygon<f64>)], code: &str| {
            list.iter()
                .find(|(c, _)| c == code)
                .map(|(_, g)| g.clone())
                .ok_or_else(|| DemoError::EmbeddedData(format!("no boundary drawn for {code}")))
        };
        let townships = township_areas
            .iter()
            .map(|t| Ok(((*t).clone(), find(&drawn.townships, &t.code)?)))
            .collect::<Result<_, DemoError>>()?;
        let village_geometry = villages
            .iter()
            .map(|v| find(&drawn.villages, &v.code))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            county,
            townships,
            villages,
            village_geometry,
        })
    }

    /// Every area as a row to store: the county, its townships, its villages.
    fn area_rows(&self, plan: &Plan) -> Vec<AreaRow> {
        // The county is stored as the union of its townships: the generator cleans
        // slivers off the published outline (a few millionths of its area), and the
        // stored levels must tile each other exactly.
        let county_geometry = geo::unary_union(self.townships.iter().flat_map(|(_, g)| g.0.iter()));
        let mut rows = vec![AreaRow {
            area: self.county.clone(),
            poverty_village: false,
            geometry: county_geometry,
        }];
        rows.extend(self.townships.iter().map(|(t, g)| AreaRow {
            area: t.clone(),
            poverty_village: false,
            geometry: g.clone(),
        }));
        rows.extend(self.villages.iter().enumerate().map(|(i, v)| AreaRow {
            area: v.clone(),
            poverty_village: plan.poverty[i],
            geometry: self.village_geometry[i].clone(),
        }));
        rows
    }
}

/// The county-wide random choices, made once from the seed.
struct Plan {
    /// Per village (in `County::villages` order): a poverty village?
    poverty: Vec<bool>,
    /// The township whose app recorded GCJ-02 while declaring WGS-84.
    undeclared_gcj02: String,
    /// The township whose app recorded and declared GCJ-02.
    declared_gcj02: String,
    hot_spots: Vec<HotSpot>,
    /// Households per village.
    shares: Vec<u64>,
}

impl Plan {
    fn new(county: &County, households: u64, seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let villages: Vec<&Area> = county.villages.iter().collect();
        let geometry: Vec<&MultiPolygon<f64>> = county.village_geometry.iter().collect();
        // Xinbin's own count and seat; other counties about the same share of their
        // villages, around their first township.
        let (count, seat) = if county.county.code == XINBIN {
            (POVERTY_VILLAGES, LonLat::new(125.04, 41.73))
        } else {
            let seat = county
                .townships
                .first()
                .map_or(LonLat::new(0.0, 0.0), |(_, g)| label(g));
            (villages.len() * POVERTY_VILLAGES / 194, seat)
        };
        let poverty = choose_poverty_villages(&mut rng, &villages, &geometry, (count, seat));
        let mut pick_township = |exclude: &str| {
            county
                .townships
                .iter()
                .map(|(t, _)| &t.code)
                .filter(|c| *c != SEAT_TOWNSHIP && *c != exclude)
                .choose(&mut rng)
                .cloned()
                .unwrap_or_default()
        };
        let undeclared_gcj02 = pick_township("");
        let declared_gcj02 = pick_township(&undeclared_gcj02);
        let hot_spots = hot_spots(&mut rng, &villages, &geometry, &poverty);
        let shares = share_households(&mut rng, households, &villages, &geometry, &poverty);
        Self {
            poverty,
            undeclared_gcj02,
            declared_gcj02,
            hot_spots,
            shares,
        }
    }

    fn township_gps(&self, township: &str) -> TownshipGps {
        if township == self.undeclared_gcj02 {
            TownshipGps::UndeclaredGcj02
        } else if township == self.declared_gcj02 {
            TownshipGps::DeclaredGcj02
        } else {
            TownshipGps::Wgs84
        }
    }
}

/// Picks the poverty villages: rural villages only, more likely far from the
/// county seat (remote mountain villages were the poor ones).
fn choose_poverty_villages(
    rng: &mut impl Rng,
    villages: &[&Area],
    geometry: &[&MultiPolygon<f64>],
    (count, seat): (usize, LonLat),
) -> Vec<bool> {
    let candidates: Vec<(usize, f64)> = villages
        .iter()
        .enumerate()
        .filter(|(_, v)| v.level == AreaLevel::Village)
        .map(|(i, _)| {
            let p = label(geometry[i]);
            let d = (p.lon - seat.lon).hypot(p.lat - seat.lat);
            (i, 0.2 + d)
        })
        .collect();
    let mut poverty = vec![false; villages.len()];
    if let Ok(chosen) = candidates.choose_multiple_weighted(rng, count, |c| c.1) {
        for c in chosen {
            poverty[c.0] = true;
        }
    }
    poverty
}

/// Six hot spots of hardship, centred on villages (poverty villages preferred).
fn hot_spots(
    rng: &mut impl Rng,
    villages: &[&Area],
    geometry: &[&MultiPolygon<f64>],
    poverty: &[bool],
) -> Vec<HotSpot> {
    let indices: Vec<usize> = (0..villages.len()).collect();
    (0..6)
        .filter_map(|_| {
            let &i = indices
                .choose_weighted(rng, |&i| if poverty[i] { 4.0 } else { 1.0 })
                .ok()?;
            Some(HotSpot {
                centre: label(geometry[i]),
                sigma_m: rng.random_range(3000.0..7000.0),
                strength: rng.random_range(0.3..0.7),
            })
        })
        .collect()
}

/// Shares `total` households between villages by weight (largest remainder).
fn share_households(
    rng: &mut impl Rng,
    total: u64,
    villages: &[&Area],
    geometry: &[&MultiPolygon<f64>],
    poverty: &[bool],
) -> Vec<u64> {
    let weights: Vec<f64> = villages
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let km2 = geometry[i].chamberlain_duquette_unsigned_area() / 1e6;
            let kind = if v.level == AreaLevel::Community {
                0.4
            } else {
                1.0
            };
            let poor = if poverty[i] { 1.15 } else { 1.0 };
            km2.max(0.5).sqrt() * kind * poor * rng.random_range(0.7..1.3)
        })
        .collect();
    let sum: f64 = weights.iter().sum();
    let exact: Vec<f64> = weights.iter().map(|w| w / sum * total as f64).collect();
    let mut shares: Vec<u64> = exact.iter().map(|x| x.floor() as u64).collect();
    let mut order: Vec<usize> = (0..exact.len()).collect();
    order.sort_by(|&a, &b| {
        let (ra, rb) = (exact[a] - exact[a].floor(), exact[b] - exact[b].floor());
        rb.total_cmp(&ra).then(a.cmp(&b))
    });
    let missing = total - shares.iter().sum::<u64>();
    for &i in order.iter().cycle().take(missing as usize) {
        shares[i] += 1;
    }
    shares
}

fn label(geometry: &MultiPolygon<f64>) -> LonLat {
    geometry
        .interior_point()
        .map_or(LonLat::new(0.0, 0.0), |p| LonLat::new(p.x(), p.y()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_divisions_are_xinbins() {
        let areas = divisions().unwrap();
        let count = |l| areas.iter().filter(|a| a.level == l).count();
        assert_eq!(count(AreaLevel::County), 1);
        assert_eq!(count(AreaLevel::Township), 15);
        assert_eq!(count(AreaLevel::Village), 181);
        assert_eq!(count(AreaLevel::Community), 13);
        let seat = areas.iter().find(|a| a.code == "210422100").unwrap();
        assert_eq!(seat.name, "新宾镇");
    }

    #[test]
    fn the_outline_is_the_real_county() {
        let county = county_outline().unwrap();
        assert_eq!(county.exterior().0.len(), 4070);
        let km2 = county.chamberlain_duquette_unsigned_area() / 1e6;
        assert!((4200.0..4350.0).contains(&km2), "{km2}");
    }

    #[test]
    fn out_of_range_sizes_are_refused_before_any_file_is_made() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.duckdb");
        for n in [0, MAX_HOUSEHOLDS + 1] {
            let opts = DemoOptions {
                households: n,
                seed: 1,
                dense: false,
            };
            assert!(matches!(
                build(&path, &opts, || ()),
                Err(DemoError::Households(_))
            ));
        }
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
