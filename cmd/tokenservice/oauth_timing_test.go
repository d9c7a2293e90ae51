package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"tokenservice/db/pgtest"
	"tokenservice/secret"
)

// BenchmarkTokenClientID compares what a token request with a wrong secret
// costs for a registered client ID and for a well-formed one that is not
// registered, through the real server over HTTP, on each kind of store. A
// difference would tell a caller whether a leaked client ID is still
// registered. The two kinds of request alternate, so the machine's load
// weighs on both alike; compare known-median-ns with unknown-median-ns
// (ns/op is the mean of both). Every request comes from another address
// behind a trusted proxy, so the rate limits never answer instead.
func BenchmarkTokenClientID(b *testing.B) {
	for _, kind := range []string{"SQLite", "PostgreSQL"} {
		b.Run(kind, func(b *testing.B) {
			var args []string
			configure := func(m *Main) { m.Config.TrustedProxies = "127.0.0.1" }
			if kind == "PostgreSQL" {
				pg := pgtest.NewServer(b)
				databaseURL, err := pg.CreateSchema(context.Background())
				if err != nil {
					b.Fatal(err)
				}
				key := make([]byte, 32)
				rand.Read(key)
				args = []string{"--database-url", databaseURL, "--server-key", hex.EncodeToString(key)}
				configure = func(m *Main) {
					m.Config.TrustedProxies = "127.0.0.1"
					m.Config.DatabaseURL, m.Config.ServerKey = args[1], args[3]
				}
			}
			m := newMain(b, configure)
			known := createAppInProcess(b, m, args...)
			b.ResetTimer()
			took := benchmarkWrongSecret(b, m, known.ClientID, secret.NewClientID())
			for i, name := range []string{"known-median-ns", "unknown-median-ns"} {
				slices.Sort(took[i])
				b.ReportMetric(float64(took[i][len(took[i])/2].Nanoseconds()), name)
			}
		})
	}
}

// benchmarkWrongSecret sends token requests with a wrong secret for each
// client ID in turn, every one from another address, and returns how long
// each took, by client ID.
func benchmarkWrongSecret(b *testing.B, m *Main, clientIDs ...string) [][]time.Duration {
	hc := &http.Client{Timeout: 15 * time.Second}
	body := grantForm("").Encode()
	wrong := secret.New()
	took := make([][]time.Duration, len(clientIDs))
	for n := 0; b.Loop(); n++ {
		i := n % len(clientIDs)
		req, _ := http.NewRequest(http.MethodPost, m.URL+"/oauth2/token", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", basic(clientIDs[i], wrong))
		req.Header.Set("X-Forwarded-For", fmt.Sprintf("10.%d.%d.%d", n>>16&255, n>>8&255, n&255))
		start := time.Now()
		resp, err := hc.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		took[i] = append(took[i], time.Since(start))
		if resp.StatusCode != http.StatusUnauthorized {
			b.Fatalf("token request = %d, want 401", resp.StatusCode)
		}
	}
	return took
}

// createAppInProcess registers an application of account acme with the CLI
// in this process, on m's store (args name it when it is not m's data
// directory's).
func createAppInProcess(tb testing.TB, m *Main, args ...string) appJSON {
	tb.Helper()
	var out, errOut bytes.Buffer
	args = append([]string{"app", "create", "--data-dir", m.Config.DataDir, "--account", "acme",
		"--name", "Known", "--scope", "ess:account=read", "--json"}, args...)
	if err := run(context.Background(), args, &out, &errOut); err != nil {
		tb.Fatalf("app create: %v\n%s", err, errOut.String())
	}
	var app appJSON
	if err := json.Unmarshal(out.Bytes(), &app); err != nil {
		tb.Fatal(err)
	}
	return app
}
