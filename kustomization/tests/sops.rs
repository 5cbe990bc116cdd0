//! SOPS decryption of real `sops` output (fixtures made by `tests/fixtures/sops/regenerate.sh`),
//! through the reconciler's own build path: keys read from decryption-Secret data as the
//! controller reads them, the artifact laid out as the artifact cache lays it out, the build run
//! by `build::build_artifact_path` with the decryptor's read filter, then the post-build check.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers may panic

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use eddy_api::kustomize::Kustomization;
use eddy_kustomization::{build, sops};
use serde_json::{Value, json};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sops")
}

fn key_file(name: &str) -> Vec<u8> {
    std::fs::read(fixtures().join("keys").join(name)).unwrap()
}

/// The decryption Secret's data: entries named as Flux names them.
fn secret_data(entries: &[(&str, &str)]) -> BTreeMap<String, Vec<u8>> {
    entries
        .iter()
        .map(|(entry, file)| ((*entry).to_owned(), key_file(file)))
        .collect()
}

fn decryptor(entries: &[(&str, &str)]) -> sops::Decryptor {
    let keys =
        sops::KeyRing::from_secret_data("Secret/flux-system/sops-keys", &secret_data(entries))
            .unwrap();
    sops::Decryptor::new(keys)
}

fn kustomization(decryption: bool, path: &str) -> Kustomization {
    let mut spec = json!({
        "sourceRef": {"kind": "GitRepository", "name": "repo"},
        "interval": "1m",
        "prune": true,
        "path": path,
    });
    if decryption {
        spec["decryption"] = json!({"provider": "sops", "secretRef": {"name": "sops-keys"}});
    }
    serde_json::from_value(json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": "apps", "namespace": "flux-system"},
        "spec": spec,
    }))
    .unwrap()
}

/// Builds fixture directory `dir` as the reconciler builds `spec.path` of an artifact: the
/// fixtures are copied into `<cache>/artifacts/<digest>/`, the wrapper goes to
/// `<cache>/wrappers/<n>/`, and the objects pass the post-build SOPS check.
fn build_fixture(dir: &str, decryptor: Option<&sops::Decryptor>) -> Result<Vec<Value>, String> {
    let cache = tempfile::tempdir().unwrap();
    let artifact = cache.path().join("artifacts/sha256-test");
    let wrapper = cache.path().join("wrappers/one");
    std::fs::create_dir_all(&wrapper).unwrap();
    copy_dir(&fixtures(), &artifact);
    let ks = kustomization(decryptor.is_some(), dir);
    let objects = build::build_artifact_path(
        &artifact,
        "sha256-test",
        &wrapper,
        ks.spec.clone(),
        decryptor.map(sops::Decryptor::read_filter),
    )
    .map_err(|e| e.to_string())?;
    sops::check_objects(&ks, &objects).map_err(|error| error.to_string())?;
    // Nothing decrypted may have been written anywhere under the cache.
    assert_no_plaintext_on_disk(cache.path());
    Ok(objects)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        // Only the fixtures go into the "artifact": the script and README spell the plaintexts.
        let name = entry.file_name().to_string_lossy().into_owned();
        if matches!(
            name.as_str(),
            "regenerate.sh" | "README.md" | "TOOL_VERSIONS"
        ) {
            continue;
        }
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Plaintext values of the fixtures that must only ever exist in memory.
const PLAINTEXTS: [&str; 6] = [
    "s3cr3t-age",
    "s3cr3t-pgp",
    "s3cr3t-both",
    "generator-pass",
    "yaml-api-key",
    "json-secret",
];

fn assert_no_plaintext_on_disk(dir: &Path) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            assert_no_plaintext_on_disk(&path);
        } else {
            let content = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
            for plaintext in PLAINTEXTS {
                assert!(
                    !content.contains(plaintext),
                    "{} holds decrypted data",
                    path.display()
                );
            }
        }
    }
}

fn find<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("{kind}/{name} not built: {objects:#?}"))
}

fn decoded(secret: &Value, key: &str) -> Vec<u8> {
    let value = secret["data"][key]
        .as_str()
        .unwrap_or_else(|| panic!("no data.{key} in {secret:#}"));
    // Kustomize wraps long base64 values over several lines, as kubectl does.
    let value: String = value.split_whitespace().collect();
    base64::engine::general_purpose::STANDARD
        .decode(value)
        .unwrap()
}

fn decoded_text(secret: &Value, key: &str) -> String {
    String::from_utf8(decoded(secret, key)).unwrap()
}

/// The Secret every `*/secret.yaml` fixture holds, decrypted, with `password`.
fn assert_db_credentials(objects: &[Value], name: &str, password: &str) {
    let secret = find(objects, "Secret", name);
    assert!(
        secret.get("sops").is_none(),
        "sops metadata left in {secret:#}"
    );
    assert_eq!(secret["stringData"]["username"], "admin");
    assert_eq!(secret["stringData"]["password"], password);
    assert_eq!(decoded_text(secret, "token"), "token-from-data");
    // Clear fields are untouched.
    assert_eq!(secret["metadata"]["labels"]["app"], "db");
    assert_eq!(secret["type"], "Opaque");
}

#[test]
fn age_encrypted_secret_is_decrypted() {
    let decryptor = decryptor(&[("identity.agekey", "age.agekey")]);
    let objects = build_fixture("./age", Some(&decryptor)).unwrap();
    assert_eq!(objects.len(), 1);
    assert_db_credentials(&objects, "db-credentials", "s3cr3t-age");
}

#[test]
fn pgp_rsa_encrypted_secret_is_decrypted() {
    let decryptor = decryptor(&[("rsa.asc", "pgp-rsa.asc")]);
    let objects = build_fixture("./pgp", Some(&decryptor)).unwrap();
    assert_db_credentials(&objects, "db-credentials", "s3cr3t-pgp");
}

#[test]
fn secret_for_age_and_pgp_opens_with_either_key() {
    let with_age = decryptor(&[("identity.agekey", "age.agekey")]);
    let objects = build_fixture("./both", Some(&with_age)).unwrap();
    assert_db_credentials(&objects, "db-credentials", "s3cr3t-both");
    // The ECC (Curve25519) PGP key alone.
    let with_pgp = decryptor(&[("ecc.asc", "pgp-ecc.asc")]);
    let objects = build_fixture("./both", Some(&with_pgp)).unwrap();
    assert_db_credentials(&objects, "db-credentials", "s3cr3t-both");
}

#[test]
fn generator_sources_are_decrypted_before_the_build() {
    let decryptor = decryptor(&[
        ("identity.agekey", "age.agekey"),
        ("rsa.asc", "pgp-rsa.asc"),
    ]);
    let objects = build_fixture("./generators", Some(&decryptor)).unwrap();

    let env = find(&objects, "Secret", "app-env");
    assert_eq!(decoded_text(env, "DB_USER"), "generator-user");
    assert_eq!(decoded_text(env, "DB_PASSWORD"), "generator-pass");
    assert!(
        env["data"].get("sops_mac").is_none(),
        "metadata keys became data: {env:#}"
    );

    let files = find(&objects, "Secret", "app-files");
    let config: serde_yaml_ng::Value =
        serde_yaml_ng::from_slice(&decoded(files, "config.yaml")).unwrap();
    assert_eq!(config["apiKey"].as_str(), Some("yaml-api-key"));
    assert_eq!(config["server"]["host"].as_str(), Some("internal.example"));
    assert_eq!(config["server"]["port"].as_i64(), Some(8443));
    assert_eq!(config["server"]["ratio"].as_f64(), Some(0.75));
    assert_eq!(config["server"]["debug"].as_bool(), Some(false));
    assert_eq!(config["server"]["tags"][1].as_str(), Some("green"));
    assert!(config["server"]["nothing"].is_null());
    assert!(config.get("sops").is_none());

    let settings: Value = serde_json::from_slice(&decoded(files, "settings.json")).unwrap();
    assert_eq!(settings["clientSecret"], "json-secret");
    assert_eq!(settings["retries"], 3);
    assert_eq!(settings["nested"]["scopes"], json!(["read", "write"]));
    assert!(settings.get("sops").is_none());

    assert_eq!(decoded(files, "blob.bin"), b"binary-payload\x00\x01line\n");
    assert_eq!(decoded_text(files, "plain.txt"), "plain-value\n");

    let public = find(&objects, "ConfigMap", "public-env");
    assert_eq!(public["data"]["LOG_LEVEL"], "debug");
    assert_eq!(public["data"]["FEATURE_FLAG"], "on");
}

#[test]
fn dotenv_escaped_newlines_come_back() {
    let decryptor = decryptor(&[
        ("identity.agekey", "age.agekey"),
        ("rsa.asc", "pgp-rsa.asc"),
    ]);
    let objects = build_fixture("./generators", Some(&decryptor)).unwrap();
    let env = find(&objects, "Secret", "app-env");
    // The plaintext file wrote `line one\nline two` with an escaped newline; kustomize reads the
    // decrypted dotenv line as it is.
    assert_eq!(decoded_text(env, "MULTILINE"), "line one\\nline two");
}

#[test]
fn several_documents_in_one_file() {
    let decryptor = decryptor(&[("identity.agekey", "age.agekey")]);
    let objects = build_fixture("./multidoc", Some(&decryptor)).unwrap();
    assert_db_credentials(&objects, "first", "first-pass");
    assert_db_credentials(&objects, "second", "second-pass");
    assert_db_credentials(&objects, "third", "third-pass");
    assert_db_credentials(&objects, "fourth", "fourth-pass");
    assert_eq!(find(&objects, "ConfigMap", "plain")["data"]["key"], "value");
}

#[test]
fn mac_over_encrypted_values_only() {
    let decryptor = decryptor(&[("identity.agekey", "age.agekey")]);
    let objects = build_fixture("./mac-only", Some(&decryptor)).unwrap();
    assert_db_credentials(&objects, "db-credentials", "mac-only-pass");
}

#[test]
fn kustomize_transformations_apply_to_the_decrypted_secret() {
    // Decryption happens before Kustomize edits names and namespaces, so the MAC still holds.
    let decryptor = decryptor(&[("identity.agekey", "age.agekey")]);
    let cache = tempfile::tempdir().unwrap();
    let artifact = cache.path().join("artifacts/d");
    let wrapper = cache.path().join("wrappers/w");
    std::fs::create_dir_all(&wrapper).unwrap();
    copy_dir(&fixtures(), &artifact);
    let mut ks = kustomization(true, "./age");
    ks.spec.target_namespace = Some("production".into());
    ks.spec.name_prefix = Some("prod-".into());
    let objects = build::build_artifact_path(
        &artifact,
        "d",
        &wrapper,
        ks.spec.clone(),
        Some(decryptor.read_filter()),
    )
    .unwrap();
    let secret = find(&objects, "Secret", "prod-db-credentials");
    assert_eq!(secret["metadata"]["namespace"], "production");
    assert_eq!(secret["stringData"]["password"], "s3cr3t-age");
}

#[test]
fn wrong_key_is_a_clear_error() {
    let decryptor = decryptor(&[("other.agekey", "wrong.agekey")]);
    let error = build_fixture("./age", Some(&decryptor)).unwrap_err();
    assert!(error.contains("secret.yaml"), "{error}");
    assert!(error.contains("Secret/db-credentials"), "{error}");
    assert!(
        error.contains(
            "no key in Secret/flux-system/sops-keys (1 age identities, 0 PGP keys) can decrypt the data key"
        ),
        "{error}"
    );
    assert!(
        error.contains("the document is encrypted for: age age1"),
        "{error}"
    );
    // A PGP-only document and only an age key: the PGP recipient is named.
    let error = build_fixture("./pgp", Some(&decryptor)).unwrap_err();
    assert!(error.contains("PGP "), "{error}");
}

#[test]
fn no_keys_configured_is_a_clear_error() {
    let decryptor = sops::Decryptor::new(sops::KeyRing::default());
    let error = build_fixture("./age", Some(&decryptor)).unwrap_err();
    assert!(error.contains("0 age identities, 0 PGP keys"), "{error}");
}

#[test]
fn tampered_clear_value_fails_the_mac() {
    let decryptor = decryptor(&[("identity.agekey", "age.agekey")]);
    let error = build_fixture("./tampered/clear-value", Some(&decryptor)).unwrap_err();
    assert!(
        error.contains("tampered/clear-value/secret.yaml"),
        "{error}"
    );
    assert!(error.contains("MAC mismatch"), "{error}");
}

#[test]
fn tampered_removed_value_fails_the_mac() {
    let decryptor = decryptor(&[("identity.agekey", "age.agekey")]);
    let error = build_fixture("./tampered/removed-value", Some(&decryptor)).unwrap_err();
    assert!(error.contains("MAC mismatch"), "{error}");
}

#[test]
fn swapped_values_fail_authentication() {
    let decryptor = decryptor(&[("identity.agekey", "age.agekey")]);
    let error = build_fixture("./tampered/swapped-values", Some(&decryptor)).unwrap_err();
    assert!(error.contains("stringData.username"), "{error}");
    assert!(error.contains("AES-GCM authentication failed"), "{error}");
}

#[test]
fn encrypted_secret_without_decryption_is_refused() {
    let error = build_fixture("./age", None).unwrap_err();
    assert_eq!(
        error,
        "Secret/default/db-credentials is SOPS-encrypted, configuring decryption is required for this secret to be reconciled"
    );
}

#[test]
fn opt_out_annotation_leaves_the_secret_alone() {
    let decryptor = decryptor(&[("identity.agekey", "age.agekey")]);
    let cache = tempfile::tempdir().unwrap();
    let dir = cache.path().join("artifacts/d/app");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::create_dir_all(cache.path().join("wrappers/w")).unwrap();
    // Annotating the encrypted manifest breaks nothing: the file is not decrypted at all.
    let original = std::fs::read_to_string(fixtures().join("age/secret.yaml")).unwrap();
    let annotated = original.replacen(
        "    labels:\n",
        "    annotations:\n        kustomize.toolkit.fluxcd.io/decrypt: Disabled\n    labels:\n",
        1,
    );
    assert_ne!(annotated, original);
    std::fs::write(dir.join("secret.yaml"), annotated).unwrap();
    let ks = kustomization(true, "./app");
    let objects = build::build_artifact_path(
        &cache.path().join("artifacts/d"),
        "d",
        &cache.path().join("wrappers/w"),
        ks.spec.clone(),
        Some(decryptor.read_filter()),
    )
    .unwrap();
    let secret = find(&objects, "Secret", "db-credentials");
    assert!(secret.get("sops").is_some());
    assert!(
        secret["stringData"]["password"]
            .as_str()
            .unwrap()
            .starts_with("ENC[")
    );
    sops::check_objects(&ks, &objects).unwrap();
}

#[test]
fn unsupported_key_services_are_named() {
    let mut data = secret_data(&[("identity.agekey", "wrong.agekey")]);
    data.insert("sops.vault-token".into(), b"token".to_vec());
    let keys = sops::KeyRing::from_secret_data("Secret/ns/keys", &data).unwrap();
    let decryptor = sops::Decryptor::new(keys);
    let error = build_fixture("./age", Some(&decryptor)).unwrap_err();
    assert!(
        error.contains("credentials for HashiCorp Vault in the Secret are not supported"),
        "{error}"
    );

    // A document whose data key only a cloud KMS holds.
    let kms_only = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: cloud\nstringData:\n  a: ENC[AES256_GCM,data:AA==,iv:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=,tag:AAAAAAAAAAAAAAAAAAAAAA==,type:str]\nsops:\n  kms:\n  - arn: arn:aws:kms:eu-west-1:1:key/x\n    enc: AAAA\n  lastmodified: '2024-01-01T00:00:00Z'\n  mac: ENC[AES256_GCM,data:AA==,iv:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=,tag:AAAAAAAAAAAAAAAAAAAAAA==,type:str]\n  encrypted_regex: ^stringData$\n";
    let error = decryptor
        .decrypt_file(Path::new("cloud.yaml"), kms_only.as_bytes())
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("only wrapped by AWS KMS, which Eddy does not support"),
        "{error}"
    );
}

#[test]
fn malformed_key_entries_are_reported_with_their_name() {
    let mut data = BTreeMap::new();
    data.insert("broken.agekey".to_owned(), b"not a key".to_vec());
    let error = sops::KeyRing::from_secret_data("Secret/ns/keys", &data)
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("failed to import 'broken.agekey' from decryption Secret/ns/keys"),
        "{error}"
    );
    let mut data = BTreeMap::new();
    data.insert(
        "broken.asc".to_owned(),
        b"-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nxx\n-----END PGP PRIVATE KEY BLOCK-----\n"
            .to_vec(),
    );
    assert!(sops::KeyRing::from_secret_data("Secret/ns/keys", &data).is_err());
}

/// `--sops-age-secret`: the controller's age keys are tried after the Kustomization's own; only
/// its `*.agekey` entries are read, and a broken one names the controller's Secret.
#[test]
fn controller_age_keys_are_a_fallback() {
    let mut keys = sops::KeyRing::from_secret_data(
        "Secret/ns/keys",
        &secret_data(&[("a.agekey", "wrong.agekey")]),
    )
    .unwrap();
    let mut controller = secret_data(&[("identity.agekey", "age.agekey")]);
    controller.insert("ignored.asc".into(), b"not read".to_vec());
    keys.add_fallback_age_keys("Secret/flux-system/sops-age", &controller)
        .unwrap();
    let decryptor = sops::Decryptor::new(keys);
    let objects = build_fixture("./age", Some(&decryptor)).unwrap();
    assert_db_credentials(&objects, "db-credentials", "s3cr3t-age");

    let mut broken = BTreeMap::new();
    broken.insert("x.agekey".to_owned(), b"not a key".to_vec());
    let error = sops::KeyRing::default()
        .add_fallback_age_keys("Secret/flux-system/sops-age", &broken)
        .unwrap_err()
        .to_string();
    assert!(
        error.contains(
            "failed to import 'x.agekey' from the controller's Secret/flux-system/sops-age"
        ),
        "{error}"
    );
}
