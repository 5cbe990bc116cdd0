//! OpenSSH `sshd` on a loopback port, running as the current user with its own config, host key
//! and one authorised client key. Git runs `git-upload-pack` through it like on any Git host.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

const SSHD: &str = "/usr/sbin/sshd";

/// A running `sshd`; killed when dropped.
pub struct SshServer {
    child: Child,
    port: u16,
    user: String,
    dir: tempfile::TempDir,
    known_hosts: String,
    client_identity: String,
}

fn keygen(path: &Path, passphrase: &str) -> anyhow::Result<()> {
    let status = Command::new("ssh-keygen")
        .args([
            "-q",
            "-t",
            "ed25519",
            "-N",
            passphrase,
            "-C",
            "eddy-test",
            "-f",
        ])
        .arg(path)
        .stdin(Stdio::null())
        .status()
        .context("running ssh-keygen (package openssh-client)")?;
    if !status.success() {
        bail!("ssh-keygen failed for {}", path.display());
    }
    Ok(())
}

fn current_user() -> anyhow::Result<String> {
    let output = Command::new("id").arg("-un").output()?;
    Ok(String::from_utf8(output.stdout)?.trim().to_string())
}

impl SshServer {
    /// Starts `sshd` on a free loopback port. Needs the `openssh-server` package.
    pub fn start() -> anyhow::Result<Self> {
        if !Path::new(SSHD).exists() {
            bail!("{SSHD} is missing: install the openssh-server package");
        }
        let dir = tempfile::tempdir()?;
        let host_key = dir.path().join("host_key");
        let client_key = dir.path().join("client_key");
        keygen(&host_key, "")?;
        keygen(&client_key, "")?;
        std::fs::copy(
            dir.path().join("client_key.pub"),
            dir.path().join("authorized_keys"),
        )?;
        // sshd started by root insists on its privilege separation directory.
        let _ = std::fs::create_dir_all("/run/sshd");

        let port = free_port()?;
        let config_path = dir.path().join("sshd_config");
        let config = format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {host_key}\nPidFile {pid}\n\
             AuthorizedKeysFile {authorized}\nUsePAM no\nStrictModes no\n\
             PasswordAuthentication no\nKbdInteractiveAuthentication no\n\
             PubkeyAuthentication yes\nPermitRootLogin prohibit-password\nLogLevel ERROR\n",
            host_key = host_key.display(),
            pid = dir.path().join("sshd.pid").display(),
            authorized = dir.path().join("authorized_keys").display(),
        );
        std::fs::write(&config_path, config)?;
        // sshd's own log (e.g. probes of the readiness check) would clutter test output.
        let log = std::fs::File::create(dir.path().join("sshd.log"))?;
        let child = Command::new(SSHD)
            .arg("-f")
            .arg(&config_path)
            .args(["-D", "-e"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .context("starting sshd")?;

        let host_pub = std::fs::read_to_string(dir.path().join("host_key.pub"))?;
        let mut fields = host_pub.split_whitespace();
        let (key_type, key) = (
            fields.next().context("empty host key")?,
            fields.next().context("host key has no body")?,
        );
        let known_hosts = format!("[127.0.0.1]:{port} {key_type} {key}\n");
        let client_identity = std::fs::read_to_string(&client_key)?;
        let mut server = SshServer {
            child,
            port,
            user: current_user()?,
            dir,
            known_hosts,
            client_identity,
        };
        server.wait_until_listening()?;
        Ok(server)
    }

    fn wait_until_listening(&mut self) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                let log =
                    std::fs::read_to_string(self.dir.path().join("sshd.log")).unwrap_or_default();
                bail!("sshd exited early with {status}: {log}");
            }
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        bail!("sshd did not listen on port {} within 10s", self.port)
    }

    /// `ssh://<user>@127.0.0.1:<port><absolute path>` for a bare repository on this machine.
    pub fn url(&self, bare_repo: &Path) -> String {
        format!(
            "ssh://{}@127.0.0.1:{}{}",
            self.user,
            self.port,
            bare_repo.display()
        )
    }

    /// A `known_hosts` line for this server's host key.
    pub fn known_hosts(&self) -> &str {
        &self.known_hosts
    }

    /// The private key authorised to log in (OpenSSH format, no passphrase).
    pub fn client_identity(&self) -> &str {
        &self.client_identity
    }

    /// Generates another key pair (not authorised), e.g. to test rejected identities or keys
    /// with a passphrase. Returns the private key text.
    pub fn generate_key(&self, name: &str, passphrase: &str) -> anyhow::Result<String> {
        let path: PathBuf = self.dir.path().join(name);
        keygen(&path, passphrase)?;
        Ok(std::fs::read_to_string(path)?)
    }

    /// Adds a public key (`<path>.pub` of a key made by [`Self::generate_key`]) to the
    /// authorised keys.
    pub fn authorise_key(&self, name: &str) -> anyhow::Result<()> {
        let public = std::fs::read_to_string(self.dir.path().join(format!("{name}.pub")))?;
        let path = self.dir.path().join("authorized_keys");
        let mut keys = std::fs::read_to_string(&path)?;
        keys.push_str(&public);
        std::fs::write(path, keys)?;
        Ok(())
    }

    pub fn port(&self) -> u16 {
        self.port
    }
}

impl Drop for SshServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}
