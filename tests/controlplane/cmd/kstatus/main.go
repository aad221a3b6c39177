// Command kstatus prints what kstatus (sigs.k8s.io/cli-utils/pkg/kstatus/status,
// the library Flux's health checks and `wait` use) computes for Kubernetes
// objects.
//
//	kstatus [FILE...]      # no FILE, or "-": standard input
//
// Input: YAML or JSON, one or more documents; a List (e.g. the output of
// `kubectl get -o json`) counts as its items. For each object, one JSON line on
// stdout: {"apiVersion", "kind", "namespace", "name", "status", "message"}
// where status is kstatus's InProgress, Failed, Current, Terminating, NotFound
// or Unknown. Exit status 1 when kstatus returns an error for an object, 2 on
// unreadable input.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

type line struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace,omitempty"`
	Name       string `json:"name"`
	Status     string `json:"status,omitempty"`
	Message    string `json:"message,omitempty"`
	Error      string `json:"error,omitempty"`
}

func main() {
	inputs := os.Args[1:]
	if len(inputs) == 0 {
		inputs = []string{"-"}
	}
	out := json.NewEncoder(os.Stdout)
	failed := false
	for _, input := range inputs {
		objects, err := read(input)
		if err != nil {
			fmt.Fprintf(os.Stderr, "kstatus: %s: %v\n", input, err)
			os.Exit(2)
		}
		for _, object := range objects {
			l := line{
				APIVersion: object.GetAPIVersion(),
				Kind:       object.GetKind(),
				Namespace:  object.GetNamespace(),
				Name:       object.GetName(),
			}
			result, err := status.Compute(object)
			if err != nil {
				l.Error = err.Error()
				failed = true
			} else {
				l.Status = result.Status.String()
				l.Message = result.Message
			}
			if err := out.Encode(l); err != nil {
				fmt.Fprintf(os.Stderr, "kstatus: %v\n", err)
				os.Exit(2)
			}
		}
	}
	if failed {
		os.Exit(1)
	}
}

// read decodes every document of a file (or stdin) into unstructured objects,
// with JSON integers as int64 as the API machinery decodes them.
func read(input string) ([]*unstructured.Unstructured, error) {
	var reader io.Reader = os.Stdin
	if input != "-" {
		file, err := os.Open(input)
		if err != nil {
			return nil, err
		}
		defer file.Close()
		reader = file
	}
	decoder := utilyaml.NewYAMLOrJSONDecoder(bufio.NewReader(reader), 4096)
	var objects []*unstructured.Unstructured
	for {
		var raw json.RawMessage
		if err := decoder.Decode(&raw); err != nil {
			if errors.Is(err, io.EOF) {
				return objects, nil
			}
			return nil, err
		}
		if len(raw) == 0 || string(raw) == "null" {
			continue
		}
		decoded, _, err := unstructured.UnstructuredJSONScheme.Decode(raw, nil, nil)
		if err != nil {
			return nil, err
		}
		switch o := decoded.(type) {
		case *unstructured.UnstructuredList:
			for i := range o.Items {
				objects = append(objects, &o.Items[i])
			}
		case *unstructured.Unstructured:
			objects = append(objects, o)
		default:
			return nil, fmt.Errorf("unexpected object %T", decoded)
		}
	}
}
