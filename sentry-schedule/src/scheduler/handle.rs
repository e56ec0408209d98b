//! [`SchedulerHandle`]: a cheap, cloneable view of a scheduler that stays valid while
//! [`Scheduler::run`] goes on: its jobs, their counters, runs on demand, history and
//! check-in counts. What the ops page ([`crate::web`], feature `web`) is built on.
use crate::checkin::{CheckInCounters, Delivery};
use crate::clock::Clock;
use crate::coordinator::claimer::Claimer;
use crate::coordinator::{Coordinator, CoordinatorError, Pause, RunRecord};
use crate::error::Error;
use crate::job::Job;
use crate::run::pauses::LocalPauses;
use crate::run::pipeline;
use crate::run::report::RunReport;
use crate::scheduler::off::Off;
use crate::scheduler::Scheduler;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

/// A cloneable view of a [`Scheduler`], taken with [`Scheduler::handle`] before
/// [`Scheduler::run`] consumes the scheduler; every clone sees the same jobs and counters.
#[derive(Clone)]
pub struct SchedulerHandle {
    pub(super) jobs: Arc<[Arc<Job>]>,
    /// The jobs off in this process, by slug: listed, never scheduled.
    pub(super) off: Arc<HashMap<Arc<str>, Off>>,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) claimer: Option<Arc<Claimer>>,
    pub(super) delivery: Arc<Delivery>,
    /// Pauses without a coordinator (with one, they live in its backend).
    pub(super) pauses: Arc<LocalPauses>,
    /// Sentry's web API, to mute the monitors of paused jobs.
    #[cfg(feature = "http")]
    pub(super) monitor_api: Option<crate::scheduler::monitor_mute::MonitorApi>,
}

impl Scheduler {
    /// A cloneable view of this scheduler that stays valid while (and after) it runs: for
    /// an HTTP ops surface ([`crate::web`]) or any code that lists jobs, runs one now or
    /// reads the history while [`run`](Self::run) goes on.
    pub fn handle(&self) -> SchedulerHandle {
        self.shared.clone()
    }
}

impl SchedulerHandle {
    /// Every job, in the scheduler's order (by slug).
    pub fn jobs(&self) -> impl ExactSizeIterator<Item = &Job> + '_ {
        self.jobs.iter().map(|j| &**j)
    }

    /// The job with this monitor slug.
    pub fn job(&self, slug: &str) -> Option<&Job> {
        self.jobs().find(|j| j.slug() == slug)
    }

    /// Why the job `slug` is off in this process ([`Scheduler::off`]).
    pub fn off(&self, slug: &str) -> Option<&Off> {
        self.off.get(slug)
    }

    /// The scheduler's wall-clock time.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Runs the job `slug` once now, as [`Scheduler::run_now`].
    pub async fn run_now(&self, slug: &str) -> Result<RunReport, Error> {
        let Some(job) = self.jobs.iter().find(|j| j.slug() == slug) else {
            return Err(Error::UnknownSlug {
                slug: slug.to_owned(),
                near: crate::scheduler::cli::near_slugs(slug, self.jobs()),
            });
        };
        Ok(pipeline::run_on_demand(
            Arc::clone(job),
            Arc::clone(&self.clock),
            Arc::clone(&self.delivery),
        )
        .await)
    }

    /// [`Scheduler::timeline`]: the starts of every job that is on in the next `hours`.
    pub fn timeline(&self, hours: u32) -> crate::forecast::Timeline {
        let on = self.jobs().filter(|job| self.off(job.slug()).is_none());
        crate::scheduler::forecast::timeline_of(on, self.now(), hours)
    }

    /// Pauses the job `slug` until `until` (`None`: until resumed), as [`Scheduler::pause`].
    pub async fn pause(&self, slug: &str, until: Option<DateTime<Utc>>) -> Result<(), Error> {
        let job = self.known(slug)?;
        match &self.claimer {
            Some(claimer) => {
                let by = claimer.coordinator.replica_id();
                claimer
                    .coordinator
                    .pause(job.slug(), until, by)
                    .await
                    .map_err(|error| Error::Coordinator {
                        action: format!("pausing `{slug}`"),
                        reason: error.to_string(),
                    })?;
            }
            None => self
                .pauses
                .pause(Pause::new(job.slug(), "this process", self.now(), until)),
        }
        match until {
            Some(until) => tracing::warn!(slug, %until, "job paused"),
            None => tracing::warn!(slug, "job paused until resumed"),
        }
        self.tell_sentry(job, true).await;
        Ok(())
    }

    /// Lifts the pause of the job `slug`, as [`Scheduler::resume`] (set by [`pause`](Self::pause) here or, with a
    /// coordinator, on any replica): its next tick runs. Resuming a job that is not paused
    /// does nothing. Fails like [`pause`](Self::pause).
    pub async fn resume(&self, slug: &str) -> Result<(), Error> {
        let job = self.known(slug)?;
        let was_paused = match &self.claimer {
            Some(claimer) => claimer
                .coordinator
                .resume(job.slug())
                .await
                .map_err(|error| Error::Coordinator {
                    action: format!("resuming `{slug}`"),
                    reason: error.to_string(),
                })?,
            None => self.pauses.resume(job.slug(), self.now()),
        };
        if was_paused {
            tracing::info!(slug, "job resumed");
        } else {
            tracing::info!(slug, "job resumed (it was not paused)");
        }
        self.tell_sentry(job, false).await;
        Ok(())
    }

    /// Mutes (`paused`) or unmutes the Sentry monitor of `job` when the Sentry API is
    /// configured; logs what Sentry will do otherwise. A failure is logged, not returned: the
    /// pause itself holds.
    async fn tell_sentry(&self, job: &Job, paused: bool) {
        let slug = job.slug();
        if job.monitor_config().is_none() {
            return; // Unmonitored: there is no monitor to mute.
        }
        #[cfg(feature = "http")]
        if let Some(api) = &self.monitor_api {
            match api.set_muted(slug, paused).await {
                Ok(()) if paused => tracing::info!(slug, "Sentry monitor muted"),
                Ok(()) => tracing::info!(slug, "Sentry monitor unmuted"),
                Err(error) if paused => {
                    tracing::error!(slug, %error, "muting the Sentry monitor failed: Sentry will report the paused ticks as missed check-ins")
                }
                Err(error) => {
                    tracing::error!(slug, %error, "unmuting the Sentry monitor failed: it stays muted in Sentry; unmute it there")
                }
            }
            return;
        }
        if paused {
            tracing::warn!(slug, "the Sentry monitor is not muted (no Sentry API token configured, see `SchedulerBuilder::sentry_api`): Sentry will report the paused ticks as missed check-ins");
        }
    }

    /// The pauses in force among this scheduler's jobs (who paused what until when), in slug
    /// order: from the coordinator's backend, or this process's without one.
    pub async fn pauses(&self) -> Result<Vec<Pause>, Error> {
        let mut pauses =
            match &self.claimer {
                Some(claimer) => {
                    let slugs: Vec<&str> = self.jobs.iter().map(|j| j.slug()).collect();
                    claimer.coordinator.pauses(&slugs).await.map_err(|error| {
                        Error::Coordinator {
                            action: "reading the pauses".into(),
                            reason: error.to_string(),
                        }
                    })?
                }
                None => self.pauses.in_force(self.now()),
            };
        pauses.sort_by(|a, b| a.slug.cmp(&b.slug));
        Ok(pauses)
    }

    /// The job `slug`, or [`Error::UnknownSlug`] naming the nearest slugs.
    fn known(&self, slug: &str) -> Result<&Job, Error> {
        self.job(slug).ok_or_else(|| Error::UnknownSlug {
            slug: slug.to_owned(),
            near: crate::scheduler::cli::near_slugs(slug, self.jobs()),
        })
    }

    /// Live counts of the scheduler's check-ins ([`Scheduler::check_ins`]).
    pub fn check_ins(&self) -> CheckInCounters {
        self.delivery.counters()
    }

    /// The coordinator, if any ([`Scheduler::coordinator`]).
    pub fn coordinator(&self) -> Option<&Arc<dyn Coordinator>> {
        self.claimer.as_ref().map(|c| &c.coordinator)
    }

    /// The last `limit` runs of the job `slug` as the coordinator recorded them
    /// ([`Scheduler::history`]); empty without a coordinator.
    pub async fn history(
        &self,
        slug: &str,
        limit: usize,
    ) -> Result<Vec<RunRecord>, CoordinatorError> {
        match &self.claimer {
            None => Ok(Vec::new()),
            Some(claimer) => claimer.coordinator.history(slug, limit).await,
        }
    }
}

impl fmt::Debug for SchedulerHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SchedulerHandle")
            .field("jobs", &self.jobs.len())
            .field("off", &self.off.len())
            .field("coordinated", &self.claimer.is_some())
            .finish_non_exhaustive()
    }
}
