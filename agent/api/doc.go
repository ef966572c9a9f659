// Package api is the contract between the host and the guest, written once:
// the guest's ports and paths, the agent's commands and how the host calls
// them, the lines the agent prints on the serial console, the userdata tar
// that carries a machine's identity to a fresh disk, the port events the
// agent streams, and the clock format.
//
// Both sides import it: the host (machine, hostagent, provision, bench, the
// test harness) and the guest (agent/…). So it imports only the standard
// library and builds for every GOOS, and no other agent package is imported
// by host code. A change here is a change to the wire: a newer host must
// still talk to the guests of older images, so add, do not rename.
package api
