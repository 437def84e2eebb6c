package host

import (
	"crypto/sha256"
	"io"
	"os"
)

func fileSHA256(path string) ([32]byte, error) {
	var sum [32]byte
	f, err := os.Open(path)
	if err != nil {
		return sum, err
	}
	defer f.Close()
	hsh := sha256.New()
	if _, err := io.Copy(hsh, f); err != nil {
		return sum, err
	}
	copy(sum[:], hsh.Sum(nil))
	return sum, nil
}

func readFull(r io.Reader, b []byte) (int, error) { return io.ReadFull(r, b) }
