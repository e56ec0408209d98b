//! One `POST` of one envelope to a client's DSN, and what the answer means.
//!
//! Configured from the client's options exactly as sentry's own reqwest transport is
//! (`sentry/src/transports/reqwest.rs`): `http_proxy`, `https_proxy`,
//! `accept_invalid_certs`, `user_agent`, the DSN's envelope URL and `X-Sentry-Auth` header
//! (sentry-types' `Dsn::envelope_api_url` and `Dsn::to_auth`).
use super::rate_limit::{self, RateLimitHeaders};
use sentry::Client;
use std::time::Duration;

/// How long one request may take before it counts as failed and is tried again, unless
/// the scheduler sets another ([`SchedulerBuilder::check_in_request_timeout`]).
///
/// [`SchedulerBuilder::check_in_request_timeout`]: crate::SchedulerBuilder::check_in_request_timeout
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Where and how one client's check-ins are posted.
pub(crate) struct Endpoint {
    http: reqwest::Client,
    url: String,
    auth: String,
}

/// What became of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Answer {
    /// A `2xx`: accepted; `pause` when Sentry also announced a rate limit for check-ins.
    Accepted { pause: Option<Duration> },
    /// A `429`: not accepted; wait `pause` (`None`: the answer limited no category of ours).
    RateLimited { pause: Option<Duration> },
    /// Another `4xx` (other than `408`): refused; sending it again cannot help.
    Refused { status: u16 },
    /// A `5xx`, a `408`, a network error or time-out: worth trying again later.
    Failed { reason: String },
}

impl Endpoint {
    /// The endpoint of `client`'s DSN, giving up on a request after `timeout` (its
    /// connection after at most [`CONNECT_TIMEOUT`]); `Err` when it has no DSN or reqwest
    /// cannot be set up.
    pub(crate) fn of(client: &Client, timeout: Duration) -> Result<Self, String> {
        let options = client.options();
        let dsn = options.dsn.as_ref().ok_or("the client has no DSN")?;
        let mut builder = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(CONNECT_TIMEOUT.min(timeout))
            .user_agent(options.user_agent.as_ref());
        #[cfg(any(feature = "native-tls", feature = "rustls"))]
        if options.accept_invalid_certs {
            builder = builder.danger_accept_invalid_certs(true);
        }
        if let Some(url) = &options.http_proxy {
            let proxy = reqwest::Proxy::http(url.as_ref())
                .map_err(|e| format!("invalid http_proxy `{url}`: {e}"))?;
            builder = builder.proxy(proxy);
        }
        if let Some(url) = &options.https_proxy {
            let proxy = reqwest::Proxy::https(url.as_ref())
                .map_err(|e| format!("invalid https_proxy `{url}`: {e}"))?;
            builder = builder.proxy(proxy);
        }
        let http = builder
            .build()
            .map_err(|e| format!("cannot set up the HTTP client: {e}"))?;
        Ok(Self {
            http,
            url: dsn.envelope_api_url().to_string(),
            auth: dsn.to_auth(Some(&options.user_agent)).to_string(),
        })
    }

    /// Posts `envelope` and reads the whole answer (so the connection can be reused).
    pub(crate) async fn post(&self, envelope: Vec<u8>) -> Answer {
        let sent = self
            .http
            .post(&self.url)
            .header("X-Sentry-Auth", &self.auth)
            .header("Content-Type", "application/x-sentry-envelope")
            .body(envelope)
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(e) => {
                return Answer::Failed {
                    reason: error_chain(&e),
                }
            }
        };
        let status = response.status().as_u16();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let (sentry, retry_after) = (header("x-sentry-rate-limits"), header("retry-after"));
        let answer = Answer::of(
            status,
            RateLimitHeaders {
                sentry: sentry.as_deref(),
                retry_after: retry_after.as_deref(),
            },
        );
        if let Err(e) = response.bytes().await {
            if (200..300).contains(&status) {
                // The status line and headers arrived: Sentry has the check-in.
                tracing::debug!(error = %e, "could not read the body of Sentry's answer");
            }
        }
        answer
    }
}

impl Answer {
    /// The meaning of an HTTP answer with `status` and these rate-limit `headers`.
    pub(crate) fn of(status: u16, headers: RateLimitHeaders<'_>) -> Self {
        classify(status, rate_limit::pause(status, headers))
    }
}

/// What an endpoint in memory answered one `POST`: the test kit's ingest, which stands
/// where Sentry stands, in place of the request over HTTP.
#[cfg(feature = "testing")]
#[derive(Debug, Clone, Default)]
pub(crate) struct Response {
    pub(crate) status: u16,
    /// `Retry-After`.
    pub(crate) retry_after: Option<String>,
    /// `X-Sentry-Rate-Limits`.
    pub(crate) rate_limits: Option<String>,
}

/// An endpoint in memory that answers each envelope as Sentry would (the test kit's).
#[cfg(feature = "testing")]
pub(crate) trait MemoryEndpoint: Send + Sync {
    /// Answers the `POST` of `envelope` (taking as long as the answer takes).
    fn post(
        &self,
        envelope: Vec<u8>,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Response> + Send>>;
}

/// Posts `envelope` to `endpoint`, giving up after `timeout` as the HTTP client does.
#[cfg(feature = "testing")]
pub(crate) async fn post_in_memory(
    endpoint: &dyn MemoryEndpoint,
    envelope: Vec<u8>,
    timeout: Duration,
) -> Answer {
    match tokio::time::timeout(timeout, endpoint.post(envelope)).await {
        Ok(response) => Answer::of(
            response.status,
            RateLimitHeaders {
                sentry: response.rate_limits.as_deref(),
                retry_after: response.retry_after.as_deref(),
            },
        ),
        Err(_) => Answer::Failed {
            reason: "operation timed out".into(),
        },
    }
}

/// The meaning of `status`, with the rate-limit `pause` its headers asked for.
fn classify(status: u16, pause: Option<Duration>) -> Answer {
    match status {
        200..=299 => Answer::Accepted { pause },
        429 => Answer::RateLimited { pause },
        408 => Answer::Failed {
            reason: "HTTP 408".into(),
        },
        400..=499 => Answer::Refused { status },
        _ => Answer::Failed {
            reason: format!("HTTP {status}"),
        },
    }
}

/// `error: cause: cause`, as reqwest's own message leaves out the causes.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        let pause = Some(Duration::from_secs(5));
        assert_eq!(classify(200, None), Answer::Accepted { pause: None });
        assert_eq!(classify(202, pause), Answer::Accepted { pause });
        assert_eq!(classify(429, pause), Answer::RateLimited { pause });
        assert_eq!(classify(413, None), Answer::Refused { status: 413 });
        assert_eq!(classify(400, None), Answer::Refused { status: 400 });
        assert!(matches!(classify(408, None), Answer::Failed { .. }));
        assert!(matches!(classify(500, None), Answer::Failed { .. }));
        assert!(matches!(classify(503, None), Answer::Failed { .. }));
    }

    #[test]
    fn endpoint_of_a_client_posts_to_its_envelope_url_with_its_auth() {
        let client = Client::from(
            sentry::ClientOptions::new()
                .dsn("https://abc@o1.ingest.example.com/42")
                .user_agent("app/1"),
        );
        let endpoint = Endpoint::of(&client, REQUEST_TIMEOUT).expect("an endpoint");
        assert_eq!(
            endpoint.url,
            "https://o1.ingest.example.com/api/42/envelope/"
        );
        // sentry's transport, too, stamps the header once, when it is built.
        assert!(
            endpoint
                .auth
                .starts_with("Sentry sentry_key=abc, sentry_version=7, sentry_timestamp="),
            "{}",
            endpoint.auth
        );
        assert!(
            endpoint.auth.ends_with(", sentry_client=app/1"),
            "{}",
            endpoint.auth
        );
        let proxied = Client::from(
            sentry::ClientOptions::new()
                .dsn("https://abc@o1.ingest.example.com/42")
                .http_proxy("not a url"),
        );
        assert!(Endpoint::of(&proxied, REQUEST_TIMEOUT).is_err());
        let without_dsn = Client::from(sentry::ClientOptions::new());
        assert!(Endpoint::of(&without_dsn, REQUEST_TIMEOUT).is_err());
    }
}
