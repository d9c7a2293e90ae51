package handlers

import (
	"sort"
	"sync"
	"testing"
	"time"
)

func TestUsageCounter(t *testing.T) {
	u := newUsageCounter()
	hour := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 100; j++ {
				u.add(1, "c1", "", "", hour.Add(time.Duration(j)*time.Second))
			}
		}()
	}
	wg.Wait()
	u.add(1, "c1", "", "", hour.Add(time.Hour)) // the next hour is its own counter
	u.add(2, "c2", "", "", hour)

	got := u.take()
	sort.Slice(got, func(i, j int) bool {
		if got[i].ApplicationID != got[j].ApplicationID {
			return got[i].ApplicationID < got[j].ApplicationID
		}
		return got[i].Hour.Before(got[j].Hour)
	})
	if len(got) != 3 {
		t.Fatalf("%d counters, want 3: %+v", len(got), got)
	}
	if got[0].Count != 800 || !got[0].Hour.Equal(hour) || !got[0].Last.Equal(hour.Add(99*time.Second)) {
		t.Errorf("first counter = %+v, want 800 tokens in %v, last at +99s", got[0], hour)
	}
	if got[1].Count != 1 || !got[1].Hour.Equal(hour.Add(time.Hour)) {
		t.Errorf("second counter = %+v", got[1])
	}
	if len(u.take()) != 0 {
		t.Fatal("take did not start again from zero")
	}

	// A failed write puts the counts back; counts made meanwhile add up.
	u.add(1, "c1", "", "", hour.Add(2*time.Hour))
	u.putBack(got)
	again := u.take()
	total := 0
	for _, e := range again {
		total += e.Count
	}
	if total != 803 || len(again) != 4 {
		t.Fatalf("after putBack: %d counters, %d tokens; want 4, 803", len(again), total)
	}
}
