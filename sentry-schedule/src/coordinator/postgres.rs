//! The PostgreSQL coordinator: a claim table keyed by `(slug, tick)`.
//!
//! It takes a [`sqlx::PgPool`] — the pool most tokio services already have — from sqlx 0.8
//! (the release line services use today, and the one that keeps this crate's minimum Rust
//! version; sqlx 0.9 needs Rust 1.94), built with only the `postgres`, `runtime-tokio` and
//! `chrono` features: no compile-time checked queries (they would need a database while
//! compiling), no TLS of its own (the pool's connect options decide).
use super::{
    millis, new_token, one_each, only, with_timeout, Claim, ClaimToken, Coordinator,
    CoordinatorError, CoordinatorFuture, Holder, Pause, RunOutcome, RunRecord, RunStatus,
    DEFAULT_RETENTION,
};
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgPool, PgPoolOptions, PgRow};
use sqlx::Row;
use std::time::Duration;

/// The connections of the pool [`Postgres::connect_lazy`] creates.
const POOL_SIZE: u32 = 4;
/// The schema version this release writes; stored in the table's comment. Version 2 adds
/// the index of unfinished claims the take-over sweep reads; version 3 the fencing tokens and
/// the table of paused jobs.
const SCHEMA_VERSION: u32 = 3;
/// The table comment's prefix; the version number follows it.
const COMMENT_PREFIX: &str = "sentry-schedule claims, schema version ";

/// Options of a [`Postgres`] coordinator.
#[derive(Debug, Clone)]
pub struct PostgresOptions {
    /// The schema of the claim table; `None`: the connection's `search_path`.
    pub schema: Option<String>,
    /// The claim table's name.
    pub table: String,
    /// How long claims of past ticks are kept as history before [`Coordinator::prune`]
    /// deletes them.
    pub retention: Duration,
    /// The longest a single database call may take before it counts as a failure.
    pub timeout: Duration,
    /// The name recorded as owner of this replica's claims; `None`: host name, pid and a
    /// random suffix.
    pub replica_id: Option<String>,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        Self {
            schema: None,
            table: "sentry_schedule_claims".to_owned(),
            retention: DEFAULT_RETENTION,
            timeout: Duration::from_secs(10),
            replica_id: None,
        }
    }
}

/// Coordinates replicas through a PostgreSQL table. See the [module docs](super) for the
/// protocol and its guarantee.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use sentry_schedule::coordinator::{Postgres, PostgresOptions};
/// let pool = sentry_schedule::coordinator::sqlx::PgPool::connect("postgres://app@db/app").await?;
/// let coordinator = Postgres::with_options(pool, PostgresOptions {
///     schema: Some("jobs".into()),
///     ..Default::default()
/// })?;
/// # Ok(()) }
/// ```
///
/// # The table
///
/// One row per claimed tick — the run history: `slug`, `tick` (scheduled time; the primary
/// key with `slug`), `owner` (replica id), `token`, `claimed_at`, `started_at` (later after a
/// take-over), `lease_until`, `finished_at`, `status` (`ok`, `error`, `panicked`, `timed_out`,
/// `cancelled`), `duration_ms`, `message`, `takeovers`, `fencing_token` (an identity column:
/// a claim takes the sequence's next value, and so does a take-over). Every time in it comes
/// from the database's clock (`now()`).
///
/// Beside it, `<table>_pauses` (`slug`, `paused_by`, `paused_at`, `until`) holds the paused
/// jobs; the claim statement reads it.
///
/// [`Coordinator::prepare`] creates the table when it is missing and migrates it when it is
/// older, under an advisory lock so replicas starting together do not race. The schema
/// version is kept in the table's comment, so a role that owns only these two tables (no
/// `CREATE` on the schema, no other table) can run it: let an administrator create them once
/// (run [`Postgres::schema_sql`] or `prepare` with a privileged role), then
/// `ALTER TABLE … OWNER TO app_role` for both.
#[derive(Debug, Clone)]
pub struct Postgres {
    pool: PgPool,
    table: String,
    bare_table: String,
    /// The quoted, qualified name of the table of paused jobs (`<table>_pauses`).
    pauses: String,
    retention: Duration,
    timeout: Duration,
    replica_id: String,
}

impl Postgres {
    /// A coordinator on `pool` with the default options (table `sentry_schedule_claims` in the
    /// `search_path`, 30 days of history, 10 s per call).
    pub fn new(pool: PgPool) -> Self {
        Self::from_valid(
            pool,
            PostgresOptions::default(),
            "sentry_schedule_claims".into(),
        )
    }

    /// A coordinator on `pool` with `options`; fails on a schema or table name that is not a
    /// plain lower-case SQL identifier (`[a-z_][a-z0-9_]*`, at most 63 bytes).
    pub fn with_options(pool: PgPool, options: PostgresOptions) -> Result<Self, CoordinatorError> {
        let table = qualified_name(options.schema.as_deref(), &options.table)?;
        Ok(Self::from_valid(pool, options, table))
    }

    /// The quoted, qualified name of the table of paused jobs: the claim table's name with
    /// `_pauses` (cut to PostgreSQL's 63 bytes), in its schema.
    fn pauses_table(schema: Option<&str>, bare_table: &str) -> String {
        let name = format!("{bare_table}_pauses");
        let name = name.get(..63).unwrap_or(&name);
        match schema {
            Some(schema) => format!("\"{schema}\".\"{name}\""),
            None => format!("\"{name}\""),
        }
    }

    /// Connects lazily to `url` with a small pool of its own (4 connections, 5 s
    /// to acquire one): the service starts even while the database is
    /// down, and claims fail until it is up.
    ///
    /// A wait for a free connection is logged at `debug`, not at sqlx's default `warn`: many
    /// jobs due at one instant queue their claims on the pool, and a warning for each would
    /// flood the log. A claim that waits longer than the options' `timeout` fails and is
    /// reported like any other coordinator error.
    pub fn connect_lazy(url: &str, options: PostgresOptions) -> Result<Self, CoordinatorError> {
        let pool = PgPoolOptions::new()
            .max_connections(POOL_SIZE)
            .acquire_timeout(Duration::from_secs(5))
            .acquire_slow_level(log::LevelFilter::Debug)
            .connect_lazy(url)
            .map_err(CoordinatorError::backend)?;
        Self::with_options(pool, options)
    }

    fn from_valid(pool: PgPool, options: PostgresOptions, table: String) -> Self {
        Self {
            pool,
            table,
            pauses: Self::pauses_table(options.schema.as_deref(), &options.table),
            bare_table: options.table,
            retention: options.retention,
            timeout: options.timeout,
            replica_id: options.replica_id.unwrap_or_else(super::default_replica_id),
        }
    }

    /// The pool this coordinator uses.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The quoted, qualified name of the claim table.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The SQL that creates the current schema, for administrators who create the table
    /// themselves before handing it to the application's role.
    pub fn schema_sql(&self) -> String {
        format!(
            "{};\n{};\n{};\n{};\n{};\n",
            create_table_sql(&self.table),
            create_open_index_sql(&self.table, &self.bare_table),
            add_fencing_token_sql(&self.table),
            create_pauses_sql(&self.pauses),
            comment_sql(&self.table, SCHEMA_VERSION)
        )
    }

    async fn migrate(&self) -> Result<(), CoordinatorError> {
        let mut tx = self.pool.begin().await.map_err(CoordinatorError::backend)?;
        // Replicas starting together: one migrates, the others wait and then find it done.
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1)::bigint)")
            .bind(format!("sentry-schedule migrate {}", self.table))
            .execute(&mut *tx)
            .await
            .map_err(CoordinatorError::backend)?;
        let row = sqlx::query(
            "SELECT to_regclass($1) IS NOT NULL AS present, \
                    obj_description(to_regclass($1), 'pg_class') AS comment",
        )
        .bind(&self.table)
        .fetch_one(&mut *tx)
        .await
        .map_err(CoordinatorError::backend)?;
        let present: bool = row.try_get("present").map_err(CoordinatorError::backend)?;
        let comment: Option<String> = row.try_get("comment").map_err(CoordinatorError::backend)?;
        // Checking first (rather than `CREATE TABLE IF NOT EXISTS`) keeps the statement away
        // from roles without `CREATE` on the schema: PostgreSQL checks that right even when
        // the table exists.
        let version = if present {
            parse_version(&self.table, comment.as_deref())?
        } else {
            0
        };
        if version > SCHEMA_VERSION {
            return Err(CoordinatorError::Data(format!(
                "{} has schema version {version}, newer than this release's {SCHEMA_VERSION}; \
                 upgrade sentry-schedule",
                self.table
            )));
        }
        if version < 1 {
            sqlx::query(&create_table_sql(&self.table))
                .execute(&mut *tx)
                .await
                .map_err(CoordinatorError::backend)?;
        }
        if version < 2 {
            sqlx::query(&create_open_index_sql(&self.table, &self.bare_table))
                .execute(&mut *tx)
                .await
                .map_err(CoordinatorError::backend)?;
        }
        if version < 3 {
            for sql in [
                add_fencing_token_sql(&self.table),
                create_pauses_sql(&self.pauses),
            ] {
                sqlx::query(&sql)
                    .execute(&mut *tx)
                    .await
                    .map_err(CoordinatorError::backend)?;
            }
        }
        // Later versions add their steps here, each guarded by `version < n`.
        if version < SCHEMA_VERSION {
            sqlx::query(&comment_sql(&self.table, SCHEMA_VERSION))
                .execute(&mut *tx)
                .await
                .map_err(CoordinatorError::backend)?;
        }
        tx.commit().await.map_err(CoordinatorError::backend)
    }

    async fn held(
        &self,
        slug: &str,
        tick: DateTime<Utc>,
    ) -> Result<Option<Holder>, CoordinatorError> {
        let row = sqlx::query(&format!(
            "SELECT owner, lease_until, finished_at IS NOT NULL AS finished, \
                    EXTRACT(EPOCH FROM GREATEST(lease_until - now(), interval '0'))::float8 \
                        AS retry_in \
             FROM {} WHERE slug = $1 AND tick = $2",
            self.table
        ))
        .bind(slug)
        .bind(tick)
        .fetch_optional(&self.pool)
        .await
        .map_err(CoordinatorError::backend)?;
        row.as_ref().map(held_of).transpose().map(Option::flatten)
    }

    /// Runs a claiming statement (`$1` slug, `$2` tick, `$3` replica, `$4` token, `$5` lease
    /// in ms, `RETURNING lease_until, fencing_token`): the claim when it touched the row,
    /// `None` otherwise.
    async fn claim_row(
        &self,
        sql: &str,
        slug: &str,
        tick: DateTime<Utc>,
        lease: Duration,
    ) -> Result<Option<ClaimToken>, CoordinatorError> {
        let token = new_token();
        let row = sqlx::query(sql)
            .bind(slug)
            .bind(tick)
            .bind(&self.replica_id)
            .bind(&token)
            .bind(millis(lease) as f64)
            .fetch_optional(&self.pool)
            .await
            .map_err(CoordinatorError::backend)?;
        row.map(|row| {
            Ok(ClaimToken {
                slug: slug.to_owned(),
                tick,
                token,
                lease_until: get(&row, "lease_until")?,
                fencing_token: fencing_token(get(&row, "fencing_token")?)?,
            })
        })
        .transpose()
    }

    async fn insert_claim(
        &self,
        slug: &str,
        tick: DateTime<Utc>,
        lease: Duration,
    ) -> Result<Option<ClaimToken>, CoordinatorError> {
        let sql = format!(
            "INSERT INTO {} (slug, tick, owner, token, claimed_at, started_at, lease_until) \
             VALUES ($1, $2, $3, $4, now(), GREATEST(now(), $2), \
                     now() + $5::float8 * interval '1 millisecond') \
             ON CONFLICT (slug, tick) DO NOTHING \
             RETURNING lease_until, fencing_token",
            self.table
        );
        self.claim_row(&sql, slug, tick, lease).await
    }

    async fn claim_tick(
        &self,
        slug: &str,
        tick: DateTime<Utc>,
        lease: Duration,
    ) -> Result<Claim, CoordinatorError> {
        // The row can vanish between the insert and the read (pruned): try again once.
        for _ in 0..2 {
            if let Some(token) = self.insert_claim(slug, tick, lease).await? {
                return Ok(Claim::Won(token));
            }
            // A new statement: it sees the row of the concurrent winner, committed by now.
            if let Some(held) = self.held(slug, tick).await? {
                return Ok(Claim::Lost(held));
            }
        }
        Err(CoordinatorError::Data(format!(
            "the claim of {slug} at {tick} was neither inserted nor found"
        )))
    }

    async fn take_over_tick(
        &self,
        slug: &str,
        tick: DateTime<Utc>,
        lease: Duration,
    ) -> Result<Claim, CoordinatorError> {
        // Concurrent updates of the row queue up; each re-checks the WHERE clause on the
        // row the previous one left, so only the first finds the lease expired. `DEFAULT` of
        // the identity column is the sequence's next value: the new holder's fencing token.
        let sql = format!(
            "UPDATE {} SET owner = $3, token = $4, started_at = now(), \
                 lease_until = now() + $5::float8 * interval '1 millisecond', \
                 takeovers = takeovers + 1, fencing_token = DEFAULT \
             WHERE slug = $1 AND tick = $2 AND finished_at IS NULL AND lease_until < now() \
             RETURNING lease_until, fencing_token",
            self.table
        );
        if let Some(token) = self.claim_row(&sql, slug, tick, lease).await? {
            return Ok(Claim::Won(token));
        }
        match self.held(slug, tick).await? {
            Some(held) => Ok(Claim::Lost(held)),
            None => self.claim_tick(slug, tick, lease).await,
        }
    }

    /// Claims `ticks` in one statement (and, for ticks a concurrent replica inserted while it
    /// ran, a second one reading their holders); answers in the order of `ticks`.
    async fn claim_ticks(
        &self,
        ticks: &[(&str, DateTime<Utc>)],
        lease: Duration,
    ) -> Result<Vec<Claim>, CoordinatorError> {
        // Rows are inserted in one order by every replica, so two batches never wait on each
        // other's rows crosswise (a deadlock); the answers go back to the caller's order.
        let mut order: Vec<usize> = (0..ticks.len()).collect();
        order.sort_by(|a, b| ticks[*a].cmp(&ticks[*b]));
        let slugs: Vec<&str> = order.iter().map(|i| ticks[*i].0).collect();
        let times: Vec<DateTime<Utc>> = order.iter().map(|i| ticks[*i].1).collect();
        let tokens: Vec<String> = order.iter().map(|_| new_token()).collect();
        // The `held` join reads the statement's snapshot: it sees rows committed before the
        // statement began, not the ones this statement inserts, nor those a concurrent batch
        // committed meanwhile (those are read again below).
        let sql = format!(
            "WITH input AS ( \
                 SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::text[]) \
                     WITH ORDINALITY AS t(slug, tick, token, n)), \
             inserted AS ( \
                 INSERT INTO {table} (slug, tick, owner, token, claimed_at, started_at, \
                                      lease_until, finished_at, status) \
                 SELECT input.slug, input.tick, $4, input.token, now(), \
                        GREATEST(now(), input.tick), \
                        CASE WHEN paused.slug IS NULL \
                             THEN now() + $5::float8 * interval '1 millisecond' \
                             ELSE now() END, \
                        CASE WHEN paused.slug IS NOT NULL THEN now() END, \
                        CASE WHEN paused.slug IS NOT NULL THEN 'paused' END \
                 FROM input LEFT JOIN {pauses} paused ON paused.slug = input.slug \
                      AND (paused.until IS NULL OR paused.until > now()) \
                 ORDER BY input.n \
                 ON CONFLICT (slug, tick) DO NOTHING \
                 RETURNING token, lease_until, fencing_token, status) \
             SELECT inserted.lease_until AS won_until, inserted.fencing_token AS won_fencing, \
                    inserted.status AS won_status, held.status AS held_status, \
                    held.owner, held.lease_until, \
                    held.finished_at IS NOT NULL AS finished, \
                    EXTRACT(EPOCH FROM GREATEST(held.lease_until - now(), interval '0'))::float8 \
                        AS retry_in \
             FROM input \
             LEFT JOIN inserted ON inserted.token = input.token \
             LEFT JOIN {table} held ON held.slug = input.slug AND held.tick = input.tick \
             ORDER BY input.n",
            table = self.table,
            pauses = self.pauses,
        );
        let rows = sqlx::query(&sql)
            .bind(&slugs)
            .bind(&times)
            .bind(&tokens)
            .bind(&self.replica_id)
            .bind(millis(lease) as f64)
            .fetch_all(&self.pool)
            .await
            .map_err(CoordinatorError::backend)?;
        let rows = one_each(
            format_args!("a batch of {} claims", order.len()),
            order.len(),
            rows,
        )?;
        let mut claims: Vec<Option<Claim>> = vec![None; ticks.len()];
        let mut unseen = Vec::new();
        for ((row, index), token) in rows.iter().zip(&order).zip(tokens) {
            let (slug, tick) = ticks[*index];
            let won_status: Option<String> = get(row, "won_status")?;
            let claim = if won_status.as_deref() == Some(PAUSED) {
                Some(Claim::Paused)
            } else if let Some(lease_until) = get::<Option<DateTime<Utc>>>(row, "won_until")? {
                Some(Claim::Won(ClaimToken {
                    slug: slug.to_owned(),
                    tick,
                    token,
                    lease_until,
                    fencing_token: fencing_token(get(row, "won_fencing")?)?,
                }))
            } else {
                claim_of_held(row)?
            };
            match claim {
                Some(claim) => claims[*index] = Some(claim),
                None => unseen.push(*index),
            }
        }
        if !unseen.is_empty() {
            let pending: Vec<(&str, DateTime<Utc>)> = unseen.iter().map(|i| ticks[*i]).collect();
            let held = self.held_many(&pending).await?;
            for (index, held) in unseen.into_iter().zip(held) {
                claims[index] = Some(match held {
                    Some(claim) => claim,
                    // Pruned between the two statements: claim it alone.
                    None => {
                        self.claim_tick(ticks[index].0, ticks[index].1, lease)
                            .await?
                    }
                });
            }
        }
        claims
            .into_iter()
            .map(|claim| {
                claim.ok_or_else(|| {
                    CoordinatorError::Data("a claim of a batch got no answer".into())
                })
            })
            .collect()
    }

    /// The claims other replicas made of `ticks` (lost or paused), in one statement, in
    /// order; `None` for a tick without a claim.
    async fn held_many(
        &self,
        ticks: &[(&str, DateTime<Utc>)],
    ) -> Result<Vec<Option<Claim>>, CoordinatorError> {
        let slugs: Vec<&str> = ticks.iter().map(|(slug, _)| *slug).collect();
        let times: Vec<DateTime<Utc>> = ticks.iter().map(|(_, tick)| *tick).collect();
        let rows = sqlx::query(&format!(
            "SELECT held.owner, held.lease_until, held.finished_at IS NOT NULL AS finished, \
                    held.status AS held_status, \
                    EXTRACT(EPOCH FROM GREATEST(held.lease_until - now(), interval '0'))::float8 \
                        AS retry_in \
             FROM unnest($1::text[], $2::timestamptz[]) WITH ORDINALITY AS t(slug, tick, n) \
             LEFT JOIN {} held ON held.slug = t.slug AND held.tick = t.tick \
             ORDER BY t.n",
            self.table
        ))
        .bind(&slugs)
        .bind(&times)
        .fetch_all(&self.pool)
        .await
        .map_err(CoordinatorError::backend)?;
        rows.iter().map(claim_of_held).collect()
    }

    async fn set_pause(
        &self,
        slug: &str,
        until: Option<DateTime<Utc>>,
        by: &str,
    ) -> Result<(), CoordinatorError> {
        sqlx::query(&format!(
            "INSERT INTO {} (slug, paused_by, paused_at, until) VALUES ($1, $2, now(), $3) \
             ON CONFLICT (slug) DO UPDATE \
             SET paused_by = EXCLUDED.paused_by, paused_at = EXCLUDED.paused_at, \
                 until = EXCLUDED.until",
            self.pauses
        ))
        .bind(slug)
        .bind(by)
        .bind(until)
        .execute(&self.pool)
        .await
        .map_err(CoordinatorError::backend)?;
        Ok(())
    }

    async fn lift_pause(&self, slug: &str) -> Result<bool, CoordinatorError> {
        let row = sqlx::query(&format!(
            "DELETE FROM {} WHERE slug = $1 \
             RETURNING until IS NULL OR until > now() AS in_force",
            self.pauses
        ))
        .bind(slug)
        .fetch_optional(&self.pool)
        .await
        .map_err(CoordinatorError::backend)?;
        row.map_or(Ok(false), |row| get(&row, "in_force"))
    }

    async fn read_pauses(&self, slugs: &[&str]) -> Result<Vec<Pause>, CoordinatorError> {
        let rows = sqlx::query(&format!(
            "SELECT slug, paused_by, paused_at, until FROM {} \
             WHERE slug = ANY($1::text[]) AND (until IS NULL OR until > now())",
            self.pauses
        ))
        .bind(slugs)
        .fetch_all(&self.pool)
        .await
        .map_err(CoordinatorError::backend)?;
        rows.iter()
            .map(|row| {
                Ok(Pause::new(
                    get::<String>(row, "slug")?,
                    get::<String>(row, "paused_by")?,
                    get(row, "paused_at")?,
                    get(row, "until")?,
                ))
            })
            .collect()
    }

    /// Runs a token-matching `UPDATE … FROM unnest(…) … RETURNING token` and answers, per
    /// token in order, whether it touched the token's row.
    fn touched(tokens: &[&str], rows: &[PgRow]) -> Result<Vec<bool>, CoordinatorError> {
        let touched = rows
            .iter()
            .map(|row| get::<String>(row, "token"))
            .collect::<Result<std::collections::HashSet<String>, _>>()?;
        Ok(tokens
            .iter()
            .map(|token| touched.contains(*token))
            .collect())
    }

    async fn renew_claims(
        &self,
        tokens: &[ClaimToken],
        lease: Duration,
    ) -> Result<Vec<bool>, CoordinatorError> {
        if tokens.is_empty() {
            return Ok(Vec::new());
        }
        let (slugs, ticks, values, _) = key_columns(tokens.iter());
        let rows = sqlx::query(&renew_sql(&self.table))
            .bind(&slugs)
            .bind(&ticks)
            .bind(&values)
            .bind(millis(lease) as f64)
            .fetch_all(&self.pool)
            .await
            .map_err(CoordinatorError::backend)?;
        let values: Vec<&str> = tokens.iter().map(|t| t.token.as_str()).collect();
        Self::touched(&values, &rows)
    }

    async fn finish_claims(
        &self,
        runs: &[(ClaimToken, RunOutcome)],
    ) -> Result<Vec<bool>, CoordinatorError> {
        if runs.is_empty() {
            return Ok(Vec::new());
        }
        let (slugs, ticks, values, order) = key_columns(runs.iter().map(|(token, _)| token));
        let statuses: Vec<&str> = order.iter().map(|i| runs[*i].1.status.as_str()).collect();
        let durations: Vec<i64> = order.iter().map(|i| millis(runs[*i].1.duration)).collect();
        let messages: Vec<Option<&str>> =
            order.iter().map(|i| runs[*i].1.stored_message()).collect();
        let rows = sqlx::query(&finish_sql(&self.table))
            .bind(&slugs)
            .bind(&ticks)
            .bind(&values)
            .bind(&statuses)
            .bind(&durations)
            .bind(&messages)
            .fetch_all(&self.pool)
            .await
            .map_err(CoordinatorError::backend)?;
        let values: Vec<&str> = runs.iter().map(|(t, _)| t.token.as_str()).collect();
        Self::touched(&values, &rows)
    }

    async fn expired(
        &self,
        slugs: &[&str],
        since: DateTime<Utc>,
    ) -> Result<Vec<(String, DateTime<Utc>)>, CoordinatorError> {
        if slugs.is_empty() {
            return Ok(Vec::new());
        }
        // The partial index of unfinished claims serves `finished_at IS NULL AND tick >= $2`.
        let rows = sqlx::query(&format!(
            "SELECT slug, tick FROM {} \
             WHERE finished_at IS NULL AND tick >= $2 AND lease_until < now() \
               AND slug = ANY($1::text[])",
            self.table
        ))
        .bind(slugs)
        .bind(since)
        .fetch_all(&self.pool)
        .await
        .map_err(CoordinatorError::backend)?;
        rows.iter()
            .map(|row| Ok((get(row, "slug")?, get(row, "tick")?)))
            .collect()
    }

    async fn read_history(
        &self,
        slug: &str,
        limit: usize,
    ) -> Result<Vec<RunRecord>, CoordinatorError> {
        let rows = sqlx::query(&format!(
            "SELECT slug, tick, owner, claimed_at, started_at, lease_until, finished_at, \
                    status, duration_ms, message, takeovers, fencing_token \
             FROM {} WHERE slug = $1 ORDER BY tick DESC LIMIT $2",
            self.table
        ))
        .bind(slug)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await
        .map_err(CoordinatorError::backend)?;
        rows.iter().map(record).collect()
    }
}

impl Coordinator for Postgres {
    fn replica_id(&self) -> &str {
        &self.replica_id
    }

    fn prepare(&self) -> CoordinatorFuture<'_, ()> {
        Box::pin(with_timeout(self.timeout, self.migrate()))
    }

    fn claim<'a>(
        &'a self,
        slug: &'a str,
        tick: DateTime<Utc>,
        lease: Duration,
    ) -> CoordinatorFuture<'a, Claim> {
        // The batch's statement, which also answers for paused jobs.
        Box::pin(with_timeout(self.timeout, async move {
            let mut claims = self.claim_ticks(&[(slug, tick)], lease).await?;
            match (claims.pop(), claims.is_empty()) {
                (Some(claim), true) => Ok(claim),
                _ => Err(CoordinatorError::Data(
                    "one claim got another number of answers".into(),
                )),
            }
        }))
    }

    fn pause<'a>(
        &'a self,
        slug: &'a str,
        until: Option<DateTime<Utc>>,
        by: &'a str,
    ) -> CoordinatorFuture<'a, ()> {
        Box::pin(with_timeout(self.timeout, self.set_pause(slug, until, by)))
    }

    fn resume<'a>(&'a self, slug: &'a str) -> CoordinatorFuture<'a, bool> {
        Box::pin(with_timeout(self.timeout, self.lift_pause(slug)))
    }

    fn pauses<'a>(&'a self, slugs: &'a [&'a str]) -> CoordinatorFuture<'a, Vec<Pause>> {
        Box::pin(with_timeout(self.timeout, self.read_pauses(slugs)))
    }

    fn take_over<'a>(
        &'a self,
        slug: &'a str,
        tick: DateTime<Utc>,
        lease: Duration,
    ) -> CoordinatorFuture<'a, Claim> {
        Box::pin(with_timeout(
            self.timeout,
            self.take_over_tick(slug, tick, lease),
        ))
    }

    fn renew<'a>(&'a self, token: &'a ClaimToken, lease: Duration) -> CoordinatorFuture<'a, bool> {
        Box::pin(with_timeout(self.timeout, async move {
            only(
                self.renew_claims(std::slice::from_ref(token), lease)
                    .await?,
            )
        }))
    }

    fn finish<'a>(
        &'a self,
        token: &'a ClaimToken,
        outcome: &'a RunOutcome,
    ) -> CoordinatorFuture<'a, bool> {
        Box::pin(with_timeout(self.timeout, async move {
            only(
                self.finish_claims(&[(token.clone(), outcome.clone())])
                    .await?,
            )
        }))
    }

    fn claim_many<'a>(
        &'a self,
        ticks: &'a [(&'a str, DateTime<Utc>)],
        lease: Duration,
    ) -> CoordinatorFuture<'a, Vec<Claim>> {
        Box::pin(with_timeout(self.timeout, self.claim_ticks(ticks, lease)))
    }

    fn renew_many<'a>(
        &'a self,
        tokens: &'a [ClaimToken],
        lease: Duration,
    ) -> CoordinatorFuture<'a, Vec<bool>> {
        Box::pin(with_timeout(self.timeout, self.renew_claims(tokens, lease)))
    }

    fn finish_many<'a>(
        &'a self,
        runs: &'a [(ClaimToken, RunOutcome)],
    ) -> CoordinatorFuture<'a, Vec<bool>> {
        Box::pin(with_timeout(self.timeout, self.finish_claims(runs)))
    }

    fn expired_claims<'a>(
        &'a self,
        slugs: &'a [&'a str],
        since: DateTime<Utc>,
    ) -> CoordinatorFuture<'a, Vec<(String, DateTime<Utc>)>> {
        Box::pin(with_timeout(self.timeout, self.expired(slugs, since)))
    }

    fn last_claimed_tick<'a>(
        &'a self,
        slug: &'a str,
    ) -> CoordinatorFuture<'a, Option<DateTime<Utc>>> {
        Box::pin(with_timeout(self.timeout, async move {
            let row = sqlx::query(&format!(
                "SELECT max(tick) AS last FROM {} WHERE slug = $1",
                self.table
            ))
            .bind(slug)
            .fetch_one(&self.pool)
            .await
            .map_err(CoordinatorError::backend)?;
            get(&row, "last")
        }))
    }

    fn history<'a>(&'a self, slug: &'a str, limit: usize) -> CoordinatorFuture<'a, Vec<RunRecord>> {
        Box::pin(with_timeout(self.timeout, self.read_history(slug, limit)))
    }

    fn prune(&self) -> CoordinatorFuture<'_, u64> {
        Box::pin(with_timeout(self.timeout, async move {
            let result = sqlx::query(&format!(
                "DELETE FROM {} \
                 WHERE tick < now() - $1::float8 * interval '1 millisecond' \
                   AND (finished_at IS NOT NULL OR lease_until < now())",
                self.table
            ))
            .bind(millis(self.retention) as f64)
            .execute(&self.pool)
            .await
            .map_err(CoordinatorError::backend)?;
            Ok(result.rows_affected())
        }))
    }
}

fn get<'r, T>(row: &'r PgRow, column: &str) -> Result<T, CoordinatorError>
where
    T: sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
{
    row.try_get(column).map_err(CoordinatorError::backend)
}

/// A CTE `locked`: the rows of the claims in `t` (`slug`, `tick`, `token`, and whatever else
/// `t` carries, as `locked.*` columns named in `carried`) still held under their token,
/// locked in the order of `t`, which the caller sorts by key ([`key_columns`]). Every batch
/// that updates claims (renew, finish) takes its row locks in the order every claim batch
/// inserts, so two batches never wait on each other's rows crosswise (a deadlock the server
/// would break by failing one of them).
///
/// Each row is found through the primary key, one lookup per claim: the lateral subquery is
/// never flattened into a join (it locks), and `OFFSET 0` keeps the `finished_at` test out of
/// it, so the index of open claims (`tick` only, partial on `finished_at IS NULL`) cannot
/// serve it. Joined as plain tables, the planner (which cannot estimate `unnest`) merged the
/// batch with the open claims on `tick` alone; given the test inside, it looked each claim
/// up by `tick` through that index. Every claim of an instant shares its tick, so both grew
/// with the square of the batch (66 ms for 334 claims, seconds for 3,000). A claim finished
/// meanwhile is locked (until the statement ends) and left alone.
fn lock_in_order(table: &str, carried: &str) -> String {
    format!(
        "locked AS MATERIALIZED ( \
             SELECT l.slug, l.tick, l.token{carried} FROM t \
             CROSS JOIN LATERAL ( \
                 SELECT c.slug, c.tick, c.token, c.finished_at FROM {table} c \
                 WHERE c.slug = t.slug AND c.tick = t.tick AND c.token = t.token \
                 OFFSET 0 FOR UPDATE) l \
             WHERE l.finished_at IS NULL)"
    )
}

/// The condition of an `UPDATE {table} AS c … FROM locked` reaching the rows
/// [`lock_in_order`] locked, by primary key. It does not test `finished_at` again: the rows
/// are locked and were checked on their latest version, and a test of it would let the
/// planner merge on `tick` through the index of open claims again.
const LOCKED_ROW: &str = "c.slug = locked.slug AND c.tick = locked.tick AND c.token = locked.token";

/// Renews the leases of the claims `$1`–`$3` (slug, tick, token, in key order) for `$4` ms.
fn renew_sql(table: &str) -> String {
    format!(
        "WITH t AS (SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::text[]) \
                     AS t(slug, tick, token)), \
         {locked} \
         UPDATE {table} AS c SET lease_until = now() + $4::float8 * interval '1 millisecond' \
         FROM locked WHERE {LOCKED_ROW} \
         RETURNING c.token",
        locked = lock_in_order(table, ""),
    )
}

/// Finishes the claims `$1`–`$3` (slug, tick, token, in key order) with the outcomes `$4`–`$6`
/// (status, duration in ms, message).
fn finish_sql(table: &str) -> String {
    format!(
        "WITH t AS (SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::text[], \
                         $4::text[], $5::int8[], $6::text[]) \
                     AS t(slug, tick, token, status, duration_ms, message)), \
         {locked} \
         UPDATE {table} AS c SET finished_at = now(), lease_until = now(), \
             status = locked.status, duration_ms = locked.duration_ms, \
             message = locked.message \
         FROM locked WHERE {LOCKED_ROW} \
         RETURNING c.token",
        locked = lock_in_order(table, ", t.status, t.duration_ms, t.message"),
    )
}

/// Slugs, ticks and tokens of claims as arrays for `unnest`, and where each came from.
type KeyColumns<'t> = (Vec<&'t str>, Vec<DateTime<Utc>>, Vec<&'t str>, Vec<usize>);

/// The slug, tick and token columns of `tokens` in key order (slug, then tick), as arrays for
/// `unnest`, with the position in `tokens` of each.
fn key_columns<'t>(tokens: impl Iterator<Item = &'t ClaimToken>) -> KeyColumns<'t> {
    let mut sorted: Vec<(usize, &ClaimToken)> = tokens.enumerate().collect();
    sorted.sort_by(|(_, a), (_, b)| (a.slug.as_str(), a.tick).cmp(&(b.slug.as_str(), b.tick)));
    let mut columns = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (index, token) in sorted {
        columns.0.push(token.slug.as_str());
        columns.1.push(token.tick);
        columns.2.push(token.token.as_str());
        columns.3.push(index);
    }
    columns
}

/// The status a paused job's ticks are recorded with.
const PAUSED: &str = "paused";

/// The answer for a tick another replica claimed, from a row with `held_status` and the
/// columns [`held_of`] reads: paused, or lost; `None` when the row has no claim.
fn claim_of_held(row: &PgRow) -> Result<Option<Claim>, CoordinatorError> {
    let status: Option<String> = get(row, "held_status")?;
    if status.as_deref() == Some(PAUSED) {
        return Ok(Some(Claim::Paused));
    }
    Ok(held_of(row)?.map(Claim::Lost))
}

/// The holder of a claim from a row with `owner`, `lease_until`, `finished` and `retry_in`
/// (seconds); `None` when the row has no claim (a `LEFT JOIN` without match).
fn held_of(row: &PgRow) -> Result<Option<Holder>, CoordinatorError> {
    let Some(owner) = get::<Option<String>>(row, "owner")? else {
        return Ok(None);
    };
    let retry_in: f64 = get(row, "retry_in")?;
    Ok(Some(Holder {
        owner,
        lease_until: get(row, "lease_until")?,
        retry_in: Duration::try_from_secs_f64(retry_in).unwrap_or(Duration::ZERO),
        finished: get(row, "finished")?,
    }))
}

fn record(row: &PgRow) -> Result<RunRecord, CoordinatorError> {
    let status: Option<String> = get(row, "status")?;
    let status = status
        .map(|name| {
            RunStatus::parse(&name)
                .ok_or_else(|| CoordinatorError::Data(format!("unknown run status `{name}`")))
        })
        .transpose()?;
    let duration_ms: Option<i64> = get(row, "duration_ms")?;
    let duration = duration_ms
        .map(|ms| {
            u64::try_from(ms)
                .map(Duration::from_millis)
                .map_err(|_| CoordinatorError::Data(format!("negative duration {ms} ms")))
        })
        .transpose()?;
    let takeovers: i32 = get(row, "takeovers")?;
    Ok(RunRecord {
        slug: get(row, "slug")?,
        tick: get(row, "tick")?,
        owner: get(row, "owner")?,
        claimed_at: get(row, "claimed_at")?,
        started_at: get(row, "started_at")?,
        lease_until: get(row, "lease_until")?,
        finished_at: get(row, "finished_at")?,
        status,
        duration,
        message: get(row, "message")?,
        takeovers: u32::try_from(takeovers).map_err(|_| {
            CoordinatorError::Data(format!("take-over count {takeovers} out of range"))
        })?,
        fencing_token: get::<Option<i64>>(row, "fencing_token")?
            .map(fencing_token)
            .transpose()?,
    })
}

/// A fencing token read from the identity column (positive: the sequence starts at 1).
fn fencing_token(value: i64) -> Result<u64, CoordinatorError> {
    u64::try_from(value)
        .map_err(|_| CoordinatorError::Data(format!("fencing token {value} out of range")))
}

fn create_table_sql(table: &str) -> String {
    format!(
        "CREATE TABLE {table} (\n\
         \x20   slug text NOT NULL,\n\
         \x20   tick timestamptz NOT NULL,\n\
         \x20   owner text NOT NULL,\n\
         \x20   token text NOT NULL,\n\
         \x20   claimed_at timestamptz NOT NULL,\n\
         \x20   started_at timestamptz NOT NULL,\n\
         \x20   lease_until timestamptz NOT NULL,\n\
         \x20   finished_at timestamptz,\n\
         \x20   status text,\n\
         \x20   duration_ms bigint,\n\
         \x20   message text,\n\
         \x20   takeovers integer NOT NULL DEFAULT 0,\n\
         \x20   PRIMARY KEY (slug, tick)\n\
         )"
    )
}

/// The index of unfinished claims by tick: what [`Coordinator::expired_claims`] reads, so a
/// sweep costs the claims still open, not the history. Named after the table (`<table>_open`,
/// cut to PostgreSQL's 63 bytes); it lives in the table's schema.
fn create_open_index_sql(table: &str, bare_table: &str) -> String {
    let name = format!("{bare_table}_open");
    let name = name.get(..63).unwrap_or(&name);
    format!("CREATE INDEX IF NOT EXISTS \"{name}\" ON {table} (tick) WHERE finished_at IS NULL")
}

/// Version 3: the fencing token, an identity column. Adding it numbers the rows already
/// there; every later claim (the column's default) and take-over (`SET … = DEFAULT`) takes
/// the sequence's next value, so tokens only grow.
fn add_fencing_token_sql(table: &str) -> String {
    format!(
        "ALTER TABLE {table} ADD COLUMN IF NOT EXISTS fencing_token bigint \
         GENERATED BY DEFAULT AS IDENTITY"
    )
}

/// Version 3: the paused jobs, one row per job (`until` `NULL`: until resumed). Claims read
/// it in their statement.
fn create_pauses_sql(pauses: &str) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {pauses} (\n\
         \x20   slug text PRIMARY KEY,\n\
         \x20   paused_by text NOT NULL,\n\
         \x20   paused_at timestamptz NOT NULL,\n\
         \x20   until timestamptz\n\
         )"
    )
}

fn comment_sql(table: &str, version: u32) -> String {
    format!("COMMENT ON TABLE {table} IS '{COMMENT_PREFIX}{version}'")
}

fn parse_version(table: &str, comment: Option<&str>) -> Result<u32, CoordinatorError> {
    comment
        .and_then(|c| c.strip_prefix(COMMENT_PREFIX))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| {
            CoordinatorError::Data(format!(
                "{table} exists but is not a sentry-schedule claim table (its comment does not \
                 name a schema version); choose another table name"
            ))
        })
}

/// `"schema"."table"` (or `"table"`) after checking both are plain identifiers.
fn qualified_name(schema: Option<&str>, table: &str) -> Result<String, CoordinatorError> {
    let table = quoted_identifier(table)?;
    Ok(match schema {
        Some(schema) => format!("{}.{table}", quoted_identifier(schema)?),
        None => table,
    })
}

fn quoted_identifier(name: &str) -> Result<String, CoordinatorError> {
    let mut chars = name.chars();
    let valid = name.len() <= 63
        && chars
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if valid {
        Ok(format!("\"{name}\""))
    } else {
        Err(CoordinatorError::Config(format!(
            "`{name}` is not a valid schema or table name: expected lower-case letters, digits \
             and `_`, starting with a letter or `_`, at most 63 bytes"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_validated_and_quoted() {
        assert_eq!(
            qualified_name(Some("jobs"), "claims_2").unwrap(),
            "\"jobs\".\"claims_2\""
        );
        assert_eq!(qualified_name(None, "_t").unwrap(), "\"_t\"");
        for bad in [
            "",
            "Claims",
            "1abc",
            "a-b",
            "a\"b",
            "a;drop",
            &"x".repeat(64),
        ] {
            assert!(
                matches!(qualified_name(None, bad), Err(CoordinatorError::Config(_))),
                "{bad:?} accepted"
            );
        }
        assert!(qualified_name(Some("a b"), "t").is_err());
    }

    #[test]
    fn version_is_read_from_the_comment() {
        assert_eq!(
            parse_version("t", Some("sentry-schedule claims, schema version 3")).unwrap(),
            3
        );
        assert!(parse_version("t", None).is_err());
        assert!(parse_version("t", Some("someone else's table")).is_err());
    }

    /// With a real PostgreSQL (`SENTRY_SCHEDULE_TEST_POSTGRES_URL`): renewing and finishing a
    /// batch of claims of one instant reach each claim through the primary key. Every claim of
    /// an instant has the same tick, so a merge join on `tick` (which the planner chose for
    /// the statements before, as their batch is an `unnest` it cannot estimate) compares
    /// every claim with every other: 66 ms for 334 claims, seconds for 3,000.
    #[tokio::test]
    async fn batch_updates_reach_each_claim_by_its_key() {
        let url = match std::env::var("SENTRY_SCHEDULE_TEST_POSTGRES_URL") {
            Ok(url) if !url.is_empty() => url,
            _ => {
                assert!(
                    std::env::var("CI").as_deref() != Ok("true")
                        && std::env::var("SENTRY_SCHEDULE_REQUIRE_SERVICES").as_deref() != Ok("1"),
                    "SENTRY_SCHEDULE_TEST_POSTGRES_URL is not set"
                );
                return;
            }
        };
        let pool = PgPool::connect(&url).await.unwrap();
        let schema = format!("sstest_plan_{:08x}", crate::ids::random::<u32>());
        sqlx::query(&format!("CREATE SCHEMA {schema}"))
            .execute(&pool)
            .await
            .unwrap();
        let pg = Postgres::with_options(
            pool.clone(),
            PostgresOptions {
                schema: Some(schema.clone()),
                ..Default::default()
            },
        )
        .unwrap();
        pg.migrate().await.unwrap();
        // 1,000 jobs. The plans are read twice: for a young table without statistics (one
        // instant finished, the next open), where the planner looked claims up by tick
        // through the index of open ones; and after 20 more finished instants and `ANALYZE`,
        // where it merged the batch with the open claims on tick.
        let slugs: Vec<String> = (0..1_000).map(|j| format!("job-{j}")).collect();
        let claim_instant = |second: i64| {
            let (pg, slugs) = (&pg, &slugs);
            async move {
                let tick = DateTime::from_timestamp(1_800_000_000 + second, 0).unwrap();
                let ticks: Vec<(&str, DateTime<Utc>)> =
                    slugs.iter().map(|slug| (slug.as_str(), tick)).collect();
                pg.claim_ticks(&ticks, Duration::from_secs(60))
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|claim| match claim {
                        Claim::Won(token) => token,
                        other => panic!("{other:?}"),
                    })
                    .collect::<Vec<ClaimToken>>()
            }
        };
        let finish_all = |tokens: Vec<ClaimToken>| {
            let pg = &pg;
            async move {
                let ok = RunOutcome::new(RunStatus::Ok, Duration::ZERO);
                let runs: Vec<_> = tokens.into_iter().map(|t| (t, ok.clone())).collect();
                assert!(pg.finish_claims(&runs).await.unwrap().iter().all(|f| *f));
            }
        };
        finish_all(claim_instant(0).await).await;
        let open = claim_instant(1).await;
        let (slugs_of, ticks, tokens, _) = key_columns(open.iter());
        let n = open.len();
        // The plan a pooled connection settles on after a statement's first executions: a
        // generic one, which knows nothing of the batch's size.
        let mut conn = pool.acquire().await.unwrap();
        sqlx::query("SET plan_cache_mode = force_generic_plan")
            .execute(&mut *conn)
            .await
            .unwrap();
        let plan = |rows: Vec<sqlx::postgres::PgRow>| -> String {
            rows.iter()
                .map(|row| row.get::<String, _>(0))
                .collect::<Vec<_>>()
                .join("\n")
        };
        let mut plans = Vec::new();
        for analyzed in [false, true] {
            if analyzed {
                for second in 2..22 {
                    finish_all(claim_instant(second).await).await;
                }
                sqlx::query(&format!("ANALYZE {}", pg.table))
                    .execute(&mut *conn)
                    .await
                    .unwrap();
            }
            let renew = plan(
                sqlx::query(&format!("EXPLAIN {}", renew_sql(&pg.table)))
                    .bind(&slugs_of)
                    .bind(&ticks)
                    .bind(&tokens)
                    .bind(60_000.0)
                    .fetch_all(&mut *conn)
                    .await
                    .unwrap(),
            );
            let finish = plan(
                sqlx::query(&format!("EXPLAIN {}", finish_sql(&pg.table)))
                    .bind(&slugs_of)
                    .bind(&ticks)
                    .bind(&tokens)
                    .bind(vec!["ok"; n])
                    .bind(vec![0_i64; n])
                    .bind(vec![None::<&str>; n])
                    .fetch_all(&mut *conn)
                    .await
                    .unwrap(),
            );
            plans.push((format!("renew, analyzed: {analyzed}"), renew));
            plans.push((format!("finish, analyzed: {analyzed}"), finish));
        }
        drop(conn);
        sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
            .execute(&pool)
            .await
            .unwrap();
        for (name, plan) in plans {
            assert!(!plan.contains("Merge Join"), "{name}:\n{plan}");
            assert!(!plan.contains("_open on"), "{name}:\n{plan}");
            // At least the lateral lookup is by primary key, one per claim.
            assert!(
                plan.contains("Index Cond: ((slug = t.slug) AND (tick = t.tick))"),
                "{name}:\n{plan}"
            );
        }
    }
}
