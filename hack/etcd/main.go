// Command etcd is etcd's server, built from the Go module proxy for the local cluster
// (hack/cluster): Debian 12's etcd-server is 3.4, which Kubernetes 1.37 no longer serves
// fully (it lacks the RequestWatchProgress feature the API server's watch-list streams
// need), and no release binary can be downloaded here. A module of its own so the
// provider's go.mod never depends on etcd.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
