package release

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/afero"

	"github.com/minihost/minihost/runtime/mpk"
	"github.com/minihost/minihost/updater/internal/safename"
)

// load reads every app's state and cleans the data folder.
func (s *Server) load() error {
	fsys, dir := s.cfg.Fs, s.cfg.DataDir
	if err := fsys.MkdirAll(filepath.Join(dir, "apps"), 0o755); err != nil {
		return err
	}
	tmp := filepath.Join(dir, "tmp")
	if err := fsys.RemoveAll(tmp); err != nil {
		return fmt.Errorf("clean %s: %w", tmp, err)
	}
	if err := fsys.MkdirAll(tmp, 0o755); err != nil {
		return err
	}
	ids, err := listServerApps(fsys, dir)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if safename.AppID(id) != nil {
			s.log.Warn("ignoring folder in data/apps", "name", id)
			continue
		}
		st, err := loadServerApp(fsys, dir, id)
		if err != nil {
			return err
		}
		s.cleanApp(id, st)
		s.cleanPatches(id, st)
		if st != nil {
			s.apps[id] = newServerEntry(st)
		}
	}
	return nil
}

// cleanApp removes packages and temporary files no state names: the
// leftovers of a publish interrupted before its state landed.
func (s *Server) cleanApp(appID string, st *serverApp) {
	known := map[string]bool{}
	if st != nil {
		for _, v := range st.Versions {
			known[v.Version+mpk.Ext] = true
		}
	}
	for _, dir := range []string{filepath.Join(s.cfg.DataDir, "apps", appID), filepath.Join(s.cfg.DataDir, "apps", appID, "packages")} {
		entries, err := afero.ReadDir(s.cfg.Fs, dir)
		if err != nil {
			continue
		}
		for _, e := range entries {
			name := e.Name()
			stray := strings.HasPrefix(name, ".") && strings.Contains(name, ".tmp-") ||
				filepath.Base(dir) == "packages" && !e.IsDir() && !known[name]
			if !stray {
				continue
			}
			p := filepath.Join(dir, name)
			if err := s.cfg.Fs.Remove(p); err != nil {
				s.log.Warn("remove leftover file", "path", p, "err", err)
			} else {
				s.log.Info("removed leftover file", "path", p)
			}
		}
	}
	if st == nil {
		return
	}
	for _, v := range st.Versions {
		p := packageFile(s.cfg.DataDir, appID, v.Version)
		if fi, err := s.cfg.Fs.Stat(p); err != nil || fi.Size() != v.Size {
			s.log.Error("package missing or damaged in data folder", "app", appID, "version", v.Version, "path", p)
		}
	}
}
