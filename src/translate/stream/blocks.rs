//! Content-block bookkeeping for decoders of dialects whose streams carry no block
//! boundaries (Chat, Gemini): text, thinking and tool calls arrive as deltas, and the
//! canonical stream needs each run of one kind framed by a start and a stop event with
//! its own index.

use crate::protocol::anthropic::{ContentBlock, StreamEvent};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BlockKind {
    Text,
    Thinking,
    Tool,
}

/// Numbers blocks in order and remembers the open one.
#[derive(Debug, Default)]
pub(crate) struct Blocks {
    open: Option<(BlockKind, usize)>,
    next: usize,
}

impl Blocks {
    /// The open block's index when it is of `kind`.
    pub fn open_of(&self, kind: BlockKind) -> Option<usize> {
        self.open.filter(|(k, _)| *k == kind).map(|(_, i)| i)
    }

    /// Makes a text or thinking block the open one, closing a block of another kind
    /// and starting an empty one as needed; returns its index.
    pub fn ensure(&mut self, kind: BlockKind, out: &mut Vec<StreamEvent>) -> usize {
        if let Some(index) = self.open_of(kind) {
            return index;
        }
        let block = match kind {
            BlockKind::Thinking => ContentBlock::Thinking { thinking: String::new(), signature: String::new() },
            BlockKind::Text | BlockKind::Tool => ContentBlock::text(""),
        };
        self.start(kind, block, out)
    }

    /// Closes the open block and starts `block` as the next one; returns its index.
    pub fn start(&mut self, kind: BlockKind, block: ContentBlock, out: &mut Vec<StreamEvent>) -> usize {
        self.close(out);
        let index = self.next;
        self.next += 1;
        out.push(StreamEvent::ContentBlockStart { index, content_block: block });
        self.open = Some((kind, index));
        index
    }

    /// Closes the open block and sets `n` indexes aside, for blocks the caller writes
    /// whole; returns the first.
    pub fn reserve(&mut self, n: usize, out: &mut Vec<StreamEvent>) -> usize {
        self.close(out);
        let index = self.next;
        self.next += n;
        index
    }

    pub fn close(&mut self, out: &mut Vec<StreamEvent>) {
        if let Some((_, index)) = self.open.take() {
            out.push(StreamEvent::ContentBlockStop { index });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(events: &[StreamEvent]) -> Vec<String> {
        events
            .iter()
            .map(|e| match e {
                StreamEvent::ContentBlockStart { index, content_block } => {
                    format!("start {index} {}", serde_json::to_value(content_block).unwrap()["type"])
                }
                StreamEvent::ContentBlockStop { index } => format!("stop {index}"),
                other => format!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn runs_of_one_kind_share_a_block_and_a_new_kind_closes_the_open_one() {
        let mut b = Blocks::default();
        let mut out = Vec::new();
        assert_eq!(b.ensure(BlockKind::Thinking, &mut out), 0);
        assert_eq!(b.ensure(BlockKind::Thinking, &mut out), 0);
        assert_eq!(b.ensure(BlockKind::Text, &mut out), 1);
        assert_eq!(b.open_of(BlockKind::Text), Some(1));
        assert_eq!(b.open_of(BlockKind::Thinking), None);
        let tool = ContentBlock::ToolUse {
            id: "t".into(),
            name: "n".into(),
            input: serde_json::json!({}),
            cache_control: None,
        };
        assert_eq!(b.start(BlockKind::Tool, tool, &mut out), 2);
        assert_eq!(b.ensure(BlockKind::Text, &mut out), 3);
        b.close(&mut out);
        b.close(&mut out);
        assert_eq!(
            kinds(&out),
            [
                "start 0 \"thinking\"",
                "stop 0",
                "start 1 \"text\"",
                "stop 1",
                "start 2 \"tool_use\"",
                "stop 2",
                "start 3 \"text\"",
                "stop 3"
            ]
        );
    }
}
