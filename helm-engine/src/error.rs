//! Errors of chart loading and rendering, worded as Helm words them where a user would compare.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("error reading {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("chart file {name:?} is larger than the maximum file size {limit}")]
    FileTooLarge { name: String, limit: u64 },
    #[error("decompressed chart is larger than the maximum size {limit}")]
    ChartTooLarge { limit: u64 },
    #[error("chart archive: {0}")]
    Archive(String),
    #[error("cannot load irregular file {0} as it has file mode type bits set")]
    IrregularFile(PathBuf),
    #[error("{path}: symbolic link points outside the chart directory")]
    LinkEscapes { path: PathBuf },
    #[error("{path}: symbolic link to a directory that contains it")]
    LinkCycle { path: PathBuf },
    #[error("error parsing .helmignore: {0}")]
    Ignore(String),
    #[error("Chart.yaml file is missing")]
    MissingChartYaml,
    #[error("cannot load {file}: {message}")]
    BadChartFile { file: String, message: String },
    #[error("validation: {0}")]
    Validation(String),
    #[error("error unpacking subchart {name} in {parent}: {source}")]
    Subchart {
        name: String,
        parent: String,
        source: Box<Error>,
    },
    #[error("found in Chart.yaml, but missing in charts/ directory: {0}")]
    MissingDependencies(String),
    #[error("{0} charts are not installable")]
    NotInstallable(String),
    #[error(
        "chart requires kubeVersion: {constraint} which is incompatible with Kubernetes {kube_version}"
    )]
    IncompatibleKubeVersion {
        constraint: String,
        kube_version: String,
    },
    #[error("{0}")]
    Values(String),
    #[error(
        "values don't meet the specifications of the schema(s) in the following chart(s):\n{0}"
    )]
    Schema(String),
    #[error("{0}")]
    Template(String),
    #[error("YAML parse error on {path}: {message}")]
    ManifestYaml { path: String, message: String },
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
