package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"tokenservice/token"
)

const keysUsage = `usage: tokenservice keys <command> [flags]

commands:
  rotate [--signing-alg ES256|RS256|EdDSA] [--json]
  list [--json]

rotate makes a new key of --signing-alg (default: the current key's
algorithm) the current one at once: running servers sign with it within a
second. The previous key stays in the JWKS until every token it signed has
expired (the longest --token-ttl it signed with, after the rotation), then it
is deleted.
The store flags (--data-dir, --database-url, --server-key, --token-ttl,
--signing-alg) and their TOKENSERVICE_* variables are the server's.`

// keyJSON is the --json shape of a signing key.
type keyJSON struct {
	ID        string     `json:"kid"`
	Algorithm string     `json:"alg"`
	Current   bool       `json:"current"`
	CreatedAt time.Time  `json:"created_at"`
	RetiredAt *time.Time `json:"retired_at,omitempty"`
	Until     *time.Time `json:"published_until,omitempty"`
}

// runKeys runs an operator command on the token-signing keys.
func runKeys(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintln(stderr, keysUsage)
		if len(args) == 0 {
			return errors.New("keys: missing command")
		}
		return nil
	}
	cmd, args := args[0], args[1:]
	if cmd != "rotate" && cmd != "list" {
		fmt.Fprintln(stderr, keysUsage)
		return fmt.Errorf("keys: unknown command %q", cmd)
	}
	cfg := defaultConfig()
	cfg.SigningAlg = "" // unless given: the current key's
	fs := newFlagSet("tokenservice keys "+cmd, stderr)
	cfg.storeFlags(fs)
	var asJSON bool
	fs.BoolVar(&asJSON, "json", false, "print JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("keys %s: unexpected argument %q", cmd, fs.Arg(0))
	}
	sameAlg := cfg.SigningAlg == ""
	if sameAlg {
		cfg.SigningAlg = string(token.ES256)
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	warnPermissions(cfg, stderr)
	alg, err := token.ParseAlgorithm(cfg.SigningAlg)
	if err != nil {
		return err
	}
	serverKey, store, err := openExistingStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer store.Close()
	kr, err := token.NewKeyring(store, serverKey, cfg.TokenTTL)
	if err != nil {
		return err
	}
	if cmd == "rotate" {
		if sameAlg { // (without any key yet: the default algorithm)
			if s, err := kr.Signer(ctx); err == nil {
				alg = s.Key().Algorithm
			}
		}
		k, err := kr.Rotate(ctx, alg)
		if err != nil {
			return err
		}
		if !asJSON {
			fmt.Fprintf(stdout, "New current signing key %s (%s).\n", k.ID, k.Algorithm)
		}
	}
	keys, err := kr.Published(ctx)
	if err != nil {
		return err
	}
	return printKeys(stdout, keys, asJSON)
}

func printKeys(w io.Writer, keys []token.KeyInfo, asJSON bool) error {
	if asJSON {
		out := []keyJSON{}
		for _, k := range keys {
			j := keyJSON{ID: k.ID, Algorithm: string(k.Algorithm), Current: k.Current(), CreatedAt: k.CreatedAt.UTC()}
			if !k.Current() {
				r, u := k.RetiredAt.UTC(), k.Until.UTC()
				j.RetiredAt, j.Until = &r, &u
			}
			out = append(out, j)
		}
		return writeJSON(w, out)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KID\tALG\tSTATE\tCREATED\tPUBLISHED UNTIL")
	for _, k := range keys {
		state, until := "current", "-"
		if !k.Current() {
			state, until = "retired", k.Until.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", k.ID, k.Algorithm, state, k.CreatedAt.UTC().Format(time.RFC3339), until)
	}
	return tw.Flush()
}
