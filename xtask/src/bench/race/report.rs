//! The race's results: one table with Eddy/Flux ratios, the raw figures as JSON, and a last line
//! for scripts.

use std::{collections::BTreeSet, fmt::Write, path::PathBuf};

use serde::Serialize;

use super::phases::{FleetRun, Phase, PhaseFigures};

/// Everything one race measured.
#[derive(Debug, Clone, Serialize)]
pub struct RaceReport {
    pub objects: usize,
    pub concurrent: usize,
    pub idle_seconds: u64,
    pub control_plane: String,
    pub cpus: usize,
    pub finished_at_unix: u64,
    pub flux: FleetRun,
    pub eddy: FleetRun,
    /// The ceiling: the same objects server-side applied straight from the bench.
    pub raw_ssa_seconds: f64,
}

/// `eddy / flux`, or `None` when Flux's figure is zero.
pub fn ratio(eddy: f64, flux: f64) -> Option<f64> {
    (flux > 0.0).then(|| eddy / flux)
}

fn phase(run: &FleetRun, phase: Phase) -> Option<&PhaseFigures> {
    run.phases.iter().find(|figures| figures.phase == phase)
}

/// The fleet's peak memory: each controller's highest peak over all phases, summed.
pub fn fleet_peak_rss_mib(run: &FleetRun) -> f64 {
    let mut peaks: Vec<(String, f64)> = Vec::new();
    for figures in &run.phases {
        for controller in &figures.controllers {
            match peaks
                .iter_mut()
                .find(|(name, _)| *name == controller.controller)
            {
                Some((_, peak)) => *peak = peak.max(controller.peak_rss_mib),
                None => peaks.push((controller.controller.clone(), controller.peak_rss_mib)),
            }
        }
    }
    peaks.iter().map(|(_, peak)| peak).sum()
}

/// The last line: commit-to-Ready time (the `commit` phase) and peak fleet memory.
pub fn summary_line(report: &RaceReport) -> String {
    let seconds = |run: &FleetRun| phase(run, Phase::Commit).map_or(0.0, |p| p.seconds);
    let (flux_s, eddy_s) = (seconds(&report.flux), seconds(&report.eddy));
    let (flux_mib, eddy_mib) = (
        fleet_peak_rss_mib(&report.flux),
        fleet_peak_rss_mib(&report.eddy),
    );
    let times = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
    format!(
        "race N={}: commit to Ready Flux {flux_s:.2}s / Eddy {eddy_s:.2}s = {:.2}x faster; peak RSS Flux {flux_mib:.1} / Eddy {eddy_mib:.1} = {:.2}x smaller",
        report.objects,
        times(flux_s, eddy_s),
        times(flux_mib, eddy_mib),
    )
}

struct Row {
    phase: &'static str,
    figure: String,
    flux: f64,
    eddy: f64,
    decimals: usize,
}

fn rows_of_phase(
    phase: Phase,
    flux: &PhaseFigures,
    eddy: &PhaseFigures,
    objects: usize,
) -> Vec<Row> {
    let label = phase.label();
    let row = |figure: String, flux: f64, eddy: f64, decimals: usize| Row {
        phase: label,
        figure,
        flux,
        eddy,
        decimals,
    };
    let mut rows = vec![row("wall s".into(), flux.seconds, eddy.seconds, 2)];
    for (f, e) in flux.controllers.iter().zip(&eddy.controllers) {
        rows.push(row(
            format!("CPU s {}", f.controller),
            f.cpu_seconds,
            e.cpu_seconds,
            2,
        ));
    }
    for (f, e) in flux.controllers.iter().zip(&eddy.controllers) {
        let (what, flux_mib, eddy_mib) = if phase == Phase::Idle {
            ("RSS MiB at end", f.rss_mib, e.rss_mib)
        } else {
            ("peak RSS MiB", f.peak_rss_mib, e.peak_rss_mib)
        };
        rows.push(row(
            format!("{what} {}", f.controller),
            flux_mib,
            eddy_mib,
            1,
        ));
    }
    let (flux_total, eddy_total) = (flux.requests.total() as f64, eddy.requests.total() as f64);
    rows.push(row("API requests".into(), flux_total, eddy_total, 0));
    let verbs: BTreeSet<&String> = flux
        .requests
        .0
        .keys()
        .chain(eddy.requests.0.keys())
        .collect();
    for verb in verbs {
        rows.push(row(
            format!("  {verb}"),
            flux.requests.get(verb) as f64,
            eddy.requests.get(verb) as f64,
            0,
        ));
    }
    if phase != Phase::Idle && objects > 0 {
        let per = |total: f64| total / objects as f64;
        rows.push(row(
            "API requests per Kustomization".into(),
            per(flux_total),
            per(eddy_total),
            2,
        ));
    }
    rows
}

/// The table: one row per phase and figure, Flux, Eddy and Eddy/Flux (below 1: Eddy spends less).
pub fn table(report: &RaceReport) -> String {
    let mut rows = Vec::new();
    for phase_name in Phase::ALL {
        if let (Some(flux), Some(eddy)) = (
            phase(&report.flux, phase_name),
            phase(&report.eddy, phase_name),
        ) {
            rows.extend(rows_of_phase(phase_name, flux, eddy, report.objects));
        }
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<8}  {:<40}  {:>10}  {:>10}  {:>9}",
        "phase", "figure", "Flux", "Eddy", "Eddy/Flux"
    );
    for row in rows {
        let ratio = ratio(row.eddy, row.flux).map_or_else(|| "-".to_owned(), |r| format!("{r:.2}"));
        let _ = writeln!(
            out,
            "{:<8}  {:<40}  {:>10.*}  {:>10.*}  {ratio:>9}",
            row.phase, row.figure, row.decimals, row.flux, row.decimals, row.eddy
        );
    }
    let _ = writeln!(
        out,
        "raw SSA ceiling: {} objects applied by the bench itself in {:.2} s",
        report.objects * 4,
        report.raw_ssa_seconds
    );
    out
}

/// Writes the JSON to `target/bench/race-<n>.json` and, so a second run does not overwrite the
/// first, to `race-<n>-<unix time>.json` beside it; returns the first path.
pub fn write_json(report: &RaceReport) -> anyhow::Result<PathBuf> {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::workspace::root().join("target"));
    let dir = target.join("bench");
    std::fs::create_dir_all(&dir)?;
    let text = serde_json::to_string_pretty(report)?;
    let latest = dir.join(format!("race-{}.json", report.objects));
    std::fs::write(&latest, &text)?;
    std::fs::write(
        dir.join(format!(
            "race-{}-{}.json",
            report.objects, report.finished_at_unix
        )),
        &text,
    )?;
    Ok(latest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::race::{
        apiserver::RequestCounts,
        fleet::{ControllerFigures, FleetBinaries, Implementation},
    };

    fn controller(name: &str, cpu: f64, peak: f64) -> ControllerFigures {
        ControllerFigures {
            controller: name.into(),
            cpu_seconds: cpu,
            peak_rss_mib: peak,
            rss_mib: peak / 2.0,
        }
    }

    fn run(implementation: Implementation, commit_seconds: f64, peaks: [f64; 2]) -> FleetRun {
        let mut requests = RequestCounts::default();
        requests.add("APPLY", 400);
        requests.add("PATCH", 200);
        let phase = |phase, seconds, scale: f64| PhaseFigures {
            phase,
            seconds,
            controllers: vec![
                controller("source-controller", 1.0, peaks[0] * scale),
                controller("kustomize-controller", 2.0, peaks[1] * scale),
            ],
            requests: requests.clone(),
        };
        FleetRun {
            binaries: FleetBinaries {
                implementation,
                source_controller: "sc".into(),
                kustomize_controller: "kc".into(),
                versions: "test".into(),
            },
            namespace: "race-test".into(),
            load_average_before: String::new(),
            load_average_after: String::new(),
            phases: vec![
                phase(Phase::Initial, 30.0, 1.0),
                phase(Phase::Commit, commit_seconds, 0.5),
                phase(Phase::Idle, 60.0, 0.25),
                phase(Phase::NoOp, 5.0, 0.5),
            ],
        }
    }

    fn report() -> RaceReport {
        RaceReport {
            objects: 100,
            concurrent: 4,
            idle_seconds: 60,
            control_plane: "private".into(),
            cpus: 2,
            finished_at_unix: 0,
            flux: run(Implementation::Flux, 20.0, [60.0, 90.0]),
            eddy: run(Implementation::Eddy, 4.0, [10.0, 20.0]),
            raw_ssa_seconds: 2.5,
        }
    }

    #[test]
    fn the_last_line_has_the_fixed_shape() {
        assert_eq!(
            summary_line(&report()),
            "race N=100: commit to Ready Flux 20.00s / Eddy 4.00s = 5.00x faster; peak RSS Flux 150.0 / Eddy 30.0 = 5.00x smaller"
        );
    }

    #[test]
    fn the_fleet_peak_is_each_controllers_highest_peak_summed() {
        let mut flux = run(Implementation::Flux, 1.0, [60.0, 90.0]);
        // source-controller peaks in one phase, kustomize-controller in another.
        flux.phases[2].controllers[0].peak_rss_mib = 80.0;
        assert_eq!(fleet_peak_rss_mib(&flux), 80.0 + 90.0);
    }

    #[test]
    fn ratios_are_eddy_over_flux_and_absent_for_zero() {
        assert_eq!(ratio(1.0, 4.0), Some(0.25));
        assert_eq!(ratio(3.0, 0.0), None);
    }

    #[test]
    fn the_table_has_every_phase_with_ratios_and_verbs() {
        let table = table(&report());
        for phase in ["initial", "commit", "idle", "no-op"] {
            assert!(
                table.lines().any(|l| l.starts_with(phase)),
                "{phase} missing:\n{table}"
            );
        }
        let commit_wall = table
            .lines()
            .find(|l| l.starts_with("commit") && l.contains("wall s"))
            .unwrap();
        assert!(commit_wall.trim_end().ends_with("0.20"), "{commit_wall}");
        assert!(table.contains("  APPLY"), "{table}");
        assert!(
            table.contains("RSS MiB at end kustomize-controller"),
            "{table}"
        );
        assert!(table.contains("API requests per Kustomization"), "{table}");
        assert!(table.contains("raw SSA ceiling: 400 objects"), "{table}");
    }
}
