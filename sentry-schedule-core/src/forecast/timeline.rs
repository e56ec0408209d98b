//! The coming hours of every job as a text chart, one row per job.
use super::clusters::{clusters, Cluster};
use super::overlap::overlap;
use super::{duration_text, PlannedJob};
use chrono::{DateTime, TimeDelta, Timelike, Utc};
use chrono_tz::Tz;
use std::fmt::Write;

/// Starts of one job looked at at most (a job every second has 86,400 a day).
const MAX_STARTS: usize = 100_000;
/// Slugs longer than this are cut in the chart's first column.
const MAX_LABEL: usize = 32;

/// One job's row: its starts in the window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineRow {
    /// The job's slug.
    pub slug: String,
    /// Its starts in the window, in order.
    pub starts: Vec<DateTime<Utc>>,
    /// Its `max_runtime` when that is longer than some gap between its ticks.
    pub overlaps: Option<(std::time::Duration, std::time::Duration)>,
}

/// The starts of every job in a window, the clusters among them and the jobs whose
/// `max_runtime` exceeds their period. [`Timeline::render`] draws it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timeline {
    /// Start of the window.
    pub from: DateTime<Utc>,
    /// End of the window (exclusive).
    pub to: DateTime<Utc>,
    /// One row per job, in the order given.
    pub rows: Vec<TimelineRow>,
    /// Minutes in which at least `cluster_size` jobs start.
    pub clusters: Vec<Cluster>,
}

impl Timeline {
    /// The window `[from, from + hours)`; clusters are sets of at least `cluster_size` jobs
    /// starting in one minute.
    pub fn new(
        jobs: &[PlannedJob<'_>],
        from: DateTime<Utc>,
        hours: u32,
        cluster_size: usize,
    ) -> Self {
        let to = from
            .checked_add_signed(TimeDelta::hours(hours.into()))
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        let rows = jobs
            .iter()
            .map(|job| TimelineRow {
                slug: job.slug.to_owned(),
                starts: job.starts(from, to, MAX_STARTS).collect(),
                overlaps: overlap(job, from, to).map(|o| (o.max_runtime, o.shortest)),
            })
            .collect();
        Self {
            from,
            to,
            rows,
            clusters: clusters(jobs, from, to, cluster_size),
        }
    }

    /// Draws the chart `columns` cells wide, hours labelled in `tz`: `|` one start in the
    /// cell, `2`-`9` that many, `#` ten or more, `.` none; a last row marks cells with a
    /// cluster (`^`). Clusters and overlaps are listed below it.
    pub fn render(&self, columns: usize, tz: Tz) -> String {
        let columns = columns.max(1);
        let span = (self.to - self.from).num_seconds().max(1);
        let cell_of = |at: DateTime<Utc>| -> usize {
            let offset = (at - self.from).num_seconds().clamp(0, span - 1);
            usize::try_from(offset * columns as i64 / span).unwrap_or(0)
        };
        let width = self
            .rows
            .iter()
            .map(|r| r.slug.chars().count().min(MAX_LABEL))
            .max()
            .unwrap_or(0)
            .max("clusters".len());
        let mut out = String::new();
        let _ = writeln!(
            out,
            "next {} from {} ({tz}), one column = {}",
            duration_text((self.to - self.from).to_std().unwrap_or_default()),
            self.from.with_timezone(&tz).format("%Y-%m-%d %H:%M"),
            duration_text(std::time::Duration::from_secs(
                u64::try_from(span).unwrap_or(0) / columns as u64
            ))
        );
        out.push_str(&self.hour_labels(columns, width, span, tz));
        for row in &self.rows {
            let mut counts = vec![0usize; columns];
            for start in &row.starts {
                if let Some(c) = counts.get_mut(cell_of(*start)) {
                    *c += 1;
                }
            }
            let cells: String = counts
                .iter()
                .map(|n| match n {
                    0 => '.',
                    1 => '|',
                    2..=9 => char::from_digit(*n as u32, 10).unwrap_or('#'),
                    _ => '#',
                })
                .collect();
            let label: String = row.slug.chars().take(MAX_LABEL).collect();
            let _ = writeln!(out, "{label:<width$} {cells}");
        }
        let mut marks = vec![' '; columns];
        for cluster in &self.clusters {
            if let Some(m) = marks.get_mut(cell_of(cluster.first)) {
                *m = '^';
            }
        }
        if !self.clusters.is_empty() {
            let marks: String = marks.into_iter().collect();
            let _ = writeln!(out, "{:<width$} {}", "clusters", marks.trim_end());
        }
        for cluster in &self.clusters {
            let _ = write!(
                out,
                "cluster: {} jobs start at {} ({}){}: {}",
                cluster.slugs.len(),
                cluster.first.with_timezone(&tz).format("%H:%M"),
                cluster.first.format("%H:%M UTC"),
                if cluster.times > 1 {
                    format!(", {} times", cluster.times)
                } else {
                    String::new()
                },
                cluster.slugs.join(", ")
            );
            if !cluster.suggestions.is_empty() {
                out.push_str("; consider `H` for the minute: ");
                let suggestions: Vec<String> = cluster
                    .suggestions
                    .iter()
                    .map(|(slug, text)| format!("{slug} \"{text}\""))
                    .collect();
                out.push_str(&suggestions.join(", "));
            }
            out.push('\n');
        }
        for row in &self.rows {
            if let Some((max_runtime, gap)) = row.overlaps {
                let _ = writeln!(
                    out,
                    "overlap: {} has max_runtime {} but ticks only {} apart",
                    row.slug,
                    duration_text(max_runtime),
                    duration_text(gap)
                );
            }
        }
        out
    }

    /// The row of hour labels above the cells: `HH` at the cell where a labelled hour begins.
    fn hour_labels(&self, columns: usize, width: usize, span: i64, tz: Tz) -> String {
        let hours = (span / 3600).max(1) as usize;
        // A label takes 3 characters: label every `step` hours so they do not collide.
        let step = (3 * hours).div_ceil(columns).max(1);
        let mut line = vec![' '; columns + 2];
        let mut previous_hour = None;
        for cell in 0..columns {
            let at = self.from + TimeDelta::seconds(span * cell as i64 / columns as i64);
            let local = at.with_timezone(&tz);
            let hour = local.hour() as usize;
            if previous_hour != Some(hour) && hour.is_multiple_of(step) {
                for (i, c) in format!("{hour:02}").chars().enumerate() {
                    if let Some(slot) = line.get_mut(cell + i) {
                        *slot = c;
                    }
                }
            }
            previous_hour = Some(hour);
        }
        let labels: String = line.into_iter().collect();
        format!("{:<width$} {}\n", "", labels.trim_end())
    }
}
