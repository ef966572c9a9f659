//go:build linux

package guest

import (
	"slices"
	"testing"
)

// holdersOf finds the containers whose bind mounts come from a share, and
// only those: volumes and binds from elsewhere do not hold a share.
func TestHoldersOf(t *testing.T) {
	body := []byte(`[
	 {"Id":"a1","Names":["/web"],"Mounts":[{"Type":"bind","Source":"/Users/ada/src/site"}]},
	 {"Id":"b2","Names":["/db"],"Mounts":[{"Type":"volume","Source":"/var/lib/docker/volumes/x/_data"}]},
	 {"Id":"c3","Names":["/logs"],"Mounts":[{"Type":"bind","Source":"/var/log"}]},
	 {"Id":"d4","Names":["/whole"],"Mounts":[{"Type":"bind","Source":"/Users/ada"}]},
	 {"Id":"e5","Names":["/near"],"Mounts":[{"Type":"bind","Source":"/Users/adam"}]}
	]`)
	got, err := holdersOf(body, []string{"/Users/ada"})
	if err != nil {
		t.Fatal(err)
	}
	want := []holder{{"a1", "web"}, {"d4", "whole"}}
	if !slices.Equal(got, want) {
		t.Errorf("holdersOf = %v, want %v", got, want)
	}
	if _, err := holdersOf([]byte("{"), nil); err == nil {
		t.Error("a torn answer was accepted")
	}
}
