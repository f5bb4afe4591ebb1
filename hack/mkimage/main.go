// Command mkimage writes a container image as a docker-archive tarball from files on
// this machine, without Docker or a registry; load it into the local cluster with
// "make image-load TAR=...". Example:
//
//	go run ./hack/mkimage -t containerdriver.local/my-runner:1 -o my-runner.tar \
//	  -entrypoint /runner -user 1000:1000 -env HOME=/tmp \
//	  /runner=./runner.sh /bin/busybox=/bin/busybox -symlink /bin/sh=busybox
//
// Each argument IMAGE_PATH[:MODE]=HOST_PATH copies a host file, or a host directory with
// everything below it, into the image (MODE is octal, e.g. /runner:0755=./runner.sh).
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/tooling/imagebuild"
)

// list is a repeatable string flag.
type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "mkimage:", err)
		os.Exit(2)
	}
}

func run(args []string) error {
	fl := flag.NewFlagSet("mkimage", flag.ContinueOnError)
	fl.Usage = func() {
		fmt.Fprintln(fl.Output(), "usage: mkimage -t REGISTRY.LOCAL/NAME:TAG -o OUT.tar [flags] IMAGE_PATH[:MODE]=HOST_PATH ...")
		fl.PrintDefaults()
	}
	var (
		ref        = fl.String("t", "", "image reference; needs a dotted registry, e.g. containerdriver.local/my-runner:1")
		out        = fl.String("o", "", "output tarball (docker-archive)")
		base       = fl.String("base", "", "optional base image tarball (docker save / podman save); its layers come first")
		entrypoint = fl.String("entrypoint", "", `entrypoint: words separated by spaces, or a JSON array ("[\"/bin/sh\",\"-c\"]")`)
		cmd        = fl.String("cmd", "", "default arguments, same syntax as -entrypoint")
		user       = fl.String("user", "", `user the image runs as, e.g. "1000:1000"`)
		workdir    = fl.String("workdir", "", "working directory")
		tmp        = fl.Bool("tmp", true, "create /tmp with mode 1777")
		env, dirs  list
		links      list
		labels     list
	)
	fl.Var(&env, "env", "NAME=value (repeatable); PATH defaults to "+strings.TrimPrefix(imagebuild.DefaultPath, "PATH="))
	fl.Var(&dirs, "dir", "PATH[:MODE] directory to create (repeatable), e.g. /workspace:0777")
	fl.Var(&links, "symlink", "PATH=TARGET symbolic link (repeatable), e.g. /bin/sh=busybox")
	fl.Var(&labels, "label", "KEY=value image label (repeatable)")
	// Flags and IMAGE_PATH=HOST_PATH arguments may come in any order.
	var files []string
	for rest := args; ; {
		if err := fl.Parse(rest); err != nil {
			return err
		}
		if rest = fl.Args(); len(rest) == 0 {
			break
		}
		files, rest = append(files, rest[0]), rest[1:]
	}
	if *ref == "" || *out == "" {
		fl.Usage()
		return errors.New("-t and -o are required")
	}
	spec := imagebuild.Spec{Ref: *ref, Base: *base, Env: env, User: *user, WorkingDir: *workdir}
	var err error
	if spec.Entrypoint, err = words(*entrypoint); err != nil {
		return fmt.Errorf("-entrypoint: %w", err)
	}
	if spec.Cmd, err = words(*cmd); err != nil {
		return fmt.Errorf("-cmd: %w", err)
	}
	if *tmp {
		spec.Dirs = append(spec.Dirs, imagebuild.Dir{Path: "/tmp", Mode: 0o1777})
	}
	for _, d := range dirs {
		p, mode, err := pathMode(d)
		if err != nil {
			return fmt.Errorf("-dir %s: %w", d, err)
		}
		spec.Dirs = append(spec.Dirs, imagebuild.Dir{Path: p, Mode: mode})
	}
	for _, l := range links {
		p, target, ok := strings.Cut(l, "=")
		if !ok {
			return fmt.Errorf("-symlink %s: want PATH=TARGET", l)
		}
		spec.Symlinks = append(spec.Symlinks, imagebuild.Symlink{Path: p, Target: target})
	}
	for _, l := range labels {
		k, v, ok := strings.Cut(l, "=")
		if !ok {
			return fmt.Errorf("-label %s: want KEY=value", l)
		}
		if spec.Labels == nil {
			spec.Labels = map[string]string{}
		}
		spec.Labels[k] = v
	}
	for _, a := range files {
		dst, src, ok := strings.Cut(a, "=")
		if !ok || src == "" {
			return fmt.Errorf("argument %q: want IMAGE_PATH[:MODE]=HOST_PATH", a)
		}
		p, mode, err := pathMode(dst)
		if err != nil {
			return fmt.Errorf("argument %q: %w", a, err)
		}
		spec.Files = append(spec.Files, imagebuild.File{Path: p, Source: src, Mode: mode})
	}
	if err := imagebuild.WriteFile(*out, spec); err != nil {
		return err
	}
	info, err := imagebuild.Inspect(*out)
	if err != nil {
		return err
	}
	fmt.Printf("wrote %s: %s (image ID %s)\n", *out, *ref, info.ConfigDigest)
	return nil
}

// words parses "a b c" or a JSON array; empty means unset.
func words(s string) ([]string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	if strings.HasPrefix(s, "[") {
		var w []string
		err := json.Unmarshal([]byte(s), &w)
		return w, err
	}
	return strings.Fields(s), nil
}

// pathMode splits "PATH[:MODE]" with an octal MODE.
func pathMode(s string) (string, fs.FileMode, error) {
	p, m, ok := strings.Cut(s, ":")
	if !ok {
		return p, 0, nil
	}
	n, err := strconv.ParseUint(m, 8, 32)
	if err != nil || n > 0o7777 {
		return "", 0, fmt.Errorf("mode %q: want octal such as 0755", m)
	}
	return p, fs.FileMode(n), nil
}
