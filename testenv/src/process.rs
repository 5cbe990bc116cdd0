//! Starting the control-plane processes detached, recognising them later, and stopping them.
//!
//! The processes outlive the `cargo xtask testenv up` (or test binary) that started them, so they
//! are identified by pid files plus their command line: a pid alone could have been reused by an
//! unrelated program after a reboot or crash, and killing that would be far worse than a leak.

use std::fs::{self, OpenOptions};
use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal, kill_process_group};

use crate::error::TestenvError;

/// How long a process gets to exit after SIGTERM before it is sent SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// Waits for `child` up to `timeout`; on timeout kills it and returns `None`.
pub fn wait_with_timeout(child: &mut Child, timeout: Duration) -> io::Result<Option<ExitStatus>> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Ok(None);
        }
        thread::sleep(Duration::from_millis(50));
    }
}

/// A process started by [`spawn_detached`].
#[derive(Debug)]
pub struct Started {
    pub pid: u32,
    child: Child,
}

impl Started {
    /// The exit status if the process has already ended (reaping it), `None` while it runs.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }
}

/// Starts `binary` with `args` in a process group of its own (so a Ctrl-C in the terminal that ran
/// `up` does not reach it), stdin closed and stdout/stderr appended to `log`.
pub fn spawn_detached(
    binary: &Path,
    args: &[String],
    envs: &[(&str, PathBuf)],
    log: &Path,
) -> Result<Started, TestenvError> {
    let out = OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(|e| TestenvError::io("cannot open log", log, e))?;
    let err = out
        .try_clone()
        .map_err(|e| TestenvError::io("cannot open log", log, e))?;
    let mut command = Command::new(binary);
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .process_group(0);
    for (key, value) in envs {
        command.env(key, value);
    }
    let child = command
        .spawn()
        .map_err(|e| TestenvError::io("cannot start", binary, e))?;
    Ok(Started {
        pid: child.id(),
        child,
    })
}

/// Whether `pid` is a live (not zombie) process whose program is `binary`.
pub fn is_running(pid: u32, binary: &Path) -> bool {
    // Right after `spawn` returns, the child may still be inside exec (the kernel resumes the
    // parent before the new program's arguments are visible) and shows an empty command line
    // for a moment; retry briefly rather than mistake our own new process for a stranger.
    for _ in 0..50 {
        match command_line_matches(pid, binary) {
            Some(matches) => return matches,
            None => thread::sleep(Duration::from_millis(2)),
        }
    }
    false
}

/// `Some(whether argv[0] is binary)` for a live process, `Some(false)` for a dead or zombie one,
/// `None` while its command line is still empty.
fn command_line_matches(pid: u32, binary: &Path) -> Option<bool> {
    let proc_dir = PathBuf::from(format!("/proc/{pid}"));
    let Ok(stat) = fs::read_to_string(proc_dir.join("stat")) else {
        return Some(false);
    };
    // The state letter follows the parenthesised command name, which may itself contain spaces.
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next());
    if matches!(state, Some("Z") | Some("X") | None) {
        return Some(false);
    }
    let Ok(cmdline) = fs::read(proc_dir.join("cmdline")) else {
        return Some(false);
    };
    if cmdline.is_empty() {
        return None;
    }
    let argv0 = cmdline.split(|byte| *byte == 0).next().unwrap_or_default();
    Some(argv0 == binary.as_os_str().as_encoded_bytes())
}

/// Stops the process group led by `pid` (SIGTERM, then SIGKILL after a grace period) if `pid` is
/// still the process running `binary`. Returns once it is gone.
pub fn stop(component: &str, pid: u32, binary: &Path) -> Result<(), TestenvError> {
    if !is_running(pid, binary) {
        return Ok(());
    }
    let Some(group) = i32::try_from(pid).ok().and_then(Pid::from_raw) else {
        return Ok(());
    };
    let unkillable = |reason: String| TestenvError::Unkillable {
        component: component.to_owned(),
        pid,
        reason,
    };
    let _ = kill_process_group(group, Signal::TERM);
    if wait_until_gone(pid, binary, STOP_GRACE) {
        return Ok(());
    }
    kill_process_group(group, Signal::KILL).map_err(|e| unkillable(e.to_string()))?;
    if wait_until_gone(pid, binary, STOP_GRACE) {
        Ok(())
    } else {
        Err(unkillable("it survived SIGKILL".to_owned()))
    }
}

fn wait_until_gone(pid: u32, binary: &Path, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if !is_running(pid, binary) {
            return true;
        }
        thread::sleep(Duration::from_millis(100));
    }
    !is_running(pid, binary)
}

/// `count` distinct ports on 127.0.0.1 that were free a moment ago: the kernel picks them while
/// all are held open (so none repeats), then they are released for the components to bind.
pub fn free_ports(count: usize) -> io::Result<Vec<u16>> {
    let listeners = (0..count)
        .map(|_| TcpListener::bind((Ipv4Addr::LOCALHOST, 0)))
        .collect::<io::Result<Vec<_>>>()?;
    listeners
        .iter()
        .map(|listener| Ok(listener.local_addr()?.port()))
        .collect()
}

/// Fails with [`TestenvError::PortInUse`] when `port` on 127.0.0.1 cannot be bound.
pub fn ensure_port_free(
    port: u16,
    purpose: &'static str,
    hint: &'static str,
) -> Result<(), TestenvError> {
    match TcpListener::bind((Ipv4Addr::LOCALHOST, port)) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AddrInUse => Err(TestenvError::PortInUse {
            port,
            purpose,
            hint,
        }),
        Err(e) => Err(TestenvError::io(
            "cannot bind",
            format!("127.0.0.1:{port}"),
            e,
        )),
    }
}

/// Whether something accepts TCP connections on 127.0.0.1:`port`.
pub fn port_accepts(port: u16) -> bool {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    TcpStream::connect_timeout(&address, Duration::from_millis(500)).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bound_port_is_reported_in_use() {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let error = ensure_port_free(port, "the API server", "unset X").unwrap_err();
        assert!(matches!(error, TestenvError::PortInUse { port: p, .. } if p == port));
        assert!(error.to_string().contains(&port.to_string()));
        drop(listener);
        ensure_port_free(port, "the API server", "unset X").unwrap();
    }

    #[test]
    fn port_accepts_sees_listeners() {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        assert!(port_accepts(port));
        drop(listener);
        assert!(!port_accepts(port));
    }

    #[test]
    fn detached_processes_are_recognised_and_stopped() {
        let dir = tempfile::tempdir().unwrap();
        let sleep = PathBuf::from("/bin/sleep");
        let log = dir.path().join("sleep.log");
        let mut started = spawn_detached(&sleep, &["30".to_owned()], &[], &log).unwrap();
        assert!(is_running(started.pid, &sleep));
        // Same pid, different program: must not count as ours.
        assert!(!is_running(
            started.pid,
            Path::new("/usr/bin/kube-apiserver")
        ));

        // Reap from a helper thread, as the real owner (init) would, so no zombie lingers.
        let pid = started.pid;
        let reaper = thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(30);
            while started.exited().is_none() && Instant::now() < deadline {
                thread::sleep(Duration::from_millis(20));
            }
        });
        stop("sleep", pid, &sleep).unwrap();
        reaper.join().unwrap();
        assert!(!is_running(pid, &sleep));
    }

    #[test]
    fn stopping_a_dead_pid_is_a_no_op() {
        // Pid numbers near the kernel maximum are practically never in use.
        stop("ghost", 4_194_000, Path::new("/nonexistent/ghost")).unwrap();
    }
}
