//go:build !linux

package main

import "os/exec"

// setDeathSignal does nothing where the kernel has no parent-death signal;
// compare still stops its children on every exit it sees.
func setDeathSignal(*exec.Cmd) {}
