package compilecache

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/minihost/minihost/runtime/fsutil"
)

// kit is an Index on a temp folder with a clock the test moves, and a
// stand-in for wazero: compiling module n writes its file, "entryN", of
// size bytes, into a wazero version folder, as wazero's file cache does.
type kit struct {
	t    *testing.T
	x    *Index
	dir  string
	now  time.Time
	size int
}

const wazeroDir = "wazero-v1.12.0-amd64-linux"

func newKit(t *testing.T, max int64, size int) *kit {
	k := &kit{t: t, dir: t.TempDir(), now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), size: size}
	k.x = New(k.dir, max)
	k.x.Now = func() time.Time { return k.now }
	k.x.OnError = func(err error) { t.Errorf("bookkeeping: %v", err) }
	require.NoError(t, os.MkdirAll(filepath.Join(k.dir, wazeroDir), 0o700))
	return k
}

func key(n byte) [32]byte { return [32]byte{n} }

// compile runs module n's compile through the Index an hour after the
// last one; a miss writes the module's file.
func (k *kit) compile(n byte) {
	k.t.Helper()
	k.now = k.now.Add(time.Hour)
	err := k.x.Use(key(n), func() error {
		p := filepath.Join(k.dir, wazeroDir, "entry"+string('0'+n))
		if _, err := os.Stat(p); err == nil {
			return nil // a hit
		}
		return os.WriteFile(p, make([]byte, k.size), 0o600)
	})
	require.NoError(k.t, err)
}

// files lists the module files present.
func (k *kit) files() []string {
	k.t.Helper()
	entries, err := k.x.entries(true)
	require.NoError(k.t, err)
	var names []string
	for name := range entries {
		names = append(names, filepath.Base(name))
	}
	sort.Strings(names)
	return names
}

func TestEvictsLeastRecentlyUsed(t *testing.T) {
	tests := []struct {
		name    string
		compile []byte // modules compiled in order
		pinned  []byte
		want    []string
	}{
		{"under the bound keeps all", []byte{1, 2, 3}, nil, []string{"entry1", "entry2", "entry3"}},
		{"oldest goes first", []byte{1, 2, 3, 4}, nil, []string{"entry2", "entry3", "entry4"}},
		{"a hit makes an entry recent", []byte{1, 2, 3, 1, 4}, nil, []string{"entry1", "entry3", "entry4"}},
		{"a pinned entry stays", []byte{1, 2, 3, 4, 5}, []byte{1}, []string{"entry1", "entry4", "entry5"}},
		{"an evicted module is relearned", []byte{1, 2, 3, 4, 1, 5}, nil, []string{"entry1", "entry4", "entry5"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := newKit(t, 30, 10) // three entries fit
			for _, n := range tt.pinned {
				k.x.Pin(key(n))
			}
			for _, n := range tt.compile {
				k.compile(n)
			}
			require.Equal(t, tt.want, k.files())
			refs, err := os.ReadDir(filepath.Join(k.dir, refDir))
			require.NoError(t, err)
			require.Len(t, refs, len(tt.want), "a ref per kept entry, none for evicted ones")
		})
	}
}

func TestUnpinLetsEvictionTakeIt(t *testing.T) {
	k := newKit(t, 20, 10)
	k.x.Pin(key(1))
	k.compile(1)
	k.compile(2)
	k.compile(3)
	require.Equal(t, []string{"entry1", "entry3"}, k.files())
	k.x.Unpin(key(1))
	k.compile(4)
	require.Equal(t, []string{"entry3", "entry4"}, k.files())
}

// TestUnknownFilesAgeByTheirTime covers files no ref names, for example
// from before the Index: they are evicted by wazero's write time.
func TestUnknownFilesAgeByTheirTime(t *testing.T) {
	k := newKit(t, 20, 10)
	old := filepath.Join(k.dir, wazeroDir, "stranger")
	require.NoError(t, os.WriteFile(old, make([]byte, 10), 0o600))
	require.NoError(t, os.Chtimes(old, k.now.Add(-time.Hour), k.now.Add(-time.Hour)))
	tmp := filepath.Join(k.dir, wazeroDir, "entry9.123.tmp") // wazero writing
	require.NoError(t, os.WriteFile(tmp, make([]byte, 100), 0o600))
	k.compile(1)
	require.Equal(t, []string{"entry1", "stranger"}, k.files())
	k.compile(2)
	require.Equal(t, []string{"entry1", "entry2"}, k.files())
	require.FileExists(t, tmp, "a file wazero is writing is neither counted nor removed")
}

// TestAmbiguousCompileLearnsNothing covers another process adding a file
// while this one compiles: the Index cannot tell which is the module's.
func TestAmbiguousCompileLearnsNothing(t *testing.T) {
	k := newKit(t, 1000, 10)
	require.NoError(t, k.x.Use(key(1), func() error {
		for _, name := range []string{"mine", "theirs"} {
			if err := os.WriteFile(filepath.Join(k.dir, wazeroDir, name), nil, 0o600); err != nil {
				return err
			}
		}
		return nil
	}))
	_, ok := k.x.ref(key(1))
	require.False(t, ok)
	require.NoDirExists(t, filepath.Join(k.dir, refDir))
}

// TestRefSurvivesTheProcess shows a second Index on the folder, a later
// process, touching the entry the first learned.
func TestRefSurvivesTheProcess(t *testing.T) {
	k := newKit(t, 1000, 10)
	k.compile(1)
	later := New(k.dir, 1000)
	at := k.now.Add(48 * time.Hour)
	later.Now = func() time.Time { return at }
	require.NoError(t, later.Use(key(1), func() error { return nil }))
	info, err := os.Stat(filepath.Join(k.dir, wazeroDir, "entry1"))
	require.NoError(t, err)
	require.True(t, info.ModTime().Equal(at), "touched at %v, want %v", info.ModTime(), at)
}

func TestRoot(t *testing.T) {
	t.Setenv(EnvRoot, "/somewhere/else")
	require.Equal(t, "/somewhere/else", Root())
	t.Setenv(EnvRoot, "")
	require.Equal(t, "minihost", filepath.Base(Root()))
}

func TestNilIndexOnlyCompiles(t *testing.T) {
	var x *Index
	x.Pin(key(1))
	ran := false
	require.NoError(t, x.Use(key(1), func() error { ran = true; return nil }))
	require.True(t, ran)
	x.Unpin(key(1))
}

// TestRewriteFilesShareTheBound: the runtime's rewrite files are entries
// under the one bound, kept while their module is pinned and evicted by
// recency like wazero's; a file past the reader's limit is not read, and
// a writer's stale temp file goes.
func TestRewriteFilesShareTheBound(t *testing.T) {
	k := newKit(t, 30, 10)
	k.x.Pin(key(1))
	k.compile(1)
	require.NoError(t, k.x.WriteRewrite(key(1), make([]byte, 4), make([]byte, 6)))
	data, ok := k.x.ReadRewrite(key(1), 10)
	require.True(t, ok)
	require.Len(t, data, 10, "the parts written one after the other")
	_, ok = k.x.ReadRewrite(key(1), 9)
	require.False(t, ok, "a file over the limit is not read")
	_, ok = k.x.ReadRewrite(key(2), 100)
	require.False(t, ok, "no file")

	stale := filepath.Join(k.dir, rewriteDir, fsutil.TempPrefix("02"+strings.Repeat("0", 62))+"crashed")
	require.NoError(t, os.WriteFile(stale, make([]byte, 100), 0o600))
	crashed := time.Now().Add(-2 * time.Hour) // by the wall clock, as a writer stamps it
	require.NoError(t, os.Chtimes(stale, crashed, crashed))
	k.compile(2)
	k.now = k.now.Add(time.Hour)
	require.NoError(t, k.x.WriteRewrite(key(2), make([]byte, 10)))
	require.Equal(t, []string{"01" + strings.Repeat("0", 62), "02" + strings.Repeat("0", 62), "entry1"}, k.files(),
		"the pinned module's rewrite stays; module 2's older entry went for its rewrite")
	require.NoFileExists(t, stale)
}

// TestLiveTempSurvivesAClockAhead: a temp file another writer has just
// begun is not stale, however far the clock of uses has moved: its age is
// by the wall clock that stamped it. (Judged by Now, it went while its
// writer still wrote it, and the writer's chmod failed: a CI flake.)
func TestLiveTempSurvivesAClockAhead(t *testing.T) {
	k := newKit(t, 30, 10)
	k.now = k.now.Add(365 * 24 * time.Hour)
	for _, dir := range []string{refDir, rewriteDir} {
		require.NoError(t, os.MkdirAll(filepath.Join(k.dir, dir), 0o700))
		live := filepath.Join(k.dir, dir, fsutil.TempPrefix("01"+strings.Repeat("0", 62))+"writing")
		require.NoError(t, os.WriteFile(live, nil, 0o600))
		k.compile(1)
		k.compile(2)
		require.FileExists(t, live, "a write in progress in %s", dir)
	}
}
