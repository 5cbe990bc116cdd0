//! `data.release` of a storage Secret: base64(gzip(JSON)), the JSON as Go's encoder writes it.

use std::io::{self, Read, Write};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use serde::Serialize;

use crate::error::StorageError;
use crate::release::Release;

/// Gzip's magic number plus the deflate method byte: what Helm checks before gunzipping, so
/// records written before Helm compressed them (plain JSON) still read.
const GZIP_MAGIC: [u8; 3] = [0x1f, 0x8b, 0x08];

/// A release unpacks to at most this much JSON: a Secret holds at most 1 MiB, and real records
/// compress about tenfold, so anything near this is a gzip bomb, not a release.
pub const MAX_DECODED_BYTES: u64 = 256 * 1024 * 1024;

/// Encodes a release as Helm writes `data.release`: JSON (Go's encoding), gzip at best
/// compression, standard base64.
pub fn encode(release: &Release) -> Result<String, StorageError> {
    let json = to_go_json(release).map_err(|e| encode_error(release, e.to_string()))?;
    let mut gz = GzEncoder::new(Vec::new(), Compression::best());
    gz.write_all(&json)
        .map_err(|e| encode_error(release, e.to_string()))?;
    let packed = gz
        .finish()
        .map_err(|e| encode_error(release, e.to_string()))?;
    Ok(STANDARD.encode(packed))
}

fn encode_error(release: &Release, message: String) -> StorageError {
    StorageError::Encode {
        name: release.name.clone(),
        version: release.version,
        message,
    }
}

/// Decodes `data.release` as Helm does: base64, then gunzip when the gzip magic is there, then
/// JSON.
pub fn decode(data: &str) -> Result<Release, StorageError> {
    let raw = STANDARD
        .decode(data.trim().as_bytes())
        .map_err(|e| StorageError::Base64(e.to_string()))?;
    let json = if raw.starts_with(&GZIP_MAGIC) {
        gunzip(&raw)?
    } else {
        raw
    };
    serde_json::from_slice(&json).map_err(|e| StorageError::Json(e.to_string()))
}

fn gunzip(data: &[u8]) -> Result<Vec<u8>, StorageError> {
    let mut out = Vec::new();
    GzDecoder::new(data)
        .take(MAX_DECODED_BYTES + 1)
        .read_to_end(&mut out)
        .map_err(|e| StorageError::Gzip(e.to_string()))?;
    if out.len() as u64 > MAX_DECODED_BYTES {
        return Err(StorageError::TooLarge {
            limit: MAX_DECODED_BYTES,
        });
    }
    Ok(out)
}

/// Serializes like Go's `encoding/json`: compact, map keys sorted, and `<`, `>`, `&`, U+2028 and
/// U+2029 escaped as `\u003c` … (Go's HTML-safe default), so digests over the bytes agree.
pub fn to_go_json<T: Serialize>(value: &T) -> Result<Vec<u8>, serde_json::Error> {
    let mut out = Vec::new();
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, GoFormatter);
    value.serialize(&mut serializer)?;
    Ok(out)
}

struct GoFormatter;

impl serde_json::ser::Formatter for GoFormatter {
    // Go writes a float64 in the shortest form that reads back, without exponent when
    // 1e-6 <= |f| < 1e21 (so `1.0` is `1`), else as `1e+21` / `1.5e-7`.
    fn write_f64<W: ?Sized + Write>(&mut self, writer: &mut W, value: f64) -> io::Result<()> {
        writer.write_all(go_float(value).as_bytes())
    }

    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            let escape = match c {
                '<' => "\\u003c",
                '>' => "\\u003e",
                '&' => "\\u0026",
                '\u{2028}' => "\\u2028",
                '\u{2029}' => "\\u2029",
                _ => continue,
            };
            writer.write_all(&fragment.as_bytes()[start..i])?;
            writer.write_all(escape.as_bytes())?;
            start = i + c.len_utf8();
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }
}

fn go_float(value: f64) -> String {
    let magnitude = value.abs();
    if magnitude == 0.0 || (1e-6..1e21).contains(&magnitude) {
        return format!("{value}");
    }
    let text = format!("{value:e}");
    match text.split_once('e') {
        Some((mantissa, exponent)) if !exponent.starts_with('-') => {
            format!("{mantissa}e+{exponent}")
        }
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::release::{Info, Status};

    fn sample() -> Release {
        Release {
            name: "demo".into(),
            namespace: "apps".into(),
            version: 3,
            info: Info {
                status: Status::Deployed,
                description: "Upgrade complete".into(),
                ..Info::default()
            },
            manifest: "---\n# Source: demo/templates/cm.yaml\nkind: ConfigMap\n".into(),
            ..Release::default()
        }
    }

    #[test]
    fn encode_then_decode_is_identity() {
        let release = sample();
        let data = encode(&release).unwrap();
        assert_eq!(decode(&data).unwrap(), release);
    }

    #[test]
    fn encoded_data_is_base64_of_gzip() {
        let raw = STANDARD.decode(encode(&sample()).unwrap()).unwrap();
        assert!(raw.starts_with(&GZIP_MAGIC));
    }

    #[test]
    fn plain_json_legacy_records_decode() {
        let json = r#"{"name":"old","version":1,"info":{"status":"superseded"}}"#;
        let release = decode(&STANDARD.encode(json)).unwrap();
        assert_eq!(release.name, "old");
        assert_eq!(release.info.status, Status::Superseded);
    }

    #[test]
    fn corrupt_data_is_a_typed_error() {
        assert!(matches!(decode("%%%"), Err(StorageError::Base64(_))));
        let bad_gzip = STANDARD.encode([0x1f, 0x8b, 0x08, 0, 1, 2, 3]);
        assert!(matches!(decode(&bad_gzip), Err(StorageError::Gzip(_))));
        let not_json = STANDARD.encode("not json");
        assert!(matches!(decode(&not_json), Err(StorageError::Json(_))));
    }

    #[test]
    fn floats_are_written_like_go() {
        let cases = [
            (1.0, "1"),
            (-0.0, "-0"),
            (0.0, "0"),
            (1.5, "1.5"),
            (0.1, "0.1"),
            (1e20, "100000000000000000000"),
            (1e21, "1e+21"),
            (1.5e-7, "1.5e-7"),
            (0.000001, "0.000001"),
            (123456789.125, "123456789.125"),
        ];
        for (value, go) in cases {
            let json = to_go_json(&serde_json::json!(value)).unwrap();
            assert_eq!(String::from_utf8(json).unwrap(), go, "{value}");
        }
    }

    #[test]
    fn json_escapes_like_go() {
        let json = to_go_json(&serde_json::json!({"b": "<a & b>\u{2028}", "a": "\n\t"})).unwrap();
        assert_eq!(
            String::from_utf8(json).unwrap(),
            r#"{"a":"\n\t","b":"\u003ca \u0026 b\u003e\u2028"}"#
        );
    }
}
