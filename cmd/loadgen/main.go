// Command loadgen measures the token endpoint: it drives concurrent
// client-credentials grants against a server, serves a best-case baseline
// of the same grant, and runs the two side by side.
//
//	loadgen run --url URL --client-id ID --client-secret S [-c 32] [-d 10s] [--new-conn] [--scope …]
//	loadgen baseline --addr ADDR --server-key HEX --client-id ID --client-secret S [--signing-alg ES256]
//	loadgen compare --tokenservice bin/tokenservice [--rounds 3] [-d 5s] [--concurrency 1,32,128] [--out docs/benchmarks.md]
//
// The baseline is a minimal net/http server with the grant and nothing else:
// an in-memory client table instead of the database, no framework, no
// logging, no rate limiter. It reuses the product's secret hashing and
// token signing, so the difference between the two is what the product
// adds around the grant. `go tool task bench` runs compare and writes
// docs/benchmarks.md.
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
  compare   run the baseline and a tokenservice binary side by side

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
