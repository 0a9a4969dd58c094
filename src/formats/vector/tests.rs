//! The readers on files GDAL's `ogr2ogr` writes at test time from one small GeoJSON
//! of two villages, compared with what `ogr2ogr` itself reads back from the same
//! files; and on hostile files (truncated, zip bombs, over the limits).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use geo::{Coord, LineString, MultiPolygon, Polygon};
use serde_json::Value;

use super::*;

/// Two villages of a 三调 village boundary layer: 五副甲村 a `MultiPolygon` whose first
/// polygon has a hole, 五副乙村 a Polygon. XZQDM is a JSON number on purpose: a
/// 12-digit code must come back without `.0` or an exponent; 备注 tests a GBK field name.
const VILLAGES: &str = r#"{"type": "FeatureCollection", "features": [
{"type": "Feature", "properties": {"ZLDWDM": "2104221002010000000", "ZLDWMC": "五副甲村",
  "XZQDM": 210422100201, "AREA": 1.5, "备注": "飞地"},
 "geometry": {"type": "MultiPolygon", "coordinates": [
  [[[124.1, 42.1], [124.2, 42.1], [124.2, 42.2], [124.1, 42.2], [124.1, 42.1]],
   [[124.12, 42.12], [124.12, 42.14], [124.14, 42.14], [124.14, 42.12], [124.12, 42.12]]],
  [[[124.3, 42.3], [124.4, 42.3], [124.4, 42.4], [124.3, 42.3]]]]}},
{"type": "Feature", "properties": {"ZLDWDM": "2104221002020000000", "ZLDWMC": "五副乙村",
  "XZQDM": 210422100202, "AREA": 2.25, "备注": null},
 "geometry": {"type": "Polygon", "coordinates": [
  [[124.2, 42.1], [124.3, 42.1], [124.3, 42.2], [124.2, 42.1]]]}}]}"#;

const FIELDS: [&str; 5] = ["ZLDWDM", "ZLDWMC", "XZQDM", "AREA", "备注"];

/// A temporary folder holding `villages.geojson`.
struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("villages.geojson"), VILLAGES).unwrap();
        Fixture { dir }
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    fn input(&self) -> PathBuf {
        self.path("villages.geojson")
    }

    /// Converts the villages with `ogr2ogr -f format options…` into `relative`.
    fn convert(&self, format: &str, options: &[&str], relative: &str) -> PathBuf {
        let output = self.path(relative);
        if let Some(parent) = output.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        let input = self.input();
        let mut args = vec!["-f", format];
        args.extend_from_slice(options);
        args.push(output.to_str().unwrap());
        args.push(input.to_str().unwrap());
        ogr2ogr(&args);
        output
    }

    /// The villages as a GBK Shapefile `村界.shp` in `folder`.
    fn gbk_shapefile(&self, folder: &str) -> PathBuf {
        self.convert(
            "ESRI Shapefile",
            &["-lco", "ENCODING=GBK"],
            &format!("{folder}/村界.shp"),
        )
    }
}

fn ogr2ogr(args: &[&str]) {
    let output = Command::new("ogr2ogr")
        .args(args)
        .output()
        .expect("ogr2ogr (GDAL's gdal-bin) writes the fixtures");
    assert!(
        output.status.success(),
        "ogr2ogr {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The polygons GDAL reads from `path`, through its own GeoJSON writer (an oracle
/// independent of this module's GeoJSON reader).
fn gdal_polygons(path: &Path) -> Vec<MultiPolygon<f64>> {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("gdal.geojson");
    ogr2ogr(&[
        "-f",
        "GeoJSON",
        "-lco",
        "RFC7946=NO",
        output.to_str().unwrap(),
        path.to_str().unwrap(),
    ]);
    json_polygons(&std::fs::read_to_string(output).unwrap())
}

/// The polygons of a GeoJSON `FeatureCollection`, read with `serde_json` alone.
fn json_polygons(text: &str) -> Vec<MultiPolygon<f64>> {
    let ring = |ring: &Value| -> LineString<f64> {
        ring.as_array()
            .unwrap()
            .iter()
            .map(|position| Coord {
                x: position[0].as_f64().unwrap(),
                y: position[1].as_f64().unwrap(),
            })
            .collect()
    };
    let polygon = |rings: &Value| {
        let rings = rings.as_array().unwrap();
        Polygon::new(ring(&rings[0]), rings[1..].iter().map(ring).collect())
    };
    let document: Value = serde_json::from_str(text).unwrap();
    document["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|feature| {
            let geometry = &feature["geometry"];
            let coordinates = &geometry["coordinates"];
            match geometry["type"].as_str().unwrap() {
                "Polygon" => MultiPolygon::new(vec![polygon(coordinates)]),
                "MultiPolygon" => MultiPolygon::new(
                    coordinates
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(polygon)
                        .collect(),
                ),
                other => panic!("{other} in a fixture"),
            }
        })
        .collect()
}

/// Every ring of every feature equals the expected one, vertex by vertex, in order.
fn assert_polygons(layer: &VectorLayer, expected: &[MultiPolygon<f64>], epsilon: f64) {
    assert_eq!(layer.features.len(), expected.len(), "{}", layer.source);
    for (feature, expected) in layer.features.iter().zip(expected) {
        let actual = feature.geometry.as_ref().unwrap();
        assert_eq!(actual.0.len(), expected.0.len(), "row {}", feature.row);
        for (polygon, expected) in actual.iter().zip(expected) {
            assert_eq!(polygon.interiors().len(), expected.interiors().len());
            let rings = std::iter::once(polygon.exterior()).chain(polygon.interiors());
            let wanted = std::iter::once(expected.exterior()).chain(expected.interiors());
            for (ring, wanted) in rings.zip(wanted) {
                assert_eq!(ring.0.len(), wanted.0.len(), "row {}", feature.row);
                for (vertex, wanted) in ring.0.iter().zip(&wanted.0) {
                    approx::assert_abs_diff_eq!(vertex.x, wanted.x, epsilon = epsilon);
                    approx::assert_abs_diff_eq!(vertex.y, wanted.y, epsilon = epsilon);
                }
            }
        }
    }
}

/// The attributes of the two villages, exactly.
fn assert_villages(layer: &VectorLayer) {
    assert_eq!(layer.fields, FIELDS, "{}", layer.source);
    let rows: Vec<usize> = layer.features.iter().map(|feature| feature.row).collect();
    assert_eq!(rows, [1, 2]);
    let text = |values: &[Option<&str>]| -> Vec<Option<String>> {
        values
            .iter()
            .map(|value| value.map(str::to_owned))
            .collect()
    };
    assert_eq!(
        layer.features[0].values,
        text(&[
            Some("2104221002010000000"),
            Some("五副甲村"),
            Some("210422100201"),
            Some("1.5"),
            Some("飞地"),
        ])
    );
    assert_eq!(
        layer.features[1].values,
        text(&[
            Some("2104221002020000000"),
            Some("五副乙村"),
            Some("210422100202"),
            Some("2.25"),
            None,
        ])
    );
}

fn only_layer(path: &Path) -> VectorLayer {
    let mut layers = read_path(path, &VectorLimits::IMPORT).unwrap();
    assert_eq!(layers.len(), 1);
    layers.remove(0)
}

#[test]
fn the_input_geojson_is_rfc_7946_with_its_coordinates_exact() {
    let fixture = Fixture::new();
    let layer = only_layer(&fixture.input());
    assert_eq!(layer.source, "villages.geojson");
    assert_eq!(layer.crs, CrsHint::Epsg(4326));
    assert_eq!(layer.encoding, "UTF-8");
    assert_villages(&layer);
    assert_polygons(&layer, &json_polygons(VILLAGES), 0.0);
    let first = layer.features[0].geometry.as_ref().unwrap();
    assert_eq!(first.0.len(), 2);
    assert_eq!(first.0[0].interiors().len(), 1, "the hole is kept");
}

#[test]
fn a_gbk_shapefile_reads_names_codes_and_polygons() {
    let fixture = Fixture::new();
    let shp = fixture.gbk_shapefile("gbk");
    let dbf = std::fs::read(shp.with_extension("dbf")).unwrap();
    let gbk_name = encoding_rs::GBK.encode("五副甲村").0;
    assert!(
        dbf.windows(gbk_name.len())
            .any(|window| *window == *gbk_name),
        "the fixture holds GBK bytes"
    );
    let layer = only_layer(&shp);
    assert_eq!(layer.source, "村界.shp");
    assert_eq!(layer.encoding, "GBK (.cpg)");
    assert!(
        matches!(&layer.crs, CrsHint::Wkt(wkt) if wkt.starts_with("GEOGCS[") && wkt.contains("WGS_1984")),
        "{:?}",
        layer.crs
    );
    assert_villages(&layer);
    assert_polygons(&layer, &gdal_polygons(&shp), 1e-9);
    assert_eq!(
        layer.features[0].geometry.as_ref().unwrap().0[0]
            .interiors()
            .len(),
        1
    );
}

#[test]
fn a_shapefile_without_cpg_is_read_as_gbk_when_its_text_is_not_utf8() {
    let fixture = Fixture::new();
    let shp = fixture.gbk_shapefile("gbk");
    std::fs::remove_file(shp.with_extension("cpg")).unwrap();
    let layer = only_layer(&shp);
    assert_eq!(layer.encoding, "GBK (not UTF-8)");
    assert_villages(&layer);
}

#[test]
fn a_utf8_shapefile_reads_as_utf8_with_or_without_cpg() {
    let fixture = Fixture::new();
    let shp = fixture.convert(
        "ESRI Shapefile",
        &["-lco", "ENCODING=UTF-8"],
        "utf8/村界.shp",
    );
    let layer = only_layer(&shp);
    assert_eq!(layer.encoding, "UTF-8 (.cpg)");
    assert_villages(&layer);
    std::fs::remove_file(shp.with_extension("cpg")).unwrap();
    let layer = only_layer(&shp);
    assert_eq!(layer.encoding, "UTF-8 (valid UTF-8)");
    assert_villages(&layer);
}

#[test]
fn a_projected_shapefile_keeps_its_coordinates_and_prj() {
    let fixture = Fixture::new();
    let shp = fixture.convert(
        "ESRI Shapefile",
        &["-lco", "ENCODING=GBK", "-t_srs", "EPSG:4530"],
        "cgcs2000/村界.shp",
    );
    let layer = only_layer(&shp);
    assert!(
        matches!(&layer.crs, CrsHint::Wkt(wkt) if wkt.starts_with("PROJCS[") && wkt.contains("CGCS2000") && wkt.contains("Gauss_Kruger")),
        "{:?}",
        layer.crs
    );
    assert_villages(&layer);
    let expected = gdal_polygons(&shp);
    // Zone 42 puts the zone number before the easting: metres, not degrees.
    assert!(expected[0].0[0].exterior().0[0].x > 42_000_000.0);
    assert_polygons(&layer, &expected, 1e-6);
}

#[test]
fn a_shapefile_reads_without_its_shx_and_prj() {
    let fixture = Fixture::new();
    let shp = fixture.gbk_shapefile("gbk");
    let with_index = only_layer(&shp);
    std::fs::remove_file(shp.with_extension("shx")).unwrap();
    std::fs::remove_file(shp.with_extension("prj")).unwrap();
    let layer = only_layer(&shp);
    assert_eq!(layer.crs, CrsHint::None);
    assert_eq!(layer.features, with_index.features);
}

#[test]
fn a_shapefile_without_its_dbf_is_refused_naming_it() {
    let fixture = Fixture::new();
    let shp = fixture.gbk_shapefile("gbk");
    std::fs::remove_file(shp.with_extension("dbf")).unwrap();
    let error = read_path(&shp, &VectorLimits::IMPORT).unwrap_err();
    assert!(
        matches!(&error, VectorError::Missing { file, missing } if file == "村界.shp" && missing == "村界.dbf"),
        "{error}"
    );
    assert!(error.to_string().contains("村界.dbf"), "{error}");
}

#[test]
fn a_geopackage_layer_reads_with_its_epsg_code_from_path_and_bytes() {
    let fixture = Fixture::new();
    let gpkg = fixture.convert("GPKG", &["-nln", "村界"], "x.gpkg");
    let layer = only_layer(&gpkg);
    assert_eq!(layer.source, "x.gpkg!村界");
    assert_eq!(layer.crs, CrsHint::Epsg(4326));
    assert_eq!(layer.encoding, "UTF-8");
    assert_villages(&layer);
    assert_polygons(&layer, &gdal_polygons(&gpkg), 0.0);
    assert_polygons(&layer, &json_polygons(VILLAGES), 0.0);
    let from_bytes = read_bytes(
        "x.gpkg",
        &std::fs::read(&gpkg).unwrap(),
        &VectorLimits::IMPORT,
    )
    .unwrap();
    assert_eq!(from_bytes, [layer]);
}

#[test]
fn a_projected_geopackage_gives_its_epsg_code() {
    let fixture = Fixture::new();
    let gpkg = fixture.convert("GPKG", &["-t_srs", "EPSG:4530"], "x.gpkg");
    let layer = only_layer(&gpkg);
    assert_eq!(layer.crs, CrsHint::Epsg(4530));
    assert_polygons(&layer, &gdal_polygons(&gpkg), 1e-6);
}

#[test]
fn a_geopackage_point_layer_is_left_out_and_alone_is_refused() {
    let fixture = Fixture::new();
    let points = fixture.path("points.geojson");
    std::fs::write(
        &points,
        r#"{"type": "FeatureCollection", "features": [{"type": "Feature",
            "properties": {"NAME": "村委会"}, "geometry": {"type": "Point", "coordinates": [124.15, 42.15]}}]}"#,
    )
    .unwrap();
    let only_points = fixture.path("points.gpkg");
    let path = |path: &Path| path.to_str().unwrap().to_owned();
    ogr2ogr(&[
        "-f",
        "GPKG",
        "-nln",
        "点",
        &path(&only_points),
        &path(&points),
    ]);
    let error = read_path(&only_points, &VectorLimits::IMPORT).unwrap_err();
    assert!(
        matches!(&error, VectorError::NoPolygonLayer { file, found } if file == "points.gpkg" && found == "points.gpkg!点 (POINT)"),
        "{error}"
    );
    let both = fixture.convert("GPKG", &["-nln", "村界"], "both.gpkg");
    ogr2ogr(&[
        "-f",
        "GPKG",
        "-update",
        "-nln",
        "点",
        &path(&both),
        &path(&points),
    ]);
    let layers = read_path(&both, &VectorLimits::IMPORT).unwrap();
    let sources: Vec<&str> = layers.iter().map(|layer| layer.source.as_str()).collect();
    assert_eq!(sources, ["both.gpkg!村界"]);
}

#[test]
fn a_geopackage_view_is_left_out_unread() {
    let fixture = Fixture::new();
    let gpkg = fixture.convert("GPKG", &["-nln", "村界"], "x.gpkg");
    let connection = rusqlite::Connection::open(&gpkg).unwrap();
    connection
        .execute_batch(
            r#"CREATE VIEW v AS SELECT fid, geom, ZLDWMC FROM "村界";
            INSERT INTO gpkg_contents (table_name, data_type, identifier, srs_id)
                VALUES ('v', 'features', 'v', 4326);
            INSERT INTO gpkg_geometry_columns VALUES ('v', 'geom', 'MULTIPOLYGON', 4326, 0, 0);"#,
        )
        .unwrap();
    drop(connection);
    let layers = read_path(&gpkg, &VectorLimits::IMPORT).unwrap();
    let sources: Vec<&str> = layers.iter().map(|layer| layer.source.as_str()).collect();
    assert_eq!(sources, ["x.gpkg!村界"]);
}

#[test]
fn a_geopackage_saved_in_wal_mode_reads_from_bytes() {
    let fixture = Fixture::new();
    let gpkg = fixture.convert("GPKG", &["-nln", "村界"], "x.gpkg");
    let connection = rusqlite::Connection::open(&gpkg).unwrap();
    let mode: String = connection
        .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    drop(connection);
    let bytes = std::fs::read(&gpkg).unwrap();
    assert_eq!(bytes[18..20], [2, 2], "the header says WAL");
    let layers = read_bytes("x.gpkg", &bytes, &VectorLimits::IMPORT).unwrap();
    assert_villages(&layers[0]);
}

#[test]
fn a_geojson_crs_member_gives_the_epsg_code() {
    let fixture = Fixture::new();
    let geojson = fixture.convert(
        "GeoJSON",
        &["-lco", "RFC7946=NO", "-t_srs", "EPSG:4490"],
        "cgcs2000.geojson",
    );
    assert!(
        std::fs::read_to_string(&geojson)
            .unwrap()
            .contains("urn:ogc:def:crs:EPSG::4490")
    );
    let layer = only_layer(&geojson);
    assert_eq!(layer.crs, CrsHint::Epsg(4490));
    assert_villages(&layer);
    assert_polygons(&layer, &json_polygons(VILLAGES), 1e-6);
}

#[test]
fn geojson_properties_become_text_in_first_seen_order() {
    let text = r#"{"features": [
        {"type": "Feature", "properties": {"b": 1, "a": true},
         "geometry": {"type": "LineString", "coordinates": [[0, 0], [1, 1]]}},
        {"type": "Feature", "properties": {"c": {"k": [1, 2]}, "a": null, "b": 2.50},
         "geometry": null},
        {"type": "Feature", "properties": null,
         "geometry": {"type": "Polygon", "coordinates": []}},
        {"type": "Feature", "geometry": {"type": "MultiPolygon", "coordinates": [[[[0, 0], [1, 0], [0, 1], [0, 0]]]]}}
    ], "type": "FeatureCollection"}"#;
    let layers = read_bytes("x.json", text.as_bytes(), &VectorLimits::IMPORT).unwrap();
    let layer = &layers[0];
    assert_eq!(layer.source, "x.json");
    assert_eq!(layer.fields, ["b", "a", "c"]);
    let values: Vec<Vec<Option<&str>>> = layer
        .features
        .iter()
        .map(|feature| feature.values.iter().map(Option::as_deref).collect())
        .collect();
    assert_eq!(
        values,
        [
            vec![Some("1"), Some("true"), None],
            vec![Some("2.5"), None, Some(r#"{"k":[1,2]}"#)],
            vec![None, None, None],
            vec![None, None, None],
        ]
    );
    let geometries: Vec<Result<usize, &str>> = layer
        .features
        .iter()
        .map(|feature| {
            feature
                .geometry
                .as_ref()
                .map(|polygons| polygons.0.len())
                .map_err(String::as_str)
        })
        .collect();
    assert_eq!(
        geometries,
        [
            Err("a LineString, not a polygon"),
            Err("no geometry"),
            Err("empty geometry"),
            Ok(1),
        ]
    );
}

#[test]
fn a_gbk_geojson_and_a_single_feature_are_read() {
    let text = r#"{"type": "Feature", "properties": {"名称": "五副甲村"},
        "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [0, 1], [0, 0]]]}}"#;
    let gbk = encoding_rs::GBK.encode(text).0;
    let layers = read_bytes("x.geojson", &gbk, &VectorLimits::IMPORT).unwrap();
    assert_eq!(layers[0].encoding, "GBK (not UTF-8)");
    assert_eq!(layers[0].fields, ["名称"]);
    assert_eq!(layers[0].features[0].values, [Some("五副甲村".to_owned())]);
}

#[test]
fn a_malformed_geojson_error_quotes_no_attribute() {
    let text = r#"{"type": "FeatureCollection", "features": [{"type": "Feature",
        "properties": {"NAME": "五副甲村"}, "geometry": {"type": "Polygon", "coordinates": "五副甲村"}}]}"#;
    let error = read_bytes("x.geojson", text.as_bytes(), &VectorLimits::IMPORT).unwrap_err();
    let message = error.to_string();
    assert!(matches!(error, VectorError::Malformed { .. }), "{message}");
    assert!(
        message.contains("x.geojson") && message.contains("line 2"),
        "{message}"
    );
    assert!(!message.contains("五副甲村"), "{message}");
    let error = read_bytes("x.geojson", b"{\"type\": \"Point\"}", &VectorLimits::IMPORT);
    assert!(
        matches!(error, Err(VectorError::Malformed { .. })),
        "{error:?}"
    );
}

/// Zips every file of `folder` under `prefix/`, deflated, with a macOS resource fork.
fn zip_folder(folder: &Path, prefix: &str) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    zip.add_directory(prefix, options).unwrap();
    let mut entries: Vec<_> = std::fs::read_dir(folder)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        let name = path.file_name().unwrap().to_str().unwrap();
        zip.start_file(format!("{prefix}/{name}"), options).unwrap();
        zip.write_all(&std::fs::read(&path).unwrap()).unwrap();
        zip.start_file(format!("__MACOSX/{prefix}/._{name}"), options)
            .unwrap();
        zip.write_all(b"\0\x05\x16\x07 not a shapefile").unwrap();
    }
    zip.finish().unwrap().into_inner()
}

#[test]
fn a_zip_of_the_shapefile_folder_reads_from_path_and_bytes() {
    let fixture = Fixture::new();
    let shp = fixture.gbk_shapefile("gbk");
    let direct = only_layer(&shp);
    let zip = zip_folder(shp.parent().unwrap(), "data");
    let zip_path = fixture.path("bounds.zip");
    std::fs::write(&zip_path, &zip).unwrap();
    let layer = only_layer(&zip_path);
    assert_eq!(layer.source, "bounds.zip!/data/村界.shp");
    assert_eq!(layer.encoding, "GBK (.cpg)");
    assert_eq!(layer.crs, direct.crs);
    assert_eq!(layer.features, direct.features);
    assert_villages(&layer);
    let uploaded = read_bytes("bounds.zip", &zip, &VectorLimits::IMPORT).unwrap();
    assert_eq!(uploaded, [layer]);
}

#[test]
fn a_zip_without_the_dbf_is_refused_naming_the_member() {
    let fixture = Fixture::new();
    let shp = fixture.gbk_shapefile("gbk");
    std::fs::remove_file(shp.with_extension("dbf")).unwrap();
    let zip = zip_folder(shp.parent().unwrap(), "data");
    let error = read_bytes("bounds.zip", &zip, &VectorLimits::IMPORT).unwrap_err();
    assert!(
        matches!(&error, VectorError::Missing { missing, .. } if missing == "bounds.zip!/data/村界.dbf"),
        "{error}"
    );
}

/// A zip holding `size` zero bytes as `big.geojson`: a few kilobytes deflated.
fn zeros_zip(size: usize) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    zip.start_file("big.geojson", options).unwrap();
    zip.write_all(&vec![0u8; size]).unwrap();
    zip.finish().unwrap().into_inner()
}

#[test]
fn a_zip_bomb_is_refused_by_its_declared_size() {
    let zip = zeros_zip(8 << 20);
    assert!(zip.len() < 64 << 10, "{} bytes", zip.len());
    let limits = VectorLimits {
        bytes: 1 << 20,
        ..VectorLimits::IMPORT
    };
    let error = read_bytes("bomb.zip", &zip, &limits).unwrap_err();
    assert!(
        matches!(&error, VectorError::Bytes { file, limit } if file == "bomb.zip" && *limit == 1 << 20),
        "{error}"
    );
}

#[test]
fn a_zip_bomb_lying_about_its_size_is_refused_while_unpacking() {
    let mut zip = zeros_zip(8 << 20);
    // The uncompressed size sits at byte 22 of the local header and byte 24 of the
    // central directory's entry; both are made to claim 10 bytes.
    zip[22..26].copy_from_slice(&10u32.to_le_bytes());
    let central = zip
        .windows(4)
        .position(|window| window == b"PK\x01\x02")
        .unwrap();
    zip[central + 24..central + 28].copy_from_slice(&10u32.to_le_bytes());
    let limits = VectorLimits {
        bytes: 1 << 20,
        ..VectorLimits::IMPORT
    };
    let error = read_bytes("bomb.zip", &zip, &limits).unwrap_err();
    // The zip crate stops at the declared size itself (an I/O error); the reader's
    // own bound at the budget (a bytes error) is the second guard.
    assert!(
        matches!(&error, VectorError::Io { file, .. } | VectorError::Bytes { file, .. } if file == "bomb.zip!/big.geojson"),
        "{error}"
    );
}

#[test]
fn a_truncated_shapefile_is_an_error_not_a_panic() {
    let fixture = Fixture::new();
    let shp = fixture.gbk_shapefile("gbk");
    let whole = std::fs::read(&shp).unwrap();
    for length in [0, 60, 100, 130, whole.len() - 5] {
        for with_index in [true, false] {
            let folder = fixture.path(&format!("cut{length}{with_index}"));
            std::fs::create_dir_all(&folder).unwrap();
            for extension in ["dbf", "cpg", "shx"] {
                if extension != "shx" || with_index {
                    std::fs::copy(
                        shp.with_extension(extension),
                        folder.join(format!("村界.{extension}")),
                    )
                    .unwrap();
                }
            }
            let cut = folder.join("村界.shp");
            std::fs::write(&cut, &whole[..length]).unwrap();
            let error = read_path(&cut, &VectorLimits::IMPORT).unwrap_err();
            assert!(
                matches!(&error, VectorError::Malformed { file, .. } if file == "村界.shp"),
                "{length} bytes, index {with_index}: {error}"
            );
        }
    }
    let dbf = std::fs::read(shp.with_extension("dbf")).unwrap();
    std::fs::write(shp.with_extension("dbf"), &dbf[..dbf.len() - 20]).unwrap();
    let error = read_path(&shp, &VectorLimits::IMPORT).unwrap_err();
    assert!(
        matches!(&error, VectorError::Malformed { file, .. } if file == "村界.dbf"),
        "{error}"
    );
}

#[test]
fn a_record_claiming_two_billion_parts_fails_its_feature_only() {
    let fixture = Fixture::new();
    let shp = fixture.gbk_shapefile("gbk");
    let mut bytes = std::fs::read(&shp).unwrap();
    // The first record's content starts at 108; its part count at 36 into it.
    bytes[108 + 36..108 + 40].copy_from_slice(&i32::MAX.to_le_bytes());
    std::fs::write(&shp, &bytes).unwrap();
    let layer = only_layer(&shp);
    assert!(layer.features[0].geometry.is_err());
    assert!(layer.features[1].geometry.is_ok());
    assert_villages(&layer);
}

#[test]
fn a_deleted_record_is_skipped_and_leaves_a_gap_in_the_rows() {
    let fixture = Fixture::new();
    let shp = fixture.gbk_shapefile("gbk");
    let mut dbf = std::fs::read(shp.with_extension("dbf")).unwrap();
    let first_record = usize::from(u16::from_le_bytes([dbf[8], dbf[9]]));
    assert_eq!(dbf[first_record], b' ');
    dbf[first_record] = b'*';
    std::fs::write(shp.with_extension("dbf"), &dbf).unwrap();
    let layer = only_layer(&shp);
    assert_eq!(layer.features.len(), 1);
    assert_eq!(layer.features[0].row, 2);
    assert_eq!(layer.features[0].values[1].as_deref(), Some("五副乙村"));
    // GDAL skips the deleted record too.
    assert_polygons(&layer, &gdal_polygons(&shp), 1e-9);
}

#[test]
fn a_mismatch_between_shp_and_dbf_is_refused() {
    let fixture = Fixture::new();
    let shp = fixture.gbk_shapefile("gbk");
    let mut dbf = std::fs::read(shp.with_extension("dbf")).unwrap();
    dbf[4..8].copy_from_slice(&1u32.to_le_bytes());
    std::fs::write(shp.with_extension("dbf"), &dbf).unwrap();
    let error = read_path(&shp, &VectorLimits::IMPORT).unwrap_err();
    assert!(
        matches!(
            error,
            VectorError::Mismatch {
                shapes: 2,
                records: 1,
                ..
            }
        ),
        "{error}"
    );
}

#[test]
fn every_limit_is_enforced_in_every_format() {
    let fixture = Fixture::new();
    let files = [
        fixture.gbk_shapefile("gbk"),
        fixture.convert("GPKG", &[], "x.gpkg"),
        fixture.input(),
    ];
    let limits = |change: fn(&mut VectorLimits)| {
        let mut limits = VectorLimits::IMPORT;
        change(&mut limits);
        limits
    };
    for file in &files {
        let read = |limits: VectorLimits| read_path(file, &limits).unwrap_err();
        let error = read(limits(|limits| limits.features = 1));
        assert!(
            matches!(error, VectorError::Features { limit: 1, .. }),
            "{error}"
        );
        let error = read(limits(|limits| limits.vertices = 10));
        assert!(
            matches!(error, VectorError::Vertices { limit: 10, .. }),
            "{error}"
        );
        let error = read(limits(|limits| limits.fields = 4));
        assert!(
            matches!(error, VectorError::Fields { limit: 4, .. }),
            "{error}"
        );
        let error = read(limits(|limits| limits.bytes = 100));
        assert!(
            matches!(error, VectorError::Bytes { limit: 100, .. }),
            "{error}"
        );
        // The exact counts pass: two villages, 18 vertices, 5 fields.
        let exact = limits(|limits| {
            limits.features = 2;
            limits.vertices = 18;
            limits.fields = 5;
        });
        assert!(read_path(file, &exact).is_ok(), "{}", file.display());
    }
}

#[test]
fn a_lone_shapefile_upload_is_refused_with_how_to_zip_it() {
    for name in ["村界.shp", "村界.DBF"] {
        let error = read_bytes(name, b"", &VectorLimits::IMPORT).unwrap_err();
        assert!(
            matches!(error, VectorError::LoneShapefile { .. }),
            "{error}"
        );
        let message = error.to_string();
        assert!(
            message.contains(".shx") && message.contains(".dbf") && message.contains("zip"),
            "{message}"
        );
    }
    let error = read_bytes("村界.kml", b"", &VectorLimits::IMPORT).unwrap_err();
    assert!(matches!(error, VectorError::Unsupported { .. }), "{error}");
    let error = read_bytes("x.zip", b"not a zip", &VectorLimits::IMPORT).unwrap_err();
    assert!(matches!(error, VectorError::Zip { .. }), "{error}");
    let error = read_bytes("x.gpkg", b"not a database", &VectorLimits::IMPORT).unwrap_err();
    assert!(matches!(error, VectorError::Malformed { .. }), "{error}");
    let empty = zip_folder(tempfile::tempdir().unwrap().path(), "data");
    let error = read_bytes("x.zip", &empty, &VectorLimits::IMPORT).unwrap_err();
    assert!(matches!(error, VectorError::NoLayer { .. }), "{error}");
}
