/** Types of the `saslprep` package (RFC 4013 string preparation), which ships none. */
declare module 'saslprep' {
  export default function saslprep (input: string, opts?: { allowUnassigned?: boolean }): string
}
