package access

import "context"

type deviceKey struct{}

// WithDevice records in ctx what the face learned of the request's device
// (a valid known-device cookie, a registered agent), so the flows can
// decide device conditions without a device argument on every step.
func WithDevice(ctx context.Context, d Device) context.Context {
	return context.WithValue(ctx, deviceKey{}, d)
}

// DeviceOf is the device recorded in ctx; unknown when none was.
func DeviceOf(ctx context.Context) Device {
	d, _ := ctx.Value(deviceKey{}).(Device)
	return d
}
