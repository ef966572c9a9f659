//go:build linux

package guest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"go.etcd.io/bbolt"
)

// DockerNetworkStore is libnetwork's store of dockerd's local networks, a
// bbolt file, under Docker's default data root.
const DockerNetworkStore = "/var/lib/docker/network/files/local-kv.db"

// networkStoreTimeout bounds the wait for the store's file lock: nothing but
// dockerd takes it, and dockerd is not running yet, so a held lock is a
// surprise that must not hang the boot.
const networkStoreTimeout = 2 * time.Second

// The store's layout, as moby v26.1 writes it (libnetwork/datastore,
// libnetwork/internal/kvstore/boltdb): one bucket; a key is the parts of the
// object's Key() each followed by "/" under the root "docker/network/v1.0/";
// a value is a little-endian uint64 index then the object's JSON, and a value
// with no JSON (a parent key) is skipped by every list.
const (
	kvBucket   = "libnetwork"
	kvRoot     = "docker/network/v1.0/"
	kvIndexLen = 8
)

// kvKey is datastore.Key: the key of an object whose Key() is parts.
func kvKey(parts ...string) []byte {
	k := kvRoot
	for _, p := range parts {
		k += p + "/"
	}
	return []byte(k)
}

// The prefixes of the records that name the default bridge: libnetwork's
// network, endpoint, endpoint_count and sandbox records, and the bridge
// driver's own ("bridge", "bridge-endpoint": libnetwork/drivers/bridge).
const (
	kvNetwork        = "network"
	kvEndpoint       = "endpoint"
	kvEndpointCount  = "endpoint_count"
	kvSandbox        = "sandbox"
	kvBridge         = "bridge"
	kvBridgeEndpoint = "bridge-endpoint"
)

// The fields read from each record, named as moby's MarshalJSON writes them.
type (
	kvNetworkRecord struct {
		ID          string `json:"id"`
		Name        string `json:"name"`
		NetworkType string `json:"networkType"`
	}
	kvSandboxRecord struct {
		ID  string
		Cid string
		Eps []struct{ Eid, Nid string }
	}
	kvBridgeRecord struct {
		ID            string
		DefaultBridge bool
	}
	kvBridgeEndpointRecord struct {
		ID  string `json:"id"`
		NID string `json:"nid"`
	}
)

// dropStaleDefaultBridge removes the default "bridge" network from dockerd's
// network store at path, exactly as dockerd's own deletion of that network
// leaves it: libnetwork's network record, its endpoint records and endpoint
// count, and the bridge driver's network record and endpoint records of that
// network. Every other record (user-defined networks, host, none, sandboxes)
// is left as it was, byte for byte. It must run while dockerd is not running.
//
// Why: at every start after the first, dockerd restores the default bridge
// from this store (the driver adds its iptables rules), then deletes it as
// stale ("Clear stale bridge network" in daemon/daemon_unix.go, removing the
// rules one by one) and creates it afresh (adding them again). After a boot
// the kernel holds none of those rules, and each iptables process costs
// ~100 ms under emulation: the restore and the deletion cost seconds for
// nothing.
//
// Why it is safe: dockerd would delete and recreate that network anyway, and
// with this store it does exactly what it does on the first boot. Containers
// on the default bridge are reconnected by the name "bridge" when they start,
// as after every dockerd start, never by the old network's ID. A sandbox
// record still on the default bridge (the containers were not stopped before
// the machine went down) is the one case dockerd must clean up itself, while
// the network is still in the store: then the store is left alone.
//
// A missing file or bucket is not an error (the first boot). Any surprise in
// a record it must read leaves the file untouched and is returned; dockerd
// then does its slow but correct thing.
func dropStaleDefaultBridge(path string) error {
	return dropDefaultBridge(path, networkStoreTimeout)
}

func dropDefaultBridge(path string, timeout time.Duration) (err error) {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil // bbolt.Open would create it
	}
	// bbolt panics on some corrupt pages; PID 1 must not.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("dropping the default bridge from %s: %v", path, r)
		}
	}()
	db, err := bbolt.Open(path, 0o644, &bbolt.Options{Timeout: timeout})
	if err != nil {
		return fmt.Errorf("opening docker's network store %s: %w", path, err)
	}
	defer db.Close()

	var drop [][]byte
	if err := db.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket([]byte(kvBucket))
		if b == nil {
			return nil
		}
		var err error
		drop, err = defaultBridgeKeys(b)
		return err
	}); err != nil {
		return fmt.Errorf("docker's network store %s left as it is: %w", path, err)
	}
	if len(drop) == 0 {
		return nil
	}
	if err := db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket([]byte(kvBucket))
		for _, k := range drop {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return fmt.Errorf("dropping the default bridge from %s: %w", path, err)
	}
	return nil
}

// defaultBridgeKeys returns the keys of the default bridge's records in b,
// none when there is no default bridge, or an error when it cannot tell
// which records are the default bridge's or dockerd must delete them itself.
// The keys are copies, valid after the transaction.
func defaultBridgeKeys(b *bbolt.Bucket) ([][]byte, error) {
	var id string
	err := eachRecord(b, kvNetwork, func(k, v []byte) error {
		var n kvNetworkRecord
		if err := json.Unmarshal(v, &n); err != nil {
			return err
		}
		if n.Name != "bridge" {
			return nil
		}
		switch {
		case n.NetworkType != "bridge":
			return fmt.Errorf("the network named \"bridge\" has driver %q", n.NetworkType)
		case id != "":
			return fmt.Errorf("two networks are named \"bridge\": %s and %s", id, n.ID)
		case n.ID == "" || !bytes.Equal(k, kvKey(kvNetwork, n.ID)):
			return fmt.Errorf("the network named \"bridge\" has id %q", n.ID)
		}
		id = n.ID
		return nil
	})
	if err != nil || id == "" {
		return nil, err
	}

	err = eachRecord(b, kvSandbox, func(k, v []byte) error {
		var s kvSandboxRecord
		if err := json.Unmarshal(v, &s); err != nil {
			return err
		}
		for _, ep := range s.Eps {
			if ep.Nid == id {
				return fmt.Errorf("sandbox %.12s of container %.12s is still on the default bridge: dockerd cleans it up", s.ID, s.Cid)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}

	drop := [][]byte{kvKey(kvNetwork, id)}
	if v := b.Get(kvKey(kvEndpointCount, id)); v != nil {
		drop = append(drop, kvKey(kvEndpointCount, id))
	}
	err = eachRecord(b, kvEndpoint+"/"+id, func(k, _ []byte) error {
		drop = append(drop, bytes.Clone(k))
		return nil
	})
	if err != nil {
		return nil, err
	}

	if v := b.Get(kvKey(kvBridge, id)); v != nil {
		js, err := recordJSON(kvKey(kvBridge, id), v)
		if err != nil {
			return nil, err
		}
		var r kvBridgeRecord
		if err := json.Unmarshal(js, &r); err != nil {
			return nil, fmt.Errorf("%s: %w", kvKey(kvBridge, id), err)
		}
		if r.ID != id || !r.DefaultBridge {
			return nil, fmt.Errorf("%s: not the default bridge (ID %q, DefaultBridge %v)", kvKey(kvBridge, id), r.ID, r.DefaultBridge)
		}
		drop = append(drop, kvKey(kvBridge, id))
	}
	err = eachRecord(b, kvBridgeEndpoint, func(k, v []byte) error {
		var ep kvBridgeEndpointRecord
		if err := json.Unmarshal(v, &ep); err != nil {
			return err
		}
		if ep.NID == id {
			drop = append(drop, bytes.Clone(k))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return drop, nil
}

// eachRecord calls fn with the key and JSON of each record under the object
// prefix (the parts of a KeyPrefix() joined by "/"), skipping parent keys as
// libnetwork's lists do. An error names the record.
func eachRecord(b *bbolt.Bucket, prefix string, fn func(k, js []byte) error) error {
	p := kvKey(prefix)
	c := b.Cursor()
	for k, v := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
		js, err := recordJSON(k, v)
		if err != nil {
			return err
		}
		if len(js) == 0 {
			continue
		}
		if err := fn(k, js); err != nil {
			return fmt.Errorf("%s: %w", k, err)
		}
	}
	return nil
}

// recordJSON is the JSON of the value v of key k, without its index.
func recordJSON(k, v []byte) ([]byte, error) {
	if len(v) < kvIndexLen {
		return nil, fmt.Errorf("%s: a %d-byte value, shorter than its index", k, len(v))
	}
	return v[kvIndexLen:], nil
}
