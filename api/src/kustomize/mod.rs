//! `kustomize.toolkit.fluxcd.io`: Kustomization, which builds and applies a source's manifests.
