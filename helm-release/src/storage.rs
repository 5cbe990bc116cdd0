//! Helm's Secret storage driver: one Secret per revision, found by its labels.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DeleteParams, ListParams, ObjectMeta, PostParams};

use crate::codec::{decode, encode};
use crate::error::StorageError;
use crate::release::{Release, Status};

/// The Secret `type` Helm gives release Secrets.
pub const SECRET_TYPE: &str = "helm.sh/release.v1";
/// The `owner` label's value on every release Secret.
pub const OWNER: &str = "helm";
/// The most data the API server accepts in one Secret.
pub const MAX_SECRET_DATA_BYTES: usize = 1024 * 1024;

/// The labels Helm sets itself; the others on a release Secret are the release's own labels.
pub const SYSTEM_LABELS: [&str; 6] = [
    "name",
    "owner",
    "status",
    "version",
    "createdAt",
    "modifiedAt",
];

/// `sh.helm.release.v1.<name>.v<version>`.
pub fn secret_name(name: &str, version: u32) -> String {
    format!("sh.helm.release.v1.{name}.v{version}")
}

/// Refuses a release name that is not a valid label value (what Helm's storage checks before it
/// queries): it ends up in a label selector, where `,` or `=` would change the query.
pub fn check_name(name: &str) -> Result<(), StorageError> {
    let edge_ok = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    let valid = !name.is_empty()
        && name.len() <= 63
        && edge_ok(name.chars().next())
        && edge_ok(name.chars().last())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if valid {
        Ok(())
    } else {
        Err(StorageError::Invalid(format!(
            "release name {name:?} is not a valid label value (at most 63 letters, digits, \
             '-', '_' or '.', starting and ending with a letter or digit)"
        )))
    }
}

/// Why a Secret is written: Helm stamps `createdAt` on create and `modifiedAt` on update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Write {
    Create,
    Update,
}

/// The labels of a release's Secret: the release's own labels, then Helm's (which win).
/// `now_unix` is the time stamp in seconds since the epoch.
pub fn secret_labels(release: &Release, write: Write, now_unix: i64) -> BTreeMap<String, String> {
    let mut labels = release.labels.clone();
    labels.insert("name".into(), release.name.clone());
    labels.insert("owner".into(), OWNER.into());
    labels.insert("status".into(), release.info.status.as_str().into());
    labels.insert("version".into(), release.version.to_string());
    let stamp = match write {
        Write::Create => "createdAt",
        Write::Update => "modifiedAt",
    };
    labels.insert(stamp.into(), now_unix.to_string());
    labels
}

/// The release Secret Helm would write for `release`.
pub fn to_secret(release: &Release, write: Write, now_unix: i64) -> Result<Secret, StorageError> {
    let data = encode(release)?;
    if data.len() > MAX_SECRET_DATA_BYTES {
        return Err(StorageError::RecordTooLarge {
            name: release.name.clone(),
            version: release.version,
            size: data.len(),
            limit: MAX_SECRET_DATA_BYTES,
        });
    }
    Ok(Secret {
        metadata: ObjectMeta {
            name: Some(secret_name(&release.name, release.version)),
            namespace: (!release.namespace.is_empty()).then(|| release.namespace.clone()),
            labels: Some(secret_labels(release, write, now_unix)),
            ..ObjectMeta::default()
        },
        type_: Some(SECRET_TYPE.into()),
        data: Some(BTreeMap::from([(
            "release".into(),
            ByteString(data.into_bytes()),
        )])),
        ..Secret::default()
    })
}

/// Reads the release a Secret holds, with the Secret's non-system labels as the release's labels.
pub fn from_secret(secret: &Secret) -> Result<Release, StorageError> {
    let name = secret.metadata.name.clone().unwrap_or_default();
    let namespace = secret.metadata.namespace.clone().unwrap_or_default();
    let data = secret
        .data
        .as_ref()
        .and_then(|d| d.get("release"))
        .ok_or_else(|| StorageError::MissingData {
            namespace: namespace.clone(),
            secret: name.clone(),
        })?;
    let corrupt = |source: StorageError| StorageError::Corrupt {
        namespace: namespace.clone(),
        secret: name.clone(),
        source: Box::new(source),
    };
    let text =
        std::str::from_utf8(&data.0).map_err(|e| corrupt(StorageError::Base64(e.to_string())))?;
    let mut release = decode(text).map_err(corrupt)?;
    release.labels = secret
        .metadata
        .labels
        .iter()
        .flatten()
        .filter(|(k, _)| !SYSTEM_LABELS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Ok(release)
}

/// Which versions `prune` deletes to keep `max_history` revisions, as Helm's `--history-max`:
/// oldest first, never the latest deployed revision; `0` keeps everything.
pub fn prune_choice(history: &[Release], max_history: usize) -> Vec<u32> {
    if max_history == 0 || history.len() <= max_history {
        return Vec::new();
    }
    let mut versions: Vec<(u32, Status)> =
        history.iter().map(|r| (r.version, r.info.status)).collect();
    versions.sort_by_key(|(v, _)| *v);
    let deployed = versions
        .iter()
        .rev()
        .find(|(_, s)| *s == Status::Deployed)
        .map(|(v, _)| *v);
    let excess = history.len() - max_history;
    versions
        .into_iter()
        .map(|(v, _)| v)
        .filter(|v| Some(*v) != deployed)
        .take(excess)
        .collect()
}

/// Release records in one namespace, stored as Helm stores them.
#[derive(Clone)]
pub struct SecretStorage {
    api: Api<Secret>,
    namespace: String,
}

impl SecretStorage {
    pub fn new(client: kube::Client, namespace: &str) -> Self {
        SecretStorage {
            api: Api::namespaced(client, namespace),
            namespace: namespace.to_owned(),
        }
    }

    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// Every revision of the release, oldest first; empty when there is none. An unreadable
    /// record fails the whole call with [`StorageError::Corrupt`] naming its Secret: Helm skips
    /// such records silently, but a controller must not pick a version or a rollback target from
    /// a history with holes.
    pub async fn history(&self, name: &str) -> Result<Vec<Release>, StorageError> {
        check_name(name)?;
        self.query(&format!("name={name},owner={OWNER}")).await
    }

    /// The newest revision, whatever its status.
    pub async fn last(&self, name: &str) -> Result<Option<Release>, StorageError> {
        Ok(self.history(name).await?.pop())
    }

    /// The newest revision labelled `deployed` (Helm looks it up by label too).
    pub async fn deployed(&self, name: &str) -> Result<Option<Release>, StorageError> {
        check_name(name)?;
        let selector = format!("name={name},owner={OWNER},status=deployed");
        Ok(self.query(&selector).await?.pop())
    }

    pub async fn get(&self, name: &str, version: u32) -> Result<Option<Release>, StorageError> {
        let secret_name = secret_name(name, version);
        let secret = self
            .api
            .get_opt(&secret_name)
            .await
            .map_err(|e| self.api_error(format!("get Secret {secret_name}"), e))?;
        secret.as_ref().map(from_secret).transpose()
    }

    /// Writes a new revision; fails with [`StorageError::AlreadyExists`] when it exists.
    pub async fn create(&self, release: &Release) -> Result<(), StorageError> {
        let secret = self.secret_for(release, Write::Create)?;
        match self.api.create(&PostParams::default(), &secret).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(status)) if status.code == 409 => {
                Err(StorageError::AlreadyExists {
                    namespace: self.namespace.clone(),
                    name: release.name.clone(),
                    version: release.version,
                    secret: secret_name(&release.name, release.version),
                })
            }
            Err(e) => Err(self.api_error(
                format!(
                    "create Secret {}",
                    secret_name(&release.name, release.version)
                ),
                e,
            )),
        }
    }

    /// Replaces an existing revision (a status change); fails with [`StorageError::NotFound`]
    /// when it does not exist. Like Helm, the write is unconditional and the labels are
    /// rewritten (`createdAt` gives way to `modifiedAt`).
    pub async fn update(&self, release: &Release) -> Result<(), StorageError> {
        let secret = self.secret_for(release, Write::Update)?;
        let name = secret_name(&release.name, release.version);
        match self
            .api
            .replace(&name, &PostParams::default(), &secret)
            .await
        {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(status)) if status.code == 404 => Err(StorageError::NotFound {
                namespace: self.namespace.clone(),
                name: release.name.clone(),
                version: release.version,
                secret: name,
            }),
            Err(e) => Err(self.api_error(format!("update Secret {name}"), e)),
        }
    }

    /// Deletes a revision; deleting one that is already gone succeeds.
    pub async fn delete(&self, name: &str, version: u32) -> Result<(), StorageError> {
        let secret_name = secret_name(name, version);
        match self
            .api
            .delete(&secret_name, &DeleteParams::default())
            .await
        {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
            Err(e) => Err(self.api_error(format!("delete Secret {secret_name}"), e)),
        }
    }

    /// Deletes the oldest revisions until `max_history` remain, never the deployed one (Helm's
    /// `--history-max`; `0` keeps all). Call it after writing a new revision: Helm prunes to
    /// `max_history - 1` just before creating one, which leaves the same revisions.
    pub async fn prune(&self, name: &str, max_history: usize) -> Result<(), StorageError> {
        let history = self.history(name).await?;
        for version in prune_choice(&history, max_history) {
            self.delete(name, version).await?;
        }
        Ok(())
    }

    fn secret_for(&self, release: &Release, write: Write) -> Result<Secret, StorageError> {
        check_name(&release.name)?;
        if release.version == 0 {
            return Err(StorageError::Invalid(format!(
                "release {} has version 0; revisions count from 1",
                release.name
            )));
        }
        // The release's namespace (where its objects live) may differ from the storage
        // namespace: Flux's `storageNamespace` keeps records apart from `targetNamespace`, and
        // Helm's Secret driver does not compare them either.
        let mut secret = to_secret(release, write, jiff::Timestamp::now().as_second())?;
        secret.metadata.namespace = Some(self.namespace.clone());
        Ok(secret)
    }

    async fn query(&self, selector: &str) -> Result<Vec<Release>, StorageError> {
        let list = self
            .api
            .list(&ListParams::default().labels(selector))
            .await
            .map_err(|e| self.api_error(format!("list release Secrets ({selector})"), e))?;
        let mut releases = list
            .items
            .iter()
            .map(from_secret)
            .collect::<Result<Vec<_>, _>>()?;
        releases.sort_by_key(|r| r.version);
        Ok(releases)
    }

    fn api_error(&self, action: String, source: kube::Error) -> StorageError {
        StorageError::Api {
            action,
            namespace: self.namespace.clone(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::release::Info;

    fn release(version: u32, status: Status) -> Release {
        Release {
            name: "app".into(),
            namespace: "team".into(),
            version,
            info: Info {
                status,
                ..Info::default()
            },
            ..Release::default()
        }
    }

    #[test]
    fn names_that_would_change_a_label_selector_are_refused() {
        for good in ["a", "podinfo", "my-app.v2", "A_b-9"] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        let long = "a".repeat(64);
        for bad in ["", "a,owner!=helm", "x=y", "-a", "a-", &long, "ä"] {
            assert!(
                matches!(check_name(bad), Err(StorageError::Invalid(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn secret_name_is_helms() {
        assert_eq!(secret_name("podinfo", 12), "sh.helm.release.v1.podinfo.v12");
    }

    #[test]
    fn labels_are_helms_plus_the_release_labels() {
        let mut r = release(3, Status::PendingUpgrade);
        r.labels.insert("team".into(), "a".into());
        // A release label cannot override Helm's own.
        r.labels.insert("owner".into(), "someone".into());
        let labels = secret_labels(&r, Write::Create, 1_700_000_000);
        let expected: BTreeMap<String, String> = [
            ("createdAt", "1700000000"),
            ("name", "app"),
            ("owner", "helm"),
            ("status", "pending-upgrade"),
            ("team", "a"),
            ("version", "3"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        assert_eq!(labels, expected);
        let updated = secret_labels(&r, Write::Update, 5);
        assert_eq!(updated.get("modifiedAt").map(String::as_str), Some("5"));
        assert!(!updated.contains_key("createdAt"));
    }

    #[test]
    fn secret_round_trips_and_keeps_user_labels_only() {
        let mut r = release(2, Status::Deployed);
        r.labels.insert("team".into(), "a".into());
        let secret = to_secret(&r, Write::Update, 9).unwrap();
        assert_eq!(secret.type_.as_deref(), Some(SECRET_TYPE));
        assert_eq!(
            secret.metadata.name.as_deref(),
            Some("sh.helm.release.v1.app.v2")
        );
        assert_eq!(from_secret(&secret).unwrap(), r);
    }

    #[test]
    fn unreadable_secret_is_an_error_naming_it() {
        let mut secret = to_secret(&release(1, Status::Deployed), Write::Create, 0).unwrap();
        secret.data = Some(BTreeMap::from([(
            "release".into(),
            ByteString(b"H4sI-not-a-release".to_vec()),
        )]));
        let err = from_secret(&secret).unwrap_err();
        assert!(matches!(err, StorageError::Corrupt { .. }), "{err:?}");
        let message = err.to_string();
        assert!(
            message.contains("team/sh.helm.release.v1.app.v1"),
            "{message}"
        );
        secret.data = None;
        let err = from_secret(&secret).unwrap_err();
        assert!(matches!(err, StorageError::MissingData { .. }), "{err:?}");
        assert!(err.to_string().contains("sh.helm.release.v1.app.v1"));
    }

    #[test]
    fn a_record_larger_than_a_secret_is_refused_before_the_api_call() {
        let mut r = release(1, Status::Deployed);
        // Incompressible bytes, so gzip cannot bring them under the limit.
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let data: Vec<u8> = (0..MAX_SECRET_DATA_BYTES)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        r.chart.files.push(crate::chart::File {
            name: "big.bin".into(),
            data,
            ..Default::default()
        });
        let err = to_secret(&r, Write::Create, 0).unwrap_err();
        assert!(
            matches!(err, StorageError::RecordTooLarge { version: 1, .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains(".helmignore"));
    }

    fn versions(history: &[(u32, Status)], max: usize) -> Vec<u32> {
        let releases: Vec<Release> = history.iter().map(|(v, s)| release(*v, *s)).collect();
        prune_choice(&releases, max)
    }

    #[test]
    fn prune_keeps_the_newest_and_the_deployed_revision() {
        use Status::*;
        let history = [
            (1, Superseded),
            (2, Superseded),
            (3, Deployed),
            (4, Failed),
            (5, Failed),
        ];
        assert_eq!(versions(&history, 0), Vec::<u32>::new());
        assert_eq!(versions(&history, 5), Vec::<u32>::new());
        assert_eq!(versions(&history, 3), [1, 2]);
        // The deployed revision 3 is older than the two newest and still stays.
        assert_eq!(versions(&history, 2), [1, 2, 4]);
        assert_eq!(versions(&history, 1), [1, 2, 4, 5]);
        // Unsorted input, no deployed revision: plain oldest first.
        let failed = [(3, Failed), (1, Superseded), (2, Failed)];
        assert_eq!(versions(&failed, 1), [1, 2]);
    }
}
