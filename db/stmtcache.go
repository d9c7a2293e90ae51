package db

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"
)

// maxCachedStmts bounds the statements each SQLite connection keeps
// prepared; the store's texts are few, and past the bound a statement is
// parsed for its run, as without a cache.
const maxCachedStmts = 128

// cachingConnector opens the pool's SQLite connections with a cache of
// prepared statements: the driver parses every statement it is given afresh,
// which for the list's statements costs a noticeable part of the page.
type cachingConnector struct {
	drv driver.Driver
	dsn string
}

// sqliteConn is what the cache needs of the driver's connections; the
// methods it does not override pass through.
type sqliteConn interface {
	driver.Conn
	driver.QueryerContext
	driver.ExecerContext
	driver.ConnPrepareContext
	driver.ConnBeginTx
	driver.SessionResetter
	driver.Validator
	driver.Pinger
}

// sqliteStmt is what the cache needs of the driver's statements.
type sqliteStmt interface {
	driver.Stmt
	driver.StmtQueryContext
	driver.StmtExecContext
}

func (c cachingConnector) Connect(context.Context) (driver.Conn, error) {
	conn, err := c.drv.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	sc, ok := conn.(sqliteConn)
	if !ok {
		conn.Close()
		return nil, fmt.Errorf("db: statement cache: %T lacks a method it needs", conn)
	}
	return &cachingConn{sqliteConn: sc, stmts: make(map[string]*cachedStmt)}, nil
}

func (c cachingConnector) Driver() driver.Driver { return c.drv }

// cachingConn runs each query from a statement prepared the first time it
// saw the text. database/sql uses a connection from one goroutine at a time
// (rows included), so the cache needs no lock.
type cachingConn struct {
	sqliteConn
	stmts map[string]*cachedStmt
}

// cachedStmt is a prepared statement of a connection, busy while rows it
// returned are open: a query that meets it busy (the same text run again
// before the first rows are closed) is parsed for its run instead.
type cachedStmt struct {
	stmt sqliteStmt
	busy bool
}

// cached returns the statement prepared for query, preparing it on first
// use, or nil when the query is to be run without one.
func (c *cachingConn) cached(ctx context.Context, query string) (*cachedStmt, error) {
	if s, ok := c.stmts[query]; ok {
		if s.busy {
			return nil, nil
		}
		return s, nil
	}
	if len(c.stmts) >= maxCachedStmts || explains(query) {
		return nil, nil
	}
	prepared, err := c.sqliteConn.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	stmt, ok := prepared.(sqliteStmt)
	if !ok {
		prepared.Close()
		return nil, fmt.Errorf("db: statement cache: %T lacks a method it needs", prepared)
	}
	s := &cachedStmt{stmt: stmt}
	c.stmts[query] = s
	return s, nil
}

// explains reports whether query is an EXPLAIN, which is not cached: SQLite
// answers it when preparing it, so a kept one would describe a schema that
// changed since (other statements are prepared again when it does).
func explains(query string) bool {
	word, _, _ := strings.Cut(strings.TrimSpace(query), " ")
	return strings.EqualFold(word, "EXPLAIN")
}

func (c *cachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	s, err := c.cached(ctx, query)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return c.sqliteConn.QueryContext(ctx, query, args)
	}
	rows, err := s.stmt.QueryContext(ctx, args)
	if err != nil {
		return nil, err
	}
	s.busy = true
	return &cachedRows{Rows: rows, stmt: s}, nil
}

func (c *cachingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	s, err := c.cached(ctx, query)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return c.sqliteConn.ExecContext(ctx, query, args)
	}
	return s.stmt.ExecContext(ctx, args)
}

// Close finalizes the cached statements, then closes the connection.
func (c *cachingConn) Close() error {
	var errs []error
	for query, s := range c.stmts {
		errs = append(errs, s.stmt.Close())
		delete(c.stmts, query)
	}
	return errors.Join(append(errs, c.sqliteConn.Close())...)
}

// cachedRows frees its statement for the next run when closed.
type cachedRows struct {
	driver.Rows
	stmt *cachedStmt
}

func (r *cachedRows) Close() error {
	err := r.Rows.Close()
	r.stmt.busy = false
	return err
}
