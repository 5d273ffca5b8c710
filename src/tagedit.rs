//! In-place rewriting of a Sigma rule's `tags:` list, keeping everything else byte for byte.
//!
//! `migrate` and `check --fix` change tags in files people maintain by hand, so a YAML round trip
//! (which drops comments, quoting and key order) is not acceptable. This module edits the text: it
//! finds the top-level `tags:` key of one document, reuses each old item's line as the template
//! for the tag that replaces it (indentation, quote style, trailing comment, line ending), and
//! then re-parses the result to prove that only `tags` changed. Anything it cannot edit safely
//! (nested or multi-line items, anchors, a document that is not a block mapping) is an error, never
//! a guess.

use serde_norway::Value;
use std::path::Path;

/// Why a tag list could not be rewritten; the file must be left untouched.
#[derive(Debug, thiserror::Error)]
pub enum TagEditError {
    /// `document_line` is outside the text.
    #[error("no YAML document starts at line {0}")]
    NoSuchDocument(usize),
    /// The text is not valid YAML before the edit; nothing is rewritten in a file that does not parse.
    #[error("file is not valid YAML, not editing it: {}", crate::output::one_line(&.0.to_string()))]
    NotYaml(#[source] serde_norway::Error),
    /// The `tags` value has a shape this editor does not rewrite (message says which).
    #[error("line {line}: cannot rewrite tags safely: {reason}")]
    Unsupported { line: usize, reason: String },
    /// The edited text did not parse back to the requested tags with everything else unchanged.
    #[error("edit not applied: the result did not verify: {0}")]
    Verification(String),
}

/// Why the tag edits of one file were not applied.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// A symlinked rule is never edited: writing would replace the link with a copy, and the
    /// link may lead out of the repository (its content is not even read).
    #[error("is a symbolic link; not editing through it (edit the file it points to)")]
    Symlink,
    #[error("reading: {0}")]
    Read(#[source] crate::input::ReadError),
    #[error(transparent)]
    Edit(#[from] TagEditError),
    #[error("writing: {0}")]
    Write(#[source] std::io::Error),
}

/// One document's new tag list: the document's 1-based first line (as `RuleRecord::line`).
#[derive(Debug, Clone, Copy)]
pub struct DocEdit<'a> {
    pub line: usize,
    pub tags: &'a [String],
}

/// A file's text before and after its tag edits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub old: String,
    pub new: String,
}

impl Applied {
    pub fn changed(&self) -> bool {
        self.old != self.new
    }

    /// The unified diff of the edit, headed with `label`; empty when nothing changed.
    pub fn diff(&self, label: &str) -> String {
        unified_diff(label, &self.old, &self.new)
    }
}

/// The one way tag edits reach a file (`check --fix`, `migrate`): read it, apply every document's
/// edit (later documents first, so earlier start lines stay valid), each verified by
/// [`rewrite_tags`], then, when `write` is set and something changed, write it atomically with the
/// file's permissions. Any failure leaves the file untouched; a symlink is refused before reading.
pub fn apply_edits(path: &Path, edits: &[DocEdit<'_>], write: bool) -> Result<Applied, ApplyError> {
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(ApplyError::Symlink);
    }
    let old = crate::input::read_text_capped(path, crate::input::DEFAULT_CAP)
        .map_err(ApplyError::Read)?;
    let mut sorted = edits.to_vec();
    sorted.sort_by_key(|e| std::cmp::Reverse(e.line));
    let mut new = old.clone();
    for e in sorted {
        new = rewrite_tags(&new, e.line, e.tags)?;
    }
    let applied = Applied { old, new };
    if write && applied.changed() {
        crate::output::write_atomic(path, applied.new.as_bytes()).map_err(ApplyError::Write)?;
    }
    Ok(applied)
}

/// Keys that conventionally precede `tags` in a Sigma rule; a missing `tags:` goes after the last
/// of these (before `logsource`/`detection` in a conventionally ordered rule).
const KEYS_BEFORE_TAGS: &[&str] = &[
    "title",
    "id",
    "name",
    "related",
    "taxonomy",
    "status",
    "description",
    "license",
    "references",
    "author",
    "date",
    "modified",
];

/// Replaces the `tags:` list of the YAML document starting at `document_line` (1-based, as
/// `RuleRecord::line`) with `new_tags`, in place. Returns the whole new text (equal to `text` when
/// nothing changes). A leading byte-order mark is kept.
pub fn rewrite_tags(
    text: &str,
    document_line: usize,
    new_tags: &[String],
) -> Result<String, TagEditError> {
    // The YAML parser rejects a BOM before a document that does not start on line 1; edit the
    // text after it and put it back.
    if let Some(rest) = text.strip_prefix('\u{feff}') {
        return rewrite_tags(rest, document_line, new_tags).map(|out| format!("\u{feff}{out}"));
    }
    let lines = split_lines(text);
    if document_line == 0 || document_line > lines.len().max(1) {
        return Err(TagEditError::NoSuchDocument(document_line));
    }
    let before = parse_all(text).map_err(TagEditError::NotYaml)?;
    let (start, end) = document_range(&lines, document_line - 1);
    let default_eol = if text.contains("\r\n") { "\r\n" } else { "\n" };

    let out_lines = match find_key(&lines, start, end, "tags") {
        Some(key_idx) => edit_existing(&lines, key_idx, end, new_tags, default_eol)?,
        None => insert_new(&lines, start, end, new_tags, default_eol),
    };
    let out: String = out_lines.concat();
    if out == text {
        return Ok(out);
    }
    verify(&before, &out, new_tags)?;
    Ok(out)
}

/// One physical line: content without terminator, and the terminator (`\n`, `\r\n` or empty).
#[derive(Debug, Clone, Copy)]
struct Line<'a> {
    body: &'a str,
    eol: &'a str,
}

fn split_lines(text: &str) -> Vec<Line<'_>> {
    let mut out = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        match rest.find('\n') {
            Some(i) => {
                let (raw, tail) = rest.split_at(i + 1);
                let (body, eol) = match raw.strip_suffix("\r\n") {
                    Some(b) => (b, "\r\n"),
                    None => (&raw[..raw.len() - 1], "\n"),
                };
                out.push(Line { body, eol });
                rest = tail;
            }
            None => {
                out.push(Line {
                    body: rest,
                    eol: "",
                });
                rest = "";
            }
        }
    }
    out
}

/// The line body with a leading byte-order mark removed (only the first line can carry one).
fn body_of<'a>(lines: &[Line<'a>], i: usize) -> &'a str {
    let b = lines[i].body;
    if i == 0 {
        b.strip_prefix('\u{feff}').unwrap_or(b)
    } else {
        b
    }
}

fn is_doc_marker(body: &str) -> bool {
    ["---", "..."].iter().any(|m| {
        body.strip_prefix(m)
            .is_some_and(|r| r.is_empty() || r.starts_with([' ', '\t']))
    })
}

/// Content lines of the document starting at `first` (0-based): `[start, end)`, markers excluded.
fn document_range(lines: &[Line<'_>], first: usize) -> (usize, usize) {
    let start = if first < lines.len() && body_of(lines, first).starts_with("---") {
        first + 1
    } else {
        first
    };
    let end = (start..lines.len())
        .find(|&i| is_doc_marker(body_of(lines, i)))
        .unwrap_or(lines.len());
    (start, end)
}

fn is_blank_or_comment(body: &str) -> bool {
    let t = body.trim_start();
    t.is_empty() || t.starts_with('#')
}

/// The top-level key on a column-0 line (`title: x` -> `title`), quoted keys unquoted.
fn top_level_key(body: &str) -> Option<&str> {
    if body.is_empty() || body.starts_with([' ', '\t', '#', '-', '[', '{']) || is_doc_marker(body) {
        return None;
    }
    let colon = body.find(':')?;
    let key = body[..colon].trim_end();
    let key = key
        .strip_prefix('"')
        .and_then(|k| k.strip_suffix('"'))
        .or_else(|| key.strip_prefix('\'').and_then(|k| k.strip_suffix('\'')))
        .unwrap_or(key);
    Some(key)
}

fn find_key(lines: &[Line<'_>], start: usize, end: usize, key: &str) -> Option<usize> {
    (start..end).find(|&i| top_level_key(body_of(lines, i)) == Some(key))
}

/// Index one past the last content line of the top-level key at `key_idx` (trailing blank and
/// comment lines belong to whatever follows).
fn key_block_end(lines: &[Line<'_>], key_idx: usize, end: usize) -> usize {
    let mut last = key_idx;
    for i in key_idx + 1..end {
        let b = body_of(lines, i);
        if is_blank_or_comment(b) {
            continue;
        }
        if b.starts_with([' ', '\t']) || b.starts_with("- ") || b == "-" {
            last = i;
        } else {
            break;
        }
    }
    last + 1
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Quote {
    Plain,
    Single,
    Double,
}

/// One list entry as written: what precedes the value, the value, and what follows it.
#[derive(Debug, Clone)]
struct Item {
    /// Whole-line comments (and blank lines) directly above the item, emitted with it.
    leading: Vec<String>,
    prefix: String,
    value: String,
    quote: Quote,
    /// Text after the scalar on the same line: trailing spaces and comment.
    suffix: String,
    eol: String,
}

impl Item {
    /// The trailing comment of an item that is removed, as a comment line at the item's
    /// indentation, so a dropped duplicate does not take its comment with it.
    fn orphan_comment(&self, default_eol: &str) -> Option<String> {
        let comment = self.suffix.trim_start();
        if !comment.starts_with('#') {
            return None;
        }
        let indent: String = self.prefix.chars().take_while(|c| *c == ' ').collect();
        let eol = if self.eol.is_empty() {
            default_eol
        } else {
            &self.eol
        };
        Some(format!("{indent}{}{eol}", comment.trim_end()))
    }

    fn render(&self, value: &str, quote: Quote) -> String {
        format!(
            "{}{}{}",
            self.prefix,
            quote_scalar(value, quote),
            self.suffix
        )
    }
}

/// Parses one scalar at the start of `s`: (decoded value, quote, byte length consumed).
fn parse_scalar(s: &str, flow: bool) -> Option<(String, Quote, usize)> {
    if let Some(rest) = s.strip_prefix('\'') {
        let mut val = String::new();
        let mut it = rest.char_indices().peekable();
        while let Some((i, c)) = it.next() {
            if c == '\'' {
                if it.peek().map(|&(_, n)| n) == Some('\'') {
                    it.next();
                    val.push('\'');
                } else {
                    return Some((val, Quote::Single, i + 2));
                }
            } else {
                val.push(c);
            }
        }
        None
    } else if let Some(rest) = s.strip_prefix('"') {
        let mut val = String::new();
        let mut it = rest.char_indices();
        while let Some((i, c)) = it.next() {
            match c {
                '"' => return Some((val, Quote::Double, i + 2)),
                '\\' => match it.next()?.1 {
                    '"' => val.push('"'),
                    '\\' => val.push('\\'),
                    '/' => val.push('/'),
                    't' => val.push('\t'),
                    // Rarer escapes are not worth decoding for tags; the verification step
                    // catches any mismatch.
                    other => {
                        val.push('\\');
                        val.push(other);
                    }
                },
                c => val.push(c),
            }
        }
        None
    } else {
        let mut end = s.len();
        let bytes = s.as_bytes();
        for (i, &b) in bytes.iter().enumerate() {
            let comment = b == b'#' && i > 0 && (bytes[i - 1] == b' ' || bytes[i - 1] == b'\t');
            if comment || (flow && (b == b',' || b == b']')) {
                end = i;
                break;
            }
        }
        let val = s[..end].trim_end();
        if val.is_empty() {
            return None;
        }
        Some((val.to_string(), Quote::Plain, val.len()))
    }
}

/// True when a plain scalar would not read back as this exact string.
fn needs_quotes(v: &str, flow: bool) -> bool {
    if v.is_empty() || v != v.trim() {
        return true;
    }
    let first = v.chars().next().unwrap_or(' ');
    if "-?:,[]{}#&*!|>'\"%@`".contains(first) {
        return true;
    }
    if v.contains(": ") || v.contains(" #") || v.ends_with(':') {
        return true;
    }
    if flow && v.contains([',', '[', ']', '{', '}']) {
        return true;
    }
    if v.chars().any(|c| c.is_control()) {
        return true;
    }
    let lower = v.to_ascii_lowercase();
    if ["null", "~", "true", "false", "yes", "no", "on", "off"].contains(&lower.as_str()) {
        return true;
    }
    v.parse::<f64>().is_ok()
}

fn quote_scalar(v: &str, preferred: Quote) -> String {
    let quote = match preferred {
        Quote::Plain if needs_quotes(v, true) => Quote::Single,
        q => q,
    };
    match quote {
        Quote::Single if !v.chars().any(|c| c.is_control()) => {
            format!("'{}'", v.replace('\'', "''"))
        }
        Quote::Plain => v.to_string(),
        _ => {
            let mut s = String::from("\"");
            for c in v.chars() {
                match c {
                    '"' => s.push_str("\\\""),
                    '\\' => s.push_str("\\\\"),
                    '\n' => s.push_str("\\n"),
                    '\t' => s.push_str("\\t"),
                    c if c.is_control() => s.push_str(&format!("\\u{:04x}", c as u32)),
                    c => s.push(c),
                }
            }
            s.push('"');
            s
        }
    }
}

/// Splits `key: value  # comment` into (text up to and including the colon, value, comment part).
fn split_key_line(body: &str) -> (&str, &str, &str) {
    let colon = body.find(':').map_or(body.len(), |c| c + 1);
    let (head, rest) = body.split_at(colon);
    let value_start = rest.len() - rest.trim_start().len();
    let rest_t = &rest[value_start..];
    if rest_t.starts_with('#') {
        return (head, "", rest);
    }
    // Comment in the value part (outside quotes is good enough for the flow/empty shapes we edit).
    let mut in_q: Option<char> = None;
    let b = rest.as_bytes();
    for (i, c) in rest.char_indices() {
        match (in_q, c) {
            (None, '\'' | '"') => in_q = Some(c),
            (Some(q), c2) if c2 == q => in_q = None,
            (None, '#') if i > 0 && (b[i - 1] == b' ' || b[i - 1] == b'\t') => {
                let v = rest[..i].trim();
                let ws = rest[..i].trim_end().len();
                return (head, v, &rest[ws..]);
            }
            _ => {}
        }
    }
    (head, rest.trim(), "")
}

fn unsupported(line: usize, reason: impl Into<String>) -> TagEditError {
    TagEditError::Unsupported {
        line: line + 1,
        reason: reason.into(),
    }
}

fn edit_existing(
    lines: &[Line<'_>],
    key_idx: usize,
    end: usize,
    new_tags: &[String],
    default_eol: &str,
) -> Result<Vec<String>, TagEditError> {
    let key_body = body_of(lines, key_idx);
    let (head, value, comment) = split_key_line(key_body);
    let eol = match lines[key_idx].eol {
        "" => default_eol,
        e => e,
    };
    let block_end = key_block_end(lines, key_idx, end);
    let mut out: Vec<String> = Vec::with_capacity(lines.len() + new_tags.len());
    let push_raw = |out: &mut Vec<String>, range: std::ops::Range<usize>| {
        for i in range {
            out.push(format!("{}{}", lines[i].body, lines[i].eol));
        }
    };
    push_raw(&mut out, 0..key_idx);
    let bom = if key_idx == 0 && lines[0].body.starts_with('\u{feff}') {
        "\u{feff}"
    } else {
        ""
    };

    let empty_value = value.is_empty() || ["~", "null", "Null", "NULL"].contains(&value);
    if empty_value && block_end > key_idx + 1 {
        // Block sequence.
        let items = parse_block_items(lines, key_idx + 1, block_end)?;
        out.push(format!("{bom}{key_body}{eol}"));
        if new_tags.is_empty() {
            out.pop();
            out.push(format!("{bom}{head} []{}{eol}", pad_comment(comment)));
            for it in &items {
                out.extend(it.leading.iter().cloned());
            }
        } else {
            let template = items
                .first()
                .map(|f| (f.prefix.clone(), f.quote))
                .unwrap_or_else(|| ("    - ".to_string(), Quote::Plain));
            out.extend(render_items(&items, new_tags, &template, eol));
        }
    } else if empty_value || value == "[]" {
        out.push(format!("{bom}{head}"));
        if new_tags.is_empty() {
            out.pop();
            out.push(format!("{bom}{key_body}{eol}"));
        } else {
            out.pop();
            out.push(format!("{bom}{head}{}{eol}", pad_comment(comment)));
            let indent = sibling_indent(lines, end);
            for t in new_tags {
                out.push(format!("{indent}- {}{eol}", quote_scalar(t, Quote::Plain)));
            }
        }
    } else if value.starts_with('[') {
        let flow = parse_flow(lines, key_idx, end)?;
        out.extend(render_flow(&flow, head, bom, new_tags, eol));
        push_raw(&mut out, flow.last_line + 1..lines.len());
        return Ok(out);
    } else {
        return Err(unsupported(
            key_idx,
            format!(
                "`tags` is not a list (found `{}`)",
                crate::output::one_line(value)
            ),
        ));
    }
    push_raw(&mut out, block_end..lines.len());
    Ok(out)
}

fn pad_comment(comment: &str) -> String {
    if comment.is_empty() {
        String::new()
    } else if comment.starts_with([' ', '\t']) {
        comment.to_string()
    } else {
        format!(" {comment}")
    }
}

/// The indentation of other top-level block sequences in the document (`references:` items);
/// four spaces, as in SigmaHQ, when there are none.
fn sibling_indent(lines: &[Line<'_>], end: usize) -> String {
    let mut after_key = false;
    for i in 0..end {
        let b = body_of(lines, i);
        if is_blank_or_comment(b) {
            continue;
        }
        let t = b.trim_start_matches(' ');
        if after_key && (t.starts_with("- ") || t == "-") {
            return " ".repeat(b.len() - t.len());
        }
        after_key = top_level_key(b).is_some() && split_key_line(b).1.is_empty();
    }
    "    ".to_string()
}

fn parse_block_items(
    lines: &[Line<'_>],
    from: usize,
    to: usize,
) -> Result<Vec<Item>, TagEditError> {
    let mut items = Vec::new();
    let mut leading = Vec::new();
    let mut item_indent: Option<usize> = None;
    for i in from..to {
        let b = body_of(lines, i);
        if is_blank_or_comment(b) {
            leading.push(format!("{b}{}", lines[i].eol));
            continue;
        }
        let t = b.trim_start_matches(' ');
        let indent = b.len() - t.len();
        let Some(after_dash) = t.strip_prefix("- ") else {
            return Err(unsupported(
                i,
                "a tag spans several lines or is not a plain list item",
            ));
        };
        if *item_indent.get_or_insert(indent) != indent {
            return Err(unsupported(i, "list items are not aligned"));
        }
        let ws = after_dash.len() - after_dash.trim_start().len();
        let vtext = &after_dash[ws..];
        let prefix_len = indent + 2 + ws;
        let Some((value, quote, used)) = parse_scalar(vtext, false) else {
            return Err(unsupported(
                i,
                "an item is empty, nested or an unterminated string",
            ));
        };
        let suffix = &vtext[used..];
        if !(suffix.trim().is_empty() || suffix.trim_start().starts_with('#'))
            || value.starts_with(['&', '*', '!', '[', '{', '|', '>'])
        {
            return Err(unsupported(i, "an item is not a simple scalar"));
        }
        items.push(Item {
            leading: std::mem::take(&mut leading),
            prefix: b[..prefix_len].to_string(),
            value,
            quote,
            suffix: suffix.to_string(),
            eol: lines[i].eol.to_string(),
        });
    }
    Ok(items)
}

/// Emits `new_tags` in order. A tag already present keeps its own line; a new tag takes over the
/// line of the first old item that disappears (so a replaced tag keeps its comment and quoting);
/// any further new tags copy the style of the first item. Comments above removed items are kept.
fn render_items(
    items: &[Item],
    new_tags: &[String],
    template: &(String, Quote),
    eol: &str,
) -> Vec<String> {
    let mut used = vec![false; items.len()];
    let mut slot: Vec<Option<usize>> = vec![None; new_tags.len()];
    for (n, tag) in new_tags.iter().enumerate() {
        if let Some(o) = (0..items.len()).find(|&o| !used[o] && items[o].value == *tag) {
            used[o] = true;
            slot[n] = Some(o);
        }
    }
    let mut spare = (0..items.len())
        .filter(|&o| !used[o])
        .collect::<Vec<_>>()
        .into_iter();
    let mut reused = used.clone();
    let mut out = Vec::new();
    for (n, tag) in new_tags.iter().enumerate() {
        let (line, eol_here) = match slot[n] {
            Some(o) => {
                let it = &items[o];
                out.extend(it.leading.iter().cloned());
                (it.render(&it.value, it.quote), it.eol.clone())
            }
            None => match spare.next() {
                Some(o) => {
                    reused[o] = true;
                    let it = &items[o];
                    out.extend(it.leading.iter().cloned());
                    (it.render(tag, it.quote), it.eol.clone())
                }
                None => (
                    format!("{}{}", template.0, quote_scalar(tag, template.1)),
                    eol.to_string(),
                ),
            },
        };
        out.push(format!(
            "{line}{}",
            if eol_here.is_empty() { eol } else { &eol_here }
        ));
    }
    for (o, it) in items.iter().enumerate() {
        if !reused[o] {
            out.extend(it.leading.iter().cloned());
            out.extend(it.orphan_comment(eol));
        }
    }
    // The last line of the file may have had no terminator; keep it that way.
    if let (Some(last_item), Some(last)) = (items.last(), out.last_mut()) {
        if last_item.eol.is_empty() && last.ends_with(eol) {
            let l = last.len() - eol.len();
            last.truncate(l);
        }
    }
    out
}

/// A flow list `[a, 'b']`, on one line or several.
struct Flow {
    items: Vec<Item>,
    last_line: usize,
    multiline: bool,
    /// Text between `[` and the first item / last item and `]` on one line (`[ a ]`).
    inner_pad: String,
    sep: String,
    /// Everything after `]` on its line.
    tail: String,
    /// The indentation of the closing bracket line (multi-line form).
    close_indent: String,
    trailing_comma: bool,
}

fn parse_flow(lines: &[Line<'_>], key_idx: usize, end: usize) -> Result<Flow, TagEditError> {
    let key_body = body_of(lines, key_idx);
    let open = key_body.find('[').unwrap_or(0);
    let mut items: Vec<Item> = Vec::new();
    let mut leading = Vec::new();
    let mut sep = None;
    let mut inner_pad = String::new();
    let mut trailing_comma = false;
    let mut last_item_line = None;
    let mut i = key_idx;
    let mut pos = open + 1;
    loop {
        let b = body_of(lines, i);
        let rest = &b[pos..];
        let t = rest.trim_start_matches([' ', '\t']);
        let p = pos + rest.len() - t.len();
        if i == key_idx && items.is_empty() && pos == open + 1 {
            inner_pad = rest[..rest.len() - t.len()].to_string();
        }
        if t.is_empty() || t.starts_with('#') {
            if i != key_idx && t.starts_with('#') && b.trim_start().starts_with('#') {
                leading.push(format!("{b}{}", lines[i].eol));
            } else if t.starts_with('#') {
                // A comment after an item on the same line stays with that item; one after the
                // opening bracket becomes a comment line above the first item.
                match items.last_mut() {
                    Some(it) if last_item_line == Some(i) => it.suffix = rest.to_string(),
                    _ => leading.push(format!("  {t}{}", lines[i].eol)),
                }
            }
            i += 1;
            pos = 0;
            if i >= end {
                return Err(unsupported(key_idx, "unterminated flow list"));
            }
            continue;
        }
        if let Some(after) = t.strip_prefix(']') {
            let tail = after.to_string();
            if !(tail.trim().is_empty() || tail.trim_start().starts_with('#')) {
                return Err(unsupported(i, "text after the closing `]`"));
            }
            let multiline = i != key_idx;
            let close_indent = b[..p].to_string();
            return Ok(Flow {
                items,
                last_line: i,
                multiline,
                inner_pad,
                sep: sep.unwrap_or_else(|| ", ".to_string()),
                tail,
                close_indent,
                trailing_comma,
            });
        }
        if let Some(after) = t.strip_prefix(',') {
            let ws = after.len() - after.trim_start_matches([' ', '\t']).len();
            if sep.is_none() && !after.trim().is_empty() {
                sep = Some(format!(",{}", &after[..ws]));
            }
            trailing_comma = true;
            pos = p + 1;
            continue;
        }
        let Some((value, quote, used)) = parse_scalar(t, true) else {
            return Err(unsupported(i, "a flow list item is nested or unterminated"));
        };
        if value.starts_with(['&', '*', '!', '[', '{']) {
            return Err(unsupported(i, "a flow list item is not a simple scalar"));
        }
        trailing_comma = false;
        last_item_line = Some(i);
        items.push(Item {
            leading: std::mem::take(&mut leading),
            prefix: b[..p].to_string(),
            value,
            quote,
            suffix: String::new(),
            eol: lines[i].eol.to_string(),
        });
        pos = p + used;
    }
}

fn render_flow(flow: &Flow, head: &str, bom: &str, new_tags: &[String], eol: &str) -> Vec<String> {
    // Old items are matched to new tags exactly as in block lists, for quote style and comments.
    let mut used = vec![false; flow.items.len()];
    let mut spare_q = Vec::new();
    let mut chosen: Vec<(Option<usize>, &String)> = new_tags
        .iter()
        .map(|t| {
            let o = (0..flow.items.len()).find(|&o| !used[o] && flow.items[o].value == *t);
            if let Some(o) = o {
                used[o] = true;
            }
            (o, t)
        })
        .collect();
    for (o, u) in used.iter().enumerate() {
        if !u {
            spare_q.push(o);
        }
    }
    let mut spare = spare_q.into_iter();
    for c in chosen.iter_mut() {
        if c.0.is_none() {
            c.0 = spare.next();
        }
    }
    let default_q = flow.items.first().map_or(Quote::Plain, |i| i.quote);
    let render = |(o, t): &(Option<usize>, &String)| {
        let q = o.map_or(default_q, |o| flow.items[o].quote);
        quote_scalar(t, q)
    };
    let tail_eol = |s: &str| format!("{s}{eol}");
    if !flow.multiline {
        let body: Vec<String> = chosen.iter().map(render).collect();
        let pad = if body.is_empty() { "" } else { &flow.inner_pad };
        return vec![tail_eol(&format!(
            "{bom}{head} [{pad}{}{pad}]{}",
            body.join(&flow.sep),
            flow.tail
        ))];
    }
    let indent = flow
        .items
        .iter()
        .find(|it| it.prefix.trim().is_empty())
        .map_or_else(
            || format!("{}  ", flow.close_indent),
            |it| it.prefix.clone(),
        );
    let mut out = vec![tail_eol(&format!("{bom}{head} ["))];
    let n = chosen.len();
    for (k, c) in chosen.iter().enumerate() {
        let comma = if k + 1 < n || flow.trailing_comma {
            ","
        } else {
            ""
        };
        let suffix = c.0.map_or("", |o| flow.items[o].suffix.as_str());
        if let Some(o) = c.0 {
            out.extend(flow.items[o].leading.iter().cloned());
        }
        out.push(tail_eol(&format!(
            "{indent}{}{comma}{}",
            render(c),
            pad_comment(suffix)
        )));
    }
    // Items no tag took over (dropped duplicates): their comments stay inside the brackets.
    for it in spare.map(|o| &flow.items[o]) {
        out.extend(it.leading.iter().cloned());
        out.extend(it.orphan_comment(eol));
    }
    out.push(tail_eol(&format!("{}]{}", flow.close_indent, flow.tail)));
    out
}

fn insert_new(
    lines: &[Line<'_>],
    start: usize,
    end: usize,
    new_tags: &[String],
    default_eol: &str,
) -> Vec<String> {
    let mut out: Vec<String> = lines
        .iter()
        .map(|l| format!("{}{}", l.body, l.eol))
        .collect();
    if new_tags.is_empty() {
        return out;
    }
    // After the last conventional header key; else before logsource/detection; else at the end.
    let anchor = (start..end)
        .rfind(|&i| top_level_key(body_of(lines, i)).is_some_and(|k| KEYS_BEFORE_TAGS.contains(&k)))
        .map(|k| key_block_end(lines, k, end))
        .or_else(|| {
            (start..end).find(|&i| {
                top_level_key(body_of(lines, i))
                    .is_some_and(|k| k == "logsource" || k == "detection")
            })
        })
        .unwrap_or_else(|| {
            (start..end)
                .rev()
                .find(|&i| !is_blank_or_comment(body_of(lines, i)))
                .map_or(end, |i| i + 1)
        });
    let eol = match anchor.checked_sub(1).map(|i| lines[i].eol) {
        Some("\r\n") => "\r\n",
        Some("\n") => "\n",
        _ => default_eol,
    };
    if anchor > 0 && lines[anchor - 1].eol.is_empty() {
        out[anchor - 1].push_str(eol);
    }
    let indent = sibling_indent(lines, end);
    let mut block = vec![format!("tags:{eol}")];
    for t in new_tags {
        block.push(format!("{indent}- {}{eol}", quote_scalar(t, Quote::Plain)));
    }
    out.splice(anchor..anchor, block);
    out
}

fn parse_all(text: &str) -> Result<Vec<Value>, serde_norway::Error> {
    use serde::Deserialize;
    let mut docs = Vec::new();
    for de in serde_norway::Deserializer::from_str(text) {
        docs.push(Value::deserialize(de)?);
    }
    Ok(docs)
}

fn without_tags(v: &Value) -> Value {
    let mut v = v.clone();
    if let Value::Mapping(m) = &mut v {
        m.remove("tags");
    }
    v
}

/// Proves the edit: every document but the edited one is unchanged, and the edited one differs
/// only in `tags`, which now reads back as exactly `new_tags`.
fn verify(before: &[Value], after_text: &str, new_tags: &[String]) -> Result<(), TagEditError> {
    let after = parse_all(after_text)
        .map_err(|e| TagEditError::Verification(crate::output::one_line(&e.to_string())))?;
    if after.len() != before.len() {
        return Err(TagEditError::Verification(format!(
            "document count changed from {} to {}",
            before.len(),
            after.len()
        )));
    }
    let want = Value::Sequence(new_tags.iter().map(|t| Value::String(t.clone())).collect());
    let mut changed = 0;
    for (b, a) in before.iter().zip(&after) {
        if a == b {
            continue;
        }
        changed += 1;
        if without_tags(a) != without_tags(b) {
            return Err(TagEditError::Verification(
                "a key other than `tags` changed".to_string(),
            ));
        }
        let got = a.get("tags");
        if got != Some(&want) && !(new_tags.is_empty() && got.is_none()) {
            return Err(TagEditError::Verification(format!(
                "`tags` reads back as {}",
                serde_json::to_string(&got).unwrap_or_default()
            )));
        }
    }
    if changed > 1 {
        return Err(TagEditError::Verification(
            "more than one document changed".to_string(),
        ));
    }
    Ok(())
}

/// A unified diff (3 lines of context) of `old` -> `new` for `--dry-run`; empty when equal.
/// Carriage returns are not shown; a missing final newline is marked as `diff` does. Hunk headers
/// always carry both counts (`@@ -4,7 +4,7 @@`), which is why similar's own printer is not used.
pub fn unified_diff(path: &str, old: &str, new: &str) -> String {
    if old == new {
        return String::new();
    }
    let (a, b) = (split_lines(old), split_lines(new));
    // Lines compare with their terminator, so a CRLF -> LF change is a change.
    let raw = |lines: &[Line<'_>]| -> Vec<String> {
        lines
            .iter()
            .map(|l| format!("{}{}", l.body, l.eol))
            .collect()
    };
    let (ra, rb) = (raw(&a), raw(&b));
    let (sa, sb): (Vec<&str>, Vec<&str>) = (
        ra.iter().map(String::as_str).collect(),
        rb.iter().map(String::as_str).collect(),
    );
    let diff = similar::TextDiff::configure()
        .algorithm(similar::Algorithm::Myers)
        .diff_slices(&sa, &sb);
    let mut out = format!("--- a/{path}\n+++ b/{path}\n");
    for group in diff.grouped_ops(3) {
        let (Some(first), Some(last)) = (group.first(), group.last()) else {
            continue;
        };
        let range = |start: usize, end: usize| {
            let n = end - start;
            // Unified format numbers an empty range by the line before it.
            (if n > 0 { start + 1 } else { start }, n)
        };
        let (a0, na) = range(first.old_range().start, last.old_range().end);
        let (b0, nb) = range(first.new_range().start, last.new_range().end);
        out.push_str(&format!("@@ -{a0},{na} +{b0},{nb} @@\n"));
        for op in &group {
            for change in diff.iter_changes(op) {
                let (mark, l) = match (change.tag(), change.old_index(), change.new_index()) {
                    (similar::ChangeTag::Insert, _, Some(j)) => ('+', b[j]),
                    (similar::ChangeTag::Delete, Some(i), _) => ('-', a[i]),
                    (_, Some(i), _) => (' ', a[i]),
                    _ => continue,
                };
                out.push(mark);
                out.push_str(l.body);
                out.push('\n');
                if l.eol.is_empty() {
                    out.push_str("\\ No newline at end of file\n");
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn rw(text: &str, line: usize, new: &[&str]) -> String {
        rewrite_tags(text, line, &tags(new)).unwrap()
    }

    const BLOCK: &str = "title: T\n# leading comment\ntags:  # attack tags\n    - attack.defense-evasion\n    # why this technique\n    - 'attack.t1562.001'  # keep me\n    - attack.s0002\nlogsource:\n    product: windows\ndetection:\n    sel:\n        a: 1\n    condition: sel\n";

    #[test]
    fn block_list_replaced_in_place_keeping_comments_and_quotes() {
        let out = rw(
            BLOCK,
            1,
            &[
                "attack.defense-impairment",
                "attack.t1685.001",
                "attack.s0002",
            ],
        );
        assert_eq!(
            out,
            BLOCK
                .replace("attack.defense-evasion", "attack.defense-impairment")
                .replace("attack.t1562.001", "attack.t1685.001")
        );
    }

    #[test]
    fn block_list_grows_and_shrinks() {
        let out = rw(BLOCK, 1, &["attack.s0002", "attack.t1059", "attack.g0016"]);
        assert!(
            out.contains("tags:  # attack tags\n    - attack.s0002\n    - attack.defense-evasion")
                || out.contains("tags:  # attack tags\n    - attack.s0002\n")
        );
        let parsed: Value = serde_norway::from_str(&out).unwrap();
        assert_eq!(
            parsed["tags"],
            serde_norway::from_str::<Value>("[attack.s0002, attack.t1059, attack.g0016]").unwrap()
        );
        // The comment above a replaced item survives.
        assert!(out.contains("# why this technique"));
        let shrunk = rw(BLOCK, 1, &["attack.s0002"]);
        assert!(shrunk.contains("# why this technique"));
        assert!(shrunk.contains("tags:  # attack tags\n"));
        let empty = rw(BLOCK, 1, &[]);
        assert!(empty.contains("tags: []  # attack tags\n"), "{empty}");
    }

    #[test]
    fn unchanged_tags_return_identical_text() {
        let same = rw(
            BLOCK,
            1,
            &["attack.defense-evasion", "attack.t1562.001", "attack.s0002"],
        );
        assert_eq!(same, BLOCK);
    }

    #[test]
    fn compact_block_list_at_column_zero() {
        let text = "title: T\ntags:\n- attack.execution\n- attack.t1059\nlevel: high\n";
        let out = rw(
            text,
            1,
            &["attack.execution", "attack.t1059.001", "attack.t1203"],
        );
        assert_eq!(
            out,
            "title: T\ntags:\n- attack.execution\n- attack.t1059.001\n- attack.t1203\nlevel: high\n"
        );
    }

    #[test]
    fn crlf_is_kept_for_changed_and_added_lines() {
        let text = "title: T\r\ntags:\r\n  - attack.t1059\r\nlevel: low\r\n";
        let out = rw(text, 1, &["attack.t1059.001", "attack.execution"]);
        assert_eq!(
            out,
            "title: T\r\ntags:\r\n  - attack.t1059.001\r\n  - attack.execution\r\nlevel: low\r\n"
        );
    }

    #[test]
    fn flow_list_single_line() {
        let text = "title: T\ntags: ['attack.execution', 'attack.t1059'] # c\nlevel: low\n";
        let out = rw(text, 1, &["attack.execution", "attack.t1059.003"]);
        assert_eq!(
            out,
            "title: T\ntags: ['attack.execution', 'attack.t1059.003'] # c\nlevel: low\n"
        );
        let padded = rw("tags: [ a,b ]\n", 1, &["a", "c", "d"]);
        assert_eq!(padded, "tags: [ a,c,d ]\n");
        assert_eq!(rw("tags: []\nx: 1\n", 1, &["a"]), "tags:\n    - a\nx: 1\n");
    }

    #[test]
    fn flow_list_multi_line_with_comment() {
        let text = "title: T\ntags: [\n  attack.execution,  # tactic\n  # technique below\n  attack.t1059\n]\nlevel: low\n";
        let out = rw(
            text,
            1,
            &["attack.execution", "attack.t1059.001", "attack.t1204"],
        );
        assert_eq!(
            out,
            "title: T\ntags: [\n  attack.execution,  # tactic\n  # technique below\n  attack.t1059.001,\n  attack.t1204\n]\nlevel: low\n"
        );
    }

    #[test]
    fn missing_tags_inserted_after_header_keys() {
        let text = "title: T\nid: 1\ndescription: |\n    two\n    lines\nauthor: me\n# about logsource\nlogsource:\n    category: process_creation\ndetection:\n    sel:\n        - a\n    condition: sel\n";
        let out = rw(text, 1, &["attack.execution"]);
        assert!(
            out.contains("author: me\ntags:\n    - attack.execution\n# about logsource\n"),
            "{out}"
        );
        let bare = rw("logsource:\n  product: x\n", 1, &["a"]);
        assert_eq!(bare, "tags:\n    - a\nlogsource:\n  product: x\n");
        let no_eol = rw("title: T", 1, &["a"]);
        assert_eq!(no_eol, "title: T\ntags:\n    - a\n");
        // Nothing to add: text unchanged.
        assert_eq!(rw("title: T\n", 1, &[]), "title: T\n");
    }

    #[test]
    fn only_the_addressed_document_changes() {
        let text = "title: A\ntags:\n    - attack.t1\n---\ntitle: B\ntags:\n    - attack.t1\n";
        let out = rw(text, 4, &["attack.t2"]);
        assert_eq!(
            out,
            "title: A\ntags:\n    - attack.t1\n---\ntitle: B\ntags:\n    - attack.t2\n"
        );
        let first = rw(text, 1, &["attack.t2"]);
        assert!(first.starts_with("title: A\ntags:\n    - attack.t2\n---"));
    }

    #[test]
    fn values_needing_quotes_are_quoted() {
        let out = rw("tags:\n  - a\n", 1, &["x: y", "true", "it's"]);
        let v: Value = serde_norway::from_str(&out).unwrap();
        assert_eq!(v["tags"][0], Value::String("x: y".into()));
        assert_eq!(v["tags"][1], Value::String("true".into()));
        assert_eq!(v["tags"][2], Value::String("it's".into()));
        let dq = rw("tags:\n  - \"a\"\n", 1, &["b\"c"]);
        assert_eq!(dq, "tags:\n  - \"b\\\"c\"\n");
    }

    #[test]
    fn unsafe_shapes_are_refused() {
        for (text, why) in [
            ("tags: attack.t1\n", "not a list"),
            ("tags:\n  - a\n  -\n    - nested\n", "nested"),
            ("tags:\n  - a\n    continued\n", "several lines"),
            ("tags: &x [a]\n", "anchor"),
        ] {
            let e = rewrite_tags(text, 1, &tags(&["b"])).unwrap_err();
            assert!(
                matches!(
                    e,
                    TagEditError::Unsupported { .. } | TagEditError::Verification(_)
                ),
                "{why}: {e:?}"
            );
        }
        assert!(matches!(
            rewrite_tags("a: [\n", 1, &tags(&["b"])),
            Err(TagEditError::NotYaml(_))
        ));
        assert!(matches!(
            rewrite_tags("a: 1\n", 9, &tags(&["b"])),
            Err(TagEditError::NoSuchDocument(9))
        ));
    }

    #[test]
    fn bom_and_no_final_newline() {
        let text = "\u{feff}tags:\n  - a\n  - b";
        let out = rw(text, 1, &["a", "c"]);
        assert_eq!(out, "\u{feff}tags:\n  - a\n  - c");
    }

    #[test]
    fn bom_before_a_whole_rule_is_kept() {
        let text = "\u{feff}title: T\nid: 1\ntags:\n    - attack.T1059\nlevel: low\n";
        let out = rw(text, 1, &["attack.t1059"]);
        assert_eq!(out, text.replace("attack.T1059", "attack.t1059"));
        let added = rw("\u{feff}title: T\nlevel: low\n", 1, &["a"]);
        assert!(added.starts_with("\u{feff}title: T\ntags:\n"), "{added}");
    }

    #[test]
    fn comment_of_a_dropped_duplicate_is_kept() {
        let text =
            "tags:\n    - attack.t1059  # why\n    - attack.t1059  # second reason\nlevel: low\n";
        assert_eq!(
            rw(text, 1, &["attack.t1059"]),
            "tags:\n    - attack.t1059  # why\n    # second reason\nlevel: low\n"
        );
        let flow = "tags: [\n  a,  # first\n  a,  # dup\n]\n";
        assert_eq!(rw(flow, 1, &["a"]), "tags: [\n  a,  # first\n  # dup\n]\n");
    }

    #[test]
    fn leading_comment_travels_with_its_item_when_reordered() {
        let text =
            "tags:\n  # the technique\n  - attack.t1059\n  # the tactic\n  - attack.execution\n";
        assert_eq!(
            rw(text, 1, &["attack.execution", "attack.t1059"]),
            "tags:\n  # the tactic\n  - attack.execution\n  # the technique\n  - attack.t1059\n"
        );
    }

    #[cfg(unix)]
    #[test]
    fn apply_edits_refuses_symlinks_and_keeps_the_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.yml");
        std::fs::write(&real, "title: T\ntags:\n  - attack.T1059\n").unwrap();
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o600)).unwrap();
        let link = dir.path().join("link.yml");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let new = tags(&["attack.t1059"]);
        let edit = [DocEdit {
            line: 1,
            tags: &new,
        }];
        for write in [false, true] {
            let e = apply_edits(&link, &edit, write).unwrap_err();
            assert!(matches!(e, ApplyError::Symlink), "{e:?}");
        }
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert!(apply_edits(&real, &edit, true).unwrap().changed());
        assert_eq!(
            std::fs::read_to_string(&real).unwrap(),
            "title: T\ntags:\n  - attack.t1059\n"
        );
        let mode = std::fs::metadata(&real).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        // A 250-byte file name: the temporary name must not grow past the limit.
        let long = dir.path().join("r".repeat(246) + ".yml");
        std::fs::write(&long, "title: T\ntags:\n  - attack.T1059\n").unwrap();
        assert!(apply_edits(&long, &edit, true).unwrap().changed());
    }

    #[test]
    fn unified_diff_shape() {
        let old = "a\nb\nc\nd\ne\nf\ng\nh\n";
        let new = "a\nb\nc\nD\ne\nf\ng\nh\n";
        assert_eq!(
            unified_diff("r.yml", old, new),
            "--- a/r.yml\n+++ b/r.yml\n@@ -1,7 +1,7 @@\n a\n b\n c\n-d\n+D\n e\n f\n g\n"
        );
        assert_eq!(unified_diff("r.yml", old, old), "");
        let ins = unified_diff("x", "a\n", "a\nb");
        assert_eq!(
            ins,
            "--- a/x\n+++ b/x\n@@ -1,1 +1,2 @@\n a\n+b\n\\ No newline at end of file\n"
        );
        let far = unified_diff(
            "x",
            "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n",
            "X\n2\n3\n4\n5\n6\n7\n8\n9\n10\nY\n",
        );
        assert_eq!(far.matches("@@ -").count(), 2, "{far}");
    }
}
