//! A JSON reader that checks syntax and lends spans without decoding, for reading a
//! few top-level members out of a large body that is otherwise passed on as it is.
//!
//! serde_json skips an ignored string eight bytes at a time, in integer registers, and
//! restarts at every escape: about four instructions a byte on a Claude Code request,
//! whose text is full of `\n` and `\"`. Here sixteen or 64 bytes are compared at a
//! time in vector registers (see [`Scanner::string`]).
//!
//! The reader accepts a subset of what serde_json accepts and answers `None` for
//! everything else, including documents that are valid but unusual (escaped keys, deep
//! nesting, 64 backslashes in a row): the caller then parses with serde_json, which decides and words the error.
//! The subset property is what the tests check, against serde_json, byte by byte.

/// Containers nested deeper than this are left to serde_json (its own limit is 128).
const MAX_DEPTH: u32 = 100;

/// A position in a JSON document.
pub(crate) struct Scanner<'a> {
    bytes: &'a [u8],
    pos: usize,
}

/// A string read by [`Scanner::string`]: the byte range of its inside (between the
/// quotes), and whether it holds an escape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StrSpan {
    pub start: usize,
    pub end: usize,
    pub escaped: bool,
}

impl StrSpan {
    /// The byte range of the string with its quotes.
    pub fn quoted(&self) -> std::ops::Range<usize> {
        self.start - 1..self.end + 1
    }
}

impl<'a> Scanner<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Scanner { bytes, pos: 0 }
    }

    /// Skips JSON whitespace and returns the next byte, not consumed.
    pub fn peek(&mut self) -> Option<u8> {
        while let Some(&b) = self.bytes.get(self.pos) {
            if !matches!(b, b' ' | b'\n' | b'\r' | b'\t') {
                return Some(b);
            }
            self.pos += 1;
        }
        None
    }

    /// Consumes `b` after whitespace.
    pub fn eat(&mut self, b: u8) -> Option<()> {
        (self.peek()? == b).then(|| self.pos += 1)
    }

    /// Whether only whitespace is left.
    pub fn at_end(&mut self) -> bool {
        self.peek().is_none()
    }

    /// Reads a string after whitespace. Up to its first escape the string is crossed
    /// sixteen bytes at a time, stopping at each quote, backslash or control character:
    /// most strings are short and end there. From the first escape on, 64 bytes at a time,
    /// with every escape of the block found at once (see [`escaped_by`]): text with a
    /// `\n` every line would otherwise stop at each.
    pub fn string(&mut self) -> Option<StrSpan> {
        self.eat(b'"')?;
        let start = self.pos;
        let mut escaped = false;
        loop {
            if escaped {
                if let Some(block) = self.bytes.get(self.pos..self.pos + 64) {
                    let block: &[u8; 64] = block.try_into().ok()?;
                    match self.block(block)? {
                        Some(end) => {
                            let end = self.pos + end;
                            self.pos = end + 1;
                            return Some(StrSpan { start, end, escaped });
                        }
                        None => continue,
                    }
                }
            }
            self.pos += next_special(self.bytes.get(self.pos..)?)?;
            match self.bytes.get(self.pos)? {
                b'"' => break,
                b'\\' => {}
                // Control characters must be escaped in a string.
                _ => return None,
            }
            escaped = true;
            self.escape()?;
        }
        let end = self.pos;
        self.pos += 1;
        Some(StrSpan { start, end, escaped })
    }

    /// Checks the escape at `pos` (a backslash) and steps over it.
    #[inline]
    fn escape(&mut self) -> Option<()> {
        self.pos += escape_len(self.bytes, self.pos)?;
        Some(())
    }

    /// 64 bytes of a string at `pos`, which is not inside an escape: the offset of the
    /// closing quote, or `None` (inner) with `pos` moved past what was checked.
    #[inline]
    fn block(&mut self, block: &[u8; 64]) -> Option<Option<usize>> {
        let m = Masks::of(block);
        // A run of backslashes at the end may escape the next block's first byte: the
        // next block starts at the run.
        let trailing = m.backslash.leading_ones();
        if trailing == 64 {
            // 64 backslashes in a row: valid, unusual, left to serde_json.
            return None;
        }
        let backslash = m.backslash & (u64::MAX >> trailing);
        let escapes = escaped_by(backslash);
        let quotes = m.quote & !escapes;
        let before = if quotes == 0 { u64::MAX >> trailing } else { (quotes & quotes.wrapping_neg()) - 1 };
        if m.control & before != 0 {
            return None;
        }
        let mut todo = escapes & before;
        while todo != 0 {
            // The escaped byte's backslash is the byte before it.
            let backslash_at = self.pos + todo.trailing_zeros() as usize - 1;
            todo &= todo - 1;
            escape_len(self.bytes, backslash_at)?;
        }
        if quotes != 0 {
            return Some(Some(quotes.trailing_zeros() as usize));
        }
        self.pos += 64 - trailing as usize;
        Some(None)
    }

    /// Reads an object key and the colon after it.
    pub fn key(&mut self) -> Option<StrSpan> {
        let key = self.string()?;
        self.eat(b':')?;
        Some(key)
    }

    /// Reads an object after whitespace, handing each member's name to `member`, which
    /// reads the value. A name with escapes is refused: serde_json would decode it before
    /// matching it. A name's UTF-8 is checked, as serde_json checks it (not so the strings
    /// it skips).
    pub fn object(&mut self, mut member: impl FnMut(&mut Self, &'a [u8]) -> Option<()>) -> Option<()> {
        self.eat(b'{')?;
        if self.eat(b'}').is_some() {
            return Some(());
        }
        loop {
            let key = self.key()?;
            if key.escaped {
                return None;
            }
            let name = self.slice(key)?;
            std::str::from_utf8(name).ok()?;
            member(self, name)?;
            if self.eat(b',').is_none() {
                return self.eat(b'}');
            }
        }
    }

    /// The bytes of a span.
    pub fn slice(&self, span: StrSpan) -> Option<&'a [u8]> {
        self.bytes.get(span.start..span.end)
    }

    /// Skips one value of any kind after whitespace. Containers are walked without
    /// recursion: `kinds` holds one bit per open container, set for an object.
    pub fn skip_value(&mut self) -> Option<()> {
        let mut kinds: u128 = 0;
        let mut depth: u32 = 0;
        loop {
            // A value starts here.
            match self.peek()? {
                open @ (b'{' | b'[') => {
                    self.pos += 1;
                    let close = if open == b'{' { b'}' } else { b']' };
                    if self.peek()? == close {
                        self.pos += 1;
                    } else {
                        depth += 1;
                        if depth > MAX_DEPTH {
                            return None;
                        }
                        kinds = (kinds << 1) | u128::from(open == b'{');
                        if open == b'{' {
                            self.key()?;
                        }
                        continue;
                    }
                }
                b'"' => {
                    self.string()?;
                }
                b't' => self.literal(b"true")?,
                b'f' => self.literal(b"false")?,
                b'n' => self.literal(b"null")?,
                _ => self.number()?,
            }
            // A value ended: close what it ends, or go on to the next member.
            loop {
                if depth == 0 {
                    return Some(());
                }
                let object = kinds & 1 == 1;
                match self.peek()? {
                    b',' => {
                        self.pos += 1;
                        if object {
                            self.key()?;
                        }
                        break;
                    }
                    b'}' if object => {}
                    b']' if !object => {}
                    _ => return None,
                }
                self.pos += 1;
                kinds >>= 1;
                depth -= 1;
            }
        }
    }

    /// Skips one value after whitespace and returns its text.
    pub fn raw_value(&mut self) -> Option<&'a [u8]> {
        let range = self.raw_range()?;
        self.bytes.get(range)
    }

    /// Skips one value after whitespace and returns the byte range of its text.
    pub fn raw_range(&mut self) -> Option<std::ops::Range<usize>> {
        self.peek()?;
        let start = self.pos;
        self.skip_value()?;
        Some(start..self.pos)
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        self.bytes.get(self.pos..)?.starts_with(word).then(|| self.pos += word.len())
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`
    fn number(&mut self) -> Option<()> {
        if self.bytes.get(self.pos) == Some(&b'-') {
            self.pos += 1;
        }
        match self.bytes.get(self.pos)? {
            b'0' => self.pos += 1,
            b'1'..=b'9' => self.digits()?,
            _ => return None,
        }
        if self.bytes.get(self.pos) == Some(&b'.') {
            self.pos += 1;
            self.digits()?;
        }
        if matches!(self.bytes.get(self.pos), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.bytes.get(self.pos), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            self.digits()?;
        }
        Some(())
    }

    /// One or more digits.
    fn digits(&mut self) -> Option<()> {
        let rest = self.bytes.get(self.pos..)?;
        let n = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        (n > 0).then(|| self.pos += n)
    }
}

/// Whether `body` is one JSON value, as far as the [`Scanner`] decides: `false` also for
/// what it leaves to serde_json.
pub(crate) fn one_value(body: &[u8]) -> bool {
    let mut s = Scanner::new(body);
    s.skip_value().is_some() && s.at_end()
}

/// The length of the escape sequence whose backslash is at `at` in `bytes`, when valid.
/// Always inlined: on a Claude Code request it runs for one byte in seventy.
#[inline(always)]
fn escape_len(bytes: &[u8], at: usize) -> Option<usize> {
    match ESCAPES[usize::from(*bytes.get(at + 1)?)] {
        2 => Some(2),
        6 if bytes.get(at + 2..at + 6)?.iter().all(u8::is_ascii_hexdigit) => Some(6),
        _ => None,
    }
}

/// The length of the escape a backslash followed by each byte starts: 2 for the
/// one-letter escapes, 6 for `\u` (whose four digits are checked apart), 0 for the
/// rest. A table, not a `match`: the `match` compiled to a jump through a table of
/// addresses, an indirect branch per escape.
const ESCAPES: [u8; 256] = {
    let mut table = [0; 256];
    let simple = b"\"\\/bfnrt";
    let mut i = 0;
    while i < simple.len() {
        table[simple[i] as usize] = 2;
        i += 1;
    }
    table[b'u' as usize] = 6;
    table
};

/// The text of the member `name` of the object that is the whole of `body`: `Some(None)`
/// when it has none, `None` when the [`Scanner`] leaves the body to serde_json (any
/// error, an escaped name, `name` given twice).
pub(crate) fn top_level_member<'a>(body: &'a [u8], name: &[u8]) -> Option<Option<&'a [u8]>> {
    let mut s = Scanner::new(body);
    let mut found = None;
    s.object(|s, member| {
        if member != name {
            return s.skip_value();
        }
        if found.is_some() {
            return None;
        }
        found = Some(s.raw_value()?);
        Some(())
    })?;
    s.at_end().then_some(found)
}

/// The offset of the first quote, backslash or control character in `s`, the bytes
/// that end a run of plain text in a string. Sixteen bytes are compared at a time (SSE2
/// on x86-64, NEON on ARM): the first sixteen alone, where most strings end, then 64 at a
/// time with one test for the four compares, then sixteen and the last few one by one.
fn next_special(s: &[u8]) -> Option<usize> {
    let mut offset = 0;
    if let Some(first) = s.get(..16) {
        let mask = special16(first.try_into().ok()?).to_bitmask();
        if mask != 0 {
            return Some(mask.trailing_zeros() as usize);
        }
        offset = 16;
    }
    while let Some(block) = s.get(offset..offset + 64) {
        let mut lanes = [wide::u8x16::ZERO; 4];
        for (lane, bytes) in lanes.iter_mut().zip(block.chunks_exact(16)) {
            *lane = special16(bytes.try_into().ok()?);
        }
        if ((lanes[0] | lanes[1]) | (lanes[2] | lanes[3])).to_bitmask() != 0 {
            let (i, mask) = lanes.iter().map(|l| l.to_bitmask()).enumerate().find(|&(_, m)| m != 0)?;
            return Some(offset + 16 * i + mask.trailing_zeros() as usize);
        }
        offset += 64;
    }
    let mut chunks = s.get(offset..)?.chunks_exact(16);
    for chunk in &mut chunks {
        let mask = special16(chunk.try_into().ok()?).to_bitmask();
        if mask != 0 {
            return Some(offset + mask.trailing_zeros() as usize);
        }
        offset += 16;
    }
    let tail = chunks.remainder();
    tail.iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20).map(|i| offset + i)
}

/// All ones in the lanes of `bytes` that hold a quote, a backslash or a control
/// character.
#[inline]
fn special16(bytes: [u8; 16]) -> wide::u8x16 {
    let [quote, backslash, control] = compare16(bytes);
    quote | backslash | control
}

/// One bit per byte of a 64-byte block.
struct Masks {
    quote: u64,
    backslash: u64,
    control: u64,
}

impl Masks {
    #[inline]
    fn of(block: &[u8; 64]) -> Masks {
        let mut m = Masks { quote: 0, backslash: 0, control: 0 };
        for (i, lane) in block.chunks_exact(16).enumerate() {
            let [quote, backslash, control] = compare16(lane.try_into().unwrap_or([0; 16]));
            let shift = 16 * i;
            m.quote |= u64::from(quote.to_bitmask()) << shift;
            m.backslash |= u64::from(backslash.to_bitmask()) << shift;
            m.control |= u64::from(control.to_bitmask()) << shift;
        }
        m
    }
}

/// Sixteen bytes compared with a quote, a backslash and the control characters: all
/// ones in the lanes that match.
#[inline]
fn compare16(bytes: [u8; 16]) -> [wide::u8x16; 3] {
    use wide::u8x16;
    let v = u8x16::new(bytes);
    [v.simd_eq(u8x16::splat(b'"')), v.simd_eq(u8x16::splat(b'\\')), v.min(u8x16::splat(0x1f)).simd_eq(v)]
}

const EVEN: u64 = 0x5555_5555_5555_5555;

/// The bytes escaped by a backslash: the one after each run of backslashes of odd
/// length (no run may reach the last bit). Adding a run's first bit to the mask carries
/// to the bit after the run; the run's length is odd when that bit's parity differs
/// from the first's.
#[inline]
fn escaped_by(backslash: u64) -> u64 {
    let starts = backslash & !(backslash << 1);
    let even_ends = backslash.wrapping_add(starts & EVEN) & !backslash;
    let odd_ends = backslash.wrapping_add(starts & !EVEN) & !backslash;
    (even_ends & !EVEN) | (odd_ends & EVEN)
}

#[cfg(test)]
#[path = "json_scan_tests.rs"]
mod tests;

#[cfg(test)]
pub(crate) use tests::{mutations, random, SAMPLES};
