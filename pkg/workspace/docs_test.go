package workspace

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	docsFile       = "../../docs/workspaces.md"
	docsTableStart = "<!-- profiles table: generated from deploy/workspaces/profiles.yaml (go test ./pkg/workspace -update) -->\n"
	docsTableEnd   = "<!-- end of profiles table -->\n"
)

// TestDocsProfileTable keeps the table in docs/workspaces.md equal to the
// built-in profiles.
func TestDocsProfileTable(t *testing.T) {
	profiles, err := BuiltinProfiles()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.FromSlash(docsFile))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	start := strings.Index(doc, docsTableStart)
	end := strings.Index(doc, docsTableEnd)
	if start < 0 || end < start {
		t.Fatalf("%s lacks the profile table markers", docsFile)
	}
	current := doc[start+len(docsTableStart) : end]
	want := ProfilesMarkdown(profiles)
	if *update {
		doc = doc[:start+len(docsTableStart)] + want + doc[end:]
		if err := os.WriteFile(filepath.FromSlash(docsFile), []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if current != want {
		t.Errorf("the profile table in %s is out of date (go test ./pkg/workspace -update rewrites it); want:\n%s", docsFile, want)
	}
}
