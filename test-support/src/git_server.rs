//! Real Git servers for tests: `git http-backend` over HTTP(S) and `sshd`, on loopback.
