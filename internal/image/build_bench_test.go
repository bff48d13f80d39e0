package image

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"
)

// BenchmarkBuild measures what a build job does with a context: build, then
// read every layer's digest and compressed bytes as a push does. It uses only
// Build's public API, so the same file measures an older checkout of this
// package for comparison (see the README's benchmark section). Figures:
// peak heap, cores busy (CPU time over wall time), CPU seconds per build,
// MiB/s of context.
//
//	go test -run '^$' -bench BenchmarkBuild -benchtime 3x ./internal/image
func BenchmarkBuild(b *testing.B) {
	for _, bc := range []struct {
		name  string
		write func(b *testing.B, dir string) int64
	}{
		{"one-500MiB-file", func(b *testing.B, dir string) int64 {
			b.Helper()
			return benchFile(b, filepath.Join(dir, "asset.bin"), 500<<20)
		}},
		{"10000-small-files", func(b *testing.B, dir string) int64 {
			b.Helper()
			var total int64
			r := rand.New(rand.NewPCG(1, 2))
			for i := range 10000 {
				total += benchFile(b, filepath.Join(dir, fmt.Sprintf("d%02d/f%05d.js", i%50, i)), 512+r.Int64N(8<<10))
			}
			return total
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			dir := b.TempDir()
			size := bc.write(b, filepath.Join(dir, "src"))
			if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\nCOPY src/ /srv/\n"), 0o644); err != nil {
				b.Fatal(err)
			}
			o := BuildOptions{Context: dir, Dockerfile: filepath.Join(dir, "Dockerfile"), Created: time.Unix(1700000000, 0)}
			var peak uint64
			var cpu, wall time.Duration
			b.ResetTimer()
			for range b.N {
				runtime.GC()
				stop := benchHeapPeak()
				c0, t0 := benchCPU(), time.Now()
				built, err := NewClient(NewKeychain(noDocker)).Build(context.Background(), o)
				if err != nil {
					b.Fatal(err)
				}
				benchPushRead(b, built)
				wall += time.Since(t0)
				cpu += benchCPU() - c0
				peak = max(peak, stop())
				if c, ok := any(built).(io.Closer); ok {
					_ = c.Close()
				}
			}
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
			b.ReportMetric(cpu.Seconds()/wall.Seconds(), "cores-busy")
			b.ReportMetric(float64(size)/(1<<20)/(wall.Seconds()/float64(b.N)), "MiB/s")
			b.ReportMetric(float64(runtime.GOMAXPROCS(0)), "cores")
			// CPU time per build: what the work costs, whatever else the
			// machine is running (wall time is not, on a shared machine).
			b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
		})
	}
}

// benchPushRead reads what a push reads: each layer's digest, then its
// compressed bytes.
func benchPushRead(b *testing.B, built *Built) {
	b.Helper()
	layers, err := built.Image.Layers()
	if err != nil {
		b.Fatal(err)
	}
	for _, l := range layers {
		if _, err := l.Digest(); err != nil {
			b.Fatal(err)
		}
		rc, err := l.Compressed()
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, rc); err != nil {
			b.Fatal(err)
		}
		_ = rc.Close()
	}
}

// benchFile writes size bytes that compress about as well as program code
// and assets do (around 3:1), deterministically.
func benchFile(b *testing.B, p string, size int64) int64 {
	b.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		b.Fatal(err)
	}
	f, err := os.Create(p)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	r := rand.New(rand.NewPCG(uint64(size), 7))
	words := make([][]byte, 512)
	for i := range words {
		w := make([]byte, 3+r.IntN(9))
		for j := range w {
			w[j] = byte('a' + r.IntN(26))
		}
		words[i] = append(w, ' ')
	}
	buf := make([]byte, 0, min(size+32, 1<<20))
	for written := int64(0); written < size; {
		buf = buf[:0]
		for len(buf) < cap(buf)-16 {
			if r.IntN(8) == 0 {
				buf = append(buf, byte(r.Uint32()), byte(r.Uint32()))
			}
			buf = append(buf, words[r.IntN(len(words))]...)
		}
		n := min(int64(len(buf)), size-written)
		if _, err := f.Write(buf[:n]); err != nil {
			b.Fatal(err)
		}
		written += n
	}
	return size
}

func benchCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func benchHeapPeak() (stop func() uint64) {
	var (
		mu   sync.Mutex
		peak uint64
		done = make(chan struct{})
		wg   sync.WaitGroup
	)
	sample := func() {
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		mu.Lock()
		peak = max(peak, m.HeapInuse)
		mu.Unlock()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				sample()
			}
		}
	}()
	return func() uint64 {
		close(done)
		wg.Wait()
		sample()
		return peak
	}
}
