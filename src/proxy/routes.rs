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

/// The shape a models list is answered in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelsShape {
    Anthropic,
    OpenAi,
    Gemini,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `GET /health` (no auth).
    Health,
    /// `HEAD /` and `GET /` (no auth; clients probe the base URL).
    Root,
    /// Admin endpoints (admin key).
    Admin(AdminRoute),
    /// A model call whose model is in the body: Messages, Chat, Responses.
    Api(Dialect),
    /// `POST /v1beta/models/{model}:generateContent` or `:streamGenerateContent`.
    Gemini {
        model: String,
        stream: bool,
    },
    /// `POST /v1beta/models/{model}:countTokens`.
    GeminiCountTokens {
        model: String,
    },
    /// `GET /v1/models`, `GET /v1beta/models` (and one model by id).
    Models {
        shape: ModelsShape,
        id: Option<String>,
    },
    /// `POST /v1/messages/count_tokens`.
    CountTokens,
    /// A known path with the wrong method: the dialect to answer in, and the method to use.
    MethodNotAllowed(Dialect, &'static str),
    NotFound(Dialect),
}

/// `models_shape`: the shape a models list on the shared `/v1/models` path is answered
/// in, chosen by the caller from the request's headers.
pub fn classify(method: &str, path: &str, models_shape: ModelsShape) -> Route {
    let path = path.split('?').next().unwrap_or(path);
    let path = if path.len() > 1 { path.trim_end_matches('/') } else { path };
    let api = match path {
        "/v1/messages" => Some(Dialect::Anthropic),
        "/v1/chat/completions" | "/chat/completions" => Some(Dialect::OpenAiChat),
        "/v1/responses" | "/responses" => Some(Dialect::OpenAiResponses),
        _ => None,
    };
    if let Some(rest) = path.strip_prefix("/v1beta/models/").or_else(|| path.strip_prefix("/v1/models/")) {
        if let Some((model, action)) = rest.rsplit_once(':') {
            let stream = match action {
                "generateContent" => false,
                "streamGenerateContent" => true,
                "countTokens" if method == "POST" && !model.is_empty() => {
                    return Route::GeminiCountTokens { model: model.to_string() }
                }
                "countTokens" => false,
                _ => return Route::NotFound(Dialect::Gemini),
            };
            return match method {
                "POST" if !model.is_empty() => Route::Gemini { model: model.to_string(), stream },
                "POST" => Route::NotFound(Dialect::Gemini),
                _ => Route::MethodNotAllowed(Dialect::Gemini, "POST"),
            };
        }
    }
    match (method, path, api) {
        ("GET" | "HEAD", "/health", _) => Route::Health,
        (_, "/health", _) => Route::MethodNotAllowed(Dialect::OpenAiChat, "GET"),
        ("GET" | "HEAD", "/", _) => Route::Root,
        ("GET", "/admin/channels", _) => Route::Admin(AdminRoute::Channels),
        ("GET", "/admin/config", _) => Route::Admin(AdminRoute::Config),
        ("POST", "/admin/reload", _) => Route::Admin(AdminRoute::Reload),
        _ if path.starts_with("/admin/") => Route::Admin(AdminRoute::Unknown),
        ("POST", _, Some(d)) => Route::Api(d),
        (_, _, Some(d)) => Route::MethodNotAllowed(d, "POST"),
        ("POST", "/v1/messages/count_tokens", _) => Route::CountTokens,
        ("GET", "/v1/models" | "/models", _) => Route::Models { shape: models_shape, id: None },
        ("GET", "/v1beta/models", _) => Route::Models { shape: ModelsShape::Gemini, id: None },
        ("GET", _, _) if path.starts_with("/v1/models/") => {
            Route::Models { shape: models_shape, id: path.strip_prefix("/v1/models/").map(str::to_string) }
        }
        ("GET", _, _) if path.starts_with("/v1beta/models/") => {
            Route::Models { shape: ModelsShape::Gemini, id: path.strip_prefix("/v1beta/models/").map(str::to_string) }
        }
        _ if path.starts_with("/v1/messages") => Route::NotFound(Dialect::Anthropic),
        _ if path.starts_with("/v1beta") => Route::NotFound(Dialect::Gemini),
        _ => Route::NotFound(Dialect::OpenAiChat),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: ModelsShape = ModelsShape::Anthropic;
    const O: ModelsShape = ModelsShape::OpenAi;

    #[test]
    fn routes() {
        assert_eq!(classify("POST", "/v1/messages?beta=true", O), Route::Api(Dialect::Anthropic));
        assert_eq!(classify("POST", "/v1/chat/completions", O), Route::Api(Dialect::OpenAiChat));
        assert_eq!(classify("POST", "/v1/responses", O), Route::Api(Dialect::OpenAiResponses));
        assert_eq!(classify("GET", "/v1/messages", O), Route::MethodNotAllowed(Dialect::Anthropic, "POST"));
        assert_eq!(classify("HEAD", "/", O), Route::Root);
        assert_eq!(classify("GET", "/health", O), Route::Health);
        assert_eq!(classify("HEAD", "/health", O), Route::Health);
        assert_eq!(classify("POST", "/health", O), Route::MethodNotAllowed(Dialect::OpenAiChat, "GET"));
        assert_eq!(classify("POST", "/v1/messages/batches", O), Route::NotFound(Dialect::Anthropic));
        assert_eq!(classify("POST", "/v1/messages/count_tokens", A), Route::CountTokens);
        assert_eq!(classify("GET", "/nope", O), Route::NotFound(Dialect::OpenAiChat));
        assert_eq!(
            classify("POST", "/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse", O),
            Route::Gemini { model: "gemini-2.5-pro".into(), stream: true }
        );
        assert_eq!(
            classify("POST", "/v1beta/models/gemini-2.5-flash:generateContent", O),
            Route::Gemini { model: "gemini-2.5-flash".into(), stream: false }
        );
        assert_eq!(classify("POST", "/v1beta/models/x:countTokens", O), Route::GeminiCountTokens { model: "x".into() });
        assert_eq!(
            classify("GET", "/v1beta/models/x:countTokens", O),
            Route::MethodNotAllowed(Dialect::Gemini, "POST")
        );
        assert_eq!(classify("POST", "/v1beta/models/x:embedContent", O), Route::NotFound(Dialect::Gemini));
        assert_eq!(classify("GET", "/v1/models", A), Route::Models { shape: ModelsShape::Anthropic, id: None });
        assert_eq!(classify("GET", "/v1/models", O), Route::Models { shape: ModelsShape::OpenAi, id: None });
        assert_eq!(classify("GET", "/v1beta/models", O), Route::Models { shape: ModelsShape::Gemini, id: None });
        assert_eq!(
            classify("GET", "/v1/models", ModelsShape::Gemini),
            Route::Models { shape: ModelsShape::Gemini, id: None }
        );
        assert_eq!(
            classify("GET", "/v1/models/gpt-4o", O),
            Route::Models { shape: ModelsShape::OpenAi, id: Some("gpt-4o".into()) }
        );
    }
}
