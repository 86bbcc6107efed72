/**
 * Every export of every package entry point carries JSDoc: the API reference (`npm run docs`)
 * is generated from it, and an undocumented export would appear there as a bare signature.
 */
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ENTRY_POINTS = ['src/index.ts', 'src/advanced.ts', 'machines/index.ts', 'src/testing/index.ts', 'src/client/index.ts', 'src/ag-ui/index.ts'];
const root = fileURLToPath(new URL('../..', import.meta.url));
/** src/testing/ is being extended on another branch; drop an entry once its export is documented. */
const NOT_YET_DOCUMENTED: string[] = [];

describe('public API documentation', () => {
  it('every export of lockstep, lockstep/advanced, lockstep/machines and lockstep/testing has a JSDoc comment', () => {
    const files = ENTRY_POINTS.map((entry) => `${root}${entry}`);
    const program = ts.createProgram(files, {
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2022,
      strict: true,
      noEmit: true,
      skipLibCheck: true,
    });
    const checker = program.getTypeChecker();
    const undocumented: string[] = [];
    for (const file of files) {
      const source = program.getSourceFile(file);
      const module = source && checker.getSymbolAtLocation(source);
      expect(module, file).toBeDefined();
      for (const exported of checker.getExportsOfModule(module!)) {
        const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
        const name = `${file.slice(root.length)}: ${exported.name}`;
        if (symbol.getDocumentationComment(checker).length === 0 && !NOT_YET_DOCUMENTED.includes(name)) undocumented.push(name);
      }
    }
    expect(undocumented).toEqual([]);
  });
});
