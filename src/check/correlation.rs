//! Correlation rules and Sigma filters: their content (type, timespan, condition, fields,
//! aliases, the filter's selection) and their references to other rules of the set. The rules
//! layer ([`crate::rules::references`]) finds the problems; this module places them on their lines.

use super::{Finding, RuleCtx};
use crate::rules::references;
use crate::rules::RuleRecord;

pub fn check(rules: &[RuleRecord]) -> Vec<Finding> {
    let meta = references::resolve(rules);
    let mut out = Vec::with_capacity(meta.problems.len());
    for p in meta.problems {
        let mut ctx = RuleCtx::new(&rules[p.rule]);
        let pos = ctx.key_pos(&p.key);
        ctx.push(p.code, pos, p.message);
        out.extend(ctx.out);
    }
    out
}
