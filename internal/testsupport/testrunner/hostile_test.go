package main

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestJWTLifetime(t *testing.T) {
	jwt := func(claims string) string {
		return "eyJhbGciOiJSUzI1NiJ9." + base64.RawURLEncoding.EncodeToString([]byte(claims)) + ".sig"
	}
	for _, tc := range []struct {
		name, jwt string
		want      int64
		err       string
	}{
		{name: "an hour", jwt: jwt(`{"iat":1000,"exp":4600,"sub":"x"}`), want: 3600},
		{name: "trailing newline", jwt: jwt(`{"iat":1,"exp":601}`) + "\n", want: 600},
		{name: "two parts", jwt: "a.b", err: "not a JWT"},
		{name: "payload not base64", jwt: "a.!!.c", err: "JWT payload"},
		{name: "claims not JSON", jwt: jwt(`nope`), err: "JWT claims"},
	} {
		got, err := jwtLifetime(tc.jwt)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: err %v, want %q", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s: %d, %v; want %d", tc.name, got, err, tc.want)
		}
	}
}

func TestPlant(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("PLANT_DIR", dir)
	target := filepath.Join(dir, "target")
	if err := os.WriteFile(target, []byte("t"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "replaced"), []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	h := readHostile([]byte(`{"plant":[
		{"path":"$PLANT_DIR/link","kind":"symlink","target":"$PLANT_DIR/target"},
		{"path":"$PLANT_DIR/hard","kind":"hardlink","target":"$PLANT_DIR/target"},
		{"path":"$PLANT_DIR/fifo","kind":"fifo"},
		{"path":"$PLANT_DIR/replaced","kind":"write","target":"new"}]}`))
	if err := h.plant(); err != nil {
		t.Fatal(err)
	}
	if l, err := os.Readlink(filepath.Join(dir, "link")); err != nil || l != target {
		t.Errorf("symlink: %q, %v", l, err)
	}
	if a, b := lstatOf(t, filepath.Join(dir, "hard")), lstatOf(t, target); !os.SameFile(a, b) {
		t.Error("hardlink is not the target")
	}
	if fi := lstatOf(t, filepath.Join(dir, "fifo")); fi.Mode()&os.ModeNamedPipe == 0 {
		t.Errorf("fifo is %v", fi.Mode())
	}
	if b, err := os.ReadFile(filepath.Join(dir, "replaced")); err != nil || string(b) != "new" {
		t.Errorf("write: %q, %v", b, err)
	}

	if err := readHostile([]byte(`{"plant":[{"path":"` + dir + `/x","kind":"teleport"}]}`)).plant(); err == nil || !strings.Contains(err.Error(), `unknown kind "teleport"`) {
		t.Errorf("unknown kind: %v", err)
	}
	// plant_on another action: nothing is done.
	t.Setenv("ACTION", "create")
	if err := readHostile([]byte(`{"plant_on":"destroy","plant":[{"path":"` + dir + `/y","kind":"write","target":"z"}]}`)).plant(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "y")); !os.IsNotExist(err) {
		t.Errorf("planted on another action: %v", err)
	}
}

func lstatOf(t *testing.T, p string) os.FileInfo {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi
}
