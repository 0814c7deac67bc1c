package main

import (
	"runtime/debug"
	"testing"
)

func TestFormatVersion(t *testing.T) {
	for _, tc := range []struct {
		bi           debug.BuildInfo
		linkV, linkC string
		want         string
	}{
		{debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.0"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "fec66c7aa1"}, {Key: "vcs.time", Value: "2026-11-27T10:00:00Z"}, {Key: "vcs.modified", Value: "false"},
		}}, "", "", "lorabot v1.2.0, commit fec66c7aa1 (2026-11-27T10:00:00Z), go1.26.8"},
		{debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "fec66c7aa1"}, {Key: "vcs.modified", Value: "true"},
		}}, "", "", "lorabot (devel), commit fec66c7aa1+dirty, go1.26.8"},
		{debug.BuildInfo{GoVersion: "go1.26.8"}, "", "", "lorabot (devel), commit unknown, go1.26.8"},
		// A container build: no .git in the context, the commit given to the linker.
		{debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}}, "v1.3.0", "abc1234", "lorabot v1.3.0, commit abc1234, go1.26.8"},
		// VCS stamps win over what the linker was given.
		{debug.BuildInfo{GoVersion: "go1.26.8", Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "fec66c7aa1"}}}, "", "stale", "lorabot (devel), commit fec66c7aa1, go1.26.8"},
	} {
		if got := formatVersion(&tc.bi, tc.linkV, tc.linkC); got != tc.want {
			t.Errorf("got %q\nwant %q", got, tc.want)
		}
	}
}
