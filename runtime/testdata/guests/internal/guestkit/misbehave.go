//go:build wasip1

package guestkit

import (
	"fmt"
	"os"
	goruntime "runtime"
	"time"

	"github.com/minihost/minihost/samples/wx"
	"github.com/minihost/minihost/samples/wx/abi"
)

var (
	hog   [][]byte // what "alloc" keeps
	block = make(chan struct{})
)

// Misbehave misbehaves the way action names, in the callback running, and
// reports false when it names none of:
//
//	loop      spin without yielding, forever
//	sleep     sleep 1 h, then log "slept"
//	alloc     allocate 1 MiB chunks, touched and kept, forever
//	recurse   recurse without end (logs "recurse <n>" if it ever returned)
//	spawn     start goroutines that block, forever
//	flood     write lines to stdout, forever
//	exit      os.Exit(3)
//
// A panic is left to each guest, whose tests match its own message.
func Misbehave(action string) bool {
	switch action {
	case "loop":
		//lint:ignore SA5002 spinning without yielding is the point: the host must stop it.
		for {
		}
	case "sleep":
		time.Sleep(time.Hour)
		wx.Logf(abi.LevelInfo, "slept")
	case "alloc":
		for {
			b := make([]byte, 1<<20)
			for i := 0; i < len(b); i += 4096 {
				b[i] = 1
			}
			hog = append(hog, b)
		}
	case "recurse":
		wx.Logf(abi.LevelInfo, "recurse %d", recurse(1))
	case "spawn":
		for i := 0; ; i++ {
			go func() { <-block }()
			if i%1024 == 0 {
				goruntime.Gosched() // let the new goroutines run now and then
			}
		}
	case "flood":
		for i := 0; ; i++ {
			fmt.Printf("flood line %d: the host must bound what a guest writes\n", i)
		}
	case "exit":
		os.Exit(3)
	default:
		return false
	}
	return true
}

// recurse never returns: each frame holds a buffer so the stack grows fast.
func recurse(n int) int {
	var pad [256]byte
	pad[n%len(pad)] = byte(n)
	if n < 0 { // never true; keeps the recursion from looking unconditional
		return 0
	}
	return recurse(n+1) + int(pad[(n+7)%len(pad)])
}
