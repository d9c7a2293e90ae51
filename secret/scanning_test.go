package secret_test

// These tests read docs/secret-scanning.md, the detection rule published for
// secret scanners, and hold it to the secrets this package makes: the regular
// expression (on its own and inside the gitleaks, trufflehog and Python
// blocks) and the checksum algorithm as the page states it. The checksum is
// implemented here from the page, not taken from secret.go.

import (
	"fmt"
	"hash/crc32"
	"math"
	"math/rand/v2"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"tokenservice/secret"
)

const scanningDoc = "../docs/secret-scanning.md"

// scanRule is what the tests take from the page.
type scanRule struct {
	regex string // the ```regex block

	gitleaksRegex    string
	gitleaksID       string
	gitleaksDesc     string
	gitleaksKeywords []string
	gitleaksEntropy  float64
	gitleaksDefaults bool // [extend] useDefault = true

	truffleName     string
	truffleKeywords []string
	truffleRegexes  map[string]string

	pyRegex    string
	pyASCII    bool
	pyAlphabet string
	pyLen      int // len(s) != N
	pyBody     int // s[:N]
	pyCheck    int // s[N:]

	// The checksum as the prose states it.
	alphabet string // "0-9A-Za-z, in that order", spelled out
	bodyLen  int    // "the first N characters of the match"
	width    int    // "left-padded with `0` to exactly N digits"

	// The check value.
	checkInput  string
	checkCRC    uint32
	checkDigits string

	prose string // the page with its whitespace runs made single spaces
}

// fencedBlocks returns the contents of the page's fenced code blocks by
// language tag.
func fencedBlocks(doc string) map[string][]string {
	blocks := map[string][]string{}
	var lang string
	var body []string
	in := false
	for _, line := range strings.Split(doc, "\n") {
		switch {
		case !in && strings.HasPrefix(line, "```"):
			in, lang, body = true, strings.TrimSpace(strings.TrimPrefix(line, "```")), nil
		case in && strings.TrimSpace(line) == "```":
			in = false
			blocks[lang] = append(blocks[lang], strings.Join(body, "\n"))
		case in:
			body = append(body, line)
		}
	}
	return blocks
}

func oneBlock(tb testing.TB, blocks map[string][]string, lang string) string {
	tb.Helper()
	if n := len(blocks[lang]); n != 1 {
		tb.Fatalf("%s has %d ```%s blocks, want 1", scanningDoc, n, lang)
	}
	return blocks[lang][0]
}

// tomlString decodes the TOML strings the rule uses: literal strings, in
// single quotes or in triple single quotes, and basic strings ("...").
func tomlString(tb testing.TB, raw string) string {
	tb.Helper()
	raw = strings.TrimSpace(raw)
	switch {
	case len(raw) >= 6 && strings.HasPrefix(raw, "'''") && strings.HasSuffix(raw, "'''"):
		return raw[3 : len(raw)-3]
	case len(raw) >= 2 && raw[0] == '\'' && raw[len(raw)-1] == '\'':
		return raw[1 : len(raw)-1]
	case len(raw) >= 2 && raw[0] == '"':
		s, err := strconv.Unquote(raw)
		if err != nil {
			tb.Fatalf("TOML string %s: %v", raw, err)
		}
		return s
	}
	tb.Fatalf("not a TOML string: %s", raw)
	return ""
}

// parseGitleaks reads the ```toml block: one [[rules]] table, and [extend].
func parseGitleaks(tb testing.TB, block string, r *scanRule) {
	tb.Helper()
	keyValue := regexp.MustCompile(`^([A-Za-z0-9_-]+)\s*=\s*(.+)$`)
	table, rules := "", 0
	values := map[string]string{}
	for _, line := range strings.Split(block, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case line == "[[rules]]":
			table = "rules"
			rules++
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			table = strings.Trim(line, "[]")
		default:
			m := keyValue.FindStringSubmatch(line)
			if m == nil {
				tb.Fatalf("gitleaks block: cannot read %q", line)
			}
			values[table+"."+m[1]] = m[2]
		}
	}
	if rules != 1 {
		tb.Fatalf("gitleaks block has %d [[rules]], want 1", rules)
	}
	for _, k := range []string{"rules.id", "rules.description", "rules.regex", "rules.keywords", "rules.entropy"} {
		if values[k] == "" {
			tb.Fatalf("gitleaks block lacks %s", k)
		}
	}
	r.gitleaksID = tomlString(tb, values["rules.id"])
	r.gitleaksDesc = tomlString(tb, values["rules.description"])
	r.gitleaksRegex = tomlString(tb, values["rules.regex"])
	kw := strings.TrimSpace(values["rules.keywords"])
	if !strings.HasPrefix(kw, "[") || !strings.HasSuffix(kw, "]") {
		tb.Fatalf("gitleaks keywords %s: not an array", kw)
	}
	for _, k := range strings.Split(strings.Trim(kw, "[]"), ",") {
		if strings.TrimSpace(k) != "" {
			r.gitleaksKeywords = append(r.gitleaksKeywords, tomlString(tb, k))
		}
	}
	e, err := strconv.ParseFloat(values["rules.entropy"], 64)
	if err != nil {
		tb.Fatalf("gitleaks entropy: %v", err)
	}
	r.gitleaksEntropy = e
	r.gitleaksDefaults = values["extend.useDefault"] == "true"
}

// yamlScalar decodes the YAML scalars the detector uses: plain,
// single-quoted (backslashes literal, a doubled quote for a quote) and
// double-quoted.
func yamlScalar(tb testing.TB, raw string) string {
	tb.Helper()
	raw = strings.TrimSpace(raw)
	switch {
	case len(raw) >= 2 && raw[0] == '\'' && raw[len(raw)-1] == '\'':
		return strings.ReplaceAll(raw[1:len(raw)-1], "''", "'")
	case len(raw) >= 2 && raw[0] == '"':
		s, err := strconv.Unquote(raw)
		if err != nil {
			tb.Fatalf("YAML string %s: %v", raw, err)
		}
		return s
	}
	return raw
}

// parseTrufflehog reads the ```yaml block: detectors, one item, with name,
// keywords (a list) and regex (a map).
func parseTrufflehog(tb testing.TB, block string, r *scanRule) {
	tb.Helper()
	lines := strings.Split(block, "\n")
	if len(lines) == 0 || strings.TrimSpace(lines[0]) != "detectors:" {
		tb.Fatalf("trufflehog block does not start with detectors:")
	}
	r.truffleRegexes = map[string]string{}
	items, section, sectionIndent := 0, "", -1
	field := regexp.MustCompile(`^([A-Za-z_]+):\s*(.*)$`)
	for _, line := range lines[1:] {
		if strings.TrimSpace(line) == "" || strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		indent := len(line) - len(strings.TrimLeft(line, " "))
		text := strings.TrimSpace(line)
		if strings.HasPrefix(text, "- ") && indent < 4 { // a detector
			items++
			text = strings.TrimSpace(text[2:])
			indent += 2
		}
		if indent <= sectionIndent {
			section, sectionIndent = "", -1
		}
		switch {
		case section == "keywords" && strings.HasPrefix(text, "- "):
			r.truffleKeywords = append(r.truffleKeywords, yamlScalar(tb, text[2:]))
		case section == "regex":
			m := field.FindStringSubmatch(text)
			if m == nil {
				tb.Fatalf("trufflehog regex: cannot read %q", text)
			}
			r.truffleRegexes[m[1]] = yamlScalar(tb, m[2])
		default:
			m := field.FindStringSubmatch(text)
			if m == nil {
				tb.Fatalf("trufflehog block: cannot read %q", text)
			}
			switch {
			case m[1] == "name":
				r.truffleName = yamlScalar(tb, m[2])
			case m[2] == "":
				section, sectionIndent = m[1], indent
			}
		}
	}
	if items != 1 {
		tb.Fatalf("trufflehog block has %d detectors, want 1", items)
	}
}

func atoi(tb testing.TB, s string) int {
	tb.Helper()
	n, err := strconv.Atoi(strings.ReplaceAll(s, ",", ""))
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

// one returns the submatches of the single match of re in s.
func one(tb testing.TB, re, s, what string) []string {
	tb.Helper()
	all := regexp.MustCompile(re).FindAllStringSubmatch(s, -1)
	if len(all) != 1 {
		tb.Fatalf("%s: %s found %d times, want once (%s)", scanningDoc, what, len(all), re)
	}
	return all[0]
}

func loadScanRule(tb testing.TB) *scanRule {
	tb.Helper()
	b, err := os.ReadFile(scanningDoc)
	if err != nil {
		tb.Fatal(err)
	}
	doc := string(b)
	blocks := fencedBlocks(doc)
	r := &scanRule{regex: strings.TrimSpace(oneBlock(tb, blocks, "regex"))}
	parseGitleaks(tb, oneBlock(tb, blocks, "toml"), r)
	parseTrufflehog(tb, oneBlock(tb, blocks, "yaml"), r)

	py := oneBlock(tb, blocks, "python")
	m := one(tb, `PATTERN = re\.compile\(r"([^"]*)"(, re\.ASCII)?\)`, py, "the Python PATTERN")
	r.pyRegex, r.pyASCII = m[1], m[2] != ""
	r.pyAlphabet = one(tb, `ALPHABET = "([^"]*)"`, py, "the Python ALPHABET")[1]
	r.pyLen = atoi(tb, one(tb, `len\(s\) != (\d+)`, py, "the Python length")[1])
	r.pyBody = atoi(tb, one(tb, `s\[:(\d+)\]`, py, "the Python body")[1])
	r.pyCheck = atoi(tb, one(tb, `== s\[(\d+):\]`, py, "the Python checksum")[1])

	r.prose = strings.Join(strings.Fields(doc), " ")
	ranges := one(tb, "The base62 alphabet is `([^`]*)`, in that order", r.prose, "the alphabet")[1]
	for _, rg := range regexp.MustCompile(`(.)-(.)`).FindAllStringSubmatch(ranges, -1) {
		for c := rg[1][0]; c <= rg[2][0]; c++ {
			r.alphabet += string(c)
		}
	}
	r.bodyLen = atoi(tb, one(tb, `Take the first (\d+) characters of the match`, r.prose, "what is checksummed")[1])
	r.width = atoi(tb, one(tb, "left-padded with `0` to exactly (\\d+) digits", r.prose, "the checksum width")[1])
	m = one(tb, "the CRC-32/IEEE of the nine bytes `([^`]*)` is `0x([0-9A-F]{8})` \\(([0-9,]+)\\), which is `([0-9A-Za-z]+)`", r.prose, "the check value")
	crc, err := strconv.ParseUint(m[2], 16, 32)
	if err != nil {
		tb.Fatal(err)
	}
	if atoi(tb, m[3]) != int(crc) {
		tb.Fatalf("check value: 0x%s is not %s", m[2], m[3])
	}
	r.checkInput, r.checkCRC, r.checkDigits = m[1], uint32(crc), m[4]
	return r
}

// base62 writes n in exactly width digits of the page's alphabet, most
// significant first, left-padded with its zero digit.
func (r *scanRule) base62(n uint64, width int) string {
	out := make([]byte, width)
	for i := width - 1; i >= 0; i-- {
		out[i] = r.alphabet[n%uint64(len(r.alphabet))]
		n /= uint64(len(r.alphabet))
	}
	return string(out)
}

// checksum is the page's checksum of the characters that precede it.
func (r *scanRule) checksum(body string) string {
	return r.base62(uint64(crc32.ChecksumIEEE([]byte(body))), r.width)
}

// checksumOK reports whether the last width characters of s are the page's
// checksum of the bodyLen before them.
func (r *scanRule) checksumOK(s string) bool {
	return len(s) == r.bodyLen+r.width && s[r.bodyLen:] == r.checksum(s[:r.bodyLen])
}

// shannonEntropy is gitleaks' measure: bits per character of s.
func shannonEntropy(s string) float64 {
	counts := map[rune]int{}
	for _, c := range s {
		counts[c]++
	}
	var e float64
	for _, n := range counts {
		p := float64(n) / float64(len(s))
		e -= p * math.Log2(p)
	}
	return e
}

func newSecrets(n int) []string {
	s := make([]string, n)
	for i := range s {
		s[i] = secret.New()
	}
	return s
}

const base62Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// Where a secret is found: typical places it leaks to.
var secretContexts = []string{
	"%s",
	"CLIENT_SECRET=%s\n",
	"# .env\nCLIENT_ID=abcdefghijklmnopqrstuvwxyz\nCLIENT_SECRET=%s\nLOG_LEVEL=debug\n",
	`{"client_id": "abcdefghijklmnopqrstuvwxyz", "client_secret": "%s"}`,
	`{"client_secret":"%s","scope":"ess:account:read"}`,
	"oauth:\n  client_id: abcdefghijklmnopqrstuvwxyz\n  client_secret: %s\n",
	"oauth:\n  client_secret: \"%s\"\n",
	"oauth:\n  client_secret: '%s'\n",
	"https://api.example.com/callback?client_id=abcdefghijklmnopqrstuvwxyz&client_secret=%s&state=xyz",
	"GET /cb?client_secret=%s HTTP/1.1",
	"export CLIENT_SECRET='%s'\n",
	`CLIENT_SECRET="%s" ./run.sh`,
	`curl -u "abcdefghijklmnopqrstuvwxyz:%s" -d grant_type=client_credentials`,
	"\t%s\r\n",
	"secret (%s).",
}

// nearMisses are strings made from a real secret s that no rule may match,
// alone or in a .env line.
func nearMisses(s string, rnd *rand.Rand) map[string]string {
	body := s[len(secret.Prefix):]
	p := len(secret.Prefix) + rnd.IntN(len(s)-len(secret.Prefix))
	bad := []string{"-", "_", ".", "+", "/", "=", "~", " ", "é", "\x00"}[rnd.IntN(10)]
	return map[string]string{
		"tsk_":            "tsk_" + body,
		"TSS_":            "TSS_" + body,
		"Tss_":            "Tss_" + body,
		"tss-":            "tss-" + body,
		"OneShort":        s[:len(s)-1],
		"OneShortInBody":  s[:10] + s[11:],
		"OneLong":         s + "A",
		"OneLongInBody":   s[:10] + "A" + s[10:],
		"NotBase62Inside": s[:p] + bad + s[p+1:],
		"GluedAfter":      "x" + s,
		"GluedAfterDigit": "0" + s,
		"GluedBefore":     s + "0",
		"GluedInside":     "abc" + s + "def",
		"GluedToPrefix":   "tss_" + s,
		"AfterUnderscore": "_" + s,
		"URLEncoded":      "client_secret%3D" + s, // the documented miss
		"EscapedNewline":  `"\n` + s + `"`,        // the documented miss
	}
}

func TestScanningRule(t *testing.T) {
	r := loadScanRule(t)
	if r.regex == "" {
		t.Fatal("the regex block is empty")
	}
	regexes := map[string]string{
		"Doc":        r.regex,
		"Gitleaks":   r.gitleaksRegex,
		"Trufflehog": r.truffleRegexes["secret"],
		"Python":     r.pyRegex,
	}
	if len(r.truffleRegexes) != 1 {
		t.Errorf("trufflehog regexes = %v, want one, named secret", r.truffleRegexes)
	}
	for name, re := range regexes {
		if re != r.regex {
			t.Errorf("%s regex %q, the regex block %q", name, re, r.regex)
		}
		// RE2 has no lookaround or backreference: what compiles here is
		// what gitleaks and trufflehog, both Go, run.
		if _, err := regexp.Compile(re); err != nil {
			t.Errorf("%s regex does not compile in Go: %v", name, err)
		}
	}
	if !r.pyASCII {
		t.Error("the Python PATTERN lacks re.ASCII")
	}
	if variant := strings.TrimPrefix(r.regex, `\b`); !strings.Contains(r.prose, "`"+variant+"`") {
		t.Errorf("the page does not give the variant without the leading \\b, %q", variant)
	}
	if t.Failed() {
		t.FailNow()
	}

	secrets := newSecrets(1000)
	rnd := rand.New(rand.NewPCG(1, 2))
	for name, expr := range regexes {
		re := regexp.MustCompile(expr)
		t.Run(name, func(t *testing.T) {
			for _, s := range secrets {
				for _, c := range secretContexts {
					text := fmt.Sprintf(c, s)
					if got := re.FindAllString(text, -1); len(got) != 1 || got[0] != s {
						t.Fatalf("in %q found %q, want the secret alone", text, got)
					}
				}
				for miss, text := range nearMisses(s, rnd) {
					for _, text := range []string{text, "CLIENT_SECRET=" + text + "\n"} {
						if got := re.FindAllString(text, -1); len(got) != 0 {
							t.Fatalf("%s: in %q found %q, want nothing", miss, text, got)
						}
					}
				}
			}
			all := strings.Join(secrets, "\n")
			if got := re.FindAllString(all, -1); strings.Join(got, "\n") != all {
				t.Fatalf("in 1,000 secrets a line each found %d", len(got))
			}
			// The documented way around the misses finds them.
			variant := regexp.MustCompile(strings.TrimPrefix(expr, `\b`))
			for _, text := range []string{"client_secret%3D" + secrets[0], `"\n` + secrets[0] + `"`} {
				if got := variant.FindAllString(text, -1); len(got) != 1 || got[0] != secrets[0] {
					t.Fatalf("without the leading \\b, in %q found %q, want the secret", text, got)
				}
			}
		})
	}
}

func TestScanningChecksum(t *testing.T) {
	r := loadScanRule(t)
	if r.alphabet != base62Alphabet {
		t.Fatalf("the page's alphabet is %q", r.alphabet)
	}
	if r.pyAlphabet != r.alphabet {
		t.Fatalf("the Python ALPHABET %q, the prose %q", r.pyAlphabet, r.alphabet)
	}
	if r.bodyLen+r.width != secret.Len {
		t.Fatalf("the page checksums %d characters into %d digits; a secret has %d", r.bodyLen, r.width, secret.Len)
	}
	if r.pyLen != secret.Len || r.pyBody != r.bodyLen || r.pyCheck != r.bodyLen {
		t.Fatalf("the Python takes len %d, s[:%d], s[%d:]; want %d, %d, %d", r.pyLen, r.pyBody, r.pyCheck, secret.Len, r.bodyLen, r.bodyLen)
	}
	if got := crc32.ChecksumIEEE([]byte(r.checkInput)); got != r.checkCRC {
		t.Errorf("CRC-32/IEEE(%q) = %#08x, the page says %#08x", r.checkInput, got, r.checkCRC)
	}
	if got := r.checksum(r.checkInput); got != r.checkDigits {
		t.Errorf("checksum(%q) = %q, the page says %q", r.checkInput, got, r.checkDigits)
	}
	if got := r.base62(math.MaxUint32, r.width); got[0] != '4' {
		t.Errorf("the largest CRC is %q in base62: the first digit is not at most 4", got)
	}

	for i, s := range newSecrets(1000) {
		if !r.checksumOK(s) {
			t.Fatalf("the page's checksum refuses %q from secret.New", s)
		}
		if !secret.WellFormed(s) {
			t.Fatalf("secret.WellFormed(%q) = false", s)
		}
		if s[r.bodyLen] < '0' || s[r.bodyLen] > '4' {
			t.Fatalf("%q: the checksum's first digit is not 0 to 4", s)
		}
		// Every other base62 character at every place after the prefix
		// for the first secret; at one place each, in turn, for the others.
		positions := []int{len(secret.Prefix) + i%(secret.Len-len(secret.Prefix))}
		if i == 0 {
			positions = positions[:0]
			for p := len(secret.Prefix); p < secret.Len; p++ {
				positions = append(positions, p)
			}
		}
		for _, p := range positions {
			where := "body"
			if p >= r.bodyLen {
				where = "checksum"
			}
			for _, c := range []byte(base62Alphabet) {
				if c == s[p] {
					continue
				}
				bad := s[:p] + string(c) + s[p+1:]
				if r.checksumOK(bad) {
					t.Fatalf("the page's checksum accepts %q, %q with its %s changed", bad, s, where)
				}
				if secret.WellFormed(bad) {
					t.Fatalf("secret.WellFormed accepts %q, %q with its %s changed", bad, s, where)
				}
			}
		}
	}
}

func TestScanningGitleaksRule(t *testing.T) {
	r := loadScanRule(t)
	if r.gitleaksID == "" || r.gitleaksDesc == "" {
		t.Errorf("id %q, description %q: want both", r.gitleaksID, r.gitleaksDesc)
	}
	if !r.gitleaksDefaults {
		t.Error("no [extend] useDefault = true: the rule would replace gitleaks' own")
	}
	if len(r.gitleaksKeywords) != 1 || r.gitleaksKeywords[0] != secret.Prefix {
		t.Errorf("keywords = %q, want [%q]", r.gitleaksKeywords, secret.Prefix)
	}
	checkKeywordsAndEntropy(t, r.gitleaksRegex, r.gitleaksKeywords, r.gitleaksEntropy)
	placeholder := secret.Prefix + strings.Repeat("x", secret.Len-len(secret.Prefix))
	if e := shannonEntropy(placeholder); e > r.gitleaksEntropy {
		t.Errorf("the placeholder %q has entropy %.2f, over %.2f", placeholder, e, r.gitleaksEntropy)
	}
}

func TestScanningTrufflehogRule(t *testing.T) {
	r := loadScanRule(t)
	if r.truffleName == "" {
		t.Error("the detector has no name")
	}
	if len(r.truffleKeywords) != 1 || r.truffleKeywords[0] != secret.Prefix {
		t.Errorf("keywords = %q, want [%q]", r.truffleKeywords, secret.Prefix)
	}
	checkKeywordsAndEntropy(t, r.truffleRegexes["secret"], r.truffleKeywords, 0)
}

// checkKeywordsAndEntropy checks that the scanner, which runs the regex only
// on text holding a keyword (compared in lower case) and drops a match of
// entropy at most minEntropy, keeps every real secret.
func checkKeywordsAndEntropy(t *testing.T, expr string, keywords []string, minEntropy float64) {
	t.Helper()
	re, err := regexp.Compile(expr)
	if err != nil {
		t.Fatal(err)
	}
	lowest := math.Inf(1)
	for _, s := range newSecrets(1000) {
		m := re.FindString("CLIENT_SECRET=" + s)
		if m != s {
			t.Fatalf("found %q, want %q", m, s)
		}
		found := false
		for _, k := range keywords {
			found = found || strings.Contains(strings.ToLower(m), strings.ToLower(k))
		}
		if !found {
			t.Fatalf("%q holds none of the keywords %q", m, keywords)
		}
		lowest = min(lowest, shannonEntropy(m))
	}
	if minEntropy > 0 && lowest <= minEntropy+0.5 {
		t.Fatalf("a real secret has entropy %.2f, too near the threshold %.2f", lowest, minEntropy)
	}
}

// FuzzScanningRule checks that the page's regex and checksum together accept
// exactly what secret.WellFormed does: every match in any text, any string of
// a secret's length, and that string with its checksum made right.
func FuzzScanningRule(f *testing.F) {
	r := loadScanRule(f)
	re := regexp.MustCompile(r.regex)
	s := secret.New()
	f.Add(s)
	f.Add("CLIENT_SECRET=" + s + "\n")
	f.Add(`{"client_secret": "` + s + `", "other": "` + secret.New() + `"}`)
	f.Add(s[:secret.Len-1] + "x")
	f.Add(s[:10] + "-" + s[11:])
	f.Add("x" + s)
	f.Add("TSS_" + s[4:])
	f.Add(secret.Prefix + strings.Repeat("0", secret.Len-len(secret.Prefix)))
	f.Add(strings.Repeat("tss_", 14))
	f.Add("")
	f.Fuzz(func(t *testing.T, in string) {
		for _, m := range re.FindAllString(in, -1) {
			if len(m) != secret.Len {
				t.Fatalf("the regex matched %q, of length %d", m, len(m))
			}
			if r.checksumOK(m) != secret.WellFormed(m) {
				t.Fatalf("match %q: the page's checksum says %v, secret.WellFormed %v", m, r.checksumOK(m), secret.WellFormed(m))
			}
		}
		if len(in) != secret.Len {
			return
		}
		if got, want := secret.WellFormed(in), re.FindString(in) == in && r.checksumOK(in); got != want {
			t.Fatalf("secret.WellFormed(%q) = %v, the page's regex and checksum say %v", in, got, want)
		}
		fixed := in[:r.bodyLen] + r.checksum(in[:r.bodyLen])
		if got, want := secret.WellFormed(fixed), re.FindString(fixed) == fixed; got != want {
			t.Fatalf("secret.WellFormed(%q) = %v, the page's regex says %v with the checksum right", fixed, got, want)
		}
	})
}
