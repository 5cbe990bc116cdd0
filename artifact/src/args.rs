//! The flags every artifact consumer accepts (kustomize-controller, helm-controller).

use std::path::PathBuf;

use crate::cache::Limits;

/// Where and how much a consumer fetches. Flux has no flags for these (its consumers download
/// into memory without a limit); the names follow Flux's `--artifact-*`/`--storage-*` style.
#[derive(Debug, Clone, clap::Args)]
pub struct ArtifactArgs {
    /// Directory for downloaded and unpacked artifacts; emptied at start-up. Default: a
    /// directory named after the controller under the system's temporary directory.
    #[arg(long, default_value = "")]
    pub artifact_cache_path: String,

    /// The largest artifact download accepted (compressed), e.g. `512Mi`.
    #[arg(long, default_value = "1Gi", value_parser = parse_size)]
    pub artifact_max_size: u64,

    /// The most an artifact may unpack to, e.g. `2Gi`.
    #[arg(long, default_value = "2Gi", value_parser = parse_size)]
    pub artifact_max_unpacked_size: u64,
}

impl ArtifactArgs {
    /// The cache directory for the controller named `controller`.
    pub fn cache_path(&self, controller: &str) -> PathBuf {
        if self.artifact_cache_path.is_empty() {
            std::env::temp_dir().join(format!("{controller}-artifacts"))
        } else {
            PathBuf::from(&self.artifact_cache_path)
        }
    }

    pub fn limits(&self, retries: u32) -> Limits {
        Limits {
            max_download: self.artifact_max_size,
            max_unpacked: self.artifact_max_unpacked_size,
            retries,
        }
    }
}

/// Parses a byte count: a whole number with an optional `Ki`, `Mi`, `Gi` or `Ti` suffix.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let (digits, shift) = [("Ki", 10), ("Mi", 20), ("Gi", 30), ("Ti", 40)]
        .iter()
        .find_map(|(suffix, shift)| text.strip_suffix(suffix).map(|d| (d, *shift)))
        .unwrap_or((text, 0));
    let number: u64 = digits
        .parse()
        .map_err(|_| format!("'{text}' is not a size such as 1048576, 512Mi or 2Gi"))?;
    number
        .checked_mul(1u64 << shift)
        .ok_or_else(|| format!("'{text}' is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1024"), Ok(1024));
        assert_eq!(parse_size("512Mi"), Ok(512 << 20));
        assert_eq!(parse_size("2Gi"), Ok(2 << 30));
        assert!(parse_size("2GB").is_err());
        assert!(parse_size("99999999999Ti").is_err());
    }
}
