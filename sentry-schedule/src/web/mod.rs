//! The HTTP ops surface (feature `web`): an axum 0.8 [`Router`] to mount in the
//! application's server, with one HTML page and JSON endpoints.
//!
//! ```no_run
//! # async fn app() -> Result<(), Box<dyn std::error::Error>> {
//! use sentry_schedule::web::{self, WebOptions};
//! let scheduler = sentry_schedule::Scheduler::builder().build()?;
//! let ops = web::router(
//!     scheduler.handle(),
//!     WebOptions::new().bearer_token(std::env::var("OPS_TOKEN")?),
//! );
//! let app = axum::Router::new().nest("/ops", ops);
//! # let _ = app;
//! scheduler.run().await?;
//! # Ok(())
//! # }
//! ```
//!
//! | method and path | what |
//! |---|---|
//! | `GET /` | the page: every job with its schedule in plain language, next runs in its zone and in UTC, last outcome and duration, whether it is off; the next 24 hours as an SVG chart with the minutes where jobs start together marked. No external assets: it works offline. |
//! | `GET /api/jobs` | the same as JSON |
//! | `GET /api/jobs/{slug}/history?limit=N` | the job's runs as the coordinator recorded them (newest first, `limit` 20 unless given, at most 500); `[]` without a coordinator |
//! | `GET /api/check-ins` | the check-in delivery counts ([`CheckInStats`](crate::CheckInStats)) |
//! | `GET /api/timeline?hours=N` | the timeline (24 hours unless given, at most 168) |
//! | `POST /api/jobs/{slug}/run` | runs the job now ([`SchedulerHandle::run_now`]); `202 Accepted` |
//! | `POST /api/jobs/{slug}/pause?until=T` | pauses the job ([`SchedulerHandle::pause`]) until the RFC 3339 instant `T`, or until resumed |
//! | `POST /api/jobs/{slug}/resume` | resumes it ([`SchedulerHandle::resume`]) |
//!
//! **Actions** (`POST`) run only when the router was given a guard: a bearer token
//! ([`WebOptions::bearer_token`], compared in constant time; a request without it or with
//! another gets `401`), or the application's own tower layer ([`router_with_layer`]).
//! Without a guard every action answers `403` and the page shows no buttons. The page shows a
//! paused job's pause (until when, by whom) and a "Pause" or "Resume" button. `GET` on an
//! action answers `405`.
//!
//! **Cross-site requests**: an action is refused with `403` when the browser says it comes
//! from another site: a `Sec-Fetch-Site` header other than `same-origin` or `none`, or an
//! `Origin` header whose host and port differ from the request's `Host`. Requests without
//! those headers (`curl`, scripts) pass this check; a browser always sends them on a
//! cross-site `POST`. So a page elsewhere cannot make a signed-in operator's browser act,
//! whatever the guard (a cookie-based layer included).
//!
//! Nothing here shows the DSN, the monitor configuration sent to Sentry, or the job's
//! state: only slugs, schedules, times, outcomes and counts.
mod api;
mod guard;
mod page;
mod svg;

use crate::scheduler::handle::SchedulerHandle;
use axum::extract::Request;
use axum::response::IntoResponse;
use axum::routing::{get, post, Route};
use axum::Router;
use std::convert::Infallible;
use std::fmt;
use std::sync::Arc;
use tower_layer::Layer;
use tower_service::Service;

/// `&`, `<`, `>`, `"` and `'` escaped for HTML text and attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// How the ops router is set up: read-only unless given a guard for its actions.
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct WebOptions {
    token: Option<Arc<str>>,
    title: Option<String>,
}

impl WebOptions {
    /// Read-only: no action runs.
    pub fn new() -> Self {
        Self::default()
    }

    /// Allows the actions to requests with `Authorization: Bearer <token>`, compared in
    /// constant time. An empty token allows nothing.
    pub fn bearer_token(mut self, token: impl Into<String>) -> Self {
        let token: String = token.into();
        self.token = (!token.is_empty()).then(|| Arc::from(token));
        self
    }

    /// The page's heading (the service's name, say); "Scheduled jobs" unless set.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }
}

impl fmt::Debug for WebOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the token itself.
        f.debug_struct("WebOptions")
            .field("token", &self.token.as_ref().map(|_| "<set>"))
            .field("title", &self.title)
            .finish()
    }
}

/// Who may act, as the router was built.
#[derive(Clone)]
pub(crate) enum Actions {
    /// No guard: every action is refused.
    Off,
    /// The bearer token.
    Token(Arc<str>),
    /// The application's layer guards the action routes.
    Layer,
}

/// What every handler shares.
pub(crate) struct Web {
    pub(crate) handle: SchedulerHandle,
    pub(crate) actions: Actions,
    pub(crate) title: String,
}

pub(crate) type Shared = Arc<Web>;

/// The ops router over `handle`; actions only with [`WebOptions::bearer_token`].
pub fn router(handle: SchedulerHandle, options: WebOptions) -> Router {
    let actions = match &options.token {
        Some(token) => Actions::Token(Arc::clone(token)),
        None => Actions::Off,
    };
    build(handle, options, actions, |actions| actions)
}

/// The ops router over `handle` with its actions behind `layer`, the application's own
/// authorization (a session check, say). The layer sees only the action requests; the
/// cross-site check runs after it, and a bearer token set in `options` is required too.
pub fn router_with_layer<L>(handle: SchedulerHandle, options: WebOptions, layer: L) -> Router
where
    L: Layer<Route> + Clone + Send + Sync + 'static,
    L::Service: Service<Request> + Clone + Send + Sync + 'static,
    <L::Service as Service<Request>>::Response: IntoResponse + 'static,
    <L::Service as Service<Request>>::Error: Into<Infallible> + 'static,
    <L::Service as Service<Request>>::Future: Send + 'static,
{
    let actions = match &options.token {
        Some(token) => Actions::Token(Arc::clone(token)),
        None => Actions::Layer,
    };
    build(handle, options, actions, move |actions| {
        actions.route_layer(layer)
    })
}

fn build(
    handle: SchedulerHandle,
    options: WebOptions,
    actions: Actions,
    guard_with: impl FnOnce(Router<Shared>) -> Router<Shared>,
) -> Router {
    let web = Arc::new(Web {
        handle,
        actions,
        title: options.title.unwrap_or_else(|| "Scheduled jobs".to_owned()),
    });
    let action_routes = Router::new()
        .route("/api/jobs/{slug}/run", post(api::run_now))
        .route("/api/jobs/{slug}/pause", post(api::pause))
        .route("/api/jobs/{slug}/resume", post(api::resume))
        .route_layer(axum::middleware::from_fn_with_state(
            Arc::clone(&web),
            guard::guard,
        ));
    Router::new()
        .route("/", get(page::page))
        .route("/api/jobs", get(api::jobs))
        .route("/api/jobs/{slug}/history", get(api::history))
        .route("/api/check-ins", get(api::check_ins))
        .route("/api/timeline", get(api::timeline))
        .merge(guard_with(action_routes))
        .with_state(web)
}
