/** Types of scripts/build-client-bundle.mjs (the browser tests build the bundle from the sources first). */
export function buildClientBundle(dist?: string): Promise<{ outfile: string; bytes: number; inputs: string[] }>;
