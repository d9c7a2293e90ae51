package ratelimit

import (
	"strconv"
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
