//! The ops page in a real browser: headless Chromium (Debian's `chromium`; `CHROMIUM` names
//! another binary) loads the page from a server this test starts on 127.0.0.1, inside a
//! driver page of the same origin whose script uses the page as a person would: reads the
//! jobs and the timeline as rendered, clicks "Run now" without a token and with a wrong one
//! (refused), then with the right one (accepted), and "Pause" without then with the token. Chromium's `--dump-dom` prints what the
//! driver found; the scheduler is then asked whether the authorised run took place.
#![cfg(all(feature = "web", unix))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failed `expect` is a failed test"
)]
use axum::response::Html;
use axum::routing::get;
use axum::Router;
use sentry_schedule::clock::TestClock;
use sentry_schedule::web::{self, WebOptions};
use sentry_schedule::{Job, JobContext, Scheduler};
use serde_json::{json, Value};
use std::process::Command;
use std::time::{Duration, Instant};

const TOKEN: &str = "br0wser-t0ken";

/// The driver: loads the ops page (mounted at `/ops`) in a same-origin frame and drives it;
/// what it found ends up as JSON in `#result`.
fn driver() -> String {
    format!(
        r#"<!doctype html><html><body><pre id="result">pending</pre>
<iframe id="ops" src="/ops" width="1200" height="900"></iframe>
<script>
const found = {{}};
const sleep = ms => new Promise(resolve => setTimeout(resolve, ms));
async function until(what, check) {{
  for (let i = 0; i < 400; i++) {{ const value = check(); if (value) return value; await sleep(25); }}
  throw new Error('timed out waiting for ' + what);
}}
async function click(doc, token, slug, outcome, action = 'run') {{
  const status = doc.getElementById('status');
  status.className = ''; status.textContent = '';
  doc.getElementById('token').value = token;
  doc.querySelector('button[data-action="' + action + '"][data-slug="' + slug + '"]').click();
  return until(outcome, () => status.className === outcome && status.textContent);
}}
document.getElementById('ops').addEventListener('load', async () => {{
  try {{
    const doc = document.getElementById('ops').contentDocument;
    found.jobs = [...doc.querySelectorAll('#jobs tbody tr')].map(tr => tr.dataset.slug);
    found.schedules = [...doc.querySelectorAll('#jobs .plain')].map(d => d.textContent);
    const svg = doc.getElementById('timeline');
    const box = svg.getBoundingClientRect();
    found.timeline = {{
      width: Math.round(box.width), height: Math.round(box.height),
      rows: [...svg.querySelectorAll('g.row')].map(g => g.dataset.slug),
      starts: svg.querySelectorAll('line.start').length,
      clusters: [...svg.querySelectorAll('rect.cluster')].map(r => Math.round(r.getBoundingClientRect().height) > 0),
    }};
    found.no_token = await click(doc, '', 'first-job', 'refused');
    found.wrong_token = await click(doc, 'not-the-token', 'first-job', 'refused');
    found.right_token = await click(doc, '{TOKEN}', 'second-job', 'ok');
    found.pause_no_token = await click(doc, '', 'first-job', 'refused', 'pause');
    found.pause = await click(doc, '{TOKEN}', 'first-job', 'ok', 'pause');
  }} catch (error) {{
    found.error = String(error);
  }}
  document.getElementById('result').textContent = JSON.stringify(found);
}});
</script></body></html>"#
    )
}

fn jobs() -> Vec<Job> {
    let quick = |_: JobContext| async { Ok::<(), String>(()) };
    let mut jobs = vec![Job::builder("second-job", "*/15 * * * *")
        .monitor(false)
        .run(quick)
        .build()
        .unwrap()];
    // Five jobs at 03:00: a cluster.
    for slug in [
        "first-job",
        "cluster-a",
        "cluster-b",
        "cluster-c",
        "cluster-d",
    ] {
        jobs.push(
            Job::builder(slug, "0 3 * * *")
                .timezone("Europe/Vienna")
                .monitor(false)
                .run(quick)
                .build()
                .unwrap(),
        );
    }
    jobs
}

/// What `--dump-dom` printed inside `<pre id="result">`, unescaped and parsed.
fn result(dom: &str) -> Value {
    let start = dom
        .find(r#"<pre id="result">"#)
        .expect("the driver's result")
        + 17;
    let end = start + dom[start..].find("</pre>").expect("end of the result");
    let text = dom[start..end]
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_sees_the_jobs_and_timeline_and_only_an_authorised_click_runs_a_job() {
    let scheduler = Scheduler::builder()
        .registered_jobs(false)
        .clock(TestClock::new("2026-03-02T06:00:00Z".parse().unwrap()))
        .jobs(jobs())
        .build()
        .unwrap();
    let first = scheduler.job("first-job").unwrap().stats();
    let second = scheduler.job("second-job").unwrap().stats();
    let ops = web::router(scheduler.handle(), WebOptions::new().bearer_token(TOKEN));
    let app = Router::new()
        .route("/driver", get(|| async { Html(driver()) }))
        .nest("/ops", ops);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/driver", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "chromium".to_owned());
    let output = tokio::task::spawn_blocking(move || {
        Command::new(&chromium)
            .args([
                "--headless",
                "--disable-gpu",
                "--no-sandbox",
                "--dump-dom",
                "--virtual-time-budget=30000",
            ])
            .arg(&url)
            .output()
            .unwrap_or_else(|e| panic!("start {chromium} (Debian's `chromium` package): {e}"))
    })
    .await
    .unwrap();
    let dom = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let found = result(&dom);
    assert_eq!(found.get("error"), None, "{found:#}");

    assert_eq!(
        found["jobs"],
        json!([
            "cluster-a",
            "cluster-b",
            "cluster-c",
            "cluster-d",
            "first-job",
            "second-job"
        ])
    );
    assert_eq!(found["schedules"][4], "at 03:00 every day, Europe/Vienna");
    assert_eq!(found["schedules"][5], "every 15 minutes, UTC");
    let timeline = &found["timeline"];
    assert!(timeline["width"].as_u64().unwrap() > 500, "{timeline}");
    assert!(timeline["height"].as_u64().unwrap() > 100, "{timeline}");
    assert_eq!(timeline["rows"], found["jobs"]);
    // Five jobs once each, and one every 15 minutes for 24 hours (96 starts, a mark each).
    assert_eq!(timeline["starts"], 5 + 96);
    assert_eq!(timeline["clusters"], json!([true]), "one cluster, drawn");

    assert_eq!(
        found["no_token"],
        "first-job: refused (401): a valid `Authorization: Bearer <token>` header is required"
    );
    assert_eq!(found["wrong_token"], found["no_token"]);
    assert_eq!(found["right_token"], "second-job: run started");
    assert_eq!(
        found["pause_no_token"],
        "first-job: refused (401): a valid `Authorization: Bearer <token>` header is required"
    );
    assert_eq!(found["pause"], "first-job: paused");

    // The authorised click ran the job in the scheduler; the refused ones ran nothing.
    let deadline = Instant::now() + Duration::from_secs(10);
    while second.succeeded() < 1 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!((second.started(), second.succeeded()), (1, 1));
    assert_eq!(first.started(), 0);
    // The authorised pause is in force in the scheduler, the refused one did nothing else.
    let pauses = scheduler.pauses().await.unwrap();
    let paused: Vec<&str> = pauses.iter().map(|p| p.slug.as_str()).collect();
    assert_eq!(paused, ["first-job"]);
    assert_eq!(pauses[0].until, None);
    server.abort();
}
