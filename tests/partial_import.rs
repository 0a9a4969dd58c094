//! Issue 14: after a partial import in a city (new boundaries for some of one county's
//! villages), every answer of that county that depends on them changes at once, even
//! those the server had cached and the ETags a client holds, and every other county's
//! answers stay exactly what they were. The data version is the database's (every
//! import changes every ETag): never stale, at the cost of revalidating the untouched.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test helpers fail loudly, which is what a test wants"
)]

use std::path::Path;
use std::time::Duration;

use paicha::domain::access::Role;
use paicha::spatial::mercator::TileId;
use serde_json::Value;

#[path = "support/own_server.rs"]
#[allow(dead_code, reason = "shared with the tests that sign in and browse")]
mod own_server;
use own_server::account;
#[path = "support/command.rs"]
mod command;
use command::{paicha, run_ok};

/// The changed county, and one left alone.
const CHANGED: &str = "210421";
const UNTOUCHED: &str = "210423";

/// A JSON answer without the data version it was read at.
fn unversioned(mut v: Value) -> Value {
    if let Some(o) = v.as_object_mut() {
        o.remove("data_version");
    }
    v
}

/// The village codes in a village tile.
fn codes_in(tile: &[u8]) -> Vec<String> {
    let reader = mvt_reader::Reader::new(tile.to_vec()).unwrap();
    reader
        .get_features_as::<f64>(0)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|f| match f.properties?.get("code")? {
            mvt_reader::feature::Value::String(s) => Some(s.clone()),
            _ => None,
        })
        .collect()
}

/// The demo city's villages of the changed county, one of them (the one with the most
/// households) shrunk to half its size about its vertices' mean: as a new survey
/// would redraw it. Returns the GeoJSON and the shrunk village's code.
fn redrawn(db: &Path, dir: &Path) -> (Vec<u8>, String) {
    let all = dir.join("villages.geojson");
    run_ok(
        paicha()
            .args(["export", "--db"])
            .arg(db)
            .args(["areas", "--level", "village", "--out"])
            .arg(&all),
    );
    let mut collection: Value =
        serde_json::from_str(&std::fs::read_to_string(&all).unwrap()).unwrap();
    let features = collection["features"].as_array_mut().unwrap();
    features.retain(|f| {
        f["properties"]["code"]
            .as_str()
            .unwrap()
            .starts_with(CHANGED)
    });
    let most = features
        .iter_mut()
        .max_by_key(|f| f["properties"]["households"].as_i64().unwrap())
        .unwrap();
    let code = most["properties"]["code"].as_str().unwrap().to_owned();
    let geometry = &mut most["geometry"];
    let multi = geometry["type"] == "MultiPolygon";
    let mut polygons: Vec<Value> = if multi {
        geometry["coordinates"].as_array().unwrap().clone()
    } else {
        vec![geometry["coordinates"].clone()]
    };
    let vertices: Vec<(f64, f64)> = polygons
        .iter()
        .flat_map(|p| p[0].as_array().unwrap().iter())
        .map(|v| (v[0].as_f64().unwrap(), v[1].as_f64().unwrap()))
        .collect();
    let n = vertices.len() as f64;
    let (cx, cy) = vertices
        .iter()
        .fold((0.0, 0.0), |(x, y), (vx, vy)| (x + vx / n, y + vy / n));
    for polygon in &mut polygons {
        for ring in polygon.as_array_mut().unwrap() {
            for v in ring.as_array_mut().unwrap() {
                let (x, y) = (v[0].as_f64().unwrap(), v[1].as_f64().unwrap());
                *v = serde_json::json!([cx + (x - cx) * 0.5, cy + (y - cy) * 0.5]);
            }
        }
    }
    geometry["coordinates"] = if multi {
        Value::Array(polygons)
    } else {
        polygons.remove(0)
    };
    (serde_json::to_vec(&collection).unwrap(), code)
}

/// What the test compares before and after: the county answers and a village tile.
struct Seen {
    quality: Value,
    stats: Value,
    tile: Vec<u8>,
    etag: String,
}

async fn look(client: &reqwest::Client, address: &str, county: &str, tile: (u8, u32, u32)) -> Seen {
    let json = |path: String| {
        let client = client.clone();
        async move {
            let r = client.get(format!("{address}{path}")).send().await.unwrap();
            assert_eq!(r.status(), 200, "{path}");
            unversioned(r.json::<Value>().await.unwrap())
        }
    };
    let quality = json(format!("/api/v1/quality?within={county}")).await;
    let stats = json(format!("/api/v1/stats?within={county}")).await;
    let (z, x, y) = tile;
    let r = client
        .get(format!("{address}/tiles/villages/{z}/{x}/{y}.mvt"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let etag = r.headers()["etag"].to_str().unwrap().to_owned();
    Seen {
        quality,
        stats,
        tile: r.bytes().await.unwrap().to_vec(),
        etag,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[expect(clippy::too_many_lines, reason = "one story, checked top to bottom")]
async fn a_partial_import_changes_its_countys_answers_and_no_other() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("city.duckdb");
    run_ok(
        paicha()
            .args(["demo", "--city", "--households", "3000", "--db"])
            .arg(&db),
    );
    let (file, shrunk) = redrawn(&db, dir.path());
    let admin = {
        let store = paicha::store::Store::open(&db).unwrap();
        let conn = store.conn().unwrap();
        account(&conn, "city-admin", Role::Admin, "2104")
    };
    let (address, _state) = own_server::serve(&db).await;

    // The tiles to watch: the one holding the shrunk village's label point, and one
    // holding the untouched county's, which none of the changed county's villages reach.
    let labels: Value = admin
        .get(format!("{address}/api/v1/areas.geojson?geometry=label"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let point = |code: &str| {
        let f = labels["features"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["properties"]["code"] == code)
            .unwrap();
        let c = &f["geometry"]["coordinates"];
        (c[0].as_f64().unwrap(), c[1].as_f64().unwrap())
    };
    let at = |code: &str, z: u8| {
        let (lon, lat) = point(code);
        let TileId { x, y, .. } = TileId::containing(lon, lat, z).unwrap();
        (z, x, y)
    };
    let changed_tile = at(&shrunk, 12);
    let untouched_tile = at(UNTOUCHED, 10);
    let changed = look(&admin, &address, CHANGED, changed_tile).await;
    let untouched = look(&admin, &address, UNTOUCHED, untouched_tile).await;
    assert!(codes_in(&changed.tile).contains(&shrunk));
    assert!(
        codes_in(&untouched.tile)
            .iter()
            .all(|c| c.starts_with(UNTOUCHED)),
        "the watched tile of {UNTOUCHED} must hold its villages only"
    );
    // Asked again, the server answers from its caches: 304 for the ETag held.
    let (z, x, y) = changed_tile;
    let again = admin
        .get(format!("{address}/tiles/villages/{z}/{x}/{y}.mvt"))
        .header("If-None-Match", &changed.etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);

    // The redrawn villages, uploaded, checked and committed through the server.
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(file).file_name("抚顺县村界.geojson"),
    );
    let r = admin
        .post(format!(
            "{address}/api/v1/imports?kind=boundaries&level=village"
        ))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let id = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut status = Value::Null;
    for _ in 0..600 {
        status = admin
            .get(format!("{address}/api/v1/imports/{id}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if !matches!(status["status"].as_str(), Some("queued" | "checking")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status["status"], "ready", "{status}");
    let r = admin
        .post(format!("{address}/api/v1/imports/{id}/commit"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());

    // The changed county: its households' places are judged against the new boundary
    // (fewer inside the shrunk village), its tile is drawn anew, and the ETag a client
    // held no longer matches.
    let after = look(&admin, &address, CHANGED, changed_tile).await;
    assert_ne!(
        after.quality, changed.quality,
        "the county's location quality"
    );
    assert_ne!(after.tile, changed.tile, "the shrunk village's tile");
    assert_ne!(after.etag, changed.etag);
    let revalidated = admin
        .get(format!("{address}/tiles/villages/{z}/{x}/{y}.mvt"))
        .header("If-None-Match", &changed.etag)
        .send()
        .await
        .unwrap();
    assert_eq!(revalidated.status(), 200);
    assert_eq!(revalidated.bytes().await.unwrap().to_vec(), after.tile);
    // Households found outside their registered village rise (some of the shrunk one's
    // now lie outside it); every figure that does not depend on a boundary stays.
    let total =
        |seen: &Seen, id: &str| seen.stats["total"]["values"][id]["count"].as_i64().unwrap();
    assert!(
        total(&after, "gps_mismatch") > total(&changed, "gps_mismatch"),
        "定位不在登记村 {} → {}",
        total(&changed, "gps_mismatch"),
        total(&after, "gps_mismatch")
    );
    for (id, value) in changed.stats["total"]["values"].as_object().unwrap() {
        if id != "gps_mismatch" {
            assert!(after.stats["total"]["values"][id] == *value, "{id} changed");
        }
    }

    // The other county: every answer exactly as before.
    let other = look(&admin, &address, UNTOUCHED, untouched_tile).await;
    assert!(
        other.quality == untouched.quality,
        "{UNTOUCHED}'s quality changed"
    );
    assert!(
        other.stats == untouched.stats,
        "{UNTOUCHED}'s figures changed"
    );
    assert!(other.tile == untouched.tile, "{UNTOUCHED}'s tile changed");
}
