package contract

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
