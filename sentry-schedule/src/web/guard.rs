//! The guard in front of every action: the cross-site check, then the bearer token.
use super::{Actions, Shared};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

/// Lets an action through, or answers why not: `403` cross-site or with no guard
/// configured, `401` without the right token.
pub(crate) async fn guard(State(web): State<Shared>, request: Request, next: Next) -> Response {
    if let Some(why) = cross_site(request.headers()) {
        return refuse(StatusCode::FORBIDDEN, why);
    }
    match &web.actions {
        Actions::Off => refuse(
            StatusCode::FORBIDDEN,
            "actions are off: the ops router was built without a guard (WebOptions::bearer_token or web::router_with_layer)",
        ),
        Actions::Token(token) if !token_matches(request.headers(), token) => {
            let mut response = refuse(
                StatusCode::UNAUTHORIZED,
                "a valid `Authorization: Bearer <token>` header is required",
            );
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
            response
        }
        Actions::Token(_) | Actions::Layer => next.run(request).await,
    }
}

fn refuse(status: StatusCode, why: &str) -> Response {
    (status, axum::Json(serde_json::json!({ "error": why }))).into_response()
}

/// Why the request comes from another site, if the browser says so: `Sec-Fetch-Site`
/// other than `same-origin` or `none`, or an `Origin` whose host and port are not `Host`.
/// Requests without either header (not from a browser) pass.
fn cross_site(headers: &HeaderMap) -> Option<&'static str> {
    let text = |name| headers.get(name).map(|v| v.to_str().unwrap_or("\u{fffd}"));
    if let Some(site) = text("sec-fetch-site") {
        if site != "same-origin" && site != "none" {
            return Some("cross-site request refused (Sec-Fetch-Site)");
        }
    }
    if let Some(origin) = text(header::ORIGIN.as_str()) {
        let origin_host = origin
            .split_once("://")
            .map(|(_, rest)| rest.trim_end_matches('/'));
        if origin_host.is_none() || origin_host != text(header::HOST.as_str()) {
            return Some("cross-site request refused (Origin is not this host)");
        }
    }
    None
}

/// Whether the request carries `Authorization: Bearer <token>`; the token is compared in
/// constant time (its length is not secret).
fn token_matches(headers: &HeaderMap, token: &str) -> bool {
    let Some(given) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "))
    else {
        return false;
    };
    given.ct_eq(token.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, header::HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn cross_site_requests_are_told_apart() {
        assert_eq!(cross_site(&headers(&[])), None);
        assert_eq!(
            cross_site(&headers(&[
                ("host", "127.0.0.1:3000"),
                ("origin", "http://127.0.0.1:3000"),
                ("sec-fetch-site", "same-origin"),
            ])),
            None
        );
        assert!(cross_site(&headers(&[("sec-fetch-site", "cross-site")])).is_some());
        assert!(cross_site(&headers(&[("sec-fetch-site", "same-site")])).is_some());
        assert!(cross_site(&headers(&[
            ("host", "127.0.0.1:3000"),
            ("origin", "http://evil.example"),
        ]))
        .is_some());
        assert!(cross_site(&headers(&[("host", "127.0.0.1:3000"), ("origin", "null")])).is_some());
    }

    #[test]
    fn only_the_exact_token_matches() {
        assert!(token_matches(
            &headers(&[("authorization", "Bearer s3cret")]),
            "s3cret"
        ));
        assert!(!token_matches(
            &headers(&[("authorization", "Bearer s3cre")]),
            "s3cret"
        ));
        assert!(!token_matches(
            &headers(&[("authorization", "Bearer s3cret2")]),
            "s3cret"
        ));
        assert!(!token_matches(
            &headers(&[("authorization", "s3cret")]),
            "s3cret"
        ));
        assert!(!token_matches(&headers(&[]), "s3cret"));
    }
}
