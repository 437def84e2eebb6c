// Package profile stands in for github.com/google/pprof/profile in this
// module (go.mod replaces it): goja, the JS base library's engine, imports
// it only for goja.StartProfile, which samples/jsbase never calls, and the
// real package compiles 22 regular expressions at init, about 7 ms of the
// base library's start in the guest (BENCHMARKS.md, "JS mini programs").
// It has the types and fields goja fills in and nothing else.
package profile

import (
	"errors"
	"io"
)

// Profile is what goja's profiler builds. Not goroutine-safe.
type Profile struct {
	SampleType []*ValueType
	PeriodType *ValueType
	Period     int64
	Sample     []*Sample
	Mapping    []*Mapping
	Location   []*Location
	Function   []*Function
}

// ValueType is a sample's type and unit.
type ValueType struct{ Type, Unit string }

// Sample is one stack and its values.
type Sample struct {
	Location []*Location
	Value    []int64
}

// Mapping is the (one) code mapping of goja's profile.
type Mapping struct {
	ID   uint64
	File string
}

// Location is a program counter's place.
type Location struct {
	ID      uint64
	Mapping *Mapping
	Line    []Line
}

// Line is a source line of a Location.
type Line struct {
	Function *Function
	Line     int64
}

// Function is a JS function of the profile.
type Function struct {
	ID       uint64
	Name     string
	Filename string
}

// ErrNoProfiles is what Write returns: this build writes no profiles.
var ErrNoProfiles = errors.New("pprof profiles are not built into the JS base library")

// Write returns ErrNoProfiles; goja ignores its error.
func (p *Profile) Write(io.Writer) error { return ErrNoProfiles }
