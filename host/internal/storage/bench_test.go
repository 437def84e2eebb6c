package storage

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkSet measures one Set on a store of 100 keys of 1 KiB values on
// the real file system, beside its floor: the same atomic write (temp file,
// write, fsync, rename, fsync dir) of the same bytes with package os.
func BenchmarkSet(b *testing.B) {
	const keys, valueSize = 100, 1024
	value := make([]byte, valueSize)

	b.Run("store", func(b *testing.B) {
		s, err := Open(Config{Dir: b.TempDir()})
		if err != nil {
			b.Fatal(err)
		}
		for i := range keys {
			if err := s.Set(fmt.Sprintf("key-%03d", i), value); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; b.Loop(); i++ {
			value[0] = byte(i) // a real change each time
			if err := s.Set(fmt.Sprintf("key-%03d", i%keys), value); err != nil {
				b.Fatal(err)
			}
		}
	})

	b.Run("floor", func(b *testing.B) {
		dir := b.TempDir()
		data := make([]byte, keys*(len("key-000")+valueSize+4)+10)
		path := filepath.Join(dir, FileName)
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			f, err := os.CreateTemp(dir, tempPrefix+"*")
			if err != nil {
				b.Fatal(err)
			}
			if _, err := f.Write(data); err != nil {
				b.Fatal(err)
			}
			if err := f.Sync(); err != nil {
				b.Fatal(err)
			}
			if err := f.Close(); err != nil {
				b.Fatal(err)
			}
			if err := os.Rename(f.Name(), path); err != nil {
				b.Fatal(err)
			}
			d, err := os.Open(dir)
			if err != nil {
				b.Fatal(err)
			}
			if err := d.Sync(); err != nil {
				b.Fatal(err)
			}
			d.Close()
		}
	})
}
