//! The Sigma condition: parsed into a tree over search identifiers (by index) and evaluated with
//! the selections' results.
//!
//! Precedence follows the specification (least to most binding): `or`, `and`, `not`,
//! `x of pattern`, parentheses. `them` covers every identifier not starting with `_`; a pattern
//! matches identifiers with `*` as any run of characters.

use std::collections::HashMap;

/// A parsed condition. Nesting is bounded by the caller (`compile::MAX_CONDITION_DEPTH`).
#[derive(Debug, Clone)]
pub(crate) enum Cond {
    Sel(usize),
    Not(Box<Cond>),
    And(Vec<Cond>),
    Or(Vec<Cond>),
    /// `x of pattern`: at least `need` of the identifiers (all of them for `all of`).
    Of {
        need: Need,
        sels: Vec<usize>,
    },
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum Need {
    All,
    AtLeast(usize),
}

impl Cond {
    pub(crate) fn eval(&self, sel: &mut impl FnMut(usize) -> bool) -> bool {
        match self {
            Cond::Sel(i) => sel(*i),
            Cond::Not(c) => !c.eval(sel),
            Cond::And(cs) => cs.iter().all(|c| c.eval(sel)),
            Cond::Or(cs) => cs.iter().any(|c| c.eval(sel)),
            Cond::Of { need, sels } => match need {
                Need::All => sels.iter().all(|&i| sel(i)),
                Need::AtLeast(n) => sels.iter().filter(|&&i| sel(i)).take(*n).count() >= *n,
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Open,
    Close,
    And,
    Or,
    Not,
    /// `1 of`, `all of`, `any of`, `3 of`.
    Of(Option<usize>),
    Ident(String),
}

fn tokenize(condition: &str) -> Vec<Tok> {
    let spaced = condition.replace('(', " ( ").replace(')', " ) ");
    let words: Vec<&str> = spaced.split_whitespace().collect();
    let mut out = Vec::with_capacity(words.len());
    let mut i = 0;
    while i < words.len() {
        let w = words[i];
        let next_is_of = words
            .get(i + 1)
            .is_some_and(|n| n.eq_ignore_ascii_case("of"));
        let tok = match w.to_ascii_lowercase().as_str() {
            "(" => Tok::Open,
            ")" => Tok::Close,
            "and" => Tok::And,
            "or" => Tok::Or,
            "not" => Tok::Not,
            "all" if next_is_of => Tok::Of(None),
            "any" if next_is_of => Tok::Of(Some(1)),
            n if next_is_of && n.parse::<usize>().is_ok_and(|n| n > 0) => Tok::Of(n.parse().ok()),
            _ => Tok::Ident(w.to_string()),
        };
        if matches!(tok, Tok::Of(_)) {
            i += 1;
        }
        out.push(tok);
        i += 1;
    }
    out
}

/// Why a condition cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConditionError {
    /// The grammar does not hold (`sel and or filter`, `(sel`).
    #[error("{0}")]
    Syntax(String),
    /// Names no search identifier defines (sigma-rust's wording, kept so reports read the same).
    #[error("Condition references undefined identifiers: '{0:?}'")]
    Undefined(Vec<String>),
    /// `x of pattern` where the pattern matches no identifier.
    #[error("`of {0}` matches no search identifier")]
    NoMatch(String),
}

/// Parses `condition` over the search identifiers `names` (in detection order).
pub(crate) fn parse(condition: &str, names: &[&str]) -> Result<Cond, ConditionError> {
    let tokens = tokenize(condition);
    if tokens.is_empty() {
        return Err(ConditionError::Syntax("the condition is empty".into()));
    }
    let mut p = Parser {
        tokens: &tokens,
        pos: 0,
        names: NameIndex::new(names.iter().copied()),
        undefined: Vec::new(),
        no_match: None,
    };
    let cond = p.or().map_err(ConditionError::Syntax)?;
    if let Some(t) = tokens.get(p.pos) {
        return Err(ConditionError::Syntax(format!(
            "the condition `{condition}` has an unexpected {} after a complete expression",
            describe(t)
        )));
    }
    if let Some(pattern) = p.no_match {
        return Err(ConditionError::NoMatch(pattern));
    }
    if !p.undefined.is_empty() {
        return Err(ConditionError::Undefined(p.undefined));
    }
    Ok(cond)
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Open => "`(`".into(),
        Tok::Close => "`)`".into(),
        Tok::And => "`and`".into(),
        Tok::Or => "`or`".into(),
        Tok::Not => "`not`".into(),
        Tok::Of(_) => "`of`".into(),
        Tok::Ident(s) => format!("identifier `{s}`"),
    }
}

struct Parser<'a> {
    tokens: &'a [Tok],
    pos: usize,
    names: NameIndex<'a>,
    undefined: Vec<String>,
    no_match: Option<String>,
}

impl Parser<'_> {
    fn eat(&mut self, t: &Tok) -> bool {
        let hit = self.tokens.get(self.pos) == Some(t);
        self.pos += usize::from(hit);
        hit
    }

    fn or(&mut self) -> Result<Cond, String> {
        let mut terms = vec![self.and()?];
        while self.eat(&Tok::Or) {
            terms.push(self.and()?);
        }
        Ok(if terms.len() == 1 {
            terms.remove(0)
        } else {
            Cond::Or(terms)
        })
    }

    fn and(&mut self) -> Result<Cond, String> {
        let mut terms = vec![self.not()?];
        while self.eat(&Tok::And) {
            terms.push(self.not()?);
        }
        Ok(if terms.len() == 1 {
            terms.remove(0)
        } else {
            Cond::And(terms)
        })
    }

    fn not(&mut self) -> Result<Cond, String> {
        if self.eat(&Tok::Not) {
            return Ok(Cond::Not(Box::new(self.not()?)));
        }
        self.atom()
    }

    fn atom(&mut self) -> Result<Cond, String> {
        let Some(tok) = self.tokens.get(self.pos).cloned() else {
            return Err("the condition ends where an identifier or `(` is expected".into());
        };
        self.pos += 1;
        match tok {
            Tok::Open => {
                let inner = self.or()?;
                if !self.eat(&Tok::Close) {
                    return Err("the condition has a `(` without its `)`".into());
                }
                Ok(inner)
            }
            Tok::Ident(name) => match self.names.position(&name) {
                Some(i) => Ok(Cond::Sel(i)),
                None => {
                    self.undefined.push(name);
                    Ok(Cond::Sel(0))
                }
            },
            Tok::Of(n) => self.of(n),
            other => Err(format!(
                "the condition has {} where an identifier or `(` is expected",
                describe(&other)
            )),
        }
    }

    fn of(&mut self, n: Option<usize>) -> Result<Cond, String> {
        let Some(Tok::Ident(pattern)) = self.tokens.get(self.pos).cloned() else {
            return Err("`of` must be followed by `them` or an identifier pattern".into());
        };
        self.pos += 1;
        let sels: Vec<usize> = self.names.matching(&pattern).map_err(|_| {
            format!("the condition's `of` patterns need more than {PATTERN_WORK} comparisons")
        })?;
        if sels.is_empty() {
            self.no_match.get_or_insert(pattern);
        }
        let need = match n {
            None => Need::All,
            Some(n) => Need::AtLeast(n),
        };
        Ok(Cond::Of { need, sels })
    }
}

/// The search identifiers of one detection, indexed so that each name or `x of pattern` in a
/// condition is found without a scan of every identifier: a hostile rule can hold tens of
/// thousands of both. The one lookup of the condition parser, `check` and the prefilter.
pub(crate) struct NameIndex<'a> {
    names: Vec<&'a str>,
    first: HashMap<&'a str, usize>,
    /// Identifier positions sorted by name, for a pattern's literal prefix.
    sorted: Vec<usize>,
    /// Pattern comparisons left (see [`PATTERN_WORK`]).
    work: std::cell::Cell<usize>,
}

/// Name-to-pattern comparisons one detection may cost. Real rules need a few dozen; past this a
/// condition is refused rather than left to run quadratic.
pub(crate) const PATTERN_WORK: usize = 1 << 20;

/// A condition whose patterns would cost more than [`PATTERN_WORK`] comparisons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TooManyComparisons;

impl<'a> NameIndex<'a> {
    pub(crate) fn new(names: impl IntoIterator<Item = &'a str>) -> Self {
        let names: Vec<&str> = names.into_iter().collect();
        let mut first = HashMap::with_capacity(names.len());
        for (i, n) in names.iter().enumerate() {
            first.entry(*n).or_insert(i);
        }
        let mut sorted: Vec<usize> = (0..names.len()).collect();
        sorted.sort_by_key(|&i| names[i]);
        NameIndex {
            names,
            first,
            sorted,
            work: std::cell::Cell::new(PATTERN_WORK),
        }
    }

    /// The position of the first identifier called `name`.
    pub(crate) fn position(&self, name: &str) -> Option<usize> {
        self.first.get(name).copied()
    }

    /// Positions (ascending) of the identifiers `pattern` matches: `them` is every identifier
    /// not starting with `_` (the specification), else [`glob`], comparing only the identifiers
    /// that share the pattern's literal prefix.
    pub(crate) fn matching(&self, pattern: &str) -> Result<Vec<usize>, TooManyComparisons> {
        if pattern.eq_ignore_ascii_case("them") {
            return Ok((0..self.names.len())
                .filter(|&i| !self.names[i].starts_with('_'))
                .collect());
        }
        let prefix = &pattern[..pattern.find('*').unwrap_or(pattern.len())];
        let start = self.sorted.partition_point(|&i| self.names[i] < prefix);
        let mut out = Vec::new();
        for &i in self.sorted[start..]
            .iter()
            .take_while(|&&i| self.names[i].starts_with(prefix))
        {
            let left = self.work.get().checked_sub(1).ok_or(TooManyComparisons)?;
            self.work.set(left);
            if glob(pattern, self.names[i]) {
                out.push(i);
            }
        }
        out.sort_unstable();
        Ok(out)
    }
}

/// Identifier pattern matching: `*` is any run of characters, everything else literal.
/// `*` matches any run of characters (also how `check` reads `1 of sel*`).
pub(crate) fn glob(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == name;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if name.len() < first.len() + last.len() || !name.starts_with(first) || !name.ends_with(last) {
        return false;
    }
    let mut rest = &name[first.len()..name.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(cond: &str, names: &[&str], truth: &[bool]) -> Result<bool, ConditionError> {
        Ok(parse(cond, names)?.eval(&mut |i| truth[i]))
    }

    #[test]
    fn precedence_and_quantifiers() {
        let n = ["a", "b", "c"];
        assert!(eval("a or b and c", &n, &[true, false, false]).unwrap());
        assert!(!eval("(a or b) and c", &n, &[true, false, false]).unwrap());
        assert!(eval("not a and b", &n, &[false, true, false]).unwrap());
        assert!(eval("2 of them", &n, &[true, false, true]).unwrap());
        assert!(!eval("all of them", &n, &[true, false, true]).unwrap());
        assert!(eval("1 of them", &["_x", "b"], &[true, false]).is_ok_and(|m| !m));
        assert!(eval("all of them", &["_x", "b"], &[false, true]).unwrap());
        assert!(glob("sel*_a*", "sel_1_ab"));
    }

    #[test]
    fn broken_conditions_are_errors() {
        let n = ["sel", "filter"];
        assert!(parse("sel and or filter", &n).is_err());
        assert!(parse("(sel", &n).is_err());
        assert!(parse("sel filter", &n).is_err());
        assert!(parse("", &n).is_err());
        assert!(parse("1 of nothing*", &n).is_err());
        let undefined = parse("sel and other", &n).unwrap_err();
        assert_eq!(
            undefined.to_string(),
            "Condition references undefined identifiers: '[\"other\"]'"
        );
    }

    #[test]
    fn globs() {
        assert!(glob("sel_*", "sel_a"));
        assert!(glob("*_x", "a_x"));
        assert!(glob("a*b*c", "a1b2c"));
        assert!(!glob("sel_*", "filter"));
        assert!(glob("*", "anything"));
        assert!(!glob("ab*ba", "aba"));
    }

    #[test]
    fn name_index_finds_names_and_patterns_like_a_scan() {
        let names = ["sel_b", "filter", "sel_a", "x_sel", "sel_a", "a1b2c"];
        let idx = NameIndex::new(names);
        assert_eq!(idx.position("sel_a"), Some(2));
        assert_eq!(idx.position("nope"), None);
        for pattern in [
            "sel_*", "*_sel", "*", "a*b*c", "*l*", "sel_a", "z*", "*sel*",
        ] {
            let scan: Vec<usize> = (0..names.len())
                .filter(|&i| glob(pattern, names[i]))
                .collect();
            assert_eq!(idx.matching(pattern), Ok(scan), "{pattern}");
        }
        assert_eq!(
            NameIndex::new(["_hidden", "a", "b"]).matching("THEM"),
            Ok(vec![1, 2])
        );
    }

    #[test]
    fn patterns_past_the_comparison_budget_are_refused() {
        let names: Vec<String> = (0..3000).map(|i| format!("s{i}x")).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        // Each `*N*` pattern compares every identifier: 400 x 3000 is past the budget.
        let cond: Vec<String> = (0..400).map(|i| format!("1 of *{i}x*")).collect();
        match parse(&cond.join(" or "), &refs) {
            Err(ConditionError::Syntax(msg)) => assert!(msg.contains("comparisons"), "{msg}"),
            other => panic!("expected a refusal, got {other:?}"),
        }
        // A prefix pattern compares only the identifiers sharing its prefix.
        let cond: Vec<String> = (0..3000).map(|i| format!("1 of s{i}x*")).collect();
        assert!(parse(&cond.join(" or "), &refs).is_ok());
    }
}
