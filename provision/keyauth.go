package provision

import (
	"errors"
	"fmt"
	"net"
	"os"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// KeyAuth is the signer for the user's key file at path (a server's user,
// for the ssh driver). A key without a passphrase is read as it is; one
// with a passphrase is used through the user's ssh-agent (SSH_AUTH_SOCK, as
// lookupEnv finds it), which must hold it: tender never asks for or keeps a
// passphrase. Call the returned done when the signer is no longer used
// (it closes the agent connection).
func KeyAuth(path string, lookupEnv func(string) (string, bool)) (ssh.Signer, func(), error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("the SSH key (--ssh-key): %w", err)
	}
	signer, err := ssh.ParsePrivateKey(pem)
	if err == nil {
		return signer, func() {}, nil
	}
	var needPass *ssh.PassphraseMissingError
	if !errors.As(err, &needPass) {
		return nil, nil, fmt.Errorf("the SSH key %s (--ssh-key): %w", path, err)
	}
	pub := needPass.PublicKey
	if pub == nil { // older key formats keep it only in the .pub file
		if b, err := os.ReadFile(path + ".pub"); err == nil {
			pub, _, _, _, _ = ssh.ParseAuthorizedKey(b)
		}
	}
	addHint := fmt.Sprintf("the SSH key %s has a passphrase: add it to your ssh-agent (ssh-add %s) and try again", path, path)
	sock, ok := lookupEnv("SSH_AUTH_SOCK")
	if !ok || sock == "" || pub == nil {
		return nil, nil, errors.New(addHint)
	}
	conn, err := net.Dial("unix", sock)
	if err != nil {
		return nil, nil, fmt.Errorf("%s (the agent at SSH_AUTH_SOCK does not answer: %v)", addHint, err)
	}
	signers, err := agent.NewClient(conn).Signers()
	if err != nil {
		conn.Close()
		return nil, nil, fmt.Errorf("%s (asking the agent: %v)", addHint, err)
	}
	for _, s := range signers {
		if string(s.PublicKey().Marshal()) == string(pub.Marshal()) {
			return s, func() { conn.Close() }, nil
		}
	}
	conn.Close()
	return nil, nil, errors.New(addHint)
}
