//! The timeline as an inline SVG: one row per job, a tick per start, the minutes where
//! several jobs start together marked. Drawn from [`Timeline`] as the forecast computed it.
use super::escape;
use crate::forecast::Timeline;
use chrono::{DateTime, TimeDelta, Timelike, Utc};
use std::collections::BTreeSet;
use std::fmt::Write;

const LABEL: f64 = 210.0;
const CHART: f64 = 720.0;
const ROW: f64 = 24.0;
const TOP: f64 = 22.0;

/// The chart; `hours` of it from `timeline.from`.
pub(crate) fn timeline_svg(timeline: &Timeline) -> String {
    let span = (timeline.to - timeline.from).num_seconds().max(1) as f64;
    let x = |at: DateTime<Utc>| LABEL + (at - timeline.from).num_seconds() as f64 / span * CHART;
    let height = TOP + ROW * timeline.rows.len().max(1) as f64 + 8.0;
    let width = LABEL + CHART + 10.0;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r##"<svg id="timeline" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" aria-label="Starts of every job in the next hours">"##
    );
    // Hour lines every 3 hours, labelled in UTC.
    let mut hour = timeline
        .from
        .with_minute(0)
        .and_then(|t| t.with_second(0))
        .and_then(|t| t.with_nanosecond(0))
        .unwrap_or(timeline.from);
    while hour < timeline.to {
        // Every 3 hours, and not so near the right edge that the label is cut.
        if hour >= timeline.from && hour.hour().is_multiple_of(3) && x(hour) < LABEL + CHART - 16.0
        {
            let at = x(hour);
            let _ = write!(
                svg,
                r##"<line x1="{at:.1}" y1="{TOP}" x2="{at:.1}" y2="{height}" class="grid"/><text x="{at:.1}" y="14" class="hour">{:02}:00</text>"##,
                hour.hour()
            );
        }
        hour += TimeDelta::hours(1);
    }
    let _ = write!(svg, r##"<text x="4" y="14" class="hour">UTC</text>"##);
    for (i, row) in timeline.rows.iter().enumerate() {
        let top = TOP + ROW * i as f64;
        let mid = top + ROW / 2.0;
        let _ = write!(
            svg,
            r##"<g class="row" data-slug="{slug}"><rect class="band{odd}" x="0" y="{top}" width="{width}" height="{ROW}"/><text x="4" y="{:.1}" class="label">{slug}</text>"##,
            mid + 4.0,
            slug = escape(&row.slug),
            odd = if i % 2 == 1 { " odd" } else { "" },
        );
        if let Some((max_runtime, shortest)) = row.overlaps {
            let _ = write!(
                svg,
                r##"<text x="{:.1}" y="{:.1}" class="warn">⚠<title>max runtime {} s exceeds the shortest gap between runs, {} s: runs may overlap</title></text>"##,
                LABEL - 18.0,
                mid + 4.0,
                max_runtime.as_secs(),
                shortest.as_secs()
            );
        }
        // One mark per pixel column: a job every second does not draw 86,400 lines.
        let columns: BTreeSet<i64> = row.starts.iter().map(|at| x(*at).round() as i64).collect();
        for column in columns {
            let _ = write!(
                svg,
                r##"<line class="start" x1="{column}" y1="{:.1}" x2="{column}" y2="{:.1}"/>"##,
                mid - 7.0,
                mid + 7.0
            );
        }
        svg.push_str("</g>");
    }
    // The minutes where jobs start together: a band over every row,
    // drawn last so the rows do not cover it.
    for cluster in &timeline.clusters {
        let at = x(cluster.first);
        let minute = (60.0 / span * CHART).max(4.0);
        let more = match cluster.times {
            0 | 1 => String::new(),
            n => format!(", and in {} more minutes", n - 1),
        };
        let _ = write!(
            svg,
            r##"<rect class="cluster" x="{:.1}" y="{TOP}" width="{minute:.1}" height="{:.1}"><title>{} jobs start together at {} UTC{more}: {}</title></rect>"##,
            at - minute / 2.0,
            height - TOP,
            cluster.slugs.len(),
            cluster.first.format("%H:%M"),
            escape(&cluster.slugs.join(", ")),
        );
    }
    svg.push_str("</svg>");
    svg
}
