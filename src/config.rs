//! `check` configuration: which validators run, per-rule exclusions, severity overrides, fail level.
//!
//! The file format is a superset of pySigma's validation config (`validators: [all, -name]`,
//! `exclusions: {rule-uuid: name or [names]}`, `config: {validator: {key: value}}`), so a repository
//! that runs `sigma check --validation-config FILE` can point `attacktrace check --config` at the
//! same file. Names with no counterpart here are reported once as notices, never fatal. Parsing is
//! strict (`deny_unknown_fields`) so a typo in a key is an error; every problem is collected before
//! giving up.

use crate::diag::{Code, Severity};
use crate::input::{self, ReadError};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Name of the configuration file discovered at the repository root.
pub const CONFIG_FILE_NAME: &str = ".attacktrace.yml";

/// A configuration problem (exit code 2). No variant ever holds the file's text: a config may be a
/// symlink to a secret, and the message lands in a CI log.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The read error names the file.
    #[error("configuration: {source}")]
    Read {
        #[from]
        source: ReadError,
    },
    #[error("{} leads outside the repository {}; not read", path.display(), root.display())]
    OutsideRepository { path: PathBuf, root: PathBuf },
    /// Built from the parser error's location and kind only: the parser's own message quotes the
    /// offending value, so it is not kept as a source.
    #[error("{label}: {}{problem}", location.map(|(l, c)| format!("line {l} column {c}: ")).unwrap_or_default())]
    Syntax {
        label: String,
        location: Option<(usize, usize)>,
        problem: String,
    },
    /// Every problem found, collected before giving up.
    #[error("{label}: {}", problems.join("; "))]
    Invalid {
        label: String,
        problems: Vec<String>,
    },
}

/// `name` when it is a short plain identifier, safe to echo (a key of a secret file could be one
/// line of it).
fn plain_name(name: &str) -> Option<&str> {
    let ok = !name.is_empty()
        && name.len() <= 32
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.');
    ok.then_some(name)
}

/// `` `name` `` when it is safe to echo, else `(name not shown)`.
fn shown(name: &str) -> String {
    plain_name(name).map_or_else(|| "(name not shown)".to_string(), |n| format!("`{n}`"))
}

/// Text between the first pair of backticks in `msg` after `prefix`.
fn quoted_after<'a>(msg: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = msg.strip_prefix(prefix)?.strip_prefix('`')?;
    rest.find('`').map(|i| &rest[..i])
}

/// What the parser expected, when the message's tail states it in words only our types produce.
fn expected(msg: &str) -> String {
    let tail = msg.rsplit_once(", expected ").map(|(_, t)| t);
    match tail {
        Some(t) if t.starts_with("struct ConfigFile") => ", expected a mapping of settings".into(),
        Some(t)
            if t.len() <= 160
                && t.chars()
                    .all(|c| c.is_ascii_alphanumeric() || " `,_-.".contains(c)) =>
        {
            format!(", expected {t}")
        }
        _ => String::new(),
    }
}

/// A parser error as a message that quotes no value from the file.
fn syntax_error(label: &str, e: &serde_norway::Error) -> ConfigError {
    let full = e.to_string();
    let msg = full.split(" at line ").next().unwrap_or_default();
    let problem = if let Some(name) = quoted_after(msg, "unknown field ") {
        format!("unknown key {}{}", shown(name), expected(msg))
    } else if let Some(name) = quoted_after(msg, "duplicate field ") {
        format!("duplicate key {}", shown(name))
    } else if msg.starts_with("unknown variant ") {
        format!("unknown value{}", expected(msg))
    } else if msg.starts_with("invalid type") || msg.starts_with("invalid value") {
        format!("wrong type{}", expected(msg))
    } else if msg.starts_with("invalid length") {
        format!("wrong length{}", expected(msg))
    } else if msg.contains("untagged enum OneOrMany") {
        "wrong type, expected a code name or a list of code names".into()
    } else if msg.starts_with("duplicate entry") {
        "duplicate key".into()
    } else if msg.len() <= 100
        && msg
            .chars()
            .all(|c| c.is_ascii_lowercase() || " ,'[]{}:-".contains(c))
    {
        // libyaml's scanner and parser messages are fixed phrases.
        format!("not valid YAML: {msg}")
    } else {
        "not valid YAML".into()
    };
    ConfigError::Syntax {
        label: label.to_string(),
        location: e.location().map(|l| (l.line(), l.column())),
        problem,
    }
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

/// The file as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct ConfigFile {
    validators: Option<Vec<String>>,
    exclusions: Option<BTreeMap<String, OneOrMany>>,
    /// Per-validator options (pySigma `config:`); only `custom_attributes.allowed` is used here.
    config: Option<BTreeMap<String, serde_norway::Value>>,
    fail_level: Option<Severity>,
    severity: Option<BTreeMap<String, Severity>>,
    /// ATT&CK data for every command run in this repository (a STIX bundle or catalog), relative
    /// to the config file. `--attack` and `ATTACKTRACE_ATTACK` win over it.
    attack: Option<PathBuf>,
}

/// The effective configuration, validated.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Settings {
    /// Where the settings came from (`default` or a path).
    pub origin: String,
    /// The file read, if any: what every report names as the config it used.
    #[serde(skip)]
    pub file: Option<PathBuf>,
    /// Enabled codes, sorted.
    pub enabled: BTreeSet<Code>,
    /// Rule id (lower case) -> codes not reported for that rule.
    pub exclusions: BTreeMap<String, BTreeSet<Code>>,
    /// Code -> severity replacing the registered one.
    pub severity: BTreeMap<Code, Severity>,
    /// Findings at or above this severity fail the run.
    pub fail_level: Severity,
    /// Extra top-level attributes accepted by `custom_attributes`.
    pub allowed_attributes: BTreeSet<String>,
    /// ATT&CK data named by the config (`attack:`), resolved against the config file's directory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attack: Option<PathBuf>,
    /// Names in the file that mean nothing here (pySigma validators without a counterpart).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notices: Vec<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            origin: "default".into(),
            file: None,
            enabled: Code::defaults().collect(),
            exclusions: BTreeMap::new(),
            severity: BTreeMap::new(),
            fail_level: Severity::Error,
            allowed_attributes: BTreeSet::new(),
            attack: None,
            notices: Vec::new(),
        }
    }
}

impl Settings {
    /// Severity of `code` after overrides.
    /// Severity of `code` after overrides; a locked code ([`Code::locked`]) keeps its own.
    pub fn severity_of(&self, code: Code, registered: Severity) -> Severity {
        if code.locked() {
            return registered;
        }
        self.severity.get(&code).copied().unwrap_or(registered)
    }

    /// Input, loading and suppression codes are always on (see [`crate::diag::Family::always_on`]).
    pub fn is_enabled(&self, code: Code) -> bool {
        code.family().always_on() || self.enabled.contains(&code)
    }

    /// A locked code ([`Code::locked`]) is never excluded.
    pub fn is_excluded(&self, rule_id: Option<&str>, code: Code) -> bool {
        !code.locked()
            && rule_id.is_some_and(|id| {
                self.exclusions
                    .get(&id.to_ascii_lowercase())
                    .is_some_and(|codes| codes.contains(&code))
            })
    }

    /// Parses and validates a config text; `label` names it in errors.
    pub fn parse(label: &str, text: &str) -> Result<Settings, ConfigError> {
        let file: ConfigFile = if text.trim().is_empty() {
            ConfigFile::default()
        } else {
            serde_norway::from_str(text).map_err(|e| syntax_error(label, &e))?
        };
        let mut s = Settings {
            origin: label.to_string(),
            attack: file.attack.clone(),
            ..Settings::default()
        };
        let mut errors = Vec::new();
        let mut ignored = Ignored::default();
        if let Some(list) = &file.validators {
            s.enabled.clear();
            for (i, item) in list.iter().enumerate() {
                let item = item.trim();
                let (remove, name) = match item.strip_prefix('-') {
                    Some(n) => (true, n.trim()),
                    None => (false, item),
                };
                if name == "all" {
                    if remove {
                        s.enabled.clear();
                    } else {
                        s.enabled.extend(Code::defaults());
                    }
                    continue;
                }
                if i == 0 && remove {
                    // pySigma starts from nothing; `- -x` first means "all but x" to most readers.
                    s.enabled.extend(Code::defaults());
                }
                match Code::parse(name) {
                    Some(code) if remove && code.locked() => {
                        ignored.locked.insert(code);
                        s.enabled.remove(&code);
                    }
                    Some(code) if remove => {
                        s.enabled.remove(&code);
                    }
                    Some(code) => {
                        s.enabled.insert(code);
                    }
                    None => ignored.name(name),
                }
            }
        }
        for (id, names) in file.exclusions.into_iter().flatten() {
            let names = match names {
                OneOrMany::One(n) => vec![n],
                OneOrMany::Many(v) => v,
            };
            for name in names {
                match Code::parse(name.trim()) {
                    Some(code) if code.locked() => {
                        ignored.locked.insert(code);
                    }
                    Some(code) => {
                        s.exclusions
                            .entry(id.trim().to_ascii_lowercase())
                            .or_default()
                            .insert(code);
                    }
                    None => ignored.name(name.trim()),
                }
            }
        }
        for (name, sev) in file.severity.into_iter().flatten() {
            match Code::parse(&name) {
                Some(code) if code.locked() => {
                    ignored.locked.insert(code);
                }
                Some(code) => {
                    s.severity.insert(code, sev);
                }
                None => errors.push(format!(
                    "severity: unknown code {} (`attacktrace explain` lists them)",
                    shown(&name)
                )),
            }
        }
        for (name, value) in file.config.into_iter().flatten() {
            if name == "custom_attributes" {
                match value.get("allowed").map(|v| v.as_sequence()) {
                    Some(Some(items)) => {
                        for item in items {
                            match item.as_str() {
                                Some(a) => {
                                    s.allowed_attributes.insert(a.to_string());
                                }
                                None => errors.push(
                                    "config.custom_attributes.allowed: items must be strings"
                                        .into(),
                                ),
                            }
                        }
                    }
                    _ => errors.push(
                        "config.custom_attributes: expected `allowed: [attribute, ...]`".into(),
                    ),
                }
            } else {
                ignored.name(&format!("config.{name}"));
            }
        }
        if let Some(level) = file.fail_level {
            s.fail_level = level;
        }
        s.notices = ignored.notices(label);
        if errors.is_empty() {
            Ok(s)
        } else {
            Err(ConfigError::Invalid {
                label: label.to_string(),
                problems: errors,
            })
        }
    }

    /// Reads a config file (size-capped, regular files only).
    pub fn load(path: &Path) -> Result<Settings, ConfigError> {
        let text = input::read_text_capped(path, input::DEFAULT_CAP)?;
        let mut s = Settings::parse(&path.display().to_string(), &text)?;
        s.file = Some(path.to_path_buf());
        if let (Some(attack), Some(dir)) = (&s.attack, path.parent()) {
            if attack.is_relative() {
                s.attack = Some(dir.join(attack));
            }
        }
        Ok(s)
    }

    /// The effective settings as a config file (for `--show-config`).
    pub fn to_yaml(&self) -> String {
        let mut out = format!("# effective configuration (from {})\n", self.origin);
        let all: BTreeSet<Code> = Code::defaults().collect();
        out.push_str("validators:\n  - all\n");
        for code in all.difference(&self.enabled).filter(|c| !c.locked()) {
            out.push_str(&format!("  - -{code}\n"));
        }
        for code in self.enabled.iter().filter(|c| c.off_by_default()) {
            out.push_str(&format!("  - {code}\n"));
        }
        out.push_str(&format!("fail-level: {}\n", self.fail_level.as_str()));
        if let Some(a) = &self.attack {
            out.push_str(&format!(
                "attack: {}\n",
                yaml_scalar(&a.display().to_string())
            ));
        }
        if !self.severity.is_empty() {
            out.push_str("severity:\n");
            for (code, sev) in &self.severity {
                out.push_str(&format!("  {code}: {}\n", sev.as_str()));
            }
        }
        if !self.exclusions.is_empty() {
            out.push_str("exclusions:\n");
            for (id, codes) in &self.exclusions {
                let list: Vec<&str> = codes.iter().map(|c| c.as_str()).collect();
                let key = yaml_scalar(id);
                // YAML limits an implicit key to 1024 characters; a longer one needs `? key`.
                let sep = if key.len() > 1000 { "\n  " } else { "" };
                let q = if sep.is_empty() { "" } else { "? " };
                out.push_str(&format!("  {q}{key}{sep}: [{}]\n", list.join(", ")));
            }
        }
        if !self.allowed_attributes.is_empty() {
            let list: Vec<String> = self
                .allowed_attributes
                .iter()
                .map(|a| yaml_scalar(a))
                .collect();
            out.push_str(&format!(
                "config:\n  custom_attributes:\n    allowed: [{}]\n",
                list.join(", ")
            ));
        }
        out
    }
}

/// Names in a config that mean nothing here, and settings a config may not make.
#[derive(Default)]
struct Ignored {
    /// Plain names, shown in the notice.
    unknown: BTreeSet<String>,
    /// Names not safe to echo, only counted.
    hidden: usize,
    /// Locked codes a setting tried to disable, exclude or re-grade.
    locked: BTreeSet<Code>,
}

impl Ignored {
    fn name(&mut self, name: &str) {
        match plain_name(name) {
            Some(n) => {
                self.unknown.insert(n.to_string());
            }
            None => self.hidden += 1,
        }
    }

    fn notices(self, label: &str) -> Vec<String> {
        let mut notices = Vec::new();
        let count = self.unknown.len() + self.hidden;
        if count > 0 {
            let mut names: Vec<String> = self.unknown.into_iter().collect();
            if self.hidden > 0 {
                names.push(format!("{} not shown", self.hidden));
            }
            notices.push(format!(
                "{label}: ignored {count} name(s) with no attacktrace counterpart: {}",
                names.join(", ")
            ));
        }
        if !self.locked.is_empty() {
            let list: Vec<&str> = self.locked.iter().map(|c| c.as_str()).collect();
            notices.push(format!(
                "{label}: a file that cannot be read or loaded always fails the run; ignored the setting for {}",
                list.join(", ")
            ));
        }
        notices
    }
}

/// `s` as a YAML scalar that reads back as `s`: plain when it is a simple name, else a JSON string
/// (valid YAML), so `--show-config` output always parses again.
fn yaml_scalar(s: &str) -> String {
    let plain = s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_-./".contains(c))
        && (s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_' || c == '/')
            // A rule UUID; never a number.
            || (s.starts_with(|c: char| c.is_ascii_digit())
                && s.contains('-')
                && s.parse::<f64>().is_err()))
        && !matches!(
            s.to_ascii_lowercase().as_str(),
            "true" | "false" | "null" | "yes" | "no" | "on" | "off" | "y" | "n"
        );
    if plain {
        s.to_string()
    } else {
        serde_json::to_string(s).unwrap_or_default()
    }
}

/// Finds `.attacktrace.yml` from `start` upwards, stopping at the repository root (the nearest
/// directory holding `.git`); outside any repository only `start` itself is looked at, so a
/// config planted higher up (`/tmp`, a home directory) is never picked up. A config that is a
/// symlink leading outside the repository is refused, not read: it could point at a secret.
pub fn discover(start: &Path) -> Result<Option<PathBuf>, ConfigError> {
    let root = repository_root(start);
    for d in start.ancestors() {
        let candidate = d.join(CONFIG_FILE_NAME);
        if candidate.symlink_metadata().is_ok() {
            if !input::is_within(&root, &candidate) {
                return Err(ConfigError::OutsideRepository {
                    path: candidate,
                    root,
                });
            }
            return Ok(Some(candidate));
        }
        if d == root {
            break;
        }
    }
    Ok(None)
}

/// Nearest ancestor of `dir` holding `.git`, else `dir`: where repository-relative paths (SARIF
/// URIs) start.
pub fn repository_root(dir: &Path) -> PathBuf {
    dir.ancestors()
        .find(|d| d.join(".git").exists())
        .unwrap_or(dir)
        .to_path_buf()
}

/// The commented template written by `check --init`.
pub const TEMPLATE: &str = r#"# attacktrace check configuration (`attacktrace check --show-config` prints the effective one).
# The keys `validators`, `exclusions` and `config` follow pySigma's validation config, so a file
# written for `sigma check --validation-config` works here unchanged.

# Which validators run: `all`, then `-code` to turn one off (`attacktrace explain` lists codes).
validators:
  - all
  # - -custom_attributes

# Findings at or above this severity fail the run (exit 1): error, warning or info.
fail-level: error

# ATT&CK data for every attacktrace command in this repository (a STIX bundle or a catalog written
# by `attacktrace attack compile`), relative to this file. `--attack` and ATTACKTRACE_ATTACK win.
# attack: attack/enterprise-attack-18.1.json

# Change the severity of a code for this repository.
# severity:
#   duplicate_title: error

# Rule id -> code or list of codes not reported for that rule. For a single finding prefer an
# inline suppression in the rule: `# attacktrace: allow(code) reason why`.
# exclusions:
#   5f1e4f8a-0000-4000-8000-000000000000: field_unknown

# Per-validator options.
# config:
#   custom_attributes:
#     allowed: [simulation, regression_tests_path]
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pysigma_shape_loads_and_reports_unknown_names_once() {
        let s = Settings::parse(
            "c.yml",
            "validators:\n  - all\n  - -tlptag\n  - -duplicate_title\nexclusions:\n  ABC: escaped_wildcard\n  def: [field_unknown, number_as_string]\nconfig:\n  sigmahq_x: {a: 1}\n",
        )
        .unwrap();
        assert!(!s.is_enabled(Code::DuplicateTitle));
        assert!(s.is_enabled(Code::AttackTag));
        assert!(s.is_excluded(Some("DEF"), Code::FieldUnknown));
        assert!(!s.is_excluded(Some("abc"), Code::FieldUnknown));
        assert_eq!(
            s.notices,
            vec!["c.yml: ignored 4 name(s) with no attacktrace counterpart: config.sigmahq_x, escaped_wildcard, number_as_string, tlptag"]
        );
    }

    #[test]
    fn native_keys_and_errors() {
        let s = Settings::parse(
            "c",
            "fail-level: warning\nseverity: {duplicate_title: error}\nconfig: {custom_attributes: {allowed: [foo]}}\n",
        )
        .unwrap();
        assert_eq!(s.fail_level, Severity::Warning);
        assert_eq!(
            s.severity_of(Code::DuplicateTitle, Severity::Warning),
            Severity::Error
        );
        assert!(s.allowed_attributes.contains("foo"));
        let e = Settings::parse("c", "fail-levle: error\n").unwrap_err();
        assert!(e.to_string().contains("unknown key `fail-levle`"), "{e}");
        let e = Settings::parse("c", "severity: {nope: error}\nfail-level: bad\n").unwrap_err();
        assert!(e.to_string().starts_with("c:"), "{e}");
        let e = Settings::parse("c", "severity: {nope: error}\n").unwrap_err();
        assert!(e.to_string().contains("unknown code `nope`"), "{e}");
    }

    /// A config symlinked to a secret: no error or notice quotes its content.
    #[test]
    fn errors_never_echo_content() {
        let key = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n-----END OPENSSH PRIVATE KEY-----\n";
        let cases = [
            key.to_string(),
            format!(
                "validators: [\"{}\"]\n",
                "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ"
            ),
            "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ: 1\n".to_string(),
            "fail-level: b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n".to_string(),
            "severity: {b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ: error}\n".to_string(),
            "validators: b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n".to_string(),
            "exclusions: {x: {b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ: 1}}\n".to_string(),
            "attack: [b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ]\n".to_string(),
            "\"b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n".to_string(),
        ];
        for text in cases {
            let said = match Settings::parse("c", &text) {
                Ok(s) => s.notices.join("\n"),
                Err(e) => e.to_string(),
            };
            assert!(!said.contains("b3BlbnNz"), "{said}");
            assert!(!said.contains("BEGIN"), "{said}");
        }
        let e = Settings::parse("c", key).unwrap_err().to_string();
        assert_eq!(
            e,
            "c: line 1 column 1: wrong type, expected a mapping of settings"
        );
    }

    /// Loading and input codes stay on, unexcluded and at their severity whatever the config says.
    #[test]
    fn loading_errors_cannot_be_silenced() {
        let s = Settings::parse(
            "c",
            "validators: [-yaml_error, -io_error]\nseverity: {yaml_error: info, not_a_mapping: info}\nexclusions: {abc: [yaml_error]}\n",
        )
        .unwrap();
        for code in [Code::YamlError, Code::IoError, Code::NotAMapping] {
            assert!(s.is_enabled(code));
            assert!(!s.is_excluded(Some("abc"), code));
            assert_eq!(s.severity_of(code, Severity::Error), Severity::Error);
        }
        assert!(
            s.notices[0].contains("io_error, not_a_mapping, yaml_error"),
            "{:?}",
            s.notices
        );
        let s = Settings::parse("c", "validators: []\n").unwrap();
        assert!(s.is_enabled(Code::YamlError) && !s.is_enabled(Code::DuplicateTitle));
    }

    #[test]
    fn removal_first_means_all_but_and_template_parses() {
        let s = Settings::parse("c", "validators: [-attacktag]\n").unwrap();
        assert!(!s.is_enabled(Code::AttackTag) && s.is_enabled(Code::DuplicateTitle));
        let t = Settings::parse("template", TEMPLATE).unwrap();
        assert_eq!(t.enabled, Settings::default().enabled);
        assert!(Settings::parse("c", "validators: [-all]\n")
            .unwrap()
            .enabled
            .is_empty());
        let long = format!(
            "exclusions:\n  ? '{}'\n  : [tag_order]\n",
            "\"".repeat(1200)
        );
        let l = Settings::parse("l", &long).unwrap();
        assert_eq!(
            Settings::parse("r", &l.to_yaml()).unwrap().exclusions,
            l.exclusions
        );
        let round = Settings::parse("r", &s.to_yaml()).unwrap();
        assert_eq!(round.enabled, s.enabled);
    }
}
