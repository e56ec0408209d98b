//! The HTTP ops surface (feature `web`) at the HTTP level: every endpoint's status and JSON,
//! the page, and the actions refused without a token, with a wrong one, by GET, and from
//! another site. Requests go through the router as axum serves them. Expected values are
//! written by hand.
#![cfg(feature = "web")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failed `expect` is a failed test"
)]
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use axum::Router;
use sentry_schedule::clock::TestClock;
use sentry_schedule::coordinator::InProcess;
use sentry_schedule::web::{self, WebOptions};
use sentry_schedule::{Job, JobContext, Scheduler};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt;

const TOKEN: &str = "0p5-t0ken-for-tests";

fn at(s: &str) -> chrono::DateTime<chrono::Utc> {
    s.parse().expect("test instant")
}

fn jobs() -> Vec<Job> {
    let quick = |_: JobContext| async { Ok::<(), String>(()) };
    vec![
        Job::builder("daily-report", "0 12 * * *")
            .timezone("Europe/Vienna")
            .monitor(false)
            .run(quick)
            .build()
            .unwrap(),
        Job::builder("every-quarter", "*/15 * * * *")
            .monitor(false)
            .run(quick)
            .build()
            .unwrap(),
        Job::builder("switched-off", "30 9 * * MON-FRI")
            .monitor(false)
            .run(quick)
            .build()
            .unwrap(),
    ]
}

/// Monday 2026-03-02 10:00 UTC (11:00 in Vienna).
fn scheduler() -> Scheduler {
    Scheduler::builder()
        .registered_jobs(false)
        .clock(TestClock::new(at("2026-03-02T10:00:00Z")))
        .jobs(jobs())
        .disable_jobs(["switched-off"])
        .build()
        .unwrap()
}

struct Answer {
    status: StatusCode,
    content_type: String,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

async fn send(router: &Router, request: Request<Body>) -> Answer {
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 24)
        .await
        .unwrap();
    Answer {
        status,
        content_type,
        body: String::from_utf8(bytes.to_vec()).unwrap(),
    }
}

async fn get(router: &Router, path: &str) -> Answer {
    send(router, Request::get(path).body(Body::empty()).unwrap()).await
}

fn post(path: &str, headers: &[(&str, &str)]) -> Request<Body> {
    let mut request = Request::builder().method(Method::POST).uri(path);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.body(Body::empty()).unwrap()
}

#[tokio::test]
async fn jobs_lists_schedules_next_runs_last_runs_and_what_is_off() {
    let scheduler = scheduler();
    let router = web::router(scheduler.handle(), WebOptions::new());
    let answer = get(&router, "/api/jobs").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.content_type, "application/json");
    let body = answer.json();
    assert_eq!(body["now"], "2026-03-02T10:00:00Z");
    assert_eq!(
        body["jobs"][0],
        json!({
            "slug": "daily-report",
            "schedule": "0 12 * * *",
            "timezone": "Europe/Vienna",
            "description": "at 12:00 every day, Europe/Vienna",
            "next_runs": [
                { "utc": "2026-03-02T11:00:00Z", "local": "2026-03-02T12:00:00+01:00" },
                { "utc": "2026-03-03T11:00:00Z", "local": "2026-03-03T12:00:00+01:00" },
                { "utc": "2026-03-04T11:00:00Z", "local": "2026-03-04T12:00:00+01:00" },
            ],
            "last_run": null,
            "off": null,
            "paused": null,
            "runs": { "started": 0, "succeeded": 0, "failed": 0, "skipped": 0, "missed": 0 },
        })
    );
    assert_eq!(body["jobs"][1]["slug"], "every-quarter");
    assert_eq!(body["jobs"][1]["description"], "every 15 minutes, UTC");
    assert_eq!(
        body["jobs"][1]["next_runs"][0],
        json!({ "utc": "2026-03-02T10:15:00Z", "local": "2026-03-02T10:15:00Z" })
    );
    assert_eq!(body["jobs"][2]["slug"], "switched-off");
    assert_eq!(
        body["jobs"][2]["description"],
        "at 09:30 on Monday to Friday, UTC"
    );
    assert_eq!(
        body["jobs"][2]["off"],
        "disabled by SchedulerBuilder::disable_jobs"
    );
    assert_eq!(body["jobs"][2]["next_runs"], json!([]));

    // A run shows as the last run, with its outcome.
    let report = scheduler.run_now("daily-report").await.unwrap();
    let body = get(&router, "/api/jobs").await.json();
    assert_eq!(body["jobs"][0]["last_run"]["outcome"], "ok");
    assert_eq!(
        body["jobs"][0]["last_run"]["scheduled"],
        "2026-03-02T10:00:00Z"
    );
    assert_eq!(
        body["jobs"][0]["last_run"]["duration_ms"],
        u64::try_from(report.duration.as_millis()).unwrap()
    );
    assert_eq!(body["jobs"][0]["runs"]["started"], 1);
    assert_eq!(body["jobs"][0]["runs"]["succeeded"], 1);
}

#[tokio::test]
async fn check_ins_timeline_and_bad_queries() {
    let scheduler = scheduler();
    let router = web::router(scheduler.handle(), WebOptions::new());

    let answer = get(&router, "/api/check-ins").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        answer.json(),
        json!({
            "queued": 0, "sent": 0, "retried": 0, "rate_limited": 0, "pending": 0,
            "to_transport": 0,
            "dropped": { "total": 0, "queue_full": 0, "failed": 0, "rejected": 0,
                         "shutdown": 0, "unbuildable": 0 },
        })
    );

    let answer = get(&router, "/api/timeline?hours=2").await;
    assert_eq!(answer.status, StatusCode::OK);
    let body = answer.json();
    assert_eq!(body["from"], "2026-03-02T10:00:00Z");
    assert_eq!(body["to"], "2026-03-02T12:00:00Z");
    // The job switched off has no row; the others their starts.
    let rows: Vec<&str> = body["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["slug"].as_str().unwrap())
        .collect();
    assert_eq!(rows, ["daily-report", "every-quarter"]);
    assert_eq!(body["rows"][0]["starts"], json!(["2026-03-02T11:00:00Z"]));
    // 10:00 (the window starts with it) to 11:45.
    assert_eq!(body["rows"][1]["starts"].as_array().unwrap().len(), 8);

    for path in [
        "/api/timeline?hours=0",
        "/api/timeline?hours=169",
        "/api/timeline?hours=x",
        "/api/jobs/daily-report/history?limit=0",
    ] {
        let answer = get(&router, path).await;
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "{path}: {}",
            answer.body
        );
        assert!(answer.json()["error"]
            .as_str()
            .unwrap()
            .contains("whole number"));
    }
    let answer = get(&router, "/api/jobs/nope/history").await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert_eq!(answer.json()["error"], "no job has the slug `nope`");
}

#[tokio::test(start_paused = true)]
async fn history_comes_from_the_coordinator() {
    let clock = TestClock::new(at("2026-03-02T10:00:00Z"));
    let coordinator = Arc::new(InProcess::with_clock(Arc::new(clock.clone())));
    let scheduler = Scheduler::builder()
        .registered_jobs(false)
        .clock(clock.clone())
        .coordinator(coordinator)
        .shutdown_signal(tokio::time::sleep(Duration::from_secs(20 * 60)))
        .job(
            Job::builder("every-quarter", "*/15 * * * *")
                .monitor(false)
                .run(|_: JobContext| async {
                    tokio::time::sleep(Duration::from_secs(2)).await;
                })
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let router = web::router(scheduler.handle(), WebOptions::new());
    let answer = get(&router, "/api/jobs/every-quarter/history").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        answer.json(),
        json!({ "slug": "every-quarter", "coordinated": true, "runs": [] })
    );
    scheduler.run().await.unwrap();

    let body = get(&router, "/api/jobs/every-quarter/history?limit=5")
        .await
        .json();
    let runs = body["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1, "{body}");
    assert_eq!(runs[0]["tick"], "2026-03-02T10:15:00Z");
    assert_eq!(runs[0]["status"], "ok");
    assert_eq!(runs[0]["duration_ms"], 2000);
    assert_eq!(runs[0]["takeovers"], 0);

    // Without a coordinator: an empty history, said so.
    let plain = self::scheduler();
    let router = web::router(plain.handle(), WebOptions::new());
    let body = get(&router, "/api/jobs/daily-report/history").await.json();
    assert_eq!(
        body,
        json!({ "slug": "daily-report", "coordinated": false, "runs": [] })
    );
}

#[tokio::test]
async fn actions_are_refused_without_a_guard_a_token_the_right_token_post_or_same_site() {
    let scheduler = scheduler();
    let stats = scheduler.job("every-quarter").unwrap().stats();
    let path = "/api/jobs/every-quarter/run";

    // No guard configured: refused whatever the request carries.
    let read_only = web::router(scheduler.handle(), WebOptions::new());
    let bearer = format!("Bearer {TOKEN}");
    let answer = send(&read_only, post(path, &[("authorization", &bearer)])).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN, "{}", answer.body);
    assert!(answer.json()["error"]
        .as_str()
        .unwrap()
        .starts_with("actions are off"));

    let guarded = web::router(scheduler.handle(), WebOptions::new().bearer_token(TOKEN));
    for (what, headers) in [
        ("no token", vec![]),
        (
            "a wrong token",
            vec![("authorization", "Bearer 0p5-t0ken-for-test")],
        ),
        (
            "a longer token",
            vec![("authorization", "Bearer 0p5-t0ken-for-tests!")],
        ),
        ("not a bearer token", vec![("authorization", TOKEN)]),
    ] {
        let answer = send(&guarded, post(path, &headers)).await;
        assert_eq!(
            answer.status,
            StatusCode::UNAUTHORIZED,
            "{what}: {}",
            answer.body
        );
    }
    // GET is not an action.
    let answer = send(
        &guarded,
        Request::get(path)
            .header("authorization", &bearer)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(answer.status, StatusCode::METHOD_NOT_ALLOWED);
    // From another site, even with the token (a browser sends these headers).
    for headers in [
        vec![("sec-fetch-site", "cross-site")],
        vec![
            ("host", "ops.internal:8080"),
            ("origin", "https://evil.example"),
        ],
    ] {
        let mut headers = headers;
        headers.push(("authorization", &bearer));
        let answer = send(&guarded, post(path, &headers)).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{headers:?}");
        assert!(answer.json()["error"]
            .as_str()
            .unwrap()
            .contains("cross-site"));
    }
    assert_eq!(stats.started(), 0, "no refused action ran the job");

    // The right token, from the page itself: the job runs.
    let answer = send(
        &guarded,
        post(
            path,
            &[
                ("authorization", &bearer),
                ("host", "ops.internal:8080"),
                ("origin", "http://ops.internal:8080"),
                ("sec-fetch-site", "same-origin"),
            ],
        ),
    )
    .await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.body);
    assert_eq!(
        answer.json(),
        json!({ "slug": "every-quarter", "action": "run", "accepted": true })
    );
    for _ in 0..1000 {
        if stats.succeeded() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!((stats.started(), stats.succeeded()), (1, 1));

    let answer = send(
        &guarded,
        post("/api/jobs/nope/run", &[("authorization", &bearer)]),
    )
    .await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_page_shows_every_job_and_the_timeline_with_nothing_from_elsewhere() {
    let scheduler = scheduler();
    let read_only = web::router(
        scheduler.handle(),
        WebOptions::new().title("Billing <jobs>"),
    );
    let answer = get(&read_only, "/").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.content_type, "text/html; charset=utf-8");
    let page = answer.body;
    for expected in [
        "<title>Billing &lt;jobs&gt;</title>",
        "<code class=\"slug\">daily-report</code>",
        "at 12:00 every day, Europe/Vienna",
        "<time datetime=\"2026-03-02T11:00:00Z\">2026-03-02 12:00 CET</time> <span class=\"utc\">03-02 11:00 UTC</span>",
        "every 15 minutes, UTC",
        "at 09:30 on Monday to Friday, UTC",
        "<span class=\"badge off\" title=\"disabled by SchedulerBuilder::disable_jobs\">off</span>",
        "<svg id=\"timeline\"",
        "<g class=\"row\" data-slug=\"daily-report\">",
    ] {
        assert!(page.contains(expected), "{expected} not in {page}");
    }
    // The switched-off job has no row in the timeline, no button anywhere without a guard,
    // and nothing is loaded from elsewhere.
    assert!(!page.contains("data-slug=\"switched-off\"><rect"));
    assert!(!page.contains("<button"));
    assert!(!page.contains("<script"));
    for external in ["src=", "href=", "@import", "url("] {
        assert!(!page.contains(external), "{external} in the page");
    }

    let guarded = web::router(scheduler.handle(), WebOptions::new().bearer_token(TOKEN));
    let page = get(&guarded, "/").await.body;
    assert!(page.contains(
        "<button class=\"run\" data-slug=\"daily-report\" data-action=\"run\">Run now</button>"
    ));
    assert!(page.contains(
        "<button class=\"pause\" data-slug=\"daily-report\" data-action=\"pause\">Pause</button>"
    ));
    assert!(page.contains("<script>"));
    assert!(!page.contains(TOKEN), "the page never holds the token");
}

#[tokio::test]
async fn pause_and_resume_take_effect_in_the_scheduler_and_show_on_the_page() {
    let scheduler = scheduler();
    let router = web::router(scheduler.handle(), WebOptions::new().bearer_token(TOKEN));
    let bearer = format!("Bearer {TOKEN}");
    let path = "/api/jobs/every-quarter/pause?until=2026-03-02T18:00:00Z";

    // Refused like every action: no token, GET, cross-site.
    assert_eq!(
        send(&router, post(path, &[])).await.status,
        StatusCode::UNAUTHORIZED
    );
    let get_pause = Request::get(path)
        .header("authorization", &bearer)
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        send(&router, get_pause).await.status,
        StatusCode::METHOD_NOT_ALLOWED
    );
    let cross = post(
        path,
        &[("authorization", &bearer), ("sec-fetch-site", "cross-site")],
    );
    assert_eq!(send(&router, cross).await.status, StatusCode::FORBIDDEN);
    assert_eq!(scheduler.pauses().await.unwrap(), []);
    let bad = post(
        "/api/jobs/every-quarter/pause?until=tomorrow",
        &[("authorization", &bearer)],
    );
    assert_eq!(send(&router, bad).await.status, StatusCode::BAD_REQUEST);

    let answer = send(&router, post(path, &[("authorization", &bearer)])).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(
        answer.json(),
        json!({ "slug": "every-quarter", "action": "pause", "accepted": true })
    );
    let pauses = scheduler.pauses().await.unwrap();
    assert_eq!(pauses.len(), 1);
    assert_eq!(pauses[0].slug, "every-quarter");
    assert_eq!(pauses[0].until, Some(at("2026-03-02T18:00:00Z")));
    let jobs = get(&router, "/api/jobs").await.json();
    assert_eq!(
        jobs["jobs"][1]["paused"],
        json!({ "by": "this process", "since": "2026-03-02T10:00:00Z", "until": "2026-03-02T18:00:00Z" })
    );
    let page = get(&router, "/").await.body;
    assert!(page.contains("<span class=\"badge paused\">paused</span><div class=\"dim\">until 03-02 18:00 UTC · by this process</div>"), "{page}");
    assert!(page.contains("data-action=\"resume\">Resume</button>"));

    let resume = post(
        "/api/jobs/every-quarter/resume",
        &[("authorization", &bearer)],
    );
    let answer = send(&router, resume).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(scheduler.pauses().await.unwrap(), []);
    assert_eq!(
        get(&router, "/api/jobs").await.json()["jobs"][1]["paused"],
        json!(null)
    );
}

/// The application's own layer as the guard: it decides who may act; the cross-site check
/// still applies after it.
#[tokio::test]
async fn the_applications_layer_guards_the_actions() {
    async fn session(
        request: axum::extract::Request,
        next: axum::middleware::Next,
    ) -> axum::response::Response {
        use axum::response::IntoResponse;
        match request.headers().get("x-session") {
            Some(value) if value == "operator" => next.run(request).await,
            _ => StatusCode::UNAUTHORIZED.into_response(),
        }
    }
    let scheduler = scheduler();
    let stats = scheduler.job("every-quarter").unwrap().stats();
    let router = web::router_with_layer(
        scheduler.handle(),
        WebOptions::new(),
        axum::middleware::from_fn(session),
    );
    let path = "/api/jobs/every-quarter/run";
    assert_eq!(
        send(&router, post(path, &[])).await.status,
        StatusCode::UNAUTHORIZED
    );
    let cross = post(
        path,
        &[("x-session", "operator"), ("sec-fetch-site", "cross-site")],
    );
    assert_eq!(send(&router, cross).await.status, StatusCode::FORBIDDEN);
    assert_eq!(stats.started(), 0);
    // The read-only endpoints are not behind the layer.
    assert_eq!(get(&router, "/api/jobs").await.status, StatusCode::OK);
    assert!(get(&router, "/").await.body.contains("data-action=\"run\""));

    let answer = send(&router, post(path, &[("x-session", "operator")])).await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.body);
    for _ in 0..1000 {
        if stats.succeeded() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(stats.succeeded(), 1);
}

/// Nothing any endpoint answers holds the DSN: a client with a DSN is bound while the
/// scheduler is built and while every endpoint is asked.
#[test]
fn no_answer_holds_the_dsn() {
    const KEY: &str = "5ecre7publ1ck3y";
    let mut options = sentry::ClientOptions::default();
    options.dsn = Some(format!("http://{KEY}@127.0.0.1:9/42").parse().unwrap());
    options.environment = Some("production".into());
    let client = Arc::new(sentry::Client::from(options));
    let hub = Arc::new(sentry::Hub::new(
        Some(client),
        Arc::new(sentry::Scope::default()),
    ));
    sentry::Hub::run(hub, || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let scheduler = scheduler();
            scheduler.run_now("daily-report").await.unwrap();
            let router = web::router(scheduler.handle(), WebOptions::new().bearer_token(TOKEN));
            let bearer = format!("Bearer {TOKEN}");
            let mut answers = Vec::new();
            for path in [
                "/",
                "/api/jobs",
                "/api/check-ins",
                "/api/timeline",
                "/api/jobs/daily-report/history",
            ] {
                answers.push(get(&router, path).await);
            }
            answers.push(send(&router, post("/api/jobs/daily-report/run", &[])).await);
            answers.push(
                send(
                    &router,
                    post("/api/jobs/daily-report/run", &[("authorization", &bearer)]),
                )
                .await,
            );
            for answer in &answers {
                assert!(!answer.body.contains(KEY), "{}", answer.body);
                assert!(!answer.body.contains("127.0.0.1:9"), "{}", answer.body);
            }
            assert_eq!(answers.len(), 7);
            let _ = scheduler.flush(Duration::from_millis(100)).await;
        });
    });
}
