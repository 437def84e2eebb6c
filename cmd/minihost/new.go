package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/minihost/minihost/runtime/mpk"
	"github.com/minihost/minihost/samples/wx"
)

const newSynopsis = `DIR [--id APPID] [--js] [--json]

Writes a mini program into DIR (new, or an empty folder): main.go (the
handlers, with an update prompt), app.json (APPID, version 1.0.0), go.mod,
and sdk/, a copy of the guest SDK's sources. The SDK is a package of the
module github.com/minihost/minihost, which is published nowhere, so go.mod
points at the copy with a relative replace: DIR builds anywhere, offline
(GOPROXY=off), with the import path "github.com/minihost/minihost/samples/wx".
With --js it writes a JavaScript mini program instead: app.js and an
app.json with "runtime": "js", which run on the JS base library.
APPID defaults to "demo." and DIR's base name.`

// newAppJS is the --js scaffold's app.js: the lifecycle and the update
// prompt of WeChat's documentation.
const newAppJS = `const updateManager = wx.getUpdateManager()

updateManager.onUpdateReady(function () {
  wx.showModal({
    title: 'Update',
    content: 'The new version is ready. Restart?',
    success(res) {
      if (res.confirm) updateManager.applyUpdate()
    }
  })
})

App({
  onLaunch(options) {
    console.log('hello ' + options.version)
  }
})
`

// newGoVersion is the go line of the go.mod files new writes: the one of
// this module's go.mod, which TestNewGoVersion keeps them equal to, so
// that the toolchain that builds minihost builds the scaffold.
const newGoVersion = "1.26"

// newSDKDir is the folder, inside DIR, that holds the SDK copy.
const newSDKDir = "sdk"

// newMainGo is the scaffold's main.go; README.md's "Writing a mini
// program" shows it verbatim (TestNewREADME).
const newMainGo = `//go:build wasip1

package main

import (
	"github.com/minihost/minihost/samples/wx"
	"github.com/minihost/minihost/samples/wx/abi"
)

func init() { // main never runs in a reactor: register handlers in init
	wx.OnLaunch(func(o abi.LaunchOptions) { wx.Logf(abi.LevelInfo, "hello %s", o.Version) })
	um := wx.GetUpdateManager()
	um.OnUpdateReady(func() {
		wx.ShowModal(abi.Modal{Title: "Update", Content: "Restart?", ShowCancel: true},
			func(r abi.ModalResult) {
				if r.Confirm {
					um.ApplyUpdate()
				}
			})
	})
}

func main() {}
`

// newResult is what new prints with --json.
type newResult struct {
	Dir     string   `json:"dir"`
	AppID   string   `json:"appId"`
	Version string   `json:"version"`
	Files   []string `json:"files"`
}

func runNew(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("new", newSynopsis, "minihost new hello --id demo.hello && minihost run hello", stderr)
	id := fs.String("id", "", "the app id to put in app.json (default: demo.BASENAME)")
	js := fs.Bool("js", false, "write a JavaScript mini program (app.js) instead of a Go one")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	dir, code := parseOne(fs, args, stderr, "DIR")
	if code >= 0 {
		return code
	}
	if *id == "" {
		*id = defaultAppID(dir)
	}
	files, err := scaffold(*id, dir, *js)
	if errors.Is(err, errBadAppID) {
		return usageError(fs, stderr, err.Error())
	}
	if err != nil {
		fmt.Fprintf(stderr, "minihost new: %v\n", err)
		return 1
	}
	res := newResult{Dir: dir, AppID: *id, Version: "1.0.0", Files: files}
	if *asJSON {
		if err := printJSON(stdout, res); err != nil {
			fmt.Fprintf(stderr, "minihost new: %v\n", err)
			return 1
		}
		return 0
	}
	what := fmt.Sprintf("main.go, app.json, go.mod, %s/ with the guest SDK", newSDKDir)
	if *js {
		what = "app.js, app.json"
	}
	fmt.Fprintf(stdout, "wrote %s: %s %s (%s)\nnext: minihost run %s\n", dir, res.AppID, res.Version, what, dir)
	return 0
}

var errBadAppID = errors.New("bad --id")

// defaultAppID is "demo." and dir's base name, lowered, with every byte
// an app id may not hold replaced by '-'.
func defaultAppID(dir string) string {
	base := strings.ToLower(filepath.Base(filepath.Clean(dir)))
	b := []byte("demo." + base)
	for i, c := range b {
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '.' || c == '-' || c == '_') {
			b[i] = '-'
		}
	}
	return string(b)
}

// scaffold writes the mini program's files into dir, made with its
// parents when missing, and returns their slash paths, sorted: a Go one,
// or with js a JavaScript one. A failure leaves no half-written program.
func scaffold(id, dir string, js bool) ([]string, error) {
	kind := `"entry": "app.wasm"`
	if js {
		kind = `"runtime": "js",` + "\n  " + `"entry": "app.js"`
	}
	manifest := fmt.Sprintf("{\n  \"appId\": %q,\n  \"version\": \"1.0.0\",\n  \"abi\": 1,\n  %s\n}\n", id, kind)
	if _, err := mpk.ParseManifest([]byte(manifest)); err != nil {
		return nil, fmt.Errorf("%w: %w", errBadAppID, err)
	}
	if err := checkEmptyTarget(dir); err != nil {
		return nil, err
	}
	files := goScaffold(id, manifest)
	if js {
		files = map[string][]byte{"app.js": []byte(newAppJS), "app.json": []byte(manifest)}
	}
	// On failure, take away what this call made, so that a retry finds
	// the folder as it was: new, or empty.
	_, statErr := os.Stat(dir)
	created := errors.Is(statErr, os.ErrNotExist)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	names := make([]string, 0, len(files))
	for p := range files {
		names = append(names, p)
	}
	if err := writeScaffold(dir, files); err != nil {
		if created {
			os.RemoveAll(dir)
		} else {
			for _, top := range []string{"main.go", "app.js", "app.json", "go.mod", newSDKDir} {
				os.RemoveAll(filepath.Join(dir, top))
			}
		}
		return nil, err
	}
	sort.Strings(names)
	return names, nil
}

// goScaffold is the files of a Go mini program with manifest as app.json.
func goScaffold(id, manifest string) map[string][]byte {
	files := map[string][]byte{
		"main.go":  []byte(newMainGo),
		"app.json": []byte(manifest),
		"go.mod": fmt.Appendf(nil, `module %s

go %s

// The guest SDK is a package of github.com/minihost/minihost, which is
// published nowhere: %s/ holds a copy of its sources, written by
// minihost new, and the replace below points at it.
require github.com/minihost/minihost v0.0.0

replace github.com/minihost/minihost => ./%s
`, moduleName(id), newGoVersion, newSDKDir, newSDKDir),
		path.Join(newSDKDir, "go.mod"): fmt.Appendf(nil, "module github.com/minihost/minihost\n\ngo %s\n", newGoVersion),
	}
	for p, data := range wx.Sources() {
		files[path.Join(newSDKDir, "samples/wx", p)] = data
	}
	return files
}

// writeScaffold writes files (slash paths relative to dir) under dir.
func writeScaffold(dir string, files map[string][]byte) error {
	for p, data := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return fmt.Errorf("write %s: %w", p, err)
		}
		if err := os.WriteFile(full, data, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", p, err)
		}
	}
	return nil
}

// checkEmptyTarget refuses a dir that exists and is not an empty folder.
func checkEmptyTarget(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("check %s: %w", dir, err)
	case len(entries) > 0:
		return fmt.Errorf("check %s: the folder exists and is not empty; name a new or empty one", dir)
	}
	return nil
}

// moduleName is the scaffold's module path: the app id's last element,
// which is already a valid one ("demo.hello" gives "hello"), or "app".
func moduleName(id string) string {
	if name := id[strings.LastIndexByte(id, '.')+1:]; name != "" {
		return name
	}
	return "app"
}
