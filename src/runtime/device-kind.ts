/** The kinds of device a backend can serve. Its own file so backend.ts and device.ts need not import each other. */
export type DeviceKind = "cpu" | "cuda";
