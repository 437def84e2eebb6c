// Package storage is the per-app key/value store behind the wx storage API
// (set_storage, get_storage, remove_storage, clear_storage,
// get_storage_info): one Store per app, held in memory and persisted in one
// file in the app's directory, rewritten atomically on every change, with
// the limits of ABI version 1 (keys of at most 1 KiB, values of at most
// 1 MiB, a total of keys plus values bounded by a quota of 10 MiB by
// default).
package storage

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/spf13/afero"

	"github.com/minihost/minihost/runtime/fsutil"
)

// Defaults for the zero fields of Config, as in WeChat and runtime/ABI.md.
const (
	DefaultQuota    = 10 << 20 // bytes of keys plus values per app
	DefaultMaxKey   = 1024     // bytes per key
	DefaultMaxValue = 1 << 20  // bytes per value
)

// FileName is the name of the data file in Config.Dir.
const FileName = "storage.kv"

// tempPrefix starts the names of temporary files in Config.Dir, and
// legacyTempPrefix those of versions before fsutil named them; Open removes
// leftovers of an interrupted write.
var tempPrefix = fsutil.TempPrefix(FileName)

const legacyTempPrefix = FileName + ".tmp-"

// Errors a Store returns. Errors from Set, Get and Remove wrap them with
// details; test with errors.Is.
var (
	// ErrNotFound means no value is stored under the key.
	ErrNotFound = errors.New("storage: key not found")
	// ErrQuota means the change would take the store over its quota.
	ErrQuota = errors.New("storage: quota exceeded")
	// ErrTooBig means a key or a value is longer than its limit.
	ErrTooBig = errors.New("storage: key or value too big")
	// ErrInvalidKey means a key is empty or not valid UTF-8.
	ErrInvalidKey = errors.New("storage: invalid key")
)

// Config says where a Store keeps its data and how much it may hold. The
// zero value of each limit means its default.
type Config struct {
	// Fs is the file system holding Dir; nil means the OS file system.
	Fs afero.Fs
	// Dir is the app's storage directory, created if missing. One Store
	// at a time may use a directory.
	Dir string
	// Quota bounds the bytes of all keys plus all values (DefaultQuota).
	Quota int64
	// MaxKey bounds the bytes of one key (DefaultMaxKey).
	MaxKey int
	// MaxValue bounds the bytes of one value (DefaultMaxValue).
	MaxValue int
}

// Info describes a Store's contents.
type Info struct {
	// Keys lists every key, sorted.
	Keys []string
	// CurrentSize is the bytes of all keys plus all values.
	CurrentSize int64
	// LimitSize is the quota in bytes.
	LimitSize int64
}

// Store is one app's key/value storage. Every change is written to disk
// before the method returns; a change that cannot be written is undone.
// A Store holds no open files and needs no Close. It is safe for
// concurrent use by multiple goroutines.
type Store struct {
	fs       afero.Fs
	dir      string
	path     string
	quota    int64
	maxKey   int
	maxValue int

	mu   sync.Mutex
	data map[string][]byte
	size int64 // bytes of keys plus values in data
}

// Open returns the Store kept in cfg.Dir, loading the data a previous
// Store saved there. It fails if the directory cannot be created or the
// data file cannot be read or is corrupt (the file is left as it is).
func Open(cfg Config) (*Store, error) {
	if cfg.Dir == "" {
		return nil, errors.New("open storage: Config.Dir is empty")
	}
	if cfg.Fs == nil {
		cfg.Fs = afero.NewOsFs()
	}
	if cfg.Quota <= 0 {
		cfg.Quota = DefaultQuota
	}
	if cfg.MaxKey <= 0 {
		cfg.MaxKey = DefaultMaxKey
	}
	if cfg.MaxValue <= 0 {
		cfg.MaxValue = DefaultMaxValue
	}
	s := &Store{
		fs:       cfg.Fs,
		dir:      cfg.Dir,
		path:     filepath.Join(cfg.Dir, FileName),
		quota:    cfg.Quota,
		maxKey:   cfg.MaxKey,
		maxValue: cfg.MaxValue,
	}
	if err := s.fs.MkdirAll(s.dir, 0o700); err != nil {
		return nil, fmt.Errorf("open storage: %w", err)
	}
	s.removeTemps()
	b, err := afero.ReadFile(s.fs, s.path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		s.data = make(map[string][]byte)
	case err != nil:
		return nil, fmt.Errorf("open storage: %w", err)
	default:
		s.data, s.size, err = decode(b)
		if err != nil {
			return nil, fmt.Errorf("open storage: %s: %w", s.path, err)
		}
	}
	return s, nil
}

// removeTemps deletes temporary files an interrupted save left behind.
// Failing to is harmless, so errors are ignored.
func (s *Store) removeTemps() {
	entries, err := afero.ReadDir(s.fs, s.dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), tempPrefix) || strings.HasPrefix(e.Name(), legacyTempPrefix) {
			_ = s.fs.Remove(filepath.Join(s.dir, e.Name()))
		}
	}
}

// checkKey reports whether key is acceptable.
func (s *Store) checkKey(key string) error {
	switch {
	case key == "":
		return fmt.Errorf("%w: empty", ErrInvalidKey)
	case len(key) > s.maxKey:
		return fmt.Errorf("key of %d bytes, over the limit of %d: %w", len(key), s.maxKey, ErrTooBig)
	case !utf8.ValidString(key):
		return fmt.Errorf("%w: not valid UTF-8", ErrInvalidKey)
	}
	return nil
}

// Get returns a copy of the value stored under key, or an error wrapping
// ErrNotFound, ErrInvalidKey or ErrTooBig.
func (s *Store) Get(key string) ([]byte, error) {
	if err := s.checkKey(key); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.data[key]
	if !ok {
		return nil, ErrNotFound
	}
	return bytes.Clone(v), nil
}

// Set stores a copy of value under key and saves the store. It fails,
// changing nothing, with an error wrapping ErrInvalidKey, ErrTooBig or
// ErrQuota when the key or value is not acceptable, and with the write
// error when the store cannot be saved. The one exception is a failure to
// sync the directory after the new file replaced the old one: the change
// is then in place, in memory and on disk, but might not survive a power
// failure, and Set still returns the error.
func (s *Store) Set(key string, value []byte) error {
	if err := s.checkKey(key); err != nil {
		return err
	}
	if len(value) > s.maxValue {
		return fmt.Errorf("value of %d bytes, over the limit of %d: %w", len(value), s.maxValue, ErrTooBig)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old, had := s.data[key]
	if had && bytes.Equal(old, value) {
		return nil
	}
	size := s.size + int64(len(key)+len(value))
	if had {
		size -= int64(len(key) + len(old))
	}
	// A store already over its quota (the quota was lowered) may still
	// shrink.
	if size > s.quota && size > s.size {
		return fmt.Errorf("storage would hold %d bytes, over the quota of %d: %w", size, s.quota, ErrQuota)
	}
	oldSize := s.size
	s.data[key] = bytes.Clone(value)
	s.size = size
	if err := s.save(); err != nil {
		if !errors.Is(err, fsutil.ErrNotDurable) {
			if had {
				s.data[key] = old
			} else {
				delete(s.data, key)
			}
			s.size = oldSize
		}
		return err
	}
	return nil
}

// Remove deletes key and saves the store; removing a missing key is not an
// error. Like Set, it changes nothing when it fails, unless only the final
// directory sync failed.
func (s *Store) Remove(key string) error {
	if err := s.checkKey(key); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old, had := s.data[key]
	if !had {
		return nil
	}
	delete(s.data, key)
	s.size -= int64(len(key) + len(old))
	if err := s.save(); err != nil {
		if !errors.Is(err, fsutil.ErrNotDurable) {
			s.data[key] = old
			s.size += int64(len(key) + len(old))
		}
		return err
	}
	return nil
}

// Clear deletes every key and saves the store. Like Set, it changes
// nothing when it fails, unless only the final directory sync failed.
func (s *Store) Clear() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.data) == 0 {
		return nil
	}
	old, oldSize := s.data, s.size
	s.data, s.size = make(map[string][]byte), 0
	if err := s.save(); err != nil {
		if !errors.Is(err, fsutil.ErrNotDurable) {
			s.data, s.size = old, oldSize
		}
		return err
	}
	return nil
}

// Info returns the keys, sorted, and the space used and allowed.
func (s *Store) Info() Info {
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := make([]string, 0, len(s.data))
	for k := range s.data {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return Info{Keys: keys, CurrentSize: s.size, LimitSize: s.quota}
}

// save writes s.data to s.path atomically (fsutil.WriteFile). An error
// wrapping fsutil.ErrNotDurable came after the new file replaced the old
// one: the change is on disk and must not be undone in memory. s.mu is
// held.
func (s *Store) save() error {
	if err := fsutil.WriteFile(s.fs, s.path, encode(s.data, s.size), 0o600); err != nil {
		return fmt.Errorf("save storage: %w", err)
	}
	return nil
}
