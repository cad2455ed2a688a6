//! Structured output across dialects. The canonical request keeps it in
//! `output_config.format` as Anthropic writes it, `{"type": "json_schema", "schema": …}`,
//! with what other dialects say and Anthropic has no field for: the schema's `name` and
//! `strict`, and `{"type": "json_object"}`, JSON without a schema (Chat's and Responses'
//! JSON mode, Gemini's `responseMimeType` alone). Towards Anthropic only `type` and
//! `schema` are sent, and JSON without a schema is left out: Anthropic has no such mode.

use serde_json::{json, Map, Value};

/// A canonical `output_config.format`, read.
#[derive(Debug, PartialEq)]
pub enum OutputFormat<'a> {
    Schema { schema: &'a Value, name: Option<&'a str>, strict: Option<bool> },
    JsonObject,
}

/// Reads a canonical format; `None` for text or a type no dialect here knows.
pub fn read(format: &Value) -> Option<OutputFormat<'_>> {
    match format.get("type")?.as_str()? {
        "json_schema" => Some(OutputFormat::Schema {
            schema: format.get("schema")?,
            name: format.get("name").and_then(Value::as_str),
            strict: format.get("strict").and_then(Value::as_bool),
        }),
        "json_object" => Some(OutputFormat::JsonObject),
        _ => None,
    }
}

/// The canonical format for a schema, with its name and strictness when the client gave
/// them.
pub fn json_schema(schema: Value, name: Option<&Value>, strict: Option<&Value>) -> Value {
    let mut format = Map::new();
    format.insert("type".into(), json!("json_schema"));
    format.insert("schema".into(), schema);
    if let Some(name) = name.filter(|n| n.is_string()) {
        format.insert("name".into(), name.clone());
    }
    if let Some(strict) = strict.filter(|s| s.is_boolean()) {
        format.insert("strict".into(), strict.clone());
    }
    Value::Object(format)
}

/// The canonical format for JSON without a schema.
pub fn json_object() -> Value {
    json!({"type": "json_object"})
}

/// Chat's `response_format` → canonical.
pub fn from_chat(format: &Value) -> Option<Value> {
    match format.get("type")?.as_str()? {
        "json_schema" => {
            let spec = format.get("json_schema")?;
            Some(json_schema(spec.get("schema")?.clone(), spec.get("name"), spec.get("strict")))
        }
        "json_object" => Some(json_object()),
        _ => None,
    }
}

/// Canonical → Chat's `response_format`.
pub fn to_chat(format: &Value) -> Option<Value> {
    Some(match read(format)? {
        OutputFormat::Schema { schema, name, strict } => {
            json!({"type": "json_schema", "json_schema": Value::Object(schema_spec(schema, name, strict))})
        }
        OutputFormat::JsonObject => json!({"type": "json_object"}),
    })
}

/// A Responses request's `text` (its `format`) → canonical.
pub fn from_responses(text: Option<&Value>) -> Option<Value> {
    let format = text?.get("format")?;
    match format.get("type")?.as_str()? {
        "json_schema" => Some(json_schema(format.get("schema")?.clone(), format.get("name"), format.get("strict"))),
        "json_object" => Some(json_object()),
        _ => None,
    }
}

/// Canonical → a Responses request's `text`.
pub fn to_responses(format: &Value) -> Option<Value> {
    let format = match read(format)? {
        OutputFormat::Schema { schema, name, strict } => {
            let mut spec = Map::new();
            spec.insert("type".into(), json!("json_schema"));
            spec.extend(schema_spec(schema, name, strict));
            Value::Object(spec)
        }
        OutputFormat::JsonObject => json!({"type": "json_object"}),
    };
    Some(json!({ "format": format }))
}

/// Chat's `json_schema` object, and the fields of a Responses format: a name (OpenAI
/// requires one), the schema, and `strict` when it was given.
fn schema_spec(schema: &Value, name: Option<&str>, strict: Option<bool>) -> Map<String, Value> {
    let mut spec = Map::new();
    spec.insert("name".into(), json!(name.unwrap_or("output")));
    spec.insert("schema".into(), schema.clone());
    if let Some(strict) = strict {
        spec.insert("strict".into(), json!(strict));
    }
    spec
}

/// What an Anthropic upstream is sent for a canonical format.
pub fn for_anthropic(format: &Value) -> Option<Value> {
    match read(format)? {
        OutputFormat::Schema { schema, .. } => Some(json!({"type": "json_schema", "schema": schema})),
        OutputFormat::JsonObject => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_and_strict_ride_along_and_anthropic_gets_type_and_schema_only() {
        let f = json_schema(json!({"type": "object"}), Some(&json!("s")), Some(&json!(true)));
        assert_eq!(f, json!({"type": "json_schema", "schema": {"type": "object"}, "name": "s", "strict": true}));
        assert_eq!(
            read(&f),
            Some(OutputFormat::Schema { schema: &json!({"type": "object"}), name: Some("s"), strict: Some(true) })
        );
        assert_eq!(for_anthropic(&f), Some(json!({"type": "json_schema", "schema": {"type": "object"}})));
        assert_eq!(read(&json_object()), Some(OutputFormat::JsonObject));
        assert_eq!(for_anthropic(&json_object()), None);
        assert_eq!(read(&json!({"type": "text"})), None);
        // A name or strictness of the wrong type is left out.
        assert_eq!(
            json_schema(json!({}), Some(&json!(3)), Some(&json!("yes"))),
            json!({"type": "json_schema", "schema": {}})
        );
    }
}
