/**
 * Every ```ts block of README.md compiles as pasted: each is written to
 * test-artifacts/readme-snippets/ with its `from 'lockstep…'` imports pointed at this repository's
 * entry points, and type-checked with the TypeScript compiler API under the project's strict
 * settings (plus the DOM library, for the browser snippet). A failure names the snippet (its
 * line in README.md) and the compiler's message. A block that is deliberately partial must say
 * so in its fence (```ts no-check); few may.
 *
 * Also: no build-log markers in the README, and every `lockstep serve` flag is documented in
 * docs/reference.md (the README sends readers there for the CLI).
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const outDir = join(root, 'test-artifacts', 'readme-snippets');

/** The package's entry points, as this repository's sources. */
const ENTRY_POINTS: Record<string, string> = {
  lockstep: 'src/index.ts',
  'lockstep/client': 'src/client/index.ts',
  'lockstep/machines': 'machines/index.ts',
  'lockstep/testing': 'src/testing/index.ts',
  'lockstep/advanced': 'src/advanced.ts',
  'lockstep/ag-ui': 'src/ag-ui/index.ts',
};

interface Fence {
  lang: string;
  flags: string[];
  code: string;
  /** 1-based line of the opening fence in README.md. */
  line: number;
}

function fences(markdown: string): Fence[] {
  const found: Fence[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)\s*(.*)$/.exec(lines[i]!);
    if (open === null) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]!); i++) body.push(lines[i]!);
    found.push({ lang: open[1]!, flags: open[2]!.split(/\s+/).filter(Boolean), code: body.join('\n'), line: start + 1 });
  }
  return found;
}

/** `from 'lockstep/x'` → a relative import of the source entry point, as NodeNext wants it (.js). */
function pointImportsAtSources(code: string, fromDir: string): string {
  return code.replace(/(from\s+|import\s+)(['"])(lockstep(?:\/[a-z-]+)?)\2/g, (whole, keyword: string, quote: string, specifier: string) => {
    const entry = ENTRY_POINTS[specifier];
    if (entry === undefined) throw new Error(`README imports ${specifier}, which is not an entry point of the package`);
    const target = relative(fromDir, join(root, entry)).replace(/\\/g, '/').replace(/\.ts$/, '.js');
    return `${keyword}${quote}${target.startsWith('.') ? target : `./${target}`}${quote}`;
  });
}

const all = fences(readme);
const tsFences = all.filter((f) => f.lang === 'ts' || f.lang === 'typescript');
const checked = tsFences.filter((f) => !f.flags.includes('no-check'));

describe('README.md', () => {
  it('has code blocks only in checked languages (ts) or shell', () => {
    for (const fence of all) expect(['ts', 'typescript', 'sh', ''], `README.md:${fence.line} fence \`\`\`${fence.lang}`).toContain(fence.lang);
    expect(checked.length).toBeGreaterThanOrEqual(4);
    expect(tsFences.length - checked.length, 'deliberately partial (no-check) snippets').toBeLessThanOrEqual(2);
  });

  it('every ts snippet type-checks against the package entry points', () => {
    rmSync(outDir, { recursive: true, force: true });
    mkdirSync(outDir, { recursive: true });
    const files = new Map<string, Fence>();
    for (const fence of checked) {
      const file = join(outDir, `readme-line-${fence.line}.ts`);
      // `export {}` keeps each snippet its own module (two snippets may both declare `lockstep`).
      writeFileSync(file, `${pointImportsAtSources(fence.code, outDir)}\nexport {};\n`);
      files.set(file, fence);
    }
    const options: ts.CompilerOptions = {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      lib: ['lib.es2023.d.ts', 'lib.dom.d.ts'],
      types: ['node'],
      strict: true,
      noUncheckedIndexedAccess: true,
      esModuleInterop: true,
      skipLibCheck: true,
      noEmit: true,
    };
    const program = ts.createProgram([...files.keys()], options);
    // Only the snippets are checked (the sources they import are tsc's and the lint's job): what
    // they use from the sources is still resolved and type-checked against.
    const problems = [...files].flatMap(([file, fence]) => {
      const source = program.getSourceFile(file)!;
      return [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)].map((d) => {
        const { line } = source.getLineAndCharacterOfPosition(d.start ?? 0);
        return `README.md:${fence.line + 1 + line} (snippet at line ${fence.line}): ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
      });
    });
    problems.push(...program.getOptionsDiagnostics().map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n')));
    expect(problems).toEqual([]);
  });

  it('carries no build-log markers', () => {
    expect(readme).not.toMatch(/<!--/);
    expect(readme).not.toMatch(/\bissue \d+/i);
  });
});

describe('docs/reference.md', () => {
  it('documents every flag of lockstep serve', () => {
    const reference = readFileSync(join(root, 'docs', 'reference.md'), 'utf8');
    const usage = readFileSync(join(root, 'src', 'cli', 'serve.ts'), 'utf8').match(/SERVE_USAGE = `([\s\S]*?)`;/)![1]!;
    const flags = new Set(usage.match(/--[a-z][a-z-]+/g));
    expect(flags.size).toBeGreaterThan(15);
    for (const flag of flags) expect(reference, flag).toContain(flag);
  });
});
