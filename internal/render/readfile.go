package render

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// MaxFileSize is the largest task definition or AppSpec file ecs-bluegreen
// reads: 1 MiB, far above any real one, and checked before the file is
// read, so a runaway file (300 MB of whitespace or of one comment) costs
// neither the runner's memory nor minutes of parsing.
const MaxFileSize = 1 << 20

// ReadFile reads a user's input file of at most MaxFileSize bytes. A file
// that does not exist gives an error matching fs.ErrNotExist (callers fall
// back to the live service); every other problem is a *FieldError naming
// the file.
func ReadFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if err != nil {
		return nil, &FieldError{File: path, Msg: "cannot be read: " + reason(err)}
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, &FieldError{File: path, Msg: "cannot be read: " + reason(err)}
	}
	switch {
	case info.IsDir():
		return nil, &FieldError{File: path, Msg: "is a folder, not a file"}
	case !info.Mode().IsRegular():
		// A pipe or a device could hold anything, or block forever.
		return nil, &FieldError{File: path, Msg: "is not a regular file"}
	case info.Size() > MaxFileSize:
		return nil, tooLarge(path, info.Size())
	}
	// The file may grow between Stat and the read: read one byte past the
	// limit to notice.
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, &FieldError{File: path, Msg: "cannot be read: " + reason(err)}
	}
	if len(data) > MaxFileSize {
		return nil, tooLarge(path, int64(len(data)))
	}
	return data, nil
}

func tooLarge(path string, size int64) error {
	return &FieldError{File: path, Msg: fmt.Sprintf("is %s; ecs-bluegreen reads task definition and AppSpec files of at most %s", humanSize(size), humanSize(MaxFileSize))}
}

func humanSize(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// reason is the operating system's word for a failure, without the path
// the FieldError already names.
func reason(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}
