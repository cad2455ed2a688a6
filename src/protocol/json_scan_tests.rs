use super::*;
use serde::de::IgnoredAny;

/// Documents of the shapes the scanner meets: every kind of value, escapes of every
/// kind, nesting, whitespace, UTF-8.
pub(crate) const SAMPLES: &[&str] = &[
    r#"{"model":"claude-sonnet-4-5","max_tokens":1024,"stream":true,"messages":[{"role":"user","content":"hi"}]}"#,
    r#"{"a":[1,-2,3.5,-0.25e-3,4E+2,0,-0],"b":{"c":[true,false,null],"d":{}},"e":[],"f":"x\"y\\z\/\b\f\n\r\t\u00e9\uD83D\uDE00"}"#,
    "{ \"model\" : \"m\" ,\n\t\"metadata\": {\"user_id\": \"u\\u0031\", \"x\": [ {\"y\": null} ]},\r\n \"stream\": null }",
    r#"{"messages":[{"role":"assistant","content":[{"type":"tool_use","id":"t","name":"f","input":{"q":"é漢字 😀"}}]}],"model":"a\"b"}"#,
    r#"[[[{"k":[["v"]]}]],"tail",12e3]"#,
    r#"{"text":"fn main() {\n    println!(\"héllo, {}\", name);\n}\n// a line longer than sixteen bytes\t\u2028 end"}"#,
    // Past its first escape a string is read 64 bytes at a time: escapes, runs of
    // backslashes and a \u escape fall on both sides of those blocks' edges.
    r#"["x\n0123456789abcdef0123456789abcdef0123456789abcdef0123456\\\\\"quoted\\\" 0123456789abcdef0123456789abcdef0123456789\u00e9abcdef\/\b\f\r\t0123456789abcdef0123456789abcdef0123456789abcdef end", 1]"#,
    r#""a plain string""#,
    "-12.5e+7",
];

/// `sample` broken in every way one byte can break it: cut short, each byte deleted,
/// replaced by or preceded by bytes that matter to JSON's grammar.
pub(crate) fn mutations(sample: &[u8]) -> Vec<Vec<u8>> {
    const BYTES: &[u8] = b"\"\\{}[],:0-.eEtn u\n\x01\x1f\xff";
    let mut out = Vec::new();
    for i in 0..=sample.len() {
        out.push(sample[..i].to_vec());
        if i < sample.len() {
            let mut deleted = sample.to_vec();
            deleted.remove(i);
            out.push(deleted);
        }
        for &b in BYTES {
            if i < sample.len() {
                let mut replaced = sample.to_vec();
                replaced[i] = b;
                out.push(replaced);
            }
            let mut inserted = sample.to_vec();
            inserted.insert(i, b);
            out.push(inserted);
        }
    }
    out
}

/// A deterministic stream of numbers below each bound asked for (xorshift), for tests
/// that build random documents.
pub(crate) fn random(mut seed: u64) -> impl FnMut(usize) -> usize {
    move |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    }
}

#[test]
fn every_sample_is_read_to_its_end() {
    for sample in SAMPLES {
        assert!(one_value(sample.as_bytes()), "{sample}");
        assert!(serde_json::from_str::<IgnoredAny>(sample).is_ok(), "{sample}");
    }
}

#[test]
fn what_the_scanner_accepts_serde_json_accepts_at_every_broken_byte() {
    let mut accepted = 0;
    let mut total = 0;
    for sample in SAMPLES {
        for doc in mutations(sample.as_bytes()) {
            total += 1;
            if one_value(&doc) {
                accepted += 1;
                assert!(serde_json::from_slice::<IgnoredAny>(&doc).is_ok(), "{}", String::from_utf8_lossy(&doc));
            }
        }
    }
    // Many changes keep a document valid (a digit for a digit, a space more), so the
    // property is checked on both sides of the line.
    assert!(accepted > 1000 && total - accepted > 1000, "{accepted} of {total}");
}

#[test]
fn syntax_errors_are_refused() {
    for doc in [
        "",
        " ",
        "{",
        "}",
        "[1,]",
        "[,1]",
        r#"{"a":1,}"#,
        r#"{"a"}"#,
        r#"{"a" 1}"#,
        r#"{1:2}"#,
        "01",
        "1.",
        ".5",
        "-",
        "1e",
        "1e+",
        "+1",
        "tru",
        "nul",
        "True",
        r#""\x""#,
        r#""\u12G4""#,
        r#""\u123""#,
        "\"a\nb\"",
        "\"a\x01\"",
        r#""abc"#,
        r#"["a"  "b"]"#,
        "[1 2]",
        "{} {}",
        "[1]]",
    ] {
        assert!(!one_value(doc.as_bytes()), "{doc:?}");
        assert!(serde_json::from_str::<IgnoredAny>(doc).is_err(), "{doc:?}");
    }
}

#[test]
fn strings_report_their_inside_and_escapes() {
    let doc = br#" "plain" , "a\"b" "#;
    let mut s = Scanner::new(doc);
    let plain = s.string().unwrap();
    assert_eq!((s.slice(plain).unwrap(), plain.escaped), (&b"plain"[..], false));
    s.eat(b',').unwrap();
    let escaped = s.string().unwrap();
    assert_eq!((s.slice(escaped).unwrap(), escaped.escaped), (&br#"a\"b"#[..], true));
    assert!(s.at_end());
}

#[test]
fn nesting_past_the_limit_is_left_to_serde_json() {
    let depth = MAX_DEPTH as usize;
    let at_limit = format!("{}1{}", "[".repeat(depth), "]".repeat(depth));
    assert!(one_value(at_limit.as_bytes()));
    let past = format!("{}1{}", "[".repeat(depth + 1), "]".repeat(depth + 1));
    assert!(!one_value(past.as_bytes()));
    assert!(serde_json::from_str::<IgnoredAny>(&past).is_ok());
}

#[test]
fn the_first_special_byte_is_found_at_every_offset() {
    // Past the first sixteen bytes, 64 at a time, then sixteen, then one by one.
    for len in 0..180 {
        let plain = vec![b'a'; len];
        assert_eq!(next_special(&plain), None, "{len}");
        for at in 0..len {
            for special in [b'"', b'\\', 0x00, 0x1f] {
                let mut s = plain.clone();
                s[at] = special;
                if at + 1 < len {
                    s[len - 1] = b'"';
                }
                assert_eq!(next_special(&s), Some(at), "{len} {at} {special}");
            }
            let mut s = plain.clone();
            s[at] = 0x20;
            assert_eq!(next_special(&s), None);
        }
    }
}

/// A string whose first escape puts it in 64-byte blocks, then `gap` plain bytes, a run
/// of `run` backslashes and `after`: every alignment of a run against a block's edge.
#[test]
fn escapes_are_read_exactly_across_block_edges() {
    for gap in 0..140 {
        for run in 1..=5 {
            for after in ["\"", "n", "u0041", "u00G1", "a", "\u{1}"] {
                let doc = format!(
                    "[\"\\n{}{}{} tail of the string, long enough to fill a block\", 2]",
                    "a".repeat(gap),
                    "\\".repeat(run),
                    after
                );
                let serde = serde_json::from_str::<IgnoredAny>(&doc).is_ok();
                assert_eq!(one_value(doc.as_bytes()), serde, "{doc:?}");
            }
        }
    }
}

/// Arrays of strings made of random pieces, valid and not: for these the scanner
/// leaves nothing to serde_json, so the two must agree on every one.
#[test]
fn random_strings_are_judged_as_serde_json_judges_them() {
    const VALID: &[&str] =
        &["a", "abcdefghijklmnopqrstuvwxyz0123456789", "é漢", "\\n", "\\\\", "\\\"", "\\u00e9", "\\uD83D", "\\/", " "];
    const INVALID: &[&str] = &["\\", "\"", "\u{1}", "\t", "\\x", "\\u12"];
    let mut next = random(0x9e37_79b9_7f4a_7c15);
    let (mut valid, mut total) = (0, 0);
    for _ in 0..20_000 {
        let mut doc = String::from("[");
        for i in 0..1 + next(3) {
            if i > 0 {
                doc.push(',');
            }
            doc.push('"');
            for _ in 0..next(40) {
                let piece = if next(60) == 0 { INVALID[next(INVALID.len())] } else { VALID[next(VALID.len())] };
                doc.push_str(piece);
            }
            doc.push('"');
        }
        doc.push(']');
        let serde = serde_json::from_str::<IgnoredAny>(&doc).is_ok();
        assert_eq!(one_value(doc.as_bytes()), serde, "{doc:?}");
        valid += usize::from(serde);
        total += 1;
    }
    assert!(valid > 1000 && total - valid > 1000, "{valid} of {total}");
}
