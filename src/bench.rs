//! `paicha bench`: speed measurements that print figures, never timed tests.
//!
//! `bench assign` measures what the spatial core does at start and on every import:
//! build the village index and assign every household position to its village (or
//! the nearest one, with the distance). Positions are synthetic, drawn over a village
//! layer (the demo county's, a GeoJSON file's or an imported database's), so any size
//! can be measured on real boundaries without importing households.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use geo::{BoundingRect, ChamberlainDuquetteArea};
use rand::distr::{Distribution, weighted::WeightedIndex};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use crate::app::{AppSettings, AppState};
use crate::demo::{self, DemoError};
use crate::domain::MeasureId;
use crate::spatial::{AreaIndex, Assignment, IndexedArea, LonLat};
use crate::store::{Store, StoreError};

/// Figures of one `bench assign` run.
#[derive(Debug, Clone, Serialize)]
pub struct AssignFigures {
    /// Positions assigned.
    pub households: usize,
    /// Village polygons indexed.
    pub villages: usize,
    /// Their vertices in all.
    pub vertices: usize,
    /// Where the villages came from: `demo`, or the file read.
    pub layer: String,
    /// Bytes of the index beyond the boundaries themselves (see
    /// [`AreaIndex::heap_bytes`]).
    pub index_bytes: usize,
    /// The same per boundary vertex.
    pub index_bytes_per_vertex: f64,
    /// Threads rayon used.
    pub threads: usize,
    /// Seconds to build the index.
    pub index_build_s: f64,
    /// Seconds to assign every position (inside, or nearest village and distance).
    pub assign_s: f64,
    /// Build plus assignment.
    pub total_s: f64,
    /// Positions per second over the total.
    pub points_per_s: f64,
    /// Positions that fell inside a village.
    pub inside: usize,
    /// Single-point `village_at`: mean, microseconds.
    pub locate_mean_us: f64,
    /// Single-point `village_at`: 99th percentile, microseconds.
    pub locate_p99_us: f64,
}

/// Errors of a benchmark run.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// The demo boundaries could not be made.
    #[error(transparent)]
    Demo(#[from] DemoError),
    /// The database of `--db` could not be read.
    #[error("cannot read the villages of {path}")]
    Store {
        /// The database file.
        path: String,
        /// The cause.
        #[source]
        source: StoreError,
    },
    /// A village layer file that cannot be used: missing, not GeoJSON, or a feature
    /// that is not a polygon with a code. The message names the file and the feature.
    #[error("{path}: {reason}")]
    Layer {
        /// The file.
        path: String,
        /// What is wrong, with the feature's position and code where there is one.
        reason: String,
    },
    /// Writing the exported inputs failed.
    #[error("cannot write {path}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// The village layer that `bench assign` indexes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VillageLayer {
    /// The demo county's villages, drawn from the seed.
    Demo,
    /// A GeoJSON `FeatureCollection` of `Polygon` or `MultiPolygon` features with a `code`
    /// property (and optionally `parent_code`, the township): what `paicha export
    /// areas --level village` and `bench assign --export-dir` write.
    GeoJson(PathBuf),
    /// The villages and communities of an imported (or demo) database.
    Database(PathBuf),
}

impl VillageLayer {
    /// How the layer is named in the figures: `demo`, or its file.
    #[must_use]
    pub fn label(&self) -> String {
        match self {
            Self::Demo => "demo".to_owned(),
            Self::GeoJson(path) | Self::Database(path) => path.display().to_string(),
        }
    }

    /// The layer's village polygons.
    ///
    /// # Errors
    /// [`BenchError::Demo`] if the demo boundaries cannot be made,
    /// [`BenchError::Store`] if the database cannot be read, [`BenchError::Layer`] for
    /// a missing file, a file that is not GeoJSON, or a feature without a polygon or
    /// a code, and for a layer without any village.
    pub fn load(&self, seed: u64) -> Result<Vec<IndexedArea>, BenchError> {
        let villages = match self {
            Self::Demo => demo::village_boundaries(seed)?,
            Self::GeoJson(path) => villages_from_geojson(path)?,
            Self::Database(path) => villages_from_database(path)?,
        };
        if villages.is_empty() {
            return Err(BenchError::Layer {
                path: self.label(),
                reason: "no village in the layer".to_owned(),
            });
        }
        Ok(villages)
    }
}

/// Reads village polygons from a GeoJSON FeatureCollection.
fn villages_from_geojson(path: &Path) -> Result<Vec<IndexedArea>, BenchError> {
    let fail = |reason: String| BenchError::Layer {
        path: path.display().to_string(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| fail(format!("cannot read: {e}")))?;
    let collection: geojson::FeatureCollection = text
        .parse()
        .map_err(|e| fail(format!("not a GeoJSON FeatureCollection: {e}")))?;
    collection
        .features
        .into_iter()
        .enumerate()
        .map(|(i, feature)| {
            let text_property = |name: &str| match feature.property(name) {
                Some(serde_json::Value::String(s)) if !s.is_empty() => Some(s.clone()),
                Some(serde_json::Value::Number(n)) => Some(n.to_string()),
                _ => None,
            };
            let Some(code) = text_property("code") else {
                return Err(fail(format!(
                    "feature {i} has no `code` property (a string such as \"210422100201\")"
                )));
            };
            let township_code = text_property("parent_code")
                .unwrap_or_else(|| code.get(..9).unwrap_or_default().to_owned());
            let geometry = match feature.geometry.map(|g| g.value) {
                Some(value @ geojson::GeometryValue::Polygon { .. }) => {
                    geo::Polygon::try_from(value).map(|p| geo::MultiPolygon::new(vec![p]))
                }
                Some(value @ geojson::GeometryValue::MultiPolygon { .. }) => {
                    geo::MultiPolygon::try_from(value)
                }
                Some(other) => {
                    return Err(fail(format!(
                        "feature {i} (code {code}) is a {}, not a Polygon or MultiPolygon",
                        other.type_name()
                    )));
                }
                None => {
                    return Err(fail(format!("feature {i} (code {code}) has no geometry")));
                }
            }
            .map_err(|e| fail(format!("feature {i} (code {code}): {e}")))?;
            Ok(IndexedArea {
                code,
                township_code,
                geometry,
            })
        })
        .collect()
}

/// Reads the villages and communities of a database, as the service indexes them.
fn villages_from_database(path: &Path) -> Result<Vec<IndexedArea>, BenchError> {
    let fail = |source| BenchError::Store {
        path: path.display().to_string(),
        source,
    };
    let store = Store::open(path).map_err(fail)?;
    let conn = store.conn().map_err(fail)?;
    let records = crate::store::areas::records(&conn, &crate::store::areas::AreaFilter::default())
        .map_err(fail)?;
    Ok(records
        .into_iter()
        .filter(|r| r.summary.level.is_village_like())
        .map(|r| IndexedArea {
            township_code: r.summary.parent_code.unwrap_or_default(),
            code: r.summary.code,
            geometry: r.geometry,
        })
        .collect())
}

/// Positions over a village layer: a village drawn by area, then a uniform point in
/// its bounding box, so most fall inside villages and some beyond the layer's edge.
#[must_use]
pub fn synthetic_positions(villages: &[IndexedArea], n: usize, seed: u64) -> Vec<LonLat> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let boxes: Vec<_> = villages
        .iter()
        .filter_map(|v| v.geometry.bounding_rect())
        .collect();
    let weights: Vec<f64> = villages
        .iter()
        .map(|v| v.geometry.chamberlain_duquette_unsigned_area().max(1.0))
        .collect();
    let Ok(pick) = WeightedIndex::new(&weights) else {
        return Vec::new();
    };
    (0..n)
        .map(|_| {
            let b = boxes[pick.sample(&mut rng).min(boxes.len() - 1)];
            LonLat::new(
                rng.random_range(b.min().x..=b.max().x),
                rng.random_range(b.min().y..=b.max().y),
            )
        })
        .collect()
}

/// Runs `bench assign` on a village layer: index build and assignment of `n`
/// positions, and 100,000 single-point look-ups. With `export_dir`, writes
/// `villages.geojson` and `points.csv` there first, for a peer (GeoPandas) to run on
/// the same data.
///
/// # Errors
/// [`BenchError`] if the layer cannot be loaded or the export fails.
pub fn assign(
    layer: &VillageLayer,
    n: usize,
    seed: u64,
    export_dir: Option<&Path>,
) -> Result<AssignFigures, BenchError> {
    let villages = layer.load(seed)?;
    let points = synthetic_positions(&villages, n, seed);
    if let Some(dir) = export_dir {
        export_inputs(dir, &villages, &points)?;
    }
    let vertices: usize = villages
        .iter()
        .flat_map(|v| v.geometry.0.iter())
        .map(|p| p.exterior().0.len() + p.interiors().iter().map(|r| r.0.len()).sum::<usize>())
        .sum();
    let count = villages.len();
    let positions: Vec<Option<LonLat>> = points.iter().copied().map(Some).collect();

    let start = Instant::now();
    let index = AreaIndex::new(villages);
    let built = start.elapsed().as_secs_f64();
    let assignments = index.assign(&positions);
    let total = start.elapsed().as_secs_f64();
    let index_bytes = index.heap_bytes();
    let inside = assignments
        .iter()
        .filter(|a| matches!(a, Assignment::Inside { .. }))
        .count();

    let samples = points.len().min(100_000);
    let mut times: Vec<f64> = Vec::with_capacity(samples);
    let mut found = 0_usize;
    for p in points.iter().take(samples) {
        let t = Instant::now();
        found += usize::from(index.village_at(*p).is_some());
        times.push(t.elapsed().as_secs_f64() * 1e6);
    }
    std::hint::black_box(found);
    times.sort_by(f64::total_cmp);
    let mean = times.iter().sum::<f64>() / times.len().max(1) as f64;
    let p99 = times.get(times.len() * 99 / 100).copied().unwrap_or(0.0);
    Ok(AssignFigures {
        households: n,
        villages: count,
        vertices,
        layer: layer.label(),
        index_bytes,
        index_bytes_per_vertex: index_bytes as f64 / vertices.max(1) as f64,
        threads: rayon::current_num_threads(),
        index_build_s: built,
        assign_s: total - built,
        total_s: total,
        points_per_s: n as f64 / total,
        inside,
        locate_mean_us: mean,
        locate_p99_us: p99,
    })
}

fn export_inputs(
    dir: &Path,
    villages: &[IndexedArea],
    points: &[LonLat],
) -> Result<(), BenchError> {
    let io = |path: &Path| {
        let path = path.display().to_string();
        move |source| BenchError::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let features = villages.iter().map(|v| {
        let mut properties = geojson::JsonObject::new();
        properties.insert("code".into(), v.code.clone().into());
        properties.insert("parent_code".into(), v.township_code.clone().into());
        geojson::Feature {
            bbox: None,
            geometry: Some(geojson::Geometry::new(geojson::GeometryValue::from(
                &v.geometry,
            ))),
            id: None,
            properties: Some(properties),
            foreign_members: None,
        }
    });
    let path = dir.join("villages.geojson");
    let text = geojson::FeatureCollection::new(features).to_string();
    std::fs::write(&path, text).map_err(io(&path))?;
    let path = dir.join("points.csv");
    let file = std::fs::File::create(&path).map_err(io(&path))?;
    let mut out = std::io::BufWriter::new(file);
    writeln!(out, "id,lon,lat").map_err(io(&path))?;
    for (i, p) in points.iter().enumerate() {
        writeln!(out, "{i},{},{}", p.lon, p.lat).map_err(io(&path))?;
    }
    out.flush().map_err(io(&path))
}

/// Figures of one `bench stats` run.
#[derive(Debug, Clone, Serialize)]
pub struct StatsFigures {
    /// Households in the database.
    pub households: i64,
    /// Indicators in every query.
    pub indicators: usize,
    /// Rows (villages) in every answer.
    pub rows: usize,
    /// Timed runs of each.
    pub runs: usize,
    /// Seconds to load the snapshot (index, quality, derived table if stale, facts).
    pub load_s: f64,
    /// DuckDB alone, the same GROUP BY on the same file: median, milliseconds.
    pub duckdb_median_ms: f64,
    /// DuckDB alone: slowest run, milliseconds.
    pub duckdb_max_ms: f64,
    /// `GET /api/v1/stats?level=village` over loopback, whole response read: median.
    pub endpoint_median_ms: f64,
    /// The endpoint: slowest run, milliseconds.
    pub endpoint_max_ms: f64,
    /// Endpoint median over DuckDB median.
    pub ratio: f64,
    /// Bytes of the JSON answer.
    pub response_bytes: usize,
}

fn median_and_max(mut ms: Vec<f64>) -> (f64, f64) {
    ms.sort_by(f64::total_cmp);
    let mid = ms.len() / 2;
    let median = if ms.len().is_multiple_of(2) {
        f64::midpoint(ms[mid - 1], ms[mid])
    } else {
        ms[mid]
    };
    (median, ms.last().copied().unwrap_or(0.0))
}

/// Figures of one `bench brief` run.
#[derive(Debug, Clone, Serialize)]
pub struct BriefFigures {
    /// Households in the database.
    pub households: i64,
    /// Townships, each briefed once as PDF and once as HTML.
    pub townships: usize,
    /// Seconds to open the database and load the snapshot.
    pub load_s: f64,
    /// A PDF briefing (gathered from the store, maps drawn, PDF written): median, ms.
    pub pdf_median_ms: f64,
    /// The slowest PDF briefing, ms.
    pub pdf_max_ms: f64,
    /// The township of the slowest PDF.
    pub pdf_slowest: String,
    /// Of a PDF briefing, the gathering from the store alone: median, ms.
    pub gather_median_ms: f64,
    /// An HTML briefing (gathered, maps drawn as SVG): median, ms.
    pub html_median_ms: f64,
    /// The slowest HTML briefing, ms.
    pub html_max_ms: f64,
    /// The PDFs' size: median, bytes.
    pub pdf_median_bytes: f64,
}

/// Runs `bench brief` on an existing database: every township's briefing as PDF and
/// as HTML, each gathered afresh, as a request makes it (the font found once, as a
/// running service finds it once).
///
/// # Errors
/// Opening the database, no Chinese font, a query or a briefing that fails.
pub fn brief(db: &Path, week: Option<&str>) -> anyhow::Result<BriefFigures> {
    use crate::app::briefing::{BriefingRequest, gather, write};
    let start = Instant::now();
    let state = open(db)?;
    let load_s = start.elapsed().as_secs_f64();
    let snapshot = state.snapshot();
    anyhow::ensure!(
        !snapshot.townships.is_empty(),
        "the database has no township"
    );
    let conn = state.store.conn()?;
    let (mut pdf, mut html, mut gathered, mut sizes) = (vec![], vec![], vec![], vec![]);
    let mut slowest = (0.0, String::new());
    for (code, _) in &snapshot.townships {
        let request = BriefingRequest {
            township: code.clone(),
            campaign: None,
            week: week.map(str::to_owned),
        };
        for as_html in [false, true] {
            let t = Instant::now();
            let b = gather(&conn, &snapshot, &state.catalog, &request)?;
            let g = t.elapsed().as_secs_f64() * 1e3;
            let bytes = write(&b, as_html)?;
            let ms = t.elapsed().as_secs_f64() * 1e3;
            if as_html {
                html.push(ms);
            } else {
                gathered.push(g);
                sizes.push(bytes.len() as f64);
                if ms > slowest.0 {
                    slowest = (ms, format!("{code} {}", b.township));
                }
                pdf.push(ms);
            }
        }
    }
    let townships = pdf.len();
    let (pdf_median_ms, pdf_max_ms) = median_and_max(pdf);
    let (html_median_ms, html_max_ms) = median_and_max(html);
    Ok(BriefFigures {
        households: snapshot.households,
        townships,
        load_s,
        pdf_median_ms,
        pdf_max_ms,
        pdf_slowest: slowest.1,
        gather_median_ms: median_and_max(gathered).0,
        html_median_ms,
        html_max_ms,
        pdf_median_bytes: median_and_max(sizes).0,
    })
}

/// Runs `bench stats` on an existing database: village-level figures of every
/// indicator, first as the raw DuckDB query, then through the HTTP endpoint on a
/// loopback port (a plain HTTP/1.1 client, no compression), `runs` times each after
/// one warm-up.
///
/// # Errors
/// Opening the database, loading the snapshot, a query, or the loopback connection.
pub fn stats(db: &Path, runs: usize) -> anyhow::Result<StatsFigures> {
    use crate::store::indicators::{GroupBy, HouseholdFilter, stats_sql};
    use anyhow::Context;
    let runs = runs.max(1);
    let start = Instant::now();
    let state = open(db)?;
    let load_s = start.elapsed().as_secs_f64();
    let households = state.snapshot().households;

    let measures: Vec<MeasureId> = MeasureId::ALL
        .iter()
        .copied()
        .filter(|m| !m.is_ledger())
        .collect();
    let (sql, _) = stats_sql(&measures, GroupBy::Village, &HouseholdFilter::default());
    let conn = state.store.conn()?;
    let mut raw = Vec::with_capacity(runs);
    let mut rows = 0;
    for i in 0..=runs {
        let t = Instant::now();
        let mut stmt = conn.prepare(&sql).context("prepare the raw query")?;
        let n = stmt
            .query_map([], |r| r.get::<_, Option<String>>(0))
            .context("run the raw query")?
            .count();
        if i > 0 {
            raw.push(t.elapsed().as_secs_f64() * 1e3);
        }
        rows = n;
    }
    drop(conn);

    let runtime = tokio::runtime::Runtime::new()?;
    let (endpoint, response_bytes) = runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let router = crate::api::router(state, Path::new("web"));
        tokio::spawn(crate::api::serve(listener, router, std::future::pending()));
        let mut times = Vec::with_capacity(runs);
        let mut bytes = 0;
        for i in 0..=runs {
            let t = Instant::now();
            let body = http_get(addr, "/api/v1/stats?level=village").await?;
            if i > 0 {
                times.push(t.elapsed().as_secs_f64() * 1e3);
            }
            bytes = body.len();
        }
        anyhow::Ok((times, bytes))
    })?;
    let (duckdb_median_ms, duckdb_max_ms) = median_and_max(raw);
    let (endpoint_median_ms, endpoint_max_ms) = median_and_max(endpoint);
    Ok(StatsFigures {
        households,
        indicators: measures.len(),
        rows,
        runs,
        load_s,
        duckdb_median_ms,
        duckdb_max_ms,
        endpoint_median_ms,
        endpoint_max_ms,
        ratio: endpoint_median_ms / duckdb_median_ms,
        response_bytes,
    })
}

/// A minimal HTTP/1.1 GET over a fresh connection: the body, or an error for any
/// status but 200.
async fn http_get(addr: std::net::SocketAddr, path: &str) -> anyhow::Result<Vec<u8>> {
    Ok(http_get_with_head(addr, path).await?.1)
}

/// The answer of `paicha tsp`.
#[derive(Debug, Clone, Serialize)]
pub struct TspFigures {
    /// The instance's name.
    pub name: String,
    /// Its nodes.
    pub nodes: usize,
    /// The tour's length with TSPLIB's rounding (`EUC_2D`: nearest integer per edge).
    pub length: i64,
    /// Milliseconds the solver took (parsing excluded).
    pub time_ms: f64,
    /// The tour, 1-based, when asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tour: Option<Vec<usize>>,
}

/// Solves a TSPLIB `EUC_2D` file with the planner's route solver, over TSPLIB's rounded
/// distances, so that the length is comparable with published optima.
///
/// # Errors
/// Reading or parsing the file.
pub fn tsp(
    file: &Path,
    time_limit_ms: u64,
    seed: u64,
    with_tour: bool,
) -> anyhow::Result<TspFigures> {
    use crate::planner::{tsp, tsplib};
    use anyhow::Context;
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let instance = tsplib::parse(&text).with_context(|| format!("parsing {}", file.display()))?;
    let points = &instance.points;
    let start = Instant::now();
    let costs = tsp::Matrix::from_fn(points.len(), |a, b| {
        tsplib::euc_2d(points[a], points[b]) as f64
    });
    let options = tsp::Options {
        time_limit: std::time::Duration::from_millis(time_limit_ms),
        seed,
        max_iterations: None,
    };
    let tour = tsp::solve_cycle(&costs, &options);
    let time_ms = start.elapsed().as_secs_f64() * 1e3;
    Ok(TspFigures {
        length: tsplib::tour_length(&instance, &tour.order),
        nodes: points.len(),
        name: instance.name,
        time_ms,
        tour: with_tour.then(|| tour.order.iter().map(|i| i + 1).collect()),
    })
}

/// Latency figures of one kind of request, milliseconds.
#[derive(Debug, Clone, Serialize)]
pub struct Latency {
    /// Requests timed.
    pub requests: usize,
    /// Median.
    pub p50_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Slowest.
    pub max_ms: f64,
    /// Mean response size, bytes.
    pub mean_bytes: f64,
}

impl Latency {
    fn of(mut ms: Vec<f64>, bytes: usize) -> Self {
        ms.sort_by(f64::total_cmp);
        let at = |q: f64| ms[((ms.len() as f64 - 1.0) * q).round() as usize];
        Self {
            requests: ms.len(),
            p50_ms: at(0.5),
            p99_ms: at(0.99),
            max_ms: ms.last().copied().unwrap_or(0.0),
            mean_bytes: bytes as f64 / ms.len().max(1) as f64,
        }
    }
}

/// Figures of one `bench tiles` run.
#[derive(Debug, Clone, Serialize)]
pub struct TileFigures {
    /// Households in the database.
    pub households: i64,
    /// Uncached household tiles at zooms 12 to 14 (points, or cells over the caps).
    pub households_z12_14: Latency,
    /// Of those, how many were aggregated because of the caps.
    pub aggregated_over_caps: usize,
    /// Uncached household tiles at zooms 8 to 11 (cells).
    pub households_z8_11: Latency,
    /// Uncached village boundary tiles with every indicator, zooms 8 to 12.
    pub villages: Latency,
    /// Seconds to compute the colour scales of zooms 9 to 14 over the whole map, once
    /// per data version (`paicha serve` does it in the background at start).
    pub colour_scales_s: f64,
    /// Uncached heat tiles, zooms 9 to 14, count mode, colour scales known.
    pub heat_count: Latency,
    /// Uncached heat tiles in rate mode, zooms 9 to 14.
    pub heat_rate: Latency,
}

/// The tiles at `z` that hold households, every `step`-th in order, at most `n`.
///
/// Only positions inside the served counties' box count: the demo plants positions
/// with longitude and latitude swapped (a latitude above 85° lands in row 0), and
/// their empty tiles at y = 0 made about a tenth of the list (issue 20).
fn busy_tiles(
    snapshot: &crate::model::Snapshot,
    z: u8,
    n: usize,
) -> Vec<crate::spatial::mercator::TileId> {
    let [west, south, east, north] = snapshot.county_bounds;
    let mut tiles: Vec<(u32, u32)> = snapshot
        .positions
        .iter()
        .flatten()
        .filter(|p| p.lon >= west && p.lon <= east && p.lat >= south && p.lat <= north)
        .filter_map(|p| crate::spatial::mercator::TileId::containing(p.lon, p.lat, z).ok())
        .map(|t| (t.x, t.y))
        .collect();
    tiles.sort_unstable();
    tiles.dedup();
    let step = tiles.len().div_ceil(n.max(1)).max(1);
    tiles
        .into_iter()
        .step_by(step)
        .filter_map(|(x, y)| crate::spatial::mercator::TileId::new(z, x, y).ok())
        .collect()
}

/// The service over a database, with default tile settings (no disk cache), as the
/// benchmarks measure it.
fn open(db: &Path) -> Result<AppState, crate::app::AppError> {
    let state = AppState::open(&AppSettings {
        db: db.to_path_buf(),
        ..AppSettings::default()
    })?;
    // The benchmarks ask as an analyst of the whole map, with a token that lives in
    // this process only (nothing is written to the database).
    let top = state.snapshot().top_code.clone();
    state.accounts.allow_process_token(
        BENCH_TOKEN,
        crate::domain::access::Principal {
            user: "bench".into(),
            display: "bench".into(),
            grants: vec![crate::domain::access::Grant {
                role: crate::domain::access::Role::Analyst,
                area: top,
                until: None,
                department: None,
            }],
        },
    );
    Ok(state)
}

/// The tile paths `bench tiles` requests, by kind.
struct TilePlan {
    points: Vec<String>,
    cells: Vec<String>,
    villages: Vec<String>,
    heat: Vec<String>,
    rate: Vec<String>,
}

impl TilePlan {
    fn new(snapshot: &crate::model::Snapshot, per_zoom: usize) -> Self {
        let plan = |prefix: &str, zooms: std::ops::RangeInclusive<u8>, suffix: &str| {
            let mut out = Vec::new();
            for z in zooms {
                for t in busy_tiles(snapshot, z, per_zoom) {
                    out.push(format!("{prefix}/{}/{}/{}{suffix}", t.z, t.x, t.y));
                }
            }
            out
        };
        Self {
            points: plan("/tiles/households", 12..=14, ".mvt"),
            cells: plan("/tiles/households", 8..=11, ".mvt"),
            villages: plan("/tiles/villages", 8..=12, ".mvt"),
            heat: plan("/tiles/heat/any_problem", 9..=14, ".png"),
            rate: plan("/tiles/heat/any_problem", 9..=14, ".png?mode=rate"),
        }
    }
}

/// Writes the paths `bench tiles` would request to `out`, one per line, measuring
/// nothing; returns how many. With `households_out`, also every household with a
/// position there (see [`write_households`]), for a peer to draw the same points.
///
/// # Errors
/// Opening the database, loading the snapshot, or writing a file.
pub fn tile_paths(
    db: &Path,
    per_zoom: usize,
    out: &Path,
    households_out: Option<&Path>,
) -> anyhow::Result<usize> {
    let state = open(db)?;
    if let Some(path) = households_out {
        write_households(&state.snapshot(), path)?;
    }
    let plan = TilePlan::new(&state.snapshot(), per_zoom);
    let all: Vec<&String> = [
        &plan.points,
        &plan.cells,
        &plan.villages,
        &plan.heat,
        &plan.rate,
    ]
    .into_iter()
    .flatten()
    .collect();
    let mut text = String::new();
    for p in &all {
        text.push_str(p);
        text.push('\n');
    }
    std::fs::write(out, text)?;
    Ok(all.len())
}

/// Writes every household with a position as CSV, as household tiles draw it: `row`
/// (the feature id), `household_no`, `village_code`, `category`, `failed` (codes
/// joined by commas) and `lon`, `lat` (WGS-84 degrees, the snapshot's best position:
/// declared system converted, offsets corrected; printed so as to read back the
/// same `f64`). A benchmark peer loads it (bench/postgis.sh): the raw export holds
/// the recorded coordinates, not these.
///
/// # Errors
/// Writing the file.
pub fn write_households(snapshot: &crate::model::Snapshot, path: &Path) -> anyhow::Result<()> {
    let mut out = csv::Writer::from_path(path)?;
    out.write_record([
        "row",
        "household_no",
        "village_code",
        "category",
        "failed",
        "lon",
        "lat",
    ])?;
    for (r, p) in snapshot.positions.iter().enumerate() {
        let Some(p) = p else {
            continue;
        };
        let failed: Vec<&str> = snapshot.facts.failed(r).map(MeasureId::code).collect();
        out.write_record([
            r.to_string().as_str(),
            &snapshot.household_nos[r],
            &snapshot.locations[r].village_code,
            snapshot.facts.category(r).code(),
            &failed.join(","),
            &p.lon.to_string(),
            &p.lat.to_string(),
        ])?;
    }
    out.flush()?;
    Ok(())
}

/// The benchmarks' token (see [`open`]): good only inside the benchmark's process.
const BENCH_TOKEN: &str = "bench-process-token";

/// Runs `bench tiles` on an existing database: uncached vector and heat tiles over
/// loopback, each requested once from a fresh server (no cache, no disk cache).
/// Writes the paths of every tile requested to `paths_out`, for a load generator
/// to replay against a warm server (bench/tiles.sh runs wrk on them).
///
/// # Errors
/// Opening the database, loading the snapshot, or a request that fails.
pub fn tiles(db: &Path, per_zoom: usize, paths_out: Option<&Path>) -> anyhow::Result<TileFigures> {
    let state = open(db)?;
    let snapshot = state.snapshot();
    let households = snapshot.households;
    let TilePlan {
        points,
        cells,
        villages,
        heat,
        rate,
    } = TilePlan::new(&snapshot, per_zoom);
    if let Some(out) = paths_out {
        let all = [&points, &cells, &villages, &heat, &rate].map(|p| p.join("\n"));
        std::fs::write(out, all.join("\n") + "\n")?;
    }
    // As `paicha serve` does in the background at start: the colour scales of the
    // any_problem heat map, timed on their own.
    let start = Instant::now();
    for z in 9..=14 {
        crate::tiles::colour_scale(&state.tiles, &snapshot, MeasureId::AnyProblem, z);
    }
    let colour_scales_s = start.elapsed().as_secs_f64();
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let router = crate::api::router(state, Path::new("web"));
        tokio::spawn(crate::api::serve(listener, router, std::future::pending()));
        let time = |paths: Vec<String>| async move {
            let mut ms = Vec::with_capacity(paths.len());
            let mut bytes = 0;
            let mut aggregated = 0;
            for p in &paths {
                let t = Instant::now();
                let (response_head, body) = http_get_with_head(addr, p).await?;
                ms.push(t.elapsed().as_secs_f64() * 1e3);
                bytes += body.len();
                aggregated += usize::from(response_head.contains("x-paicha-aggregated"));
            }
            anyhow::Ok((ms, bytes, aggregated))
        };
        let (ms, bytes, aggregated_over_caps) = time(points).await?;
        let households_z12_14 = Latency::of(ms, bytes);
        let (ms, bytes, _) = time(cells).await?;
        let households_z8_11 = Latency::of(ms, bytes);
        let (ms, bytes, _) = time(villages).await?;
        let villages = Latency::of(ms, bytes);
        let (ms, bytes, _) = time(heat).await?;
        let heat_count = Latency::of(ms, bytes);
        let (ms, bytes, _) = time(rate).await?;
        let heat_rate = Latency::of(ms, bytes);
        Ok(TileFigures {
            households,
            households_z12_14,
            aggregated_over_caps,
            households_z8_11,
            villages,
            colour_scales_s,
            heat_count,
            heat_rate,
        })
    })
}

/// [`http_get`], with the response head (lower-cased) too.
async fn http_get_with_head(
    addr: std::net::SocketAddr,
    path: &str,
) -> anyhow::Result<(String, Vec<u8>)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    stream
        .write_all(
            format!(
                "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {BENCH_TOKEN}\r\nConnection: close\r\n\r\n"
            )
            .as_bytes(),
        )
        .await?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await?;
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| anyhow::anyhow!("no HTTP header in the answer"))?;
    let head = String::from_utf8_lossy(&response[..split]).to_lowercase();
    if !head.starts_with("http/1.1 200") {
        anyhow::bail!("GET {path}: {}", head.lines().next().unwrap_or_default());
    }
    Ok((head, response[split + 4..].to_vec()))
}

/// Figures of one `bench rolls` run.
#[derive(Debug, Clone, Serialize)]
pub struct RollFigures {
    /// Persons in the registry.
    pub persons: usize,
    /// Rows of every roll stored (the benchmark's roll and any other).
    pub roll_rows: i64,
    /// Of them, matched to a registered person.
    pub matched: i64,
    /// Mismatches the rules found.
    pub mismatches: i64,
    /// Timed runs of each, after one warm-up.
    pub runs: usize,
    /// Every rule (pivot of the rolls' fields, 11 rules, written into
    /// `crosscheck_mismatches`): median, milliseconds.
    pub rules_median_ms: f64,
    /// Every rule: slowest run, milliseconds.
    pub rules_max_ms: f64,
    /// DuckDB alone, one join of the roll keys to the registry: median, milliseconds.
    pub duckdb_join_median_ms: f64,
    /// DuckDB alone: slowest run, milliseconds.
    pub duckdb_join_max_ms: f64,
}

/// Runs `bench rolls` on an existing database: commits a roll of `rows` rows drawn from
/// its registry (the insurance roll of its first county: persons in order, one in
/// twenty with an ID number nobody holds, one in ten marked uninsured), then times
/// every cross-check against a plain DuckDB join of the same keys, `runs` times each.
/// The database keeps the roll (an import that `paicha import undo` takes back).
///
/// # Errors
/// Opening the database, reading the registry, the commit or a query.
pub fn rolls(db: &Path, rows: usize, runs: usize) -> anyhow::Result<RollFigures> {
    use crate::store::rolls::{self as store_rolls, NewRollRow, RollOf};
    let runs = runs.max(1);
    let store = crate::store::Store::open(db)?;
    let conn = store.conn()?;
    let registry = store_rolls::registry(&conn)?;
    anyhow::ensure!(!registry.is_empty(), "the database has no household");
    let county = registry[0].village_code[..6].to_owned();
    let roll: Vec<NewRollRow> = (0..rows)
        .map(|i| {
            let p = &registry[i % registry.len()];
            let id = if i % 20 == 19 {
                format!("999999{}", &p.id_number[6..])
            } else {
                p.id_number.clone()
            };
            let status = if i % 10 == 9 {
                "not_insured"
            } else {
                "insured"
            };
            NewRollRow {
                file: "bench.xlsx".to_owned(),
                row: u32::try_from(i + 2).unwrap_or(u32::MAX),
                id_number: Some(id),
                household_no: None,
                name: Some(p.name.clone()),
                values: vec![("status".to_owned(), status.to_owned())],
            }
        })
        .collect();
    let now = crate::domain::calendar::utc_timestamp();
    let id = format!(
        "i-{}-roll-bench",
        now.chars().filter(char::is_ascii_digit).collect::<String>()
    );
    store_rolls::commit_roll(
        &conn,
        (&id, "bench.xlsx", &now),
        "{}",
        RollOf {
            kind: "insurance",
            county: &county,
        },
        &roll,
    )?;
    let mut rules = Vec::with_capacity(runs);
    let mut peer = Vec::with_capacity(runs);
    let mut joined = (0, 0);
    for i in 0..=runs {
        let t = Instant::now();
        store_rolls::recheck(&conn)?;
        let rules_ms = t.elapsed().as_secs_f64() * 1e3;
        let t = Instant::now();
        joined = store_rolls::peer_join(&conn)?;
        let peer_ms = t.elapsed().as_secs_f64() * 1e3;
        if i > 0 {
            rules.push(rules_ms);
            peer.push(peer_ms);
        }
    }
    let (rules_median_ms, rules_max_ms) = median_and_max(rules);
    let (duckdb_join_median_ms, duckdb_join_max_ms) = median_and_max(peer);
    Ok(RollFigures {
        persons: registry.len(),
        roll_rows: joined.0,
        matched: joined.1,
        mismatches: store_rolls::mismatch_count(&conn)?,
        runs,
        rules_median_ms,
        rules_max_ms,
        duckdb_join_median_ms,
        duckdb_join_max_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two villages side by side, a `Polygon` (with its township) and a `MultiPolygon`.
    const SQUARES: &str = r#"{"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": "210422100202", "parent_code": "210422100"},
         "geometry": {"type": "Polygon", "coordinates":
            [[[125.1, 41.0], [125.2, 41.0], [125.2, 41.1], [125.1, 41.1], [125.1, 41.0]]]}},
        {"type": "Feature", "properties": {"code": "210422101201"},
         "geometry": {"type": "MultiPolygon", "coordinates":
            [[[[125.0, 41.0], [125.1, 41.0], [125.1, 41.1], [125.0, 41.1], [125.0, 41.0]]]]}}
    ]}"#;

    #[test]
    fn a_geojson_layer_is_read_with_codes_and_townships() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("villages.geojson");
        std::fs::write(&path, SQUARES).unwrap();
        let villages = VillageLayer::GeoJson(path).load(1).unwrap();
        assert_eq!(villages.len(), 2);
        assert_eq!(villages[0].code, "210422100202");
        assert_eq!(villages[0].township_code, "210422100");
        // Without parent_code, the township is the code's first nine digits.
        assert_eq!(villages[1].township_code, "210422101");
        assert_eq!(villages[1].geometry.0.len(), 1);
    }

    #[test]
    fn bench_assign_runs_on_a_geojson_layer_and_exports_it_for_the_peer() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("villages.geojson");
        std::fs::write(&path, SQUARES).unwrap();
        let out = dir.path().join("peer");
        let layer = VillageLayer::GeoJson(path.clone());
        let figures = assign(&layer, 5000, 3, Some(&out)).unwrap();
        assert_eq!((figures.villages, figures.vertices), (2, 10));
        // Positions are drawn in the villages' boxes, which the squares fill.
        assert_eq!(figures.inside, 5000);
        assert!(figures.index_bytes > 0);
        assert_eq!(figures.layer, path.display().to_string());
        let again = VillageLayer::GeoJson(out.join("villages.geojson"))
            .load(3)
            .unwrap();
        let codes: Vec<(&str, &str)> = again
            .iter()
            .map(|v| (v.code.as_str(), v.township_code.as_str()))
            .collect();
        assert_eq!(
            codes,
            [("210422100202", "210422100"), ("210422101201", "210422101")]
        );
        let csv = std::fs::read_to_string(out.join("points.csv")).unwrap();
        assert_eq!(csv.lines().count(), 5001);
    }

    #[test]
    fn a_bad_layer_file_is_named_in_the_error_with_its_feature() {
        let dir = tempfile::tempdir().unwrap();
        let polygon =
            r#""geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}"#;
        let line = r#""geometry": {"type": "LineString", "coordinates": [[0, 0], [1, 1]]}"#;
        let collection =
            |feature: &str| format!(r#"{{"type": "FeatureCollection", "features": [{feature}]}}"#);
        let cases = [
            ("missing.geojson", None, "cannot read".to_owned()),
            (
                "text.geojson",
                Some("not json".to_owned()),
                "not a GeoJSON FeatureCollection".to_owned(),
            ),
            (
                "empty.geojson",
                Some(collection("")),
                "no village in the layer".to_owned(),
            ),
            (
                "nocode.geojson",
                Some(collection(&format!(
                    r#"{{"type": "Feature", "properties": {{"name": "x"}}, {polygon}}}"#
                ))),
                "feature 0 has no `code` property".to_owned(),
            ),
            (
                "line.geojson",
                Some(collection(&format!(
                    r#"{{"type": "Feature", "properties": {{"code": "210422100201"}}, {line}}}"#
                ))),
                "feature 0 (code 210422100201) is a LineString, not a Polygon or MultiPolygon"
                    .to_owned(),
            ),
            (
                "nogeometry.geojson",
                Some(collection(
                    r#"{"type": "Feature", "properties": {"code": "210422100201"}, "geometry": null}"#,
                )),
                "feature 0 (code 210422100201) has no geometry".to_owned(),
            ),
        ];
        for (name, text, expected) in cases {
            let path = dir.path().join(name);
            if let Some(text) = text {
                std::fs::write(&path, text).unwrap();
            }
            let error = VillageLayer::GeoJson(path.clone()).load(1).unwrap_err();
            let message = error.to_string();
            assert!(
                message.contains(&path.display().to_string()) && message.contains(&expected),
                "{name}: {message}"
            );
        }
    }

    #[test]
    fn a_missing_database_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("none.duckdb");
        let error = VillageLayer::Database(path.clone()).load(1).unwrap_err();
        assert!(
            error.to_string().contains(&path.display().to_string()),
            "{error}"
        );
        assert!(!path.exists(), "reading must not create the database");
    }
}
