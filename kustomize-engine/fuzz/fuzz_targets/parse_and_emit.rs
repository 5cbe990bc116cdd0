//! Arbitrary bytes as a YAML object stream, printed back: must return Ok or Err, never panic. What
//! is printed must parse again to the same objects (the emitter's round trip).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(printed) = eddy_kustomize::fuzzing::parse_and_emit(data) {
        let again = eddy_kustomize::fuzzing::parse_and_emit(printed.as_bytes())
            .unwrap_or_else(|e| panic!("printed YAML does not parse again: {e}\n{printed}"));
        assert_eq!(printed, again, "printing is not stable");
    }
});
