//go:build linux

package guest

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.etcd.io/bbolt"
)

// The IDs of testdata/local-kv.txt.
const (
	kvTestBridge    = "a1d4e8f0b2c6a9d3e7f1b5c8a2d6e0f4b8c1a5d9e3f7b0c4a8d2e6f9b3c7a1d5"
	kvTestBridgeEp1 = "0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f70"
	kvTestBridgeEp2 = "7f6e5d4c3b2a19080f1e2d3c4b5a69788796a5b4c3d2e1f0091827364554637a"
	kvTestWeb       = "c3b2a1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2"
	kvTestWebEp     = "d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3"
	kvTestWebSb     = "e5f6a7b8c9d0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a"
)

// kvRecord is a record of testdata/local-kv.txt: a key under kvRoot and its
// JSON, empty for a parent key.
type kvRecord struct{ key, json string }

func readKVRecords(t *testing.T) []kvRecord {
	t.Helper()
	data, err := os.ReadFile("testdata/local-kv.txt")
	if err != nil {
		t.Fatal(err)
	}
	var recs []kvRecord
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		key, js, _ := strings.Cut(line, " ")
		if js != "" && !json.Valid([]byte(js)) {
			t.Fatalf("testdata/local-kv.txt: invalid JSON for %s", key)
		}
		recs = append(recs, kvRecord{key, js})
	}
	return recs
}

// withRecord returns recs with key's JSON replaced by js (appended when key
// is new).
func withRecord(recs []kvRecord, key, js string) []kvRecord {
	out := slices.Clone(recs)
	for i := range out {
		if out[i].key == key {
			out[i].json = js
			return out
		}
	}
	return append(out, kvRecord{key, js})
}

// writeKVStore writes recs as libnetwork's boltdb store does: bucket
// "libnetwork", each value the record's index (its rank) then its JSON.
func writeKVStore(t *testing.T, path string, recs []kvRecord) {
	t.Helper()
	db, err := bbolt.Open(path, 0o644, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bbolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists([]byte(kvBucket))
		if err != nil {
			return err
		}
		for i, r := range recs {
			v := binary.LittleEndian.AppendUint64(nil, uint64(i+1))
			if err := b.Put([]byte(kvRoot+r.key), append(v, r.json...)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// dumpKVStore is every key and raw value (index included) of every bucket.
func dumpKVStore(t *testing.T, path string) map[string]string {
	t.Helper()
	db, err := bbolt.Open(path, 0o644, &bbolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	kv := map[string]string{}
	err = db.View(func(tx *bbolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bbolt.Bucket) error {
			return b.ForEach(func(k, v []byte) error {
				kv[string(name)+" "+string(k)] = string(v)
				return nil
			})
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return kv
}

func TestDropStaleDefaultBridge(t *testing.T) {
	path := filepath.Join(t.TempDir(), "local-kv.db")
	writeKVStore(t, path, readKVRecords(t))
	before := dumpKVStore(t, path)

	if err := dropStaleDefaultBridge(path); err != nil {
		t.Fatal(err)
	}
	after := dumpKVStore(t, path)

	// What dockerd's deletion of the default bridge removes, and nothing else.
	dropped := []string{
		"network/" + kvTestBridge + "/",
		"endpoint_count/" + kvTestBridge + "/",
		"endpoint/" + kvTestBridge + "/" + kvTestBridgeEp1 + "/",
		"endpoint/" + kvTestBridge + "/" + kvTestBridgeEp2 + "/",
		"bridge/" + kvTestBridge + "/",
		"bridge-endpoint/" + kvTestBridgeEp1 + "/",
		"bridge-endpoint/" + kvTestBridgeEp2 + "/",
	}
	want := maps.Clone(before)
	for _, k := range dropped {
		k = kvBucket + " " + kvRoot + k
		if _, ok := want[k]; !ok {
			t.Fatalf("testdata/local-kv.txt has no %s", k)
		}
		delete(want, k)
	}
	for _, k := range slices.Sorted(maps.Keys(before)) {
		a, inAfter := after[k]
		w, inWant := want[k]
		if inAfter != inWant || a != w {
			t.Errorf("%s: after %q (present %v), want %q (present %v)", k, a, inAfter, w, inWant)
		}
	}
	if len(after) != len(want) {
		t.Errorf("%d records after, want %d", len(after), len(want))
	}
	// The records of web, host, none and the sandbox are still there.
	for _, k := range []string{
		"network/" + kvTestWeb + "/",
		"endpoint/" + kvTestWeb + "/" + kvTestWebEp + "/",
		"bridge-endpoint/" + kvTestWebEp + "/",
		"sandbox/" + kvTestWebSb + "/",
		"endpoint_count/",
	} {
		if !hasKey(after, kvBucket+" "+kvRoot+k) {
			t.Errorf("%s was dropped", k)
		}
	}

	// Again: nothing left to drop, and the file is not written.
	data, _ := os.ReadFile(path)
	if err := dropStaleDefaultBridge(path); err != nil {
		t.Fatal(err)
	}
	if again, _ := os.ReadFile(path); !bytes.Equal(again, data) {
		t.Error("a store without a default bridge was rewritten")
	}
}

func hasKey(m map[string]string, k string) bool {
	_, ok := m[k]
	return ok
}

// TestDropStaleDefaultBridgeNothingToDo: the first boot (no file, or no
// bucket yet) and a daemon with the default bridge disabled.
func TestDropStaleDefaultBridgeNothingToDo(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.db")
	if err := dropStaleDefaultBridge(missing); err != nil {
		t.Errorf("missing file: %v", err)
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Errorf("missing file: created (%v)", err)
	}

	noBucket := filepath.Join(dir, "nobucket.db")
	db, err := bbolt.Open(noBucket, 0o644, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()

	noBridge := filepath.Join(dir, "nobridge.db")
	var recs []kvRecord
	for _, r := range readKVRecords(t) {
		if !strings.Contains(r.key, kvTestBridge) && !strings.Contains(r.key, kvTestBridgeEp1) && !strings.Contains(r.key, kvTestBridgeEp2) {
			recs = append(recs, r)
		}
	}
	writeKVStore(t, noBridge, recs)

	for _, path := range []string{noBucket, noBridge} {
		data, _ := os.ReadFile(path)
		if err := dropStaleDefaultBridge(path); err != nil {
			t.Errorf("%s: %v", filepath.Base(path), err)
		}
		if after, _ := os.ReadFile(path); !bytes.Equal(after, data) {
			t.Errorf("%s: rewritten", filepath.Base(path))
		}
	}
}

// TestDropStaleDefaultBridgeLeavesStore: a record that cannot be read, or a
// default bridge that dockerd must clean up itself, leaves the file as it was.
func TestDropStaleDefaultBridgeLeavesStore(t *testing.T) {
	webNet := "network/" + kvTestWeb + "/"
	tests := []struct {
		name      string
		key, json string
		want      string
	}{
		{
			name: "corrupt network",
			key:  webNet, json: `{"name":"web",`,
			want: "docker/network/v1.0/network/" + kvTestWeb + "/: unexpected end of JSON input",
		},
		{
			name: "network field of another type",
			key:  webNet, json: `{"id":"` + kvTestWeb + `","name":7}`,
			want: "docker/network/v1.0/network/" + kvTestWeb + "/: json: cannot unmarshal number into Go struct field kvNetworkRecord.name of type string",
		},
		{
			name: "corrupt bridge driver network",
			key:  "bridge/" + kvTestBridge + "/", json: `{"ID":`,
			want: "docker/network/v1.0/bridge/" + kvTestBridge + "/: unexpected end of JSON input",
		},
		{
			name: "bridge driver network not the default",
			key:  "bridge/" + kvTestBridge + "/", json: `{"ID":"` + kvTestBridge + `","DefaultBridge":false}`,
			want: "docker/network/v1.0/bridge/" + kvTestBridge + `/: not the default bridge (ID "` + kvTestBridge + `", DefaultBridge false)`,
		},
		{
			name: "corrupt bridge endpoint of another network",
			key:  "bridge-endpoint/" + kvTestWebEp + "/", json: `nope`,
			want: "docker/network/v1.0/bridge-endpoint/" + kvTestWebEp + "/: invalid character 'o' in literal null (expecting 'u')",
		},
		{
			name: "corrupt sandbox",
			key:  "sandbox/" + kvTestWebSb + "/", json: `[]`,
			want: "docker/network/v1.0/sandbox/" + kvTestWebSb + "/: json: cannot unmarshal array into Go value of type guest.kvSandboxRecord",
		},
		{
			name: "sandbox on the default bridge",
			key:  "sandbox/5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b/",
			json: `{"ID":"5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b","Cid":"1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90a","Eps":[{"Eid":"` + kvTestBridgeEp1 + `","Nid":"` + kvTestBridge + `"}],"EpPriority":null,"ExtDNS2":null}`,
			want: "docker/network/v1.0/sandbox/5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b/: sandbox 5a6b7c8d9e0f of container 1b2c3d4e5f60 is still on the default bridge: dockerd cleans it up",
		},
		{
			name: "two networks named bridge",
			key:  "network/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef/",
			json: `{"id":"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef","name":"bridge","networkType":"bridge"}`,
			want: "docker/network/v1.0/network/" + kvTestBridge + "/: two networks are named \"bridge\": 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef and " + kvTestBridge,
		},
		{
			name: "network named bridge of another driver",
			key:  "network/" + kvTestBridge + "/", json: `{"id":"` + kvTestBridge + `","name":"bridge","networkType":"macvlan"}`,
			want: "docker/network/v1.0/network/" + kvTestBridge + `/: the network named "bridge" has driver "macvlan"`,
		},
		{
			name: "default bridge under another key",
			key:  "network/" + kvTestBridge + "/", json: `{"id":"` + kvTestWeb + `","name":"bridge","networkType":"bridge"}`,
			want: "docker/network/v1.0/network/" + kvTestBridge + `/: the network named "bridge" has id "` + kvTestWeb + `"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "local-kv.db")
			writeKVStore(t, path, withRecord(readKVRecords(t), tt.key, tt.json))
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			err = dropStaleDefaultBridge(path)
			want := "docker's network store " + path + " left as it is: " + tt.want
			if err == nil || err.Error() != want {
				t.Errorf("error\n%v\nwant\n%s", err, want)
			}
			if after, _ := os.ReadFile(path); !bytes.Equal(after, data) {
				t.Error("the file was changed")
			}
		})
	}
}

// TestDropStaleDefaultBridgeShortValue: a value without its index.
func TestDropStaleDefaultBridgeShortValue(t *testing.T) {
	path := filepath.Join(t.TempDir(), "local-kv.db")
	writeKVStore(t, path, readKVRecords(t))
	db, err := bbolt.Open(path, 0o644, nil)
	if err != nil {
		t.Fatal(err)
	}
	key := kvRoot + "bridge-endpoint/" + kvTestWebEp + "/"
	if err := db.Update(func(tx *bbolt.Tx) error {
		return tx.Bucket([]byte(kvBucket)).Put([]byte(key), []byte{1, 2, 3})
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	data, _ := os.ReadFile(path)

	err = dropStaleDefaultBridge(path)
	want := "docker's network store " + path + " left as it is: " + key + ": a 3-byte value, shorter than its index"
	if err == nil || err.Error() != want {
		t.Errorf("error\n%v\nwant\n%s", err, want)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(after, data) {
		t.Error("the file was changed")
	}
}

// TestDropStaleDefaultBridgeLocked: a store held by another process is given
// up after the timeout, not waited for.
func TestDropStaleDefaultBridgeLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "local-kv.db")
	writeKVStore(t, path, readKVRecords(t))
	db, err := bbolt.Open(path, 0o644, nil) // holds the flock, as dockerd would
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	start := time.Now()
	err = dropDefaultBridge(path, 100*time.Millisecond)
	want := "opening docker's network store " + path + ": timeout"
	if err == nil || err.Error() != want {
		t.Errorf("error\n%v\nwant\n%s", err, want)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("gave up after %v", d)
	}
}
