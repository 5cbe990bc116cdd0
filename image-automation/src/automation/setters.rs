//! The `Setters` update strategy: scalars carrying a line comment
//! `# {"$imagepolicy": "<namespace>:<policy>[:tag|:name|:digest]"}` are set to the image the
//! policy selected, and every other byte of the file stays as it was.
//!
//! The edit works on the text, line by line, instead of parsing and re-serialising the YAML: a
//! serialiser would re-indent, re-quote and drop comments, and the commit diff must touch only the
//! marked values. The YAML parser is still run on every file, to report broken files by name and
//! to tell which object (apiVersion, kind, name, namespace) a change belongs to.
//!
//! Rules:
//! - the marker must be on the same line as the scalar it sets (`key: value # marker`, or a
//!   sequence item `- value # marker`); block scalars, aliases and tagged values are left alone;
//! - the value keeps its quoting style; a plain value whose new text would read back as something
//!   other than that string (`1.10` is a number, `a #b` a comment) is written double-quoted;
//! - `<ns>:<policy>` sets `name:tag` (`name:tag@digest` when the policy reflects digests),
//!   `:tag` the tag (`tag@digest`), `:name` the image name, `:digest` the digest (left alone when
//!   the policy has none);
//! - markers naming a policy that is not applied (not selected, another namespace, no
//!   `latestRef`) are left alone, as Flux does;
//! - with [`Holds`] (Eddy's opt-in hold after a manual change), a marker whose value differs from
//!   the one the automation last wrote there, while the policy still selects that same value, was
//!   changed by someone else (a rollback): it is kept and reported as held. Once the policy
//!   selects another value the marker is set again.

use std::collections::BTreeMap;

use eddy_api::image::ImageRef;

/// The images of the applied policies, keyed `<namespace>:<name>`.
pub type PolicyImages = BTreeMap<String, ImageRef>;

/// One value a setter changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub old_value: String,
    pub new_value: String,
    /// The marker's policy reference as written (`flux-system:app:tag`).
    pub setter: String,
}

/// The Kubernetes object a change is in (empty fields for documents that are not objects, such
/// as Helm values files).
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct ObjectId {
    pub api_version: String,
    pub kind: String,
    pub name: String,
    pub namespace: String,
}

/// The changes made to one file, per object.
pub type ObjectChanges = BTreeMap<ObjectId, Vec<Change>>;

/// A file the setters cannot work on.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("file '{file}' is not valid YAML: {detail}")]
pub struct BrokenYaml {
    pub file: String,
    pub detail: String,
}

/// A file's new text, what changed in it and which markers were held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdatedText {
    pub text: String,
    pub changes: ObjectChanges,
    pub held: Vec<Held>,
}

/// A marker kept at a value someone else wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    pub setter: String,
    pub value: String,
    pub policy_value: String,
}

/// The values the automation last wrote, keyed `<file>#<setter>` (see [`pushed_key`]); `None`
/// when manual changes are not held.
pub type Holds<'a> = Option<&'a BTreeMap<String, String>>;

/// The key of a marker in [`Holds`].
pub fn pushed_key(file: &str, setter: &str) -> String {
    format!("{file}#{setter}")
}

enum LineResult {
    Unchanged,
    Changed(String, Change),
    Held(Held),
}

/// Applies the setters to one file's text. `file` names it in errors.
pub fn update_text(
    file: &str,
    text: &str,
    images: &PolicyImages,
    holds: Holds<'_>,
) -> Result<UpdatedText, BrokenYaml> {
    let mut output = String::with_capacity(text.len());
    let mut changes = ObjectChanges::new();
    let mut held = Vec::new();
    for document in split_documents(text) {
        let object = identify(file, document)?;
        for line in document.split_inclusive('\n') {
            match set_line(line, images, |setter| {
                holds.and_then(|pushed| pushed.get(&pushed_key(file, setter)))
            }) {
                LineResult::Changed(new_line, change) => {
                    output.push_str(&new_line);
                    changes.entry(object.clone()).or_default().push(change);
                }
                LineResult::Held(marker) => {
                    held.push(marker);
                    output.push_str(line);
                }
                LineResult::Unchanged => output.push_str(line),
            }
        }
    }
    Ok(UpdatedText {
        text: output,
        changes,
        held,
    })
}

/// The documents of a multi-document file, each with its `---` separator line (so joining
/// them gives the file back).
fn split_documents(text: &str) -> Vec<&str> {
    let mut documents = Vec::new();
    let mut start = 0;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let is_separator =
            line.starts_with("---") && line[3..].chars().next().is_none_or(char::is_whitespace);
        if is_separator && offset > start {
            documents.push(&text[start..offset]);
            start = offset;
        }
        offset += line.len();
    }
    if offset > start || documents.is_empty() {
        documents.push(&text[start..]);
    }
    documents
}

/// Parses one document (reporting broken YAML) and names the object it describes.
fn identify(file: &str, document: &str) -> Result<ObjectId, BrokenYaml> {
    let value: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(document).map_err(|error| BrokenYaml {
            file: file.to_owned(),
            detail: error.to_string(),
        })?;
    let text = |value: Option<&serde_yaml_ng::Value>| {
        value
            .and_then(serde_yaml_ng::Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let metadata = value.get("metadata");
    Ok(ObjectId {
        api_version: text(value.get("apiVersion")),
        kind: text(value.get("kind")),
        name: text(metadata.and_then(|m| m.get("name"))),
        namespace: text(metadata.and_then(|m| m.get("namespace"))),
    })
}

/// Which part of the policy's image a marker sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Image,
    Tag,
    Name,
    Digest,
}

/// A parsed marker: the policy key (`<ns>:<name>`), the part it sets and the text as written.
struct Marker {
    policy: String,
    part: Part,
    setter: String,
}

fn parse_marker(comment: &str) -> Option<Marker> {
    let json: serde_json::Value = serde_json::from_str(comment.trim()).ok()?;
    let setter = json.get("$imagepolicy")?.as_str()?.to_owned();
    let fields: Vec<&str> = setter.split(':').collect();
    let part = match fields.as_slice() {
        [_, _] => Part::Image,
        [_, _, "tag"] => Part::Tag,
        [_, _, "name"] => Part::Name,
        [_, _, "digest"] => Part::Digest,
        _ => return None,
    };
    Some(Marker {
        policy: format!("{}:{}", fields[0], fields[1]),
        part,
        setter,
    })
}

fn new_value(image: &ImageRef, part: Part) -> Option<String> {
    let with_digest = |text: &str| match &image.digest {
        Some(digest) => format!("{text}@{digest}"),
        None => text.to_owned(),
    };
    match part {
        Part::Image => Some(with_digest(&format!("{}:{}", image.name, image.tag))),
        Part::Tag => Some(with_digest(&image.tag)),
        Part::Name => Some(image.name.clone()),
        Part::Digest => image.digest.clone(),
    }
}

/// The line with its marked value set, and the change, when the line has a marker for an
/// applied policy and its value differs (unless the marker is held: `last_pushed` gives the
/// value the automation last wrote for a setter, when manual changes are held).
fn set_line<'p>(
    line: &str,
    images: &PolicyImages,
    last_pushed: impl Fn(&str) -> Option<&'p String>,
) -> LineResult {
    match marked_change(line, images) {
        Some((_, change))
            if last_pushed(&change.setter).is_some_and(|last| *last == change.new_value) =>
        {
            LineResult::Held(Held {
                setter: change.setter,
                value: change.old_value,
                policy_value: change.new_value,
            })
        }
        Some((new_line, change)) => LineResult::Changed(new_line, change),
        None => LineResult::Unchanged,
    }
}

fn marked_change(line: &str, images: &PolicyImages) -> Option<(String, Change)> {
    let comment_start = find_comment(line)?;
    let marker = parse_marker(&line[comment_start + 1..])?;
    let image = images.get(&marker.policy)?;
    let value = find_value(&line[..comment_start])?;
    let new_value = new_value(image, marker.part)?;
    if value.decoded == new_value {
        return None;
    }
    let encoded = encode(&new_value, value.style);
    let new_line = format!("{}{}{}", &line[..value.start], encoded, &line[value.end..]);
    Some((
        new_line,
        Change {
            old_value: value.decoded,
            new_value,
            setter: marker.setter,
        },
    ))
}

/// Where the line's comment starts: a `#` at the line's start or after a blank, outside quotes.
fn find_comment(line: &str) -> Option<usize> {
    let mut quote: Option<char> = None;
    let mut previous = ' ';
    let mut chars = line.char_indices().peekable();
    while let Some((index, c)) = chars.next() {
        match quote {
            Some('"') if c == '\\' => {
                chars.next();
            }
            Some(open) if c == open => quote = None,
            Some(_) => {}
            None if c == '#' && (previous == ' ' || previous == '\t') => return Some(index),
            None if (c == '"' || c == '\'') && starts_scalar(previous) => quote = Some(c),
            None => {}
        }
        previous = c;
    }
    None
}

/// Whether a quote after this character opens a quoted scalar (rather than sitting inside a
/// plain one, as in `it's`).
fn starts_scalar(previous: char) -> bool {
    matches!(previous, ' ' | '\t' | '-' | ':' | '[' | '{' | ',')
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    Plain,
    Single,
    Double,
}

/// A scalar value on a line: its byte span (quotes included) and decoded text.
struct ValueSpan {
    start: usize,
    end: usize,
    style: Style,
    decoded: String,
}

/// The scalar before the comment: after `key:` when the line has a key, else after the
/// sequence indicators. `None` for empty values, block scalars, aliases, tags and collections.
fn find_value(content: &str) -> Option<ValueSpan> {
    let mut start = content.len() - content.trim_start().len();
    while content[start..].starts_with("- ") || content[start..].starts_with("-\t") {
        start += 1;
        start += content[start..].len() - content[start..].trim_start().len();
    }
    if let Some(after_key) = key_end(&content[start..]) {
        start += after_key;
        start += content[start..].len() - content[start..].trim_start().len();
    }
    let rest = content[start..].trim_end();
    let first = rest.chars().next()?;
    let (style, decoded) = match first {
        '"' => (Style::Double, decode_double(rest)?),
        '\'' => (Style::Single, decode_single(rest)?),
        '|' | '>' | '&' | '*' | '!' | '{' | '[' | '%' | '@' | '`' => return None,
        _ => (Style::Plain, rest.to_owned()),
    };
    Some(ValueSpan {
        start,
        end: start + rest.len(),
        style,
        decoded,
    })
}

/// The byte offset just after `key:` when the text starts with a mapping key.
fn key_end(text: &str) -> Option<usize> {
    let mut quote: Option<char> = None;
    let mut chars = text.char_indices().peekable();
    while let Some((index, c)) = chars.next() {
        match quote {
            Some('"') if c == '\\' => {
                chars.next();
            }
            Some(open) if c == open => quote = None,
            Some(_) => {}
            None if (c == '"' || c == '\'') && index == 0 => quote = Some(c),
            None if c == ':' => {
                let next = chars.peek().map(|(_, next)| *next);
                if next.is_none_or(|next| next == ' ' || next == '\t') {
                    return Some(index + 1);
                }
            }
            None => {}
        }
    }
    None
}

/// The text of a double-quoted scalar that ends the value (`None` if anything follows it).
fn decode_double(text: &str) -> Option<String> {
    let parsed: String = serde_yaml_ng::from_str(text).ok()?;
    Some(parsed)
}

fn decode_single(text: &str) -> Option<String> {
    let inner = text.strip_prefix('\'')?.strip_suffix('\'')?;
    if inner.replace("''", "").contains('\'') {
        return None;
    }
    Some(inner.replace("''", "'"))
}

fn encode(value: &str, style: Style) -> String {
    match style {
        Style::Single => format!("'{}'", value.replace('\'', "''")),
        Style::Plain if reads_back_as_string(value) => value.to_owned(),
        Style::Plain | Style::Double => {
            format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
        }
    }
}

fn reads_back_as_string(value: &str) -> bool {
    !value.is_empty()
        && !value.starts_with([
            '"', '\'', '-', '?', ':', '#', '|', '>', '&', '*', '!', '%', '@',
        ])
        && matches!(
            serde_yaml_ng::from_str::<serde_yaml_ng::Value>(&format!("k: {value}")),
            Ok(serde_yaml_ng::Value::Mapping(map))
                if map.get("k").and_then(serde_yaml_ng::Value::as_str) == Some(value)
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn images() -> PolicyImages {
        let mut images = PolicyImages::new();
        images.insert(
            "flux-system:app".into(),
            ImageRef {
                name: "registry.local:5000/team/app".into(),
                tag: "1.0.1".into(),
                digest: None,
            },
        );
        images.insert(
            "flux-system:pinned".into(),
            ImageRef {
                name: "ghcr.io/org/pinned".into(),
                tag: "2.0.0".into(),
                digest: Some("sha256:abc".into()),
            },
        );
        images
    }

    fn update(text: &str) -> UpdatedText {
        update_text("f.yaml", text, &images(), None).unwrap()
    }

    #[test]
    fn only_the_marked_value_changes_and_every_other_byte_stays() {
        let text = "\
# leading comment
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app   # trailing comment
  namespace: apps
spec:
  template:
    spec:
      containers:
        - name: app
          image: registry.local:5000/team/app:1.0.0 # {\"$imagepolicy\": \"flux-system:app\"}
          args: [\"--flag\", 'x']
        - name: sidecar
          image: busybox:1.36
";
        let updated = update(text);
        assert_eq!(
            updated.text,
            text.replace("team/app:1.0.0 #", "team/app:1.0.1 #")
        );
        let object = ObjectId {
            api_version: "apps/v1".into(),
            kind: "Deployment".into(),
            name: "app".into(),
            namespace: "apps".into(),
        };
        assert_eq!(
            updated.changes[&object],
            vec![Change {
                old_value: "registry.local:5000/team/app:1.0.0".into(),
                new_value: "registry.local:5000/team/app:1.0.1".into(),
                setter: "flux-system:app".into(),
            }]
        );
    }

    #[test]
    fn tag_name_and_digest_variants() {
        let text = "\
images:
- name: app # {\"$imagepolicy\": \"flux-system:app:name\"}
  newName: old/app # {\"$imagepolicy\": \"flux-system:app:name\"}
  newTag: 1.0.0 # {\"$imagepolicy\": \"flux-system:app:tag\"}
  digest: sha256:old # {\"$imagepolicy\": \"flux-system:pinned:digest\"}
  pinnedTag: 1.0.0 # {\"$imagepolicy\": \"flux-system:pinned:tag\"}
  noDigest: keep # {\"$imagepolicy\": \"flux-system:app:digest\"}
";
        let updated = update(text);
        assert_eq!(
            updated.text,
            "\
images:
- name: registry.local:5000/team/app # {\"$imagepolicy\": \"flux-system:app:name\"}
  newName: registry.local:5000/team/app # {\"$imagepolicy\": \"flux-system:app:name\"}
  newTag: 1.0.1 # {\"$imagepolicy\": \"flux-system:app:tag\"}
  digest: sha256:abc # {\"$imagepolicy\": \"flux-system:pinned:digest\"}
  pinnedTag: 2.0.0@sha256:abc # {\"$imagepolicy\": \"flux-system:pinned:tag\"}
  noDigest: keep # {\"$imagepolicy\": \"flux-system:app:digest\"}
"
        );
        assert_eq!(updated.changes.values().map(Vec::len).sum::<usize>(), 5);
    }

    #[test]
    fn quoting_style_is_kept() {
        let text = "\
a: \"1.0.0\" # {\"$imagepolicy\": \"flux-system:app:tag\"}
b: '1.0.0'   # {\"$imagepolicy\": \"flux-system:app:tag\"}
\"quoted key\": x:1 # {\"$imagepolicy\": \"flux-system:app\"}
list:
  - old/app:0.1 # {\"$imagepolicy\": \"flux-system:app\"}
";
        assert_eq!(
            update(text).text,
            "\
a: \"1.0.1\" # {\"$imagepolicy\": \"flux-system:app:tag\"}
b: '1.0.1'   # {\"$imagepolicy\": \"flux-system:app:tag\"}
\"quoted key\": registry.local:5000/team/app:1.0.1 # {\"$imagepolicy\": \"flux-system:app\"}
list:
  - registry.local:5000/team/app:1.0.1 # {\"$imagepolicy\": \"flux-system:app\"}
"
        );
    }

    #[test]
    fn a_plain_value_that_would_read_back_as_a_number_is_quoted() {
        let mut images = images();
        images.insert(
            "ns:numeric".into(),
            ImageRef {
                name: "app".into(),
                tag: "1.10".into(),
                digest: None,
            },
        );
        let updated = update_text(
            "v.yaml",
            "tag: 1.9 # {\"$imagepolicy\": \"ns:numeric:tag\"}\n",
            &images,
            None,
        )
        .unwrap();
        assert_eq!(
            updated.text,
            "tag: \"1.10\" # {\"$imagepolicy\": \"ns:numeric:tag\"}\n"
        );
    }

    #[test]
    fn helm_release_values_and_crlf_and_multiple_documents() {
        let text = "\
apiVersion: v1\r
kind: ConfigMap\r
metadata: {name: first}\r
---\r
apiVersion: helm.toolkit.fluxcd.io/v2\r
kind: HelmRelease\r
metadata:\r
  name: web\r
spec:\r
  values:\r
    image:\r
      repository: old # {\"$imagepolicy\": \"flux-system:app:name\"}\r
      tag: 0.9 # {\"$imagepolicy\": \"flux-system:app:tag\"}\r
";
        let updated = update(text);
        assert_eq!(
            updated.text,
            text.replace(
                "repository: old",
                "repository: registry.local:5000/team/app"
            )
            .replace("tag: 0.9", "tag: 1.0.1")
        );
        let objects: Vec<&str> = updated.changes.keys().map(|o| o.name.as_str()).collect();
        assert_eq!(objects, vec!["web"]);
    }

    #[test]
    fn markers_that_do_not_apply_leave_the_file_alone() {
        let text = "\
a: x # {\"$imagepolicy\": \"other-ns:app\"}
b: x # {\"$imagepolicy\": \"flux-system:missing\"}
c: x # {\"$imagepolicy\": \"flux-system:app:bogus\"}
d: x # {\"$imagepolicy\": 3}
e: 'a # {\"$imagepolicy\": \"flux-system:app\"}'
f: | # {\"$imagepolicy\": \"flux-system:app\"}
  block
g: # {\"$imagepolicy\": \"flux-system:app\"}
h: registry.local:5000/team/app:1.0.1 # {\"$imagepolicy\": \"flux-system:app\"}
";
        let updated = update(text);
        assert_eq!(updated.text, text);
        assert!(updated.changes.is_empty());
    }

    #[test]
    fn broken_yaml_is_reported_with_its_file() {
        let error = update_text("apps/broken.yaml", "a: [unclosed\n", &images(), None).unwrap_err();
        assert_eq!(error.file, "apps/broken.yaml");
        assert!(
            error
                .to_string()
                .starts_with("file 'apps/broken.yaml' is not valid YAML")
        );
    }

    #[test]
    fn documents_split_and_join_back() {
        let text = "---\na: 1\n---\nb: 2\n--- # c\nc: 3";
        assert_eq!(split_documents(text).concat(), text);
        assert_eq!(split_documents(text).len(), 3);
        assert_eq!(split_documents("").len(), 1);
    }

    #[test]
    fn a_manual_change_is_held_until_the_policy_moves_on() {
        let text =
            "image: registry.local:5000/team/app:1.0.0 # {\"$imagepolicy\": \"flux-system:app\"}\n";
        let mut pushed = BTreeMap::new();
        pushed.insert(
            pushed_key("f.yaml", "flux-system:app"),
            "registry.local:5000/team/app:1.0.1".to_owned(),
        );
        // Someone rolled 1.0.1 back to 1.0.0; the policy still selects 1.0.1: held.
        let held = update_text("f.yaml", text, &images(), Some(&pushed)).unwrap();
        assert_eq!(held.text, text);
        assert_eq!(
            held.held,
            vec![Held {
                setter: "flux-system:app".into(),
                value: "registry.local:5000/team/app:1.0.0".into(),
                policy_value: "registry.local:5000/team/app:1.0.1".into(),
            }]
        );
        // The automation had pushed an older value: the policy moved on, the marker is set.
        pushed.insert(
            pushed_key("f.yaml", "flux-system:app"),
            "registry.local:5000/team/app:0.9.0".to_owned(),
        );
        let set = update_text("f.yaml", text, &images(), Some(&pushed)).unwrap();
        assert!(set.held.is_empty());
        assert!(set.text.contains("app:1.0.1"));
        // Holding off: set as Flux would.
        assert!(
            update_text("f.yaml", text, &images(), None)
                .unwrap()
                .held
                .is_empty()
        );
    }
}
