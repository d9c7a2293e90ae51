package tokenservice

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxNameLen is the longest application name, in characters.
const MaxNameLen = 100

// CleanName trims an application name and checks it: required, at most
// MaxNameLen characters, valid UTF-8, and free of control and bidirectional
// formatting characters (which can make a name display as something else).
// It returns the trimmed name or an EINVALID *Error whose message suits the
// form field.
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
		if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == '\u2028' || r == '\u2029' {
			return "", invalidName("The name cannot contain control characters such as tabs or line breaks.")
		}
	}
	return name, nil
}

func invalidName(msg string) error {
	return &Error{Code: EINVALID, Message: msg, Fields: map[string]string{"name": msg}}
}
