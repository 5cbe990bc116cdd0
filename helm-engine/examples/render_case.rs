//! Renders one corpus value set and prints stdout or the error (a debugging aid).
use eddy_helm::{LoadLimits, Table, TemplateOptions, load_dir, merge_maps, parse_values};
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(dir) = args.get(1) else {
        eprintln!("usage: render_case CHART_DIR [VALUES_FILE]... [--include-crds]");
        std::process::exit(2);
    };
    let mut values = Table::new();
    let mut options =
        TemplateOptions::new("rel", "ns", "v1.34.0").unwrap_or_else(|| std::process::exit(2));
    for arg in &args[2..] {
        if arg == "--include-crds" {
            options.include_crds = true;
            continue;
        }
        let text = std::fs::read_to_string(arg).unwrap_or_default();
        match parse_values(&text) {
            Ok(v) => values = merge_maps(values, v),
            Err(e) => {
                eprintln!("{arg}: {e}");
                std::process::exit(1);
            }
        }
    }
    let result = load_dir(std::path::Path::new(dir), LoadLimits::default())
        .and_then(|chart| eddy_helm::template(chart, &values, &options));
    match result {
        Ok(out) => print!("{out}"),
        Err(e) => {
            eprintln!("Error: {e}");
            std::process::exit(1);
        }
    }
}
