//go:build tools

// Package tools names the main package the tests build, so `go mod tidy` keeps its
// dependencies in go.mod and go.sum.
package tools

import (
	_ "helm.sh/helm/v4/cmd/helm"
)
