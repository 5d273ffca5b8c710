//! ATT&CK Navigator layer (format 4.5) from the coverage report.
//!
//! One entry per (technique, tactic) in scope, so a technique listed under several tactics is
//! annotated in each column. Coverage must read at a glance: gaps get an explicit gap colour, and
//! the gradient starts at a score of 1 on a colour-blind-safe scale that does not contain the gap
//! colour, so a covered technique is never painted as a gap. The count gradient is capped at
//! [`COUNT_CAP`] (`10+`): an uncapped maximum (hundreds of rules on one technique in SigmaHQ)
//! would paint every technique with a few rules almost at the bottom of the scale. Guidance
//! techniques get an explicit grey instead of a score, so they read neither as covered nor as
//! gaps. Navigator wants only the ATT&CK major version in `versions.attack`.

use crate::coverage::{level_rank, CoverageReport, TechniqueRow, Tier};
use crate::link::Via;
use serde::Serialize;
use std::collections::BTreeSet;

pub const LAYER_VERSION: &str = "4.5";
/// Navigator release the layer is written for (4.5 layers need at least 4.9.0).
pub const NAVIGATOR_VERSION: &str = "5.1.0";

use super::palette::{GAP, GUIDANCE, SCALE};

/// Rule count at which the count gradient reaches its darkest step (`10+`).
pub const COUNT_CAP: u32 = 10;
/// Level-weighted sum at which that gradient tops out (ten high-level rules).
const LEVEL_WEIGHTED_CAP: u32 = 40;

/// How a technique's score is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Score {
    /// Number of distinct rules covering the technique.
    #[default]
    Count,
    /// Highest rule level (informational 1 .. critical 5).
    MaxLevel,
    /// Sum of rule level ranks.
    LevelWeighted,
    /// Tier: 0 none, 1 tagged, 2 runnable, 3 validated.
    Tier,
}

impl Score {
    pub fn as_str(self) -> &'static str {
        match self {
            Score::Count => "count",
            Score::MaxLevel => "max-level",
            Score::LevelWeighted => "level-weighted",
            Score::Tier => "tier",
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct NavigatorOptions {
    pub score: Score,
    /// Base URL for per-rule links; without it no links are written (Navigator needs absolute
    /// URLs with a scheme, and a local path is not one).
    pub link_base: Option<String>,
    /// Links name rule files from the repository root.
    pub paths: super::paths::RepoPaths,
}

#[derive(Debug, Clone, Serialize)]
pub struct Versions {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attack: Option<String>,
    pub navigator: &'static str,
    pub layer: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct Meta {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Link {
    pub label: String,
    pub url: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LayerTechnique {
    #[serde(rename = "techniqueID")]
    pub technique_id: String,
    pub tactic: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub color: Option<&'static str>,
    pub comment: String,
    pub enabled: bool,
    pub metadata: Vec<Meta>,
    pub links: Vec<Link>,
    pub show_subtechniques: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Gradient {
    pub colors: Vec<&'static str>,
    pub min_value: u32,
    pub max_value: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct LegendItem {
    pub label: String,
    pub color: &'static str,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Layout {
    pub layout: &'static str,
    #[serde(rename = "showID")]
    pub show_id: bool,
    pub show_name: bool,
    pub expanded_subtechniques: &'static str,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Layer {
    pub name: String,
    pub versions: Versions,
    pub domain: String,
    pub description: String,
    pub sorting: u32,
    pub layout: Layout,
    pub hide_disabled: bool,
    pub techniques: Vec<LayerTechnique>,
    pub gradient: Gradient,
    pub legend_items: Vec<LegendItem>,
    pub show_tactic_row_background: bool,
    pub tactic_row_background: &'static str,
    pub select_techniques_across_tactics: bool,
    pub select_subtechniques_with_parent: bool,
    pub metadata: Vec<Meta>,
}

/// `18.1` -> `18`; `None` when the version is unknown.
pub fn attack_major(version: &str) -> Option<String> {
    let major = version.split('.').next().unwrap_or("");
    (!major.is_empty() && major.bytes().all(|b| b.is_ascii_digit())).then(|| major.to_string())
}

fn score_of(r: &CoverageReport, t: &TechniqueRow, score: Score) -> u32 {
    let levels = || {
        t.rules
            .iter()
            .filter_map(|l| r.rules.get(l.rule))
            .map(|x| level_rank(x.level.as_deref()))
    };
    match score {
        Score::Count => t.rules.len() as u32,
        Score::MaxLevel => levels().max().unwrap_or(0),
        Score::LevelWeighted => levels().sum(),
        Score::Tier => match t.tier {
            Tier::None => 0,
            Tier::Tagged => 1,
            Tier::Runnable => 2,
            Tier::Validated => 3,
        },
    }
}

/// Why a `--link-base` is refused: the links land in a layer others open, so only web links or a
/// relative path may come out of it (never `javascript:` or `data:`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkBaseError {
    #[error("URL scheme `{0}:` is not allowed (use http://, https:// or a relative path)")]
    Scheme(String),
    #[error("a link base starting with `//` or `\\` names another host without a scheme (use http:// or https://)")]
    SchemeRelative,
    #[error("a link base may not contain control characters or start with a space")]
    Control,
}

/// Accepts `http://...`, `https://...` or a relative path as a link base.
pub fn check_link_base(base: &str) -> Result<(), LinkBaseError> {
    if base.chars().any(char::is_control) || base.starts_with(char::is_whitespace) {
        return Err(LinkBaseError::Control);
    }
    if base.starts_with("//") || base.starts_with("\\\\") {
        return Err(LinkBaseError::SchemeRelative);
    }
    // A scheme is what comes before the first `:`, when no `/`, `?` or `#` comes before it.
    let head = base.split(['/', '?', '#']).next().unwrap_or_default();
    match head.split_once(':') {
        None => Ok(()),
        Some((scheme, _)) if ["http", "https"].contains(&scheme.to_ascii_lowercase().as_str()) => {
            Ok(())
        }
        Some((scheme, _)) => Err(LinkBaseError::Scheme(crate::output::one_line(scheme))),
    }
}

/// Percent-encodes what may not stand raw in a link (quotes, angle brackets, spaces, controls);
/// `path` also encodes what would end the path (`#`, `?`, `%`) and turns `\\` into `/`.
fn url_encode(s: &str, path: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' if path => out.push('/'),
            '#' | '?' | '%' if path => push_pct(&mut out, c),
            ' ' | '<' | '>' | '"' | '\'' | '`' => push_pct(&mut out, c),
            c if c.is_control()
                || ('\u{202a}'..='\u{202e}').contains(&c)
                || ('\u{2066}'..='\u{2069}').contains(&c) =>
            {
                push_pct(&mut out, c)
            }
            c => out.push(c),
        }
    }
    out
}

fn push_pct(out: &mut String, c: char) {
    for b in c.encode_utf8(&mut [0; 4]).bytes() {
        out.push_str(&format!("%{b:02X}"));
    }
}

/// `base/path`, both percent-encoded where a link needs it.
pub fn url_join(base: &str, path: &str) -> String {
    format!(
        "{}/{}",
        url_encode(base.trim_end_matches('/'), false),
        url_encode(path.trim_start_matches("./"), true)
    )
}

/// The hover comment of a technique cell.
fn comment(t: &TechniqueRow) -> String {
    let via_sub = t.rules.iter().filter(|l| l.via != Via::Direct).count();
    if t.guidance {
        format!(
            "No portable rule: guidance technique; {} rule(s) claim it (likely mis-tags)",
            t.rules.len()
        )
    } else if t.rules.is_empty() {
        "Gap: no rule in scope".to_string()
    } else {
        format!(
            "{} rule(s){}; tier {}; {}",
            t.rules.len(),
            if via_sub > 0 {
                format!(", {via_sub} via sub-techniques")
            } else {
                String::new()
            },
            t.tier.as_str(),
            super::class_label(t.class)
        )
    }
}

/// One metadata line per linked rule and, with a link base, one link per rule.
fn rule_entries(
    r: &CoverageReport,
    t: &TechniqueRow,
    opts: &NavigatorOptions,
) -> (Vec<Meta>, Vec<Link>) {
    let mut metadata = Vec::new();
    let mut links = Vec::new();
    for l in &t.rules {
        let Some(rule) = r.rules.get(l.rule) else {
            continue;
        };
        metadata.push(Meta {
            name: "rule".to_string(),
            value: format!(
                "{} [level {}, status {}]{}",
                super::one_line(&rule.title),
                rule.level.as_deref().unwrap_or("-"),
                rule.status.as_deref().unwrap_or("-"),
                match &l.via {
                    Via::Direct => String::new(),
                    Via::SubTechnique(sub) => format!(" via {sub}"),
                }
            ),
        });
        if let Some(base) = &opts.link_base {
            links.push(Link {
                label: super::one_line(&rule.title),
                url: url_join(base, &opts.paths.show(&rule.path)),
            });
        }
    }
    (metadata, links)
}

/// The score at which the gradient reaches its last step: fixed for the bounded scores, the
/// highest score seen for the sums, capped so a few outliers do not wash the scale out.
fn gradient_max(score: Score, highest: u32) -> u32 {
    match score {
        Score::Tier => 3,
        Score::MaxLevel => 5,
        Score::Count => highest.clamp(1, COUNT_CAP),
        Score::LevelWeighted => highest.clamp(1, LEVEL_WEIGHTED_CAP),
    }
}

/// The stop colour nearest to `value` on the gradient from 1 to `max_value`.
fn step_colour(value: u32, max_value: u32) -> &'static str {
    let last = SCALE.len() - 1;
    if max_value <= 1 {
        return SCALE[last];
    }
    let span = (max_value - 1) as usize;
    let at = ((value.clamp(1, max_value) - 1) as usize * last + span / 2) / span;
    SCALE[at.min(last)]
}

/// Legend items: the gap colour, the gradient's steps labelled in the score's own terms, guidance.
fn legend(score: Score, max_value: u32) -> Vec<LegendItem> {
    let mut items = vec![LegendItem {
        label: "gap: no rule".into(),
        color: GAP,
    }];
    let steps: Vec<(u32, String)> = match score {
        Score::Tier => vec![
            (1, "tagged".into()),
            (2, "runnable".into()),
            (3, "validated".into()),
        ],
        Score::MaxLevel => vec![
            (1, "highest level informational".into()),
            (3, "highest level medium".into()),
            (5, "highest level critical".into()),
        ],
        Score::Count | Score::LevelWeighted => {
            let (one, many) = if score == Score::Count {
                ("rule", "rules")
            } else {
                ("level point", "level points")
            };
            let capped = max_value == gradient_max(score, u32::MAX);
            // One item per colour stop (Navigator spreads the stops evenly from 1 to the maximum).
            let last = (SCALE.len() - 1) as u32;
            let mut values: Vec<u32> = (0..=last)
                .map(|k| 1 + (k * (max_value - 1) + last / 2) / last)
                .collect();
            values.dedup();
            values
                .into_iter()
                .map(|v| {
                    let plus = if capped && v == max_value { "+" } else { "" };
                    (v, format!("{v}{plus} {}", if v == 1 { one } else { many }))
                })
                .collect()
        }
    };
    for (value, label) in steps {
        items.push(LegendItem {
            label: format!("covered: {label}"),
            color: step_colour(value, max_value),
        });
    }
    items.push(LegendItem {
        label: "no portable rule (guidance, not scored)".into(),
        color: GUIDANCE,
    });
    items
}

pub fn layer(r: &CoverageReport, opts: &NavigatorOptions) -> Layer {
    let parents_with_covered_subs: BTreeSet<&str> = r
        .techniques
        .iter()
        .filter(|t| !t.rules.is_empty())
        .filter_map(|t| t.parent.as_deref())
        .collect();
    let mut entries = Vec::new();
    let mut max = 0;
    for t in &r.techniques {
        let s = score_of(r, t, opts.score);
        if !t.guidance {
            max = max.max(s);
        }
        let comment = comment(t);
        let (metadata, links) = rule_entries(r, t, opts);
        let color = if t.guidance {
            Some(GUIDANCE)
        } else if t.rules.is_empty() {
            Some(GAP)
        } else {
            None
        };
        for tactic in &t.tactics {
            entries.push(LayerTechnique {
                technique_id: t.id.clone(),
                tactic: tactic.clone(),
                // Gaps and guidance carry a colour instead of a score: a score of 0 would sit below
                // the gradient, and no viewer should have to know how Navigator clamps it.
                score: color.is_none().then_some(s),
                color,
                comment: comment.clone(),
                enabled: true,
                metadata: metadata.clone(),
                links: links.clone(),
                show_subtechniques: parents_with_covered_subs.contains(t.id.as_str()),
            });
        }
    }
    let max_value = gradient_max(opts.score, max);
    let legend = legend(opts.score, max_value);
    let t = &r.totals;
    Layer {
        name: format!("AttackTrace coverage ({})", opts.score.as_str()),
        versions: Versions {
            attack: attack_major(&r.attack.version),
            navigator: NAVIGATOR_VERSION,
            layer: LAYER_VERSION,
        },
        domain: r.attack.domain.clone(),
        description: format!(
            "{}Sigma rule coverage of ATT&CK {} v{}; scope: {}; {} of {} techniques and sub-techniques covered; score: {}",
            r.skew
                .as_ref()
                .map(|s| format!("Warning: {}. ", s.summary()))
                .unwrap_or_default(),
            r.attack.domain,
            r.attack.version,
            r.scope.description,
            t.techniques.covered + t.subtechniques.covered,
            t.techniques.in_scope + t.subtechniques.in_scope,
            opts.score.as_str()
        ),
        sorting: 3,
        layout: Layout {
            layout: "side",
            show_id: true,
            show_name: true,
            expanded_subtechniques: "annotated",
        },
        hide_disabled: false,
        techniques: entries,
        gradient: Gradient {
            colors: SCALE.to_vec(),
            min_value: 1,
            max_value,
        },
        legend_items: legend,
        show_tactic_row_background: false,
        tactic_row_background: "#dddddd",
        select_techniques_across_tactics: true,
        select_subtechniques_with_parent: false,
        metadata: vec![
            Meta {
                name: "generator".into(),
                value: "attacktrace coverage".into(),
            },
            Meta {
                name: "rules loaded".into(),
                value: r.load.rules_loaded.to_string(),
            },
        ],
    }
}

pub fn coverage(r: &CoverageReport, opts: &NavigatorOptions) -> String {
    super::json::to_string(&layer(r, opts))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_count_gradient_is_capped_and_never_holds_the_gap_colour() {
        assert_eq!(gradient_max(Score::Count, 250), COUNT_CAP);
        assert_eq!(gradient_max(Score::Count, 0), 1);
        assert_eq!(gradient_max(Score::Tier, 0), 3);
        assert!(!SCALE.contains(&GAP) && !SCALE.contains(&GUIDANCE));
        let labels: Vec<(String, &str)> = legend(Score::Count, COUNT_CAP)
            .into_iter()
            .map(|i| (i.label, i.color))
            .collect();
        assert_eq!(
            labels,
            [
                ("gap: no rule".to_string(), GAP),
                ("covered: 1 rule".to_string(), SCALE[0]),
                ("covered: 4 rules".to_string(), SCALE[1]),
                ("covered: 7 rules".to_string(), SCALE[2]),
                ("covered: 10+ rules".to_string(), SCALE[3]),
                (
                    "no portable rule (guidance, not scored)".to_string(),
                    GUIDANCE
                ),
            ]
        );
        // Below the cap the last step is the highest count seen, without `+`.
        let two: Vec<String> = legend(Score::Count, 2)
            .into_iter()
            .map(|i| i.label)
            .collect();
        assert_eq!(two[1..3], ["covered: 1 rule", "covered: 2 rules"]);
    }

    #[test]
    fn major_version_only() {
        assert_eq!(attack_major("18.1").as_deref(), Some("18"));
        assert_eq!(attack_major("9").as_deref(), Some("9"));
        assert_eq!(attack_major("unknown"), None);
    }

    #[test]
    fn links_join_and_encode() {
        assert_eq!(
            url_join("https://x/y/", "./rules/a b#1.yml"),
            "https://x/y/rules/a%20b%231.yml"
        );
        assert_eq!(
            url_join("https://x/a b", "r/<s>\"'\u{7}\u{202e}.yml"),
            "https://x/a%20b/r/%3Cs%3E%22%27%07%E2%80%AE.yml"
        );
    }

    #[test]
    fn link_base_schemes() {
        for ok in [
            "https://x/y",
            "HTTP://x",
            "rules/",
            "../repo/blob/main",
            "a/b:c",
        ] {
            assert_eq!(check_link_base(ok), Ok(()), "{ok}");
        }
        assert_eq!(
            check_link_base("javascript:alert(1)"),
            Err(LinkBaseError::Scheme("javascript".into()))
        );
        assert_eq!(
            check_link_base("data:text/html,x"),
            Err(LinkBaseError::Scheme("data".into()))
        );
        assert_eq!(
            check_link_base("file:///etc"),
            Err(LinkBaseError::Scheme("file".into()))
        );
        assert_eq!(
            check_link_base(" javascript:x"),
            Err(LinkBaseError::Control)
        );
        assert_eq!(
            check_link_base("java\tscript:x"),
            Err(LinkBaseError::Control)
        );
        assert_eq!(
            check_link_base("//evil.invalid/x"),
            Err(LinkBaseError::SchemeRelative)
        );
    }
}
