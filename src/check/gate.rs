//! Coverage gate of `check`: findings from the coverage report (baseline losses, per-tactic
//! minimums), so one CI step gates both rule quality and coverage.

use super::Finding;
use crate::coverage::{CoverageReport, Metric};
use crate::diag::{Code, Diagnostic};

/// A usage mistake in the gate's thresholds (exit 2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GateError {
    #[error("--min-coverage: unknown tactic `{name}` (known: overall, {})", known.join(", "))]
    UnknownTactic { name: String, known: Vec<String> },
}

/// `coverage_loss` per technique that lost tier against the baseline, `coverage_minimum` per
/// threshold not met. An unknown tactic name is an error (a usage mistake, exit 2).
///
/// Minimums are measured with `metric`, the same figure the coverage report prints for it (the
/// headline `Covered:` for [`Metric::All`]), and each message names the metric.
///
/// Losses point at the baseline file (`baseline_path`), so every CI view has a file to show.
pub fn coverage_findings(
    report: &CoverageReport,
    baseline_path: Option<&std::path::Path>,
    minimums: &[(String, f64)],
    metric: Metric,
) -> Result<Vec<Finding>, GateError> {
    let mut out = Vec::new();
    for c in report.baseline.iter().flat_map(|b| &b.lost) {
        let mut d = Diagnostic::new(
            Code::CoverageLoss,
            format!(
                "{} {} lost coverage: {} -> {}{}",
                c.id,
                c.name,
                c.before.as_str(),
                c.after.as_str(),
                if c.rules_removed.is_empty() {
                    String::new()
                } else {
                    format!(" (rules gone: {})", c.rules_removed.join(", "))
                }
            ),
        );
        if let Some(p) = baseline_path {
            d = d.at(p);
        }
        out.push(Finding::new(d, None));
    }
    for (key, min) in minimums {
        let (label, count) = minimum_count(report, key, metric)?;
        let Some(pct) = count.percent() else {
            continue;
        };
        if pct + 1e-9 < *min {
            out.push(Finding::new(
                Diagnostic::new(
                    Code::CoverageMinimum,
                    format!(
                        "{label}: {pct:.1}% of {} covered ({}/{}, metric {}), below the minimum of {min}%",
                        metric.noun(),
                        count.covered,
                        count.in_scope,
                        metric.as_str()
                    ),
                ),
                None,
            ));
        }
    }
    Ok(out)
}

/// The label and count a `--min-coverage` key measures: `overall` (or `all`) or one tactic
/// (shortname, TA ID or name).
fn minimum_count(
    report: &CoverageReport,
    key: &str,
    metric: Metric,
) -> Result<(String, crate::coverage::Count), GateError> {
    if key.eq_ignore_ascii_case("overall") || key.eq_ignore_ascii_case("all") {
        return Ok(("overall".to_string(), report.totals.count(metric)));
    }
    let row = report
        .tactics
        .iter()
        .find(|t| {
            t.shortname.eq_ignore_ascii_case(key)
                || t.id.eq_ignore_ascii_case(key)
                || t.name.eq_ignore_ascii_case(key)
        })
        .ok_or_else(|| GateError::UnknownTactic {
            name: key.to_string(),
            known: report.tactics.iter().map(|t| t.shortname.clone()).collect(),
        })?;
    Ok((row.shortname.clone(), row.count(metric)))
}
