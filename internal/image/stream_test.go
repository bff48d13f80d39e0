package image

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// A sparse 2 GiB file (a disk image, a model's weights) streams through the
// build: the heap stays a few compression blocks, not the file's size (it
// was 4.2 GiB before layers were streamed).
func TestBuildStreamsHugeFiles(t *testing.T) {
	if testing.Short() {
		t.Skip("streams gigabytes")
	}
	size := int64(2 << 30)
	if raceEnabled {
		size = 256 << 20
	}
	dir := writeContext(t, map[string]string{"Dockerfile": "FROM scratch\nCOPY . /data/\n"})
	f, err := os.Create(filepath.Join(dir, "sparse.img"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("end"), size-3); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	stop := benchHeapPeak()
	b, err := NewClient(NewKeychain(noDocker)).Build(context.Background(), buildOpts(dir))
	peak := stop()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	const limit = 100 << 20
	t.Logf("heap peak %d MiB for a %d MiB file", peak>>20, size>>20)
	if peak > limit {
		t.Errorf("heap peak %d MiB building a %d MiB file, want at most %d MiB", peak>>20, size>>20, limit>>20)
	}
	layers, err := b.Image.Layers()
	if err != nil {
		t.Fatal(err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	n, err := io.Copy(io.Discard, rc)
	if err != nil {
		t.Fatal(err)
	}
	if n < size {
		t.Errorf("the layer holds %d bytes, less than the file's %d", n, size)
	}
	// The temporary layer files go with Close.
	tmp := b.tmp
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Errorf("layer folder %s still there after Close: %v", tmp, err)
	}
}
