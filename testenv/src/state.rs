//! The record of a running environment (`state/state.json`) and the decision whether a previous
//! run can be reused or must be cleaned away.
//!
//! `up` rewrites the record after every process it starts, so even a run killed half-way leaves
//! behind the pids the next `up` (or `down`) needs to stop what it started.

use std::fs;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::TestenvError;
use crate::layout::Layout;
use crate::process;

/// Ports chosen at `up` time, all on 127.0.0.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ports {
    pub etcd_client: u16,
    pub etcd_peer: u16,
    pub apiserver: u16,
    pub controller_manager: u16,
    pub scheduler: u16,
}

/// One started process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessRecord {
    pub component: String,
    pub pid: u32,
    /// The program's absolute path, which must match `/proc/<pid>/cmdline` before we signal it.
    pub binary: PathBuf,
}

/// Everything `state.json` holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// The pins the binaries were built from (see `versions::cache_key`).
    pub versions: String,
    pub ports: Ports,
    pub processes: Vec<ProcessRecord>,
    /// Set once `up` finished: every component runs and the API answered.
    pub complete: bool,
}

impl State {
    pub fn load(layout: &Layout) -> Result<Self, String> {
        let path = layout.state_file();
        let text = fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        serde_json::from_str(&text).map_err(|e| format!("{} is not valid: {e}", path.display()))
    }

    /// Writes the record atomically (temp file + rename), so a crash never leaves half a JSON.
    pub fn save(&self, layout: &Layout) -> Result<(), TestenvError> {
        let path = layout.state_file();
        let temp = path.with_extension("json.tmp");
        let text = serde_json::to_string_pretty(self).map_err(|source| TestenvError::Encode {
            what: "the testenv state",
            source,
        })?;
        fs::write(&temp, text).map_err(|e| TestenvError::io("cannot write", &temp, e))?;
        fs::rename(&temp, &path).map_err(|e| TestenvError::io("cannot write", &path, e))
    }
}

/// What a previous `up` left behind.
#[derive(Debug)]
pub enum Previous {
    /// No state directory: nothing to reuse or clean.
    Absent,
    /// Every recorded component still runs (the API itself is checked separately).
    Running(State),
    /// Something is wrong; whatever still runs must be stopped and the state removed.
    Broken {
        state: Option<State>,
        reason: String,
    },
}

/// Inspects the state directory. `expected` lists the components a complete environment runs.
pub fn assess(layout: &Layout, expected: &[&str]) -> Previous {
    if !layout.state_dir().exists() {
        return Previous::Absent;
    }
    let state = match State::load(layout) {
        Ok(state) => state,
        Err(reason) => {
            return Previous::Broken {
                state: None,
                reason,
            };
        }
    };
    let problem = if !state.complete {
        Some("the previous `up` did not finish".to_owned())
    } else {
        expected.iter().find_map(|component| {
            match state.processes.iter().find(|p| p.component == *component) {
                None => Some(format!("{component} was never started")),
                Some(record) if !process::is_running(record.pid, &record.binary) => Some(format!(
                    "{component} (pid {}) is no longer running",
                    record.pid
                )),
                Some(_) => None,
            }
        })
    };
    match problem {
        None => Previous::Running(state),
        Some(reason) => Previous::Broken {
            state: Some(state),
            reason,
        },
    }
}

/// Stops every recorded process that still runs, then deletes the state directory.
pub fn clean(layout: &Layout, state: Option<&State>) -> Result<(), TestenvError> {
    if let Some(state) = state {
        // Reverse start order: clients before the API server, the API server before etcd.
        for record in state.processes.iter().rev() {
            process::stop(&record.component, record.pid, &record.binary)?;
        }
    }
    let dir = layout.state_dir();
    match fs::remove_dir_all(&dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(TestenvError::io("cannot remove", &dir, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;
    use std::time::{Duration, Instant};

    const PORTS: Ports = Ports {
        etcd_client: 1,
        etcd_peer: 2,
        apiserver: 3,
        controller_manager: 4,
        scheduler: 5,
    };

    fn state_with(processes: Vec<ProcessRecord>, complete: bool) -> State {
        State {
            versions: "test".to_owned(),
            ports: PORTS,
            processes,
            complete,
        }
    }

    fn layout_with(state: &State) -> (tempfile::TempDir, Layout) {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::at(dir.path());
        fs::create_dir_all(layout.state_dir()).unwrap();
        state.save(&layout).unwrap();
        (dir, layout)
    }

    fn sleeper() -> process::Started {
        let log = std::env::temp_dir().join("eddy-testenv-state-test.log");
        process::spawn_detached(Path::new("/bin/sleep"), &["30".to_owned()], &[], &log).unwrap()
    }

    #[test]
    fn no_state_dir_means_nothing_to_do() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            assess(&Layout::at(dir.path()), &["etcd"]),
            Previous::Absent
        ));
    }

    #[test]
    fn the_record_round_trips() {
        let state = state_with(vec![], true);
        let (_dir, layout) = layout_with(&state);
        assert_eq!(State::load(&layout).unwrap(), state);
    }

    #[test]
    fn an_unreadable_record_is_broken() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::at(dir.path());
        fs::create_dir_all(layout.state_dir()).unwrap();
        fs::write(layout.state_file(), "{ half a record").unwrap();
        match assess(&layout, &["etcd"]) {
            Previous::Broken {
                state: None,
                reason,
            } => assert!(reason.contains("not valid"), "{reason}"),
            other => panic!("expected Broken, got {other:?}"),
        }
    }

    #[test]
    fn an_unfinished_up_is_broken() {
        let (_dir, layout) = layout_with(&state_with(vec![], false));
        assert!(matches!(assess(&layout, &[]), Previous::Broken { .. }));
    }

    #[test]
    fn a_dead_or_missing_component_makes_it_half_dead_and_clean_stops_the_rest() {
        let mut alive = sleeper();
        let records = vec![
            ProcessRecord {
                component: "etcd".to_owned(),
                pid: alive.pid,
                binary: "/bin/sleep".into(),
            },
            ProcessRecord {
                component: "kube-apiserver".to_owned(),
                pid: 4_194_000,
                binary: "/nonexistent/kube-apiserver".into(),
            },
        ];
        let (_dir, layout) = layout_with(&state_with(records, true));

        let Previous::Broken { state, reason } = assess(&layout, &["etcd", "kube-apiserver"])
        else {
            panic!("expected Broken");
        };
        assert!(reason.contains("kube-apiserver"), "{reason}");
        let Previous::Broken { reason, .. } = assess(&layout, &["etcd", "kube-scheduler"]) else {
            panic!("expected Broken");
        };
        assert!(
            reason.contains("kube-scheduler was never started"),
            "{reason}"
        );

        let pid = alive.pid;
        let reaper = std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(30);
            while alive.exited().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        clean(&layout, state.as_ref()).unwrap();
        reaper.join().unwrap();
        assert!(!process::is_running(pid, Path::new("/bin/sleep")));
        assert!(!layout.state_dir().exists());
    }

    #[test]
    fn all_components_alive_is_running() {
        let mut alive = sleeper();
        let records = vec![ProcessRecord {
            component: "etcd".to_owned(),
            pid: alive.pid,
            binary: "/bin/sleep".into(),
        }];
        let (_dir, layout) = layout_with(&state_with(records, true));
        assert!(matches!(assess(&layout, &["etcd"]), Previous::Running(_)));
        let _ = alive.exited();
        process::stop("sleep", alive.pid, Path::new("/bin/sleep")).ok();
    }
}
