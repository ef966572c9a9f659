//go:build unix

package provision

import (
	"testing"

	"github.com/tenderdev/tender/internal/testfakes"
)

// dialTest connects to s as its user with the right keys.
func dialTest(t *testing.T, s *testfakes.SSHServer) *Client {
	t.Helper()
	c, err := Dial(t.Context(), s.Addr, s.User, s.UserKey, s.HostKey)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
