//! Offline basemaps: an MBTiles package written by GDAL, dropped into the tiles folder,
//! is listed and its tiles served; a 天地图 key adds the online basemaps; without one
//! nothing online is offered.

use serde_json::Value;

use crate::helpers::TestApp;

#[tokio::test]
async fn an_mbtiles_package_dropped_into_the_tiles_folder_is_served() {
    let dir = tempfile::tempdir().unwrap();
    crate::helpers::gdal_mbtiles(dir.path(), "卫星影像");
    std::fs::write(dir.path().join("broken.pmtiles"), b"not a package").unwrap();
    let app = TestApp::spawn_with_tiles(paicha::tiles::TileSettings {
        basemaps_dir: Some(dir.path().to_path_buf()),
        ..Default::default()
    })
    .await;
    let list = app.get_json("/api/v1/basemaps").await;
    let maps = list["basemaps"].as_array().unwrap();
    assert_eq!(maps.len(), 1, "{list}");
    let m = &maps[0];
    assert_eq!(m["id"], "卫星影像");
    assert_eq!(m["kind"], "raster");
    assert_eq!(m["source"], "mbtiles");
    let b: Vec<f64> = m["bounds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    for (got, want) in b.iter().zip([124.8, 41.6, 125.0, 41.8]) {
        assert!((got - want).abs() < 0.01, "{b:?}");
    }
    assert_eq!(list["unreadable"][0]["file"], "broken.pmtiles");
    assert!(
        list["unreadable"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("PMTiles")
    );

    // The tile under the square's centre at the package's top zoom is the square's red.
    let z = u8::try_from(m["maxzoom"].as_u64().unwrap()).unwrap();
    let tile = paicha::spatial::mercator::TileId::containing(124.9, 41.7, z).unwrap();
    let url = m["tiles"][0]
        .as_str()
        .unwrap()
        .replace("{z}", &z.to_string())
        .replace("{x}", &tile.x.to_string())
        .replace("{y}", &tile.y.to_string());
    let response = app.get(&url).await;
    assert_eq!(response.status(), 200, "{url}");
    assert_eq!(response.headers()["content-type"], "image/png");
    let bytes = response.bytes().await.unwrap();
    let mut reader = png::Decoder::new(std::io::Cursor::new(bytes))
        .read_info()
        .unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    let centre = (128 * info.width as usize + 128) * channels;
    assert_eq!(&buf[centre..centre + 3], [200, 30, 30]);
    // Outside the package: no tile, not an error.
    let far = paicha::spatial::mercator::TileId::containing(100.0, 20.0, z).unwrap();
    let url = format!("/tiles/basemaps/卫星影像/{z}/{}/{}.png", far.x, far.y);
    assert_eq!(app.get(&url).await.status(), 204);
    app.get_problem("/tiles/basemaps/nope/1/0/0.png", 404).await;
    app.get_problem("/tiles/basemaps/卫星影像.pmtiles", 404)
        .await;
}

#[tokio::test]
async fn online_basemaps_appear_only_with_a_key() {
    let app = TestApp::spawn().await;
    let list = app.get_json("/api/v1/basemaps").await;
    assert_eq!(list["basemaps"], Value::Array(vec![]));
    let app = TestApp::spawn_with_tiles(paicha::tiles::TileSettings {
        tianditu_key: Some("k123".to_owned()),
        ..Default::default()
    })
    .await;
    let list = app.get_json("/api/v1/basemaps").await;
    let ids: Vec<&str> = list["basemaps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["tianditu-vec", "tianditu-img"]);
    let url = list["basemaps"][0]["tiles"][0].as_str().unwrap();
    assert!(
        url.starts_with("https://t0.tianditu.gov.cn/vec_w/wmts?"),
        "{url}"
    );
    assert!(url.ends_with("&tk=k123"));
    // Map labels come from the browser's font; every glyph range is an empty set.
    let glyphs = app.get("/fonts/Noto%20Sans/0-255.pbf").await;
    assert_eq!(glyphs.status(), 200);
    assert!(glyphs.bytes().await.unwrap().is_empty());
}
