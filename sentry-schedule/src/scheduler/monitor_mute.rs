//! Muting a job's Sentry monitor while the job is paused, through Sentry's web API, so that
//! Sentry raises no missed-check-in alerts for ticks that were not meant to run.
//!
//! What Sentry accepts, read from getsentry/sentry:
//! - the route `^(?P<organization_id_or_slug>[^/]+)/monitors/(?P<monitor_id_or_slug>[^/]+)/$`
//!   under `/api/0/organizations/` (`src/sentry/api/urls.py`), served by
//!   `OrganizationMonitorDetailsEndpoint` (`src/sentry/monitors/endpoints/
//!   organization_monitor_details.py`), whose `PUT` updates the monitor with a partial
//!   `MonitorValidator` (`base_monitor_details.py`, `update_monitor`);
//! - `MonitorValidator` (`src/sentry/monitors/validators.py`) is a `CamelSnakeSerializer`
//!   with `is_muted = BooleanField(required=False, help_text="Disable creation of monitor
//!   incidents")`: the JSON key is `isMuted`, and `update` forwards it to every environment
//!   of the monitor. (Its `status` field, `"disabled"`, would also stop check-ins from being
//!   accepted and free the monitor's seat: more than a pause means.)
//! - authentication with an auth token: `Authorization: Bearer <token>` (scope
//!   `project:write` or more).
use crate::Error;
use std::time::Duration;

/// How long one call to Sentry's API may take.
const API_TIMEOUT: Duration = Duration::from_secs(10);

/// Where and how to reach Sentry's web API to mute monitors: set with
/// [`SchedulerBuilder::sentry_api`](crate::SchedulerBuilder::sentry_api).
#[derive(Clone)]
pub(crate) struct MonitorApi {
    token: String,
    organization: String,
    /// `scheme://host[:port]`; `None`: derived from the client's DSN at each call.
    base_url: Option<String>,
    http: reqwest::Client,
}

impl std::fmt::Debug for MonitorApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MonitorApi")
            .field("organization", &self.organization)
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl MonitorApi {
    pub(crate) fn new(token: String, organization: String, base_url: Option<String>) -> Self {
        Self {
            token,
            organization,
            base_url: base_url.map(|url| url.trim_end_matches('/').to_owned()),
            http: reqwest::Client::builder()
                .timeout(API_TIMEOUT)
                .build()
                .unwrap_or_default(),
        }
    }

    /// The checks of [`SchedulerBuilder::build`](crate::SchedulerBuilder::build): a token and
    /// an organization slug that can stand in a URL path.
    pub(crate) fn check(&self) -> Result<(), Error> {
        let slug_like = !self.organization.is_empty()
            && self
                .organization
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if self.token.trim().is_empty() || !slug_like {
            return Err(Error::InvalidJob {
                job: "(scheduler option `sentry_api`)".into(),
                problems: vec![format!(
                    "expected a non-empty auth token and an organization slug or id \
                     (letters, digits, `-`, `_`), got organization `{}`",
                    self.organization
                )],
            });
        }
        Ok(())
    }

    /// The monitor's URL: `{base}/api/0/organizations/{org}/monitors/{slug}/`.
    fn monitor_url(&self, slug: &str) -> Result<String, String> {
        let base = match &self.base_url {
            Some(base) => base.clone(),
            None => base_url_of_dsn(
                &sentry::Hub::current()
                    .client()
                    .and_then(|client| client.dsn().cloned())
                    .ok_or(
                        "no Sentry DSN to derive the API's URL from; set it with `sentry_api_url`",
                    )?,
            ),
        };
        Ok(format!(
            "{base}/api/0/organizations/{}/monitors/{slug}/",
            self.organization
        ))
    }

    /// Mutes (`true`) or unmutes the monitor `slug`: `PUT {"isMuted": muted}`.
    pub(crate) async fn set_muted(&self, slug: &str, muted: bool) -> Result<(), String> {
        let url = self.monitor_url(slug)?;
        let response = self
            .http
            .put(&url)
            .bearer_auth(&self.token)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(serde_json::json!({ "isMuted": muted }).to_string())
            .send()
            .await
            .map_err(|e| format!("PUT {url}: {e}"))?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            let body = response.text().await.unwrap_or_default();
            let body = body.get(..200).unwrap_or(&body);
            Err(format!("PUT {url}: HTTP {status}: {body}"))
        }
    }
}

/// The web API's base URL for a DSN: Sentry's SaaS ingest hosts `o<id>.ingest[.<region>].
/// sentry.io` map to `[<region>.]sentry.io`; any other host (self-hosted Sentry) serves both.
fn base_url_of_dsn(dsn: &sentry::types::Dsn) -> String {
    let host = dsn.host();
    let host = host
        .split_once(".ingest.")
        .filter(|(org, _)| {
            org.strip_prefix('o')
                .is_some_and(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
        })
        .map_or(host, |(_, rest)| rest);
    let scheme = dsn.scheme();
    if dsn.port() == scheme.default_port() {
        format!("{scheme}://{host}")
    } else {
        format!("{scheme}://{host}:{}", dsn.port())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_api_url_comes_from_the_dsn() {
        let base = |dsn: &str| base_url_of_dsn(&dsn.parse().unwrap());
        assert_eq!(
            base("https://key@o447951.ingest.us.sentry.io/4506"),
            "https://us.sentry.io"
        );
        assert_eq!(
            base("https://key@o1.ingest.sentry.io/2"),
            "https://sentry.io"
        );
        assert_eq!(
            base("http://key@sentry.internal:9000/3"),
            "http://sentry.internal:9000"
        );
        assert_eq!(
            base("https://key@ingest.example.com/3"),
            "https://ingest.example.com"
        );
    }
}
