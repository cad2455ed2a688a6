//! Tool names that another provider would refuse, renamed on the way up and named back
//! on the way down (pure).
//!
//! Anthropic and OpenAI take tool names of 1–64 characters from `[a-zA-Z0-9_-]` and
//! refuse the whole request otherwise. Gemini also takes `.` and `:` (Gemini CLI names
//! MCP tools `mcp_<server>_<tool>` with the server's own characters, and shortens long
//! names with `...`), and a Responses client may group tools in a `namespace` (Codex's
//! MCP servers and sub-agents), which no other dialect has.
//!
//! A name that does not fit is renamed: a namespace's tool is `<namespace>__<name>`,
//! other characters become `_`, and a name still longer than 64 characters, or one that
//! would clash with another tool's, keeps its first 55 characters and gets `_` and 8 hex
//! digits of a hash of the whole (FNV-1a), so the same tool has the same name on every
//! turn. The renames of a request are kept with it: history items are renamed alike, and
//! the calls in the answer get the client's name (and namespace) back. Names that fit,
//! outside a namespace, are not touched, and a request with only such tools keeps no
//! table.

use crate::protocol::anthropic::{Content, ContentBlock, MessagesRequest, ToolChoice};
use std::borrow::Cow;
use std::sync::Arc;

const MAX_LEN: usize = 64;
/// What a shortened name keeps of the original, before `_` and 8 hex digits.
const KEPT: usize = MAX_LEN - 9;

/// One request's renamed tools.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ToolNames {
    renamed: Vec<Renamed>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Renamed {
    upstream: String,
    client: String,
    namespace: Option<String>,
}

/// Whether every provider takes `name` as a tool name.
pub fn fits(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_LEN
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

impl ToolNames {
    /// The names the upstream gets for a request's tools, each a client name and its
    /// namespace, in order, and the table of the renames. A rename never takes a name
    /// that another tool keeps.
    pub fn declare_all(tools: &[(&str, Option<&str>)]) -> (Self, Vec<String>) {
        let taken: Vec<&str> = tools.iter().filter(|(n, ns)| ns.is_none() && fits(n)).map(|(n, _)| *n).collect();
        let mut names = ToolNames::default();
        let upstream = tools.iter().map(|(name, namespace)| names.declare(name, *namespace, &taken)).collect();
        (names, upstream)
    }

    /// The name the upstream gets for the client's tool `name` (in `namespace`), given
    /// the names the request's tools keep upstream (`taken`); the rename is remembered.
    fn declare(&mut self, name: &str, namespace: Option<&str>, taken: &[&str]) -> String {
        if namespace.is_none() && fits(name) {
            return name.to_string();
        }
        let mut upstream = renamed(name, namespace).into_owned();
        if taken.contains(&upstream.as_str()) || self.renamed.iter().any(|r| r.upstream == upstream) {
            upstream = shortened(&upstream, name, namespace);
        }
        if !self.renamed.iter().any(|r| r.client == name && r.namespace.as_deref() == namespace) {
            self.renamed.push(Renamed {
                upstream: upstream.clone(),
                client: name.to_string(),
                namespace: namespace.map(str::to_string),
            });
        }
        upstream
    }

    /// The name the upstream knows the client's tool `name` (in `namespace`) by, for a
    /// call in the history: as declared, or renamed alike when the request did not
    /// declare it.
    pub fn upstream<'a>(&'a self, name: &'a str, namespace: Option<&'a str>) -> Cow<'a, str> {
        match self.renamed.iter().find(|r| r.client == name && r.namespace.as_deref() == namespace) {
            Some(r) => Cow::Borrowed(&r.upstream),
            None if namespace.is_none() && fits(name) => Cow::Borrowed(name),
            None => renamed(name, namespace),
        }
    }

    /// The client's name and namespace for a tool the upstream called `upstream`.
    pub fn client<'a>(&'a self, upstream: &'a str) -> (&'a str, Option<&'a str>) {
        match self.renamed.iter().find(|r| r.upstream == upstream) {
            Some(r) => (&r.client, r.namespace.as_deref()),
            None => (upstream, None),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.renamed.is_empty()
    }
}

/// The table of `names`, or none when it renames nothing.
pub fn kept(names: ToolNames) -> Option<Arc<ToolNames>> {
    (!names.is_empty()).then(|| Arc::new(names))
}

/// Renames, in a canonical request, the tools whose names another provider would
/// refuse (longer than 64 characters, as Claude Code names some MCP tools, or with
/// characters such as Gemini CLI's `.`), with the calls of them in the history and a
/// forced choice of one. Returns the table that names the answer's calls back, or none
/// when every name fits (the usual case, which allocates nothing).
pub fn fit(req: &mut MessagesRequest) -> Option<Arc<ToolNames>> {
    let calls = || {
        req.messages.iter().flat_map(|m| match &m.content {
            Content::Blocks(blocks) => blocks.as_slice(),
            Content::Text(_) => &[],
        })
    };
    let all_fit = req.tools.iter().flatten().all(|t| fits(&t.name))
        && calls().all(|b| !matches!(b, ContentBlock::ToolUse { name, .. } if !fits(name)));
    if all_fit {
        return None;
    }
    let declared: Vec<(&str, Option<&str>)> = req.tools.iter().flatten().map(|t| (t.name.as_str(), None)).collect();
    let (names, upstream) = ToolNames::declare_all(&declared);
    for (tool, name) in req.tools.iter_mut().flatten().zip(upstream) {
        tool.name = name;
    }
    for message in &mut req.messages {
        if let Content::Blocks(blocks) = &mut message.content {
            for block in blocks {
                if let ContentBlock::ToolUse { name, .. } = block {
                    *name = names.upstream(name, None).into_owned();
                }
            }
        }
    }
    if let Some(ToolChoice::Tool { name, .. }) = &mut req.tool_choice {
        *name = names.upstream(name, None).into_owned();
    }
    kept(names)
}

/// Gives the calls of a canonical answer the client's names for their tools.
pub fn name_back(blocks: &mut [ContentBlock], names: &ToolNames) {
    for block in blocks {
        if let ContentBlock::ToolUse { name, .. } = block {
            let client = names.client(name).0;
            if client != name.as_str() {
                *name = client.to_string();
            }
        }
    }
}

/// `name` (in `namespace`) in the characters every provider takes, within 64.
fn renamed<'a>(name: &'a str, namespace: Option<&str>) -> Cow<'a, str> {
    let joined = match namespace {
        Some(ns) => Cow::Owned(format!("{ns}__{name}")),
        None => Cow::Borrowed(name),
    };
    if fits(&joined) {
        return joined;
    }
    let clean: String =
        joined.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '_' }).collect();
    if clean.is_empty() {
        return Cow::Owned(shortened("tool", name, namespace));
    }
    if clean.len() > MAX_LEN {
        return Cow::Owned(shortened(&clean, name, namespace));
    }
    Cow::Owned(clean)
}

/// `clean` cut to 55 characters, with `_` and the hash of the original name.
fn shortened(clean: &str, name: &str, namespace: Option<&str>) -> String {
    let hash = crate::translate::fnv1a(namespace.unwrap_or_default().bytes().chain([0]).chain(name.bytes()));
    let kept = clean.get(..KEPT).unwrap_or(clean);
    format!("{kept}_{:08x}", hash as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_fit_are_kept_and_others_renamed_and_named_back() {
        let mut names = ToolNames::default();
        assert_eq!(names.declare("read_file", None, &[]), "read_file");
        assert!(names.is_empty(), "nothing renamed, nothing kept");
        assert_eq!(names.declare("mcp_stub_get.status", None, &["read_file"]), "mcp_stub_get_status");
        assert_eq!(names.declare("shout", Some("mcp__echo"), &[]), "mcp__echo__shout");
        let long = "mcp_stub_a_really_long_tool_na...g_the_gateway_name_limits_here_and_more_and_more";
        let up = names.declare(long, None, &[]);
        assert_eq!(up.len(), 64);
        assert!(up.starts_with("mcp_stub_a_really_long_tool_na___g_the_gateway_name_lim_"), "{up}");
        assert!(fits(&up));
        assert_eq!(names.client("mcp_stub_get_status"), ("mcp_stub_get.status", None));
        assert_eq!(names.client("mcp__echo__shout"), ("shout", Some("mcp__echo")));
        assert_eq!(names.client(&up), (long, None));
        assert_eq!(names.client("read_file"), ("read_file", None));
        // History names alike, declared or not.
        assert_eq!(names.upstream("shout", Some("mcp__echo")), "mcp__echo__shout");
        assert_eq!(names.upstream("other:tool", None), "other_tool");
        assert_eq!(names.upstream("read_file", None), "read_file");
        // The same tool gets the same name on the next request.
        let mut again = ToolNames::default();
        assert_eq!(again.declare(long, None, &[]), up);
    }

    #[test]
    fn a_rename_that_would_clash_gets_a_hash() {
        let mut names = ToolNames::default();
        let a = names.declare("get.status", None, &["get_status"]);
        assert_ne!(a, "get_status");
        assert!(a.starts_with("get_status_") && fits(&a), "{a}");
        let b = names.declare("get:status", None, &["get_status"]);
        assert_ne!(a, b);
        assert_eq!(names.client(&b), ("get:status", None));
        assert_eq!(names.declare("", None, &[]).len(), 13, "an empty name gets one");
    }
}
