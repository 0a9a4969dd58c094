//! Web Mercator (EPSG:3857) and the XYZ tile grid on it, once for every module that
//! draws or addresses tiles: vector tiles, heat maps, the read model's per-household
//! world positions and the API's range checks.
//!
//! Everything is computed in *world fractions*: longitude maps linearly to `fx` in
//! `0..1` from the antimeridian eastwards, latitude maps through the Mercator formula
//! `fy = (1 − ln(tan φ + sec φ) / π) / 2` to `0..1` from the north edge southwards (y grows
//! downwards, as in the XYZ scheme and in tile-local coordinates). At zoom `z` the world
//! is `2^z` tiles wide, so tile `(x, y)` covers `fx` in `x/2^z ..(x+1)/2^z`; in pixels it
//! is [`TILE_SIZE`] · 2^z wide. Latitudes are clamped to ±[`MAX_LATITUDE`], where the
//! square world ends; beyond it the projection runs off to infinity.
//!
//! Zooms stop at [`MAX_ZOOM`] (22): `2^22` tiles of 4096 units each is `2^34` units
//! across the world, which an `f64` still resolves to about a millionth of a unit.

use std::f64::consts::PI;

use thiserror::Error;

/// Highest zoom level a [`TileId`] may have.
pub const MAX_ZOOM: u8 = 22;

/// Northernmost (and, negated, southernmost) latitude of the Web Mercator square, in
/// degrees: `atan(sinh(π))`.
pub const MAX_LATITUDE: f64 = 85.051_128_779_806_59;

/// Side of a raster tile in pixels.
pub const TILE_SIZE: u32 = 256;

/// Radius of the sphere Web Mercator projects (the WGS-84 semi-major axis), for
/// ground distances per pixel.
///
/// # Units
/// Metres.
pub const WEB_MERCATOR_RADIUS_M: f64 = 6_378_137.0;

/// A tile address that was out of range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum GridError {
    /// The zoom level is above [`MAX_ZOOM`].
    #[error("zoom {z} is out of range: the highest zoom is {MAX_ZOOM}")]
    Zoom {
        /// The zoom level asked for.
        z: u8,
    },
    /// The column is not below `2^z`.
    #[error("tile x {x} is out of range at zoom {z}: it must be below 2^{z}")]
    X {
        /// The zoom level.
        z: u8,
        /// The column asked for.
        x: u32,
    },
    /// The row is not below `2^z`.
    #[error("tile y {y} is out of range at zoom {z}: it must be below 2^{z}")]
    Y {
        /// The zoom level.
        z: u8,
        /// The row asked for.
        y: u32,
    },
}

/// A longitude/latitude box in WGS-84 degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LonLatBounds {
    /// Western edge, degrees east.
    pub west: f64,
    /// Southern edge, degrees north.
    pub south: f64,
    /// Eastern edge, degrees east.
    pub east: f64,
    /// Northern edge, degrees north.
    pub north: f64,
}

impl LonLatBounds {
    /// Makes a box from its four edges in degrees.
    #[must_use]
    pub const fn new(west: f64, south: f64, east: f64, north: f64) -> Self {
        Self {
            west,
            south,
            east,
            north,
        }
    }

    /// Whether the point lies inside the box or on its edge.
    #[must_use]
    pub fn contains(&self, lon: f64, lat: f64) -> bool {
        (self.west..=self.east).contains(&lon) && (self.south..=self.north).contains(&lat)
    }
}

/// One tile of the XYZ grid: zoom `z`, column `x` from the west, row `y` from the north.
///
/// [`TileId::new`] checks the ranges; the methods assume a tile made that way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TileId {
    /// Zoom level, `0..=MAX_ZOOM`.
    pub z: u8,
    /// Column, `0..2^z`, counted eastwards from the antimeridian.
    pub x: u32,
    /// Row, `0..2^z`, counted southwards from [`MAX_LATITUDE`].
    pub y: u32,
}

impl TileId {
    /// Checks and makes a tile address.
    ///
    /// # Errors
    /// [`GridError`] naming the zoom, column or row that is out of range.
    pub fn new(z: u8, x: u32, y: u32) -> Result<Self, GridError> {
        check_zoom(z)?;
        let n = tiles_across(z);
        if u64::from(x) >= n {
            return Err(GridError::X { z, x });
        }
        if u64::from(y) >= n {
            return Err(GridError::Y { z, y });
        }
        Ok(Self { z, x, y })
    }

    /// The tile's edges in degrees.
    #[must_use]
    pub fn bounds(&self) -> LonLatBounds {
        self.bounds_buffered(0, 1)
    }

    /// The tile's edges grown on every side by `buffer` units of a tile `extent` units
    /// wide, in degrees: the area whose features can reach into the tile's buffer.
    ///
    /// Longitudes stay within ±180 and latitudes within ±[`MAX_LATITUDE`]; an `extent`
    /// of 0 is taken as 1.
    #[must_use]
    pub fn bounds_buffered(&self, buffer: u32, extent: u32) -> LonLatBounds {
        let n = tiles_across(self.z) as f64;
        let grow = f64::from(buffer) / f64::from(extent.max(1));
        let x0 = (f64::from(self.x) - grow) / n;
        let x1 = (f64::from(self.x) + 1.0 + grow) / n;
        let y0 = (f64::from(self.y) - grow) / n;
        let y1 = (f64::from(self.y) + 1.0 + grow) / n;
        LonLatBounds {
            west: fraction_to_lon(x0).max(-180.0),
            south: fraction_to_lat(y1.min(1.0)),
            east: fraction_to_lon(x1).min(180.0),
            north: fraction_to_lat(y0.max(0.0)),
        }
    }

    /// The tile's box grown by `buffer_px` pixels (of [`TILE_SIZE`]) on every side,
    /// not clamped to the map: to fetch every point that can reach a pixel of a heat
    /// map, pass the kernel radius plus one pixel (the extra pixel absorbs the rounding
    /// of the round trip through degrees). A negative or NaN buffer counts as 0.
    ///
    /// # Units
    /// Pixels in, degrees out.
    #[must_use]
    pub fn bounds_px(&self, buffer_px: f64) -> LonLatBounds {
        let buffer = buffer_px.max(0.0);
        let tile = f64::from(TILE_SIZE);
        let [west, south] = world_px_to_lonlat(
            [
                f64::from(self.x) * tile - buffer,
                (f64::from(self.y) + 1.0) * tile + buffer,
            ],
            self.z,
        );
        let [east, north] = world_px_to_lonlat(
            [
                (f64::from(self.x) + 1.0) * tile + buffer,
                f64::from(self.y) * tile - buffer,
            ],
            self.z,
        );
        LonLatBounds::new(west, south, east, north)
    }

    /// The position a fraction `[fx, fy]` of the way across the tile from its
    /// north-west corner, interpolated in Mercator (a cell's centre, say).
    ///
    /// # Units
    /// Fractions of the tile in, degrees `[lon, lat]` out.
    #[must_use]
    pub fn lonlat_at(&self, [fx, fy]: [f64; 2]) -> [f64; 2] {
        let n = tiles_across(self.z) as f64;
        [
            fraction_to_lon((f64::from(self.x) + fx) / n),
            fraction_to_lat((f64::from(self.y) + fy) / n),
        ]
    }

    /// The four tiles one zoom deeper that make up this one, in the order north-west,
    /// north-east, south-west, south-east; `None` at [`MAX_ZOOM`].
    #[must_use]
    pub fn children(&self) -> Option<[TileId; 4]> {
        if self.z >= MAX_ZOOM {
            return None;
        }
        let (z, x, y) = (self.z + 1, self.x * 2, self.y * 2);
        Some([
            TileId { z, x, y },
            TileId { z, x: x + 1, y },
            TileId { z, x, y: y + 1 },
            TileId {
                z,
                x: x + 1,
                y: y + 1,
            },
        ])
    }

    /// The tile one zoom up that contains this one; `None` at zoom 0.
    #[must_use]
    pub fn parent(&self) -> Option<TileId> {
        (self.z > 0).then(|| TileId {
            z: self.z - 1,
            x: self.x / 2,
            y: self.y / 2,
        })
    }

    /// The tile at zoom `z` that contains the point.
    ///
    /// A point on an edge belongs to the tile east or south of it; longitudes outside
    /// ±180 and latitudes beyond ±[`MAX_LATITUDE`] go to the edge tiles.
    ///
    /// # Errors
    /// [`GridError::Zoom`] when `z` is above [`MAX_ZOOM`].
    pub fn containing(lon: f64, lat: f64, z: u8) -> Result<TileId, GridError> {
        check_zoom(z)?;
        let n = tiles_across(z) as f64;
        let max_index = tiles_across(z) - 1;
        let index = |fraction: f64| ((fraction * n).floor().max(0.0) as u64).min(max_index) as u32;
        Ok(TileId {
            z,
            x: index(lon_to_fraction(lon)),
            y: index(lat_to_fraction(lat)),
        })
    }
}

/// The point's position in the tile's own coordinates: `0..extent` from the west edge
/// eastwards and from the north edge southwards, as MVT geometry wants it.
///
/// Points outside the tile get coordinates below 0 or above `extent`; latitude is
/// clamped to ±[`MAX_LATITUDE`] first.
#[must_use]
pub fn lonlat_to_tile_coords(lon: f64, lat: f64, tile: TileId, extent: u32) -> [f64; 2] {
    let n = tiles_across(tile.z) as f64;
    let extent = f64::from(extent);
    // Subtracting the tile index before scaling by the extent keeps the magnitudes small,
    // so deep-zoom coordinates lose no precision.
    [
        (lon_to_fraction(lon) * n - f64::from(tile.x)) * extent,
        (lat_to_fraction(lat) * n - f64::from(tile.y)) * extent,
    ]
}

fn check_zoom(z: u8) -> Result<(), GridError> {
    if z > MAX_ZOOM {
        Err(GridError::Zoom { z })
    } else {
        Ok(())
    }
}

fn tiles_across(z: u8) -> u64 {
    // The fields of `TileId` are public, so a zoom `new` would refuse can still arrive.
    1_u64.checked_shl(u32::from(z)).unwrap_or(u64::MAX)
}

/// The world fraction of a longitude, 0 at the antimeridian, growing eastwards.
///
/// # Units
/// Degrees in, a fraction of the world's width out.
#[must_use]
pub fn lon_to_fraction(lon: f64) -> f64 {
    (lon + 180.0) / 360.0
}

/// The world fraction of a latitude, 0 at the northern edge of the map, growing
/// southwards; latitudes beyond ±[`MAX_LATITUDE`] are clamped to the map's edge.
///
/// # Units
/// Degrees in, a fraction of the world's height out.
#[must_use]
pub fn lat_to_fraction(lat: f64) -> f64 {
    let phi = lat.clamp(-MAX_LATITUDE, MAX_LATITUDE).to_radians();
    // ln(tan φ + sec φ), not the equal asinh(tan φ): that is twice as slow, which counts
    // when every household of a county is projected for a tile, and its better accuracy
    // near the equator does not matter at a millionth of a tile.
    (1.0 - (phi.tan() + 1.0 / phi.cos()).ln() / PI) / 2.0
}

/// The longitude of a world fraction (inverse of [`lon_to_fraction`]), not clamped.
///
/// # Units
/// A fraction in, degrees out.
#[must_use]
pub fn fraction_to_lon(fraction: f64) -> f64 {
    fraction * 360.0 - 180.0
}

/// The latitude of a world fraction (inverse of [`lat_to_fraction`]). Not clamped:
/// fractions off the map give latitudes beyond the Mercator limit, which is what a
/// query box grown past the map's edge wants.
///
/// # Units
/// A fraction in, degrees out.
#[must_use]
pub fn fraction_to_lat(fraction: f64) -> f64 {
    (PI * (1.0 - 2.0 * fraction)).sinh().atan().to_degrees()
}

/// Side of the whole world in pixels at zoom `z` ([`TILE_SIZE`] · 2^z).
#[must_use]
pub fn world_size_px(z: u8) -> f64 {
    f64::from(TILE_SIZE) * f64::from(z).exp2()
}

/// Global pixel coordinates of a WGS-84 position at zoom `z`: x from the antimeridian
/// eastwards, y from the northern edge of the map southwards, [`TILE_SIZE`]-px tiles.
///
/// # Units
/// Degrees in, pixels out.
#[must_use]
pub fn lonlat_to_world_px(lon: f64, lat: f64, z: u8) -> [f64; 2] {
    let size = world_size_px(z);
    [lon_to_fraction(lon) * size, lat_to_fraction(lat) * size]
}

/// Inverse of [`lonlat_to_world_px`], not clamped (see [`fraction_to_lat`]).
///
/// # Units
/// Pixels in, degrees `[lon, lat]` out.
#[must_use]
pub fn world_px_to_lonlat(px: [f64; 2], z: u8) -> [f64; 2] {
    let size = world_size_px(z);
    [fraction_to_lon(px[0] / size), fraction_to_lat(px[1] / size)]
}

/// Ground metres covered by one pixel at latitude `lat` and zoom `z`.
///
/// # Units
/// Degrees and a zoom in, metres out.
#[must_use]
pub fn metres_per_px(lat: f64, z: u8) -> f64 {
    lat.to_radians().cos() * 2.0 * PI * WEB_MERCATOR_RADIUS_M / world_size_px(z)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    /// Mengla county seat, Yunnan: a point the service really serves.
    const LON: f64 = 101.564;
    const LAT: f64 = 21.467;

    #[test]
    fn new_names_what_is_out_of_range() {
        assert_eq!(TileId::new(23, 0, 0), Err(GridError::Zoom { z: 23 }));
        assert_eq!(TileId::new(3, 8, 0), Err(GridError::X { z: 3, x: 8 }));
        assert_eq!(TileId::new(3, 0, 8), Err(GridError::Y { z: 3, y: 8 }));
        assert_eq!(
            TileId::new(22, 1 << 22, 0),
            Err(GridError::X { z: 22, x: 1 << 22 })
        );
        assert!(TileId::new(22, (1 << 22) - 1, (1 << 22) - 1).is_ok());
        assert!(TileId::new(0, 0, 0).is_ok());
        assert!(
            GridError::X { z: 3, x: 8 }
                .to_string()
                .contains("must be below 2^3")
        );
    }

    #[test]
    fn world_tile_spans_the_mercator_square() {
        let b = TileId::new(0, 0, 0).unwrap().bounds();
        assert!((b.west + 180.0).abs() < 1e-12 && (b.east - 180.0).abs() < 1e-12);
        assert!((b.north - MAX_LATITUDE).abs() < 1e-9);
        assert!((b.south + MAX_LATITUDE).abs() < 1e-9);
    }

    #[test]
    fn known_tile_matches_published_numbering() {
        // Zoom 1 splits the world at the equator and the prime meridian.
        let b = TileId::new(1, 1, 0).unwrap().bounds();
        assert!(b.west.abs() < 1e-12 && b.south.abs() < 1e-12);
        // Beijing's Tiananmen at zoom 10 lies in tile 843/388 of the OSM grid.
        let t = TileId::containing(116.3975, 39.9087, 10).unwrap();
        assert_eq!((t.x, t.y), (843, 388));
    }

    #[test]
    fn containing_tile_contains_the_point_at_every_zoom() {
        for z in 0..=MAX_ZOOM {
            let t = TileId::containing(LON, LAT, z).unwrap();
            assert!(t.bounds().contains(LON, LAT), "zoom {z}: {t:?}");
            assert_eq!(TileId::new(t.z, t.x, t.y), Ok(t));
            if let Some(p) = t.parent() {
                assert_eq!(TileId::containing(LON, LAT, z - 1).unwrap(), p);
            }
        }
        assert_eq!(
            TileId::containing(LON, LAT, 23),
            Err(GridError::Zoom { z: 23 })
        );
    }

    #[test]
    fn containing_sends_out_of_range_points_to_edge_tiles() {
        let t = TileId::containing(180.0, -90.0, 4).unwrap();
        assert_eq!((t.x, t.y), (15, 15));
        let t = TileId::containing(-200.0, 90.0, 4).unwrap();
        assert_eq!((t.x, t.y), (0, 0));
        let t = TileId::containing(f64::NAN, f64::NAN, 4).unwrap();
        assert!(t.x < 16 && t.y < 16);
    }

    #[test]
    fn children_tile_their_parent() {
        let parent = TileId::containing(LON, LAT, 9).unwrap();
        let b = parent.bounds();
        let kids = parent.children().unwrap();
        let k: Vec<LonLatBounds> = kids.iter().map(TileId::bounds).collect();
        let eq = |a: f64, b: f64| (a - b).abs() < 1e-9;
        // North-west and south-east children share the parent's corners...
        assert!(eq(k[0].west, b.west) && eq(k[0].north, b.north));
        assert!(eq(k[3].east, b.east) && eq(k[3].south, b.south));
        // ...and the four meet along the parent's midlines without gaps or overlaps.
        assert!(eq(k[0].east, k[1].west) && eq(k[2].east, k[3].west));
        assert!(eq(k[0].south, k[2].north) && eq(k[1].south, k[3].north));
        assert!(eq(k[0].west, k[2].west) && eq(k[1].east, k[3].east));
        for kid in kids {
            assert_eq!(kid.parent(), Some(parent));
        }
        assert_eq!(TileId::new(0, 0, 0).unwrap().parent(), None);
        let deepest = TileId::containing(LON, LAT, MAX_ZOOM).unwrap();
        assert_eq!(deepest.children(), None);
    }

    #[test]
    fn tile_coords_run_from_north_west_corner() {
        let t = TileId::containing(LON, LAT, 14).unwrap();
        let b = t.bounds();
        let nw = lonlat_to_tile_coords(b.west, b.north, t, 4096);
        let se = lonlat_to_tile_coords(b.east, b.south, t, 4096);
        assert!(nw[0].abs() < 1e-6 && nw[1].abs() < 1e-6, "{nw:?}");
        assert!((se[0] - 4096.0).abs() < 1e-6 && (se[1] - 4096.0).abs() < 1e-6);
        let p = lonlat_to_tile_coords(LON, LAT, t, 4096);
        assert!((0.0..4096.0).contains(&p[0]) && (0.0..4096.0).contains(&p[1]));
        // Beyond the Mercator square latitudes stick to its edge.
        let world = TileId::new(0, 0, 0).unwrap();
        assert!(lonlat_to_tile_coords(0.0, 90.0, world, 4096)[1].abs() < 1e-6);
    }

    #[test]
    fn buffered_bounds_grow_by_the_buffer_fraction() {
        let t = TileId::containing(LON, LAT, 12).unwrap();
        let b = t.bounds();
        let g = t.bounds_buffered(64, 4096);
        let width = b.east - b.west;
        assert!((b.west - g.west - width * 64.0 / 4096.0).abs() < 1e-9);
        assert!((g.east - b.east - width * 64.0 / 4096.0).abs() < 1e-9);
        assert!(g.north > b.north && g.south < b.south);
        let corner = lonlat_to_tile_coords(g.west, g.north, t, 4096);
        assert!((corner[0] + 64.0).abs() < 1e-6 && (corner[1] + 64.0).abs() < 1e-6);
        let world = TileId::new(0, 0, 0).unwrap().bounds_buffered(64, 4096);
        assert!((world.west + 180.0).abs() < 1e-12);
        assert!((world.north - MAX_LATITUDE).abs() < 1e-9);
    }
    #[test]
    fn world_pixels_match_known_values() {
        let centre = lonlat_to_world_px(0.0, 0.0, 0);
        assert!((centre[0] - 128.0).abs() < 1e-12 && (centre[1] - 128.0).abs() < 1e-12);
        let corner = lonlat_to_world_px(-180.0, MAX_LATITUDE, 3);
        assert!(
            corner[0].abs() < 1e-9 && corner[1].abs() < 1e-6,
            "{corner:?}"
        );
        let corner = lonlat_to_world_px(180.0, -90.0, 1);
        assert!((corner[0] - 512.0).abs() < 1e-9 && (corner[1] - 512.0).abs() < 1e-6);

        let county = lonlat_to_world_px(108.31, 26.58, 14);
        let back = world_px_to_lonlat(county, 14);
        assert!((back[0] - 108.31).abs() < 1e-9 && (back[1] - 26.58).abs() < 1e-9);

        let b = TileId::new(1, 1, 0).unwrap().bounds_px(0.0);
        assert!(b.west.abs() < 1e-9 && (b.east - 180.0).abs() < 1e-9);
        assert!(b.south.abs() < 1e-9 && (b.north - MAX_LATITUDE).abs() < 1e-9);
        // The buffer grows the box by exactly that many pixels at the tile's zoom.
        let b = TileId::new(12, 3251, 1720).unwrap().bounds_px(20.0);
        let top_left = lonlat_to_world_px(b.west, b.north, 12);
        let bottom_right = lonlat_to_world_px(b.east, b.south, 12);
        assert!((top_left[0] - (256.0 * 3251.0 - 20.0)).abs() < 1e-6);
        assert!((top_left[1] - (256.0 * 1720.0 - 20.0)).abs() < 1e-6);
        assert!((bottom_right[0] - (256.0 * 3252.0 + 20.0)).abs() < 1e-6);
        assert!((bottom_right[1] - (256.0 * 1721.0 + 20.0)).abs() < 1e-6);

        assert!((metres_per_px(0.0, 0) - 156_543.033_928).abs() < 1e-3);
        assert!((metres_per_px(60.0, 1) - 156_543.033_928 / 4.0).abs() < 1e-3);
    }

    #[test]
    fn a_tile_fraction_lies_between_its_edges_in_mercator() {
        let tile = TileId::containing(LON, LAT, 12).unwrap();
        let bounds = tile.bounds();
        let north_west = tile.lonlat_at([0.0, 0.0]);
        let south_east = tile.lonlat_at([1.0, 1.0]);
        assert!((north_west[0] - bounds.west).abs() < 1e-9);
        assert!((north_west[1] - bounds.north).abs() < 1e-9);
        assert!((south_east[0] - bounds.east).abs() < 1e-9);
        assert!((south_east[1] - bounds.south).abs() < 1e-9);
        let [_, mid] = tile.lonlat_at([0.5, 0.5]);
        let [_, fy] = lonlat_to_tile_coords(0.0, mid, tile, 2);
        assert!(
            (fy - 1.0).abs() < 1e-9,
            "half way down in Mercator, not in degrees"
        );
    }
}
