package host

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"sync"
	"unicode/utf8"

	"github.com/minihost/minihost/host/internal/view"
	"github.com/minihost/minihost/runtime"
	"github.com/minihost/minihost/samples/wx/abi"
)

// maxViewValueBytes bounds ViewEvent.Value: what a person types in one
// field, as WeChat's input caps at 140 characters by default.
const maxViewValueBytes = 4096

// maxViewPages bounds the pages of an app that hold data at once; past it
// set_data is ETOOBIG (ABI.md, View layer).
const maxViewPages = 32

// viewState is an app's view layer: the data the guest set per page, and
// the pages parsed from the running version's templates. The data
// survives instance re-creation and swaps: the next onLaunch sets its own,
// and until then the page shows the last.
type viewState struct {
	data map[string]json.RawMessage // owned by the dispatcher

	// Parsed pages of the version in dir, at most maxViewPages: parsing
	// and html/template's escaping pass cost 3 to 4 renders (BENCHMARKS.md,
	// Page render).
	mu    sync.Mutex
	dir   string
	pages map[string]*view.Page
}

// page returns the parsed page of the version in dir, if cached.
func (s *viewState) page(dir, name string) *view.Page {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dir != dir {
		return nil
	}
	return s.pages[name]
}

// keep caches p as page name of the version in dir, dropping the pages
// of another version.
func (s *viewState) keep(dir, name string, p *view.Page) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dir != dir {
		s.dir, s.pages = dir, map[string]*view.Page{}
	}
	if len(s.pages) < maxViewPages {
		s.pages[name] = p
	}
}

func (s *viewState) set(v abi.ViewData) error {
	if _, ok := s.data[v.Page]; !ok && len(s.data) >= maxViewPages {
		return fmt.Errorf("set data of page %s: %d pages hold data already: %w", v.Page, len(s.data), abi.CodeTooBig)
	}
	if s.data == nil {
		s.data = map[string]json.RawMessage{}
	}
	s.data[v.Page] = v.Data
	return nil
}

// RenderPage writes page of the running version to w: the package's
// pages/<page>.html template (html/template, bounded: see
// host/internal/view) executed on the data the guest last set for it
// (none: an empty object). The template is read on the dispatcher, in
// order with the guest's setData calls; it renders outside it. Nothing is
// written when it fails. Safe for concurrent use.
func (a *App) RenderPage(ctx context.Context, w io.Writer, page string) error {
	if !abi.ValidPageName(page) {
		return fmt.Errorf("render %s page %q: not a page name", a.id, page)
	}
	var src []byte
	var data json.RawMessage
	var dir string
	var p *view.Page
	err := a.do(ctx, func(context.Context) error {
		if a.cur.fsys == nil {
			return fmt.Errorf("%s: app is %w", a.id, ErrClosed)
		}
		dir, data = a.cur.ver.dir, a.view.data[page]
		if p = a.view.page(dir, page); p != nil {
			return nil
		}
		var err error
		src, err = readPage(a.cur.fsys, page)
		return err
	})
	if err != nil {
		return fmt.Errorf("render %s page %s: %w", a.id, page, err)
	}
	if p == nil {
		if p, err = view.Parse(page, src); err != nil {
			return fmt.Errorf("render %s: %w", a.id, err)
		}
		a.view.keep(dir, page, p)
	}
	return p.Render(w, data)
}

// readPage reads pages/<page>.html from the package, within the template
// bound.
func readPage(fsys fs.FS, page string) ([]byte, error) {
	return readBoundedFS(fsys, "pages/"+page+".html", view.MaxTemplateBytes)
}

// readBoundedFS reads the regular file name of fsys, refusing one over
// limit bytes without reading past it.
func readBoundedFS(fsys fs.FS, name string, limit int64) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("open %s: not a regular file", name)
	}
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s is over %d bytes: %w", name, limit, view.ErrTooBig)
	}
	return b, nil
}

// View delivers a view event (a tap or an input on a page element bound
// to a handler) to the guest, in order with every other call into it, and
// returns once the guest's handlers ran. The page and handler must be page
// names (abi.ValidPageName), the value valid UTF-8 of at most 4 KiB. Safe
// for concurrent use; events of one caller arrive in its order.
func (a *App) View(ctx context.Context, ev abi.ViewEvent) error {
	switch {
	case !abi.ValidPageName(ev.Page):
		return fmt.Errorf("view event to %s: page %q is not a page name", a.id, ev.Page)
	case !abi.ValidPageName(ev.Handler):
		return fmt.Errorf("view event to %s: handler %q is not a handler name", a.id, ev.Handler)
	case len(ev.Value) > maxViewValueBytes || !utf8.ValidString(ev.Value):
		return fmt.Errorf("view event to %s: value is not UTF-8 of at most %d bytes", a.id, maxViewValueBytes)
	}
	payload, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("view event to %s: %w", a.id, err)
	}
	return a.do(ctx, func(ctx context.Context) error {
		return a.callGuest(ctx, "onEvent(view)", func(inst *runtime.Instance) error {
			return inst.OnEvent(ctx, abi.EventView, payload)
		}, "")
	})
}

// maxAssetBytes bounds one asset a page shows.
const maxAssetBytes = 1 << 20

// Asset returns assets/<name> of the running version's package, for a
// page's images: name is slash-separated, without "." or ".." elements
// (fs.ValidPath), and the file at most 1 MiB. The package is mounted
// read-only; on the OS filesystem a symlink cannot lead out of it. Safe
// for concurrent use.
func (a *App) Asset(ctx context.Context, name string) ([]byte, error) {
	if !fs.ValidPath(name) || name == "." {
		return nil, fmt.Errorf("asset %q of %s: not a path inside the package", name, a.id)
	}
	var b []byte
	err := a.do(ctx, func(context.Context) error {
		if a.cur.fsys == nil {
			return fmt.Errorf("%s: app is %w", a.id, ErrClosed)
		}
		var err error
		b, err = readBoundedFS(a.cur.fsys, "assets/"+name, maxAssetBytes)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("asset %s of %s: %w", name, a.id, err)
	}
	return b, nil
}
