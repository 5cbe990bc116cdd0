//! A Helm chart repository's `index.yaml`, read as a stream of YAML events.
//!
//! Public indexes are tens of megabytes; holding one as a parsed document costs several times
//! its size per reconcile. [`scan_index`] walks the events once and keeps only what the caller
//! needs: the counts (to validate a repository) and the versions of one chart (to resolve a
//! HelmChart). Memory stays proportional to the wanted chart's entries, not to the index.

use std::io::Read;

use eddy_semver::{Constraints, Version};
use yaml_rust2::parser::{Event, Parser};

/// One version of a chart as the index lists it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IndexChartVersion {
    pub version: String,
    /// Where the archive is, relative to the index URL or absolute, in the index's order.
    pub urls: Vec<String>,
    /// The archive's SHA-256 as the index states it (hex, possibly empty).
    pub digest: String,
}

/// What one pass over an index found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IndexSummary {
    pub api_version: String,
    /// Charts named under `entries`.
    pub chart_count: usize,
    /// Chart versions under `entries`, all charts together.
    pub version_count: usize,
    /// The versions of the chart asked for, in index order.
    pub wanted: Vec<IndexChartVersion>,
}

/// Why an index cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("cannot read the index: {0}")]
    Read(#[source] std::io::Error),
    #[error("the index is not valid UTF-8 (byte offset {offset})")]
    NotUtf8 { offset: u64 },
    #[error("the index is not valid YAML: {0}")]
    NotYaml(String),
    #[error("empty index.yaml file")]
    Empty,
    #[error("the index is not a YAML mapping")]
    NotAMapping,
    #[error("no API version specified")]
    NoApiVersion,
}

/// Why no version of a chart can be chosen from an index.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChartLookupError {
    #[error("invalid version constraint '{constraint}': {detail}")]
    InvalidConstraint { constraint: String, detail: String },
    #[error("no chart name found")]
    UnknownChart,
    #[error("no '{name}' chart with version matching '{constraint}' found")]
    NoMatchingVersion { name: String, constraint: String },
}

/// Reads an index from `reader` in one pass, keeping the versions of chart `wanted` (none when
/// `None`).
pub fn scan_index(reader: impl Read, wanted: Option<&str>) -> Result<IndexSummary, IndexError> {
    let mut chars = Utf8Chars::new(reader);
    let result = {
        let mut events = Events {
            parser: Parser::new(&mut chars),
        };
        read_document(&mut events, wanted)
    };
    // A read or decoding error ends the character stream early; it, not the parser's
    // complaint about the truncated text, is the cause.
    if let Some(error) = chars.error.take() {
        return Err(error);
    }
    let summary = result?;
    if summary.api_version.is_empty() {
        return Err(IndexError::NoApiVersion);
    }
    Ok(summary)
}

/// The highest version in `versions` that satisfies `constraint` (`""` means `*`), as Helm and
/// Flux choose: entries whose version is not semver are skipped.
pub fn select_version<'a>(
    name: &str,
    versions: &'a [IndexChartVersion],
    constraint: &str,
) -> Result<&'a IndexChartVersion, ChartLookupError> {
    let constraint = match constraint.trim() {
        "" => "*",
        text => text,
    };
    let parsed =
        Constraints::parse(constraint).map_err(|error| ChartLookupError::InvalidConstraint {
            constraint: constraint.to_owned(),
            detail: error.to_string(),
        })?;
    if versions.is_empty() {
        return Err(ChartLookupError::UnknownChart);
    }
    let mut best: Option<(Version, &IndexChartVersion)> = None;
    for entry in versions {
        let Ok(version) = Version::parse(&entry.version) else {
            continue;
        };
        if !parsed.matches(&version) {
            continue;
        }
        let better = best
            .as_ref()
            .is_none_or(|(current, _)| version.compare(current).is_gt());
        if better {
            best = Some((version, entry));
        }
    }
    best.map(|(_, entry)| entry)
        .ok_or_else(|| ChartLookupError::NoMatchingVersion {
            name: name.to_owned(),
            constraint: constraint.to_owned(),
        })
}

struct Events<T: Iterator<Item = char>> {
    parser: Parser<T>,
}

impl<T: Iterator<Item = char>> Events<T> {
    fn next(&mut self) -> Result<Event, IndexError> {
        self.parser
            .next_token()
            .map(|(event, _)| event)
            .map_err(|error| IndexError::NotYaml(error.to_string()))
    }

    /// Consumes the rest of the node that `first` opened.
    fn skip(&mut self, first: &Event) -> Result<(), IndexError> {
        let mut depth = usize::from(opens(first));
        while depth > 0 {
            let event = self.next()?;
            if opens(&event) {
                depth += 1;
            } else if matches!(event, Event::MappingEnd | Event::SequenceEnd) {
                depth -= 1;
            } else if matches!(event, Event::StreamEnd) {
                return Err(IndexError::NotYaml("unexpected end of stream".into()));
            }
        }
        Ok(())
    }

    /// A scalar value, or `None` (after skipping it) for anything else.
    fn scalar(&mut self) -> Result<Option<String>, IndexError> {
        match self.next()? {
            Event::Scalar(text, ..) => Ok(Some(text)),
            other => {
                self.skip(&other)?;
                Ok(None)
            }
        }
    }
}

fn opens(event: &Event) -> bool {
    matches!(event, Event::MappingStart(..) | Event::SequenceStart(..))
}

/// The mapping entries that follow a `MappingStart`: calls `on_entry` with each scalar key (the
/// value not yet read); entries with other keys are skipped.
fn each_entry<T: Iterator<Item = char>>(
    events: &mut Events<T>,
    mut on_entry: impl FnMut(&mut Events<T>, String) -> Result<(), IndexError>,
) -> Result<(), IndexError> {
    loop {
        match events.next()? {
            Event::MappingEnd => return Ok(()),
            Event::Scalar(key, ..) => on_entry(events, key)?,
            other => {
                events.skip(&other)?;
                let value = events.next()?;
                events.skip(&value)?;
            }
        }
    }
}

fn read_document<T: Iterator<Item = char>>(
    events: &mut Events<T>,
    wanted: Option<&str>,
) -> Result<IndexSummary, IndexError> {
    let root = loop {
        match events.next()? {
            Event::StreamStart | Event::DocumentStart | Event::Nothing => {}
            Event::StreamEnd => return Err(IndexError::Empty),
            event => break event,
        }
    };
    match root {
        Event::MappingStart(..) => {}
        Event::Scalar(text, ..) if text.trim().is_empty() || text == "~" || text == "null" => {
            return Err(IndexError::Empty);
        }
        _ => return Err(IndexError::NotAMapping),
    }
    let mut summary = IndexSummary::default();
    each_entry(events, |events, key| match key.as_str() {
        "apiVersion" => {
            summary.api_version = events.scalar()?.unwrap_or_default();
            Ok(())
        }
        "entries" => read_entries(events, wanted, &mut summary),
        _ => {
            let value = events.next()?;
            events.skip(&value)
        }
    })?;
    Ok(summary)
}

fn read_entries<T: Iterator<Item = char>>(
    events: &mut Events<T>,
    wanted: Option<&str>,
    summary: &mut IndexSummary,
) -> Result<(), IndexError> {
    match events.next()? {
        Event::MappingStart(..) => {}
        other => return events.skip(&other),
    }
    each_entry(events, |events, name| {
        summary.chart_count += 1;
        let keep = wanted == Some(name.as_str());
        match events.next()? {
            Event::SequenceStart(..) => {}
            other => return events.skip(&other),
        }
        loop {
            match events.next()? {
                Event::SequenceEnd => return Ok(()),
                Event::MappingStart(..) => {
                    summary.version_count += 1;
                    if keep {
                        summary.wanted.push(read_version(events)?);
                    } else {
                        events.skip(&Event::MappingStart(0, None))?;
                    }
                }
                other => events.skip(&other)?,
            }
        }
    })
}

fn read_version<T: Iterator<Item = char>>(
    events: &mut Events<T>,
) -> Result<IndexChartVersion, IndexError> {
    let mut entry = IndexChartVersion::default();
    each_entry(events, |events, key| {
        match key.as_str() {
            "version" => entry.version = events.scalar()?.unwrap_or_default(),
            "digest" => entry.digest = events.scalar()?.unwrap_or_default(),
            "urls" => entry.urls = read_strings(events)?,
            _ => {
                let value = events.next()?;
                events.skip(&value)?;
            }
        }
        Ok(())
    })?;
    Ok(entry)
}

fn read_strings<T: Iterator<Item = char>>(
    events: &mut Events<T>,
) -> Result<Vec<String>, IndexError> {
    match events.next()? {
        Event::SequenceStart(..) => {}
        other => {
            events.skip(&other)?;
            return Ok(Vec::new());
        }
    }
    let mut out = Vec::new();
    loop {
        match events.next()? {
            Event::SequenceEnd => return Ok(out),
            Event::Scalar(text, ..) => out.push(text),
            other => events.skip(&other)?,
        }
    }
}

/// Characters decoded from a byte stream a chunk at a time; a read or decoding error ends the
/// stream and is kept for the caller.
struct Utf8Chars<R> {
    reader: R,
    text: String,
    position: usize,
    /// The bytes of a character split across two reads.
    carry: Vec<u8>,
    offset: u64,
    finished: bool,
    error: Option<IndexError>,
}

const CHUNK: usize = 64 * 1024;

impl<R: Read> Utf8Chars<R> {
    fn new(reader: R) -> Self {
        Utf8Chars {
            reader,
            text: String::new(),
            position: 0,
            carry: Vec::new(),
            offset: 0,
            finished: false,
            error: None,
        }
    }

    fn refill(&mut self) {
        let mut buffer = std::mem::take(&mut self.carry);
        let start = buffer.len();
        buffer.resize(start + CHUNK, 0);
        let read = loop {
            match self.reader.read(&mut buffer[start..]) {
                Ok(read) => break read,
                Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
                Err(error) => {
                    self.fail(IndexError::Read(error));
                    return;
                }
            }
        };
        buffer.truncate(start + read);
        self.text.clear();
        self.position = 0;
        if read == 0 {
            self.finished = true;
            if !buffer.is_empty() {
                self.fail(IndexError::NotUtf8 {
                    offset: self.offset,
                });
            }
            return;
        }
        let valid = match std::str::from_utf8(&buffer) {
            Ok(_) => buffer.len(),
            Err(error) if error.error_len().is_none() => error.valid_up_to(),
            Err(error) => {
                let offset = self.offset + error.valid_up_to() as u64;
                self.fail(IndexError::NotUtf8 { offset });
                return;
            }
        };
        self.carry = buffer.split_off(valid);
        self.offset += valid as u64;
        self.text = String::from_utf8_lossy(&buffer).into_owned();
    }

    fn fail(&mut self, error: IndexError) {
        self.finished = true;
        self.text.clear();
        self.position = 0;
        self.error = Some(error);
    }
}

impl<R: Read> Iterator for Utf8Chars<R> {
    type Item = char;

    fn next(&mut self) -> Option<char> {
        loop {
            if let Some(next) = self.text[self.position..].chars().next() {
                self.position += next.len_utf8();
                return Some(next);
            }
            if self.finished {
                return None;
            }
            self.refill();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INDEX: &str = r#"apiVersion: v1
entries:
  podinfo:
  - apiVersion: v2
    name: podinfo
    version: 6.5.0
    digest: abc
    urls:
    - podinfo-6.5.0.tgz
    maintainers: [{name: a, email: b}]
  - name: podinfo
    version: 6.6.0-rc.1
    urls: ["https://charts.example/podinfo-6.6.0-rc.1.tgz"]
  - name: podinfo
    version: 6.4.1
    urls: [podinfo-6.4.1.tgz]
  other:
  - name: other
    version: 1.0.0
    urls: [other-1.0.0.tgz]
generated: "2024-01-01T00:00:00Z"
"#;

    #[test]
    fn keeps_only_the_wanted_chart_and_counts_the_rest() {
        let summary = scan_index(INDEX.as_bytes(), Some("podinfo")).unwrap();
        assert_eq!(summary.api_version, "v1");
        assert_eq!(summary.chart_count, 2);
        assert_eq!(summary.version_count, 4);
        assert_eq!(summary.wanted.len(), 3);
        assert_eq!(
            summary.wanted[0],
            IndexChartVersion {
                version: "6.5.0".into(),
                urls: vec!["podinfo-6.5.0.tgz".into()],
                digest: "abc".into(),
            }
        );
        let none = scan_index(INDEX.as_bytes(), None).unwrap();
        assert!(none.wanted.is_empty());
        assert_eq!(none.version_count, 4);
    }

    #[test]
    fn selects_the_highest_matching_version_without_prereleases_by_default() {
        let summary = scan_index(INDEX.as_bytes(), Some("podinfo")).unwrap();
        let pick = |c: &str| select_version("podinfo", &summary.wanted, c).map(|v| &v.version[..]);
        assert_eq!(pick("*"), Ok("6.5.0"));
        assert_eq!(pick(""), Ok("6.5.0"));
        assert_eq!(pick("<6.5.0"), Ok("6.4.1"));
        assert_eq!(pick(">=6.6.0-0"), Ok("6.6.0-rc.1"));
        assert_eq!(
            pick("7.x"),
            Err(ChartLookupError::NoMatchingVersion {
                name: "podinfo".into(),
                constraint: "7.x".into()
            })
        );
        assert!(matches!(
            pick("not a range"),
            Err(ChartLookupError::InvalidConstraint { .. })
        ));
        assert_eq!(
            select_version("absent", &[], "*"),
            Err(ChartLookupError::UnknownChart)
        );
    }

    #[test]
    fn refuses_what_is_not_an_index() {
        assert!(matches!(
            scan_index(&b"entries: [\n  : :"[..], None),
            Err(IndexError::NotYaml(_))
        ));
        assert!(matches!(scan_index(&b""[..], None), Err(IndexError::Empty)));
        assert!(matches!(
            scan_index(&b"- a\n- b\n"[..], None),
            Err(IndexError::NotAMapping)
        ));
        assert!(matches!(
            scan_index(&b"entries: {}\n"[..], None),
            Err(IndexError::NoApiVersion)
        ));
        assert!(matches!(
            scan_index(&b"apiVersion: v1\nentries: \xff\xfe\n"[..], None),
            Err(IndexError::NotUtf8 { offset: 24 })
        ));
    }

    #[test]
    fn characters_split_across_reads_are_decoded() {
        /// Hands out one byte per read.
        struct Trickle<'a>(&'a [u8]);
        impl Read for Trickle<'_> {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                let Some((first, rest)) = self.0.split_first() else {
                    return Ok(0);
                };
                buf[0] = *first;
                self.0 = rest;
                Ok(1)
            }
        }
        let text = "apiVersion: v1\nentries:\n  ünï:\n  - version: 1.0.0\n    urls: [é.tgz]\n";
        let summary = scan_index(Trickle(text.as_bytes()), Some("ünï")).unwrap();
        assert_eq!(summary.wanted[0].urls, ["é.tgz"]);
    }

    #[test]
    fn json_indexes_are_read_too() {
        let json =
            r#"{"apiVersion":"v1","entries":{"a":[{"version":"1.2.3","urls":["a-1.2.3.tgz"]}]}}"#;
        let summary = scan_index(json.as_bytes(), Some("a")).unwrap();
        assert_eq!(summary.wanted[0].version, "1.2.3");
    }
}
