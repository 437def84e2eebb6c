package crashfs

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// What a power cut leaves (Config.Durable): the tree of durable files and
// folders, and Image, which writes it out.

// node is a file or folder as a power cut sees it.
type node struct {
	dir     bool
	data    []byte           // file: contents as of the last sync (nil: empty)
	entries map[string]*node // folder: entries as of the last sync (nil: none)
}

// childrenLocked returns the tracked entries directly in folder rel.
func (f *Fs) childrenLocked(rel string) map[string]*node {
	m := map[string]*node{}
	for p, n := range f.live {
		if p == "." || p == rel {
			continue
		}
		if dir := pathDir(p); dir == rel {
			m[p[strings.LastIndexByte(p, '/')+1:]] = n
		}
	}
	return m
}

func pathDir(p string) string {
	i := strings.LastIndexByte(p, '/')
	if i < 0 {
		return "."
	}
	return p[:i]
}

// track runs fn with the lock held when durability is tracked.
func (f *Fs) track(fn func()) {
	if f.live == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	fn()
}

// Image writes what a power cut at this moment would leave under Root to
// the folder dst (created if needed; it should be empty). With
// keepMetadata every folder entry survives (as on a file system whose
// journal commits all metadata in order) and only file contents revert to
// their last sync; without it a folder's entries also revert to its last
// sync. It needs Config.Durable.
func (f *Fs) Image(dst string, keepMetadata bool) error {
	if f.live == nil {
		return errors.New("crashfs: Image needs Config.Durable")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	if keepMetadata {
		paths := make([]string, 0, len(f.live))
		for p := range f.live {
			paths = append(paths, p)
		}
		sort.Strings(paths) // parents first
		for _, p := range paths {
			if p == "." {
				continue
			}
			if err := writeNode(filepath.Join(dst, filepath.FromSlash(p)), f.live[p]); err != nil {
				return err
			}
		}
		return nil
	}
	return writeTree(dst, f.live["."], 0)
}

func writeNode(path string, n *node) error {
	if n.dir {
		return os.Mkdir(path, 0o755)
	}
	return os.WriteFile(path, n.data, 0o644)
}

func writeTree(dir string, n *node, depth int) error {
	if depth > 64 {
		return errors.New("crashfs: folder cycle in the durable tree")
	}
	for name, c := range n.entries {
		p := filepath.Join(dir, name)
		if err := writeNode(p, c); err != nil {
			return err
		}
		if c.dir {
			if err := writeTree(p, c, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}
