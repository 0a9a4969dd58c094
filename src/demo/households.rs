//! Synthetic households of one village: settlements along a valley, members, the
//! household standard's facts, and the deliberate location flaws.
//!
//! Problems are not uniform: each household's *hardship* rises in poverty villages,
//! near a few county-wide hot spots and in some hamlets, and every problem's
//! probability rises with it, so that a heat map shows hot spots. Each village draws
//! from its own random stream (seeded by the county seed and the village's index), so
//! a village's households do not depend on how many were drawn before it.

use geo::{Contains, Distance, Euclidean, InteriorPoint, MultiPolygon, Point};
use rand::Rng;
use rand::seq::IndexedRandom;
use rand_distr::{Distribution, LogNormal, StandardNormal};

use super::people::{self, IdNumbers, IdsExhausted};
use crate::domain::{
    Category, Crs, GpsPoint, HouseGrade, Household, Member, Relation, RiskState, RiskType,
    SCHOOL_AGE_MAX, SCHOOL_AGE_MIN, Schooling, Sex,
};
use crate::spatial::{LonLat, crs};
use crate::store::FlawRow;

/// The day the demo's facts hold (the seed 000 campaign ran in July 2019).
pub const DATA_DATE: (i32, u32, u32) = (2019, 7, 1);

/// Metres per degree of latitude (mean), for small local offsets.
const M_PER_DEG_LAT: f64 = 110_574.0;
/// Metres per degree of longitude at the equator.
const M_PER_DEG_LON_EQ: f64 = 111_320.0;

/// A county-wide centre of hardship.
#[derive(Debug, Clone, Copy)]
pub struct HotSpot {
    /// Centre, WGS-84.
    pub centre: LonLat,
    /// Gaussian radius, metres.
    pub sigma_m: f64,
    /// Added hardship at the centre.
    pub strength: f64,
}

/// How a township's app recorded positions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TownshipGps {
    /// Declared WGS-84, recorded WGS-84.
    Wgs84,
    /// Declared GCJ-02 and recorded GCJ-02: correct, converted on use.
    DeclaredGcj02,
    /// Declared WGS-84 but recorded GCJ-02: a systematic offset to be found.
    UndeclaredGcj02,
}

/// What the generator needs to know about a village.
#[derive(Debug)]
pub struct VillageSpec<'a> {
    /// 12-digit code.
    pub code: &'a str,
    /// Boundary, WGS-84.
    pub geometry: &'a MultiPolygon<f64>,
    /// One of the 53 poverty villages.
    pub poverty_village: bool,
    /// An urban community rather than a village.
    pub community: bool,
    /// How the township's app recorded positions.
    pub gps: TownshipGps,
    /// Other villages of the same township, where misplaced points land.
    pub neighbours: &'a [(&'a str, &'a MultiPolygon<f64>)],
}

/// A settlement (屯, 自然村) with its own share of hardship.
struct Settlement {
    centre: LonLat,
    hardship: f64,
}

/// Generates `n` households of one village, with any flaws put into them. The fields
/// no indicator reads ([`super::details`]) draw from `details`, a stream of their own,
/// so that `rng` draws what it always drew.
///
/// # Errors
/// [`IdsExhausted`] if the synthetic ID numbers run out (beyond any size allowed).
pub fn generate_village(
    rng: &mut impl Rng,
    details: &mut impl Rng,
    spec: &VillageSpec<'_>,
    n: u64,
    hot_spots: &[HotSpot],
    ids: &mut IdNumbers,
) -> Result<Vec<(Household, Vec<FlawRow>)>, IdsExhausted> {
    let settlements = settlements(rng, spec.geometry, n);
    let village_hardship =
        if spec.poverty_village { 0.35 } else { 0.0 } + if spec.community { -0.1 } else { 0.0 };
    // Villages differ in how carefully positions were taken.
    let missing_rate = rng.random_range(0.0..0.06);
    let mut out: Vec<(Household, Vec<FlawRow>)> = Vec::with_capacity(n as usize);
    for seq in 1..=n {
        let household_no = format!("{}{seq:06}", spec.code);
        let s = settlements
            .choose_weighted(rng, |s| 1.0 + s.hardship.abs())
            .unwrap_or(&settlements[0]);
        let home = house_position(rng, spec.geometry, s);
        let hardship = (village_hardship
            + s.hardship
            + hot_spot_hardship(home, hot_spots)
            + normal(rng, 0.0, 0.1))
        .clamp(0.0, 1.5);
        let mut h = household(rng, spec.code, household_no, hardship, ids)?;
        super::details::fill(details, &mut h, hardship);
        let mut flaws = Vec::new();
        let previous = out
            .iter()
            .rev()
            .find_map(|(p, _)| p.gps.map(|g| (p.household_no.clone(), g)));
        h.gps = gps(
            rng,
            spec,
            home,
            missing_rate,
            previous,
            &h.household_no,
            &mut flaws,
        );
        out.push((h, flaws));
    }
    Ok(out)
}

/// A normal draw; `StandardNormal` needs no fallible constructor.
fn normal(rng: &mut impl Rng, mean: f64, sd: f64) -> f64 {
    let z: f64 = rng.sample(StandardNormal);
    mean + sd * z
}

/// Places 2 to 6 settlements along a valley line through the village.
fn settlements(rng: &mut impl Rng, geometry: &MultiPolygon<f64>, n: u64) -> Vec<Settlement> {
    let anchor = geometry
        .interior_point()
        .map_or(LonLat::new(0.0, 0.0), |p| LonLat::new(p.x(), p.y()));
    let angle = rng.random_range(0.0..std::f64::consts::PI);
    let count = (2 + n / 150).min(6) as usize;
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        let mut centre = anchor;
        for _ in 0..30 {
            let along = rng.random_range(-3000.0..3000.0);
            let across = rng.random_range(-300.0..300.0);
            let candidate = offset(
                anchor,
                along * angle.cos() - across * angle.sin(),
                along * angle.sin() + across * angle.cos(),
            );
            if inside_with_margin(geometry, candidate) {
                centre = candidate;
                break;
            }
        }
        out.push(Settlement {
            centre,
            hardship: rng.random_range(-0.15..0.25),
        });
    }
    out
}

/// A house near a settlement, inside the village; houses string out along roads.
///
/// Houses keep [`BORDER_MARGIN_DEG`] from the village border, so that rounding to 7
/// decimals or a GCJ-02 round trip can never carry a correct position across it: a
/// clean household must be found in its own village by every later check.
fn house_position(rng: &mut impl Rng, geometry: &MultiPolygon<f64>, s: &Settlement) -> LonLat {
    // Near a border most draws fall outside: shrink the spread until one fits, so
    // that no two households share a position unless a flaw says so.
    let mut spread = 1.0;
    for _ in 0..40 {
        let (east, north) = (
            normal(rng, 0.0, 250.0 * spread),
            normal(rng, 0.0, 150.0 * spread),
        );
        let p = offset(s.centre, east, north);
        if inside_with_margin(geometry, p) {
            return p;
        }
        spread *= 0.85;
    }
    // A few centimetres from the centre: distinct, and the centre keeps its margin.
    offset(s.centre, normal(rng, 0.0, 0.05), normal(rng, 0.0, 0.05))
}

/// About 2 metres, in degrees.
const BORDER_MARGIN_DEG: f64 = 2e-5;

fn inside_with_margin(geometry: &MultiPolygon<f64>, p: LonLat) -> bool {
    let point = Point::new(p.lon, p.lat);
    geometry.contains(&point)
        && geometry.0.iter().all(|polygon| {
            std::iter::once(polygon.exterior())
                .chain(polygon.interiors())
                .all(|ring| Euclidean.distance(&point, ring) >= BORDER_MARGIN_DEG)
        })
}

fn hot_spot_hardship(p: LonLat, hot_spots: &[HotSpot]) -> f64 {
    hot_spots
        .iter()
        .map(|h| {
            let (dx, dy) = metres_between(h.centre, p);
            h.strength * (-(dx * dx + dy * dy) / (2.0 * h.sigma_m * h.sigma_m)).exp()
        })
        .sum()
}

/// How much more likely a problem is in a household of this category than in an
/// ordinary one of the same hardship: the campaign's problems sit with the households
/// it already watches, as they did in the counties that exited poverty.
fn category_factor(category: Category) -> f64 {
    match category {
        Category::Ordinary => 0.5,
        Category::StableNoPolicy => 1.0,
        Category::Lifted => 2.5,
        _ => 8.0,
    }
}

fn household(
    rng: &mut impl Rng,
    village_code: &str,
    household_no: String,
    hardship: f64,
    ids: &mut IdNumbers,
) -> Result<Household, IdsExhausted> {
    let category = category(rng, hardship);
    // Risk: hardship (poverty villages, hot spots, hamlets) times the category's factor.
    let risk = (1.0 + 3.0 * hardship) * category_factor(category);
    let chance = |base: f64| (base * risk).min(1.0);
    let (risk_type, risk_state) = if category.is_monitored() {
        let risks = [
            (RiskType::Illness, 35),
            (RiskType::Disability, 20),
            (RiskType::LackOfLabour, 15),
            (RiskType::Schooling, 10),
            (RiskType::Accident, 8),
            (RiskType::Disaster, 7),
            (RiskType::Other, 5),
        ];
        let risk = risks
            .choose_weighted(rng, |r| r.1)
            .map_or(RiskType::Other, |r| r.0);
        let state = if rng.random_bool(0.35) {
            RiskState::Unresolved
        } else {
            RiskState::Resolved
        };
        (Some(risk), Some(state))
    } else {
        (None, None)
    };
    let members = members(rng, risk, ids)?;
    let (median, sigma) = match category {
        Category::Ordinary => (11_000.0, 0.35),
        Category::StableNoPolicy => (8_500.0, 0.3),
        Category::Lifted => (7_500.0, 0.3),
        _ => (5_500.0, 0.3),
    };
    let income = LogNormal::new(f64::ln(median * (1.0 - 0.25 * hardship.min(1.0))), sigma)
        .map_or(median, |d| d.sample(rng));
    let house_grade = {
        // Appraisal missed: a gap of the work, more often with households nobody tracks.
        let unappraised = if category == Category::Ordinary {
            0.01
        } else {
            0.003
        };
        let u: f64 = rng.random();
        let (c, d) = (chance(0.003_5), chance(0.001_5));
        if u < d {
            HouseGrade::D
        } else if u < d + c {
            HouseGrade::C
        } else if u < d + c + unappraised {
            HouseGrade::Unappraised
        } else if rng.random_bool(0.62) {
            HouseGrade::A
        } else {
            HouseGrade::B
        }
    };
    let house_occupied = rng.random_bool(match house_grade {
        HouseGrade::D => 0.5,
        HouseGrade::C => 0.8,
        _ => 0.97,
    });
    let food_secure = !rng.random_bool(chance(0.000_4));
    let clothing_secure = if food_secure {
        !rng.random_bool(chance(0.000_3))
    } else {
        rng.random_bool(0.5)
    };
    Ok(Household {
        household_no,
        village_code: village_code.to_owned(),
        category,
        risk_type,
        risk_state,
        other_risks: Vec::new(),
        risk_elimination: None,
        identified_month: None,
        eliminated_month: None,
        income_per_capita: (income * 100.0).round() / 100.0,
        house_grade,
        house_occupied,
        water_safe: !rng.random_bool(chance(0.002)),
        // Piped water is the village's network more than the household's means.
        water_piped: !rng.random_bool((0.01 * (1.0 + 3.0 * hardship)).min(1.0)),
        food_secure,
        clothing_secure,
        sanitary_toilet: None,
        relief: None,
        aid_measures: Vec::new(),
        gps: None,
        members,
    })
}

fn category(rng: &mut impl Rng, hardship: f64) -> Category {
    let lifted = 0.08 * (1.0 + 1.5 * hardship);
    let monitored = 0.012 * (1.0 + 2.0 * hardship);
    let stable = 0.03;
    let u: f64 = rng.random();
    if u < lifted {
        Category::Lifted
    } else if u < lifted + monitored {
        *[
            Category::MonitoredUnstable,
            Category::MonitoredMarginal,
            Category::MonitoredSudden,
        ]
        .choose(rng)
        .unwrap_or(&Category::MonitoredUnstable)
    } else if u < lifted + monitored + stable {
        Category::StableNoPolicy
    } else {
        Category::Ordinary
    }
}

/// Household sizes 1 to 6, rural north-east China (many elderly couples).
const SIZE_WEIGHTS: [(usize, u32); 6] = [(1, 15), (2, 35), (3, 25), (4, 15), (5, 7), (6, 3)];

fn members(rng: &mut impl Rng, m: f64, ids: &mut IdNumbers) -> Result<Vec<Member>, IdsExhausted> {
    let size = SIZE_WEIGHTS
        .choose_weighted(rng, |w| w.1)
        .map_or(2, |w| w.0);
    let head_age: u8 = rng.random_range(28..=86);
    let head_sex = if rng.random_bool(0.85) {
        Sex::Male
    } else {
        Sex::Female
    };
    let surname = people::surname(rng);
    let whole_household_uninsured = rng.random_bool((0.001_5 * m).min(1.0));
    let mut out = Vec::with_capacity(size);
    for seq in 1..=size {
        let (relation, sex, age) = match seq {
            1 => (Relation::Head, head_sex, head_age),
            2 => (
                Relation::Spouse,
                if head_sex == Sex::Male {
                    Sex::Female
                } else {
                    Sex::Male
                },
                head_age
                    .saturating_add_signed(rng.random_range(-5..=4))
                    .clamp(20, 95),
            ),
            _ => {
                let sex = if rng.random_bool(0.5) {
                    Sex::Male
                } else {
                    Sex::Female
                };
                if head_age >= 55 && rng.random_bool(0.5) {
                    // Left-behind grandchildren (留守儿童) live with their grandparents.
                    (Relation::Grandchild, sex, rng.random_range(0..=16))
                } else if head_age < 50 && seq == size && rng.random_bool(0.4) {
                    (Relation::Parent, sex, head_age + rng.random_range(22..=32))
                } else {
                    let age = head_age.saturating_sub(rng.random_range(22..=36));
                    (Relation::Child, sex, age)
                }
            }
        };
        let disability_grade = if age >= 16 && rng.random_bool(0.04) {
            Some(rng.random_range(1..=4))
        } else if rng.random_bool(0.01) {
            Some(rng.random_range(1..=2))
        } else {
            None
        };
        let schooling = (SCHOOL_AGE_MIN..=SCHOOL_AGE_MAX).contains(&age).then(|| {
            if disability_grade.is_some_and(|g| g <= 2) {
                Schooling::TaughtAtHome
            } else if rng.random_bool((0.001 * m).min(1.0)) {
                Schooling::OutOfSchool
            } else {
                Schooling::InSchool
            }
        });
        let person_surname = if relation == Relation::Spouse || relation == Relation::Parent {
            people::surname(rng)
        } else {
            surname
        };
        let name = people::full_name(rng, person_surname, sex);
        let id_number = ids.issue(birth_date(rng, age), sex)?;
        out.push(Member {
            seq: seq as u8,
            name,
            id_number,
            sex,
            age,
            relation,
            schooling,
            medical_insured: !whole_household_uninsured && !rng.random_bool((0.001 * m).min(1.0)),
            disability_grade,
            disability_kind: None,
            education: None,
            health: None,
            labour_skill: None,
            work_months: None,
            serious_illness_insured: None,
            subsistence: None,
            extreme_poverty: None,
        });
    }
    Ok(out)
}

const MONTH_DAYS: [u32; 12] = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/// A birth date (YYYYMMDD) consistent with `age` at [`DATA_DATE`].
fn birth_date(rng: &mut impl Rng, age: u8) -> u32 {
    let mut day_of_year = rng.random_range(0..365);
    let mut month = 0;
    while day_of_year >= MONTH_DAYS[month] {
        day_of_year -= MONTH_DAYS[month];
        month += 1;
    }
    let (month, day) = (month as u32 + 1, day_of_year + 1);
    let (y, m0, d0) = DATA_DATE;
    let had_birthday = (month, day) <= (m0, d0);
    let year = y - i32::from(age) - i32::from(!had_birthday);
    year as u32 * 10_000 + month * 100 + day
}

/// The recorded position of a household, with any flaw put into it.
fn gps(
    rng: &mut impl Rng,
    spec: &VillageSpec<'_>,
    home: LonLat,
    missing_rate: f64,
    previous: Option<(String, GpsPoint)>,
    household_no: &str,
    flaws: &mut Vec<FlawRow>,
) -> Option<GpsPoint> {
    let mut flaw = |kind: &'static str, related: Option<String>| {
        flaws.push(FlawRow {
            household_no: household_no.to_owned(),
            flaw: kind,
            related,
        });
    };
    let u: f64 = rng.random();
    let mut recorded = home;
    if u < missing_rate {
        flaw("gps_missing", None);
        return None;
    }
    let u = u - missing_rate;
    let mut skip_offset = false;
    let mut decimals = 7;
    if u < 0.004 && !spec.neighbours.is_empty() {
        // Recorded in another village of the township (taken at a relative's house).
        if let Some((code, geometry)) = spec.neighbours.choose(rng) {
            let s = Settlement {
                centre: geometry
                    .interior_point()
                    .map_or(home, |p| LonLat::new(p.x(), p.y())),
                hardship: 0.0,
            };
            recorded = house_position(rng, geometry, &s);
            flaw("gps_wrong_village", Some((*code).to_owned()));
        }
    } else if u < 0.007 {
        if let Some((other, g)) = previous {
            // Copied from the household before: same coordinates, same declared system.
            flaw("gps_duplicate", Some(other));
            if spec.gps == TownshipGps::UndeclaredGcj02 {
                flaw("gps_undeclared_gcj02", None);
            }
            return Some(g);
        }
    } else if u < 0.0075 {
        recorded = LonLat::new(home.lat, home.lon);
        flaw("gps_swapped", None);
        skip_offset = true;
    } else if u < 0.0095 {
        // Rounded by the app as it stored the value, in whatever system it used.
        decimals = 2;
        flaw("gps_coarse", None);
    } else if u < 0.010 {
        // Taken where a migrant member works, in Fushun city.
        recorded = LonLat::new(
            rng.random_range(123.85..124.0),
            rng.random_range(41.82..41.9),
        );
        flaw("gps_outside_county", None);
        skip_offset = true;
    }
    let (point, declared) = match spec.gps {
        TownshipGps::DeclaredGcj02 => (crs::wgs84_to_gcj02(recorded), Crs::Gcj02),
        TownshipGps::UndeclaredGcj02 if !skip_offset => {
            flaw("gps_undeclared_gcj02", None);
            (crs::wgs84_to_gcj02(recorded), Crs::Wgs84)
        }
        // Swapped or far-away points were not taken by the township's app.
        TownshipGps::Wgs84 | TownshipGps::UndeclaredGcj02 => (recorded, Crs::Wgs84),
    };
    // Phones report about 7 decimals (1 cm); more would be noise.
    let scale = 10_f64.powi(decimals);
    Some(GpsPoint {
        lon: (point.lon * scale).round() / scale,
        lat: (point.lat * scale).round() / scale,
        crs: declared,
    })
}

#[cfg(test)]
fn contains(geometry: &MultiPolygon<f64>, p: LonLat) -> bool {
    geometry.contains(&Point::new(p.lon, p.lat))
}

/// Moves a point by metres east and north.
///
/// # Units
/// Degrees in and out, metres for the offsets.
fn offset(p: LonLat, east_m: f64, north_m: f64) -> LonLat {
    LonLat::new(
        p.lon + east_m / (M_PER_DEG_LON_EQ * p.lat.to_radians().cos()),
        p.lat + north_m / M_PER_DEG_LAT,
    )
}

/// East and north metres from `a` to `b` (equirectangular; fine within a county).
///
/// # Units
/// Degrees in, metres out.
fn metres_between(a: LonLat, b: LonLat) -> (f64, f64) {
    (
        (b.lon - a.lon) * M_PER_DEG_LON_EQ * a.lat.to_radians().cos(),
        (b.lat - a.lat) * M_PER_DEG_LAT,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{Rect, coord};
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn square() -> MultiPolygon<f64> {
        let r = Rect::new(coord! { x: 125.0, y: 41.7 }, coord! { x: 125.05, y: 41.74 });
        MultiPolygon::new(vec![r.to_polygon()])
    }

    fn spec(g: &MultiPolygon<f64>, gps: TownshipGps) -> VillageSpec<'_> {
        VillageSpec {
            code: "210422100201",
            geometry: g,
            poverty_village: false,
            community: false,
            gps,
            neighbours: &[],
        }
    }

    #[test]
    fn zero_households_is_an_empty_village() {
        let g = square();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let out = generate_village(
            &mut rng,
            &mut ChaCha8Rng::seed_from_u64(2),
            &spec(&g, TownshipGps::Wgs84),
            0,
            &[],
            &mut IdNumbers::default(),
        )
        .unwrap();
        assert!(out.is_empty());
    }

    #[test]
    fn clean_positions_lie_inside_the_village_and_flaws_are_recorded() {
        let g = square();
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let out = generate_village(
            &mut rng,
            &mut ChaCha8Rng::seed_from_u64(2),
            &spec(&g, TownshipGps::Wgs84),
            3000,
            &[],
            &mut IdNumbers::default(),
        )
        .unwrap();
        assert_eq!(out.len(), 3000);
        for (h, flaws) in &out {
            if flaws.is_empty() {
                let p = h.gps.expect("a clean household has a position");
                assert!(
                    contains(&g, LonLat::new(p.lon, p.lat)),
                    "{}",
                    h.household_no
                );
            }
            if flaws.iter().any(|f| f.flaw == "gps_missing") {
                assert!(h.gps.is_none());
            }
            assert_eq!(h.members[0].relation, Relation::Head);
            for m in &h.members {
                assert_eq!(
                    m.schooling.is_some(),
                    (SCHOOL_AGE_MIN..=SCHOOL_AGE_MAX).contains(&m.age)
                );
            }
        }
        let duplicates = out
            .iter()
            .filter(|(_, f)| f.iter().any(|f| f.flaw == "gps_duplicate"))
            .count();
        assert!(duplicates > 0, "3,000 households give some duplicates");
    }

    #[test]
    fn an_undeclared_gcj02_township_shifts_points_but_says_wgs84() {
        let g = square();
        let run = |gps| {
            let mut rng = ChaCha8Rng::seed_from_u64(3);
            let mut details = ChaCha8Rng::seed_from_u64(4);
            generate_village(
                &mut rng,
                &mut details,
                &spec(&g, gps),
                50,
                &[],
                &mut IdNumbers::default(),
            )
            .unwrap()
        };
        let clean = run(TownshipGps::Wgs84);
        let shifted = run(TownshipGps::UndeclaredGcj02);
        let declared = run(TownshipGps::DeclaredGcj02);
        let (a, b, c) = (
            clean[0].0.gps.unwrap(),
            shifted[0].0.gps.unwrap(),
            declared[0].0.gps.unwrap(),
        );
        assert_eq!(b.crs, Crs::Wgs84);
        assert_eq!(c.crs, Crs::Gcj02);
        assert!((b.lon - a.lon).abs() > 0.003, "GCJ-02 moves the point east");
        assert_eq!((b.lon, b.lat), (c.lon, c.lat));
        assert!(
            shifted[0]
                .1
                .iter()
                .any(|f| f.flaw == "gps_undeclared_gcj02")
        );
    }

    #[test]
    fn birth_dates_agree_with_ages_at_the_data_date() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        for age in [0_u8, 6, 15, 60] {
            for _ in 0..50 {
                let d = birth_date(&mut rng, age);
                let (y, md) = (d / 10_000, d % 10_000);
                let expected = if md <= 701 {
                    2019 - u32::from(age)
                } else {
                    2018 - u32::from(age)
                };
                assert_eq!(y, expected, "{d}");
            }
        }
    }
}
