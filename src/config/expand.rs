//! `${VAR}` and `${VAR:-default}` expansion in every string of the YAML tree, before
//! it is typed. Unset variables are reported with the YAML path that used them.

use serde_yaml::Value;

/// A string that named an environment variable that is not set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingVar {
    pub path: String,
    pub var: String,
}

/// Expands variables in place, looking them up with `lookup`. A string with an unset
/// variable (and no default) becomes empty and is reported.
pub fn expand_tree(value: &mut Value, lookup: &dyn Fn(&str) -> Option<String>, missing: &mut Vec<MissingVar>) {
    walk(value, String::new(), lookup, missing);
}

fn walk(value: &mut Value, path: String, lookup: &dyn Fn(&str) -> Option<String>, missing: &mut Vec<MissingVar>) {
    match value {
        Value::String(s) if s.contains("${") => match expand_str(s, lookup) {
            Ok(expanded) => *s = expanded,
            Err(var) => {
                missing.push(MissingVar { path, var });
                s.clear();
            }
        },
        Value::Sequence(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                walk(item, format!("{path}[{i}]"), lookup, missing);
            }
        }
        Value::Mapping(map) => {
            for (k, v) in map.iter_mut() {
                let key = match k {
                    Value::String(s) => s.clone(),
                    other => serde_yaml::to_string(other).unwrap_or_default().trim().to_string(),
                };
                let child = if path.is_empty() { key } else { format!("{path}.{key}") };
                walk(v, child, lookup, missing);
            }
        }
        Value::Tagged(t) => walk(&mut t.value, path, lookup, missing),
        _ => {}
    }
}

/// Expands one string; `Err(var)` names the first unset variable without a default.
pub fn expand_str(s: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            return Ok(out);
        };
        let expr = &after[..end];
        let (name, default) = match expr.split_once(":-") {
            Some((n, d)) => (n, Some(d)),
            None => (expr, None),
        };
        match (lookup(name).filter(|v| !v.is_empty()), default) {
            (Some(v), _) => out.push_str(&v),
            (None, Some(d)) => out.push_str(d),
            (None, None) => return Err(name.to_string()),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "A" => Some("alpha".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn expands_defaults_and_reports_missing_with_paths() {
        assert_eq!(expand_str("x-${A}-y", &env).unwrap(), "x-alpha-y");
        assert_eq!(expand_str("${B:-dflt}", &env).unwrap(), "dflt");
        assert_eq!(expand_str("${EMPTY:-d}", &env).unwrap(), "d");
        assert_eq!(expand_str("${B}", &env), Err("B".to_string()));
        assert_eq!(expand_str("no vars $ { }", &env).unwrap(), "no vars $ { }");

        let mut tree: Value = serde_yaml::from_str("channels:\n  - keys: ['${A}', '${MISSING}']\n").unwrap();
        let mut missing = Vec::new();
        expand_tree(&mut tree, &env, &mut missing);
        assert_eq!(missing, vec![MissingVar { path: "channels[0].keys[1]".into(), var: "MISSING".into() }]);
        assert_eq!(tree["channels"][0]["keys"][0].as_str(), Some("alpha"));
    }
}
