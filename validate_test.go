package tokenservice

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestCleanName(t *testing.T) {
	const control = "The name cannot contain control characters such as tabs or line breaks."
	for _, tt := range []struct {
		name string
		in   string
		want string // the clean name, or a part of the message for an error
		ok   bool
	}{
		{"Simple", "Billing sync", "Billing sync", true},
		{"Trimmed", "  SIEM export \n", "SIEM export", true},
		{"Unicode", "Zürich résumé 東京", "Zürich résumé 東京", true},
		{"HTMLKeptAsText", "<script>alert(1)</script>", "<script>alert(1)</script>", true},
		{"Exactly100", strings.Repeat("é", 100), strings.Repeat("é", 100), true},
		{"NoBreakSpace", "SIEM\u00a0export", "SIEM\u00a0export", true},
		{"EmojiVariationSelector", "Alerts \u2764\ufe0f", "Alerts \u2764\ufe0f", true},
		{"Empty", "", "Enter an application name.", false},
		{"OnlySpaces", "   \t ", "Enter an application name.", false},
		{"TooLong", strings.Repeat("a", 101), "at most 100 characters", false},
		{"TenThousand", strings.Repeat("x", 10000), "at most 100 characters", false},
		{"Tab", "a\tb", control, false},
		{"Newline", "a\nb", control, false},
		{"NUL", "a\x00b", control, false},
		{"Escape", "a\x1b[31mb", control, false},
		{"DEL", "a\x7fb", control, false},
		{"C1Control", "a\u0085b", control, false},
		{"LineSeparator", "a\u2028b", control, false},
		{"ParagraphSeparator", "a\u2029b", control, false},
		{"InvalidUTF8", "a\xffb", "invalid characters", false},
		// Format characters (category Cf) are invisible: a name with one
		// looks like another application's name.
		{"ZeroWidthSpace", "Billing\u200bsync", "(U+200B ZERO WIDTH SPACE)", false},
		{"ZeroWidthNonJoiner", "Billing\u200csync", "(U+200C ZERO WIDTH NON-JOINER)", false},
		{"ZeroWidthJoiner", "Billing\u200dsync", "(U+200D ZERO WIDTH JOINER)", false},
		{"WordJoiner", "Billing\u2060sync", "(U+2060 WORD JOINER)", false},
		{"SoftHyphen", "Bill\u00ading sync", "(U+00AD SOFT HYPHEN)", false},
		{"LeadingByteOrderMark", "\ufeffBilling sync", "(U+FEFF ZERO WIDTH NO-BREAK SPACE)", false},
		{"TrailingZeroWidthSpace", "Billing sync\u200b", "(U+200B ZERO WIDTH SPACE)", false},
		{"LeftToRightMark", "Billing\u200esync", "(U+200E LEFT-TO-RIGHT MARK)", false},
		{"ArabicLetterMark", "Billing\u061csync", "(U+061C ARABIC LETTER MARK)", false},
		{"BidiOverride", "abc\u202Egnp.exe", "(U+202E RIGHT-TO-LEFT OVERRIDE)", false},
		{"BidiIsolate", "abc\u2067cba", "(U+2067 RIGHT-TO-LEFT ISOLATE)", false},
		{"InvisibleSeparator", "a\u2063b", "(U+2063 INVISIBLE SEPARATOR)", false},
		// Not format characters, but blank all the same.
		{"HangulFiller", "Billing\u3164sync", "(U+3164 HANGUL FILLER)", false},
		{"HalfwidthHangulFiller", "\uffa0Billing sync", "(U+FFA0 HALFWIDTH HANGUL FILLER)", false},
		{"BraillePatternBlank", "Billing\u2800sync", "(U+2800 BRAILLE PATTERN BLANK)", false},
		{"CombiningGraphemeJoiner", "Billing\u034fsync", "(U+034F COMBINING GRAPHEME JOINER)", false},
		{"MongolianVowelSeparator", "a\u180eb", "(U+180E MONGOLIAN VOWEL SEPARATOR)", false},
		{"TagCharacter", "Billing\U000E0041sync", "(U+E0041)", false},
		{"EmojiZeroWidthJoinerSequence", "Team \U0001F469\u200d\U0001F4BB", "(U+200D ZERO WIDTH JOINER)", false},
		{"FirstOfSeveral", "a\u200bb\u202ec", "(U+200B ZERO WIDTH SPACE)", false},
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
			msg := err.(*Error).Fields["name"]
			if msg == "" {
				t.Fatal("no message for the name field")
			}
			if !strings.Contains(msg, tt.want) {
				t.Errorf("message = %q, want it to contain %q", msg, tt.want)
			}
		})
	}
}

func FuzzCleanName(f *testing.F) {
	f.Add("Billing sync")
	f.Add(" a\tb ")
	f.Add("Billing\u200bsync")
	f.Add("\ufeffBilling sync")
	f.Add("abc\u202Egnp.exe")
	f.Add("Billing\U000E0041sync")
	f.Fuzz(func(t *testing.T, s string) {
		got, err := CleanName(s)
		if err != nil {
			if ErrorCode(err) != EINVALID || err.(*Error).Fields["name"] == "" {
				t.Fatalf("CleanName(%q): %v, want EINVALID with a message for the name field", s, err)
			}
			return
		}
		if got != strings.TrimSpace(got) || got == "" {
			t.Fatalf("CleanName(%q) = %q: not trimmed or empty", s, got)
		}
		if !utf8.ValidString(got) || utf8.RuneCountInString(got) > MaxNameLen {
			t.Fatalf("CleanName(%q) = %q: invalid UTF-8 or too long", s, got)
		}
		for _, r := range got {
			if unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp) || blankLetters[r] {
				t.Fatalf("CleanName(%q) kept control or invisible character %U", s, r)
			}
		}
	})
}
