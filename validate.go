package tokenservice

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/runenames"
)

// MaxNameLen is the longest application name, in characters.
const MaxNameLen = 100

// CleanName trims an application name and checks it: required, at most
// MaxNameLen characters, valid UTF-8, and free of control characters, line
// separators and invisible format characters (Unicode Cf: zero-width spaces
// and joiners, bidi controls, soft hyphens, tags), with which a name can
// look like another application's. It returns the trimmed name or an
// EINVALID *Error whose message suits the form field.
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
		case unicode.Is(unicode.Cf, r):
			return "", invalidName(fmt.Sprintf("The name contains an invisible character (%s), "+
				"which can make it look like another name. Type the name again without it.", characterName(r)))
		}
	}
	return name, nil
}

// characterName names r for a message, "U+200B ZERO WIDTH SPACE": whoever
// cannot see the character can still tell what it is.
func characterName(r rune) string {
	if name := runenames.Name(r); name != "" {
		return fmt.Sprintf("%U %s", r, name)
	}
	return fmt.Sprintf("%U", r) // assigned after the names table was made
}

func invalidName(msg string) error {
	return &Error{Code: EINVALID, Message: msg, Fields: map[string]string{"name": msg}}
}
