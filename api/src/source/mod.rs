//! `source.toolkit.fluxcd.io`: where artifacts come from (Git, OCI, Helm, buckets).
