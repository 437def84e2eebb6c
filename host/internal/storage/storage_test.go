package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/spf13/afero"
)

// open opens a Store over fs in dir, failing the test on error.
func open(t *testing.T, cfg Config) *Store {
	t.Helper()
	s, err := Open(cfg)
	requireNoError(t, err)
	return s
}

// contents returns everything s holds, for comparing whole states.
func contents(t *testing.T, s *Store) map[string]string {
	t.Helper()
	m := make(map[string]string)
	for _, k := range s.Info().Keys {
		v, err := s.Get(k)
		requireNoError(t, err, "get %q", k)
		m[k] = string(v)
	}
	return m
}

// setCase is one Set of a table: key to value, and the error it must wrap
// (nil for none).
type setCase struct {
	name    string
	key     string
	value   string
	wantErr error
}

func TestValidation(t *testing.T) {
	tests := []setCase{
		{"ok", "a", "1", nil},
		{"empty value", "empty", "", nil},
		{"binary value", "bin", "\x00\xff\x00", nil},
		{"unicode key", "键", "值", nil},
		{"key at limit", strings.Repeat("k", 16), "v", nil},
		{"value at limit", "full", strings.Repeat("v", 32), nil},
		{"empty key", "", "v", ErrInvalidKey},
		{"invalid utf8 key", "a\xffb", "v", ErrInvalidKey},
		{"key too long", strings.Repeat("k", 17), "v", ErrTooBig},
		{"value too long", "big", strings.Repeat("v", 33), ErrTooBig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t, Config{Fs: afero.NewMemMapFs(), Dir: "/app", MaxKey: 16, MaxValue: 32})
			err := s.Set(tt.key, []byte(tt.value))
			if tt.wantErr != nil {
				requireErrorIs(t, err, tt.wantErr)
				assertEmpty(t, s.Info().Keys, "a refused Set stored something")
				if len(tt.value) > 32 {
					return // the key is fine
				}
				_, err = s.Get(tt.key)
				assertErrorIs(t, err, tt.wantErr, "Get validates keys like Set")
				assertErrorIs(t, s.Remove(tt.key), tt.wantErr, "Remove validates keys like Set")
				return
			}
			requireNoError(t, err)
			got, err := s.Get(tt.key)
			requireNoError(t, err)
			assertEqual(t, tt.value, string(got))
			assertEqual(t, int64(len(tt.key)+len(tt.value)), s.Info().CurrentSize)
		})
	}
}

func TestGetSetRemoveClear(t *testing.T) {
	s := open(t, Config{Fs: afero.NewMemMapFs(), Dir: "/app"})

	_, err := s.Get("missing")
	requireErrorIs(t, err, ErrNotFound)
	requireNoError(t, s.Remove("missing"), "removing a missing key is not an error")

	requireNoError(t, s.Set("b", []byte("22")))
	requireNoError(t, s.Set("a", []byte("1")))
	requireNoError(t, s.Set("b", []byte("333")))
	assertEqual(t, Info{Keys: []string{"a", "b"}, CurrentSize: 1 + 1 + 1 + 3, LimitSize: DefaultQuota}, s.Info())

	v, err := s.Get("b")
	requireNoError(t, err)
	v[0] = 'X' // the caller owns the copy
	v, _ = s.Get("b")
	assertEqual(t, "333", string(v))

	in := []byte("value")
	requireNoError(t, s.Set("c", in))
	in[0] = 'X' // the store keeps its own copy
	v, _ = s.Get("c")
	assertEqual(t, "value", string(v))

	requireNoError(t, s.Remove("a"))
	_, err = s.Get("a")
	requireErrorIs(t, err, ErrNotFound)
	assertEqual(t, int64(1+3+1+5), s.Info().CurrentSize)

	requireNoError(t, s.Clear())
	assertEqual(t, Info{Keys: []string{}, CurrentSize: 0, LimitSize: DefaultQuota}, s.Info())
}

func TestPersistence(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "apps", "demo.counter") // Open creates it
	s := open(t, Config{Dir: dir})
	want := map[string]string{"launches": "3", "empty": "", "bin": "\x00\x01\xff", "键": "值"}
	for k, v := range want {
		requireNoError(t, s.Set(k, []byte(v)))
	}
	requireNoError(t, s.Set("gone", []byte("soon")))
	requireNoError(t, s.Remove("gone"))

	again := open(t, Config{Dir: dir})
	assertEqual(t, want, contents(t, again))
	assertEqual(t, s.Info(), again.Info())

	info, err := os.Stat(filepath.Join(dir, FileName))
	requireNoError(t, err)
	assertEqual(t, os.FileMode(0o600), info.Mode().Perm(), "storage is private to the user")
	entries, err := os.ReadDir(dir)
	requireNoError(t, err)
	requireLen(t, entries, 1, "only the data file remains: %v", entries)

	requireNoError(t, again.Clear())
	assertEmpty(t, contents(t, open(t, Config{Dir: dir})))
}

func TestQuota(t *testing.T) {
	fs := afero.NewMemMapFs()
	s := open(t, Config{Fs: fs, Dir: "/app", Quota: 20})
	requireNoError(t, s.Set("a", []byte("123456789"))) // 10 bytes
	requireNoError(t, s.Set("b", []byte("12345678")))  // 19 bytes
	before, err := afero.ReadFile(fs, "/app/"+FileName)
	requireNoError(t, err)

	tests := []setCase{
		{"new key over", "c", "12", ErrQuota},
		{"growing a value over", "b", "1234567890", ErrQuota},
		{"exactly at quota", "c", "", nil}, // 19 + 1 = 20
		{"shrinking", "a", "1", nil},
		{"growing within", "a", "12345678", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			state := contents(t, s)
			err := s.Set(tt.key, []byte(tt.value))
			if tt.wantErr == nil {
				requireNoError(t, err)
				assertLessOrEqual(t, s.Info().CurrentSize, int64(20))
				return
			}
			requireErrorIs(t, err, tt.wantErr)
			assertEqual(t, state, contents(t, s), "a refused Set changed the store")
			assertContains(t, err.Error(), "quota of 20")
		})
	}

	// A refused Set writes nothing: the file is as the last successful
	// change left it.
	after, err := afero.ReadFile(fs, "/app/"+FileName)
	requireNoError(t, err)
	assertNotEqual(t, before, after)
	requireErrorIs(t, s.Set("z", []byte("too much")), ErrQuota)
	unchanged, err := afero.ReadFile(fs, "/app/"+FileName)
	requireNoError(t, err)
	assertEqual(t, after, unchanged)
}

func TestQuotaLowered(t *testing.T) {
	fs := afero.NewMemMapFs()
	s := open(t, Config{Fs: fs, Dir: "/app"})
	requireNoError(t, s.Set("k", bytes.Repeat([]byte("v"), 100)))

	// Reopened with a smaller quota, the data loads, may shrink, may not grow.
	s = open(t, Config{Fs: fs, Dir: "/app", Quota: 50})
	assertEqual(t, int64(101), s.Info().CurrentSize)
	requireErrorIs(t, s.Set("k", bytes.Repeat([]byte("v"), 101)), ErrQuota)
	requireErrorIs(t, s.Set("x", nil), ErrQuota)
	requireNoError(t, s.Set("k", bytes.Repeat([]byte("v"), 80)))
	requireNoError(t, s.Remove("k"))
	requireNoError(t, s.Set("x", []byte("fits now")))
}

// faultFs wraps an afero.Fs and fails one kind of operation on demand.
type faultFs struct {
	afero.Fs
	mu   sync.Mutex
	fail string // "openfile", "write", "sync", "close", "rename", "dirsync", or "" for none
}

var errFault = errors.New("injected fault")

func (f *faultFs) failing(op string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.fail == op
}

func (f *faultFs) setFail(op string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail = op
}

func (f *faultFs) OpenFile(name string, flag int, perm os.FileMode) (afero.File, error) {
	if f.failing("openfile") {
		return nil, errFault
	}
	file, err := f.Fs.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return &faultFile{File: file, fs: f}, nil
}

func (f *faultFs) Open(name string) (afero.File, error) {
	file, err := f.Fs.Open(name)
	if err != nil {
		return nil, err
	}
	return &faultFile{File: file, fs: f}, nil
}

func (f *faultFs) Rename(oldname, newname string) error {
	if f.failing("rename") {
		return errFault
	}
	return f.Fs.Rename(oldname, newname)
}

type faultFile struct {
	afero.File
	fs *faultFs
}

func (f *faultFile) Write(p []byte) (int, error) {
	if f.fs.failing("write") {
		// A real disk fails part way: leave half the bytes behind.
		n, _ := f.File.Write(p[:len(p)/2])
		return n, errFault
	}
	return f.File.Write(p)
}

func (f *faultFile) Sync() error {
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if f.fs.failing("dirsync") && st.IsDir() || f.fs.failing("sync") && !st.IsDir() {
		return errFault
	}
	return f.File.Sync()
}

func (f *faultFile) Close() error {
	err := f.File.Close()
	if f.fs.failing("close") {
		return errFault
	}
	return err
}

func TestWriteFailureKeepsState(t *testing.T) {
	ops := []struct {
		name   string
		change func(s *Store) error
	}{
		{"set new", func(s *Store) error { return s.Set("new", []byte("value")) }},
		{"set existing", func(s *Store) error { return s.Set("a", []byte("changed")) }},
		{"remove", func(s *Store) error { return s.Remove("a") }},
		{"clear", func(s *Store) error { return s.Clear() }},
	}
	for _, fault := range []string{"openfile", "write", "sync", "close", "rename"} {
		for _, op := range ops {
			t.Run(fault+"/"+op.name, func(t *testing.T) {
				mem := afero.NewMemMapFs()
				fs := &faultFs{Fs: mem}
				s := open(t, Config{Fs: fs, Dir: "/app"})
				requireNoError(t, s.Set("a", []byte("1")))
				requireNoError(t, s.Set("b", []byte("22")))
				want, wantInfo := contents(t, s), s.Info()
				file, err := afero.ReadFile(mem, "/app/"+FileName)
				requireNoError(t, err)

				fs.setFail(fault)
				err = op.change(s)
				requireErrorIs(t, err, errFault)
				assertContains(t, err.Error(), "save storage")

				assertEqual(t, want, contents(t, s), "in memory")
				assertEqual(t, wantInfo, s.Info())
				after, err := afero.ReadFile(mem, "/app/"+FileName)
				requireNoError(t, err)
				assertEqual(t, file, after, "on disk")
				names, err := afero.ReadDir(mem, "/app")
				requireNoError(t, err)
				assertLen(t, names, 1, "a temporary file was left behind")
				assertEqual(t, want, contents(t, open(t, Config{Fs: mem, Dir: "/app"})), "reopened")

				// The store is not wedged: the next change works.
				fs.setFail("")
				requireNoError(t, op.change(s))
				assertEqual(t, contents(t, s), contents(t, open(t, Config{Fs: mem, Dir: "/app"})))
			})
		}
	}
}

func TestDirSyncFailureKeepsChange(t *testing.T) {
	mem := afero.NewMemMapFs()
	fs := &faultFs{Fs: mem}
	s := open(t, Config{Fs: fs, Dir: "/app"})
	requireNoError(t, s.Set("a", []byte("1")))
	fs.setFail("dirsync")
	// The new file already replaced the old one: memory must match disk.
	requireErrorIs(t, s.Set("a", []byte("2")), errFault)
	want := map[string]string{"a": "2"}
	assertEqual(t, want, contents(t, s))
	assertEqual(t, want, contents(t, open(t, Config{Fs: mem, Dir: "/app"})))
}

func TestIsolation(t *testing.T) {
	root := t.TempDir()
	a := open(t, Config{Dir: filepath.Join(root, "demo.a")})
	b := open(t, Config{Dir: filepath.Join(root, "demo.b")})
	requireNoError(t, a.Set("k", []byte("from a")))
	requireNoError(t, b.Set("k", []byte("from b")))
	requireNoError(t, b.Set("only-b", []byte("x")))
	requireNoError(t, a.Clear())

	assertEmpty(t, contents(t, a))
	assertEqual(t, map[string]string{"k": "from b", "only-b": "x"}, contents(t, b))
	assertEmpty(t, contents(t, open(t, Config{Dir: filepath.Join(root, "demo.a")})))
	assertEqual(t, map[string]string{"k": "from b", "only-b": "x"},
		contents(t, open(t, Config{Dir: filepath.Join(root, "demo.b")})))
}

func TestConcurrentSet(t *testing.T) {
	fs := afero.NewMemMapFs()
	s := open(t, Config{Fs: fs, Dir: "/app"})
	const workers, each = 8, 25
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				key := fmt.Sprintf("w%d-%d", w, i)
				assertNoError(t, s.Set(key, []byte(key)))
				assertNoError(t, s.Set("shared", []byte(key)))
				_, err := s.Get(key)
				assertNoError(t, err)
				_ = s.Info()
			}
		})
	}
	wg.Wait()

	got := contents(t, open(t, Config{Fs: fs, Dir: "/app"}))
	assertLen(t, got, workers*each+1)
	for w := range workers {
		for i := range each {
			key := fmt.Sprintf("w%d-%d", w, i)
			assertEqual(t, key, got[key])
		}
	}
	assertEqual(t, contents(t, s), got)
}

// file builds a data file with a valid checksum around body.
func file(body ...[]byte) []byte {
	b := bytes.Join(body, nil)
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

func entry(k, v string) []byte {
	b := binary.AppendUvarint(nil, uint64(len(k)))
	b = append(b, k...)
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

func TestOpenCorrupt(t *testing.T) {
	head := []byte(magic + "\x01")
	good := file(head, []byte{2}, entry("a", "1"), entry("b", "2"))
	flipped := bytes.Clone(good)
	flipped[len(head)+3] ^= 1
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "not a storage file"},
		{"json", []byte(`{"a":"1"}`), "not a storage file"},
		{"future format", file([]byte(magic+"\x02"), []byte{0}), "format 2"},
		{"truncated", good[:len(good)-3], "checksum"},
		{"bit flip", flipped, "checksum"},
		{"count too big", file(head, []byte{100}, entry("a", "1")), "entry count"},
		{"value past end", file(head, []byte{1}, []byte{1, 'a', 50, 'x'}), "past the end"},
		{"duplicate key", file(head, []byte{2}, entry("a", "1"), entry("a", "2")), "entry 1"},
		{"unsorted keys", file(head, []byte{2}, entry("b", "1"), entry("a", "2")), "entry 1"},
		{"empty key", file(head, []byte{1}, entry("", "1"), []byte{0}), "entry 0"},
		{"trailing bytes", file(head, []byte{1}, entry("a", "1"), []byte{0}), "after the last entry"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := afero.NewMemMapFs()
			requireNoError(t, afero.WriteFile(fs, "/app/"+FileName, tt.data, 0o600))
			_, err := Open(Config{Fs: fs, Dir: "/app"})
			requireError(t, err)
			assertContains(t, err.Error(), filepath.Join("/app", FileName), "the error names the file")
			assertContains(t, err.Error(), tt.want)
			kept, _ := afero.ReadFile(fs, "/app/"+FileName)
			assertEqual(t, string(tt.data), string(kept), "a corrupt file is left for inspection")
		})
	}

	fs := afero.NewMemMapFs()
	requireNoError(t, afero.WriteFile(fs, "/app/"+FileName, good, 0o600))
	assertEqual(t, map[string]string{"a": "1", "b": "2"}, contents(t, open(t, Config{Fs: fs, Dir: "/app"})),
		"the hand-built file is valid, so the cases above fail for the reason they name")
}

func TestEncodeDecode(t *testing.T) {
	tests := []struct {
		name string
		data map[string][]byte
	}{
		{"empty", map[string][]byte{}},
		{"one", map[string][]byte{"k": []byte("v")}},
		{"binary and empty", map[string][]byte{"z": {0, 0xff}, "e": nil, "键": []byte("值")}},
		{"long", map[string][]byte{strings.Repeat("k", 1024): bytes.Repeat([]byte{7}, 1<<20)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var size int64
			for k, v := range tt.data {
				size += int64(len(k) + len(v))
			}
			got, gotSize, err := decode(encode(tt.data, size))
			requireNoError(t, err)
			assertEqual(t, size, gotSize)
			requireLen(t, got, len(tt.data))
			for k, v := range tt.data {
				assertEqual(t, string(v), string(got[k]))
			}
		})
	}
}

func TestOpen(t *testing.T) {
	_, err := Open(Config{Fs: afero.NewMemMapFs()})
	requireErrorContains(t, err, "Config.Dir")

	// Leftovers of an interrupted save are removed; other files are kept.
	fs := afero.NewMemMapFs()
	requireNoError(t, afero.WriteFile(fs, "/app/"+tempPrefix+"123", []byte("partial"), 0o600))
	requireNoError(t, afero.WriteFile(fs, "/app/notes.txt", []byte("mine"), 0o600))
	s := open(t, Config{Fs: fs, Dir: "/app"})
	assertEqual(t, Info{Keys: []string{}, LimitSize: DefaultQuota}, s.Info())
	_, err = fs.Stat("/app/" + tempPrefix + "123")
	assertErrorIs(t, err, os.ErrNotExist)
	_, err = fs.Stat("/app/notes.txt")
	assertNoError(t, err)

	// A directory that cannot be created is reported.
	ro := afero.NewReadOnlyFs(afero.NewMemMapFs())
	_, err = Open(Config{Fs: ro, Dir: "/nope"})
	requireErrorContains(t, err, "open storage")
}

func Example() {
	s, err := Open(Config{Fs: afero.NewMemMapFs(), Dir: "/home/.minihost/storage/demo.counter"})
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = s.Set("launches", []byte("1"))
	v, _ := s.Get("launches")
	_, err = s.Get("nothing")
	fmt.Println(string(v), errors.Is(err, ErrNotFound))
	fmt.Printf("%+v\n", s.Info())
	// Output:
	// 1 true
	// {Keys:[launches] CurrentSize:9 LimitSize:10485760}
}
