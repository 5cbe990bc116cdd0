//! Eddy's end-to-end tests: the real controllers run in-process against the shared testenv,
//! sources come from a real Git server. The tests and their shared set-up live under `tests/`
//! (`tests/common/mod.rs`); this library is empty on purpose.
