//! Inputs the fuzz target (`gotemplate/fuzz`) or the random tests once crashed on, replayed:
//! each must now give output or an error without panicking.

use std::path::Path;

#[test]
fn past_crashes_no_longer_panic() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_crashes");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).expect("crash directory exists") {
        let path = entry.expect("readable entry").path();
        let data = std::fs::read(&path).expect("readable crash file");
        let result =
            std::panic::catch_unwind(|| eddy_gotemplate::fuzzing::parse_and_execute(&data));
        assert!(result.is_ok(), "{} panics", path.display());
        count += 1;
    }
    assert!(count > 0, "no crash inputs in {}", dir.display());
}
