//! `paicha import boundaries` as an office runs it, on files GDAL writes: another demo
//! county's village boundaries (same codes, other shapes) in the land survey's form
//! (ZLDWDM, ZLDWMC, a GBK .dbf, CGCS2000 Gauss–Krüger), read, reported, committed,
//! exported back and undone.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test helpers fail loudly, which is what a test wants"
)]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

#[path = "support/command.rs"]
mod command;
use command::{paicha, run, run_ok};

use geo::{Coord, MultiPolygon};

fn ogr2ogr(args: &[&str]) {
    let out = Command::new("ogr2ogr")
        .args(args)
        .output()
        .expect("ogr2ogr (GDAL) must be installed: `sudo bash .ci/setup` (apt: gdal-bin)");
    assert!(
        out.status.success(),
        "ogr2ogr {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A demo county's database in `dir`.
fn demo(dir: &Path, name: &str, seed: u64) -> std::path::PathBuf {
    let db = dir.join(name);
    run_ok(
        paicha()
            .args([
                "demo",
                "--households",
                "2000",
                "--seed",
                &seed.to_string(),
                "--db",
            ])
            .arg(&db),
    );
    db
}

/// The village boundaries of a database, by code, as `paicha export` writes them.
fn villages(db: &Path, out: &Path) -> BTreeMap<String, (MultiPolygon<f64>, f64)> {
    run_ok(
        paicha()
            .args(["export", "--db"])
            .arg(db)
            .args(["areas", "--level", "village", "--out"])
            .arg(out),
    );
    let fc: geojson::FeatureCollection = std::fs::read_to_string(out).unwrap().parse().unwrap();
    fc.features
        .into_iter()
        .map(|f| {
            let props = f.properties.clone().unwrap();
            let geometry: geo::Geometry<f64> = f.geometry.unwrap().try_into().unwrap();
            let mp = match geometry {
                geo::Geometry::MultiPolygon(mp) => mp,
                geo::Geometry::Polygon(p) => MultiPolygon(vec![p]),
                other => panic!("{other:?}"),
            };
            (
                props["code"].as_str().unwrap().to_owned(),
                (mp, props["area_km2"].as_f64().unwrap()),
            )
        })
        .collect()
}

/// Every vertex of `a` within `metres` of the same vertex of `b`.
fn same_shape(a: &MultiPolygon<f64>, b: &MultiPolygon<f64>, metres: f64) -> Result<(), String> {
    use geo::{Distance, Geodesic, Point};
    let coords = |m: &MultiPolygon<f64>| -> Vec<Coord<f64>> {
        m.0.iter()
            .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
            .flat_map(|r| r.0.iter().copied())
            .collect()
    };
    let (ca, cb) = (coords(a), coords(b));
    if ca.len() != cb.len() {
        return Err(format!("{} vertices against {}", ca.len(), cb.len()));
    }
    for (p, q) in ca.iter().zip(&cb) {
        let d = Geodesic.distance(Point::from(*p), Point::from(*q));
        if d > metres {
            return Err(format!("{p:?} is {d:.3} m from {q:?}"));
        }
    }
    Ok(())
}

#[test]
#[expect(
    clippy::too_many_lines,
    reason = "one office's import, checked top to bottom"
)]
fn survey_boundaries_in_gauss_kruger_are_reported_committed_and_undone() {
    let dir = tempfile::tempdir().unwrap();
    let ours = demo(dir.path(), "ours.duckdb", 3);
    let theirs = demo(dir.path(), "theirs.duckdb", 4);
    let before = villages(&ours, &dir.path().join("before.geojson"));
    let survey = villages(&theirs, &dir.path().join("theirs.geojson"));
    assert!(
        before
            .iter()
            .any(|(code, (shape, _))| same_shape(shape, &survey[code].0, 1.0).is_err()),
        "the two demo counties must differ for this test to mean anything"
    );

    // The land survey's form: 19-digit ZLDWDM, ZLDWMC, GBK text, CGCS2000 3-degree
    // Gauss–Krüger zone 42 with the zone number in front of the easting (EPSG:4530).
    let shp = dir.path().join("村级调查区.shp");
    ogr2ogr(&[
        "-f",
        "ESRI Shapefile",
        "-t_srs",
        "EPSG:4530",
        "-lco",
        "ENCODING=GBK",
        "-dialect",
        "SQLite",
        "-sql",
        "SELECT code || '0000000' AS ZLDWDM, name AS ZLDWMC, '集体' AS QSXZ, geometry FROM theirs",
        shp.to_str().unwrap(),
        dir.path().join("theirs.geojson").to_str().unwrap(),
    ]);
    let dbf = std::fs::read(dir.path().join("村级调查区.dbf")).unwrap();
    assert!(
        std::str::from_utf8(&dbf).is_err(),
        "the .dbf holds GBK names, not UTF-8"
    );

    // A dry run reports and writes nothing.
    let xlsx = dir.path().join("报告.xlsx");
    let dry = run_ok(
        paicha()
            .args(["import", "--db"])
            .arg(&ours)
            .args(["boundaries"])
            .arg(&shp)
            .args(["--level", "village", "--report"])
            .arg(&xlsx),
    );
    assert!(dry.contains("要素数: 194"), "{dry}");
    assert!(dry.contains("匹配到的村: 194"), "{dry}");
    assert!(dry.contains("错误: 0"), "{dry}");
    assert!(
        dry.contains("EPSG:4530"),
        "the report names the system: {dry}"
    );
    assert!(dry.contains("dry run: nothing was written"), "{dry}");
    // The other county's villages do not hold this county's households.
    let outside: usize = dry
        .lines()
        .find_map(|l| l.strip_prefix("农户定位多数在新边界外的村: "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(outside > 50, "{dry}");
    // The county's own boundaries, through the same projection, hold them.
    let own = dir.path().join("own.shp");
    ogr2ogr(&[
        "-f",
        "ESRI Shapefile",
        "-t_srs",
        "EPSG:4530",
        "-dialect",
        "SQLite",
        "-sql",
        "SELECT code AS XZQDM, geometry FROM before",
        own.to_str().unwrap(),
        dir.path().join("before.geojson").to_str().unwrap(),
    ]);
    let own_dry = run_ok(
        paicha()
            .args(["import", "--db"])
            .arg(&ours)
            .args(["boundaries"])
            .arg(&own)
            .args(["--level", "village"]),
    );
    assert!(
        own_dry.contains("农户定位多数在新边界外的村: 0"),
        "{own_dry}"
    );
    assert!(own_dry.contains("相邻区域重叠（处）: 0"), "{own_dry}");
    let unchanged = villages(&ours, &dir.path().join("unchanged.geojson"));
    for (code, (shape, _)) in &before {
        same_shape(shape, &unchanged[code].0, 0.0).unwrap();
    }
    {
        use calamine::Reader as _;
        let mut book: calamine::Xlsx<_> = calamine::open_workbook(&xlsx).unwrap();
        assert_eq!(book.sheet_names(), ["概况", "问题"]);
        let counts = book.worksheet_range("概况").unwrap();
        let matched = counts.rows().find(|r| r[0] == "匹配到的村").unwrap();
        assert_eq!(matched[1].to_string(), "194");
    }

    // The commit writes every village as the survey has it, within half a metre (two
    // projections) and with areas within 0.1%.
    let committed = run_ok(
        paicha()
            .args(["import", "--db"])
            .arg(&ours)
            .args(["boundaries"])
            .arg(&shp)
            .args(["--level", "village", "--commit"]),
    );
    let id = committed
        .lines()
        .find_map(|l| l.strip_prefix("committed "))
        .and_then(|l| l.split(':').next())
        .unwrap()
        .to_owned();
    let after = villages(&ours, &dir.path().join("after.geojson"));
    assert_eq!(after.len(), 194);
    for (code, (shape, km2)) in &survey {
        same_shape(&after[code].0, shape, 0.5).unwrap_or_else(|e| panic!("{code}: {e}"));
        let got = after[code].1;
        assert!(
            (got - km2).abs() <= km2 * 0.001 + 0.001,
            "{code}: {got} km² against {km2}"
        );
    }

    let list = run_ok(paicha().args(["import", "--db"]).arg(&ours).arg("list"));
    assert!(list.contains(&id) && list.contains("in force"), "{list}");

    // Nothing in the file is lost: every field of every feature, as it came.
    let kept = dir.path().join("属性.csv");
    run_ok(
        paicha()
            .args(["import", "--db"])
            .arg(&ours)
            .args(["attributes", &id, "--out"])
            .arg(&kept),
    );
    let text = std::fs::read_to_string(&kept).unwrap();
    let mut reader = csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        ["区划代码", "文件", "要素/行", "ZLDWDM", "ZLDWMC", "QSXZ"]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 194);
    for r in &rows {
        assert_eq!(
            &r[3],
            format!("{}0000000", &r[0]),
            "the 19-digit code, every digit"
        );
        assert_eq!(&r[5], "集体", "GBK text as it came");
    }

    // Undo puts the previous boundaries back.
    run_ok(
        paicha()
            .args(["import", "--db"])
            .arg(&ours)
            .args(["undo", &id]),
    );
    let undone = villages(&ours, &dir.path().join("undone.geojson"));
    for (code, (shape, _)) in &before {
        same_shape(shape, &undone[code].0, 0.0).unwrap_or_else(|e| panic!("{code}: {e}"));
    }
    let list = run_ok(paicha().args(["import", "--db"]).arg(&ours).arg("list"));
    assert!(list.contains("undone"), "{list}");
    let again = run(paicha()
        .args(["import", "--db"])
        .arg(&ours)
        .args(["undo", &id]));
    assert!(!again.status.success(), "an import is undone once");
}

#[test]
fn names_match_where_codes_are_missing_and_bad_files_are_refused_with_the_place() {
    let dir = tempfile::tempdir().unwrap();
    let ours = demo(dir.path(), "ours.duckdb", 3);
    let theirs = demo(dir.path(), "theirs.duckdb", 4);
    villages(&theirs, &dir.path().join("theirs.geojson"));

    // GeoJSON in CGCS2000 lon/lat with a `crs` member, names only (村名称), two villages.
    let names = dir.path().join("names.geojson");
    ogr2ogr(&[
        "-f",
        "GeoJSON",
        "-t_srs",
        "EPSG:4490",
        "-lco",
        "RFC7946=NO",
        "-dialect",
        "SQLite",
        "-sql",
        "SELECT name AS 村名称, geometry FROM theirs WHERE code IN ('210422100201', '210422101201')",
        names.to_str().unwrap(),
        dir.path().join("theirs.geojson").to_str().unwrap(),
    ]);
    let out = run_ok(
        paicha()
            .args(["import", "--db"])
            .arg(&ours)
            .args(["boundaries"])
            .arg(&names)
            .args(["--level", "village"]),
    );
    assert!(out.contains("匹配到的村: 2"), "{out}");
    assert!(out.contains("按名称匹配的要素: 2"), "{out}");
    assert!(out.contains("EPSG:4490"), "{out}");

    // Projected metres without a .prj and without the zone number: the zone cannot be
    // known, so the import stops and asks for --crs; nothing is written.
    let bare = dir.path().join("bare.shp");
    ogr2ogr(&[
        "-f",
        "ESRI Shapefile",
        "-t_srs",
        "EPSG:4551",
        "-dialect",
        "SQLite",
        "-sql",
        "SELECT code AS XZQDM, geometry FROM theirs",
        bare.to_str().unwrap(),
        dir.path().join("theirs.geojson").to_str().unwrap(),
    ]);
    std::fs::remove_file(dir.path().join("bare.prj")).unwrap();
    let refused = run(paicha()
        .args(["import", "--db"])
        .arg(&ours)
        .args(["boundaries"])
        .arg(&bare)
        .args(["--level", "village", "--commit"]));
    assert!(!refused.status.success());
    let stdout = String::from_utf8_lossy(&refused.stdout);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stdout.contains("--crs"), "{stdout}");
    assert!(stderr.contains("nothing was written"), "{stderr}");
    assert!(
        !stderr.contains("panicked") && !stderr.contains("backtrace"),
        "{stderr}"
    );
    // With the system given, the same file imports.
    let given = run_ok(
        paicha()
            .args(["import", "--db"])
            .arg(&ours)
            .args(["boundaries"])
            .arg(&bare)
            .args(["--level", "village", "--crs", "EPSG:4551"]),
    );
    assert!(given.contains("匹配到的村: 194"), "{given}");
}

#[test]
fn a_missing_database_is_named_not_created() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("nowhere.duckdb");
    let out = run(paicha().args(["import", "--db"]).arg(&db).args([
        "boundaries",
        "村界.shp",
        "--level",
        "village",
    ]));
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no database at"), "{stderr}");
    assert!(!db.exists(), "a dry run creates no database");
}
