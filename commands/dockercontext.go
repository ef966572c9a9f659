package commands

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/tenderdev/tender/dockercontext"
	"github.com/tenderdev/tender/machine"
)

// dockerContextName is the docker context of a machine
// (machine.DockerContextName).
func dockerContextName(name string) string { return machine.DockerContextName(name) }

// updateDockerContext writes the machine's docker context (its endpoint and
// client certificates) and with activate makes it docker's current context.
// A failure is a warning: the machine is up and shellinit still works.
func (env *Env) updateDockerContext(m *machine.Machine, activate bool) {
	name := dockerContextName(m.Name)
	dir, err := dockercontext.Dir(env.Getenv)
	if err == nil {
		err = writeDockerContext(dir, name, m)
	}
	if err == nil && activate {
		err = dockercontext.Use(dir, name)
	}
	if err != nil {
		fmt.Fprintf(env.Stderr, "warning: the docker context %q was not updated: %v\n", name, err)
		return
	}
	if cur, _ := dockercontext.Current(dir); cur == name && !activate {
		fmt.Fprintf(env.Stderr, "docker context %q (docker's current context) points at it\n", name)
		return
	}
	if !activate {
		fmt.Fprintf(env.Stderr, "docker context %q points at it: docker --context %s ps (make it current with `tender up --activate%s`)\n", name, name, machine.NameArg(m.Name))
		return
	}
	fmt.Fprintf(env.Stderr, "docker context %q is now docker's current context\n", name)
	if env.Getenv("DOCKER_HOST") != "" {
		fmt.Fprintf(env.Stderr, "note: DOCKER_HOST is set in this shell and takes precedence over the current context (unset it with: eval \"$(tender shellinit -u)\")\n")
	}
}

func writeDockerContext(dir, name string, m *machine.Machine) error {
	read := func(f string) ([]byte, error) { return os.ReadFile(filepath.Join(m.CertPath(), f)) }
	ca, err := read(machine.CACertFile)
	if err != nil {
		return err
	}
	cert, err := read(machine.ClientCert)
	if err != nil {
		return err
	}
	key, err := read(machine.ClientKey)
	if err != nil {
		return err
	}
	return dockercontext.Write(dir, dockercontext.Context{
		Name:        name,
		Description: fmt.Sprintf("tender machine %q", m.Name),
		Host:        m.DockerHost(),
		CA:          ca, Cert: cert, Key: key,
	})
}

// removeDockerContext removes the machine's docker context, if any.
func (env *Env) removeDockerContext(machineName string) {
	name := dockerContextName(machineName)
	dir, err := dockercontext.Dir(env.Getenv)
	if err != nil || !dockercontext.Exists(dir, name) {
		return
	}
	wasCurrent, err := dockercontext.Remove(dir, name)
	if err != nil {
		fmt.Fprintf(env.Stderr, "warning: the docker context %q was not removed: %v\n", name, err)
		return
	}
	if wasCurrent {
		fmt.Fprintf(env.Stderr, "docker context %q removed; docker's current context is the default again\n", name)
	}
}
