//! The ops page: one HTML document with its CSS, the timeline SVG and (with actions) a
//! small script inline; nothing loaded from elsewhere, so it works offline.
use super::api::{views, JobView};
use super::svg::timeline_svg;
use super::{escape, Actions, Shared};
use crate::metrics::Outcome;
use axum::extract::State;
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, Utc};
use std::fmt::Write;

/// Hours of the page's timeline.
const HOURS: u32 = 24;

/// `GET /`
pub(crate) async fn page(State(web): State<Shared>) -> Response {
    let actions = !matches!(web.actions, Actions::Off);
    let now = web.handle.now();
    let jobs = views(&web.handle).await;
    let stats = web.handle.check_ins().snapshot();
    let timeline = web.handle.timeline(HOURS);
    let mut html = String::new();
    let _ = write!(
        html,
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title><style>{STYLE}</style></head><body><header><h1>{title}</h1><p class="meta">{count} jobs · {now} UTC · check-ins: {sent} sent, {pending} pending, {dropped} dropped</p></header><main><table id="jobs"><thead><tr><th>Job</th><th>Schedule</th><th>Next runs</th><th>Last run</th><th>State</th>{action_head}</tr></thead><tbody>"#,
        title = escape(&web.title),
        count = jobs.len(),
        now = now.format("%Y-%m-%d %H:%M:%S"),
        sent = stats.sent,
        pending = stats.pending,
        dropped = stats.dropped.total(),
        action_head = if actions { "<th></th>" } else { "" },
    );
    for job in &jobs {
        row(&mut html, job, actions);
    }
    html.push_str("</tbody></table>");
    let _ = write!(
        html,
        r#"<section><h2>Next {HOURS} hours</h2><p class="dim">One mark per start; the red bands are minutes in which several jobs start together (hover for the jobs).</p><div class="chart">{}</div></section>"#,
        timeline_svg(&timeline)
    );
    clusters(&mut html, &timeline);
    if actions {
        let _ = write!(
            html,
            r#"<section id="actions"><label>Token <input id="token" type="password" autocomplete="off" placeholder="bearer token"></label> <span id="status" role="status"></span></section><script>{SCRIPT}</script>"#
        );
    }
    html.push_str("</main></body></html>");
    (
        [
            (header::CACHE_CONTROL, "no-store"),
            (header::X_FRAME_OPTIONS, "SAMEORIGIN"),
        ],
        Html(html),
    )
        .into_response()
}

/// The clusters of the timeline in words, each with the forecast's `H` suggestions.
fn clusters(html: &mut String, timeline: &crate::forecast::Timeline) {
    if timeline.clusters.is_empty() {
        return;
    }
    html.push_str(r#"<ul class="clusters">"#);
    for cluster in &timeline.clusters {
        let _ = write!(
            html,
            "<li>{} UTC: {} jobs start together ({})",
            cluster.first.format("%H:%M"),
            cluster.slugs.len(),
            escape(&cluster.slugs.join(", ")),
        );
        if let Some((_, schedule)) = cluster.suggestions.first() {
            let _ = write!(
                html,
                " — spread them over the hour with <code>H</code> as the minute, e.g. <code>{}</code>",
                escape(schedule)
            );
        }
        html.push_str("</li>");
    }
    html.push_str("</ul>");
}

fn row(html: &mut String, job: &JobView, actions: bool) {
    let slug = escape(&job.slug);
    let _ = write!(
        html,
        r#"<tr data-slug="{slug}"><td><code class="slug">{slug}</code></td><td><div class="plain">{}</div><code class="expr">{}</code></td><td><ul class="next">"#,
        escape(&job.description),
        escape(&job.schedule),
    );
    for at in &job.next {
        // In UTC too, when the job's zone is another.
        let utc = match job.timezone {
            chrono_tz::UTC => String::new(),
            _ => format!(
                r#" <span class="utc">{}</span>"#,
                at.format("%m-%d %H:%M UTC")
            ),
        };
        let _ = write!(
            html,
            r#"<li><time datetime="{}">{}</time>{utc}</li>"#,
            super::api::rfc3339(*at),
            escape(&local(*at, job.timezone)),
        );
    }
    if job.next.is_empty() {
        html.push_str(r#"<li class="dim">none</li>"#);
    }
    html.push_str(r#"</ul></td><td class="last">"#);
    match job.last {
        Some(last) => {
            let class = if last.outcome == Outcome::Ok {
                "ok"
            } else {
                "error"
            };
            let _ = write!(
                html,
                r#"<span class="badge {class}">{}</span> {}<div class="dim">{} · {} ok, {} failed</div>"#,
                last.outcome.label(),
                duration(last.duration),
                last.scheduled.format("%m-%d %H:%M:%S UTC"),
                job.succeeded,
                job.failed,
            );
        }
        None => html.push_str(r#"<span class="dim">not run yet</span>"#),
    }
    html.push_str("</td><td>");
    match (&job.off, &job.paused) {
        (None, Some(pause)) => {
            let until = match pause.until {
                Some(until) => format!("until {}", until.format("%m-%d %H:%M UTC")),
                None => "until resumed".to_owned(),
            };
            let _ = write!(
                html,
                r#"<span class="badge paused">paused</span><div class="dim">{} · by {}</div>"#,
                escape(&until),
                escape(&pause.by)
            );
        }
        (Some(why), _) => {
            let _ = write!(
                html,
                r#"<span class="badge off" title="{0}">off</span><div class="dim">{0}</div>"#,
                escape(why)
            );
        }
        (None, None) => html.push_str(r#"<span class="badge on">on</span>"#),
    }
    html.push_str("</td>");
    if actions {
        let toggle = match job.paused {
            Some(_) => "resume",
            None => "pause",
        };
        let _ = write!(
            html,
            r#"<td class="buttons"><button class="run" data-slug="{slug}" data-action="run">Run now</button> <button class="{toggle}" data-slug="{slug}" data-action="{toggle}">{}</button></td>"#,
            if toggle == "pause" { "Pause" } else { "Resume" },
        );
    }
    html.push_str("</tr>");
}

/// `2026-03-02 13:00 CET`
fn local(at: DateTime<Utc>, tz: chrono_tz::Tz) -> String {
    at.with_timezone(&tz)
        .format("%Y-%m-%d %H:%M %Z")
        .to_string()
}

/// `0.12 s`, `2.0 s`, `3 min 5 s`.
fn duration(d: std::time::Duration) -> String {
    match d.as_secs() {
        0 => format!("{:.2} s", d.as_secs_f64()),
        s if s < 60 => format!("{:.1} s", d.as_secs_f64()),
        s => format!("{} min {} s", s / 60, s % 60),
    }
}

const STYLE: &str = r#"
:root{--fg:#1d2433;--dim:#667085;--line:#e4e7ec;--ok:#1a7f37;--err:#cf222e;--bg:#fff;--band:#f7f8fa;--accent:#3b5bdb}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
header{padding:18px 28px 8px;border-bottom:1px solid var(--line)}
h1{margin:0;font-size:20px;font-weight:600}
h2{font-size:15px;margin:26px 0 4px;font-weight:600}
main{padding:8px 28px 28px}
.meta,.dim{color:var(--dim);font-size:12px;margin:4px 0 0}
table{border-collapse:collapse;width:100%;margin-top:12px}
th{text-align:left;font-weight:600;font-size:12px;color:var(--dim);text-transform:uppercase;letter-spacing:.04em;border-bottom:1px solid var(--line);padding:8px 10px}
td{border-bottom:1px solid var(--line);padding:9px 10px;vertical-align:top}
code{font:12px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
code.slug{font-size:13px;font-weight:600;white-space:nowrap}
code.expr{color:var(--dim)}
ul.next{list-style:none;margin:0;padding:0}
ul.next li{white-space:nowrap}
td.last{min-width:190px}
.utc{color:var(--dim);font-size:12px;margin-left:4px}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600}
.badge.ok,.badge.on{background:#dafbe1;color:var(--ok)}
.badge.error{background:#ffebe9;color:var(--err)}
.badge.off{background:#eaecf0;color:#475467}
.badge.paused{background:#fff4e5;color:#b54708}
td.buttons{white-space:nowrap}
button{font:inherit;font-size:13px;padding:4px 12px;border:1px solid #c9ced6;border-radius:6px;background:#fff;cursor:pointer}
button:hover{border-color:var(--accent);color:var(--accent)}
#actions{margin-top:18px}
#actions input{font:inherit;padding:4px 8px;border:1px solid #c9ced6;border-radius:6px}
#status.ok{color:var(--ok)}#status.refused{color:var(--err)}
.chart{overflow-x:auto}
svg text{font:11px system-ui,sans-serif;fill:var(--fg)}
svg text.hour{fill:var(--dim)}
svg text.warn{fill:var(--err);font-size:13px}
svg .grid{stroke:var(--line)}
svg .band{fill:transparent}svg .band.odd{fill:var(--band)}
svg .start{stroke:var(--accent);stroke-width:2}
svg .cluster{fill:var(--err);fill-opacity:.35}
ul.clusters{margin:8px 0 0;padding-left:18px;color:var(--fg)}
ul.clusters code{background:#f2f4f7;padding:0 4px;border-radius:4px}
"#;

const SCRIPT: &str = r#"
(() => {
  const token = document.getElementById('token');
  const status = document.getElementById('status');
  token.value = sessionStorage.getItem('sentry-schedule-token') || '';
  const base = location.pathname.endsWith('/') ? location.pathname : location.pathname + '/';
  const done = { run: 'run started', pause: 'paused', resume: 'resumed' };
  for (const button of document.querySelectorAll('button[data-action]')) {
    button.addEventListener('click', async () => {
      sessionStorage.setItem('sentry-schedule-token', token.value);
      const slug = button.dataset.slug, action = button.dataset.action;
      const headers = token.value ? { 'Authorization': 'Bearer ' + token.value } : {};
      const response = await fetch(base + 'api/jobs/' + encodeURIComponent(slug) + '/' + action, { method: 'POST', headers });
      const body = await response.json().catch(() => ({}));
      status.className = response.ok ? 'ok' : 'refused';
      status.textContent = response.ok
        ? slug + ': ' + done[action]
        : slug + ': refused (' + response.status + ')' + (body.error ? ': ' + body.error : '');
    });
  }
})();
"#;
