//! The demo county as stored: boundaries tile without gaps or overlaps, codes and names
//! are Xinbin's, households are realistic, every deliberate flaw is recorded and the
//! clean households are really clean. Checked on the default-size build, read back
//! from the DuckDB file with independent SQL and the spatial index.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers fail loudly, which is what a test wants"
)]

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use geo::{BooleanOps, ChamberlainDuquetteArea, MultiPolygon};
use paicha::app::load_snapshot;
use paicha::demo::{self, DemoOptions};
use paicha::domain::AreaRecord;
use paicha::domain::{AreaLevel, Crs};
use paicha::spatial::{LonLat, crs};
use paicha::store::{self, AreaFilter, Store};

struct Built {
    _dir: tempfile::TempDir,
    store: Store,
}

/// The default demo (70,000 households, seed 2019), built once for this binary.
fn default_demo() -> &'static Built {
    static BUILT: OnceLock<Built> = OnceLock::new();
    BUILT.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("demo.duckdb");
        let summary = demo::build(&path, &DemoOptions::default(), || ()).unwrap();
        assert_eq!(summary.households, demo::DEFAULT_HOUSEHOLDS);
        Built {
            store: Store::open(&path).unwrap(),
            _dir: dir,
        }
    })
}

fn query<T: duckdb::types::FromSql>(sql: &str) -> Vec<T> {
    let conn = default_demo().store.conn().unwrap();
    let mut stmt = conn.prepare(sql).unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn one<T: duckdb::types::FromSql>(sql: &str) -> T {
    query(sql).into_iter().next().unwrap()
}

fn records(level: AreaLevel) -> Vec<AreaRecord> {
    let conn = default_demo().store.conn().unwrap();
    let filter = AreaFilter {
        level: Some(level),
        parent: None,
    };
    store::areas::records(&conn, &filter).unwrap()
}

fn km2(g: &MultiPolygon<f64>) -> f64 {
    g.chamberlain_duquette_unsigned_area() / 1e6
}

#[test]
fn codes_and_names_are_exactly_the_division_list() {
    let csv = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("data/xinbin/divisions.csv"),
    )
    .unwrap();
    let expected: BTreeMap<String, (String, String)> = csv
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[0].to_owned(), (f[1].to_owned(), f[2].to_owned()))
        })
        .collect();
    let conn = default_demo().store.conn().unwrap();
    let mut stmt = conn
        .prepare("SELECT code, name, level FROM areas ORDER BY code")
        .unwrap();
    let stored: BTreeMap<String, (String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?))))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(stored, expected);
    assert_eq!(expected.len(), 1 + 15 + 194);
}

#[test]
fn townships_tile_the_county_and_villages_tile_their_township() {
    let county = &records(AreaLevel::County)[0];
    let townships = records(AreaLevel::Township);
    let villages = records(AreaLevel::Village);
    assert_eq!(townships.len(), 15);
    assert_eq!(villages.len(), 194);

    let county_km2 = km2(&county.geometry);
    assert!((4200.0..4350.0).contains(&county_km2), "{county_km2}");
    let sum: f64 = townships.iter().map(|t| km2(&t.geometry)).sum();
    assert!(
        (sum - county_km2).abs() / county_km2 < 1e-6,
        "{sum} vs {county_km2}"
    );

    for t in &townships {
        let children: Vec<&AreaRecord> = villages
            .iter()
            .filter(|v| v.summary.parent_code.as_deref() == Some(t.summary.code.as_str()))
            .collect();
        let own = km2(&t.geometry);
        let sum: f64 = children.iter().map(|v| km2(&v.geometry)).sum();
        assert!(
            (sum - own).abs() / own < 1e-6,
            "{}: {sum} vs {own}",
            t.summary.code
        );
        for v in &children {
            let outside = km2(&v.geometry.difference(&t.geometry));
            assert!(
                outside < 1e-6,
                "{} sticks out of its township by {outside} km²",
                v.summary.code
            );
        }
    }
    // Neighbours share borders but no area.
    for (i, a) in townships.iter().enumerate() {
        for b in &townships[i + 1..] {
            let overlap = km2(&a.geometry.intersection(&b.geometry));
            assert!(
                overlap < 1e-6,
                "{} and {} overlap by {overlap} km²",
                a.summary.code,
                b.summary.code
            );
        }
    }
}

#[test]
fn village_sizes_are_plausible_and_communities_are_small() {
    let villages = records(AreaLevel::Village);
    let mut rural: Vec<f64> = villages
        .iter()
        .filter(|v| v.summary.level == AreaLevel::Village)
        .map(|v| v.summary.area_km2)
        .collect();
    rural.sort_by(f64::total_cmp);
    let median = rural[rural.len() / 2];
    assert!((8.0..60.0).contains(&median), "median village {median} km²");
    for c in villages
        .iter()
        .filter(|v| v.summary.level == AreaLevel::Community)
    {
        assert!(
            c.summary.area_km2 < median,
            "community {} is {} km²",
            c.summary.code,
            c.summary.area_km2
        );
    }
    let poverty = villages
        .iter()
        .filter(|v| v.summary.poverty_village)
        .count();
    assert_eq!(poverty, 53);
    assert!(
        villages
            .iter()
            .filter(|v| v.summary.poverty_village)
            .all(|v| v.summary.level == AreaLevel::Village)
    );
}

#[test]
fn households_are_registered_in_known_villages_and_stored_in_hilbert_order() {
    let orphans: i64 = one(
        "SELECT count(*) FROM households h LEFT JOIN areas a ON a.code = h.village_code
         WHERE a.code IS NULL OR a.parent_code <> h.township_code",
    );
    assert_eq!(orphans, 0);
    let disorder: i64 = one(
        "SELECT count(*) FROM (SELECT hilbert, lag(hilbert) OVER (ORDER BY rowid) AS prev FROM households)
         WHERE hilbert < prev",
    );
    assert_eq!(disorder, 0, "rows follow the Hilbert key");
    let unique: i64 = one("SELECT count(DISTINCT household_no) FROM households");
    assert_eq!(unique, demo::DEFAULT_HOUSEHOLDS as i64);
    // Stored positions are WGS-84: equal to the recorded ones where WGS-84 was
    // declared, shifted back by a few hundred metres where GCJ-02 was.
    let wgs_differs: i64 = one(
        "SELECT count(*) FROM households WHERE gps_crs = 'wgs84' AND (lon <> gps_lon OR lat <> gps_lat)",
    );
    assert_eq!(wgs_differs, 0);
    let gcj_shift_m: f64 =
        one("SELECT median(abs(gps_lon - lon)) * 83000 FROM households WHERE gps_crs = 'gcj02'");
    assert!(
        gcj_shift_m > 200.0,
        "GCJ-02 positions are converted: {gcj_shift_m} m"
    );
    let unlocated: i64 =
        one("SELECT count(*) FROM households WHERE (gps_lon IS NULL) <> (lon IS NULL)");
    assert_eq!(unlocated, 0);
    let member_total: i64 = one("SELECT sum(member_count) FROM households");
    let members: i64 = one("SELECT count(*) FROM members");
    assert_eq!(member_total, members);
}

#[test]
fn id_numbers_are_unique_valid_and_from_a_region_that_does_not_exist() {
    let ids: Vec<String> = query("SELECT id_number FROM members");
    let unique: HashSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len());
    for id in &ids {
        assert!(id.starts_with("21049"), "{id}");
        assert_eq!(
            paicha::demo::people::id_check_char(&id[..17]),
            id.chars().last(),
            "{id}"
        );
    }
}

#[test]
fn the_household_mix_is_realistic() {
    let share = |sql: &str| -> f64 { one::<f64>(sql) };
    let gps_missing = share("SELECT avg((gps_lon IS NULL)::INT) FROM households");
    assert!((0.01..0.05).contains(&gps_missing), "no GPS: {gps_missing}");
    let lifted = share("SELECT avg((category = 'lifted')::INT) FROM households");
    assert!((0.05..0.25).contains(&lifted), "lifted: {lifted}");
    let monitored = share("SELECT avg((category LIKE 'monitored_%')::INT) FROM households");
    assert!((0.01..0.08).contains(&monitored), "monitored: {monitored}");
    let kinds: i64 = one("SELECT count(DISTINCT category) FROM households");
    assert_eq!(kinds, 6);
    let risk_consistent: i64 = one(
        "SELECT count(*) FROM households
         WHERE (category LIKE 'monitored_%') <> (risk_type IS NOT NULL AND risk_state IS NOT NULL)",
    );
    assert_eq!(risk_consistent, 0);
    let schooling_consistent: i64 =
        one("SELECT count(*) FROM members WHERE (age BETWEEN 6 AND 15) <> (schooling IS NOT NULL)");
    assert_eq!(schooling_consistent, 0);
    let dropouts: i64 = one("SELECT count(*) FROM members WHERE schooling = 'out_of_school'");
    assert!(dropouts > 0, "some dropouts for the inspection to find");
}

#[test]
fn poverty_villages_have_more_problems() {
    let rate = |poverty: bool| -> f64 {
        one(&format!(
            "SELECT avg((h.house_grade IN ('C','D') OR NOT h.water_safe OR h.income_per_capita < 3442)::INT)
             FROM households h JOIN areas a ON a.code = h.village_code
             WHERE a.poverty_village = {poverty}"
        ))
    };
    let (poor, other) = (rate(true), rate(false));
    assert!(
        poor > other * 1.3,
        "poverty villages {poor} vs others {other}"
    );
}

#[test]
fn every_kind_of_location_flaw_is_present_and_recorded() {
    let counts: Vec<(String, i64)> = {
        let conn = default_demo().store.conn().unwrap();
        let mut stmt = conn
            .prepare("SELECT flaw, count(*) FROM demo_flaws GROUP BY flaw ORDER BY flaw")
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    let kinds: Vec<&str> = counts.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "gps_coarse",
            "gps_duplicate",
            "gps_missing",
            "gps_outside_county",
            "gps_swapped",
            "gps_undeclared_gcj02",
            "gps_wrong_village",
        ]
    );
    let missing_flagged: i64 = one("SELECT count(*) FROM demo_flaws WHERE flaw = 'gps_missing'");
    let missing: i64 = one("SELECT count(*) FROM households WHERE gps_lon IS NULL");
    assert_eq!(missing_flagged, missing);
    // Exactly one township's app recorded GCJ-02 while declaring WGS-84.
    let offset_townships: Vec<String> = query(
        "SELECT DISTINCT h.township_code FROM demo_flaws f JOIN households h USING (household_no)
         WHERE f.flaw = 'gps_undeclared_gcj02'",
    );
    assert_eq!(offset_townships.len(), 1);
    let declared: Vec<String> =
        query("SELECT DISTINCT township_code FROM households WHERE gps_crs = 'gcj02'");
    assert_eq!(declared.len(), 1);
    assert_ne!(declared, offset_townships);
    let duplicates_really_share: i64 = one("SELECT count(*) FROM demo_flaws f
         JOIN households a ON a.household_no = f.household_no
         JOIN households b ON b.household_no = f.related
         WHERE f.flaw = 'gps_duplicate' AND a.gps_lon = b.gps_lon AND a.gps_lat = b.gps_lat");
    let duplicates: i64 = one("SELECT count(*) FROM demo_flaws WHERE flaw = 'gps_duplicate'");
    assert_eq!(duplicates_really_share, duplicates);
}

/// Household number, village, lon, lat, declared system, flaws, related code.
type Row = (
    String,
    String,
    f64,
    f64,
    String,
    Vec<Option<String>>,
    Option<String>,
);

#[test]
fn clean_households_lie_in_their_village_and_misplaced_ones_do_not() {
    let built = default_demo();
    let snapshot = load_snapshot(
        &built.store.conn().unwrap(),
        &paicha::indicators::Catalog::builtin().unwrap(),
    )
    .unwrap();
    let conn = built.store.conn().unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT h.household_no, h.village_code, h.gps_lon, h.gps_lat, h.gps_crs,
                    list(f.flaw), any_value(f.related)
             FROM households h LEFT JOIN demo_flaws f USING (household_no)
             WHERE h.gps_lon IS NOT NULL
             GROUP BY ALL",
        )
        .unwrap();
    let rows: Vec<Row> = stmt
        .query_map([], |r| {
            let flaws: duckdb::types::Value = r.get(5)?;
            let flaws = match flaws {
                duckdb::types::Value::List(items) => items
                    .into_iter()
                    .map(|v| match v {
                        duckdb::types::Value::Text(s) => Some(s),
                        _ => None,
                    })
                    .collect(),
                _ => vec![],
            };
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                flaws,
                r.get(6)?,
            ))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut checked: HashMap<&str, usize> = HashMap::new();
    for (no, village, lon, lat, declared, flaws, recorded_in) in &rows {
        let flaws: Vec<&str> = flaws.iter().flatten().map(String::as_str).collect();
        let declared = Crs::from_code(declared).unwrap();
        let wgs = crs::convert(LonLat::new(*lon, *lat), declared, Crs::Wgs84);
        let found = snapshot.villages.village_at(wgs).map(|v| v.code.as_str());
        if flaws.is_empty() {
            assert_eq!(
                found,
                Some(village.as_str()),
                "clean household {no} is misplaced"
            );
            *checked.entry("clean").or_default() += 1;
        } else if flaws == ["gps_wrong_village"] {
            assert_eq!(found, recorded_in.as_deref(), "{no}");
            assert_ne!(found, Some(village.as_str()), "{no}");
            *checked.entry("wrong").or_default() += 1;
        } else if flaws == ["gps_outside_county"] {
            assert_eq!(found, None, "{no}");
            *checked.entry("outside").or_default() += 1;
        } else if flaws == ["gps_swapped"] {
            assert_eq!(found, None, "{no}: swapped coordinates land far away");
            *checked.entry("swapped").or_default() += 1;
        }
    }
    assert!(checked["clean"] > 60_000, "{checked:?}");
    for kind in ["wrong", "outside", "swapped"] {
        assert!(checked.get(kind).copied().unwrap_or(0) > 0, "{checked:?}");
    }
}

#[test]
fn the_same_seed_gives_the_same_county_and_another_seed_another() {
    let dir = tempfile::tempdir().unwrap();
    let build = |name: &str, seed: u64| -> PathBuf {
        let path = dir.path().join(name);
        demo::build(
            &path,
            &DemoOptions {
                households: 1500,
                seed,
                ..DemoOptions::default()
            },
            || (),
        )
        .unwrap();
        path
    };
    let dump = |path: &Path| -> (Vec<String>, Vec<Vec<u8>>) {
        let store = Store::open(path).unwrap();
        let conn = store.conn().unwrap();
        let mut rows = Vec::new();
        store::households::export(
            &conn,
            store::HouseholdExport::Households,
            |r: &[String]| {
                rows.push(r.join(","));
                Ok::<(), std::convert::Infallible>(())
            },
        )
        .unwrap();
        store::households::export(&conn, store::HouseholdExport::Members, |r: &[String]| {
            rows.push(r.join(","));
            Ok::<(), std::convert::Infallible>(())
        })
        .unwrap();
        let mut stmt = conn
            .prepare("SELECT geom FROM areas ORDER BY code")
            .unwrap();
        let geoms = stmt
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        (rows, geoms)
    };
    let a = dump(&build("a.duckdb", 11));
    let b = dump(&build("b.duckdb", 11));
    let c = dump(&build("c.duckdb", 12));
    assert_eq!(a, b);
    assert_ne!(a.0, c.0, "households differ");
    assert_ne!(a.1, c.1, "village boundaries differ");
}

#[test]
fn a_failed_build_leaves_no_file_behind_and_the_target_untouched() {
    let dir = tempfile::tempdir().unwrap();
    // A directory where the database should go makes the final rename fail, after
    // the whole database has been written.
    let target = dir.path().join("taken.duckdb");
    std::fs::create_dir(&target).unwrap();
    std::fs::write(target.join("keep.txt"), "mine").unwrap();
    let err = demo::build(
        &target,
        &DemoOptions {
            households: 200,
            seed: 1,
            ..DemoOptions::default()
        },
        || (),
    )
    .unwrap_err();
    assert!(err.to_string().contains("taken.duckdb"), "{err}");
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["taken.duckdb"], "no temporary file is left");
    assert_eq!(
        std::fs::read_to_string(target.join("keep.txt")).unwrap(),
        "mine"
    );
}

#[test]
fn rebuilding_replaces_an_existing_database_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("demo.duckdb");
    demo::build(
        &path,
        &DemoOptions {
            households: 300,
            seed: 1,
            ..DemoOptions::default()
        },
        || (),
    )
    .unwrap();
    demo::build(
        &path,
        &DemoOptions {
            households: 500,
            seed: 2,
            ..DemoOptions::default()
        },
        || (),
    )
    .unwrap();
    let store = Store::open(&path).unwrap();
    let conn = store.conn().unwrap();
    assert_eq!(store::households::count(&conn).unwrap(), 500);
    assert_eq!(
        store::meta(&conn, "demo_seed").unwrap().as_deref(),
        Some("2")
    );
}

/// Issue 3: every deliberate flaw of the demo is found by the location-quality
/// assessment, and no clean household is flagged.
#[test]
fn location_quality_finds_every_recorded_flaw_and_nothing_else() {
    use paicha::spatial::quality::{FlagKind, LocationFlag};

    let built = default_demo();
    let snapshot = load_snapshot(
        &built.store.conn().unwrap(),
        &paicha::indicators::Catalog::builtin().unwrap(),
    )
    .unwrap();
    let conn = built.store.conn().unwrap();
    let mut stmt = conn
        .prepare("SELECT household_no, flaw, related FROM demo_flaws")
        .unwrap();
    let flaws: Vec<(String, String, Option<String>)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let row_of: HashMap<&str, usize> = snapshot
        .household_nos
        .iter()
        .enumerate()
        .map(|(i, no)| (no, i))
        .collect();
    let flags_of: HashMap<usize, &Vec<LocationFlag>> = snapshot
        .quality
        .flagged
        .iter()
        .map(|f| (f.row as usize, &f.flags))
        .collect();
    let has = |row: usize, kind: FlagKind| {
        flags_of
            .get(&row)
            .is_some_and(|f| f.iter().any(|x| x.kind() == kind))
    };

    let mut expected_rows: HashSet<usize> = HashSet::new();
    let mut offset_township = None;
    for (no, flaw, related) in &flaws {
        let row = row_of[no.as_str()];
        expected_rows.insert(row);
        match flaw.as_str() {
            "gps_missing" => assert!(has(row, FlagKind::NoGps), "{no}"),
            "gps_outside_county" => assert!(has(row, FlagKind::OutsideCounty), "{no}"),
            "gps_swapped" => assert!(has(row, FlagKind::Swapped), "{no}"),
            "gps_coarse" => assert!(has(row, FlagKind::Coarse), "{no}"),
            "gps_duplicate" => {
                let original = row_of[related.as_deref().unwrap()];
                expected_rows.insert(original);
                assert!(
                    has(row, FlagKind::Duplicate) && has(original, FlagKind::Duplicate),
                    "{no}"
                );
            }
            "gps_wrong_village" => {
                let found = flags_of[&row].iter().find_map(|f| match f {
                    LocationFlag::OutsideVillage { found_village, .. } => found_village.clone(),
                    _ => None,
                });
                assert_eq!(found, related.clone(), "{no}");
            }
            "gps_undeclared_gcj02" => {
                offset_township = Some(snapshot.locations[row].township_code.to_string());
            }
            other => panic!("a flaw kind the test does not know: {other}"),
        }
    }
    // The offset township is found as a whole, with the GCJ-02 verdict.
    let township = offset_township.expect("the demo has an offset township");
    let verdicts: Vec<&str> = snapshot
        .quality
        .townships
        .iter()
        .filter(|g| g.offset.is_some())
        .map(|g| g.code.as_str())
        .collect();
    assert_eq!(verdicts, [township.as_str()]);
    let group = snapshot
        .quality
        .townships
        .iter()
        .find(|g| g.code == township)
        .unwrap();
    assert_eq!(group.offset, Some(Crs::Gcj02));
    assert!(group.share_as_gcj02 > group.share_declared);
    // No village outside that township gets a verdict.
    assert!(
        snapshot
            .quality
            .villages
            .iter()
            .filter(|g| g.offset.is_some())
            .all(|g| g.code.starts_with(&township))
    );

    // No false alarms: every flagged household carries a recorded flaw (or is the
    // original that a duplicate copied).
    for f in &snapshot.quality.flagged {
        assert!(
            expected_rows.contains(&(f.row as usize)),
            "clean household {} flagged: {:?}",
            &snapshot.household_nos[f.row as usize],
            f.flags
        );
    }
}

/// The snapshot (index, positions, quality) is rebuilt from the store and swapped in
/// whole; requests holding the old one keep a consistent view until they finish.
#[tokio::test]
async fn reload_swaps_in_a_whole_new_snapshot() {
    let state = paicha::app::AppState::new(
        default_demo().store.clone(),
        paicha::indicators::Catalog::builtin().unwrap(),
    )
    .unwrap();
    let before = state.snapshot();
    state.reload().await.unwrap();
    let after = state.snapshot();
    assert!(!std::sync::Arc::ptr_eq(&before, &after), "a new snapshot");
    assert_eq!(before.data_version, after.data_version);
    assert_eq!(
        before.quality, after.quality,
        "rebuilt from the same data, the same answers"
    );
    assert_eq!(before.villages.len(), after.villages.len());
}

/// A raw exported row: column name → text.
type RawRow = HashMap<String, String>;

/// Every row of an admin export.
fn raw_rows(conn: &duckdb::Connection, which: paicha::store::HouseholdExport) -> Vec<RawRow> {
    let mut header: Vec<String> = Vec::new();
    let mut rows = Vec::new();
    store::households::export(conn, which, |r| {
        if header.is_empty() {
            header = r.to_vec();
        } else {
            rows.push(header.iter().cloned().zip(r.iter().cloned()).collect());
        }
        Ok::<(), ()>(())
    })
    .unwrap();
    rows
}

/// The households behind the mismatches planted in the demo's rolls, with the
/// indicator of each: (household number, `crosscheck_<rule>`).
fn planted_households(
    conn: &duckdb::Connection,
    members: &HashMap<String, Vec<RawRow>>,
) -> HashSet<(String, String)> {
    let household_of: HashMap<&str, &str> = members
        .values()
        .flatten()
        .map(|m| (m["id_number"].as_str(), m["household_no"].as_str()))
        .collect();
    paicha::store::rolls::planted(conn)
        .unwrap()
        .into_iter()
        .filter(|(rule, _)| !rule.starts_with("roll_"))
        .map(|(rule, key)| {
            let household = household_of
                .get(key.as_str())
                .map_or(key.clone(), |h| (*h).to_owned());
            (household, format!("crosscheck_{rule}"))
        })
        .collect()
}

/// Per household number, (no GPS, GPS outside its village).
type GpsVerdicts<'a> = HashMap<&'a str, (bool, bool)>;

/// Every indicator's (count, denominator) per village and township, recounted in
/// plain Rust from the raw rows; `gps` holds (no position, outside its village) by
/// household number.
#[expect(
    clippy::panic,
    reason = "an indicator without a recount must fail the test"
)]
fn recount<'a>(
    households: &[RawRow],
    members: &HashMap<String, Vec<RawRow>>,
    (gps, crosschecks, measures): (&GpsVerdicts<'_>, &HashSet<(String, String)>, &Measures),
    ids: &[&'a str],
) -> HashMap<(String, &'a str), (i64, i64)> {
    // (village, indicator) → (count, denominator)
    let mut expected: HashMap<(String, &str), (i64, i64)> = HashMap::new();
    let yes = |h: &HashMap<String, String>, k: &str| h[k] == "true";
    for h in households {
        let ms = &members[&h["household_no"]];
        let school: Vec<_> = ms
            .iter()
            .filter(|m| (6..=15).contains(&m["age"].parse::<u8>().unwrap()))
            .collect();
        let dropouts = school
            .iter()
            .filter(|m| m["schooling"] == "out_of_school")
            .count() as i64;
        let income_low = h["income_per_capita"].parse::<f64>().unwrap() < 3442.0;
        let food = !(yes(h, "food_secure") && yes(h, "clothing_secure"));
        let uninsured = ms.iter().any(|m| m["medical_insured"] == "false");
        let unsafe_house =
            yes(h, "house_occupied") && matches!(h["house_grade"].as_str(), "C" | "D");
        let unappraised = h["house_grade"] == "unappraised";
        let water = !yes(h, "water_safe");
        let piped = !yes(h, "water_piped");
        let monitored = h["category"].starts_with("monitored_");
        let (no_gps, mismatch) = gps
            .get(h["household_no"].as_str())
            .copied()
            .unwrap_or_default();
        let any = income_low
            || food
            || dropouts > 0
            || uninsured
            || unsafe_house
            || unappraised
            || water
            || piped;
        for id in ids {
            let (c, d): (i64, i64) = match *id {
                "any_problem" => (any.into(), 1),
                "income_below_line" => (income_low.into(), 1),
                "food_clothing_insecure" => (food.into(), 1),
                "dropout" => (dropouts, school.len() as i64),
                "uninsured" => (uninsured.into(), 1),
                "unsafe_housing" => (unsafe_house.into(), 1),
                "housing_unappraised" => (unappraised.into(), 1),
                "water_unsafe" => (water.into(), 1),
                "water_not_piped" => (piped.into(), 1),
                "monitored" => (monitored.into(), 1),
                "monitored_unstable" | "monitored_marginal" | "monitored_sudden" => {
                    ((h["category"] == *id).into(), 1)
                }
                "risk_unresolved" => (
                    (monitored && h["risk_state"] == "unresolved").into(),
                    monitored.into(),
                ),
                "gps_missing" => (no_gps.into(), 1),
                "gps_mismatch" => (mismatch.into(), (!no_gps).into()),
                // Every county of the demo has every roll: the households with a
                // planted mismatch of the rule, of all.
                other if other.starts_with("crosscheck_") => (
                    crosschecks
                        .contains(&(h["household_no"].clone(), other.to_owned()))
                        .into(),
                    1,
                ),
                other => measure_recount(h, measures, other)
                    .unwrap_or_else(|| panic!("no recount for {other}")),
            };
            for area in [h["village_code"].clone(), h["township_code"].clone()] {
                let e = expected.entry((area, id)).or_default();
                e.0 += c;
                e.1 += d;
            }
        }
    }

    expected
}

/// Each household's measure codes of one year.
type Measures = HashMap<String, HashSet<String>>;

/// The 2018 measures as stored, read apart from the indicators' SQL.
fn stored_measures(conn: &duckdb::Connection) -> Measures {
    let mut measures = Measures::new();
    let mut stmt = conn
        .prepare("SELECT household_no, measure FROM household_measures WHERE year = 2018")
        .unwrap();
    for row in stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
        .unwrap()
    {
        let (no, measure) = row.unwrap();
        measures.entry(no).or_default().insert(measure);
    }
    measures
}

/// The measure indicators of a household (issue 17), from its risks and its 2018
/// measures as stored, by the rules' words: a monitored household with none of 产业,
/// 就业, 小额信贷, 公益岗位; a risk of 因病, 因学, 因安全住房 or 因安全饮水 without 健康, 教育,
/// 危房改造 or 饮水保障 respectively.
fn measure_recount(h: &RawRow, measures: &Measures, id: &str) -> Option<(i64, i64)> {
    let none = HashSet::new();
    let had = measures.get(&h["household_no"]).unwrap_or(&none);
    let monitored = h["category"].starts_with("monitored_");
    let risks: Vec<&str> = std::iter::once(h["risk_type"].as_str())
        .chain(h["other_risks"].split(','))
        .collect();
    match id {
        "no_development_measure" => {
            let development = ["industry", "employment", "micro_credit", "public_job"]
                .iter()
                .any(|m| had.contains(*m));
            Some(((monitored && !development).into(), monitored.into()))
        }
        "risk_without_measure" => {
            let pairs = [
                ("illness", "health"),
                ("schooling", "education"),
                ("housing_safety", "housing"),
                ("water_safety", "water"),
            ];
            let needs = pairs.iter().any(|(r, _)| risks.contains(r));
            let unmet = pairs
                .iter()
                .any(|(r, m)| risks.contains(r) && !had.contains(*m));
            Some((unmet.into(), needs.into()))
        }
        _ => None,
    }
}

/// Every indicator per village and township recomputed in plain Rust from the raw
/// household and member rows (the admin export), with the GPS indicators from the
/// location-quality report, and compared exactly with the DuckDB GROUP BY table.
#[test]
fn indicator_tables_agree_with_a_recount_from_the_raw_rows() {
    use paicha::indicators::Catalog;
    use paicha::indicators::table::{self, AreaRef, TableRequest};
    use paicha::spatial::FlagKind;
    use paicha::store::HouseholdExport;

    let built = default_demo();
    let catalog = Catalog::builtin().unwrap();
    let conn = built.store.conn().unwrap();
    let snapshot = load_snapshot(&conn, &catalog).unwrap();
    assert_eq!(snapshot.income_line.as_ref().unwrap().year, 2018);

    let mut members: HashMap<String, Vec<RawRow>> = HashMap::new();
    for m in raw_rows(&conn, HouseholdExport::Members) {
        members
            .entry(m["household_no"].clone())
            .or_default()
            .push(m);
    }
    let households = raw_rows(&conn, HouseholdExport::Households);

    // GPS verdicts by household number, from the quality report.
    let mut gps: HashMap<&str, (bool, bool)> = HashMap::new();
    for f in &snapshot.quality.flagged {
        let kinds: Vec<FlagKind> = f
            .flags
            .iter()
            .map(paicha::spatial::LocationFlag::kind)
            .collect();
        gps.insert(
            &snapshot.household_nos[f.row as usize],
            (
                kinds.contains(&FlagKind::NoGps),
                kinds.iter().any(|k| {
                    matches!(
                        k,
                        FlagKind::OutsideVillage | FlagKind::OutsideCounty | FlagKind::Swapped
                    )
                }),
            ),
        );
    }

    // Household indicators; the ledger's are counted per village (tests/api/ledger.rs).
    let ids: Vec<&str> = catalog
        .indicators
        .iter()
        .filter(|i| i.unit != paicha::domain::Unit::Items)
        .map(|i| i.id.as_str())
        .collect();
    let crosschecks = planted_households(&conn, &members);
    let measures = stored_measures(&conn);
    let expected = recount(&households, &members, (&gps, &crosschecks, &measures), &ids);

    for level in [AreaLevel::Township, AreaLevel::Village] {
        let request = TableRequest {
            indicators: catalog.indicators.clone(),
            within: AreaRef {
                code: "210422".into(),
                name: "新宾满族自治县".into(),
                level: AreaLevel::County,
            },
            level,
            by_location: false,
            categories: vec![],
            sort: None,
            ascending: false,
            limit: None,
        };
        let t = table::build(&conn, &snapshot.names, &request).unwrap();
        // A sample: every township, every fifth village.
        let step = if level == AreaLevel::Township { 1 } else { 5 };
        for row in t.rows.iter().step_by(step) {
            for (ind, cell) in t
                .indicators
                .iter()
                .zip(&row.cells)
                .filter(|(i, _)| ids.contains(&i.id.as_str()))
            {
                let want = expected
                    .get(&(row.area.code.clone(), ind.id.as_str()))
                    .copied()
                    .unwrap_or_default();
                assert_eq!(
                    (cell.value.count, cell.value.denominator),
                    want,
                    "{} {}",
                    row.area.code,
                    ind.id
                );
            }
        }
        assert_eq!(t.total.households, 70_000);
    }
    // The demo is meant to show problems: every standard indicator has some.
    for id in [
        "income_below_line",
        "dropout",
        "uninsured",
        "unsafe_housing",
        "water_unsafe",
        "gps_mismatch",
    ] {
        let total: i64 = expected
            .iter()
            .filter(|((a, i), _)| a.len() == 9 && *i == id)
            .map(|(_, v)| v.0)
            .sum();
        assert!(total > 0, "{id}");
    }
}

/// A table of some indicators read out of the table of every indicator (what boundary
/// tiles do for a new indicator set) is the table a GROUP BY for them alone gives.
#[test]
fn a_table_selected_from_every_indicators_equals_its_own_build() {
    use paicha::indicators::Catalog;
    use paicha::indicators::table::{self, AreaRef, TableRequest};

    let built = default_demo();
    let catalog = Catalog::builtin().unwrap();
    let conn = built.store.conn().unwrap();
    let snapshot = load_snapshot(&conn, &catalog).unwrap();
    let county = AreaRef {
        code: "210422".into(),
        name: "新宾满族自治县".into(),
        level: AreaLevel::County,
    };
    for level in [AreaLevel::Township, AreaLevel::Village] {
        let every = TableRequest::plain(catalog.indicators.clone(), county.clone(), level);
        let every = table::build(&conn, &snapshot.names, &every).unwrap();
        for ids in [
            &["any_problem"][..],
            &["unsafe_housing", "dropout"],
            &["checklist_unmet", "income_below_line", "gps_mismatch"],
        ] {
            let picked: Vec<_> = ids
                .iter()
                .map(|id| catalog.get(id).unwrap().clone())
                .collect();
            let own = TableRequest::plain(picked.clone(), county.clone(), level);
            let own = table::build(&conn, &snapshot.names, &own).unwrap();
            let selected = every.select(&picked).unwrap();
            assert_eq!(selected, own, "{level:?} {ids:?}");
            assert!(
                own.rows
                    .iter()
                    .any(|r| r.cells.iter().any(|c| c.value.count > 0))
            );
        }
    }
    // An indicator the table does not hold cannot be read out of it.
    let one = TableRequest::plain(
        vec![catalog.get("dropout").unwrap().clone()],
        county,
        AreaLevel::Township,
    );
    let one = table::build(&conn, &snapshot.names, &one).unwrap();
    assert!(
        one.select(&[catalog.get("uninsured").unwrap().clone()])
            .is_none()
    );
}

/// The demo's village checks open ledger items through the ledger's rules (status changes
/// in the history, made at the visit's time and naming the visit), and what the first
/// week opened is 整改中 in the second week and 已整改 in the third.
#[test]
fn the_demo_village_checks_open_ledger_items_and_the_first_weeks_are_rectified() {
    let checks: i64 = one("SELECT count(*) FROM visits WHERE target_kind = 'village'");
    let opened: i64 =
        one("SELECT sum(ledger_opened)::BIGINT FROM visits WHERE target_kind = 'village'");
    assert!(checks > 0);
    assert_eq!(opened, checks, "each village check opens one item");
    let by_visit: i64 = one("SELECT count(*) FROM ledger_history h JOIN visits v
           ON h.changed_at = v.recorded_at AND h.village_code = v.village_code
         WHERE h.field = 'status' AND h.new_value = 'problem' AND v.target_kind = 'village'");
    assert_eq!(by_visit, checks);
    let rectified: Vec<String> = query(
        "SELECT changed_at FROM ledger_history
         WHERE field = 'status' AND new_value = 'rectified' ORDER BY changed_at",
    );
    let first_week: i64 = one(
        "SELECT count(*) FROM visits WHERE target_kind = 'village' AND visit_date <= '2019-07-07'",
    );
    assert_eq!(rectified.len() as i64, first_week);
    assert!(
        rectified
            .iter()
            .all(|at| at.as_str() > "2019-07-15" && at.as_str() < "2019-07-18")
    );
}

#[test]
fn the_demo_campaign_finds_more_problems_in_poverty_villages_and_some_overdue() {
    let rates: Vec<f64> = query(
        "SELECT avg((e.status NOT IN ('not_checked', 'no_problem'))::DOUBLE)
         FROM ledger_entries e JOIN areas a ON a.code = e.village_code
         GROUP BY a.poverty_village ORDER BY a.poverty_village",
    );
    assert_eq!(rates.len(), 2);
    assert!(
        rates[1] > 1.8 * rates[0],
        "poverty {} vs other {}",
        rates[1],
        rates[0]
    );
    let overdue: i64 = one("SELECT count(*) FROM ledger_entries
         WHERE status IN ('problem', 'rectifying') AND deadline < '2019-09-30'");
    assert!(overdue > 0);
    // Some open problems are not yet due on the ledger's day, so that checklist_unmet and
    // rectification_overdue differ. See issue 19, item 5.
    let not_yet_due: i64 = one("SELECT count(*) FROM ledger_entries
         WHERE status IN ('problem', 'rectifying') AND deadline >= '2019-09-30'");
    assert!(not_yet_due > 0);
    let entries: i64 = one("SELECT count(*) FROM ledger_entries");
    assert_eq!(entries, 194 * 37);
    // Closed entries carry the three signatures.
    let unsigned: i64 = one(
        "SELECT count(*) FROM ledger_entries
         WHERE status = 'closed' AND (secretary IS NULL OR first_secretary IS NULL OR group_leader IS NULL)",
    );
    assert_eq!(unsigned, 0);
}
