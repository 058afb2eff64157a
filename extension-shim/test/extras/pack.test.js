// `npm pack` gives the package users install: installed from the tarball
// into a scratch project, imported by name at runtime, and its types
// resolved by name under moduleResolution `bundler` and `node16` (0 errors;
// and a real type error is reported, so the types are not `any`).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import ts from 'typescript';

const HERE = dirname(fileURLToPath(import.meta.url));
const PKG = join(HERE, '..', '..');
const scratch = mkdtempSync(join(tmpdir(), 'shim-pack-'));
const project = join(scratch, 'app');
let packed;

const npm = (args, cwd) => execFileSync('npm', args, { cwd, encoding: 'utf8', env: { ...process.env, npm_config_fund: 'false', npm_config_audit: 'false' } });

before(() => {
  [packed] = JSON.parse(npm(['pack', '--json', '--pack-destination', scratch], PKG));
  execFileSync('mkdir', ['-p', project]);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'scratch-app', private: true, type: 'module' }));
  npm(['install', '--no-save', '--offline', join(scratch, packed.filename)], project);
});
after(() => rmSync(scratch, { recursive: true, force: true }));

test('the tarball holds the sources, the types, the README and nothing else', () => {
  const files = packed.files.map((f) => f.path).sort();
  for (const f of ['package.json', 'README.md', 'src/index.js', 'src/index.d.ts', 'src/connection.js', 'src/errors.js',
    'src/constants.js', 'src/sdk.js', 'src/tabs.js']) {
    assert.ok(files.includes(f), `${f} in ${files}`);
  }
  assert.deepEqual(files.filter((f) => !/^(package\.json|README\.md|src\/[\w.-]+\.(js|d\.ts))$/.test(f)), [], 'nothing else');
});

test('installed from the tarball, it imports by name (ESM) with every export', async () => {
  const script = `import LogtoClient, * as all from '@logto-companion/extension-shim';
    console.log(JSON.stringify({ client: typeof LogtoClient, names: Object.keys(all).sort() }));`;
  writeFileSync(join(project, 'probe.mjs'), script);
  const got = JSON.parse(execFileSync(process.execPath, ['probe.mjs'], { cwd: project, encoding: 'utf8' }));
  const local = await import(join(PKG, 'src', 'index.js'));
  assert.equal(got.client, 'function');
  assert.deepEqual(got.names, Object.keys(local).sort());
});

const USE = `import LogtoClient, { UserScope, LogtoRequestError, type LogtoConfig } from '@logto-companion/extension-shim';
const config: LogtoConfig = { endpoint: 'https://tenant.logto.app', appId: 'app', scopes: [UserScope.Phone] };
export const client = new LogtoClient(config);
export async function claims(): Promise<string> {
  const status = await client.getCompanionStatus();
  try { return (await client.getIdTokenClaims()).sub + String(status.ok); } catch (e) { return e instanceof LogtoRequestError ? e.code : ''; }
}
`;
const WRONG = `import LogtoClient from '@logto-companion/extension-shim';
export const n: number = await new LogtoClient({ endpoint: 'x', appId: 'y' }).getIdToken();
`;

function compile(code, resolution) {
  const file = join(project, `use-${resolution}-${Math.random().toString(36).slice(2)}.ts`);
  writeFileSync(file, code);
  const options = {
    strict: true, noEmit: true, target: ts.ScriptTarget.ES2022, lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'], types: [],
    ...(resolution === 'bundler'
      ? { module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler }
      : { module: ts.ModuleKind.Node16, moduleResolution: ts.ModuleResolutionKind.Node16 }),
  };
  const program = ts.createProgram([file], options);
  return ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
}

for (const resolution of ['bundler', 'node16']) {
  test(`types resolve by name under moduleResolution ${resolution}: 0 errors, and a wrong use is an error`, () => {
    assert.deepEqual(compile(USE, resolution), []);
    const errors = compile(WRONG, resolution);
    assert.ok(errors.some((e) => /not assignable to type 'number'/.test(e)), errors.join('\n'));
  });
}
