//! `umbra bench` results: per-metric samples over repetitions, the
//! summary table (median and spread, Umbra/Linux ratio) and the raw JSON.

use std::fmt::Write as _;

/// One measured quantity.
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    pub name: String,
    /// Unit of the samples as stored and shown.
    pub unit: &'static str,
    pub umbra: Vec<f64>,
    pub linux: Vec<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Summary {
    pub fn of(samples: &[f64]) -> Option<Summary> {
        let mut v: Vec<f64> = samples.iter().copied().filter(|x| x.is_finite()).collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let median = if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 };
        Some(Summary { median, min: v[0], max: v[n - 1] })
    }

    /// (max - min) / median, in percent: the run-to-run spread.
    pub fn spread_pct(&self) -> f64 {
        if self.median > 0.0 {
            (self.max - self.min) / self.median * 100.0
        } else {
            0.0
        }
    }
}

/// All metrics, in first-seen order.
#[derive(Debug, Default, Clone)]
pub struct Results {
    pub metrics: Vec<Metric>,
}

impl Results {
    pub fn add(&mut self, name: &str, unit: &'static str, linux: bool, value: f64) {
        let m = match self.metrics.iter().position(|m| m.name == name) {
            Some(i) => &mut self.metrics[i],
            None => {
                self.metrics.push(Metric { name: name.to_string(), unit, umbra: Vec::new(), linux: Vec::new() });
                self.metrics.last_mut().expect("just pushed")
            }
        };
        if linux {
            m.linux.push(value);
        } else {
            m.umbra.push(value);
        }
    }

    /// (name, Umbra/Linux ratio of the medians), worst first.
    pub fn worst_ratios(&self) -> Vec<(String, f64)> {
        let mut v: Vec<(String, f64)> = self
            .metrics
            .iter()
            .filter_map(|m| Some((m.name.clone(), ratio(m)?)))
            .collect();
        v.sort_by(|a, b| b.1.total_cmp(&a.1));
        v
    }

    /// The text table.
    pub fn table(&self) -> String {
        let mut rows: Vec<[String; 6]> = vec![[
            "benchmark".into(),
            "unit".into(),
            "Umbra median (spread)".into(),
            "Linux median (spread)".into(),
            "Umbra/Linux".into(),
            "(of minimums)".into(),
        ]];
        for m in &self.metrics {
            rows.push([
                m.name.clone(),
                m.unit.to_string(),
                cell(&m.umbra),
                cell(&m.linux),
                ratio(m).map_or("-".into(), |r| format!("{r:.2}")),
                min_ratio(m).map_or("-".into(), |r| format!("{r:.2}")),
            ]);
        }
        let widths: Vec<usize> = (0..6).map(|c| rows.iter().map(|r| r[c].len()).max().unwrap_or(0)).collect();
        let mut out = String::new();
        for (i, r) in rows.iter().enumerate() {
            let _ = writeln!(
                out,
                "{:<w0$}  {:<w1$}  {:>w2$}  {:>w3$}  {:>w4$}  {:>w5$}",
                r[0], r[1], r[2], r[3], r[4], r[5],
                w0 = widths[0], w1 = widths[1], w2 = widths[2], w3 = widths[3], w4 = widths[4], w5 = widths[5]
            );
            if i == 0 {
                let _ = writeln!(out, "{}", "-".repeat(widths.iter().sum::<usize>() + 10));
            }
        }
        out
    }

    /// The same table in Markdown (for the README).
    pub fn markdown(&self) -> String {
        let mut out = String::from(
            "| benchmark | unit | Umbra median (spread) | Linux median (spread) | Umbra/Linux | (of minimums) |\n|---|---|--:|--:|--:|--:|\n",
        );
        for m in &self.metrics {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} |",
                m.name,
                m.unit,
                cell(&m.umbra),
                cell(&m.linux),
                ratio(m).map_or("-".into(), |r| format!("{r:.2}")),
                min_ratio(m).map_or("-".into(), |r| format!("{r:.2}"))
            );
        }
        out
    }

    /// The metrics as a JSON array (raw samples and summaries).
    pub fn json(&self) -> String {
        let mut out = String::from("[");
        for (i, m) in self.metrics.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(
                out,
                "\n    {{\"name\": {}, \"unit\": {}, \"umbra\": {}, \"linux\": {}, \"umbra_median\": {}, \"linux_median\": {}, \"ratio\": {}, \"ratio_of_minimums\": {}}}",
                json_str(&m.name),
                json_str(m.unit),
                json_nums(&m.umbra),
                json_nums(&m.linux),
                json_opt(Summary::of(&m.umbra).map(|s| s.median)),
                json_opt(Summary::of(&m.linux).map(|s| s.median)),
                json_opt(ratio(m)),
                json_opt(min_ratio(m)),
            );
        }
        out.push_str("\n  ]");
        out
    }
}

fn ratio(m: &Metric) -> Option<f64> {
    let u = Summary::of(&m.umbra)?.median;
    let l = Summary::of(&m.linux)?.median;
    (l > 0.0).then(|| u / l)
}

/// Umbra/Linux of the fastest repetitions: host load only ever adds time,
/// so on a busy host this is the steadier figure.
fn min_ratio(m: &Metric) -> Option<f64> {
    let u = Summary::of(&m.umbra)?.min;
    let l = Summary::of(&m.linux)?.min;
    (l > 0.0).then(|| u / l)
}

fn cell(samples: &[f64]) -> String {
    match Summary::of(samples) {
        None => "-".into(),
        Some(s) if samples.len() == 1 => num(s.median),
        Some(s) => format!("{} (±{:.0}%)", num(s.median), s.spread_pct() / 2.0),
    }
}

/// Three significant digits, no exponent.
fn num(v: f64) -> String {
    let a = v.abs();
    if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

pub fn json_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn json_num(v: f64) -> String {
    if v.is_finite() {
        format!("{v}")
    } else {
        "null".into()
    }
}

fn json_opt(v: Option<f64>) -> String {
    v.map_or("null".into(), json_num)
}

fn json_nums(v: &[f64]) -> String {
    format!("[{}]", v.iter().map(|x| json_num(*x)).collect::<Vec<_>>().join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_spread() {
        let s = Summary::of(&[3.0, 1.0, 2.0]).unwrap();
        assert_eq!((s.median, s.min, s.max), (2.0, 1.0, 3.0));
        assert_eq!(s.spread_pct(), 100.0);
        assert_eq!(Summary::of(&[1.0, 3.0]).unwrap().median, 2.0);
        assert!(Summary::of(&[]).is_none());
    }

    #[test]
    fn table_ratio_and_json() {
        let mut r = Results::default();
        r.add("null_syscall", "ns", false, 200.0);
        r.add("null_syscall", "ns", true, 100.0);
        r.add("tsm", "us", false, 5.0);
        let t = r.table();
        assert!(t.contains("null_syscall"), "{t}");
        assert!(t.contains("2.00"), "{t}");
        assert_eq!(r.worst_ratios(), vec![("null_syscall".to_string(), 2.0)]);
        let j = r.json();
        assert!(j.contains("\"ratio\": 2"), "{j}");
        assert!(j.contains("\"linux\": []"), "{j}");
        assert_eq!(json_str("a\"b\n"), "\"a\\\"b\\u000a\"");
    }
}
