package updater

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/spf13/afero"
)

// fileList records the files of an installed version, written to
// apps/<appID>/files/<version>.json before the version's folder is renamed
// into place. Check compares the folder with it.
type fileList struct {
	AppID   string      `json:"appId"`
	Version string      `json:"version"`
	Dirs    []string    `json:"dirs,omitempty"`
	Files   []fileEntry `json:"files"`
}

type fileEntry struct {
	Path   string `json:"path"` // slash-separated, relative to the folder
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// listFiles walks dir and returns its folders and files with their sizes
// and hashes, in lexical order. Anything but folders and regular files is
// an error.
func listFiles(fsys afero.Fs, dir string) (*fileList, error) { return listFilesWith(fsys, dir, nil) }

// listFilesWith is listFiles taking each file's sum from rec when rec
// recorded it as written (its size checked against the walk's), so an
// install does not read back what it just wrote (store_hash.go).
func listFilesWith(fsys afero.Fs, dir string, rec *hashingFs) (*fileList, error) {
	list := &fileList{Files: []fileEntry{}}
	err := afero.Walk(fsys, dir, func(path string, fi fs.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		switch {
		case rel == ".":
			return nil
		case fi.IsDir():
			list.Dirs = append(list.Dirs, rel)
			return nil
		case !fi.Mode().IsRegular():
			return fmt.Errorf("%s: not a regular file (%v)", path, fi.Mode().Type())
		}
		if rec != nil {
			if fs, ok := rec.recorded(path); ok && fs.size == fi.Size() {
				list.Files = append(list.Files, fileEntry{Path: rel, Size: fs.size, SHA256: fs.sum})
				return nil
			}
		}
		f, sum, n, err := openHashed(fsys, path) // swapped for a named pipe since the walk: fail, not hang
		if err != nil {
			return err
		}
		f.Close()
		list.Files = append(list.Files, fileEntry{Path: rel, Size: n, SHA256: sum})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list files of %s: %w", dir, err)
	}
	return list, nil
}

func (s *Store) writeFileList(path string, list *fileList) error {
	data, err := json.MarshalIndent(list, "", "  ")
	if err != nil {
		return fmt.Errorf("write file list %s: %w", path, err)
	}
	if err := mkdirAllSync(s.fs, filepath.Dir(path)); err != nil {
		return err
	}
	return writeFileAtomic(s.fs, path, append(data, '\n'))
}

// errBadFileList is wrapped by readFileList for a list that does not parse
// or names another version.
var errBadFileList = errors.New("bad file list")

// readFileList reads the file list at path and checks that it names
// appID's version.
func (s *Store) readFileList(path, appID, version string) (*fileList, error) {
	data, err := afero.ReadFile(s.fs, path)
	if err != nil {
		return nil, err
	}
	var list fileList
	if err := json.Unmarshal(data, &list); err != nil {
		return nil, fmt.Errorf("%w %s: %v", errBadFileList, path, err)
	}
	if list.AppID != appID || list.Version != version {
		return nil, fmt.Errorf("%w %s: it names %s %s", errBadFileList, path, list.AppID, list.Version)
	}
	return &list, nil
}

// diffFileList compares the folder dir with want and describes the first
// few differences ("" when it matches).
func diffFileList(fsys afero.Fs, dir string, want *fileList) (string, error) {
	got, err := listFiles(fsys, dir)
	if err != nil {
		return "", err
	}
	var diffs []string
	wantFiles := map[string]fileEntry{}
	for _, f := range want.Files {
		wantFiles[f.Path] = f
	}
	gotFiles := map[string]fileEntry{}
	for _, f := range got.Files {
		gotFiles[f.Path] = f
		w, ok := wantFiles[f.Path]
		switch {
		case !ok:
			diffs = append(diffs, f.Path+": unexpected file")
		case w.Size != f.Size:
			diffs = append(diffs, fmt.Sprintf("%s: %d bytes, want %d", f.Path, f.Size, w.Size))
		case w.SHA256 != f.SHA256:
			diffs = append(diffs, f.Path+": sha256 differs")
		}
	}
	for _, f := range want.Files {
		if _, ok := gotFiles[f.Path]; !ok {
			diffs = append(diffs, f.Path+": missing")
		}
	}
	for _, d := range want.Dirs {
		if !slices.Contains(got.Dirs, d) {
			diffs = append(diffs, d+"/: missing folder")
		}
	}
	sort.Strings(diffs)
	if len(diffs) > 3 {
		diffs = append(diffs[:3], fmt.Sprintf("and %d more", len(diffs)-3))
	}
	return strings.Join(diffs, "; "), nil
}
