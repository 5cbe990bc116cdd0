//! The caller's limits stop runaway templates with a `Limit` error, which `include` and `tpl`
//! pass through unwrapped.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use eddy_gotemplate::{Error, ExecErrorKind, FuncMap, Limits, TemplateSet, Value};

fn run(text: &str, limits: Limits) -> Result<String, Error> {
    let mut set = TemplateSet::new("gotpl", FuncMap::helm()).with_limits(limits);
    set.parse("t", text)?;
    set.execute("t", Value::Nil)
}

fn limit_kind(result: Result<String, Error>) -> (ExecErrorKind, String) {
    match result {
        Err(Error::Exec(e)) => (e.kind, e.message),
        other => panic!("expected an execution error, got {other:?}"),
    }
}

#[test]
fn output_size_is_bounded() {
    let limits = Limits {
        max_output_bytes: 10_000,
        ..Limits::default()
    };
    let (kind, message) = limit_kind(run("{{ range until 100000 }}0123456789{{ end }}", limits));
    assert_eq!(kind, ExecErrorKind::Limit);
    assert!(
        message.contains("output exceeds the limit of 10000 bytes"),
        "{message}"
    );
}

#[test]
fn execution_time_is_bounded() {
    let limits = Limits {
        timeout: Some(Duration::from_millis(200)),
        ..Limits::default()
    };
    let started = Instant::now();
    let (kind, message) = limit_kind(run(
        "{{ range until 1000000 }}{{ range until 1000000 }}{{ end }}{{ end }}",
        limits,
    ));
    assert_eq!(kind, ExecErrorKind::Limit);
    assert!(message.contains("time limit"), "{message}");
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn template_recursion_is_bounded_and_passes_through_include() {
    let limits = Limits {
        max_depth: 50,
        ..Limits::default()
    };
    let text = r#"{{ define "r" }}{{ template "r" . }}{{ end }}{{ include "r" . }}"#;
    let (kind, message) = limit_kind(run(text, limits));
    assert_eq!(kind, ExecErrorKind::Limit);
    assert!(
        message.contains("exceeded maximum template depth (50)"),
        "{message}"
    );
    assert!(
        !message.contains("error calling include"),
        "a limit is not wrapped: {message}"
    );
}

#[test]
fn tpl_inside_tpl_shares_the_limits() {
    let limits = Limits {
        max_output_bytes: 1_000,
        ..Limits::default()
    };
    let text = r#"{{ tpl "{{ range until 1000 }}xxxxxxxxxx{{ end }}" . }}"#;
    let (kind, _) = limit_kind(run(text, limits));
    assert_eq!(kind, ExecErrorKind::Limit);
}
