//! Raw command-line flags and `PAICHA_*` environment variables (clap).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use paicha::demo::{DEFAULT_HOUSEHOLDS, DEFAULT_SEED};
use paicha::settings::{DEFAULT_ADDR, DEFAULT_DB, DEFAULT_TILES_DIR};
use paicha::tiles::DEFAULT_HEAT_MIN_HOUSEHOLDS;

/// paicha (排查): maps and indicators for rural poverty inspection campaigns.
#[derive(Debug, Parser)]
#[command(version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The database option shared by every command.
#[derive(Debug, Args)]
pub struct DbArg {
    /// The DuckDB database file (before or after a subcommand's own arguments).
    #[arg(long, env = "PAICHA_DB", default_value = DEFAULT_DB, global = true)]
    pub db: PathBuf,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API and the web app; builds the demo county first if there is no database.
    Serve {
        #[command(flatten)]
        db: DbArg,
        /// The address to listen on.
        #[arg(long, env = "PAICHA_ADDR", default_value = DEFAULT_ADDR)]
        addr: SocketAddr,
        /// The folder of the web app (default: ./web, else the source tree's web/).
        #[arg(long, env = "PAICHA_WEB_DIR")]
        web_dir: Option<PathBuf>,
        /// The tiles folder: heat maps are cached in its cache/ subfolder.
        #[arg(long, env = "PAICHA_TILES_DIR", default_value = DEFAULT_TILES_DIR)]
        tiles_dir: PathBuf,
        /// Rate heat maps hide places with fewer households than this around them.
        #[arg(long, env = "PAICHA_HEAT_MIN_HOUSEHOLDS", default_value_t = DEFAULT_HEAT_MIN_HOUSEHOLDS)]
        heat_min_households: f64,
        /// A 天地图 (Tianditu) browser key: offers its online basemaps in the web app.
        /// Without one the map loads nothing from the internet.
        #[arg(long, env = "PAICHA_TIANDITU_KEY")]
        tianditu_key: Option<String>,
        /// The address users reach the service at (e.g. `https://paicha.example.gov.cn`),
        /// for the absolute tile URLs GIS clients read from TileJSON. Without it TileJSON
        /// gives paths from the server's root.
        #[arg(long, env = "PAICHA_PUBLIC_URL")]
        public_url: Option<String>,
        /// Serve HTTPS with this certificate chain (PEM); with --tls-key.
        #[arg(long, env = "PAICHA_TLS_CERT", requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// The certificate's private key (PEM); with --tls-cert.
        #[arg(long, env = "PAICHA_TLS_KEY", requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// A reverse proxy in front terminates HTTPS: serve plain HTTP on a
        /// non-loopback address anyway.
        #[arg(long, env = "PAICHA_BEHIND_PROXY")]
        behind_proxy: bool,
        /// The largest upload to the 数据导入 page or `POST /api/v1/imports`, all its
        /// files together, in MiB.
        #[arg(long, env = "PAICHA_UPLOAD_LIMIT_MB", default_value_t = 1024,
              value_parser = clap::value_parser!(u64).range(1..=65_536))]
        upload_limit_mb: u64,
    },
    /// (Re)build the demo county (synthetic boundaries and households) into the database.
    Demo {
        #[command(flatten)]
        db: DbArg,
        /// Number of households, up to 10 million (above 2 million the departments'
        /// rolls are left out: they are drawn in memory).
        #[arg(long, default_value_t = DEFAULT_HOUSEHOLDS)]
        households: u64,
        /// Seed of the generator: the same seed gives the same county.
        #[arg(long, default_value_t = DEFAULT_SEED)]
        seed: u64,
        /// Replace the database if it exists: everything in it (ledger edits, plans)
        /// is lost. Refused anyway while a server holds it.
        #[arg(long)]
        replace: bool,
        /// Build a city instead (抚顺市): Xinbin beside two more of Fushun's counties (real
        /// codes and outlines, made-up villages), the households shared between the three.
        #[arg(long)]
        city: bool,
        /// Build a province instead (辽宁省): the demo city's three counties under 抚顺市
        /// and two of 本溪市's (real codes and outlines, made-up villages) under 本溪市.
        #[arg(long, conflicts_with = "city")]
        province: bool,
        /// Dense villages, for benchmarks: with --city, about 1,100 villages (40 to 64 a
        /// township in the two drawn counties), and every village's edges given extra
        /// vertices with a little noise (shared edges alike on both sides) until each
        /// village has at least 300.
        #[arg(long)]
        dense: bool,
    },
    /// Measure speed (see BENCHMARKS.md).
    Bench {
        /// What to measure.
        #[command(subcommand)]
        what: BenchCommand,
    },
    /// Draw a static map (or, with --chart, a ranking chart) of an indicator's rate
    /// over the townships or villages of an area, as PNG or SVG (by the extension).
    Render {
        #[command(flatten)]
        db: DbArg,
        /// The indicator id (see GET /api/v1/indicators).
        indicator: String,
        /// township or village (default: one level below --within).
        #[arg(long)]
        level: Option<String>,
        /// The area drawn: the county (default) or a township code.
        #[arg(long)]
        within: Option<String>,
        /// catalog (the indicator's breaks), quantile, equal or natural.
        #[arg(long, default_value = "catalog")]
        classing: String,
        /// Classes for quantile, equal and natural.
        #[arg(long, default_value_t = 5)]
        classes: usize,
        /// A ranking bar chart instead of a map, with at most this many bars.
        #[arg(long)]
        chart: Option<usize>,
        /// The output file, .png or .svg.
        #[arg(long)]
        out: PathBuf,
    },
    /// Write a campaign's report of an area in the template's own table layout: XLSX
    /// (with a summary sheet) or printable HTML, by the extension.
    Report {
        #[command(flatten)]
        db: DbArg,
        /// The campaign id (see GET /api/v1/campaigns).
        #[arg(long)]
        campaign: String,
        /// The area: a township or a village (default: the campaign's area).
        #[arg(long)]
        within: Option<String>,
        /// The day the report is made, YYYY-MM-DD (default: today, or the campaign's end).
        #[arg(long)]
        as_of: Option<String>,
        /// Write the weekly progress report (周报: visits, findings and ledger changes
        /// per township and group, with the signature block) of this ISO week,
        /// YYYY-Www, instead of the ledger.
        #[arg(long, conflicts_with = "as_of")]
        week: Option<String>,
        /// The output file, .xlsx or .html.
        #[arg(long)]
        out: PathBuf,
    },
    /// Write a township's briefing pack (乡镇简报): the main indicators mapped and
    /// beside the county's, the open and overdue ledger items, the week's visits and
    /// findings, the next week's plan and the measures' coverage; an A4 PDF (the
    /// Chinese font embedded) or a printable HTML page, by the extension.
    Brief {
        #[command(flatten)]
        db: DbArg,
        /// The township's code (9 digits).
        #[arg(long)]
        township: String,
        /// The campaign id (default: the latest campaign covering the township).
        #[arg(long)]
        campaign: Option<String>,
        /// The ISO week reported, YYYY-Www (default: this week while the campaign runs,
        /// else its last week with a visit in the township).
        #[arg(long)]
        week: Option<String>,
        /// The output file, .pdf or .html.
        #[arg(long)]
        out: PathBuf,
    },
    /// Make a field-visit plan from a request file (the body of POST /api/v1/plans),
    /// store it, and write it as JSON, GPX, KML, GeoJSON, CSV or the printable HTML visit
    /// sheet (by the extension).
    Plan {
        #[command(flatten)]
        db: DbArg,
        /// The request as JSON, with the fields of `POST /api/v1/plans`.
        request: PathBuf,
        /// The file to write: .json, .gpx, .kml, .geojson, .csv, .xlsx (visits and the
        /// targets not planned, as text cells) or .html (the printable visit sheets).
        #[arg(long)]
        out: PathBuf,
    },
    /// Solve a TSPLIB instance (EUC_2D) with the route solver; prints the tour length
    /// with TSPLIB's rounding as one JSON line.
    Tsp {
        /// The `.tsp` file.
        file: PathBuf,
        /// Time limit in milliseconds.
        #[arg(long, default_value_t = 1000)]
        time_limit_ms: u64,
        /// Seed of the search.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Also print the tour (1-based node ids, as TSPLIB numbers them).
        #[arg(long)]
        tour: bool,
    },
    /// Export stored data to files (a local admin command: household exports hold
    /// full names and ID numbers).
    Export {
        #[command(flatten)]
        db: DbArg,
        /// What to export.
        #[command(subcommand)]
        what: ExportCommand,
    },
    /// Accounts: who may sign in, with which roles in which areas (stop the server
    /// first; while it runs, admins use the 用户管理 page).
    User {
        #[command(flatten)]
        db: DbArg,
        /// What to do.
        #[command(subcommand)]
        what: UserCommand,
    },
    /// The audit log (sign-ins, reads of personal data, writes, exports), newest first,
    /// as tab-separated lines.
    Audit {
        #[command(flatten)]
        db: DbArg,
        /// From this day (YYYY-MM-DD) or UTC time on.
        #[arg(long)]
        since: Option<String>,
        /// One account's lines.
        #[arg(long)]
        user: Option<String>,
        /// One action's lines (`sign_in`, `sign_in_failed`, `read_personal`, `write`,
        /// `export` …).
        #[arg(long)]
        action: Option<String>,
        /// Only lines before this day (YYYY-MM-DD) or UTC time (for the next page).
        #[arg(long)]
        before: Option<String>,
        /// At most this many lines.
        #[arg(long, default_value_t = 1000)]
        limit: usize,
    },
    /// Import an office's own files (stop the server first). Reads the file and prints
    /// a report (a dry run); --commit writes, as a new data version that can be undone.
    Import {
        #[command(flatten)]
        db: DbArg,
        /// What to import.
        #[command(subcommand)]
        what: ImportCommand,
    },
}

/// What `paicha import` does.
#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Division codes (统计用区划代码): the statistics bureau's table (代码, 名称,
    /// 城乡分类代码; 12-digit codes) or a list of code, name, level, parent; CSV in
    /// UTF-8 or GBK, or XLSX; title rows and a missing header are fine. Adds the new
    /// divisions and renames changed ones; creates the database if there is none.
    Divisions {
        /// The file (.csv or .xlsx).
        file: PathBuf,
        /// The header of the code column, when it is none of 代码, 区划代码, code …
        #[arg(long)]
        code_column: Option<String>,
        /// The header of the name column, when it is none of 名称, 区划名称, name …
        #[arg(long)]
        name_column: Option<String>,
        /// Also write the report to this file: .xlsx (for a clerk) or .json.
        #[arg(long)]
        report: Option<PathBuf>,
        /// Write the divisions if the report has no error (all of them or none).
        #[arg(long)]
        commit: bool,
    },
    /// Boundaries of the stored divisions from a Shapefile (`.shp` with its `.shx`,
    /// `.dbf`, `.prj` and `.cpg` beside it), GeoJSON, `GeoPackage` (.gpkg), or a `.zip` of any of these; in
    /// CGCS2000 or WGS-84 lon/lat or CGCS2000 Gauss-Krüger (3- or 6-degree zones, with
    /// or without the zone number in the easting).
    Boundaries {
        /// The file.
        file: PathBuf,
        /// The level of the file's features.
        #[arg(long, value_enum)]
        level: ExportLevel,
        /// The coordinate system when the file does not declare it (or declares it
        /// wrong), e.g. EPSG:4528 or EPSG:4490.
        #[arg(long)]
        crs: Option<String>,
        /// The attribute holding the division code (default: ZLDWDM, XZQDM, CODE, 村代码 …).
        #[arg(long)]
        code_field: Option<String>,
        /// The attribute holding the name (default: ZLDWMC, XZQMC, NAME, 村名称 …).
        #[arg(long)]
        name_field: Option<String>,
        /// Also write the report to this file: .xlsx (for a clerk) or .json.
        #[arg(long)]
        report: Option<PathBuf>,
        /// Write the boundaries if the report has no error (all of them or none).
        #[arg(long)]
        commit: bool,
    },
    /// Households and persons from the national systems' exports (建档立卡 or 防返贫
    /// layout, one row per person), XLSX or CSV in UTF-8 or GBK: the header is found
    /// below title rows, header names are matched from `data/household_columns.toml`,
    /// places by name within their parent (or by a village code column). A commit
    /// replaces the stored households as a new data version (undo puts them back).
    Households {
        /// The files (.xlsx or .csv); several are read as one list.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Only this sheet of each workbook (default: every sheet with a header).
        #[arg(long)]
        sheet: Option<String>,
        /// The date the data describes (数据时间), YYYY-MM-DD, when no title row says
        /// it; ages are counted to it (default: today).
        #[arg(long)]
        date: Option<String>,
        /// More header names, in the shape of `data/household_columns.toml` (added to
        /// the built-in ones).
        #[arg(long)]
        columns: Option<PathBuf>,
        /// Also write the report to this file: .xlsx (for a clerk) or .json.
        #[arg(long)]
        report: Option<PathBuf>,
        /// Replace the stored households if the report has no error (all or none).
        #[arg(long)]
        commit: bool,
    },
    /// Household positions from the positioning app's table: 户编号 (or the head's
    /// 证件号码), 经度, 纬度 and 坐标系 (WGS84, CGCS2000, GCJ02, BD09; left empty, the
    /// location checks decide), decimal degrees or 度分秒; swapped pairs are put right.
    Gps {
        /// The file (.xlsx or .csv).
        file: PathBuf,
        /// More header names, in the shape of `data/household_columns.toml`.
        #[arg(long)]
        columns: Option<PathBuf>,
        /// Also write the report to this file: .xlsx (for a clerk) or .json.
        #[arg(long)]
        report: Option<PathBuf>,
        /// Write the positions if the report has no error (all or none).
        #[arg(long)]
        commit: bool,
    },
    /// A department's roll (行业部门数据) of one kind of `data/rolls.toml` (edu 学籍,
    /// insurance 医保, housing 危房改造, water 饮水, civil 低保特困, disability 残疾人 …),
    /// XLSX, XLS or CSV in UTF-8 or GBK, title rows above the header; each row's
    /// 证件号码 (or 户编号) is matched to the registry. A commit replaces that kind's
    /// roll of the county as a new data version (undo puts the previous one back).
    Roll {
        /// The roll's kind, an id of `data/rolls.toml` (or of --rolls).
        #[arg(long)]
        kind: String,
        /// The files (.xlsx, .xls or .csv); several are read as one roll.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The county whose department sent it (default: the only county stored).
        #[arg(long)]
        county: Option<String>,
        /// Only this sheet of each workbook (default: every sheet with a header).
        #[arg(long)]
        sheet: Option<String>,
        /// The roll kinds and their columns, in the shape of `data/rolls.toml`
        /// (replacing the built-in ones): a county's own kinds, without a rebuild.
        #[arg(long, env = "PAICHA_ROLLS")]
        rolls: Option<PathBuf>,
        /// Also write the report to this file: .xlsx (for a clerk) or .json.
        #[arg(long)]
        report: Option<PathBuf>,
        /// Replace the stored roll if the report has no error (all or none).
        #[arg(long, conflicts_with = "dry_run")]
        commit: bool,
        /// Only read and report (what happens without --commit).
        #[arg(long)]
        dry_run: bool,
    },
    /// A department's measures file (帮扶措施清单): per row 户编号 (or the head's 证件号码),
    /// 年度, 帮扶措施 (names, or one column per measure holding 是/否 or an amount),
    /// 责任部门 and 金额; XLSX or CSV in UTF-8 or GBK, title rows above the header. A
    /// commit writes each row in place of the stored measure of its household, year and
    /// kind, as a new data version (undo puts the replaced ones back).
    Measures {
        /// The file (.xlsx or .csv).
        file: PathBuf,
        /// The year of rows that give none, when the file has no 年度 column (default:
        /// a year in the title rows, e.g. 2018年产业帮扶台账).
        #[arg(long)]
        year: Option<i32>,
        /// More header names, in the shape of `data/household_columns.toml`.
        #[arg(long)]
        columns: Option<PathBuf>,
        /// Also write the report to this file: .xlsx (for a clerk) or .json.
        #[arg(long)]
        report: Option<PathBuf>,
        /// Write the measures if the report has no error (all or none).
        #[arg(long)]
        commit: bool,
    },
    /// The village information form (贫困村信息采集表, seed 000 三、（四）): one row per
    /// village, keyed by 村代码 or by 村名 (with 乡镇 where two townships share a name),
    /// with the columns of the exit standard (`data/exit_standard.toml`, or the file
    /// `PAICHA_EXIT_STANDARD` names): 村集体经济收入, 通硬化路, 安全饮水覆盖率, 通动力电,
    /// 通宽带, 标准化卫生室, 合格村医, 综合文化服务中心 … XLSX, XLS or CSV in UTF-8 or
    /// GBK. A commit replaces the form values of the villages in the file as a new data
    /// version (undo puts the previous ones back).
    VillageForm {
        /// The files (.xlsx, .xls or .csv); several are read as one form.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Also write the report to this file: .xlsx (for a clerk) or .json.
        #[arg(long)]
        report: Option<PathBuf>,
        /// Write the values if the report has no error (all or none).
        #[arg(long, conflicts_with = "dry_run")]
        commit: bool,
        /// Only read and report (what happens without --commit).
        #[arg(long)]
        dry_run: bool,
    },
    /// The committed imports, newest first.
    List,
    /// Every attribute of every feature an import applied, as it came, with the
    /// division it was matched to: .csv (UTF-8 with BOM) or .xlsx (text cells).
    Attributes {
        /// The import's id (see `paicha import list`).
        id: String,
        /// The output file (.csv or .xlsx).
        #[arg(long)]
        out: PathBuf,
    },
    /// Put back what the latest import in force replaced.
    Undo {
        /// The import's id (see `paicha import list`).
        id: String,
    },
}

/// What `paicha user` does. Passwords are read from standard input (a prompt on a
/// terminal), never from the command line, where `ps` and the shell history see them.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add an account with one or more roles, each in an area: `--role township
    /// --area 211422101 --role village --area 211422101201`.
    Add {
        /// The account name (what the person signs in with).
        name: String,
        /// The name shown and written into ledgers (default: the account name).
        #[arg(long)]
        display: Option<String>,
        /// A role: admin (管理员), analyst (县级分析), leader (领导), township (乡镇),
        /// village (村), group (督查组), evaluator (第三方评估), department (行业部门).
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
        /// The area of each role, a division code, in the order of --role.
        #[arg(long = "area", required = true)]
        areas: Vec<String>,
        /// The last day of every role given (YYYY-MM-DD), e.g. a campaign's end.
        #[arg(long, conflicts_with = "campaign")]
        until: Option<String>,
        /// Every role given ends with this campaign (its last day), as an inspection
        /// group's does.
        #[arg(long)]
        campaign: Option<String>,
        /// The department of a department role (教育, 医保, 住建, 水务, 民政 …): the
        /// indicators whose `departments` in the catalog name it are all it sees.
        #[arg(long)]
        department: Option<String>,
    },
    /// Draw a third-party evaluator's villages (第三方评估抽样): N villages inside an
    /// area, spread over its townships, at random; they replace the account's
    /// evaluator grants (its other roles stay). The seed is printed, so that the draw
    /// can be repeated and checked.
    Sample {
        /// The account name.
        name: String,
        /// How many villages.
        #[arg(long)]
        villages: usize,
        /// The area to draw in (default: the county, or the city above several).
        #[arg(long)]
        within: Option<String>,
        /// The seed of the draw (default: a random one).
        #[arg(long)]
        seed: Option<u64>,
        /// The last day the evaluator may look (YYYY-MM-DD).
        #[arg(long)]
        until: Option<String>,
    },
    /// List the accounts with their roles and areas.
    List,
    /// Set an account's password (its sessions end).
    Passwd {
        /// The account name.
        name: String,
    },
    /// Stop an account from signing in (its tokens stop working too).
    Disable {
        /// The account name.
        name: String,
    },
    /// Let a disabled account sign in again.
    Enable {
        /// The account name.
        name: String,
    },
    /// Make an API token for an account (for scripts and QGIS); printed once.
    Token {
        /// The account name.
        name: String,
        /// What it is for.
        #[arg(long, default_value = "命令行")]
        label: String,
    },
}

/// What `paicha bench` measures.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Build the village index and assign N synthetic household positions over a
    /// village layer (the demo county's unless --villages or --db is given); prints
    /// the figures as one JSON line.
    Assign {
        /// Number of positions.
        #[arg(long, default_value_t = 1_000_000)]
        households: usize,
        /// Seed of the boundaries and the positions.
        #[arg(long, default_value_t = DEFAULT_SEED)]
        seed: u64,
        /// Villages from a GeoJSON file of (multi)polygon features with a `code`
        /// property, as `paicha export areas --level village` writes them.
        #[arg(long, conflicts_with = "db")]
        villages: Option<PathBuf>,
        /// Villages (and communities) from an imported database.
        #[arg(long)]
        db: Option<PathBuf>,
        /// Also write villages.geojson and points.csv here, for a peer to run on.
        #[arg(long)]
        export_dir: Option<PathBuf>,
    },
    /// Uncached vector and heat tiles over loopback on an existing database; prints
    /// one JSON line.
    Tiles {
        #[command(flatten)]
        db: DbArg,
        /// Tiles per zoom level.
        #[arg(long, default_value_t = 40)]
        per_zoom: usize,
        /// Write the paths requested here, one per line, for a load generator.
        #[arg(long)]
        paths_out: Option<PathBuf>,
        /// Only write the paths (to --paths-out), measuring nothing: the tile list that
        /// bench/postgis.sh asks of both servers.
        #[arg(long, requires = "paths_out")]
        paths_only: bool,
        /// With --paths-only, also write every household with a position here as
        /// CSV, as household tiles draw it (row, number, village code, category,
        /// failed indicators, WGS-84 lon/lat): what a peer loads to draw the same
        /// points.
        #[arg(long, requires = "paths_only")]
        households_out: Option<PathBuf>,
    },
    /// Village-level figures of every indicator on an existing database: DuckDB
    /// alone, then `GET /api/v1/stats` over loopback; prints one JSON line.
    Stats {
        #[command(flatten)]
        db: DbArg,
        /// Timed runs of each, after one warm-up.
        #[arg(long, default_value_t = 20)]
        runs: usize,
    },
    /// Every township's briefing (简报) on an existing database, as PDF and as HTML,
    /// each gathered from the store and written whole; prints one JSON line.
    Brief {
        #[command(flatten)]
        db: DbArg,
        /// The week reported (default: each briefing's own default).
        #[arg(long)]
        week: Option<String>,
    },
    /// The cross-checks of the department rolls on an existing database: commits a
    /// roll of N rows drawn from its registry (an import, undoable), then times every
    /// rule against DuckDB alone joining the same keys; prints one JSON line.
    Rolls {
        #[command(flatten)]
        db: DbArg,
        /// Rows of the roll.
        #[arg(long, default_value_t = 100_000)]
        rows: usize,
        /// Timed runs of each, after one warm-up.
        #[arg(long, default_value_t = 5)]
        runs: usize,
    },
}

/// What `paicha export` writes.
#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// Area boundaries as a GeoJSON FeatureCollection.
    Areas {
        /// Which level.
        #[arg(long, value_enum)]
        level: ExportLevel,
        /// Only the children of this area code.
        #[arg(long)]
        parent: Option<String>,
        /// The output file (.geojson).
        #[arg(long)]
        out: PathBuf,
    },
    /// Every household with all raw fields, as CSV (UTF-8 with BOM) or XLSX (numbers
    /// and ID numbers as text cells, which keep every digit).
    Households {
        /// The output file (.csv or .xlsx).
        #[arg(long)]
        out: PathBuf,
    },
    /// Every household member with all raw fields, as CSV (UTF-8 with BOM) or XLSX.
    Members {
        /// The output file (.csv or .xlsx).
        #[arg(long)]
        out: PathBuf,
    },
    /// Every person in a national system's layout (one row per person, the
    /// household's fields repeated; Chinese headers and values, a title row and 数据时间
    /// above), as CSV (UTF-8 with BOM) or XLSX (text cells): what `paicha import
    /// households` reads back.
    Persons {
        /// fpf: 防返贫监测 (2021 on; imports back exactly); jdlk: 建档立卡 (2014–2020).
        #[arg(long, value_enum, default_value = "fpf")]
        layout: PersonsLayout,
        /// The output file (.csv or .xlsx).
        #[arg(long)]
        out: PathBuf,
    },
    /// The demo's recorded deliberate flaws, as CSV (UTF-8 with BOM) or XLSX.
    Flaws {
        /// The output file (.csv or .xlsx).
        #[arg(long)]
        out: PathBuf,
    },
}

/// The national systems' layouts `export persons` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PersonsLayout {
    /// 防返贫监测信息系统 (2021 on).
    Fpf,
    /// 建档立卡 (2014–2020).
    Jdlk,
}

/// The levels of divisions that `export areas` and `import boundaries` take.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ExportLevel {
    /// Provinces (2-digit codes).
    Province,
    /// Cities (4-digit codes), above several counties.
    City,
    /// Counties (6-digit codes).
    County,
    /// Townships.
    Township,
    /// The villages and communities.
    Village,
}
