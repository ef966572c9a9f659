// Package dockercontext writes docker contexts the way the docker CLI stores
// them, so `docker --context tender ps` works without environment variables
// and without running docker to set it up.
//
// The store lives in docker's configuration directory ($DOCKER_CONFIG, else
// ~/.docker):
//
//	contexts/meta/<sha256(name)>/meta.json        name, description, endpoint
//	contexts/tls/<sha256(name)>/docker/ca.pem cert.pem key.pem
//	config.json                                   "currentContext": name
package dockercontext

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sync"

	"github.com/tenderdev/tender/atomicfile"
)

// Context is one docker context with a TLS endpoint.
type Context struct {
	Name        string
	Description string
	Host        string // tcp://127.0.0.1:PORT
	CA          []byte // PEM
	Cert        []byte
	Key         []byte
}

// Dir is docker's configuration directory: $DOCKER_CONFIG, else ~/.docker.
func Dir(getenv func(string) string) (string, error) {
	if d := getenv("DOCKER_CONFIG"); d != "" {
		return d, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("finding docker's configuration directory (set DOCKER_CONFIG): %w", err)
	}
	return filepath.Join(home, ".docker"), nil
}

// The docker CLI's rule for context names; compiled on first use, not by
// package initialisation, which every tender command pays.
var validName = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.+-]+$`)
})

// id is the directory name docker gives a context: the hex sha256 of its name.
func id(name string) string {
	sum := sha256.Sum256([]byte(name))
	return hex.EncodeToString(sum[:])
}

func metaDir(dir, name string) string { return filepath.Join(dir, "contexts", "meta", id(name)) }
func tlsDir(dir, name string) string  { return filepath.Join(dir, "contexts", "tls", id(name)) }

// meta.json, as the docker CLI reads it.
type meta struct {
	Name      string              `json:"Name"`
	Metadata  metadata            `json:"Metadata"`
	Endpoints map[string]endpoint `json:"Endpoints"`
}

type metadata struct {
	Description string `json:"Description,omitempty"`
}

type endpoint struct {
	Host          string `json:"Host"`
	SkipTLSVerify bool   `json:"SkipTLSVerify"`
}

// Write creates or replaces context c in the store under dir.
func Write(dir string, c Context) error {
	if !validName().MatchString(c.Name) {
		return fmt.Errorf("%q is not a valid docker context name", c.Name)
	}
	data, err := json.Marshal(meta{
		Name:      c.Name,
		Metadata:  metadata{Description: c.Description},
		Endpoints: map[string]endpoint{"docker": {Host: c.Host}},
	})
	if err != nil {
		return err
	}
	tls := filepath.Join(tlsDir(dir, c.Name), "docker")
	if err := os.RemoveAll(tlsDir(dir, c.Name)); err != nil {
		return fmt.Errorf("replacing docker context %q: %w", c.Name, err)
	}
	if err := os.MkdirAll(tls, 0o700); err != nil {
		return fmt.Errorf("writing docker context %q: %w", c.Name, err)
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{"ca.pem", c.CA}, {"cert.pem", c.Cert}, {"key.pem", c.Key}} {
		if err := atomicfile.Write(filepath.Join(tls, f.name), f.data, 0o600); err != nil {
			return fmt.Errorf("writing docker context %q: %w", c.Name, err)
		}
	}
	if err := os.MkdirAll(metaDir(dir, c.Name), 0o755); err != nil {
		return fmt.Errorf("writing docker context %q: %w", c.Name, err)
	}
	if err := atomicfile.Write(filepath.Join(metaDir(dir, c.Name), "meta.json"), data, 0o644); err != nil {
		return fmt.Errorf("writing docker context %q: %w", c.Name, err)
	}
	return nil
}

// Exists reports whether the store under dir has a context called name.
func Exists(dir, name string) bool {
	_, err := os.Stat(filepath.Join(metaDir(dir, name), "meta.json"))
	return err == nil
}

// Remove deletes context name. When it was docker's current context,
// config.json is set back to the default context and wasCurrent is true.
func Remove(dir, name string) (wasCurrent bool, err error) {
	cur, err := Current(dir)
	if err != nil {
		return false, err
	}
	if cur == name {
		if err := setCurrent(dir, ""); err != nil {
			return false, err
		}
	}
	if err := os.RemoveAll(metaDir(dir, name)); err != nil {
		return false, fmt.Errorf("removing docker context %q: %w", name, err)
	}
	if err := os.RemoveAll(tlsDir(dir, name)); err != nil {
		return false, fmt.Errorf("removing docker context %q: %w", name, err)
	}
	return cur == name, nil
}

// Use makes name docker's current context (`docker context use`), keeping
// every other setting in config.json.
func Use(dir, name string) error {
	if !Exists(dir, name) {
		return fmt.Errorf("docker context %q does not exist", name)
	}
	return setCurrent(dir, name)
}

// Current is the currentContext of config.json, "" for the default.
func Current(dir string) (string, error) {
	cfg, err := readConfig(dir)
	if err != nil {
		return "", err
	}
	var cur string
	if raw, ok := cfg["currentContext"]; ok {
		if err := json.Unmarshal(raw, &cur); err != nil {
			return "", fmt.Errorf("%s: currentContext is not a string", filepath.Join(dir, "config.json"))
		}
	}
	return cur, nil
}

func readConfig(dir string) (map[string]json.RawMessage, error) {
	path := filepath.Join(dir, "config.json")
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return map[string]json.RawMessage{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading docker's configuration: %w", err)
	}
	cfg := map[string]json.RawMessage{}
	if len(data) == 0 {
		return cfg, nil
	}
	if err := json.Unmarshal(data, &cfg); err != nil {
		return nil, fmt.Errorf("%s is not valid JSON (%v); fix it or move it away, tender does not overwrite it", path, err)
	}
	return cfg, nil
}

// setCurrent writes currentContext (removing it for ""), leaving the other
// keys as they are.
func setCurrent(dir, name string) error {
	cfg, err := readConfig(dir)
	if err != nil {
		return err
	}
	if name == "" {
		if _, ok := cfg["currentContext"]; !ok {
			return nil
		}
		delete(cfg, "currentContext")
	} else {
		raw, _ := json.Marshal(name)
		cfg["currentContext"] = raw
	}
	data, err := json.MarshalIndent(cfg, "", "\t")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("writing docker's configuration: %w", err)
	}
	perm := os.FileMode(0o600)
	if st, err := os.Stat(filepath.Join(dir, "config.json")); err == nil {
		perm = st.Mode().Perm()
	}
	if err := atomicfile.Write(filepath.Join(dir, "config.json"), append(data, '\n'), perm); err != nil {
		return fmt.Errorf("writing docker's configuration: %w", err)
	}
	return nil
}
