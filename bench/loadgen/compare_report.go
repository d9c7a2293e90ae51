package main

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// verdict is a target's verdict.
func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "**missed**"
}

// clients is "1 client" or "n clients".
func clients(n int) string {
	if n == 1 {
		return "1 client"
	}
	return strconv.Itoa(n) + " clients"
}

// table is the markdown table of a measured scenario.
func (s *scenario) table() string {
	var b strings.Builder
	r, t := s.ref.name, s.subj.name
	fmt.Fprintf(&b, "| clients | %s req/s | %s req/s | ratio | %s p50 / p99 / p99.9 | %s p50 / p99 / p99.9 | errors (%s, %s) | server CPU s/1k %s: %s | %s |\n",
		r, t, r, t, r, t, s.unit, r, t)
	b.WriteString("|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	lat := func(x series) string {
		return fmt.Sprintf("%s / %s / %s", fmtMillis(x.latency(50)), fmtMillis(x.latency(99)), fmtMillis(x.latency(99.9)))
	}
	for _, l := range s.levels {
		fmt.Fprintf(&b, "| %d | %.0f | %.0f | %.2f× | %s | %s | %d, %d | %.3f | %.3f |\n",
			l.concurrency, l.ref.throughput(), l.subj.throughput(), l.ratio(), lat(l.ref), lat(l.subj),
			l.ref.errors().ErrorCount(), l.subj.errors().ErrorCount(), l.ref.cpuPer1000(), l.subj.cpuPer1000())
	}
	for _, l := range s.levels {
		for _, x := range []struct {
			name string
			ser  series
		}{{r, l.ref}, {t, l.subj}} {
			if e := x.ser.errors(); e.ErrorCount() > 0 {
				fmt.Fprintf(&b, "\nErrors of %s at %s:%s", x.name, clients(l.concurrency), errorBreakdown(e))
				if e.FirstError != "" {
					fmt.Fprintf(&b, "; first transport error: %s", e.FirstError)
				}
				b.WriteString("\n")
			}
		}
	}
	return b.String()
}

// machineTable shows what loadgen and the rest of the machine used during
// every scenario's rounds.
func (r *report) machineTable() string {
	var b strings.Builder
	b.WriteString("| comparison | clients | loadgen CPU s/1k requests (reference, subject rounds) | other processes' share of the CPUs (reference, subject rounds) |\n")
	b.WriteString("|---|---:|---:|---:|\n")
	for _, s := range r.scenarios {
		for _, l := range s.levels {
			fmt.Fprintf(&b, "| %s | %d | %.3f, %.3f | %.0f%%, %.0f%% |\n", s.title, l.concurrency,
				l.ref.loadgenPer1000(), l.subj.loadgenPer1000(), 100*l.ref.others(), 100*l.subj.others())
		}
	}
	return b.String()
}

// level returns the scenario's level of n clients.
func (s *scenario) level(n int) (level, bool) {
	if s == nil {
		return level{}, false
	}
	i := slices.IndexFunc(s.levels, func(l level) bool { return l.concurrency == n })
	if i < 0 {
		return level{}, false
	}
	return s.levels[i], true
}

// targets is the markdown table of the token targets, each met or missed.
func (r *report) targets() string {
	var b strings.Builder
	b.WriteString("| target | measured | |\n|---|---|---|\n")
	ka := r.scenario("keepalive")
	if ka != nil && len(ka.levels) > 0 {
		w := ka.levels[0]
		for _, l := range ka.levels {
			if l.ratio() < w.ratio() {
				w = l
			}
		}
		fmt.Fprintf(&b, "| tokenservice ≥ %.1f× baseline throughput, keep-alive, at every level | lowest ratio %.2f× (%s) | %s |\n",
			targetRatio, w.ratio(), clients(w.concurrency), verdict(w.ratio() >= targetRatio))
	}
	p99 := fmt.Sprintf("| tokenservice p99 ≤ %s at %s, keep-alive ", fmtMillis(targetP99), clients(targetP99Clients))
	if l, ok := ka.level(targetP99Clients); ok {
		got := l.subj.latency(99)
		fmt.Fprintf(&b, "%s| %s (baseline: %s) | %s |\n", p99, fmtMillis(got), fmtMillis(l.ref.latency(99)), verdict(got <= targetP99))
	} else {
		fmt.Fprintf(&b, "%s| not measured (no level of %s) | not measured |\n", p99, clients(targetP99Clients))
	}
	errs, runs := 0, 0
	for _, s := range r.scenarios {
		for _, l := range s.levels {
			errs += l.subj.errors().ErrorCount()
			runs++
			if s.key == "apps" {
				errs += l.ref.errors().ErrorCount()
			}
		}
	}
	fmt.Fprintf(&b, "| zero tokenservice errors (any non-200 or transport error, warm-ups included, every comparison) | %d | %s |\n", errs, verdict(errs == 0))
	if apps := r.scenario("apps"); apps != nil {
		for _, l := range apps.levels {
			fmt.Fprintf(&b, "| flat throughput from 10 to %s applications (≥ %.1f× at %s) | %.2f× (%.0f against %.0f req/s) | %s |\n",
				thousands(r.opts.apps), targetFlat, clients(l.concurrency), l.ratio(), l.subj.throughput(), l.ref.throughput(), verdict(l.ratio() >= targetFlat))
		}
	}
	return b.String()
}

// littleNote explains a missed p99 at 32 clients with Little's law: with
// every client waiting for its answer before the next request, the mean
// latency is clients / throughput, whatever the server does.
func (r *report) littleNote() string {
	l, ok := r.scenario("keepalive").level(targetP99Clients)
	if !ok || l.subj.latency(99) <= targetP99 || l.subj.throughput() == 0 || l.ref.throughput() == 0 {
		return ""
	}
	mean := func(x series) time.Duration {
		return time.Duration(float64(targetP99Clients) / x.throughput() * float64(time.Second))
	}
	baseline := fmt.Sprintf("The baseline, which does nothing but the grant, has a p99 of %s at the same load, so most of "+
		"the miss is the machine's; the rest is tokenservice's CPU per token (the table above), whose causes the profile below shows.",
		fmtMillis(l.ref.latency(99)))
	if l.ref.latency(99) <= targetP99 {
		baseline = fmt.Sprintf("The baseline's p99 is %s, within the target: the miss is tokenservice's CPU per token (the table "+
			"above), whose causes the profile below shows.", fmtMillis(l.ref.latency(99)))
	}
	note := fmt.Sprintf("At %d clients the machine is saturated: every client waits for its answer before it asks again, so by "+
		"Little's law the mean latency is clients ÷ throughput, %s for tokenservice and %s for the baseline, and the p99 "+
		"(%s) is the tail of the queue for the machine's %d CPUs, which loadgen shares. %s",
		targetP99Clients, fmtMillis(mean(l.subj)), fmtMillis(mean(l.ref)), fmtMillis(l.subj.latency(99)), r.cpus(), baseline)
	if budget, used, ok := p99Budget(l.ref, r.cpus()); ok && l.ref.latency(99) > targetP99 {
		note += fmt.Sprintf(" What the target would take: the baseline's p99 is %.1f× its mean; with a queue of that shape a p99 "+
			"of %s needs a mean of %s, so %.0f requests/s, so at most %.0f µs of CPU per request for the server and loadgen "+
			"together on %d CPUs, %.0f%% of the %.0f µs the baseline and loadgen use now: the baseline itself would have to do "+
			"the grant in a fraction of its CPU.",
			float64(l.ref.latency(99))/float64(mean(l.ref)), fmtMillis(targetP99),
			fmtMillis(time.Duration(float64(targetP99)*float64(mean(l.ref))/float64(l.ref.latency(99)))),
			float64(targetP99Clients)/(targetP99.Seconds()*float64(mean(l.ref))/float64(l.ref.latency(99))),
			budget*1e6, r.cpus(), 100*budget/used, used*1e6)
	}
	return note + "\n"
}

// p99Budget is the CPU time per request (seconds) that server and load
// generator together could spend for the p99 of a closed loop of
// targetP99Clients to be targetP99, if the latencies kept the shape (p99 ÷
// mean) they have in x; and what they spend in x.
func p99Budget(x series, cpus int) (budget, used float64, ok bool) {
	if x.throughput() == 0 || x.latency(99) == 0 {
		return 0, 0, false
	}
	mean := float64(targetP99Clients) / x.throughput() // seconds
	shape := x.latency(99).Seconds() / mean
	rate := float64(targetP99Clients) / (targetP99.Seconds() / shape)
	return float64(cpus) / rate, (x.cpuPer1000() + x.loadgenPer1000()) / 1000, true
}

func (r *report) cpus() int { return newStamp("").cpus }

// tokenMarkdown is docs/bench/token.md.
func (r *report) tokenMarkdown() string {
	o := r.opts
	var b strings.Builder
	b.WriteString("## Token endpoint\n\n")
	b.WriteString("The OAuth endpoints of `tokenservice` (`loadgen compare`), each measured side by side with a reference in the\n")
	b.WriteString("same run: mostly a best-case Go implementation of the same work (`loadgen baseline`).\n\n")
	b.WriteString("### How it is measured\n\n")
	b.WriteString("- **tokenservice**: `bin/tokenservice` as `go tool task build` makes it, started with its default\n")
	b.WriteString("  configuration except a fresh temporary data directory, free loopback ports and `--debug-addr` (the\n")
	b.WriteString("  profiler's listener, used only by the profiled run): SQLite, an ES256 signing key, the request log at\n")
	b.WriteString("  level `info` (written to a file), the bundled identity provider. One application is created with\n")
	b.WriteString("  `tokenservice app create` (read access to every scope of the default catalogue); every request\n")
	b.WriteString("  authenticates with its Client ID and Secret (`client_secret_basic`).\n")
	b.WriteString("- **baseline**: `loadgen baseline`, a minimal `net/http` server that does the work and nothing else: the\n")
	b.WriteString("  same HTTP Basic parsing, `secret.WellFormed` and the constant-time keyed-hash check of `secret.Keys`\n")
	b.WriteString("  (same server key), the same claims signed by the same `token.Signer` with a key of the same\n")
	b.WriteString("  algorithm, the same JSON response and headers; the application in an in-memory map. No framework,\n")
	b.WriteString("  middleware, database, request log or rate limiter. Before measuring, one token from each server is\n")
	b.WriteString("  checked to have the same header fields, claim names, scope and lifetime.\n")
	b.WriteString("- **load**: `loadgen` on the same machine (it competes with the servers for the same CPUs). N clients each\n")
	fmt.Fprintf(&b, "  send one request after the other. Per round: %s of warm-up, then %s measured. %d rounds per server\n", o.warmup, o.duration, o.rounds)
	b.WriteString("  and level, interleaved (reference, subject, reference, …); the tables show the median of the rounds.\n")
	b.WriteString("- **req/s** counts 200 responses; latencies are those of 200 responses; **errors** are every other\n")
	b.WriteString("  outcome (a non-200 status or a transport error), summed over all rounds, warm-ups included. **server\n")
	b.WriteString("  CPU s/1k** is the server process's user + system time (`/proc/PID/stat`) during the measured part of a\n")
	b.WriteString("  round, per 1,000 answers; at 1 client it includes the cost of waking up for every request (the server\n")
	b.WriteString("  idles between them), so compare it at 32 and 128. The last table shows what loadgen itself and the\n")
	b.WriteString("  other processes of the machine (from `/proc/stat`) used meanwhile; a busy machine depresses every\n")
	b.WriteString("  number of its rounds.\n")
	for _, s := range r.scenarios {
		fmt.Fprintf(&b, "\n### %s\n\n%s\n\n", s.title, s.about)
		if s.skipped != "" {
			fmt.Fprintf(&b, "Not measured in this run: %s\n", s.skipped)
			continue
		}
		b.WriteString(s.table())
	}
	b.WriteString("\n### The load generator and the machine\n\nMedians of the same rounds.\n\n")
	b.WriteString(r.machineTable())
	b.WriteString("\n### Targets\n\n")
	b.WriteString(r.targets())
	if note := r.littleNote(); note != "" {
		b.WriteString("\n" + note)
	}
	if r.profile.cpu != "" {
		p := r.profile
		fmt.Fprintf(&b, "\n### Profile of the %d-client load\n\n", profileClients)
		fmt.Fprintf(&b, "CPU and allocation profiles of `tokenservice` from its `--debug-addr`, taken during an extra, unmeasured\n")
		fmt.Fprintf(&b, "%s run of the keep-alive grant at %d clients (%.0f req/s while profiled), after every measured round; the\n", p.duration, profileClients, p.throughput)
		fmt.Fprintf(&b, "top entries by `go tool pprof -top` (the raw profiles are kept in `%s`, which is not committed).\n\n", r.opts.profileDir)
		fmt.Fprintf(&b, "CPU:\n\n```\n%s\n```\n\nAllocations (bytes allocated during the run):\n\n```\n%s\n```\n", p.cpu, p.allocs)
	}
	return b.String()
}

// footprintMarkdown is docs/bench/footprint.md.
func (r *report) footprintMarkdown() string {
	f := r.foot
	var b strings.Builder
	b.WriteString("## Footprint\n\n")
	b.WriteString("Memory, binary size and start-up of `bin/tokenservice` (`loadgen compare`, the same run as the token endpoint).\n\n")
	b.WriteString("### How it is measured\n\n")
	b.WriteString("- **Resident memory** is `VmRSS` of `/proc/PID/status`: idle, one second after the first `/readyz` 200 and\n")
	b.WriteString("  the creation of the load's application; under load, the largest of samples taken every 100 ms during\n")
	b.WriteString("  the measured parts of the keep-alive rounds at 32 clients; the peak is `VmHWM` after every load of the\n")
	b.WriteString("  run (128 clients and new connections included).\n")
	b.WriteString("- **Ready** is the time from starting the process to the first 200 of `GET /readyz` (polled every\n")
	fmt.Fprintf(&b, "  millisecond), with the default configuration; the median of %d start-ups per case, every other server\n", r.opts.startups)
	b.WriteString("  stopped. *Empty*: a new data directory each time, so the start generates the server key, creates the\n")
	fmt.Fprintf(&b, "  database and the first signing key. *%s applications*: a store seeded with them (and their\n", thousands(f.startupApps))
	fmt.Fprintf(&b, "  creation events; seeding took %s), started once before, as a deployment restarts.\n\n", f.seedTime.Round(time.Millisecond))
	b.WriteString("| measure | value | target | |\n|---|---:|---:|---|\n")
	fmt.Fprintf(&b, "| binary size of `bin/tokenservice` | %.1f MB | | |\n", float64(f.binaryBytes)/(1<<20))
	fmt.Fprintf(&b, "| resident memory, idle after start | %s | ≤ %s | %s |\n", fmtMB(f.idleKB), fmtMB(targetIdleKB), verdict(f.idleKB <= targetIdleKB))
	if l, ok := r.scenario("keepalive").level(targetP99Clients); ok {
		fmt.Fprintf(&b, "| resident memory under the %d-client token load | %s (baseline: %s) | ≤ %s | %s |\n",
			targetP99Clients, fmtMB(l.subj.maxRSS()), fmtMB(l.ref.maxRSS()), fmtMB(targetLoadKB), verdict(l.subj.maxRSS() <= targetLoadKB))
	} else {
		fmt.Fprintf(&b, "| resident memory under the %d-client token load | not measured | ≤ %s | not measured |\n", targetP99Clients, fmtMB(targetLoadKB))
	}
	if apps := r.scenario("apps"); apps != nil {
		for _, l := range apps.levels {
			fmt.Fprintf(&b, "| resident memory, %s, %s taking turns | %s | ≤ %s | %s |\n", clients(l.concurrency),
				thousands(r.opts.apps)+" applications", fmtMB(l.subj.maxRSS()), fmtMB(targetLoadKB), verdict(l.subj.maxRSS() <= targetLoadKB))
		}
	}
	fmt.Fprintf(&b, "| peak resident memory over the whole run (VmHWM) | %s | | |\n", fmtMB(f.hwmKB))
	fmt.Fprintf(&b, "| ready, empty database | %s (%s) | ≤ %s | %s |\n", fmtMillis(medianDuration(f.readyEmpty)), spread(f.readyEmpty),
		fmtMillis(targetReady), verdict(medianDuration(f.readyEmpty) <= targetReady))
	fmt.Fprintf(&b, "| ready, %s applications | %s (%s) | ≤ %s | %s |\n", thousands(f.startupApps), fmtMillis(medianDuration(f.readyApps)),
		spread(f.readyApps), fmtMillis(targetReady), verdict(medianDuration(f.readyApps) <= targetReady))
	return b.String()
}
