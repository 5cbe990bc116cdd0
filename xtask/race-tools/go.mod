// Pins Flux's own source-controller and kustomize-controller for `cargo xtask bench race`
// (xtask/src/bench/race/). Only the pins (and their checksums in go.sum) live here: the bench
// builds each controller from a copy of its module's source, with the module's own go.mod so its
// replace directives apply and its `./api` replacement filled from the pinned api module, into
// ~/.cache/eddy/race/<version>/<controller>. Nothing here is shipped.
//
// Flux v2.9.5 ships source-controller v1.9.5 and kustomize-controller v1.9.5. The module proxy this
// machine reaches refuses github.com/fluxcd/pkg/artifact v0.18.2 and later (403, "not available"),
// which source-controller v1.9.4+ require, so source-controller is pinned at v1.9.3, the newest
// v1.9 release whose dependencies it serves.
module eddy.invalid/xtask/race-tools

go 1.26.0

require (
	github.com/fluxcd/kustomize-controller v1.9.5
	github.com/fluxcd/kustomize-controller/api v1.9.5
	github.com/fluxcd/source-controller v1.9.3
	github.com/fluxcd/source-controller/api v1.9.3
)
