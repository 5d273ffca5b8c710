//! Self-contained HTML coverage page: the ATT&CK matrix as a heatmap, one column per tactic.
//!
//! One file, nothing fetched: CSS and a small script are inline, and a Content-Security-Policy
//! forbids every external source. Every string from rules or ATT&CK data goes through [`escape`];
//! the script never parses markup from data (it clones pre-rendered, escaped nodes), so a rule
//! titled `<script>...</script>` stays text. Sub-techniques sit in a `<details>` under their
//! parent; clicking or focusing a cell shows its rules and observability class in the side panel.

use crate::coverage::{CoverageReport, TechniqueRow};
use crate::link::Via;
use std::collections::BTreeMap;
use std::fmt::Write;

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
header{padding:12px 16px;border-bottom:1px solid #ccc}
h1{font-size:20px;margin:0 0 4px}
.meta{margin:2px 0;color:#333}
.skew{background:#fff4d6;border:1px solid #e69f00;padding:6px 10px;border-radius:4px}
.legend span{display:inline-block;padding:1px 8px;margin-right:6px;border:1px solid #bbb;border-radius:3px}
.wrap{display:flex;align-items:flex-start}
.matrix{display:flex;gap:4px;padding:8px;overflow-x:auto;flex:1}
.col{min-width:150px;max-width:190px;flex:1 0 150px}
.col h2{font-size:13px;margin:0 0 4px;padding:4px;background:#333;color:#fff;border-radius:3px;min-height:52px}
.col h2 small{display:block;font-weight:normal;color:#ddd}
.cell{display:block;border:1px solid #999;border-radius:3px;margin:0 0 3px;padding:3px 4px;cursor:pointer;word-wrap:break-word}
.cell:focus,.cell.sel{outline:2px solid #0057b8}
.cell .id{font-weight:600;font-size:11px}
.cell .n{float:right;font-weight:600}
.sub{margin-left:8px;font-size:12px}
details{margin:0 0 3px 6px}
summary{font-size:11px;color:#444;cursor:pointer}
.h0{background:#ffd6d6}.h1{background:#e4f2d0}.h2{background:#c5e3a0}.h3{background:#9fd067}.h4{background:#6db33f}
.g{background:#e6e6e6;color:#555;font-style:italic}
aside{position:sticky;top:0;width:340px;max-height:100vh;overflow:auto;padding:10px;border-left:1px solid #ccc;background:#fafafa}
aside h3{margin:0 0 4px;font-size:15px}
aside ul{padding-left:18px}
.lists{padding:8px 16px}
.lists h2{font-size:16px}
#store{display:none}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}
@media print{aside,#store{display:none}.matrix{overflow:visible;flex-wrap:wrap}.col{break-inside:avoid}
 details{display:block}.cell{border-color:#666;-webkit-print-color-adjust:exact;print-color-adjust:exact}}
"#;

const SCRIPT: &str = r#"
(function(){
  var panel=document.getElementById('panel');
  var sel=null;
  function show(cell){
    if(sel){sel.classList.remove('sel');}
    sel=cell;cell.classList.add('sel');
    var src=document.getElementById('d-'+cell.getAttribute('data-t'));
    while(panel.firstChild){panel.removeChild(panel.firstChild);}
    if(src){panel.appendChild(src.cloneNode(true));}
  }
  document.getElementById('matrix').addEventListener('click',function(e){
    var c=e.target.closest('.cell');
    if(c){e.stopPropagation();show(c);}
  });
  document.getElementById('matrix').addEventListener('keydown',function(e){
    if(e.key==='Enter'&&e.target.classList.contains('cell')){show(e.target);}
  });
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

fn details(o: &mut String, r: &CoverageReport, t: &TechniqueRow) {
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
                "<li>{} <small>[{} / {}]{}</small><br><small>{}:{} · {}</small></li>",
                escape(&rule.title),
                escape(rule.level.as_deref().unwrap_or("-")),
                escape(rule.status.as_deref().unwrap_or("-")),
                match &l.via {
                    Via::Direct => String::new(),
                    Via::SubTechnique(sub) => format!(" via {}", escape(sub)),
                },
                escape(&rule.path),
                rule.line,
                escape(&rule.logsource)
            );
        }
        o.push_str("</ul>");
    }
    o.push_str("</div>");
}

/// The whole page.
pub fn coverage(r: &CoverageReport) -> String {
    let mut o = String::with_capacity(256 * 1024);
    page_header(&mut o, r);
    matrix(&mut o, r);
    mistags(&mut o, r);
    tag_problems(&mut o, r);
    baseline(&mut o, r);
    o.push_str("</section>\n<div id=\"store\">");
    for t in &r.techniques {
        details(&mut o, r, t);
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
         <title>ATT&amp;CK coverage: {} v{}</title><style>{CSS}</style></head><body>\n",
        escape(&r.attack.domain),
        escape(&r.attack.version)
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
        "<p class=\"legend\"><span class=\"h0\">gap</span><span class=\"h1\">1 rule</span><span class=\"h2\">2–4</span>\
         <span class=\"h3\">5–9</span><span class=\"h4\">10+</span><span class=\"g\">no portable rule</span> \
         Click a technique for its rules.</p></header>\n",
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
    o.push_str("<div class=\"wrap\"><main class=\"matrix\" id=\"matrix\">\n");
    for tac in &r.tactics {
        let _ = write!(
            o,
            "<section class=\"col\" data-tactic=\"{}\"><h2>{}<small>{}/{} techniques · {}/{} subs · {} guidance</small></h2>",
            escape(&tac.shortname),
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
    o.push_str("</main><aside id=\"panel\" aria-live=\"polite\"><p>Click a technique to see its rules and observability class.</p></aside></div>\n");
}

/// Opens the lists section with the likely mis-tags.
fn mistags(o: &mut String, r: &CoverageReport) {
    o.push_str("<section class=\"lists\">");
    let mistags: Vec<_> = r.guidance.iter().filter(|g| !g.rules.is_empty()).collect();
    if !mistags.is_empty() {
        o.push_str("<h2>Likely mis-tags</h2><p>Rules claiming techniques that happen outside the defender's logs.</p><ul>");
        for g in mistags {
            let _ = write!(o, "<li>{} {}: ", escape(&g.id), escape(&g.name));
            let titles: Vec<String> = g
                .rules
                .iter()
                .filter_map(|l| r.rules.get(l.rule))
                .map(|x| escape(&x.title))
                .collect();
            o.push_str(&titles.join("; "));
            o.push_str("</li>");
        }
        o.push_str("</ul>");
    }
}

/// Tags naming unknown, revoked or deprecated techniques.
fn tag_problems(o: &mut String, r: &CoverageReport) {
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
                rule.map(|x| format!("{} ({})", escape(&x.title), escape(&x.path)))
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
