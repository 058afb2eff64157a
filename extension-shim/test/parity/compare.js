// The parity checks between @logto/chrome-extension (the pinned devDependency)
// and a copy of the shim, by enumeration — no hand-kept list of names. Each
// function returns the problems it found (an empty array means parity), so
// the test can also show that a mutilated copy of the shim fails.

import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import ts from 'typescript';

const HERE = dirname(fileURLToPath(import.meta.url));
// The package exports only ".": find its folder through that.
export const OFFICIAL_JS = fileURLToPath(import.meta.resolve('@logto/chrome-extension'));
export const OFFICIAL_DTS = join(dirname(OFFICIAL_JS), 'index.d.ts');

function kind(value) {
  if (value === null) return 'null';
  return typeof value;
}

/** Every own and inherited property name of `object`, up to Object.prototype. */
export function memberNames(object) {
  const names = new Set();
  for (let o = object; o && o !== Object.prototype && o !== Function.prototype; o = Object.getPrototypeOf(o)) {
    for (const key of Reflect.ownKeys(o)) if (typeof key === 'string' && key !== 'constructor') names.add(key);
  }
  return names;
}

/** Runtime named exports: same names, same kinds, same enum members and constant values. */
export function compareRuntimeExports(official, shim) {
  const problems = [];
  for (const [name, value] of Object.entries(official)) {
    if (!(name in shim)) {
      problems.push(`runtime export ${name} is missing`);
      continue;
    }
    const mine = shim[name];
    if (kind(value) !== kind(mine)) {
      problems.push(`runtime export ${name} is a ${kind(mine)}, the SDK's is a ${kind(value)}`);
      continue;
    }
    if (kind(value) === 'object') {
      for (const [member, v] of Object.entries(value)) {
        if (!(member in mine)) problems.push(`${name}.${member} is missing`);
        else if (mine[member] !== v) problems.push(`${name}.${member} is ${JSON.stringify(mine[member])}, the SDK's is ${JSON.stringify(v)}`);
      }
      for (const member of Object.keys(mine)) {
        if (!(member in value)) problems.push(`${name}.${member} is not in the SDK`);
      }
    } else if (kind(value) === 'string' && value !== mine) {
      problems.push(`runtime export ${name} is ${JSON.stringify(mine)}, the SDK's is ${JSON.stringify(value)}`);
    }
  }
  return problems;
}

function program(rootNames, options = {}) {
  return ts.createProgram(rootNames, {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
    types: [],
    skipLibCheck: false,
    ...options,
  });
}

function moduleExports(checker, sourceFile) {
  const symbol = checker.getSymbolAtLocation(sourceFile);
  return symbol ? checker.getExportsOfModule(symbol) : [];
}

/**
 * The public members of the SDK's `LogtoClient` among `runtimeNames`: those
 * its declaration does not mark private or protected (TypeScript knows;
 * the runtime does not).
 */
export function publicMemberNames(runtimeNames) {
  const prog = program([OFFICIAL_DTS]);
  const checker = prog.getTypeChecker();
  const file = prog.getSourceFile(OFFICIAL_DTS);
  const def = moduleExports(checker, file).find((s) => s.escapedName === 'default');
  const classType = checker.getDeclaredTypeOfSymbol(def.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(def) : def);
  const result = [];
  for (const name of runtimeNames) {
    const prop = checker.getPropertyOfType(classType, name);
    if (!prop) continue; // not declared at all: not public API
    const decl = prop.valueDeclaration ?? prop.declarations?.[0];
    const flags = decl ? ts.getCombinedModifierFlags(decl) : 0;
    if (flags & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) continue;
    result.push(name);
  }
  return result.sort();
}

/** `LogtoClient` instances: every public member of the SDK's exists here with the same kind. */
export function compareClientMembers(officialClient, shimClient) {
  const problems = [];
  const names = publicMemberNames([...memberNames(officialClient)]);
  if (names.length < 15) problems.push(`only ${names.length} public members found in the SDK: the enumeration is broken`);
  for (const name of names) {
    if (!(name in shimClient)) {
      problems.push(`LogtoClient.${name} is missing`);
      continue;
    }
    const a = kind(officialClient[name]);
    const b = kind(shimClient[name]);
    if (a !== b) problems.push(`LogtoClient.${name} is a ${b}, the SDK's is a ${a}`);
  }
  return { names, problems };
}

/** Every name the SDK's .d.ts exports (values and types) is exported by `shimDts`. */
export function compareTypeExports(shimDts) {
  const prog = program([OFFICIAL_DTS, shimDts]);
  const checker = prog.getTypeChecker();
  const names = (file) => new Set(moduleExports(checker, prog.getSourceFile(file)).map((s) => String(s.escapedName)));
  const official = names(OFFICIAL_DTS);
  const mine = names(shimDts);
  const problems = [];
  for (const name of official) if (!mine.has(name)) problems.push(`type-level export ${name} is missing from ${shimDts}`);
  if (official.size < 30) problems.push(`only ${official.size} exports found in the SDK's types: the enumeration is broken`);
  return { names: [...official].sort(), problems };
}

/**
 * `tsc --strict` on `files`, with `@logto/chrome-extension` resolving to
 * `target` (a .d.ts). Returns the diagnostics as text.
 */
export function compileAgainst(files, target) {
  const prog = program(files, {
    paths: { '@logto/chrome-extension': [target] },
    types: ['chrome'],
    typeRoots: [join(HERE, '..', '..', 'node_modules', '@types')],
  });
  return ts.getPreEmitDiagnostics(prog).map((d) => {
    const where = d.file ? `${d.file.fileName}:${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1}` : '';
    return `${where} ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
  });
}

/** Import a module by path, fresh each time (scratch copies). */
export function importFresh(path) {
  return import(`${pathToFileURL(path).href}?t=${Date.now()}${Math.random()}`);
}
