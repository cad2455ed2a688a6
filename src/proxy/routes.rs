//! Which local endpoint or API a request is for.

use crate::protocol::Dialect;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminRoute {
    /// `GET /admin/channels`: channel and key health.
    Channels,
    /// `GET /admin/config`: the running config, secrets masked.
    Config,
    /// `POST /admin/reload`: reload the config file.
    Reload,
    /// An admin path with the wrong method, or none at all.
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// `GET /health` (no auth).
    Health,
    /// `HEAD /` and `GET /` (no auth; clients probe the base URL).
    Root,
    /// Admin endpoints (admin key).
    Admin(AdminRoute),
    /// A model call in the given dialect.
    Api(Dialect),
    /// A known API path with the wrong method.
    MethodNotAllowed(Dialect),
    NotFound(Dialect),
}

pub fn classify(method: &str, path: &str) -> Route {
    let path = path.split('?').next().unwrap_or(path);
    let path = if path.len() > 1 { path.trim_end_matches('/') } else { path };
    let api = match path {
        "/v1/messages" => Some(Dialect::Anthropic),
        "/v1/chat/completions" | "/chat/completions" => Some(Dialect::OpenAiChat),
        _ => None,
    };
    match (method, path, api) {
        ("GET", "/health", _) => Route::Health,
        ("GET" | "HEAD", "/", _) => Route::Root,
        ("GET", "/admin/channels", _) => Route::Admin(AdminRoute::Channels),
        ("GET", "/admin/config", _) => Route::Admin(AdminRoute::Config),
        ("POST", "/admin/reload", _) => Route::Admin(AdminRoute::Reload),
        _ if path.starts_with("/admin/") => Route::Admin(AdminRoute::Unknown),
        ("POST", _, Some(d)) => Route::Api(d),
        (_, _, Some(d)) => Route::MethodNotAllowed(d),
        _ if path.starts_with("/v1/messages") => Route::NotFound(Dialect::Anthropic),
        _ => Route::NotFound(Dialect::OpenAiChat),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        assert_eq!(classify("POST", "/v1/messages?beta=true"), Route::Api(Dialect::Anthropic));
        assert_eq!(classify("POST", "/v1/chat/completions"), Route::Api(Dialect::OpenAiChat));
        assert_eq!(classify("GET", "/v1/messages"), Route::MethodNotAllowed(Dialect::Anthropic));
        assert_eq!(classify("HEAD", "/"), Route::Root);
        assert_eq!(classify("GET", "/health"), Route::Health);
        assert_eq!(classify("POST", "/v1/messages/batches"), Route::NotFound(Dialect::Anthropic));
        assert_eq!(classify("GET", "/nope"), Route::NotFound(Dialect::OpenAiChat));
    }
}
