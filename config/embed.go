package config

import _ "embed"

// DefaultYAML is the commented reference settings file: every key with its
// builtin default and what it does, for users to read and copy.
//
//go:embed default.yaml
var DefaultYAML []byte
