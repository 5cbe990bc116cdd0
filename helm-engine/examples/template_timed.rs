//! `template_timed JOB...`: renders every job once in this process, as `helm template rel CHART
//! --namespace ns --kube-version v1.34.0 --skip-tests -f …` would, and prints the total time in
//! nanoseconds (loading, values and rendering; process start-up excluded). A job is
//! `CHART_DIR[,VALUES_FILE]...`, with `,+crds` for --include-crds. `cargo xtask bench helm` uses
//! it for the "rendering work alone" view. A failing render still counts (expected errors).
use std::time::Instant;

use eddy_helm::{LoadLimits, Table, TemplateOptions, load_dir, merge_maps, parse_values};

fn render(job: &str) -> Result<usize, String> {
    let mut parts = job.split(',');
    let dir = parts.next().unwrap_or_default();
    let mut options = TemplateOptions::new("rel", "ns", "v1.34.0").ok_or("kube version")?;
    let mut values = Table::new();
    for part in parts {
        if part == "+crds" {
            options.include_crds = true;
            continue;
        }
        let text = std::fs::read_to_string(part).map_err(|e| format!("{part}: {e}"))?;
        values = merge_maps(values, parse_values(&text)?);
    }
    let chart =
        load_dir(std::path::Path::new(dir), LoadLimits::default()).map_err(|e| e.to_string())?;
    eddy_helm::template(chart, &values, &options)
        .map(|out| out.len())
        .map_err(|e| e.to_string())
}

fn main() {
    let jobs: Vec<String> = std::env::args().skip(1).collect();
    let started = Instant::now();
    let mut bytes = 0;
    for job in &jobs {
        match render(job) {
            Ok(len) => bytes += len,
            Err(error) => eprintln!("{job}: {error}"),
        }
    }
    let nanos = started.elapsed().as_nanos();
    println!("{nanos} {bytes}");
}
