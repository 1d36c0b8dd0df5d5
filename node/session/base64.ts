/** Base64 for the JSON records a device keeps (keys, session states). */
export const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64')
export const unb64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64'))
