package db

import (
	"context"
	"database/sql"
	"encoding/binary"
	"os"
	"sync"

	"tokenservice"
)

// clientCache keeps the token endpoint's clients, and the client IDs no
// application has, each under the database's change mark it was read at,
// used only while the mark is unchanged (see docs/store-notes.md).
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

// changeMark is the database's state as the cache sees it: it changes with
// every commit on SQLite, and with every change to a client on PostgreSQL.
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
// hundred bytes per client, about a hundred per unknown ID). Past the first
// the clients start again empty; past the second one unknown ID, chosen at
// random, makes room, so that a flood cannot empty the unknown IDs at will.
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
			for id := range c.missing { // Go ranges over a map from a random place
				delete(c.missing, id)
				break
			}
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
// changes nothing the cache holds, for carry; ok is false without the WAL
// index (data_version cannot count commits; PostgreSQL's counter stays).
func (c *clientCache) beforeOwnCommit() (m changeMark, ok bool) {
	if c.counterStmt != nil || c.shm == nil {
		return changeMark{}, false
	}
	h, ok := c.readHeader()
	return changeMark{change: h}, ok
}

// carry keeps the entries of mark before valid after this store's commit:
// iChange grows by one per commit, so if it grew by exactly one since
// before, the commit was ours alone and the new mark stands for the old.
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
