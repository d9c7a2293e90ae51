package tokenservice

import (
	"strings"
	"testing"
)

func TestCleanName(t *testing.T) {
	for _, tt := range []struct {
		name string
		in   string
		want string
		ok   bool
	}{
		{"Simple", "Billing sync", "Billing sync", true},
		{"Trimmed", "  SIEM export \n", "SIEM export", true},
		{"Unicode", "Zürich résumé 東京", "Zürich résumé 東京", true},
		{"HTMLKeptAsText", "<script>alert(1)</script>", "<script>alert(1)</script>", true},
		{"Exactly100", strings.Repeat("é", 100), strings.Repeat("é", 100), true},
		{"Empty", "", "", false},
		{"OnlySpaces", "   \t ", "", false},
		{"TooLong", strings.Repeat("a", 101), "", false},
		{"TenThousand", strings.Repeat("x", 10000), "", false},
		{"Tab", "a\tb", "", false},
		{"Newline", "a\nb", "", false},
		{"NUL", "a\x00b", "", false},
		{"Escape", "a\x1b[31mb", "", false},
		{"DEL", "a\x7fb", "", false},
		{"BidiOverride", "abc\u202Egnp.exe", "", false},
		{"LineSeparator", "a\u2028b", "", false},
		{"InvalidUTF8", "a\xffb", "", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := CleanName(tt.in)
			if tt.ok {
				if err != nil || got != tt.want {
					t.Fatalf("CleanName(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("CleanName(%q) = %q, want an error", tt.in, got)
			}
			if got, want := ErrorCode(err), EINVALID; got != want {
				t.Fatalf("code = %q, want %q", got, want)
			}
			if e := err.(*Error); e.Fields["name"] == "" {
				t.Fatal("no message for the name field")
			}
		})
	}
}

func FuzzCleanName(f *testing.F) {
	f.Add("Billing sync")
	f.Add(" a\tb ")
	f.Fuzz(func(t *testing.T, s string) {
		got, err := CleanName(s)
		if err != nil {
			return
		}
		if got != strings.TrimSpace(got) || got == "" {
			t.Fatalf("CleanName(%q) = %q: not trimmed or empty", s, got)
		}
		for _, r := range got {
			if r < 0x20 || r == 0x7f {
				t.Fatalf("CleanName(%q) kept control character %U", s, r)
			}
		}
	})
}
