//! Arbitrary bytes as a kustomization file: must return Ok or Err, never panic or hang.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = eddy_kustomize::fuzzing::parse_kustomization(data);
});
