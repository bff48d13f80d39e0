package image

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
	"runtime"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/pgzip"
)

// A layer is written once: the tar streams from the context's files through
// a parallel gzip into a temporary file, and the digest, diff id and size
// are counted on the way. Memory stays a few compression blocks whatever the
// size of the files, every byte is compressed once (go-containerregistry's
// tarball layer compresses again on push), and all cores compress.
//
// pgzip cuts the stream into fixed blocks and compresses each with the tail
// of the one before as its dictionary, so its output depends on the block
// size and the level, never on how many blocks run at once: a build on one
// core and on many give the same digest.
const (
	gzipBlockSize = 1 << 20
	gzipLevel     = gzip.BestSpeed // what go-containerregistry's tarball layers use
)

// layerFile is a compressed layer kept in a file; it implements v1.Layer.
type layerFile struct {
	path           string
	digest, diffID v1.Hash
	size           int64
	mediaType      types.MediaType
}

// writeLayer writes the tar that write produces as a gzip layer in dir,
// compressing with concurrency blocks at once (0: two per core).
func writeLayer(dir string, mt types.MediaType, concurrency int, write func(*tar.Writer) error) (_ *layerFile, err error) {
	f, err := os.CreateTemp(dir, "layer-*.tar.gz")
	if err != nil {
		return nil, fmt.Errorf("writing a layer: %w", err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("writing a layer: %w", cerr)
		}
		if err != nil {
			_ = os.Remove(f.Name())
		}
	}()
	if concurrency <= 0 {
		concurrency = 2 * runtime.GOMAXPROCS(0)
	}
	compressed := &countingHash{Hash: sha256.New()}
	zw, err := pgzip.NewWriterLevel(io.MultiWriter(f, compressed), gzipLevel)
	if err != nil {
		return nil, err
	}
	if err := zw.SetConcurrency(gzipBlockSize, concurrency); err != nil {
		return nil, err
	}
	uncompressed := sha256.New()
	tw := tar.NewWriter(io.MultiWriter(zw, uncompressed))
	if err := write(tw); err != nil {
		_ = zw.Close()
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("writing a layer: %w", err)
	}
	return &layerFile{
		path:      f.Name(),
		digest:    sha256Hash(compressed),
		diffID:    sha256Hash(uncompressed),
		size:      compressed.n,
		mediaType: mt,
	}, nil
}

func (l *layerFile) Digest() (v1.Hash, error)            { return l.digest, nil }
func (l *layerFile) DiffID() (v1.Hash, error)            { return l.diffID, nil }
func (l *layerFile) Size() (int64, error)                { return l.size, nil }
func (l *layerFile) MediaType() (types.MediaType, error) { return l.mediaType, nil }
func (l *layerFile) Compressed() (io.ReadCloser, error)  { return os.Open(l.path) }

func (l *layerFile) Uncompressed() (io.ReadCloser, error) {
	f, err := os.Open(l.path)
	if err != nil {
		return nil, err
	}
	zr, err := gzip.NewReader(f)
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{zr, f}, nil
}

type countingHash struct {
	hash.Hash
	n int64
}

func (c *countingHash) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return c.Hash.Write(p)
}

func sha256Hash(h hash.Hash) v1.Hash {
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h.Sum(nil))}
}
