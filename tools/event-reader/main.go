// Command event-reader is the documentation's "Reading the event file" snippet as a program:
// it reads the Job's event file with the CloudEvents Go SDK and prints the event. The cluster
// tests run it as a JobSink's container, so a client nobody here wrote proves the file format.
package main

import (
	"encoding/json"
	"fmt"
	"os"

	cloudevents "github.com/cloudevents/sdk-go/v2"
)

// handleEvent is the documentation's function, unchanged but for the JSON line printed after
// the SDK's own rendering, which the test compares field by field.
func handleEvent() error {
	eventBytes, err := os.ReadFile("/etc/jobsink-event/event")
	if err != nil {
		return err
	}

	event := &cloudevents.Event{}
	if err := json.Unmarshal(eventBytes, event); err != nil {
		return err
	}

	// Process event ...
	fmt.Println(event)

	again, err := json.Marshal(event)
	if err != nil {
		return err
	}
	fmt.Printf("JSON %s\n", again)
	return nil
}

func main() {
	if err := handleEvent(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
