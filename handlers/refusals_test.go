package handlers

import (
	"strings"
	"testing"
	"time"

	"tokenservice"
)

// TestRefusalLimits: a refused request is recorded once a minute per
// person, reason and path, and a person's flood of paths at most
// refusalsPerPerson times a minute; what is remembered does not grow.
func TestRefusalLimits(t *testing.T) {
	r := &refusals{last: map[refusalKey]time.Time{}, people: map[personKey]*personCount{}}
	now := time.Date(2026, 12, 3, 20, 0, 0, 0, time.UTC)
	ann := personKey{"acme", "ann"}
	key := refusalKey{ann, tokenservice.RefusedReadOnly, "/applications/x"}
	if !r.allow(key, now) {
		t.Fatal("the first refusal is not recorded")
	}
	if r.allow(key, now.Add(59*time.Second)) {
		t.Error("the same refusal is recorded twice within a minute")
	}
	if !r.allow(refusalKey{ann, tokenservice.RefusedNotFound, "/applications/x"}, now.Add(time.Second)) {
		t.Error("another reason on the same path is not recorded")
	}
	if !r.allow(refusalKey{personKey{"acme", "bob"}, tokenservice.RefusedReadOnly, "/applications/x"}, now.Add(time.Second)) {
		t.Error("another person's refusal is not recorded")
	}
	if !r.allow(key, now.Add(time.Minute)) {
		t.Error("the same refusal a minute later is not recorded")
	}
	// Many paths: at most refusalsPerPerson a minute.
	n := 0
	for i := range 100 {
		if r.allow(refusalKey{personKey{"acme", "eve"}, tokenservice.RefusedNotFound, "/applications/" + strings.Repeat("x", i)}, now) {
			n++
		}
	}
	if got, want := n, refusalsPerPerson; got != want {
		t.Errorf("recorded %d of a flood, want %d", got, want)
	}
	r.allow(key, now.Add(10*time.Minute))
	if got := len(r.last); got != 1 {
		t.Errorf("%d refusals remembered after the window, want 1", got)
	}
}
