package outputs

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// BenchmarkRoundTrip encodes outputs into objects and assembles them back, as the sidecar
// and the executor do: 1 KiB (one chunk) is the baseline for 3 MiB (six chunks).
func BenchmarkRoundTrip(b *testing.B) {
	for _, size := range []struct {
		name  string
		bytes int
	}{{"1KiB", 1 << 10}, {"3MiB", 3 << 20}} {
		h := Harvest{
			Outputs:       []byte(`{"big":"` + strings.Repeat("x", size.bytes) + `"}`),
			SecretOutputs: []byte(`{"password":"p"}`),
		}
		b.Run(size.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(h.Outputs)))
			for b.Loop() {
				cms, secrets := Objects(Meta{Namespace: "ns", JobName: "j", BaseName: "j-out"}, h)
				cmv := make([]corev1.ConfigMap, len(cms))
				for i, c := range cms {
					cmv[i] = *c
				}
				sv := make([]corev1.Secret, len(secrets))
				for i, s := range secrets {
					sv[i] = *s
				}
				got, err := Assemble(cmv, sv)
				if err != nil || len(got.Outputs) != len(h.Outputs) {
					b.Fatal(err)
				}
				if _, err := ParseObject("OUTPUTS_FILE", got.Outputs); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
