//! `known_hosts` parsing and SSH host key verification.
//!
//! Supports plain and hashed (`|1|salt|hash`) host entries, comma-separated patterns with `*`/`?`
//! wildcards and `!` negation, `[host]:port` for non-default ports, and `@revoked` markers.
//! `@cert-authority` lines are skipped: libgit2 hands over the raw host key, not a certificate.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use hmac::{Hmac, Mac};
use sha2::Digest as _;

/// One usable line of a `known_hosts` file.
#[derive(Debug, Clone)]
struct Entry {
    revoked: bool,
    hosts: String,
    key_blob: Vec<u8>,
}

/// The parsed contents of a `known_hosts` file.
#[derive(Debug, Clone, Default)]
pub struct KnownHosts {
    entries: Vec<Entry>,
}

impl KnownHosts {
    /// Parses `text`, skipping comments, blank lines and lines that cannot be decoded (OpenSSH
    /// skips those too, so a stray line must not lock anyone out).
    pub fn parse(text: &str) -> Self {
        let entries = text.lines().filter_map(parse_line).collect();
        KnownHosts { entries }
    }

    /// Whether any usable entry was found.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Checks the key a server presented for `host`:`port`. The error explains which host failed
    /// and why, with the SHA256 fingerprint of the offered key.
    pub fn verify(&self, host: &str, port: u16, offered_key: &[u8]) -> Result<(), String> {
        let lookup_name = host_entry(host, port);
        let fingerprint = fingerprint(offered_key);
        let key_type = key_type(offered_key).unwrap_or("unknown");
        let mut host_known = false;
        for entry in self
            .entries
            .iter()
            .filter(|entry| hosts_match(&entry.hosts, &lookup_name))
        {
            if entry.key_blob == offered_key {
                if entry.revoked {
                    return Err(format!(
                        "the {key_type} key {fingerprint} of {lookup_name} is marked @revoked"
                    ));
                }
                return Ok(());
            }
            if !entry.revoked {
                host_known = true;
            }
        }
        if host_known {
            Err(format!(
                "the {key_type} key {fingerprint} offered by {lookup_name} does not match the keys \
                 listed for it in known_hosts"
            ))
        } else {
            Err(format!(
                "{lookup_name} is not listed in known_hosts (it offered {key_type} key {fingerprint})"
            ))
        }
    }
}

/// The name a host is listed under: `host`, or `[host]:port` off the default port.
pub fn host_entry(host: &str, port: u16) -> String {
    if port == 22 {
        host.to_string()
    } else {
        format!("[{host}]:{port}")
    }
}

fn parse_line(line: &str) -> Option<Entry> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let mut fields = line.split_whitespace();
    let mut first = fields.next()?;
    let mut revoked = false;
    if first.starts_with('@') {
        match first {
            "@revoked" => revoked = true,
            _ => return None,
        }
        first = fields.next()?;
    }
    let _key_type = fields.next()?;
    let key_blob = STANDARD.decode(fields.next()?).ok()?;
    Some(Entry {
        revoked,
        hosts: first.to_string(),
        key_blob,
    })
}

/// Matches `name` against an entry's host field: one hashed host, or comma-separated patterns
/// where a matching negated pattern vetoes the entry.
fn hosts_match(hosts: &str, name: &str) -> bool {
    if let Some(hashed) = hosts.strip_prefix("|1|") {
        return hashed_host_matches(hashed, name);
    }
    let mut matched = false;
    for pattern in hosts.split(',') {
        if let Some(negated) = pattern.strip_prefix('!') {
            if wildcard_match(negated, name) {
                return false;
            }
        } else if wildcard_match(pattern, name) {
            matched = true;
        }
    }
    matched
}

fn hashed_host_matches(hashed: &str, name: &str) -> bool {
    let Some((salt, hash)) = hashed.split_once('|') else {
        return false;
    };
    let (Ok(salt), Ok(hash)) = (STANDARD.decode(salt), STANDARD.decode(hash)) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<sha1::Sha1>::new_from_slice(&salt) else {
        return false;
    };
    mac.update(name.as_bytes());
    mac.verify_slice(&hash).is_ok()
}

/// Case-insensitive glob match supporting `*` and `?`, as host patterns do.
fn wildcard_match(pattern: &str, name: &str) -> bool {
    let pattern: Vec<char> = pattern.to_ascii_lowercase().chars().collect();
    let name: Vec<char> = name.to_ascii_lowercase().chars().collect();
    let (mut p, mut n) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while n < name.len() {
        if p < pattern.len() && (pattern[p] == '?' || pattern[p] == name[n]) {
            p += 1;
            n += 1;
        } else if p < pattern.len() && pattern[p] == '*' {
            backtrack = Some((p, n));
            p += 1;
        } else if let Some((star, matched)) = backtrack {
            p = star + 1;
            n = matched + 1;
            backtrack = Some((star, matched + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}

/// `SHA256:<base64>` as `ssh-keygen -l` prints it.
pub fn fingerprint(key_blob: &[u8]) -> String {
    format!(
        "SHA256:{}",
        STANDARD_NO_PAD.encode(sha2::Sha256::digest(key_blob))
    )
}

/// The algorithm name at the start of an SSH wire-format key blob.
pub(crate) fn key_type(key_blob: &[u8]) -> Option<&str> {
    let len = u32::from_be_bytes(key_blob.get(..4)?.try_into().ok()?) as usize;
    std::str::from_utf8(key_blob.get(4..4usize.checked_add(len)?)?).ok()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// An SSH wire-format key blob of type `kind`.
    pub(crate) fn blob(kind: &str, body: &[u8]) -> Vec<u8> {
        let mut out = (kind.len() as u32).to_be_bytes().to_vec();
        out.extend_from_slice(kind.as_bytes());
        out.extend_from_slice(body);
        out
    }

    #[test]
    fn plain_entry_with_port() {
        let key = blob("ssh-ed25519", b"key-one");
        let text = format!("[127.0.0.1]:2222 ssh-ed25519 {}\n", STANDARD.encode(&key));
        let known = KnownHosts::parse(&text);
        assert!(known.verify("127.0.0.1", 2222, &key).is_ok());
        let err = known.verify("127.0.0.1", 22, &key).unwrap_err();
        assert!(err.contains("127.0.0.1 is not listed"), "{err}");
    }

    #[test]
    fn mismatched_key_names_host_and_fingerprint() {
        let listed = blob("ssh-ed25519", b"listed");
        let offered = blob("ssh-ed25519", b"offered");
        let known = KnownHosts::parse(&format!(
            "github.com,140.82.121.4 ssh-ed25519 {}",
            STANDARD.encode(&listed)
        ));
        let err = known.verify("github.com", 22, &offered).unwrap_err();
        assert!(err.contains("github.com"), "{err}");
        assert!(err.contains("does not match"), "{err}");
        assert!(err.contains(&fingerprint(&offered)), "{err}");
    }

    #[test]
    fn hashed_entry() {
        let key = blob("ecdsa-sha2-nistp256", b"k");
        let salt = b"0123456789abcdefghij";
        let mut mac = Hmac::<sha1::Sha1>::new_from_slice(salt).unwrap();
        mac.update(b"[git.example.com]:2222");
        let hash = mac.finalize().into_bytes();
        let text = format!(
            "|1|{}|{} ecdsa-sha2-nistp256 {}",
            STANDARD.encode(salt),
            STANDARD.encode(hash),
            STANDARD.encode(&key)
        );
        let known = KnownHosts::parse(&text);
        assert!(known.verify("git.example.com", 2222, &key).is_ok());
        assert!(known.verify("other.example.com", 2222, &key).is_err());
    }

    #[test]
    fn wildcards_negation_and_revocation() {
        let key = blob("ssh-rsa", b"r");
        let encoded = STANDARD.encode(&key);
        let known = KnownHosts::parse(&format!("*.example.com,!bad.example.com ssh-rsa {encoded}"));
        assert!(known.verify("git.example.com", 22, &key).is_ok());
        assert!(known.verify("bad.example.com", 22, &key).is_err());
        let revoked = KnownHosts::parse(&format!(
            "@revoked * ssh-rsa {encoded}\ngit.example.com ssh-rsa {encoded}"
        ));
        let err = revoked.verify("git.example.com", 22, &key).unwrap_err();
        assert!(err.contains("revoked"), "{err}");
    }

    #[test]
    fn reads_the_algorithm_from_a_key_blob() {
        let mut blob = vec![0, 0, 0, 11];
        blob.extend_from_slice(b"ssh-ed25519");
        blob.extend_from_slice(&[0, 0, 0, 32]);
        assert_eq!(key_type(&blob), Some("ssh-ed25519"));
        assert_eq!(key_type(&[0, 0, 0, 99, b'x']), None);
    }

    #[test]
    fn host_entries_follow_ssh_naming() {
        assert_eq!(host_entry("example.com", 22), "example.com");
        assert_eq!(host_entry("127.0.0.1", 2222), "[127.0.0.1]:2222");
        assert_eq!(host_entry("::1", 2222), "[::1]:2222");
    }

    #[test]
    fn garbage_lines_are_skipped() {
        let known = KnownHosts::parse("# comment\n\nnot a valid line\nhost ssh-rsa !!!notbase64");
        assert!(known.is_empty());
    }
}
