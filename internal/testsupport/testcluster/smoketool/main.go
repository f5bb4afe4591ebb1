// Command smoketool is the workload of the cluster smoke test: one program for the three
// containers of a Job's pod, which share an emptyDir (DIR):
//
//	init DIR           writes DIR/init-done
//	main DIR           checks DIR/init-done, writes $SMOKE_NONCE to DIR/ready, waits for
//	                   DIR/sidecar-done, exits 0
//	sidecar DIR NAME   native sidecar: waits for DIR/ready, creates ConfigMap and Secret
//	                   NAME through the in-cluster API with the pod's service account
//	                   token, writes DIR/sidecar-done, then runs until SIGTERM
//
// The file handshake makes the sidecar finish writing before the main container ends,
// since the kubelet stops sidecars once the main containers are done.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "smoketool:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) < 2 {
		return errors.New("usage: smoketool init|main|sidecar DIR [NAME]")
	}
	dir := args[1]
	switch args[0] {
	case "init":
		fmt.Println("init: writing", filepath.Join(dir, "init-done"))
		return os.WriteFile(filepath.Join(dir, "init-done"), []byte("init ran"), 0o644)
	case "main":
		if _, err := os.Stat(filepath.Join(dir, "init-done")); err != nil {
			return fmt.Errorf("main: the init container did not run: %w", err)
		}
		if err := os.WriteFile(filepath.Join(dir, "ready"), []byte(os.Getenv("SMOKE_NONCE")), 0o644); err != nil {
			return err
		}
		fmt.Println("main: wrote ready, waiting for the sidecar")
		if err := waitFile(filepath.Join(dir, "sidecar-done"), 90*time.Second); err != nil {
			return err
		}
		fmt.Println("main: the sidecar is done, exiting 0")
		return nil
	case "sidecar":
		if len(args) < 3 {
			return errors.New("usage: smoketool sidecar DIR NAME")
		}
		return sidecar(dir, args[2])
	}
	return fmt.Errorf("unknown mode %q", args[0])
}

func waitFile(p string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if _, err := os.Stat(p); err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not appear within %s", p, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func sidecar(dir, name string) error {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	fmt.Println("sidecar: waiting for", filepath.Join(dir, "ready"))
	if err := waitFile(filepath.Join(dir, "ready"), 90*time.Second); err != nil {
		return err
	}
	nonce, err := os.ReadFile(filepath.Join(dir, "ready"))
	if err != nil {
		return err
	}
	initOut, err := os.ReadFile(filepath.Join(dir, "init-done"))
	if err != nil {
		return err
	}
	cfg, err := rest.InClusterConfig()
	if err != nil {
		return fmt.Errorf("in-cluster config: %w", err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	ns, err := os.ReadFile("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Data:       map[string]string{"nonce": string(nonce), "host": cfg.Host, "init": string(initOut)},
	}
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name}, StringData: map[string]string{"nonce": string(nonce)}}
	// Retries cover a service route that kube-proxy has not written yet; the Role
	// allows create only, so an object that exists from an earlier attempt is done.
	for {
		_, err = cs.CoreV1().ConfigMaps(string(ns)).Create(ctx, cm, metav1.CreateOptions{})
		if err == nil || apierrors.IsAlreadyExists(err) {
			_, err = cs.CoreV1().Secrets(string(ns)).Create(ctx, secret, metav1.CreateOptions{})
			if apierrors.IsAlreadyExists(err) {
				err = nil
			}
		}
		if err == nil || ctx.Err() != nil {
			break
		}
		fmt.Println("sidecar: retrying:", err)
		time.Sleep(500 * time.Millisecond)
	}
	if err != nil {
		return fmt.Errorf("create configmap and secret %s: %w", name, err)
	}
	fmt.Printf("sidecar: created configmap and secret %s/%s via %s\n", ns, name, cfg.Host)
	if err := os.WriteFile(filepath.Join(dir, "sidecar-done"), []byte("ok"), 0o644); err != nil {
		return err
	}
	<-sig
	fmt.Println("sidecar: SIGTERM, exiting")
	return nil
}
