package hostagent

import (
	"bytes"
	"testing"

	"github.com/tenderdev/tender/agent/api"
)

// The port events come from the guest, which the host does not trust:
// whatever it sends, the decoder does not panic, and the table never plans
// a forward of a reserved port (sshd, dockerd, the swarm's) or of anything
// but TCP or UDP on 1-65535 of the host's loopback.
func FuzzPortEvents(f *testing.F) {
	for _, seed := range []string{
		`{"added":[{"proto":"tcp","port":8080}]}` + "\n" + `{"removed":[{"proto":"tcp","port":8080}]}`,
		`{"added":[{"proto":"tcp","port":22},{"proto":"tcp","port":2376},{"proto":"udp","port":4789}]}`,
		`{"added":[{"proto":"sctp","port":1},{"proto":"tcp","port":0},{"proto":"tcp","port":70000},{"proto":"udp","port":-5}]}`,
		"{}\n\n{\"added\":null}\n",
		`{"added":[{"proto":"tcp","port":1e3}]}`,
		"not json",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d := api.NewPortEventDecoder(bytes.NewReader(data))
		table := Table{}
		for i := 0; i < 100; i++ {
			ev, err := d.Next()
			if err != nil {
				return
			}
			for _, a := range table.Plan(ev, i == 0) {
				if !a.Add {
					delete(table, a.Port)
					continue
				}
				if api.Reserved(a.Port) || !forwardable(a.Port) {
					t.Fatalf("planned a forward of %v from %q", a.Port, data)
				}
				table[a.Port] = Forward{Proto: a.Port.Proto, Port: a.Port.Port, Status: Forwarded}
			}
		}
	})
}
