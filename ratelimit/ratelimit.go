// Package ratelimit slows down guessing: it counts failures per key (a
// source address, or a client ID and source address pair) in token buckets
// and says how long a key must wait once its bucket is empty.
//
// Only failures take from a bucket, so a client that authenticates
// correctly is never slowed by its own successes, and keys that include the
// source address keep one address's failures from locking out a client
// that calls from another. Memory is bounded: the least recently used keys
// are forgotten first.
//
// The portal and the bundled provider both use it, so it imports neither:
// it is infrastructure, as a third-party library would be.
package ratelimit

import (
	"math"
	"net"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/time/rate"
)

// Limiter limits failures per key.
type Limiter struct {
	every time.Duration
	burst int
	keys  *lru.Cache[string, *rate.Limiter]
}

// New returns a Limiter that allows burst failures per key, then one more
// every interval, remembering at most size keys.
func New(burst int, every time.Duration, size int) *Limiter {
	keys, err := lru.New[string, *rate.Limiter](size)
	if err != nil {
		panic(err) // only for size <= 0, a programming error
	}
	return &Limiter{every: every, burst: burst, keys: keys}
}

// Wait returns how long key must wait before its next attempt: zero when it
// may go on now.
func (l *Limiter) Wait(key string, now time.Time) time.Duration {
	// Get, not Peek: a key that keeps being refused stays recent, so it is
	// not the first to be forgotten.
	lim, ok := l.keys.Get(key)
	if !ok {
		return 0
	}
	tokens := lim.TokensAt(now)
	if tokens >= 1 {
		return 0
	}
	return time.Duration(math.Ceil((1 - tokens) * float64(l.every)))
}

// Fail records a failure of key at now.
func (l *Limiter) Fail(key string, now time.Time) {
	lim, ok := l.keys.Get(key)
	if !ok {
		lim = rate.NewLimiter(rate.Every(l.every), l.burst)
		if prev, found, _ := l.keys.PeekOrAdd(key, lim); found {
			lim = prev
		}
	}
	lim.AllowN(now, 1)
}

// Attempt takes a try from key's bucket before a slow check (a password
// hash), which parallel attempts would otherwise all pass before the first
// failure counts. It returns the wait (zero: go on) and undo, for a success.
func (l *Limiter) Attempt(key string, now time.Time) (wait time.Duration, undo func()) {
	lim, ok := l.keys.Get(key)
	if !ok {
		lim = rate.NewLimiter(rate.Every(l.every), l.burst)
		if prev, found, _ := l.keys.PeekOrAdd(key, lim); found {
			lim = prev
		}
	}
	r := lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return d, nil
	}
	return 0, func() { r.CancelAt(now) }
}

// AddressKey is the key of a client address: the address itself, or for
// IPv6 its /64, which one client usually holds whole.
func AddressKey(addr string) string {
	ip := net.ParseIP(addr)
	if ip == nil || ip.To4() != nil {
		return addr
	}
	return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
}

// Len is the number of keys remembered.
func (l *Limiter) Len() int { return l.keys.Len() }
