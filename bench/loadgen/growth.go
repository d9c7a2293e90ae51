package main

import (
	"context"
	"errors"
	"fmt"
	"image/color"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Flatness: how far the largest account's numbers may be from the
// smallest's for the lines to count as flat.
const (
	growthMinRatio     = 0.85 // tokens/s at the largest size ≥ this × at the smallest
	growthMaxPageRatio = 1.25 // list page p50 at the largest full size ≤ this × at the smallest full one
)

// growthOptions are the flags of growth.
type growthOptions struct {
	binary      string
	sizes       []int
	concurrency int
	rounds      int
	duration    time.Duration
	warmup      time.Duration
	requests    int // list page requests per round and size
	loadApps    int // applications the token requests spread over
	dir         string
}

// runGrowth is "loadgen growth".
func runGrowth(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("loadgen growth", stderr)
	var (
		o     growthOptions
		sizes string
	)
	fs.StringVar(&o.binary, "tokenservice", "", "path of the tokenservice binary to measure (required)")
	fs.StringVar(&sizes, "sizes", "10,1000,100000", "numbers of applications of the account, comma-separated, smallest first")
	fs.IntVar(&o.concurrency, "c", 32, "concurrent token clients")
	fs.IntVar(&o.rounds, "rounds", 3, "rounds per size, the sizes interleaved; the report shows the median")
	fs.DurationVar(&o.duration, "d", 5*time.Second, "measured duration of a round's token load")
	fs.DurationVar(&o.warmup, "warmup", time.Second, "unmeasured token load before each round")
	fs.IntVar(&o.requests, "n", 100, "Applications list requests per round and size")
	fs.IntVar(&o.loadApps, "load-apps", 10, "applications the token requests take in turn, spread over the list (at most the smallest size)")
	fs.StringVar(&o.dir, "dir", "docs/bench", "directory of the report's fragments: growth.md and growth.png go there")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if o.binary == "" {
		return errors.New("growth: --tokenservice is required")
	}
	for _, s := range strings.Split(sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return fmt.Errorf("growth: --sizes %q: want positive numbers separated by commas", sizes)
		}
		o.sizes = append(o.sizes, n)
	}
	if !slices.IsSorted(o.sizes) || o.concurrency < 1 || o.rounds < 1 || o.duration <= 0 || o.warmup < 0 || o.requests < 1 {
		return errors.New("growth: --sizes must grow, and -c, --rounds, -d and -n be positive")
	}
	o.loadApps = min(max(o.loadApps, 1), o.sizes[0])
	bin, err := filepath.Abs(o.binary)
	if err != nil {
		return err
	}
	o.binary = bin

	points, err := measureGrowth(ctx, o, stderr)
	if err != nil {
		return err
	}
	md := growthMarkdown(o, points)
	fmt.Fprint(stdout, md)
	if o.dir == "" {
		return nil
	}
	if err := os.MkdirAll(o.dir, 0o755); err != nil {
		return err
	}
	if err := growthChart(points, filepath.Join(o.dir, "growth.png")); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(o.dir, "growth.md"), []byte(md), 0o644)
}

// growthPoint is what was measured at one size.
type growthPoint struct {
	apps       int
	throughput []float64 // tokens/s of each round
	tokenP99   []float64 // ms, of each round
	errors     int       // failed token requests, warm-ups included
	list       *pageTimes
}

func (g *growthPoint) medianThroughput() float64 { return median(g.throughput) }
func (g *growthPoint) medianTokenP99() float64   { return median(g.tokenP99) }

// measureGrowth starts one server per size, each on its own seeded SQLite
// store, all at once, and measures them in turn, round after round.
func measureGrowth(ctx context.Context, o growthOptions, logw io.Writer) ([]*growthPoint, error) {
	host, err := newStoreHost()
	if err != nil {
		return nil, err
	}
	defer host.close()
	type sized struct {
		srv    *seededServer
		portal *portal
		load   Load
		point  *growthPoint
	}
	var all []*sized
	defer func() {
		for _, s := range all {
			s.srv.child.stop()
		}
	}()
	for _, n := range o.sizes {
		srv, err := host.startSeeded(ctx, o.binary, storeSQLite, n, n, logw)
		if err != nil {
			return nil, err
		}
		s := &sized{srv: srv, point: &growthPoint{apps: n}}
		all = append(all, s)
		if s.portal, err = signIn(ctx, srv.url, pagesEmail, pagesPassword); err != nil {
			return nil, srv.child.failure(err.Error())
		}
		// The same number of applications at every size, spread over the
		// table, so that the client cache works alike and only the size
		// of the store differs.
		for i := range o.loadApps {
			s.load.Apps = append(s.load.Apps, srv.apps[i*len(srv.apps)/o.loadApps])
		}
		s.load.URL = srv.url + "/oauth2/token"
	}
	list := pageCase{name: "Applications, first page", method: "GET", path: "/applications", want: 200}
	fmt.Fprintf(logw, "growth: sizes %v, %d rounds of %d clients × %s (+ %s warm-up) and %d list requests per size\n",
		o.sizes, o.rounds, o.concurrency, o.duration, o.warmup, o.requests)
	for r := range o.rounds {
		for _, s := range all {
			d := newDriver(s.load, o.concurrency)
			var warm *Result
			if o.warmup > 0 {
				warm = d.drive(ctx, o.concurrency, o.warmup)
			}
			res := d.drive(ctx, o.concurrency, o.duration)
			d.close()
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if s.srv.child.exited() {
				return nil, s.srv.child.failure("during the token load")
			}
			if warm != nil {
				res.addErrors(warm)
			}
			p := s.point
			p.throughput = append(p.throughput, res.Throughput())
			p.tokenP99 = append(p.tokenP99, float64(res.Percentile(99))/float64(time.Millisecond))
			p.errors += res.ErrorCount()

			pages, err := s.portal.measure(ctx, []pageCase{list}, min(10, o.requests), o.requests)
			if err != nil {
				return nil, s.srv.child.failure(err.Error())
			}
			if p.list == nil {
				p.list = pages[0]
			} else {
				p.list.ids = append(p.list.ids, pages[0].ids...)
				p.list.client = append(p.list.client, pages[0].client...)
				p.list.errors += pages[0].errors
			}
			fmt.Fprintf(logw, "  round %d/%d  %7d applications  %7.0f tokens/s  p99 %s  errors %d  list client p50 %s\n",
				r+1, o.rounds, p.apps, res.Throughput(), fmtMillis(res.Percentile(99)), res.ErrorCount(),
				fmtMillis(percentile(pages[0].client, 50)))
		}
	}
	var points []*growthPoint
	for _, s := range all {
		slices.Sort(s.point.list.client)
		if err := serverTimes(s.srv.child.log, []*pageTimes{s.point.list}); err != nil {
			return nil, err
		}
		points = append(points, s.point)
	}
	return points, nil
}

// fullPages are the points whose list shows a full page (50 rows): below
// that the page renders fewer rows and is not the same work.
func fullPages(points []*growthPoint) []*growthPoint {
	return slices.DeleteFunc(slices.Clone(points), func(p *growthPoint) bool { return p.apps < 50 })
}

func growthMarkdown(o growthOptions, points []*growthPoint) string {
	var b strings.Builder
	b.WriteString("## Growth\n\n")
	b.WriteString("Token throughput and the Applications list as the account grows. Both lines must be flat.\n\n")
	b.WriteString("![Token throughput and Applications list time by number of applications](bench/growth.png)\n\n")
	b.WriteString("### How it is measured\n\n")
	fmt.Fprintf(&b, "- One `bin/tokenservice` per size (%s applications, one audit event each: its creation), each on\n", joinSizes(o.sizes))
	b.WriteString("  its own SQLite store filled by `loadgen seed`'s loader, all running at once, defaults but for free\n")
	b.WriteString("  loopback ports and a JSON request log.\n")
	fmt.Fprintf(&b, "- **tokens/s**: %d clients, keep-alive, the client-credentials grant with the credentials of %d\n", o.concurrency, o.loadApps)
	b.WriteString("  applications in turn, spread over the store (the same number at every size, so only the store's\n")
	fmt.Fprintf(&b, "  size differs). %d rounds of %s of warm-up and %s measured, the sizes interleaved; the median round.\n", o.rounds, o.warmup, o.duration)
	fmt.Fprintf(&b, "- **list**: after each round's token load, %d requests of the first page of the Applications list,\n", o.requests)
	b.WriteString("  one at a time, signed in as the demo admin; server time from the request log (`duration_ms`).\n")
	b.WriteString("  Below 50 applications the page has fewer rows, so its flatness is judged from the first full page.\n\n")
	b.WriteString("### Results\n\n")
	b.WriteString("| applications | tokens/s | token p99 | token errors | list server p50 | list server p99 | list client p50 | list client p99 |\n")
	b.WriteString("|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, p := range points {
		fmt.Fprintf(&b, "| %s | %.0f | %.2f ms | %d | %s | %s | %s | %s |\n", thousands(p.apps), p.medianThroughput(), p.medianTokenP99(),
			p.errors+p.list.errors, fmtMillis(percentile(p.list.server, 50)), fmtMillis(percentile(p.list.server, 99)),
			fmtMillis(percentile(p.list.client, 50)), fmtMillis(percentile(p.list.client, 99)))
	}
	b.WriteString("\n### Targets\n\n| target | measured | |\n|---|---|---|\n")
	if len(points) >= 2 {
		first, last := points[0], points[len(points)-1]
		ratio := last.medianThroughput() / max(first.medianThroughput(), 1)
		fmt.Fprintf(&b, "| tokens/s at %s applications ≥ %.2f× at %s | %.2f× | %s |\n",
			thousands(last.apps), growthMinRatio, thousands(first.apps), ratio, mark(ratio >= growthMinRatio))
	}
	if full := fullPages(points); len(full) >= 2 {
		first, last := full[0], full[len(full)-1]
		p50a, p50b := percentile(first.list.server, 50), percentile(last.list.server, 50)
		ratio := float64(p50b) / max(float64(p50a), 1)
		fmt.Fprintf(&b, "| list server p50 at %s applications ≤ %.2f× at %s | %.2f× (%s vs %s) | %s |\n",
			thousands(last.apps), growthMaxPageRatio, thousands(first.apps), ratio, fmtMillis(p50b), fmtMillis(p50a),
			mark(ratio <= growthMaxPageRatio))
	}
	errs := 0
	for _, p := range points {
		errs += p.errors + p.list.errors
	}
	fmt.Fprintf(&b, "| zero errors (tokens, warm-ups included, and list pages) | %d | %s |\n", errs, mark(errs == 0))
	return b.String()
}

func joinSizes(sizes []int) string {
	s := make([]string, len(sizes))
	for i, n := range sizes {
		s[i] = thousands(n)
	}
	return strings.Join(s, ", ")
}

// growthChart draws the two lines, one above the other on a shared,
// logarithmic axis of applications, each from zero so that a slope shows
// as what it is.
func growthChart(points []*growthPoint, path string) error {
	tokens, p50, p99 := make(plotter.XYs, len(points)), make(plotter.XYs, len(points)), make(plotter.XYs, len(points))
	for i, pt := range points {
		x := float64(pt.apps)
		tokens[i] = plotter.XY{X: x, Y: pt.medianThroughput()}
		p50[i] = plotter.XY{X: x, Y: float64(percentile(pt.list.server, 50)) / float64(time.Millisecond)}
		p99[i] = plotter.XY{X: x, Y: float64(percentile(pt.list.server, 99)) / float64(time.Millisecond)}
	}
	top := growthPlot("Token endpoint: tokens/s, 32 clients, keep-alive", "tokens/s")
	if err := addLine(top, "tokens/s (median round)", tokens, color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}, 0); err != nil {
		return err
	}
	bottom := growthPlot("Applications list, first page: server time", "ms")
	if err := addLine(bottom, "p50", p50, color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff}, 0); err != nil {
		return err
	}
	if err := addLine(bottom, "p99", p99, color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}, 1); err != nil {
		return err
	}
	bottom.X.Label.Text = "applications in the account"
	for _, p := range []*plot.Plot{top, bottom} {
		p.Y.Min = 0
		p.Y.Max *= 1.15 // room for the legend above the line
	}

	const width, height = 20 * vg.Centimeter, 18 * vg.Centimeter
	img := vgimg.NewWith(vgimg.UseWH(width, height), vgimg.UseDPI(120))
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 2, Cols: 1, PadX: vg.Centimeter, PadY: vg.Centimeter,
		PadTop: vg.Points(6), PadBottom: vg.Points(6), PadLeft: vg.Points(6), PadRight: vg.Points(12)}
	canvases := plot.Align([][]*plot.Plot{{top}, {bottom}}, tiles, dc)
	top.Draw(canvases[0][0])
	bottom.Draw(canvases[1][0])
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return fmt.Errorf("growth chart: %w", err)
	}
	return f.Close()
}

// growthPlot is one panel: a logarithmic axis of applications with a tick
// at every power of ten.
func growthPlot(title, unit string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = unit
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = plot.TickerFunc(func(min, max float64) []plot.Tick {
		var ticks []plot.Tick
		for v := 1.0; v <= max*1.0001; v *= 10 {
			if v >= min*0.9999 {
				ticks = append(ticks, plot.Tick{Value: v, Label: thousands(int(v))})
			}
		}
		return ticks
	})
	p.Legend.Top = true
	p.Legend.XOffs = -vg.Points(12)
	p.Add(plotter.NewGrid())
	return p
}

func addLine(p *plot.Plot, name string, xys plotter.XYs, c color.Color, dashed int) error {
	l, pts, err := plotter.NewLinePoints(xys)
	if err != nil {
		return fmt.Errorf("growth chart: %w", err)
	}
	l.Color, l.Width = c, vg.Points(2)
	if dashed > 0 {
		l.Dashes = []vg.Length{vg.Points(6), vg.Points(3)}
	}
	pts.Color, pts.Shape = c, draw.CircleGlyph{}
	p.Add(l, pts)
	p.Legend.Add(name, l, pts)
	return nil
}
