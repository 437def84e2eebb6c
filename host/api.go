package host

import (
	"context"
	"encoding/json"
	"errors"
	"sync"

	"github.com/minihost/minihost/host/internal/storage"
	"github.com/minihost/minihost/runtime"
	"github.com/minihost/minihost/samples/wx/abi"
)

// appAPI serves an app's wx calls. The runtime calls it on the app's
// dispatcher goroutine, during a callback.
type appAPI App

var _ runtime.HostAPI = (*appAPI)(nil)

func (p *appAPI) app() *App { return (*App)(p) }

func (p *appAPI) Log(level abi.LogLevel, stream, msg string) {
	a := p.app()
	a.h.log.Debug("guest", "app", a.id, "stream", stream, "level", level.String(), "msg", msg)
	a.emit(Event{Event: EventLog, Level: level.String(), Stream: stream, Message: msg})
}

func (p *appAPI) GetStorage(key string) ([]byte, error) {
	v, err := p.store.Get(key)
	return v, storageErr(err)
}

func (p *appAPI) SetStorage(key string, value []byte) error {
	return storageErr(p.store.Set(key, value))
}

func (p *appAPI) RemoveStorage(key string) error {
	err := p.store.Remove(key)
	if errors.Is(err, storage.ErrNotFound) {
		return nil // as WeChat: removing a missing key succeeds
	}
	return storageErr(err)
}

func (p *appAPI) ClearStorage() error { return storageErr(p.store.Clear()) }

func (p *appAPI) StorageInfo() (abi.StorageInfo, error) {
	info := p.store.Info()
	return abi.StorageInfo{
		Keys:        info.Keys,
		CurrentSize: (info.CurrentSize + 1023) / 1024,
		LimitSize:   info.LimitSize / 1024,
	}, nil
}

// storageErr gives storage errors their ABI codes (abi.Code), which the
// runtime passes to the guest.
func storageErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, storage.ErrNotFound):
		return errors.Join(abi.CodeNotFound, err)
	case errors.Is(err, storage.ErrQuota):
		return errors.Join(abi.CodeQuota, err)
	case errors.Is(err, storage.ErrTooBig):
		return errors.Join(abi.CodeTooBig, err)
	case errors.Is(err, storage.ErrInvalidKey):
		return errors.Join(abi.CodeInvalid, err)
	}
	return err
}

func (p *appAPI) ShowModal(m abi.Modal) (uint32, error) {
	a := p.app()
	a.mu.Lock()
	if a.openModals >= maxOpenModals {
		a.mu.Unlock()
		return 0, abi.CodeBusy
	}
	a.openModals++
	a.modalSeq++
	id := a.modalSeq
	a.mu.Unlock()
	mc := m
	a.emit(Event{Event: EventModal, ModalID: id, Modal: &mc})
	var once sync.Once
	answer := func(confirm bool) {
		once.Do(func() { a.answerModal(id, confirm) })
	}
	// The UI must not block, but a shell that does must not stall the
	// guest's callback either.
	a.uiWG.Add(1)
	go func() {
		defer a.uiWG.Done()
		a.h.cfg.UI.ShowModal(a.id, m, answer)
	}()
	return id, nil
}

// answerModal queues the person's answer for the guest.
func (a *App) answerModal(id uint32, confirm bool) {
	a.mu.Lock()
	a.openModals--
	a.mu.Unlock()
	payload, _ := json.Marshal(abi.ModalResult{ID: id, Confirm: confirm, Cancel: !confirm})
	a.enqueue(func(ctx context.Context) {
		c := confirm
		a.emit(Event{Event: EventModalResult, ModalID: id, Confirm: &c})
		a.callGuest(ctx, "onEvent(modal)", func(inst *runtime.Instance) error {
			return inst.OnEvent(ctx, abi.EventModal, payload)
		}, "")
	})
}

func (p *appAPI) SystemInfo() abi.SystemInfo {
	return abi.SystemInfo{
		HostVersion: Version,
		AppID:       p.id,
		AppVersion:  p.cur.ver.v,
		ABIVersion:  abi.Version,
		Platform:    "minihost",
	}
}

func (p *appAPI) SetData(v abi.ViewData) error {
	a := p.app()
	if err := a.view.set(v); err != nil {
		return err
	}
	a.emit(Event{Event: EventView, Page: v.Page})
	return nil
}
