//! Line locator: finds where a key path or a list value sits in a rule file's text.
//!
//! serde_norway values carry no positions, and sigma-rust reports its semantic errors at line 1, so
//! `check` scans the text itself. The scan is indentation-aware and only runs for findings (the rare
//! path), so it costs nothing on clean rules.

/// One meaningful line: 1-based number, column of its key (0-based), the key, the text after `:`.
struct KeyLine<'a> {
    number: usize,
    indent: usize,
    key: Option<&'a str>,
    rest: &'a str,
}

fn lines_of(text: &str, first: usize, last: Option<usize>) -> impl Iterator<Item = (usize, &str)> {
    text.split('\n')
        .enumerate()
        .map(|(i, l)| (i + 1, l.strip_suffix('\r').unwrap_or(l)))
        .skip(first.saturating_sub(1))
        .take_while(move |(n, _)| last.is_none_or(|end| *n <= end))
}

/// Splits a line into indentation, optional `- ` list markers and `key: rest`.
fn parse_line(number: usize, line: &str) -> Option<KeyLine<'_>> {
    let trimmed = line.trim_start_matches([' ', '\t']);
    if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with("---") {
        return None;
    }
    let mut indent = line.len() - trimmed.len();
    let mut body = trimmed;
    while let Some(after) = body
        .strip_prefix("- ")
        .or_else(|| (body == "-").then_some(""))
    {
        let t = after.trim_start_matches(' ');
        indent += body.len() - t.len();
        body = t;
    }
    let (key, rest) = split_key(body);
    Some(KeyLine {
        number,
        indent,
        key,
        rest: if key.is_some() { rest } else { body },
    })
}

/// `'a|b': x` / `"a": x` / `a: x` -> (key, rest); `None` when the line is a plain value.
fn split_key(body: &str) -> (Option<&str>, &str) {
    if let Some(q) = body.chars().next().filter(|c| *c == '\'' || *c == '"') {
        if let Some(end) = body[1..].find(q) {
            let after = &body[end + 2..];
            if let Some(rest) = after.trim_start().strip_prefix(':') {
                return (Some(&body[1..end + 1]), rest);
            }
        }
        return (None, body);
    }
    // A key ends at the first `: ` or a final `:`; flow collections and quoted values have none
    // before their own colons in practice.
    let bytes = body.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b == b':' && (i + 1 == bytes.len() || bytes[i + 1] == b' ' || bytes[i + 1] == b'\t') {
            return (Some(body[..i].trim_end()), &body[i + 1..]);
        }
        if matches!(b, b'{' | b'[' | b'#') && i == 0 {
            break;
        }
    }
    (None, body)
}

/// 1-based (line, column) of the key at `path` (e.g. `["detection", "selection",
/// "CommandLine|contains"]`) in the document that starts at `document_line` and ends at `end_line`.
///
/// Each path step is searched among the lines nested deeper than the previous step's key, so a
/// `selection` key under `detection` is not confused with one elsewhere. Block scalars (`|`, `>`)
/// are skipped.
pub fn key_line(
    text: &str,
    document_line: usize,
    end_line: Option<usize>,
    path: &[&str],
) -> Option<(usize, usize)> {
    let mut parent_indent: Option<usize> = None;
    let mut step = 0;
    let mut block_scalar: Option<usize> = None;
    for (n, raw) in lines_of(text, document_line, end_line) {
        let Some(kl) = parse_line(n, raw) else {
            continue;
        };
        if let Some(b) = block_scalar {
            if kl.indent > b {
                continue;
            }
            block_scalar = None;
        }
        if parent_indent.is_some_and(|p| kl.indent <= p) {
            // Left the parent's block without finding the next step.
            return None;
        }
        let rest = kl.rest.trim_start();
        if kl.key.is_some() && (rest.starts_with('|') || rest.starts_with('>')) {
            block_scalar = Some(kl.indent);
        }
        let at_level = parent_indent.map_or(kl.indent == 0, |p| kl.indent > p);
        if at_level && kl.key == Some(path[step]) {
            parent_indent = Some(kl.indent);
            step += 1;
            if step == path.len() {
                return Some((kl.number, kl.indent + 1));
            }
        }
    }
    None
}

/// 1-based (line, column) of `value` inside the block of the key at `path` (a list item such as a
/// tag, in block or flow style); falls back to the key's line.
pub fn value_line(
    text: &str,
    document_line: usize,
    end_line: Option<usize>,
    path: &[&str],
    value: &str,
) -> Option<(usize, usize)> {
    let (line, col) = key_line(text, document_line, end_line, path)?;
    let key_indent = col - 1;
    for (n, raw) in lines_of(text, line, end_line) {
        if n > line {
            let t = raw.trim_start();
            if t.is_empty() || t.starts_with('#') {
                continue;
            }
            let indent = raw.len() - t.len();
            // Block lists may sit at the key's own indentation (`tags:\n- a`).
            if indent < key_indent || (indent == key_indent && !t.starts_with('-')) {
                break;
            }
        }
        let start = if n == line { col - 1 } else { 0 };
        if let Some(pos) = find_token(&raw[start.min(raw.len())..], value) {
            return Some((n, start + pos + 1));
        }
    }
    Some((line, col))
}

/// Position of `value` in `s` as a whole token (not a prefix of a longer tag).
fn find_token(s: &str, value: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(p) = s[from..].find(value) {
        let at = from + p;
        let end = at + value.len();
        let before_ok = at == 0 || !is_token_char(s.as_bytes()[at - 1]);
        let after_ok = end == s.len() || !is_token_char(s.as_bytes()[end]);
        if before_ok && after_ok {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

fn is_token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-')
}

/// The text of a 1-based line, without its line ending.
pub fn line_text(text: &str, line: usize) -> Option<&str> {
    text.split('\n')
        .nth(line.checked_sub(1)?)
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULE: &str = "title: T\n# detection: not here\ndescription: |\n  detection:\n  selection:\nlogsource:\n  product: windows\ndetection:\n  filter:\n    Image: x\n  selection:\n    - 'CommandLine|contains': a\n    - ParentImage|endswith:\n        - b\n  condition: selection\ntags:\n  - attack.t1059\n  - attack.t1059.001\n";

    #[test]
    fn finds_nested_keys_with_real_lines() {
        assert_eq!(key_line(RULE, 1, None, &["detection"]), Some((8, 1)));
        assert_eq!(
            key_line(RULE, 1, None, &["detection", "selection"]),
            Some((11, 3))
        );
        assert_eq!(
            key_line(
                RULE,
                1,
                None,
                &["detection", "selection", "CommandLine|contains"]
            ),
            Some((12, 7))
        );
        assert_eq!(
            key_line(
                RULE,
                1,
                None,
                &["detection", "selection", "ParentImage|endswith"]
            ),
            Some((13, 7))
        );
        assert_eq!(
            key_line(RULE, 1, None, &["detection", "condition"]),
            Some((15, 3))
        );
        assert_eq!(key_line(RULE, 1, None, &["detection", "nope"]), None);
        assert_eq!(key_line(RULE, 1, None, &["logsource", "Image"]), None);
    }

    #[test]
    fn respects_document_bounds() {
        let t = format!("{RULE}---\n{RULE}");
        assert_eq!(key_line(&t, 19, None, &["detection"]), Some((27, 1)));
        assert_eq!(key_line(&t, 1, Some(18), &["detection"]), Some((8, 1)));
    }

    #[test]
    fn finds_list_values_as_whole_tokens() {
        assert_eq!(
            value_line(RULE, 1, None, &["tags"], "attack.t1059.001"),
            Some((18, 5))
        );
        assert_eq!(
            value_line(RULE, 1, None, &["tags"], "attack.t1059"),
            Some((17, 5))
        );
        let flow = "title: x\ntags: [attack.t1059, attack.execution]\nlevel: low\n";
        assert_eq!(
            value_line(flow, 1, None, &["tags"], "attack.execution"),
            Some((2, 22))
        );
        let same_indent = "tags:\n- a.b\n- c.d\nlevel: x\n";
        assert_eq!(
            value_line(same_indent, 1, None, &["tags"], "c.d"),
            Some((3, 3))
        );
        assert_eq!(
            value_line(same_indent, 1, None, &["tags"], "x.y"),
            Some((1, 1))
        );
    }

    #[test]
    fn line_text_strips_cr() {
        assert_eq!(line_text("a\r\nb\r\n", 2), Some("b"));
        assert_eq!(line_text("a", 0), None);
    }
}
