//! Writing a whole new database: areas, households in Hilbert order, members.
//!
//! The builder writes into `<name>.building-<pid>` beside the target, and
//! [`DatabaseBuilder::finish`] renames it into place only after the last row is in
//! and a checkpoint has flushed it. Dropping an unfinished builder deletes the
//! temporary file, so an error or a panic anywhere in a load leaves the old database
//! (or no database) exactly as it was.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use duckdb::{Appender, Connection, params};
use geo::{BoundingRect, InteriorPoint, MultiPolygon};

use super::{QueryContext, StoreError, migrate};
use crate::domain::{
    Area, BoundarySource, DisabilityKind, Education, Health, Household, LabourSkill, PovertyLine,
    Relief, RiskElimination, RiskState, RiskType, Schooling,
};
use crate::spatial::{self, LonLat};

/// An area to store, with its boundary.
#[derive(Debug, Clone)]
pub struct AreaRow {
    /// Code, name, level and parent.
    pub area: Area,
    /// One of the county's poverty villages (贫困村).
    pub poverty_village: bool,
    /// The boundary, WGS-84 lon/lat degrees.
    pub geometry: MultiPolygon<f64>,
}

/// A deliberate flaw the demo generator put into a household, so that tests can check
/// that later steps find it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlawRow {
    /// The household it concerns.
    pub household_no: String,
    /// What kind of flaw (e.g. `gps_missing`).
    pub flaw: &'static str,
    /// The other party of the flaw, if any: the village a misplaced point lies in,
    /// or the household whose coordinates were copied.
    pub related: Option<String>,
}

/// Writes a new database file and swaps it into place atomically. See the module docs.
pub struct DatabaseBuilder {
    target: PathBuf,
    temp: PathBuf,
    conn: Option<Connection>,
    /// Village code → (township code, label point), for households without a position.
    villages: HashMap<String, (String, LonLat)>,
}

impl DatabaseBuilder {
    /// Starts a new database that will replace `target` when finished.
    ///
    /// # Errors
    /// [`StoreError::Io`] if the folder is missing or a stale temporary file cannot be
    /// removed; [`StoreError::Open`] if DuckDB cannot create the file.
    pub fn create(target: &Path) -> Result<Self, StoreError> {
        let name = target
            .file_name()
            .ok_or_else(|| StoreError::Invalid(format!("{} is not a file path", target.display())))?
            .to_string_lossy();
        if let Some(locked) = super::in_use(target) {
            return Err(locked);
        }
        let temp = target.with_file_name(format!("{name}.building-{}", std::process::id()));
        remove_stale_builds(target, &name);
        remove_if_present(&temp)?;
        remove_if_present(&wal_path(&temp))?;
        if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
                action: "cannot create folder",
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let mut conn = super::offline_config()
            .and_then(|config| Connection::open_with_flags(&temp, config))
            .map_err(|source| StoreError::Open {
                path: temp.clone(),
                source: Box::new(source),
            })?;
        let mut builder = Self {
            target: target.to_path_buf(),
            temp,
            conn: None,
            villages: HashMap::new(),
        };
        migrate(&mut conn)?;
        conn.execute_batch("CREATE TABLE households_stage AS SELECT * FROM households LIMIT 0")
            .context("create staging table")?;
        builder.conn = Some(conn);
        Ok(builder)
    }

    fn conn(&self) -> Result<&Connection, StoreError> {
        self.conn
            .as_ref()
            .ok_or_else(|| StoreError::Invalid("the database builder is already finished".into()))
    }

    /// Stores the areas. Call once, before any household.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] for an empty geometry or a duplicate code;
    /// [`StoreError::Query`] if DuckDB refuses a row.
    pub fn write_areas(&mut self, rows: &[AreaRow]) -> Result<(), StoreError> {
        let mut villages = HashMap::new();
        {
            let conn = self.conn()?;
            let mut app = conn.appender("areas").context("open areas appender")?;
            for row in rows {
                let a = &row.area;
                let bbox = row.geometry.bounding_rect().ok_or_else(|| {
                    StoreError::Invalid(format!("area {} has an empty geometry", a.code))
                })?;
                let label = row
                    .geometry
                    .interior_point()
                    .unwrap_or_else(|| bbox.center().into());
                let area_km2 = spatial::area_km2(&row.geometry);
                let wkb = spatial::to_wkb(&row.geometry);
                app.append_row(params![
                    a.code,
                    a.name,
                    a.level.code(),
                    a.parent_code,
                    row.poverty_village,
                    wkb,
                    bbox.min().x,
                    bbox.min().y,
                    bbox.max().x,
                    bbox.max().y,
                    area_km2,
                    label.x(),
                    label.y(),
                    BoundarySource::File.code(),
                ])
                .context("append area")?;
                if a.level.is_village_like() {
                    let township = a.parent_code.clone().unwrap_or_default();
                    villages.insert(
                        a.code.clone(),
                        (township, LonLat::new(label.x(), label.y())),
                    );
                }
            }
            app.flush().context("flush areas")?;
        }
        self.villages = villages;
        Ok(())
    }

    /// Stores the poverty lines in force.
    ///
    /// # Errors
    /// [`StoreError::Query`] if DuckDB refuses a row (e.g. a duplicate year and region).
    pub fn write_poverty_lines(&mut self, lines: &[PovertyLine]) -> Result<(), StoreError> {
        let conn = self.conn()?;
        let mut app = conn
            .appender("poverty_lines")
            .context("open poverty line appender")?;
        for l in lines {
            app.append_row(params![
                l.year,
                l.region_code,
                l.region_name,
                l.yuan_per_capita,
                l.kind,
                l.source
            ])
            .context("append poverty line")?;
        }
        app.flush().context("flush poverty lines")
    }

    /// Stores assistance measures (the demo's, per household and year).
    ///
    /// # Errors
    /// [`StoreError::Query`] if DuckDB refuses a row.
    pub fn write_measures(
        &mut self,
        rows: &[super::measures::MeasureRow],
    ) -> Result<(), StoreError> {
        super::measures::append(self.conn()?, "household_measures", rows, None)
    }

    /// A sink that appends households, their members and recorded flaws.
    ///
    /// # Errors
    /// [`StoreError::Query`] if the appenders cannot be opened.
    pub fn households(&mut self) -> Result<HouseholdSink<'_>, StoreError> {
        let conn = self.conn.as_ref().ok_or_else(|| {
            StoreError::Invalid("the database builder is already finished".into())
        })?;
        let mut sink = HouseholdSink::open(conn, "households_stage", "members", &self.villages)?;
        sink.flaws = Some(conn.appender("demo_flaws").context("open flaw appender")?);
        Ok(sink)
    }

    /// Stores a checklist template of the place (a copy of a document's list).
    ///
    /// # Errors
    /// [`StoreError`] if DuckDB refuses it or its id is taken.
    pub fn write_template(
        &mut self,
        template: &crate::domain::ledger::Template,
    ) -> Result<(), StoreError> {
        super::ledger::save_template(self.conn()?, template)
    }

    /// Stores an account (the demo's, one per role).
    ///
    /// # Errors
    /// [`StoreError`] for a taken name or a refused row.
    pub fn write_account(&mut self, account: &super::accounts::Account) -> Result<(), StoreError> {
        super::accounts::add(self.conn()?, account)
    }

    /// Stores a checklist campaign and its ledger entries.
    ///
    /// # Errors
    /// [`StoreError`] if DuckDB refuses a row.
    pub fn write_campaign(
        &mut self,
        campaign: &crate::domain::ledger::Campaign,
        entries: &[crate::domain::ledger::Entry],
    ) -> Result<(), StoreError> {
        super::ledger::create_campaign(self.conn()?, campaign, entries)
    }

    /// Up to `per_township` households of each of `townships` written so far, with a
    /// position, by household number: what the demo's visit plans are drawn from.
    /// Each: number, village, township, head's name, WGS-84 lon and lat, house grade,
    /// whether the water is safe.
    ///
    /// # Errors
    /// [`StoreError::Query`] if the query fails.
    pub fn households_for_visits(
        &self,
        townships: &[String],
        per_township: usize,
    ) -> Result<Vec<super::visits::DemoHousehold>, StoreError> {
        super::visits::demo_households(self.conn()?, townships, per_township)
    }

    /// Stores a plan as made (its id kept) and its visits; their ledger changes are
    /// written apart ([`Self::write_ledger_updates`]).
    ///
    /// # Errors
    /// [`StoreError::Query`] if DuckDB refuses a row.
    pub fn write_plan_and_visits(
        &mut self,
        plan: &crate::domain::plan::Plan,
        visits: &[crate::domain::visit::Visit],
    ) -> Result<(), StoreError> {
        let conn = self.conn()?;
        super::plans::save_as_is(conn, plan)?;
        for v in visits {
            super::visits::insert(conn, v, &[])?;
        }
        Ok(())
    }

    /// Applies ledger updates `(base version, entry as it becomes)` in order, with
    /// their history, all or nothing.
    ///
    /// # Errors
    /// [`StoreError::Query`] if DuckDB refuses a row; [`StoreError::Invalid`] if an
    /// update's base version is not the stored one (the demo's updates are made in order,
    /// so that is a bug).
    pub fn write_ledger_updates(
        &mut self,
        updates: &[(i64, crate::domain::ledger::Entry)],
    ) -> Result<(), StoreError> {
        if updates.is_empty() {
            return Ok(());
        }
        match super::ledger::update_all(self.conn()?, updates)? {
            super::ledger::Updated::Done(_) => Ok(()),
            other => Err(StoreError::Invalid(format!(
                "a demo ledger update did not apply: {other:?}"
            ))),
        }
    }

    /// The registry as the department rolls of the demo are drawn from: every member
    /// of the households written so far, by household and member order.
    ///
    /// # Errors
    /// [`StoreError::Query`] if the query fails.
    pub fn registry(&self) -> Result<Vec<super::rolls::RegistryPerson>, StoreError> {
        super::rolls::registry_persons(self.conn()?, true)
    }

    /// Every village: code, name, township name, poverty village (for the demo's
    /// village information form and screening).
    ///
    /// # Errors
    /// [`StoreError::Query`] if the query fails.
    pub fn villages(&self) -> Result<Vec<super::exits::VillageRow>, StoreError> {
        super::exits::villages(self.conn()?)
    }

    /// Stores the demo's village information form and the failures it planted.
    ///
    /// # Errors
    /// [`StoreError`] if DuckDB refuses a row.
    pub fn write_village_form(
        &mut self,
        rows: &[super::exits::FormRow],
        planted: &[(String, String)],
    ) -> Result<(), StoreError> {
        super::exits::append_form(self.conn()?, rows)?;
        super::exits::record_planted(self.conn()?, planted)
    }

    /// Records the persons the demo put on its rolls outside the registry.
    ///
    /// # Errors
    /// [`StoreError`] if DuckDB refuses a row.
    pub fn write_inclusion_plants(
        &mut self,
        plants: &[(String, bool, Option<String>)],
    ) -> Result<(), StoreError> {
        super::exits::record_inclusion_plants(self.conn()?, plants)
    }

    /// Stores a department's roll (the demo's: no import, no history).
    ///
    /// # Errors
    /// [`StoreError::Query`] if DuckDB refuses a row.
    pub fn write_roll(
        &mut self,
        roll: super::rolls::RollOf<'_>,
        rows: &[super::rolls::NewRollRow],
    ) -> Result<(), StoreError> {
        super::rolls::append_rows(self.conn()?, roll, rows)
    }

    /// Records the mismatches the demo planted in its rolls: (rule, key).
    ///
    /// # Errors
    /// [`StoreError::Query`] if DuckDB refuses a row.
    pub fn write_planted(&mut self, planted: &[(String, String)]) -> Result<(), StoreError> {
        super::rolls::record_planted(self.conn()?, planted)
    }

    /// Sorts the households into Hilbert order, records `meta`, checkpoints and
    /// renames the file into place. Returns the number of households stored.
    ///
    /// # Errors
    /// [`StoreError::Query`] or [`StoreError::Io`]; the target is untouched then.
    pub fn finish(mut self, meta: &[(&str, String)]) -> Result<u64, StoreError> {
        let conn = self.conn.take().ok_or_else(|| {
            StoreError::Invalid("the database builder is already finished".into())
        })?;
        conn.execute_batch(
            "INSERT INTO households SELECT * FROM households_stage ORDER BY hilbert, household_no;
             DROP TABLE households_stage;",
        )
        .context("sort households into Hilbert order")?;
        let n: i64 = conn
            .query_row("SELECT count(*) FROM households", [], |r| r.get(0))
            .context("count households")?;
        {
            let mut app = conn.appender("meta").context("open meta appender")?;
            for (k, v) in meta {
                app.append_row(params![k, v]).context("append meta")?;
            }
            app.flush().context("flush meta")?;
        }
        conn.execute_batch("CHECKPOINT").context("checkpoint")?;
        conn.close().map_err(|(_, e)| StoreError::Query {
            context: "close the new database",
            source: Box::new(e),
        })?;
        // A WAL left by the old database would be replayed onto the new file.
        remove_if_present(&wal_path(&self.target))?;
        std::fs::rename(&self.temp, &self.target).map_err(|source| StoreError::Io {
            action: "cannot move the new database into place at",
            path: self.target.clone(),
            source,
        })?;
        Ok(n as u64)
    }
}

/// Removes `<name>.building-<pid>` files (and their WAL) left beside `target` by
/// builds whose process is gone: a build killed mid-way (kill -9, a power cut) cannot
/// clean up after itself. Failures are ignored: the files are only litter.
fn remove_stale_builds(target: &Path, name: &str) {
    let dir = target
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or_else(|| Path::new("."));
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let prefix = format!("{name}.building-");
    for entry in entries.flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = file
            .strip_prefix(&prefix)
            .map(|rest| rest.trim_end_matches(".wal"))
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        // A process's /proc entry exists exactly while it lives (Linux).
        if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

impl Drop for DatabaseBuilder {
    fn drop(&mut self) {
        // Finished builders have renamed the file away; unfinished ones must not leave
        // a half-written database behind. Errors here have nowhere to go.
        drop(self.conn.take());
        let _ = std::fs::remove_file(&self.temp);
        let _ = std::fs::remove_file(wal_path(&self.temp));
    }
}

/// Appends households, members and flaws; see [`DatabaseBuilder::households`].
pub struct HouseholdSink<'a> {
    households: Appender<'a>,
    members: Appender<'a>,
    flaws: Option<Appender<'a>>,
    villages: &'a HashMap<String, (String, LonLat)>,
    count: u64,
}

impl<'a> HouseholdSink<'a> {
    /// Appends to `households` and `members` (tables of the households' and members'
    /// columns); `villages` gives each village's township and the point that orders
    /// households without a position.
    pub(crate) fn open(
        conn: &'a Connection,
        households: &str,
        members: &str,
        villages: &'a HashMap<String, (String, LonLat)>,
    ) -> Result<Self, StoreError> {
        Ok(Self {
            households: conn
                .appender(households)
                .context("open household appender")?,
            members: conn.appender(members).context("open member appender")?,
            flaws: None,
            villages,
            count: 0,
        })
    }

    /// Appends one household and its members.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] for an unknown village or a household without members;
    /// [`StoreError::Query`] if DuckDB refuses a row.
    pub fn push(&mut self, h: &Household) -> Result<(), StoreError> {
        let (township, label) = self.villages.get(&h.village_code).ok_or_else(|| {
            StoreError::Invalid(format!(
                "household {}: unknown village code {}",
                h.household_no, h.village_code
            ))
        })?;
        if h.members.is_empty() {
            return Err(StoreError::Invalid(format!(
                "household {} has no members",
                h.household_no
            )));
        }
        let wgs84 = h.gps.map(|g| {
            spatial::crs::convert(LonLat::new(g.lon, g.lat), g.crs, crate::domain::Crs::Wgs84)
        });
        let key_point = wgs84.unwrap_or(*label);
        self.households
            .append_row(params![
                h.household_no,
                h.village_code,
                township,
                h.head_name(),
                h.category.code(),
                h.risk_type.map(RiskType::code),
                h.risk_state.map(RiskState::code),
                h.income_per_capita,
                h.house_grade.code(),
                h.house_occupied,
                h.water_safe,
                h.water_piped,
                h.food_secure,
                h.clothing_secure,
                h.members.len() as i32,
                h.gps.map(|g| g.lon),
                h.gps.map(|g| g.lat),
                h.gps.map(|g| g.crs.code()),
                wgs84.map(|p| crate::spatial::round7(p.lon)),
                wgs84.map(|p| crate::spatial::round7(p.lat)),
                spatial::hilbert_key(key_point),
                codes(h.other_risks.iter().map(|r| r.code())),
                h.risk_elimination.map(RiskElimination::code),
                h.identified_month.map(|m| m.to_string()),
                h.eliminated_month.map(|m| m.to_string()),
                h.sanitary_toilet,
                h.relief.map(Relief::code),
                codes(h.aid_measures.iter().map(|m| m.code())),
            ])
            .context("append household")?;
        for m in &h.members {
            self.members
                .append_row(params![
                    h.household_no,
                    m.seq,
                    m.name,
                    m.id_number,
                    m.sex.code(),
                    m.age,
                    m.relation.code(),
                    m.schooling.map(Schooling::code),
                    m.medical_insured,
                    m.disability_grade,
                    m.disability_kind.map(DisabilityKind::code),
                    m.education.map(Education::code),
                    m.health.map(Health::code),
                    m.labour_skill.map(LabourSkill::code),
                    m.work_months,
                    m.serious_illness_insured,
                    m.subsistence,
                    m.extreme_poverty,
                ])
                .context("append member")?;
        }
        self.count += 1;
        Ok(())
    }

    /// Records a deliberate flaw of the demo data.
    ///
    /// # Errors
    /// [`StoreError::Query`] if DuckDB refuses the row.
    pub fn flaw(&mut self, f: &FlawRow) -> Result<(), StoreError> {
        let flaws = self
            .flaws
            .as_mut()
            .ok_or_else(|| StoreError::Invalid("this sink records no flaws".into()))?;
        flaws
            .append_row(params![f.household_no, f.flaw, f.related])
            .context("append flaw")
    }

    /// Households appended so far.
    #[must_use]
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Flushes every appender; errors in a flush on drop would be lost.
    ///
    /// # Errors
    /// [`StoreError::Query`] if a buffered row is refused.
    pub fn flush(mut self) -> Result<(), StoreError> {
        self.households.flush().context("flush households")?;
        self.members.flush().context("flush members")?;
        match self.flaws.as_mut() {
            Some(flaws) => flaws.flush().context("flush flaws"),
            None => Ok(()),
        }
    }
}

/// Codes joined by `,` (the stored form of a list), or `None` for an empty list.
fn codes<'c>(items: impl Iterator<Item = &'c str>) -> Option<String> {
    let joined = items.collect::<Vec<_>>().join(",");
    (!joined.is_empty()).then_some(joined)
}

fn wal_path(db: &Path) -> PathBuf {
    let mut s = db.as_os_str().to_owned();
    s.push(".wal");
    PathBuf::from(s)
}

fn remove_if_present(path: &Path) -> Result<(), StoreError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(StoreError::Io {
            action: "cannot remove",
            path: path.to_path_buf(),
            source,
        }),
    }
}
