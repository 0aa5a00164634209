//! Charts drawn on the server as SVG: no script, readable without colour
//! (every chart has a text title and the numbers are in a table next to it).

use std::fmt::Write as _;

use chrono::NaiveDate;

/// Escapes text for SVG/XML content and attributes.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A line chart of one count per day, scaled to its maximum.
pub fn trend_chart(points: &[(NaiveDate, u64)], label: &str) -> String {
    const WIDTH: f64 = 600.0;
    const HEIGHT: f64 = 160.0;
    const PAD: f64 = 24.0;
    let max = points.iter().map(|p| p.1).max().unwrap_or(0).max(1) as f64;
    let step = if points.len() > 1 {
        (WIDTH - 2.0 * PAD) / (points.len() - 1) as f64
    } else {
        0.0
    };
    let mut path = String::new();
    for (i, (_, value)) in points.iter().enumerate() {
        let x = PAD + step * i as f64;
        let y = HEIGHT - PAD - (*value as f64 / max) * (HEIGHT - 2.0 * PAD);
        let _ = write!(path, "{}{x:.1},{y:.1} ", if i == 0 { "M" } else { "L" });
    }
    let first = points.first().map(|p| p.0.to_string()).unwrap_or_default();
    let last = points.last().map(|p| p.0.to_string()).unwrap_or_default();
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg class=\"chart\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" aria-labelledby=\"trend-title\" xmlns=\"http://www.w3.org/2000/svg\">\
         <title id=\"trend-title\">{}</title>\
         <line class=\"axis\" x1=\"{PAD}\" y1=\"{b}\" x2=\"{r}\" y2=\"{b}\"/>\
         <path class=\"line\" d=\"{}\"/>\
         <text x=\"{PAD}\" y=\"{t}\" class=\"tick\">{}</text>\
         <text x=\"{r}\" y=\"{t}\" class=\"tick\" text-anchor=\"end\">{}</text>\
         <text x=\"{PAD}\" y=\"14\" class=\"tick\">max {}</text></svg>",
        escape(label),
        path.trim_end(),
        escape(&first),
        escape(&last),
        max as u64,
        b = HEIGHT - PAD,
        r = WIDTH - PAD,
        t = HEIGHT - 6.0,
    );
    svg
}

/// Horizontal bars, one per labelled count.
pub fn bar_chart(bars: &[(String, u64)], label: &str) -> String {
    const WIDTH: f64 = 600.0;
    const ROW: f64 = 22.0;
    const LABEL: f64 = 150.0;
    let max = bars.iter().map(|b| b.1).max().unwrap_or(0).max(1) as f64;
    let height = ROW * bars.len().max(1) as f64;
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg class=\"chart\" viewBox=\"0 0 {WIDTH} {height}\" role=\"img\" aria-label=\"{}\" xmlns=\"http://www.w3.org/2000/svg\">",
        escape(label)
    );
    for (i, (name, value)) in bars.iter().enumerate() {
        let y = ROW * i as f64;
        let width = (*value as f64 / max) * (WIDTH - LABEL - 60.0);
        let class = format!(
            "bar bar-{}",
            name.to_ascii_lowercase()
                .replace(|c: char| !c.is_ascii_alphanumeric(), "-")
        );
        let _ = write!(
            svg,
            "<text x=\"0\" y=\"{ty:.1}\" class=\"tick\">{}</text>\
             <rect class=\"{}\" x=\"{LABEL}\" y=\"{ry:.1}\" width=\"{width:.1}\" height=\"{h:.1}\"/>\
             <text x=\"{vx:.1}\" y=\"{ty:.1}\" class=\"tick\">{value}</text>",
            escape(name),
            escape(&class),
            ty = y + 15.0,
            ry = y + 3.0,
            h = ROW - 6.0,
            vx = LABEL + width + 6.0,
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_escape_labels_and_scale_to_the_maximum() {
        let svg = bar_chart(&[("<script>".into(), 4), ("low".into(), 2)], "by \"x\"");
        assert!(!svg.contains("<script>"), "{svg}");
        assert!(svg.contains("&lt;script&gt;"));
        assert!(svg.contains("aria-label=\"by &quot;x&quot;\""));
        let day = |d: u32| NaiveDate::from_ymd_opt(2026, 1, d).unwrap();
        let svg = trend_chart(&[(day(1), 0), (day(2), 10)], "trend");
        assert!(svg.contains("M24.0,136.0 L576.0,24.0"), "{svg}");
        assert!(svg.contains("2026-01-01") && svg.contains("max 10"));
    }
}
