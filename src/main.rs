//! The `paicha` binary: serve, build the demo county, export.

mod cli;

/// A line on stdout, the command's answer (logs go to stderr).
macro_rules! say {
    ($($arg:tt)*) => {
        writeln!(std::io::stdout().lock(), $($arg)*)?
    };
}

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};
use paicha::app::{AppSettings, AppState};
use paicha::demo::{self, DemoOptions};
use paicha::domain::AreaLevel;
use paicha::domain::MeasureId;
use paicha::settings::ServeSettings;
use paicha::store::{self, AreaFilter, HouseholdExport, Store};
use paicha::tiles::layers::Layer;
use tracing_subscriber::EnvFilter;

use cli::{
    BenchCommand, Cli, Command, ExportCommand, ExportLevel, ImportCommand, PersonsLayout,
    UserCommand,
};

fn main() -> std::process::ExitCode {
    // Colours only on a terminal: a log written to a file keeps no escape codes.
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("paicha=info,tower_http=info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(colour)
        .init();
    match run(Cli::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // The chain of causes, one sentence; never a backtrace, whatever
            // RUST_BACKTRACE says: a user reads this, not a developer.
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[expect(
    clippy::too_many_lines,
    reason = "one arm per command, each handing its flags to the command's function"
)]
fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Serve {
            db,
            addr,
            web_dir,
            tiles_dir,
            heat_min_households,
            tianditu_key,
            public_url,
            tls_cert,
            tls_key,
            behind_proxy,
            upload_limit_mb,
        } => {
            let settings = ServeSettings::new(
                db.db,
                addr,
                web_dir,
                &tiles_dir,
                heat_min_households,
                tianditu_key,
                public_url,
            )?;
            let tls = tls_cert.zip(tls_key);
            check_exposure(&settings, tls.is_some(), behind_proxy)?;
            serve(&settings, tls.as_ref(), upload_limit_mb << 20)
        }
        Command::User { db, what } => user(&db.db, what),
        Command::Audit {
            db,
            since,
            user,
            action,
            before,
            limit,
        } => audit(
            &db.db,
            &store::accounts::AuditFilter {
                since,
                user,
                action,
                before,
                limit,
            },
        ),
        Command::Demo {
            db,
            households,
            seed,
            replace,
            city,
            province,
            dense,
        } => {
            let size = if province {
                DemoSize::Province
            } else if city {
                DemoSize::City
            } else {
                DemoSize::County
            };
            let options = DemoOptions {
                households,
                seed,
                dense,
            };
            demo(&db.db, &options, replace, size)
        }
        Command::Export { db, what } => export(&db.db, what),
        Command::Import { db, what } => import(&db.db, what),
        Command::Bench {
            what:
                BenchCommand::Assign {
                    households,
                    seed,
                    villages,
                    db,
                    export_dir,
                },
        } => {
            use paicha::bench::VillageLayer;
            let layer = match (villages, db) {
                (Some(file), _) => VillageLayer::GeoJson(file),
                (None, Some(db)) => VillageLayer::Database(db),
                (None, None) => VillageLayer::Demo,
            };
            let figures = paicha::bench::assign(&layer, households, seed, export_dir.as_deref())?;
            print_json(&figures)
        }
        Command::Bench {
            what: BenchCommand::Stats { db, runs },
        } => print_json(&paicha::bench::stats(&db.db, runs)?),
        Command::Bench {
            what: BenchCommand::Brief { db, week },
        } => print_json(&paicha::bench::brief(&db.db, week.as_deref())?),
        Command::Bench {
            what: BenchCommand::Rolls { db, rows, runs },
        } => print_json(&paicha::bench::rolls(&db.db, rows, runs)?),
        Command::Bench {
            what:
                BenchCommand::Tiles {
                    db,
                    per_zoom,
                    paths_out,
                    paths_only,
                    households_out,
                },
        } => match (paths_only, paths_out) {
            (true, Some(out)) => {
                let n =
                    paicha::bench::tile_paths(&db.db, per_zoom, &out, households_out.as_deref())?;
                tracing::info!("wrote {n} tile paths to {}", out.display());
                Ok(())
            }
            (_, out) => print_json(&paicha::bench::tiles(&db.db, per_zoom, out.as_deref())?),
        },
        Command::Render {
            db,
            indicator,
            level,
            within,
            classing,
            classes,
            chart,
            out,
        } => render(
            &db.db,
            &RenderArgs {
                indicator,
                level,
                within,
                classing,
                classes,
                chart,
            },
            &out,
        ),
        Command::Report {
            db,
            campaign,
            within,
            as_of,
            week: Some(week),
            out,
        } => {
            debug_assert!(as_of.is_none(), "clap refuses --as-of with --week");
            weekly_report(&db.db, &campaign, within.as_deref(), &week, &out)
        }
        Command::Report {
            db,
            campaign,
            within,
            as_of,
            week: None,
            out,
        } => report(&db.db, &campaign, within.as_deref(), as_of.as_deref(), &out),
        Command::Brief {
            db,
            township,
            campaign,
            week,
            out,
        } => brief(
            &db.db,
            &paicha::app::briefing::BriefingRequest {
                township,
                campaign,
                week,
            },
            &out,
        ),
        Command::Plan { db, request, out } => plan(&db.db, &request, &out),
        Command::Tsp {
            file,
            time_limit_ms,
            seed,
            tour,
        } => print_json(&paicha::bench::tsp(&file, time_limit_ms, seed, tour)?),
    }
}

/// `paicha plan`: the same plan as `POST /api/v1/plans`, written to a file.
fn plan(db: &Path, request: &Path, out: &Path) -> Result<()> {
    use paicha::domain::plan::Request;
    use paicha::planner::{self, export};
    let ext = out.extension().and_then(|e| e.to_str()).unwrap_or_default();
    if !matches!(
        ext,
        "json" | "gpx" | "kml" | "geojson" | "csv" | "xlsx" | "html"
    ) {
        anyhow::bail!(
            "--out {} must end in .json, .gpx, .kml, .geojson, .csv, .xlsx or .html",
            out.display()
        );
    }
    let text = std::fs::read_to_string(request)
        .with_context(|| format!("reading {}", request.display()))?;
    let de = &mut serde_json::Deserializer::from_str(&text);
    let request: Request = serde_path_to_error::deserialize(de)
        .map_err(|e| anyhow::anyhow!("{}: field {}: {}", request.display(), e.path(), e.inner()))?;
    let area = request
        .area
        .clone()
        .map(|value| {
            paicha::spatial::shapes::Shape::polygon("area", value)
                .map(|shape| shape.outline())
                .map_err(|v| anyhow::anyhow!("field {}: {}", v.field, v.reason))
        })
        .transpose()?;
    let state = open_app(db)?;
    let snapshot = state.snapshot();
    let validated =
        planner::validate(&request, area, &snapshot, &state.catalog).map_err(|issues| {
            let list: Vec<String> = issues
                .iter()
                .map(|i| format!("field {}: {}", i.field, i.reason))
                .collect();
            anyhow::anyhow!("the request cannot be planned:\n  {}", list.join("\n  "))
        })?;
    let plan = planner::make(
        &state.store,
        &snapshot,
        &state.catalog,
        &request,
        &validated,
        &std::sync::atomic::AtomicBool::new(false),
    )?;
    let bytes = match ext {
        "gpx" => export::gpx(&plan).into_bytes(),
        "kml" => export::kml(&plan).into_bytes(),
        "geojson" => export::geojson(&plan).into_bytes(),
        "csv" => export::csv(&plan),
        "xlsx" => export::xlsx(&plan)?,
        "html" => export::html(&plan, None, None).into_bytes(),
        _ => serde_json::to_vec_pretty(&plan)?,
    };
    std::fs::write(out, bytes).with_context(|| format!("writing {}", out.display()))?;
    let planned: usize = plan
        .groups
        .iter()
        .flat_map(|g| &g.days)
        .map(|d| d.stops.len())
        .sum();
    tracing::info!(
        id = plan.id,
        planned,
        dropped = plan.dropped.len(),
        "wrote {}",
        out.display()
    );
    Ok(())
}

/// `paicha report`: the same report as `/api/v1/campaigns/{id}/report`.
fn report(
    db: &Path,
    campaign: &str,
    within: Option<&str>,
    as_of: Option<&str>,
    out: &Path,
) -> Result<()> {
    use paicha::ledger::{report, report_input};
    let html = match out.extension().and_then(|e| e.to_str()) {
        Some("xlsx") => false,
        Some("html") => true,
        _ => anyhow::bail!("--out {} must end in .xlsx or .html", out.display()),
    };
    let store = Store::open(db).context("opening the database")?;
    let conn = store.conn()?;
    let names: std::collections::HashMap<String, (String, AreaLevel)> =
        store::areas::list(&conn, &AreaFilter::default())?
            .into_iter()
            .map(|a| (a.code, (a.name, a.level)))
            .collect();
    let (campaign, template, entries, scope, period) =
        report_input(&conn, &names, campaign, within, as_of)?;
    let bytes = if html {
        report::html(&campaign, &template, &entries, &scope, &period).into_bytes()
    } else {
        report::xlsx(&campaign, &template, &entries, &scope, &period)?
    };
    std::fs::write(out, bytes).with_context(|| format!("writing {}", out.display()))?;
    tracing::info!("wrote {}", out.display());
    Ok(())
}

/// `paicha brief`: a township's briefing, as `GET /api/v1/briefings/{township}` writes it
/// (the whole township, every indicator: the command line reads the database directly).
fn brief(db: &Path, request: &paicha::app::briefing::BriefingRequest, out: &Path) -> Result<()> {
    let html = match out.extension().and_then(|e| e.to_str()) {
        Some("pdf") => false,
        Some("html") => true,
        _ => anyhow::bail!("--out {} must end in .pdf or .html", out.display()),
    };
    // No Chinese font is said before the database is read.
    let _font = paicha::render::discover()?;
    let state = open_app(db)?;
    let snapshot = state.snapshot();
    let conn = state.store.conn()?;
    let briefing = paicha::app::briefing::gather(&conn, &snapshot, &state.catalog, request)
        .with_context(|| format!("--township {}", request.township))?;
    let bytes = paicha::app::briefing::write(&briefing, html)?;
    std::fs::write(out, bytes).with_context(|| format!("writing {}", out.display()))?;
    tracing::info!("wrote {}", out.display());
    Ok(())
}

/// `paicha report --week`: the weekly progress report of an area (the whole of it: the
/// command line reads the database directly), as `GET …/weekly-report` writes it.
fn weekly_report(
    db: &Path,
    campaign: &str,
    within: Option<&str>,
    week: &str,
    out: &Path,
) -> Result<()> {
    use paicha::ledger::{progress, weekly};
    let html = match out.extension().and_then(|e| e.to_str()) {
        Some("xlsx") => false,
        Some("html") => true,
        _ => anyhow::bail!("--out {} must end in .xlsx or .html", out.display()),
    };
    let store = Store::open(db).context("opening the database")?;
    let conn = store.conn()?;
    let campaign = store::ledger::campaign(&conn, campaign)?
        .with_context(|| format!("no campaign {campaign:?}"))?;
    let area = within.unwrap_or(&campaign.area_code).to_owned();
    if !area.starts_with(&campaign.area_code) {
        anyhow::bail!(
            "--within {area} is not inside the campaign's area {}",
            campaign.area_code
        );
    }
    let names: std::collections::HashMap<String, String> =
        store::areas::list(&conn, &AreaFilter::default())?
            .into_iter()
            .map(|a| (a.code, a.name))
            .collect();
    let plans = store::plans::for_campaign(&conn, &campaign.id)?;
    let visits = store::visits::list(
        &conn,
        Some(&campaign.id),
        &store::visits::VisitFilter::default(),
        usize::MAX >> 2,
        0,
    )?
    .1;
    let changes = store::visits::status_changes(&conn, &campaign.id)?;
    let entries = store::ledger::entries(
        &conn,
        &campaign.id,
        &store::ledger::EntryFilter::default(),
        usize::MAX >> 2,
        0,
    )?
    .1;
    let in_scope = |v: &str| v.starts_with(area.as_str());
    let input = progress::Inputs {
        campaign: &campaign,
        plans: &plans,
        visits: &visits,
        changes: &changes,
        entries: &entries,
        in_scope: &in_scope,
    };
    let area_name = names.get(&area).cloned().unwrap_or_else(|| area.clone());
    let unit = |v: &str| v.get(..9).unwrap_or(v).to_owned();
    let name_of = |code: &str| names.get(code).cloned();
    let p = progress::progress(&input, week, &area_name, &unit, &name_of)
        .with_context(|| format!("--week {week:?} is not an ISO week YYYY-Www"))?;
    let header = weekly::Header {
        unit: area_name,
        date: paicha::domain::calendar::today(),
    };
    let bytes = if html {
        weekly::html(&campaign, &p, &header).into_bytes()
    } else {
        weekly::xlsx(&campaign, &p, &header)?
    };
    std::fs::write(out, bytes).with_context(|| format!("writing {}", out.display()))?;
    tracing::info!("wrote {}", out.display());
    Ok(())
}

/// What `paicha render` draws.
struct RenderArgs {
    indicator: String,
    level: Option<String>,
    within: Option<String>,
    classing: String,
    classes: usize,
    chart: Option<usize>,
}

/// `paicha render`: the same map or chart as `/api/v1/maps` and `/api/v1/charts`.
fn render(db: &Path, args: &RenderArgs, out: &Path) -> Result<()> {
    use paicha::indicators::table::{self, AreaRef, TableRequest};
    use paicha::render::indicator::{Method, choropleth, ranking};
    let svg = match out.extension().and_then(|e| e.to_str()) {
        Some("png") => false,
        Some("svg") => true,
        _ => anyhow::bail!("--out {} must end in .png or .svg", out.display()),
    };
    let method = Method::from_code(&args.classing).with_context(|| {
        format!(
            "--classing {:?}: expected catalog, quantile, equal or natural",
            args.classing
        )
    })?;
    let font = paicha::render::discover()?;
    let state = open_app(db)?;
    let catalog = &state.catalog;
    let indicator = catalog.get(&args.indicator).cloned().with_context(|| {
        format!(
            "unknown indicator {:?}; expected one of {}",
            args.indicator,
            catalog.ids()
        )
    })?;
    let snapshot = state.snapshot();
    let within = args
        .within
        .clone()
        .unwrap_or_else(|| snapshot.top_code.clone());
    let (name, within_level) = snapshot
        .names
        .get(&within)
        .cloned()
        .with_context(|| format!("--within {within}: no such area"))?;
    let asked = args
        .level
        .as_deref()
        .map(|l| {
            AreaLevel::from_code(l)
                .with_context(|| format!("--level {l}: expected city, county, township or village"))
        })
        .transpose()?;
    let level = AreaLevel::map_level(asked, within_level).with_context(|| {
        format!(
            "--level {} inside --within {within} ({within_level}) cannot make a map",
            args.level.as_deref().unwrap_or("(default)")
        )
    })?;
    let request = TableRequest::plain(
        vec![indicator],
        AreaRef {
            code: within,
            name,
            level: within_level,
        },
        level,
    );
    let conn = state.store.conn()?;
    let table = table::build(&conn, &snapshot.names, &request)?;
    let bytes = if let Some(top) = args.chart {
        let spec = ranking(&snapshot, catalog, &table, 0, top, snapshot.demo);
        if svg {
            paicha::render::bar_chart_svg(&spec, &font)?.into_bytes()
        } else {
            paicha::render::bar_chart_png(&spec, &font)?
        }
    } else {
        let spec = choropleth(
            &snapshot,
            catalog,
            &table,
            0,
            method,
            args.classes,
            snapshot.demo,
        );
        if svg {
            paicha::render::choropleth_svg(&spec, &font)?.into_bytes()
        } else {
            paicha::render::choropleth_png(&spec, &font)?
        }
    };
    std::fs::write(out, bytes).with_context(|| format!("writing {}", out.display()))?;
    tracing::info!("wrote {}", out.display());
    Ok(())
}

/// Prints figures as one JSON line on stdout.
fn print_json(figures: &impl serde::Serialize) -> Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer(&mut out, figures)?;
    writeln!(out)?;
    Ok(())
}

/// `paicha demo`: never over an existing database unless told to replace it.
fn demo(db: &Path, options: &DemoOptions, replace: bool, size: DemoSize) -> Result<()> {
    if db.exists() && !replace {
        anyhow::bail!(
            "{} exists: pass --replace to rebuild it as the demo county (its ledger edits and \
             plans are lost), or --db to build elsewhere",
            db.display()
        );
    }
    build_demo(db, options, size)
}

/// Which demo `paicha demo` builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DemoSize {
    /// Xinbin alone.
    County,
    /// 抚顺市: Xinbin and two more counties.
    City,
    /// 辽宁省: 抚顺市's three counties and two of 本溪市's.
    Province,
}

/// Builds the demo county (or city, or province) with a progress bar on stderr.
fn build_demo(db: &Path, options: &DemoOptions, size: DemoSize) -> Result<()> {
    tracing::info!(
        db = %db.display(),
        households = options.households,
        seed = options.seed,
        "building the demo county (synthetic boundaries and households)"
    );
    let bar = ProgressBar::new(options.households).with_style(
        ProgressStyle::with_template(
            "{msg} [{bar:40}] {human_pos}/{human_len} households ({per_sec}, {eta} left)",
        )
        .context("progress bar template")?
        .progress_chars("=> "),
    );
    bar.set_message("demo county");
    bar.enable_steady_tick(Duration::from_millis(200));
    let mut pending = 0_u64;
    let mut tick = || {
        // Updating the bar per household would cost more than making it.
        pending += 1;
        if pending == 1000 {
            bar.inc(pending);
            pending = 0;
        }
    };
    let summary = match size {
        DemoSize::County => demo::build(db, options, &mut tick),
        DemoSize::City => demo::build_city(db, options, &mut tick),
        DemoSize::Province => demo::build_province(db, options, &mut tick),
    }
    .with_context(|| format!("building the demo into {}", db.display()))?;
    bar.finish_and_clear();
    tracing::info!(
        households = summary.households,
        townships = summary.townships,
        villages = summary.villages,
        "demo written to {}",
        db.display()
    );
    Ok(())
}

/// Refuses to serve plain HTTP beyond this machine: passwords and personal data would
/// cross the network in clear.
fn check_exposure(settings: &ServeSettings, tls: bool, behind_proxy: bool) -> Result<()> {
    if settings.addr.ip().is_loopback() || tls || behind_proxy {
        return Ok(());
    }
    anyhow::bail!(
        "--addr {} can be reached from other machines, and plain HTTP would carry passwords, \
         names and ID numbers in clear: give --tls-cert and --tls-key (PEM files) to serve \
         HTTPS, or --behind-proxy when a reverse proxy in front terminates HTTPS",
        settings.addr
    )
}

/// `paicha user …`.
fn user(db: &Path, what: UserCommand) -> Result<()> {
    use paicha::accounts;
    use store::accounts as stored;
    let store = Store::open(db).with_context(|| format!("opening {}", db.display()))?;
    let conn = store.conn()?;
    match what {
        UserCommand::Add {
            name,
            display,
            roles,
            areas,
            until,
            campaign,
            department,
        } => {
            let until = match campaign {
                Some(id) => Some(
                    store::ledger::campaign(&conn, &id)?
                        .with_context(|| format!("--campaign {id}: no such campaign"))?
                        .ends,
                ),
                None => until,
            };
            let grants = grants_of(
                &conn,
                &roles,
                &areas,
                until.as_deref(),
                department.as_deref(),
            )?;
            add_user(&name, display, grants, &conn)?;
        }
        UserCommand::Sample {
            name,
            villages,
            within,
            seed,
            until,
        } => sample_user(&conn, &name, villages, within, seed, until.as_deref())?,
        UserCommand::List => list_users(&conn)?,
        UserCommand::Passwd { name } => {
            let password = read_password(&format!("new password for {name}: "))?;
            let hash = accounts::hash_password(&password)?;
            stored::update(&conn, &name, Some(&hash), None)?;
            say!("password of {name} changed");
        }
        UserCommand::Disable { name } => {
            let now = paicha::domain::calendar::utc_timestamp();
            stored::update(&conn, &name, None, Some(Some(&now)))?;
            say!("account {name} disabled");
        }
        UserCommand::Enable { name } => {
            stored::update(&conn, &name, None, Some(None))?;
            say!("account {name} enabled");
        }
        UserCommand::Token { name, label } => {
            if !stored::exists(&conn, &name)? {
                anyhow::bail!("no account named {name}");
            }
            let (record, secret) = accounts::add_token(&conn, &name, &label)?;
            say!(
                "token {} for {name} (shown once; revoke with DELETE /api/v1/tokens/{}):",
                record.id,
                record.id
            );
            say!("{secret}");
        }
    }
    Ok(())
}

/// `paicha user list`: one line per account, its roles with their areas.
fn list_users(conn: &duckdb::Connection) -> Result<()> {
    for a in store::accounts::accounts(conn)? {
        let grants: Vec<String> = a
            .principal
            .grants
            .iter()
            .map(|g| {
                format!(
                    "{}{}@{}{}",
                    g.role.label_zh(),
                    g.department
                        .as_deref()
                        .map(|d| format!("({d})"))
                        .unwrap_or_default(),
                    g.area,
                    g.until
                        .as_deref()
                        .map(|u| format!("至{u}"))
                        .unwrap_or_default()
                )
            })
            .collect();
        say!(
            "{}\t{}\t{}\t{}",
            a.principal.user,
            a.principal.display,
            grants.join(" "),
            if a.disabled_at.is_some() {
                "停用"
            } else {
                ""
            }
        );
    }
    Ok(())
}

/// `paicha user add`'s grants: one per `--role`/`--area` pair, checked against the
/// stored divisions and the catalog's departments.
fn grants_of(
    conn: &duckdb::Connection,
    roles: &[String],
    areas: &[String],
    until: Option<&str>,
    department: Option<&str>,
) -> Result<Vec<paicha::domain::access::Grant>> {
    use paicha::domain::access::{Grant, Role};
    if roles.len() != areas.len() {
        anyhow::bail!(
            "give one --area for each --role ({} roles, {} areas)",
            roles.len(),
            areas.len()
        );
    }
    if let Some(u) = until.filter(|u| !paicha::domain::calendar::is_date(u)) {
        anyhow::bail!("--until {u:?} is not a date YYYY-MM-DD");
    }
    let catalog = paicha::indicators::Catalog::builtin()?;
    let snapshot = paicha::app::load_snapshot(conn, &catalog)?;
    let mut grants = Vec::new();
    for (role, area) in roles.iter().zip(areas) {
        let role = Role::parse(role).with_context(|| {
            format!(
                "--role {role:?} is none of {}",
                Role::ALL
                    .iter()
                    .map(|r| format!("{} ({})", r.code(), r.label_zh()))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })?;
        if snapshot.name(area).is_none() {
            anyhow::bail!("--area {area} is not a stored division (see paicha export areas)");
        }
        let grant = Grant {
            role,
            area: area.clone(),
            until: until.map(str::to_owned),
            department: (role == Role::Department)
                .then(|| department.map(str::to_owned))
                .flatten(),
        };
        if let Some(problem) = grant.department_problem(&catalog.departments()) {
            anyhow::bail!("--department: {problem}");
        }
        grants.push(grant);
    }
    Ok(grants)
}

/// `paicha user add`: the account, its password read from standard input.
fn add_user(
    name: &str,
    display: Option<String>,
    grants: Vec<paicha::domain::access::Grant>,
    conn: &duckdb::Connection,
) -> Result<()> {
    let password = read_password(&format!("password for {name}: "))?;
    let principal = paicha::domain::access::Principal {
        user: name.to_owned(),
        display: display.unwrap_or_else(|| name.to_owned()),
        grants,
    };
    paicha::accounts::add_account(conn, principal, &password)?;
    say!("account {name} added");
    Ok(())
}

/// `paicha user sample`: a fresh draw of an evaluator's villages.
fn sample_user(
    conn: &duckdb::Connection,
    name: &str,
    n: usize,
    within: Option<String>,
    seed: Option<u64>,
    until: Option<&str>,
) -> Result<()> {
    use store::accounts as stored;
    if let Some(u) = until.filter(|u| !paicha::domain::calendar::is_date(u)) {
        anyhow::bail!("--until {u:?} is not a date YYYY-MM-DD");
    }
    let account =
        stored::account(conn, name)?.with_context(|| format!("no account named {name}"))?;
    let snapshot = paicha::app::load_snapshot(conn, &paicha::indicators::Catalog::builtin()?)?;
    let within = within.unwrap_or_else(|| snapshot.top_code.clone());
    if snapshot.name(&within).is_none() {
        anyhow::bail!("--within {within} is not a stored division (see paicha export areas)");
    }
    let seed = seed.unwrap_or_else(rand::random);
    let (grants, drawn) = paicha::accounts::with_evaluator_sample(
        &account.principal.grants,
        &snapshot.names,
        &within,
        n,
        seed,
        until,
    );
    if drawn.is_empty() {
        anyhow::bail!("no village lies inside {within}");
    }
    stored::set_grants(conn, name, &grants)?;
    say!(
        "{} villages drawn for {name} inside {within} (seed {seed}; the same seed draws them again):",
        drawn.len()
    );
    for v in &drawn {
        say!("{v}\t{}", snapshot.name(v).unwrap_or_default());
    }
    Ok(())
}

/// A password from the terminal (not echoed) or, when input is piped, its first line.
fn read_password(prompt: &str) -> Result<String> {
    use std::io::IsTerminal as _;
    let password = if std::io::stdin().is_terminal() {
        rpassword::prompt_password(prompt).context("reading the password")?
    } else {
        let mut line = String::new();
        std::io::stdin()
            .read_line(&mut line)
            .context("reading the password from standard input")?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    };
    Ok(password)
}

/// `paicha audit`: the audit log as tab-separated lines, newest first.
fn audit(db: &Path, filter: &store::accounts::AuditFilter) -> Result<()> {
    let store = Store::open(db).with_context(|| format!("opening {}", db.display()))?;
    let conn = store.conn()?;
    say!("时间\t账号\t操作\t路径\t内容\t行数");
    for r in store::accounts::audit(&conn, filter)? {
        say!(
            "{}\t{}\t{}\t{}\t{}\t{}",
            r.at,
            r.user.unwrap_or_default(),
            r.action,
            r.route.unwrap_or_default(),
            r.detail.unwrap_or_default(),
            r.rows.map(|n| n.to_string()).unwrap_or_default()
        );
    }
    Ok(())
}

/// Most boundary tiles `serve` cuts at start, per layer and zoom: past this the first
/// requests cut their own (the cache keeps at most 256 MiB of cut geometry anyway).
const SEED_TILES: usize = 4_096;

fn serve(
    settings: &ServeSettings,
    tls: Option<&(std::path::PathBuf, std::path::PathBuf)>,
    upload_limit: u64,
) -> Result<()> {
    let db = &settings.app.db;
    if !db.exists() {
        tracing::info!(
            "no database at {}: building the demo county first",
            db.display()
        );
        build_demo(db, &DemoOptions::default(), DemoSize::County)?;
    }
    let state =
        AppState::open(&settings.app).with_context(|| format!("opening {}", db.display()))?;
    state.imports.set_upload_limit(upload_limit);
    let snapshot = state.snapshot();
    {
        // The heat map the web app opens with: compute its colour scales while the
        // server starts answering, rather than in the first tile of each zoom.
        let state = state.clone();
        std::thread::spawn(move || {
            let snapshot = state.snapshot();
            // Boundaries simplified per zoom (once per data version) for the zooms the
            // map shows townships and villages at, so that no first tile pays for it.
            let start = std::time::Instant::now();
            for layer in [Layer::Townships, Layer::Villages] {
                for z in 8..=14 {
                    state.tiles.simplified(&snapshot, layer, z);
                }
            }
            tracing::info!(
                seconds = start.elapsed().as_secs_f64(),
                "boundaries simplified for zooms 8 to 14"
            );
            for z in 8..=16 {
                paicha::tiles::colour_scale(&state.tiles, &snapshot, MeasureId::AnyProblem, z);
            }
            // Then each boundary tile of the zooms the map opens at, cut to the tile.
            let start = std::time::Instant::now();
            let mut cut = 0;
            for layer in [Layer::Townships, Layer::Villages] {
                for z in 8..=12 {
                    cut += state.tiles.seed_shapes(&snapshot, layer, z, SEED_TILES);
                }
            }
            tracing::info!(
                tiles = cut,
                seconds = start.elapsed().as_secs_f64(),
                "boundary tiles cut for zooms 8 to 12"
            );
        });
    }
    tracing::info!(
        households = snapshot.households,
        villages = snapshot.villages.len(),
        data_version = snapshot.data_version,
        "spatial index ready"
    );
    announce_accounts(&state)?;
    let acceptor = tls
        .map(|(cert, key)| paicha::api::tls::acceptor(cert, key))
        .transpose()?;
    state
        .https
        .store(acceptor.is_some(), std::sync::atomic::Ordering::Relaxed);
    let kept = state.clone();
    let router = paicha::api::router(state, &settings.web_dir);
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(settings.addr)
            .await
            .with_context(|| format!("cannot listen on {}", settings.addr))?;
        let scheme = if acceptor.is_some() { "https" } else { "http" };
        tracing::info!("serving on {scheme}://{}", listener.local_addr()?);
        let warm = kept.clone();
        tokio::spawn(async move {
            match paicha::api::tiles::warm_boundary_tables(&warm).await {
                Ok(()) => tracing::info!("boundary tables ready"),
                Err(e) => tracing::warn!(error = %e, "cannot build the boundary tables"),
            }
        });
        paicha::api::serve_with(listener, router, acceptor, shutdown_signal())
            .await
            .context("server failed")?;
        // Sessions live on across a restart, idle from their last use.
        let conn = kept.store.conn()?;
        kept.accounts.save_last_seen(&conn)?;
        tracing::info!("shut down");
        Ok(())
    })
}

/// Says who can sign in: the demo's accounts, or how to add the first admin.
fn announce_accounts(state: &AppState) -> Result<()> {
    let conn = state.store.conn()?;
    let active = store::accounts::active_count(&conn)?;
    if state.is_demo {
        tracing::info!(
            "demo database: sign in as admin, analyst, leader, township, village, group, evaluator or department, password {}",
            paicha::accounts::DEMO_PASSWORD
        );
    } else if active == 0 {
        tracing::warn!(
            "no account can sign in yet: stop the server and add the first admin with `paicha user add NAME --role admin --area CODE` (it asks for the password)"
        );
    }
    Ok(())
}

/// Opens the service over a database, for the commands that read its figures.
fn open_app(db: &Path) -> Result<AppState> {
    AppState::open(&AppSettings {
        db: db.to_path_buf(),
        ..AppSettings::default()
    })
    .with_context(|| format!("opening {}", db.display()))
}

/// Completes on Ctrl-C or SIGTERM, so that in-flight requests finish first.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

fn export(db: &Path, what: ExportCommand) -> Result<()> {
    let store = Store::open(db).context("opening the database")?;
    let conn = store.conn()?;
    match what {
        ExportCommand::Areas { level, parent, out } => {
            let filter = AreaFilter {
                level: Some(area_level(level)),
                parent,
            };
            let records = store::areas::records(&conn, &filter)?;
            let n = records.len();
            let fc = geojson::FeatureCollection::new(
                records.iter().map(paicha::spatial::geojson::area_feature),
            );
            let file =
                File::create(&out).with_context(|| format!("cannot create {}", out.display()))?;
            serde_json::to_writer(BufWriter::new(file), &fc)
                .with_context(|| format!("cannot write {}", out.display()))?;
            tracing::info!("wrote {n} areas to {}", out.display());
        }
        ExportCommand::Households { out } => {
            // The export carries each household's best position (offsets corrected), which
            // the derived table holds once it is brought up to this data version.
            let catalog = paicha::indicators::Catalog::builtin()?;
            paicha::model::Places::read(&conn, &catalog.poverty_lines)?.refresh_derived(&conn)?;
            export_table(&conn, HouseholdExport::Households, &out)?;
        }
        ExportCommand::Members { out } => export_table(&conn, HouseholdExport::Members, &out)?,
        ExportCommand::Flaws { out } => export_table(&conn, HouseholdExport::Flaws, &out)?,
        ExportCommand::Persons { layout, out } => export_persons(&conn, layout, &out)?,
    }
    Ok(())
}

fn area_level(level: ExportLevel) -> AreaLevel {
    match level {
        ExportLevel::Province => AreaLevel::Province,
        ExportLevel::City => AreaLevel::City,
        ExportLevel::County => AreaLevel::County,
        ExportLevel::Township => AreaLevel::Township,
        ExportLevel::Village => AreaLevel::Village,
    }
}

fn import(db: &Path, what: ImportCommand) -> Result<()> {
    use paicha::import::run::Request;
    if let Some(store::StoreError::Locked { path, holder }) = store::in_use(db) {
        anyhow::bail!(
            "database {} is in use by another process{}: the running server takes imports \
             through its upload API (POST /api/v1/imports, or the 数据导入 page at \
             /imports.html, as an admin), or stop it and import here",
            path.display(),
            holder.map(|p| format!(" (PID {p})")).unwrap_or_default()
        );
    }
    let (request, files, report, commit) = match what {
        ImportCommand::Divisions {
            file,
            code_column,
            name_column,
            report,
            commit,
        } => {
            let options = paicha::import::divisions::Options {
                code_column,
                name_column,
            };
            (Request::Divisions(options), vec![file], report, commit)
        }
        ImportCommand::Boundaries {
            file,
            level,
            crs,
            code_field,
            name_field,
            report,
            commit,
        } => {
            let options = paicha::import::boundaries::Options {
                level: area_level(level),
                crs: crs
                    .map(|c| paicha::spatial::crs::Crs::from_user(&c))
                    .transpose()
                    .context("--crs")?,
                code_field,
                name_field,
            };
            (Request::Boundaries(options), vec![file], report, commit)
        }
        ImportCommand::Households {
            files,
            sheet,
            date,
            columns,
            report,
            commit,
        } => {
            let options = household_options(sheet, date.as_deref(), columns.as_deref())?;
            (Request::Households(options), files, report, commit)
        }
        ImportCommand::Gps {
            file,
            columns,
            report,
            commit,
        } => {
            let options = household_options(None, None, columns.as_deref())?;
            (Request::Gps(options.vocabulary), vec![file], report, commit)
        }
        ImportCommand::Roll {
            kind,
            files,
            county,
            sheet,
            rolls,
            report,
            commit,
            dry_run: _,
        } => (
            roll_request(&kind, rolls.as_deref(), county, sheet)?,
            files,
            report,
            commit,
        ),
        ImportCommand::Measures {
            file,
            year,
            columns,
            report,
            commit,
        } => (
            measures_request(year, columns.as_deref())?,
            vec![file],
            report,
            commit,
        ),
        ImportCommand::VillageForm {
            files,
            report,
            commit,
            ..
        } => (village_form_request()?, files, report, commit),
        other => return import_stored(db, other),
    };
    import_files(db, &request, &files, report.as_deref(), commit)
}

/// The request of `paicha import roll`: the kind looked up in the catalog (built in, or
/// the county's file).
fn roll_request(
    kind: &str,
    rolls: Option<&Path>,
    county: Option<String>,
    sheet: Option<String>,
) -> Result<paicha::import::run::Request> {
    let catalog = roll_catalog(rolls)?;
    let roll = catalog.kind(kind).with_context(|| {
        format!(
            "--kind {kind}: no such roll kind (the kinds are {})",
            catalog.kind_ids()
        )
    })?;
    Ok(paicha::import::run::Request::Roll(Box::new(
        paicha::import::rolls::Options {
            kind: roll.clone(),
            keys: catalog.keys.clone(),
            county,
            sheet,
        },
    )))
}

/// The request of `paicha import measures`.
fn measures_request(
    year: Option<i32>,
    columns: Option<&Path>,
) -> Result<paicha::import::run::Request> {
    if let Some(y) = year {
        anyhow::ensure!(
            (2000..=2100).contains(&y),
            "--year {y} is not a year 2000–2100"
        );
    }
    let options = household_options(None, None, columns)?;
    Ok(paicha::import::run::Request::Measures(
        paicha::import::measures::Options {
            year,
            vocabulary: Some(options.vocabulary),
        },
    ))
}

/// The imports that read files: a dry run against the stored data, and with `commit`
/// the write (a divisions import creates the database if there is none yet).
fn import_files(
    db: &Path,
    request: &paicha::import::run::Request,
    files: &[std::path::PathBuf],
    report: Option<&Path>,
    commit: bool,
) -> Result<()> {
    use paicha::import::run::{self, Request, RunError};
    let divisions = matches!(request, Request::Divisions(_));
    // Opening a missing file would create an empty database with nothing to match.
    anyhow::ensure!(
        divisions || db.exists(),
        "no database at {}: {} are imported against stored divisions (import the division \
         codes first with `paicha import divisions`, build the demo county with `paicha demo`, \
         or give --db)",
        db.display(),
        request.kind()
    );
    let store = if db.exists() {
        Some(Store::open(db).context("opening the database")?)
    } else {
        None
    };
    let conn = store.as_ref().map(Store::conn).transpose()?;
    let planned = run::plan(conn.as_deref(), request, files, &run::Progress::default())?;
    let what = match request {
        Request::Divisions(_) => "write the divisions",
        Request::Boundaries(_) => "write the boundaries",
        Request::Households(_) => "replace the stored households",
        Request::Gps(_) => "write the positions",
        Request::Roll(_) => "replace the stored roll of its kind",
        Request::Measures(_) => "write the measures",
        Request::VillageForm(_) => "replace the stored form values of its villages",
    };
    if !reported(planned.report(), report, commit, what)? {
        return Ok(());
    }
    drop(conn);
    let store = if let Some(store) = store {
        store
    } else {
        let store = Store::create_empty(db).context("creating the database")?;
        say!("created a new database at {}", db.display());
        store
    };
    let conn = store.conn()?;
    let now = paicha::domain::calendar::utc_timestamp();
    let id = run::import_id(&now, planned.kind());
    let committed = match run::commit(&conn, &planned, &id, &now) {
        Err(RunError::Nothing(why)) if divisions => {
            say!("{why}");
            return Ok(());
        }
        other => other?,
    };
    let what = match &planned {
        run::Planned::Divisions(_) => "divisions added or changed".to_owned(),
        run::Planned::Boundaries(_) => "boundaries written".to_owned(),
        run::Planned::Households(plan) => {
            format!("households written (data date {})", plan.data_date)
        }
        run::Planned::Gps(_) => "households' positions written".to_owned(),
        run::Planned::Roll(plan) => {
            format!("rows of the {} roll of {} written", plan.kind, plan.county)
        }
        run::Planned::Measures(_) => "measures written".to_owned(),
        run::Planned::VillageForm(_) => "villages' form values written".to_owned(),
    };
    if matches!(request, Request::Roll(_)) {
        // The cross-checks of the new roll, for `paicha export` and the next start.
        store::rolls::recheck(&conn)?;
    }
    if matches!(
        request,
        Request::Households(_) | Request::Gps(_) | Request::Roll(_) | Request::Measures(_)
    ) {
        audit_cli(
            &conn,
            "import",
            &format!("paicha import {} ({id})", planned.kind()),
            Path::new(&planned.report().source),
            (committed.persons.max(committed.written)) as u64,
        )?;
    }
    say!(
        "committed {id}: {} {what}, data version {}; `paicha import undo {id}` puts the previous ones back",
        committed.written,
        committed.data_version
    );
    Ok(())
}

/// The roll catalog: a county's file (`--rolls`), or the built-in one.
fn roll_catalog(file: Option<&Path>) -> Result<paicha::domain::rolls::RollCatalog> {
    use paicha::domain::rolls::RollCatalog;
    Ok(match file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading --rolls {}", path.display()))?;
            RollCatalog::parse(&text, &path.display().to_string())?
        }
        None => RollCatalog::builtin()?,
    })
}

/// A village form import's request, by the exit standard in force.
fn village_form_request() -> Result<paicha::import::run::Request> {
    let standard = paicha::app::exit_standard()?;
    Ok(paicha::import::run::Request::VillageForm(Box::new(
        standard,
    )))
}

/// The import commands that read the stored imports.
fn import_stored(db: &Path, what: ImportCommand) -> Result<()> {
    anyhow::ensure!(db.exists(), "no database at {}", db.display());
    let store = Store::open(db).context("opening the database")?;
    let conn = store.conn()?;
    match what {
        ImportCommand::List => {
            for i in store::imports::list(&conn)? {
                let state = i
                    .undone_at
                    .map_or_else(|| "in force".to_owned(), |at| format!("undone {at}"));
                say!(
                    "{}  {}  {}  {}  data version {}  ({state})",
                    i.id,
                    i.committed_at,
                    i.kind,
                    i.source,
                    i.data_version
                );
            }
        }
        ImportCommand::Attributes { id, out } => write_attributes(&conn, &id, &out)?,
        ImportCommand::Undo { id } => {
            let now = paicha::domain::calendar::utc_timestamp();
            let version = store::imports::undo(&conn, &id, &now)?;
            say!(
                "undone {id}: what it replaced is back (and what it added is gone), data version {version}"
            );
        }
        _ => anyhow::bail!("file imports are run by import_files"),
    }
    Ok(())
}

/// The household import's options from the command line.
fn household_options(
    sheet: Option<String>,
    date: Option<&str>,
    columns: Option<&Path>,
) -> Result<paicha::import::households::Options> {
    use paicha::import::households::{columns::Vocabulary, values};
    let data_date = date
        .map(|d| {
            values::date(&calamine::Data::String(d.to_owned()))
                .ok_or_else(|| anyhow::anyhow!("--date {d:?} is not a date (YYYY-MM-DD)"))
        })
        .transpose()?;
    let vocabulary = match columns {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            Vocabulary::extended(&text).with_context(|| format!("--columns {}", path.display()))?
        }
        None => Vocabulary::builtin(),
    };
    Ok(paicha::import::households::Options {
        sheet,
        data_date,
        vocabulary,
    })
}

/// `import attributes`: the kept features of an import as a table, one column per field.
fn write_attributes(conn: &duckdb::Connection, id: &str, out: &Path) -> Result<()> {
    use paicha::formats::table::{self, Cell};
    let kept = store::imports::kept_features(conn, id)?
        .ok_or_else(|| anyhow::anyhow!("no import {id:?} (see `paicha import list`)"))?;
    let mut fields: Vec<&str> = Vec::new();
    for f in &kept {
        for (name, _) in &f.attributes {
            if !fields.contains(&name.as_str()) {
                fields.push(name);
            }
        }
    }
    let mut headers = vec!["区划代码", "文件", "要素/行"];
    headers.extend(&fields);
    let rows: Vec<Vec<Cell>> = kept
        .iter()
        .map(|f| {
            let mut row = vec![
                Cell::text(f.code.clone()),
                Cell::text(f.file.clone()),
                Cell::Number(f.row as f64),
            ];
            row.extend(fields.iter().map(|name| {
                f.attributes
                    .iter()
                    .find(|(k, _)| k == name)
                    .and_then(|(_, v)| v.clone())
                    .map_or(Cell::Empty, Cell::Text)
            }));
            row
        })
        .collect();
    let bytes = match out.extension().and_then(|e| e.to_str()) {
        Some("csv") => table::csv(&headers, &rows),
        Some("xlsx") => table::xlsx(
            "要素属性",
            Some(&format!("导入 {id} 的要素属性")),
            &headers,
            &rows,
        )?,
        _ => anyhow::bail!("--out {} must end in .csv or .xlsx", out.display()),
    };
    std::fs::write(out, bytes).with_context(|| format!("cannot write {}", out.display()))?;
    say!(
        "wrote {} features' attributes to {}",
        kept.len(),
        out.display()
    );
    // A household import's kept columns hold personal data (phone numbers …).
    audit_cli(
        conn,
        "export",
        &format!("paicha import attributes {id}"),
        out,
        kept.len() as u64,
    )
}

/// Shows an import's report (and writes it to `--report`); whether the import goes on
/// to write: only with `--commit`, and only when the report has no error.
fn reported(
    report: &paicha::import::Report,
    path: Option<&Path>,
    commit: bool,
    what: &str,
) -> Result<bool> {
    print_report(report)?;
    if let Some(path) = path {
        write_report(report, path)?;
    }
    if !commit {
        say!("dry run: nothing was written; add --commit to {what}");
        return Ok(false);
    }
    let errors = report.errors();
    anyhow::ensure!(
        errors == 0,
        "{errors} error(s) in the report: nothing was written"
    );
    Ok(true)
}

/// The report's counts and problems on stdout (the clerk's copy is the XLSX).
fn print_report(report: &paicha::import::Report) -> Result<()> {
    const SHOWN: usize = 40;
    for c in &report.counts {
        say!("{}: {}", c.label, trim_float(c.value));
    }
    for p in report.problems.iter().take(SHOWN) {
        let at = [
            Some(p.file.clone()),
            p.row.map(|r| {
                if report.kind == "boundaries" {
                    format!("要素 {r}")
                } else {
                    format!("第 {r} 行")
                }
            }),
            p.column.clone(),
            p.value.clone(),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(", ");
        let level = match p.severity {
            paicha::import::Severity::Error => "错误",
            paicha::import::Severity::Warning => "提示",
        };
        say!("[{level}] {at}: {}", p.reason);
    }
    if report.problems.len() > SHOWN {
        say!(
            "… and {} more (write them all with --report FILE.xlsx)",
            report.problems.len() - SHOWN
        );
    }
    Ok(())
}

fn trim_float(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        format!("{v:.4}")
    }
}

fn write_report(report: &paicha::import::Report, path: &Path) -> Result<()> {
    let bytes = match path.extension().and_then(|e| e.to_str()) {
        Some("xlsx") => report.to_xlsx()?,
        Some("json") => serde_json::to_vec_pretty(report)?,
        _ => anyhow::bail!("--report {} must end in .xlsx or .json", path.display()),
    };
    std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))?;
    say!("report written to {}", path.display());
    Ok(())
}

/// Where `export persons` writes each row.
type RowSink<'a> = dyn FnMut(&[String]) -> Result<()> + 'a;

/// `export persons`: every person in a national system's layout, a title row and the
/// data date above the header, every cell text (IDs and numbers keep every digit),
/// streamed to the file row by row (a million persons need no more memory than one).
fn export_persons(conn: &duckdb::Connection, layout: PersonsLayout, out: &Path) -> Result<()> {
    use paicha::import::households::{columns::Vocabulary, layout::Layout};
    /// Rows of an XLSX sheet, the title and the header included.
    const MAX_ROWS: u32 = 1_048_576;
    let layout = match layout {
        PersonsLayout::Fpf => Layout::Fpf,
        PersonsLayout::Jdlk => Layout::Jdlk,
    };
    let columns = layout.columns(&Vocabulary::builtin());
    let headers: Vec<&str> = columns.iter().map(|(_, h)| h.as_str()).collect();
    let date = store::meta(conn, "data_date")?.unwrap_or_default();
    let title = format!("{}（数据时间：{date}）", layout.title());
    let mut names: Vec<String> = Vec::new();
    let mut each = |mut write: Box<RowSink<'_>>| -> Result<u32> {
        let mut n = 0;
        store::households::export(conn, HouseholdExport::Persons, |record| {
            if names.is_empty() {
                names = record.to_vec();
                return Ok(());
            }
            n += 1;
            write(&layout.row(&columns, &names, record))
        })
        .map_err(|e| match e {
            store::households::ExportError::Sink(e) => e,
            store::households::ExportError::Store(e) => anyhow::Error::new(e),
        })?;
        Ok(n)
    };
    let persons = match out.extension().and_then(|e| e.to_str()) {
        Some("csv") => {
            let file =
                File::create(out).with_context(|| format!("cannot create {}", out.display()))?;
            let mut writer = paicha::formats::csv_writer(BufWriter::new(file))?;
            // The title row above the header, as the systems write it.
            let mut title_row = vec![String::new(); headers.len()];
            title_row[0].clone_from(&title);
            writer.write_record(&title_row)?;
            writer.write_record(&headers)?;
            let n = each(Box::new(|row| Ok(writer.write_record(row)?)))?;
            writer.flush()?;
            n
        }
        Some("xlsx") => {
            let mut book = rust_xlsxwriter::Workbook::new();
            let sheet = book.add_worksheet_with_constant_memory()?;
            sheet.set_name(layout.title())?;
            let bold = rust_xlsxwriter::Format::new().set_bold();
            sheet.write_string_with_format(0, 0, &title, &bold)?;
            for (c, h) in headers.iter().enumerate() {
                sheet.write_string_with_format(1, c as u16, *h, &bold)?;
            }
            let mut r: u32 = 2;
            let n = each(Box::new(|row| {
                anyhow::ensure!(
                    r < MAX_ROWS,
                    "more persons than an XLSX sheet holds: write .csv"
                );
                for (c, v) in row.iter().enumerate().filter(|(_, v)| !v.is_empty()) {
                    sheet.write_string(r, c as u16, v)?;
                }
                r += 1;
                Ok(())
            }))?;
            book.save(out)
                .with_context(|| format!("cannot write {}", out.display()))?;
            n
        }
        _ => anyhow::bail!("--out {} must end in .csv or .xlsx", out.display()),
    };
    say!("wrote {persons} persons to {}", out.display());
    audit_cli(
        conn,
        "export",
        "paicha export persons",
        out,
        u64::from(persons),
    )
}

/// Writes an export as `.csv` or `.xlsx`, by the file's extension, and records it in the
/// audit log.
fn export_table(conn: &duckdb::Connection, which: HouseholdExport, out: &Path) -> Result<()> {
    let rows = match out.extension().and_then(|e| e.to_str()) {
        Some("csv") => export_csv(conn, which, out)?,
        Some("xlsx") => export_xlsx(conn, which, out)?,
        _ => anyhow::bail!("--out {} must end in .csv or .xlsx", out.display()),
    };
    let what = match which {
        HouseholdExport::Households => "households",
        HouseholdExport::Members => "members",
        HouseholdExport::Flaws => "flaws",
        HouseholdExport::Persons => "persons",
    };
    audit_cli(conn, "export", &format!("paicha export {what}"), out, rows)
}

/// Records a command-line read or write of personal data in the audit log, as the API
/// records its own: the operating-system user (`cli:NAME`), the command, the file.
fn audit_cli(
    conn: &duckdb::Connection,
    action: &str,
    command: &str,
    file: &Path,
    rows: u64,
) -> Result<()> {
    let user = std::env::var("USER").unwrap_or_else(|_| "unknown".to_owned());
    store::accounts::append_audit(
        conn,
        &[store::accounts::AuditRecord {
            at: paicha::domain::calendar::utc_timestamp(),
            user: Some(format!("cli:{user}")),
            action: action.to_owned(),
            route: Some(command.to_owned()),
            detail: Some(file.display().to_string()),
            rows: Some(i64::try_from(rows).unwrap_or(i64::MAX)),
        }],
    )?;
    Ok(())
}

/// Writes an export as one XLSX sheet, row by row: numbers, codes and ID numbers
/// (columns named `*_no`, `*_code`, `*id_number*`, `*phone*`) as text cells so that
/// they keep every digit, other numeric values as numbers.
fn export_xlsx(conn: &duckdb::Connection, which: HouseholdExport, out: &Path) -> Result<u64> {
    /// Rows of an XLSX sheet, the header included.
    const MAX_ROWS: u32 = 1_048_576;
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet_with_constant_memory()?;
    let bold = rust_xlsxwriter::Format::new().set_bold();
    let mut text_columns: Vec<bool> = Vec::new();
    let mut r: u32 = 0;
    store::households::export(conn, which, |record| -> Result<()> {
        if r == MAX_ROWS {
            anyhow::bail!(
                "the export has more than {} rows, more than an XLSX sheet holds: write .csv",
                MAX_ROWS - 1
            );
        }
        if r == 0 {
            text_columns = record
                .iter()
                .map(|name| {
                    name.ends_with("_no")
                        || name.ends_with("_code")
                        || name.contains("id_number")
                        || name.contains("phone")
                })
                .collect();
            for (c, name) in record.iter().enumerate() {
                sheet.write_string_with_format(0, c as u16, name, &bold)?;
            }
        } else {
            for (c, value) in record.iter().enumerate() {
                let number = value.parse::<f64>().ok().filter(|x| x.is_finite());
                match number {
                    _ if value.is_empty() => {}
                    Some(x) if !text_columns.get(c).copied().unwrap_or(true) => {
                        sheet.write_number(r, c as u16, x)?;
                    }
                    _ => {
                        sheet.write_string(r, c as u16, value)?;
                    }
                }
            }
        }
        r += 1;
        Ok(())
    })
    .map_err(|e| match e {
        store::households::ExportError::Sink(e) => e,
        store::households::ExportError::Store(e) => anyhow::Error::new(e),
    })
    .with_context(|| format!("cannot write {}", out.display()))?;
    book.save(out)
        .with_context(|| format!("cannot write {}", out.display()))?;
    tracing::info!("wrote {} rows to {}", r.saturating_sub(1), out.display());
    Ok(u64::from(r.saturating_sub(1)))
}

fn export_csv(conn: &duckdb::Connection, which: HouseholdExport, out: &Path) -> Result<u64> {
    let file = File::create(out).with_context(|| format!("cannot create {}", out.display()))?;
    let mut writer = paicha::formats::csv_writer(BufWriter::new(file))?;
    let rows = store::households::export(conn, which, |record| writer.write_record(record))
        .with_context(|| format!("cannot write {}", out.display()))?;
    writer.flush()?;
    tracing::info!("wrote {rows} rows to {}", out.display());
    Ok(rows)
}
