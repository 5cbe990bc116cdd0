//! Loading a chart from a directory or a `.tgz`, as Helm's loader does: `.helmignore` applies
//! to the whole tree, `charts/` holds subcharts (directories or archives), and sizes are capped.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Component, Path};
use std::rc::Rc;

use crate::chart::{Chart, ChartFile, parse_metadata, validate_metadata};
use crate::error::Error;
use crate::ignore::{HELMIGNORE, IgnoreRules};
use crate::values::{Table, parse_values};

/// Size caps while reading a chart (Helm's `MaxDecompressedChartSize`/`MaxDecompressedFileSize`).
#[derive(Debug, Clone, Copy)]
pub struct LoadLimits {
    /// All files of one chart archive or directory together.
    pub max_chart_bytes: u64,
    pub max_file_bytes: u64,
}

impl Default for LoadLimits {
    fn default() -> LoadLimits {
        LoadLimits {
            max_chart_bytes: 100 * 1024 * 1024,
            max_file_bytes: 5 * 1024 * 1024,
        }
    }
}

/// Loads a chart from a directory or from a `.tgz` file.
pub fn load(path: &Path, limits: LoadLimits) -> Result<Chart, Error> {
    if path.is_dir() {
        load_dir(path, limits)
    } else {
        let data = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        load_archive(&data, limits)
    }
}

pub fn load_dir(dir: &Path, limits: LoadLimits) -> Result<Chart, Error> {
    chart_from_files(read_dir_files(dir, limits)?, limits)
}

/// The files of a chart directory as Helm packages them (`.helmignore` applied, links followed
/// only inside the chart), each named relative to the chart.
pub fn read_dir_files(dir: &Path, limits: LoadLimits) -> Result<Vec<ChartFile>, Error> {
    let root = dir.canonicalize().map_err(|e| Error::io(dir, e))?;
    let ignore_file = root.join(HELMIGNORE);
    let rules = match std::fs::read_to_string(&ignore_file) {
        Ok(text) => IgnoreRules::parse(&text)?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => IgnoreRules::defaults(),
        Err(e) => return Err(Error::io(ignore_file, e)),
    };
    let mut walk = DirWalk {
        root: &root,
        rules: &rules,
        limits,
        total: 0,
        files: Vec::new(),
        open_dirs: vec![root.clone()],
    };
    walk.visit(&root, "")?;
    Ok(walk.files)
}

struct DirWalk<'a> {
    root: &'a Path,
    rules: &'a IgnoreRules,
    limits: LoadLimits,
    total: u64,
    files: Vec<ChartFile>,
    /// The directories being walked, outermost first: a link back to one of them is a cycle.
    open_dirs: Vec<std::path::PathBuf>,
}

impl DirWalk<'_> {
    fn visit(&mut self, dir: &Path, relative: &str) -> Result<(), Error> {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .map_err(|e| Error::io(dir, e))?
            .collect::<Result<_, _>>()
            .map_err(|e| Error::io(dir, e))?;
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let name = entry.file_name().to_string_lossy().into_owned();
            let rel = if relative.is_empty() {
                name
            } else {
                format!("{relative}/{name}")
            };
            let path = entry.path();
            // Symbolic links are followed, as Helm does, but only within the chart directory.
            let target = path.canonicalize().map_err(|e| Error::io(&path, e))?;
            if !target.starts_with(self.root) {
                return Err(Error::LinkEscapes { path });
            }
            let meta = std::fs::metadata(&target).map_err(|e| Error::io(&path, e))?;
            if meta.is_dir() {
                if self.rules.ignores(&rel, true) {
                    continue;
                }
                if self.open_dirs.contains(&target) {
                    return Err(Error::LinkCycle { path });
                }
                self.open_dirs.push(target.clone());
                self.visit(&target, &rel)?;
                self.open_dirs.pop();
                continue;
            }
            if self.rules.ignores(&rel, false) {
                continue;
            }
            if !meta.is_file() {
                return Err(Error::IrregularFile(path));
            }
            self.read_file(&target, rel, meta.len())?;
        }
        Ok(())
    }

    fn read_file(&mut self, path: &Path, name: String, size: u64) -> Result<(), Error> {
        if size > self.limits.max_file_bytes {
            return Err(Error::FileTooLarge {
                name,
                limit: self.limits.max_file_bytes,
            });
        }
        self.total += size;
        if self.total > self.limits.max_chart_bytes {
            return Err(Error::ChartTooLarge {
                limit: self.limits.max_chart_bytes,
            });
        }
        let data = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        self.files.push(ChartFile {
            name,
            data: strip_bom(data),
        });
        Ok(())
    }
}

fn strip_bom(data: Vec<u8>) -> Rc<[u8]> {
    match data.strip_prefix(b"\xEF\xBB\xBF") {
        Some(rest) => Rc::from(rest),
        None => Rc::from(data),
    }
}

/// Loads a gzipped tar of a chart (one top-level directory holding the chart).
pub fn load_archive(data: &[u8], limits: LoadLimits) -> Result<Chart, Error> {
    chart_from_files(archive_files(data, limits)?, limits)
}

/// The files of a chart archive, each named relative to the chart (the top directory dropped),
/// with the same refusals and caps as [`load_archive`].
pub fn read_archive_files(data: &[u8], limits: LoadLimits) -> Result<Vec<ChartFile>, Error> {
    archive_files(data, limits)
}

fn archive_files(data: &[u8], limits: LoadLimits) -> Result<Vec<ChartFile>, Error> {
    let archive_err = |e: std::io::Error| Error::Archive(e.to_string());
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(data));
    let mut files = Vec::new();
    let mut remaining = limits.max_chart_bytes;
    for entry in archive.entries().map_err(archive_err)? {
        let mut entry = entry.map_err(archive_err)?;
        let kind = entry.header().entry_type();
        if kind.is_dir() || kind.is_pax_global_extensions() || kind.is_pax_local_extensions() {
            continue;
        }
        let raw_name = String::from_utf8_lossy(&entry.path_bytes()).replace('\\', "/");
        let name = archive_member_name(&raw_name)?;
        if !kind.is_file() {
            return Err(Error::Archive(format!(
                "{raw_name}: only regular files are allowed in a chart archive"
            )));
        }
        let size = entry.header().size().map_err(archive_err)?;
        if size > remaining {
            return Err(Error::ChartTooLarge {
                limit: limits.max_chart_bytes,
            });
        }
        if size > limits.max_file_bytes {
            return Err(Error::FileTooLarge {
                name: raw_name,
                limit: limits.max_file_bytes,
            });
        }
        let mut buf = Vec::with_capacity(size as usize);
        (&mut entry)
            .take(remaining + 1)
            .read_to_end(&mut buf)
            .map_err(archive_err)?;
        if buf.len() as u64 > remaining {
            return Err(Error::ChartTooLarge {
                limit: limits.max_chart_bytes,
            });
        }
        remaining -= buf.len() as u64;
        files.push(ChartFile {
            name,
            data: strip_bom(buf),
        });
    }
    if files.is_empty() {
        return Err(Error::Archive("no files in chart archive".into()));
    }
    Ok(files)
}

/// The chart-relative name of an archive member (its first path segment dropped), refusing
/// absolute paths and anything that climbs out of the chart.
fn archive_member_name(raw: &str) -> Result<String, Error> {
    let mut parts = raw.split('/');
    let first = parts.next().unwrap_or_default();
    if first == "Chart.yaml" {
        return Err(Error::Archive("chart yaml not in base directory".into()));
    }
    let rest: Vec<&str> = parts.collect();
    let joined = rest.join("/");
    if joined.starts_with('/') || raw.starts_with('/') {
        return Err(Error::Archive(
            "chart illegally contains absolute paths".into(),
        ));
    }
    let mut clean: Vec<&str> = Vec::new();
    for component in Path::new(&joined).components() {
        match component {
            Component::Normal(c) => clean.push(c.to_str().unwrap_or_default()),
            Component::CurDir => {}
            Component::ParentDir => {
                if clean.pop().is_none() {
                    return Err(Error::Archive(
                        "chart illegally references parent directory".into(),
                    ));
                }
            }
            Component::RootDir | Component::Prefix(_) => {
                return Err(Error::Archive(
                    "chart illegally contains absolute paths".into(),
                ));
            }
        }
    }
    if clean.is_empty() {
        return Err(Error::Archive(format!(
            "chart illegally contains content outside the base directory: {raw:?}"
        )));
    }
    let name = clean.join("/");
    if name.len() >= 2 && name.as_bytes()[1] == b':' && name.as_bytes()[0].is_ascii_alphabetic() {
        return Err(Error::Archive(
            "chart contains illegally named files".into(),
        ));
    }
    Ok(name)
}

/// Builds a chart from its files (Helm's `LoadFiles`).
pub(crate) fn chart_from_files(files: Vec<ChartFile>, limits: LoadLimits) -> Result<Chart, Error> {
    let text = |f: &ChartFile| String::from_utf8_lossy(&f.data).into_owned();
    let mut metadata = None;
    for f in files.iter().filter(|f| f.name == "Chart.yaml") {
        let mut md = parse_metadata("Chart.yaml", &text(f), None)?;
        if md.api_version.is_empty() {
            md.api_version = "v1".into();
        }
        metadata = Some(md);
    }
    let mut values = Table::new();
    let mut schema = None;
    let mut templates = Vec::new();
    let mut other_files = Vec::new();
    let mut subchart_files: BTreeMap<String, Vec<ChartFile>> = BTreeMap::new();
    for f in files {
        match f.name.as_str() {
            "Chart.yaml" | "Chart.lock" => {}
            "values.yaml" => {
                values = parse_values(&text(&f)).map_err(|message| Error::BadChartFile {
                    file: "values.yaml".into(),
                    message,
                })?;
            }
            "values.schema.json" => schema = Some(f.data.clone()),
            "requirements.yaml" | "requirements.lock" => {
                let is_v1 = metadata.as_ref().is_none_or(|m| m.api_version == "v1");
                if f.name == "requirements.yaml" {
                    metadata = Some(parse_metadata(
                        &f.name,
                        &text(&f),
                        Some(metadata.take().unwrap_or_default()),
                    )?);
                }
                if is_v1 {
                    other_files.push(f);
                }
            }
            name if name.starts_with("templates/") => templates.push(f),
            name if name.starts_with("charts/") && !name.ends_with(".prov") => {
                let inner = &name["charts/".len()..];
                let chart_dir = inner.split('/').next().unwrap_or(inner).to_string();
                subchart_files
                    .entry(chart_dir)
                    .or_default()
                    .push(ChartFile {
                        name: inner.to_string(),
                        data: f.data,
                    });
            }
            _ => other_files.push(f),
        }
    }
    let mut metadata = metadata.ok_or(Error::MissingChartYaml)?;
    validate_metadata(&mut metadata)?;
    let mut chart = Chart {
        metadata,
        values,
        schema,
        templates,
        files: other_files,
        dependencies: Vec::new(),
    };
    for (dir, files) in subchart_files {
        if dir.starts_with('_') || dir.starts_with('.') {
            continue;
        }
        let sub = load_subchart(&dir, files, limits).map_err(|e| Error::Subchart {
            name: dir.clone(),
            parent: chart.name().to_string(),
            source: Box::new(e),
        })?;
        chart.dependencies.push(sub);
    }
    Ok(chart)
}

fn load_subchart(dir: &str, files: Vec<ChartFile>, limits: LoadLimits) -> Result<Chart, Error> {
    if dir.ends_with(".tgz") {
        let Some(first) = files.first() else {
            return Err(Error::Archive(format!("empty subchart {dir}")));
        };
        if first.name != dir {
            return Err(Error::Archive(format!(
                "expected {dir}, got {}",
                first.name
            )));
        }
        return load_archive(&first.data, limits);
    }
    let inner = files
        .into_iter()
        .filter_map(|f| {
            let (_, rest) = f.name.split_once('/')?;
            Some(ChartFile {
                name: rest.to_string(),
                data: f.data,
            })
        })
        .collect();
    chart_from_files(inner, limits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_names_drop_the_top_directory_and_refuse_escapes() {
        assert_eq!(
            archive_member_name("app/templates/a.yaml").unwrap(),
            "templates/a.yaml"
        );
        assert!(archive_member_name("app/../../etc/passwd").is_err());
        assert!(archive_member_name("/abs/x").is_err());
        assert!(archive_member_name("Chart.yaml").is_err());
        assert!(archive_member_name("app/c:/x").is_err());
    }
}
