// Package workflows holds Herald's Temporal workflows and their contracts:
// the names, IDs, inputs and results that the API and the worker share. Each
// domain has a contract file (notify_contract.go, …); Register wires them all.
package workflows

import "go.temporal.io/sdk/temporal"

// Search attributes Herald sets on its workflows, registered on the
// namespace, so operators can filter in the Temporal UI.
var (
	AttrTenant    = temporal.NewSearchAttributeKeyKeyword("HeraldTenant")
	AttrEventType = temporal.NewSearchAttributeKeyKeyword("HeraldEventType")
	AttrStatus    = temporal.NewSearchAttributeKeyKeyword("HeraldStatus")
)

// SearchAttributeNames lists the custom search attributes to register.
var SearchAttributeNames = []string{AttrTenant.GetName(), AttrEventType.GetName(), AttrStatus.GetName()}
