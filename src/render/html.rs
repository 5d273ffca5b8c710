//! Self-contained HTML coverage page: the ATT&CK matrix as a heatmap, one column per tactic.
//!
//! One file, nothing fetched: CSS and a small script are inline, and a Content-Security-Policy
//! forbids every external source. Every string from rules or ATT&CK data goes through [`escape`];
//! the script never parses markup from data (it clones pre-rendered, escaped nodes), so a rule
//! titled `<script>...</script>` stays text. Sub-techniques sit in a `<details>` under their
//! parent; clicking a cell (or Enter on it) opens its rules and observability class in a drawer
//! over the page, so the matrix keeps the whole width: every tactic column fits a 1400-px screen.
//! Tactics with nothing a rule can cover in scope (all guidance: Reconnaissance and Resource
//! Development, the PRE tactics) start folded to a narrow column. Colours come from
//! [`super::palette`], readable without colour vision; rule paths are shown from the repository
//! root and, with a link base, link to the rule file.

use super::palette::{GAP, GAP_TEXT, GUIDANCE, SCALE, SCALE_TEXT};
use super::paths::RepoPaths;
use crate::coverage::{CoverageReport, Metric, TechniqueRow};
use crate::link::Via;
use std::collections::BTreeMap;
use std::fmt::Write;

/// How rule paths are shown and linked.
#[derive(Debug, Clone, Default)]
pub struct HtmlOptions {
    pub paths: RepoPaths,
    /// Base URL the repository-relative rule paths are appended to (checked by
    /// [`super::navigator::check_link_base`]); no links without it.
    pub link_base: Option<String>,
}

/// Escapes text for HTML element content and quoted attribute values: `& < > " '`.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => {
                let _ = write!(out, "&#x{:x};", c as u32);
            }
            // A character reference would still reorder the page: bidi controls are shown.
            '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

const CSS: &str = r#"
*{box-sizing:border-box}
body{font:13px/1.35 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d1d1f;background:#fff}
header{padding:10px 16px;border-bottom:1px solid #ccc}
h1{font-size:20px;margin:0 0 4px}
.meta{margin:2px 0;color:#333}
.skew{background:#fff4d6;border:1px solid #e69f00;padding:6px 10px;border-radius:4px}
.legend span{display:inline-block;padding:1px 8px;margin-right:6px;border:1px solid #777;border-radius:3px}
.matrix{display:flex;gap:3px;padding:8px;align-items:flex-start}
.col{flex:1 1 0;min-width:0}
.col h2{font-size:11px;margin:0 0 3px;padding:3px 4px;background:#333;color:#fff;border-radius:3px;min-height:64px;overflow-wrap:anywhere}
.col h2 small{display:block;font-weight:normal;color:#ddd}
.fold{float:right;border:0;background:#555;color:#fff;border-radius:2px;font-size:10px;padding:0 4px;cursor:pointer}
.col.folded{flex:0 0 30px}
.col.folded .cell,.col.folded details,.col.folded h2 small{display:none}
.col.folded h2{writing-mode:vertical-rl;min-height:180px;padding:4px 2px}
.col.folded .fold{float:none;margin-bottom:4px}
.cell{display:block;border:1px solid #777;border-radius:3px;margin:0 0 2px;padding:2px 3px;cursor:pointer;font-size:11px;line-height:1.2;overflow-wrap:anywhere}
.cell:focus,.cell.sel{outline:2px solid #0057b8;outline-offset:1px}
.cell .id{font-weight:600;font-size:10px}
.cell .nm{display:block}
.cell .n{float:right;font-weight:600}
.sub{margin-left:4px}
details{margin:0 0 2px 3px}
summary{font-size:10px;color:#444;cursor:pointer}
.h0{background:@GAP;color:@GAPT}.h1{background:@S0;color:@T0}.h2{background:@S1;color:@T1}.h3{background:@S2;color:@T2}.h4{background:@S3;color:@T3}
.g{background:@GUIDE;color:#444;font-style:italic}
#panel{position:fixed;top:0;right:0;height:100vh;width:min(460px,92vw);overflow:auto;padding:12px 14px;background:#fafafa;border-left:1px solid #888;box-shadow:-4px 0 14px rgba(0,0,0,.25);transform:translateX(105%);transition:transform .15s;z-index:10;overflow-wrap:anywhere}
#panel.open{transform:none}
#panel h3{margin:0 0 4px;font-size:15px}
#panel ul{padding-left:18px}
#close{float:right;font-size:16px;border:1px solid #999;background:#fff;border-radius:3px;cursor:pointer}
.lists{padding:8px 16px}
.lists h2{font-size:16px}
#store{display:none}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px;text-align:left;vertical-align:top}
.bars td.pct{text-align:right;white-space:nowrap}
.bar{width:320px}.bar div{height:12px;background:#e6e6e6;border:1px solid #999}.bar span{display:block;height:100%;background:@S3}
@media print{#panel,#store,.fold{display:none}.matrix{flex-wrap:wrap}.col{break-inside:avoid}.col.folded{flex:1 1 0}
 .col.folded .cell,.col.folded details,.col.folded h2 small{display:block}.col.folded h2{writing-mode:horizontal-tb;min-height:0}
 details{display:block}.cell{-webkit-print-color-adjust:exact;print-color-adjust:exact}}
"#;

/// [`CSS`] with the palette filled in (one source of colour for every visual format).
fn css() -> String {
    CSS.replace("@GAPT", GAP_TEXT)
        .replace("@GAP", GAP)
        .replace("@GUIDE", GUIDANCE)
        .replace("@S0", SCALE[0])
        .replace("@S1", SCALE[1])
        .replace("@S2", SCALE[2])
        .replace("@S3", SCALE[3])
        .replace("@T0", SCALE_TEXT[0])
        .replace("@T1", SCALE_TEXT[1])
        .replace("@T2", SCALE_TEXT[2])
        .replace("@T3", SCALE_TEXT[3])
}

const SCRIPT: &str = r#"
(function(){
  var panel=document.getElementById('panel');
  var body=document.getElementById('panel-body');
  var sel=null;
  function show(cell){
    if(sel){sel.classList.remove('sel');}
    sel=cell;cell.classList.add('sel');
    var src=document.getElementById('d-'+cell.getAttribute('data-t'));
    while(body.firstChild){body.removeChild(body.firstChild);}
    if(src){body.appendChild(src.cloneNode(true));}
    panel.classList.add('open');
  }
  function hide(){
    panel.classList.remove('open');
    if(sel){sel.classList.remove('sel');sel.focus();sel=null;}
  }
  function fold(btn){
    var col=btn.closest('.col');
    var folded=col.classList.toggle('folded');
    btn.setAttribute('aria-expanded',folded?'false':'true');
    btn.textContent=folded?'+':'\u2212';
  }
  var m=document.getElementById('matrix');
  m.addEventListener('click',function(e){
    var f=e.target.closest('.fold');
    if(f){fold(f);return;}
    var c=e.target.closest('.cell');
    if(c){e.stopPropagation();show(c);}
  });
  m.addEventListener('keydown',function(e){
    if(e.key==='Enter'&&e.target.classList.contains('cell')){show(e.target);}
  });
  document.getElementById('close').addEventListener('click',hide);
  document.addEventListener('keydown',function(e){if(e.key==='Escape'){hide();}});
})();
"#;

fn heat(t: &TechniqueRow) -> &'static str {
    if t.guidance {
        return "g";
    }
    match t.rules.len() {
        0 => "h0",
        1 => "h1",
        2..=4 => "h2",
        5..=9 => "h3",
        _ => "h4",
    }
}

fn cell(o: &mut String, t: &TechniqueRow, tactic: &str, sub: bool) {
    let status = if t.guidance {
        "no portable rule (guidance)".to_string()
    } else if t.rules.is_empty() {
        "gap: no rule".to_string()
    } else {
        format!("{} rule(s), tier {}", t.rules.len(), t.tier.as_str())
    };
    let _ = write!(
        o,
        "<div class=\"cell {}{}\" data-cell=\"1\" data-t=\"{}\" data-tactic=\"{}\" tabindex=\"0\" title=\"{} {} ({})\"><span class=\"n\">{}</span><span class=\"id\">{}</span> <span class=\"nm\">{}</span></div>",
        heat(t),
        if sub { " sub" } else { "" },
        escape(&t.id),
        escape(tactic),
        escape(&t.id),
        escape(&t.name),
        escape(&status),
        if t.guidance { "–".to_string() } else { t.rules.len().to_string() },
        escape(&t.id),
        escape(&t.name),
    );
}

/// A rule's place, `path:line` from the repository root, linked when there is a link base.
fn rule_place(path: &str, line: usize, opts: &HtmlOptions) -> String {
    let shown = opts.paths.show(path);
    let text = format!("{}:{line}", escape(&shown));
    match &opts.link_base {
        Some(base) => format!(
            "<a href=\"{}\">{text}</a>",
            escape(&super::navigator::url_join(base, &shown))
        ),
        None => text,
    }
}

fn details(o: &mut String, r: &CoverageReport, t: &TechniqueRow, opts: &HtmlOptions) {
    let _ = write!(
        o,
        "<div id=\"d-{}\"><h3>{} {}</h3><p>Class: {} ({}){}<br>Tier: {}<br>Tactics: {}</p>",
        escape(&t.id),
        escape(&t.id),
        escape(&t.name),
        escape(super::class_label(t.class)),
        escape(&t.class_reason),
        if t.guidance {
            " (reported apart: rules claiming it are likely mis-tags)"
        } else {
            ""
        },
        t.tier.as_str(),
        escape(&t.tactics.join(", "))
    );
    if t.rules.is_empty() {
        o.push_str("<p>No rule in scope.</p>");
    } else {
        let _ = write!(o, "<p>{} rule(s):</p><ul>", t.rules.len());
        for l in &t.rules {
            let Some(rule) = r.rules.get(l.rule) else {
                continue;
            };
            let _ = write!(
                o,
                "<li>{} <small>[{} / {}]{}</small><br><small>{} · {}</small></li>",
                escape(&rule.title),
                escape(rule.level.as_deref().unwrap_or("-")),
                escape(rule.status.as_deref().unwrap_or("-")),
                match &l.via {
                    Via::Direct => String::new(),
                    Via::SubTechnique(sub) => format!(" via {}", escape(sub)),
                },
                rule_place(&rule.path, rule.line, opts),
                escape(&rule.logsource)
            );
        }
        o.push_str("</ul>");
    }
    o.push_str("</div>");
}

/// The whole page, rule paths as given.
pub fn coverage(r: &CoverageReport) -> String {
    coverage_with(r, &HtmlOptions::default())
}

/// The whole page.
pub fn coverage_with(r: &CoverageReport, opts: &HtmlOptions) -> String {
    let mut o = String::with_capacity(256 * 1024);
    page_header(&mut o, r);
    matrix(&mut o, r);
    o.push_str("<section class=\"lists\">");
    tactic_bars(&mut o, r);
    gaps(&mut o, r);
    mistags(&mut o, r);
    tag_problems(&mut o, r, opts);
    baseline(&mut o, r);
    o.push_str("</section>\n<div id=\"store\">");
    for t in &r.techniques {
        details(&mut o, r, t, opts);
    }
    let _ = write!(o, "</div>\n<script>{SCRIPT}</script>\n</body></html>\n");
    o
}

/// Document head, title block and legend.
fn page_header(o: &mut String, r: &CoverageReport) {
    let t = &r.totals;
    let measurable = t.techniques.in_scope + t.subtechniques.in_scope;
    let covered = t.techniques.covered + t.subtechniques.covered;
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>ATT&amp;CK coverage: {} v{}</title><style>{}</style></head><body>\n",
        escape(&r.attack.domain),
        escape(&r.attack.version),
        css()
    );
    let _ = write!(
        o,
        "<header><h1>ATT&amp;CK coverage</h1>\
         <p class=\"meta\">ATT&amp;CK {} v{} ({}) · scope: {}</p>\
         <p class=\"meta\">Rules: {} loaded from {} files ({} files not loaded), {} in scope, {} cover a technique</p>\
         <p class=\"meta\"><b>{covered} of {measurable}</b> techniques and sub-techniques covered: techniques {}/{}, sub-techniques {}/{}; \
         guidance (no portable rule): {} ({} claimed by rules); tiers: tagged {}, runnable {}, validated {}</p>",
        escape(&r.attack.domain),
        escape(&r.attack.version),
        escape(&r.attack.label()),
        escape(&r.scope.description),
        r.load.rules_loaded,
        r.load.files_seen,
        r.load.files_reported,
        t.rules_in_scope,
        t.rules_covering,
        t.techniques.covered,
        t.techniques.in_scope,
        t.subtechniques.covered,
        t.subtechniques.in_scope,
        t.guidance,
        t.guidance_claimed,
        r.tiers.tagged,
        r.tiers.runnable.map_or("-".to_string(), |n| n.to_string()),
        r.tiers.validated.map_or("-".to_string(), |n| n.to_string()),
    );
    if let Some(skew) = &r.skew {
        let _ = write!(
            o,
            "<p class=\"skew\" role=\"alert\"><b>Warning:</b> {}</p>",
            escape(&skew.summary())
        );
    }
    o.push_str(
        "<p class=\"legend\"><span class=\"h0\">gap: no rule</span><span class=\"h1\">1 rule</span><span class=\"h2\">2–4</span>\
         <span class=\"h3\">5–9</span><span class=\"h4\">10+</span><span class=\"g\">no portable rule</span> \
         Click a technique for its rules; <a href=\"#bars\">coverage by tactic</a>, <a href=\"#gaps\">gaps</a>.</p></header>\n",
    );
}

/// The matrix: one column per tactic, sub-techniques folded under their parent.
fn matrix(o: &mut String, r: &CoverageReport) {
    // Sub-techniques by (parent, tactic); parents shown at top level.
    let in_report: BTreeMap<&str, &TechniqueRow> =
        r.techniques.iter().map(|t| (t.id.as_str(), t)).collect();
    let mut subs: BTreeMap<(&str, &str), Vec<&TechniqueRow>> = BTreeMap::new();
    for t in &r.techniques {
        if let Some(p) = t.parent.as_deref() {
            for tac in &t.tactics {
                if in_report.get(p).is_some_and(|pt| pt.tactics.contains(tac)) {
                    subs.entry((p, tac.as_str())).or_default().push(t);
                }
            }
        }
    }
    o.push_str("<main class=\"matrix\" id=\"matrix\">\n");
    for tac in &r.tactics {
        // Nothing a rule can cover (the PRE tactics): folded to a narrow column.
        let folded = tac.count(Metric::All).in_scope == 0;
        let _ = write!(
            o,
            "<section class=\"col{}\" data-tactic=\"{}\"><h2><button class=\"fold\" type=\"button\" aria-expanded=\"{}\" title=\"fold or unfold\">{}</button>{}<small>{}/{} techniques · {}/{} subs · {} guidance</small></h2>",
            if folded { " folded" } else { "" },
            escape(&tac.shortname),
            !folded,
            if folded { "+" } else { "−" },
            escape(&tac.name),
            tac.techniques.covered,
            tac.techniques.in_scope,
            tac.subtechniques.covered,
            tac.subtechniques.in_scope,
            tac.guidance
        );
        let mut top: Vec<&TechniqueRow> = r
            .techniques
            .iter()
            .filter(|t| t.tactics.contains(&tac.shortname))
            .filter(|t| {
                // Nested under the parent when the parent is shown in this column.
                !t.parent.as_deref().is_some_and(|p| {
                    in_report
                        .get(p)
                        .is_some_and(|pt| pt.tactics.contains(&tac.shortname))
                })
            })
            .collect();
        top.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
        for t in top {
            cell(o, t, &tac.shortname, t.is_sub);
            if let Some(list) = subs.get(&(t.id.as_str(), tac.shortname.as_str())) {
                let n = list.iter().filter(|s| !s.rules.is_empty()).count();
                let _ = write!(
                    o,
                    "<details><summary>{} sub-techniques, {} with rules</summary>",
                    list.len(),
                    n
                );
                for s in list {
                    cell(o, s, &tac.shortname, true);
                }
                o.push_str("</details>");
            }
        }
        o.push_str("</section>\n");
    }
    o.push_str("</main><aside id=\"panel\" aria-live=\"polite\" aria-label=\"technique details\"><button id=\"close\" type=\"button\" aria-label=\"close\">×</button><div id=\"panel-body\"></div></aside>\n");
}

/// Per-tactic coverage bars: techniques and sub-techniques together (the report's headline
/// metric), guidance apart.
fn tactic_bars(o: &mut String, r: &CoverageReport) {
    o.push_str("<h2 id=\"bars\">Coverage by tactic</h2><table class=\"bars\"><tr><th>Tactic</th><th>Covered</th><th>%</th><th class=\"bar\">techniques and sub-techniques</th><th>Guidance</th><th>Rules</th></tr>");
    for tac in &r.tactics {
        let c = tac.count(Metric::All);
        let pct = c.percent();
        let _ = write!(
            o,
            "<tr><td>{}</td><td class=\"pct\">{}/{}</td><td class=\"pct\">{}</td><td class=\"bar\"><div><span style=\"width:{:.1}%\"></span></div></td><td class=\"pct\">{}</td><td class=\"pct\">{}</td></tr>",
            escape(&tac.name),
            c.covered,
            c.in_scope,
            pct.map_or("-".to_string(), |p| format!("{p:.1}%")),
            pct.unwrap_or(0.0),
            tac.guidance,
            tac.rules
        );
    }
    o.push_str("</table>");
}

/// Every gap: technique, first tactic, class and why.
fn gaps(o: &mut String, r: &CoverageReport) {
    let names: BTreeMap<&str, &str> = r
        .tactics
        .iter()
        .map(|t| (t.shortname.as_str(), t.name.as_str()))
        .collect();
    let _ = write!(
        o,
        "<h2 id=\"gaps\">Gaps ({} techniques without a rule)</h2>",
        r.gaps.len()
    );
    if r.gaps.is_empty() {
        return;
    }
    o.push_str("<table class=\"gaps\"><tr><th>ID</th><th>Technique</th><th>Tactic</th><th>Class</th><th>Seen by / why not portable</th></tr>");
    for g in &r.gaps {
        let _ = write!(
            o,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&g.id),
            escape(&g.name),
            escape(names.get(g.tactic.as_str()).copied().unwrap_or(&g.tactic)),
            escape(super::class_label(g.class)),
            escape(&g.class_reason)
        );
    }
    o.push_str("</table>");
}

/// The guidance techniques rules claim: likely mis-tags first, then the other claims.
fn mistags(o: &mut String, r: &CoverageReport) {
    guidance_claims(o, r, true, "<h2>Likely mis-tags</h2><p>Rules claiming techniques that happen outside the defender's logs, whose detection points elsewhere.</p>");
    guidance_claims(o, r, false, "<h2>Claimed guidance techniques</h2><p>Rules whose content does not contradict the tag.</p>");
}

/// One list of guidance claims: the rules whose `likely_mistag` is `mistag`, by technique.
fn guidance_claims(o: &mut String, r: &CoverageReport, mistag: bool, heading: &str) {
    let mut items = String::new();
    for g in &r.guidance {
        let titles: Vec<String> = g
            .rules
            .iter()
            .filter(|x| x.likely_mistag == mistag)
            .filter_map(|x| r.rules.get(x.link.rule).map(|rule| (x, rule)))
            .map(|(x, rule)| match (x.score, &x.suggested) {
                (Some(score), Some(s)) if mistag => format!(
                    "{} (score {score:.2}, points at {} {:.2})",
                    escape(&rule.title),
                    escape(&s.technique),
                    s.score
                ),
                (Some(score), _) => format!("{} (score {score:.2})", escape(&rule.title)),
                (None, _) => escape(&rule.title),
            })
            .collect();
        if !titles.is_empty() {
            let _ = write!(
                items,
                "<li>{} {}: {}</li>",
                escape(&g.id),
                escape(&g.name),
                titles.join("; ")
            );
        }
    }
    if !items.is_empty() {
        let _ = write!(o, "{heading}<ul>{items}</ul>");
    }
}

/// Tags naming unknown, revoked or deprecated techniques.
fn tag_problems(o: &mut String, r: &CoverageReport, opts: &HtmlOptions) {
    if !r.tag_problems.items.is_empty() {
        let counts: Vec<String> = r
            .tag_problems
            .counts
            .iter()
            .map(|(k, v)| format!("{v} {k}"))
            .collect();
        let _ = write!(
            o,
            "<h2>Tag problems</h2><p>{}</p><table><tr><th>Problem</th><th>Tag</th><th>Replacement</th><th>Rule</th></tr>",
            escape(&counts.join(", "))
        );
        for p in &r.tag_problems.items {
            let rule = r.rules.get(p.rule);
            let _ = write!(
                o,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                p.problem,
                escape(&p.technique),
                escape(p.replacement.as_deref().unwrap_or("")),
                rule.map(|x| format!(
                    "{} ({})",
                    escape(&x.title),
                    rule_place(&x.path, x.line, opts)
                ))
                .unwrap_or_default()
            );
        }
        o.push_str("</table>");
    }
}

/// What was lost and gained since the baseline.
fn baseline(o: &mut String, r: &CoverageReport) {
    if let Some(b) = &r.baseline {
        let _ = write!(
            o,
            "<h2>Since baseline</h2><p>{} lost, {} gained, {} changed, {} left scope</p><ul>",
            b.lost.len(),
            b.gained.len(),
            b.changed.len(),
            b.left_scope.len()
        );
        for (label, list) in [("lost", &b.lost), ("gained", &b.gained)] {
            for c in list.iter() {
                let _ = write!(
                    o,
                    "<li>{label} {} {}: {} → {}</li>",
                    escape(&c.id),
                    escape(&c.name),
                    c.before.as_str(),
                    c.after.as_str()
                );
            }
        }
        for v in &b.version {
            let _ = write!(
                o,
                "<li>changed by the ATT&amp;CK release (not lost) {} {}: {}{}</li>",
                escape(&v.id),
                escape(&v.name),
                v.reason.phrase(),
                v.replacement
                    .as_ref()
                    .map(|r| format!(" (now {})", escape(r)))
                    .unwrap_or_default()
            );
        }
        o.push_str("</ul>");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_the_five() {
        assert_eq!(
            escape(r#"<script>a&b "c" 'd'</script>"#),
            "&lt;script&gt;a&amp;b &quot;c&quot; &#39;d&#39;&lt;/script&gt;"
        );
        assert_eq!(escape("a\u{1b}b"), "a&#x1b;b");
        assert_eq!(escape("a\u{202e}b\u{85}"), "a\\u{202e}b&#x85;");
    }
}
