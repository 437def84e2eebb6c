package release

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path/filepath"
	"strings"

	"github.com/spf13/afero"

	"github.com/minihost/minihost/runtime/fsutil"
	"github.com/minihost/minihost/runtime/mpk"
	"github.com/minihost/minihost/updater"
	"github.com/minihost/minihost/updater/internal/delta"
)

// Delta updates on the server: at publish, patches to the new version from
// each of the last Config.PatchBases versions (updater/internal/delta),
// kept only when clearly smaller than the package, stored at
//
//	DATA/apps/APPID/patches/TO/FROM.mpd
//
// and listed in the document under the release they rebuild.

// defaultPatchBases is how many earlier versions a publish builds patches
// from when Config.PatchBases is 0: clients a few releases behind still
// get a patch, and publishing costs a few patch builds.
const defaultPatchBases = 3

// patchExt names patch files.
const patchExt = ".mpd"

// serverPatch is one stored patch of a version, from version From.
type serverPatch struct {
	From   string `json:"from"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// builtPatch is a patch built at publish, in a temporary file until the
// publish commits.
type builtPatch struct {
	serverPatch
	tmp string
}

// patchPath is a patch's public path: "apps/APPID/patches/TO/FROM.mpd".
func patchPath(appID, to, from string) string {
	return "apps/" + appID + "/patches/" + to + "/" + from + patchExt
}

func patchFile(dataDir, appID, to, from string) string {
	return filepath.Join(dataDir, filepath.FromSlash(patchPath(appID, to, from)))
}

// packageEntries reads every file of an opened package.
func packageEntries(p *mpk.Package) ([]delta.Entry, error) {
	var out []delta.Entry
	for _, name := range p.Files() {
		data, err := p.ReadFile(name)
		if err != nil {
			return nil, err
		}
		out = append(out, delta.Entry{Path: name, Data: data})
	}
	return out, nil
}

// contentDigest is the delta digest of a package's files.
func contentDigest(entries []delta.Entry) string {
	files := make([]delta.File, len(entries))
	for i, e := range entries {
		s := sha256.Sum256(e.Data)
		files[i] = delta.File{Path: e.Path, Size: int64(len(e.Data)), SHA256: hex.EncodeToString(s[:])}
	}
	return delta.Digest(files)
}

// patchBases returns the versions of st a new version gets patches from:
// the newest PatchBases that are not revoked.
func (s *Server) patchBases(st *serverApp) []serverVersion {
	var out []serverVersion
	if st == nil || s.cfg.PatchBases < 0 {
		return nil
	}
	for i := len(st.Versions) - 1; i >= 0 && len(out) < s.cfg.PatchBases; i-- {
		if !st.Versions[i].Revoked {
			out = append(out, st.Versions[i])
		}
	}
	return out
}

// buildPatches builds the patches from each base to target (a package of
// size bytes) into temporary files, keeping those at most three quarters
// of size. A base whose package cannot be read gets no patch (logged): a
// patch is an optimisation, never a reason to refuse a publish. The caller
// removes the temporary files it does not commit.
func (s *Server) buildPatches(ctx context.Context, appID string, bases []serverVersion, target []delta.Entry, size int64) ([]builtPatch, error) {
	var out []builtPatch
	for _, b := range bases {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		p, err := mpk.OpenFile(packageFile(s.cfg.DataDir, appID, b.Version), mpk.Limits{MaxPackageSize: s.cfg.MaxPackageSize})
		if err != nil {
			s.log.Warn("no patch: open base package", "app", appID, "from", b.Version, "err", err)
			continue
		}
		base, err := packageEntries(p)
		p.Close()
		if err != nil {
			s.log.Warn("no patch: read base package", "app", appID, "from", b.Version, "err", err)
			continue
		}
		patch, err := delta.Build(base, target)
		if err != nil {
			return out, err
		}
		if int64(len(patch)) > size*3/4 {
			continue
		}
		f, err := afero.TempFile(s.cfg.Fs, filepath.Join(s.cfg.DataDir, "tmp"), "patch-*"+patchExt)
		if err != nil {
			return out, err
		}
		tmp := f.Name()
		f.Close()
		out = append(out, builtPatch{tmp: tmp})
		if err := fsutil.WriteFile(s.cfg.Fs, tmp, patch, 0o644); err != nil {
			return out, err
		}
		sum := sha256.Sum256(patch)
		out[len(out)-1].serverPatch = serverPatch{From: b.Version, Size: int64(len(patch)), SHA256: hex.EncodeToString(sum[:])}
	}
	return out, nil
}

// commitPatches moves built patches to version to's patch folder and
// returns what the state records; on error it removes what it moved.
func (s *Server) commitPatches(appID, to string, built []builtPatch) ([]serverPatch, error) {
	var out []serverPatch
	for _, b := range built {
		dst := patchFile(s.cfg.DataDir, appID, to, b.From)
		if err := s.cfg.Fs.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			s.removePatches(appID, to)
			return nil, err
		}
		if err := fsutil.Rename(s.cfg.Fs, b.tmp, dst); err != nil {
			s.removePatches(appID, to)
			return nil, err
		}
		out = append(out, b.serverPatch)
	}
	return out, nil
}

// removePatches removes version to's patch folder.
func (s *Server) removePatches(appID, to string) {
	dir := filepath.Dir(patchFile(s.cfg.DataDir, appID, to, "x"))
	if err := s.cfg.Fs.RemoveAll(dir); err != nil {
		s.log.Error("remove patches", "path", dir, "err", err)
	}
}

// cleanPatches removes patch files the state does not list: leftovers of
// a publish interrupted before its state landed.
func (s *Server) cleanPatches(appID string, st *serverApp) {
	known := map[string]bool{}
	if st != nil {
		for _, v := range st.Versions {
			for _, p := range v.Patches {
				known[patchFile(s.cfg.DataDir, appID, v.Version, p.From)] = true
			}
		}
	}
	root := filepath.Join(s.cfg.DataDir, "apps", appID, "patches")
	_ = afero.Walk(s.cfg.Fs, root, func(p string, fi fs.FileInfo, err error) error {
		if err != nil || fi.IsDir() || known[p] {
			return nil
		}
		if err := s.cfg.Fs.Remove(p); err != nil {
			s.log.Warn("remove leftover file", "path", p, "err", err)
		} else {
			s.log.Info("removed leftover file", "path", p)
		}
		return nil
	})
}

// patches returns the document's patches of version i: those whose base
// is not revoked (a revoked version is never a base to build on).
func (st *serverApp) patches(i int) []updater.Patch {
	v := st.Versions[i]
	var out []updater.Patch
	for _, p := range v.Patches {
		if j := st.find(mustVersion(p.From)); j >= 0 && st.Versions[j].Revoked {
			continue
		}
		out = append(out, updater.Patch{From: p.From, Size: p.Size, SHA256: p.SHA256, Path: patchPath(st.AppID, v.Version, p.From)})
	}
	return out
}

// findPatch returns version to and its patch from version from, if the
// document lists that patch (neither version revoked); nil otherwise.
func (st *serverApp) findPatch(to, from string) (*serverVersion, *updater.Patch) {
	for i, v := range st.Versions {
		if v.Version != to || v.Revoked {
			continue
		}
		for _, p := range st.patches(i) {
			if p.From == from {
				return &st.Versions[i], &p
			}
		}
	}
	return nil, nil
}

// checkPatches validates a version's stored patches as checkRelease does
// its package.
func checkPatches(v serverVersion) error {
	if len(v.Patches) > 0 && !isSHA256Hex(v.Content) {
		return fmt.Errorf("patches without a content digest (%q)", v.Content)
	}
	for _, p := range v.Patches {
		if _, err := mpk.ParseVersion(p.From); err != nil {
			return fmt.Errorf("patch from %q: %v", p.From, err)
		}
		if p.Size <= 0 || !isSHA256Hex(p.SHA256) {
			return fmt.Errorf("patch from %s: size %d, sha256 %q", p.From, p.Size, p.SHA256)
		}
	}
	return nil
}

func isSHA256Hex(s string) bool {
	return len(s) == 64 && strings.Trim(s, "0123456789abcdef") == ""
}

// handlePatch serves a patch the document lists, like a package (Range,
// ETag, immutable).
func (s *Server) handlePatch(w http.ResponseWriter, r *http.Request) {
	if s.isClosed() {
		s.writeError(w, r, errServerClosed)
		return
	}
	appID, to := r.PathValue("app"), r.PathValue("to")
	_, st, err := s.appState(appID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	from, ok := strings.CutSuffix(r.PathValue("file"), patchExt)
	sv, p := st.findPatch(to, from)
	if !ok || p == nil {
		s.writeError(w, r, fmt.Errorf("%w: %s has no patch %s/%s", updater.ErrUnknownVersion, appID, to, r.PathValue("file")))
		return
	}
	s.serveImmutable(w, r, patchFile(s.cfg.DataDir, appID, to, from), "application/octet-stream", p.SHA256, sv.PublishedAt, appID, to, countPatch)
}
