// Package workflows holds Herald's Temporal workflows. What they promise
// their callers (names, IDs, signals, inputs and results) is in package
// contract; Register wires the workflows to a worker.
package workflows
