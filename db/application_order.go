package db

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"

	"tokenservice"
)

// NameSortKey is the natural sort key of a name, stored as name_key: the
// lower-cased name (nameKey) with each run of ASCII digits written as the
// length of its value (three digits) and the value without leading zeros,
// so that "app 2" sorts before "app 10" in a bytewise comparison. Other
// digits (Arabic-Indic, full-width, …) stay text. The loader of the
// benchmark writes it too, hence exported.
func NameSortKey(name string) string {
	lower := nameKey(name)
	var b strings.Builder
	b.Grow(len(lower) + 8)
	for i := 0; i < len(lower); {
		if !isDigit(lower[i]) {
			b.WriteByte(lower[i])
			i++
			continue
		}
		j := i
		for j < len(lower) && isDigit(lower[j]) {
			j++
		}
		value := strings.TrimLeft(lower[i:j], "0")
		if value == "" {
			value = "0"
		}
		// A name has at most MaxNameLen characters, so three digits hold any length.
		n := strconv.Itoa(len(value))
		b.WriteString(strings.Repeat("0", 3-len(n)) + n)
		b.WriteString(value)
		i = j
	}
	return b.String()
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// hasDigit reports whether s holds an ASCII digit: a filter that does not
// starts the same names in name_key as in name_lower.
func hasDigit(s string) bool { return strings.ContainsAny(s, "0123456789") }

// listOrder is an order of the applications list: a key, then the client
// ID, both ascending or both descending, each read in an index of its own
// (migration 8) so that every order pages by keyset.
type listOrder struct {
	sort string // the tokenservice.Sort* it is; "" also for byNameLower
	key  string // SQL expression of the key
	text bool   // the key is text (else an integer)
	desc bool
}

// listOrders are the list's orders by tokenservice.ListOptions.Sort.
var listOrders = map[string]listOrder{
	tokenservice.SortName:         {sort: tokenservice.SortName, key: "name_key", text: true},
	tokenservice.SortNameDesc:     {sort: tokenservice.SortNameDesc, key: "name_key", text: true, desc: true},
	tokenservice.SortCreated:      {sort: tokenservice.SortCreated, key: "created_at"},
	tokenservice.SortCreatedDesc:  {sort: tokenservice.SortCreatedDesc, key: "created_at", desc: true},
	tokenservice.SortLastUsed:     {sort: tokenservice.SortLastUsed, key: "coalesce(last_used_at, 0)"},
	tokenservice.SortLastUsedDesc: {sort: tokenservice.SortLastUsedDesc, key: "coalesce(last_used_at, 0)", desc: true},
}

// byNameLower is the order the filter's machinery counts and gathers
// matches in: the lower-cased name, whose prefixes are a filter's.
var byNameLower = listOrder{key: "name_lower", text: true}

// byName reports whether o orders by name, so that a filter's prefix is a
// range of its key (for name_key, when the filter holds no digit).
func (o listOrder) byName(filterKey string) bool {
	return o.key == "name_lower" || (o.key == "name_key" && !hasDigit(filterKey))
}

func (o listOrder) reversed() listOrder { o.desc = !o.desc; return o }

// by is the ORDER BY of o.
func (o listOrder) by() string {
	if o.desc {
		return o.key + " DESC, client_id DESC"
	}
	return o.key + ", client_id"
}

// past is the condition of the rows after a cursor in o, with the
// placeholders of pastArgs. The key's own bound, implied by the row
// comparison, gives PostgreSQL's planner an estimate it can make (it
// guesses one for a row comparison, and sorted a guessed few).
func (o listOrder) past() string {
	if o.desc {
		return o.key + " <= ? AND (" + o.key + ", client_id) < (?, ?)"
	}
	return o.key + " >= ? AND (" + o.key + ", client_id) > (?, ?)"
}

// pastArgs are the arguments of past for the cursor c.
func (o listOrder) pastArgs(c cursor) []any {
	return []any{c.arg(o), c.arg(o), c.ClientID}
}

// keyOf is the sort key o has for app, as the database computes it.
func (o listOrder) keyOf(app *tokenservice.Application) cursor {
	c := cursor{ClientID: app.ClientID}
	switch o.key {
	case "name_key":
		c.Key = NameSortKey(app.Name)
	case "name_lower":
		c.Key = nameKey(app.Name)
	case "created_at":
		c.Num = millis(app.CreatedAt)
	default:
		c.Num = unixMillis(app.LastUsedAt)
	}
	return c
}

// compare orders two keys of o as its ORDER BY does (bytewise for text on
// both databases).
func (o listOrder) compare(a, b cursor) int {
	n := cmp.Or(strings.Compare(a.Key, b.Key), cmp.Compare(a.Num, b.Num), strings.Compare(a.ClientID, b.ClientID))
	if o.desc {
		return -n
	}
	return n
}

// cursor is the sort key of a row of the list and its position: Next
// holds the last row of a page, Prev the first.
type cursor struct {
	Sort     string `json:"s,omitempty"`
	Key      string `json:"k,omitempty"` // text keys
	Num      int64  `json:"v,omitempty"` // integer keys
	ClientID string `json:"c"`
	Offset   int    `json:"o,omitempty"` // of the row, from 0
}

// arg is the cursor's key as a statement's argument.
func (c cursor) arg(o listOrder) any {
	if o.text {
		return c.Key
	}
	return c.Num
}

// setKey takes a key column as the driver read it.
func (c *cursor) setKey(v any) {
	switch k := v.(type) {
	case string:
		c.Key = k
	case []byte:
		c.Key = string(k)
	case int64:
		c.Num = k
	}
}

func encodeCursor(c cursor) string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor reads a cursor of the order sort; one of another order (a
// link kept from before the order changed) is as invalid as a broken one.
func decodeCursor(s, sort string) (cursor, error) {
	var c cursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err != nil || c.ClientID == "" || c.Sort != sort || c.Offset < 0 {
		return cursor{}, tokenservice.Errorf(tokenservice.EINVALID, "This page link is not valid. Start again from the first page.")
	}
	return c, nil
}

// listed is a page as the list's statements read it, in the order asked:
// the applications, their sort keys, whether more rows follow in that
// order, and the total when the statement counted it (-1: not counted).
type listed struct {
	apps  []*tokenservice.Application
	keys  []cursor
	more  bool
	total int
}

// sortedWindow is the page of all (every match) after the cursor in o,
// sorted in Go: for a filter few applications hold.
func sortedWindow(all []*tokenservice.Application, o listOrder, after *cursor, limit int) *listed {
	keys := make([]cursor, len(all))
	idx := make([]int, len(all))
	for i, a := range all {
		keys[i], idx[i] = o.keyOf(a), i
	}
	slices.SortFunc(idx, func(a, b int) int { return o.compare(keys[a], keys[b]) })
	out := &listed{total: len(all)}
	for _, i := range idx {
		if after != nil && o.compare(keys[i], *after) <= 0 {
			continue
		}
		if len(out.apps) == limit {
			out.more = true
			break
		}
		out.apps = append(out.apps, all[i])
		out.keys = append(out.keys, keys[i])
	}
	return out
}

// unixMillis is millis for a time that may be zero (never): 0.
func unixMillis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return millis(t)
}
