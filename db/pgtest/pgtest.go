// Package pgtest gives tests a throwaway PostgreSQL server (see pgserver),
// failing the test when there is none. No mocks: the store tests run on the
// real server, and without one they fail with a message saying how to get
// one. Only _test.go files import it, so no binary links the testing
// package.
//
// A test package uses it from TestMain (Main stops the server whatever the
// tests did) and asks for a database with NewDatabase:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
//	url := pgtest.NewDatabase(t) // postgres://…?search_path=t_1
package pgtest

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"testing"

	"tokenservice/db/pgtest/pgserver"
)

// shared is the server of the test process, started by the first
// NewDatabase.
var shared struct {
	once   sync.Once
	server *pgserver.Server
	err    error
}

// NewDatabase returns the URL of a new, empty database (a schema of its own
// on the test process's server, which it starts on first use). If
// PostgreSQL cannot be found or started, the test fails saying why.
func NewDatabase(tb testing.TB) string {
	tb.Helper()
	shared.once.Do(func() {
		shared.server, shared.err = pgserver.Start()
		if shared.err == nil {
			stopOnSignal(shared.server)
		}
	})
	if shared.err != nil {
		tb.Fatal(shared.err)
	}
	u, err := shared.server.CreateSchema(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	return u
}

// NewServer starts a server of the test's own, apart from the shared one,
// and stops it when the test ends.
func NewServer(tb testing.TB) *pgserver.Server {
	tb.Helper()
	s, err := pgserver.Start()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Stop() })
	return s
}

// Main runs the tests of m and then stops the server NewDatabase started,
// if it did, and exits with the tests' code.
func Main(m *testing.M) {
	code := m.Run()
	if shared.server != nil {
		if err := shared.server.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}
	os.Exit(code)
}

// stopOnSignal stops s when the test process is interrupted (Ctrl-C, a CI
// timeout's SIGTERM), then lets the signal end the process as it would have.
func stopOnSignal(s *pgserver.Server) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		sig := <-ch
		s.Stop()
		signal.Reset(sig)
		if p, err := os.FindProcess(os.Getpid()); err == nil {
			p.Signal(sig)
		}
	}()
}
