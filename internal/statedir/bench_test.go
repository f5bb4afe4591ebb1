package statedir

import (
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"

	"k8s.io/client-go/kubernetes/fake"
)

// BenchmarkSaveLoad archives a state directory, saves it in chunk Secrets (fake API) and
// loads it back: a 4 KiB state is the baseline for 4 MiB of incompressible data.
func BenchmarkSaveLoad(b *testing.B) {
	for _, size := range []struct {
		name  string
		bytes int
	}{{"4KiB", 4 << 10}, {"4MiB", 4 << 20}} {
		dir := b.TempDir()
		blob := make([]byte, size.bytes)
		_, _ = rand.Read(blob)
		if err := os.WriteFile(filepath.Join(dir, "blob"), blob, 0o644); err != nil {
			b.Fatal(err)
		}
		b.Run(size.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(size.bytes))
			st := &Store{Secrets: fake.NewClientset().CoreV1().Secrets("ns"), Namespace: "ns", RunID: "r"}
			for b.Loop() {
				if _, err := st.SaveDir(context.Background(), dir); err != nil {
					b.Fatal(err)
				}
				if _, err := st.RestoreDir(context.Background(), b.TempDir()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
