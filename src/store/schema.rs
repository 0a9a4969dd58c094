//! The database schema and its migrations.
//!
//! Each migration is applied once, in order, inside one transaction with the bump of
//! `meta.schema_version`; a database written by a newer paicha is refused rather than
//! guessed at.

/// The schema version this build of paicha writes and reads.
pub const SCHEMA_VERSION: i64 = 15;

/// Migrations, index `i` moving the schema from version `i` to `i + 1`.
pub const MIGRATIONS: &[&str] = &[
    // 1: areas, households, members, poverty lines, the demo's recorded flaws.
    r"
    CREATE TABLE areas (
        code            VARCHAR PRIMARY KEY,
        name            VARCHAR NOT NULL,
        level           VARCHAR NOT NULL,
        parent_code     VARCHAR,
        poverty_village BOOLEAN NOT NULL DEFAULT false,
        -- WKB (ISO, little endian) in WGS-84 lon/lat degrees.
        geom            BLOB NOT NULL,
        min_lon DOUBLE NOT NULL, min_lat DOUBLE NOT NULL,
        max_lon DOUBLE NOT NULL, max_lat DOUBLE NOT NULL,
        area_km2        DOUBLE NOT NULL,
        -- A point inside the area where a label or a fallback position goes.
        label_lon DOUBLE NOT NULL, label_lat DOUBLE NOT NULL
    );
    CREATE TABLE households (
        household_no      VARCHAR NOT NULL,
        village_code      VARCHAR NOT NULL,
        township_code     VARCHAR NOT NULL,
        head_name         VARCHAR NOT NULL,
        category          VARCHAR NOT NULL,
        risk_type         VARCHAR,
        risk_state        VARCHAR,
        income_per_capita DOUBLE NOT NULL,
        house_grade       VARCHAR NOT NULL,
        house_occupied    BOOLEAN NOT NULL,
        water_safe        BOOLEAN NOT NULL,
        water_piped       BOOLEAN NOT NULL,
        food_secure       BOOLEAN NOT NULL,
        clothing_secure   BOOLEAN NOT NULL,
        member_count      INTEGER NOT NULL,
        -- The position as recorded, in the declared system; NULL when none. Kept as
        -- evidence: location-quality checks need the raw values.
        gps_lon DOUBLE, gps_lat DOUBLE, gps_crs VARCHAR,
        -- The same position converted to WGS-84, what every query uses.
        lon DOUBLE, lat DOUBLE,
        -- Hilbert key of the position (or of the village label point when there is
        -- none): rows are stored in this order so that zone maps prune by area.
        hilbert UBIGINT NOT NULL
    );
    CREATE TABLE members (
        household_no     VARCHAR NOT NULL,
        seq              UTINYINT NOT NULL,
        name             VARCHAR NOT NULL,
        id_number        VARCHAR NOT NULL,
        sex              VARCHAR NOT NULL,
        age              UTINYINT NOT NULL,
        relation         VARCHAR NOT NULL,
        schooling        VARCHAR,
        medical_insured  BOOLEAN NOT NULL,
        disability_grade UTINYINT
    );
    CREATE TABLE poverty_lines (
        year            INTEGER NOT NULL,
        region_code     VARCHAR NOT NULL,
        region_name     VARCHAR NOT NULL,
        yuan_per_capita DOUBLE NOT NULL,
        kind            VARCHAR NOT NULL,
        source          VARCHAR NOT NULL,
        PRIMARY KEY (year, region_code, kind)
    );
    CREATE TABLE demo_flaws (
        household_no VARCHAR NOT NULL,
        flaw         VARCHAR NOT NULL,
        -- The other party of the flaw: the village a misplaced point lies in, or the
        -- household whose coordinates a duplicate copies.
        related      VARCHAR
    );
    ",
    // 2: checklist campaigns, their ledger entries and every change to them.
    r"
    CREATE TABLE campaigns (
        id          VARCHAR PRIMARY KEY,
        name        VARCHAR NOT NULL,
        template_id VARCHAR NOT NULL,
        area_code   VARCHAR NOT NULL,
        starts      VARCHAR NOT NULL,
        ends        VARCHAR NOT NULL,
        cycle       VARCHAR NOT NULL,
        due_day     UTINYINT NOT NULL
    );
    CREATE TABLE ledger_entries (
        campaign_id  VARCHAR NOT NULL,
        village_code VARCHAR NOT NULL,
        position     UINTEGER NOT NULL,
        status       VARCHAR NOT NULL,
        problem VARCHAR, measure VARCHAR, deadline VARCHAR, responsible VARCHAR, result VARCHAR,
        secretary VARCHAR, secretary_at VARCHAR,
        first_secretary VARCHAR, first_secretary_at VARCHAR,
        group_leader VARCHAR, group_leader_at VARCHAR,
        notes VARCHAR,
        version    BIGINT NOT NULL,
        updated_at VARCHAR NOT NULL,
        updated_by VARCHAR NOT NULL,
        PRIMARY KEY (campaign_id, village_code, position)
    );
    -- One row per field changed: who changed what, when, from what to what.
    CREATE TABLE ledger_history (
        campaign_id  VARCHAR NOT NULL,
        village_code VARCHAR NOT NULL,
        position     UINTEGER NOT NULL,
        version      BIGINT NOT NULL,
        changed_at   VARCHAR NOT NULL,
        changed_by   VARCHAR NOT NULL,
        field        VARCHAR NOT NULL,
        old_value    VARCHAR,
        new_value    VARCHAR
    );
    ",
    // 3: checklist templates users add (the built-in ones live in data/checklists).
    r"
    CREATE TABLE checklist_templates (
        id   VARCHAR PRIMARY KEY,
        -- The template with its items, as JSON (ledger::checklist::Template).
        body VARCHAR NOT NULL
    );
    ",
    // 4: field-visit plans, kept so that a plan's link and downloads keep working.
    r"
    CREATE TABLE plans (
        id      VARCHAR PRIMARY KEY,
        created VARCHAR NOT NULL,
        title   VARCHAR NOT NULL,
        -- The whole plan as JSON (planner::plan::Plan).
        body    VARCHAR NOT NULL
    );
    ",
    // 5: imports and what each one replaced, so that a commit can be listed and undone.
    r"
    CREATE TABLE imports (
        id           VARCHAR PRIMARY KEY,
        kind         VARCHAR NOT NULL,
        source       VARCHAR NOT NULL,
        committed_at VARCHAR NOT NULL,
        -- The data version the commit wrote, and the one it replaced.
        data_version BIGINT NOT NULL,
        previous_version BIGINT NOT NULL,
        -- The import's report as JSON (import::Report).
        report       VARCHAR NOT NULL,
        undone_at    VARCHAR
    );
    -- Each area's row as it was before an import replaced its boundary.
    CREATE TABLE area_boundary_history (
        import_id VARCHAR NOT NULL,
        code      VARCHAR NOT NULL,
        geom      BLOB NOT NULL,
        min_lon DOUBLE NOT NULL, min_lat DOUBLE NOT NULL,
        max_lon DOUBLE NOT NULL, max_lat DOUBLE NOT NULL,
        area_km2  DOUBLE NOT NULL,
        label_lon DOUBLE NOT NULL, label_lat DOUBLE NOT NULL
    );
    -- Every attribute of every feature an import applied, as it came (a JSON list of
    -- [field, text] pairs in the file's order), so that nothing in the file is lost.
    CREATE TABLE import_feature_attributes (
        import_id  VARCHAR NOT NULL,
        code       VARCHAR NOT NULL,
        file       VARCHAR NOT NULL,
        row        UINTEGER NOT NULL,
        attributes VARCHAR NOT NULL
    );
    ",
    // 6: divisions without a boundary of their own (imported from the statistics
    // bureau's table before any boundary; a city or province whose outline is its
    // counties'), where each boundary came from, and what a divisions import replaced.
    r"
    ALTER TABLE areas ALTER COLUMN geom DROP NOT NULL;
    ALTER TABLE areas ALTER COLUMN min_lon DROP NOT NULL;
    ALTER TABLE areas ALTER COLUMN min_lat DROP NOT NULL;
    ALTER TABLE areas ALTER COLUMN max_lon DROP NOT NULL;
    ALTER TABLE areas ALTER COLUMN max_lat DROP NOT NULL;
    ALTER TABLE areas ALTER COLUMN area_km2 DROP NOT NULL;
    ALTER TABLE areas ALTER COLUMN label_lon DROP NOT NULL;
    ALTER TABLE areas ALTER COLUMN label_lat DROP NOT NULL;
    -- 'file': drawn from a file (or the demo); 'union': the union of the children's,
    -- kept up to date by every import; NULL: none yet.
    ALTER TABLE areas ADD COLUMN boundary_source VARCHAR;
    UPDATE areas SET boundary_source = 'file';
    ALTER TABLE area_boundary_history ALTER COLUMN geom DROP NOT NULL;
    ALTER TABLE area_boundary_history ALTER COLUMN min_lon DROP NOT NULL;
    ALTER TABLE area_boundary_history ALTER COLUMN min_lat DROP NOT NULL;
    ALTER TABLE area_boundary_history ALTER COLUMN max_lon DROP NOT NULL;
    ALTER TABLE area_boundary_history ALTER COLUMN max_lat DROP NOT NULL;
    ALTER TABLE area_boundary_history ALTER COLUMN area_km2 DROP NOT NULL;
    ALTER TABLE area_boundary_history ALTER COLUMN label_lon DROP NOT NULL;
    ALTER TABLE area_boundary_history ALTER COLUMN label_lat DROP NOT NULL;
    ALTER TABLE area_boundary_history ADD COLUMN boundary_source VARCHAR;
    UPDATE area_boundary_history SET boundary_source = 'file';
    -- Each division as it was before a divisions import (existed = false: the import
    -- added it, and an undo removes it).
    CREATE TABLE area_division_history (
        import_id   VARCHAR NOT NULL,
        code        VARCHAR NOT NULL,
        existed     BOOLEAN NOT NULL,
        name        VARCHAR,
        level       VARCHAR,
        parent_code VARCHAR
    );
    ",
    // 7: accounts, their roles per area, API tokens, and the audit log.
    r"
    CREATE TABLE users (
        name          VARCHAR PRIMARY KEY,
        display       VARCHAR NOT NULL,
        -- argon2id, PHC string format: the password itself is never stored.
        password_hash VARCHAR NOT NULL,
        created_at    VARCHAR NOT NULL,
        disabled_at   VARCHAR
    );
    -- One row per role a person holds, in an area, until a last day (NULL: no end).
    CREATE TABLE user_grants (
        user_name VARCHAR NOT NULL,
        role      VARCHAR NOT NULL,
        area_code VARCHAR NOT NULL,
        until     VARCHAR
    );
    -- Tokens for scripts and GIS clients: only a SHA-256 of each is kept.
    CREATE TABLE api_tokens (
        id         VARCHAR PRIMARY KEY,
        user_name  VARCHAR NOT NULL,
        label      VARCHAR NOT NULL,
        token_hash VARCHAR NOT NULL,
        created_at VARCHAR NOT NULL,
        revoked_at VARCHAR
    );
    -- Append-only: paicha inserts and never updates or deletes a row.
    CREATE TABLE audit_log (
        logged_at VARCHAR NOT NULL,
        user_name VARCHAR,
        action    VARCHAR NOT NULL,
        route     VARCHAR,
        -- What was read or changed: household numbers, an entry, before/after.
        detail    VARCHAR,
        rows      BIGINT
    );
    ",
    // 8: a department (行业部门) grant names its department. A demo database written
    // before keeps its department account working: it is the demo's 教育局.
    r"
    ALTER TABLE user_grants ADD COLUMN department VARCHAR;
    UPDATE user_grants SET department = '教育'
     WHERE role = 'department' AND user_name = 'department'
       AND EXISTS (SELECT 1 FROM meta WHERE key = 'source' AND value = 'demo');
    ",
    // 9: households and members as they were before a household import replaced them,
    // and the meta values (data date, source) it changed, so that it can be undone.
    r"
    CREATE TABLE households_history AS
        SELECT NULL::VARCHAR AS import_id, * FROM households LIMIT 0;
    CREATE TABLE members_history AS
        SELECT NULL::VARCHAR AS import_id, * FROM members LIMIT 0;
    CREATE TABLE import_meta_history (
        import_id VARCHAR NOT NULL,
        key       VARCHAR NOT NULL,
        -- NULL: the key was not set.
        value     VARCHAR
    );
    ",
    // 10: the rest of the national systems' household and person fields (issue 15).
    // Every new column may be NULL: unknown stays unknown, and rows written before
    // keep working. The history tables gain the same columns in the same order, since
    // households are kept and put back with `SELECT *`.
    r"
    -- Risks 2–5 (致贫/返贫风险2–5): codes joined by ',', in the file's order.
    ALTER TABLE households ADD COLUMN other_risks VARCHAR;
    ALTER TABLE households ADD COLUMN risk_elimination VARCHAR;
    -- 识别监测时间 and 消除监测时间, 'YYYY-MM'.
    ALTER TABLE households ADD COLUMN identified_month VARCHAR;
    ALTER TABLE households ADD COLUMN eliminated_month VARCHAR;
    ALTER TABLE households ADD COLUMN sanitary_toilet BOOLEAN;
    ALTER TABLE households ADD COLUMN relief VARCHAR;
    -- 帮扶措施: codes joined by ',', in catalog order; NULL when none.
    ALTER TABLE households ADD COLUMN aid_measures VARCHAR;
    ALTER TABLE households_history ADD COLUMN other_risks VARCHAR;
    ALTER TABLE households_history ADD COLUMN risk_elimination VARCHAR;
    ALTER TABLE households_history ADD COLUMN identified_month VARCHAR;
    ALTER TABLE households_history ADD COLUMN eliminated_month VARCHAR;
    ALTER TABLE households_history ADD COLUMN sanitary_toilet BOOLEAN;
    ALTER TABLE households_history ADD COLUMN relief VARCHAR;
    ALTER TABLE households_history ADD COLUMN aid_measures VARCHAR;
    ALTER TABLE members ADD COLUMN disability_kind VARCHAR;
    ALTER TABLE members ADD COLUMN education VARCHAR;
    ALTER TABLE members ADD COLUMN health VARCHAR;
    ALTER TABLE members ADD COLUMN labour_skill VARCHAR;
    ALTER TABLE members ADD COLUMN work_months UTINYINT;
    ALTER TABLE members ADD COLUMN serious_illness_insured BOOLEAN;
    ALTER TABLE members ADD COLUMN subsistence BOOLEAN;
    ALTER TABLE members ADD COLUMN extreme_poverty BOOLEAN;
    ALTER TABLE members_history ADD COLUMN disability_kind VARCHAR;
    ALTER TABLE members_history ADD COLUMN education VARCHAR;
    ALTER TABLE members_history ADD COLUMN health VARCHAR;
    ALTER TABLE members_history ADD COLUMN labour_skill VARCHAR;
    ALTER TABLE members_history ADD COLUMN work_months UTINYINT;
    ALTER TABLE members_history ADD COLUMN serious_illness_insured BOOLEAN;
    ALTER TABLE members_history ADD COLUMN subsistence BOOLEAN;
    ALTER TABLE members_history ADD COLUMN extreme_poverty BOOLEAN;
    ",
    // 11: browser sessions, so that a restart of the server signs nobody out. Only a
    // SHA-256 of each session's secret is kept, as for API tokens.
    r"
    CREATE TABLE sessions (
        digest       VARCHAR PRIMARY KEY,
        user_name    VARCHAR NOT NULL,
        csrf         VARCHAR NOT NULL,
        -- Unix seconds.
        started_at   BIGINT NOT NULL,
        last_seen_at BIGINT NOT NULL
    );
    ",
    // 12: department rolls (行业部门数据, issue 17): one row per roll row with its key
    // and name, its fields in a table of their own (a county declares its kinds and
    // columns in data/rolls.toml), what a roll import replaced, and the departments'
    // answers (核实结果) to the cross-checks' mismatches.
    r"
    CREATE TABLE roll_rows (
        -- Unique over every roll: what roll_values and the mismatches refer to.
        seq          UBIGINT NOT NULL,
        roll_kind    VARCHAR NOT NULL,
        -- The county whose department sent the roll.
        county_code  VARCHAR NOT NULL,
        -- Where the row came from: file (or file!sheet) and the row as Excel shows it.
        file         VARCHAR NOT NULL,
        row          UINTEGER NOT NULL,
        -- The key, normalised (18 characters, X upper case), and the name as written.
        id_number    VARCHAR,
        household_no VARCHAR,
        name         VARCHAR
    );
    -- A field's value: a code of its vocabulary, yes/no, YYYY-MM-DD, a number or text.
    CREATE TABLE roll_values (
        seq   UBIGINT NOT NULL,
        field VARCHAR NOT NULL,
        value VARCHAR NOT NULL
    );
    CREATE TABLE roll_rows_history AS
        SELECT NULL::VARCHAR AS import_id, * FROM roll_rows LIMIT 0;
    CREATE TABLE roll_values_history AS
        SELECT NULL::VARCHAR AS import_id, * FROM roll_values LIMIT 0;
    -- Which roll (kind and county) each roll import replaced.
    CREATE TABLE roll_imports (
        import_id   VARCHAR PRIMARY KEY,
        roll_kind   VARCHAR NOT NULL,
        county_code VARCHAR NOT NULL
    );
    -- A department's answer to a mismatch (the rule and the mismatch's key: an ID
    -- number or a household number), the latest one kept.
    CREATE TABLE crosscheck_answers (
        rule        VARCHAR NOT NULL,
        key         VARCHAR NOT NULL,
        result      VARCHAR NOT NULL,
        answered_by VARCHAR NOT NULL,
        answered_at VARCHAR NOT NULL,
        PRIMARY KEY (rule, key)
    );
    -- Every rule's mismatches in the data version (store::rolls::MISMATCHES), run
    -- again with each version's derivation.
    CREATE TABLE crosscheck_mismatches (
        rule VARCHAR, roll_kind VARCHAR, county VARCHAR, village_code VARCHAR,
        household_no VARCHAR, id_number VARCHAR, name VARCHAR, key VARCHAR,
        registry VARCHAR, roll_seq UBIGINT
    );
    -- The mismatches the demo planted in its rolls, for the tests.
    CREATE TABLE demo_roll_flaws (
        rule VARCHAR NOT NULL,
        key  VARCHAR NOT NULL
    );
    ",
    // 13 (issue 17): the assistance measures each
    // household received, per year, with the department that answers for each and the
    // amount where one is given. `source` is 'export' (the national export's measure
    // columns, written by a household import), 'demo', or the department file's name;
    // `import_id` the import that wrote the row (NULL: the demo). The rows an import
    // replaced are kept under its id (`replaced_by`), so that it can be undone.
    r"
    CREATE TABLE household_measures (
        household_no VARCHAR NOT NULL,
        year         SMALLINT NOT NULL,
        -- AidMeasure code (data/aid_measures.toml).
        measure      VARCHAR NOT NULL,
        department   VARCHAR NOT NULL,
        -- Yuan; NULL when the file gives none.
        amount       DOUBLE,
        source       VARCHAR NOT NULL,
        import_id    VARCHAR
    );
    CREATE TABLE household_measures_history AS
        SELECT NULL::VARCHAR AS replaced_by, * FROM household_measures LIMIT 0;
    ",
    // 14: field visits of a campaign's inspection groups (issue 18): one row per visit,
    // planned (plan, group, day, stop) or not (stop NULL), its findings as JSON, the
    // phone's position raw (with its system) and in WGS-84; photos apart, so that
    // listing visits never reads image bytes.
    r"
    CREATE TABLE visits (
        id            VARCHAR PRIMARY KEY,
        campaign_id   VARCHAR NOT NULL,
        plan_id       VARCHAR NOT NULL,
        group_no      INTEGER NOT NULL,
        group_name    VARCHAR NOT NULL,
        plan_day      INTEGER,
        stop_order    INTEGER,
        visit_date    VARCHAR NOT NULL,
        target_kind   VARCHAR NOT NULL,
        target_id     VARCHAR NOT NULL,
        target_label  VARCHAR NOT NULL,
        village_code  VARCHAR NOT NULL,
        outcome       VARCHAR NOT NULL,
        findings      VARCHAR NOT NULL,
        finding_count INTEGER NOT NULL,
        note          VARCHAR,
        raw_lon DOUBLE, raw_lat DOUBLE, raw_crs VARCHAR, accuracy_m DOUBLE,
        lon DOUBLE, lat DOUBLE,
        recorded_at   VARCHAR NOT NULL,
        recorded_by   VARCHAR NOT NULL,
        ledger_opened INTEGER NOT NULL
    );
    CREATE TABLE visit_photos (
        visit_id     VARCHAR PRIMARY KEY,
        content_type VARCHAR NOT NULL,
        bytes        BLOB NOT NULL,
        uploaded_at  VARCHAR NOT NULL,
        uploaded_by  VARCHAR NOT NULL
    );
    ",
    // 15: poverty-village exit (贫困村退出) and households that should be included (应纳未纳),
    // issue 18: the village information form's values (贫困村信息采集表) with what each
    // import replaced, the exit standard and monitoring lines in force (written from
    // data/exit_standard.toml whenever the service loads), the township's decisions on
    // the screening's candidates (every one kept), and the demo's planted failures.
    r"
    CREATE TABLE village_form_values (
        village_code VARCHAR NOT NULL,
        field        VARCHAR NOT NULL,
        -- Yes/no as 1 or 0, money in yuan, shares within 0–1, counts.
        value        DOUBLE NOT NULL,
        -- Where it came from: file (or file!sheet) and the row as Excel shows it.
        file         VARCHAR NOT NULL,
        row          UINTEGER NOT NULL
    );
    CREATE TABLE village_form_history AS
        SELECT NULL::VARCHAR AS import_id, * FROM village_form_values LIMIT 0;
    -- The villages each form import replaced the values of.
    CREATE TABLE village_form_imports (
        import_id    VARCHAR NOT NULL,
        village_code VARCHAR NOT NULL
    );
    CREATE TABLE exit_standard_items (
        position  UINTEGER NOT NULL,
        id        VARCHAR NOT NULL,
        name_zh   VARCHAR NOT NULL,
        measure   VARCHAR NOT NULL,
        op        VARCHAR NOT NULL,
        threshold DOUBLE NOT NULL,
        -- yes_no, number, money, ratio; NULL for the poverty incidence.
        field_type VARCHAR
    );
    CREATE TABLE monitoring_lines (
        year            INTEGER NOT NULL,
        region_code     VARCHAR NOT NULL,
        yuan_per_capita DOUBLE NOT NULL
    );
    -- Append-only: the latest (highest seq) decision of a candidate is in force.
    CREATE TABLE inclusion_decisions (
        seq         UBIGINT NOT NULL,
        candidate   VARCHAR NOT NULL,
        -- include (纳入) or exclude (不纳入).
        decision    VARCHAR NOT NULL,
        reason      VARCHAR NOT NULL,
        decided_by  VARCHAR NOT NULL,
        decided_at  VARCHAR NOT NULL
    );
    -- An item the demo's form fails on purpose, or `missing:<item>` for one it leaves
    -- without data.
    CREATE TABLE demo_exit_flaws (
        village_code VARCHAR NOT NULL,
        item         VARCHAR NOT NULL
    );
    -- Persons the demo put on its rolls outside the registry: whether the screening
    -- must find them, and the village it must place them in (NULL: none).
    CREATE TABLE demo_inclusion_plants (
        id_number    VARCHAR NOT NULL,
        candidate    BOOLEAN NOT NULL,
        village_code VARCHAR
    );
    ",
];
