/**
 * The demo page's copy of `lockstep/client`: src/client/index.ts bundled by esbuild for the
 * browser into one ES module, dist/browser/lockstep-client.js, served by the demo page at
 * `/lockstep-client.js` (src/server/demo-page.ts).
 *
 * Why a bundle and not dist/ ESM served as is: the client imports `xstate` by its bare name,
 * which a browser cannot resolve without an import map and the server serving node_modules/
 * files (whose layout depends on how the package was installed). One bundled file needs
 * neither, is one request, and proves on every build what the client promises: no Node
 * built-in and no server code in the browser path — the build fails if the bundle pulls
 * `node:*`, `ws`, `ioredis` or anything under src/server, src/delivery or src/adapter.
 *
 * Usage: node scripts/build-client-bundle.mjs [dist]    (part of `npm run build`)
 */
import { build } from 'esbuild';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const FORBIDDEN = [/^node:/, /(^|\/)node_modules\/(ws|ioredis|pino|prom-client|jose)\//, /^src\/(server|delivery|adapter|cli)\//];

/** Bundles the client into `<dist>/browser/lockstep-client.js`; returns its path, size and inputs. */
export async function buildClientBundle(dist = join(ROOT, 'dist')) {
  const outfile = join(dist, 'browser', 'lockstep-client.js');
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: ['src/client/index.ts'],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    legalComments: 'eof',
    metafile: true,
    logLevel: 'silent',
    outfile,
    write: false,
  });
  const inputs = Object.keys(result.metafile.inputs).map((path) => path.replace(/^(\.\.\/)+main\//, ''));
  const forbidden = inputs.filter((path) => FORBIDDEN.some((pattern) => pattern.test(path)));
  if (forbidden.length > 0) throw new Error(`lockstep/client browser bundle pulls server or Node code: ${forbidden.join(', ')}`);
  // Written aside, then renamed: a page served while another build runs never reads half a file.
  const [output] = result.outputFiles;
  mkdirSync(dirname(outfile), { recursive: true });
  const aside = `${outfile}.${process.pid}.${Date.now()}.tmp`;
  writeFileSync(aside, output.contents);
  renameSync(aside, outfile);
  return { outfile, bytes: output.contents.byteLength, inputs };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { outfile, bytes } = await buildClientBundle(process.argv[2] ? resolve(process.argv[2]) : undefined);
  console.log(`lockstep/client browser bundle: ${outfile} (${bytes} bytes)`);
}
