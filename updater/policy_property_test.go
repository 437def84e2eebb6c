package updater

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// Property tests of the launch policy over many random states, documents
// and check results. The seed is fixed so a failure reproduces; the
// failing iteration's inputs are printed.

const propertySeed, propertyRuns = 20250310, 5000

var propPool = []string{"0.9.0", "1.0.0", "1.1.0", "1.2.0", "1.10.0", "2.0.0-beta.1", "2.0.0"}

func propPick(r *rand.Rand, vs []string) string { return vs[r.IntN(len(vs))] }

func propMaybe(r *rand.Rand, p float64) bool { return r.Float64() < p }

func randState(r *rand.Rand, now time.Time) LocalState {
	var st LocalState
	for _, v := range propPool {
		if propMaybe(r, 0.35) {
			st.Installed = append(st.Installed, InstalledVersion{Version: v, Verified: propMaybe(r, 0.85)})
		}
	}
	if len(st.Installed) > 0 {
		if propMaybe(r, 0.8) {
			st.Active = st.Installed[r.IntN(len(st.Installed))].Version
		}
		if propMaybe(r, 0.1) {
			st.Bad = []string{st.Installed[r.IntN(len(st.Installed))].Version}
		}
	}
	st.Pending = propMaybe(r, 0.3)
	if !propMaybe(r, 0.15) {
		st.LastUsed = now.Add(time.Duration(r.Int64N(int64(21*24*time.Hour))) - 20*24*time.Hour)
	}
	return st
}

// randSettings sets random M, P and revocations on d (which it changes).
func randSettings(r *rand.Rand, d *Document, st LocalState) {
	d.MinVersion, d.PreferLocal, d.Revoked = "", "", nil
	if propMaybe(r, 0.4) {
		d.MinVersion = propPick(r, propPool)
	}
	if propMaybe(r, 0.4) {
		d.PreferLocal = propPick(r, propPool)
	}
	switch {
	case propMaybe(r, 0.15): // revoke everything installed
		for _, iv := range st.Installed {
			d.Revoked = append(d.Revoked, iv.Version)
		}
	case propMaybe(r, 0.4):
		for _, v := range propPool {
			if propMaybe(r, 0.3) {
				d.Revoked = append(d.Revoked, v)
			}
		}
	}
}

func randDoc(r *rand.Rand, st LocalState, now time.Time) *Document {
	if propMaybe(r, 0.15) {
		return nil
	}
	d := &Document{AppID: "demo.app", Sequence: 1, RolloutPercent: 100, IssuedAt: now.Add(-time.Hour), ExpiresAt: now.Add(time.Hour)}
	if propMaybe(r, 0.9) {
		d.Latest = polRel(propPick(r, propPool))
		if propMaybe(r, 0.3) {
			d.Stable, d.RolloutPercent = polRel(propPick(r, propPool)), r.IntN(101)
		}
	}
	randSettings(r, d, st)
	return d
}

func randConfig(r *rand.Rand) PolicyConfig {
	lu := time.Duration(1+r.IntN(240)) * time.Hour
	return PolicyConfig{LongUnused: lu, RecentWindow: lu + time.Duration(r.IntN(240))*time.Hour}
}

func TestPropertyModeIgnoresSettings(t *testing.T) {
	covers(t, "N1")
	r := rand.New(rand.NewPCG(propertySeed, 1))
	for i := range propertyRuns {
		st := randState(r, polNow)
		cfg := randConfig(r)
		d1 := randDoc(r, st, polNow)
		d2 := &Document{AppID: "demo.app"}
		if d1 != nil {
			c := *d1
			d2 = &c
		}
		randSettings(r, d2, st)
		base := decide(st, nil, cfg, polNow)
		for _, d := range []*Document{d1, d2} {
			p := decide(st, d, cfg, polNow)
			if p.Mode != base.Mode || !slices.Equal(p.Rules, base.Rules) || p.Timeout != base.Timeout {
				t.Fatalf("run %d: settings changed the mode\nstate %+v\nno document: %s %v\ndocument %+v: %s %v",
					i, st, base.Mode, base.Rules, d, p.Mode, p.Rules)
			}
		}
	}
}

// TestPropertyNeverOpensForbidden: whatever the state, documents and check
// result, no outcome opens (now, as a fallback or at a restart) a version
// that is not installed and verified, is marked bad, is revoked, or is
// below the minimum of the newest document known; a blocked outcome opens
// nothing; an async outcome never opens (the launch opened already); and
// a check's hasUpdate is exactly "something newer is coming" (after a
// failed download it stays true: the check did find an update).
func TestPropertyNeverOpensForbidden(t *testing.T) {
	covers(t, "M1", "R1", "L1", "F1")
	r := rand.New(rand.NewPCG(propertySeed, 2))
	errs := []error{errors.New("connection reset"), context.DeadlineExceeded}
	for i := range propertyRuns {
		st := randState(r, polNow)
		cfg := randConfig(r)
		last := randDoc(r, st, polNow)
		res := CheckResult{ClientID: propPick(r, []string{"a", "b", "c"})}
		if propMaybe(r, 0.25) {
			res.Err = errs[r.IntN(len(errs))]
		} else {
			res.Doc = randDoc(r, st, polNow)
			if res.Doc == nil {
				res.Err = errors.New("no document")
			}
		}
		known := last
		if res.Doc != nil {
			known = res.Doc
		}
		plan := decide(st, last, cfg, polNow)
		fail := func(what string, out outcome) {
			t.Helper()
			t.Fatalf("run %d: %s\nstate %+v\nlast %+v\nresult doc %+v err %v\nplan %+v\noutcome %+v",
				i, what, st, last, res.Doc, res.Err, plan, out)
		}
		if plan.LocalOpenable && !propAllowed(st, last, plan.Local) {
			fail("plan calls a forbidden local version openable", outcome{})
		}
		var outs []outcome
		if plan.Mode == modeSync {
			out := decideSync(plan, st, res)
			outs = append(outs, out)
			if out.Action == actionDownloadThenOpen {
				after := afterDownloadFailure(out, errs[r.IntN(len(errs))])
				if !after.HasUpdate || after.Open != out.Fallback {
					fail("after a failed download: not the fallback with hasUpdate and pending kept", after)
				}
				if v := after.Open; v != "" && !propAllowed(st, known, v) {
					fail("after a failed download: opens forbidden version "+v, after)
				}
			}
		} else {
			out := decideAsync(plan, st, res)
			if plan.LocalOpenable && out.Open != "" {
				fail("async outcome opens a version", out)
			}
			outs = append(outs, out)
		}
		outs = append(outs, decidePeriodic(st, res))
		for _, out := range outs {
			for _, v := range []string{out.Open, out.Fallback, out.Switch} {
				if v != "" && !propAllowed(st, known, v) {
					fail("outcome names forbidden version "+v, out)
				}
			}
			if out.Blocked && out.Open != "" {
				fail("blocked outcome opens", out)
			}
			if out.HasUpdate != (out.Download != nil || out.Switch != "") {
				fail("hasUpdate disagrees with the download", out)
			}
			if out.Download != nil && (res.Doc == nil || out.Download != res.Doc.LatestFor(res.ClientID)) {
				fail("download is not the latest release for this client", out)
			}
		}
	}
}

// propAllowed reports whether v may open by doc: installed, verified, not bad,
// not revoked, not below the minimum.
func propAllowed(st LocalState, doc *Document, v string) bool {
	i := slices.IndexFunc(st.Installed, func(iv InstalledVersion) bool { return iv.Version == v })
	if i < 0 || !st.Installed[i].Verified || slices.Contains(st.Bad, v) {
		return false
	}
	if doc == nil {
		return true
	}
	if doc.isRevoked(v) {
		return false
	}
	m, vv := semver(doc.MinVersion), semver(v)
	return m == nil || !vv.LessThan(m)
}
