//! Diagnostics as data: a stable code, a severity, a location and a one-line message.
//!
//! The core produces [`Diagnostic`]s; renderers in `render/` turn them into text, JSON, SARIF,
//! JUnit and GitHub annotations. Every code is a variant of [`Code`] whose severity, family,
//! summary and explanation sit in one table ([`Code::info`]), so a typo does not compile and
//! `attacktrace explain`, `check`'s filters and the code-list snapshot read the same list.

use serde::{Serialize, Serializer};
use std::cmp::Ordering;
use std::path::PathBuf;
use strum::{EnumCount, IntoEnumIterator};

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Info,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

/// What part of the tool reports a code. Declared in the order `check` lists its codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    /// The paths given could not be read.
    Input,
    /// A rule file could not be parsed into a rule.
    Loading,
    /// Rule attributes against the Sigma specification.
    Schema,
    /// Inline `# attacktrace: allow(..)` comments.
    Suppression,
    /// The detection's selections, condition and modifiers.
    Detection,
    /// The evaluation engine could not compile the detection.
    Engine,
    /// `attack.*` tags against the active ATT&CK data.
    AttackTags,
    /// Properties of the rule set as a whole (ids, titles, file names, links).
    Repository,
    /// Log source and field names against the field table.
    Logsource,
    /// `check`'s coverage gate.
    Gate,
    /// The directory walk's policy notices (links it refused to follow).
    Walk,
    /// Event files and regression data read by `test`.
    Evidence,
}

impl Family {
    /// Input, loading and suppression problems cannot be turned off: they say the run itself is
    /// incomplete or a suppression is unreviewable.
    pub fn always_on(self) -> bool {
        self.locked() || self == Family::Suppression
    }

    /// Input and loading problems cannot be turned off, excluded or re-graded by a config: a pull
    /// request could otherwise pass the gate by breaking a rule's YAML and silencing the error.
    pub fn locked(self) -> bool {
        matches!(self, Family::Input | Family::Loading)
    }

    /// Families whose codes `check` lists as its own (one fixture each, the code-list snapshot).
    /// The walk's notices pass through `check` too but describe the walk, not a rule.
    pub fn in_check_list(self) -> bool {
        !matches!(self, Family::Walk | Family::Evidence)
    }
}

/// Every diagnostic code the tool can emit, in `explain`'s order. Codes are stable: never rename
/// one (the string is the public name), add a new one.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    strum::EnumIter,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::EnumCount,
)]
#[strum(serialize_all = "snake_case")]
pub enum Code {
    IoError,
    SymlinkOutsideRoot,
    PathNotFound,
    NotUtf8,
    FileTooLarge,
    YamlError,
    NotAMapping,
    MissingField,
    WrongType,
    DetectionNotEvaluable,
    IdentifierExistence,
    IdentifierFormat,
    IdentifierUniqueness,
    DuplicateTitle,
    DuplicateFilename,
    DanglingRelated,
    StatusExistence,
    StatusUnknown,
    LevelExistence,
    LevelUnknown,
    DateExistence,
    DateFormat,
    DescriptionExistence,
    CustomAttributes,
    TagFormat,
    TagOrder,
    DuplicateTag,
    DuplicateReferences,
    ConditionMissing,
    ConditionUndefined,
    DanglingDetection,
    UnknownModifier,
    InvalidModifierCombinations,
    InvalidRegex,
    #[strum(serialize = "attacktag")]
    AttackTag,
    AttackRevoked,
    AttackDeprecated,
    AttackMissingTactic,
    AttackTacticMismatch,
    AttackVersionMismatch,
    AttackPrePlatform,
    LogsourceUnknown,
    FieldUnknown,
    SuppressionInvalid,
    CoverageLoss,
    CoverageMinimum,
    EventSyntax,
    EventLimit,
    EventNotObject,
    EventNumberOutOfRange,
    EventDuplicateKey,
    WindashExpansionCapped,
    RegressionPathRefused,
    RegressionDataError,
    DetectionInvalid,
    CorrelationInvalid,
    FilterInvalid,
    RuleReferenceUnknown,
    FilterLogsourceMismatch,
    EventTimestampMissing,
    RegressionTestsNone,
    AttackTagUnlikely,
}

/// Registry entry of a diagnostic code.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct CodeInfo {
    pub code: Code,
    pub severity: Severity,
    pub family: Family,
    /// One line: what the code means.
    pub summary: &'static str,
    /// Longer text for `explain`: what it checks, why it matters, how to fix.
    pub explanation: &'static str,
}

impl Code {
    /// The public name (`yaml_error`), as written in every output format.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// The code named `name`, if there is one.
    pub fn parse(name: &str) -> Option<Code> {
        name.parse().ok()
    }

    /// Every code, in `explain`'s order.
    pub fn all() -> impl Iterator<Item = Code> {
        Code::iter()
    }

    pub fn severity(self) -> Severity {
        self.info().severity
    }

    pub fn family(self) -> Family {
        self.info().family
    }

    /// Whether no config can disable, exclude or re-grade this code ([`Family::locked`]).
    pub fn locked(self) -> bool {
        self.family().locked()
    }

    /// Off by default and not part of `validators: [all]`; a config turns it on by naming it: a
    /// house style rather than a Sigma rule (`tag_order`), or a judgement that trains a model on
    /// the checked rules (`attack_tag_unlikely`).
    pub fn opt_in(self) -> bool {
        matches!(self, Code::TagOrder | Code::AttackTagUnlikely)
    }

    /// The codes `validators: [all]` and the defaults enable: every code but the opt-in ones.
    pub fn defaults() -> impl Iterator<Item = Code> {
        Code::all().filter(|c| !c.opt_in())
    }

    /// Severity, family, summary and explanation: the one list.
    pub fn info(self) -> &'static CodeInfo {
        &CODE_INFO[self as usize]
    }
}

/// Severity, family, summary and explanation of every code, in [`Code`]'s order (checked when
/// compiling: a missing, extra or misplaced entry is a build error).
static CODE_INFO: [CodeInfo; Code::COUNT] = [
    CodeInfo {
        code: Code::IoError,
        severity: Severity::Error,
        family: Family::Input,
        summary: "A file or directory could not be read.",
        explanation: "What it checks: reading a file or listing a directory failed (permissions, \
            a file that disappeared during the walk, a broken or looping symlink).\n\
            Why it matters: the file's rules are missing from every count.\n\
            Fix: make the file readable or exclude it from the paths given.",
    },
    CodeInfo {
        code: Code::SymlinkOutsideRoot,
        severity: Severity::Warning,
        family: Family::Walk,
        summary: "A symbolic link in a rule directory leads outside it and was not followed.",
        explanation: "What it checks: while walking a rule directory, symbolic links are followed \
            only while they stay inside that directory.\n\
            Why it matters: a rule repository from an untrusted pull request could otherwise make \
            the CI runner read files elsewhere on the machine.\n\
            Fix: replace the link by the file, or pass `--follow-symlinks` when the link is wanted.",
    },
    CodeInfo {
        code: Code::PathNotFound,
        severity: Severity::Error,
        family: Family::Input,
        summary: "A path or glob given on the command line matched nothing.",
        explanation: "What it checks: every rule path, directory or glob given must name at least one \
            file.\nWhy it matters: a typo in a CI configuration would otherwise silently check \
            nothing.\nFix: correct the path.",
    },
    CodeInfo {
        code: Code::NotUtf8,
        severity: Severity::Error,
        family: Family::Loading,
        summary: "The rule file is not valid UTF-8.",
        explanation: "What it checks: Sigma rules are YAML, which must be UTF-8 here.\n\
            Why it matters: the file cannot be parsed; its rules are missing.\n\
            Fix: re-encode the file as UTF-8.",
    },
    CodeInfo {
        code: Code::FileTooLarge,
        severity: Severity::Error,
        family: Family::Loading,
        summary: "The rule file exceeds the maximum size.",
        explanation: "What it checks: rule files larger than the limit (default 8 MiB) are not \
            parsed.\nWhy it matters: no real rule is that large; a huge file is a mistake or an \
            attack on the CI runner.\nFix: split the file or raise the limit.",
    },
    CodeInfo {
        code: Code::YamlError,
        severity: Severity::Error,
        family: Family::Loading,
        summary: "The file is not valid YAML.",
        explanation: "What it checks: the YAML parser's error, with line and column.\n\
            Why it matters: the rule cannot be loaded.\nFix: correct the syntax at the given \
            position.",
    },
    CodeInfo {
        code: Code::NotAMapping,
        severity: Severity::Error,
        family: Family::Loading,
        summary: "The YAML document is not a mapping (it is a list, a scalar or empty).",
        explanation: "What it checks: a Sigma rule is a YAML mapping of attributes.\n\
            Why it matters: a list or scalar at the top level is not a rule.\n\
            Fix: make the document a mapping with title, logsource and detection.",
    },
    CodeInfo {
        code: Code::MissingField,
        severity: Severity::Error,
        family: Family::Loading,
        summary: "A required rule attribute is missing (title, logsource or detection).",
        explanation: "What it checks: detection rules need `title`, `logsource` and `detection`; \
            correlation rules need `correlation`; filters need `filter`.\n\
            Why it matters: the rule cannot be linked or evaluated.\nFix: add the attribute.",
    },
    CodeInfo {
        code: Code::WrongType,
        severity: Severity::Error,
        family: Family::Loading,
        summary: "A rule attribute has the wrong type (e.g. tags is not a list of strings).",
        explanation: "What it checks: the types the Sigma specification gives for title, id, \
            status, level, tags, logsource, references and falsepositives.\n\
            Why it matters: a wrongly typed attribute is usually a YAML indentation mistake and \
            its value would be lost.\nFix: use the type the specification requires.",
    },
    CodeInfo {
        code: Code::DetectionNotEvaluable,
        severity: Severity::Info,
        family: Family::Engine,
        summary: "The detection cannot be compiled by the evaluation engine; the rule is kept for \
            linking and coverage.",
        explanation: "What it checks: the detection compiles for the evaluator (modifiers, \
            condition, regular expressions). Unsupported constructs (the `expand` modifier, legacy \
            `| count()` aggregations, `near`) and invalid ones (also `detection_invalid` or a more \
            specific error in `check`) end here; `test` reports such a rule as a finding.\n\
            Why it matters: the rule still counts as tagged, but can never reach the runnable or \
            validated tiers.\nFix: rewrite the construct, or accept the limitation.",
    },
    // ---- `check` validators (names shared with pySigma's `sigma check` where the meaning is the same).
    CodeInfo {
        code: Code::IdentifierExistence,
        severity: Severity::Warning,
        family: Family::Schema,
        summary: "The rule has no `id`.",
        explanation: "What it checks: every detection rule, correlation and filter carries an `id`.\n\
            Why it matters: the id is how other rules (`related`), exclusions, SIEM deployments and \
            alert history refer to a rule across renames.\nFix: add `id:` with a fresh random UUID.",
    },
    CodeInfo {
        code: Code::IdentifierFormat,
        severity: Severity::Error,
        family: Family::Schema,
        summary: "The rule `id` is not a UUID.",
        explanation: "What it checks: the Sigma specification requires the id to be a UUID \
            (8-4-4-4-12 hexadecimal digits).\nWhy it matters: a hand-made id collides easily and \
            breaks tools that parse it.\nFix: replace it with a random UUID (version 4).",
    },
    CodeInfo {
        code: Code::IdentifierUniqueness,
        severity: Severity::Error,
        family: Family::Repository,
        summary: "Two rules in the set share the same `id`.",
        explanation: "What it checks: ids are unique across every path given to the run.\n\
            Why it matters: a copied rule that kept its id overwrites the other one in a SIEM and \
            merges their alert history.\nFix: give the copy a new UUID.",
    },
    CodeInfo {
        code: Code::DuplicateTitle,
        severity: Severity::Warning,
        family: Family::Repository,
        summary: "Two rules in the set share the same title.",
        explanation: "What it checks: titles are unique across the rule set.\n\
            Why it matters: analysts triage by title; two alerts with one name hide which logic \
            fired.\nFix: make the titles say how the rules differ.",
    },
    CodeInfo {
        code: Code::DuplicateFilename,
        severity: Severity::Warning,
        family: Family::Repository,
        summary: "Two rule files in different directories share the same file name.",
        explanation: "What it checks: rule file names are unique across the set.\n\
            Why it matters: many deployments flatten rule directories; one file then replaces the \
            other.\nFix: rename one of the files.",
    },
    CodeInfo {
        code: Code::DanglingRelated,
        severity: Severity::Warning,
        family: Family::Repository,
        summary: "A `related` entry points to a rule id that is not in the set.",
        explanation: "What it checks: each `related` entry of type `derived` or `similar` names a \
            rule loaded in the same run (`obsolete`, `renamed` and `merged` name rules that are \
            meant to be gone).\n\
            Why it matters: a stale link after a rule was removed or renumbered misleads reviewers.\n\
            Fix: correct the id, or remove the entry (check the whole repository, not a subset).",
    },
    CodeInfo {
        code: Code::StatusExistence,
        severity: Severity::Info,
        family: Family::Schema,
        summary: "The rule has no `status`.",
        explanation: "What it checks: detection rules state their maturity.\nWhy it matters: \
            deployments select rules by status (e.g. only stable and test).\nFix: add `status:` \
            (stable, test, experimental, deprecated or unsupported).",
    },
    CodeInfo {
        code: Code::StatusUnknown,
        severity: Severity::Error,
        family: Family::Schema,
        summary: "The `status` value is not one the Sigma specification defines.",
        explanation: "What it checks: status is one of stable, test, experimental, deprecated, \
            unsupported.\nWhy it matters: filters on status silently drop a rule with a misspelt \
            one.\nFix: use a defined value.",
    },
    CodeInfo {
        code: Code::LevelExistence,
        severity: Severity::Info,
        family: Family::Schema,
        summary: "The rule has no `level`.",
        explanation: "What it checks: detection rules state their severity.\nWhy it matters: \
            alert routing and coverage weighting use the level.\nFix: add `level:` \
            (informational, low, medium, high or critical).",
    },
    CodeInfo {
        code: Code::LevelUnknown,
        severity: Severity::Error,
        family: Family::Schema,
        summary: "The `level` value is not one the Sigma specification defines.",
        explanation: "What it checks: level is one of informational, low, medium, high, critical.\n\
            Why it matters: an unknown level is treated as missing by backends.\nFix: use a \
            defined value.",
    },
    CodeInfo {
        code: Code::DateExistence,
        severity: Severity::Info,
        family: Family::Schema,
        summary: "The rule has no `date`.",
        explanation: "What it checks: rules record when they were written.\nWhy it matters: age \
            helps decide whether a rule still matches current tradecraft.\nFix: add \
            `date: YYYY-MM-DD`.",
    },
    CodeInfo {
        code: Code::DateFormat,
        severity: Severity::Warning,
        family: Family::Schema,
        summary: "`date` or `modified` is not a valid `YYYY-MM-DD` date.",
        explanation: "What it checks: the specification's date format and a real calendar day; \
            `modified` not before `date`.\nWhy it matters: sorting and \"changed since\" \
            queries break on other formats.\nFix: write the date as YYYY-MM-DD.",
    },
    CodeInfo {
        code: Code::DescriptionExistence,
        severity: Severity::Info,
        family: Family::Schema,
        summary: "The rule has no `description`.",
        explanation: "What it checks: rules say what they detect.\nWhy it matters: the analyst \
            reading the alert needs it.\nFix: add a short `description:`.",
    },
    CodeInfo {
        code: Code::CustomAttributes,
        severity: Severity::Warning,
        family: Family::Schema,
        summary: "A top-level attribute is not defined by the Sigma specification (often a typo).",
        explanation: "What it checks: top-level keys against the specification's attributes; a \
            near miss (`falsepositive`, `referances`) gets a suggestion.\nWhy it matters: a \
            misspelt attribute is silently ignored by every tool.\nFix: correct the name, or \
            allow a deliberate custom attribute with `config: {custom_attributes: {allowed: [..]}}`.",
    },
    CodeInfo {
        code: Code::TagFormat,
        severity: Severity::Warning,
        family: Family::Schema,
        summary: "A tag is not `namespace.name` in lower case.",
        explanation: "What it checks: tags match `[a-z0-9_-]+.[a-z0-9._-]+` as the specification \
            asks.\nWhy it matters: tag matching is case-sensitive in many tools; \
            `attack.T1059` is missed by them.\nFix: lower-case the tag (`--fix` does it).",
    },
    CodeInfo {
        code: Code::TagOrder,
        severity: Severity::Info,
        family: Family::Schema,
        summary: "Tags are not grouped as tactics, then techniques, then other tags (opt-in).",
        explanation: "What it checks: ATT&CK tactic tags come first, then technique tags, then \
            other ATT&CK tags (groups, software), then other namespaces; the order within each \
            group is free.\nWhy it matters: a fixed order makes reviews and diffs of tag changes \
            easy to read. A house style, not a Sigma rule: off unless a config names it \
            (`validators: [all, tag_order]`).\nFix: move the tag (`--fix` does it).",
    },
    CodeInfo {
        code: Code::DuplicateTag,
        severity: Severity::Warning,
        family: Family::Schema,
        summary: "The same tag appears twice in one rule.",
        explanation: "What it checks: tags within a rule are unique (compared case-insensitively).\n\
            Why it matters: usually a copy-paste slip that hides a missing tag.\nFix: remove the \
            repeat (`--fix` does it).",
    },
    CodeInfo {
        code: Code::DuplicateReferences,
        severity: Severity::Warning,
        family: Family::Schema,
        summary: "The same reference appears twice in one rule.",
        explanation: "What it checks: `references` entries are unique.\nWhy it matters: a \
            repeated link usually replaced another one by mistake.\nFix: remove the repeat.",
    },
    CodeInfo {
        code: Code::ConditionMissing,
        severity: Severity::Error,
        family: Family::Detection,
        summary: "The detection has no `condition`.",
        explanation: "What it checks: a detection needs a `condition` saying how its selections \
            combine.\nWhy it matters: without it the rule cannot match anything.\nFix: add \
            `condition:` (e.g. `selection and not filter`).",
    },
    CodeInfo {
        code: Code::ConditionUndefined,
        severity: Severity::Error,
        family: Family::Detection,
        summary: "The condition names a selection that the detection does not define.",
        explanation: "What it checks: every identifier (and every `1 of x*` pattern) in the \
            condition matches a key of `detection`.\nWhy it matters: backends reject the rule or, \
            worse, treat the name as false and drop a filter.\nFix: correct the name in the \
            condition or add the selection.",
    },
    CodeInfo {
        code: Code::DanglingDetection,
        severity: Severity::Warning,
        family: Family::Detection,
        summary: "A selection is defined but never used by the condition.",
        explanation: "What it checks: every key of `detection` (besides `condition` and \
            `timeframe`) is referenced by the condition.\nWhy it matters: an unused filter means \
            false positives the author meant to exclude still fire.\nFix: reference it in the \
            condition or delete it.",
    },
    CodeInfo {
        code: Code::UnknownModifier,
        severity: Severity::Error,
        family: Family::Detection,
        summary: "A field modifier is not one the Sigma specification defines.",
        explanation: "What it checks: every `|modifier` after a field name (contains, startswith, \
            endswith, all, re, base64, cidr, windash, ...).\nWhy it matters: backends reject the \
            rule or match the literal value.\nFix: correct the spelling (`|contains`, not \
            `|contain`).",
    },
    CodeInfo {
        code: Code::InvalidModifierCombinations,
        severity: Severity::Error,
        family: Family::Detection,
        summary: "Field modifiers are combined in a way that has no meaning.",
        explanation: "What it checks: at most one of contains/startswith/endswith; `re` not mixed \
            with string or encoding modifiers; regex flags only after `re`; `wide`/`utf16*` only \
            with `base64`/`base64offset`; `base64offset` with `contains`; `exists` alone; `all` \
            with more than one value; no modifier twice.\nWhy it matters: such rules compile \
            differently in every backend, or not at all.\nFix: keep the combination the rule \
            means.",
    },
    CodeInfo {
        code: Code::InvalidRegex,
        severity: Severity::Error,
        family: Family::Detection,
        summary: "A `|re` value is not a valid regular expression or is too large.",
        explanation: "What it checks: each `|re` value compiles, with a size limit so that an \
            exploding pattern is a finding instead of a hang. Look-around and back-references, \
            which the checker's engine lacks, are left to `detection_not_evaluable`.\nWhy it \
            matters: backends reject the rule.\nFix: correct the pattern at the reported line.",
    },
    CodeInfo {
        code: Code::AttackTag,
        severity: Severity::Error,
        family: Family::AttackTags,
        summary: "An `attack.*` tag names no technique, tactic, group or software in the active \
            ATT&CK data.",
        explanation: "What it checks: technique, sub-technique, tactic, group, software, \
            mitigation and campaign tags against the loaded ATT&CK release (a close name is \
            suggested).\nWhy it matters: the rule is invisible in coverage for the technique it \
            meant.\nFix: correct the tag; `attacktrace technique QUERY` finds the right ID.",
    },
    CodeInfo {
        code: Code::AttackRevoked,
        severity: Severity::Error,
        family: Family::AttackTags,
        summary: "A technique tag names a revoked technique; the replacement is given.",
        explanation: "What it checks: technique tags against `revoked-by` relationships (chains \
            followed to the final replacement).\nWhy it matters: coverage of the replacement is \
            understated, the revoked one overstated.\nFix: use the replacement (`--fix` does it).",
    },
    CodeInfo {
        code: Code::AttackDeprecated,
        severity: Severity::Warning,
        family: Family::AttackTags,
        summary: "A technique tag names a deprecated technique.",
        explanation: "What it checks: technique tags against the deprecated flag of the active \
            release; deprecated techniques have no replacement.\nWhy it matters: they are no \
            longer in the matrix, so the rule counts for nothing.\nFix: tag the technique that \
            now describes the behaviour.",
    },
    CodeInfo {
        code: Code::AttackMissingTactic,
        severity: Severity::Warning,
        family: Family::AttackTags,
        summary: "A technique is tagged without any of its tactics.",
        explanation: "What it checks: for each technique tag, at least one tactic the technique \
            belongs to in the active release is also tagged.\nWhy it matters: tactic tags drive \
            per-tactic views in SIEMs and reports.\nFix: add the tactic tag (`--fix` adds it \
            when the technique has exactly one tactic).",
    },
    CodeInfo {
        code: Code::AttackTacticMismatch,
        severity: Severity::Warning,
        family: Family::AttackTags,
        summary: "A tactic tag matches none of the rule's techniques.",
        explanation: "What it checks: when a rule tags techniques, each tactic tag is a tactic of \
            at least one of them.\nWhy it matters: usually a leftover after a technique tag was \
            changed, or a release moved the technique.\nFix: remove the tactic or add the \
            technique that justifies it.",
    },
    CodeInfo {
        code: Code::AttackVersionMismatch,
        severity: Severity::Error,
        family: Family::AttackTags,
        summary: "A tactic tag belongs to another ATT&CK release than the active one.",
        explanation: "What it checks: a tactic tag unknown to the active data is looked up in \
            the releases listed in `mappings/tactic_versions.yaml` (e.g. `attack.stealth`, new \
            in v19, against v18 data).\nWhy it matters: the rules and the ATT&CK data disagree \
            on the release; coverage is computed on the wrong matrix.\nFix: run with the \
            matching data (`--attack`), or migrate the tags (`attacktrace migrate`).",
    },
    CodeInfo {
        code: Code::AttackPrePlatform,
        severity: Severity::Warning,
        family: Family::AttackTags,
        summary: "A technique with no portable rule (PRE platform) is tagged on a host log source.",
        explanation: "What it checks: techniques classified \"no portable rule\" because they \
            happen outside the defender's systems (Reconnaissance, Resource Development) on a \
            rule whose product is a host platform.\nWhy it matters: almost always a mis-tag \
            (e.g. a port scanner run on the host is Discovery, not Active Scanning).\nFix: tag \
            the technique the host events show.",
    },
    CodeInfo {
        code: Code::LogsourceUnknown,
        severity: Severity::Warning,
        family: Family::Logsource,
        summary: "The logsource (product, category or service) is not in the field table.",
        explanation: "What it checks: product, category and service against \
            `mappings/fields.yaml` (SigmaHQ's logsource list).\nWhy it matters: backends and \
            pipelines map known logsources only; an unknown one is silently never queried.\n\
            Fix: correct the spelling or use the SigmaHQ taxonomy.",
    },
    CodeInfo {
        code: Code::FieldUnknown,
        severity: Severity::Warning,
        family: Family::Logsource,
        summary: "A detection field is not known for the rule's logsource.",
        explanation: "What it checks: field names in the detection against the fields \
            `mappings/fields.yaml` lists for the logsource (only where the table lists fields).\n\
            Why it matters: a misspelt or wrongly-cased field never matches.\nFix: use the \
            field name of the taxonomy (the message suggests a close one).",
    },
    CodeInfo {
        code: Code::SuppressionInvalid,
        severity: Severity::Error,
        family: Family::Suppression,
        summary: "An inline suppression has no reason or names an unknown code.",
        explanation: "What it checks: comments `# attacktrace: allow(code) reason` name a \
            registered code and give a reason.\nWhy it matters: a suppression without a reason \
            cannot be reviewed.\nFix: add the reason after the parenthesis.",
    },
    CodeInfo {
        code: Code::CoverageLoss,
        severity: Severity::Error,
        family: Family::Gate,
        summary: "A technique lost coverage or tier against the coverage baseline.",
        explanation: "What it checks: with `check --coverage-baseline FILE`, the coverage diff \
            against a previous `coverage --format json`.\nWhy it matters: a pull request removed \
            or broke the only rule for a technique.\nFix: restore the rule, or refresh the \
            baseline on purpose.",
    },
    CodeInfo {
        code: Code::CoverageMinimum,
        severity: Severity::Error,
        family: Family::Gate,
        summary: "Coverage of a tactic (or overall) is below the `--min-coverage` threshold.",
        explanation: "What it checks: the share of in-scope techniques with at least one tagged \
            rule, per tactic or overall.\nWhy it matters: a repository-wide coverage floor.\n\
            Fix: add rules, or lower the threshold deliberately.",
    },
    CodeInfo {
        code: Code::EventSyntax,
        severity: Severity::Error,
        family: Family::Evidence,
        summary: "An event file is not valid JSON (or JSON Lines); reading of the file stopped.",
        explanation: "What it checks: event files hold JSON objects: one per line, one array of \
            objects, or several documents one after another.\n\
            Why it matters: the events after the error were not evaluated, so matches and false \
            positives may be missing.\nFix: correct the JSON at the given line.",
    },
    CodeInfo {
        code: Code::EventLimit,
        severity: Severity::Error,
        family: Family::Evidence,
        summary: "An event file exceeds a reading limit (events per file, line or event length).",
        explanation: "What it checks: the reader stops a file at the configured number of events, \
            line length and event size.\nWhy it matters: the rest of the file was not evaluated.\n\
            Fix: split the file, or raise the limit (`--max-events`, `--max-line-bytes`).",
    },
    CodeInfo {
        code: Code::EventNotObject,
        severity: Severity::Warning,
        family: Family::Evidence,
        summary: "A JSON document in an event file is not an object and was skipped.",
        explanation: "What it checks: every event must be a JSON object (flat Sigma fields or the \
            nested EVTX-to-JSON shape).\nWhy it matters: numbers, strings and nested arrays are not \
            events; the rest of the file is still read.\nFix: remove or wrap the value.",
    },
    CodeInfo {
        code: Code::EventNumberOutOfRange,
        severity: Severity::Error,
        family: Family::Evidence,
        summary: "An event holds a number outside the 64-bit float range; that event was skipped.",
        explanation: "What it checks: numbers such as `1e400` have no finite value, so the event \
            holding one cannot be evaluated faithfully; the rest of the file is still read.\n\
            Why it matters: the skipped event may be a match or a false positive.\nFix: write \
            the value as a string, or correct it.",
    },
    CodeInfo {
        code: Code::EventDuplicateKey,
        severity: Severity::Warning,
        family: Family::Evidence,
        summary: "An event object repeats a key; the last value was used.",
        explanation: "What it checks: keys of every object in an event are unique (the first \
            duplicate is named).\nWhy it matters: JSON parsers disagree on which value wins, so \
            the event may mean one thing here and another in the SIEM.\nFix: keep one value.",
    },
    CodeInfo {
        code: Code::WindashExpansionCapped,
        severity: Severity::Warning,
        family: Family::Engine,
        summary: "A rule's `windash` values would expand to too many variants; only flags at \
            the start of a word vary for them.",
        explanation: "What it checks: `windash` values are expanded into every dash spelling of \
            their flags (up to 5 per flag); a rule may produce at most a fixed number of \
            variants in all.\nWhy it matters: the values beyond the cap only match dashes at \
            the start of a word, so some spellings are missed; a huge expansion would also \
            make loading slow.\nFix: shorten the value list or split the rule.",
    },
    CodeInfo {
        code: Code::RegressionPathRefused,
        severity: Severity::Error,
        family: Family::Evidence,
        summary: "A regression test path leaves the repository root and was not read.",
        explanation: "What it checks: `regression_tests_path` and the paths its info.yml lists are \
            resolved inside the repository root (the parent of `rules/`); absolute paths, `..` \
            and symbolic links leading outside are refused.\nWhy it matters: a rule file must \
            not make the tool read arbitrary files.\nFix: use a path relative to the root.",
    },
    CodeInfo {
        code: Code::RegressionDataError,
        severity: Severity::Warning,
        family: Family::Evidence,
        summary: "A rule's regression test data is missing, unreadable or malformed.",
        explanation: "What it checks: the info.yml named by `regression_tests_path` must parse and \
            list EVTX tests (the `.evtx`, or the JSON export beside it, must be readable).\nWhy it \
            matters: the rule cannot be tested against its regression events.\nFix: add the data \
            or remove the attribute.",
    },
    CodeInfo {
        code: Code::DetectionInvalid,
        severity: Severity::Error,
        family: Family::Detection,
        summary: "The detection is not valid Sigma: its condition does not parse or a value does \
            not fit its modifiers.",
        explanation: "What it checks: the condition's grammar (`sel and or filter`, an unclosed \
            `(`), the values each modifier takes (a number for `gt`/`gte`/`lt`/`lte`, `true` or \
            `false` for `exists`, a network for `cidr`), `null` inside a list of values, and that \
            the evaluator compiles the detection.\nWhy it matters: such a rule never fires; \
            backends refuse it.\nFix: correct the condition or the value; for `null` in a list, \
            put `Field: null` in a selection of its own (the specification's form).",
    },
    CodeInfo {
        code: Code::CorrelationInvalid,
        severity: Severity::Error,
        family: Family::Schema,
        summary: "A correlation rule cannot be evaluated: its type, timespan, condition, fields, \
            aliases or chain is not valid Sigma.",
        explanation: "What it checks: `correlation.type` is one of event_count, value_count, \
            temporal, temporal_ordered, value_sum, value_avg, value_percentile; `timespan` is a \
            positive number followed by s, m, h or d; `condition` holds the operators gt, gte, lt, \
            lte, eq, neq with numbers (several make a range); the counting types have `group-by` \
            and a condition, the value types a `condition.field`; aliases name the correlation's \
            own rules; chained correlations do not loop.\nWhy it matters: `test` cannot \
            evaluate such a correlation and backends refuse it.\nFix: follow the Sigma \
            correlation specification (for example `timespan: 90m`, `condition: {gte: 10}`).",
    },
    CodeInfo {
        code: Code::FilterInvalid,
        severity: Severity::Error,
        family: Family::Schema,
        summary: "A Sigma filter cannot be applied: it lacks `rules`, a logsource or a condition, \
            or its selection does not compile.",
        explanation: "What it checks: a filter document has a `logsource`, and its `filter` \
            mapping names the rules it amends (`rules`, by id or name) and holds a selection and \
            a `condition` the evaluator compiles.\nWhy it matters: a filter that cannot be \
            applied leaves the false positives it was written for.\nFix: complete the filter \
            following the Sigma filters specification.",
    },
    CodeInfo {
        code: Code::RuleReferenceUnknown,
        severity: Severity::Error,
        family: Family::Repository,
        summary: "A correlation or filter names a rule (by id or name) that is not in the \
            loaded rule set, or names it ambiguously.",
        explanation: "What it checks: every entry of `correlation.rules` and `filter.rules` \
            matches exactly one loaded rule by `id` or `name`; a correlation may name detection \
            rules and correlations, a filter only detection rules.\nWhy it matters: the \
            correlation never fires and the filter never applies.\nFix: load the referenced \
            rule with the others, or correct the id or name.",
    },
    CodeInfo {
        code: Code::FilterLogsourceMismatch,
        severity: Severity::Error,
        family: Family::Repository,
        summary: "A filter's logsource does not fit a rule it names, so it is not applied to \
            that rule.",
        explanation: "What it checks: the product, category and service a filter and a rule it \
            names both set are equal.\nWhy it matters: the specification applies a filter only \
            to rules of a compatible log source; the rule keeps its false positives.\nFix: \
            correct the filter's logsource or its `rules` list.",
    },
    CodeInfo {
        code: Code::EventTimestampMissing,
        severity: Severity::Warning,
        family: Family::Evidence,
        summary: "An event a correlation needs has no parsable timestamp; correlations did not \
            count it.",
        explanation: "What it checks: `test` orders the events matched by a correlation's rules \
            by their timestamp field (`--timestamp-field`, by default TimeCreated (the EVTX \
            SystemTime), SystemTime, @timestamp, UtcTime, timestamp), read as RFC 3339 or epoch \
            seconds.\nWhy it matters: an event without a time cannot be placed in a window, so \
            a correlation may miss it.\nFix: export the timestamp, or name the field holding it \
            with `--timestamp-field`.",
    },
    CodeInfo {
        code: Code::RegressionTestsNone,
        severity: Severity::Info,
        family: Family::Evidence,
        summary: "A rule's regression info.yml lists no active test.",
        explanation: "What it checks: the info.yml named by `regression_tests_path` has no \
            `regression_tests_info` entries (absent or commented out).\nWhy it matters: nothing \
            is tested for the rule; SigmaHQ's runner passes over such a file too, so this is a \
            note and does not fail the run.\nFix: add a test, or remove the attribute.",
    },
    CodeInfo {
        code: Code::AttackTagUnlikely,
        severity: Severity::Warning,
        family: Family::AttackTags,
        summary: "Every technique the rule is tagged with scores far below what its detection suggests.",
        explanation: "What it checks: a content model (the one behind `suggest`) is trained on the \
            other tagged rules checked, and the rule's detection is scored against every \
            technique; the finding names the rule's best tag and the model's first suggestion \
            with the features that weigh most. Off by default: turn it on with \
            `validators: [all, attack_tag_unlikely]`.\nWhy it matters: a rule tagged with a \
            technique its detection does not show (an AMSI DLL load tagged Inhibit System \
            Recovery) puts coverage in the wrong cell and leaves the real one looking empty.\n\
            Fix: tag the technique the events show, or keep the tag and suppress the finding \
            with a reason when the model lacks context (few rules of that kind).",
    },
];

const _: () = {
    let mut i = 0;
    while i < CODE_INFO.len() {
        assert!(
            CODE_INFO[i].code as usize == i,
            "CODE_INFO is not in Code order"
        );
        i += 1;
    }
};

/// Ordered by name, so sorted output does not move when a code is added.
impl Ord for Code {
    fn cmp(&self, other: &Self) -> Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl PartialOrd for Code {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

impl Serialize for Code {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// The registry entry of the code named `name` (user input: configs, suppressions, `explain`).
pub fn lookup(name: &str) -> Option<&'static CodeInfo> {
    Code::parse(name).map(Code::info)
}

/// The registered code closest to a mistyped `name` (edit distance on the lower-cased name, at
/// most a third of its length), for "did you mean".
pub fn closest(name: &str) -> Option<Code> {
    let name = name.trim().to_ascii_lowercase().replace('-', "_");
    let limit = (name.chars().count() / 3).max(2);
    Code::all()
        .map(|c| (strsim::levenshtein(c.as_str(), &name), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, c)| (*d, c.as_str()))
        .map(|(_, c)| c)
}

/// One finding about one place.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Diagnostic {
    pub path: Option<PathBuf>,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub code: Code,
    pub severity: Severity,
    pub message: String,
}

impl Diagnostic {
    /// A diagnostic with the registered severity of `code`.
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Diagnostic {
            path: None,
            line: None,
            column: None,
            code,
            severity: code.severity(),
            message: message.into(),
        }
    }

    pub fn at(mut self, path: impl Into<PathBuf>) -> Self {
        self.path = Some(path.into());
        self
    }

    pub fn line(mut self, line: Option<usize>, column: Option<usize>) -> Self {
        self.line = line;
        self.column = column;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closest_code_for_a_typo() {
        assert_eq!(closest("attak_tag"), Some(Code::AttackTag));
        assert_eq!(closest("coverage_minimun"), Some(Code::CoverageMinimum));
        assert_eq!(closest("Yaml-Eror"), Some(Code::YamlError));
        assert_eq!(closest("nothing_like_any_code_at_all"), None);
    }
    use std::collections::BTreeSet;

    #[test]
    fn codes_are_unique_snake_case_and_round_trip() {
        let mut seen = BTreeSet::new();
        for c in Code::all() {
            let name = c.as_str();
            assert!(seen.insert(name), "duplicate code {name}");
            assert!(
                name.chars()
                    .all(|ch| ch.is_ascii_lowercase() || ch == '_' || ch.is_ascii_digit()),
                "code {name} is not snake_case"
            );
            assert_eq!(Code::parse(name), Some(c));
            let info = c.info();
            assert!(!info.summary.is_empty() && !info.explanation.is_empty());
        }
    }

    #[test]
    fn new_takes_registered_severity_and_names_sort_by_string() {
        let d = Diagnostic::new(Code::DetectionNotEvaluable, "x");
        assert_eq!(d.severity, Severity::Info);
        assert_eq!(Code::parse("nope"), None);
        assert_eq!(Code::AttackTag.as_str(), "attacktag");
        assert!(Code::YamlError > Code::WrongType && Code::AttackRevoked < Code::AttackTag);
        assert_eq!(
            serde_json::to_string(&Code::AttackPrePlatform).unwrap(),
            "\"attack_pre_platform\""
        );
    }
}
