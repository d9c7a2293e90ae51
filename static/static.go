// Package static embeds the portal's stylesheets, scripts and the front-end
// libraries copied from the npm registry, and serves them under URLs that
// carry a hash of their content, so browsers may cache them for a year.
package static

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

//go:embed css js img vendor
var files embed.FS

// Prefix is the URL path under which assets are served.
const Prefix = "/static/"

var hashes = func() map[string]string {
	m := map[string]string{}
	_ = fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := files.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		m[p] = hex.EncodeToString(sum[:6])
		return nil
	})
	return m
}()

// Path returns the versioned URL of the asset name (e.g. "css/app.css"):
// "/static/<content hash>/css/app.css".
func Path(name string) string {
	return Prefix + hashes[name] + "/" + name
}

// Has reports whether the asset name is embedded (the vendor files exist only
// after `go tool task assets`).
func Has(name string) bool {
	_, ok := hashes[name]
	return ok
}

// Handler serves "/static/<hash>/<name>". A request whose hash matches the
// content is cached for a year as immutable; an old hash still gets the
// current file, but without the long cache lifetime.
func Handler() http.Handler {
	fileServer := http.FileServerFS(files)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rest := strings.TrimPrefix(r.URL.Path, Prefix)
		hash, name, ok := strings.Cut(rest, "/")
		name = path.Clean("/" + name)[1:]
		if !ok || hashes[name] == "" {
			http.NotFound(w, r)
			return
		}
		if hash == hashes[name] {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			w.Header().Set("Cache-Control", "no-cache")
		}
		r2 := r.Clone(r.Context())
		r2.URL.Path = "/" + name
		fileServer.ServeHTTP(w, r2)
	})
}
