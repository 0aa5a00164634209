//! One self-contained HTML5 page for people: inline CSS, no scripts, no
//! external assets, and a Content-Security-Policy that forbids loading
//! anything. Every piece of report text is escaped with [`escape_html`];
//! references become links only when they are `http(s)` URLs.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write;

use chrono::NaiveDate;
use palisade_core::{ComplianceRef, Severity};

use crate::{timestamp, Report, ReportError, ReportItem};

/// The policy of the page: nothing may load or run; inline styles only.
pub(crate) const CONTENT_SECURITY_POLICY: &str =
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'";

const STYLE: &str = "
:root{color-scheme:light;--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--bg:#fff;--panel:#f6f8fa}
*{box-sizing:border-box}
body{margin:0 auto;max-width:1200px;padding:24px;font:14px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:var(--fg);background:var(--bg)}
h1{font-size:24px;margin:0 0 4px}
h2{font-size:18px;margin:32px 0 8px;border-bottom:1px solid var(--line);padding-bottom:4px}
h3{font-size:16px;margin:0 0 4px}
.meta,.muted{color:var(--muted)}
code{font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:var(--panel);padding:1px 4px;border-radius:4px;word-break:break-all}
table{border-collapse:collapse;width:100%;margin:8px 0}
th,td{border:1px solid var(--line);padding:6px 8px;text-align:left;vertical-align:top}
th{background:var(--panel);font-weight:600}
.badges{display:flex;flex-wrap:wrap;gap:8px;margin:12px 0}
.badge{display:inline-block;border-radius:12px;padding:2px 10px;font-weight:600;font-size:12px;color:#fff;white-space:nowrap}
.sev-critical{background:#8b0000}.sev-high{background:#d1242f}.sev-medium{background:#bc4c00}.sev-low{background:#0969da}.sev-info{background:#59636e}
.badge.big{font-size:14px;padding:4px 14px}
.rule{border:1px solid var(--line);border-radius:8px;padding:16px;margin:16px 0}
.rule dl{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px;margin:8px 0}
.rule dt{font-weight:600}.rule dd{margin:0}
.rule ul{margin:0;padding-left:18px}
tr.suppressed td{color:var(--muted);background:var(--panel)}
.evidence{margin-top:4px}
footer{margin-top:32px;color:var(--muted);font-size:12px}
";

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            '\0' => escaped.push('\u{FFFD}'),
            c => escaped.push(c),
        }
    }
    escaped
}

/// The metadata shown for one group of findings.
struct Group<'a> {
    rule_id: &'a str,
    title: &'a str,
    severity: Severity,
    category: &'static str,
    description: &'a str,
    remediation: &'a str,
    references: &'a [String],
    compliance: &'a [ComplianceRef],
    items: Vec<&'a ReportItem>,
}

fn groups(report: &Report) -> Vec<Group<'_>> {
    let mut by_rule: BTreeMap<&str, Vec<&ReportItem>> = BTreeMap::new();
    for item in report.sorted_items() {
        by_rule
            .entry(item.finding.rule_id.as_str())
            .or_default()
            .push(item);
    }
    let mut groups: Vec<Group<'_>> = by_rule
        .into_iter()
        .map(|(rule_id, items)| {
            // Items are sorted by severity, so the first is the most severe.
            let first = &items[0].finding;
            let severity = first.severity;
            match report.rule(rule_id) {
                Some(rule) => Group {
                    rule_id,
                    title: &rule.title,
                    severity,
                    category: rule.category.as_str(),
                    description: &rule.description,
                    remediation: &rule.remediation,
                    references: &rule.references,
                    compliance: &rule.compliance,
                    items,
                },
                None => Group {
                    rule_id,
                    title: &first.title,
                    severity,
                    category: first.category.as_str(),
                    description: "",
                    remediation: &first.remediation,
                    references: &first.references,
                    compliance: &first.compliance,
                    items,
                },
            }
        })
        .collect();
    groups.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.rule_id.cmp(b.rule_id))
    });
    groups
}

pub(crate) fn render(report: &Report, out: &mut dyn Write) -> Result<(), ReportError> {
    let page = page(report);
    out.write_all(page.as_bytes())?;
    Ok(())
}

// `write!` into a `String` cannot fail; the results are ignored on purpose.
fn page(report: &Report) -> String {
    let e = escape_html;
    let day = report.day();
    let summary = report.summary();
    let groups = groups(report);
    let mut h = String::with_capacity(16 * 1024);

    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{csp}\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{tool} report, {date}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        csp = CONTENT_SECURITY_POLICY,
        tool = e(&report.tool_name),
        date = e(&timestamp(&report.generated_at)),
    );

    let _ = write!(
        h,
        "<header>\n<h1>{tool} security report</h1>\n\
         <p class=\"meta\">{tool} {version} &middot; generated <time datetime=\"{at}\">{at}</time></p>\n\
         </header>\n",
        tool = e(&report.tool_name),
        version = e(&report.tool_version),
        at = e(&timestamp(&report.generated_at)),
    );

    // Summary.
    let _ = write!(
        h,
        "<section id=\"summary\">\n<h2>Summary</h2>\n<div class=\"badges\">\n"
    );
    for severity in Severity::ALL_DESCENDING {
        let _ = writeln!(
            h,
            "<span class=\"badge big sev-{s}\">{n} {s}</span>",
            s = severity.as_str(),
            n = summary.count(severity),
        );
    }
    let _ = writeln!(h, "</div>");
    let _ = writeln!(
        h,
        "<p>{total} {noun}, {suppressed} suppressed, {errors} scan {enoun}.</p>",
        total = summary.total,
        noun = if summary.total == 1 {
            "finding"
        } else {
            "findings"
        },
        suppressed = summary.suppressed,
        errors = summary.errors,
        enoun = if summary.errors == 1 {
            "error"
        } else {
            "errors"
        },
    );
    if !groups.is_empty() {
        let _ = writeln!(
            h,
            "<table>\n<thead><tr><th>Severity</th><th>Rule</th><th>Id</th><th>Findings</th></tr></thead>\n<tbody>"
        );
        for (index, group) in groups.iter().enumerate() {
            let _ = writeln!(
                h,
                "<tr><td><span class=\"badge sev-{s}\">{s}</span></td><td><a href=\"#rule-{i}\">{title}</a></td><td><code>{id}</code></td><td>{n}</td></tr>",
                s = group.severity.as_str(),
                i = index + 1,
                title = e(group.title),
                id = e(group.rule_id),
                n = group.items.len(),
            );
        }
        let _ = writeln!(h, "</tbody>\n</table>");
    }
    let _ = writeln!(h, "</section>");

    // Findings by rule.
    let _ = writeln!(h, "<section id=\"findings\">\n<h2>Findings</h2>");
    if groups.is_empty() {
        let _ = writeln!(h, "<p>No findings.</p>");
    }
    for (index, group) in groups.iter().enumerate() {
        write_group(&mut h, index + 1, group, day);
    }
    let _ = writeln!(h, "</section>");

    // Scan errors.
    let errors = report.sorted_errors();
    let _ = writeln!(h, "<section id=\"errors\">\n<h2>Scan errors</h2>");
    if errors.is_empty() {
        let _ = writeln!(h, "<p>None: every input was read.</p>");
    } else {
        let _ = writeln!(
            h,
            "<p class=\"muted\">These inputs could not be scanned; findings in them may be missing.</p>\n\
             <table>\n<thead><tr><th>Path</th><th>Line</th><th>Message</th></tr></thead>\n<tbody>"
        );
        for error in errors {
            let _ = writeln!(
                h,
                "<tr><td><code>{path}</code></td><td>{line}</td><td>{message}</td></tr>",
                path = e(&error.path),
                line = error.line.map(|l| l.to_string()).unwrap_or_default(),
                message = e(&error.message),
            );
        }
        let _ = writeln!(h, "</tbody>\n</table>");
    }
    let _ = writeln!(h, "</section>");

    let _ = write!(
        h,
        "<footer>Generated by {tool} {version}.</footer>\n</body>\n</html>\n",
        tool = e(&report.tool_name),
        version = e(&report.tool_version),
    );
    h
}

fn write_group(h: &mut String, index: usize, group: &Group<'_>, day: NaiveDate) {
    let e = escape_html;
    let _ = write!(
        h,
        "<section class=\"rule\" id=\"rule-{index}\">\n\
         <h3><span class=\"badge sev-{s}\">{s}</span> {title}</h3>\n\
         <p class=\"meta\"><code>{id}</code> &middot; {category} &middot; {n} {noun}</p>\n<dl>\n",
        s = group.severity.as_str(),
        title = e(group.title),
        id = e(group.rule_id),
        category = e(group.category),
        n = group.items.len(),
        noun = if group.items.len() == 1 {
            "finding"
        } else {
            "findings"
        },
    );
    if !group.description.trim().is_empty() {
        let _ = writeln!(h, "<dt>Description</dt><dd>{}</dd>", e(group.description));
    }
    if !group.remediation.trim().is_empty() {
        let _ = writeln!(h, "<dt>Remediation</dt><dd>{}</dd>", e(group.remediation));
    }
    if !group.references.is_empty() {
        let _ = write!(h, "<dt>References</dt><dd><ul>");
        for reference in group.references {
            let _ = write!(h, "<li>{}</li>", link(reference));
        }
        let _ = writeln!(h, "</ul></dd>");
    }
    if !group.compliance.is_empty() {
        let _ = write!(h, "<dt>Compliance</dt><dd><ul>");
        for control in group.compliance {
            let _ = write!(
                h,
                "<li>{} <code>{}</code></li>",
                e(&control.framework),
                e(&control.control)
            );
        }
        let _ = writeln!(h, "</ul></dd>");
    }
    let _ = writeln!(h, "</dl>");

    let _ = writeln!(
        h,
        "<table>\n<thead><tr><th>Severity</th><th>Resource</th><th>Location</th><th>Message</th><th>Status</th></tr></thead>\n<tbody>"
    );
    for item in &group.items {
        let finding = &item.finding;
        let suppressed = item.is_suppressed_on(day);
        let location = match &finding.location {
            Some(l) if l.end_line > l.start_line => {
                format!("{}:{}-{}", l.path, l.start_line, l.end_line)
            }
            Some(l) => format!("{}:{}", l.path, l.start_line),
            None => finding.resource.file.clone().unwrap_or_default(),
        };
        let mut resource = format!(
            "<code>{}</code><br><span class=\"muted\">{}</span>",
            e(&finding.resource.id),
            e(&finding.resource.kind)
        );
        for extra in [&finding.resource.account, &finding.resource.region]
            .into_iter()
            .flatten()
        {
            let _ = write!(resource, " <span class=\"muted\">{}</span>", e(extra));
        }
        let mut message = e(&finding.message);
        if let Some(evidence) = &finding.evidence {
            let _ = write!(
                message,
                "<div class=\"evidence\"><code>{}</code></div>",
                e(evidence)
            );
        }
        let _ = writeln!(
            h,
            "<tr{class}><td><span class=\"badge sev-{s}\">{s}</span></td><td>{resource}</td><td>{location}</td><td>{message}</td><td>{status}</td></tr>",
            class = if suppressed { " class=\"suppressed\"" } else { "" },
            s = finding.severity.as_str(),
            location = if location.is_empty() {
                "&mdash;".to_string()
            } else {
                format!("<code>{}</code>", e(&location))
            },
            status = status(item, day),
        );
    }
    let _ = writeln!(h, "</tbody>\n</table>\n</section>");
}

/// The status cell, already escaped.
fn status(item: &ReportItem, day: NaiveDate) -> String {
    let e = escape_html;
    let mut parts = Vec::new();
    if let Some(status) = &item.status {
        parts.push(e(status));
    }
    if let Some(suppression) = item
        .finding
        .suppression
        .as_ref()
        .filter(|s| s.is_active_on(day))
    {
        let mut text = format!(
            "suppressed inline ({}): {}",
            e(&suppression.source),
            e(&suppression.reason)
        );
        if let Some(expires) = suppression.expires {
            let _ = write!(text, ", until {expires}");
        }
        parts.push(text);
    }
    for (label, at) in [
        ("first seen", &item.first_seen),
        ("last seen", &item.last_seen),
        ("SLA due", &item.sla_due_at),
    ] {
        if let Some(at) = at {
            parts.push(format!(
                "<span class=\"muted\">{label} {}</span>",
                e(&at.format("%Y-%m-%d").to_string())
            ));
        }
    }
    if parts.is_empty() {
        "&mdash;".to_string()
    } else {
        parts.join("<br>")
    }
}

/// A reference as a link when it is a web URL, else as text.
fn link(reference: &str) -> String {
    let lower = reference.trim_start().to_ascii_lowercase();
    if lower.starts_with("https://") || lower.starts_with("http://") {
        format!(
            "<a href=\"{url}\" rel=\"noopener noreferrer\">{url}</a>",
            url = escape_html(reference.trim())
        )
    } else {
        escape_html(reference)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape_html("<script>alert(\"x\" & 'y')</script>"),
            "&lt;script&gt;alert(&quot;x&quot; &amp; &#39;y&#39;)&lt;/script&gt;"
        );
        assert_eq!(escape_html("plain"), "plain");
    }

    #[test]
    fn only_web_references_become_links() {
        assert_eq!(
            link("https://example.com/?a=1&b=\"2\""),
            "<a href=\"https://example.com/?a=1&amp;b=&quot;2&quot;\" rel=\"noopener noreferrer\">https://example.com/?a=1&amp;b=&quot;2&quot;</a>"
        );
        assert_eq!(link("javascript:alert(1)"), "javascript:alert(1)");
        assert_eq!(link("CIS 2.1.1 <b>"), "CIS 2.1.1 &lt;b&gt;");
    }
}
