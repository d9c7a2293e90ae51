// Package pgserver starts a throwaway PostgreSQL server: a new cluster in a
// temporary directory, listening on a free loopback port, each user of it in
// a schema of its own. It reports errors instead of failing a test, so that
// the benchmarks link it without the testing package; tests use pgtest.
package pgserver

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// Server is a running throwaway PostgreSQL server.
type Server struct {
	// URL reaches the server's postgres database as its superuser.
	URL string

	dir     string // the temporary directory: data, socket, log
	cmd     *exec.Cmd
	exited  chan struct{} // closed when the postmaster has exited
	stopped sync.Once
	schemas atomic.Int64
}

// Start initialises a cluster in a new temporary directory and starts it.
// As root it runs initdb and the server as the postgres user (both refuse
// root). The server is a child of this process that gets SIGQUIT (immediate
// shutdown) if the process dies without calling Stop, so an interrupted or
// crashed run leaves no server behind.
func Start() (*Server, error) {
	bin, err := findBin()
	if err != nil {
		return nil, err
	}
	cred, err := credential()
	if err != nil {
		return nil, err
	}
	removeStale()
	dir, err := os.MkdirTemp("", "pgserver-")
	if err != nil {
		return nil, fmt.Errorf("pgserver: %w", err)
	}
	s := &Server{dir: dir}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("pgserver: chown %s to postgres: %w", dir, err)
		}
	}
	data := filepath.Join(dir, "data")
	// An ICU collation like a production database's, not "C": the schema
	// must itself make sort keys compare bytewise (COLLATE "C"), as SQLite
	// does.
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "--auth=trust",
		"--encoding=UTF8", "--locale=C.UTF-8", "--locale-provider=icu", "--icu-locale=en-US", "--no-sync")
	initdb.Dir = dir
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("pgserver: initdb: %v\n%s", err, out)
	}
	for attempt := 1; ; attempt++ {
		err := s.start(bin, cred)
		if err == nil {
			return s, nil
		}
		if attempt == 3 { // the free port may have been taken meanwhile
			os.RemoveAll(dir)
			return nil, err
		}
	}
}

func (s *Server) start(bin string, cred *syscall.Credential) error {
	port, err := freePort()
	if err != nil {
		return fmt.Errorf("pgserver: %w", err)
	}
	logPath := filepath.Join(s.dir, "postgres.log")
	logFile, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("pgserver: %w", err)
	}
	defer logFile.Close()
	s.cmd = exec.Command(filepath.Join(bin, "postgres"), "-D", filepath.Join(s.dir, "data"),
		"-c", "listen_addresses=127.0.0.1", "-c", "port="+strconv.Itoa(port),
		"-c", "unix_socket_directories="+s.dir,
		"-c", "max_connections=400",
		// Throwaway data: no need to survive a crash.
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	s.cmd.Dir = s.dir
	s.cmd.Stdout, s.cmd.Stderr = logFile, logFile
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGQUIT, Setpgid: true}
	s.exited = make(chan struct{})
	// The parent-death signal fires when the thread that started the child
	// exits, not the process: start it from a thread that never exits.
	started := make(chan error)
	go func() {
		runtime.LockOSThread()
		if err := s.cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		s.cmd.Wait()
		close(s.exited)
		select {} // keep the thread locked: it must not exit
	}()
	if err := <-started; err != nil {
		return fmt.Errorf("pgserver: start postgres: %w", err)
	}
	s.URL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)

	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-s.exited:
			log, _ := os.ReadFile(logPath)
			return fmt.Errorf("pgserver: postgres exited at start:\n%s", log)
		default:
		}
		if err := s.ping(); err == nil {
			return nil
		} else if time.Now().After(deadline) {
			s.Stop()
			log, _ := os.ReadFile(logPath)
			return fmt.Errorf("pgserver: postgres did not accept connections within 30s: %v\n%s", err, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *Server) ping() error {
	db, err := sql.Open("pgx", s.URL)
	if err != nil {
		return err
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	return db.PingContext(ctx)
}

// Stop shuts the server down (fast shutdown: connections are closed) and
// removes its directory.
func (s *Server) Stop() error {
	var err error
	s.stopped.Do(func() {
		if s.cmd != nil && s.cmd.Process != nil {
			s.cmd.Process.Signal(syscall.SIGINT)
			select {
			case <-s.exited:
			case <-time.After(15 * time.Second):
				// Immediate shutdown, then the whole process group.
				syscall.Kill(-s.cmd.Process.Pid, syscall.SIGQUIT)
				select {
				case <-s.exited:
				case <-time.After(5 * time.Second):
					syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
					<-s.exited
				}
				err = errors.New("pgserver: postgres did not stop within 15s")
			}
		}
		if rerr := os.RemoveAll(s.dir); err == nil {
			err = rerr
		}
	})
	return err
}

// CreateSchema creates a new empty schema and returns the URL of the
// server's database with it as the search_path: what a store opened with
// that URL creates goes there, apart from every other schema's.
func (s *Server) CreateSchema(ctx context.Context) (string, error) {
	name := fmt.Sprintf("t_%d", s.schemas.Add(1))
	db, err := sql.Open("pgx", s.URL)
	if err != nil {
		return "", err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `CREATE SCHEMA `+name); err != nil {
		return "", fmt.Errorf("pgserver: create schema: %w", err)
	}
	u, err := url.Parse(s.URL)
	if err != nil {
		return "", err
	}
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// findBin finds the directory of initdb and postgres: on the PATH, else in
// Debian's /usr/lib/postgresql/<version>/bin, the newest version first.
func findBin() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		dir := filepath.Dir(p)
		if _, err := os.Stat(filepath.Join(dir, "postgres")); err == nil {
			return dir, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, dir := range dirs {
		if _, err := os.Stat(filepath.Join(dir, "initdb")); err == nil {
			return dir, nil
		}
	}
	return "", errors.New("pgserver: PostgreSQL not found (no initdb on the PATH or in /usr/lib/postgresql/*/bin): " +
		"install it (Debian: apt-get install -y postgresql) — the store tests run on PostgreSQL too and are not skipped")
}

func version(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

// credential is who initdb and the server run as: this user, or postgres
// when this is root.
func credential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("pgserver: running as root, and PostgreSQL refuses root: need the postgres user to run it as: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// removeStale removes the directories of servers whose process was
// killed (SIGKILL leaves no time to clean up; the server itself went with
// it): older than ten minutes, with no postmaster running.
func removeStale() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "pgserver-*"))
	for _, dir := range dirs {
		st, err := os.Stat(dir)
		if err != nil || time.Since(st.ModTime()) < 10*time.Minute {
			continue
		}
		if b, err := os.ReadFile(filepath.Join(dir, "data", "postmaster.pid")); err == nil {
			pid, _ := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]))
			if pid > 0 && syscall.Kill(pid, 0) == nil {
				continue
			}
		}
		os.RemoveAll(dir)
	}
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
