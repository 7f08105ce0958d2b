package baseline

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestStartRedis(t *testing.T) {
	r := testRedis(t)
	pid := r.PID()
	if err := syscall.Kill(pid, 0); err != nil {
		t.Fatalf("redis-server %d not running: %v", pid, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rdb := redis.NewClient(&redis.Options{Addr: r.Addr()})
	if err := rdb.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Fatalf("redis-server %d still exists after Close (kill 0: %v)", pid, err)
	}
	dir := filepath.Dir(r.log.Name())
	if b, err := os.ReadFile(filepath.Join(dir, "redis.log")); err != nil || len(b) == 0 {
		t.Errorf("redis.log: %v, %d bytes", err, len(b))
	}
	if _, err := os.Stat(filepath.Join(dir, "appendonlydir")); err != nil {
		t.Errorf("no append-only file: %v", err)
	}
}

func TestStartRedisMissing(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := StartRedis(context.Background(), t.TempDir())
	if err == nil || err.Error() != "redis-server not found in PATH; install Debian's redis-server package" {
		t.Fatalf("got %v", err)
	}
}
