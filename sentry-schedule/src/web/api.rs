//! The JSON endpoints and the per-job view the page shows too.
use super::Shared;
use crate::coordinator::{Pause, RunRecord};
use crate::job::Job;
use crate::scheduler::handle::SchedulerHandle;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::Duration;

/// Next runs shown per job.
pub(crate) const NEXT_RUNS: usize = 3;
/// History rows unless `limit` is given, and at most.
const HISTORY: (usize, usize) = (20, 500);
/// Timeline hours unless `hours` is given, and at most.
const HOURS: (u32, u32) = (24, 168);

/// One job as the page and `/api/jobs` show it.
pub(crate) struct JobView {
    pub(crate) slug: String,
    pub(crate) schedule: String,
    pub(crate) timezone: chrono_tz::Tz,
    pub(crate) description: String,
    pub(crate) next: Vec<DateTime<Utc>>,
    pub(crate) last: Option<crate::job::LastRun>,
    pub(crate) off: Option<String>,
    pub(crate) paused: Option<Pause>,
    pub(crate) started: u64,
    pub(crate) succeeded: u64,
    pub(crate) failed: u64,
    pub(crate) skipped: u64,
    pub(crate) missed: u64,
}

impl JobView {
    pub(crate) fn of(
        handle: &SchedulerHandle,
        job: &Job,
        now: DateTime<Utc>,
        paused: Option<Pause>,
    ) -> Self {
        let off = handle.off(job.slug()).map(ToString::to_string);
        let placed = if job.schedule().is_hashed() {
            job.schedule().resolve_hashed(job.slug())
        } else {
            job.schedule().clone()
        };
        let stats = job.stats();
        Self {
            slug: job.slug().to_owned(),
            schedule: job.schedule().to_string(),
            timezone: job.timezone(),
            description: sentry_schedule_core::describe::describe(&placed, job.timezone()),
            // An off job is never scheduled: no next runs.
            next: match off {
                Some(_) => Vec::new(),
                None => job.upcoming(now).take(NEXT_RUNS).collect(),
            },
            last: stats.last_run(),
            off,
            paused,
            started: stats.started(),
            succeeded: stats.succeeded(),
            failed: stats.failed(),
            skipped: stats.skipped(),
            missed: stats.missed(),
        }
    }

    fn to_json(&self) -> Value {
        json!({
            "slug": self.slug,
            "schedule": self.schedule,
            "timezone": self.timezone.name(),
            "description": self.description,
            "next_runs": self.next.iter().map(|at| json!({
                "utc": rfc3339(*at),
                "local": at.with_timezone(&self.timezone).to_rfc3339_opts(SecondsFormat::Secs, true),
            })).collect::<Vec<_>>(),
            "last_run": self.last.map(|last| json!({
                "outcome": last.outcome.label(),
                "duration_ms": millis(last.duration),
                "scheduled": rfc3339(last.scheduled),
            })),
            "off": self.off,
            "paused": self.paused.as_ref().map(|p| json!({
                "by": p.by,
                "since": rfc3339(p.since),
                "until": p.until.map(rfc3339),
            })),
            "runs": {
                "started": self.started,
                "succeeded": self.succeeded,
                "failed": self.failed,
                "skipped": self.skipped,
                "missed": self.missed,
            },
        })
    }
}

/// Every job's view; the pauses are read once (from the coordinator's backend, if any: a
/// failure is logged and shows no pause).
pub(crate) async fn views(handle: &SchedulerHandle) -> Vec<JobView> {
    let pauses = match handle.pauses().await {
        Ok(pauses) => pauses,
        Err(error) => {
            tracing::warn!(%error, "ops page: reading the pauses failed; shown as not paused");
            Vec::new()
        }
    };
    let now = handle.now();
    handle
        .jobs()
        .map(|job| {
            let paused = pauses.iter().find(|p| p.slug == job.slug()).cloned();
            JobView::of(handle, job, now, paused)
        })
        .collect()
}

pub(crate) fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// `GET /api/jobs`
pub(crate) async fn jobs(State(web): State<Shared>) -> Json<Value> {
    let jobs: Vec<Value> = views(&web.handle)
        .await
        .iter()
        .map(JobView::to_json)
        .collect();
    Json(json!({ "now": rfc3339(web.handle.now()), "jobs": jobs }))
}

fn not_found(slug: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({ "error": format!("no job has the slug `{slug}`") })),
    )
        .into_response()
}

fn bad_request(why: String) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({ "error": why }))).into_response()
}

/// A number query parameter within `1..=max`, `default` when absent; the error says what
/// was expected.
fn number<T: std::str::FromStr + PartialOrd + From<u8> + std::fmt::Display + Copy>(
    query: &HashMap<String, String>,
    name: &str,
    (default, max): (T, T),
) -> Result<T, String> {
    let Some(text) = query.get(name) else {
        return Ok(default);
    };
    match text.parse::<T>() {
        Ok(n) if n >= T::from(1) && n <= max => Ok(n),
        _ => Err(format!(
            "`{name}` must be a whole number from 1 to {max}, not `{text}`"
        )),
    }
}

/// `GET /api/jobs/{slug}/history?limit=N`
pub(crate) async fn history(
    State(web): State<Shared>,
    Path(slug): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if web.handle.job(&slug).is_none() {
        return not_found(&slug);
    }
    let limit = match number(&query, "limit", HISTORY) {
        Ok(limit) => limit,
        Err(why) => return bad_request(why),
    };
    match web.handle.history(&slug, limit).await {
        Ok(runs) => Json(json!({
            "slug": slug,
            "coordinated": web.handle.coordinator().is_some(),
            "runs": runs.iter().map(record).collect::<Vec<_>>(),
        }))
        .into_response(),
        Err(error) => {
            tracing::warn!(%slug, %error, "ops page: reading the run history failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "error": format!("the coordinator could not be read: {error}") })),
            )
                .into_response()
        }
    }
}

fn record(run: &RunRecord) -> Value {
    json!({
        "tick": rfc3339(run.tick),
        "owner": run.owner,
        "started_at": rfc3339(run.started_at),
        "finished_at": run.finished_at.map(rfc3339),
        "status": run.status.map(|s| s.as_str()),
        "duration_ms": run.duration.map(millis),
        "message": run.message,
        "takeovers": run.takeovers,
    })
}

/// `GET /api/check-ins`
pub(crate) async fn check_ins(State(web): State<Shared>) -> Json<Value> {
    let s = web.handle.check_ins().snapshot();
    Json(json!({
        "queued": s.queued,
        "sent": s.sent,
        "retried": s.retried,
        "rate_limited": s.rate_limited,
        "pending": s.pending,
        "to_transport": s.to_transport,
        "dropped": {
            "total": s.dropped.total(),
            "queue_full": s.dropped.queue_full,
            "failed": s.dropped.failed,
            "rejected": s.dropped.rejected,
            "shutdown": s.dropped.shutdown,
            "unbuildable": s.dropped.unbuildable,
        },
    }))
}

/// `GET /api/timeline?hours=N`
pub(crate) async fn timeline(
    State(web): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let hours = match number(&query, "hours", HOURS) {
        Ok(hours) => hours,
        Err(why) => return bad_request(why),
    };
    let timeline = web.handle.timeline(hours);
    Json(json!({
        "from": rfc3339(timeline.from),
        "to": rfc3339(timeline.to),
        "rows": timeline.rows.iter().map(|row| json!({
            "slug": row.slug,
            "starts": row.starts.iter().map(|at| rfc3339(*at)).collect::<Vec<_>>(),
            "overlaps": row.overlaps.map(|(max_runtime, shortest)| json!({
                "max_runtime_secs": max_runtime.as_secs(),
                "shortest_gap_secs": shortest.as_secs(),
            })),
        })).collect::<Vec<_>>(),
        "clusters": timeline.clusters.iter().map(|c| json!({
            "first": rfc3339(c.first),
            "times": c.times,
            "slugs": c.slugs,
            "suggestions": c.suggestions.iter().map(|(slug, schedule)| json!({
                "slug": slug, "schedule": schedule,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    }))
    .into_response()
}

/// `POST /api/jobs/{slug}/run`: starts the run and answers at once (`202`); the run goes on
/// in a task of its own, counted like any run.
pub(crate) async fn run_now(State(web): State<Shared>, Path(slug): Path<String>) -> Response {
    if web.handle.job(&slug).is_none() {
        return not_found(&slug);
    }
    let handle = web.handle.clone();
    let run_slug = slug.clone();
    tokio::spawn(async move {
        match handle.run_now(&run_slug).await {
            Ok(report) => tracing::info!(slug = %run_slug, "ops page: run now: {report}"),
            Err(error) => tracing::warn!(slug = %run_slug, %error, "ops page: run now failed"),
        }
    });
    tracing::info!(%slug, "ops page: run now requested");
    (
        StatusCode::ACCEPTED,
        Json(json!({ "slug": slug, "action": "run", "accepted": true })),
    )
        .into_response()
}

/// `POST /api/jobs/{slug}/pause?until=<RFC 3339>`: pauses the job (until resumed when
/// `until` is absent), as `Scheduler::pause`.
pub(crate) async fn pause(
    State(web): State<Shared>,
    Path(slug): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if web.handle.job(&slug).is_none() {
        return not_found(&slug);
    }
    let until = match query.get("until") {
        None => None,
        Some(text) => match DateTime::parse_from_rfc3339(text) {
            Ok(at) => Some(at.with_timezone(&Utc)),
            Err(_) => {
                return bad_request(format!(
                    "`until` must be an RFC 3339 instant (2026-03-02T12:00:00Z), not `{text}`"
                ))
            }
        },
    };
    match web.handle.pause(&slug, until).await {
        Ok(()) => acted(&slug, "pause"),
        Err(error) => failed(&slug, "pause", &error),
    }
}

/// `POST /api/jobs/{slug}/resume`, as `Scheduler::resume`.
pub(crate) async fn resume(State(web): State<Shared>, Path(slug): Path<String>) -> Response {
    if web.handle.job(&slug).is_none() {
        return not_found(&slug);
    }
    match web.handle.resume(&slug).await {
        Ok(()) => acted(&slug, "resume"),
        Err(error) => failed(&slug, "resume", &error),
    }
}

fn acted(slug: &str, action: &str) -> Response {
    tracing::info!(%slug, action, "ops page: action done");
    Json(json!({ "slug": slug, "action": action, "accepted": true })).into_response()
}

fn failed(slug: &str, action: &str, error: &crate::Error) -> Response {
    tracing::warn!(%slug, action, %error, "ops page: action failed");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({ "error": error.to_string() })),
    )
        .into_response()
}
