package updater

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

var polNow = time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC)

const polClient = "client-1"

func polRel(v string) *Release {
	return &Release{Version: v, Size: 1000, SHA256: strings.Repeat("ab", 32), Path: "apps/demo.app/packages/" + v + ".mpk"}
}

// polDoc returns a verified-looking document whose latest (fully released)
// is latest ("" for none), changed by opts.
func polDoc(latest string, opts ...func(*Document)) *Document {
	d := &Document{AppID: "demo.app", Sequence: 1, RolloutPercent: 100,
		IssuedAt: polNow.Add(-time.Hour), ExpiresAt: polNow.Add(time.Hour)}
	if latest != "" {
		d.Latest = polRel(latest)
	}
	for _, o := range opts {
		o(d)
	}
	return d
}

func withMin(v string) func(*Document)    { return func(d *Document) { d.MinVersion = v } }
func withPrefer(v string) func(*Document) { return func(d *Document) { d.PreferLocal = v } }
func withRevoked(vs ...string) func(*Document) {
	return func(d *Document) { d.Revoked = append(d.Revoked, vs...) }
}

func polInst(vs ...string) []InstalledVersion {
	var out []InstalledVersion
	for _, v := range vs {
		out = append(out, InstalledVersion{Version: v, Verified: true})
	}
	return out
}

// recent is a state opened an hour ago: an async launch unless pending.
func recent(active string, installed ...string) LocalState {
	return LocalState{Installed: polInst(installed...), Active: active, LastUsed: polNow.Add(-time.Hour)}
}

func pending(active string, installed ...string) LocalState {
	st := recent(active, installed...)
	st.Pending = true
	return st
}

// longUnused is a state last opened 8 days ago: a forced sync launch.
func longUnused(active string, installed ...string) LocalState {
	st := recent(active, installed...)
	st.LastUsed = polNow.Add(-8 * 24 * time.Hour)
	return st
}

func okResult(d *Document) CheckResult { return CheckResult{Doc: d, ClientID: polClient} }

var failResult = CheckResult{Err: fmt.Errorf("fetch document: %w", context.DeadlineExceeded), ClientID: polClient}

// unknownApp is a check the server answered with a 404: it has no such app.
var unknownApp = CheckResult{Err: fmt.Errorf("fetch document: %w", ErrUnknownApp), ClientID: polClient}

// want is the part of an outcome a case checks; Rules must all be present.
type want struct {
	Action                   outcomeAction
	Open, Download, Fallback string
	Switch                   string
	Background, Blocked      bool
	Prompt, HasUpdate        bool
	Rules                    []string
}

func checkOutcome(t *testing.T, got outcome, w want) {
	t.Helper()
	dl := ""
	if got.Download != nil {
		dl = got.Download.Version
	}
	gotW := want{Action: got.Action, Open: got.Open, Download: dl, Fallback: got.Fallback, Switch: got.Switch,
		Background: got.Background, Blocked: got.Blocked, Prompt: got.Prompt, HasUpdate: got.HasUpdate, Rules: w.Rules}
	if fmt.Sprint(gotW) != fmt.Sprint(w) {
		t.Errorf("outcome\n got  %+v\n want %+v\n reason %q", gotW, w, got.Reason)
	}
	for _, id := range w.Rules {
		if !slices.Contains(got.Rules, id) {
			t.Errorf("outcome rules %v lack %s (reason %q)", got.Rules, id, got.Reason)
		}
	}
	if got.Reason == "" {
		t.Errorf("outcome has no reason")
	}
}

// apply does what the host does with an outcome's state changes.
func apply(st *LocalState, out outcome, now time.Time) {
	if out.Open != "" {
		st.Active, st.LastUsed = out.Open, now
	}
}

func TestDecideMode(t *testing.T) {
	covers(t, "S1", "S3", "S4", "A1", "F1")
	day := 24 * time.Hour
	tests := []struct {
		name   string
		st     LocalState
		cfg    PolicyConfig
		mode   launchMode
		rules  []string
		reason string
	}{
		{"no local version", LocalState{}, PolicyConfig{}, modeSync, []string{"S1", "F1"}, "no local version"},
		{"only an unverified version", LocalState{Installed: []InstalledVersion{{Version: "1.0.0"}}, LastUsed: polNow},
			PolicyConfig{}, modeSync, []string{"F1"}, "no local version"},
		{"only a version marked bad", LocalState{Installed: polInst("1.0.0"), Bad: []string{"1.0.0"}, LastUsed: polNow},
			PolicyConfig{}, modeSync, []string{"F1"}, "no local version"},
		{"pending update", pending("1.0.0", "1.0.0"), PolicyConfig{}, modeSync, []string{"S1", "S3"}, "pending update"},
		{"unused 8 days", longUnused("1.0.0", "1.0.0"), PolicyConfig{}, modeSync, []string{"S1", "S4"}, "unused for 8d (>= 7d)"},
		{"unused exactly the threshold", LocalState{Installed: polInst("1.0.0"), LastUsed: polNow.Add(-7 * day)},
			PolicyConfig{}, modeSync, []string{"S4"}, "unused for 7d (>= 7d)"},
		{"unused just under the threshold", LocalState{Installed: polInst("1.0.0"), LastUsed: polNow.Add(-7*day + time.Second)},
			PolicyConfig{}, modeAsync, []string{"A1"}, "cold start"},
		{"custom threshold", LocalState{Installed: polInst("1.0.0"), LastUsed: polNow.Add(-90 * time.Minute)},
			PolicyConfig{LongUnused: time.Hour}, modeSync, []string{"S4"}, "unused for 1h30m0s (>= 1h0m0s)"},
		{"installed but never opened", LocalState{Installed: polInst("1.0.0")}, PolicyConfig{}, modeSync, []string{"S4"}, "never opened"},
		{"pending and long unused", func() LocalState { s := longUnused("1.0.0", "1.0.0"); s.Pending = true; return s }(),
			PolicyConfig{}, modeSync, []string{"S3", "S4"}, "pending update; unused for 8d (>= 7d)"},
		{"recently used: async", recent("1.0.0", "1.0.0"), PolicyConfig{}, modeAsync, []string{"A1"}, "cold start"},
		{"last use in the future (clock went back)", LocalState{Installed: polInst("1.0.0"), LastUsed: polNow.Add(time.Hour)},
			PolicyConfig{}, modeAsync, []string{"A1"}, "cold start"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := decide(tt.st, nil, tt.cfg, polNow)
			if p.Mode != tt.mode || p.Reason != tt.reason {
				t.Errorf("decide = %s %q, want %s %q", p.Mode, p.Reason, tt.mode, tt.reason)
			}
			for _, id := range tt.rules {
				if !slices.Contains(p.Rules, id) {
					t.Errorf("rules %v lack %s", p.Rules, id)
				}
			}
			wantTimeout := time.Duration(0)
			if tt.mode == modeSync {
				wantTimeout = defaultSyncTimeout
			}
			if p.Timeout != wantTimeout {
				t.Errorf("Timeout = %v, want %v", p.Timeout, wantTimeout)
			}
		})
	}
}

func TestPolicyLocalVersion(t *testing.T) {
	covers(t, "L1")
	tests := []struct {
		name     string
		st       LocalState
		last     *Document
		want     string
		openable bool
		blocked  string
	}{
		{"none", LocalState{}, nil, "", false, "no local version"},
		{"highest by semver, not by text", recent("1.9.0", "1.9.0", "1.10.0"), nil, "1.10.0", true, ""},
		{"a prefetched version counts", recent("1.0.0", "1.0.0", "1.1.0"), polDoc("1.1.0"), "1.1.0", true, ""},
		{"unverified does not count", LocalState{Installed: []InstalledVersion{{Version: "1.0.0", Verified: true}, {Version: "1.1.0"}}}, nil, "1.0.0", true, ""},
		{"marked bad does not count", LocalState{Installed: polInst("1.0.0", "1.1.0"), Bad: []string{"1.1.0"}}, nil, "1.0.0", true, ""},
		{"not a version does not count", LocalState{Installed: polInst("1.0.0", "latest")}, nil, "1.0.0", true, ""},
		{"revoked by the last document", recent("1.1.0", "1.0.0", "1.1.0"), polDoc("1.0.0", withRevoked("1.1.0")), "1.0.0", true, ""},
		{"every version revoked", recent("1.1.0", "1.1.0"), polDoc("1.2.0", withRevoked("1.1.0")), "", false, "every installed version is revoked"},
		{"below the last known minimum", recent("1.0.0", "1.0.0"), polDoc("1.2.0", withMin("1.1.0")), "1.0.0", false,
			"local 1.0.0 is below minimum available version 1.1.0"},
		{"an expired document still counts", recent("1.0.0", "1.0.0"),
			polDoc("1.2.0", withMin("1.1.0"), func(d *Document) { d.ExpiresAt = polNow.Add(-30 * 24 * time.Hour) }),
			"1.0.0", false, "local 1.0.0 is below minimum available version 1.1.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := localVersion(tt.st, tt.last); got != tt.want {
				t.Errorf("localVersion = %q, want %q", got, tt.want)
			}
			p := decide(tt.st, tt.last, PolicyConfig{}, polNow)
			if p.Local != tt.want || p.LocalOpenable != tt.openable || p.LocalBlockedReason != tt.blocked {
				t.Errorf("launchPlan local = %q openable %v %q, want %q %v %q", p.Local, p.LocalOpenable, p.LocalBlockedReason,
					tt.want, tt.openable, tt.blocked)
			}
		})
	}
}

func TestPolicyRollbackTarget(t *testing.T) {
	covers(t, "K1", "R1")
	tests := []struct {
		name    string
		st      LocalState
		last    *Document
		current string
		want    string
	}{
		{"newest older version", recent("1.3.0", "1.0.0", "1.1.0", "1.2.0", "1.3.0"), nil, "1.3.0", "1.2.0"},
		{"skips revoked", recent("1.3.0", "1.0.0", "1.1.0", "1.2.0", "1.3.0"), polDoc("1.3.0", withRevoked("1.2.0")), "1.3.0", "1.1.0"},
		{"not below the minimum", recent("1.3.0", "1.0.0", "1.3.0"), polDoc("1.3.0", withMin("1.1.0")), "1.3.0", ""},
		{"skips unverified and bad", LocalState{Installed: []InstalledVersion{{Version: "1.0.0", Verified: true}, {Version: "1.1.0"},
			{Version: "1.2.0", Verified: true}, {Version: "1.3.0", Verified: true}}, Bad: []string{"1.2.0"}}, nil, "1.3.0", "1.0.0"},
		{"never newer", recent("1.0.0", "1.0.0", "1.1.0"), nil, "1.0.0", ""},
		{"no current version", recent("", "1.0.0"), nil, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := rollbackTarget(tt.st, tt.last, tt.current); got != tt.want {
				t.Errorf("rollbackTarget = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPolicyConfig(t *testing.T) {
	covers(t, "C1")
	d := PolicyConfig{}.WithDefaults()
	if d != (PolicyConfig{SyncTimeout: 5 * time.Second, LongUnused: 7 * 24 * time.Hour, RecentWindow: 7 * 24 * time.Hour, PeriodicInterval: 6 * time.Hour,
		PeriodicJitter: 0.1, PeriodicFirst: time.Minute, PushWait: 12 * time.Hour, PushJitter: 10 * time.Minute, RetryMin: 500 * time.Millisecond, RetryMax: 30 * time.Second, BackgroundTimeout: 2 * time.Minute,
		BackgroundAttempts: 3, CrashLoopLimit: 2}) {
		t.Errorf("defaults = %+v", d)
	}
	tests := []struct {
		name    string
		cfg     PolicyConfig
		wantErr []string // substrings; nil: valid
	}{
		{"zero is all defaults", PolicyConfig{}, nil},
		{"threshold equal to window", PolicyConfig{LongUnused: time.Hour, RecentWindow: time.Hour}, nil},
		{"threshold above window", PolicyConfig{LongUnused: 8 * 24 * time.Hour}, []string{"LongUnused 8d", "RecentWindow 7d"}},
		{"threshold above a short window", PolicyConfig{RecentWindow: 24 * time.Hour}, []string{"LongUnused 7d", "RecentWindow 1d"}},
		{"negative timeout", PolicyConfig{SyncTimeout: -time.Second}, []string{"SyncTimeout", "negative"}},
		{"negative interval", PolicyConfig{PeriodicInterval: -time.Second}, []string{"PeriodicInterval"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if (err == nil) != (tt.wantErr == nil) {
				t.Fatalf("Validate = %v, want error %v", err, tt.wantErr != nil)
			}
			for _, s := range tt.wantErr {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("Validate = %q, want it to name %q", err, s)
				}
			}
		})
	}
}

// rolloutClient returns a client id and its bucket for the test document's
// latest version, with the bucket in 1..98 so both sides of it exist.
func rolloutClient(t *testing.T, version string) (string, int) {
	for i := range 1000 {
		id := fmt.Sprintf("client-%d", i)
		if b := rolloutBucket(id, "demo.app", version); b >= 1 && b <= 98 {
			return id, b
		}
	}
	t.Fatal("no client id with a middle bucket")
	return "", 0
}

// checkCase is a launch that checks for an update: decide plans it from st
// and the last known document, then the check returns res.
type checkCase struct {
	name string
	st   LocalState
	last *Document
	res  CheckResult
	want want
}

func TestDecideSync(t *testing.T) {
	covers(t, "S1", "S2", "S6", "P1", "M1", "R1", "F1", "F2", "L1")
	staged := func(percent int) func(*Document) {
		return func(d *Document) { d.Stable, d.RolloutPercent = polRel("1.0.0"), percent }
	}
	rc, bucket := rolloutClient(t, "1.1.0")
	tests := []checkCase{
		{"check fails: open local", pending("1.0.0", "1.0.0"), polDoc("1.0.0"), failResult,
			want{Action: actionOpenLocal, Open: "1.0.0", Rules: []string{"S2"}}},
		{"check fails, nothing installed: blocked", LocalState{}, nil, failResult,
			want{Action: actionBlocked, Blocked: true, Rules: []string{"F1"}}},
		{"server has no such app, nothing installed: unavailable", LocalState{}, nil, unknownApp,
			want{Action: actionUnavailable, Rules: []string{"F2"}}},
		{"server has no such app, local below a signed minimum: the document outranks the 404, blocked", pending("1.0.0", "1.0.0"), polDoc("1.2.0", withMin("1.1.0")), unknownApp,
			want{Action: actionBlocked, Blocked: true, Rules: []string{"M1"}}},
		{"server has no such app, nothing installed but a signed document known: blocked", LocalState{}, polDoc("1.0.0"), unknownApp,
			want{Action: actionBlocked, Blocked: true, Rules: []string{"F1"}}},
		{"server has no such app, local may open: open local", pending("1.0.0", "1.0.0"), polDoc("1.0.0"), unknownApp,
			want{Action: actionOpenLocal, Open: "1.0.0", Rules: []string{"S2"}}},
		{"check fails, local below last known minimum: blocked", pending("1.0.0", "1.0.0"), polDoc("1.2.0", withMin("1.1.0")), failResult,
			want{Action: actionBlocked, Blocked: true, Rules: []string{"M1"}}},
		{"check fails, every installed version revoked: blocked", pending("1.0.0", "1.0.0"), polDoc("1.1.0", withRevoked("1.0.0")), failResult,
			want{Action: actionBlocked, Blocked: true, Rules: []string{"R1"}}},
		{"V equals a prefetched L: open it, clear pending", pending("1.0.0", "1.0.0", "1.1.0"), polDoc("1.0.0"), okResult(polDoc("1.1.0")),
			want{Action: actionOpenLocal, Open: "1.1.0", Rules: []string{"S1", "S6"}}},
		{"V below L after a revert: open the installed older version", pending("1.1.0", "1.0.0", "1.1.0"), polDoc("1.1.0"),
			okResult(polDoc("1.0.0", withRevoked("1.1.0"))),
			want{Action: actionOpenLocal, Open: "1.0.0", Rules: []string{"S1"}}},
		{"prefer-local, L >= P: open L, download V in the background", longUnused("1.1.0", "1.1.0"), nil,
			okResult(polDoc("1.2.0", withPrefer("1.1.0"))),
			want{Action: actionOpenLocalDownloadBackground, Open: "1.1.0", Download: "1.2.0", Background: true,
				HasUpdate: true, Rules: []string{"P1"}}},
		{"prefer-local, L below P: download V first", longUnused("1.0.0", "1.0.0"), nil,
			okResult(polDoc("1.2.0", withPrefer("1.1.0"))),
			want{Action: actionDownloadThenOpen, Download: "1.2.0", Fallback: "1.0.0", HasUpdate: true,
				Rules: []string{"S1", "S4"}}},
		{"prefer-local never opens a version below the minimum", longUnused("1.1.0", "1.1.0"), nil,
			okResult(polDoc("1.2.0", withPrefer("1.0.0"), withMin("1.2.0"))),
			want{Action: actionBlocked, Download: "1.2.0", Blocked: true, HasUpdate: true, Rules: []string{"M1"}}},
		{"prefer-local never opens a revoked version", longUnused("1.1.0", "1.0.0", "1.1.0"), nil,
			okResult(polDoc("1.2.0", withPrefer("1.1.0"), withRevoked("1.1.0"))),
			want{Action: actionDownloadThenOpen, Download: "1.2.0", Fallback: "1.0.0", HasUpdate: true,
				Rules: []string{"S1"}}},
		{"revoked, nothing else installed: blocked until V is installed", pending("1.1.0", "1.1.0"), nil,
			okResult(polDoc("1.2.0", withRevoked("1.1.0"))),
			want{Action: actionBlocked, Download: "1.2.0", Blocked: true, HasUpdate: true, Rules: []string{"R1"}}},
		{"V > L: download within the timeout, L as fallback", pending("1.0.0", "1.0.0"), polDoc("1.0.0"), okResult(polDoc("1.1.0")),
			want{Action: actionDownloadThenOpen, Download: "1.1.0", Fallback: "1.0.0", HasUpdate: true,
				Rules: []string{"S1", "S3", "S6"}}},
		{"first install: blocked until downloaded", LocalState{}, nil, okResult(polDoc("1.0.0")),
			want{Action: actionBlocked, Download: "1.0.0", Blocked: true, HasUpdate: true, Rules: []string{"F1"}}},
		{"first install, nothing released: blocked", LocalState{}, nil, okResult(polDoc("")),
			want{Action: actionBlocked, Blocked: true, Rules: []string{"F1"}}},
		{"a minimum the new document brings counts at once", pending("1.0.0", "1.0.0"), nil,
			okResult(polDoc("1.1.0", withMin("1.1.0"))),
			want{Action: actionBlocked, Download: "1.1.0", Blocked: true, HasUpdate: true, Rules: []string{"M1"}}},
		{"staged rollout, client outside: stable is V", pending("1.0.0", "1.0.0"), nil,
			CheckResult{Doc: polDoc("1.1.0", staged(bucket)), ClientID: rc},
			want{Action: actionOpenLocal, Open: "1.0.0", Rules: []string{"S1"}}},
		{"staged rollout, client inside: latest is V", pending("1.0.0", "1.0.0"), nil,
			CheckResult{Doc: polDoc("1.1.0", staged(bucket+1)), ClientID: rc},
			want{Action: actionDownloadThenOpen, Download: "1.1.0", Fallback: "1.0.0", HasUpdate: true,
				Rules: []string{"S1"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan := decide(tt.st, tt.last, PolicyConfig{}, polNow)
			if plan.Mode != modeSync {
				t.Fatalf("test state gives a %s launch (%s), want sync", plan.Mode, plan.Reason)
			}
			checkOutcome(t, decideSync(plan, tt.st, tt.res), tt.want)
		})
	}
}

func TestDecideSyncAfterDownloadFailure(t *testing.T) {
	covers(t, "S2", "S5", "S6", "F1")
	netErr := errors.New("read tcp: connection reset by peer")
	timeout := fmt.Errorf("download: %w", context.DeadlineExceeded)
	tests := []struct {
		name string
		st   LocalState
		err  error
		want want
	}{
		{"weak network on a forced sync: open the local lower version", longUnused("1.0.0", "1.0.0"), netErr,
			want{Action: actionOpenLocal, Open: "1.0.0", HasUpdate: true, Rules: []string{"S2", "S5"}}},
		{"timeout: open local, the download carries on", longUnused("1.0.0", "1.0.0"), timeout,
			want{Action: actionOpenLocalDownloadBackground, Open: "1.0.0", Download: "1.1.0", Background: true,
				HasUpdate: true, Rules: []string{"S2", "S5"}}},
		{"pending sync: open local", pending("1.0.0", "1.0.0"), netErr,
			want{Action: actionOpenLocal, Open: "1.0.0", HasUpdate: true, Rules: []string{"S2"}}},
		{"nothing may open: stay blocked", LocalState{}, timeout,
			want{Action: actionBlocked, Download: "1.1.0", Blocked: true, HasUpdate: true, Rules: []string{"F1"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan := decide(tt.st, nil, PolicyConfig{}, polNow)
			out := decideSync(plan, tt.st, okResult(polDoc("1.1.0")))
			got := afterDownloadFailure(out, tt.err)
			checkOutcome(t, got, tt.want)
			if !slices.Contains(plan.Rules, "S4") && slices.Contains(got.Rules, "S5") {
				t.Errorf("S5 (weak network on a forced sync) claimed for a sync that was not forced: %v", got.Rules)
			}
		})
	}
}

func TestDecideAsync(t *testing.T) {
	covers(t, "A1", "A2", "M2", "R1", "N1", "S6")
	tests := []checkCase{
		{"check fails: keep running", recent("1.0.0", "1.0.0"), nil, failResult,
			want{Action: actionKeep, Rules: []string{"A1"}}},
		{"up to date: keep running", recent("1.0.0", "1.0.0"), nil, okResult(polDoc("1.0.0")),
			want{Action: actionKeep, Rules: []string{"A1"}}},
		{"newer version: download in the background for the next cold start", recent("1.0.0", "1.0.0"), nil, okResult(polDoc("1.1.0")),
			want{Action: actionDownloadBackground, Download: "1.1.0", Background: true, HasUpdate: true,
				Rules: []string{"A2", "S6"}}},
		{"prefer-local changes nothing in async", recent("1.0.0", "1.0.0"), nil, okResult(polDoc("1.1.0", withPrefer("1.0.0"))),
			want{Action: actionDownloadBackground, Download: "1.1.0", Background: true, HasUpdate: true,
				Rules: []string{"A2"}}},
		{"below the new minimum: prompt a restart once ready", recent("1.0.0", "1.0.0"), nil,
			okResult(polDoc("1.1.0", withMin("1.1.0"))),
			want{Action: actionDownloadBackground, Download: "1.1.0", Background: true, Prompt: true, HasUpdate: true, Rules: []string{"A2", "M2"}}},
		{"running version revoked: prompt a restart once ready", recent("1.0.0", "1.0.0"), nil,
			okResult(polDoc("1.1.0", withRevoked("1.0.0"))),
			want{Action: actionDownloadBackground, Download: "1.1.0", Background: true, Prompt: true, HasUpdate: true, Rules: []string{"A2", "R1"}}},
		{"revert to an installed version: switch at a prompted restart", recent("1.1.0", "1.0.0", "1.1.0"), nil,
			okResult(polDoc("1.0.0", withRevoked("1.1.0"))),
			want{Action: actionSwitchOnRestart, Switch: "1.0.0", Prompt: true, HasUpdate: true, Rules: []string{"R1"}}},
		{"last known minimum above L: nothing opened, blocked until V is in", recent("1.0.0", "1.0.0"),
			polDoc("1.1.0", withMin("1.1.0")), okResult(polDoc("1.1.0", withMin("1.1.0"))),
			want{Action: actionBlocked, Download: "1.1.0", Blocked: true, HasUpdate: true,
				Rules: []string{"M1", "N1"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan := decide(tt.st, tt.last, PolicyConfig{}, polNow)
			if plan.Mode != modeAsync {
				t.Fatalf("test state gives a %s launch (%s), want async", plan.Mode, plan.Reason)
			}
			got := decideAsync(plan, tt.st, tt.res)
			checkOutcome(t, got, tt.want)
			if got.Open != "" {
				t.Errorf("async outcome opens %s; the launch opened its version before the check", got.Open)
			}
		})
	}
}

func TestDecidePeriodic(t *testing.T) {
	covers(t, "S3")
	day := 24 * time.Hour
	due := []struct {
		name string
		st   LocalState
		cfg  PolicyConfig
		want bool
	}{
		{"used an hour ago", recent("1.0.0", "1.0.0"), PolicyConfig{}, true},
		{"used just inside the window", LocalState{Installed: polInst("1.0.0"), LastUsed: polNow.Add(-7*day + time.Minute)}, PolicyConfig{}, true},
		{"used at the window's edge", LocalState{Installed: polInst("1.0.0"), LastUsed: polNow.Add(-7 * day)}, PolicyConfig{}, false},
		{"used long ago: left to its sync launch", longUnused("1.0.0", "1.0.0"), PolicyConfig{}, false},
		{"longer custom window", longUnused("1.0.0", "1.0.0"), PolicyConfig{RecentWindow: 30 * day}, true},
		{"never used", LocalState{Installed: polInst("1.0.0")}, PolicyConfig{}, false},
		{"nothing installed", LocalState{LastUsed: polNow}, PolicyConfig{}, false},
	}
	for _, tt := range due {
		t.Run("due/"+tt.name, func(t *testing.T) {
			if got := duePeriodicCheck(tt.st, tt.cfg, polNow); got != tt.want {
				t.Errorf("duePeriodicCheck = %v, want %v", got, tt.want)
			}
		})
	}
	decide := []struct {
		name string
		st   LocalState
		res  CheckResult
		want want
	}{
		{"update found: pending and prefetch", recent("1.0.0", "1.0.0"), okResult(polDoc("1.1.0")),
			want{Action: actionDownloadBackground, Download: "1.1.0", Background: true, HasUpdate: true,
				Rules: []string{"S3", "S6"}}},
		{"already prefetched: nothing to do", pending("1.0.0", "1.0.0", "1.1.0"), okResult(polDoc("1.1.0")),
			want{Action: actionKeep, Rules: []string{"S3"}}},
		{"check fails: nothing to do", recent("1.0.0", "1.0.0"), failResult,
			want{Action: actionKeep, Rules: []string{"S3"}}},
	}
	for _, tt := range decide {
		t.Run("decide/"+tt.name, func(t *testing.T) {
			checkOutcome(t, decidePeriodic(tt.st, tt.res), tt.want)
		})
	}
}

// derive fills in st.Pending as the executor does before each decision.
func derive(st *LocalState, last *Document) { st.Pending = PendingUpdate(*st, last, polClient) }

// TestPolicyPendingLifecycle walks an app through rule S6: a periodic
// check finds an update, which is pending (the next start would be sync)
// until the prefetch installs it; then the next start is async and opens
// it at once.
func TestPolicyPendingLifecycle(t *testing.T) {
	covers(t, "S3", "S6", "A1", "L1")
	st := recent("1.0.0", "1.0.0")
	doc := polDoc("1.1.0")
	now := polNow

	out := decidePeriodic(st, okResult(doc))
	derive(&st, doc)
	if !st.Pending || out.Download == nil {
		t.Fatalf("periodic check: pending %v, download %v", st.Pending, out.Download)
	}
	if plan := decide(st, doc, PolicyConfig{}, now); plan.Mode != modeSync {
		t.Fatalf("before the prefetch: %s launch (%s), want sync", plan.Mode, plan.Reason)
	}
	st.Installed = append(st.Installed, InstalledVersion{Version: out.Download.Version, Verified: true}) // prefetch done
	derive(&st, doc)
	if st.Pending {
		t.Fatalf("pending after the prefetch installed V")
	}

	now = now.Add(time.Hour)
	plan := decide(st, doc, PolicyConfig{}, now)
	if plan.Mode != modeAsync || plan.Local != "1.1.0" || !plan.LocalOpenable {
		t.Fatalf("after prefetch: %s launch of %q (%s), want async opening the prefetched 1.1.0", plan.Mode, plan.Local, plan.Reason)
	}
}

// TestPolicyAsyncUpdateNextColdStart: an async launch finds an update and
// keeps the old version; the next cold start uses the new one, even when
// its check fails.
func TestPolicyAsyncUpdateNextColdStart(t *testing.T) {
	covers(t, "A1", "A2", "S2", "S6")
	st := recent("1.0.0", "1.0.0")
	doc := polDoc("1.1.0")

	plan := decide(st, nil, PolicyConfig{}, polNow)
	if plan.Mode != modeAsync || !plan.LocalOpenable || plan.Local != "1.0.0" {
		t.Fatalf("plan = %+v, want async opening 1.0.0", plan)
	}
	apply(&st, outcome{Open: plan.Local}, polNow) // opened at once
	out := decideAsync(plan, st, okResult(doc))
	apply(&st, out, polNow)
	if st.Active != "1.0.0" || out.Download == nil || out.Download.Version != "1.1.0" || !out.HasUpdate {
		t.Fatalf("async check: active %s, outcome %+v", st.Active, out)
	}
	st.Installed = append(st.Installed, InstalledVersion{Version: "1.1.0", Verified: true}) // background download done
	derive(&st, doc)

	next := polNow.Add(10 * time.Minute)
	plan = decide(st, doc, PolicyConfig{}, next)
	if plan.Mode != modeAsync || plan.Local != "1.1.0" || !plan.LocalOpenable {
		t.Fatalf("next cold start: %s of %q (%s), want async opening the downloaded 1.1.0 without waiting", plan.Mode, plan.Local, plan.Reason)
	}
}

// TestPolicyDeclinedMandatoryRestart: while the version an async launch
// prompts a restart for (L below the new minimum) is not installed, the
// update is pending, so the next start is sync, and there the old version
// may not open.
func TestPolicyDeclinedMandatoryRestart(t *testing.T) {
	covers(t, "M1", "M2", "S6")
	st := recent("1.0.0", "1.0.0")
	doc := polDoc("1.1.0", withMin("1.1.0"))
	plan := decide(st, nil, PolicyConfig{}, polNow)
	out := decideAsync(plan, st, okResult(doc))
	if !out.Prompt {
		t.Fatalf("async check below the minimum does not prompt: %+v", out)
	}
	apply(&st, out, polNow) // the user declines: nothing else changes
	derive(&st, doc)
	plan = decide(st, doc, PolicyConfig{}, polNow.Add(time.Minute))
	if plan.Mode != modeSync || plan.LocalOpenable {
		t.Fatalf("next launch: %s, local openable %v, want sync with 1.0.0 blocked", plan.Mode, plan.LocalOpenable)
	}
	if out := decideSync(plan, st, failResult); !out.Blocked || out.Open != "" {
		t.Fatalf("next launch with a failed check: %+v, want blocked", out)
	}
}

// TestPolicyWalkthrough walks one weak-network sync launch through the
// policy functions the executor strings together (S2, S4, S5).
func TestPolicyWalkthrough(t *testing.T) {
	covers(t, "S2", "S4", "S5")
	st := LocalState{
		Installed: []InstalledVersion{{Version: "1.0.0", Verified: true}},
		Active:    "1.0.0",
		LastUsed:  time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC),
	}
	now := time.Date(2025, 3, 10, 9, 0, 0, 0, time.UTC)
	plan := decide(st, nil, PolicyConfig{}, now)
	got := []string{fmt.Sprint(plan.Mode, " ", plan.Rules, " ", plan.Reason, " ", plan.Timeout)}

	// The check within plan.Timeout finds a new version.
	doc := &Document{AppID: "demo.counter", RolloutPercent: 100,
		Latest: &Release{Version: "1.1.0", Size: 1, SHA256: strings.Repeat("0", 64), Path: "p.mpk"}}
	out := decideSync(plan, st, CheckResult{Doc: doc, ClientID: "c1"})
	got = append(got, fmt.Sprint(out.Action, " ", out.Download.Version, " fallback ", out.Fallback))

	// The network is weak: the download fails, the local version opens.
	out = afterDownloadFailure(out, errors.New("connection reset"))
	got = append(got, fmt.Sprint(out.Action, " ", out.Open, " ", out.Rules))
	want := []string{
		"sync [S1 S4] unused for 9d (>= 7d) 5s",
		"download-then-open 1.1.0 fallback 1.0.0",
		"open-local 1.0.0 [S2 S5]",
	}
	if !slices.Equal(got, want) {
		t.Errorf("walkthrough\n got  %q\n want %q", got, want)
	}
}

// TestFormatAge holds the decision trace's ages to whole days and hours: the
// README's three-weeks-on launch showed "unused for 20d24h" when the
// remainder alone was rounded.
func TestFormatAge(t *testing.T) {
	const day = 24 * time.Hour
	for _, tc := range []struct {
		name string
		d    time.Duration
		want string
	}{
		{"under a day", 3 * time.Hour, "3h0m0s"},
		{"whole days", 8 * day, "8d"},
		{"days and hours", 7*day + 12*time.Hour, "7d12h"},
		{"just under a day more", 21*day - 2*time.Second, "21d"},
		{"just over", 21*day + 29*time.Minute, "21d"},
		{"half an hour rounds up", 7*day + 23*time.Hour + 30*time.Minute, "8d"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := formatAge(tc.d); got != tc.want {
				t.Errorf("formatAge(%v) = %q, want %q", tc.d, got, tc.want)
			}
		})
	}
}
