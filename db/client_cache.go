package db

import (
	"context"
	"database/sql"
	"encoding/binary"
	"os"
	"sync"

	"tokenservice"
)

// clientCache keeps the token endpoint's view of applications in memory
// and still sees every change at the next request, whoever made it: this
// process, the operator CLI, another replica on the same file or database.
//
// Every entry remembers the database's change mark read before it was
// loaded, and is used only while the mark is the same: an entry is never
// older than the last commit before the request began. Any commit (a new
// session, another process's token counts) empties the cache in effect,
// which costs one query per client afterwards, as without a cache. The one
// exception is this store's own commit of batched token counts, which
// changes nothing the cache holds: when it is provably the only commit
// between two marks, the second mark stands for the first (see carry), so
// a busy service with many applications does not lose its cache at every
// sweep.
//
// The change mark is the change counter (iChange) in the header of
// SQLite's WAL index (the -shm file, https://www.sqlite.org/walformat.html):
// SQLite adds one to it with every commit, and writes the header before a
// commit returns. Reading the header is one pread, where asking SQLite
// (PRAGMA data_version) takes a read transaction with its file locks and
// costs as much as the query the cache saves. The header's other fields
// are left out on purpose: a checkpoint that restarts the WAL (as the
// sweeper's erasure of secrets does) rewrites its last frame and salts
// without changing any data, and taking them in would empty the cache at
// every sweep. The counter only starts again when the WAL index is rebuilt
// from scratch, which SQLite does only when no connection has it open; the
// cache holds a connection open for as long as the store is open, so the
// -shm file is never removed or reset under it. When the header cannot be read or is not the one documented,
// the mark falls back to PRAGMA data_version on that same connection, which
// never writes and so sees every other connection's commits.
//
// On PostgreSQL the change mark is a counter in the database itself
// (client_changes, see migrations/postgres/0001_init.sql): triggers bump it
// in the same transaction as every change to an application's client ID,
// account, secret or scopes, so it moves exactly when such a change
// commits, whichever replica or CLI made it. Reading it is one tiny query
// by primary key per token request; the application and its scopes are read
// only when it has moved. Unlike SQLite's mark, other writes (sessions,
// token counters, renames, the reveal-window sweep) leave it, and the cache,
// alone.
//
// Client IDs no application has are remembered too, under the same marks,
// so that an unknown ID costs what a known one does. Creating an application
// moves the mark (on PostgreSQL its INSERT fires the counter's trigger), so
// a remembered miss never hides it; misses have a bound of their own, so a
// flood of them cannot push known clients out.
type clientCache struct {
	// SQLite: the header of the WAL index, or PRAGMA data_version on a
	// connection of the cache's own; nil on PostgreSQL.
	connMu          sync.Mutex // serializes conn
	conn            *sql.Conn
	dataVersionStmt *sql.Stmt
	shm             *os.File // nil: fall back to data_version

	counterStmt *sql.Stmt // PostgreSQL's change counter; nil on SQLite

	entriesMu sync.RWMutex
	entries   map[string]cachedClient
	missing   map[string]changeMark // client IDs no application had at the mark
	// alias: the mark after this store's last carried-over commit, and
	// the mark its entries are stored under (see carry).
	alias struct{ from, to changeMark }
}

// changeMark identifies the state of the database: it differs after any
// commit.
type changeMark struct {
	change      uint32 // the WAL index's iChange
	dataVersion int64
	counter     int64 // PostgreSQL's client_changes
}

type cachedClient struct {
	mark   changeMark
	client *tokenservice.Client
}

// maxCachedClients and maxMissingClients bound the cache's memory (a few
// hundred bytes per client, about a hundred per unknown ID); past either,
// that half of the cache starts again empty.
const (
	maxCachedClients  = 20_000
	maxMissingClients = 10_000
)

// walIndexVersion is the iVersion of the WAL-index header this reads.
const walIndexVersion = 3007000

func newClientCache(ctx context.Context, sqldb *sql.DB, path string) (*clientCache, error) {
	conn, err := sqldb.Conn(ctx)
	if err != nil {
		return nil, err
	}
	stmt, err := conn.PrepareContext(ctx, `PRAGMA data_version`)
	if err != nil {
		conn.Close()
		return nil, err
	}
	c := &clientCache{conn: conn, dataVersionStmt: stmt, entries: make(map[string]cachedClient), missing: make(map[string]changeMark)}
	// The first read opens the WAL index, which the connection keeps open.
	if _, err := c.dataVersion(ctx); err != nil {
		c.close()
		return nil, err
	}
	if f, err := os.Open(path + "-shm"); err == nil {
		c.shm = f
		if _, ok := c.readHeader(); !ok {
			f.Close()
			c.shm = nil
		}
	}
	return c, nil
}

// newCounterCache returns the cache of a PostgreSQL store.
func newCounterCache(ctx context.Context, p pool) (*clientCache, error) {
	stmt, err := p.PrepareContext(ctx, `SELECT n FROM client_changes WHERE id = 1`)
	if err != nil {
		return nil, err
	}
	c := &clientCache{counterStmt: stmt, entries: make(map[string]cachedClient), missing: make(map[string]changeMark)}
	if _, err := c.mark(ctx); err != nil {
		stmt.Close()
		return nil, err
	}
	return c, nil
}

func (c *clientCache) close() {
	if c.shm != nil {
		c.shm.Close()
	}
	if c.counterStmt != nil {
		c.counterStmt.Close()
		return
	}
	c.dataVersionStmt.Close()
	c.conn.Close()
}

// readHeader reads the change counter from the first copy of the WAL-index
// header, the one SQLite writes last.
func (c *clientCache) readHeader() (uint32, bool) {
	var b [16]byte
	if _, err := c.shm.ReadAt(b[:], 0); err != nil {
		return 0, false
	}
	u32 := func(off int) uint32 { return binary.NativeEndian.Uint32(b[off:]) }
	if u32(0) != walIndexVersion || b[12] != 1 { // iVersion, isInit
		return 0, false
	}
	return u32(8), true
}

// mark returns the database's current change mark.
func (c *clientCache) mark(ctx context.Context) (changeMark, error) {
	if c.counterStmt != nil {
		var m changeMark
		err := c.counterStmt.QueryRowContext(ctx).Scan(&m.counter)
		return m, err
	}
	if c.shm != nil {
		if h, ok := c.readHeader(); ok {
			return changeMark{change: h}, nil
		}
	}
	v, err := c.dataVersion(ctx)
	return changeMark{dataVersion: v}, err
}

// dataVersion reads PRAGMA data_version on the cache's own connection.
func (c *clientCache) dataVersion(ctx context.Context) (int64, error) {
	c.connMu.Lock()
	defer c.connMu.Unlock()
	var v int64
	if err := c.dataVersionStmt.QueryRowContext(ctx).Scan(&v); err != nil {
		return 0, err
	}
	return v, nil
}

// get returns what the cache knows of the client ID at mark: its client,
// or missing when no application had it; neither when it must be read.
func (c *clientCache) get(clientID string, mark changeMark) (client *tokenservice.Client, missing bool) {
	c.entriesMu.RLock()
	// Both maps are read whatever the first holds, so that known and
	// unknown IDs take the same steps.
	e, ok := c.entries[clientID]
	missingAt, wasMissing := c.missing[clientID]
	if c.alias.from == mark {
		mark = c.alias.to
	}
	c.entriesMu.RUnlock()
	if ok && e.mark == mark {
		return e.client, false
	}
	return nil, wasMissing && missingAt == mark
}

// put remembers what the database held for the client ID at mark: its
// client, or nil when no application had it.
func (c *clientCache) put(clientID string, mark changeMark, client *tokenservice.Client) {
	c.entriesMu.Lock()
	if c.alias.from == mark {
		mark = c.alias.to
	}
	if client == nil {
		if len(c.missing) >= maxMissingClients {
			c.missing = make(map[string]changeMark)
		}
		c.missing[clientID] = mark
	} else {
		if len(c.entries) >= maxCachedClients {
			c.entries = make(map[string]cachedClient)
		}
		c.entries[clientID] = cachedClient{mark: mark, client: client}
		delete(c.missing, clientID)
	}
	c.entriesMu.Unlock()
}

// beforeOwnCommit returns the change mark inside a write transaction that
// changes nothing the cache holds, for carry after its commit; ok is false
// when the mark cannot be carried (PostgreSQL's counter does not move with
// such a commit anyway; data_version says that something changed, not how
// many commits).
func (c *clientCache) beforeOwnCommit() (m changeMark, ok bool) {
	if c.counterStmt != nil || c.shm == nil {
		return changeMark{}, false
	}
	h, ok := c.readHeader()
	return changeMark{change: h}, ok
}

// carry keeps the entries valid at mark before valid after this store's
// commit. before was read while the transaction held the write lock, so no
// one else committed between it and the commit; but someone may have
// committed since. The header's change counter (iChange) grows by exactly
// one per commit, so when it is one more than before's, the only commit in
// between is ours, and the new mark stands for the old. Otherwise the
// entries stay where they were, and the next lookup reads again.
func (c *clientCache) carry(before changeMark) {
	h, ok := c.readHeader()
	if !ok || h != before.change+1 {
		return
	}
	after := changeMark{change: h}
	c.entriesMu.Lock()
	to := before
	if c.alias.from == before {
		to = c.alias.to
	}
	c.alias.from, c.alias.to = after, to
	c.entriesMu.Unlock()
}
