package tokenservice

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxNameLen is the longest application name, in characters.
const MaxNameLen = 100

// CleanName returns the trimmed name, or an EINVALID *Error for the form: a
// name is required, at most MaxNameLen characters of UTF-8, and free of control
// characters, line separators and invisible ones (Cf, blank fillers), which could disguise it.
func CleanName(name string) (string, error) {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return "", invalidName("Enter an application name.")
	case !utf8.ValidString(name):
		return "", invalidName("The name contains invalid characters.")
	case utf8.RuneCountInString(name) > MaxNameLen:
		return "", invalidName("The name can be at most 100 characters long.")
	}
	for _, r := range name {
		switch {
		case unicode.IsControl(r) || r == '\u2028' || r == '\u2029':
			return "", invalidName("The name cannot contain control characters such as tabs or line breaks.")
		case unicode.Is(unicode.Cf, r) || blankLetters[r]:
			return "", invalidName(fmt.Sprintf("The name contains an invisible character (%s), "+
				"which can make it look like another name. Type the name again without it.", characterName(r)))
		}
	}
	return name, nil
}

// characterName names r for a message, "U+200B ZERO WIDTH SPACE": whoever
// cannot see the character can still tell what it is. Characters outside
// formatNames go by their code point alone.
func characterName(r rune) string {
	if name, ok := formatNames[r]; ok {
		return fmt.Sprintf("%U %s", r, name)
	}
	return fmt.Sprintf("%U", r)
}

// blankLetters are characters that are not format characters but show as nothing: fillers
// and the blank braille pattern, which some systems count as letters.
var blankLetters = map[rune]bool{
	0x034F: true, 0x115F: true, 0x1160: true, 0x17B4: true, 0x17B5: true,
	0x2800: true, 0x3164: true, 0xFFA0: true,
}

// formatNames are the Unicode names of the invisible format characters that
// text copied from documents, chats and web pages brings along.
var formatNames = map[rune]string{
	0x00AD: "SOFT HYPHEN",
	0x061C: "ARABIC LETTER MARK",
	0x180E: "MONGOLIAN VOWEL SEPARATOR",
	0x200B: "ZERO WIDTH SPACE",
	0x200C: "ZERO WIDTH NON-JOINER",
	0x200D: "ZERO WIDTH JOINER",
	0x200E: "LEFT-TO-RIGHT MARK",
	0x200F: "RIGHT-TO-LEFT MARK",
	0x202A: "LEFT-TO-RIGHT EMBEDDING",
	0x202B: "RIGHT-TO-LEFT EMBEDDING",
	0x202C: "POP DIRECTIONAL FORMATTING",
	0x202D: "LEFT-TO-RIGHT OVERRIDE",
	0x202E: "RIGHT-TO-LEFT OVERRIDE",
	0x2060: "WORD JOINER",
	0x2061: "FUNCTION APPLICATION",
	0x2062: "INVISIBLE TIMES",
	0x2063: "INVISIBLE SEPARATOR",
	0x2064: "INVISIBLE PLUS",
	0x2066: "LEFT-TO-RIGHT ISOLATE",
	0x2067: "RIGHT-TO-LEFT ISOLATE",
	0x2068: "FIRST STRONG ISOLATE",
	0x2069: "POP DIRECTIONAL ISOLATE",
	0xFEFF: "ZERO WIDTH NO-BREAK SPACE",
	0xFFF9: "INTERLINEAR ANNOTATION ANCHOR",
	0xFFFA: "INTERLINEAR ANNOTATION SEPARATOR",
	0xFFFB: "INTERLINEAR ANNOTATION TERMINATOR",
	0x034F: "COMBINING GRAPHEME JOINER",
	0x115F: "HANGUL CHOSEONG FILLER",
	0x1160: "HANGUL JUNGSEONG FILLER",
	0x17B4: "KHMER VOWEL INHERENT AQ",
	0x17B5: "KHMER VOWEL INHERENT AA",
	0x2800: "BRAILLE PATTERN BLANK",
	0x3164: "HANGUL FILLER",
	0xFFA0: "HALFWIDTH HANGUL FILLER",
}

func invalidName(msg string) error {
	return &Error{Code: EINVALID, Message: msg, Fields: map[string]string{"name": msg}}
}
