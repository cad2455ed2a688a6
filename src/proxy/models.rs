//! `GET /v1/models` (Anthropic or OpenAI shape) and `GET /v1beta/models` (Gemini): the
//! models callers can ask for, from the config. Patterns are listed as configured
//! (`claude-*`); each entry names the channels serving it and the upstream models it
//! maps to (an extra `llm_relay` field the SDKs ignore).

use super::routes::ModelsShape;
use crate::relay::Live;
use crate::translate::{ApiError, ErrorKind};
use serde_json::{json, Value};
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

struct Entry {
    id: String,
    channels: Vec<String>,
    upstream: Vec<String>,
}

fn started() -> SystemTime {
    static STARTED: OnceLock<SystemTime> = OnceLock::new();
    *STARTED.get_or_init(SystemTime::now)
}

fn entries(live: &Live) -> Vec<Entry> {
    let mut out: Vec<Entry> = Vec::new();
    for ch in &live.config.channels {
        for pattern in &ch.models {
            let id = pattern.as_str();
            let mapped: Vec<String> = if pattern.is_exact() {
                vec![ch.upstream_model(id).to_string()]
            } else {
                let targets: Vec<String> =
                    ch.model_map.iter().filter(|(from, _)| from.matches(id)).map(|(_, to)| to.clone()).collect();
                if targets.is_empty() {
                    vec![id.to_string()]
                } else {
                    targets
                }
            };
            match out.iter_mut().find(|e| e.id == id) {
                Some(e) => {
                    e.channels.push(ch.name.clone());
                    for m in mapped {
                        if !e.upstream.contains(&m) {
                            e.upstream.push(m);
                        }
                    }
                }
                None => out.push(Entry { id: id.to_string(), channels: vec![ch.name.clone()], upstream: mapped }),
            }
        }
    }
    out
}

fn extra(e: &Entry) -> Value {
    json!({"channels": e.channels, "upstream_models": e.upstream})
}

fn model_json(e: &Entry, shape: ModelsShape) -> Value {
    let created = started().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    match shape {
        ModelsShape::OpenAi => {
            json!({"id": e.id, "object": "model", "created": created, "owned_by": "llm-relay", "llm_relay": extra(e)})
        }
        ModelsShape::Anthropic => json!({
            "type": "model",
            "id": e.id,
            "display_name": e.id,
            "created_at": humantime::format_rfc3339_seconds(started()).to_string(),
            "llm_relay": extra(e),
        }),
        ModelsShape::Gemini => json!({
            "name": format!("models/{}", e.id),
            "baseModelId": e.id,
            "version": "llm-relay",
            "displayName": e.id,
            "supportedGenerationMethods": ["generateContent", "streamGenerateContent", "countTokens"],
            "llm_relay": extra(e),
        }),
    }
}

/// The list, or one model when `id` is given (matched exactly or by pattern).
pub fn list(live: &Live, shape: ModelsShape, id: Option<&str>) -> Result<Vec<u8>, ApiError> {
    let all = entries(live);
    let body = match id {
        Some(id) => {
            let id = id.strip_prefix("models/").unwrap_or(id);
            let found = all
                .iter()
                .find(|e| e.id == id)
                .or_else(|| all.iter().find(|e| crate::routing::ModelPattern::new(e.id.clone()).matches(id)));
            let e =
                found.ok_or_else(|| ApiError::new(ErrorKind::NotFound, format!("no channel serves model '{id}'")))?;
            let mut v = model_json(e, shape);
            // A pattern entry answered for a concrete id shows that id.
            match shape {
                ModelsShape::Gemini => v["name"] = json!(format!("models/{id}")),
                _ => v["id"] = json!(id),
            }
            v
        }
        None => {
            let data: Vec<Value> = all.iter().map(|e| model_json(e, shape)).collect();
            match shape {
                ModelsShape::OpenAi => json!({"object": "list", "data": data}),
                ModelsShape::Anthropic => json!({
                    "data": data,
                    "has_more": false,
                    "first_id": all.first().map(|e| e.id.clone()),
                    "last_id": all.last().map(|e| e.id.clone()),
                }),
                ModelsShape::Gemini => json!({"models": data}),
            }
        }
    };
    Ok(serde_json::to_vec(&body).unwrap_or_default())
}
