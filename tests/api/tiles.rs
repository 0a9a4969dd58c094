//! Vector tiles, heat maps and static maps, decoded with independent readers
//! (mvt-reader, png) and compared with the households and figures they show.

use std::collections::{BTreeMap, BTreeSet};

use paicha::spatial::mercator::TileId;
use paicha::tiles::layers::{self, Caps, Filter, Layer};
use serde_json::Value;

use crate::helpers::{TestApp, problem_fields};

/// A decoded feature: its properties as text, and a point's tile coordinates.
pub(crate) type Decoded = (BTreeMap<String, String>, Option<[f64; 2]>);

/// A tile's only layer: its name and features.
pub(crate) fn decode(bytes: &[u8]) -> (String, Vec<Decoded>) {
    let reader = mvt_reader::Reader::new(bytes.to_vec()).unwrap();
    let layers = reader.get_layer_metadata().unwrap();
    assert_eq!(layers.len(), 1);
    assert_eq!(layers[0].extent, 4096);
    let features = reader
        .get_features_as::<f64>(0)
        .unwrap()
        .into_iter()
        .map(|f| {
            let props = f
                .properties
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| {
                    let text = match v {
                        mvt_reader::feature::Value::String(s) => s,
                        mvt_reader::feature::Value::Int(i)
                        | mvt_reader::feature::Value::SInt(i) => i.to_string(),
                        mvt_reader::feature::Value::UInt(u) => u.to_string(),
                        mvt_reader::feature::Value::Double(d) => d.to_string(),
                        mvt_reader::feature::Value::Float(d) => d.to_string(),
                        mvt_reader::feature::Value::Bool(b) => b.to_string(),
                        mvt_reader::feature::Value::Null => String::new(),
                    };
                    (k, text)
                })
                .collect();
            let point = match f.geometry {
                geo_types::Geometry::Point(p) => Some([p.x(), p.y()]),
                geo_types::Geometry::MultiPoint(mp) => mp.0.first().map(|p| [p.x(), p.y()]),
                _ => None,
            };
            (props, point)
        })
        .collect();
    (layers[0].name.clone(), features)
}

/// Web Mercator tile coordinates of a position, computed here independently.
fn tile_coords(lon: f64, lat: f64, t: TileId) -> [f64; 2] {
    let n = f64::from(1u32 << t.z);
    let x = (lon + 180.0) / 360.0 * n;
    let y = (1.0
        - (lat.to_radians().tan() + 1.0 / lat.to_radians().cos()).ln() / std::f64::consts::PI)
        / 2.0
        * n;
    [(x - f64::from(t.x)) * 4096.0, (y - f64::from(t.y)) * 4096.0]
}

/// The z-13 tile of the first household with a position, and the rows inside it.
fn busy_tile(app: &TestApp, z: u8) -> (TileId, Vec<usize>) {
    let snapshot = app.snapshot();
    let p = snapshot.positions.iter().flatten().nth(100).unwrap();
    let tile = TileId::containing(p.lon, p.lat, z).unwrap();
    let b = tile.bounds();
    let rows = snapshot
        .positions
        .iter()
        .enumerate()
        .filter_map(|(r, p)| p.map(|p| (r, p)))
        .filter(|(_, p)| p.lon >= b.west && p.lon <= b.east && p.lat >= b.south && p.lat <= b.north)
        .map(|(r, _)| r)
        .collect();
    (tile, rows)
}

/// The rows a point tile draws: those whose position, snapped to the tile's grid,
/// lies in the tile or its 64-unit buffer (as PostGIS's `ST_AsMVTGeom(…, 4096, 64,
/// true)` keeps points), computed here independently.
fn drawn_rows(app: &TestApp, tile: TileId) -> Vec<usize> {
    let snapshot = app.snapshot();
    snapshot
        .positions
        .iter()
        .enumerate()
        .filter_map(|(r, p)| p.map(|p| (r, tile_coords(p.lon, p.lat, tile))))
        .filter(|(_, xy)| xy.iter().all(|v| (-64.0..=4160.0).contains(&v.round())))
        .map(|(r, _)| r)
        .collect()
}

// The buffer: points within 64 units around the tile are drawn too, so that symbols
// are not cut at tile edges (issue 20).
#[tokio::test]
async fn a_household_tile_holds_exactly_the_households_inside_it_and_its_buffer() {
    let app = TestApp::spawn().await;
    let snapshot = app.snapshot();
    // The tile east of the first household within 32 units of its own tile's east
    // edge: that household is in the buffer.
    let tile = snapshot
        .positions
        .iter()
        .flatten()
        .find_map(|p| {
            let t = TileId::containing(p.lon, p.lat, 13).ok()?;
            let [x, _] = tile_coords(p.lon, p.lat, t);
            (x > 4096.0 - 32.0).then(|| TileId::new(13, t.x + 1, t.y).unwrap())
        })
        .unwrap();
    let rows = drawn_rows(&app, tile);
    let bounds = tile.bounds();
    let inside = rows
        .iter()
        .filter(|&&row| {
            let p = snapshot.positions[row].unwrap();
            (bounds.west..=bounds.east).contains(&p.lon)
                && (bounds.south..=bounds.north).contains(&p.lat)
        })
        .count();
    assert!(
        rows.len() > inside,
        "the tile has households in its buffer: {} vs {inside}",
        rows.len()
    );
    let r = app
        .get(&format!(
            "/tiles/households/{}/{}/{}.mvt",
            tile.z, tile.x, tile.y
        ))
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["content-type"],
        "application/vnd.mapbox-vector-tile"
    );
    assert!(r.headers().get("x-paicha-aggregated").is_none());
    let (name, features) = decode(&r.bytes().await.unwrap());
    assert_eq!(name, "households");
    let got: BTreeSet<String> = features
        .iter()
        .map(|(p, _)| p["household_no"].clone())
        .collect();
    let want: BTreeSet<String> = rows
        .iter()
        .map(|&r| snapshot.household_nos[r].to_owned())
        .collect();
    assert_eq!(got, want);
    for (props, point) in &features {
        let row = snapshot
            .household_nos
            .iter()
            .position(|n| *n == props["household_no"])
            .unwrap();
        let p = snapshot.positions[row].unwrap();
        let [x, y] = tile_coords(p.lon, p.lat, tile);
        let [gx, gy] = point.unwrap();
        assert!(
            (gx - x).abs() <= 0.51 && (gy - y).abs() <= 0.51,
            "{gx},{gy} vs {x},{y}"
        );
        assert_eq!(props["village_code"], *snapshot.locations[row].village_code);
        assert_eq!(
            props["failed"],
            paicha::indicators::drawn::failed(&snapshot.facts, row).join(",")
        );
        assert!(!props.contains_key("head_name") && !props.contains_key("name"));
    }
}

#[tokio::test]
async fn below_zoom_12_households_are_cells_whose_counts_add_up() {
    let app = TestApp::spawn().await;
    let (tile, rows) = busy_tile(&app, 10);
    let r = app
        .get(&format!(
            "/tiles/households/{}/{}/{}.mvt",
            tile.z, tile.x, tile.y
        ))
        .await;
    assert_eq!(r.headers()["x-paicha-aggregated"], "cells");
    let (_, features) = decode(&r.bytes().await.unwrap());
    let total: usize = features
        .iter()
        .map(|(p, _)| p["households"].parse::<usize>().unwrap())
        .sum();
    assert_eq!(total, rows.len());
    assert!(
        features
            .iter()
            .all(|(p, _)| p["cell"] == "true" && !p.contains_key("household_no"))
    );
    let snapshot = app.snapshot();
    let any: i64 = features
        .iter()
        .map(|(p, _)| p["any_problem"].parse::<i64>().unwrap())
        .sum();
    let want = rows
        .iter()
        .filter(|&&r| {
            snapshot
                .facts
                .fails(r, paicha::domain::MeasureId::AnyProblem)
        })
        .count();
    assert_eq!(any as usize, want);
}

#[tokio::test]
async fn over_the_caps_points_become_cells_never_a_truncated_tile() {
    let app = TestApp::spawn().await;
    let snapshot = app.snapshot();
    let (tile, rows) = busy_tile(&app, 13);
    assert!(rows.len() > 3);
    let caps = Caps {
        features: 3,
        bytes: 500_000,
    };
    let all = paicha::domain::access::AreaScope::all();
    let t = layers::households(
        &snapshot,
        Layer::Households,
        tile,
        Filter::All,
        caps,
        &all,
        true,
    );
    assert!(t.aggregated);
    let (_, features) = decode(&t.bytes);
    let total: usize = features
        .iter()
        .map(|(p, _)| p["households"].parse::<usize>().unwrap())
        .sum();
    assert_eq!(total, rows.len());
    let small = Caps {
        features: 1_000_000,
        bytes: 100,
    };
    assert!(
        layers::households(
            &snapshot,
            Layer::Households,
            tile,
            Filter::All,
            small,
            &all,
            true
        )
        .aggregated
    );
}

#[tokio::test]
async fn the_problem_layer_holds_only_households_failing_the_indicator() {
    let app = TestApp::spawn().await;
    let (tile, _) = busy_tile(&app, 12);
    let r = app
        .get(&format!(
            "/tiles/problems/{}/{}/{}.mvt?indicator=water_not_piped",
            tile.z, tile.x, tile.y
        ))
        .await;
    assert_eq!(r.status(), 200);
    let (name, features) = decode(&r.bytes().await.unwrap());
    assert_eq!(name, "problems");
    assert!(!features.is_empty());
    for (p, _) in &features {
        assert!(
            p["failed"].split(',').any(|f| f == "water_not_piped"),
            "{p:?}"
        );
    }
}

#[tokio::test]
async fn village_tiles_carry_the_figures_of_the_stats_endpoint() {
    let app = TestApp::spawn().await;
    let snapshot = app.snapshot();
    let b = snapshot.county_bounds;
    let tile = TileId::containing(f64::midpoint(b[0], b[2]), f64::midpoint(b[1], b[3]), 9).unwrap();
    let r = app
        .get(&format!(
            "/tiles/villages/9/{}/{}.mvt?indicators=unsafe_housing,dropout",
            tile.x, tile.y
        ))
        .await;
    let (name, features) = decode(&r.bytes().await.unwrap());
    assert_eq!(name, "villages");
    assert!(features.len() > 50, "{}", features.len());
    let stats = app
        .get_json("/api/v1/stats?level=village&indicators=unsafe_housing,dropout")
        .await;
    let by_code: BTreeMap<&str, &Value> = stats["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["code"].as_str().unwrap(), r))
        .collect();
    for (p, _) in &features {
        let row = by_code[p["code"].as_str()];
        assert_eq!(p["name"], row["name"].as_str().unwrap());
        assert_eq!(
            p["unsafe_housing_count"],
            row["values"]["unsafe_housing"]["count"].to_string()
        );
        assert_eq!(
            p["dropout_denominator"],
            row["values"]["dropout"]["denominator"].to_string()
        );
        if let Some(class) = row["values"]["dropout"]["class"].as_i64() {
            assert_eq!(p["dropout_class"], class.to_string());
        }
    }
    let tj = app
        .get_json("/tiles/villages.json?indicators=dropout")
        .await;
    assert_eq!(tj["tilejson"], "3.0.0");
    let url = tj["tiles"][0].as_str().unwrap();
    assert!(
        url.contains(&format!(
            "/tiles/villages/{{z}}/{{x}}/{{y}}.mvt?v={}&e=",
            snapshot.data_version
        )),
        "{url}"
    );
    assert!(url.ends_with("&indicators=dropout"), "{url}");
    assert_eq!(tj["bounds"][0].as_f64().unwrap().to_bits(), b[0].to_bits());
    assert!(tj["vector_layers"][0]["fields"]["dropout_rate"].is_string());
}

/// Issue 20: a boundary tile projects only the areas whose box meets it and its
/// buffer. Every village is still in the tiles around its own label point, at a zoom
/// where the tile holds a few villages and at one where it holds a part of one.
#[tokio::test]
async fn every_village_is_in_the_tiles_around_it() {
    let app = TestApp::spawn().await;
    let labels = app
        .get_json("/api/v1/areas.geojson?geometry=label&level=village")
        .await;
    let features = labels["features"].as_array().unwrap();
    assert!(features.len() > 150);
    for f in features {
        let code = f["properties"]["code"].as_str().unwrap();
        let c = &f["geometry"]["coordinates"];
        let (lon, lat) = (c[0].as_f64().unwrap(), c[1].as_f64().unwrap());
        for z in [11, 14] {
            let t = TileId::containing(lon, lat, z).unwrap();
            let r = app
                .get(&format!("/tiles/villages/{z}/{}/{}.mvt", t.x, t.y))
                .await;
            let (_, features) = decode(&r.bytes().await.unwrap());
            assert!(
                features.iter().any(|(p, _)| p["code"] == code),
                "{code} missing from its tile {z}/{}/{}",
                t.x,
                t.y
            );
        }
    }
}

/// A tile's features as id → (properties, polygons in tile units).
type Shapes = BTreeMap<u64, (BTreeMap<String, String>, geo::MultiPolygon<f64>)>;

/// Decodes a boundary tile's polygons by feature id.
fn decode_polygons(bytes: &[u8]) -> Shapes {
    if bytes.is_empty() {
        return Shapes::new();
    }
    let reader = mvt_reader::Reader::new(bytes.to_vec()).unwrap();
    reader
        .get_features_as::<f64>(0)
        .unwrap()
        .into_iter()
        .map(|f| {
            let props = f
                .properties
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k, format!("{v:?}")))
                .collect();
            let polygons = match f.geometry {
                geo_types::Geometry::Polygon(p) => geo::MultiPolygon(vec![p]),
                geo_types::Geometry::MultiPolygon(mp) => mp,
                other => unreachable!("not a polygon: {other:?}"),
            };
            (f.id.unwrap(), (props, polygons))
        })
        .collect()
}

/// Issue 20: village tiles are drawn from boundaries simplified once per zoom (shared
/// edges kept) and geometry cached apart from the properties. Against tiles made as
/// before (each village projected, clipped and simplified on its own), a tile holds the
/// same villages with the same properties, and each village's area is the same to within
/// what a tolerance of one unit along its outline can move.
#[tokio::test]
async fn simplified_village_tiles_hold_the_same_villages_as_before() {
    use geo::{Area, Euclidean, InteriorPoint, Length};
    let app = TestApp::spawn().await;
    let snapshot = app.snapshot();
    let villages = snapshot.villages.areas();
    let mut tiles = BTreeSet::new();
    for z in [8, 10, 12, 14] {
        for v in villages.iter().step_by(15) {
            let p = v.geometry.interior_point().unwrap();
            tiles.insert(TileId::containing(p.x(), p.y(), z).unwrap());
        }
    }
    let mut compared = 0;
    for t in tiles {
        let path = format!("/tiles/villages/{}/{}/{}.mvt", t.z, t.x, t.y);
        let now = decode_polygons(&app.get(&path).await.bytes().await.unwrap());
        // The same tile under another indicator set re-uses the cached geometry.
        let other = decode_polygons(
            &app.get(&format!("{path}?indicators=dropout"))
                .await
                .bytes()
                .await
                .unwrap(),
        );
        let before = paicha::tiles::mvt::LayerBuilder::new("villages", t);
        let mut old: BTreeMap<u64, geo::MultiPolygon<f64>> = BTreeMap::new();
        for (i, v) in villages.iter().enumerate() {
            let polygon = before.tile_polygon(&v.geometry, 1.0);
            if !polygon.is_empty() {
                let mut one = paicha::tiles::mvt::LayerBuilder::new("villages", t);
                assert!(one.add_tile_polygon(Some(i as u64), &polygon, &[]));
                let decoded = decode_polygons(&paicha::tiles::mvt::encode(vec![one]));
                old.insert(i as u64, decoded[&(i as u64)].1.clone());
            }
        }
        assert_eq!(
            now.keys().collect::<Vec<_>>(),
            old.keys().collect::<Vec<_>>(),
            "tile {path}"
        );
        assert_eq!(
            now.keys().collect::<Vec<_>>(),
            other.keys().collect::<Vec<_>>()
        );
        for (id, (props, polygons)) in &now {
            let v = &villages[*id as usize];
            assert_eq!(
                props["code"],
                format!("{:?}", mvt_reader::feature::Value::String(v.code.clone()))
            );
            assert!(props.contains_key("any_problem_count"), "{props:?}");
            assert_eq!(
                other[id].1, *polygons,
                "{path} {id}: geometry differs by indicators"
            );
            assert_eq!(other[id].0["code"], props["code"]);
            let (a, b) = (polygons.unsigned_area(), old[id].unsigned_area());
            let outline: f64 = old[id]
                .0
                .iter()
                .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
                .map(|r| Euclidean.length(r))
                .sum();
            assert!(
                (a - b).abs() <= outline * 1.0 + 8.0,
                "{path} village {id}: area {a} against {b} before (outline {outline})"
            );
            compared += 1;
        }
    }
    assert!(compared > 100, "{compared}");
}

/// Issue 20: `serve` cuts the boundary tiles of zooms 8 to 12 at start. The cut covers
/// the tile of every village at that zoom, is what a first request would cut, and stops
/// at the bound it is given.
#[tokio::test]
async fn boundary_tiles_cut_at_start_cover_every_village_and_match_a_first_request() {
    use geo::InteriorPoint;
    use paicha::tiles::TileCache;
    let app = TestApp::spawn().await;
    let snapshot = app.snapshot();
    let seeded = TileCache::new(None);
    let cut = seeded.seed_shapes(&snapshot, Layer::Villages, 10, 4_096);
    assert!(cut > 0);
    let fresh = TileCache::new(None);
    let mut tiles = BTreeSet::new();
    for v in snapshot.villages.areas() {
        let p = v.geometry.interior_point().unwrap();
        tiles.insert(TileId::containing(p.x(), p.y(), 10).unwrap());
    }
    assert!(
        tiles.len() <= cut,
        "{} tiles hold villages, {cut} cut",
        tiles.len()
    );
    for t in tiles {
        let kept = seeded
            .cached_shapes(&snapshot, Layer::Villages, t)
            .unwrap_or_else(|| panic!("tile {t:?} was not cut"));
        assert!(!kept.areas.is_empty());
        assert_eq!(*kept, *fresh.shapes(&snapshot, Layer::Villages, t));
    }
    assert_eq!(
        TileCache::new(None).seed_shapes(&snapshot, Layer::Townships, 12, 3),
        3
    );
}

#[tokio::test]
async fn tiles_are_cached_with_etags_and_sent_gzipped_when_accepted() {
    use std::io::Read;
    let app = TestApp::spawn().await;
    let (tile, _) = busy_tile(&app, 13);
    let v = app.snapshot().data_version;
    let path = format!(
        "/tiles/households/{}/{}/{}.mvt?v={v}",
        tile.z, tile.x, tile.y
    );
    let plain = app.get(&path).await;
    assert_eq!(
        plain.headers()["cache-control"],
        "public, max-age=86400, immutable"
    );
    let etag = plain.headers()["etag"].to_str().unwrap().to_owned();
    assert!(etag.starts_with(&format!("\"{v}-")), "{etag}");
    let plain = plain.bytes().await.unwrap();
    let gz = app
        .client
        .get(format!("{}{path}", app.address))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(gz.headers()["content-encoding"], "gzip");
    let mut unzipped = Vec::new();
    flate2::read::GzDecoder::new(&gz.bytes().await.unwrap()[..])
        .read_to_end(&mut unzipped)
        .unwrap();
    assert_eq!(unzipped, plain);
    let again = app
        .client
        .get(format!("{}{path}", app.address))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    // Without the version the client must revalidate.
    let bare = app
        .get(&format!(
            "/tiles/households/{}/{}/{}.mvt",
            tile.z, tile.x, tile.y
        ))
        .await;
    assert_eq!(bare.headers()["cache-control"], "no-cache");
}

/// A PNG's RGBA pixels.
fn pixels(bytes: &[u8]) -> (u32, u32, Vec<u8>) {
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes.to_vec()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    buf.truncate(info.buffer_size());
    let rgba = match info.color_type {
        png::ColorType::Rgba => buf,
        png::ColorType::Rgb => buf
            .chunks(3)
            .flat_map(|c| [c[0], c[1], c[2], 255])
            .collect(),
        other => unreachable!("unexpected colour type {other:?}"),
    };
    (info.width, info.height, rgba)
}

#[tokio::test]
async fn heat_tiles_are_transparent_pngs_coloured_where_problems_are() {
    let app = TestApp::spawn().await;
    let (tile, _) = busy_tile(&app, 11);
    for mode in ["count", "rate"] {
        let r = app
            .get(&format!(
                "/tiles/heat/any_problem/{}/{}/{}.png?mode={mode}",
                tile.z, tile.x, tile.y
            ))
            .await;
        assert_eq!(r.status(), 200, "{mode}");
        assert_eq!(r.headers()["content-type"], "image/png");
        let (w, h, rgba) = pixels(&r.bytes().await.unwrap());
        assert_eq!((w, h), (256, 256));
        let coloured = rgba.chunks(4).filter(|p| p[3] > 0).count();
        assert!(coloured > 100, "{mode}: {coloured}");
        assert!(
            rgba.chunks(4).any(|p| p[3] == 0),
            "{mode}: somewhere is clear"
        );
    }
    // The middle of the ocean: nothing.
    let r = app.get("/tiles/heat/any_problem/11/1024/1024.png").await;
    let (_, _, rgba) = pixels(&r.bytes().await.unwrap());
    assert!(rgba.chunks(4).all(|p| p[3] == 0));
    let p = app
        .get_problem("/tiles/heat/any_problem/11/0/0.png?mode=hot", 400)
        .await;
    assert_eq!(problem_fields(&p), ["mode"]);
    let p = app.get_problem("/tiles/heat/nope/11/0/0.png", 400).await;
    assert_eq!(problem_fields(&p), ["indicator"]);
}

#[tokio::test]
async fn bad_tile_requests_are_named() {
    let app = TestApp::spawn().await;
    app.get_problem("/tiles/roads/1/0/0.mvt", 404).await;
    let p = app.get_problem("/tiles/households/30/0/0.mvt", 400).await;
    assert_eq!(problem_fields(&p), ["z"]);
    let p = app.get_problem("/tiles/households/3/9/0.mvt", 400).await;
    assert_eq!(problem_fields(&p), ["x"]);
    let p = app.get_problem("/tiles/households/3/0/0.pbf", 400).await;
    assert_eq!(problem_fields(&p), ["y"]);
    let p = app
        .get_problem("/tiles/households/3/0/0.mvt?indicators=dropout", 400)
        .await;
    assert_eq!(problem_fields(&p), ["indicators"]);
    app.get_problem("/tiles/roads.json", 404).await;
}

#[tokio::test]
async fn static_maps_and_charts_are_drawn_in_chinese() {
    let app = TestApp::spawn().await;
    let r = app.get("/api/v1/maps/unsafe_housing.png").await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/png");
    let (w, h, rgba) = pixels(&r.bytes().await.unwrap());
    assert_eq!((w, h), (1200, 900));
    // The catalog's palette fills the townships.
    let palette = [
        [0xfd, 0x8d, 0x3c],
        [0xd9, 0x48, 0x01],
        [0x7f, 0x27, 0x04],
        [0xfd, 0xd0, 0xa2],
        [0xff, 0xf5, 0xeb],
    ];
    let filled = rgba
        .chunks(4)
        .filter(|p| palette.iter().any(|c| p[..3] == c[..]))
        .count();
    assert!(filled > 100_000, "{filled}");

    let svg = app
        .get("/api/v1/maps/dropout.svg?within=210422100&classing=natural&classes=4")
        .await;
    assert_eq!(svg.headers()["content-type"], "image/svg+xml");
    let text = svg.text().await.unwrap();
    assert!(text.contains("新宾镇各村义务教育阶段失学辍学比例"), "title");
    assert!(
        text.contains("无数据") && text.contains("北") && text.contains("数据日期：2019-07-01")
    );

    let chart = app
        .get("/api/v1/charts/any_problem.svg?level=village&top=5")
        .await
        .text()
        .await
        .unwrap();
    assert!(chart.contains("前5"), "{chart}");
    let p = app
        .get_problem("/api/v1/maps/dropout.png?classing=pretty", 400)
        .await;
    assert_eq!(problem_fields(&p), ["classing"]);
    let p = app.get_problem("/api/v1/maps/dropout.gif", 400).await;
    assert_eq!(problem_fields(&p), ["file"]);
    let p = app
        .get_problem("/api/v1/maps/dropout.png?within=210422100201", 400)
        .await;
    assert_eq!(problem_fields(&p), ["within"]);
}

/// Issue 21: a village map names the villages as officials do (XX村), where a name fits
/// without touching another; the names never overlap.
#[tokio::test]
async fn village_maps_carry_short_names_that_do_not_collide() {
    let app = TestApp::spawn().await;
    let svg = app
        .get("/api/v1/maps/any_problem.svg?level=village")
        .await
        .text()
        .await
        .unwrap();
    let villages = app.get_json("/api/v1/areas?level=village").await;
    let short: BTreeSet<String> = villages
        .as_array()
        .unwrap()
        .iter()
        .map(|v| paicha::domain::short_name(v["name"].as_str().unwrap()))
        .collect();
    assert!(!svg.contains("村民委员会"), "registered names on the map");
    // Each name is written with a halo (the same text a pixel or two apart, one after
    // the other): its place is the group's mean. Two villages may share a name.
    let mut groups: Vec<(String, f64, f64, f64)> = Vec::new();
    let mut size = 0.0;
    for piece in svg.split("<text ").skip(1) {
        let (attrs, rest) = piece.split_once('>').unwrap();
        let text = rest.split("</text>").next().unwrap().trim();
        if !short.contains(text) {
            continue;
        }
        let attr = |name: &str| -> f64 {
            let from = attrs
                .find(&format!(" {name}=\""))
                .map_or_else(|| attrs.find(&format!("{name}=\"")).unwrap(), |i| i + 1)
                + name.len()
                + 2;
            attrs[from..].split('"').next().unwrap().parse().unwrap()
        };
        size = attr("font-size");
        let (x, y) = (attr("x"), attr("y"));
        match groups.last_mut() {
            Some(g)
                if g.0 == text && (g.1 / g.3 - x).abs() < 4.0 && (g.2 / g.3 - y).abs() < 4.0 =>
            {
                *g = (g.0.clone(), g.1 + x, g.2 + y, g.3 + 1.0);
            }
            _ => groups.push((text.to_owned(), x, y, 1.0)),
        }
    }
    assert!(
        groups.len() >= 40,
        "only {} village names drawn",
        groups.len()
    );
    let labels: Vec<(&String, f64, f64)> = groups
        .iter()
        .map(|(name, x, y, n)| (name, x / n, y / n))
        .collect();
    for (i, a) in labels.iter().enumerate() {
        for b in &labels[i + 1..] {
            let chars = |s: &str| s.chars().count() as f64;
            let apart_x = (a.1 - b.1).abs() >= f64::midpoint(chars(a.0), chars(b.0)) * size * 0.9;
            let apart_y = (a.2 - b.2).abs() >= size;
            assert!(apart_x || apart_y, "{a:?} and {b:?} overlap");
        }
    }
}
