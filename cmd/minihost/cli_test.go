package main

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/minihost/minihost/runtime/mpk"
	"github.com/minihost/minihost/samples/wx/abi"
	"github.com/minihost/minihost/updater/release"
)

// commandNames returns the commands map's names in order.
func commandNames() []string {
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// TestEveryCommandTakesFlagsAfterArguments proves, for every command in
// the commands map (so a new one cannot skip it), that a flag after a
// positional argument is read as a flag: an unknown one is a usage error
// (exit 2) that names it, and -h there prints the usage with an example.
// A command that stopped at the first argument, as flag.Parse does, would
// take "--no-such-flag" for an argument instead.
func TestEveryCommandTakesFlagsAfterArguments(t *testing.T) {
	for _, name := range commandNames() {
		t.Run(name, func(t *testing.T) {
			code, stdout, stderr := relRun(t, name, "ARG", "--no-such-flag")
			if code != 2 || !strings.Contains(stderr, "flag provided but not defined: -no-such-flag") {
				t.Errorf("%s ARG --no-such-flag: exit %d, want 2 naming the flag\nstdout:\n%s\nstderr:\n%s", name, code, stdout, stderr)
			}
			code, _, stderr = relRun(t, name, "ARG", "-h")
			if code != 0 || !strings.Contains(stderr, "usage: minihost "+name) || !strings.Contains(stderr, "example:") {
				t.Errorf("%s ARG -h: exit %d, want 0 and the usage with an example\n%s", name, code, stderr)
			}
			if code, _, stderr := relRun(t, "help", name); code != 0 || !strings.Contains(stderr, "usage: minihost "+name) {
				t.Errorf("help %s: exit %d\n%s", name, code, stderr)
			}
		})
	}
}

// exitCase is a command line and the exit code it must give, with a text
// its output (stdout or stderr) must hold. HOME in args becomes a new
// temporary folder.
type exitCase struct {
	name string
	args []string
	code int
	want string
}

// testExits runs each case; an exit code 2 must come with a usage text.
func testExits(t *testing.T, cases []exitCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			args := slices.Clone(tt.args)
			for i, a := range args {
				if a == "HOME" {
					args[i] = t.TempDir()
				}
			}
			code, stdout, stderr := relRun(t, args...)
			if code != tt.code || !strings.Contains(stdout+stderr, tt.want) || (code == 2 && !strings.Contains(stderr, "usage:")) {
				t.Fatalf("%v: exit %d, want %d with %q\nstdout:\n%s\nstderr:\n%s", args, code, tt.code, tt.want, stdout, stderr)
			}
		})
	}
}

// TestFlagsEitherSideOfArguments gives commands a valued flag on either
// side of their argument and checks that it took effect: each line is
// refused for the reason only that flag's value gives.
func TestFlagsEitherSideOfArguments(t *testing.T) {
	pkg := filepath.Join(t.TempDir(), "x.mpk")
	testExits(t, []exitCase{
		{"run, flags after", []string{"run", "samples/hello", "--yes", "--no"}, 2, "--yes and --no exclude each other"},
		{"run, flags before", []string{"run", "--yes", "--no", "samples/hello"}, 2, "--yes and --no exclude each other"},
		{"run, flags around", []string{"run", "--yes", "samples/hello", "--no"}, 2, "--yes and --no exclude each other"},
		{"run, event flag after", []string{"run", "samples/hello", "--events", "xml"}, 2, `--events "xml"`},
		{"dev, flags after", []string{"dev", "samples/counter", "--simulate-update", "maybe"}, 2, `--simulate-update "maybe"`},
		{"publish, flags after", []string{"publish", pkg, "--rollout", "101"}, 2, "--rollout 101"},
		{"settings, flags after", []string{"settings", "demo.counter", "--rollout", "5", "--server", "ftp://x", "--token", "t"}, 2, "not an http(s) URL"},
		{"revert, flags after", []string{"revert", "demo.counter", "--server", "ftp://x", "--token", "t", "--to", "1.0.0"}, 2, "not an http(s) URL"},
		{"versions, flags after", []string{"versions", "demo.counter", "--server", "ftp://x", "--token", "t"}, 2, "not an http(s) URL"},
		{"build, flags after", []string{"build", "samples/counter", "-version", "1.0.0", "--json=maybe"}, 2, "--json"},
		{"check, flags after", []string{"check", "demo.counter", "--server", "http://127.0.0.1:1"}, 2, "--server needs --pubkey"},
		{"simulate, flags after an argument", []string{"simulate", "extra", "--clients", "0"}, 2, `unexpected argument "extra"`},
	})
}

func TestHelpExitCodes(t *testing.T) {
	testExits(t, []exitCase{
		{"help", []string{"help"}, 0, "usage: minihost COMMAND"},
		{"--help", []string{"--help"}, 0, "usage: minihost COMMAND"},
		{"help of a command", []string{"help", "run"}, 0, "usage: minihost run"},
		{"help of an unknown command", []string{"help", "nosuch"}, 2, `unknown command "nosuch"`},
		{"help of two commands", []string{"help", "run", "dev"}, 2, "at most one COMMAND"},
		{"no command", nil, 2, "usage: minihost COMMAND"},
		{"unknown command", []string{"nosuch"}, 2, `unknown command "nosuch"`},
	})
}

func TestDoctorMissingHome(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no-such-home")
	for _, args := range [][]string{{"doctor", "--home", missing}, {"doctor", "--home", missing, "--json"}} {
		code, stdout, stderr := relRun(t, args...)
		if code != 1 || !strings.Contains(stderr, missing) || stdout != "" {
			t.Errorf("%v: exit %d, want 1 naming the folder\nstdout:\n%s\nstderr:\n%s", args, code, stdout, stderr)
		}
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Fatalf("doctor created the missing home: %v", err)
	}
}

// jsonExempt are the commands without --json, and why; every other
// command must be in TestJSONOutput.
var jsonExempt = map[string]string{
	"run":   "prints events, as JSON lines with --events json",
	"dev":   "prints events, as JSON lines with --events json",
	"demo":  "tells a story for people; run and dev are the scripted forms",
	"serve": "runs until stopped; prints only where it listens",
	"shell": "runs until stopped; its --json prints where it listens, checked by TestShellCommand",
}

// TestJSONOutput runs each command that prints a result with --json, in
// the order a release goes (key, build, serve, publish, settings, client
// check, export, doctor), and checks that stdout is one valid JSON value
// with the fields a script needs.
func TestJSONOutput(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "release.key")
	home := doctorHome(t)
	exportData, _ := publishedHello(t, loadKey(t, key))
	src := t.TempDir() // a prebuilt module
	writeFiles(t, src, map[string]string{
		"app.json": `{"appId": "demo.pre", "version": "1.0.0", "abi": 1, "entry": "app.wasm"}`,
		"app.wasm": "\x00asm\x01\x00\x00\x00",
	})
	pkg1, pkg2 := filepath.Join(dir, "counter-1.0.0"+mpk.Ext), filepath.Join(dir, "counter-1.1.0"+mpk.Ext)
	t.Setenv("MINIHOST_TOKEN", "json-token-4b7c9e1d")
	t.Setenv("MINIHOST_CACHE", filepath.Join(dir, "cache")) // cache clean must not empty the machine's
	var url string

	steps := []struct {
		name   string
		args   func() []string
		fields []string // top-level fields stdout must hold
		check  func(t *testing.T, v map[string]any)
	}{
		{"keygen", func() []string { return []string{"keygen", "--json", "-o", key + ".2"} },
			[]string{"privateKeyFile", "publicKeyFile", "keyId", "publicKey"}, func(t *testing.T, v map[string]any) {
				if v["publicKeyFile"] != key+".2.pub" {
					t.Errorf("publicKeyFile %v", v["publicKeyFile"])
				}
			}},
		{"keygen --convert", func() []string { return []string{"keygen", "--convert", key, "--json"} },
			[]string{"privateKeyFile", "keyId", "publicKey", "converted", "wrotePublic"}, func(t *testing.T, v map[string]any) {
				if v["converted"] != false {
					t.Errorf("converted %v, want false for a PEM key", v["converted"])
				}
			}},
		{"version", func() []string { return []string{"version", "--json"} }, []string{"version", "abi", "go"}, nil},
		{"build", func() []string {
			return []string{"build", "../../samples/counter", "-o", pkg1, "-version", "1.0.0", "--json"}
		},
			[]string{"file", "appId", "version"}, func(t *testing.T, v map[string]any) {
				if v["appId"] != "demo.counter" || v["version"] != "1.0.0" {
					t.Errorf("built %v", v)
				}
			}},
		{"build 1.1.0", func() []string {
			return []string{"build", "--json", "-version", "1.1.0", "-o", pkg2, "../../samples/counter"}
		},
			[]string{"file", "appId", "version"}, nil},
		{"pack", func() []string { return []string{"pack", src, "-o", filepath.Join(dir, "pre.mpk"), "--json"} },
			[]string{"file", "appId", "version"}, nil},
		{"publish", func() []string {
			url = relServe(t, "--data", filepath.Join(dir, "releases"), "--key", key)
			return []string{"publish", pkg1, "--server", url, "--json"}
		}, []string{"appId", "version", "size", "sha256", "rollout", "url"}, func(t *testing.T, v map[string]any) {
			if v["version"] != "1.0.0" || !strings.HasPrefix(v["url"].(string), url+"/") {
				t.Errorf("published %v", v)
			}
		}},
		{"publish staged", func() []string { return []string{"publish", "--json", "--rollout", "20", "--server", url, pkg2} },
			[]string{"appId", "version", "rollout"}, nil},
		{"settings", func() []string {
			return []string{"settings", "demo.counter", "--rollout", "100", "--server", url, "--json"}
		}, []string{"appId", "sequence", "rolloutPercent", "versions"}, nil},
		{"versions", func() []string { return []string{"versions", "--server", url, "demo.counter", "--json"} },
			[]string{"appId", "sequence", "versions"}, nil},
		{"revert", func() []string { return []string{"revert", "demo.counter", "--to", "1.0.0", "--server", url, "--json"} },
			[]string{"appId", "sequence", "versions"}, func(t *testing.T, v map[string]any) {
				if vs := v["versions"].([]any); len(vs) != 2 || vs[0].(map[string]any)["state"] != "revoked" {
					t.Errorf("versions after revert %v", vs)
				}
			}},
		{"check", func() []string {
			return []string{"check", "demo.counter", "--json", "--server", url, "--pubkey", key + ".pub", "--home", filepath.Join(dir, "home")}
		}, []string{"results"}, func(t *testing.T, v map[string]any) {
			rs := v["results"].([]any)
			if len(rs) != 1 || rs[0].(map[string]any)["app"] != "demo.counter" || rs[0].(map[string]any)["latest"] != "1.0.0" {
				t.Errorf("results %v", rs)
			}
		}},
		{"export", func() []string {
			return []string{"export", "--data", exportData, "--to", filepath.Join(dir, "public"), "--key", key, "--json"}
		}, []string{"apps", "packages", "copied", "to", "expiresAt"}, nil},
		{"doctor", func() []string { return []string{"doctor", "--home", home, "--json"} }, []string{"home", "ok", "apps"},
			func(t *testing.T, v map[string]any) {
				apps := v["apps"].([]any)
				if v["ok"] != true || len(apps) != 1 || apps[0].(map[string]any)["status"] != "ok" {
					t.Errorf("doctor %v", v)
				}
			}},
		{"simulate", func() []string { return []string{"simulate", "--clients", "300", "--hours", "2", "--json"} },
			[]string{"config", "curve", "t50"}, nil},
		{"bench", func() []string { return []string{"bench", "--input", "testdata/bench.txt", "--json"} },
			[]string{"figures", "goals"}, nil},
		{"new", func() []string { return []string{"new", filepath.Join(dir, "newapp"), "--json"} },
			[]string{"dir", "appId", "version", "files"}, nil},
		{"cache", func() []string { return []string{"cache", "clean", "--json"} },
			[]string{"root", "cleaned", "caches"}, func(t *testing.T, v map[string]any) {
				if v["root"] != filepath.Join(dir, "cache") || v["cleaned"] != true {
					t.Errorf("cache clean %v", v)
				}
			}},
	}
	seen := map[string]bool{}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			args := s.args()
			seen[args[0]] = true
			code, stdout, stderr := relRun(t, args...)
			if code != 0 {
				t.Fatalf("%v: exit %d\nstdout:\n%s\nstderr:\n%s", args, code, stdout, stderr)
			}
			var v map[string]any
			if err := json.Unmarshal([]byte(stdout), &v); err != nil {
				t.Fatalf("%v: stdout is not one JSON object: %v\n%s", args, err, stdout)
			}
			for _, f := range s.fields {
				if _, ok := v[f]; !ok {
					t.Errorf("%v: no field %q in\n%s", args, f, stdout)
				}
			}
			if s.check != nil {
				s.check(t, v)
			}
		})
	}
	for _, name := range commandNames() {
		if _, ok := jsonExempt[name]; !ok && !seen[name] {
			t.Errorf("command %s is neither in TestJSONOutput nor in jsonExempt", name)
		}
	}
}

// loadKey makes a key pair at path with "minihost keygen" and returns the
// private key.
func loadKey(t *testing.T, path string) ed25519.PrivateKey {
	t.Helper()
	if code, _, stderr := relRun(t, "keygen", "-o", path); code != 0 {
		t.Fatalf("keygen: exit %d: %s", code, stderr)
	}
	k, err := release.LoadPrivateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestProgress(t *testing.T) {
	t.Run("off a terminal: one line per tenth", func(t *testing.T) {
		var buf bytes.Buffer
		p := newProgress(&buf)
		p.reset("dl ")
		const total = 1 << 20
		for n := int64(0); n <= total; n += 4096 {
			p.update(n, total, "")
		}
		p.update(total, total, "") // after the end: nothing more
		lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
		if len(lines) != 11 || strings.Contains(buf.String(), "\r") || lines[10] != "dl 100%" || lines[0] != "dl   0%" {
			t.Fatalf("%d lines, want 11 without \\r:\n%q", len(lines), buf.String())
		}
	})
	t.Run("on a terminal: a bar redrawn in place", func(t *testing.T) {
		var buf bytes.Buffer
		p := &progress{w: &buf, tty: true, last: -1}
		for _, n := range []int64{0, 50, 100} {
			p.update(n, 100, "x")
		}
		if got := strings.Count(buf.String(), "\r"); got != 3 || !strings.HasSuffix(buf.String(), "100% x\n") {
			t.Fatalf("%q", buf.String())
		}
	})
	t.Run("terminal check", func(t *testing.T) {
		null, err := os.Open(os.DevNull)
		if err != nil {
			t.Fatal(err)
		}
		defer null.Close()
		file, err := os.Create(filepath.Join(t.TempDir(), "f"))
		if err != nil {
			t.Fatal(err)
		}
		defer file.Close()
		for _, w := range []any{&bytes.Buffer{}, null, file, (*os.File)(nil)} {
			if isTerminal(w) {
				t.Errorf("isTerminal(%T %v) = true", w, w)
			}
		}
	})
}

func TestSimulatePrintsProgress(t *testing.T) {
	code, stdout, stderr := relRun(t, "simulate", "--clients", "200", "--hours", "3", "--sweep", "--json")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	var rs []map[string]any
	if err := json.Unmarshal([]byte(stdout), &rs); err != nil {
		t.Fatalf("stdout is not the JSON results: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	if len(lines) != 10*len(rs) || !slices.ContainsFunc(lines, func(l string) bool {
		return strings.Contains(l, "variant 1 of ") && strings.Contains(l, "100% (3h of 3h simulated)")
	}) {
		t.Fatalf("%d progress lines for %d variants, want 10 each:\n%s", len(lines), len(rs), stderr)
	}
}

// TestPromptAtEndOfInput shows a modal to a prompt whose input is empty,
// as run's is under a pipe or in CI: it answers cancel and says why.
func TestPromptAtEndOfInput(t *testing.T) {
	var out bytes.Buffer
	answers := make(chan bool, 1)
	p := &promptUI{in: strings.NewReader(""), out: &out}
	p.ShowModal("demo.counter", abi.Modal{Title: "Update", Content: "restart now?", ShowCancel: true}, func(ok bool) { answers <- ok })
	select {
	case ok := <-answers:
		if ok || !strings.Contains(out.String(), "no answer (stdin: EOF): answering Cancel; --yes or --no answers without asking") {
			t.Fatalf("answer %t, output:\n%s", ok, out.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the prompt gave no answer within 10s at the end of its input")
	}
}
