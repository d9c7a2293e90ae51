package ratelimit

import (
	"strconv"
	"sync"
	"testing"
	"time"
)

func TestLimiter(t *testing.T) {
	l := New(3, 10*time.Second, 100)
	now := time.Unix(1_700_000_000, 0)
	if got := l.Wait("a", now); got != 0 {
		t.Fatalf("unknown key waits %s", got)
	}
	for i := 0; i < 3; i++ {
		if got := l.Wait("a", now); got != 0 {
			t.Fatalf("after %d failures waits %s, want 0 (burst 3)", i, got)
		}
		l.Fail("a", now)
	}
	if got, want := l.Wait("a", now), 10*time.Second; got != want {
		t.Fatalf("after the burst waits %s, want %s", got, want)
	}
	if got, want := l.Wait("a", now.Add(4*time.Second)), 6*time.Second; got != want {
		t.Fatalf("4s later waits %s, want %s", got, want)
	}
	if got := l.Wait("a", now.Add(10*time.Second)); got != 0 {
		t.Fatalf("after one interval waits %s, want 0", got)
	}
	t.Run("OtherKeysUnaffected", func(t *testing.T) {
		if got := l.Wait("b", now); got != 0 {
			t.Fatalf("b waits %s because of a's failures", got)
		}
	})
	t.Run("FailuresWhileWaitingDoNotDeepenTheDebt", func(t *testing.T) {
		for i := 0; i < 50; i++ {
			l.Fail("a", now)
		}
		if got, want := l.Wait("a", now), 10*time.Second; got != want {
			t.Fatalf("waits %s, want %s", got, want)
		}
	})
}

func TestLimiterBounded(t *testing.T) {
	l := New(1, time.Minute, 50)
	now := time.Unix(1_700_000_000, 0)
	for i := 0; i < 10_000; i++ {
		l.Fail(strconv.Itoa(i), now)
	}
	if got := l.Len(); got != 50 {
		t.Fatalf("remembers %d keys, want at most 50", got)
	}
	if got := l.Wait("9999", now); got == 0 {
		t.Fatal("the most recent key was forgotten")
	}
}

// TestAttempt: attempts take their try before they are checked, so however
// many run at once, no more than the burst go on; a success gives its try
// back.
func TestAttempt(t *testing.T) {
	l := New(5, time.Minute, 100)
	now := time.Now()
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		passed int
	)
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if wait, _ := l.Attempt("k", now); wait == 0 {
				mu.Lock()
				passed++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if passed != 5 {
		t.Fatalf("%d parallel attempts went on, want the burst of 5", passed)
	}
	if wait, _ := l.Attempt("k", now); wait <= 0 {
		t.Fatal("the sixth attempt went on")
	}

	// Successes give their tries back: they never run out.
	for i := range 20 {
		wait, undo := l.Attempt("ok", now)
		if wait > 0 {
			t.Fatalf("success %d was limited", i)
		}
		undo()
	}
	if got := AddressKey("2001:db8:1:2:3:4:5:6"); got != "2001:db8:1:2::/64" {
		t.Errorf("AddressKey(IPv6) = %q", got)
	}
	if got := AddressKey("192.0.2.7"); got != "192.0.2.7" {
		t.Errorf("AddressKey(IPv4) = %q", got)
	}
}
