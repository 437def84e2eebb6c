package updater

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	version "github.com/hashicorp/go-version"
)

// The launch policy: which version opens, whether the launch waits for a
// check, and what to do with a check's result. Everything here is a pure
// function of its arguments (no clock, no I/O); the executor (launch.go,
// executor.go) strings them together and asks its Runner for the checks
// and downloads. Each branch names the rules (see Rules) that decided it.
//
// A launch goes:
//
//	plan := decide(state, lastDoc, cfg, now)
//	async: open plan.Local at once if plan.LocalOpenable; check in the
//	       background; out := decideAsync(plan, state, result)
//	sync:  check within plan.Timeout; out := decideSync(plan, state, result);
//	       if out.Action is actionDownloadThenOpen and the download fails or
//	       the remaining timeout runs out: out = afterDownloadFailure(out, err)
//
// and, while the host runs, for each app with duePeriodicCheck
// (Executor.PeriodicDue): out := decidePeriodic(state, result)
// (Executor.AfterPeriodicCheck).

// decide chooses the launch mode (rules S1, S4, A1, N1) and computes L.
// last is the last verified release document, kept after it expires (nil
// if the app was never checked). cfg's zero fields take their defaults.
//
// Sync when there is no installed verified version (F1), when pending is
// set (S3, S6), or when the app was last opened LongUnused or more ago (S4);
// a local version that was never opened (LastUsed zero) counts as long
// unused, since nothing says how fresh it is. A LastUsed in the future
// (the clock went back) counts as just used. Otherwise async (A1). The mode
// never depends on last: M, P and revocations only decide what may open
// (N1).
func decide(st LocalState, last *Document, cfg PolicyConfig, now time.Time) launchPlan {
	cfg = cfg.WithDefaults()
	p := launchPlan{Local: localVersion(st, last), signed: last != nil}
	lc := checkLocal(st, last, p.Local)
	p.LocalOpenable, p.LocalBlockedReason, p.blockedRule = lc.ok, lc.why, lc.rule

	var rules, reasons []string
	if !hasInstalled(st) {
		rules, reasons = append(rules, "F1"), append(reasons, "no local version")
	}
	if st.Pending {
		rules, reasons = append(rules, "S3", "S6"), append(reasons, "pending update")
	}
	if hasInstalled(st) {
		switch age := now.Sub(st.LastUsed); {
		case st.LastUsed.IsZero():
			rules, reasons = append(rules, "S4"), append(reasons, "never opened")
		case age >= cfg.LongUnused:
			rules, reasons = append(rules, "S4"),
				append(reasons, fmt.Sprintf("unused for %s (>= %s)", formatAge(age), formatAge(cfg.LongUnused)))
		}
	}
	if len(rules) == 0 {
		p.Mode, p.Rules, p.Reason = modeAsync, []string{"A1"}, "cold start"
		return p
	}
	p.Mode, p.Rules, p.Reason = modeSync, append([]string{"S1"}, rules...), strings.Join(reasons, "; ")
	p.Timeout = cfg.SyncTimeout
	return p
}

// localVersion returns L: the highest installed, verified version that is
// neither revoked by last (nil: nothing revoked) nor marked bad, "" if none
// (rule L1). A prefetched version counts.
func localVersion(st LocalState, last *Document) string {
	var best *version.Version
	var bestS string
	for _, iv := range st.Installed {
		v := usable(st, last, iv)
		if v != nil && (best == nil || v.GreaterThan(best)) {
			best, bestS = v, iv.Version
		}
	}
	return bestS
}

// rollbackTarget returns the newest installed, verified version older than
// current that is not revoked, not marked bad and not below the minimum
// version of last; "" if none. Retention keeps it (K1) so that a revert
// can open it without a download.
func rollbackTarget(st LocalState, last *Document, current string) string {
	cur := semver(current)
	if cur == nil {
		return ""
	}
	minV := docMinVersion(last)
	var best *version.Version
	var bestS string
	for _, iv := range st.Installed {
		v := usable(st, last, iv)
		if v == nil || !v.LessThan(cur) || (minV != nil && v.LessThan(minV)) {
			continue
		}
		if best == nil || v.GreaterThan(best) {
			best, bestS = v, iv.Version
		}
	}
	return bestS
}

// duePeriodicCheck reports whether the periodic checker should check this
// app now: it has a local version and was opened within the recent window
// (rule S3). Long-unused apps are left to their next (sync) launch.
func duePeriodicCheck(st LocalState, cfg PolicyConfig, now time.Time) bool {
	cfg = cfg.WithDefaults()
	return hasInstalled(st) && !st.LastUsed.IsZero() && now.Sub(st.LastUsed) < cfg.RecentWindow
}

// decideSync decides a sync launch from its check's result. plan comes
// from decide for the same launch.
//
// The check failed: open L if it may open (S2); else, when the server has
// no such app and no signed document says otherwise, end the launch (F2);
// else blocked, retrying the check. V <= L: open L. V > L with prefer-local P, L >= P and L allowed:
// open L now, download V in the background (P1). V > L otherwise: download
// V within the remaining timeout with L as the fallback if L may open,
// else blocked until V is installed (F1, M1, R1). L and M are recomputed
// from the new document, so a revocation or minimum version it brings
// counts at once.
func decideSync(plan launchPlan, st LocalState, res CheckResult) outcome {
	if res.Err != nil || res.Doc == nil {
		if plan.LocalOpenable {
			return outcome{Action: actionOpenLocal, Open: plan.Local, Rules: []string{"S2"},
				Reason: "check failed: " + errText(res.Err) + "; opening local " + plan.Local}
		}
		if errors.Is(res.Err, ErrUnknownApp) && !plan.signed {
			// Waiting cannot help: the server answered, and it has no
			// release of this app at all (F2). A signed document says the
			// app exists, so a 404 then is a server or CDN to be fixed,
			// and the launch waits for it.
			return outcome{Action: actionUnavailable, Rules: []string{"F2"},
				Reason: "the release server has no such app; " + plan.LocalBlockedReason + ": nothing to open"}
		}
		return outcome{Action: actionBlocked, Blocked: true, Rules: []string{plan.blockedRule},
			Reason: "check failed: " + errText(res.Err) + "; " + plan.LocalBlockedReason + ": retrying"}
	}
	doc := res.Doc
	l := localVersion(st, doc)
	lc := checkLocal(st, doc, l)
	latest := latestUsable(st, doc, res.ClientID)
	lv, vv := semver(l), releaseSemver(latest)

	if vv == nil || (lv != nil && !vv.GreaterThan(lv)) {
		if lc.ok {
			return outcome{Action: actionOpenLocal, Open: l, Rules: []string{"S1", "S6"}, Reason: "local " + l + " is up to date"}
		}
		return outcome{Action: actionBlocked, Blocked: true, Rules: []string{lc.rule},
			Reason: lc.why + "; no newer release to download: retrying"}
	}

	// V > L.
	out := outcome{Download: latest, HasUpdate: true}
	if pref := semver(doc.PreferLocal); lc.ok && pref != nil && !lv.LessThan(pref) {
		out.Action, out.Open, out.Background = actionOpenLocalDownloadBackground, l, true
		out.Rules = []string{"P1", "S6"}
		out.Reason = fmt.Sprintf("%s is newer, but local %s >= prefer-local %s: opening local, downloading %s in the background",
			latest.Version, l, doc.PreferLocal, latest.Version)
		return out
	}
	if lc.ok {
		out.Action, out.Fallback = actionDownloadThenOpen, l
		out.Rules = append([]string{"S1", "S6"}, withoutIDs(plan.Rules, "S1", "S6", "A1")...)
		out.Reason = fmt.Sprintf("downloading %s (local %s opens if that fails or times out)", latest.Version, l)
		return out
	}
	out.Action, out.Blocked = actionBlocked, true
	out.Rules = []string{lc.rule, "S6"}
	out.Reason = fmt.Sprintf("%s: downloading %s before opening", lc.why, latest.Version)
	return out
}

// afterDownloadFailure decides what a sync launch does when the download
// of an actionDownloadThenOpen outcome failed or ran out of time (err
// wrapping context.DeadlineExceeded): open the fallback L (S2, and S5 when
// the sync was forced by long disuse); a download that timed out carries
// on in the background. Pending stays set, so the next start is sync
// again. An outcome with no fallback is returned blocked: keep retrying.
func afterDownloadFailure(out outcome, err error) outcome {
	if out.Fallback == "" {
		out.Action, out.Blocked, out.Open = actionBlocked, true, ""
		out.Reason = "download failed: " + errText(err) + ": retrying"
		return out
	}
	next := outcome{Action: actionOpenLocal, Open: out.Fallback, HasUpdate: out.HasUpdate,
		Rules: []string{"S2"}}
	if slices.Contains(out.Rules, "S4") {
		next.Rules = append(next.Rules, "S5")
	}
	if errors.Is(err, context.DeadlineExceeded) {
		next.Action, next.Download, next.Background = actionOpenLocalDownloadBackground, out.Download, true
		next.Reason = fmt.Sprintf("download of %s timed out: opening local %s, download continues in the background", releaseName(out.Download), out.Fallback)
		return next
	}
	next.Reason = fmt.Sprintf("download of %s failed: %s: opening local %s", releaseName(out.Download), errText(err), out.Fallback)
	return next
}

// decideAsync decides what an async launch does with its background check
// (rules A1, A2, M2, R1). plan comes from decide for the same launch;
// plan.Local was opened at once if plan.LocalOpenable. When nothing could
// open (the last known document revokes every installed version or puts L
// below its minimum), the launch is blocked and the sync table decides.
//
// V > L: download V in the background, for the next cold start (A2); if
// the opened version is below the new minimum or revoked, the host prompts
// a restart once V is ready (M2, R1). V <= L but the opened version must
// go (a revert): switch to L, already installed, at a prompted restart.
func decideAsync(plan launchPlan, st LocalState, res CheckResult) outcome {
	if !plan.LocalOpenable {
		out := decideSync(plan, st, res)
		out.Rules = append(out.Rules, "N1")
		return out
	}
	opened := plan.Local
	if res.Err != nil || res.Doc == nil {
		return outcome{Action: actionKeep, Rules: []string{"A1"},
			Reason: "background check failed: " + errText(res.Err)}
	}
	doc := res.Doc
	l := localVersion(st, doc)
	lv, ov := semver(l), semver(opened)
	latest := latestUsable(st, doc, res.ClientID)
	vv := releaseSemver(latest)

	var badRules []string
	var why string
	if doc.isRevoked(opened) {
		badRules, why = append(badRules, "R1"), "running "+opened+" is revoked"
	} else if minV := docMinVersion(doc); minV != nil && ov != nil && ov.LessThan(minV) {
		badRules, why = append(badRules, "M2"), fmt.Sprintf("running %s is below minimum %s", opened, doc.MinVersion)
	}

	if vv != nil && (lv == nil || vv.GreaterThan(lv)) {
		out := outcome{Action: actionDownloadBackground, Download: latest, Background: true,
			HasUpdate: true, Prompt: why != "",
			Rules:  append([]string{"A2", "S6"}, badRules...),
			Reason: fmt.Sprintf("%s is newer than %s: downloading in the background for the next cold start", latest.Version, opened)}
		if why != "" {
			out.Reason = why + "; " + out.Reason + ", then prompting a restart"
		}
		return out
	}
	if why != "" {
		if checkLocal(st, doc, l).ok && l != opened {
			return outcome{Action: actionSwitchOnRestart, Switch: l, HasUpdate: true, Prompt: true,
				Rules: badRules, Reason: why + "; prompting a restart into installed " + l}
		}
		return outcome{Action: actionKeep, Rules: badRules, Reason: why + "; no replacement available"}
	}
	return outcome{Action: actionKeep,
		Rules: []string{"A1"}, Reason: "running " + opened + " is up to date"}
}

// decidePeriodic decides what a periodic check of an app (see
// duePeriodicCheck) leads to: V > L sets pending, so the next launch is
// sync, and prefetches V in the background, so that launch needs only a
// check (S3, S6).
func decidePeriodic(st LocalState, res CheckResult) outcome {
	if res.Err != nil || res.Doc == nil {
		return outcome{Action: actionKeep, Rules: []string{"S3"}, Reason: "periodic check failed: " + errText(res.Err)}
	}
	l := localVersion(st, res.Doc)
	latest := latestUsable(st, res.Doc, res.ClientID)
	lv, vv := semver(l), releaseSemver(latest)
	if vv != nil && (lv == nil || vv.GreaterThan(lv)) {
		return outcome{Action: actionDownloadBackground, Download: latest, Background: true,
			HasUpdate: true, Rules: []string{"S3", "S6"},
			Reason: fmt.Sprintf("%s is newer than local %s: pending, prefetching", latest.Version, orNone(l))}
	}
	return outcome{Action: actionKeep, Rules: []string{"S3"}, Reason: "local " + l + " is up to date"}
}

// localCheck says whether L may open and, if not, why and by which rule.
type localCheck struct {
	ok   bool
	rule string // F1: nothing installed; R1: all revoked; M1: below minimum
	why  string
}

// checkLocal reports whether L may open by doc (nil: no document yet).
func checkLocal(st LocalState, doc *Document, l string) localCheck {
	if l == "" {
		if hasInstalled(st) {
			return localCheck{rule: "R1", why: "every installed version is revoked"}
		}
		return localCheck{rule: "F1", why: "no local version"}
	}
	if minV := docMinVersion(doc); minV != nil {
		if lv := semver(l); lv != nil && lv.LessThan(minV) {
			return localCheck{rule: "M1", why: fmt.Sprintf("local %s is below minimum available version %s", l, doc.MinVersion)}
		}
	}
	return localCheck{ok: true}
}

// hasInstalled reports whether any installed, verified version is not
// marked bad: the "local version exists" of the mode choice, before any
// document is consulted (N1).
func hasInstalled(st LocalState) bool {
	for _, iv := range st.Installed {
		if iv.Verified && semver(iv.Version) != nil && !isBad(st, iv.Version) {
			return true
		}
	}
	return false
}

// usable returns iv's parsed version when it is verified, not bad and not
// revoked by doc, else nil.
func usable(st LocalState, doc *Document, iv InstalledVersion) *version.Version {
	if !iv.Verified || isBad(st, iv.Version) || (doc != nil && doc.isRevoked(iv.Version)) {
		return nil
	}
	return semver(iv.Version)
}

// latestUsable is the latest release for this client, or nil when that
// release is marked bad locally: a version that crashed on launch is not
// fetched again until the server publishes a newer one (crash-loop
// rollback).
func latestUsable(st LocalState, doc *Document, clientID string) *Release {
	rel := doc.LatestFor(clientID)
	if rel != nil && isBad(st, rel.Version) {
		return nil
	}
	return rel
}

func isBad(st LocalState, v string) bool {
	return slices.ContainsFunc(st.Bad, func(b string) bool { return sameSemver(b, v) })
}

func releaseName(r *Release) string {
	if r == nil {
		return "the new version"
	}
	return r.Version
}

func errText(err error) string {
	if err == nil {
		return "no document"
	}
	return err.Error()
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// withoutIDs returns ids minus drop, in order.
func withoutIDs(ids []string, drop ...string) []string {
	var out []string
	for _, id := range ids {
		if !slices.Contains(drop, id) {
			out = append(out, id)
		}
	}
	return out
}

// formatAge writes d in days and hours ("8d", "7d12h", "3h0m0s").
func formatAge(d time.Duration) string {
	const day = 24 * time.Hour
	if d < day {
		return d.Round(time.Second).String()
	}
	// Round first: rounding only the remainder turns 20d23h59m into "20d24h".
	d = d.Round(time.Hour)
	days, rest := d/day, d%day
	if rest == 0 {
		return fmt.Sprintf("%dd", days)
	}
	return fmt.Sprintf("%dd%dh", days, rest/time.Hour)
}
