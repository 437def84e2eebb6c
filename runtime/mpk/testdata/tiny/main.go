// Command tiny is the smallest guest: a WASI reactor with no handlers, used
// by mpk's tests to exercise Build without the guest SDK.
package main

func main() {}
