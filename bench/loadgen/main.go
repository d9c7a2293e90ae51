// Command loadgen is the benchmark suite of `go tool task bench`: it drives
// concurrent requests against the OAuth endpoints, serves a best-case
// baseline of them, runs the two side by side, measures the server's
// footprint, seeds large stores, and assembles docs/benchmarks.md.
//
//	loadgen run --url URL --client-id ID --client-secret S [-c 32] [-d 10s] [--new-conn] [--scope …]
//	loadgen baseline --addr ADDR --server-key HEX --client-id ID --client-secret S [--signing-alg ES256]
//	loadgen compare --tokenservice bin/tokenservice [--rounds 3] [-d 2s] [--dir docs/bench]
//	loadgen seed --data-dir DIR [--database-url URL --server-key HEX] [--apps N] [--events M]
//	loadgen report [--dir docs/bench] [--tokenservice bin/tokenservice] --out docs/benchmarks.md
//
// The baseline is a minimal net/http server with the grant (and
// introspection and the JWKS) and nothing else: an in-memory client table
// instead of the database, no framework, no logging, no rate limiter. It
// reuses the product's secret hashing and token signing, so the difference
// between the two is what the product adds around them.
//
// It is a module of its own, bench/, which takes the product from this
// repository through a replace directive, so that what only the benchmarks
// need (the growth chart's plotting library) stays out of the product's go.mod.
//
// # How the parts of the suite make one report
//
// Every part of the suite keeps to this, so that docs/benchmarks.md is
// written by the tool only and reads as one document:
//
//   - A part writes one markdown fragment, docs/bench/<part>.md, and the
//     files it links (e.g. docs/bench/growth.png). A fragment starts with
//     one "## " heading (its sections are "###"), says how it was measured
//     next to its numbers, links relative to docs/ (![…](bench/growth.png)),
//     and carries no commit, date or machine: the report stamps those once.
//   - The parts and their fragments: compare writes token.md and
//     footprint.md; pages writes pages.md; growth writes growth.md and
//     growth.png; the Go micro-benchmarks write micro.md.
//   - `loadgen report` runs last. It writes docs/benchmarks.md: the stamp
//     (commit, date, CPU model, CPUs, Go), then the fragments in the order
//     token, footprint, pages, growth, micro, then any other
//     docs/bench/*.md alphabetically; a known part without its fragment is
//     listed as not measured.
//   - `go tool task bench` empties docs/bench/ before the parts run, so a
//     report never mixes the fragments of two runs.
//   - Large stores come from one loader, Seed in seed.go (SQLite or
//     PostgreSQL, N applications with realistic names and scopes, M audit
//     events, through the product's schema, one transaction per batch):
//     call it in-process, or make a SQLite fixture directory (database and
//     server.key) with `loadgen seed`.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `usage: loadgen <command> [flags]

commands:
  run       drive concurrent client-credentials grants against a token endpoint
  baseline  serve the best-case baseline of the grant
  compare   run the baseline and a tokenservice binary side by side; measure its footprint
  seed      fill a store with many applications and audit events
  pages     time the portal's pages of a large account on SQLite and PostgreSQL
  growth    token throughput and the Applications list at growing account sizes, as a chart
  report    assemble docs/benchmarks.md from the parts' fragments

Run "loadgen <command> -h" for the flags of a command.`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "loadgen:", err)
		}
		os.Exit(1)
	}
}

// run dispatches to a subcommand.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintln(stderr, usage)
		if len(args) == 0 {
			return errors.New("missing command")
		}
		return nil
	}
	cmd, args := args[0], args[1:]
	switch cmd {
	case "run":
		return runLoad(ctx, args, stdout, stderr)
	case "baseline":
		return runBaseline(ctx, args, stdout, stderr)
	case "compare":
		return runCompare(ctx, args, stdout, stderr)
	case "seed":
		return runSeed(ctx, args, stdout, stderr)
	case "pages":
		return runPages(ctx, args, stdout, stderr)
	case "growth":
		return runGrowth(ctx, args, stdout, stderr)
	case "report":
		return runReport(ctx, args, stdout, stderr)
	}
	fmt.Fprintln(stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}

// newFlagSet returns a flag set that reports errors instead of exiting.
func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parseFlags parses args and refuses positional arguments.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%s: unexpected argument %q", fs.Name(), fs.Arg(0))
	}
	return nil
}
