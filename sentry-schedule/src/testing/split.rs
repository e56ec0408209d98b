//! A simulation split across threads ([`TestKit::threads`](super::TestKit::threads)): the
//! jobs dealt out to groups, each simulated by a scheduler of its own on a thread with a
//! paused tokio clock of its own, and the reports merged into one.
use super::report::TestRun;
use super::simulation::Simulation;
use super::TestKit;
use crate::error::Error;
use crate::job::Job;
use chrono::{DateTime, Utc};

/// The jobs dealt out to `groups` groups in turn, in the order given (slug order: the
/// caller has sorted them), so that each group has jobs from the whole range.
pub(super) fn deal(jobs: Vec<Job>, groups: usize) -> Vec<Vec<Job>> {
    let mut dealt: Vec<Vec<Job>> = (0..groups).map(|_| Vec::new()).collect();
    for (i, job) in jobs.into_iter().enumerate() {
        dealt[i % groups].push(job);
    }
    dealt
}

/// Simulates each group but the first on a thread of its own (its own current-thread
/// runtime with a paused clock), the first on the caller's runtime, and merges the reports.
///
/// After its own group, the caller waits for the threads by blocking: the time the other
/// groups take is computing, as a one-thread simulation's would be, and no virtual time may
/// pass for the caller meanwhile (a waiting task would let tokio's paused clock jump ahead
/// for everything else on the caller's runtime).
pub(super) async fn simulate(
    kit: &TestKit,
    groups: Vec<Vec<Job>>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Simulation, Error> {
    let mut groups = groups.into_iter();
    let first = groups.next().unwrap_or_default();
    // The threads log where the caller logs (a test's subscriber is the thread's default).
    let logs = tracing::dispatcher::get_default(Clone::clone);
    let mut threads = Vec::new();
    for group in groups {
        let (kit, logs) = (kit.clone(), logs.clone());
        let simulate = move || {
            tracing::dispatcher::with_default(&logs, || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .start_paused(true)
                    .build()
                    .map_err(|error| Error::Simulation {
                        reason: format!("could not build a runtime for a thread: {error}"),
                    })?;
                runtime.block_on(kit.simulate_here(group, from, to))
            })
        };
        let spawned = std::thread::Builder::new()
            .name("sentry-schedule-simulation".into())
            .spawn(simulate)
            .map_err(|error| Error::Simulation {
                reason: format!("could not start a thread: {error}"),
            })?;
        threads.push(spawned);
    }
    let mut parts = vec![kit.simulate_here(first, from, to).await];
    for thread in threads {
        match thread.join() {
            Ok(part) => parts.push(part),
            // A panic of the kit itself (a job's panic is the run's outcome): raised here,
            // as it would be without threads.
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
    let parts = parts.into_iter().collect::<Result<Vec<_>, Error>>()?;
    Ok(merge(parts, from, to))
}

/// One report of the groups' reports: runs in the order of a one-thread report (start, then
/// tick, then slug), the jobs' counters in slug order.
fn merge(parts: Vec<Simulation>, from: DateTime<Utc>, to: DateTime<Utc>) -> Simulation {
    let mut runs = Vec::with_capacity(parts.len());
    let mut merged = Simulation {
        from,
        to,
        runs: Vec::new(),
        stray_check_ins: Vec::new(),
        stray_events: Vec::new(),
        stats: Vec::new(),
        // No sender runs without an ingest rule, and a simulation with one is not split.
        check_in_stats: crate::CheckInStats::default(),
    };
    for part in parts {
        runs.push(part.runs);
        merged.stray_check_ins.extend(part.stray_check_ins);
        merged.stray_events.extend(part.stray_events);
        merged.stats.extend(part.stats);
    }
    merged.runs = merge_in_order(runs);
    merged.stats.sort_by(|a, b| a.0.cmp(&b.0));
    merged
}

/// The runs of `parts`, each in the report's order already, merged into that order in the
/// buffer of the first: each further part is merged in from the back, so only the room
/// it takes is new memory. A fresh buffer for all the runs (a quarter of a gigabyte for a
/// simulated year) made the merge a tenth of a split simulation's time, most of it the
/// kernel handing out pages.
fn merge_in_order(parts: Vec<Vec<TestRun>>) -> Vec<TestRun> {
    let mut parts = parts.into_iter();
    let mut merged = parts.next().unwrap_or_default();
    for mut part in parts {
        let (mut i, mut j) = (merged.len(), part.len());
        merged.reserve_exact(j);
        merged.extend(std::iter::repeat_with(TestRun::placeholder).take(j));
        // `merged[i..k]` is free, `merged[k..]` done; `part[..j]` still to place.
        let mut k = merged.len();
        while j > 0 {
            k -= 1;
            if i > 0 && super::run_order(&merged[i - 1], &part[j - 1]).is_gt() {
                i -= 1;
                merged.swap(i, k);
            } else {
                j -= 1;
                std::mem::swap(&mut merged[k], &mut part[j]);
            }
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::report::{Outcome, Sent};
    use crate::RunStatus;

    fn run(slug: &str, minute: u32) -> TestRun {
        let at = DateTime::from_timestamp(i64::from(minute) * 60, 0).unwrap_or_default();
        let outcome = Outcome {
            status: RunStatus::Ok,
            duration: std::time::Duration::ZERO,
            message: None,
        };
        let no_id = crate::testing::Id::default;
        TestRun::new(
            slug.into(),
            at,
            at,
            no_id(),
            no_id(),
            outcome,
            Sent::default(),
        )
    }

    #[test]
    fn merged_runs_are_in_report_order() {
        let parts = vec![
            vec![run("a", 0), run("c", 0), run("a", 5), run("c", 9)],
            vec![run("b", 0), run("b", 5), run("d", 5)],
            vec![],
            vec![run("e", 1), run("e", 12)],
        ];
        let merged: Vec<(String, i64)> = merge_in_order(parts)
            .into_iter()
            .map(|run| (run.slug, run.started.timestamp() / 60))
            .collect();
        let expected = [
            ("a", 0),
            ("b", 0),
            ("c", 0),
            ("e", 1),
            ("a", 5),
            ("b", 5),
            ("d", 5),
            ("c", 9),
            ("e", 12),
        ];
        let expected: Vec<(String, i64)> = expected
            .iter()
            .map(|(slug, minute)| ((*slug).to_owned(), *minute))
            .collect();
        assert_eq!(merged, expected);
        // An empty first part, and parts that do not interleave at all.
        let parts = vec![vec![], vec![run("z", 3)], vec![run("a", 1), run("a", 2)]];
        let merged: Vec<String> = merge_in_order(parts)
            .into_iter()
            .map(|run| format!("{}{}", run.slug, run.started.timestamp() / 60))
            .collect();
        assert_eq!(merged, ["a1", "a2", "z3"]);
    }

    #[test]
    fn jobs_are_dealt_in_turn() {
        let jobs: Vec<Job> = ["a", "b", "c", "d", "e"]
            .iter()
            .map(|slug| Job::cron(*slug, "* * * * *", |_| async {}).expect("a valid job"))
            .collect();
        let dealt: Vec<Vec<String>> = deal(jobs, 2)
            .iter()
            .map(|group| group.iter().map(|job| job.slug().to_owned()).collect())
            .collect();
        assert_eq!(dealt, [vec!["a", "c", "e"], vec!["b", "d"]]);
    }
}
