package imagebuild

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// image is a docker-archive tarball read back.
type image struct {
	repoTags []string
	config   struct {
		Architecture string `json:"architecture"`
		OS           string `json:"os"`
		Created      string `json:"created"`
		Config       struct {
			Entrypoint []string          `json:"Entrypoint"`
			Cmd        []string          `json:"Cmd"`
			Env        []string          `json:"Env"`
			User       string            `json:"User"`
			WorkingDir string            `json:"WorkingDir"`
			Labels     map[string]string `json:"Labels"`
		} `json:"config"`
		RootFS struct {
			Type    string   `json:"type"`
			DiffIDs []string `json:"diff_ids"`
		} `json:"rootfs"`
		History []map[string]any `json:"history"`
	}
	rawConfig []byte
	// layers holds each layer's entries, "TYPE NAME MODE UID:GID [-> TARGET | =CONTENT]".
	layers [][]string
	// layerBlobs holds each layer blob as stored.
	layerBlobs [][]byte
}

func readImage(t *testing.T, b []byte) *image {
	t.Helper()
	members := map[string][]byte{}
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if !h.ModTime.Equal(epoch) {
			t.Errorf("outer entry %s: mtime %v, want the epoch", h.Name, h.ModTime)
		}
		data, _ := io.ReadAll(tr)
		members[h.Name] = data
	}
	var manifest []manifestEntry
	if err := json.Unmarshal(members["manifest.json"], &manifest); err != nil {
		t.Fatalf("manifest.json: %v", err)
	}
	if len(manifest) != 1 {
		t.Fatalf("manifest has %d entries", len(manifest))
	}
	img := &image{repoTags: manifest[0].RepoTags, rawConfig: members[manifest[0].Config]}
	sum := sha256.Sum256(img.rawConfig)
	if want := hex.EncodeToString(sum[:]) + ".json"; manifest[0].Config != want {
		t.Errorf("config name %s, want its digest %s", manifest[0].Config, want)
	}
	if err := json.Unmarshal(img.rawConfig, &img.config); err != nil {
		t.Fatalf("config: %v", err)
	}
	if len(img.config.RootFS.DiffIDs) != len(manifest[0].Layers) {
		t.Fatalf("%d diff_ids for %d layers", len(img.config.RootFS.DiffIDs), len(manifest[0].Layers))
	}
	for i, l := range manifest[0].Layers {
		blob, ok := members[l]
		if !ok {
			t.Fatalf("layer %s missing", l)
		}
		sum := sha256.Sum256(blob)
		if want := "sha256:" + hex.EncodeToString(sum[:]); img.config.RootFS.DiffIDs[i] != want {
			t.Errorf("layer %d: diff_id %s, want %s", i, img.config.RootFS.DiffIDs[i], want)
		}
		img.layerBlobs = append(img.layerBlobs, blob)
		img.layers = append(img.layers, listLayer(t, blob))
	}
	return img
}

func listLayer(t *testing.T, blob []byte) []string {
	t.Helper()
	var out []string
	tr := tar.NewReader(bytes.NewReader(blob))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if !h.ModTime.Equal(epoch) {
			t.Errorf("layer entry %s: mtime %v, want the epoch", h.Name, h.ModTime)
		}
		s := fmt.Sprintf("%c %s %04o %d:%d", h.Typeflag, h.Name, h.Mode, h.Uid, h.Gid)
		switch h.Typeflag {
		case tar.TypeSymlink:
			s += " -> " + h.Linkname
		case tar.TypeReg:
			data, _ := io.ReadAll(tr)
			s += " =" + string(data)
		}
		out = append(out, s)
	}
}

func build(t *testing.T, spec Spec) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, spec); err != nil {
		t.Fatalf("Write: %v", err)
	}
	return buf.Bytes()
}

func TestWrite(t *testing.T) {
	host := t.TempDir()
	script := filepath.Join(host, "runner.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho hi\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	tree := filepath.Join(host, "tree")
	for _, d := range []string{"tree/sub/deeper"} {
		if err := os.MkdirAll(filepath.Join(host, d), 0o750); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(tree, "a.txt"), []byte("a"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tree, "sub/deeper/b.sh"), []byte("b"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../a.txt", filepath.Join(tree, "sub/link")); err != nil {
		t.Fatal(err)
	}
	// Directory modes are set after creation so that the umask does not change them.
	for _, d := range []string{tree, filepath.Join(tree, "sub"), filepath.Join(tree, "sub/deeper")} {
		if err := os.Chmod(d, 0o750); err != nil {
			t.Fatal(err)
		}
	}

	tests := []struct {
		name        string
		spec        Spec
		wantLayer   []string
		wantEnv     []string
		wantEntry   []string
		wantCmd     []string
		wantUser    string
		wantWorkDir string
	}{
		{
			name: "a script with an entrypoint and the default PATH",
			spec: Spec{
				Ref:        "containerdriver.local/my-runner:1",
				Files:      []File{{Path: "/runner", Source: script, Mode: 0o755}},
				Entrypoint: []string{"/runner"},
			},
			wantLayer: []string{"0 runner 0755 0:0 =#!/bin/sh\necho hi\n"},
			wantEnv:   []string{DefaultPath},
			wantEntry: []string{"/runner"},
		},
		{
			name: "host mode kept when no mode is given, parents created",
			spec: Spec{
				Ref:   "containerdriver.local/x:1",
				Files: []File{{Path: "/opt/tools/runner.sh", Source: script}},
			},
			wantLayer: []string{
				"5 opt/ 0755 0:0",
				"5 opt/tools/ 0755 0:0",
				"0 opt/tools/runner.sh 0700 0:0 =#!/bin/sh\necho hi\n",
			},
			wantEnv: []string{DefaultPath},
		},
		{
			name: "busybox-style image: dirs, symlinks, content, user, workdir, env",
			spec: Spec{
				Ref: "localhost:5000/team/runner:v1.2",
				Files: []File{
					{Path: "/bin/busybox", Content: []byte("BB"), Mode: 0o755},
					{Path: "/home/runner/.profile", Content: []byte("p"), UID: 1000, GID: 1000},
				},
				Dirs: []Dir{
					{Path: "/tmp", Mode: 0o1777},
					{Path: "/home/runner", Mode: 0o700, UID: 1000, GID: 1000},
				},
				Symlinks:   []Symlink{{Path: "/bin/sh", Target: "busybox"}},
				Entrypoint: []string{"/bin/sh", "-c"},
				Cmd:        []string{"echo hi"},
				Env:        []string{"HOME=/home/runner", "PATH=/bin"},
				User:       "1000:1000",
				WorkingDir: "/home/runner",
			},
			wantLayer: []string{
				"5 bin/ 0755 0:0",
				"0 bin/busybox 0755 0:0 =BB",
				"2 bin/sh 0777 0:0 -> busybox",
				"5 home/ 0755 0:0",
				"5 home/runner/ 0700 1000:1000",
				"0 home/runner/.profile 0644 1000:1000 =p",
				"5 tmp/ 1777 0:0",
			},
			wantEnv:     []string{"HOME=/home/runner", "PATH=/bin"},
			wantEntry:   []string{"/bin/sh", "-c"},
			wantCmd:     []string{"echo hi"},
			wantUser:    "1000:1000",
			wantWorkDir: "/home/runner",
		},
		{
			name: "a host directory copied recursively with modes and symlinks",
			spec: Spec{
				Ref:   "containerdriver.local/tree:1",
				Files: []File{{Path: "/srv/app", Source: tree, UID: 1000, GID: 1000}},
			},
			wantLayer: []string{
				"5 srv/ 0755 0:0",
				"5 srv/app/ 0750 1000:1000",
				"0 srv/app/a.txt 0640 1000:1000 =a",
				"5 srv/app/sub/ 0750 1000:1000",
				"5 srv/app/sub/deeper/ 0750 1000:1000",
				"0 srv/app/sub/deeper/b.sh 0755 1000:1000 =b",
				"2 srv/app/sub/link 0777 1000:1000 -> ../a.txt",
			},
			wantEnv: []string{DefaultPath},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := build(t, tt.spec)
			if again := build(t, tt.spec); !bytes.Equal(out, again) {
				t.Error("two builds of the same spec differ: output is not deterministic")
			}
			img := readImage(t, out)
			if diff := cmp.Diff([]string{tt.spec.Ref}, img.repoTags); diff != "" {
				t.Errorf("RepoTags (-want +got):\n%s", diff)
			}
			if len(img.layers) != 1 {
				t.Fatalf("%d layers, want 1", len(img.layers))
			}
			if diff := cmp.Diff(tt.wantLayer, img.layers[0]); diff != "" {
				t.Errorf("layer (-want +got):\n%s", diff)
			}
			c := img.config
			if c.Architecture != "amd64" || c.OS != "linux" || c.Created != "1970-01-01T00:00:00Z" || c.RootFS.Type != "layers" {
				t.Errorf("config header: %s/%s created %s rootfs %s", c.OS, c.Architecture, c.Created, c.RootFS.Type)
			}
			if diff := cmp.Diff(tt.wantEnv, c.Config.Env); diff != "" {
				t.Errorf("Env (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantEntry, c.Config.Entrypoint); diff != "" {
				t.Errorf("Entrypoint (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantCmd, c.Config.Cmd); diff != "" {
				t.Errorf("Cmd (-want +got):\n%s", diff)
			}
			if c.Config.User != tt.wantUser || c.Config.WorkingDir != tt.wantWorkDir {
				t.Errorf("User %q WorkingDir %q, want %q %q", c.Config.User, c.Config.WorkingDir, tt.wantUser, tt.wantWorkDir)
			}
		})
	}
}

func TestWrite_OnABaseImage(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(dir, "base.tar")
	if err := WriteFile(base, Spec{
		Ref:        "containerdriver.local/base:1",
		Files:      []File{{Path: "/bin/tool", Content: []byte("tool"), Mode: 0o755}},
		Entrypoint: []string{"/bin/tool"},
		Cmd:        []string{"--help"},
		Env:        []string{"PATH=/bin", "LANG=C"},
		User:       "65532",
		Labels:     map[string]string{"from": "base"},
	}); err != nil {
		t.Fatal(err)
	}
	baseBytes, err := os.ReadFile(base)
	if err != nil {
		t.Fatal(err)
	}
	baseImg := readImage(t, baseBytes)

	tests := []struct {
		name      string
		spec      Spec
		wantEntry []string
		wantCmd   []string
		wantEnv   []string
		wantUser  string
	}{
		{
			name:      "a script on top keeps the base settings",
			spec:      Spec{Files: []File{{Path: "/runner.sh", Content: []byte("#!/bin/sh"), Mode: 0o755}}},
			wantEntry: []string{"/bin/tool"},
			wantCmd:   []string{"--help"},
			wantEnv:   []string{"PATH=/bin", "LANG=C"},
			wantUser:  "65532",
		},
		{
			name: "a new entrypoint clears the base Cmd; env merges by name",
			spec: Spec{
				Files:      []File{{Path: "/runner.sh", Content: []byte("#!/bin/sh"), Mode: 0o755}},
				Entrypoint: []string{"/runner.sh"},
				Env:        []string{"LANG=C.UTF-8", "HOME=/tmp"},
				User:       "1000:1000",
			},
			wantEntry: []string{"/runner.sh"},
			wantEnv:   []string{"PATH=/bin", "LANG=C.UTF-8", "HOME=/tmp"},
			wantUser:  "1000:1000",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.spec.Ref = "containerdriver.local/on-base:1"
			tt.spec.Base = base
			img := readImage(t, build(t, tt.spec))
			if len(img.layers) != 2 {
				t.Fatalf("%d layers, want the base's and ours", len(img.layers))
			}
			if !bytes.Equal(img.layerBlobs[0], baseImg.layerBlobs[0]) {
				t.Error("the base layer was not copied byte for byte")
			}
			if diff := cmp.Diff([]string{"0 runner.sh 0755 0:0 =#!/bin/sh"}, img.layers[1]); diff != "" {
				t.Errorf("our layer (-want +got):\n%s", diff)
			}
			if img.config.RootFS.DiffIDs[0] != baseImg.config.RootFS.DiffIDs[0] {
				t.Error("the base diff_id changed")
			}
			c := img.config.Config
			if diff := cmp.Diff(tt.wantEntry, c.Entrypoint); diff != "" {
				t.Errorf("Entrypoint (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantCmd, c.Cmd); diff != "" {
				t.Errorf("Cmd (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantEnv, c.Env); diff != "" {
				t.Errorf("Env (-want +got):\n%s", diff)
			}
			if c.User != tt.wantUser {
				t.Errorf("User %q, want %q", c.User, tt.wantUser)
			}
			if c.Labels["from"] != "base" {
				t.Errorf("base labels lost: %v", c.Labels)
			}
			if len(img.config.History) != 2 {
				t.Errorf("history has %d entries, want 2", len(img.config.History))
			}
		})
	}
}

// A base saved by newer Docker versions uses the OCI layout's blob names and may hold
// other files (index.json, oci-layout); only manifest.json matters.
func TestWrite_OnAnOCILayoutBase(t *testing.T) {
	layer := build(t, Spec{Ref: "containerdriver.local/tmp:1", Files: []File{{Path: "/x", Content: []byte("x")}}})
	inner := readImage(t, layer)
	blob := inner.layerBlobs[0]
	blobHex := strings.TrimPrefix(inner.config.RootFS.DiffIDs[0], "sha256:")
	cfgSum := sha256.Sum256(inner.rawConfig)
	cfgHex := hex.EncodeToString(cfgSum[:])
	manifest, _ := json.Marshal([]manifestEntry{{Config: "blobs/sha256/" + cfgHex, RepoTags: []string{"docker.io/library/x:1"}, Layers: []string{"blobs/sha256/" + blobHex}}})
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, m := range []struct {
		name string
		data []byte
	}{{"oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)}, {"index.json", []byte(`{}`)}, {"blobs/sha256/" + blobHex, blob}, {"blobs/sha256/" + cfgHex, inner.rawConfig}, {"manifest.json", manifest}} {
		if err := writeRegular(tw, m.name, 0o644, 0, 0, m.data); err != nil {
			t.Fatal(err)
		}
	}
	tw.Close()
	base := filepath.Join(t.TempDir(), "oci.tar")
	if err := os.WriteFile(base, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	img := readImage(t, build(t, Spec{Ref: "containerdriver.local/y:1", Base: base, Files: []File{{Path: "/y", Content: []byte("y")}}}))
	if len(img.layers) != 2 || img.layers[0][0] != "0 x 0644 0:0 =x" || img.layers[1][0] != "0 y 0644 0:0 =y" {
		t.Errorf("layers %v", img.layers)
	}
}

func TestWrite_Errors(t *testing.T) {
	tests := []struct {
		name string
		spec Spec
		want string
	}{
		{"no dotted registry", Spec{Ref: "my-runner:1"}, "dotted registry"},
		{"docker hub style", Spec{Ref: "library/my-runner:1"}, "dotted registry"},
		{"no tag", Spec{Ref: "containerdriver.local/my-runner"}, "NAME:TAG"},
		{"upper case name", Spec{Ref: "containerdriver.local/My:1"}, "NAME:TAG"},
		{"relative path", Spec{Ref: "containerdriver.local/x:1", Files: []File{{Path: "runner"}}}, "must be absolute"},
		{"the root", Spec{Ref: "containerdriver.local/x:1", Dirs: []Dir{{Path: "/"}}}, "root directory"},
		{"twice", Spec{Ref: "containerdriver.local/x:1", Files: []File{{Path: "/a"}, {Path: "/a/"}}}, "given twice"},
		{"file under a file", Spec{Ref: "containerdriver.local/x:1", Files: []File{{Path: "/a"}, {Path: "/a/b"}}}, "not a directory"},
		{"file over a directory", Spec{Ref: "containerdriver.local/x:1", Files: []File{{Path: "/a/b"}, {Path: "/a"}}}, "already a directory"},
		{"missing host file", Spec{Ref: "containerdriver.local/x:1", Files: []File{{Path: "/a", Source: "/nonexistent/file"}}}, "no such file"},
		{"bad env", Spec{Ref: "containerdriver.local/x:1", Env: []string{"NOVALUE"}}, "NAME=value"},
		{"relative workdir", Spec{Ref: "containerdriver.local/x:1", WorkingDir: "tmp"}, "must be absolute"},
		{"missing base", Spec{Ref: "containerdriver.local/x:1", Base: "/nonexistent.tar"}, "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Write(io.Discard, tt.spec)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}
