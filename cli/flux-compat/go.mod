// Pins the real `flux` CLI that cli/tests/flux_cli.rs drives against Eddy's CRDs, to prove the
// `flux` CLI works on Eddy. Only the pin (and its checksum in go.sum) lives here: the tests build
// `cmd/flux` from a copy of this module's source (see cli/tests/support/flux.rs for why), into
// ~/.cache/eddy/flux/<version>/flux. Nothing here is shipped.
module eddy.invalid/cli/flux-compat

go 1.26.0

require github.com/fluxcd/flux2/v2 v2.9.5
