package main

import (
	"runtime/debug"
	"strings"
)

// versionLine says which build this is, from what the Go toolchain
// recorded in the binary: the module's version (a tag when built from
// one with go install, else "(devel)") and the VCS commit, with
// "+dirty" when the tree had uncommitted changes. A build without VCS
// stamps (go build -buildvcs=false, or no .git in the context, as in a
// container build) says "commit unknown", unless the build gave them with
// -ldflags "-X main.linkedVersion=… -X main.linkedCommit=…", as the
// Dockerfile does from its build arguments.
func versionLine() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		bi = &debug.BuildInfo{}
	}
	return formatVersion(bi, linkedVersion, linkedCommit)
}

// Set by the linker (-X) where the build has no VCS stamps; empty otherwise.
var linkedVersion, linkedCommit string

func formatVersion(bi *debug.BuildInfo, linkedVersion, linkedCommit string) string {
	version := bi.Main.Version
	if (version == "" || version == "(devel)") && linkedVersion != "" {
		version = linkedVersion
	}
	if version == "" {
		version = "(devel)"
	}
	var commit, when string
	dirty := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			commit = s.Value
		case "vcs.time":
			when = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if commit == "" {
		commit = linkedCommit
	}
	var b strings.Builder
	b.WriteString("lorabot " + version)
	if commit == "" {
		b.WriteString(", commit unknown")
	} else {
		b.WriteString(", commit " + commit)
		if dirty {
			b.WriteString("+dirty")
		}
		if when != "" {
			b.WriteString(" (" + when + ")")
		}
	}
	if bi.GoVersion != "" {
		b.WriteString(", " + bi.GoVersion)
	}
	return b.String()
}
