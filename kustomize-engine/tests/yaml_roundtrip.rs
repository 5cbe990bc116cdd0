//! Every expected output of the corpus must survive parse + emit unchanged: this pins the emitter
//! (key order, quoting, folding, block scalars) to kubectl's exact bytes.

mod common;

#[test]
fn corpus_expected_outputs_round_trip_through_the_emitter() {
    let corpus = common::corpus_dir();
    let mut checked = 0;
    let mut failures = Vec::new();
    for case in common::case_names(&corpus) {
        let path = corpus.join(&case).join("expected.yaml");
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let documents = eddy_kustomize::yaml::parse_documents(&text).unwrap();
        let rendered: Vec<String> = documents
            .iter()
            .filter(|d| !d.is_null())
            .map(eddy_kustomize::yaml::emit_document)
            .collect();
        checked += 1;
        if rendered.join("---\n") != text {
            failures.push(case);
        }
    }
    assert!(checked > 150, "only {checked} expected outputs found");
    assert!(failures.is_empty(), "emitter differs for: {failures:?}");
}
