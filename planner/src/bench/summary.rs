//! End-of-run summary table: measured vs predicted per point, and fitbench vs llama.cpp when both
//! engines measured the same point.

use std::collections::BTreeMap;

use comfy_table::{presets::UTF8_FULL_CONDENSED, Cell, Table};

use super::record::{Record, Status};
use crate::compare::verdict::label;

fn tps(r: &Record) -> String {
    match (&r.status, &r.measurement) {
        (Status::Ok, Some(m)) => match m.ci {
            Some(ci) => format!("{:.2} [{:.2}–{:.2}]", m.median, ci.low, ci.high),
            None => format!("{:.2}", m.median),
        },
        _ => "FAILED".into(),
    }
}

fn median(r: &Record) -> Option<f64> {
    r.measurement
        .as_ref()
        .filter(|_| r.status == Status::Ok)
        .map(|m| m.median)
}

pub fn table(records: &[Record]) -> Table {
    // Group by point (engine excluded) in first-seen order.
    let mut order = Vec::new();
    let mut groups: BTreeMap<String, (Option<&Record>, Option<&Record>)> = BTreeMap::new();
    for r in records {
        let k = r.point_key();
        let e = groups.entry(k.clone()).or_insert_with(|| {
            order.push(k);
            (None, None)
        });
        if r.engine.name == "llama.cpp" {
            e.1 = Some(r);
        } else {
            e.0 = Some(r);
        }
    }
    let both = groups.values().any(|(a, b)| a.is_some() && b.is_some());
    let mut t = Table::new();
    t.load_style(UTF8_FULL_CONDENSED);
    let mut header = vec![
        "point",
        "fitbench t/s (median [95% CI])",
        "predicted t/s",
        "fitbench error %",
    ];
    if both || groups.values().any(|(a, _)| a.is_none()) {
        header.extend(["llama.cpp t/s", "llama.cpp error %", "fitbench / llama.cpp"]);
    }
    t.set_header(header.clone());
    for k in &order {
        let (ours, theirs) = groups[k];
        let any = ours.or(theirs).expect("group has a record");
        let mut name = label(any);
        if let Some(stripped) = name.strip_suffix(" [llama.cpp]") {
            name = stripped.to_string();
        }
        let mut row = vec![Cell::new(name)];
        row.push(Cell::new(ours.map(tps).unwrap_or_else(|| "–".into())));
        // Both engines' records carry the same prediction (it depends on the point only).
        let pred = [ours, theirs]
            .into_iter()
            .flatten()
            .find_map(|r| r.prediction.as_ref())
            .map(|p| format!("{:.2}", p.tokens_per_s));
        row.push(Cell::new(pred.unwrap_or_else(|| "–".into())));
        let err = ours
            .and_then(|r| r.prediction_error_pct)
            .map(|e| format!("{e:+.1}"));
        row.push(Cell::new(err.unwrap_or_else(|| "–".into())));
        if header.len() > 4 {
            row.push(Cell::new(theirs.map(tps).unwrap_or_else(|| "–".into())));
            let err = theirs
                .and_then(|r| r.prediction_error_pct)
                .map(|e| format!("{e:+.1}"));
            row.push(Cell::new(err.unwrap_or_else(|| "–".into())));
            let ratio = match (ours.and_then(median), theirs.and_then(median)) {
                (Some(a), Some(b)) if b > 0.0 => format!("{:.3}", a / b),
                _ => "–".into(),
            };
            row.push(Cell::new(ratio));
        }
        t.add_row(row);
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::record::tests::sample_record;
    use crate::bench::record::Prediction;

    #[test]
    fn shows_prediction_and_llama_cpp_side_by_side() {
        let mut ours = sample_record(vec![40.0, 42.0, 41.0], 0);
        ours.set_prediction(Prediction {
            tokens_per_s: 50.0,
            source: "t".into(),
        });
        let mut theirs = sample_record(vec![50.0, 51.0, 49.0], 0);
        theirs.engine.name = "llama.cpp".into();
        theirs.set_prediction(Prediction {
            tokens_per_s: 40.0,
            source: "t".into(),
        });
        let mut failed = sample_record(vec![], 4096);
        failed.status = Status::Failed;
        let text = table(&[ours, theirs, failed]).to_string();
        assert!(text.contains("llama.cpp t/s"), "{text}");
        assert!(text.contains("-18.0"), "{text}"); // (41 − 50) / 50
        assert!(text.contains("0.820"), "{text}"); // 41 / 50
        assert!(text.contains("+25.0"), "{text}"); // (50 − 40) / 40
        assert!(text.contains("FAILED"), "{text}");
    }
}
