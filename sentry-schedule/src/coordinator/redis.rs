//! The Redis coordinator: the claim protocol in Lua scripts on a hash per `(slug, tick)`.
//!
//! Built on the `redis` crate 0.32 (the stable line whose minimum Rust version fits this
//! crate's) with only `tokio-comp`, `connection-manager` (reconnects by itself) and `script`.
use super::{
    millis, new_token, one_each, only, with_timeout, Claim, ClaimToken, Coordinator,
    CoordinatorError, CoordinatorFuture, Holder, Pause, RunOutcome, RunRecord, RunStatus,
};
use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};
use ::redis::{Client, FromRedisValue, Script, ScriptInvocation};
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::LazyLock;
use std::time::Duration;
use tokio::sync::OnceCell;

/// Options of a [`Redis`] coordinator.
#[derive(Debug, Clone)]
pub struct RedisOptions {
    /// The prefix of every key (`{prefix}:{<slug>}:…`); no braces, no spaces.
    pub prefix: String,
    /// How long claims are kept (as key time-to-live) for history and de-duplication.
    pub retention: Duration,
    /// The longest a single Redis call may take before it counts as a failure.
    pub timeout: Duration,
    /// The name recorded as owner of this replica's claims; `None`: host name, pid and a
    /// random suffix.
    pub replica_id: Option<String>,
}

impl Default for RedisOptions {
    fn default() -> Self {
        Self {
            prefix: "sentry-schedule".to_owned(),
            retention: Duration::from_secs(7 * 24 * 60 * 60),
            timeout: Duration::from_secs(5),
            replica_id: None,
        }
    }
}

/// Coordinates replicas through Redis — **best-effort**.
///
/// Each claimed tick is a hash at `{prefix}:{<slug>}:tick:<unix ms>` written by a Lua script
/// (`SET NX` semantics plus a lease read from Redis's own clock), with the same protocol as
/// [`Postgres`](super::Postgres): claim, renew, take over after the lease, finish. Each job
/// also has an index of its ticks (`…:ticks`, the history), one of its unfinished claims
/// scored by the end of their lease (`…:open`, what the take-over sweep reads), and the
/// counter its fencing tokens come from (`…:fencing`, `INCR`ed by every claim and take-over;
/// it never expires, so tokens keep growing however long the job was idle). The keys of
/// one job share a hash tag, so it works on Redis Cluster. A batch (all jobs due at one
/// instant, all held claims) is one pipeline: the script loaded, then one call per tick, in
/// one round trip.
///
/// Best-effort because Redis replication is asynchronous: when the primary fails before a
/// claim reached its replica, the promoted replica does not know the claim and another replica
/// of the service can win the same tick again. Use PostgreSQL when a duplicate run is not
/// acceptable. Claims and history expire by themselves after the retention
/// ([`RedisOptions::retention`], 7 days by default); [`Coordinator::prune`] has nothing to do.
pub struct Redis {
    client: Client,
    connection: OnceCell<ConnectionManager>,
    prefix: String,
    retention: Duration,
    timeout: Duration,
    replica_id: String,
}

impl std::fmt::Debug for Redis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redis")
            .field("prefix", &self.prefix)
            .field("replica_id", &self.replica_id)
            .finish_non_exhaustive()
    }
}

/// Claim or take over; KEYS: tick hash, tick index, open index, fencing counter, pause hash;
/// ARGV: owner, token, lease ms, tick ms, retention ms, mode. Returns {won (1: won, 0: lost,
/// 2: the job is paused), owner, lease_until ms, retry_in ms, finished, fencing token (0 when
/// not won)}.
///
/// A new tick of a paused job (a pause hash whose `until` is absent or later than now) is
/// recorded as finished with status `paused`, in the history but not the open index.
///
/// The open index of a job (a sorted set of its unfinished ticks scored by the end of their
/// lease) is what the take-over sweep reads; entries older than the retention are trimmed.
const CLAIM: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease = tonumber(ARGV[3])
local ttl = tonumber(ARGV[5]) + lease
local starts = math.max(now, tonumber(ARGV[4]))
if redis.call('EXISTS', KEYS[1]) == 0 then
  local p = redis.call('HMGET', KEYS[5], 'by', 'until')
  if p[1] and (not p[2] or tonumber(p[2]) > now) then
    redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'token', ARGV[2], 'claimed_at', now,
      'started_at', now, 'lease_until', now, 'finished_at', now, 'status', 'paused',
      'takeovers', 0)
    redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[5]))
    redis.call('ZADD', KEYS[2], tonumber(ARGV[4]), ARGV[4])
    redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. (now - tonumber(ARGV[5])))
    redis.call('PEXPIRE', KEYS[2], ttl)
    return {2, ARGV[1], now, 0, 1, 0}
  end
  local fencing = redis.call('INCR', KEYS[4])
  redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'token', ARGV[2], 'claimed_at', now,
    'started_at', starts, 'lease_until', now + lease, 'takeovers', 0, 'fencing_token', fencing)
  redis.call('PEXPIRE', KEYS[1], ttl)
  redis.call('ZADD', KEYS[2], tonumber(ARGV[4]), ARGV[4])
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. (now - tonumber(ARGV[5])))
  redis.call('PEXPIRE', KEYS[2], ttl)
  redis.call('ZADD', KEYS[3], now + lease, ARGV[4])
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', '(' .. (now - tonumber(ARGV[5])))
  redis.call('PEXPIRE', KEYS[3], ttl)
  return {1, ARGV[1], now + lease, 0, 0, fencing}
end
local h = redis.call('HMGET', KEYS[1], 'owner', 'lease_until', 'finished_at', 'status')
local lease_until = tonumber(h[2]) or 0
if h[4] == 'paused' then return {2, h[1] or '', lease_until, 0, 1, 0} end
if ARGV[6] == 'take_over' and not h[3] and lease_until < now then
  local fencing = redis.call('INCR', KEYS[4])
  redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'token', ARGV[2], 'started_at', now,
    'lease_until', now + lease, 'fencing_token', fencing)
  redis.call('HINCRBY', KEYS[1], 'takeovers', 1)
  redis.call('PEXPIRE', KEYS[1], ttl)
  redis.call('ZADD', KEYS[3], now + lease, ARGV[4])
  redis.call('PEXPIRE', KEYS[3], ttl)
  return {1, ARGV[1], now + lease, 0, 0, fencing}
end
local finished = 0
if h[3] then finished = 1 end
return {0, h[1] or '', lease_until, math.max(lease_until - now, 0), finished, 0}
"#;

/// KEYS: tick hash, open index; ARGV: token, lease ms, retention ms, tick ms. Returns 1 when
/// renewed.
const RENEW: &str = r#"
local h = redis.call('HMGET', KEYS[1], 'token', 'finished_at')
if h[1] ~= ARGV[1] or h[2] then return 0 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('HSET', KEYS[1], 'lease_until', now + tonumber(ARGV[2]))
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]) + tonumber(ARGV[2]))
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), ARGV[4])
return 1
"#;

/// KEYS: tick hash, open index; ARGV: token, status, duration ms, retention ms, has message,
/// message, tick ms. Returns 1 when recorded.
const FINISH: &str = r#"
local h = redis.call('HMGET', KEYS[1], 'token', 'finished_at')
if h[1] ~= ARGV[1] or h[2] then return 0 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('HSET', KEYS[1], 'finished_at', now, 'lease_until', now, 'status', ARGV[2],
  'duration_ms', ARGV[3])
if ARGV[5] == '1' then redis.call('HSET', KEYS[1], 'message', ARGV[6]) end
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[4]))
redis.call('ZREM', KEYS[2], ARGV[7])
return 1
"#;

impl Redis {
    /// A coordinator on `client` (e.g. `redis::Client::open("redis://host/")`) with default
    /// options. It connects on first use and reconnects by itself after failures.
    pub fn new(client: Client) -> Self {
        Self::from_valid(client, RedisOptions::default())
    }

    /// A coordinator for the server at `url` with `options`; fails on a malformed URL or
    /// prefix. Connects on first use.
    pub fn open(url: &str, options: RedisOptions) -> Result<Self, CoordinatorError> {
        let client = Client::open(url).map_err(CoordinatorError::backend)?;
        Self::with_options(client, options)
    }

    /// A coordinator on `client` with `options`; fails on a prefix that is empty or contains
    /// braces, whitespace or control characters.
    pub fn with_options(client: Client, options: RedisOptions) -> Result<Self, CoordinatorError> {
        let valid = !options.prefix.is_empty()
            && options
                .prefix
                .chars()
                .all(|c| !c.is_whitespace() && !c.is_control() && c != '{' && c != '}');
        if !valid {
            return Err(CoordinatorError::Config(format!(
                "`{}` is not a valid key prefix: expected a non-empty prefix without braces, \
                 whitespace or control characters",
                options.prefix
            )));
        }
        Ok(Self::from_valid(client, options))
    }

    fn from_valid(client: Client, options: RedisOptions) -> Self {
        Self {
            client,
            connection: OnceCell::new(),
            prefix: options.prefix,
            retention: options.retention,
            timeout: options.timeout,
            replica_id: options.replica_id.unwrap_or_else(super::default_replica_id),
        }
    }

    async fn connection(&self) -> Result<ConnectionManager, CoordinatorError> {
        let manager = self
            .connection
            .get_or_try_init(|| {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(self.timeout)
                    .set_response_timeout(self.timeout)
                    .set_number_of_retries(1);
                ConnectionManager::new_with_config(self.client.clone(), config)
            })
            .await
            .map_err(CoordinatorError::backend)?;
        Ok(manager.clone())
    }

    fn tick_key(&self, slug: &str, tick: DateTime<Utc>) -> String {
        format!(
            "{}:{{{slug}}}:tick:{}",
            self.prefix,
            tick.timestamp_millis()
        )
    }

    fn index_key(&self, slug: &str) -> String {
        format!("{}:{{{slug}}}:ticks", self.prefix)
    }

    fn open_key(&self, slug: &str) -> String {
        format!("{}:{{{slug}}}:open", self.prefix)
    }

    fn fencing_key(&self, slug: &str) -> String {
        format!("{}:{{{slug}}}:fencing", self.prefix)
    }

    /// The job's pause, a hash (`by`, `since`, `until` in ms) that expires with its `until`.
    fn pause_key(&self, slug: &str) -> String {
        format!("{}:{{{slug}}}:paused", self.prefix)
    }

    async fn set_pause(
        &self,
        slug: &str,
        until: Option<DateTime<Utc>>,
        by: &str,
    ) -> Result<(), CoordinatorError> {
        let mut connection = self.connection().await?;
        let key = self.pause_key(slug);
        let (secs, micros): (i64, i64) = ::redis::cmd("TIME")
            .query_async(&mut connection)
            .await
            .map_err(CoordinatorError::backend)?;
        let now_ms = secs.saturating_mul(1000).saturating_add(micros / 1000);
        let mut pipe = ::redis::pipe();
        pipe.atomic().del(&key).ignore();
        pipe.hset_multiple(
            &key,
            &[("by", by.to_owned()), ("since", now_ms.to_string())],
        )
        .ignore();
        if let Some(until) = until {
            pipe.hset(&key, "until", until.timestamp_millis()).ignore();
            pipe.cmd("PEXPIREAT")
                .arg(&key)
                .arg(until.timestamp_millis())
                .ignore();
        }
        pipe.query_async::<()>(&mut connection)
            .await
            .map_err(CoordinatorError::backend)
    }

    async fn lift_pause(&self, slug: &str) -> Result<bool, CoordinatorError> {
        let mut connection = self.connection().await?;
        // An expired pause is gone with its key.
        let removed: i64 = ::redis::cmd("DEL")
            .arg(self.pause_key(slug))
            .query_async(&mut connection)
            .await
            .map_err(CoordinatorError::backend)?;
        Ok(removed == 1)
    }

    async fn read_pauses(&self, slugs: &[&str]) -> Result<Vec<Pause>, CoordinatorError> {
        if slugs.is_empty() {
            return Ok(Vec::new());
        }
        let mut connection = self.connection().await?;
        let mut pipe = ::redis::pipe();
        for slug in slugs {
            pipe.cmd("HGETALL").arg(self.pause_key(slug));
        }
        let hashes: Vec<HashMap<String, String>> = pipe
            .query_async(&mut connection)
            .await
            .map_err(CoordinatorError::backend)?;
        let millis_of = |slug: &str, hash: &HashMap<String, String>, field: &str| {
            hash.get(field)
                .map(|v| {
                    v.parse::<i64>()
                        .map_err(|_| {
                            CoordinatorError::Data(format!(
                                "`{field}` of the pause of {slug} is `{v}`"
                            ))
                        })
                        .and_then(from_millis)
                })
                .transpose()
        };
        slugs
            .iter()
            .zip(hashes)
            .filter(|(_, hash)| !hash.is_empty())
            .map(|(slug, hash)| {
                let since = millis_of(slug, &hash, "since")?.ok_or_else(|| {
                    CoordinatorError::Data(format!("the pause of {slug} lacks `since`"))
                })?;
                Ok(Pause::new(
                    *slug,
                    hash.get("by").cloned().unwrap_or_default(),
                    since,
                    millis_of(slug, &hash, "until")?,
                ))
            })
            .collect()
    }

    /// Runs `script` once per argument list of `calls` (each with its keys) in one pipeline,
    /// one round trip, after loading the script in the same pipeline. Loading it first,
    /// every time, rather than retrying on `NOSCRIPT`: a server that lost its scripts
    /// (restarted, failed over) could run part of a batch, if another replica loads the script
    /// meanwhile, and a claim batch retried after that would lose the ticks its first part won.
    async fn run_all<T: FromRedisValue>(
        &self,
        script: &Script,
        calls: &[ScriptInvocation<'_>],
    ) -> Result<Vec<T>, CoordinatorError> {
        if calls.is_empty() {
            return Ok(Vec::new());
        }
        let mut connection = self.connection().await?;
        let mut pipe = ::redis::pipe();
        pipe.load_script(script).ignore();
        for call in calls {
            pipe.invoke_script(call);
        }
        let answers: Vec<T> = pipe
            .query_async(&mut connection)
            .await
            .map_err(CoordinatorError::backend)?;
        one_each(
            format_args!("{} script calls", calls.len()),
            calls.len(),
            answers,
        )
    }

    /// Claims (`mode` `claim`) or takes over (`take_over`) every tick of `ticks` in one round
    /// trip; answers in order.
    async fn claim_all(
        &self,
        ticks: &[(&str, DateTime<Utc>)],
        lease: Duration,
        mode: &str,
    ) -> Result<Vec<Claim>, CoordinatorError> {
        let script = &SCRIPTS.claim;
        let tokens: Vec<String> = ticks.iter().map(|_| new_token()).collect();
        let calls: Vec<_> = ticks
            .iter()
            .zip(&tokens)
            .map(|((slug, tick), token)| {
                let mut call = script.prepare_invoke();
                call.key(self.tick_key(slug, *tick))
                    .key(self.index_key(slug))
                    .key(self.open_key(slug))
                    .key(self.fencing_key(slug))
                    .key(self.pause_key(slug))
                    .arg(&self.replica_id)
                    .arg(token)
                    .arg(millis(lease))
                    .arg(tick.timestamp_millis())
                    .arg(millis(self.retention))
                    .arg(mode);
                call
            })
            .collect();
        let answers: Vec<ClaimAnswer> = self.run_all(script, &calls).await?;
        ticks
            .iter()
            .zip(tokens)
            .zip(answers)
            .map(|(((slug, tick), token), answer)| claim_answer(slug, *tick, token, answer))
            .collect()
    }

    async fn claim_one(
        &self,
        slug: &str,
        tick: DateTime<Utc>,
        lease: Duration,
        mode: &str,
    ) -> Result<Claim, CoordinatorError> {
        let mut claims = self.claim_all(&[(slug, tick)], lease, mode).await?;
        match claims.pop() {
            Some(claim) if claims.is_empty() => Ok(claim),
            _ => Err(CoordinatorError::Data(
                "one claim got another number of answers".into(),
            )),
        }
    }

    async fn renew_all(
        &self,
        tokens: &[ClaimToken],
        lease: Duration,
    ) -> Result<Vec<bool>, CoordinatorError> {
        let script = &SCRIPTS.renew;
        let calls: Vec<_> = tokens
            .iter()
            .map(|token| {
                let mut call = script.prepare_invoke();
                call.key(self.tick_key(&token.slug, token.tick))
                    .key(self.open_key(&token.slug))
                    .arg(&token.token)
                    .arg(millis(lease))
                    .arg(millis(self.retention))
                    .arg(token.tick.timestamp_millis());
                call
            })
            .collect();
        let renewed: Vec<i64> = self.run_all(script, &calls).await?;
        Ok(renewed.into_iter().map(|n| n == 1).collect())
    }

    async fn finish_all(
        &self,
        runs: &[(ClaimToken, RunOutcome)],
    ) -> Result<Vec<bool>, CoordinatorError> {
        let script = &SCRIPTS.finish;
        let calls: Vec<_> = runs
            .iter()
            .map(|(token, outcome)| {
                let message = outcome.stored_message();
                let mut call = script.prepare_invoke();
                call.key(self.tick_key(&token.slug, token.tick))
                    .key(self.open_key(&token.slug))
                    .arg(&token.token)
                    .arg(outcome.status.as_str())
                    .arg(millis(outcome.duration))
                    .arg(millis(self.retention))
                    .arg(if message.is_some() { "1" } else { "0" })
                    .arg(message.unwrap_or_default())
                    .arg(token.tick.timestamp_millis());
                call
            })
            .collect();
        let finished: Vec<i64> = self.run_all(script, &calls).await?;
        Ok(finished.into_iter().map(|n| n == 1).collect())
    }

    /// The sweep: Redis's clock (`TIME`), then each job's open index read in one pipeline of
    /// plain `ZRANGEBYSCORE`s (cheaper for the server than a script per job).
    async fn expired(
        &self,
        slugs: &[&str],
        since: DateTime<Utc>,
    ) -> Result<Vec<(String, DateTime<Utc>)>, CoordinatorError> {
        if slugs.is_empty() {
            return Ok(Vec::new());
        }
        let mut connection = self.connection().await?;
        let (secs, micros): (i64, i64) = ::redis::cmd("TIME")
            .query_async(&mut connection)
            .await
            .map_err(CoordinatorError::backend)?;
        let now_ms = secs.saturating_mul(1000).saturating_add(micros / 1000);
        let mut pipe = ::redis::pipe();
        for slug in slugs {
            pipe.cmd("ZRANGEBYSCORE")
                .arg(self.open_key(slug))
                .arg("-inf")
                .arg(format!("({now_ms}"));
        }
        let open: Vec<Vec<i64>> = pipe
            .query_async(&mut connection)
            .await
            .map_err(CoordinatorError::backend)?;
        let since_ms = since.timestamp_millis();
        let mut expired = Vec::new();
        for (slug, ticks) in slugs.iter().zip(open) {
            for tick in ticks.into_iter().filter(|tick| *tick >= since_ms) {
                expired.push(((*slug).to_owned(), from_millis(tick)?));
            }
        }
        Ok(expired)
    }

    async fn ticks(
        &self,
        slug: &str,
        limit: usize,
    ) -> Result<Vec<DateTime<Utc>>, CoordinatorError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let mut connection = self.connection().await?;
        let stop = isize::try_from(limit).unwrap_or(isize::MAX) - 1;
        let members: Vec<i64> = ::redis::cmd("ZREVRANGEBYSCORE")
            .arg(self.index_key(slug))
            .arg("+inf")
            .arg("-inf")
            .arg("LIMIT")
            .arg(0)
            .arg(stop.saturating_add(1))
            .query_async(&mut connection)
            .await
            .map_err(CoordinatorError::backend)?;
        members.into_iter().map(from_millis).collect()
    }

    async fn read_history(
        &self,
        slug: &str,
        limit: usize,
    ) -> Result<Vec<RunRecord>, CoordinatorError> {
        let ticks = self.ticks(slug, limit).await?;
        let mut connection = self.connection().await?;
        let mut pipe = ::redis::pipe();
        for tick in &ticks {
            pipe.cmd("HGETALL").arg(self.tick_key(slug, *tick));
        }
        let hashes: Vec<HashMap<String, String>> = pipe
            .query_async(&mut connection)
            .await
            .map_err(CoordinatorError::backend)?;
        ticks
            .into_iter()
            .zip(hashes)
            // A tick whose hash expired is no longer history.
            .filter(|(_, hash)| !hash.is_empty())
            .map(|(tick, hash)| record(slug, tick, &hash))
            .collect()
    }
}

impl Coordinator for Redis {
    fn replica_id(&self) -> &str {
        &self.replica_id
    }

    fn prepare(&self) -> CoordinatorFuture<'_, ()> {
        Box::pin(with_timeout(self.timeout, async move {
            self.connection().await.map(|_| ())
        }))
    }

    fn claim<'a>(
        &'a self,
        slug: &'a str,
        tick: DateTime<Utc>,
        lease: Duration,
    ) -> CoordinatorFuture<'a, Claim> {
        Box::pin(with_timeout(
            self.timeout,
            self.claim_one(slug, tick, lease, "claim"),
        ))
    }

    fn take_over<'a>(
        &'a self,
        slug: &'a str,
        tick: DateTime<Utc>,
        lease: Duration,
    ) -> CoordinatorFuture<'a, Claim> {
        Box::pin(with_timeout(
            self.timeout,
            self.claim_one(slug, tick, lease, "take_over"),
        ))
    }

    fn renew<'a>(&'a self, token: &'a ClaimToken, lease: Duration) -> CoordinatorFuture<'a, bool> {
        Box::pin(with_timeout(self.timeout, async move {
            only(self.renew_all(std::slice::from_ref(token), lease).await?)
        }))
    }

    fn finish<'a>(
        &'a self,
        token: &'a ClaimToken,
        outcome: &'a RunOutcome,
    ) -> CoordinatorFuture<'a, bool> {
        Box::pin(with_timeout(self.timeout, async move {
            let runs = [(token.clone(), outcome.clone())];
            only(self.finish_all(&runs).await?)
        }))
    }

    fn claim_many<'a>(
        &'a self,
        ticks: &'a [(&'a str, DateTime<Utc>)],
        lease: Duration,
    ) -> CoordinatorFuture<'a, Vec<Claim>> {
        Box::pin(with_timeout(
            self.timeout,
            self.claim_all(ticks, lease, "claim"),
        ))
    }

    fn renew_many<'a>(
        &'a self,
        tokens: &'a [ClaimToken],
        lease: Duration,
    ) -> CoordinatorFuture<'a, Vec<bool>> {
        Box::pin(with_timeout(self.timeout, self.renew_all(tokens, lease)))
    }

    fn finish_many<'a>(
        &'a self,
        runs: &'a [(ClaimToken, RunOutcome)],
    ) -> CoordinatorFuture<'a, Vec<bool>> {
        Box::pin(with_timeout(self.timeout, self.finish_all(runs)))
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
            Ok(self.ticks(slug, 1).await?.into_iter().next())
        }))
    }

    fn history<'a>(&'a self, slug: &'a str, limit: usize) -> CoordinatorFuture<'a, Vec<RunRecord>> {
        Box::pin(with_timeout(self.timeout, self.read_history(slug, limit)))
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

    fn prune(&self) -> CoordinatorFuture<'_, u64> {
        // Keys expire after the retention; the claim script trims each job's index.
        Box::pin(async { Ok(0) })
    }
}

/// The scripts, hashed once.
struct Scripts {
    claim: Script,
    renew: Script,
    finish: Script,
}

static SCRIPTS: LazyLock<Scripts> = LazyLock::new(|| Scripts {
    claim: Script::new(CLAIM),
    renew: Script::new(RENEW),
    finish: Script::new(FINISH),
});

/// The [`CLAIM`] script's answer: `{won, owner, lease_until, retry_in, finished, fencing}`.
type ClaimAnswer = (i64, String, i64, i64, i64, i64);

/// A claim from the [`CLAIM`] script's answer.
fn claim_answer(
    slug: &str,
    tick: DateTime<Utc>,
    token: String,
    (won, owner, lease_until_ms, retry_in_ms, finished, fencing): ClaimAnswer,
) -> Result<Claim, CoordinatorError> {
    let lease_until = from_millis(lease_until_ms)?;
    Ok(if won == 2 {
        Claim::Paused
    } else if won == 1 {
        Claim::Won(ClaimToken {
            slug: slug.to_owned(),
            tick,
            token,
            lease_until,
            fencing_token: u64::try_from(fencing).map_err(|_| {
                CoordinatorError::Data(format!("fencing token {fencing} out of range"))
            })?,
        })
    } else {
        Claim::Lost(Holder {
            owner,
            lease_until,
            retry_in: Duration::from_millis(u64::try_from(retry_in_ms).unwrap_or(0)),
            finished: finished == 1,
        })
    })
}

fn from_millis(ms: i64) -> Result<DateTime<Utc>, CoordinatorError> {
    DateTime::from_timestamp_millis(ms)
        .ok_or_else(|| CoordinatorError::Data(format!("timestamp {ms} ms out of range")))
}

fn record(
    slug: &str,
    tick: DateTime<Utc>,
    hash: &HashMap<String, String>,
) -> Result<RunRecord, CoordinatorError> {
    let text = |field: &str| -> Result<&str, CoordinatorError> {
        hash.get(field)
            .map(String::as_str)
            .ok_or_else(|| CoordinatorError::Data(format!("claim of {slug} lacks `{field}`")))
    };
    let number = |field: &str| -> Result<Option<i64>, CoordinatorError> {
        hash.get(field)
            .map(|v| {
                v.parse::<i64>().map_err(|_| {
                    CoordinatorError::Data(format!("`{field}` of a claim of {slug} is `{v}`"))
                })
            })
            .transpose()
    };
    let time = |field: &str| -> Result<Option<DateTime<Utc>>, CoordinatorError> {
        number(field)?.map(from_millis).transpose()
    };
    let required = |field: &str| -> Result<DateTime<Utc>, CoordinatorError> {
        time(field)?
            .ok_or_else(|| CoordinatorError::Data(format!("claim of {slug} lacks `{field}`")))
    };
    let status = hash
        .get("status")
        .map(|name| {
            RunStatus::parse(name)
                .ok_or_else(|| CoordinatorError::Data(format!("unknown run status `{name}`")))
        })
        .transpose()?;
    Ok(RunRecord {
        slug: slug.to_owned(),
        tick,
        owner: text("owner")?.to_owned(),
        claimed_at: required("claimed_at")?,
        started_at: required("started_at")?,
        lease_until: required("lease_until")?,
        finished_at: time("finished_at")?,
        status,
        duration: number("duration_ms")?
            .map(|ms| {
                u64::try_from(ms)
                    .map(Duration::from_millis)
                    .map_err(|_| CoordinatorError::Data(format!("negative duration {ms} ms")))
            })
            .transpose()?,
        message: hash.get("message").cloned(),
        takeovers: number("takeovers")?
            .map(|n| {
                u32::try_from(n).map_err(|_| {
                    CoordinatorError::Data(format!("take-over count {n} out of range"))
                })
            })
            .transpose()?
            .unwrap_or(0),
        fencing_token: number("fencing_token")?
            .map(|n| {
                u64::try_from(n)
                    .map_err(|_| CoordinatorError::Data(format!("fencing token {n} out of range")))
            })
            .transpose()?,
    })
}
