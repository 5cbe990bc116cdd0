//! Clone, commit and push against a real `git http-backend`: what the image automation and the
//! bootstrap do with a repository.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use eddy_git::{
    Author, CloneRequest, CommitRequest, GitAuth, GitError, GitReference, HttpAuth, PushRequest,
    PushTarget, SigningKey, WorkTree,
};
use eddy_test_support::git_server::{GitHttpServer, HttpServerOptions, RepoRoot, TestRepo, git};

const USER: &str = "automation";
const PASSWORD: &str = "s3cret";

async fn server_with_app() -> (RepoRoot, TestRepo, GitHttpServer) {
    let root = RepoRoot::new().unwrap();
    let app = root.create("app").unwrap();
    app.write("deploy/app.yaml", "image: app:1.0.0\n").unwrap();
    app.write("README.md", "# app\n").unwrap();
    app.commit_all("first").unwrap();
    app.push("master").unwrap();
    let server = GitHttpServer::start(
        root.path(),
        HttpServerOptions {
            basic_auth: Some((USER.into(), PASSWORD.into())),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    (root, app, server)
}

fn auth() -> GitAuth {
    GitAuth::Http(HttpAuth {
        basic: Some((USER.into(), PASSWORD.into())),
        ..Default::default()
    })
}

fn clone(server: &GitHttpServer, branch: &str, create_missing: bool) -> Result<WorkTree, GitError> {
    WorkTree::clone(&CloneRequest {
        url: server.url("app"),
        auth: auth(),
        reference: GitReference::Branch(branch.into()),
        create_missing_branch: create_missing,
        timeout: Duration::from_secs(30),
    })
}

fn commit(tree: &WorkTree, message: &str, signing: Option<SigningKey>) -> Option<String> {
    tree.commit_changes(&CommitRequest {
        author: Author {
            name: "Image Automation".into(),
            email: "automation@eddy.invalid".into(),
        },
        message: message.into(),
        paths: Vec::new(),
        signing,
    })
    .unwrap()
}

fn push_to(branch: &str) -> PushRequest {
    PushRequest {
        target: PushTarget::Branch(branch.into()),
        options: Vec::new(),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn changes_are_committed_as_the_author_and_pushed() {
    let (_root, app, server) = server_with_app().await;
    tokio::task::spawn_blocking(move || {
        let tree = clone(&server, "master", false).unwrap();
        let root = tree.root().unwrap();
        assert_eq!(
            std::fs::read_to_string(root.join("deploy/app.yaml")).unwrap(),
            "image: app:1.0.0\n"
        );
        // Nothing changed: no commit.
        assert_eq!(commit(&tree, "nothing", None), None);
        assert!(!tree.has_unpushed_commits().unwrap());

        std::fs::write(root.join("deploy/app.yaml"), "image: app:1.1.0\n").unwrap();
        std::fs::remove_file(root.join("README.md")).unwrap();
        let new = commit(&tree, "Update app to 1.1.0", None).unwrap();
        assert!(tree.has_unpushed_commits().unwrap());
        tree.push(&push_to("master")).unwrap();

        assert_eq!(git(&app.bare, &["rev-parse", "master"]).unwrap(), new);
        let files = git(&app.bare, &["ls-tree", "-r", "--name-only", "master"]).unwrap();
        assert_eq!(files, "deploy/app.yaml", "the deleted file is gone too");
        let author = git(&app.bare, &["log", "-1", "--format=%an <%ae>|%s", "master"]).unwrap();
        assert_eq!(
            author,
            "Image Automation <automation@eddy.invalid>|Update app to 1.1.0"
        );

        // The same commit pushed to another branch creates it.
        tree.push(&push_to("auto-update")).unwrap();
        assert_eq!(git(&app.bare, &["rev-parse", "auto-update"]).unwrap(), new);
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_branch_that_moved_on_is_a_non_fast_forward_rejection() {
    let (_root, app, server) = server_with_app().await;
    tokio::task::spawn_blocking(move || {
        let first = clone(&server, "master", false).unwrap();
        let second = clone(&server, "master", false).unwrap();
        for (tree, tag) in [(&first, "1.1.0"), (&second, "1.2.0")] {
            std::fs::write(
                tree.root().unwrap().join("deploy/app.yaml"),
                format!("image: app:{tag}\n"),
            )
            .unwrap();
            commit(tree, &format!("Update app to {tag}"), None).unwrap();
        }
        first.push(&push_to("master")).unwrap();
        let err = second.push(&push_to("master")).unwrap_err();
        assert!(matches!(err, GitError::NonFastForward { .. }), "{err}");
        assert!(err.to_string().contains("non-fast-forward"), "{err}");
        let head = git(&app.bare, &["log", "-1", "--format=%s", "master"]).unwrap();
        assert_eq!(head, "Update app to 1.1.0");

        // Cloning again and re-applying the change succeeds.
        let retry = clone(&server, "master", false).unwrap();
        std::fs::write(
            retry.root().unwrap().join("deploy/app.yaml"),
            "image: app:1.2.0\n",
        )
        .unwrap();
        commit(&retry, "Update app to 1.2.0", None).unwrap();
        retry.push(&push_to("master")).unwrap();
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_branch_fails_or_starts_empty_when_asked() {
    let (_root, app, server) = server_with_app().await;
    tokio::task::spawn_blocking(move || {
        let err = clone(&server, "fleet", false).err().unwrap();
        assert!(matches!(err, GitError::RefNotFound { .. }), "{err}");

        let tree = clone(&server, "fleet", true).unwrap();
        assert_eq!(tree.fetched_commit(), None);
        assert_eq!(tree.head_commit().unwrap(), None);
        std::fs::write(tree.root().unwrap().join("cluster.yaml"), "kind: List\n").unwrap();
        let first = commit(&tree, "Start the fleet branch", None).unwrap();
        tree.push(&push_to("fleet")).unwrap();
        assert_eq!(git(&app.bare, &["rev-parse", "fleet"]).unwrap(), first);
        let parents = git(&app.bare, &["log", "-1", "--format=%P", "fleet"]).unwrap();
        assert_eq!(parents, "", "the new branch starts without history");
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tag_is_checked_out_detached_and_pushed_to_a_branch() {
    let (_root, app, server) = server_with_app().await;
    app.tag("v1.0.0", true).unwrap();
    app.push("v1.0.0").unwrap();
    tokio::task::spawn_blocking(move || {
        let tree = WorkTree::clone(&CloneRequest {
            url: server.url("app"),
            auth: auth(),
            reference: GitReference::Tag("v1.0.0".into()),
            create_missing_branch: false,
            timeout: Duration::from_secs(30),
        })
        .unwrap();
        std::fs::write(
            tree.root().unwrap().join("deploy/app.yaml"),
            "image: app:2\n",
        )
        .unwrap();
        let new = commit(&tree, "From the tag", None).unwrap();
        tree.push(&PushRequest {
            target: PushTarget::Refspec("HEAD:refs/heads/from-tag".into()),
            options: Vec::new(),
        })
        .unwrap();
        assert_eq!(git(&app.bare, &["rev-parse", "from-tag"]).unwrap(), new);
    })
    .await
    .unwrap();
}

/// An OpenPGP key like `gpg --quick-gen-key` makes: a certify-only primary key with a signing
/// subkey.
fn openpgp_key() -> pgp::composed::SignedSecretKey {
    use pgp::composed::{EncryptionCaps, KeyType, SecretKeyParamsBuilder, SubkeyParamsBuilder};
    let mut signing = SubkeyParamsBuilder::default();
    signing
        .key_type(KeyType::Ed25519Legacy)
        .can_sign(true)
        .can_encrypt(EncryptionCaps::None)
        .can_authenticate(false);
    let mut params = SecretKeyParamsBuilder::default();
    params
        .key_type(KeyType::Ed25519Legacy)
        .can_certify(true)
        .can_sign(false)
        .can_encrypt(EncryptionCaps::None)
        .primary_user_id("Image Automation <automation@eddy.invalid>".into())
        .subkeys(vec![signing.build().unwrap()]);
    params
        .build()
        .unwrap()
        .generate(rand::thread_rng())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn commits_are_signed_with_an_openpgp_key() {
    let (_root, app, server) = server_with_app().await;
    let key = openpgp_key();
    let armored_key = key.to_armored_string(Default::default()).unwrap();
    tokio::task::spawn_blocking(move || {
        let tree = clone(&server, "master", false).unwrap();
        std::fs::write(
            tree.root().unwrap().join("deploy/app.yaml"),
            "image: app:3\n",
        )
        .unwrap();
        let signing = SigningKey::OpenPgp {
            armored_key,
            passphrase: None,
        };
        let new = commit(&tree, "Signed update", Some(signing)).unwrap();
        tree.push(&push_to("master")).unwrap();
        assert_eq!(git(&app.bare, &["rev-parse", "master"]).unwrap(), new);

        // The pushed commit carries a signature over exactly what git verifies, by the subkey.
        let repo = git2::Repository::open_bare(&app.bare).unwrap();
        let (signature, signed) = repo
            .extract_signature(&git2::Oid::from_str(&new).unwrap(), None)
            .unwrap();
        let signature = std::str::from_utf8(&signature).unwrap();
        assert!(
            signature.starts_with("-----BEGIN PGP SIGNATURE-----"),
            "{signature}"
        );
        let (detached, _) =
            <pgp::composed::DetachedSignature as pgp::composed::Deserializable>::from_string(
                signature,
            )
            .unwrap();
        let public = pgp::composed::SignedPublicKey::from(key);
        detached
            .verify(&public.public_subkeys[0].key, &signed)
            .unwrap();
        assert!(detached.verify(&public.primary_key, &signed).is_err());
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn unusable_signing_keys_fail_with_typed_errors() {
    let (_root, _app, server) = server_with_app().await;
    tokio::task::spawn_blocking(move || {
        let tree = clone(&server, "master", false).unwrap();
        std::fs::write(
            tree.root().unwrap().join("deploy/app.yaml"),
            "image: app:4\n",
        )
        .unwrap();
        let attempt = |signing: SigningKey| {
            tree.commit_changes(&CommitRequest {
                author: Author {
                    name: "a".into(),
                    email: "a@eddy.invalid".into(),
                },
                message: "signed".into(),
                paths: Vec::new(),
                signing: Some(signing),
            })
            .unwrap_err()
        };
        let ssh = attempt(SigningKey::Ssh {
            private_key: "key".into(),
            passphrase: None,
        });
        assert!(
            matches!(ssh, GitError::SigningNotSupported { kind: "SSH" }),
            "{ssh}"
        );
        assert!(ssh.is_terminal());
        let garbage = attempt(SigningKey::OpenPgp {
            armored_key: "not a key".into(),
            passphrase: None,
        });
        assert!(matches!(garbage, GitError::Signing(_)), "{garbage}");
        // Neither attempt left a commit behind.
        assert!(!tree.has_unpushed_commits().unwrap());
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn push_options_reach_the_server() {
    use std::os::unix::fs::PermissionsExt as _;
    let (_root, app, server) = server_with_app().await;
    git(
        &app.bare,
        &["config", "receive.advertisePushOptions", "true"],
    )
    .unwrap();
    let received = app.bare.join("received-push-options");
    let hook = app.bare.join("hooks/pre-receive");
    std::fs::write(
        &hook,
        format!(
            "#!/bin/sh\necho \"$GIT_PUSH_OPTION_COUNT $GIT_PUSH_OPTION_0\" > '{}'\n",
            received.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    tokio::task::spawn_blocking(move || {
        let tree = clone(&server, "master", false).unwrap();
        std::fs::write(
            tree.root().unwrap().join("deploy/app.yaml"),
            "image: app:5\n",
        )
        .unwrap();
        commit(&tree, "With push options", None).unwrap();
        tree.push(&PushRequest {
            target: PushTarget::Branch("master".into()),
            options: vec!["merge_request.create".into()],
        })
        .unwrap();
        assert_eq!(
            std::fs::read_to_string(&received).unwrap(),
            "1 merge_request.create\n"
        );
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refusal_other_than_non_fast_forward_is_a_push_rejection() {
    use std::os::unix::fs::PermissionsExt as _;
    let (_root, app, server) = server_with_app().await;
    let hook = app.bare.join("hooks/pre-receive");
    std::fs::write(&hook, "#!/bin/sh\necho 'master is protected' >&2\nexit 1\n").unwrap();
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    tokio::task::spawn_blocking(move || {
        let tree = clone(&server, "master", false).unwrap();
        std::fs::write(
            tree.root().unwrap().join("deploy/app.yaml"),
            "image: app:6\n",
        )
        .unwrap();
        commit(&tree, "Refused", None).unwrap();
        let err = tree.push(&push_to("master")).unwrap_err();
        assert!(matches!(err, GitError::PushRejected { .. }), "{err}");
        assert!(err.to_string().contains("refs/heads/master"), "{err}");
    })
    .await
    .unwrap();
}
