//! Coordinate systems that field apps in China record in: WGS-84, GCJ-02 and BD-09.
//!
//! Phones mostly report GCJ-02 (Amap, Tencent) or BD-09 (Baidu), which are WGS-84
//! shifted by a non-linear offset of a few hundred metres inside China. The store keeps
//! WGS-84 only, so every source declares its system and is converted here. CGCS2000
//! differs from WGS-84 by centimetres and is treated as WGS-84. The forward GCJ-02
//! transform is the published one; its inverse has no closed form and is found by
//! fixed-point iteration.

use std::f64::consts::PI;

use crate::domain::Crs;

/// A longitude/latitude pair in degrees; which system it is in is up to the caller.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LonLat {
    /// Longitude, degrees east.
    pub lon: f64,
    /// Latitude, degrees north.
    pub lat: f64,
}

impl LonLat {
    /// Makes a pair from longitude and latitude in degrees.
    #[must_use]
    pub const fn new(lon: f64, lat: f64) -> Self {
        Self { lon, lat }
    }
}

/// Semi-major axis of the Krasovsky 1940 ellipsoid that GCJ-02 is defined on, in metres.
const KRASOVSKY_A: f64 = 6_378_245.0;
/// First eccentricity squared of the Krasovsky 1940 ellipsoid.
const KRASOVSKY_EE: f64 = 0.006_693_421_622_965_943;
/// Baidu's angular constant for BD-09.
const BD_X_PI: f64 = PI * 3000.0 / 180.0;

/// Whether a point lies outside the rough box where GCJ-02 applies its offset.
///
/// Outside that box the transform is the identity, as the published algorithm defines.
///
/// # Units
/// Degrees.
#[must_use]
pub fn outside_china(p: LonLat) -> bool {
    !(72.004..=137.8347).contains(&p.lon) || !(0.8293..=55.8271).contains(&p.lat)
}

fn offset_lat(x: f64, y: f64) -> f64 {
    let mut ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * x.abs().sqrt();
    ret += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    ret += (20.0 * (y * PI).sin() + 40.0 * (y / 3.0 * PI).sin()) * 2.0 / 3.0;
    ret += (160.0 * (y / 12.0 * PI).sin() + 320.0 * (y * PI / 30.0).sin()) * 2.0 / 3.0;
    ret
}

fn offset_lon(x: f64, y: f64) -> f64 {
    let mut ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * x.abs().sqrt();
    ret += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    ret += (20.0 * (x * PI).sin() + 40.0 * (x / 3.0 * PI).sin()) * 2.0 / 3.0;
    ret += (150.0 * (x / 12.0 * PI).sin() + 300.0 * (x / 30.0 * PI).sin()) * 2.0 / 3.0;
    ret
}

/// Converts a WGS-84 position to GCJ-02.
///
/// # Units
/// Degrees in, degrees out.
#[must_use]
pub fn wgs84_to_gcj02(p: LonLat) -> LonLat {
    if outside_china(p) {
        return p;
    }
    let d_lat = offset_lat(p.lon - 105.0, p.lat - 35.0);
    let d_lon = offset_lon(p.lon - 105.0, p.lat - 35.0);
    let rad_lat = p.lat.to_radians();
    let magic = 1.0 - KRASOVSKY_EE * rad_lat.sin().powi(2);
    let sqrt_magic = magic.sqrt();
    let d_lat =
        (d_lat * 180.0) / ((KRASOVSKY_A * (1.0 - KRASOVSKY_EE)) / (magic * sqrt_magic) * PI);
    let d_lon = (d_lon * 180.0) / (KRASOVSKY_A / sqrt_magic * rad_lat.cos() * PI);
    LonLat::new(p.lon + d_lon, p.lat + d_lat)
}

/// Converts a GCJ-02 position back to WGS-84.
///
/// # Algorithm
/// Fixed-point iteration on the forward transform: start at the GCJ-02 point, and move
/// by the residual of the forward transform until it is below 1e-10 degrees (about
/// 0.01 mm). The offset field is smooth, so this converges in a handful of steps; the
/// loop is capped so that a pathological input cannot spin.
///
/// # Units
/// Degrees in, degrees out.
#[must_use]
pub fn gcj02_to_wgs84(p: LonLat) -> LonLat {
    if outside_china(p) {
        return p;
    }
    let mut w = p;
    for _ in 0..30 {
        let g = wgs84_to_gcj02(w);
        let (d_lon, d_lat) = (g.lon - p.lon, g.lat - p.lat);
        w = LonLat::new(w.lon - d_lon, w.lat - d_lat);
        if d_lon.abs() < 1e-10 && d_lat.abs() < 1e-10 {
            break;
        }
    }
    w
}

/// Converts a GCJ-02 position to BD-09.
///
/// # Units
/// Degrees in, degrees out.
#[must_use]
pub fn gcj02_to_bd09(p: LonLat) -> LonLat {
    let (x, y) = (p.lon, p.lat);
    let z = x.hypot(y) + 0.000_02 * (y * BD_X_PI).sin();
    let theta = y.atan2(x) + 0.000_003 * (x * BD_X_PI).cos();
    LonLat::new(z * theta.cos() + 0.0065, z * theta.sin() + 0.006)
}

/// Converts a BD-09 position to GCJ-02.
///
/// # Units
/// Degrees in, degrees out.
#[must_use]
pub fn bd09_to_gcj02(p: LonLat) -> LonLat {
    let (x, y) = (p.lon - 0.0065, p.lat - 0.006);
    let z = x.hypot(y) - 0.000_02 * (y * BD_X_PI).sin();
    let theta = y.atan2(x) - 0.000_003 * (x * BD_X_PI).cos();
    LonLat::new(z * theta.cos(), z * theta.sin())
}

/// Converts a position between any two of the supported systems.
///
/// # Units
/// Degrees in, degrees out.
#[must_use]
pub fn convert(p: LonLat, from: Crs, to: Crs) -> LonLat {
    if from == to {
        return p;
    }
    let wgs = match from {
        Crs::Wgs84 => p,
        Crs::Gcj02 => gcj02_to_wgs84(p),
        Crs::Bd09 => gcj02_to_wgs84(bd09_to_gcj02(p)),
    };
    match to {
        Crs::Wgs84 => wgs,
        Crs::Gcj02 => wgs84_to_gcj02(wgs),
        Crs::Bd09 => gcj02_to_bd09(wgs84_to_gcj02(wgs)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_abs_diff_eq;

    /// Metres per degree of latitude, near enough for error bounds.
    const M_PER_DEG: f64 = 111_000.0;

    #[test]
    fn points_outside_china_are_unchanged() {
        let paris = LonLat::new(2.35, 48.85);
        assert_eq!(wgs84_to_gcj02(paris), paris);
        assert_eq!(gcj02_to_wgs84(paris), paris);
    }

    #[test]
    fn the_offset_in_xinbin_is_a_few_hundred_metres() {
        // The shift is the point of GCJ-02: in Liaoning it is a few hundred metres,
        // mostly eastward and northward.
        let w = LonLat::new(125.04, 41.73);
        let g = wgs84_to_gcj02(w);
        let d_east = (g.lon - w.lon) * M_PER_DEG * w.lat.to_radians().cos();
        let d_north = (g.lat - w.lat) * M_PER_DEG;
        assert!((300.0..900.0).contains(&d_east), "east {d_east}");
        assert!((-100.0..400.0).contains(&d_north), "north {d_north}");
    }

    #[test]
    fn gcj02_inverse_is_within_half_a_millimetre_across_the_county() {
        for i in 0..=20 {
            for j in 0..=20 {
                let w = LonLat::new(124.3 + f64::from(i) * 0.06, 41.2 + f64::from(j) * 0.04);
                let back = gcj02_to_wgs84(wgs84_to_gcj02(w));
                assert_abs_diff_eq!(back.lon, w.lon, epsilon = 5e-4 / M_PER_DEG);
                assert_abs_diff_eq!(back.lat, w.lat, epsilon = 5e-4 / M_PER_DEG);
            }
        }
    }

    #[test]
    fn bd09_round_trips_through_every_system() {
        let w = LonLat::new(124.8, 41.7);
        let b = convert(w, Crs::Wgs84, Crs::Bd09);
        assert!((b.lon - w.lon).abs() > 0.005, "BD-09 adds a visible shift");
        let back = convert(b, Crs::Bd09, Crs::Wgs84);
        // bd09_to_gcj02 is itself an approximation of about 1e-6 degrees.
        assert_abs_diff_eq!(back.lon, w.lon, epsilon = 2e-6);
        assert_abs_diff_eq!(back.lat, w.lat, epsilon = 2e-6);
    }
}
