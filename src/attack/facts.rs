//! Facts read from ATT&CK's free-text log-source channels: syscall names, paths, registry keys, API,
//! event and process names.
//!
//! A free-text channel (`creat, open, write on /etc/systemd/system ...`) is MITRE prose, so the compiled
//! catalog cannot carry it, yet it often names exactly what a detection engineer must collect. The
//! loader runs [`extract`] on the channel text of every log-source reference and keeps only the facts,
//! so a full bundle and the catalog compiled from it show the same facts. Extraction is pattern-based:
//! the word lists (Linux syscalls, API verbs, which sources are syscall or cloud logs) are data in
//! `mappings/channel_facts.yaml`. Input is capped and every regex is linear-time (the `regex` crate), so
//! hostile text cannot make it slow or panic.

use regex::Regex;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashSet};
use std::sync::OnceLock;

/// Longest channel text read; ATT&CK's longest is a few hundred bytes.
pub const MAX_TEXT: usize = 4096;
/// Most facts kept per channel.
pub const MAX_FACTS: usize = 32;
/// Longest fact value kept; longer matches are noise, not names.
pub const MAX_VALUE: usize = 160;

const WORDS_YAML: &str = include_str!("../../mappings/channel_facts.yaml");

/// What a fact names. The order is the order a card lists them in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FactKind {
    /// A Linux syscall (`creat`, `execve`), only from syscall sources such as auditd.
    Syscall,
    /// A Unix or Windows file-system path (`/etc/systemd/system`, `C:\inetpub\logs`).
    Path,
    /// A Windows registry key (`HKLM\Software\...`).
    RegistryKey,
    /// A Windows or macOS API function (`CreateRemoteThread`, `NtQuerySystemTime`).
    Api,
    /// A PowerShell cmdlet (`New-InboxRule`), also how Exchange and Entra audit logs name operations.
    Cmdlet,
    /// A named event (`es_event_exec`, CloudTrail `ConsoleLogin`).
    Event,
    /// A reverse-DNS macOS log subsystem or bundle identifier (`com.apple.TCC`).
    Subsystem,
    /// A program (`lsass.exe`, `systemctl` from `/usr/bin/systemctl`).
    Process,
    /// A file name with a telling extension (`applicationhost.config`, `*.pem`).
    File,
    /// A kind this build does not know (a catalog written by a newer version).
    #[serde(other)]
    Other,
}

impl FactKind {
    /// Plural label used on cards (`syscalls: creat, open`).
    pub fn label(self) -> &'static str {
        match self {
            FactKind::Syscall => "syscalls",
            FactKind::Path => "paths",
            FactKind::RegistryKey => "registry keys",
            FactKind::Api => "APIs",
            FactKind::Cmdlet => "cmdlets",
            FactKind::Event => "events",
            FactKind::Subsystem => "subsystems",
            FactKind::Process => "processes",
            FactKind::File => "files",
            FactKind::Other => "other",
        }
    }
}

/// One fact: a kind and the name or path as written.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Fact {
    pub kind: FactKind,
    pub value: String,
}

/// The word lists of `mappings/channel_facts.yaml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Words {
    syscall_sources: Vec<String>,
    cloud_sources: Vec<String>,
    ambiguous_syscalls: BTreeSet<String>,
    api_verbs: BTreeSet<String>,
    cmdlet_verbs: BTreeSet<String>,
    not_names: BTreeSet<String>,
    file_extensions: Vec<String>,
    syscalls: BTreeSet<String>,
}

/// Word lists plus the regexes built from them, compiled once.
struct Tables {
    words: Words,
    registry: Regex,
    win_path: Regex,
    unix_path: Regex,
    file_name: Regex,
    cmdlet: Regex,
    reverse_dns: Regex,
    word: Regex,
}

fn tables() -> &'static Tables {
    static T: OnceLock<Tables> = OnceLock::new();
    T.get_or_init(|| {
        // Embedded and checked by unit tests: a failure is a build defect, so it fails loudly.
        let words: Words = serde_norway::from_str(WORDS_YAML)
            .unwrap_or_else(|e| panic!("mappings/channel_facts.yaml: {e}"));
        let exts = words.file_extensions.join("|");
        let re = |s: &str| Regex::new(s).unwrap_or_else(|e| panic!("facts regex {s}: {e}"));
        Tables {
            // No control characters in a value: a key or path never holds one, a hostile text might.
            registry: re(
                r#"\b(?:HKLM|HKCU|HKCR|HKU|HKCC|HKEY_[A-Z_]+)(?:\\[^\\\x00-\x1f\x7f,;'"()\[\]]*)*"#,
            ),
            win_path: re(
                r#"(?:\b[A-Za-z]:\\|\\\\[^\s\x00-\x1f\x7f\\,;'"()]+\\|%[A-Za-z_]+%\\)[^\s\x00-\x1f\x7f,;'"()<>|]*"#,
            ),
            unix_path: re(
                r#"(?:^|[\s('"`,=\[{])((?:~|\$HOME|\$\{HOME\})?/[A-Za-z0-9._*?+@%~{}\-]+(?:/[A-Za-z0-9._*?+@%~{}\-]*)*)"#,
            ),
            file_name: re(&format!(
                r"(?i)[A-Za-z0-9_*][A-Za-z0-9_.*\-]*\.(?:{exts})\b"
            )),
            cmdlet: re(r"\b([A-Z][a-z]+)-[A-Z][A-Za-z0-9]+\b"),
            reverse_dns: re(r"\b(?:com|org|io|net)\.[a-z0-9-]+(?:\.[A-Za-z0-9_*-]+)+"),
            word: re(r"[A-Za-z_][A-Za-z0-9_]*"),
            words,
        }
    })
}

/// Which vocabulary a log source's words are read with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SourceKind {
    Syscall,
    Cloud,
    Other,
}

fn source_kind(source: &str, w: &Words) -> SourceKind {
    let s = source.to_ascii_lowercase();
    if w.syscall_sources.iter().any(|p| s.starts_with(p.as_str())) {
        SourceKind::Syscall
    } else if w.cloud_sources.iter().any(|p| s.starts_with(p.as_str())) {
        SourceKind::Cloud
    } else {
        SourceKind::Other
    }
}

/// Facts found so far, with the byte span each came from (spans never overlap).
#[derive(Default)]
struct Found {
    hits: Vec<(usize, usize, Fact)>,
}

impl Found {
    fn taken(&self, start: usize, end: usize) -> bool {
        self.hits.iter().any(|&(s, e, _)| start < e && s < end)
    }

    fn push(&mut self, start: usize, end: usize, kind: FactKind, value: &str) {
        if !value.is_empty() && value.len() <= MAX_VALUE && !self.taken(start, end) {
            self.hits.push((
                start,
                end,
                Fact {
                    kind,
                    value: value.to_string(),
                },
            ));
        }
    }
}

/// The typed facts named in the free-text channel `text` of a log source called `source`
/// (`auditd:SYSCALL`), deduplicated, in order of appearance.
pub fn extract(source: &str, text: &str) -> Vec<Fact> {
    let t = tables();
    let text = cap(text);
    let kind = source_kind(source, &t.words);
    let mut found = Found::default();
    registry_keys(text, t, &mut found);
    windows_paths(text, t, &mut found);
    unix_paths(text, t, &mut found);
    file_names(text, t, &mut found);
    cmdlets(text, t, &mut found);
    subsystems(text, t, &mut found);
    words(text, t, kind, &mut found);
    // A program named by a path shares the path's start and lists right after it.
    found.hits.sort_by_key(|h| (h.0, h.0 == h.1));
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (_, _, fact) in found.hits {
        if out.len() == MAX_FACTS {
            break;
        }
        if seen.insert(fact.clone()) {
            out.push(fact);
        }
    }
    out
}

/// Facts grouped by kind in [`FactKind`] order, each group in order of appearance; what a card prints.
pub fn by_kind(facts: &[Fact]) -> Vec<(FactKind, Vec<&str>)> {
    let mut groups: Vec<(FactKind, Vec<&str>)> = Vec::new();
    for f in facts {
        match groups.iter_mut().find(|g| g.0 == f.kind) {
            Some(g) => g.1.push(&f.value),
            None => groups.push((f.kind, vec![&f.value])),
        }
    }
    groups.sort_by_key(|g| g.0);
    groups
}

fn cap(text: &str) -> &str {
    if text.len() <= MAX_TEXT {
        return text;
    }
    let mut end = MAX_TEXT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// `HKLM\...` keys. Inner segments may hold one space (`Windows NT`); the last one ends at a blank,
/// so the sentence after a key is not taken into it.
fn registry_keys(text: &str, t: &Tables, found: &mut Found) {
    for m in t.registry.find_iter(text) {
        let raw = m.as_str();
        let mut len = 0;
        let segments: Vec<&str> = raw.split('\\').collect();
        for (i, seg) in segments.iter().enumerate() {
            let last = i + 1 == segments.len();
            let spaces = seg.matches(char::is_whitespace).count();
            let odd = seg.starts_with(' ') || seg.ends_with(' ');
            if last && spaces == 1 && !odd && is_title_pair(seg) {
                len += seg.len();
                break;
            }
            if last || spaces > 1 || odd {
                let head = seg.split(char::is_whitespace).next().unwrap_or("");
                len += head.len();
                break;
            }
            len += seg.len() + 1;
        }
        let key = raw[..len.min(raw.len())].trim_end_matches(['\\', '.']);
        found.push(m.start(), m.start() + key.len(), FactKind::RegistryKey, key);
    }
}

/// A last key segment of two capitalised words (`Installed Components`), not a name followed by a
/// sentence (`Run when ...`); the match already ends at punctuation or the end of the text.
fn is_title_pair(seg: &str) -> bool {
    seg.split(' ')
        .all(|w| w.starts_with(|c: char| c.is_ascii_uppercase()))
}

fn windows_paths(text: &str, t: &Tables, found: &mut Found) {
    for m in t.win_path.find_iter(text) {
        let p = m.as_str().trim_end_matches('.');
        found.push(m.start(), m.start() + p.len(), FactKind::Path, p);
    }
}

/// Unix paths, plus the program name of a path in a `bin` or `sbin` directory.
fn unix_paths(text: &str, t: &Tables, found: &mut Found) {
    for c in t.unix_path.captures_iter(text) {
        let Some(m) = c.get(1) else { continue };
        let end = spaced_path_end(text, m.end());
        let mut p = text[m.start()..end].trim_end_matches('.');
        // `{a,b}` alternatives are cut at the comma; drop the brace left over.
        if p.matches('}').count() > p.matches('{').count() {
            p = p.trim_end_matches('}');
        }
        if !p.contains(|c: char| c.is_ascii_alphabetic() || c == '*') {
            continue;
        }
        let end = m.start() + p.len();
        if found.taken(m.start(), end) {
            continue;
        }
        found.push(m.start(), end, FactKind::Path, p);
        if let Some((dir, name)) = p.rsplit_once('/') {
            let in_bin = dir.ends_with("/bin") || dir.ends_with("/sbin");
            let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+');
            if in_bin && !name.is_empty() && name.chars().all(plain) {
                // Shares the path's position so it lists right after it; zero width keeps spans disjoint.
                found.hits.push((
                    m.start(),
                    m.start(),
                    Fact {
                        kind: FactKind::Process,
                        value: name.to_string(),
                    },
                ));
            }
        }
    }
}

/// Where a path ends when a directory name holds one space (`~/Library/Application Support/x`): the
/// path goes on over a capitalised ` Word/` and the path characters after it.
fn spaced_path_end(text: &str, mut end: usize) -> usize {
    let is_path = |c: char| c.is_ascii_alphanumeric() || "._*?+@%~{}-/".contains(c);
    // Bounded: each round moves `end` forward past at least one `/`.
    while let Some(rest) = text[end..].strip_prefix(' ') {
        let word = rest
            .find(|c: char| !is_path(c) || c == '/')
            .unwrap_or(rest.len());
        // Capitalised like macOS folders, so `/etc/passwd and/or` stays two words.
        if word == 0
            || !rest.starts_with(|c: char| c.is_ascii_uppercase())
            || !rest[word..].starts_with('/')
        {
            break;
        }
        let tail = rest[word..]
            .find(|c: char| !is_path(c))
            .unwrap_or(rest.len() - word);
        end += 1 + word + tail;
    }
    end
}

fn file_names(text: &str, t: &Tables, found: &mut Found) {
    for m in t.file_name.find_iter(text) {
        let name = m.as_str();
        if !name.contains(|c: char| c.is_ascii_alphanumeric()) || name.starts_with('.') {
            continue;
        }
        let kind = if name.to_ascii_lowercase().ends_with(".exe") {
            FactKind::Process
        } else {
            FactKind::File
        };
        found.push(m.start(), m.end(), kind, name);
    }
}

fn cmdlets(text: &str, t: &Tables, found: &mut Found) {
    for c in t.cmdlet.captures_iter(text) {
        let (Some(m), Some(verb)) = (c.get(0), c.get(1)) else {
            continue;
        };
        let glued = text[m.end()..].starts_with('-');
        if !glued && t.words.cmdlet_verbs.contains(verb.as_str()) {
            found.push(m.start(), m.end(), FactKind::Cmdlet, m.as_str());
        }
    }
}

/// `com.apple.TCC`; runs after [`file_names`], so `com.apple.x.plist` stays a file.
fn subsystems(text: &str, t: &Tables, found: &mut Found) {
    for m in t.reverse_dns.find_iter(text) {
        let glued = text[..m.start()].ends_with(['.', '/', '@', '-']);
        let id = m.as_str().trim_end_matches('.');
        if !glued {
            found.push(m.start(), m.start() + id.len(), FactKind::Subsystem, id);
        }
    }
}

/// Syscalls, `Name(` calls, ES events, CamelCase API and cloud event names.
fn words(text: &str, t: &Tables, kind: SourceKind, found: &mut Found) {
    let toks: Vec<(usize, usize)> = t
        .word
        .find_iter(text)
        .map(|m| (m.start(), m.end()))
        .filter(|&(s, e)| !found.taken(s, e))
        .collect();
    for (i, &(s, e)) in toks.iter().enumerate() {
        let w = &text[s..e];
        let before = text[..s].chars().next_back();
        let rest = &text[e..];
        let after = rest.chars().next();
        // Part of a dotted, hyphenated or assigned name (`user.read`, `systemd-run`, `x=open`);
        // a full stop that ends a sentence is not.
        let glued_before = matches!(before, Some('.' | '-' | '$' | '%' | '=' | '\\' | '@'));
        let glued_after = matches!(after, Some('-' | '=' | '@' | '\\'))
            || (after == Some('.') && rest.len() > 1 && !rest.starts_with(". "));
        if glued_before || glued_after {
            continue;
        }
        if kind == SourceKind::Syscall && is_syscall(text, &toks, i, &t.words) {
            found.push(s, e, FactKind::Syscall, w);
        } else if let Some(k) = word_kind(w, rest, kind, &t.words) {
            let value = if k == FactKind::Event && after == Some('*') {
                &text[s..e + 1]
            } else {
                w
            };
            found.push(s, s + value.len(), k, value);
        }
    }
}

/// A syscall-list word; an English-looking one (`read`, `open`) only next to another syscall name,
/// before `(`, or before the word `syscall`/`call`.
fn is_syscall(text: &str, toks: &[(usize, usize)], i: usize, w: &Words) -> bool {
    let word = |j: usize| &text[toks[j].0..toks[j].1];
    let listed = |j: usize| w.syscalls.contains(word(j));
    if !listed(i) {
        return false;
    }
    if !w.ambiguous_syscalls.contains(word(i)) {
        return true;
    }
    let (_, e) = toks[i];
    if text[e..].starts_with('(') {
        return true;
    }
    let joined = |a: usize, b: usize| -> bool {
        // Only separators and the words `or`/`and` between two tokens.
        let mut gap = text[toks[a].1..toks[b].0].to_string();
        for c in [",", "/", "|"] {
            gap = gap.replace(c, " ");
        }
        gap.split_whitespace().all(|g| g == "or" || g == "and")
    };
    let near = |j: usize| listed(j) && (joined(i.min(j), i.max(j)));
    let is_call =
        |j: usize| j < toks.len() && matches!(word(j), "syscall" | "syscalls" | "call" | "calls");
    // `open syscalls`, `rename system calls`.
    let next_is_call = i + 1 < toks.len()
        && joined(i, i + 1)
        && (is_call(i + 1) || (word(i + 1) == "system" && is_call(i + 2)));
    // Skip `or`/`and` tokens to reach the neighbouring name.
    let prev = (0..i).rev().find(|&j| !matches!(word(j), "or" | "and"));
    let next = (i + 1..toks.len()).find(|&j| !matches!(word(j), "or" | "and"));
    next_is_call || prev.is_some_and(near) || next.is_some_and(near)
}

/// API, ES event or cloud event name; `None` for ordinary words.
fn word_kind(w: &str, rest: &str, kind: SourceKind, words: &Words) -> Option<FactKind> {
    let lower = w.to_ascii_lowercase();
    if lower.starts_with("es_event_") {
        return Some(FactKind::Event);
    }
    if words.not_names.contains(w) {
        return None;
    }
    let after = rest.chars().next();
    // `dlopen()`, `CreateFileW(`; not the plural marks of `file(s)`, `process(es)`.
    let call = rest.starts_with("()")
        || (rest.starts_with('(')
            && w.contains(|c: char| c.is_ascii_uppercase())
            && !rest.starts_with("(s)")
            && !rest.starts_with("(es)"));
    if call && w.len() >= 3 && w.chars().any(|c| c.is_ascii_lowercase()) {
        return Some(if kind == SourceKind::Cloud {
            FactKind::Event
        } else {
            FactKind::Api
        });
    }
    if after == Some(':') {
        return None;
    }
    let camel = is_camel(w);
    match kind {
        SourceKind::Cloud if camel => Some(FactKind::Event),
        SourceKind::Cloud
            if after == Some('*') && w.starts_with(|c: char| c.is_ascii_uppercase()) =>
        {
            Some(FactKind::Event)
        }
        _ if camel && is_api(w, words) => Some(FactKind::Api),
        _ => None,
    }
}

/// `ConsoleLogin`, `CreateRemoteThread`: upper-case start, no underscore, a second capital after a
/// lower-case letter or digit.
fn is_camel(w: &str) -> bool {
    let b = w.as_bytes();
    w.len() >= 5
        && b[0].is_ascii_uppercase()
        && !w.contains('_')
        && b.windows(2).any(|p| {
            (p[0].is_ascii_lowercase() || p[0].is_ascii_digit()) && p[1].is_ascii_uppercase()
        })
        && b.iter().filter(|c| c.is_ascii_lowercase()).count() >= 2
}

fn is_api(w: &str, words: &Words) -> bool {
    let first_hump = w
        .char_indices()
        .skip(1)
        .find(|&(_, c)| c.is_ascii_uppercase())
        .map_or(w, |(i, _)| &w[..i]);
    matches!(first_hump, "Nt" | "Zw" | "Rtl" | "Ldr") || words.api_verbs.contains(first_hump)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(source: &str, text: &str) -> Vec<(FactKind, String)> {
        extract(source, text)
            .into_iter()
            .map(|f| (f.kind, f.value))
            .collect()
    }

    fn values(source: &str, text: &str, kind: FactKind) -> Vec<String> {
        extract(source, text)
            .into_iter()
            .filter(|f| f.kind == kind)
            .map(|f| f.value)
            .collect()
    }

    #[test]
    fn word_lists_parse_and_agree() {
        let w = &tables().words;
        assert!(w.syscalls.len() > 300);
        for a in &w.ambiguous_syscalls {
            assert!(w.syscalls.contains(a), "ambiguous {a} is not a syscall");
        }
    }

    #[test]
    fn syscalls_paths_and_bin_programs() {
        let got = pairs(
            "auditd:SYSCALL",
            "watch creat, open or write under /etc/cron.d; then execve of /usr/sbin/crond",
        );
        use FactKind::*;
        assert_eq!(
            got,
            vec![
                (Syscall, "creat".into()),
                (Syscall, "open".into()),
                (Syscall, "write".into()),
                (Path, "/etc/cron.d".into()),
                (Syscall, "execve".into()),
                (Path, "/usr/sbin/crond".into()),
                (Process, "crond".into()),
            ]
        );
    }

    #[test]
    fn english_syscall_words_need_company() {
        // `read` and `access` alone are English; `read/open` is a syscall list.
        let s = "auditd:SYSCALL";
        assert!(values(s, "read of the key store by odd users", FactKind::Syscall).is_empty());
        assert!(values(s, "access to /dev/input", FactKind::Syscall).is_empty());
        assert_eq!(
            values(s, "read/open of private files", FactKind::Syscall),
            ["read", "open"]
        );
        assert_eq!(values(s, "kill() on agents", FactKind::Syscall), ["kill"]);
        assert_eq!(values(s, "open syscalls here", FactKind::Syscall), ["open"]);
        assert_eq!(
            values(s, "rename system calls", FactKind::Syscall),
            ["rename"]
        );
    }

    #[test]
    fn syscalls_only_from_syscall_sources() {
        assert!(values("macos:unifiedlog", "open/write of files", FactKind::Syscall).is_empty());
        assert_eq!(
            values("ebpf:syscalls", "ptrace on sshd", FactKind::Syscall),
            ["ptrace"]
        );
    }

    #[test]
    fn registry_keys_and_windows_paths() {
        let s = "WinEventLog:Sysmon";
        assert_eq!(
            values(
                s,
                r"value set below HKCU\Software\Odd Vendor\Autorun when a user logs on",
                FactKind::RegistryKey
            ),
            [r"HKCU\Software\Odd Vendor\Autorun"]
        );
        assert_eq!(
            values(
                s,
                r"HKEY_LOCAL_MACHINE\SYSTEM\Setup, then more",
                FactKind::RegistryKey
            ),
            [r"HKEY_LOCAL_MACHINE\SYSTEM\Setup"]
        );
        assert_eq!(
            values(
                s,
                r"keys under HKLM\Software\Odd Vendor\Startup Items",
                FactKind::RegistryKey
            ),
            [r"HKLM\Software\Odd Vendor\Startup Items"]
        );
        assert_eq!(
            values(s, r"dropped in C:\Temp\x\ or %APPDATA%\y.", FactKind::Path),
            [r"C:\Temp\x\", r"%APPDATA%\y"]
        );
        assert!(values(s, "echo %date% and %user%", FactKind::Path).is_empty());
        assert_eq!(
            values(s, r"raw reads of \\.\PhysicalDrive1", FactKind::Path),
            [r"\\.\PhysicalDrive1"]
        );
    }

    #[test]
    fn processes_files_apis_events() {
        let got = pairs(
            "WinEventLog:Sysmon",
            "spoolsv.exe loads evil.dll then calls WriteProcessMemory and NtMapViewOfSection; PowerShell noise",
        );
        use FactKind::*;
        assert_eq!(
            got,
            vec![
                (Process, "spoolsv.exe".into()),
                (File, "evil.dll".into()),
                (Api, "WriteProcessMemory".into()),
                (Api, "NtMapViewOfSection".into()),
            ]
        );
        assert_eq!(
            values(
                "macos:endpointsecurity",
                "es_event_exec plus ES_EVENT_TYPE_NOTIFY_OPEN",
                Event
            ),
            ["es_event_exec", "ES_EVENT_TYPE_NOTIFY_OPEN"]
        );
        assert_eq!(
            values(
                "AWS:CloudTrail",
                "GetObject bursts, then Describe* and PutBucketPolicy",
                Event
            ),
            ["GetObject", "Describe*", "PutBucketPolicy"]
        );
        // CamelCase outside cloud sources is an API only with a verb or native prefix.
        assert!(values("linux:syslog", "ShadowCopy tampering", Api).is_empty());
        assert_eq!(
            values("macos:unifiedlog", "calls dlopen() often", Api),
            ["dlopen"]
        );
    }

    #[test]
    fn subsystems() {
        assert_eq!(
            values(
                "macos:unifiedlog",
                "subsystem=com.apple.odd.thing, bundle com.example.app. Not com.apple.x.plist nor a.com.b",
                FactKind::Subsystem
            ),
            ["com.apple.odd.thing", "com.example.app"]
        );
    }

    #[test]
    fn cmdlets() {
        assert_eq!(
            values(
                "m365:exchange",
                "Set-Mailbox or New-TransportRule; not Kernel-Process nor Set-X-Y",
                FactKind::Cmdlet
            ),
            ["Set-Mailbox", "New-TransportRule"]
        );
    }

    #[test]
    fn unix_paths_edge_cases() {
        let s = "linux:osquery";
        assert_eq!(
            values(
                s,
                "edits of ~/.ssh/config, $HOME/.profile or '/tmp/%.so'.",
                FactKind::Path
            ),
            ["~/.ssh/config", "$HOME/.profile", "/tmp/%.so"]
        );
        assert_eq!(
            values(s, "/usr/bin/{curl,wget}", FactKind::Path),
            ["/usr/bin/{curl"]
        );
        assert_eq!(
            values(s, "{/opt/a,/opt/b}", FactKind::Path),
            ["/opt/a", "/opt/b"]
        );
        // One space inside a directory name, when a `/` follows the next word.
        assert_eq!(
            values(
                s,
                "in /Library/Odd Place/x or /opt/a and/or more",
                FactKind::Path
            ),
            ["/Library/Odd Place/x", "/opt/a"]
        );
        // Separators and URLs are not paths.
        assert!(values(
            s,
            "tcp/22 and Create / Update and https://x.test/a",
            FactKind::Path
        )
        .is_empty());
    }

    #[test]
    fn deduplicated_in_order() {
        let got = values(
            "auditd:SYSCALL",
            "unlink, unlink and unlinkat, unlink",
            FactKind::Syscall,
        );
        assert_eq!(got, ["unlink", "unlinkat"]);
    }

    #[test]
    fn hostile_text_is_capped_and_safe() {
        for text in [
            "\\".repeat(100_000),
            "/".repeat(100_000),
            "HKLM\\".repeat(20_000),
            "a.exe ".repeat(20_000),
            "open/".repeat(20_000),
            "é\u{0}\u{202e}/é/".repeat(10_000),
            String::new(),
        ] {
            let facts = extract("auditd:SYSCALL", &text);
            assert!(facts.len() <= MAX_FACTS);
            assert!(facts.iter().all(|f| f.value.len() <= MAX_VALUE));
        }
        // Terminal escapes stay out of values.
        let s = "WinEventLog:Sysmon";
        let text = "HKLM\\Odd\x1b[31m and C:\\x\x1b]0;t\x07";
        assert_eq!(values(s, text, FactKind::RegistryKey), ["HKLM\\Odd"]);
        assert_eq!(values(s, text, FactKind::Path), ["C:\\x"]);
    }

    /// A small deterministic fuzz: random strings over the characters the patterns care about.
    #[test]
    fn random_text_never_panics_and_facts_come_from_the_text() {
        let alphabet: Vec<char> =
            "aZ0_ ./\\:,|*(){}-=%$~HKLMexe\tNtCreate\u{e9}\u{1f600}\u{1b}\u{7f}"
                .chars()
                .collect();
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        for round in 0..3000 {
            let len = round % 97;
            let text: String = (0..len)
                .map(|_| {
                    state = state
                        .wrapping_mul(6_364_136_223_846_793_005)
                        .wrapping_add(1);
                    alphabet[(state >> 33) as usize % alphabet.len()]
                })
                .collect();
            let source = ["auditd:SYSCALL", "AWS:CloudTrail", "WinEventLog:Sysmon"][round % 3];
            for f in extract(source, &text) {
                assert!(text.contains(&f.value), "{f:?} not in {text:?}");
                assert!(!f.value.contains(char::is_control), "{f:?}");
                assert!(!f.value.is_empty() && f.value.len() <= MAX_VALUE);
            }
        }
    }

    #[test]
    fn groups_by_kind() {
        let facts = extract(
            "auditd:SYSCALL",
            "open /etc/x then write, open and /usr/bin/y",
        );
        let g = by_kind(&facts);
        assert_eq!(g[0], (FactKind::Syscall, vec!["write", "open"]));
        assert_eq!(g[1], (FactKind::Path, vec!["/etc/x", "/usr/bin/y"]));
        assert_eq!(g[2], (FactKind::Process, vec!["y"]));
    }
}
