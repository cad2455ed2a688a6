//! Canonical requests → an Anthropic upstream: model, max_tokens default and cap,
//! thinking that fits, Anthropic's limits on sampling and structured output,
//! serialized without copying the request.

use super::TargetOptions;
use crate::protocol::anthropic::{
    Content, ContentBlock, Message, MessagesRequest, OutputConfig, Role, Tool, ToolChoice,
};

/// The Messages body for `req`, serialized in place: model, max_tokens, thinking,
/// sampling and `output_config` are set for this target for the serialization and
/// restored after, so a retry on another channel starts from the client's values, and
/// the conversation is not copied (only a structured output's schema is, when there is
/// one).
pub fn anthropic_body(req: &mut MessagesRequest, target: &TargetOptions, size_hint: usize) -> Vec<u8> {
    anthropic_body_held(req, target, size_hint, false)
}

/// [`anthropic_body`] for a conversation that was `held` with another provider family
/// (the session says so): every thinking block is left out, since signatures are valid
/// only where they were issued. Whatever the session says, thinking marked as another
/// family's (`sealed::tag`: what a Responses or Gemini client sent back) is left out,
/// and this family's goes up unmarked.
pub fn anthropic_body_held(req: &mut MessagesRequest, target: &TargetOptions, size_hint: usize, held: bool) -> Vec<u8> {
    let saved = (
        std::mem::replace(&mut req.model, target.model.clone()),
        req.max_tokens,
        req.thinking.clone(),
        req.temperature,
        req.top_p,
        req.output_config.take(),
        req.stop_sequences.take(),
    );
    req.output_config = saved.5.as_ref().and_then(anthropic_output_config);
    // Anthropic refuses a stop sequence of whitespace only; OpenAI takes `"\n\n"`.
    req.stop_sequences = saved.6.as_ref().map(|s| s.iter().filter(|s| !s.trim().is_empty()).cloned().collect());
    req.stop_sequences = req.stop_sequences.take().filter(|s: &Vec<String>| !s.is_empty());
    if let Some(t) = req.thinking.as_mut().filter(|t| t.kind == "adaptive" && !takes_adaptive_thinking(&target.model)) {
        t.kind = "enabled".into();
        t.budget_tokens = Some(ADAPTIVE_FALLBACK_BUDGET);
    }
    let max_tokens = effective_max_tokens(req, target);
    req.max_tokens = Some(max_tokens);
    // Thinking that another provider produced (a Gemini signature, or none at all)
    // would be refused, and a tool id carrying a Gemini signature is Gemini's alone; so
    // would an empty text block or an empty turn (an answer that said nothing, kept for
    // a Responses client, or a Chat client's `content: ""`). Only then is the history
    // copied: without them, and with the tool ids' base.
    // Thinking another family signed (marked so when it reached a client of another
    // dialect, `sealed::tag`) is foreign too; this family's goes up unmarked.
    let other_family = |sig: &str| super::sealed::untagged(sig).is_some_and(|(f, _)| f != target.family);
    let foreign = |b: &ContentBlock| match b {
        ContentBlock::Thinking { signature, .. } => {
            held || super::passthrough::gateway_signed(signature) || other_family(signature)
        }
        ContentBlock::RedactedThinking { data } => held || other_family(data),
        _ => false,
    };
    let marked = |b: &ContentBlock| match b {
        ContentBlock::Thinking { signature: s, .. } | ContentBlock::RedactedThinking { data: s } => {
            super::sealed::untagged(s).is_some()
        }
        _ => false,
    };
    // A block the gateway does not model (a server tool's, kept from an answer) has no
    // form to send: it would make the whole body unwritable. Web search blocks are
    // modelled, but some are the gateway's (`responses::web_search`), which Anthropic
    // refuses: a rewritten body drops them all, as it drops the other server tools'.
    let empty = |b: &ContentBlock| {
        matches!(b, ContentBlock::Other | ContentBlock::ServerToolUse { .. } | ContentBlock::WebSearchToolResult { .. })
            || matches!(b, ContentBlock::Text { text, .. } if text.is_empty())
    };
    let has_foreign = req.messages.iter().any(|m| matches!(&m.content, Content::Blocks(b) if b.iter().any(foreign)));
    let rewrite = has_foreign
        || req.messages.iter().any(|m| match &m.content {
            Content::Blocks(b) => b.is_empty() || b.iter().any(|x| signed_tool_id(x) || empty(x) || marked(x)),
            Content::Text(t) => t.is_empty(),
        });
    let saved_messages = rewrite.then(|| {
        let filtered = req
            .messages
            .iter()
            .filter_map(|m| match &m.content {
                Content::Blocks(b) => {
                    let kept: Vec<ContentBlock> =
                        b.iter().filter(|x| !foreign(x) && !empty(x)).map(with_base_tool_id).map(unmarked).collect();
                    // Anthropic joins the turns around a dropped one when they share a role.
                    (!kept.is_empty()).then_some(Message { role: m.role, content: Content::Blocks(kept) })
                }
                Content::Text(t) => (!t.is_empty()).then(|| m.clone()),
            })
            .collect();
        std::mem::replace(&mut req.messages, filtered)
    });
    // Extended thinking needs the last assistant turn that called tools to start with
    // its thinking, as Anthropic returned it; Chat clients do not send it back, and
    // Anthropic would answer 400. Thinking goes off for such a request, as it does when
    // that turn lost thinking of another provider (the check reads the turns as sent).
    if req.thinking.is_some() && tool_turn_without_thinking(&req.messages) {
        req.thinking = None;
    }
    anthropic_sampling(req);
    let saved_search = if target.hosted_web_search { None } else { without_hosted_search(req) };
    let saved_tools = declare_called_tools(req);
    let marks = if target.prompt_caching { cache_breakpoints(req) } else { None };
    let body = super::error::to_json_sized(req, size_hint);
    if let Some(marks) = marks {
        marks.undo(req);
    }
    if let Some((tools, choice)) = saved_tools {
        (req.tools, req.tool_choice) = (tools, choice);
    }
    if let Some((tools, choice)) = saved_search {
        (req.tools, req.tool_choice) = (tools, choice);
    }
    if let Some(messages) = saved_messages {
        req.messages = messages;
    }
    (req.model, req.max_tokens, req.thinking, req.temperature, req.top_p, req.output_config, req.stop_sequences) =
        saved;
    body
}

/// Leaves out a hosted web search the channel does not run (`hosted_web_search`: a
/// server that speaks Anthropic's API without being Anthropic may refuse the tool, and
/// with it the request); a `tool_choice` that forced it leaves the choice to the model.
/// Returns what the request had, to be put back after the body is written.
fn without_hosted_search(req: &mut MessagesRequest) -> Option<(Option<Vec<Tool>>, Option<ToolChoice>)> {
    let tools = req.tools.as_ref()?;
    if !tools.iter().any(Tool::is_web_search) {
        return None;
    }
    let kept: Vec<Tool> = tools.iter().filter(|t| !t.is_web_search()).cloned().collect();
    let choice = match &req.tool_choice {
        Some(ToolChoice::Tool { name, disable_parallel_tool_use }) if !kept.iter().any(|t| &t.name == name) => {
            Some(ToolChoice::Auto { disable_parallel_tool_use: *disable_parallel_tool_use })
        }
        other => other.clone(),
    };
    let choice = choice.filter(|_| !kept.is_empty());
    let tools = (!kept.is_empty()).then_some(kept);
    Some((std::mem::replace(&mut req.tools, tools), std::mem::replace(&mut req.tool_choice, choice)))
}

/// Anthropic refuses `tool_use` and `tool_result` blocks in a request that declares no
/// tools; a client may send its history without them (Codex asks for a summary of its
/// conversation so). The tools the history calls are declared, with any input, and
/// `tool_choice: none` keeps the model from calling them. Returns what the request had,
/// to be put back after the body is written.
fn declare_called_tools(req: &mut MessagesRequest) -> Option<(Option<Vec<Tool>>, Option<ToolChoice>)> {
    if req.tools.as_ref().is_some_and(|t| !t.is_empty()) {
        return None;
    }
    let mut names: Vec<&str> = Vec::new();
    for message in &req.messages {
        if let Content::Blocks(blocks) = &message.content {
            for block in blocks {
                if let ContentBlock::ToolUse { name, .. } = block {
                    if !names.contains(&name.as_str()) {
                        names.push(name);
                    }
                }
            }
        }
    }
    if names.is_empty() {
        return None;
    }
    let tools = names
        .into_iter()
        .map(|name| Tool {
            kind: None,
            name: name.to_string(),
            description: Some("A tool called earlier in this conversation.".into()),
            input_schema: Some(crate::protocol::RawJson::empty_object_schema()),
            ..Default::default()
        })
        .collect();
    Some((req.tools.replace(tools), req.tool_choice.replace(ToolChoice::None)))
}

/// What `cache_breakpoints` changed, to be put back after the body is written (a retry on
/// another channel starts from the client's request). Nothing is copied: a string
/// content that was made one marked block goes back to being a string.
struct Marks {
    tool: bool,
    system: Option<Mark>,
    last_message: Option<Mark>,
}

#[derive(Clone, Copy)]
enum Mark {
    /// The content was a string, now one marked text block.
    WasText,
    /// The block at this index was marked.
    Block(usize),
}

impl Marks {
    fn undo(self, req: &mut MessagesRequest) {
        if let (true, Some(tool)) = (self.tool, req.tools.as_mut().and_then(|t| t.last_mut())) {
            tool.cache_control = None;
        }
        if let (Some(mark), Some(system)) = (self.system, req.system.as_mut()) {
            unmark(system, mark);
        }
        if let (Some(mark), Some(last)) = (self.last_message, req.messages.last_mut()) {
            unmark(&mut last.content, mark);
        }
    }
}

/// Anthropic caches a prompt's prefix only up to the breakpoints the request marks, where
/// OpenAI and Gemini cache prefixes by themselves: their clients mark none. A request
/// with no mark of its own gets three, as an agent's next request repeats its prefix:
/// after the tools, after the system prompt, and at the end of the conversation (the
/// next turn finds it by Anthropic's look back over earlier blocks). A prefix shorter
/// than the model's minimum (1024 tokens and up) is not cached, and costs nothing more.
fn cache_breakpoints(req: &mut MessagesRequest) -> Option<Marks> {
    let marked = |b: &ContentBlock| cache_control(b).is_some_and(|c| c.is_some());
    let in_content = |c: &Content| matches!(c, Content::Blocks(b) if b.iter().any(marked));
    if req.tools.iter().flatten().any(|t| t.cache_control.is_some())
        || req.system.as_ref().is_some_and(in_content)
        || req.messages.iter().any(|m| in_content(&m.content))
    {
        return None;
    }
    let mut marks = Marks { tool: false, system: None, last_message: None };
    if let Some(tool) = req.tools.as_mut().and_then(|t| t.last_mut()) {
        tool.cache_control = Some(ephemeral());
        marks.tool = true;
    }
    marks.system = req.system.as_mut().and_then(mark);
    marks.last_message = req.messages.last_mut().and_then(|m| mark(&mut m.content));
    Some(marks)
}

fn ephemeral() -> serde_json::Value {
    serde_json::json!({"type": "ephemeral"})
}

/// Marks the last block of `content` that takes a breakpoint.
fn mark(content: &mut Content) -> Option<Mark> {
    match content {
        Content::Text(text) if !text.is_empty() => {
            let text = std::mem::take(text);
            *content =
                Content::Blocks(vec![ContentBlock::Text { text, cache_control: Some(ephemeral()), citations: None }]);
            Some(Mark::WasText)
        }
        Content::Text(_) => None,
        Content::Blocks(blocks) => {
            let at = blocks.iter().rposition(|b| cache_control(b).is_some())?;
            *cache_control_mut(&mut blocks[at])? = Some(ephemeral());
            Some(Mark::Block(at))
        }
    }
}

fn unmark(content: &mut Content, mark: Mark) {
    match (mark, content) {
        (Mark::WasText, content) => {
            if let Content::Blocks(blocks) = content {
                if let Some(ContentBlock::Text { text, .. }) = blocks.pop() {
                    *content = Content::Text(text);
                }
            }
        }
        (Mark::Block(at), Content::Blocks(blocks)) => {
            if let Some(slot) = blocks.get_mut(at).and_then(cache_control_mut) {
                *slot = None;
            }
        }
        (Mark::Block(_), Content::Text(_)) => {}
    }
}

/// A block's `cache_control`, for the blocks that take one (by reference, shared or
/// mutable as the block is).
macro_rules! cache_control_of {
    ($block:expr) => {
        match $block {
            ContentBlock::Text { cache_control, .. }
            | ContentBlock::Image { cache_control, .. }
            | ContentBlock::Document { cache_control, .. }
            | ContentBlock::ToolUse { cache_control, .. }
            | ContentBlock::ToolResult { cache_control, .. } => Some(cache_control),
            _ => None,
        }
    };
}

fn cache_control(block: &ContentBlock) -> Option<&Option<serde_json::Value>> {
    cache_control_of!(block)
}

fn cache_control_mut(block: &mut ContentBlock) -> Option<&mut Option<serde_json::Value>> {
    cache_control_of!(block)
}

/// Whether a tool call or result names its call by an id that carries a Gemini
/// signature.
fn signed_tool_id(block: &ContentBlock) -> bool {
    match block {
        ContentBlock::ToolUse { id, .. } | ContentBlock::ToolResult { tool_use_id: id, .. } => {
            super::gemini::base_tool_id(id).len() != id.len()
        }
        _ => false,
    }
}

/// `block`, with its signature (or redacted data) unmarked (`sealed::tag`); only this
/// family's marked blocks are left by then.
fn unmarked(mut block: ContentBlock) -> ContentBlock {
    if let ContentBlock::Thinking { signature: s, .. } | ContentBlock::RedactedThinking { data: s } = &mut block {
        if let Some((_, bare)) = super::sealed::untagged(s) {
            *s = bare.to_string();
        }
    }
    block
}

/// `block`, with the base of a tool id that carries a Gemini signature.
fn with_base_tool_id(block: &ContentBlock) -> ContentBlock {
    let mut block = block.clone();
    if let ContentBlock::ToolUse { id, .. } | ContentBlock::ToolResult { tool_use_id: id, .. } = &mut block {
        let base = super::gemini::base_tool_id(id).len();
        id.truncate(base);
    }
    block
}

/// Anthropic's limits on sampling: temperature within 0–1, not together with `top_p`
/// (recent models refuse both), and neither with extended thinking.
fn anthropic_sampling(req: &mut MessagesRequest) {
    if req.thinking.as_ref().is_some_and(crate::protocol::anthropic::Thinking::is_on) {
        req.temperature = None;
        req.top_p = None;
    } else if let Some(t) = req.temperature {
        req.temperature = Some(t.clamp(0.0, 1.0));
        req.top_p = None;
    }
}

/// `output_config` as Anthropic takes it: a schema's `type` and `schema` only, and no
/// JSON mode without a schema (`output_format`).
fn anthropic_output_config(config: &OutputConfig) -> Option<OutputConfig> {
    let format = config.format.as_ref().and_then(super::output_format::for_anthropic);
    (format.is_some() || config.effort.is_some()).then(|| OutputConfig { effort: config.effort.clone(), format })
}

/// Whether the last assistant turn calls a tool without starting with a thinking block.
fn tool_turn_without_thinking(messages: &[Message]) -> bool {
    let Some(last) = messages.iter().rev().find(|m| m.role == Role::Assistant) else { return false };
    let Content::Blocks(blocks) = &last.content else { return false };
    blocks.iter().any(|b| matches!(b, ContentBlock::ToolUse { .. }))
        && !matches!(blocks.first(), Some(ContentBlock::Thinking { .. } | ContentBlock::RedactedThinking { .. }))
}

/// The budget adaptive thinking (a Gemini client's dynamic budget, or thoughts asked
/// for without one) gets on a model that does not take it.
pub(crate) const ADAPTIVE_FALLBACK_BUDGET: u32 = 8192;

/// Whether `model` takes `thinking: {type: "adaptive"}`: Claude 4.6 and later (Opus and
/// Sonnet 4.6 introduced it), and a Claude model whose version the name does not say.
/// Older Claude models, and the other models some servers serve over Anthropic's API,
/// take a budget (`enabled`) only. The version is the first one or two numbers under 100
/// in the name (`claude-sonnet-4-5-20250929` is 4.5, `claude-3-7-sonnet` 3.7,
/// `claude-sonnet-4-20250514` 4).
pub(crate) fn takes_adaptive_thinking(model: &str) -> bool {
    if !model.contains("claude") {
        return false;
    }
    let mut numbers = model.split(['-', '.', '@', '_']).filter_map(|p| p.parse::<u32>().ok()).filter(|n| *n < 100);
    match (numbers.next(), numbers.next()) {
        (None, _) => true,
        (Some(major), minor) => (major, minor.unwrap_or(0)) >= (4, 6),
    }
}

/// `max_tokens` for an Anthropic upstream (default, cap), with room for a thinking
/// budget. A client that gave no limit gets the default on top of the budget, so the
/// answer is not starved by the thinking. A budget that does not fit below the limit is
/// halved (Anthropic wants it below `max_tokens`), or thinking dropped when half is under
/// Anthropic's minimum of 1024.
fn effective_max_tokens(req: &mut MessagesRequest, target: &TargetOptions) -> u32 {
    let budget = req.thinking.as_ref().and_then(|t| t.budget_tokens).unwrap_or(0);
    let asked = req.max_tokens.unwrap_or_else(|| target.default_max_tokens.saturating_add(budget));
    let mut max_tokens = target.cap(asked);
    if budget >= max_tokens {
        match req.thinking.as_mut() {
            Some(t) if max_tokens / 2 >= 1024 => t.budget_tokens = Some(max_tokens / 2),
            _ => req.thinking = None,
        }
    }
    if max_tokens == 0 {
        max_tokens = 1;
    }
    max_tokens
}
