package updater

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/spf13/afero"

	"github.com/minihost/minihost/runtime/fsutil"
	"github.com/minihost/minihost/runtime/mpk"
	"github.com/minihost/minihost/updater/internal/safename"
)

// Check checks the named apps' parts of the store against their
// state.json, every app folder in the store (those without a state.json
// included) when none is named: leftover temporary files and extraction
// folders, version folders and file lists state.json does not list, listed
// versions whose folder is missing or does not match the file list recorded
// at install, an active version that is not installed and complete, a
// state.json that does not parse. With repair it also fixes each problem
// (see Problem.Kind): it removes leftovers and damaged folders and rebuilds
// the active version from the complete ones, writing state.json
// atomically. It returns one report per app checked, in the order named
// (sorted by app id when none is named).
//
// Check holds each app's lock in turn, so it waits for and excludes this
// Store's other calls for the app, and skips extractions in progress. It
// does not coordinate with other processes: run it (minihost doctor) while
// no host uses the folder. It stops before the next app once ctx has ended.
// Its error joins the I/O failures (and invalid app ids) of the apps it
// could not check fully; what it found is in the reports.
func (s *Store) Check(ctx context.Context, repair bool, appIDs ...string) ([]*CheckReport, error) {
	if len(appIDs) == 0 {
		infos, err := afero.ReadDir(s.fs, filepath.Join(s.dir, "apps"))
		if err != nil {
			return nil, fmt.Errorf("check: %w", err)
		}
		for _, fi := range infos { // ReadDir sorts by name
			if fi.IsDir() && safename.AppID(fi.Name()) == nil {
				appIDs = append(appIDs, fi.Name())
			}
		}
	}
	var reports []*CheckReport
	var errs []error
	for _, appID := range appIDs {
		if err := ctx.Err(); err != nil {
			errs = append(errs, fmt.Errorf("check %s: %w", appID, err))
			break
		}
		if err := safename.AppID(appID); err != nil {
			errs = append(errs, fmt.Errorf("check: %w", err))
			continue
		}
		r, err := s.checkApp(appID, repair)
		reports = append(reports, r)
		errs = append(errs, err)
	}
	return reports, errors.Join(errs...)
}

// checkApp checks (and with repair fixes) one app under its lock.
func (s *Store) checkApp(appID string, repair bool) (*CheckReport, error) {
	unlock := s.lock(appID)
	defer unlock()
	c := &checker{s: s, repair: repair, r: &CheckReport{AppID: appID}, appDir: filepath.Join(s.dir, "apps", appID)}
	if err := c.run(appID); err != nil {
		return c.r, fmt.Errorf("check %s: %w", appID, err)
	}
	return c.r, nil
}

type checker struct {
	s      *Store
	repair bool
	r      *CheckReport
	appDir string
}

func (c *checker) rel(path string) string {
	r, err := filepath.Rel(c.s.dir, path)
	if err != nil {
		return filepath.ToSlash(path)
	}
	return filepath.ToSlash(r)
}

// found records a problem; fix, when repairing and not nil, fixes it.
func (c *checker) found(p Problem, fix func() error) error {
	if c.repair && fix != nil {
		if err := fix(); err != nil {
			c.r.Problems = append(c.r.Problems, p)
			return err
		}
		p.Repaired = true
	}
	c.r.Problems = append(c.r.Problems, p)
	return nil
}

func (c *checker) run(appID string) error {
	s := c.s
	fsys := s.fs
	statePath := s.statePath(appID)

	// Temporary files of writeFileAtomic beside state.json.
	infos, err := afero.ReadDir(fsys, c.appDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // nothing stored for the app
	}
	if err != nil {
		return err
	}
	for _, fi := range infos {
		if isStateTemp(fi.Name()) {
			p := filepath.Join(c.appDir, fi.Name())
			if err := c.found(Problem{Kind: problemTempFile, Path: c.rel(p), Detail: "leftover of an interrupted state write"},
				func() error { return fsys.RemoveAll(p) }); err != nil {
				return err
			}
		}
	}

	st := AppState{AppID: appID}
	stateBad := false
	if data, err := afero.ReadFile(fsys, statePath); err == nil {
		if st, err = parseState(appID, statePath, data); err != nil {
			stateBad = true
			st = AppState{AppID: appID}
			if err := c.found(Problem{Kind: problemBadState, Path: c.rel(statePath), Detail: err.Error()}, func() error {
				return fsys.Rename(statePath, statePath+".broken")
			}); err != nil {
				return err
			}
			if !c.repair {
				return nil // nothing else can be judged without the state
			}
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	orig, _ := json.Marshal(st)

	// Version folders.
	vdir := filepath.Join(c.appDir, storeVersionsDir)
	fdir := filepath.Join(c.appDir, storeFilesDir)
	folders := map[string]bool{}
	infos, err = afero.ReadDir(fsys, vdir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	for _, fi := range infos {
		name, p := fi.Name(), filepath.Join(vdir, fi.Name())
		switch {
		case s.isInstalling(p):
		case strings.HasPrefix(name, "."):
			if err := c.found(Problem{Kind: problemTempFile, Path: c.rel(p), Detail: "leftover of an interrupted install"},
				func() error { return fsys.RemoveAll(p) }); err != nil {
				return err
			}
		case fi.IsDir() && installedIndex(st, name) >= 0 && st.Installed[installedIndex(st, name)].Version == name:
			folders[name] = true
		case fi.IsDir() && stateBad && c.adoptable(appID, name):
			st.Installed = append(st.Installed, InstalledVersion{Version: name, Verified: true})
			folders[name] = true
			c.r.Problems = append(c.r.Problems, Problem{Kind: problemOrphanVersion, Version: name, Path: c.rel(p),
				Detail: "matches its file list: listed again", Repaired: true})
		default:
			if err := c.found(Problem{Kind: problemOrphanVersion, Version: name, Path: c.rel(p), Detail: "state.json does not list it"},
				func() error { return fsys.RemoveAll(p) }); err != nil {
				return err
			}
		}
	}

	// Listed versions: folder present and matching its file list.
	var keep []InstalledVersion
	var verified []string
	for _, iv := range st.Installed {
		p := filepath.Join(vdir, iv.Version)
		listPath := s.fileListPath(appID, iv.Version)
		if !folders[iv.Version] {
			if err := c.found(Problem{Kind: problemMissingVersion, Version: iv.Version, Path: c.rel(p), Detail: "listed but its folder is missing"},
				func() error { return fsys.RemoveAll(listPath) }); err != nil {
				return err
			}
			if !c.repair {
				keep = append(keep, iv)
			}
			continue
		}
		list, lerr := s.readFileList(listPath, appID, iv.Version)
		if lerr != nil && !errors.Is(lerr, fs.ErrNotExist) && !errors.Is(lerr, errBadFileList) {
			return lerr
		}
		if lerr != nil {
			ok, why := c.legacyOK(appID, iv.Version, p)
			if ok {
				detail := "no file list (installed before the store kept them?); app.json and entry check out"
				if errors.Is(lerr, errBadFileList) {
					detail = lerr.Error() + "; app.json and entry check out"
				}
				if err := c.found(Problem{Kind: problemNoFileList, Version: iv.Version, Path: c.rel(listPath), Detail: detail},
					func() error {
						l, err := listFiles(fsys, p)
						if err != nil {
							return err
						}
						l.AppID, l.Version = appID, iv.Version
						return s.writeFileList(listPath, l)
					}); err != nil {
					return err
				}
				keep = append(keep, iv)
				verified = append(verified, iv.Version)
				continue
			}
			if err := c.found(Problem{Kind: problemIncompleteVersion, Version: iv.Version, Path: c.rel(p), Detail: "no file list and " + why},
				func() error { return removeAll(fsys, p, listPath) }); err != nil {
				return err
			}
			if !c.repair {
				keep = append(keep, iv)
			}
			continue
		}
		diff, err := diffFileList(fsys, p, list)
		if err != nil {
			return err
		}
		if diff != "" {
			if err := c.found(Problem{Kind: problemIncompleteVersion, Version: iv.Version, Path: c.rel(p), Detail: diff},
				func() error { return removeAll(fsys, p, listPath) }); err != nil {
				return err
			}
			if !c.repair {
				keep = append(keep, iv)
			}
			continue
		}
		keep = append(keep, iv)
		verified = append(verified, iv.Version)
	}
	st.Installed = keep

	// File lists without a listed version.
	infos, err = afero.ReadDir(fsys, fdir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	for _, fi := range infos {
		name, p := fi.Name(), filepath.Join(fdir, fi.Name())
		v, isList := strings.CutSuffix(name, ".json")
		switch {
		case strings.HasPrefix(name, "."):
			if err := c.found(Problem{Kind: problemTempFile, Path: c.rel(p), Detail: "leftover of an interrupted file list write"},
				func() error { return fsys.RemoveAll(p) }); err != nil {
				return err
			}
		case isList && slices.ContainsFunc(st.Installed, func(iv InstalledVersion) bool { return iv.Version == v }):
		default:
			if err := c.found(Problem{Kind: problemOrphanFileList, Version: v, Path: c.rel(p), Detail: "state.json does not list the version"},
				func() error { return fsys.RemoveAll(p) }); err != nil {
				return err
			}
		}
	}

	// The active version must be installed and complete.
	sort.Slice(verified, func(i, j int) bool { return semverLess(verified[i], verified[j]) })
	c.r.Verified = verified
	if st.Active != "" && !slices.Contains(verified, st.Active) {
		best := ""
		for _, v := range verified {
			if !slices.ContainsFunc(st.Bad, func(b string) bool { return sameSemver(b, v) }) {
				best = v
			}
		}
		was := st.Active
		if err := c.found(Problem{Kind: problemActiveNotInstalled, Version: was, Path: c.rel(statePath),
			Detail: fmt.Sprintf("active version %s is not installed and complete; the newest complete one is %q", was, best)},
			func() error { st.Active = best; return nil }); err != nil {
			return err
		}
	} else if stateBad && st.Active == "" && len(verified) > 0 {
		st.Active = verified[len(verified)-1]
	}
	c.r.Active = st.Active

	if c.repair {
		if now, _ := json.Marshal(st); string(now) != string(orig) || stateBad {
			if err := s.save(appID, st); err != nil {
				return err
			}
		}
		for _, d := range []string{c.appDir, vdir, fdir} {
			if ok, _ := afero.DirExists(fsys, d); ok {
				if err := fsutil.SyncDir(fsys, d); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// adoptable reports whether the unlisted folder of version matches its
// file list (used to rebuild a state.json that does not parse).
func (c *checker) adoptable(appID, version string) bool {
	if _, err := mpk.ParseVersion(version); err != nil {
		return false
	}
	list, err := c.s.readFileList(c.s.fileListPath(appID, version), appID, version)
	if err != nil {
		return false
	}
	diff, err := diffFileList(c.s.fs, filepath.Join(c.appDir, storeVersionsDir, version), list)
	return err == nil && diff == ""
}

// legacyOK checks a version folder without a file list as well as it can:
// its app.json names appID and version and its entry module is there.
func (c *checker) legacyOK(appID, version, dir string) (bool, string) {
	data, err := afero.ReadFile(c.s.fs, filepath.Join(dir, mpk.ManifestName))
	if err != nil {
		return false, "app.json unreadable: " + err.Error()
	}
	m, err := mpk.ParseManifest(data)
	if err != nil {
		return false, err.Error()
	}
	if m.AppID != appID || m.Version != version {
		return false, fmt.Sprintf("app.json says %s %s", m.AppID, m.Version)
	}
	fi, err := c.s.fs.Stat(filepath.Join(dir, filepath.FromSlash(m.Entry)))
	if err != nil || !fi.Mode().IsRegular() || fi.Size() == 0 {
		return false, "entry module " + m.Entry + " missing or empty"
	}
	return true, ""
}

func removeAll(fsys afero.Fs, paths ...string) error {
	for _, p := range paths {
		if err := fsys.RemoveAll(p); err != nil {
			return err
		}
	}
	return nil
}

func semverLess(a, b string) bool {
	va, vb := semver(a), semver(b)
	if va == nil || vb == nil {
		return a < b
	}
	return va.LessThan(vb)
}
