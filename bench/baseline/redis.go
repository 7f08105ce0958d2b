package baseline

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Redis is a redis-server process of its own, for one benchmark run or test.
type Redis struct {
	cmd  *exec.Cmd
	addr string
	log  *os.File
	done chan struct{} // closed once the process has exited and been reaped

	closeOnce sync.Once
	closeErr  error
}

// redisStartTimeout bounds the wait for a started server to answer PING.
const redisStartTimeout = 10 * time.Second

// StartRedis starts redis-server on a free loopback port with its data
// (append-only file, fsync every second, no RDB snapshots) under dir and its
// log in dir/redis.log, and returns once it answers PING. ctx bounds the
// start only; the server runs until Close.
func StartRedis(ctx context.Context, dir string) (*Redis, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, errors.New("redis-server not found in PATH; install Debian's redis-server package")
	}
	dir, err = filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("cannot resolve redis directory: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("cannot create redis directory: %w", err)
	}
	// The port is free when picked but could be taken before the server
	// binds it; a server that exits at once is retried on another port.
	for attempt := 0; ; attempt++ {
		r, err := startRedis(ctx, bin, dir)
		if err == nil || attempt == 2 || ctx.Err() != nil || !errors.Is(err, errExited) {
			return r, err
		}
	}
}

var errExited = errors.New("redis-server exited")

func startRedis(ctx context.Context, bin, dir string) (*Redis, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(dir, "redis.log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("cannot open redis log: %w", err)
	}
	cmd := exec.Command(bin,
		"--bind", "127.0.0.1", "--port", strconv.Itoa(port), "--dir", dir,
		"--save", "", "--appendonly", "yes", "--appendfsync", "everysec",
		"--daemonize", "no", "--protected-mode", "yes")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("cannot start redis-server: %w", err)
	}
	r := &Redis{cmd: cmd, addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), log: logf, done: make(chan struct{})}
	go func() { // reaps the process; ends when it exits (Close makes sure it does)
		cmd.Wait()
		close(r.done)
	}()

	ctx, cancel := context.WithTimeout(ctx, redisStartTimeout)
	defer cancel()
	for {
		if err := ping(ctx, r.addr); err == nil {
			return r, nil
		}
		select {
		case <-r.done:
			r.Close()
			return nil, fmt.Errorf("%w during start (%s): %s", errExited, cmd.ProcessState, lastLine(logPath))
		case <-ctx.Done():
			r.Close()
			return nil, fmt.Errorf("redis-server on %s did not answer PING: %w (log %s)", r.addr, ctx.Err(), logPath)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Addr returns the server's host:port.
func (r *Redis) Addr() string { return r.addr }

// PID returns the server's process id.
func (r *Redis) PID() int { return r.cmd.Process.Pid }

// Close stops the server (SIGTERM: it flushes the append-only file and
// exits; SIGKILL if it has not within 10 s) and waits for the process.
// It is safe to call more than once.
func (r *Redis) Close() error {
	r.closeOnce.Do(func() {
		select {
		case <-r.done:
		default:
			if err := r.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
				r.closeErr = fmt.Errorf("cannot stop redis-server: %w", err)
			}
			select {
			case <-r.done:
			case <-time.After(10 * time.Second):
				r.cmd.Process.Kill()
				<-r.done
				r.closeErr = errors.New("redis-server did not stop within 10s of SIGTERM; killed")
			}
		}
		if err := r.log.Close(); err != nil && r.closeErr == nil {
			r.closeErr = fmt.Errorf("cannot close redis log: %w", err)
		}
	})
	return r.closeErr
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("cannot find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// ping sends one inline PING and expects +PONG; no client needed.
func ping(ctx context.Context, addr string) error {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if strings.TrimSpace(line) != "+PONG" {
		return fmt.Errorf("unexpected answer to PING: %q", line)
	}
	return nil
}

// lastLine returns the last non-empty line of a small log file.
func lastLine(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no log)"
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1]
}
