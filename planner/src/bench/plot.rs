//! SVG plot of throughput against context depth: prompt processing on top, generation below;
//! one line per engine and configuration, measured (solid, with points) and predicted (thin).

use std::collections::BTreeMap;
use std::path::Path;

use plotters::prelude::*;

use super::record::{Record, Status, TestKind};
use crate::compare::verdict::label;

#[derive(Debug, thiserror::Error)]
#[error("cannot draw plot {path}: {message}")]
pub struct PlotError {
    pub path: String,
    pub message: String,
}

type Series = BTreeMap<String, Vec<(f64, f64)>>;

/// Series name: the point label without its test name (so depths of one config join up).
fn series_name(r: &Record) -> String {
    let l = label(r);
    let test = r.workload.name();
    l.replacen(&format!(" {test}"), "", 1)
}

fn collect(records: &[Record], kind: TestKind) -> (Series, Series) {
    let (mut measured, mut predicted) = (Series::new(), Series::new());
    for r in records
        .iter()
        .filter(|r| r.workload.kind == kind && r.status == Status::Ok)
    {
        let name = format!(
            "{} {}",
            series_name(r),
            if kind == TestKind::Pp { "pp" } else { "tg" }
        );
        let d = r.workload.n_depth as f64;
        if let Some(m) = &r.measurement {
            measured
                .entry(name.clone())
                .or_default()
                .push((d, m.median));
        }
        if let Some(p) = &r.prediction {
            predicted
                .entry(format!("{name} (predicted)"))
                .or_default()
                .push((d, p.tokens_per_s));
        }
    }
    for s in measured.values_mut().chain(predicted.values_mut()) {
        s.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    (measured, predicted)
}

pub fn plot_depth_scaling(records: &[Record], path: &Path) -> Result<(), PlotError> {
    let err = |m: String| PlotError {
        path: path.display().to_string(),
        message: m,
    };
    let root = SVGBackend::new(path, (1000, 900)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(e.to_string()))?;
    let panels = root.split_evenly((2, 1));
    for (area, (kind, title)) in panels.iter().zip([
        (TestKind::Pp, "prompt processing"),
        (TestKind::Tg, "generation"),
    ]) {
        let (measured, predicted) = collect(records, kind);
        let all = measured.values().chain(predicted.values()).flatten();
        let max_x = all.clone().map(|p| p.0).fold(1.0, f64::max);
        let max_y = all.map(|p| p.1).fold(1.0, f64::max) * 1.1;
        let mut chart = ChartBuilder::on(area)
            .caption(
                format!("{title}: tokens/s vs context depth"),
                ("sans-serif", 20),
            )
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(60)
            .build_cartesian_2d(0.0..max_x * 1.02, 0.0..max_y)
            .map_err(|e| err(e.to_string()))?;
        chart
            .configure_mesh()
            .x_desc("depth (tokens in context)")
            .y_desc("tokens/s")
            .draw()
            .map_err(|e| err(e.to_string()))?;
        for (i, (name, pts)) in measured.iter().enumerate() {
            let color = Palette99::pick(i).to_rgba();
            chart
                .draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))
                .map_err(|e| err(e.to_string()))?
                .label(name.clone())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2))
                });
            chart
                .draw_series(pts.iter().map(|&p| Circle::new(p, 3, color.filled())))
                .map_err(|e| err(e.to_string()))?;
            if let Some(pred) = predicted.get(&format!("{name} (predicted)")) {
                let light = color.mix(0.5);
                chart
                    .draw_series(LineSeries::new(pred.clone(), light.stroke_width(1)))
                    .map_err(|e| err(e.to_string()))?
                    .label(format!("{name} (predicted)"))
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 16, y)], light.stroke_width(1))
                    });
            }
        }
        if !measured.is_empty() {
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .draw()
                .map_err(|e| err(e.to_string()))?;
        }
    }
    root.present().map_err(|e| err(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::record::tests::sample_record;
    use crate::bench::record::{Prediction, Workload};

    #[test]
    fn writes_an_svg_with_both_panels() {
        let mut recs = Vec::new();
        for (d, tg, pp) in [(0, 40.0, 900.0), (4096, 35.0, 700.0), (16384, 28.0, 450.0)] {
            let mut r = sample_record(vec![tg, tg * 1.01], d);
            r.set_prediction(Prediction {
                tokens_per_s: tg * 1.1,
                source: "t".into(),
            });
            recs.push(r);
            let mut p = sample_record(vec![pp], d);
            p.workload = Workload::new(512, 0, d);
            recs.push(p);
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plot.svg");
        plot_depth_scaling(&recs, &path).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        assert!(
            svg.starts_with("<svg")
                && svg.contains("generation")
                && svg.contains("prompt processing")
        );
        assert!(svg.contains("(predicted)"));
        let e = plot_depth_scaling(&recs, &dir.path().join("missing/dir/plot.svg")).unwrap_err();
        assert!(e.to_string().contains("missing/dir/plot.svg"));
    }
}
