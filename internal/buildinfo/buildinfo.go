// Package buildinfo is the version a binary was built as. Releases set it with
// -ldflags "-X github.com/containerdriver/terraform-provider-containerdriver/internal/buildinfo.Version=1.2.3"
// (.goreleaser.yml), so the sidecar binaries in an image say which release they come from.
package buildinfo

import (
	"fmt"
	"io"
)

// Version is the release version, "dev" for a build from source.
var Version = "dev"

// UserAgent is name/Version, for the API requests of a binary.
func UserAgent(name string) string { return name + "/" + Version }

// PrintVersion writes "name version" to w and reports true when the only argument is
// --version (or -version): the binary should then exit.
func PrintVersion(name string, args []string, w io.Writer) bool {
	if len(args) != 2 || (args[1] != "--version" && args[1] != "-version") {
		return false
	}
	_, _ = fmt.Fprintf(w, "%s %s\n", name, Version)
	return true
}
