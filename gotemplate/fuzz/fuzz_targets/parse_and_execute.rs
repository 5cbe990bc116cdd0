//! Arbitrary bytes as a set of templates, executed with Helm's function map on a fixed chart-like
//! value: must return output or an error, never panic, and stop within the limits.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = eddy_gotemplate::fuzzing::parse_and_execute(data);
});
