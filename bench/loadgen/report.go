package main

import (
	"bufio"
	"context"
	"debug/buildinfo"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"time"
)

// benchTaskCommand is how docs/benchmarks.md is produced.
const benchTaskCommand = "go tool task bench"

// reportPart is a known part of the suite and its fragment.
type reportPart struct {
	name  string // the fragment is <name>.md
	title string
	by    string // the command that writes it
}

// reportParts are the known parts, in the report's order (see the package
// documentation); other fragments follow them alphabetically.
var reportParts = []reportPart{
	{"token", "Token endpoint", "loadgen compare"},
	{"footprint", "Footprint", "loadgen compare"},
	{"pages", "Pages", "loadgen pages"},
	{"growth", "Growth", "loadgen growth"},
	{"micro", "Go micro-benchmarks", "go test -bench"},
}

// stamp is the build and the machine a report is about.
type stamp struct {
	commit, date, cpuModel, goVersion string
	cpus                              int
}

// newStamp describes this machine and the build of binary ("" for the
// toolchain running loadgen).
func newStamp(binary string) stamp {
	s := stamp{commit: "unknown", date: time.Now().UTC().Format("2006-01-02 15:04 MST"),
		cpuModel: cpuModel(), cpus: runtime.NumCPU(), goVersion: runtime.Version()}
	if out, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output(); err == nil {
		s.commit = "`" + strings.TrimSpace(string(out)) + "`"
		// The binary is built from the working tree: say so when it is not
		// the commit (the report and its fragments do not count).
		if st, err := exec.Command("git", "status", "--porcelain", "--", ".",
			":(exclude)docs/benchmarks.md", ":(exclude)docs/bench").Output(); err == nil && len(st) > 0 {
			s.commit += " with uncommitted changes"
		}
	}
	if bi, err := buildinfo.ReadFile(binary); binary != "" && err == nil {
		s.goVersion = bi.GoVersion
	} else if bi, ok := debug.ReadBuildInfo(); ok {
		s.goVersion = bi.GoVersion
	}
	return s
}

// markdown is the stamp as a table.
func (s stamp) markdown() string {
	return fmt.Sprintf("| | |\n|---|---|\n| commit | %s |\n| date | %s |\n| CPU | %s |\n| CPUs | %d |\n| Go | %s |\n",
		s.commit, s.date, s.cpuModel, s.cpus, s.goVersion)
}

// cpuModel is the "model name" of /proc/cpuinfo, or "unknown".
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

// fragment is one part's markdown.
type fragment struct {
	name, text string
}

// readFragments reads dir/*.md: the known parts in their order, then the
// others alphabetically. A missing dir is no fragments.
func readFragments(dir string) ([]fragment, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.md"))
	if err != nil {
		return nil, err
	}
	rank := func(name string) int {
		if i := slices.IndexFunc(reportParts, func(p reportPart) bool { return p.name == name }); i >= 0 {
			return i
		}
		return len(reportParts)
	}
	var out []fragment
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		out = append(out, fragment{name: strings.TrimSuffix(filepath.Base(p), ".md"), text: string(b)})
	}
	slices.SortFunc(out, func(a, b fragment) int {
		if ra, rb := rank(a.name), rank(b.name); ra != rb {
			return ra - rb
		}
		return strings.Compare(a.name, b.name)
	})
	return out, nil
}

// assemble is docs/benchmarks.md: the stamp, what each known part
// produced, and the fragments.
func assemble(s stamp, frags []fragment) string {
	var b strings.Builder
	b.WriteString("# Benchmarks\n\n")
	b.WriteString("How fast Token Service issues, checks and publishes tokens, how its pages hold up with a large\n")
	b.WriteString("account, how much memory it takes and how fast it starts.\n\n")
	fmt.Fprintf(&b, "Produced by `%s` on the machine below; every number comes from that run. To update them,\n", benchTaskCommand)
	b.WriteString("run it again rather than editing this file.\n\n")
	b.WriteString(s.markdown())
	b.WriteString("\n| part | |\n|---|---|\n")
	have := map[string]bool{}
	for _, f := range frags {
		have[f.name] = true
	}
	for _, p := range reportParts {
		if have[p.name] {
			fmt.Fprintf(&b, "| %s | [below](#%s) |\n", p.title, anchor(headingOf(frags, p.name, p.title)))
		} else {
			fmt.Fprintf(&b, "| %s | not measured in this run (`%s` wrote no docs/bench/%s.md) |\n", p.title, p.by, p.name)
		}
	}
	for _, f := range frags {
		if slices.IndexFunc(reportParts, func(p reportPart) bool { return p.name == f.name }) < 0 {
			fmt.Fprintf(&b, "| %s | [below](#%s) |\n", f.name, anchor(headingOf(frags, f.name, f.name)))
		}
	}
	for _, f := range frags {
		b.WriteString("\n")
		b.WriteString(strings.TrimSpace(f.text))
		b.WriteString("\n")
	}
	return b.String()
}

// headingOf is the text of the first "## " heading of the named fragment,
// or def.
func headingOf(frags []fragment, name, def string) string {
	for _, f := range frags {
		if f.name != name {
			continue
		}
		for line := range strings.Lines(f.text) {
			if h, ok := strings.CutPrefix(strings.TrimSpace(line), "## "); ok {
				return h
			}
		}
	}
	return def
}

// anchor is GitHub's anchor of a heading: lower case, punctuation dropped,
// spaces as hyphens.
func anchor(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r > 127:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// runReport is "loadgen report": assemble docs/benchmarks.md from the
// parts' fragments.
func runReport(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("loadgen report", stderr)
	var dir, out, binary string
	fs.StringVar(&dir, "dir", "docs/bench", "the directory of the parts' fragments (<part>.md)")
	fs.StringVar(&out, "out", "docs/benchmarks.md", "the report to write")
	fs.StringVar(&binary, "tokenservice", "", "the tokenservice binary measured, for its Go version")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	frags, err := readFragments(dir)
	if err != nil {
		return err
	}
	if err := os.WriteFile(out, []byte(assemble(newStamp(binary), frags)), 0o644); err != nil {
		return err
	}
	names := make([]string, len(frags))
	for i, f := range frags {
		names[i] = f.name
	}
	fmt.Fprintf(stdout, "wrote %s from %d fragments of %s: %s\n", out, len(frags), dir, strings.Join(names, ", "))
	return nil
}
